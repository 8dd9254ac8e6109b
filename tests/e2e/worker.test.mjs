// The worker over real HTTP on workerd, against the ServiceTitan emulator with faults
// injected: refusals, exactly-once under double and concurrent submits, every fault
// kind, secrets never leaving, transcripts and signed webhooks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { admin, resetSandbox, records, until, WORKER_URL, SITE_URL, SECRETS } from './lib.mjs';

const SITE = 'northstar';
const ORIGIN = SITE_URL;
const seen = []; // every worker response body, for the secrets check
const hooks = []; // webhook deliveries received
let failHookFor = null;
let hookServer;

async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const r = await fetch(`${WORKER_URL}${path}`, {
    method,
    headers: { origin: ORIGIN, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : body && JSON.stringify(body),
  });
  const text = await r.text();
  seen.push(text);
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

let n = 0;
const NAMES = ['Olivia Martin', 'Liam Nguyen', 'Emma Johnson', 'Noah Patel', 'Ava Thompson', 'Lucas Berg',
  'Mia Andersen', 'Ethan Olson', 'Sofia Larson', 'Mason Lindqvist', 'Chloe Peterson', 'Henry Swanson',
  'Grace Nelson', 'Jack Carlson', 'Ella Hanson', 'Owen Johansen', 'Lily Gustafson', 'Leo Dahl'];
// A fresh homeowner per test: own name, phone and idempotency key.
function homeowner() {
  n += 1;
  const phone = `61255502${String(10 + n).padStart(2, '0')}`;
  const key = `e2e-${Date.now().toString(36)}-${n}`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My furnace is making a loud banging noise, can you come tomorrow afternoon', NAMES[n % NAMES.length],
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, `${1200 + n} Oak Ave S, Minneapolis, MN 55405`, 'yes']
    .map((text, i) => ({ text, at: at + i }));
  return { phone, key, name: NAMES[n % NAMES.length], body: { idempotencyKey: key, turns, locale: 'en', smsConsent: true } };
}

async function recordsFor(phone) {
  const r = await records();
  const customers = r.customers.filter((c) => (r.contacts || []).some((k) => k.customerId === c.id && String(k.value).replace(/\D/g, '').endsWith(phone))
    || JSON.stringify(c).includes(phone));
  const ids = new Set(customers.map((c) => c.id));
  return { customers, jobs: r.jobs.filter((j) => ids.has(j.customerId)), bookings: (r.bookings || []).filter((b) => JSON.stringify(b).includes(phone)) };
}

// Submits until the worker says "booked" (retries, alarms), bounded.
async function bookUntilDone(h, ms = 90_000) {
  return until(async () => {
    const r = await api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body });
    assert.ok([200].includes(r.status), `unexpected ${r.status} ${r.text}`);
    if (r.json.status === 'booked') return r.json;
    // Slower than the worker's per-conversation limit (20 a minute).
    await new Promise((ok) => setTimeout(ok, 3_500));
    return null;
  }, ms, 'the booking to complete');
}

before(async () => {
  await resetSandbox();
  const port = Number(process.env.WEBHOOK_PORT);
  if (port) {
    hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        // Fail only the first delivery for the conversation under test: other bookings'
        // webhooks arrive here too.
        if (failHookFor && body.includes(failHookFor)) { failHookFor = null; res.writeHead(500).end(); return; }
        hooks.push({ headers: req.headers, body, at: Date.now() });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise((r) => hookServer.listen(port, '127.0.0.1', r));
  }
});
after(async () => { hookServer && hookServer.close(); });

test('health and public config carry no secrets or tenant ids', async () => {
  assert.equal((await api('/health')).status, 200);
  const c = await api(`/v1/sites/${SITE}/config`);
  assert.equal(c.status, 200);
  assert.equal(c.json.businessName, 'Northstar Home Services');
  for (const k of ['bookingProviderId', 'trades[0].businessUnitId', 'webhookUrl', 'allowedOrigins']) {
    assert.ok(!c.text.includes(k.split('[')[0].replace('trades', 'businessUnitId')), `${k} must not reach browsers`);
  }
  assert.equal(c.headers.get('access-control-allow-origin'), ORIGIN);
});

test('bad requests get a clear reason, never a 500', async () => {
  const good = homeowner().body;
  const cases = [
    ['unknown site', `/v1/sites/nope/bookings`, { method: 'POST', body: good }, 404, /unknown site/],
    ['malformed JSON', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: '{"idempotencyKey":' }, 400, /not a valid/],
    ['oversize body', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: 'x'.repeat(70_000) }, 400, /limit is 65536/],
    ['structured fields are refused', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: { ...good, customerId: 1 } }, 400, /unknown field/],
    ['unconfirmed conversation', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: { ...good, turns: good.turns.slice(0, 2) } }, 422, /did not reach/],
    ['other origin', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: good, headers: { origin: 'https://evil.example' } }, 403, /origin/],
    ['unknown route', `/v1/nothing`, {}, 404, /no such route/],
    ['availability without trade', `/v1/sites/${SITE}/availability?zip=55405`, {}, 400, /trade/],
  ];
  for (const [what, path, init, status, reason] of cases) {
    const r = await api(path, init);
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(r.json.error, reason, what);
  }
});

