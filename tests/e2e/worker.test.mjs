// The worker over real HTTP on workerd, against the ServiceTitan emulator with faults
// injected: refusals, exactly-once under double and concurrent submits, every fault
// kind, secrets never leaving, transcripts and signed webhooks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { admin, resetSandbox, records, requests, until, withReference, REFERENCE, WORKER_URL, SITE_URL, SECRETS } from './lib.mjs';

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
  'Grace Nelson', 'Jack Carlson', 'Ella Hanson', 'Owen Johansen', 'Lily Gustafson', 'Leo Dahl',
  'Ruby Ekberg', 'Felix Strand', 'Nora Halvorsen', 'Axel Brandt', 'Ida Sorensen', 'Hugo Lind'];
// The homeowner's confirming acts after the summary's "yes" (booking-core's Act turns):
// SMS consent, then "Book it". Only "Book it" makes the conversation a booking.
const CONFIRM = ['Text messages: yes', 'Book it'];
// A fresh homeowner per test: own name, phone, address and idempotency key. `email`
// is given with the name; `who` replaces name, phone and address (the seed customers).
function homeowner({ email, who } = {}) {
  n += 1;
  const phone = who?.phone || `61255502${String(10 + n).padStart(2, '0')}`;
  const name = who?.name || NAMES[n % NAMES.length];
  const address = who?.address || `${1200 + n} Oak Ave S, Minneapolis, MN 55405`;
  const key = `e2e-${Date.now().toString(36)}-${n}`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My furnace is making a loud banging noise, can you come tomorrow afternoon', email ? `${name}, ${email}` : name,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, address, 'yes', ...CONFIRM]
    .map((text, i) => ({ text, at: at + i }));
  return { phone, key, name, email, body: { idempotencyKey: key, turns, locale: 'en' } };
}

async function recordsFor(phone) {
  const r = await records();
  const customers = r.customers.filter((c) => (r.contacts || []).some((k) => k.customerId === c.id && String(k.value).replace(/\D/g, '').endsWith(phone))
    || JSON.stringify(c).includes(phone));
  const ids = new Set(customers.map((c) => c.id));
  return { customers, jobs: r.jobs.filter((j) => ids.has(j.customerId)), bookings: (r.bookings || []).filter((b) => JSON.stringify(b).includes(phone)) };
}

// The reply contract: the answer comes as soon as the booking is stored, before any
// ServiceTitan call, and its shape never depends on what ServiceTitan or matching found.
function assertReply(r) {
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json).filter((k) => k !== 'window').sort(), ['message', 'reference', 'status']);
  assert.ok(['booked', 'received'].includes(r.json.status), r.text);
  assert.match(r.json.reference, REFERENCE);
  assert.match(r.json.message, /\S/);
  assert.ok(!/servicetitan|jobNumber|customerId|validation/i.test(r.text), `no ServiceTitan internals: ${r.text}`);
  return r.json;
}

async function submit(h) {
  return api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body });
}

// Books and waits until the run made its job (or office booking); then gives the run a
// moment to finish its notes, so a duplicate would have had the time to appear.
async function bookAndWait(h, ms = 90_000) {
  const reply = assertReply(await submit(h));
  const made = await withReference(reply.reference, ms);
  await new Promise((ok) => setTimeout(ok, 1_500));
  return { reply, made };
}

const auth = () => ({ authorization: `Bearer ${process.env.ADMIN_TOKEN}` });

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


