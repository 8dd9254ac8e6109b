// The fault matrix end to end (issue 17 item 3): every ServiceTitan emulator fault at
// every step of the booking pipeline, one booking per cell through the real worker, each
// ending with exactly one customer, one location and one job for the homeowner's phone,
// and the retries each took (calls to the faulted step beyond the clean run's).
//
// Steps are the calls of a clean booking (from the emulator's journal), plus the token:
// its faults are reached by rejecting the worker's cached token once (401 on the first
// call), so the worker has to fetch a new one while the token endpoint is faulted.
// Faults (tests/st-sandbox/src/faults.rs, each once): 429 with Retry-After, 500, 503, a
// timeout (the answer held past the worker's 15 s API_TIMEOUT), the connection dropped
// before the handler runs and after it committed, and the token rejected (401).
// Run by `cargo xtask bench` (WORKER_URL, SANDBOX_URL, SITE_URL set); writes JSON to
// $BENCH_OUT. Loopback only; every wait is bounded.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const { WORKER_URL, SANDBOX_URL, SITE_URL } = process.env;
const OUT = process.env.BENCH_OUT || 'target/bench/faults.json';
const BOOK_LIMIT_MS = Number(process.env.FAULTS_BOOK_LIMIT_MS || 90_000);
const RECORDS_LIMIT_MS = Number(process.env.FAULTS_RECORDS_LIMIT_MS || 60_000);
const TIMEOUT_HOLD_MS = 16_000; // > edge-worker's servicetitan_client::API_TIMEOUT (15 s)
if (!WORKER_URL || !SANDBOX_URL || !SITE_URL) throw new Error('faults.mjs: run through `cargo xtask bench`');
for (const u of [WORKER_URL, SANDBOX_URL, SITE_URL]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}
const DEADLINE_MS = Number(process.env.FAULTS_DEADLINE_MS || 20 * 60_000);
setTimeout(() => { console.error(`faults: gave up after ${DEADLINE_MS / 1000} s (FAULTS_DEADLINE_MS)`); process.exit(2); }, DEADLINE_MS).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN = Date.now().toString(36);

const FAULTS = [
  { name: '429 with Retry-After: 1', spec: { kind: 'status', status: 429, retryAfter: 1 } },
  { name: '500', spec: { kind: 'status', status: 500 } },
  { name: '503', spec: { kind: 'status', status: 503 } },
  { name: `timeout (answer held ${TIMEOUT_HOLD_MS / 1000} s)`, spec: { kind: 'latencyMs', ms: TIMEOUT_HOLD_MS } },
  { name: 'dropped before the write', spec: { kind: 'dropBeforeWrite' } },
  { name: 'dropped after a committed write', spec: { kind: 'dropAfterWrite' } },
  { name: 'token rejected (401)', spec: { kind: 'status', status: 401 } },
].filter((f) => !process.env.FAULTS_ONLY || process.env.FAULTS_ONLY.split(',').some((k) => f.name.startsWith(k)));