test('a double submit books once', async () => {
  const h = homeowner();
  const first = await bookUntilDone(h);
  const second = await bookUntilDone(h);
  assert.equal(second.jobNumber, first.jobNumber);
  const r = await recordsFor(h.phone);
  assert.equal(r.customers.length, 1);
  assert.equal(r.jobs.length, 1);
  assert.match(r.jobs[0].summary, /Text messages: yes/, 'the SMS opt-in reaches the job the office reads');
});

test('five concurrent submits of one conversation book once', async () => {
  const h = homeowner();
  const replies = await Promise.all([1, 2, 3, 4, 5].map(() => api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body })));
  for (const r of replies) assert.equal(r.status, 200, r.text);
  const done = await bookUntilDone(h);
  for (const r of replies.filter((x) => x.json.status === 'booked')) assert.equal(r.json.jobNumber, done.jobNumber);
  const r = await recordsFor(h.phone);
  assert.equal(r.customers.length, 1, 'one customer');
  assert.equal(r.jobs.length, 1, 'one job');
});

const FAULTS = [
  ['429 with Retry-After on customer create', [{ kind: 'status', status: 429, retryAfter: 1, count: 2, match: { method: 'POST', pathContains: '/customers' } }]],
  ['503 twice on job create', [{ kind: 'status', status: 503, count: 2, match: { method: 'POST', pathContains: '/jobs' } }]],
  ['502 on the phone search', [{ kind: 'status', status: 502, count: 1, match: { method: 'GET', pathContains: '/customers' } }]],
  ['500 on a note', [{ kind: 'status', status: 500, count: 1, match: { method: 'POST', pathContains: '/notes' } }]],
  ['401 once (token refresh)', [{ kind: 'status', status: 401, count: 1, match: { method: 'POST', pathContains: '/jobs' } }]],
  ['300 ms latency on every call', [{ kind: 'latencyMs', ms: 300 }]],
  ['connection dropped before the customer write', [{ kind: 'dropBeforeWrite', count: 1, match: { pathContains: '/customers' } }]],
  ['connection dropped after the customer write committed', [{ kind: 'dropAfterWrite', count: 1, match: { pathContains: '/customers' } }]],
  ['connection dropped after the job write committed', [{ kind: 'dropAfterWrite', count: 1, match: { pathContains: '/jobs' } }]],
  ['per-app rate limit of 2 calls a second', [{ kind: 'rateLimit', perSecond: 2 }]],
];

for (const [what, faults] of FAULTS) {
  test(`exactly one booking under fault: ${what}`, async () => {
    await admin('/_admin/faults', { method: 'DELETE' });
    for (const f of faults) {
      await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
    }
    const h = homeowner();
    try {
      const done = await bookUntilDone(h);
      assert.match(done.jobNumber, /\S/);
    } finally {
      await admin('/_admin/faults', { method: 'DELETE' });
    }
    const r = await recordsFor(h.phone);
    assert.equal(r.customers.length, 1, 'lost = 0, duplicated = 0 (customers)');
    assert.equal(r.jobs.length, 1, 'lost = 0, duplicated = 0 (jobs)');
  });
}

test('ServiceTitan down: the homeowner hears "received", an alarm books it later', async () => {
  await admin('/_admin/faults', { method: 'DELETE' });
  // Every API call fails four times in a row (500s carry no Retry-After): the pipeline
  // backs off 2, 4, 8, 16 s; past a short wait the Durable Object answers and an alarm
  // carries on.
  await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'status', status: 500, count: 4, match: { pathContains: '/tenant/' } }) });
  const h = homeowner();
  try {
    const first = await api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body });
    assert.equal(first.status, 200);
    assert.equal(first.json.status, 'received', 'kept, not lost, while ServiceTitan fails');
    assert.ok(!first.text.includes('500') && !/servicetitan/i.test(first.text), 'no ServiceTitan internals reach the browser');
    const done = await bookUntilDone(h, 120_000);
    assert.match(done.jobNumber, /\S/);
  } finally {
    await admin('/_admin/faults', { method: 'DELETE' });
  }
  const r = await recordsFor(h.phone);
  assert.equal(r.customers.length, 1);
  assert.equal(r.jobs.length, 1);
});

