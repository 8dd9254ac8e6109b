// "Called back" notes (issue 15, item 6) end to end: a customer who has follow-ups (their
// estimate's text went) calls the contractor's number; the Twilio emulator places the
// signed call into the worker's /incoming; the call's CallObject hands it to the customer's
// FollowUpObject (`/call-in`, found through the phones index) and a note appears on the
// job, or on the customer when the follow-up had no job, in the ServiceTitan emulator.
// The greeting does not wait for it: ServiceTitan is made slow to take these notes, and
// the TwiML is back long before. A caller who is not a customer gets no note anywhere,
// and a greeting of the same shape: nothing tells a caller whether they are a customer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, records, until, WORKER_URL } from './lib.mjs';

const TW = process.env.TWILIO_URL;
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
const SITE = 'northstar';
const INCOMING = `${WORKER_URL}/v1/voice/twilio/${SITE}/incoming`;
// 24 compressed hours, the night's wait at worst (12 s), and the machine's slowness.
const DUE_WITHIN_MS = 75_000;
// How long ServiceTitan takes over each "called back" note: the greeting must not wait.
const NOTE_LATENCY_MS = 5_000;
const HOUR = 3_600_000;

if (!TW) throw new Error('run through `cargo xtask test --only followups`: TWILIO_URL is unset');

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function twilio(path, body) {
  const r = await fetch(`${TW}${path}`, body === undefined ? {} : json(body));
  const text = await r.text();
  assert.ok(r.ok, `twilio emulator ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function followUpList(customerId) {
  const q = customerId ? `&customer=${customerId}` : '';
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}${q}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/json' },
  });
  assert.equal(r.status, 200);
  return (await r.json()).customers;
}

const sentText = async (customerId) => (await followUpList(customerId))
  .find((c) => c.customerId === customerId)?.followUps.find((f) => f.recipe === 'estimateSms' && f.status === 'sent');

// The call's greeting as Twilio got it, with what is the caller's own (their number, the
// call's sid) blanked: what is left must not depend on who calls.
function shape(call, digits) {
  const greeting = call.requests[0];
  const body = greeting.response
    .replaceAll(call.sid, 'CA-SID')
    .replaceAll(`%2B1${digits}`, 'CALLER').replaceAll(`+1${digits}`, 'CALLER').replaceAll(digits, 'CALLER');
  return { status: greeting.status, contentType: greeting.contentType ?? null, body };
}

const calledBack = (n) => /Customer called back from/.test(n.text || '');

test('a customer with follow-ups calls back: a note on the job (on the customer without one), the greeting first; a stranger: no note, the same greeting', async () => {
  const onJob = '6515550341';
  const noJob = '6515550342';
  const stranger = '6515550343';
  const mk = async (name, mobile) => (await admin('/_admin/customers', json({ name, mobile, state: 'MN' }))).record.id;
  const withJob = await mk('Lena Sorensen', onJob);
  const withoutJob = await mk('Marcus Webb', noJob);
  // A visit weeks away, so no day-before reminder comes into it.
  const { record: job } = await admin('/_admin/jobs', json({ customerId: withJob, start: new Date(Date.now() + 20 * 24 * HOUR).toISOString() }));
  const { record: onJobEstimate } = await admin('/_admin/estimates', json({ jobId: job.id, name: 'AC replacement' }));
  const { record: ownEstimate } = await admin('/_admin/estimates', json({ customerId: withoutJob, name: 'Water softener' }));
  await admin(`/_admin/estimates/${onJobEstimate.id}/sent`, { method: 'POST' });
  await admin(`/_admin/estimates/${ownEstimate.id}/sent`, { method: 'POST' });

  // Both have follow-ups now: their estimate texts went, and the office has the notes.
  await until(async () => (await sentText(withJob)) && (await sentText(withoutJob)), DUE_WITHIN_MS, 'both estimate texts sent')
    .catch(async (e) => {
      console.log(JSON.stringify(await followUpList()).slice(0, 3000));
      throw e;
    });
  assert.equal((await sentText(withJob)).jobId, job.id, 'the estimate on the job is followed up about that job');
  await until(async () => {
    const { notes } = await records();
    return notes.some((n) => n.jobId === job.id && /:sent$/m.test(n.text || ''))
      && notes.some((n) => n.customerId === withoutJob && /:sent$/m.test(n.text || ''));
  }, 20_000, 'the sent notes on the job and on the customer');

  // ServiceTitan takes its time over the next note on each: the greeting must not wait for it.
  await admin('/_admin/faults', json([
    { kind: 'latencyMs', ms: NOTE_LATENCY_MS, count: 1, match: { method: 'POST', pathContains: `/jobs/${job.id}/notes` } },
    { kind: 'latencyMs', ms: NOTE_LATENCY_MS, count: 1, match: { method: 'POST', pathContains: `/customers/${withoutJob}/notes` } },
  ]));
  const listBefore = JSON.stringify(await followUpList());
  const call = async (digits) => {
    const placed = await twilio('/calls', { url: INCOMING, from: `+1${digits}` });
    return { placed, back: Date.now() };
  };
  const [a, b, s] = [await call(onJob), await call(noJob), await call(stranger)];

  for (const [who, c] of [['the customer with a job', a], ['the customer without', b], ['the stranger', s]]) {
    assert.equal(c.placed.state, 'gathering', `${who}: the agent greets and listens (${c.placed.endReason ?? ''})`);
    assert.ok(c.placed.requests[0].ms < NOTE_LATENCY_MS, `${who}: the greeting took ${c.placed.requests[0].ms} ms`);
  }
  assert.deepEqual(shape(a.placed, onJob), shape(s.placed, stranger), 'a customer\'s greeting is the stranger\'s');
  assert.deepEqual(shape(b.placed, noJob), shape(s.placed, stranger));

  // The notes, each written after its greeting was back.
  const [onTheJob, onTheCustomer] = await until(async () => {
    const { notes } = await records();
    const j = notes.find((n) => n.jobId === job.id && calledBack(n));
    const c = notes.find((n) => n.customerId === withoutJob && calledBack(n));
    return j && c ? [j, c] : null;
  }, 30_000, 'the "called back" notes on the job and on the customer');
  assert.match(onTheJob.text, /\(?651\)?[ -.]?555-0341/, `the note names the number: ${onTheJob.text}`);
  assert.match(onTheJob.text, new RegExp(`Follow-up key: call:${a.placed.sid}`));
  assert.match(onTheCustomer.text, new RegExp(`Follow-up key: call:${b.placed.sid}`));
  assert.ok(Date.parse(onTheJob.createdOn) > a.back, 'the job\'s note came after the greeting');
  assert.ok(Date.parse(onTheCustomer.createdOn) > b.back, 'the customer\'s note came after the greeting');
  const { notes } = await records();
  assert.ok(!notes.some((n) => n.customerId === withJob && calledBack(n)), 'a follow-up with a job notes the job, not the customer');

  // The stranger: nothing anywhere, even after the customers' notes are long written.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await records();
  const mentions = (text) => String(text || '').replace(/\D/g, '').includes(stranger);
  assert.deepEqual(after.notes.filter((n) => calledBack(n) && mentions(n.text)), [], 'no "called back" note for a caller who is not a customer');
  assert.deepEqual(after.notes.filter((n) => mentions(n.text)), [], 'no note names the stranger');
  const listAfter = JSON.stringify(await followUpList());
  assert.ok(!listAfter.includes(stranger), 'the stranger is nowhere in the office\'s follow-ups');
  assert.equal(listBefore.includes(stranger), false);
  const spent = await admin('/_admin/faults');
  assert.ok(JSON.stringify(spent).includes(`/jobs/${job.id}/notes`), 'the slow-note fault was in place');
});