// A body sent chunked (no content-length), as the given pieces; `forever` keeps sending
// 2 KB pieces until the worker answers. node:http, not fetch: fetch's half-duplex
// upload hands over no response before the request body has ended.
function chunked(path, pieces, { forever = false, ms = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${WORKER_URL}${path}`, {
      method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const timer = setTimeout(() => { req.destroy(); reject(new Error('no answer: the worker kept reading')); }, ms);
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        clearTimeout(timer);
        seen.push(text);
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        req.destroy();
        resolve({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    // A worker that stops reading may close the connection under the upload.
    req.on('error', (e) => { if (!answered) { clearTimeout(timer); reject(e); } });
    // Paced, as a slow client sends: the worker reads as it arrives, so when it stops at
    // the limit little is left unread and its answer is not lost to a connection reset.
    let i = 0;
    const pump = () => {
      if (answered || req.destroyed) return;
      if (i < pieces.length) req.write(pieces[i++]);
      else if (forever) req.write(' '.repeat(2048));
      else { req.end(); return; }
      setTimeout(pump, forever ? 3 : 0);
    };
    pump();
  });
}

test('bad requests get a clear reason, never a 500', async () => {
  const good = homeowner().body;
  // (A submission that stops on the card, without "Book it", is booked as pressed: the
  // lead's replay_submission, for widgets cached from before "Book it" was a turn.)
  const cases = [
    ['unknown site', `/v1/sites/nope/bookings`, { method: 'POST', body: good }, 404, /unknown site/],
    ['malformed JSON', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: '{"idempotencyKey":' }, 400, /not a valid/],
    ['oversize body', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: 'x'.repeat(70_000) }, 413, /limit is 65536/],
    ['structured fields are refused', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: { ...good, customerId: 1 } }, 400, /unknown field/],
    ['unconfirmed conversation', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: { ...good, turns: good.turns.slice(0, 2) } }, 422, /did not reach/],
    ['other origin', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: good, headers: { origin: 'https://evil.example' } }, 403, /origin/],
    ['our host on another port is another origin', `/v1/sites/${SITE}/bookings`, { method: 'POST', body: good, headers: { origin: WORKER_URL.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`) } }, 403, /origin/],
    ['unknown route', `/v1/nothing`, {}, 404, /no such route/],
    ['availability without trade', `/v1/sites/${SITE}/availability?zip=55405`, {}, 400, /trade/],
  ];
  for (const [what, path, init, status, reason] of cases) {
    const r = await api(path, init);
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(r.json.error, reason, what);
  }
});

test('a chunked body under 64 KB is read whole', async () => {
  const h = homeowner();
  const text = JSON.stringify(h.body);
  const pieces = [];
  for (let i = 0; i < text.length; i += 97) pieces.push(text.slice(i, i + 97));
  assertReply(await chunked(`/v1/sites/${SITE}/bookings`, pieces));
});

test('the iframe fallback: a POST from the worker\'s own origin is accepted (same-origin, no CORS headers)', async () => {
  const h = homeowner();
  const r = await api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: h.body, headers: { origin: WORKER_URL } });
  const reply = assertReply(r);
  assert.equal(r.headers.get('access-control-allow-origin'), null, 'same-origin needs no CORS grant');
  await withReference(reply.reference);
  const frame = await api(`/v1/sites/${SITE}/frame?page=${encodeURIComponent(SITE_URL)}`, { headers: { origin: WORKER_URL } });
  assert.equal(frame.status, 200);
  assert.match(frame.headers.get('content-security-policy'), /connect-src 'self'/);
});

test('the reply comes before any ServiceTitan call: 3 s of latency on every call does not delay it', async () => {
  await admin('/_admin/faults', { method: 'DELETE' });
  await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'latencyMs', ms: 3_000 }) });
  const h = homeowner();
  try {
    const t0 = Date.now();
    const reply = assertReply(await submit(h));
    assert.ok(Date.now() - t0 < 2_500, `answered in ${Date.now() - t0} ms`);
    assert.equal(reply.status, 'booked', '"tomorrow afternoon" is a window on a job-mode site');
    assert.ok(reply.window && reply.window.end > reply.window.start, 'the promised window');
    await withReference(reply.reference, 120_000);
  } finally {
    await admin('/_admin/faults', { method: 'DELETE' });
  }
});

test('no existence leak: a new, an existing and an ambiguous homeowner get the same reply', async () => {
  // Seed customer 5001 (Erik Johansson, 612-555-0111, 3120 Bryant Ave S); the same
  // address with a stranger's phone and name is ambiguous and goes to the office.
  const known = homeowner({ who: { name: 'Erik Johansson', phone: '6125550111', address: '3120 Bryant Ave S, Minneapolis, MN 55408' } });
  const ambiguous = homeowner({ who: { name: 'Tove Bryant', phone: '6125550299', address: '3120 Bryant Ave S, Minneapolis, MN 55408' } });
  const fresh = homeowner();
  const replies = [];
  for (const h of [fresh, known, ambiguous]) {
    const t0 = Date.now();
    const r = await submit(h);
    replies.push({ reply: assertReply(r), ms: Date.now() - t0 });
  }
  const [a, b, c] = replies.map((x) => x.reply);
  for (const other of [b, c]) {
    assert.equal(other.status, a.status);
    const sentence = (x) => x.message.replace(x.reference, 'W-REF');
    assert.equal(sentence(other), sentence(a), 'the same sentence, but for the reference');
    assert.notEqual(other.reference, a.reference);
    assert.deepEqual(other.window, a.window, 'the same promised window');
  }
  // What ServiceTitan got differs; the homeowner could not see it.
  const knownMade = await withReference(b.reference);
  assert.ok(knownMade.jobs.every((j) => j.customerId === 5001), 'the known customer\'s job is on their record');
  await withReference(a.reference);
  await withReference(c.reference);
});

