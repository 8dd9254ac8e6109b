// The emulator against a scripted fake worker (no wrangler needed): signed webhooks,
// TwiML followed the way Twilio does, Say text recorded, Twilio's warnings and errors,
// the Messages API, inbound SMS and ConversationRelay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { startEmulator } from './server.mjs';
import { signature, parseForm } from './sign.mjs';
import { parseXml, textOf, checkGather } from './twiml.mjs';

const TOKEN = 'tok-self-test';
const SID = 'AC11111111111111111111111111111111';
let emu;
let worker;
let base;
const seen = []; // every request the fake worker got: {path, params, valid, headers}

const gather = (say, extra = '') => `<Gather input="speech dtmf" action="gather" method="POST" language="en-US" speechModel="phone_call" speechTimeout="3" actionOnEmptyResult="true" hints="$OPERAND" ${extra}><Say language="en-US">${say}</Say></Gather>`;

// The ConversationRelay socket a `/relay-incoming` call connects to (set by its test).
let relayWsUrl = '';

// What the fake worker answers, by path and what the caller said.
function twiml(path, p) {
  if (path.endsWith('/relay-incoming')) return `<Response><Connect action="handoff"><ConversationRelay url="${relayWsUrl}" welcomeGreeting="Hi, an automated assistant here."/></Connect></Response>`;
  if (path.endsWith('/handoff')) return `<Response><Say>Connecting you (${p.SessionStatus}).</Say><Dial action="dial" timeout="20">${JSON.parse(p.HandoffData).transferTo}</Dial></Response>`;
  if (path.endsWith('/incoming')) return `<?xml version="1.0" encoding="UTF-8"?><Response>${gather('Hi, you&apos;re talking to an automated assistant for Smith &amp; Sons &#8212; &lt;how&gt; can I help?')}</Response>`;
  if (path.endsWith('/dial')) return `<Response><Say>Nobody picked up (${p.DialCallStatus}). Let's take your details.</Say>${gather('What is your name?')}</Response>`;
  if (path.endsWith('/redirected')) return `<Response><Say>Redirected here.</Say>${gather('Go on.')}</Response>`;
  const s = p.SpeechResult || '';
  if (p.Digits) return `<Response>${gather(`You pressed ${p.Digits}.`, 'numDigits="5"')}</Response>`;
  if (!s) return `<Response><Gather input="speech" action="gather" speechModel="phone_call" speechTimeout="auto" actionOnEmptyResult="true"><Say>I didn't catch that.</Say></Gather></Response>`;
  if (/emergency/.test(s)) return '<Response><Say>Leave the house now.</Say><Dial action="dial" timeout="20"><Number>+16125550100</Number></Dial></Response>';
  if (/transfer no action/.test(s)) return '<Response><Dial>+16125550100</Dial><Say>Back from the transfer.</Say></Response>';
  if (/redirect/.test(s)) return '<Response><Redirect method="POST">/v1/voice/twilio/northstar/redirected</Redirect></Response>';
  if (/unknown verb/.test(s)) return `<Response><Sayy>typo</Sayy>${gather('Still here.')}</Response>`;
  if (/broken/.test(s)) return '<Response><Say>a & b</Say></Response>';
  if (/no gather fallback/.test(s)) return '<Response><Gather input="speech" action="gather"><Say>Anything?</Say></Gather><Say>Goodbye then.</Say><Hangup/></Response>';
  if (/bye/.test(s)) return '<Response><Say>Thanks, goodbye.</Say><Hangup/></Response>';
  return `<Response>${gather(`You said ${s.replace(/&/g, '&amp;').replace(/</g, '&lt;')}.`)}</Response>`;
}

