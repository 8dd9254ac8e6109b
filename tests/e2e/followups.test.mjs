// Follow-ups end to end (issue 15): an office change in the ServiceTitan emulator fires
// a signed webhook to the real worker, which re-reads the estimate, schedules through
// booking-core and texts through the Twilio emulator. Time is compressed: `cargo xtask
// test` gives the worker FOLLOWUP_TIME_FACTOR (an hour a second) and subscribes it to the
// emulator's webhooks with the run's key, so "24 h later" is about 24 s (plus, when the
// due time falls in the customer's night, the wait for 8 a.m.: at most 12 s more).
// Each scenario uses its own seed customer, so one customer's cap never meets another's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, records, until, WORKER_URL, SECRETS } from './lib.mjs';

const TW = process.env.TWILIO_URL;
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
const SITE = 'northstar';
const HOOK = `${WORKER_URL}/v1/webhooks/servicetitan/${SITE}`;
// 24 compressed hours, the night's wait at worst, and the machine's slowness.
const DUE_WITHIN_MS = 75_000;

if (!TW) throw new Error('run through `cargo xtask test --only followups`: TWILIO_URL is unset');

async function messagesTo(digits) {
  const r = await fetch(`${TW}/messages`);
  const { messages } = await r.json();
  return messages.filter((m) => m.to === `+1${digits}`);
}

async function estimateFor(customerId) {
  const { record } = await admin('/_admin/estimates', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId, name: 'Furnace replacement' }),
  });
  return record.id;
}

const change = (path, deliver = 'normal') => admin(`${path}?deliver=${deliver}`, { method: 'POST' });

async function followUps() {
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(r.status, 200);
  const text = await r.text();
  for (const s of SECRETS) assert.ok(!text.includes(s), 'no secret in the follow-up list');
  return JSON.parse(text).customers;
}

const of = (list, customerId) => list.find((c) => c.customerId === customerId);

test('estimate sent: one text after 24 h; sold first: none; duplicate webhook: still one; forged: 403 and nothing', async () => {
  // Sent, and left open: texted once.
  const open = await estimateFor(5001);
  await change(`/_admin/estimates/${open}/sent`);
  // Sent, then sold a second later: nothing.
  const sold = await estimateFor(5002);
  await change(`/_admin/estimates/${sold}/sent`);
  // Sent with the webhook delivered twice (same body, same signature): texted once.
  const twice = await estimateFor(5006);
  await change(`/_admin/estimates/${twice}/sent`, 'duplicate');
  // Sent with no webhook from ServiceTitan; a forged one (and an unsigned one) instead.
  const forged = await estimateFor(5007);
  const { events } = await change(`/_admin/estimates/${forged}/sent`, 'skip');
  const body = JSON.stringify(events[0]);
  const bad = await fetch(HOOK, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-servicetitan-signature': 'ab'.repeat(32) },
    body,
  });
  assert.equal(bad.status, 403);
  const unsigned = await fetch(HOOK, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(unsigned.status, 401);

  await new Promise((r) => setTimeout(r, 1000));
  await change(`/_admin/estimates/${sold}/sold`);

  // Each scheduled right away, 24 compressed hours ahead.
  const scheduled = await until(async () => {
    const list = await followUps();
    return [5001, 5006].every((id) => of(list, id)?.followUps.length) ? list : null;
  }, 20_000, 'the open estimates scheduled').catch(async (e) => {
    console.log(JSON.stringify(await admin('/_admin/webhooks')).slice(0, 3000));
    console.log(JSON.stringify(await followUps()).slice(0, 3000));
    throw e;
  });
  const first = of(scheduled, 5001).followUps.find((f) => f.recipe === 'estimateSms');
  assert.ok(first, 'an estimate text is scheduled for the open estimate');
  assert.equal(first.due - first.scheduledAt >= 23 * 3600, true, 'due a day after the estimate went out');
  assert.equal(of(scheduled, 5007)?.followUps.length ?? 0, 0, 'a forged webhook schedules nothing');

  const [texted] = await until(async () => {
    const m = await messagesTo('6125550111');
    return m.length ? m : null;
  }, DUE_WITHIN_MS, 'the estimate follow-up text');
  assert.match(texted.body, /Erik/, 'the text greets the customer by first name');
  assert.match(texted.body, /STOP/i, 'the text says how to opt out');

  // Once the twice-delivered one has gone too, wait a little for any second text.
  await until(async () => (await messagesTo('6125550166')).length > 0, 20_000, 'the duplicate-webhook text');
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await messagesTo('6125550111')).length, 1, 'one text for the open estimate');
  assert.equal((await messagesTo('6125550166')).length, 1, 'a duplicate webhook is still one text');
  assert.equal((await messagesTo('6125550122')).length, 0, 'no text for an estimate sold before its time');
  assert.equal((await messagesTo('6125550177')).length, 0, 'no text from a forged webhook');

  // The office sees the text on the customer (the estimate has no job): a ServiceTitan note.
  const note = await until(async () => {
    const r = await records();
    return r.notes.find((n) => n.customerId === 5001 && /Follow-up key:/.test(n.text || ''));
  }, 20_000, 'the follow-up note on the customer');
  assert.match(note.text, /Erik/, 'the note carries the message sent');

  const list = await followUps();
  const sent = of(list, 5001).followUps.find((f) => f.recipe === 'estimateSms');
  assert.equal(sent.status, 'sent');
  // Sold before the intake re-read it: never scheduled; else scheduled and stopped.
  const stopped = of(list, 5002)?.followUps.find((f) => f.recipe === 'estimateSms');
  if (stopped) {
    assert.ok(!['sent', 'pending'].includes(stopped.status), `sold estimate's text is ${stopped.status}`);
    assert.ok(stopped.reason, 'the office sees why it did not go');
  }
  assert.equal(of(list, 5007)?.followUps.length ?? 0, 0);
});

test('the follow-up list needs the admin token', async () => {
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}`);
  assert.equal(r.status, 401);
});
