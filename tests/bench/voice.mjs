// The worker's time per voice turn (issue 14 item 9, issue 17 item 6): many short phone
// calls straight into the worker, each a distinct CallSid (so a distinct CallObject),
// timed from this process on loopback:
//   - Twilio Programmable Voice: `POST /v1/voice/twilio/{site}/incoming` (the greeting)
//     and `/gather` with a signed SpeechResult (one caller turn), request sent → TwiML read;
//   - ConversationRelay: a signed WebSocket per call, `prompt` sent → the agent's last
//     `text` token received.
// Every call stops before "Shall I book it?" is answered, so no measured turn needs a
// ServiceTitan call; the emulator's request journal is read before and after to show it.
// Requests are signed as Twilio signs them (tests/twilio-sandbox/sign.mjs). The first
// WARMUP calls of each kind are reported apart and left out of p50/p95.
// Run by `cargo xtask bench` (WORKER_URL, SANDBOX_URL, TWILIO_AUTH_TOKEN, TWILIO_NUMBER,
// TWILIO_ACCOUNT_SID set); writes JSON to $BENCH_OUT. Loopback only; bounded in calls,
// turns and time.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { WebSocket } from 'ws';
import { signature, formBody } from '../twilio-sandbox/sign.mjs';

const { WORKER_URL, SANDBOX_URL, TWILIO_AUTH_TOKEN } = process.env;
const NUMBER = process.env.TWILIO_NUMBER || '+16125550170';
const ACCOUNT = process.env.TWILIO_ACCOUNT_SID || `AC${'0'.repeat(32)}`;
const OUT = process.env.BENCH_OUT || 'target/bench/voice.json';
const SITE = 'northstar';
const CALLS = Number(process.env.BENCH_VOICE_CALLS || 40);
const WARMUP = Number(process.env.BENCH_VOICE_WARMUP || 5);
const MAX_TURNS = 8; // caller turns per call at most
const TURN_LIMIT_MS = 15_000; // Twilio's own webhook limit
const SECTION_LIMIT_MS = 180_000;
const TARGET_P95_MS = 25;
if (!WORKER_URL || !SANDBOX_URL || !TWILIO_AUTH_TOKEN) throw new Error('run through `cargo xtask bench`');
for (const u of [WORKER_URL, SANDBOX_URL]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+/.test(u)) throw new Error(`${u}: the bench only talks to 127.0.0.1`);
}

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null;
};
const stats = (xs) => ({
  n: xs.length, p50: pct(xs, 0.5), p95: pct(xs, 0.95), max: xs.length ? Math.max(...xs) : null,
  mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null,
});
const callSid = () => `CA${randomBytes(16).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A caller per call: own number (612-555-4xxx, none in the seed tenant) and street.
function caller(i) {
  const digits = `6125554${String(i).padStart(3, '0')}`;
  return {
    from: `+1${digits}`,
    need: 'My furnace stopped working and it is making a banging noise',
    name: ['Olivia Martin', 'Liam Nguyen', 'Emma Johnson', 'Noah Patel', 'Ava Berg'][i % 5],
    address: `${5200 + i} Oak Ave S, Minneapolis, MN 55405`,
    rest: 'Minneapolis, 55405',
    when: 'tomorrow afternoon',
  };
}

// What the caller says to the agent's words (as tests/e2e/voice.test.mjs answers), or
// null: "Shall I book it?" ends the call's measured part (the yes would book).
function answer(words, p) {
  const t = words.toLowerCase();
  if (/shall i book|lo reservo/.test(t)) return null;
  if (/ the best number to reach you\?/.test(t)) return 'yes';
  if (/street name/.test(t)) return p.address;
  if (/address/.test(t)) return p.address;
  if (/and the (city|state|zip)/.test(t)) return p.rest;
  if (/number|phone/.test(t)) return p.from.slice(2);
  if (/name/.test(t)) return p.name;
  if (/when should we come|what day works/.test(t)) return p.when;
  if (/help you with|what can we help|what's going on/.test(t)) return p.need;
  return null;
}

const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const saysOf = (xml) => [...xml.matchAll(/<Say\b[^>]*>([\s\S]*?)<\/Say>/g)].map((m) => unescape(m[1].replace(/<[^>]+>/g, ''))).join(' ');
const actionOf = (xml) => { const m = /<Gather\b[^>]*\baction="([^"]*)"/.exec(xml); return m && unescape(m[1]); };

// One signed webhook, as Twilio posts it: (ms, status, xml).
async function webhook(url, params) {
  const headers = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    'x-twilio-signature': signature(TWILIO_AUTH_TOKEN, url, params),
    'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
    'user-agent': 'TwilioProxy/1.1',
  };
  const t0 = performance.now();
  const r = await fetch(url, { method: 'POST', headers, body: formBody(params), signal: AbortSignal.timeout(TURN_LIMIT_MS) });
  const xml = await r.text();
  return { ms: performance.now() - t0, status: r.status, xml, type: r.headers.get('content-type') || '' };
}

const journalSeq = async () => {
  const r = await fetch(`${SANDBOX_URL}/_admin/requests`);
  if (!r.ok) throw new Error(`journal: ${r.status}`);
  return (await r.json()).reduce((m, e) => Math.max(m, e.seq), 0);
};
const journalSince = async (seq) => {
  const r = await fetch(`${SANDBOX_URL}/_admin/requests`);
  return (await r.json()).filter((e) => e.seq > seq && !String(e.path).startsWith('/_admin'));
};

// ---- Twilio Programmable Voice (TwiML webhooks) ----

async function twimlCall(i) {
  const p = caller(i);
  const sid = callSid();
  const base = `${WORKER_URL}/v1/voice/twilio/${SITE}`;
  const params = (status = 'in-progress') => ({
    AccountSid: ACCOUNT, ApiVersion: '2010-04-01', CallSid: sid, CallStatus: status, Called: NUMBER, CalledCountry: 'US',
    Caller: p.from, CallerCountry: 'US', Direction: 'inbound', From: p.from, FromCountry: 'US', To: NUMBER, ToCountry: 'US',
  });
  const out = { incoming: null, incomingAgain: null, health: null, gathers: [], errors: [], summary: false };
  const ok = (r) => r.status === 200 && /xml/.test(r.type) && /<Gather\b/.test(r.xml);
  // Where the greeting's time goes: wrangler dev's floor (a route with no object), the
  // greeting to a new CallSid (a new Durable Object), the same webhook again (the object
  // exists: Twilio's retry, answered with the greeting again).
  const h0 = performance.now();
  await (await fetch(`${WORKER_URL}/health`)).text();
  out.health = performance.now() - h0;
  const first = await webhook(`${base}/incoming`, params('ringing'));
  out.incoming = first.ms;
  if (!ok(first)) { out.errors.push(`incoming: HTTP ${first.status} ${first.xml.slice(0, 120)}`); return out; }
  const again = await webhook(`${base}/incoming`, params('ringing'));
  out.incomingAgain = again.ms;
  if (!ok(again)) out.errors.push(`incoming again: HTTP ${again.status} ${again.xml.slice(0, 120)}`);
  let xml = first.xml;
  for (let t = 0; t < MAX_TURNS; t += 1) {
    const words = saysOf(xml);
    const said = answer(words, p);
    if (said == null) { out.summary = /shall i book/i.test(words); break; }
    const r = await webhook(actionOf(xml) || `${base}/gather`, { ...params(), SpeechResult: said, Confidence: '0.92' });
    if (!ok(r)) { out.errors.push(`gather: HTTP ${r.status} ${r.xml.slice(0, 120)}`); break; }
    out.gathers.push(r.ms);
    xml = r.xml;
  }
  return out;
}

// ---- ConversationRelay (one WebSocket per call) ----

// Opens the call's socket; resolves once open with a `next()` that waits for the agent's
// next complete answer (text tokens up to `last: true`).
function relayOpen(sid) {
  const url = `${WORKER_URL.replace(/^http/, 'ws')}/v1/voice/relay/${SITE}?callSid=${sid}`;
  const ws = new WebSocket(url, { headers: { 'x-twilio-signature': signature(TWILIO_AUTH_TOKEN, url) }, handshakeTimeout: TURN_LIMIT_MS });
  let buffer = '';
  let waiter = null;
  const answers = [];
  const deliver = (a) => { if (waiter) { const w = waiter; waiter = null; w(a); } else answers.push(a); };
  ws.on('message', (data) => {
    const at = performance.now();
    let m;
    try { m = JSON.parse(String(data)); } catch { return; }
    if (m.type === 'text') {
      buffer += m.token;
      if (m.last) { deliver({ at, text: buffer.replace(/\s+/g, ' ').trim() }); buffer = ''; }
    } else if (m.type === 'end') deliver({ at, end: true, text: buffer });
  });
  ws.on('close', () => deliver({ at: performance.now(), closed: true, text: '' }));
  const next = () => new Promise((resolve) => {
    if (answers.length) { resolve(answers.shift()); return; }
    const timer = setTimeout(() => { waiter = null; resolve({ at: performance.now(), timeout: true, text: '' }); }, TURN_LIMIT_MS);
    waiter = (a) => { clearTimeout(timer); resolve(a); };
  });
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, handshakeMs: performance.now() - t0 }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`relay handshake HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function relayCall(i, open) {
  const p = caller(CALLS + i);
  const sid = callSid();
  const out = { handshake: null, greeting: null, prompts: [], errors: [], summary: false };
  let r;
  try { r = await relayOpen(sid); } catch (e) { out.errors.push(String(e.message || e)); return out; }
  open.push(r.ws);
  out.handshake = r.handshakeMs;
  const t0 = performance.now();
  r.ws.send(JSON.stringify({ type: 'setup', sessionId: `VX${randomBytes(16).toString('hex')}`, accountSid: ACCOUNT, parentCallSid: '',
    callSid: sid, from: p.from, to: NUMBER, forwardedFrom: NUMBER, callerName: '', direction: 'inbound', callType: 'PSTN',
    callStatus: 'RINGING', customParameters: {} }));
  let a = await r.next();
  if (a.timeout || a.closed || a.end) { out.errors.push(`greeting: ${JSON.stringify(a)}`); return out; }
  out.greeting = a.at - t0;
  for (let t = 0; t < MAX_TURNS; t += 1) {
    const said = answer(a.text, p);
    if (said == null) { out.summary = /shall i book/i.test(a.text); break; }
    const sent = performance.now();
    r.ws.send(JSON.stringify({ type: 'prompt', voicePrompt: said, lang: 'en-US', last: true }));
    a = await r.next();
    if (a.timeout || a.closed || a.end) { out.errors.push(`prompt: ${JSON.stringify(a)}`); break; }
    out.prompts.push(a.at - sent);
  }
  return out;
}

