// A worker restart between a follow-up's send and its record (issue 15, items 5 and 9),
// end to end against the real worker: the Twilio emulator commits the estimate's text but
// holds its answer (`holdAnswer`, messages.mjs); the test restarts this stack's worker
// (`wrangler dev` reloads when its entry changes; xtask gives each stack its own copy of
// the build, named by WORKER_ENTRY, so no other stack restarts); the restart ends the held
// connection; the customer's FollowUpObject alarm fires again in the new worker, which
// asks Twilio (`GET Messages.json?To=`) before retrying and records the text as sent.
// One message at Twilio, and the office's list shows it sent, found by the look-up.
//
// Proof that a restart came in between, not the worker's own send timeout: the held
// connection closed before that timeout could have fired, and the new worker asked
// ServiceTitan for an OAuth token (held only in the isolate's memory,
// servicetitan_client.rs) after that close and before the look-up; the old worker,
// having only timed out, would have re-checked with the token it had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { admin, until, WORKER_URL, SECRETS } from './lib.mjs';

const TW = process.env.TWILIO_URL;
const ENTRY = process.env.WORKER_ENTRY;
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
const SITE = 'northstar';
// 24 compressed hours, the night's wait at worst (12 s), and the machine's slowness.
const DUE_WITHIN_MS = 75_000;
// The worker gives up on a Twilio answer after 8 s (edge-worker/src/voice/sms.rs
// SEND_TIMEOUT); a held connection that closed sooner was closed by the restart.
const SEND_TIMEOUT_MS = 8_000;
// From the entry's change to the old worker's connections closing, at worst.
const RESTART_WITHIN_MS = 30_000;
// From the restart to the text recorded as sent (the alarm again, a re-check, the look-up).
const RECORDED_WITHIN_MS = 60_000;

if (!TW || !ENTRY) {
  throw new Error('run through `cargo xtask test --only followups`: TWILIO_URL or WORKER_ENTRY is unset');
}

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const twilio = async (path, body) => {
  const r = await fetch(`${TW}${path}`, body === undefined ? {} : json(body));
  assert.ok(r.ok, `twilio emulator ${path}: ${r.status}`);
  return r.json();
};

async function followUpsOf(customerId) {
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}&customer=${customerId}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/json' },
  });
  assert.equal(r.status, 200);
  const text = await r.text();
  for (const s of SECRETS) assert.ok(!text.includes(s), 'no secret in the follow-up list');
  return JSON.parse(text).customers.find((c) => c.customerId === customerId)?.followUps ?? [];
}

// Waits for `check`; on a timeout says what the worker and Twilio had, then fails.
async function waitFor(check, ms, what, customerId, to) {
  try {
    return await until(check, ms, what);
  } catch (e) {
    console.log(`follow-ups of ${customerId}: ${JSON.stringify(await followUpsOf(customerId).catch((x) => String(x)))}`);
    console.log(`held at Twilio: ${JSON.stringify((await twilio('/messages/held')).held.filter((h) => h.to === to))}`);
    throw e;
  }
}

const tokenRequests = async () => (await admin('/_admin/requests'))
  .filter((r) => r.path === '/connect/token')
  .map((r) => ({ seq: r.seq, at: Date.parse(r.at) }));