test('a double submit books once', async () => {
  const h = homeowner();
  const { reply } = await bookAndWait(h);
  const again = assertReply(await submit(h));
  assert.deepEqual(again, reply, 'the same answer');
  await new Promise((ok) => setTimeout(ok, 1_500));
  const r = await recordsFor(h.phone);
  assert.equal(r.customers.length, 1);
  assert.equal(r.jobs.length, 1);
  assert.match(r.jobs[0].summary, /Text messages: yes/, 'the SMS opt-in (a turn) reaches the job the office reads');
  assert.match(r.jobs[0].summary, new RegExp(`Web reference: ${reply.reference}`));
});

test('five concurrent submits of one conversation book once', async () => {
  const h = homeowner();
  const replies = await Promise.all([1, 2, 3, 4, 5].map(() => submit(h)));
  const refs = new Set(replies.map((r) => assertReply(r).reference));
  assert.equal(refs.size, 1, 'one reference');
  await withReference([...refs][0]);
  await new Promise((ok) => setTimeout(ok, 1_500));
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
      const { made } = await bookAndWait(h);
      assert.equal(made.jobs.length, 1, 'the job carries our reference');
    } finally {
      await admin('/_admin/faults', { method: 'DELETE' });
    }
    const r = await recordsFor(h.phone);
    assert.equal(r.customers.length, 1, 'lost = 0, duplicated = 0 (customers)');
    assert.equal(r.jobs.length, 1, 'lost = 0, duplicated = 0 (jobs)');
  });
}

test('ServiceTitan down: the homeowner hears the same reply at once, an alarm books it later', async () => {
  await admin('/_admin/faults', { method: 'DELETE' });
  // Every API call fails four times in a row (500s carry no Retry-After): the run backs
  // off and the Durable Object's alarm carries on.
  await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'status', status: 500, count: 4, match: { pathContains: '/tenant/' } }) });
  const h = homeowner();
  try {
    const first = await submit(h);
    const reply = assertReply(first);
    assert.ok(!first.text.includes('500'), 'no ServiceTitan status reaches the browser');
    const { jobs } = await withReference(reply.reference, 120_000);
    assert.equal(jobs.length, 1);
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

test('ServiceTitan refuses the job (400): the same reply, an office booking with our reference, the owner told', { skip: !process.env.WEBHOOK_PORT }, async () => {
  await admin('/_admin/faults', { method: 'DELETE' });
  await admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'status', status: 400, count: 1, match: { method: 'POST', pathContains: '/jobs' } }) });
  const h = homeowner();
  let reply;
  try {
    reply = assertReply(await submit(h));
    const { bookings } = await until(async () => {
      const made = await withReference(reply.reference);
      return made.bookings.length ? made : null;
    }, 60_000, 'the office booking');
    assert.equal(bookings.length, 1, 'filed for the office, not lost');
  } finally {
    await admin('/_admin/faults', { method: 'DELETE' });
  }
  const hook = await until(() => hooks.find((x) => x.body.includes(h.key)), 30_000, 'the owner\'s webhook');
  assert.match(JSON.parse(hook.body).data.transcript, /furnace/, 'the owner gets the transcript to call back');
});