// Runs `calls` one after another, bounded in time.
async function section(what, calls) {
  const started = performance.now();
  const results = [];
  for (let i = 0; i < CALLS && performance.now() - started < SECTION_LIMIT_MS; i += 1) results.push(await calls(i));
  console.log(`voice: ${what}: ${results.length} calls in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return results;
}

function summary(results, fields) {
  const warm = results.slice(0, WARMUP);
  const rest = results.slice(WARMUP);
  const out = { calls: results.length, warmupCalls: warm.length, errors: results.flatMap((r) => r.errors),
    reachedSummary: results.filter((r) => r.summary).length };
  for (const f of fields) {
    const pick = (rs) => rs.flatMap((r) => (Array.isArray(r[f]) ? r[f] : r[f] == null ? [] : [r[f]]));
    out[f] = { ...stats(pick(rest)), warmup: stats(pick(warm)) };
  }
  return out;
}

// Others may share the CPUs: the load when this section started and ended.
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadAtStart = load();
const seq = await journalSeq();
const twiml = await section('TwiML webhooks', twimlCall);
await sleep(300);
const twimlSt = await journalSince(seq);

const open = [];
const seq2 = await journalSeq();
const relay = await section('ConversationRelay', (i) => relayCall(i, open));
await sleep(300);
const relaySt = await journalSince(seq2);
// Closing a socket ends its call (a call-back for the office): only after the timing.
for (const ws of open) ws.close(1000);

const result = {
  target: { p95Ms: TARGET_P95_MS }, load: { start: loadAtStart, end: load() }, callsPerKind: CALLS, warmupCalls: WARMUP, maxTurns: MAX_TURNS,
  twiml: { ...summary(twiml, ['incoming', 'incomingAgain', 'health', 'gathers']), serviceTitanCalls: twimlSt.length },
  relay: { ...summary(relay, ['handshake', 'greeting', 'prompts']), serviceTitanCalls: relaySt.length },
};
const line = (what, s) => `${what} n=${s.n} p50 ${s.p50?.toFixed(1)} ms p95 ${s.p95?.toFixed(1)} ms`;
console.log(`voice: ${line('incoming', result.twiml.incoming)}; ${line('gather', result.twiml.gathers)}; ${line('relay prompt', result.relay.prompts)}`);
console.log(`voice: ${line('health (no object)', result.twiml.health)}; ${line('incoming again (object exists)', result.twiml.incomingAgain)}; ${line('relay handshake (new object)', result.relay.handshake)}`);
console.log(`voice: errors ${result.twiml.errors.length + result.relay.errors.length}; ServiceTitan calls during the turns: ${twimlSt.length} + ${relaySt.length}`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2));
await sleep(200);
process.exit(0);