before(async () => {
  worker = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const url = `http://127.0.0.1:${worker.address().port}${req.url}`;
      const params = Object.fromEntries(parseForm(body));
      const valid = req.headers['x-twilio-signature'] === signature(TOKEN, url, params);
      const path = new URL(url).pathname;
      seen.push({ path, params, valid, headers: req.headers });
      if (!valid) { res.writeHead(403).end('forbidden'); return; }
      if (path.endsWith('/status') || path.endsWith('/sms')) {
        if (path.endsWith('/sms')) { res.writeHead(200, { 'content-type': 'text/xml' }).end(`<Response><Message>Got it: ${params.Body.replace(/&/g, '&amp;')}</Message></Response>`); return; }
        res.writeHead(204).end();
        return;
      }
      if (path.endsWith('/plain')) { res.writeHead(200, { 'content-type': 'text/plain' }).end('<Response/>'); return; }
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(twiml(path, params));
    });
  });
  await new Promise((r) => worker.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${worker.address().port}/v1/voice/twilio/northstar`;
  emu = await startEmulator({ authToken: TOKEN, accountSid: SID, fromNumber: '+16125550100' });
});
after(async () => { await emu.close(); worker.close(); });

async function api(path, body) {
  const r = await fetch(`${emu.url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}
const call = async (extra = {}) => (await api('/calls', { url: `${base}/incoming`, from: '612-555-0142', ...extra })).json;
const speak = async (c, body) => (await api(`/calls/${c.sid}/speak`, body)).json;
const errors = (c) => c.log.filter((l) => l.level === 'error');

test('the XML reader unescapes entities, keeps CDATA and refuses what Twilio cannot parse', () => {
  const doc = parseXml('<?xml version="1.0"?><!-- c --><Response><Say a=\'1\' b="&quot;x&quot;">Tom &amp; Jerry&#39;s &#x263A; <![CDATA[<raw> & ]]></Say></Response>');
  assert.equal(textOf(doc.children[0]), "Tom & Jerry's \u263A <raw> & ");
  assert.deepEqual(doc.children[0].attrs, { a: '1', b: '"x"' });
  for (const bad of ['<Response><Say>a & b</Say></Response>', '<Response><Say></Response>', '<Response a="1" a="2"/>',
    '<Response><Say x=1/></Response>', '<Response/><Response/>', '<Response>&nbsp;</Response>', '<Response x="<"/>', 'text<Response/>', '<Response><Say>&#0;</Say></Response>']) {
    assert.throws(() => parseXml(bad), /./, bad);
  }
});

test('a Gather check warns 13335 for speechTimeout="auto" with a speechModel, and only then', () => {
  const codes = (attrs) => checkGather({ attrs, children: [] }).map((w) => w.code);
  assert.deepEqual(codes({ input: 'speech dtmf', speechModel: 'phone_call', speechTimeout: 'auto' }), [13335]);
  assert.deepEqual(codes({ input: 'speech dtmf', speechModel: 'phone_call', speechTimeout: '3' }), []);
  assert.deepEqual(codes({ input: 'speech', speechTimeout: 'auto' }), []);
  assert.ok(codes({ input: 'voice' }).includes(12200));
  assert.ok(codes({ input: 'dtmf', numDigits: 'ten' }).includes(12200));
});

test('an incoming call is signed, its Say text recorded unescaped, and it waits at the Gather', async () => {
  const c = await call();
  assert.equal(c.state, 'gathering');
  assert.equal(c.from, '+16125550142');
  assert.deepEqual(c.said.map((s) => s.text), ["Hi, you're talking to an automated assistant for Smith & Sons \u2014 <how> can I help?"]);
  assert.equal(c.said[0].language, 'en-US');
  assert.equal(c.gather.action, `${base}/gather`);
  assert.equal(c.gather.speechTimeout, '3');
  const first = seen.find((s) => s.params.CallSid === c.sid);
  assert.ok(first.valid, 'the worker could verify the signature');
  assert.equal(first.params.CallStatus, 'ringing');
  assert.equal(first.params.From, '+16125550142');
  assert.equal(first.params.AccountSid, SID);
  assert.deepEqual(errors(c), []);
});

test('speech, keys and silence go to the Gather action; a Redirect is followed; 13335 is logged', async () => {
  let c = await call();
  c = await speak(c, { speech: 'my furnace & <stuff>' });
  assert.equal(c.said.at(-1).text, 'You said my furnace & <stuff>.');
  const posted = seen.filter((s) => s.params.CallSid === c.sid).at(-1).params;
  assert.equal(posted.SpeechResult, 'my furnace & <stuff>');
  assert.ok(Number(posted.Confidence) > 0);
  c = await speak(c, { digits: '55405#' });
  assert.equal(c.said.at(-1).text, 'You pressed 55405.');
  c = await speak(c, { digits: '1234567' });
  assert.equal(c.said.at(-1).text, 'You pressed 12345.', 'numDigits=5 keeps five keys');
  assert.ok(c.log.some((l) => /numDigits=5/.test(l.message)));
  c = await speak(c, { silence: true });
  assert.equal(c.said.at(-1).text, "I didn't catch that.");
  assert.ok(c.log.some((l) => l.code === 13335), JSON.stringify(c.log));
  const empty = seen.filter((s) => s.params.CallSid === c.sid).at(-1).params;
  assert.ok(!('SpeechResult' in empty) && !('Digits' in empty));
  c = await speak(c, { digits: '7' });
  assert.ok(c.log.some((l) => /listens only for speech/.test(l.message)), 'keys to a speech-only Gather are not heard');
  c = await speak(c, { speech: 'please redirect' });
  assert.deepEqual(c.said.slice(-2).map((s) => s.text), ['Redirected here.', 'Go on.']);
  assert.equal(c.state, 'gathering');
});

test('a Gather without actionOnEmptyResult goes on with the document on silence', async () => {
  let c = await speak(await call(), { speech: 'no gather fallback' });
  c = await speak(c, { silence: true });
  assert.equal(c.said.at(-1).text, 'Goodbye then.');
  assert.equal(c.state, 'ended');
});

test('an unknown verb is an error in the call log; a document that does not parse ends the call (12100)', async () => {
  let c = await speak(await call(), { speech: 'unknown verb' });
  assert.ok(errors(c).some((l) => l.code === 12200 && /Sayy/.test(l.message)));
  assert.equal(c.said.at(-1).text, 'Still here.');
  c = await speak(c, { speech: 'broken' });
  assert.ok(errors(c).some((l) => l.code === 12100));
  assert.equal(c.state, 'ended');
});

test('a Dial waits for its result, which is posted to the Dial action; without an action the document goes on', async () => {
  let c = await speak(await call(), { speech: 'emergency gas smell' });
  assert.equal(c.state, 'dialing');
  assert.equal(c.dial.number, '+16125550100');
  assert.equal(c.said.at(-1).text, 'Leave the house now.');
  c = (await api(`/calls/${c.sid}/dial-result`, { status: 'no-answer' })).json;
  assert.equal(seen.at(-1).params.DialCallStatus, 'no-answer');
  assert.equal(c.said.at(-2).text, 'Nobody picked up (no-answer). Let\'s take your details.');
  assert.equal(c.state, 'gathering');
  c = await speak(c, { speech: 'transfer no action' });
  c = (await api(`/calls/${c.sid}/dial-result`, { status: 'completed' })).json;
  assert.equal(c.said.at(-1).text, 'Back from the transfer.');
  assert.equal(c.state, 'ended');
});

test('hanging up posts the status callback; a Hangup verb ends the call and posts it too', async () => {
  let c = await call();
  c = (await api(`/calls/${c.sid}/hangup`, {})).json;
  assert.equal(c.state, 'ended');
  const status = seen.filter((s) => s.params.CallSid === c.sid && s.path.endsWith('/status'));
  assert.equal(status.length, 1);
  assert.equal(status[0].params.CallStatus, 'completed');
  assert.ok(status[0].valid);
  assert.equal((await api(`/calls/${c.sid}/hangup`, {})).status, 409);
  c = await speak(await call(), { speech: 'bye' });
  assert.equal(c.state, 'ended');
  assert.equal(c.endReason, 'hangup');
  assert.equal(seen.filter((s) => s.params.CallSid === c.sid && s.path.endsWith('/status')).length, 1);
});

test('a forged or missing signature is what the worker sees, and its 403 ends the call (11200)', async () => {
  for (const signature of ['forged', 'missing']) {
    const c = await call({ signature });
    const got = seen.filter((s) => s.params.CallSid === c.sid);
    assert.ok(got.length >= 1 && got.every((s) => !s.valid), signature);
    if (signature === 'missing') assert.ok(!('x-twilio-signature' in got[0].headers));
    assert.equal(c.state, 'ended');
    assert.ok(errors(c).some((l) => l.code === 11200 && /403/.test(l.message)));
  }
  // One forged turn in an otherwise good call.
  let c = await call();
  c = await speak(c, { speech: 'hello', signature: 'forged' });
  assert.equal(c.state, 'ended');
});

test('a replay sends the same bytes, signature and idempotency token again', async () => {
  let c = await call();
  c = await speak(c, { speech: 'hello there' });
  const n = seen.length;
  const r = (await api(`/calls/${c.sid}/replay`, {})).json;
  assert.equal(r.status, 200);
  assert.equal(seen.length, n + 1);
  const [a, b] = seen.slice(-2);
  assert.deepEqual(a.params, b.params);
  assert.equal(a.headers['x-twilio-signature'], b.headers['x-twilio-signature']);
  assert.equal(a.headers['i-twilio-idempotency-token'], b.headers['i-twilio-idempotency-token']);
});

test('the Messages API checks basic auth, records SMS, and refuses a number that texted STOP with 21610', async () => {
  const sms = (auth, form, account = SID) => fetch(`${emu.url}/2010-04-01/Accounts/${account}/Messages.json`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form),
  });
  const form = { To: '+16125550177', From: '+16125550100', Body: 'Book here: https://example.com/?phone=6125550177' };
  assert.equal((await sms(`${SID}:wrong`, form)).status, 401);
  assert.equal((await sms(`${SID}:${TOKEN}`, form, 'ACother')).status, 401);
  const r = await sms(`${SID}:${TOKEN}`, form);
  assert.equal(r.status, 201);
  const j = await r.json();
  assert.match(j.sid, /^SM[0-9a-f]{32}$/);
  assert.equal(j.status, 'queued');
  assert.equal((await sms(`${SID}:${TOKEN}`, { ...form, From: '+19995550000' })).status, 400);
  assert.equal((await sms(`${SID}:${TOKEN}`, { From: form.From, Body: 'x' })).status, 400);
  let list = (await api('/messages')).json;
  assert.deepEqual(list.messages.map((m) => [m.to, m.body]), [[form.To, form.Body]]);
  // STOP: recorded by Twilio before the worker sees it, forwarded with OptOutType.
  const stop = (await api('/sms/inbound', { from: '(612) 555-0177', body: ' stop ', url: `${base}/sms` })).json;
  assert.equal(stop.optedOut, true);
  const hook = seen.at(-1);
  assert.ok(hook.valid);
  assert.equal(hook.params.OptOutType, 'STOP');
  assert.equal(hook.params.From, '+16125550177');
  const refused = await sms(`${SID}:${TOKEN}`, form);
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).code, 21610);
  list = (await api('/messages')).json;
  assert.equal(list.messages.length, 1, 'the STOP reply and the refused SMS are not sent');
  assert.ok(list.refused.some((m) => m.code === 21610));
  await api('/sms/inbound', { from: '+16125550177', body: 'START' });
  assert.equal((await sms(`${SID}:${TOKEN}`, form)).status, 201);
  // An ordinary inbound text: the worker's TwiML reply is an SMS.
  await api('/sms/inbound', { from: '+16125550188', body: 'is Tuesday ok & fine?', url: `${base}/sms` });
  list = (await api('/messages')).json;
  assert.equal(list.messages.at(-1).body, 'Got it: is Tuesday ok & fine?');
  assert.equal(list.messages.at(-1).to, '+16125550188');
});