test('transcripts: admin only; deleting by phone (+1 format) removes transcripts and conversations', async () => {
  const h = homeowner();
  const { reply } = await bookAndWait(h);
  assert.equal((await api('/v1/admin/transcripts')).status, 401);
  assert.equal((await api(`/v1/admin/transcripts?phone=${h.phone}`, { method: 'DELETE' })).status, 401);
  assert.ok(process.env.ADMIN_TOKEN, 'the test stack sets ADMIN_TOKEN');
  const list = await api(`/v1/admin/transcripts?phone=${h.phone}`, { headers: auth() });
  assert.equal(list.status, 200);
  assert.equal(list.json.transcripts.length, 1);
  assert.ok(list.json.transcripts[0].turns.some((t) => t.text.includes('furnace')));
  const plusOne = `+1 (${h.phone.slice(0, 3)}) ${h.phone.slice(3, 6)}-${h.phone.slice(6)}`;
  const del = await api(`/v1/admin/transcripts?phone=${encodeURIComponent(plusOne)}`, { method: 'DELETE', headers: auth() });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json.deleted, { transcripts: 1, conversations: 1, sessions: [h.key] });
  const again = await api(`/v1/admin/transcripts?phone=${h.phone}`, { headers: auth() });
  assert.equal(again.json.transcripts.length, 0);
  const twice = await api(`/v1/admin/transcripts?phone=${h.phone}`, { method: 'DELETE', headers: auth() });
  assert.deepEqual(twice.json.deleted, { transcripts: 0, conversations: 0, sessions: [] }, 'nothing left to delete');
  assert.match(reply.reference, REFERENCE);
  const bad = await api('/v1/admin/transcripts?phone=555-0143', { method: 'DELETE', headers: auth() });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /10-digit/);
});

test('transcripts: deleting by email (any case) removes that person\'s, and only theirs', async () => {
  const email = `tess.${Date.now().toString(36)}@example.com`;
  const h = homeowner({ email });
  const other = homeowner();
  await bookAndWait(h);
  await bookAndWait(other);
  const listed = await api(`/v1/admin/transcripts?email=${encodeURIComponent(email)}`, { headers: auth() });
  assert.equal(listed.json.transcripts.length, 1);
  assert.equal(listed.json.transcripts[0].email, email);
  const del = await api(`/v1/admin/transcripts?email=${encodeURIComponent(email.toUpperCase())}`, { method: 'DELETE', headers: auth() });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json.deleted, { transcripts: 1, conversations: 1, sessions: [h.key] });
  assert.equal((await api(`/v1/admin/transcripts?email=${encodeURIComponent(email)}`, { headers: auth() })).json.transcripts.length, 0);
  assert.equal((await api(`/v1/admin/transcripts?phone=${other.phone}`, { headers: auth() })).json.transcripts.length, 1, 'another person\'s stays');
});

test('signed "Session Completed" webhook, retried after a failed delivery', { skip: !process.env.WEBHOOK_PORT }, async () => {
  const h = homeowner();
  failHookFor = h.key;
  const t0 = Date.now();
  const { reply } = await bookAndWait(h);
  const hook = await until(() => hooks.find((x) => x.body.includes(h.key)), 30_000, 'the webhook');
  assert.ok(hook.at - t0 >= 9_000, 'the first delivery failed and the retry came about 10 s later');
  const body = JSON.parse(hook.body);
  assert.equal(body.event, 'session.completed');
  assert.ok(hook.body.includes(reply.reference), 'the owner sees the reference the homeowner was given');
  const [, t, v1] = hook.headers['x-booking-signature'].match(/^t=(\d+),v1=([0-9a-f]{64})$/);
  const want = createHmac('sha256', process.env.WEBHOOK_SECRET).update(`${t}.${hook.body}`).digest('hex');
  assert.equal(v1, want, 'HMAC-SHA256 over "<t>.<body>"');
});

// The limits below live in the site's SiteLimiter Durable Object. wrangler dev runs one
// isolate, so "shared across isolates" cannot be shown here; what is shown is the
// object's behaviour: counts that a client cannot reset, a capacity cache, a budget.

test('availability: the same trade and ZIP within minutes costs one ServiceTitan call', async () => {
  const zip = '55411';
  const capacityCalls = async () => (await requests()).filter((r) => r.path.includes('/capacity') && JSON.stringify(r.body || '').includes('1001')).length;
  const before = await capacityCalls();
  const first = await api(`/v1/sites/${SITE}/availability?trade=hvac&zip=${zip}`);
  assert.equal(first.status, 200, first.text);
  assert.ok(first.json.windows.length > 0, 'the emulator has capacity');
  const second = await api(`/v1/sites/${SITE}/availability?trade=hvac&zip=${zip}`);
  assert.deepEqual(second.json.windows, first.json.windows, 'the cached answer');
  const calls = (await capacityCalls()) - before;
  assert.ok(calls <= 1 + (new Date().getMinutes() === 0 ? 1 : 0), `${calls} capacity calls for two look-ups`);
});

