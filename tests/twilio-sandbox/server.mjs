// The Twilio emulator: a real HTTP server that plays Twilio towards the worker. It places
// calls (signed webhooks, TwiML followed the way Twilio does: <Gather action>, <Redirect>,
// <Dial action>, <Hangup>, ConversationRelay over a WebSocket), records every <Say> and
// what Twilio would have warned about, serves the Messages API and posts signed inbound
// SMS. Tests and the page at `/` drive it through the admin JSON API (README.md).
//
//   node tests/twilio-sandbox/server.mjs --port N --auth-token T --account-sid AC...
//        [--from-number +1612...] [--worker-url URL] [--site ID] [--st-url URL]
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { signature, formBody, parseForm } from './sign.mjs';
import { parseXml, textOf, XmlError, VERBS, checkGather, checkDial, dialTargets } from './twiml.mjs';
import { messageRoutes } from './messages.mjs';
import { callRoutes } from './calls.mjs';
import { emailRoutes } from './email.mjs';

const PAGE = fileURLToPath(new URL('./page.html', import.meta.url));
// Twilio gives up on a webhook after 15 s (error 11205).
const WEBHOOK_TIMEOUT_MS = 15_000;
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES']);
const HELP_WORDS = new Set(['HELP', 'INFO']);

const sid = (prefix) => prefix + randomBytes(16).toString('hex');

/** A number as E.164 (+1 for ten NANP digits); anything else unchanged. */
export function e164(n) {
  const s = String(n || '').trim();
  const d = s.replace(/\D/g, '');
  if (s.startsWith('+')) return `+${d}`;
  if (d.length === 10) return `+1${d}`;
  if (d.length === 11 && d.startsWith('1')) return `+${d}`;
  return s;
}

class HttpError extends Error {
  constructor(status, body) { super(typeof body === 'string' ? body : JSON.stringify(body)); this.status = status; this.body = body; }
}