test('"Qualified Abandoned Session" webhook when contact details were given', { skip: !process.env.WEBHOOK_PORT }, async () => {
  const h = homeowner();
  const turns = h.body.turns.slice(0, 3); // problem, name, phone; never confirmed
  const r = await api(`/v1/sites/${SITE}/abandoned`, { method: 'POST', body: { idempotencyKey: h.key, turns }, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 202, r.text);
  const hook = await until(() => hooks.find((x) => x.body.includes(h.key)), 20_000, 'the abandoned-session webhook');
  const body = JSON.parse(hook.body);
  assert.equal(body.event, 'session.qualified_abandoned');
  assert.equal(body.data.phone, h.phone);
});

test('ServiceTitan refuses the job (400): the homeowner hears "received", the owner gets "booking.failed"', { skip: !process.env.WEBHOOK_PORT }, async () => {
  await admin('/_admin/faults', { method: 'DELETE' });
  await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'status', status: 400, count: 1, match: { method: 'POST', pathContains: '/jobs' } }) });
  const h = homeowner();
  let reply;
  try {
    reply = await api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body });
  } finally {
    await admin('/_admin/faults', { method: 'DELETE' });
  }
  assert.equal(reply.status, 200);
  assert.equal(reply.json.status, 'received', 'the homeowner is not shown ServiceTitan\'s refusal');
  assert.ok(!/validation|servicetitan|400/i.test(reply.text), 'no ServiceTitan internals reach the browser');
  const hook = await until(() => hooks.find((x) => x.body.includes(h.key) && x.body.includes('booking.failed')), 30_000, 'the booking.failed webhook');
  const body = JSON.parse(hook.body);
  assert.equal(body.event, 'booking.failed');
  assert.match(body.data.transcript, /furnace/, 'the owner gets the transcript to call back');
});

test('transcripts: admin only, listed and deleted by phone', async () => {
  const h = homeowner();
  await bookUntilDone(h);
  assert.equal((await api('/v1/admin/transcripts')).status, 401);
  const token = process.env.ADMIN_TOKEN;
  assert.ok(token, 'the test stack sets ADMIN_TOKEN');
  const auth = { authorization: `Bearer ${token}` };
  const list = await api(`/v1/admin/transcripts?phone=${h.phone}`, { headers: auth });
  assert.equal(list.status, 200);
  assert.equal(list.json.transcripts.length, 1);
  assert.ok(list.json.transcripts[0].turns.some((t) => t.text.includes('furnace')));
  const del = await api(`/v1/admin/transcripts?phone=${h.phone}`, { method: 'DELETE', headers: auth });
  assert.equal(del.json.deleted, 1);
  const again = await api(`/v1/admin/transcripts?phone=${h.phone}`, { headers: auth });
  assert.equal(again.json.transcripts.length, 0);
});

test('signed "Session Completed" webhook, retried after a failed delivery', { skip: !process.env.WEBHOOK_PORT }, async () => {
  const h = homeowner();
  failHookFor = h.key;
  const t0 = Date.now();
  const done = await bookUntilDone(h);
  const hook = await until(() => hooks.find((x) => x.body.includes(h.key)), 30_000, 'the webhook');
  assert.ok(hook.at - t0 >= 9_000, 'the first delivery failed and the retry came about 10 s later');
  const body = JSON.parse(hook.body);
  assert.equal(body.event, 'session.completed');
  assert.equal(body.data.records.jobNumber, done.jobNumber);
  const [, t, v1] = hook.headers['x-booking-signature'].match(/^t=(\d+),v1=([0-9a-f]{64})$/);
  const want = createHmac('sha256', process.env.WEBHOOK_SECRET).update(`${t}.${hook.body}`).digest('hex');
  assert.equal(v1, want, 'HMAC-SHA256 over "<t>.<body>"');
});

test('per-IP rate limit answers 429', async () => {
  // The limit is 300 a minute here (30 x RATE_LIMIT_MULTIPLIER) in a fixed one-minute
  // window. A minute boundary can fall inside the loop and reset the count once, so
  // 700 requests always put 301 into one window; stop at the first 429.
  let limited = false;
  for (let i = 0; i < 700 && !limited; i += 1) {
    const r = await api(`/v1/sites/${SITE}/abandoned`, { method: 'POST', body: '{}' });
    limited = r.status === 429;
  }
  assert.ok(limited, 'a request over the limit was refused with 429');
});

test('no secret appears in any worker response or in the widget bundle', async () => {
  assert.ok(SECRETS.length >= 2, 'the stack passes its secret values');
  const bundle = readdirSync('widget/dist').map((f) => readFileSync(`widget/dist/${f}`).toString('latin1'));
  for (const s of SECRETS) {
    for (const text of [...seen, ...bundle]) assert.ok(!text.includes(s), 'a secret leaked');
  }
});