test('availability: capacity calls are capped per site per minute (20 x RATE_LIMIT_MULTIPLIER)', async () => {
  const before = (await requests()).filter((r) => r.path.includes('/capacity')).length;
  // 401 different ZIPs: more than twice the budget of 200, so even a minute boundary
  // inside the loop (a fresh budget) leaves look-ups that were not sent.
  let empty = 0;
  for (let i = 0; i < 401; i += 1) {
    const r = await api(`/v1/sites/${SITE}/availability?trade=plumbing&zip=${String(56000 + i)}`);
    assert.equal(r.status, 200, r.text);
    if (r.json.windows.length === 0) empty += 1;
  }
  const calls = (await requests()).filter((r) => r.path.includes('/capacity')).length - before;
  assert.ok(calls <= 400, `${calls} capacity calls for 401 look-ups`);
  assert.ok(empty >= 1, 'over the budget the card gets no windows (the office confirms the time)');
});

// Just before the rate-limit tests on purpose: after an upload the worker stops reading,
// wrangler dev restarts its local worker (the next POST answers 503 "Your worker
// restarted mid-request"; seen in every run), which would fail a test that books next;
// the rate-limit loops below only count 429s. It must come before them: a spent
// bookings limit would answer 429 before the body is read. Cloudflare's edge does not
// share wrangler's local proxy; this is noted on issue 12.
test('a chunked body over 64 KB is cut while it is read (413)', async () => {
  // 512 KB with no length. The worker stops reading past 64 KB; an endless upload would
  // show that from here, but wrangler dev's proxy passes the answer on only once the
  // upload has ended (with an endless one its log shows the 413 after ~0.2 s and the
  // client never gets it), so the upload here ends.
  const big = ['{"idempotencyKey":"chunked-1","turns":[], "pad":"', ...Array(256).fill(' '.repeat(2048)), '"}'];
  // wrangler dev's local proxy (not the worker) sometimes resets the upload or answers
  // 503 while it restarts its local worker (failed once in CI on a loaded machine); that
  // is retried, at most three times. Any answer of the worker's own is judged.
  const tries = [];
  let cut = null;
  for (let i = 0; i < 3 && !cut; i += 1) {
    const r = await chunked(`/v1/sites/${SITE}/bookings`, big).catch((e) => ({ error: String(e) }));
    if (r.error || (r.status === 503 && /restarted/i.test(r.text))) tries.push(r.error || r.text);
    else cut = r;
    if (!cut) await new Promise((done) => setTimeout(done, 1000));
  }
  assert.ok(cut, `no answer from the worker in three uploads: ${tries.join(' | ')}`);
  assert.equal(cut.status, 413, cut.text);
  assert.match(cut.json.error, /limit is 65536/);
});

test('per-IP rate limit answers 429 with Retry-After: the seconds left in its minute', async () => {
  // The limit is 300 a minute here (30 x RATE_LIMIT_MULTIPLIER) in a fixed one-minute
  // window. A minute boundary can fall inside the loop and reset the count once, so
  // 700 requests always put 301 into one window; stop at the first 429.
  let limited = null;
  for (let i = 0; i < 700 && !limited; i += 1) {
    const r = await api(`/v1/sites/${SITE}/abandoned`, { method: 'POST', body: '{}' });
    if (r.status === 429) limited = r;
  }
  assert.ok(limited, 'a request over the limit was refused with 429');
  // The abuse bench found 429s without it (regression: a refusal that did not say when).
  const wait = Number(limited.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After: ${limited.headers.get('retry-after')}`);
});

test('the bookings limit is not per conversation: a new idempotency key each time does not escape it', async () => {
  // Bookings: 300 a minute per address here. Each request names a new conversation.
  let limited = false;
  for (let i = 0; i < 700 && !limited; i += 1) {
    const r = await api(`/v1/sites/${SITE}/bookings`, { method: 'POST', body: { idempotencyKey: `escape-${i}-${Date.now()}`, turns: [] } });
    limited = r.status === 429;
  }
  assert.ok(limited, 'fresh keys were refused with 429 once the address was over its limit');
});

test('no secret appears in any worker response or in the widget bundle', async () => {
  assert.ok(SECRETS.length >= 2, 'the stack passes its secret values');
  const bundle = readdirSync('widget/dist').map((f) => readFileSync(`widget/dist/${f}`).toString('latin1'));
  for (const s of SECRETS) {
    for (const text of [...seen, ...bundle]) assert.ok(!text.includes(s), 'a secret leaked');
  }
});
