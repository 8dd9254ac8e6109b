// The worker through the real stack (workerd + the ServiceTitan emulator): booking
// latency, ServiceTitan calls per booking by scenario, token cold vs warm, and a
// bounded burst of concurrent bookings checked for lost and duplicated records.
// Run by `cargo xtask bench` (WORKER_URL, SANDBOX_URL, SITE_URL set); writes JSON to
// $BENCH_OUT. Loopback only; every loop is bounded in count and time.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const { WORKER_URL, SANDBOX_URL, SITE_URL } = process.env;
const OUT = process.env.BENCH_OUT || 'target/bench/worker.json';
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL || 50);
const BURST = Number(process.env.BENCH_BURST || 200);
const BURST_LIMIT_MS = Number(process.env.BENCH_BURST_LIMIT_MS || 180_000);
const RECORDS_LIMIT_MS = Number(process.env.BENCH_RECORDS_LIMIT_MS || 120_000);
if (!WORKER_URL || !SANDBOX_URL || !SITE_URL) throw new Error('run through `cargo xtask bench`');
for (const u of [WORKER_URL, SANDBOX_URL, SITE_URL]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RUN = Date.now().toString(36);
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
};

async function admin(path) {
  const r = await fetch(`${SANDBOX_URL}${path}`);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

const FIRST = ['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Lucas', 'Mia', 'Ethan', 'Sofia', 'Mason', 'Chloe', 'Henry',
  'Grace', 'Jack', 'Ella', 'Owen', 'Lily', 'Leo', 'Nora', 'Isaac'];
const LAST = ['Martin', 'Nguyen', 'Johnson', 'Patel', 'Thompson', 'Berg', 'Andersen', 'Olson', 'Larson', 'Lindqvist',
  'Peterson', 'Swanson', 'Nelson', 'Carlson', 'Hanson'];
let n = 0;
// A homeowner with a fresh phone (612-555-2xxx / 3xxx: none in the seed tenant), name,
// address and idempotency key, unless given.
function homeowner(given = {}) {
  n += 1;
  const phone = given.phone || `6125552${String(n).padStart(3, '0')}`.slice(0, 10);
  const name = given.name || `${FIRST[n % FIRST.length]} ${LAST[Math.floor(n / FIRST.length) % LAST.length]}`;
  const address = given.address || `${1200 + n} Oak Ave S, Minneapolis, MN 55405`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My furnace is making a loud banging noise, can you come tomorrow morning', name,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, address, 'yes']
    .map((text, i) => ({ text, at: at + i }));
  return { phone, name, body: JSON.stringify({ idempotencyKey: `bench-${RUN}-${n}`, turns, locale: 'en', smsConsent: true }) };
}

async function post(h) {
  const r = await fetch(`${WORKER_URL}/v1/sites/northstar/bookings`, {
    method: 'POST',
    headers: { origin: SITE_URL, 'content-type': 'application/json' },
    body: h.body,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

// Posts (re-posting the same key while not yet booked) until "booked" or `limitMs`.
// -> { ms (first post to booked), posts, first: first answer, booked }
async function book(h, limitMs = 60_000) {
  const t0 = performance.now();
  let posts = 0;
  let first = null;
  for (;;) {
    const r = await post(h);
    posts += 1;
    first ??= r.status === 200 ? r.json.status : `http ${r.status}`;
    if (r.status === 200 && r.json.status === 'booked') return { ms: performance.now() - t0, posts, first, booked: true, job: r.json.jobNumber };
    if (performance.now() - t0 > limitMs) return { ms: performance.now() - t0, posts, first, booked: false };
    await sleep(r.status === 429 ? 1000 : 500);
  }
}

// Journal entries after `seq`, once no new entry has come for 500 ms (notes may be
// written after the reply), bounded.
async function callsSince(seq) {
  let last = -1;
  let calls = [];
  for (let i = 0; i < 20; i++) {
    calls = (await admin('/_admin/requests')).filter((e) => e.seq > seq && !String(e.path).startsWith('/_admin'));
    if (calls.length === last) break;
    last = calls.length;
    await sleep(500);
  }
  return calls;
}
const lastSeq = async () => (await admin('/_admin/requests')).reduce((m, e) => Math.max(m, e.seq), 0);
const shape = (e) => `${e.method} ${String(e.path).replace(/\/tenant\/\d+/, '/tenant/{t}').replace(/\/\d+(?=\/|$)/g, '/{id}')}`;

async function scenario(what, h) {
  const seq = await lastSeq();
  const b = await book(h);
  const calls = await callsSince(seq);
  const token = calls.filter((e) => String(e.path).includes('/connect/token')).length;
  const api = calls.filter((e) => !String(e.path).includes('/connect/token'));
  const s = { scenario: what, ms: b.ms, booked: b.booked, posts: b.posts, tokenCalls: token, apiCalls: api.length,
    calls: api.map(shape), failedCalls: api.filter((e) => e.status >= 400 || e.dropped).length };
  console.log(`worker: ${what}: ${b.ms.toFixed(0)} ms, ${api.length} ServiceTitan calls + ${token} token`);
  return s;
}

const tenant = await admin('/_admin/records');
const contactOf = (id) => (tenant.contacts || []).find((c) => c.customerId === id && /Phone/.test(c.type))?.value;
const seeded = (name) => tenant.customers.find((c) => c.name === name);
const erik = seeded('Erik Johansson');
const linda = seeded('Linda Nguyen');
const addr = (a) => `${a.street}, ${a.city}, ${a.state} ${a.zip}`;

const scenarios = [];
// The first booking after the worker started: no ServiceTitan token yet.
scenarios.push(await scenario('new customer, token cold (first booking after start)', homeowner()));
scenarios.push(await scenario('new customer, token warm', homeowner()));
scenarios.push(await scenario('existing customer, known address',
  homeowner({ name: erik.name, phone: contactOf(erik.id), address: addr(erik.address) })));
scenarios.push(await scenario('existing customer at a new property',
  homeowner({ name: linda.name, phone: contactOf(linda.id), address: '4120 Grand Ave S, Minneapolis, MN 55409' })));

// Sequential new-customer bookings, token warm.
const sequential = [];
for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await book(homeowner()));
const ms = sequential.map((b) => b.ms);
const latency = {
  count: SEQUENTIAL, booked: sequential.filter((b) => b.booked).length,
  p50: pct(ms, 0.5), p95: pct(ms, 0.95), max: Math.max(...ms), mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  repost: sequential.filter((b) => b.posts > 1).length,
};
console.log(`worker: ${SEQUENTIAL} sequential bookings: p50 ${latency.p50.toFixed(0)} ms, p95 ${latency.p95.toFixed(0)} ms`);

// A burst of concurrent bookings, each with its own key; every one is re-posted until
// booked, bounded in time. Then the emulator's records: one customer, one job per phone.
const people = Array.from({ length: BURST }, (_, i) => homeowner({ phone: `6125553${String(i).padStart(3, '0')}` }));
const t0 = performance.now();
const results = await Promise.all(people.map((h) => book(h, BURST_LIMIT_MS).catch((e) => ({ booked: false, error: String(e), ms: 0, posts: 0 }))));
const wallMs = performance.now() - t0;
// The homeowner's answer comes before ServiceTitan (the Durable Object books from its
// alarm), so the records are counted once they stop arriving: polled until every phone
// has its customer and job, or RECORDS_LIMIT_MS after the last answer.
function tally(records) {
  const customersByPhone = new Map();
  for (const c of records.contacts || []) {
    if (c.customerId == null) continue;
    const digits = String(c.value).replace(/\D/g, '').slice(-10);
    if (!customersByPhone.has(digits)) customersByPhone.set(digits, new Set());
    customersByPhone.get(digits).add(c.customerId);
  }
  let duplicated = 0;
  let missing = 0;
  for (const h of people) {
    const ids = customersByPhone.get(h.phone) || new Set();
    const jobs = records.jobs.filter((j) => ids.has(j.customerId)).length;
    if (ids.size > 1 || jobs > 1) duplicated += 1;
    if (ids.size === 0 || jobs === 0) missing += 1;
  }
  return { duplicated, missing };
}
let counted = tally(await admin('/_admin/records'));
while (counted.missing > 0 && performance.now() - t0 - wallMs < RECORDS_LIMIT_MS) {
  await sleep(500);
  counted = tally(await admin('/_admin/records'));
}
const recordedMs = performance.now() - t0;
const { duplicated, missing } = counted;
const firstAnswers = {};
for (const r of results) firstAnswers[r.first || r.error || '?'] = (firstAnswers[r.first || r.error || '?'] || 0) + 1;
const burstMs = results.map((r) => r.ms);
const burst = {
  count: BURST, wallMs, recordedMs, lost: results.filter((r) => !r.booked).length, missingRecords: missing, duplicated,
  p50: pct(burstMs, 0.5), p95: pct(burstMs, 0.95), max: Math.max(...burstMs),
  posts: results.reduce((t, r) => t + r.posts, 0), firstAnswers, limitMs: BURST_LIMIT_MS,
};
console.log(`worker: burst of ${BURST}: all done in ${(wallMs / 1000).toFixed(1)} s, lost ${burst.lost}, duplicated ${duplicated}`);

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify({ scenarios, latency, burst }, null, 2));
