// The worker checks the site configs it is given (issue 16 item 4): a second worker
// (wrangler dev on the built bundle) with a SITES_JSON holding one good site and one bad
// one answers the bad one's routes with 503, the JSON path and the reason, lists it in
// GET /health, and keeps serving the good one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const northstar = JSON.parse(readFileSync(join(ROOT, 'examples/sites/northstar.json'), 'utf8'));
let wrangler;
let url;

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

before(async () => {
  const bad = { ...northstar, id: 'broken', trades: [{ ...northstar.trades[0], jobTypeId: '2001' }] };
  const [port, inspector] = [await freePort(), await freePort()];
  wrangler = spawn(join(ROOT, 'node_modules/.bin/wrangler'), ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--persist-to', mkdtempSync(join(tmpdir(), 'site-config-')),
    '--show-interactive-dev-session=false', '--var', `SITES_JSON:${JSON.stringify([northstar, bad])}`], {
    cwd: join(ROOT, 'edge-worker'), env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'ignore', 'ignore'], detached: true,
  });
  url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try { if ((await fetch(`${url}/health`)).status === 200) return; } catch { /* not yet */ }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  throw new Error('the second worker did not start');
});
after(() => { if (wrangler) process.kill(-wrangler.pid, 'SIGTERM'); });

test('GET /health lists the refused site with its path and reason', async () => {
  const health = await (await fetch(`${url}/health`)).json();
  assert.equal(health.ok, false);
  assert.equal(health.refusedSiteConfigs.length, 1);
  assert.match(health.refusedSiteConfigs[0], /^site "broken": trades\[0\]\.jobTypeId: invalid type: string "2001", expected i64$/);
});

test('the refused site answers 503 with the path; nothing is booked; the good site serves', async () => {
  const config = await fetch(`${url}/v1/sites/broken/config`);
  assert.equal(config.status, 503);
  assert.match((await config.json()).error, /configuration is invalid \(site "broken": trades\[0\]\.jobTypeId: .*\); nothing is booked/);
  const booking = await fetch(`${url}/v1/sites/broken/bookings`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(booking.status, 503);
  const good = await fetch(`${url}/v1/sites/northstar/config`);
  assert.equal(good.status, 200);
  assert.equal((await good.json()).id, 'northstar');
  assert.equal((await fetch(`${url}/v1/sites/nobody/config`)).status, 404);
});
