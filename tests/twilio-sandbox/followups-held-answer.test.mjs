// The emulator's held-answer fault on its own (no worker): a Messages POST that Twilio
// committed but whose answer never comes, held until the client lets go, as when the
// worker restarts between the send and its answer (tests/e2e/followups-restart.test.mjs).
// Runs with `cargo xtask test --only followups`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from './server.mjs';

const TOKEN = 'tok-held';
const SID = `AC${'5'.repeat(32)}`;
const auth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a held answer: the message is recorded, no answer comes, and the emulator sees when the client closes the connection', async () => {
  const emu = await startEmulator({ authToken: TOKEN, accountSid: SID, fromNumber: '+16125550170' });
  try {
    await fetch(`${emu.url}/messages/faults`, json({ to: '+19525550140', holdAnswer: 1 }));
    const url = `${emu.url}/2010-04-01/Accounts/${SID}/Messages.json`;
    const send = (to, body, signal) => fetch(url, {
      method: 'POST', signal,
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: to, From: '+16125550170', Body: body }).toString(),
    });
    const client = new AbortController();
    const pending = send('+19525550140', 'held', client.signal);
    let settled = false;
    pending.then(() => { settled = true; }, () => { settled = true; });
    const held = async () => (await (await fetch(`${emu.url}/messages/held`)).json()).held;
    for (let i = 0; i < 50 && (await held()).length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    const [hold] = await held();
    assert.ok(hold, 'the send is held');
    assert.equal(hold.to, '+19525550140');
    assert.equal(hold.closedAt, null, 'open while the client waits');
    // Held, not answered late: a second after, still nothing.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(settled, false, 'no answer is ever written');
    const { messages } = await (await fetch(`${emu.url}/messages`)).json();
    assert.deepEqual(messages.map((m) => [m.sid, m.body, m.answer_held]), [[hold.sid, 'held', true]], 'Twilio committed it');
    // The client lets go (a worker restart ends its connections the same way).
    const before = Date.now();
    client.abort();
    await assert.rejects(pending);
    for (let i = 0; i < 50 && (await held())[0].closedAt === null; i += 1) await new Promise((r) => setTimeout(r, 20));
    const [closed] = await held();
    assert.ok(closed.closedAt >= before, `the close is seen: ${JSON.stringify(closed)}`);
    // A look-up (the worker's before a retry) is logged with its recipient.
    const list = await fetch(`${url}?To=%2B19525550140`, { headers: { authorization: auth } });
    assert.deepEqual((await list.json()).messages.map((m) => m.sid), [hold.sid]);
    const { lookUps } = await (await fetch(`${emu.url}/messages/lookups`)).json();
    assert.deepEqual(lookUps.map((l) => l.to), ['+19525550140']);
    // The fault was for one send: the next is answered.
    const next = await send('+19525550140', 'after');
    assert.equal(next.status, 201);
    assert.equal((await held()).length, 1);
  } finally {
    await emu.close();
  }
});
