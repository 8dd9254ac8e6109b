// Every command shown in docs/*.md runs (issue 16 item 6): each fenced `sh` block is run
// with bash -euo pipefail from the repository root against the test worker and emulator,
// `https://YOUR-WORKER` replaced by the worker's URL and `cargo xtask` by this xtask
// binary. A block whose first line is `# syntax only: <why>` (a Cloudflare account or a
// real tenant) is checked with `bash -n` only. Fenced blocks of other languages are text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
// The running xtask; " (deleted)" when a build replaced it meanwhile: the new one is there.
const XTASK = (process.env.XTASK_BIN || join(ROOT, 'target/debug/xtask')).replace(/ \(deleted\)$/, '');
const WORKER = process.env.WORKER_URL;

/** The `sh` blocks of one Markdown text: [{ line, code }]. */
export function shBlocks(markdown) {
  const blocks = [];
  let open = null;
  markdown.split('\n').forEach((l, i) => {
    if (open === null && /^```sh\s*$/.test(l)) open = { line: i + 1, code: [] };
    else if (open !== null && /^```\s*$/.test(l)) { blocks.push({ line: open.line, code: open.code.join('\n') }); open = null; }
    else if (open !== null) open.code.push(l);
  });
  assert.equal(open, null, 'an sh block is not closed');
  return blocks;
}

const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
const all = docs.flatMap((f) => shBlocks(readFileSync(join(ROOT, 'docs', f), 'utf8')).map((b) => ({ ...b, file: f })));

test('the docs show commands, and the extractor finds exactly the sh blocks', () => {
  assert.ok(all.length >= 10, `only ${all.length} sh blocks in docs/`);
  assert.deepEqual(shBlocks('x\n```sh\necho a\n```\n```html\n<p>\n```\n```sh\necho b\n```\n').map((b) => b.code), ['echo a', 'echo b']);
});

for (const b of all) {
  const syntaxOnly = /^# syntax only: \S/.test(b.code);
  test(`docs/${b.file}:${b.line} ${syntaxOnly ? 'parses' : 'runs'}`, (t) => {
    if (!syntaxOnly && !WORKER) return t.skip('run through cargo xtask test (needs the worker)');
    const code = b.code.replaceAll('https://YOUR-WORKER', WORKER || 'https://worker.invalid').replaceAll('cargo xtask ', '"$XTASK_BIN" ');
    const args = syntaxOnly ? ['-n', '-c', code] : ['-euo', 'pipefail', '-c', code];
    const r = spawnSync('bash', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, XTASK_BIN: XTASK } });
    assert.equal(r.status, 0, `docs/${b.file}:${b.line}\n${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    if (!syntaxOnly && /\/health/.test(code)) assert.match(r.stdout, /"ok":true/, 'the worker reports no refused site config');
  });
}
