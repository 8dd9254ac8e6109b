// Abuse while serving (issue 17 item 4): while a steady stream of normal bookings runs
// through the real worker, every abuse case of tests/data/abuse/cases.json is fired at
// it: oversize and chunked bodies, bad JSON, unknown fields, forged and stale signatures
// (Twilio voice and SMS webhooks, ServiceTitan webhooks, the voice platforms' tools
// route, the owner's admin routes: the worker receives no owner webhook, it only sends
// them), foreign origins, floods past every rate limit, crafted window turns and
// line-break injection. Each answer is compared with the status the case expects; the
// normal bookings must each end in the ServiceTitan emulator's records exactly once.
//
// Requests are real HTTP on 127.0.0.1, signed with the stack's real secrets the way
// Twilio (tests/twilio-sandbox/sign.mjs), ServiceTitan (hex HMAC-SHA256 of the body, the
// stack's subscription) and Retell (HMAC-SHA256 of body + timestamp) sign. Each case
// comes from its own loopback address (127.0.0.x: the worker counts limits per
// `cf-connecting-ip`, which wrangler dev sets from the connection), so one case's
// requests never spend another's per-address budget; the floods past the per-site
// limits use many addresses. Bounded: each case at most its `max` requests (200 unless
// the case says), the run ABUSE_DEADLINE_MS.
//
// Env: WORKER_URL, SANDBOX_URL (required), SITE_URL (an allowed origin), TWILIO_AUTH_TOKEN,
// TWILIO_ACCOUNT_SID, TWILIO_NUMBER, ST_WEBHOOK_KEY, VOICE_TOOL_SECRET, ADMIN_TOKEN
// (each optional: a case that needs a missing one is reported as not run),
// RATE_LIMIT_MULTIPLIER (the stack's, default 1; the floods need it small enough that a
// limit is passed within a case's bound: 1 is the real limits), ABUSE_NORMAL_EVERY_MS
// (default 2000, or 500 with the limits scaled ×4 or more),
// ABUSE_ONLY (run only cases whose class or name contains one of these, comma-separated).
// Writes JSON to $BENCH_OUT (default target/bench/abuse.json) and the BENCHMARKS.md section
// to $ABUSE_MD (default: abuse.md beside the JSON).
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { signature, formBody } from '../twilio-sandbox/sign.mjs';

const env = process.env;
const { WORKER_URL, SANDBOX_URL } = env;
const ROOT = env.ROOT || '.';
const OUT = env.BENCH_OUT || 'target/bench/abuse.json';
const MD = env.ABUSE_MD || join(dirname(OUT), 'abuse.md');
const CASES = env.ABUSE_CASES || join(ROOT, 'tests/data/abuse/cases.json');
const SITE = 'northstar';
const NUMBER = env.TWILIO_NUMBER || '+16125550170';
const ACCOUNT = env.TWILIO_ACCOUNT_SID || `AC${'0'.repeat(32)}`;
const MULTIPLIER = Math.max(1, Number(env.RATE_LIMIT_MULTIPLIER || 1));
// At the real limits (120 bookings a minute per site) a booking every 2 s leaves the
// site's budget room for the abuse; with the limits scaled up, every 0.5 s.
const NORMAL_EVERY_MS = Number(env.ABUSE_NORMAL_EVERY_MS || (MULTIPLIER >= 4 ? 500 : 2000));
const MAX_PER_CASE = 200;
const BOOK_LIMIT_MS = 100_000; // one normal booking, retries included (a held minute is 60 s)
const RECORDS_LIMIT_MS = 60_000;
const DEADLINE_MS = Number(env.ABUSE_DEADLINE_MS || 6 * 60_000);
if (!WORKER_URL || !SANDBOX_URL) throw new Error('abuse.mjs: run through `cargo xtask bench` (WORKER_URL, SANDBOX_URL)');
for (const u of [WORKER_URL, SANDBOX_URL, env.SITE_URL].filter(Boolean)) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}
setTimeout(() => { console.error(`abuse: gave up after ${DEADLINE_MS / 1000} s (ABUSE_DEADLINE_MS)`); process.exit(2); }, DEADLINE_MS).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN = Date.now().toString(36);
const worker = new URL(WORKER_URL);
const started = Date.now();
const log = (s) => console.log(`abuse: [${((Date.now() - started) / 1000).toFixed(1)} s] ${s}`);

// ---- clients: one loopback address each ----

let nextAddress = 10;
function client(label) {
  const n = nextAddress++;
  if (n > 250 * 250) throw new Error('out of loopback addresses');
  return { label, localAddress: `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}` };
}

// One HTTP exchange on its own connection: {status, headers, text, json, ms, error}.
// `chunks` sends the body without Content-Length (Transfer-Encoding: chunked).
function send({ method = 'GET', path, headers = {}, body = null, chunks = null, from, timeoutMs = 30_000, base = worker }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      let json = null;
      try { json = r.text ? JSON.parse(r.text) : null; } catch { /* not JSON */ }
      resolve({ headers: {}, text: '', ...r, json, ms: performance.now() - t0 });
    };
    const h = { ...headers };
    if (chunks) h['transfer-encoding'] = 'chunked';
    else if (body != null) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host: base.hostname, port: base.port, path, method, headers: h, agent: false,
      localAddress: from?.localAddress, timeout: timeoutMs }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => finish({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', (e) => finish({ status: res.statusCode, headers: res.headers, error: e.code || String(e) }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => finish({ status: 0, error: e.code || String(e) }));
    if (chunks) {
      (async () => {
        for (const c of chunks) {
          if (done || req.destroyed) return;
          if (!req.write(c)) {
            await new Promise((r) => {
              const go = () => { req.off('drain', go); req.off('close', go); r(); };
              req.on('drain', go);
              req.on('close', go);
            });
          }
        }
        req.end();
      })().catch(() => {});
    } else req.end(body ?? undefined);
  });
}

// wrangler dev's local proxy (not the worker) sometimes resets an upload, or answers 503
// while it restarts its local worker after one (tests/e2e/worker.test.mjs); such an
// answer is no answer of the worker's: retried, at most three times, and counted.
const proxyReset = (r) => r.status === 0 || (r.status === 503 && /restarted/i.test(r.text || ''));
async function exchange(opts) {
  let resets = 0;
  for (;;) {
    const r = await send(opts);
    if (!proxyReset(r) || resets >= 3) return { ...r, resets };
    resets += 1;
    await sleep(500);
  }
}

