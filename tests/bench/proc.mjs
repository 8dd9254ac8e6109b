// The worker's processes, read from /proc (Linux only): the `wrangler dev` serving a
// port, and the workerd processes under it (wrangler runs the worker in workerd, and its
// own dev proxy in another). CPU is utime + stime in clock ticks (USER_HZ: 100 on Linux),
// memory is VmRSS. Used by load.mjs for CPU per booking and the soak's memory samples.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_S = 100;

function read(path) {
  try { return readFileSync(path, 'utf8'); } catch { return null; }
}

// pid, ppid, comm, utime + stime (ticks) from /proc/<pid>/stat; null once it is gone.
function stat(pid) {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return null;
  // comm is in parentheses and may hold spaces: the fields start after the last ')'.
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const f = s.slice(close + 2).split(' ');
  return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
}

const pids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
const cmdline = (pid) => (read(`/proc/${pid}/cmdline`) || '').split('\0');

// The wrangler process started with `--port <port>` and every workerd below it. Throws
// when there is none: the numbers would mean nothing.
export function workerProcesses(port) {
  const all = pids().map(stat).filter(Boolean);
  const wrangler = all.find((p) => {
    const args = cmdline(p.pid);
    const i = args.indexOf('--port');
    return args.some((a) => a.includes('wrangler')) && args.includes('dev') && i >= 0 && args[i + 1] === String(port);
  });
  if (!wrangler) throw new Error(`no wrangler dev --port ${port} among the processes`);
  const below = new Set([wrangler.pid]);
  // Parents come before children in no guaranteed order: repeat until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const p of all) {
      if (!below.has(p.pid) && below.has(p.ppid)) { below.add(p.pid); added = true; }
    }
  }
  const workerd = all.filter((p) => below.has(p.pid) && p.comm === 'workerd').map((p) => p.pid);
  if (!workerd.length) throw new Error(`no workerd under wrangler (pid ${wrangler.pid})`);
  return { wrangler: wrangler.pid, workerd };
}

// CPU seconds so far of each pid (a gone process counts 0).
export function cpuSeconds(list) {
  return list.map((pid) => (stat(pid)?.ticks ?? 0) / TICKS_PER_S);
}

// VmRSS in bytes of each pid (a gone process counts 0).
export function rssBytes(list) {
  return list.map((pid) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) || '');
    return m ? Number(m[1]) * 1024 : 0;
  });
}

// The processes' command names and first arguments, for the report.
export function describe(list) {
  return list.map((pid) => ({ pid, comm: stat(pid)?.comm ?? '?', args: cmdline(pid).slice(1, 3).join(' ') }));
}