/** Starts the emulator; resolves to `{url, port, close(), state}`. */
export async function startEmulator(opts = {}) {
  const cfg = {
    authToken: opts.authToken || 'test-auth-token',
    accountSid: opts.accountSid || `AC${'0'.repeat(32)}`,
    fromNumber: opts.fromNumber ? e164(opts.fromNumber) : null,
    workerUrl: opts.workerUrl || '',
    site: opts.site || 'northstar',
    stUrl: opts.stUrl || '',
    // The email sink's API key (email.mjs); empty: any key.
    emailApiKey: opts.emailApiKey || '',
  };
  const state = { calls: new Map(), messages: [], refused: [], inbound: [], optedOut: new Set() };
  const sockets = new Set();

  // ---- outgoing webhooks, signed exactly as Twilio does ----

  // `forge`: 'missing' (no header), 'forged' (signed with another token), or a literal.
  async function send(log, method, url, params, { forge, idempotency } = {}) {
    const body = method === 'GET' ? undefined : formBody(params);
    const target = method === 'GET' && Object.keys(params).length ? `${url}${url.includes('?') ? '&' : '?'}${formBody(params)}` : url;
    const sig = method === 'GET' ? signature(cfg.authToken, target) : signature(cfg.authToken, url, params);
    const headers = { 'user-agent': 'TwilioProxy/1.1', 'i-twilio-idempotency-token': idempotency || randomBytes(16).toString('hex') };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
    if (forge === 'forged') headers['x-twilio-signature'] = signature(`${cfg.authToken}-not`, url, params);
    else if (typeof forge === 'string' && forge !== 'missing') headers['x-twilio-signature'] = forge;
    else if (forge !== 'missing') headers['x-twilio-signature'] = sig;
    const rec = { at: Date.now(), method, url: target, params, headers, body };
    const r = await deliver(rec);
    log && log.requests.push({ ...rec, ...r });
    return r;
  }

  // One HTTP exchange, bounded by Twilio's webhook timeout; never throws.
  async function deliver({ method, url, headers, body }) {
    const started = Date.now();
    try {
      const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
      const text = await res.text();
      return { status: res.status, contentType: res.headers.get('content-type') || '', response: text, ms: Date.now() - started };
    } catch (e) {
      const timeout = e.name === 'TimeoutError';
      return { status: 0, error: timeout ? 'timeout' : String(e.message || e), timeout, response: '', ms: Date.now() - started };
    }
  }

  // ---- calls ----

  function note(call, level, code, message) {
    call.log.push({ at: Date.now(), level, code, message });
  }

  function callParams(call, status = 'in-progress') {
    return {
      AccountSid: cfg.accountSid, ApiVersion: '2010-04-01', CallSid: call.sid, CallStatus: status,
      Called: call.to, CalledCountry: 'US', Caller: call.from, CallerCountry: 'US', Direction: call.direction || 'inbound',
      From: call.from, FromCountry: 'US', To: call.to, ToCountry: 'US',
    };
  }

  function view(call) {
    const { sid: s, state: st, from, to, said, turns, gather, dial, log, endReason, relay, requests } = call;
    return {
      sid: s, state: st, from, to, said, turns, gather, dial, log, endReason,
      relay: relay && { url: relay.url, open: relay.open, handoffData: relay.handoffData ?? null },
      requests: requests.map(({ method, url, params, status, ms, response }) => ({ method, url, params, status, ms, response })),
    };
  }

  // Twilio serves one request of a call at a time; so does the emulator.
  function locked(call, fn) {
    const run = call.queue.then(fn, fn);
    call.queue = run.catch(() => {});
    return run;
  }

  function recordingParams(call, rec, status, duration) {
    return { AccountSid: cfg.accountSid, CallSid: call.sid, RecordingSid: rec.sid, RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${cfg.accountSid}/Recordings/${rec.sid}`, RecordingStatus: status, RecordingDuration: duration, RecordingChannels: '1', RecordingSource: 'StartCallRecording' };
  }

  async function endCall(call, reason, status = 'completed') {
    if (call.state === 'ended') return;
    call.state = 'ended';
    call.endReason = reason;
    call.gather = null;
    if (call.relay?.ws && call.relay.open) call.relay.ws.close(1000);
    const duration = String(Math.max(1, Math.round((Date.now() - call.startedAt) / 1000)));
    if (call.statusCallback) {
      const r = await send(call, 'POST', call.statusCallback, { ...callParams(call, status), CallDuration: duration, Duration: duration, Timestamp: new Date().toUTCString() }, { forge: call.forgeAll });
      if (r.status < 200 || r.status >= 300) note(call, 'error', 15003, `status callback got HTTP ${r.status || r.error}`);
    }
    for (const rec of call.recordings) {
      await send(call, 'POST', rec.callback, recordingParams(call, rec, 'completed', duration));
    }
  }

  // Fetches a TwiML document from the worker and plays it; HTTP errors end the call
  // as Twilio does ("an application error has occurred").
  async function fetchAndPlay(call, url, method, extra = {}, status = 'in-progress') {
    const r = await send(call, method, url, { ...callParams(call, status), ...extra }, { forge: call.forgeAll });
    if (r.timeout) { note(call, 'error', 11205, `${url}: no answer within 15 s`); return endCall(call, 'webhook timeout'); }
    if (r.status < 200 || r.status >= 300) { note(call, 'error', 11200, `${url}: HTTP ${r.status || r.error}`); return endCall(call, `HTTP ${r.status || r.error}`); }
    if (!/^(text|application)\/xml\b/i.test(r.contentType)) {
      note(call, 'error', 12300, `${url}: Content-Type ${JSON.stringify(r.contentType)} is not TwiML`);
      return endCall(call, 'invalid content type');
    }
    let doc;
    try { doc = parseXml(r.response); } catch (e) {
      if (!(e instanceof XmlError)) throw e;
      note(call, 'error', 12100, `document parse failure: ${e.message}`);
      return endCall(call, 'document parse failure');
    }
    if (doc.name !== 'Response') { note(call, 'error', 12100, `root element <${doc.name}>, not <Response>`); return endCall(call, 'document parse failure'); }
    return play(call, doc.children, url);
  }

  function say(call, node, via = 'say') {
    const text = textOf(node).replace(/\s+/g, ' ').trim();
    if (!text) { note(call, 'warning', 13520, '<Say> with no text'); return; }
    const entry = { text, language: node.attrs.language || call.gatherLanguage || 'en-US', voice: node.attrs.voice || null, via, at: Date.now() };
    call.said.push(entry);
    call.turns.push({ who: 'agent', ...entry });
  }

  // Plays verbs in order until one waits for the caller (Gather, Dial, ConversationRelay)
  // or ends the call; a document that runs out hangs up, as at Twilio.
  async function play(call, verbs, docUrl) {
    for (let k = 0; k < verbs.length; k += 1) {
      const v = verbs[k];
      if (!v.name) { if (v.text.trim()) note(call, 'error', 12200, `text ${JSON.stringify(v.text.trim().slice(0, 40))} directly inside <Response>`); continue; }
      if (!VERBS.has(v.name)) { note(call, 'error', 12200, `unknown verb <${v.name}>`); continue; }
      const rest = verbs.slice(k + 1);
      switch (v.name) {
        case 'Say': say(call, v); break;
        case 'Play': call.turns.push({ who: 'agent', play: textOf(v).trim(), at: Date.now() }); break;
        case 'Pause': break;
        case 'Gather': {
          for (const w of checkGather(v)) note(call, w.level, w.code, w.message);
          call.gatherLanguage = v.attrs.language || 'en-US';
          for (const c of v.children) if (c.name === 'Say') say(call, c);
          call.gatherLanguage = null;
          const action = new URL(v.attrs.action || docUrl, docUrl).href;
          call.gather = { ...v.attrs, action, method: (v.attrs.method || 'POST').toUpperCase() };
          call.pending = { verbs: rest, docUrl };
          call.state = 'gathering';
          return;
        }
        case 'Redirect': {
          const target = textOf(v).trim();
          if (!target) { note(call, 'error', 12200, '<Redirect> has no URL'); continue; }
          return fetchAndPlay(call, new URL(target, docUrl).href, (v.attrs.method || 'POST').toUpperCase());
        }
        case 'Dial': {
          for (const w of checkDial(v)) note(call, w.level, w.code, w.message);
          const targets = dialTargets(v);
          call.dial = { number: targets[0] || null, targets, action: v.attrs.action ? new URL(v.attrs.action, docUrl).href : null, method: (v.attrs.method || 'POST').toUpperCase(), timeout: v.attrs.timeout || '30', callerId: v.attrs.callerId || null };
          call.dials.push(call.dial);
          call.pending = { verbs: rest, docUrl };
          call.state = 'dialing';
          return;
        }
        case 'Hangup': return endCall(call, 'hangup');
        case 'Reject': return endCall(call, 'rejected', v.attrs.reason === 'busy' ? 'busy' : 'no-answer');
        case 'Start': {
          for (const c of v.children.filter((x) => x.name === 'Recording')) {
            if (!c.attrs.recordingStatusCallback) continue;
            const rec = { sid: sid('RE'), callback: new URL(c.attrs.recordingStatusCallback, docUrl).href };
            call.recordings.push(rec);
            // Asked for (recordingStatusCallbackEvent), Twilio calls back as the recording
            // starts, with its URL; `completed` follows when the call ends.
            if (/\bin-progress\b/.test(c.attrs.recordingStatusCallbackEvent || '')) {
              await send(call, 'POST', rec.callback, recordingParams(call, rec, 'in-progress', '0'));
            }
          }
          break;
        }
        case 'Connect': {
          const relay = v.children.find((c) => c.name === 'ConversationRelay');
          if (!relay) { note(call, 'warning', 12200, '<Connect> without <ConversationRelay> is not emulated'); break; }
          // Twilio requests the Connect action when the session ends (HandoffData from `end`).
          const action = v.attrs.action ? new URL(v.attrs.action, docUrl).href : null;
          return openRelay(call, relay.attrs, { action, method: (v.attrs.method || 'POST').toUpperCase() });
        }
        default: note(call, 'warning', 0, `<${v.name}> is not emulated; skipped`);
      }
    }
    return endCall(call, 'end of TwiML');
  }

  // `direction`, `callSid`: an outbound API call (calls.mjs) keeps the sid it answered with.
  async function placeCall({ url, from, to, statusCallback, forge, signature: sigMode, direction, callSid }) {
    if (!url || !/^https?:\/\//.test(url)) throw new HttpError(400, { error: 'url: the worker\'s /incoming URL' });
    const defaultStatus = (() => { const u = new URL(url); if (!/\/incoming$/.test(u.pathname)) return null; u.pathname = u.pathname.replace(/\/incoming$/, '/status'); return u.href; })();
    const call = {
      sid: callSid || sid('CA'), direction, from: e164(from || '+16125550199'), to: e164(to || cfg.fromNumber || '+16125550170'), url,
      statusCallback: statusCallback === undefined ? defaultStatus : statusCallback,
      state: 'ringing', said: [], turns: [], gather: null, dial: null, dials: [], log: [], requests: [], recordings: [],
      pending: null, relay: null, endReason: null, startedAt: Date.now(), queue: Promise.resolve(),
      // A forged call signs every request it makes wrongly (the worker must refuse all).
      forgeAll: forge || sigMode,
    };
    state.calls.set(call.sid, call);
    await locked(call, () => fetchAndPlay(call, url, 'POST', {}, 'ringing'));
    return call;
  }

  function getCall(s) {
    const call = state.calls.get(s);
    if (!call) throw new HttpError(404, { error: `no call ${s}` });
    return call;
  }

  // The caller's turn: words, keys or silence, posted to the Gather's action the way
  // Twilio would (what the Gather does not listen for is not heard).
  async function speak(call, { speech, digits, silence, confidence, forge, signature: sigMode }) {
    if (call.state === 'relay') return relayTurn(call, { speech, digits });
    if (call.state !== 'gathering') throw new HttpError(409, { error: `call is ${call.state}, not gathering` });
    const g = call.gather;
    const input = (g.input || 'dtmf').split(/\s+/);
    let heard = {};
    if (speech != null && String(speech).trim() && !silence) {
      call.turns.push({ who: 'caller', text: String(speech), at: Date.now() });
      if (input.includes('speech')) heard = { SpeechResult: String(speech), Confidence: String(confidence ?? 0.9171) };
      else note(call, 'warning', 0, 'speech to a <Gather> that listens only for keys: not heard');
    } else if (digits != null && String(digits) !== '' && !silence) {
      call.turns.push({ who: 'caller', keys: String(digits), at: Date.now() });
      let keys = String(digits);
      const finish = g.finishOnKey ?? '#';
      if (finish && keys.includes(finish)) keys = keys.slice(0, keys.indexOf(finish));
      if (g.numDigits && keys.length > Number(g.numDigits)) { note(call, 'warning', 0, `${keys.length} keys to numDigits=${g.numDigits}: the rest are not heard`); keys = keys.slice(0, Number(g.numDigits)); }
      if (!input.includes('dtmf')) { note(call, 'warning', 0, 'keys to a <Gather> that listens only for speech: not heard'); keys = ''; }
      if (keys) heard = { Digits: keys };
    } else {
      call.turns.push({ who: 'caller', silence: true, at: Date.now() });
    }
    call.gather = null;
    call.state = 'in-progress';
    const f = forge || sigMode;
    if (!Object.keys(heard).length && g.actionOnEmptyResult !== 'true') {
      // Twilio goes on with the verbs after the Gather; none left: it hangs up.
      const { verbs, docUrl } = call.pending || { verbs: [], docUrl: g.action };
      return play(call, verbs, docUrl);
    }
    const saved = call.forgeAll;
    if (f) call.forgeAll = f;
    try { await fetchAndPlay(call, g.action, g.method, heard); } finally { call.forgeAll = saved; }
  }

  async function dialResult(call, { status = 'completed', duration }) {
    if (call.state !== 'dialing') throw new HttpError(409, { error: `call is ${call.state}, not dialing` });
    const d = call.dial;
    d.status = status;
    call.state = 'in-progress';
    if (d.action) {
      return fetchAndPlay(call, d.action, d.method, { DialCallStatus: status, DialCallSid: sid('CA'), DialCallDuration: String(status === 'completed' ? duration ?? 42 : 0) });
    }
    // No action: Twilio goes on with the document after the <Dial>.
    return play(call, call.pending?.verbs || [], call.pending?.docUrl || call.url);
  }

  async function hangup(call, { status = 'completed', signature: sigMode, forge } = {}) {
    if (call.state === 'ended') throw new HttpError(409, { error: 'call already ended' });
    call.turns.push({ who: 'caller', hungUp: true, at: Date.now() });
    if (forge || sigMode) call.forgeAll = forge || sigMode;
    return endCall(call, 'caller hung up', status);
  }

  // Sends one earlier request again byte for byte (same signature and idempotency
  // token): what Twilio's retries and a replay attacker both look like.
  async function replay(call, { index }) {
    const i = index ?? call.requests.length - 1;
    const rec = call.requests[i];
    if (!rec) throw new HttpError(404, { error: `no request ${i}` });
    const r = await deliver(rec);
    call.log.push({ at: Date.now(), level: 'info', code: 0, message: `replayed request ${i} to ${rec.url}: HTTP ${r.status}` });
    return { index: i, status: r.status, response: r.response, contentType: r.contentType };
  }

  // ---- ConversationRelay ----

  function openRelay(call, attrs, connect = {}) {
    const url = attrs.url;
    if (!url || !/^wss?:\/\//.test(url)) { note(call, 'error', 64101, `ConversationRelay url ${JSON.stringify(url)} is not ws(s)://`); return endCall(call, 'relay url'); }
    call.state = 'relay';
    const relay = { url, open: false, ws: null, buffer: '', waiters: [], handoffData: null, lang: attrs.language || 'en-US', action: connect.action || null, actionMethod: connect.method || 'POST', handedOff: false, openedAt: Date.now() };
    call.relay = relay;
    if (attrs.welcomeGreeting) say(call, { attrs: { language: attrs.language }, children: [{ text: attrs.welcomeGreeting }] }, 'welcome');
    const headers = {};
    const f = call.forgeAll;
    if (f === 'forged') headers['x-twilio-signature'] = signature(`${cfg.authToken}-not`, url);
    else if (f !== 'missing') headers['x-twilio-signature'] = signature(cfg.authToken, url);
    return new Promise((resolve) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: WEBHOOK_TIMEOUT_MS });
      relay.ws = ws;
      call.requests.push({ at: Date.now(), method: 'GET', url, params: {}, headers, status: 101 });
      const settle = () => { const w = relay.waiters.splice(0); w.forEach((fn) => fn()); };
      ws.on('unexpected-response', (_req, res) => {
        call.requests.at(-1).status = res.statusCode;
        note(call, 'error', 64102, `WebSocket handshake got HTTP ${res.statusCode}`);
        endCall(call, `relay handshake HTTP ${res.statusCode}`).then(() => { settle(); resolve(); });
      });
      ws.on('error', (e) => { if (call.state !== 'ended') { note(call, 'error', 64105, `WebSocket: ${e.message}`); endCall(call, 'relay error').then(() => { settle(); resolve(); }); } });
      ws.on('open', () => {
        relay.open = true;
        relay.sessionId = sid('VX');
        ws.send(JSON.stringify({ type: 'setup', sessionId: relay.sessionId, accountSid: cfg.accountSid, parentCallSid: '', callSid: call.sid, from: call.from, to: call.to, forwardedFrom: call.to, callerName: '', direction: 'inbound', callType: 'PSTN', callStatus: 'RINGING', customParameters: {} }));
        // The agent may speak first; give it a moment, then hand the turn to the caller.
        waitForAgent(call, 3_000).then(resolve);
      });
      ws.on('message', (data) => onRelayMessage(call, String(data), settle));
      ws.on('close', () => { relay.open = false; if (call.state !== 'ended' && !relay.handedOff) endCall(call, 'relay closed by the worker'); settle(); });
    });
  }

  function onRelayMessage(call, text, settle) {
    const relay = call.relay;
    let m;
    try { m = JSON.parse(text); } catch { note(call, 'error', 64107, `not JSON: ${text.slice(0, 80)}`); return; }
    switch (m && m.type) {
      case 'text': {
        if (typeof m.token !== 'string') { note(call, 'error', 64107, 'text message without a string token'); return; }
        relay.buffer += m.token;
        if (m.last) {
          const t = relay.buffer.replace(/\s+/g, ' ').trim();
          relay.buffer = '';
          if (t) { const entry = { text: t, language: m.lang || relay.lang, via: 'relay', at: Date.now() }; call.said.push(entry); call.turns.push({ who: 'agent', ...entry }); }
          settle();
        }
        return;
      }
      case 'end':
        relay.handoffData = m.handoffData ?? null;
        if (m.handoffData) { try { const h = JSON.parse(m.handoffData); if (h && (h.transferTo || h.number)) call.dials.push({ number: h.transferTo || h.number, via: 'relay' }); } catch { /* handoffData is free text */ } }
        if (relay.action) { relay.handedOff = true; locked(call, () => followConnect(call)).then(settle, settle); return; }
        endCall(call, 'relay ended by the agent').then(settle);
        return;
      case 'language': relay.lang = m.ttsLanguage || relay.lang; return;
      case 'play': call.turns.push({ who: 'agent', play: m.source, at: Date.now() }); return;
      case 'sendDigits': call.turns.push({ who: 'agent', keys: m.digits, at: Date.now() }); return;
      default: note(call, 'error', 64107, `unknown message type ${JSON.stringify(m && m.type)}`);
    }
  }

  // The session ended with our `end`: the socket closes and Twilio requests the
  // <Connect action> with the session's outcome and HandoffData, then plays its TwiML.
  async function followConnect(call) {
    const relay = call.relay;
    if (relay.ws && relay.open) relay.ws.close(1000);
    call.state = 'in-progress';
    const duration = String(Math.max(1, Math.round((Date.now() - relay.openedAt) / 1000)));
    const session = { SessionId: relay.sessionId || '', SessionStatus: 'ended', SessionDuration: duration, HandoffData: relay.handoffData ?? '' };
    return fetchAndPlay(call, relay.action, relay.actionMethod, session);
  }

  function waitForAgent(call, ms) {
    if (call.state === 'ended') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() { clearTimeout(t); resolve(); }
      call.relay.waiters.push(done);
    });
  }

  async function relayTurn(call, { speech, digits, interrupt }) {
    const relay = call.relay;
    if (call.state !== 'relay' || !relay?.open) throw new HttpError(409, { error: `relay is ${call.state}` });
    const before = call.said.length;
    const wait = waitForAgent(call, 10_000);
    if (interrupt) {
      relay.ws.send(JSON.stringify({ type: 'interrupt', utteranceUntilInterrupt: '', durationUntilInterruptMs: 500 }));
    } else if (digits != null && String(digits) !== '') {
      call.turns.push({ who: 'caller', keys: String(digits), at: Date.now() });
      for (const d of String(digits)) relay.ws.send(JSON.stringify({ type: 'dtmf', digit: d }));
    } else {
      call.turns.push({ who: 'caller', text: String(speech ?? ''), at: Date.now() });
      relay.ws.send(JSON.stringify({ type: 'prompt', voicePrompt: String(speech ?? ''), lang: relay.lang, last: true }));
    }
    await wait;
    return call.said.slice(before).map((s) => s.text).join(' ');
  }

  // `action`: the <Connect action> a TwiML-started relay would have had; `callSid`: the
  // call's sid (the worker's TwiML names it in the socket's URL).
  async function startRelay({ url, from, to, action, callSid, forge, signature: sigMode }) {
    const call = {
      sid: callSid || sid('CA'), from: e164(from || '+16125550199'), to: e164(to || cfg.fromNumber || '+16125550170'), url, statusCallback: null,
      state: 'ringing', said: [], turns: [], gather: null, dial: null, dials: [], log: [], requests: [], recordings: [],
      pending: null, relay: null, endReason: null, startedAt: Date.now(), queue: Promise.resolve(), forgeAll: forge || sigMode,
    };
    state.calls.set(call.sid, call);
    await locked(call, () => openRelay(call, { url }, { action: action || null }));
    return call;
  }

  // ---- Messages API ----

  function twilioError(status, code, message) {
    return new HttpError(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }

  function sendMessage(req, account, body) {
    const auth = /^Basic\s+(.+)$/i.exec(req.headers.authorization || '');
    const [user, pass] = auth ? Buffer.from(auth[1], 'base64').toString('utf8').split(/:(.*)/s) : [];
    if (!auth || user !== cfg.accountSid || pass !== cfg.authToken || account !== cfg.accountSid) {
      throw twilioError(401, 20003, 'Authenticate');
    }
    const p = Object.fromEntries(parseForm(body));
    const attempt = { at: Date.now(), to: p.To, from: p.From, body: p.Body };
    const refuse = (status, code, message) => { state.refused.push({ ...attempt, code, message }); return twilioError(status, code, message); };
    if (!p.To) throw refuse(400, 21604, "A 'To' phone number is required.");
    if (!p.From && !p.MessagingServiceSid) throw refuse(400, 21603, "A 'From' phone number is required.");
    if (!p.Body && !p.MediaUrl) throw refuse(400, 21602, 'Message body is required.');
    const to = e164(p.To);
    if (!/^\+[1-9][0-9]{7,14}$/.test(to)) throw refuse(400, 21211, `The 'To' number ${p.To} is not a valid phone number.`);
    if (cfg.fromNumber && p.From && e164(p.From) !== cfg.fromNumber) throw refuse(400, 21606, `The 'From' phone number provided (${p.From}) is not a valid message-capable Twilio phone number for this account.`);
    if ((p.Body || '').length > 1600) throw refuse(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (state.optedOut.has(to)) throw refuse(400, 21610, 'Attempt to send to unsubscribed recipient');
    const msg = {
      sid: sid('SM'), account_sid: cfg.accountSid, to, from: p.From ? e164(p.From) : null, messaging_service_sid: p.MessagingServiceSid || null,
      body: p.Body || '', status: 'queued', direction: 'outbound-api', api_version: '2010-04-01', num_segments: String(Math.max(1, Math.ceil((p.Body || '').length / 153))),
      num_media: '0', date_created: new Date().toUTCString(), date_updated: new Date().toUTCString(), date_sent: null, error_code: null, error_message: null,
      price: null, price_unit: 'USD', uri: '', subresource_uris: {},
    };
    msg.uri = `/2010-04-01/Accounts/${cfg.accountSid}/Messages/${msg.sid}.json`;
    state.messages.push(msg);
    return msg;
  }

  // An SMS from a caller to the site's number: opt-out words are Twilio's before the
  // worker sees them; the worker's TwiML <Message> reply is recorded as an SMS.
  async function inboundSms({ from, to, body, url, forge, signature: sigMode }) {
    const sender = e164(from);
    const word = String(body || '').trim().toUpperCase();
    let optOutType = null;
    if (STOP_WORDS.has(word)) { state.optedOut.add(sender); optOutType = 'STOP'; }
    if (START_WORDS.has(word)) { state.optedOut.delete(sender); optOutType = 'START'; }
    if (HELP_WORDS.has(word)) optOutType = 'HELP';
    const messageSid = sid('SM');
    const params = {
      ToCountry: 'US', ToState: 'MN', SmsMessageSid: messageSid, NumMedia: '0', ToCity: 'MINNEAPOLIS', FromZip: '', SmsSid: messageSid,
      FromState: 'MN', SmsStatus: 'received', FromCity: 'MINNEAPOLIS', Body: String(body ?? ''), FromCountry: 'US',
      To: e164(to || cfg.fromNumber || '+16125550170'), ToZip: '', NumSegments: '1', MessageSid: messageSid, AccountSid: cfg.accountSid,
      From: sender, ApiVersion: '2010-04-01', ...(optOutType ? { OptOutType: optOutType } : {}),
    };
    const entry = { at: Date.now(), from: sender, body: String(body ?? ''), optOutType, requests: [] };
    state.inbound.push(entry);
    if (!url) return { optedOut: state.optedOut.has(sender), optOutType };
    const r = await send(entry, 'POST', url, params, { forge: forge || sigMode });
    if (r.status >= 200 && r.status < 300 && /xml/i.test(r.contentType) && r.response.trim()) {
      try {
        const doc = parseXml(r.response);
        for (const m of doc.children.filter((c) => c.name === 'Message')) {
          const reply = { sid: sid('SM'), to: sender, from: params.To, body: textOf(m).trim(), status: 'queued', via: 'twiml', date_created: new Date().toUTCString() };
          if (state.optedOut.has(sender)) state.refused.push({ ...reply, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
          else state.messages.push(reply);
        }
      } catch (e) { entry.error = `reply TwiML: ${e.message}`; }
    }
    return { status: r.status, response: r.response, optedOut: state.optedOut.has(sender), optOutType };
  }

  // ---- HTTP ----

  // Messages list and faults, the Calls API, the email sink (F1's modules); mounted first.
  const resets = [];
  const ctx = { cfg, state, HttpError, twilioError, sendMessage, placeCall, newSid: sid, e164, onReset: (f) => resets.push(f) };
  const routes = [
    ...messageRoutes(ctx), ...callRoutes(ctx), ...emailRoutes(ctx),
    ['GET', /^\/$/, (_q, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }); res.end(readFileSync(PAGE)); }],
    ['GET', /^\/health$/, () => ({ ok: true })],
    ['GET', /^\/config$/, () => ({ workerUrl: cfg.workerUrl, site: cfg.site, stUrl: cfg.stUrl, number: cfg.fromNumber || '+16125550170', accountSid: cfg.accountSid })],
    ['POST', /^\/reset$/, () => { state.calls.clear(); state.messages.length = 0; state.refused.length = 0; state.inbound.length = 0; state.optedOut.clear(); for (const f of resets) f(); return { ok: true }; }],
    ['POST', /^\/calls$/, async (q) => view(await placeCall(q.json))],
    ['GET', /^\/calls$/, () => ({ calls: [...state.calls.values()].map(view) })],
    ['GET', /^\/calls\/([^/]+)$/, (_q, _r, m) => view(getCall(m[1]))],
    ['POST', /^\/calls\/([^/]+)\/speak$/, async (q, _r, m) => { const c = getCall(m[1]); const reply = await locked(c, () => speak(c, q.json)); return { ...view(c), ...(typeof reply === 'string' ? { reply } : {}) }; }],
    ['POST', /^\/calls\/([^/]+)\/dial-result$/, async (q, _r, m) => { const c = getCall(m[1]); await locked(c, () => dialResult(c, q.json)); return view(c); }],
    ['POST', /^\/calls\/([^/]+)\/hangup$/, async (q, _r, m) => { const c = getCall(m[1]); await locked(c, () => hangup(c, q.json)); return view(c); }],
    ['POST', /^\/calls\/([^/]+)\/replay$/, async (q, _r, m) => replay(getCall(m[1]), q.json)],
    ['POST', /^\/relay$/, async (q) => view(await startRelay(q.json))],
    ['GET', /^\/relay\/([^/]+)$/, (_q, _r, m) => view(getCall(m[1]))],
    ['POST', /^\/relay\/([^/]+)\/prompt$/, async (q, _r, m) => { const c = getCall(m[1]); const reply = await locked(c, () => relayTurn(c, { speech: q.json.text ?? q.json.speech })); return { ...view(c), reply, text: reply }; }],
    ['POST', /^\/relay\/([^/]+)\/dtmf$/, async (q, _r, m) => { const c = getCall(m[1]); const reply = await locked(c, () => relayTurn(c, { digits: q.json.digits ?? q.json.digit })); return { ...view(c), reply, text: reply }; }],
    ['POST', /^\/relay\/([^/]+)\/interrupt$/, async (_q, _r, m) => { const c = getCall(m[1]); const reply = await locked(c, () => relayTurn(c, { interrupt: true })); return { ...view(c), reply }; }],
    ['POST', /^\/relay\/([^/]+)\/hangup$/, async (q, _r, m) => { const c = getCall(m[1]); await locked(c, () => hangup(c, q.json)); return view(c); }],
    ['POST', /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/, (q, res, m) => { const msg = sendMessage(q.req, decodeURIComponent(m[1]), q.raw); return { status: 201, body: msg }; }],
    ['GET', /^\/messages$/, () => ({ messages: state.messages, refused: state.refused, optedOut: [...state.optedOut] })],
    ['POST', /^\/sms\/inbound$/, async (q) => inboundSms(q.json)],
    ['GET', /^\/st\/records$/, async () => {
      if (!cfg.stUrl) throw new HttpError(404, { error: 'no ServiceTitan emulator configured (--st-url)' });
      try {
        const r = await fetch(`${cfg.stUrl}/_admin/records`, { signal: AbortSignal.timeout(5_000) });
        return JSON.parse(await r.text());
      } catch (e) {
        throw new HttpError(502, { error: `ServiceTitan emulator at ${cfg.stUrl}: ${e.message}` });
      }
    }],
  ];

  function readBody(req) {
    return new Promise((resolve, reject) => {
      let size = 0;
      const chunks = [];
      req.on('data', (c) => { size += c.length; if (size > 1 << 20) { reject(new HttpError(413, { error: 'body over 1 MB' })); req.destroy(); } else chunks.push(c); });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const route = routes.find(([m, re]) => m === req.method && re.test(path));
    const reply = (status, body) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (!route) return reply(404, { error: `no route ${req.method} ${path}` });
    try {
      const raw = await readBody(req);
      let json = {};
      if (raw && /json/i.test(req.headers['content-type'] || '')) {
        try { json = JSON.parse(raw); } catch { throw new HttpError(400, { error: 'body is not JSON' }); }
      }
      const out = await route[2]({ req, raw, json: json || {} }, res, route[1].exec(path));
      if (out === undefined) return;
      if (out && out.status && out.body && Object.keys(out).length === 2) return reply(out.status, out.body);
      reply(200, out);
    } catch (e) {
      if (e instanceof HttpError) return reply(e.status, e.body);
      reply(500, { error: String(e && e.stack || e) });
    }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(opts.port || 0, '127.0.0.1', resolve); });
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    close: async () => {
      for (const c of state.calls.values()) c.relay?.ws?.terminate();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (m) { out[m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1]; i += 1; }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const a = args(process.argv.slice(2));
  const emu = await startEmulator({ ...a, port: Number(a.port || 0) });
  console.log(`listening on ${emu.url}`);
  const stop = () => emu.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
