// Load through the real stack (issue 17 item 2, item 6's CPU per booking): the worker
// under `wrangler dev` on loopback, the ServiceTitan emulator enforcing 60 requests/s
// per tenant (its `rateLimit` fault), every booking checked in the emulator's records.
//
// LOAD_PHASE=load: LOAD_BOOKINGS bookings from LOAD_CONCURRENCY concurrent conversations
//   (each conversation books, then the next homeowner starts on it), then the records are
//   polled until every phone has its customer and job. Throughput, p50/p95/p99 of the
//   booking answer, errors, lost, duplicated, and the workerd CPU the run took ÷ bookings.
// LOAD_PHASE=soak: SOAK_RATE bookings a second for SOAK_SECONDS, started on schedule
//   whatever the answers do, the workerd processes' RSS sampled every RSS_EVERY_MS.
//
// Run by `cargo xtask bench` (WORKER_URL, SANDBOX_URL, SITE_URL); JSON to $BENCH_OUT.
// Loopback only; every loop is bounded in count and time.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpuSeconds, describe, rssBytes, workerProcesses } from './proc.mjs';

const env = process.env;
const { WORKER_URL, SANDBOX_URL, SITE_URL } = env;
const OUT = env.BENCH_OUT || 'target/bench/load.json';
const PHASE = env.LOAD_PHASE || 'load';
const BOOKINGS = Number(env.LOAD_BOOKINGS || 1000);
const CONCURRENCY = Number(env.LOAD_CONCURRENCY || 200);
const PER_SECOND = Number(env.ST_PER_SECOND || 60);
// One booking's bound (re-posts included), the whole phase's, and the records' wait.
const BOOKING_LIMIT_MS = Number(env.LOAD_BOOKING_LIMIT_MS || 120_000);
const PHASE_LIMIT_MS = Number(env.LOAD_LIMIT_MS || 900_000);
// Past the pipeline's queue after 6 failed attempts at one call (tried again after 2 min,
// UNAVAILABLE_RECHECK, then every 15, QUEUE_DELAY): a queued booking is late, not lost.
// The soak's bookings come at a fifth of the limit: 3 minutes after the last answer.
const RECORDS_LIMIT_MS = Number(env.LOAD_RECORDS_LIMIT_MS || (PHASE === 'soak' ? 180_000 : 1_080_000));
// Written when every booking of the load phase is answered (the bench starts its fuzzing
// then, beside the wait for the records).
const ANSWERED_FILE = env.LOAD_ANSWERED_FILE || '';
const answered = () => { if (ANSWERED_FILE) writeFileSync(ANSWERED_FILE, String(Date.now())); };
const SOAK_SECONDS = Number(env.SOAK_SECONDS || 600);
const SOAK_RATE = Number(env.SOAK_RATE || 2);
// The soak re-reads the records of the load phase's LOAD_RECHECK bookings at its end: a
// booking the pipeline queued retries minutes later, which may add its records (or a
// second job) after the load phase stopped looking.
const RECHECK = Number(env.LOAD_RECHECK || 0);
const RSS_EVERY_MS = Number(env.RSS_EVERY_MS || 5000);
if (!WORKER_URL || !SANDBOX_URL || !SITE_URL) throw new Error('run through `cargo xtask bench`');
for (const u of [WORKER_URL, SANDBOX_URL, SITE_URL]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}
if (!(BOOKINGS > 0 && BOOKINGS <= 5000 && CONCURRENCY > 0 && CONCURRENCY <= 500)) throw new Error('bounds');
if (!(SOAK_SECONDS <= 1800 && SOAK_RATE > 0 && SOAK_RATE <= 20)) throw new Error('soak bounds');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN = `${PHASE}-${Date.now().toString(36)}`;
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
};
// The load average, read at the phase's edges.
const load = () => {
  try { return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch { return 'unknown'; }
};

// The emulator answers its admin routes between thousands of API calls: a connection it
// did not take within undici's 10 s is tried again (five times), not the end of the run
// (the 2026-12-02 soak died on one while the records were polled).
async function admin(path, init) {
  let r;
  for (let attempt = 1; ; attempt++) {
    try {
      r = await fetch(`${SANDBOX_URL}${path}`, init);
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
      console.error(`load: ${path}: ${e.cause?.code || e.message}; trying again`);
      await sleep(2000);
    }
  }
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  const text = await r.text();
  // DELETE answers with no body.
  return text ? JSON.parse(text) : null;
}
const postJson = (path, body) =>
  admin(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// Phones of their own per phase (651 for the load, 507 for the soak: none used by
// worker.mjs or faults.mjs), and none in the seed tenant: a seed customer's phone with
// another name is an ambiguous match, booked for the office (no job), which read as lost
// (the soak's 763-555-0188 met the seed's; `seedPhones` refuses such a run).
const AREA = PHASE === 'soak' ? '507' : '651';
const seedPhones = new Set(readFileSync(new URL('../data/st-tenant.json', import.meta.url), 'utf8')
  .match(/"\d{10}"/g).map((q) => q.slice(1, -1)));
const FIRST = ['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Lucas', 'Mia', 'Ethan', 'Sofia', 'Mason', 'Chloe', 'Henry',
  'Grace', 'Jack', 'Ella', 'Owen', 'Lily', 'Leo', 'Nora', 'Isaac'];
const LAST = ['Martin', 'Nguyen', 'Johnson', 'Patel', 'Thompson', 'Berg', 'Andersen', 'Olson', 'Larson', 'Lindqvist',
  'Peterson', 'Swanson', 'Nelson', 'Carlson', 'Hanson', 'Dahl', 'Moen', 'Quist', 'Sorensen', 'Vik'];
const STREETS = ['Oak Ave S', 'Elm St', 'Maple Dr', 'Cedar Ave', 'Birch Ln', 'Pine St', 'Aspen Way', 'Linden Ave'];
function homeowner(i, area = AREA) {
  const phone = `${area}555${String(i).padStart(4, '0')}`;
  if (seedPhones.has(phone)) throw new Error(`${phone} is a seed customer's phone: give the bench another area`);
  const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
  // The soak's addresses are not the load's: the same name at the same address is the same
  // customer to the matching, so a soak booking would join a load customer (one more job,
  // no new phone) and read as missing and duplicated.
  const address = `${100 + i + (area === '651' ? 0 : 5000)} ${STREETS[i % STREETS.length]}, Minneapolis, MN 55405`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My furnace is making a loud banging noise, can you come tomorrow morning', name,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, address, 'yes']
    .map((text, k) => ({ text, at: at + k }));
  return { phone, name, key: `bench-${RUN}-${i}`, body: JSON.stringify({ idempotencyKey: `bench-${RUN}-${i}`, turns, locale: 'en', smsConsent: true }) };
}

// Every answer that was not a 200, by status (or the fetch error), over the phase.
const errors = {};
const countError = (what) => { errors[what] = (errors[what] || 0) + 1; };

async function post(h) {
  try {
    const r = await fetch(`${WORKER_URL}/v1/sites/northstar/bookings`, {
      method: 'POST', headers: { origin: SITE_URL, 'content-type': 'application/json' }, body: h.body,
    });
    const text = await r.text();
    if (r.status !== 200) { countError(`http ${r.status}`); return { status: r.status }; }
    return { status: 200, json: JSON.parse(text) };
  } catch (e) {
    countError(String(e.cause?.code || e.message || e));
    return { status: 0 };
  }
}

// Re-posts the same key until "booked" or BOOKING_LIMIT_MS: { ms, posts, booked }.
async function book(h) {
  const t0 = performance.now();
  postedAt.set(h.phone, t0);
  for (let posts = 1; ; posts++) {
    const r = await post(h);
    if (r.status === 200 && r.json?.status === 'booked') return { ms: performance.now() - t0, posts, booked: true };
    if (performance.now() - t0 > BOOKING_LIMIT_MS) return { ms: performance.now() - t0, posts, booked: false };
    await sleep(r.status === 429 ? 1000 : 500);
  }
}

// Per phone: customers with that phone, and their jobs; missing = none of either,
// duplicated = more than one customer or more than one job; `arrived` = the phones that
// now have both.
function tally(records, people) {
  const byPhone = new Map();
  for (const c of records.contacts || []) {
    if (c.customerId == null) continue;
    const digits = String(c.value).replace(/\D/g, '').slice(-10);
    if (!byPhone.has(digits)) byPhone.set(digits, new Set());
    byPhone.get(digits).add(c.customerId);
  }
  const jobsOf = new Map();
  for (const j of records.jobs || []) jobsOf.set(j.customerId, (jobsOf.get(j.customerId) || 0) + 1);
  let duplicated = 0;
  let missing = 0;
  const arrived = [];
  const sample = [];
  for (const h of people) {
    const ids = [...(byPhone.get(h.phone) || [])];
    const jobs = ids.reduce((t, id) => t + (jobsOf.get(id) || 0), 0);
    if (ids.length > 1 || jobs > 1) duplicated += 1;
    if (ids.length === 0 || jobs === 0) {
      missing += 1;
      if (sample.length < 10) sample.push(whatServiceTitanHas(records, h, ids));
    } else arrived.push(h.phone);
  }
  return { duplicated, missing, arrived, missingSample: sample };
}

// For a booking missing from the tally, what ServiceTitan does hold for it, so a lost
// booking can be told from one the pipeline sent to the office (a booking-provider
// booking, linked through its contacts) or one that is half made (customer, no job).
function whatServiceTitanHas(records, h, customerIds) {
  const ofPhone = (records.contacts || []).filter((c) => String(c.value).replace(/\D/g, '').endsWith(h.phone));
  const bookingIds = new Set(ofPhone.filter((c) => c.bookingId != null).map((c) => c.bookingId));
  const bookings = (records.bookings || []).filter((b) => bookingIds.has(b.id) || customerIds.includes(b.customerId));
  const named = (records.customers || []).filter((c) => c.name === h.name).map((c) => c.id);
  return { phone: h.phone, key: h.key, customers: customerIds, sameName: named.length,
    bookings: bookings.map((b) => ({ id: b.id, summary: String(b.summary || '').slice(0, 200) })) };
}

// When each booking was first posted (performance.now()), for its time into ServiceTitan.
const postedAt = new Map();
// The records are polled every POLL_MS from the phase's start (not only once every
// booking is answered: the soak's answers take its whole length, which would then be
// every booking's time into ServiceTitan).
const POLL_MS = 2000;

// Polls the records until every phone has its customer and job, or RECORDS_LIMIT_MS
// after `allAnswered` settles. `intoServiceTitan`: per booking, from its first post to the
// poll that first saw its records, so a booking the pipeline queued shows as a late one.
async function recorded(people, allAnswered) {
  let answeredAt = null;
  allAnswered.then(() => { answeredAt = performance.now(); });
  const seen = new Map();
  let counted;
  let told = 0;
  for (;;) {
    counted = tally(await admin('/_admin/records'), people);
    const now = performance.now();
    for (const phone of counted.arrived) if (!seen.has(phone)) seen.set(phone, now);
    if (answeredAt != null) {
      if (counted.missing === 0 || now - answeredAt > RECORDS_LIMIT_MS) break;
      if (now - answeredAt > (told + 1) * 60_000) console.log(`load: ${counted.missing} not in ServiceTitan yet (${++told} min)`);
    }
    await sleep(POLL_MS);
  }
  const ms = [...seen].map(([phone, at]) => at - postedAt.get(phone));
  return { duplicated: counted.duplicated, missing: counted.missing, missingSample: counted.missingSample,
    intoServiceTitan: { p50: pct(ms, 0.5), p95: pct(ms, 0.95), max: ms.length ? Math.max(...ms) : null,
      over5min: ms.filter((x) => x > 300_000).length } };
}

// What the emulator answered during the phase: 429s from the rate limit (the fault's own
// count), and from its request journal (it keeps the last 10,000 entries) the calls and
// the busiest one-second window when the journal still holds the whole phase.
async function serviceTitan(sinceSeq) {
  const faults = await admin('/_admin/faults');
  const limit = (Array.isArray(faults) ? faults : faults?.faults || []).find((f) => f.kind === 'rateLimit' || f.spec?.kind === 'rateLimit');
  const journal = await admin('/_admin/requests');
  const whole = journal.length > 0 && journal.reduce((m, e) => Math.min(m, e.seq), Infinity) <= sinceSeq + 1;
  const all = journal.filter((e) => e.seq > sinceSeq && !String(e.path).startsWith('/_admin'));
  const perSecond = new Map();
  for (const e of all) {
    const t = Math.floor(Date.parse(e.at) / 1000);
    if (Number.isFinite(t)) perSecond.set(t, (perSecond.get(t) || 0) + 1);
  }
  const answered = (t) => all.filter((e) => Math.floor(Date.parse(e.at) / 1000) === t && e.status !== 429).length;
  return {
    tooMany: limit?.hits ?? null,
    calls: whole ? all.length : null,
    answeredPerSecondMax: whole ? Math.max(0, ...[...perSecond.keys()].map(answered)) : null,
    journalWhole: whole,
  };
}
const lastSeq = async () => (await admin('/_admin/requests')).reduce((m, e) => Math.max(m, e.seq), 0);

function latency(results) {
  const ms = results.filter((r) => r.booked).map((r) => r.ms);
  return { p50: pct(ms, 0.5), p95: pct(ms, 0.95), p99: pct(ms, 0.99), max: ms.length ? Math.max(...ms) : null };
}

// LOAD_BOOKINGS from LOAD_CONCURRENCY conversations at once.
async function loadPhase(procs) {
  const people = Array.from({ length: BOOKINGS }, (_, i) => homeowner(i));
  const cpu0 = cpuSeconds(procs.workerd);
  const t0 = performance.now();
  let next = 0;
  const results = [];
  let markAnswered;
  const watching = recorded(people, new Promise((r) => { markAnswered = r; }));
  const conversation = async () => {
    while (next < people.length && performance.now() - t0 < PHASE_LIMIT_MS) {
      const h = people[next++];
      results.push(await book(h));
      if (results.length % 200 === 0) console.log(`load: ${results.length} answered`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, conversation));
  const answeredMs = performance.now() - t0;
  answered();
  markAnswered();
  const counted = await watching;
  const recordedMs = performance.now() - t0;
  const cpu = cpuSeconds(procs.workerd).map((c, i) => c - cpu0[i]);
  const notBooked = BOOKINGS - results.filter((r) => r.booked).length;
  return {
    bookings: BOOKINGS, concurrency: CONCURRENCY, answeredMs, recordedMs,
    answeredPerSecond: (BOOKINGS / answeredMs) * 1000, recordedPerSecond: (BOOKINGS / recordedMs) * 1000,
    ...latency(results), posts: results.reduce((t, r) => t + r.posts, 0),
    notBooked, missingRecords: counted.missing, missingSample: counted.missingSample, lost: Math.max(notBooked, counted.missing),
    duplicated: counted.duplicated, intoServiceTitan: counted.intoServiceTitan,
    cpuSeconds: cpu, cpuMsPerBooking: (cpu.reduce((a, b) => a + b, 0) / BOOKINGS) * 1000,
  };
}

// SOAK_RATE a second for SOAK_SECONDS, the RSS sampled throughout.
async function soakPhase(procs) {
  const count = Math.round(SOAK_SECONDS * SOAK_RATE);
  const people = Array.from({ length: count }, (_, i) => homeowner(i));
  const samples = [];
  const t0 = performance.now();
  const sample = () => samples.push({ s: (performance.now() - t0) / 1000, rss: rssBytes(procs.workerd) });
  sample();
  const timer = setInterval(sample, RSS_EVERY_MS);
  const cpu0 = cpuSeconds(procs.workerd);
  const pending = [];
  let markAnswered;
  const watching = recorded(people, new Promise((r) => { markAnswered = r; }));
  for (let i = 0; i < count; i++) {
    const due = (i / SOAK_RATE) * 1000;
    const wait = due - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    pending.push(book(people[i]));
  }
  const results = await Promise.all(pending);
  markAnswered();
  const counted = await watching;
  const cpu = cpuSeconds(procs.workerd).map((c, i) => c - cpu0[i]);
  clearInterval(timer);
  // What the emulator holds, to read a loss after the run.
  if (counted.missing) writeFileSync(`${dirname(OUT)}/soak-records.json`, JSON.stringify(await admin('/_admin/records')));
  sample();
  const notBooked = count - results.filter((r) => r.booked).length;
  const earlier = Array.from({ length: RECHECK }, (_, i) => homeowner(i, '651'));
  const again = RECHECK ? tally(await admin('/_admin/records'), earlier) : null;
  return {
    loadRecheck: again && { bookings: RECHECK, missing: again.missing, duplicated: again.duplicated },
    seconds: SOAK_SECONDS, rate: SOAK_RATE, bookings: count, ...latency(results),
    notBooked, missingRecords: counted.missing, missingSample: counted.missingSample, lost: Math.max(notBooked, counted.missing),
    duplicated: counted.duplicated, intoServiceTitan: counted.intoServiceTitan, everyMs: RSS_EVERY_MS, samples: samples.map((x) => ({ s: x.s, rss: x.rss })),
    ...rssSummary(samples), cpuMsPerBooking: (cpu.reduce((a, b) => a + b, 0) / count) * 1000,
  };
}

// Start, peak and end of the summed RSS; "grows" when the mean of the last fifth of the
// samples is more than 10 % above the mean of the second fifth (the first fifth is
// warm-up: the isolate's heap and the objects' storage fill up once).
function rssSummary(samples) {
  const total = samples.map((x) => x.rss.reduce((a, b) => a + b, 0));
  const fifth = Math.max(1, Math.floor(total.length / 5));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(total.slice(fifth, 2 * fifth));
  const late = mean(total.slice(-fifth));
  return {
    rssStart: total[0], rssPeak: Math.max(...total), rssEnd: total[total.length - 1],
    rssEarlyMean: early, rssLateMean: late, grows: late > early * 1.1,
  };
}

const procs = workerProcesses(new URL(WORKER_URL).port);
console.log(`load: workerd ${procs.workerd.join(', ')} under wrangler ${procs.wrangler}`);
await admin('/_admin/faults', { method: 'DELETE' });
await postJson('/_admin/faults', { kind: 'rateLimit', perSecond: PER_SECOND });
const seq = await lastSeq();
const loadStart = load();
const result = PHASE === 'soak' ? await soakPhase(procs) : await loadPhase(procs);
const st = await serviceTitan(seq);
await admin('/_admin/faults', { method: 'DELETE' });
// wrangler reloads the worker when edge-worker/build changes under it (a build during the
// run): its CPU and memory figures then cover another process.
const after = workerProcesses(new URL(WORKER_URL).port);
const restarted = after.workerd.join() !== procs.workerd.join();
const out = { phase: PHASE, restarted, recordsLimitMs: RECORDS_LIMIT_MS, perSecond: PER_SECOND, errors, serviceTitan: st, processes: describe(procs.workerd),
  load: { start: loadStart, end: load() }, ...result };
console.log(`load ${PHASE}: ${result.bookings} bookings, p95 ${result.p95?.toFixed(0)} ms, lost ${result.lost}, ` +
  `duplicated ${result.duplicated}, ${st.tooMany} of ${st.calls} ServiceTitan calls refused with 429`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(out, null, 2));