test('ConversationRelay: a signed handshake, setup, prompts answered with text tokens, end', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: (info, cb) => {
    const url = `ws://127.0.0.1:${wss.address().port}${info.req.url}`;
    cb(info.req.headers['x-twilio-signature'] === signature(TOKEN, url), 403);
  } });
  await new Promise((r) => wss.on('listening', r));
  const got = [];
  wss.on('connection', (ws) => ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    got.push(m);
    const text = (t) => { const words = t.split(' '); words.forEach((w, i) => ws.send(JSON.stringify({ type: 'text', token: i ? ` ${w}` : w, last: i === words.length - 1 }))); };
    if (m.type === 'setup') text(`Hello ${m.from}, I'm an automated assistant.`);
    if (m.type === 'prompt' && /person/.test(m.voicePrompt)) ws.send(JSON.stringify({ type: 'end', handoffData: JSON.stringify({ transferTo: '+16125550100' }) }));
    else if (m.type === 'prompt') text(`You said ${m.voicePrompt}.`);
    if (m.type === 'dtmf') text(`Key ${m.digit}.`);
    if (m.type === 'nonsense') ws.send('{"type":"bogus"}');
  }));
  const url = `ws://127.0.0.1:${wss.address().port}/v1/voice/relay/northstar`;
  let c = (await api('/relay', { url, from: '+16125550142' })).json;
  assert.equal(c.state, 'relay');
  assert.equal(c.said[0].text, "Hello +16125550142, I'm an automated assistant.");
  assert.equal(got[0].type, 'setup');
  assert.equal(got[0].callSid, c.sid);
  const r = (await api(`/relay/${c.sid}/prompt`, { text: 'my sink is leaking' })).json;
  assert.equal(r.text, 'You said my sink is leaking.');
  assert.deepEqual(got.at(-1), { type: 'prompt', voicePrompt: 'my sink is leaking', lang: 'en-US', last: true });
  assert.equal((await api(`/calls/${c.sid}/speak`, { digits: '5' })).json.reply, 'Key 5.');
  c = (await api(`/relay/${c.sid}/prompt`, { text: 'a person please' })).json;
  assert.equal(c.state, 'ended');
  assert.equal(JSON.parse(c.relay.handoffData).transferTo, '+16125550100');
  const forged = (await api('/relay', { url, signature: 'forged' })).json;
  assert.equal(forged.state, 'ended');
  assert.ok(forged.log.some((l) => /HTTP 403/.test(l.message)));
  wss.close();
});

