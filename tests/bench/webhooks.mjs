// The follow-ups intake's answer time (issue 15 item 1: "answers within 50 ms"):
// `POST /v1/webhooks/servicetitan/northstar` with bodies the emulator itself fired
// (estimates made and marked sent with `?deliver=skip`, so the emulator does not deliver
// them too), signed as the site's `followUps.webhookSignature` says and the stack
// subscribed them: hex HMAC-SHA256 of the raw body in `x-servicetitan-signature`, the
// run's key (ST_WEBHOOK_KEY). Posted one after another, timed from sending the request to
// reading the whole answer. Each estimate's event is posted several times, as
// ServiceTitan's retries and duplicates are. Loopback only, bounded in count.
import { createHmac } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const { WORKER_URL, SANDBOX_URL, ST_WEBHOOK_KEY } = process.env;
const OUT = process.env.BENCH_OUT || 'target/bench/webhooks.json';
const POSTS = Number(process.env.WEBHOOK_POSTS || 120);
const WARMUP = Number(process.env.WEBHOOK_WARMUP || 10);
const ESTIMATES = 20;
const TARGET_P95_MS = 50;
if (!WORKER_URL || !SANDBOX_URL || !ST_WEBHOOK_KEY) throw new Error('run through `cargo xtask bench`');
for (const u of [WORKER_URL, SANDBOX_URL]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}
if (!(POSTS > WARMUP && POSTS <= 2000)) throw new Error('bounds');

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
};

async function admin(path, body) {
  const r = await fetch(`${SANDBOX_URL}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// The seed tenant's customers 5001-5008 (tests/data/st-tenant.json).
const bodies = [];
for (let i = 0; i < ESTIMATES; i++) {
  const { record } = await admin('/_admin/estimates', { customerId: 5001 + (i % 8), name: `Bench estimate ${i}` });
  const { events } = await admin(`/_admin/estimates/${record.id}/sent?deliver=skip`);
  bodies.push(JSON.stringify(events[0]));
}

const statuses = {};
const times = [];
for (let i = 0; i < POSTS; i++) {
  const body = bodies[i % bodies.length];
  const signature = createHmac('sha256', ST_WEBHOOK_KEY).update(body).digest('hex');
  const t0 = performance.now();
  const r = await fetch(`${WORKER_URL}/v1/webhooks/servicetitan/northstar`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-servicetitan-signature': signature }, body,
  });
  await r.text();
  const ms = performance.now() - t0;
  statuses[r.status] = (statuses[r.status] || 0) + 1;
  if (i >= WARMUP && r.status === 200) times.push(ms);
}
const p95 = pct(times, 0.95);
const out = {
  posts: POSTS, warmup: WARMUP, estimates: ESTIMATES, statuses, n: times.length,
  p50: pct(times, 0.5), p95, max: times.length ? Math.max(...times) : null, targetP95: TARGET_P95_MS,
  met: times.length >= 100 && p95 <= TARGET_P95_MS,
};
console.log(`webhooks: ${times.length} timed, p50 ${out.p50?.toFixed(1)} ms, p95 ${p95?.toFixed(1)} ms, statuses ${JSON.stringify(statuses)}`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(out, null, 2));
