// The emulator's follow-up providers on their own (no worker): the Messages list and its
// faults (messages.mjs), the Calls API placing a signed call (calls.mjs), the email sink
// (email.mjs). Runs with `cargo xtask test --only followup-messages`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startEmulator } from './server.mjs';
import { signature, parseForm } from './sign.mjs';

const TOKEN = 'tok-providers';
const SID = `AC${'7'.repeat(32)}`;
const auth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
const form = (o) => new URLSearchParams(o).toString();
const api = (emu, path) => `${emu.url}/2010-04-01/Accounts/${SID}/${path}`;
const post = (url, body, headers = {}) => fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

async function withEmulator(fn) {
  const emu = await startEmulator({ authToken: TOKEN, accountSid: SID, fromNumber: '+16125550170', emailApiKey: 'em-key' });
  try { await fn(emu); } finally { await emu.close(); }
}

test('messages are listed newest first by recipient; a dropped answer still records the message, a dropped request does not', () => withEmulator(async (emu) => {
  const send = (to, body) => post(api(emu, 'Messages.json'), form({ To: to, From: '+16125550170', Body: body }));
  assert.equal((await send('+19525550100', 'first')).status, 201);
  await fetch(`${emu.url}/messages/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+19525550100', dropAnswer: 1, dropRequest: 0 }) });
  await assert.rejects(send('+19525550100', 'answer lost'), 'the connection drops without an answer');
  await fetch(`${emu.url}/messages/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+19525550100', dropRequest: 1 }) });
  await assert.rejects(send('+19525550100', 'request lost'));
  assert.equal((await send('+19525550199', 'someone else')).status, 201);
  const r = await fetch(`${api(emu, 'Messages.json')}?To=%2B19525550100&PageSize=10`, { headers: { authorization: auth } });
  assert.equal(r.status, 200);
  const { messages } = await r.json();
  assert.deepEqual(messages.map((m) => m.body), ['answer lost', 'first']);
  assert.match(messages[0].date_created, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  const denied = await fetch(api(emu, 'Messages.json'), { headers: { authorization: 'Basic eDp5' } });
  assert.equal(denied.status, 401);
}));

test('a Calls.json request is answered 201 and the call is placed into its Url, signed, as an outbound call', () => withEmulator(async (emu) => {
  const got = [];
  const hook = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => { b += c; });
    req.on('end', () => {
      got.push({ url: req.url, sig: req.headers['x-twilio-signature'], params: Object.fromEntries(parseForm(b)) });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('<Response><Say>Hi, this is the automated assistant of Northstar.</Say><Hangup/></Response>');
    });
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${hook.address().port}/v1/voice/twilio/northstar/incoming?followUp=fu%3Anorthstar%3A5003&customer=5003`;
    const r = await post(api(emu, 'Calls.json'), form({ To: '+19525550101', From: '+16125550170', Url: url, StatusCallback: url.replace(/incoming.*/, 'status') }));
    assert.equal(r.status, 201);
    const call = await r.json();
    assert.equal(call.status, 'queued');
    let placed;
    for (let i = 0; i < 50 && !(placed = (await (await fetch(`${emu.url}/calls/${call.sid}`)).json())).said?.length; i += 1) await new Promise((s) => setTimeout(s, 50));
    assert.deepEqual(placed.said.map((s) => s.text), ['Hi, this is the automated assistant of Northstar.']);
    const first = got[0];
    assert.equal(first.sig, signature(TOKEN, url, first.params), 'signed as Twilio signs');
    assert.equal(first.params.Direction, 'outbound-api');
    assert.equal(first.params.To, '+19525550101');
    assert.equal(first.params.From, '+16125550170');
    const listed = await (await fetch(`${api(emu, 'Calls.json')}?To=%2B19525550101`, { headers: { authorization: auth } })).json();
    assert.deepEqual(listed.calls.map((c) => c.sid), [call.sid]);
    const bad = await post(api(emu, 'Calls.json'), form({ To: '+19525550101', From: '+16125550170' }));
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, 21205);
  } finally { hook.close(); }
}));

test('the email sink records each email once per idempotency key and refuses what Resend refuses', () => withEmulator(async (emu) => {
  const email = (key, body, token = 'em-key') => fetch(`${emu.url}/email/emails`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
  const one = { from: 'Northstar <office@northstar.example>', to: ['dana@example.com'], subject: 'Invoice 9', text: 'Hi Dana' };
  const first = await email('k1', one);
  assert.equal(first.status, 200);
  const { id } = await first.json();
  assert.equal((await (await email('k1', one)).json()).id, id, 'the same key and body: the same email');
  assert.equal((await email('k1', { ...one, text: 'other' })).status, 409);
  assert.equal((await email('k2', { ...one, from: 'nobody' })).status, 422);
  assert.equal((await email('k3', { ...one, subject: '' })).status, 422);
  assert.equal((await email('k4', one, 'wrong')).status, 403);
  const { emails, refused } = await (await fetch(`${emu.url}/email/emails`)).json();
  assert.equal(emails.length, 1);
  assert.equal(emails[0].replays, 1);
  assert.equal(emails[0].idempotencyKey, 'k1');
  assert.equal(refused.length, 4);
  await fetch(`${emu.url}/reset`, { method: 'POST' });
  assert.equal((await (await fetch(`${emu.url}/email/emails`)).json()).emails.length, 0);
}));