test('a worker restart between send and record: the alarm fires again, Twilio is asked first, one message, recorded as sent', async () => {
  const digits = '6515550331';
  const to = `+1${digits}`;
  await twilio('/messages/faults', { to, holdAnswer: 1 });
  const { record: customer } = await admin('/_admin/customers', json({ name: 'Pia Lindgren', mobile: digits, state: 'MN' }));
  const { record: estimate } = await admin('/_admin/estimates', json({ customerId: customer.id, name: 'Boiler replacement' }));
  await admin(`/_admin/estimates/${estimate.id}/sent`, { method: 'POST' });

  // The text is due 24 compressed hours later; Twilio takes it and answers nothing.
  const hold = await waitFor(async () => (await twilio('/messages/held')).held.find((h) => h.to === to), DUE_WITHIN_MS,
    'the estimate text posted to Twilio (and its answer held)', customer.id, to);
  const sending = (await followUpsOf(customer.id)).find((f) => f.recipe === 'estimateSms');
  assert.equal(sending?.status, 'pending', `not recorded while the answer is held: ${JSON.stringify(sending)}`);
  assert.equal(sending.reason, 'sending');

  // Restart this stack's worker: `wrangler dev` reloads when its entry changes.
  const entryBefore = readFileSync(ENTRY, 'utf8');
  appendFileSync(ENTRY, `\n// followups-restart.test.mjs restarted this stack's worker at ${new Date().toISOString()}\n`);
  const closed = await waitFor(async () => (await twilio('/messages/held')).held.find((h) => h.sid === hold.sid && h.closedAt),
    RESTART_WITHIN_MS, 'the held connection closed by the restart', customer.id, to);
  const sent = await waitFor(async () => (await followUpsOf(customer.id)).find((f) => f.recipe === 'estimateSms' && f.status === 'sent'),
    RECORDED_WITHIN_MS, 'the text recorded as sent after the restart', customer.id, to);
  const lookUp = (await twilio('/messages/lookups')).lookUps.find((l) => l.to === to && l.at >= closed.closedAt);
  const fresh = lookUp ? (await tokenRequests()).filter((t) => t.at >= closed.closedAt && t.at <= lookUp.at) : [];
  console.log(`the answer held ${closed.closedAt - closed.heldAt} ms until the connection closed; looked up ${lookUp ? lookUp.at - closed.closedAt : '(never)'} ms after; ${fresh.length} new OAuth token(s) in between`);

  // The restart, not the worker's own timeout, ended the exchange.
  assert.ok(closed.closedAt - closed.heldAt < SEND_TIMEOUT_MS,
    `the held connection closed ${closed.closedAt - closed.heldAt} ms after the send: the worker's own ${SEND_TIMEOUT_MS} ms timeout, not a restart, may have ended it (wrangler's reload too slow on this machine?)`);
  // The worker that looked up was a new one: it asked Twilio after the old one was gone,
  // and needed an OAuth token first (the old isolate's went with it).
  assert.ok(lookUp, 'Twilio was asked for the messages to the number after the restart');
  assert.ok(fresh.length > 0,
    `a new OAuth token between the restart (${new Date(closed.closedAt).toISOString()}) and the look-up (${new Date(lookUp.at).toISOString()})`);

  // Exactly one message: the retry was a look-up, not a second text.
  const { messages } = await twilio('/messages');
  const texts = messages.filter((m) => m.to === to);
  assert.equal(texts.length, 1, `one text to ${to}: ${texts.map((m) => m.sid).join(', ')}`);
  assert.equal(texts[0].sid, hold.sid);
  assert.equal(texts[0].answer_held, true, 'the one Twilio committed while its answer was held');
  assert.match(texts[0].body, /Pia/);
  assert.match(sent.providerId, new RegExp(`^${hold.sid}\\b.*found by the look-up`), `found by the look-up: ${sent.providerId}`);
  assert.equal(sent.to, to);
  assert.ok(readFileSync(ENTRY, 'utf8').startsWith(entryBefore), 'only a comment was appended to the entry');

  // The office's note for the sent text, on the customer (the estimate has no job).
  const note = await until(async () => (await admin('/_admin/records')).notes
    .find((n) => n.customerId === customer.id && /Follow-up key: .*estimateSms.*:sent/.test(n.text || '')), 20_000, 'the sent note on the customer');
  assert.match(note.text, /Automated follow-up sent/);
  const notes = (await admin('/_admin/records')).notes.filter((n) => n.customerId === customer.id && /:sent$/m.test(n.text || ''));
  assert.equal(notes.length, 1, 'one sent note');
});