async function admin(path, init) {
  const r = await fetch(`${SANDBOX_URL}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}
const addFaults = (specs) => admin('/_admin/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(specs) });
const clearFaults = () => admin('/_admin/faults', { method: 'DELETE' });

let n = 0;
function homeowner() {
  n += 1;
  const phone = `6125554${String(n).padStart(3, '0')}`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My water heater is leaking, can you come tomorrow morning', `Fault Tester${String.fromCharCode(65 + (n % 26))} Number${n}`,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, `${300 + n} Pine St, Minneapolis, MN 55414`, 'yes']
    .map((text, i) => ({ text, at: at + i }));
  return { phone, body: JSON.stringify({ idempotencyKey: `faults-${RUN}-${n}`, turns, locale: 'en', smsConsent: true }) };
}

// Posts with the same key until "booked" (the widget does the same), bounded.
async function book(h) {
  const t0 = performance.now();
  let posts = 0;
  const answers = [];
  for (;;) {
    let status = 'error';
    try {
      const r = await fetch(`${WORKER_URL}/v1/sites/northstar/bookings`, { method: 'POST', body: h.body,
        headers: { origin: SITE_URL, 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
      const json = await r.json().catch(() => null);
      status = r.status === 200 ? json?.status : `http ${r.status}`;
    } catch (e) {
      status = String(e.name || e);
    }
    posts += 1;
    if (answers.at(-1) !== status) answers.push(status);
    if (status === 'booked') return { booked: true, posts, answers, ms: performance.now() - t0 };
    if (performance.now() - t0 > BOOK_LIMIT_MS) return { booked: false, posts, answers, ms: performance.now() - t0 };
    await sleep(1000);
  }
}

const lastSeq = async () => (await admin('/_admin/requests')).reduce((m, e) => Math.max(m, e.seq), 0);
const shape = (e) => `${e.method} ${String(e.path).replace(/\/tenant\/\d+/, '/tenant/{t}').replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
const isToken = (e) => String(e.path).includes('/connect/token');

// ServiceTitan calls after `seq`, once none has come for 2 s (the run's alarm may still
// be writing notes after the answer), bounded.
async function callsSince(seq) {
  let last = -1;
  let calls = [];
  for (let i = 0; i < 30; i++) {
    calls = (await admin('/_admin/requests')).filter((e) => e.seq > seq && !String(e.path).startsWith('/_admin'));
    if (calls.length === last) break;
    last = calls.length;
    await sleep(2000);
  }
  return calls;
}

// The homeowner's records: customers with the phone, their locations and jobs (or
// bookings), polled until each exists, bounded.
async function recordsOf(phone) {
  const t0 = performance.now();
  for (;;) {
    const db = await admin('/_admin/records');
    const ids = new Set((db.contacts || []).filter((c) => c.customerId != null && String(c.value).replace(/\D/g, '').endsWith(phone))
      .map((c) => c.customerId));
    const mine = (k) => (db[k] || []).filter((x) => ids.has(x.customerId)).length;
    const r = { customers: ids.size, locations: mine('locations'), jobs: mine('jobs'), bookings: mine('bookings') };
    if ((r.customers && r.locations && (r.jobs || r.bookings)) || performance.now() - t0 > RECORDS_LIMIT_MS) return r;
    await sleep(1000);
  }
}

// One cell: install the faults, book, then count the records and the step's calls.
async function cell(step, fault, clean) {
  await clearFaults();
  const specs = faultSpecs(step, fault, clean);
  await addFaults(specs);
  const seq = await lastSeq();
  const h = homeowner();
  const t0 = performance.now();
  const b = await book(h);
  const records = await recordsOf(h.phone);
  const recordedMs = Math.round(performance.now() - t0);
  // A held answer is journaled when it ends; the worker's retry comes after its timeout.
  if (fault.spec.kind === 'latencyMs') await sleep(Math.max(0, TIMEOUT_HOLD_MS + 3000 - (performance.now() - t0)));
  const calls = await callsSince(seq);
  const hit = (await admin('/_admin/faults')).at(-1)?.hits ?? 0; // the fault under test is the last added
  await clearFaults();
  const ofStep = calls.filter((e) => shape(e) === step.shape).length;
  const exact = records.customers === 1 && records.locations === 1 && records.jobs + records.bookings === 1;
  const r = { step: step.label, fault: fault.name, booked: b.booked, answers: b.answers, posts: b.posts, ms: Math.round(b.ms),
    recordedMs, faultHits: hit, stepCalls: ofStep, retries: Math.max(0, ofStep - step.cleanCount), calls: calls.length,
    extra: extraCalls(calls, clean), records, exactlyOne: exact };
  // The token endpoint's 401 is invalid_client: a configuration problem (the owner is
  // told), tried again once after 30 s (CONFIGURATION_RECHECK), then every 15 min.
  if (step.token && fault.spec.status === 401 && !exact) {
    r.note = 'not booked in time: invalid_client is a configuration problem (booking.needs_attention), tried again once '
      + `after 30 s, then every 15 min (shared/src/servicetitan/pipeline/mod.rs); this bench waits ${RECORDS_LIMIT_MS / 1000} s`;
  }
  console.log(`faults: ${step.label} x ${fault.name}: ${b.booked ? 'booked' : 'NOT booked'}, records in ${recordedMs} ms, `
    + `retries ${r.retries}, fault hits ${hit}, records ${JSON.stringify(records)}${exact ? '' : '  <-- not exactly one'}`);
  return r;
}

// The faults for one cell. The token step: the worker's token rejected once at its
// first call (so it fetches a new one), and the fault on the token endpoint.
function faultSpecs(step, fault, clean) {
  const once = { ...fault.spec, count: 1 };
  if (!step.token) return [{ ...once, match: step.match }];
  const first = clean.find((e) => !isToken(e));
  const reject = { kind: 'status', status: 401, count: 1, match: stepOf(first).match };
  return [reject, { ...once, match: { method: 'POST', pathContains: '/connect/token' } }];
}

// The calls beyond the clean run's, by shape ("GET /crm/v2/tenant/{t}/customers x1").
function extraCalls(calls, clean) {
  const count = new Map();
  for (const e of calls) count.set(shape(e), (count.get(shape(e)) || 0) + 1);
  for (const e of clean) count.set(shape(e), (count.get(shape(e)) || 0) - 1);
  return [...count].filter(([, k]) => k > 0).map(([s, k]) => `${s.replace('/tenant/{t}', '')} ×${k}`);
}

// A step as the emulator can match it: a path without ids exactly; one with ids by its
// text before the last id ("/jpm/v2/tenant/1/jobs/" for a job's notes), with the method.
function stepOf(e) {
  const s = shape(e);
  const path = String(e.path).split('?')[0];
  const parts = path.split('/');
  let last = parts.length - 1;
  while (last >= 0 && !/^\d+$/.test(parts[last])) last -= 1;
  const idFree = last <= parts.indexOf('tenant') + 1;
  const match = idFree ? { method: e.method, path } : { method: e.method, pathContains: `${parts.slice(0, last).join('/')}/` };
  return { shape: s, method: e.method, match, label: s.replace('/tenant/{t}', '') };
}

async function main() {
  await clearFaults();
  // A clean booking first: its calls are the pipeline's steps.
  const seq = await lastSeq();
  const h = homeowner();
  const b = await book(h);
  if (!b.booked) throw new Error(`faults: the clean booking did not book (${b.answers.join(' -> ')})`);
  const clean = (await callsSince(seq)).filter((e) => !isToken(e));
  const cleanRecords = await recordsOf(h.phone);
  const seen = new Map();
  for (const e of clean) {
    const s = stepOf(e);
    if (!seen.has(s.shape)) seen.set(s.shape, { ...s, cleanCount: 0 });
    seen.get(s.shape).cleanCount += 1;
  }
  const steps = [{ label: 'token (POST /connect/token)', shape: 'POST /connect/token', token: true, cleanCount: 1 }, ...seen.values()]
    .filter((s) => !process.env.FAULTS_STEPS || process.env.FAULTS_STEPS.split(',').some((k) => s.label.includes(k)));
  console.log(`faults: clean booking: ${clean.length} calls, steps ${[...seen.keys()].join(', ')}; records ${JSON.stringify(cleanRecords)}`);
  const cells = [];
  for (const step of steps) {
    for (const fault of FAULTS) cells.push(await cell(step, fault, clean));
  }
  const result = {
    clean: { calls: clean.map(shape), records: cleanRecords, ms: Math.round(b.ms) },
    steps: steps.map((s) => s.label),
    faults: FAULTS.map((f) => f.name),
    cells,
    notExactlyOne: cells.filter((c) => !c.exactlyOne).length,
    notBooked: cells.filter((c) => !c.booked).length,
    faultNotHit: cells.filter((c) => c.faultHits === 0).length,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  console.log(`faults: ${cells.length} cells, ${result.notBooked} not booked, ${result.notExactlyOne} not exactly one record each, `
    + `${result.faultNotHit} whose fault was never reached`);
}

main().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