test('ConversationRelay from TwiML: after `end` the socket closes and the <Connect action> is posted with HandoffData, its TwiML played', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.on('listening', r));
  wss.on('connection', (ws) => ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.type === 'prompt') ws.send(JSON.stringify({ type: 'end', handoffData: JSON.stringify({ transferTo: '+16125550100' }) }));
  }));
  relayWsUrl = `ws://127.0.0.1:${wss.address().port}/v1/voice/relay/northstar`;
  let c = await call({ url: `${base}/relay-incoming` });
  assert.equal(c.state, 'relay');
  await api(`/relay/${c.sid}/prompt`, { text: 'a person please' });
  for (let i = 0; i < 50 && !['dialing', 'ended'].includes(c.state); i += 1) {
    await new Promise((r) => setTimeout(r, 20));
    c = (await api(`/calls/${c.sid}`)).json;
  }
  assert.equal(c.state, 'dialing', JSON.stringify(c.log));
  const posted = seen.filter((x) => x.path.endsWith('/handoff'));
  assert.equal(posted.length, 1);
  assert.ok(posted[0].valid, 'signed');
  assert.equal(JSON.parse(posted[0].params.HandoffData).transferTo, '+16125550100');
  assert.equal(posted[0].params.CallSid, c.sid);
  assert.match(posted[0].params.SessionId, /^VX/);
  assert.equal(c.relay.open, false, 'the socket is closed');
  assert.match(c.said.at(-1).text, /Connecting you/);
  c = (await api(`/calls/${c.sid}/dial-result`, { status: 'no-answer' })).json;
  assert.equal(seen.at(-1).params.DialCallStatus, 'no-answer');
  wss.close();
});

test('a TwiML answer that is not XML by Content-Type ends the call (12300)', async () => {
  const c = (await api('/calls', { url: `${base.replace(/\/v1.*/, '')}/plain`, from: '+16125550142' })).json;
  assert.equal(c.state, 'ended');
  assert.ok(errors(c).some((l) => l.code === 12300));
});