async function st(path, init = {}) {
  const r = await fetch(`${SANDBOX_URL}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`emulator ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}
const stJson = (path, body) => st(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
const journalSeq = async () => (await st('/_admin/requests')).reduce((m, e) => Math.max(m, e.seq), 0);
const journalSince = async (seq) => (await st('/_admin/requests')).filter((e) => e.seq > seq && !String(e.path).startsWith('/_admin'));

// ---- homeowners ----

let people = 0;
const taken = new Set(); // phones already in the emulator (an earlier run on this stack)
const FIRST = ['Avery', 'Jordan', 'Morgan', 'Riley', 'Casey', 'Quinn', 'Harper', 'Rowan', 'Emerson', 'Sawyer'];
// A fresh homeowner: normal ones 612-555-7xxx, abuse ones 612-555-8xxx (none in the seed
// tenant, none another bench script uses), each on a street of their own.
function homeowner(kind, opts = {}) {
  let n;
  let phone;
  do {
    people += 1;
    n = people;
    phone = `612555${kind === 'normal' ? 7 : 8}${String(n % 1000).padStart(3, '0')}`;
  } while (taken.has(phone) && people < 5000);
  taken.add(phone);
  const name = `${FIRST[n % FIRST.length]} ${kind === 'normal' ? 'Steady' : 'Abuse'}${String.fromCharCode(65 + (n % 26))}`;
  const street = `${1000 + n} ${kind === 'normal' ? 'Cedar Ave' : 'Birch St'}, Minneapolis, MN 55414`;
  const at = Math.floor(Date.now() / 1000) - 60;
  const own = (t) => t && t.replaceAll('{{n}}', String(1000 + n));
  opts = { ...opts, need: own(opts.need), name: own(opts.name), address: own(opts.address) };
  const texts = [opts.need || 'My water heater is leaking, can you come tomorrow morning', opts.name || name,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, opts.address || street, 'yes', ...(opts.after || [])];
  const turns = texts.map((text, i) => ({ text, at: at + i * 5 }));
  const key = `abuse-${RUN}-${kind}-${n}`;
  return { n, phone, name, key, turns };
}
// A number for a caller or an emulator customer, from the same fresh block.
function freshPhone() {
  return homeowner('abuse').phone;
}
const submission = (h, extra = {}) => JSON.stringify({ idempotencyKey: h.key, turns: h.turns, locale: 'en', ...extra });

// ---- normal bookings, all the while ----

const normal = { sent: [], stop: false, done: null };
// Posts with the same key until booked, as the widget retries: a 429 waits for the
// Retry-After (or the next minute, the limit's window, when there is none), a proxy
// reset a second. Bounded.
async function bookNormally(h, from) {
  const t0 = performance.now();
  const answers = [];
  let posts = 0;
  let held429 = 0;
  let heldNoRetryAfter = 0;
  for (;;) {
    const r = await send({ method: 'POST', path: `/v1/sites/${SITE}/bookings`, from, body: submission(h),
      headers: { 'content-type': 'application/json', ...(env.SITE_URL ? { origin: env.SITE_URL } : {}) } });
    posts += 1;
    const what = r.status === 200 ? r.json?.status : `http ${r.status}${r.error ? ` ${r.error}` : ''}`;
    if (answers.at(-1) !== what) answers.push(what);
    if (r.status === 200 && ['booked', 'received'].includes(r.json?.status)) {
      return { phone: h.phone, key: h.key, answered: r.json.status, posts, answers, held429, heldNoRetryAfter, ms: Math.round(performance.now() - t0) };
    }
    if (performance.now() - t0 > BOOK_LIMIT_MS) {
      return { phone: h.phone, key: h.key, answered: null, posts, answers, held429, heldNoRetryAfter, ms: Math.round(performance.now() - t0) };
    }
    if (r.status === 429) {
      held429 += 1;
      const after = Number(r.headers['retry-after']);
      if (!(after >= 0)) heldNoRetryAfter += 1;
      await sleep(after >= 0 ? after * 1000 + 100 : 60_000 - (Date.now() % 60_000) + 300);
    } else await sleep(1000);
  }
}
function startNormal() {
  const from = [client('normal-1'), client('normal-2'), client('normal-3'), client('normal-4')];
  const pending = [];
  normal.done = (async () => {
    for (let i = 0; !normal.stop; i += 1) {
      const h = homeowner('normal');
      normal.sent.push(h.phone);
      pending.push(bookNormally(h, from[i % from.length]));
      await sleep(NORMAL_EVERY_MS);
    }
    return Promise.all(pending);
  })();
}

// ---- the records ----

const digits = (v) => String(v ?? '').replace(/\D/g, '');
async function recordsByPhone(phones) {
  const db = await st('/_admin/records');
  const out = new Map();
  for (const p of phones) {
    const ids = new Set((db.contacts || []).filter((c) => c.customerId != null && digits(c.value).endsWith(p)).map((c) => c.customerId));
    const mine = (k) => (db[k] || []).filter((x) => ids.has(x.customerId));
    const jobs = mine('jobs');
    const jobIds = new Set(jobs.map((j) => j.id));
    // An office booking (booking provider) has no customer: its contacts name it.
    const bookingIds = new Set((db.contacts || []).filter((c) => c.bookingId != null && digits(c.value).endsWith(p))
      .map((c) => c.bookingId));
    const bookings = (db.bookings || []).filter((b) => ids.has(b.customerId) || bookingIds.has(b.id));
    out.set(p, {
      customers: ids.size, locations: mine('locations').length, jobs: jobs.length, bookings: bookings.length,
      names: (db.customers || []).filter((c) => ids.has(c.id)).map((c) => c.name),
      jobRows: jobs, bookingRows: bookings,
      notes: (db.notes || []).filter((x) => ids.has(x.customerId) || jobIds.has(x.jobId)).map((x) => String(x.text ?? '')),
    });
  }
  return out;
}
const complete = (r) => r && ((r.customers >= 1 && r.locations >= 1 && r.jobs >= 1) || r.bookings >= 1);
async function recordsSettled(phones) {
  const t0 = performance.now();
  for (;;) {
    const recs = await recordsByPhone(phones);
    if ([...recs.values()].every(complete) || performance.now() - t0 > RECORDS_LIMIT_MS) {
      await sleep(2000); // a late second write would show now
      return recordsByPhone(phones);
    }
    await sleep(1000);
  }
}

// ---- the cases ----

const file = JSON.parse(readFileSync(CASES, 'utf8'));
const only = (env.ABUSE_ONLY || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const cases = file.cases.filter((c) => !only.length || only.some((o) => `${c.class} ${c.name}`.toLowerCase().includes(o)));
let siteOrigin = env.SITE_URL || '';
const abusePhones = []; // homeowners carried by refused requests: none may reach ServiceTitan
let lastHomeowner = null;

function fill(text, h) {
  return text.replaceAll('{{key}}', `${RUN}-${randomBytes(6).toString('hex')}`).replaceAll('{{turns}}', JSON.stringify(h.turns))
    .replaceAll('{{phone}}', h.phone).replaceAll('{site}', SITE).replaceAll('{siteOrigin}', siteOrigin);
}

// The body of an `http` case, as bytes or chunks.
function bodyOf(c) {
  const b = c.body;
  if (b == null) return { body: null };
  const h = homeowner('abuse');
  const usesHomeowner = typeof b !== 'string' || b.includes('{{turns}}');
  if (usesHomeowner) lastHomeowner = { phone: h.phone, case: c.name };
  let text;
  if (typeof b === 'string') text = fill(b, h);
  else if (b.pad) {
    const head = submission(h, { pageUrl: 'https://example.test/?' }).slice(0, -1);
    text = `${head.slice(0, -2)}${'x'.repeat(Math.max(0, b.pad - head.length - 2))}"}`;
  } else if (b.turnsCount) {
    const turns = Array.from({ length: b.turnsCount }, (_, i) => h.turns[i % h.turns.length]);
    text = JSON.stringify({ idempotencyKey: h.key, turns });
  } else if (b.turnBytes) {
    const turns = [{ text: `My water heater is leaking ${'a'.repeat(b.turnBytes - 27)}`, at: h.turns[0].at }, ...h.turns.slice(1)];
    text = JSON.stringify({ idempotencyKey: h.key, turns });
  } else if (b.turnExtra) {
    text = JSON.stringify({ idempotencyKey: h.key, turns: h.turns.map((t, i) => (i === 1 ? { ...t, ...b.turnExtra } : t)) });
  } else if (b.invalidUtf8) {
    const s = submission(h);
    const i = s.indexOf('leaking') + 3;
    return { body: Buffer.concat([Buffer.from(s.slice(0, i)), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(s.slice(i))]) };
  }
  if (c.chunked) {
    const size = 16 * 1024;
    const chunks = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    return { chunks };
  }
  return { body: text };
}

// Whether an answer is what a case expects; `why` says what was wrong.
function judge(r, expect) {
  if (r.status !== expect.status) return { ok: false, why: `${r.status || r.error}` };
  // A proxy reset after the worker's status line can cut its body: the status is the worker's.
  const cut = r.error && !r.text;
  if (expect.error && !cut && !new RegExp(expect.error).test(r.json?.error ?? r.text)) return { ok: false, why: `${r.status} without "${expect.error}" (${(r.json?.error ?? r.text).slice(0, 80)})` };
  if (expect.noHeader && r.headers[expect.noHeader] != null) return { ok: false, why: `${r.status} with ${expect.noHeader}: ${r.headers[expect.noHeader]}` };
  if (expect.header && r.headers[expect.header] == null) return { ok: false, why: `${r.status} without ${expect.header}` };
  return { ok: true };
}

function tally(c, answers, extra = {}) {
  const got = answers.filter((a) => a.ok).length;
  const other = {};
  for (const a of answers.filter((x) => !x.ok)) other[a.why] = (other[a.why] || 0) + 1;
  const resets = answers.reduce((s, a) => s + (a.resets || 0), 0);
  const row = { class: c.class, name: c.name, kind: c.kind, sent: answers.length + resets, expected: expectText(c), got, other, resets, ...extra };
  row.met = row.met ?? (answers.length > 0 && got === answers.length);
  log(`${c.class} / ${c.name}: ${got}/${answers.length} as expected${Object.keys(other).length ? `, other ${JSON.stringify(other)}` : ''}${resets ? `, proxy resets ${resets}` : ''}`);
  return row;
}
const expectText = (c) => (c.expect ? `${c.expect.status}${c.expect.header ? ` with ${headerName(c.expect.header)}` : ''}` : c.expectText || '');
const headerName = (h) => h.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('-');

async function httpCase(c) {
  const from = client(c.name);
  const answers = [];
  for (let i = 0; i < Math.min(c.count || 1, c.max || MAX_PER_CASE); i += 1) {
    const headers = Object.fromEntries(Object.entries(c.headers || {}).map(([k, v]) => [k, fill(v, { turns: [], phone: '' })]));
    if (c.body != null && !headers['content-type']) headers['content-type'] = 'application/json';
    lastHomeowner = null;
    const r = await exchange({ method: c.method || 'GET', path: fill(c.path, { turns: [], phone: '' }), headers, ...bodyOf(c), from });
    answers.push({ ...judge(r, c.expect), resets: r.resets });
    if (lastHomeowner && r.status >= 400) abusePhones.push({ ...lastHomeowner, status: r.status });
  }
  return tally(c, answers);
}

// ---- Twilio ----

const twilioToken = env.TWILIO_AUTH_TOKEN;
const callSid = () => `CA${randomBytes(16).toString('hex')}`;
function voiceParams(sid, from, extra = {}) {
  return { AccountSid: ACCOUNT, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: 'in-progress', Called: NUMBER, CalledCountry: 'US',
    Caller: from, CallerCountry: 'US', Direction: 'inbound', From: from, FromCountry: 'US', To: NUMBER, ToCountry: 'US', ...extra };
}
async function twilioPost(path, params, sig, from) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'user-agent': 'TwilioProxy/1.1',
    'i-twilio-idempotency-token': randomBytes(16).toString('hex') };
  if (sig != null) headers['x-twilio-signature'] = sig;
  return exchange({ method: 'POST', path, headers, body: formBody(params), from });
}
async function twilioCase(c) {
  if (!twilioToken) return notRun(c, 'TWILIO_AUTH_TOKEN not given');
  const from = client(c.name);
  const answers = [];
  for (let i = 0; i < (c.count || 1); i += 1) {
    const caller = `+1${freshPhone()}`;
    let path = c.hook === 'sms' ? `/v1/webhooks/twilio/${SITE}/sms` : `/v1/voice/twilio/${SITE}/${c.hook}`;
    let params = c.hook === 'sms'
      ? { AccountSid: ACCOUNT, ApiVersion: '2010-04-01', MessageSid: `SM${randomBytes(16).toString('hex')}`, From: caller, To: NUMBER, Body: 'STOP', NumMedia: '0' }
      : voiceParams(callSid(), caller, c.hook === 'gather' ? { SpeechResult: 'no thanks', Confidence: '0.9' } : {});
    let sig;
    if (c.sign === 'none') sig = null;
    else if (c.sign === 'forged') sig = randomBytes(20).toString('base64');
    else if (c.sign === 'otherToken') sig = signature(`tw1.${randomBytes(16).toString('hex')}`, `${WORKER_URL}${path}`, params);
    else if (c.sign === 'otherUrl') sig = signature(twilioToken, `${WORKER_URL}/v1/voice/twilio/${SITE}/incoming`, params);
    else if (c.sign === 'otherSite') {
      path = `/v1/voice/twilio/nosuchsite/${c.hook}`;
      sig = signature(twilioToken, `${WORKER_URL}${path}`, params);
    } else if (c.sign === 'altered') {
      sig = signature(twilioToken, `${WORKER_URL}${path}`, params);
      params = c.hook === 'sms' ? { ...params, Body: 'START' } : { ...params, SpeechResult: 'yes, book it' };
    } else sig = signature(twilioToken, `${WORKER_URL}${path}`, params);
    const r = await twilioPost(path, params, sig, from);
    answers.push({ ...judge(r, c.expect), resets: r.resets });
  }
  return tally(c, answers);
}

// ---- ServiceTitan webhooks ----

const stKey = env.ST_WEBHOOK_KEY;
const stHook = `/v1/webhooks/servicetitan/${SITE}`;
const stSign = (body) => createHmac('sha256', stKey).update(body, 'utf8').digest('hex');
const stPost = (body, sig, from) => exchange({ method: 'POST', path: stHook, from, body,
  headers: { 'content-type': 'application/json', ...(sig != null ? { 'x-servicetitan-signature': sig } : {}) } });

// A real event: an estimate the office sent, as the emulator itself writes it (its own
// delivery skipped, so this bench is its only sender), for a customer of this run.
async function realEvent() {
  const mobile = freshPhone();
  const { record: customer } = await stJson('/_admin/customers', { name: `Replay Tester${String.fromCharCode(65 + (people % 26))}`, mobile });
  const { record: estimate } = await stJson('/_admin/estimates', { customerId: customer.id, name: 'Furnace replacement' });
  const { events } = await stJson(`/_admin/estimates/${estimate.id}/sent?deliver=skip`);
  const event = events.find((e) => e.eventType === 'Estimate.Sent') || events[0];
  return { customerId: customer.id, estimateId: estimate.id, body: JSON.stringify(event) };
}

async function followUpsOf(customerId) {
  const r = await send({ path: `/v1/admin/followups?site=${SITE}&customer=${customerId}`, headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
  if (r.status !== 200) return null;
  const c = (r.json?.customers || []).find((x) => x.customerId === customerId);
  return c ? c.followUps : [];
}

async function stWebhookCase(c) {
  if (!stKey) return notRun(c, 'ST_WEBHOOK_KEY not given');
  const from = client(c.name);
  const answers = [];
  if (c.sign === 'replay') return stReplay(c, from);
  for (let i = 0; i < (c.count || 1); i += 1) {
    const ev = c.body ? { body: c.body } : await realEvent();
    let sig = c.sign === 'none' ? null : c.sign === 'forged' ? randomBytes(32).toString('hex') : stSign(ev.body);
    let body = ev.body;
    if (c.sign === 'altered') body = body.replace(/"entityId":\d+/, '"entityId":1');
    const r = await stPost(body, sig, from);
    answers.push({ ...judge(r, c.expect), resets: r.resets });
  }
  return tally(c, answers);
}

// One real delivery, then the same signed body again and again (ServiceTitan's scheme
// has no timestamp, so a replay cannot be told from a retry): every copy is accepted,
// and the follow-ups must be as after the first (deduplicated on entity, id, modifiedOn).
async function stReplay(c, from) {
  const ev = await realEvent();
  const sig = stSign(ev.body);
  const answers = [];
  const seq = await journalSeq();
  const first = await stPost(ev.body, sig, from);
  answers.push({ ...judge(first, c.expect), resets: first.resets });
  let before = null;
  if (env.ADMIN_TOKEN) {
    for (let t = 0; t < 30 && !(before?.length); t += 1) { await sleep(1000); before = await followUpsOf(ev.customerId); }
  } else await sleep(3000);
  const seq2 = await journalSeq();
  for (let i = 1; i < (c.count || 2); i += 1) {
    const r = await stPost(ev.body, sig, from);
    answers.push({ ...judge(r, c.expect), resets: r.resets });
  }
  await sleep(5000);
  const after = env.ADMIN_TOKEN ? await followUpsOf(ev.customerId) : null;
  // Writes about this customer or estimate (the normal bookings write meanwhile too).
  const mine = (e) => new RegExp(`/(customers|estimates)/(${ev.customerId}|${ev.estimateId})(/|$)`).test(String(e.path));
  const writes = (await journalSince(seq2)).filter((e) => e.method !== 'GET' && mine(e));
  const firstCalls = (await journalSince(seq)).filter(mine).length;
  const extra = {
    replays: answers.length - 1, serviceTitanWritesAfterReplays: writes.length, serviceTitanCalls: firstCalls,
    followUpsAfterFirst: before ? before.length : null, followUpsAfterReplays: after ? after.length : null,
  };
  const deduped = writes.length === 0 && (after == null || (before?.length >= 1 && after.length === before.length));
  extra.dedupe = after == null
    ? `ServiceTitan writes after ${extra.replays} replays: ${writes.length} (follow-ups not read: ADMIN_TOKEN not given)`
    : `follow-ups for the customer after the first delivery: ${before?.length ?? 0}, after ${extra.replays} replays: ${after.length}; ServiceTitan writes after the replays: ${writes.length}`;
  const row = tally(c, answers, extra);
  row.met = row.met && deduped;
  log(`  replay: ${extra.dedupe}`);
  return row;
}

// ---- the voice platforms' tools route ----

async function toolsCase(c) {
  const secret = env.VOICE_TOOL_SECRET;
  if (!secret && ['retellStale', 'retellFuture', 'bearer', 'retell'].includes(c.auth)) return notRun(c, 'VOICE_TOOL_SECRET not given');
  const from = client(c.name);
  const answers = [];
  for (let i = 0; i < (c.count || 1); i += 1) {
    const body = JSON.stringify({ name: 'check_service_area', args: { zip: '55408' },
      call: { call_id: `abuse-${RUN}-${i}`, from_number: `+1${freshPhone()}` } });
    const retell = (ms, key = secret) => `v=${ms},d=${createHmac('sha256', key).update(body + ms).digest('hex')}`;
    const now = Date.now();
    const headers = { 'content-type': 'application/json' };
    if (c.auth === 'retell') headers['x-retell-signature'] = retell(now);
    if (c.auth === 'retellStale') headers['x-retell-signature'] = retell(now - 6 * 60_000);
    if (c.auth === 'retellFuture') headers['x-retell-signature'] = retell(now + 6 * 60_000);
    if (c.auth === 'retellForged') headers['x-retell-signature'] = `v=${now},d=${randomBytes(32).toString('hex')}`;
    if (c.auth === 'vapiWrong') headers['x-vapi-secret'] = `vts.${randomBytes(16).toString('hex')}`;
    if (c.auth === 'bearerWrong') headers.authorization = `Bearer vts.${randomBytes(16).toString('hex')}`;
    if (c.auth === 'bearer') headers.authorization = `Bearer ${secret}`;
    const r = await exchange({ method: 'POST', path: `/v1/voice/tools/${SITE}`, headers, body, from });
    answers.push({ ...judge(r, c.expect), resets: r.resets });
  }
  return tally(c, answers);
}

// ---- floods ----

const minute = () => Math.floor(Date.now() / 60_000);
const secondOfMinute = () => (Date.now() % 60_000) / 1000;
// Waits until the minute has at least `need` seconds left, so a flood stays in one of the
// limiter's fixed one-minute windows.
async function roomInMinute(need) {
  if (60 - secondOfMinute() < need) await sleep((60 - secondOfMinute()) * 1000 + 300);
}

async function floodCase(c) {
  const limit = c.limit * MULTIPLIER;
  const max = c.max || MAX_PER_CASE;
  if (limit + 1 > max) return notRun(c, `the limit is ${limit} a minute at RATE_LIMIT_MULTIPLIER ${MULTIPLIER}: more than ${max} requests to pass it`);
  const path = fill(c.path, { turns: [], phone: '' });
  const req = (from) => exchange({ method: c.method, path, from, body: c.body ?? null,
    headers: c.body != null ? { 'content-type': 'application/json' } : {} });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await roomInMinute(c.last ? 10 : c.scope === 'site' ? 25 : 12);
    const m0 = minute();
    const answers = [];
    let firstRefusal = null;
    if (c.scope === 'address') {
      const from = client(c.name);
      // The limit, then ten more: the ten must be refused.
      for (let i = 0; i < Math.min(max, limit + 10); i += 1) {
        const r = await req(from);
        if (r.status === 429 && firstRefusal == null) firstRefusal = i + 1;
        answers.push({ i, r, beyond: i >= limit });
      }
    } else {
      // Fresh addresses, each below its own limit, until the site's limit refuses one;
      // then ten more from addresses that sent nothing yet: the site is full for everyone.
      let from = client(c.name);
      let fromSent = 0;
      while (answers.length < max - 10 && firstRefusal == null) {
        if (fromSent >= (c.perAddress || 25)) { from = client(c.name); fromSent = 0; }
        const r = await req(from);
        fromSent += 1;
        if (r.status === 429) firstRefusal = answers.length + 1;
        answers.push({ i: answers.length, r, beyond: r.status === 429 });
      }
      for (let k = 0; k < 10 && firstRefusal != null; k += 1) {
        const r = await req(client(c.name));
        answers.push({ i: answers.length, r, beyond: true });
      }
    }
    if (minute() !== m0 && attempt === 0) { log(`${c.name}: crossed a minute boundary, again from fresh addresses`); continue; }
    const over = answers.filter((a) => a.beyond);
    const judged = over.map((a) => ({ ...judge(a.r, c.expect), resets: a.r.resets }));
    const refused = answers.filter((a) => a.r.status === 429);
    const extra = {
      limitPerMinute: limit, firstRefusalAt: firstRefusal, refused429: refused.length,
      withRetryAfter: refused.filter((a) => a.r.headers['retry-after'] != null).length,
      allowedBeforeLimit: answers.filter((a) => !a.beyond && a.r.status !== 429).length,
      wrongly429BeforeLimit: c.scope === 'address' ? answers.filter((a) => !a.beyond && a.r.status === 429).length : 0,
      floodRequests: answers.length,
    };
    const row = tally(c, judged, extra);
    row.sent = answers.length + answers.reduce((s, a) => s + (a.r.resets || 0), 0);
    row.met = row.met && (c.scope !== 'address' || (firstRefusal === limit + 1 && extra.wrongly429BeforeLimit === 0));
    log(`  flood: first 429 at request ${firstRefusal} (limit ${limit}), 429s ${refused.length}, with Retry-After ${extra.withRetryAfter}`);
    return row;
  }
  return null;
}

// Availability for distinct ZIPs: each a cache miss, so each would cost a ServiceTitan
// capacity call; past the site's budget the look-up answers no windows without a call.
async function capacityCase(c) {
  const budget = c.limit * MULTIPLIER;
  const max = Math.min(c.max || MAX_PER_CASE, MAX_PER_CASE);
  if (budget + 5 > max) return notRun(c, `the budget is ${budget} a minute at RATE_LIMIT_MULTIPLIER ${MULTIPLIER}`);
  await roomInMinute(15);
  const from = client(c.name);
  const seq = await journalSeq();
  const answers = [];
  const base = 56000 + (Math.floor(Date.now() / 1000) % 900) * 10; // ZIPs nobody looked up this hour
  for (let i = 0; i < max; i += 1) {
    const r = await exchange({ path: `/v1/sites/${SITE}/availability?trade=plumbing&zip=${base + i}`, from });
    answers.push(r);
  }
  const calls = (await journalSince(seq)).filter((e) => String(e.path).includes('/capacity')).length;
  const empty = answers.filter((r) => r.status === 200 && Array.isArray(r.json?.windows) && r.json.windows.length === 0).length;
  const ok200 = answers.filter((r) => r.status === 200).length;
  const refusedWithoutCall = Math.max(0, answers.length - calls);
  const row = {
    class: c.class, name: c.name, kind: c.kind, sent: answers.length, expected: `200, no windows past ${budget} calls`,
    got: Math.min(refusedWithoutCall, empty), gotText: `${calls} calls ≤ ${budget}; ${empty} no windows`, other: ok200 === answers.length ? {} : { 'not 200': answers.length - ok200 },
    resets: answers.reduce((s, r) => s + (r.resets || 0), 0),
    capacityCalls: calls, budgetPerMinute: budget, answeredNoWindows: empty,
  };
  // Other traffic (the normal bookings' window re-checks) shares the budget: calls ≤ budget.
  row.met = calls <= budget && empty >= answers.length - budget && ok200 === answers.length;
  log(`${c.name}: ${answers.length} look-ups, ${calls} ServiceTitan capacity calls (budget ${budget}), ${empty} answered with no windows`);
  return row;
}

// ---- crafted window turns ----

const LOCAL_OFFSET_S = -360 * 60; // northstar's utcOffsetMinutes
const localDay = (t) => Math.floor((t + LOCAL_OFFSET_S) / 86400);
const at = (day, hour) => day * 86400 + hour * 3600 - LOCAL_OFFSET_S;
let offered = null;
async function offeredWindow() {
  if (offered) return offered;
  const r = await exchange({ path: `/v1/sites/${SITE}/availability?trade=plumbing&zip=55414`, from: client('offered windows') });
  // The last window offered, not the first: the normal bookings (and most cases) ask for
  // "tomorrow morning", so after the morning's lead time the first window offered is the
  // one they fill, and the control was re-planned as "just taken" (the run of 01:00 UTC).
  offered = r.json?.windows?.at(-1) ?? null;
  return offered;
}
async function craftedWindow(kind) {
  const now = Math.floor(Date.now() / 1000);
  const today = localDay(now);
  switch (kind) {
    case 'notSiteWindow': return { start: now + 3 * 3600, end: now + 10 * 365 * 86400 };
    case 'past': return { start: at(today - 1, 8), end: at(today - 1, 12) };
    case 'beyondHorizon': return { start: at(today + 45, 8), end: at(today + 45, 12) };
    case 'year318857': return { start: 10_000_000_000_000, end: 10_000_000_014_400 };
    case 'oddHours': return { start: at(today + 1, 3), end: at(today + 1, 23) };
    case 'noCapacitySunday': {
      // The next Sunday morning at least a day ahead and within the 7 days capacity is read for.
      for (let d = today + 1; d <= today + 7; d += 1) {
        if (new Date(d * 86400 * 1000).getUTCDay() === 0 && at(d, 8) > now + 86400 && at(d, 8) < now + 7 * 86400 - 3600) return { start: at(d, 8), end: at(d, 12) };
      }
      return null;
    }
    case 'sundayBeyondCapacityDays': {
      // A Sunday morning 8 to 29 days ahead: inside the site's 30-day horizon, past the 7
      // days the worker reads capacity for.
      for (let d = today + 8; d <= today + 29; d += 1) {
        if (new Date(d * 86400 * 1000).getUTCDay() === 0 && at(d, 8) > now + 8 * 86400) return { start: at(d, 8), end: at(d, 12) };
      }
      return null;
    }
    case 'offered': {
      const w = await offeredWindow();
      return w ? { start: w.start, end: w.end } : null;
    }
    default: throw new Error(`unknown window ${kind}`);
  }
}
const pending = { windows: [], injections: [] };
async function windowCase(c) {
  const w = await craftedWindow(c.window);
  if (!w) return notRun(c, 'no such window this week');
  const from = client(c.name);
  const answers = [];
  for (let i = 0; i < (c.count || 1); i += 1) {
    const h = homeowner('abuse', { ...(c.turns || {}), after: [w.label ? `Arrival window: ${w.label} [${w.start}-${w.end}]` : `Arrival window: [${w.start}-${w.end}]`, 'Book it'] });
    const r = await exchange({ method: 'POST', path: `/v1/sites/${SITE}/bookings`, from, body: submission(h),
      headers: { 'content-type': 'application/json' } });
    answers.push({ r, h, w });
  }
  const row = { class: c.class, name: c.name, kind: c.kind, sent: answers.length + answers.reduce((s, a) => s + (a.r.resets || 0), 0),
    expected: c.window === 'offered' ? 'booked at it' : 'not booked at it', got: 0, other: {}, resets: 0, window: w, checks: [] };
  pending.windows.push({ row, answers, control: c.window === 'offered' });
  return row;
}
// After the run: the reply and ServiceTitan's job must not carry a crafted window; the
// offered one must be kept.
async function judgeWindows() {
  const phones = pending.windows.flatMap((p) => p.answers.map((a) => a.h.phone));
  const recs = await recordsSettled(phones);
  for (const { row, answers, control } of pending.windows) {
    for (const a of answers) {
      const rec = recs.get(a.h.phone);
      const appts = (rec?.jobRows || []).flatMap((j) => j.appointments || []);
      const ws = [...appts.map((x) => x.arrivalWindowStart || x.start), ...(rec?.bookingRows || []).map((b) => b.start)]
        .filter(Boolean).map((t) => Math.floor(Date.parse(t) / 1000));
      const replyAt = a.r.json?.window?.start ?? null;
      const atCrafted = replyAt === a.w.start || ws.includes(a.w.start);
      const check = {
        status: a.r.status, answer: a.r.json?.status ?? a.r.json?.error ?? null, replyWindow: a.r.json?.window ?? null,
        message: a.r.json?.message ?? null, jobs: rec?.jobs ?? 0, bookings: rec?.bookings ?? 0,
        jobWindows: appts.map((x) => [x.arrivalWindowStart, x.arrivalWindowEnd]),
      };
      row.checks.push(check);
      const ok = control ? a.r.status === 200 && replyAt === a.w.start && ws.includes(a.w.start) && rec.jobs === 1
        : !atCrafted && (a.r.status === 422 || (a.r.status === 200 && rec && rec.jobs + rec.bookings === 1));
      if (ok) row.got += 1;
      else {
        const why = control ? `not booked at the offered window (${JSON.stringify(check)})` : atCrafted ? 'booked at the crafted window' : `${a.r.status} ${check.answer}, records ${rec?.jobs}/${rec?.bookings}`;
        row.other[why] = (row.other[why] || 0) + 1;
      }
      row.outcome = a.r.status === 200
        ? `${a.r.json?.status}${replyAt ? ` at ${iso(replyAt)}` : ' (no window)'}; ServiceTitan: ${check.jobs ? `job at ${check.jobWindows.map((x) => x[0]).join(', ')}` : check.bookings ? 'office booking' : 'nothing'}`
        : `${a.r.status} ${check.answer}`;
    }
    row.met = row.got === answers.length;
    log(`${row.name}: ${row.outcome}${row.met ? '' : '  <-- not as expected'}`);
  }
}
const iso = (t) => new Date(t * 1000).toISOString().replace(':00.000Z', 'Z');

// ---- line-break injection ----

async function injectionCase(c) {
  const from = client(c.name);
  const answers = [];
  for (let i = 0; i < (c.count || 1); i += 1) {
    const h = homeowner('abuse', c.turns || {});
    const r = await exchange({ method: 'POST', path: `/v1/sites/${SITE}/bookings`, from, body: submission(h, c.fields || {}),
      headers: { 'content-type': 'application/json' } });
    answers.push({ r, h });
  }
  const row = { class: c.class, name: c.name, kind: c.kind, sent: answers.length, expected: '200, kept as text, no line or header forged', got: 0, other: {}, resets: 0, checks: [] };
  pending.injections.push({ row, answers, c });
  return row;
}
async function judgeInjections() {
  const phones = pending.injections.flatMap((p) => p.answers.map((a) => a.h.phone));
  const recs = await recordsSettled(phones);
  for (const { row, answers, c } of pending.injections) {
    const forged = c.forgedLines || [];
    for (const a of answers) {
      const rec = recs.get(a.h.phone);
      const texts = [...(rec?.jobRows || []).map((j) => String(j.summary ?? '')), ...(rec?.bookingRows || []).map((b) => String(b.summary ?? '')), ...(rec?.notes || [])];
      const lines = texts.flatMap((t) => t.split(/\r\n|\r|\n/)).map((l) => l.trim());
      const forgedLines = lines.filter((l) => forged.includes(l));
      const headerLeak = (c.forbiddenHeaders || []).filter((k) => a.r.headers[k] != null);
      const breakInName = (rec?.names || []).filter((n) => /[\r\n]/.test(n));
      const keptAsText = !c.keptAsText || lines.some((l) => l.includes(c.keptAsText) && l !== c.keptAsText);
      const check = { status: a.r.status, answer: a.r.json?.status ?? a.r.json?.error ?? null,
        records: rec ? `${rec.customers}/${rec.locations}/${rec.jobs + rec.bookings}` : null, names: rec?.names, forgedLines, headerLeak, breakInName, keptAsText };
      row.checks.push(check);
      const ok = a.r.status === 200 && complete(rec) && !forgedLines.length && !headerLeak.length && !breakInName.length && keptAsText;
      if (ok) row.got += 1;
      else {
        const why = a.r.status !== 200 ? `${a.r.status} ${check.answer}` : !complete(rec) ? 'not in ServiceTitan'
          : forgedLines.length ? `forged line: ${forgedLines[0]}` : headerLeak.length ? `header: ${headerLeak[0]}` : breakInName.length ? 'line break in the name' : 'the text was dropped, not kept';
        row.other[why] = (row.other[why] || 0) + 1;
      }
    }
    row.met = row.got === answers.length;
    log(`${row.name}: ${row.got}/${answers.length} kept as text${row.met ? '' : ` ${JSON.stringify(row.other)} ${JSON.stringify(row.checks)}`}`);
  }
}

// A call whose speech carries CR/LF and TwiML: every answer one TwiML document, the
// caller's words (if echoed) escaped, no element of theirs.
async function voiceInjectionCase(c) {
  if (!twilioToken) return notRun(c, 'TWILIO_AUTH_TOKEN not given');
  const from = client(c.name);
  const answers = [];
  const evil = c.speech || [];
  for (let i = 0; i < (c.count || 1); i += 1) {
    const sid = callSid();
    const caller = `+1${freshPhone()}`;
    const base = `/v1/voice/twilio/${SITE}`;
    const post = (hook, extra) => {
      const params = voiceParams(sid, caller, extra);
      return twilioPost(`${base}/${hook}`, params, signature(twilioToken, `${WORKER_URL}${base}/${hook}`, params), from);
    };
    const replies = [await post('incoming', { CallStatus: 'ringing' })];
    for (const said of evil) replies.push(await post('gather', { SpeechResult: said, Confidence: '0.9' }));
    for (const r of replies) {
      const x = r.text || '';
      const bad = [];
      if (r.status !== 200) bad.push(`${r.status}`);
      if ((x.match(/<Response\b/g) || []).length !== 1 || !/<\/Response>\s*$/.test(x)) bad.push('not one TwiML document');
      if (/<Dial\b|<Hangup\b|<Redirect\b/.test(x)) bad.push('an element from the caller');
      if (/[\r]/.test(x.replace(/<Say\b[^>]*>[^<]*<\/Say>/g, ''))) bad.push('a raw CR outside text');
      answers.push(bad.length ? { ok: false, why: bad.join(', ') } : { ok: true });
    }
  }
  const row = tally(c, answers);
  row.expected = '200, one TwiML document, the words escaped';
  return row;
}

function notRun(c, why) {
  log(`${c.class} / ${c.name}: not run (${why})`);
  return { class: c.class, name: c.name, kind: c.kind, sent: 0, expected: expectText(c), got: 0, other: {}, resets: 0, notRun: why, met: false };
}

const RUNNERS = { http: httpCase, twilio: twilioCase, stWebhook: stWebhookCase, tools: toolsCase, flood: floodCase,
  capacity: capacityCase, window: windowCase, injection: injectionCase, voiceInjection: voiceInjectionCase };

// Controls: the same routes accept the real thing (so a refusal above is about the abuse).
async function controls() {
  const out = [];
  const add = (name, r, ok) => { out.push({ name, status: r.status, ok }); log(`control: ${name}: ${r.status}${ok ? '' : '  <-- refused'}`); };
  const from = client('controls');
  if (twilioToken) {
    const params = voiceParams(callSid(), `+1${freshPhone()}`, { CallStatus: 'ringing' });
    const path = `/v1/voice/twilio/${SITE}/incoming`;
    const r = await twilioPost(path, params, signature(twilioToken, `${WORKER_URL}${path}`, params), from);
    add('Twilio /incoming, signed with the stack\'s auth token', r, r.status === 200 && /<Response/.test(r.text));
  }
  if (env.VOICE_TOOL_SECRET) {
    const body = JSON.stringify({ name: 'check_service_area', args: { zip: '55408' }, call: { call_id: `abuse-${RUN}-ok`, from_number: `+1${freshPhone()}` } });
    const now = Date.now();
    const sig = `v=${now},d=${createHmac('sha256', env.VOICE_TOOL_SECRET).update(body + now).digest('hex')}`;
    const r = await send({ method: 'POST', path: `/v1/voice/tools/${SITE}`, headers: { 'content-type': 'application/json', 'x-retell-signature': sig }, body, from });
    add('voice tools, a fresh Retell signature', r, r.status === 200);
  }
  if (env.ADMIN_TOKEN) {
    const r = await send({ path: '/v1/admin/attention', headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, from });
    add('owner page, the right bearer', r, r.status === 200);
  }
  if (env.SITE_URL) {
    const r = await send({ method: 'OPTIONS', path: `/v1/sites/${SITE}/bookings`, headers: { origin: env.SITE_URL, 'access-control-request-method': 'POST' }, from });
    add('preflight from the site\'s own origin', r, r.status === 204 && r.headers['access-control-allow-origin'] === env.SITE_URL);
  }
  return out;
}

// ---- the run ----

async function main() {
  const health = await send({ path: '/health' });
  if (health.status !== 200) throw new Error(`worker /health: ${health.status} ${health.text}`);
  const cfg = await send({ path: `/v1/sites/${SITE}/config` });
  if (!siteOrigin) siteOrigin = cfg.json?.allowedOrigins?.[0] || 'http://127.0.0.1:8080';
  log(`worker ${WORKER_URL}, emulator ${SANDBOX_URL}, RATE_LIMIT_MULTIPLIER ${MULTIPLIER}, ${cases.length} cases, a normal booking every ${NORMAL_EVERY_MS} ms`);
  const load0 = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
  for (const c of (await st('/_admin/records')).contacts || []) taken.add(digits(c.value).slice(-10));
  await offeredWindow(); // before the capacity budget is spent
  startNormal();
  const rows = [];
  const control = await controls();
  const last = [];
  for (const c of cases) {
    if (c.last) { last.push(c); continue; }
    const run = RUNNERS[c.kind];
    if (!run) throw new Error(`case ${c.name}: unknown kind ${c.kind}`);
    rows.push(await run(c));
  }
  // The per-site bookings flood holds every booking of the site for the rest of its
  // minute, the normal ones too (by design): started late in a minute, it holds them for
  // seconds, and they book on their next try.
  for (const c of last) {
    const sec = secondOfMinute();
    const runs = c.kind !== 'flood' || c.limit * MULTIPLIER + 1 <= (c.max || MAX_PER_CASE);
    if (runs && (sec < 35 || sec > 48)) await sleep(((95 - sec) % 60) * 1000); // from second 35 to 48

    rows.push(await RUNNERS[c.kind](c));
  }
  await sleep(3000);
  normal.stop = true;
  const bookings = await normal.done;
  log(`normal bookings: ${bookings.length} sent, waiting for their records`);
  const recs = await recordsSettled(bookings.map((b) => b.phone));
  await judgeWindows();
  await judgeInjections();
  // Refused requests' homeowners: nothing of theirs may be in ServiceTitan.
  const leaked = [...(await recordsByPhone(abusePhones.map((p) => p.phone))).entries()].filter(([, r]) => r.customers > 0)
    .map(([p]) => abusePhones.find((x) => x.phone === p));
  const stats = bookings.map((b) => ({ ...b, records: recs.get(b.phone) }));
  const exactlyOnce = (r) => r && r.customers === 1 && r.locations === 1 && r.jobs + r.bookings === 1;
  const normalResult = {
    every: NORMAL_EVERY_MS, sent: stats.length, answered: stats.filter((b) => b.answered).length,
    booked: stats.filter((b) => b.answered === 'booked').length, received: stats.filter((b) => b.answered === 'received').length,
    inRecordsOnce: stats.filter((b) => exactlyOnce(b.records)).length,
    lost: stats.filter((b) => !b.answered || !complete(b.records)).length,
    duplicated: stats.filter((b) => b.records && (b.records.customers > 1 || b.records.jobs + b.records.bookings > 1)).length,
    held429: stats.filter((b) => b.held429 > 0).length, posts: stats.reduce((s, b) => s + b.posts, 0),
    // Answers on the way other than the booking and the 429s (wrangler dev's proxy resets, retried).
    otherAnswers: stats.flatMap((b) => b.answers).filter((a) => !['booked', 'received', 'http 429'].includes(a))
      .reduce((m, a) => ({ ...m, [a]: (m[a] || 0) + 1 }), {}),
    p50ms: pct(stats.filter((b) => !b.held429).map((b) => b.ms), 0.5), maxMs: Math.max(0, ...stats.map((b) => b.ms)),
    notOnce: stats.filter((b) => !exactlyOnce(b.records)).map((b) => ({ phone: b.phone, answers: b.answers,
      records: b.records && { customers: b.records.customers, locations: b.records.locations, jobs: b.records.jobs, bookings: b.records.bookings } })),
  };
  const result = {
    run: RUN, startedAt: new Date(started).toISOString(), seconds: Math.round((Date.now() - started) / 1000),
    loadavg: { start: load0, end: (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ') },
    rateLimitMultiplier: MULTIPLIER, rows, controls: control, normal: normalResult,
    refusedHomeownersInServiceTitan: leaked,
    requests: rows.reduce((s, r) => s + r.sent, 0),
  };
  result.missed = rows.filter((r) => !r.met).map((r) => `${r.class}: ${r.name}${r.notRun ? ` (not run: ${r.notRun})` : ''}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  writeFileSync(MD, markdown(result));
  log(`normal bookings: sent ${normalResult.sent}, booked ${normalResult.answered}, in ServiceTitan exactly once ${normalResult.inRecordsOnce}, lost ${normalResult.lost}, duplicated ${normalResult.duplicated}, held by a 429 ${normalResult.held429}`);
  log(`${result.requests} abuse requests in ${rows.length} cases; not as expected: ${result.missed.length ? result.missed.join('; ') : 'none'}; refused homeowners found in ServiceTitan: ${leaked.length}`);
  log(`wrote ${OUT} and ${MD}`);
}

function pct(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
function otherText(r) {
  const parts = Object.entries(r.other || {}).map(([k, v]) => `${cell(k)} ×${v}`);
  if (r.resets) parts.push(`proxy reset, retried ×${r.resets}`);
  return parts.join('; ');
}
function detail(r) {
  if (r.notRun) return `not run: ${r.notRun}`;
  if (r.kind === 'flood') return `first 429 at request ${r.firstRefusalAt ?? 'never'} (limit ${r.limitPerMinute}/min); 429s ${r.refused429}, with Retry-After ${r.withRetryAfter}`;
  if (r.kind === 'capacity') return `${r.capacityCalls} ServiceTitan capacity calls (budget ${r.budgetPerMinute}/min), ${r.answeredNoWindows} answered with no windows`;
  if (r.kind === 'window') return r.outcome || '';
  if (r.dedupe) return r.dedupe;
  return '';
}

function markdown(res) {
  const n = res.normal;
  const lines = [];
  lines.push('## Abuse while serving\n');
  lines.push(`\`node tests/bench/abuse.mjs\` fired ${res.requests} abuse requests in ${res.rows.length} cases (tests/data/abuse/cases.json) at the worker under \`wrangler dev\` on 127.0.0.1 (RATE_LIMIT_MULTIPLIER ${res.rateLimitMultiplier}, each case from its own loopback address, signed with the stack's real Twilio, ServiceTitan webhook and voice-tool secrets) while a normal booking was posted every ${(n.every / 1000).toFixed(1)} s, in ${res.seconds} s (load average ${res.loadavg.start} at the start, ${res.loadavg.end} at the end).\n`);
  lines.push('| class | case | requests | expected | as expected | other answers | | notes |');
  lines.push('|---|---|---:|---|---:|---|---|---|');
  const order = [...new Set(res.rows.map((r) => r.class))];
  for (const r of order.flatMap((k) => res.rows.filter((x) => x.class === k))) {
    const over = r.kind === 'flood' ? r.got + Object.values(r.other || {}).reduce((a, b) => a + b, 0) : null;
    const got = r.notRun ? 'n/a' : r.gotText ? r.gotText : over != null ? `${r.got}/${over} past the limit` : `${r.got}/${r.kind === 'window' || r.kind === 'injection' ? r.checks.length : r.sent - r.resets}`;
    lines.push(`| ${cell(r.class)} | ${cell(r.name)} | ${r.sent} | ${cell(r.expected)} | ${got} | ${otherText(r)} | ${r.met ? 'met' : '**missed**'} | ${cell(detail(r))} |`);
  }
  lines.push('');
  lines.push(`Normal bookings meanwhile: sent ${n.sent}, answered booked ${n.booked} and received ${n.received}, in ServiceTitan exactly once (one customer, location and job or booking) ${n.inRecordsOnce}, **lost ${n.lost}**, **duplicated ${n.duplicated}**; ${n.held429} were held by a 429 (the per-site flood's minute) and booked on a later try (${n.posts} posts in all${Object.keys(n.otherAnswers).length ? `; other answers on the way, retried: ${Object.entries(n.otherAnswers).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''}); p50 ${n.p50ms} ms to the answer for those not held, slowest ${n.maxMs} ms.`);
  lines.push(`Homeowners carried by refused requests found in ServiceTitan: ${res.refusedHomeownersInServiceTitan.length}.`);
  if (res.controls.length) lines.push(`Controls (the same routes accept the real thing): ${res.controls.map((c) => `${c.name} ${c.status}${c.ok ? '' : ' (**refused**)'}`).join('; ')}.`);
  lines.push('The worker receives no owner webhook (it signs and sends them), so the owner rows are its admin routes\' bearer check.');
  if (res.missed.length) lines.push(`\nNot as expected: ${res.missed.map(cell).join('; ')}.`);
  lines.push('');
  return lines.join('\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
