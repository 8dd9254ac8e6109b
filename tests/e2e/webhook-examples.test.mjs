// examples/webhooks/ (issue 16 item 6): the JavaScript and Python verifiers accept what
// booking-core signs and refuse every altered vector (tests/data/webhooks/vectors.json,
// generated from sign_webhook by shared/tests/webhook_vectors.rs), and the JavaScript one,
// run as a receiver, accepts a real webhook from the worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify } from '../../examples/webhooks/verify.mjs';
import { WORKER_URL } from './lib.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const vectors = JSON.parse(readFileSync(join(ROOT, 'tests/data/webhooks/vectors.json'), 'utf8'));

test('the JavaScript example verifies exactly the vectors booking-core verifies', () => {
  assert.ok(vectors.length > 2);
  for (const v of vectors) {
    assert.equal(verify(v.secret, Buffer.from(v.body), v.header, v.t + v.nowOffset), v.valid, v.why);
  }
});

test('the Python example verifies exactly the vectors booking-core verifies', () => {
  const r = spawnSync('python3', ['-m', 'unittest', 'examples/webhooks/test_verify.py'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /OK/);
});

test('node examples/webhooks/verify.mjs accepts the worker\'s real session.completed webhook', async (t) => {
  if (!process.env.WEBHOOK_PORT || !process.env.WEBHOOK_SECRET) return t.skip('run through cargo xtask test');
  const receiver = spawn('node', [join(ROOT, 'examples/webhooks/verify.mjs')], {
    env: { ...process.env, PORT: process.env.WEBHOOK_PORT }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  receiver.stdout.on('data', (d) => { seen += d; });
  try {
    await new Promise((ok) => setTimeout(ok, 500));
    const key = `webhook-example-${Date.now()}`;
    const at = Math.floor(Date.now() / 1000);
    const turns = ['My water heater is leaking, can you come tomorrow morning', 'Rosa Lindgren', '612-555-0197',
      `${3000 + (at % 900)} Cedar Ave, Minneapolis, MN 55416`, 'yes', 'Book it'].map((text, i) => ({ text, at: at + i }));
    const r = await fetch(`${WORKER_URL}/v1/sites/northstar/bookings`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ idempotencyKey: key, turns, locale: 'en' }),
    });
    assert.equal(r.status, 200, await r.text());
    const deadline = Date.now() + 90_000;
    while (!seen.includes('session.completed') && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 500));
    assert.match(seen, /session\.completed/, 'the receiver verified and printed the event');
  } finally {
    receiver.kill('SIGTERM');
  }
});
