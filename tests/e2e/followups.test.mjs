// Follow-ups end to end (issue 15): an office change in the ServiceTitan emulator fires
// a signed webhook to the real worker, which re-reads the estimate, schedules through
// booking-core and texts through the Twilio emulator. Time is compressed: `cargo xtask
// test` gives the worker FOLLOWUP_TIME_FACTOR (an hour a second) and subscribes it to the
// emulator's webhooks with the run's key, so "24 h later" is about 24 s (plus, when the
// due time falls in the customer's night, the wait for 8 a.m.: at most 12 s more).
// Each scenario uses its own customer, so one customer's cap never meets another's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, records, until, withReference, WORKER_URL, SECRETS } from './lib.mjs';

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

// ---------------------------------------------------------------------------------------
// The recipes end to end, each on a customer of its own (made through the emulator's admin
// API, with a mobile of its own), run side by side so the file takes about as long as its
// longest scenario. Every change that fires webhooks goes through `serial`, so one
// scenario's held-back ("late") webhook is never released by another's event, and the
// office's clock is moved (quiet hours) while nobody else makes records.
// ---------------------------------------------------------------------------------------

const HOUR = 3_600_000;
// At an hour a second, a day is 24 s, the night's wait at most 12 s more.
const RECIPE_WITHIN_MS = 60_000;
let chain = Promise.resolve();
function serial(fn) {
  const run = chain.then(fn);
  chain = run.catch(() => {});
  return run;
}

const post = (path, body, deliver = 'normal') => admin(`${path}?deliver=${deliver}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body ?? {}),
});

async function newCustomer(name, mobile, state = 'MN') {
  const { record } = await post('/_admin/customers', { name, mobile, state });
  return record.id;
}

// A job whose visit is weeks away, so no day-before reminder falls inside a scenario.
async function jobFor(customerId, deliver = 'normal') {
  const start = new Date(Date.now() + 20 * 24 * HOUR).toISOString();
  const { record } = await post('/_admin/jobs', { customerId, start }, deliver);
  return record.id;
}

async function listOf(customerId) {
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}&customer=${customerId}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/json' },
  });
  assert.equal(r.status, 200);
  const body = await r.json();
  return body.customers.find((c) => c.customerId === customerId) ?? { followUps: [] };
}

const withRecipe = (c, recipe) => c.followUps.filter((f) => f.recipe === recipe);

async function untilFollowUp(customerId, recipe, pred, what, ms = RECIPE_WITHIN_MS) {
  return until(async () => {
    const c = await listOf(customerId);
    return withRecipe(c, recipe).find(pred) ? c : null;
  }, ms, what).catch(async (e) => {
    console.log(JSON.stringify(await listOf(customerId)).slice(0, 3000));
    throw e;
  });
}

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

// Local wall time of Unix seconds `t` in the customer's zone as the office's list gives
// it (`{utcOffsetMinutes, usDst}`); the scenario's zone (Arizona) has no daylight saving.
function localOf(t, zone) {
  assert.equal(zone.usDst, false, 'a zone without daylight saving');
  const d = new Date((t + zone.utcOffsetMinutes * 60) * 1000);
  return { day: d.toISOString().slice(0, 10), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

describe('follow-up recipes against the real worker', { concurrency: true }, () => {
  test('a text due at 10 p.m. in the customer\'s zone (their location in Arizona) goes at 8 a.m. the next day', async () => {
    const digits = '6515550201';
    const id = await newCustomer('Rosa Alvarez', digits, 'AZ');
    // The office sends the estimate at 10 p.m. Arizona time (UTC-7 all year) a day before
    // "now" plus a little, so the 24 h text falls due at 10 p.m. within seconds; the wait
    // for 8 a.m. is then 10 compressed hours.
    const arizona = -7 * HOUR;
    const local = new Date(Date.now() + 2 * HOUR + arizona);
    local.setUTCHours(22, 0, 0, 0);
    let dueAt = local.getTime() - arizona;
    if (dueAt < Date.now() + 2 * HOUR) dueAt += 24 * HOUR;
    await serial(async () => {
      await post('/_admin/clock', { offsetMs: dueAt - 24 * HOUR - Date.now() });
      try {
        const { record } = await post('/_admin/estimates', { customerId: id, name: 'Heat pump' });
        await post(`/_admin/estimates/${record.id}/sent`);
      } finally {
        await post('/_admin/clock', { offsetMs: 0 });
      }
    });
    const c = await untilFollowUp(id, 'estimateSms', (f) => f.status === 'sent', 'the 10 p.m. text, sent in the morning');
    const f = withRecipe(c, 'estimateSms')[0];
    assert.equal(c.zone.utcOffsetMinutes, -420, 'the zone comes from the location\'s state (AZ), not the site\'s');
    const due = localOf(f.due, c.zone);
    const sent = localOf(f.settledAt, c.zone);
    assert.equal(due.hour, 22, `due at 10 p.m. local: ${JSON.stringify(due)}`);
    assert.equal(sent.hour, 8, `sent at 8 a.m. local: ${JSON.stringify(sent)}`);
    assert.ok(f.settledAt - f.due > 9 * 3600 && f.settledAt - f.due < 11 * 3600, 'the next morning, not the same night');
    assert.equal((await messagesTo(digits)).length, 1);
  });

  test('invoice overdue, then paid between two dunning steps: no further message, halted at once', async () => {
    const digits = '6515550202';
    const id = await newCustomer('Omar Haddad', digits);
    const job = await serial(() => jobFor(id));
    // Due a week and an hour ago: the first reminder is due now (or at 8 a.m.).
    const dueDate = new Date(Date.now() - 7 * 24 * HOUR - HOUR).toISOString();
    const invoice = await serial(async () => (await post('/_admin/invoices', { jobId: job, total: '250.00', dueDate })).record.id);
    await until(async () => (await messagesTo(digits)).length > 0, RECIPE_WITHIN_MS, 'the first payment reminder');
    const [first] = await messagesTo(digits);
    assert.match(first.body, /invoice \d+ has \$250\.00 due/i);
    const c = await untilFollowUp(id, 'dunningSms', (f) => f.step === 2 && f.status === 'pending', 'the second step scheduled');
    assert.ok(withRecipe(c, 'dunningSms').find((f) => f.step === 2).due - withRecipe(c, 'dunningSms').find((f) => f.step === 1).due >= 6 * 86_400);
    await serial(() => post(`/_admin/invoices/${invoice}/paid`));
    const after = await untilFollowUp(id, 'dunningSms', (f) => f.step === 2 && f.status !== 'pending', 'the second step halted', 20_000);
    const second = withRecipe(after, 'dunningSms').find((f) => f.step === 2);
    assert.equal(second.status, 'cancelled');
    assert.match(second.reason, /payment received|paid/);
    const dunning = after.followUps.filter((f) => f.recipe.startsWith('dunning'));
    assert.ok(dunning.every((f) => f.status !== 'pending'), `nothing left pending for a paid invoice: ${JSON.stringify(dunning)}`);
    await settle(4000);
    assert.equal((await messagesTo(digits)).length, 1, 'one reminder, none after the payment');
  });

  test('out of order: "viewed" delivered before "sent": one text (the viewed one), the 24 h one cancelled', async () => {
    const digits = '6515550203';
    const id = await newCustomer('Grace Kim', digits);
    await serial(async () => {
      const { record } = await post('/_admin/estimates', { customerId: id, name: 'Water heater' });
      // "sent" is held back and goes out right after "viewed".
      await post(`/_admin/estimates/${record.id}/sent`, {}, 'late');
      await post(`/_admin/estimates/${record.id}/viewed`);
    });
    const c = await untilFollowUp(id, 'estimateSms', (f) => f.status === 'cancelled', 'the 24 h text cancelled', 20_000);
    assert.match(withRecipe(c, 'estimateSms')[0].reason, /viewed/);
    await untilFollowUp(id, 'estimateViewed', (f) => f.status === 'sent', 'the viewed-estimate text');
    const texts = await messagesTo(digits);
    assert.equal(texts.length, 1);
    assert.match(texts[0].body, /thanks for looking over your estimate/);
  });

  test('a missed webhook (deliver=skip) is caught by the export-feed poller: one review request', async () => {
    const digits = '6515550204';
    const id = await newCustomer('Henrik Dahl', digits);
    // No webhook at all for this job (its creation's re-read would show it completed).
    const job = await serial(() => jobFor(id, 'skip'));
    await serial(() => post(`/_admin/jobs/${job}/completed`, {}, 'skip'));
    await settle(3000);
    assert.equal(withRecipe(await listOf(id), 'reviewRequest').length, 0, 'no webhook: nothing known yet');
    // Wrangler's test trigger runs the cron handler (the poller) now.
    const r = await fetch(`${WORKER_URL}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
    assert.equal(r.status, 200, await r.text());
    await untilFollowUp(id, 'reviewRequest', (f) => f.status === 'sent', 'the review request found by the poller');
    // A second poll reads the same change again (or nothing new): still one.
    await fetch(`${WORKER_URL}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
    await settle(4000);
    const texts = await messagesTo(digits);
    assert.equal(texts.length, 1);
    assert.match(texts[0].body, /Would you leave us a quick review\?/);
  });

  test('job completed (its webhook delivered twice): one review request', async () => {
    const digits = '6515550205';
    const id = await newCustomer('Ines Moreau', digits);
    const job = await serial(() => jobFor(id));
    await serial(() => post(`/_admin/jobs/${job}/completed`, {}, 'duplicate'));
    await untilFollowUp(id, 'reviewRequest', (f) => f.status === 'sent', 'the review request');
    await settle(4000);
    const texts = await messagesTo(digits);
    assert.equal(texts.length, 1, 'one review request');
    assert.match(texts[0].body, /Hi Ines, thank you for choosing/);
  });

  test('job scheduled: a reminder the day before at 10 a.m. (the visit read through the job\'s webhook)', async () => {
    const digits = '6515550208';
    const id = await newCustomer('Tomas Reyes', digits, 'AZ');
    // The visit at 10 a.m. Arizona time the day after the next 10 a.m.: its reminder is
    // due at that next 10 a.m., at most a compressed day away.
    const arizona = -7 * HOUR;
    const local = new Date(Date.now() + HOUR / 2 + arizona);
    local.setUTCHours(10, 0, 0, 0);
    let remindAt = local.getTime() - arizona;
    if (remindAt < Date.now() + HOUR / 2) remindAt += 24 * HOUR;
    const start = new Date(remindAt + 24 * HOUR).toISOString();
    await serial(() => post('/_admin/jobs', { customerId: id, start }));
    const c = await untilFollowUp(id, 'jobReminder', (f) => f.status === 'sent', 'the day-before reminder');
    const f = withRecipe(c, 'jobReminder')[0];
    assert.equal(localOf(f.due, c.zone).hour, 10, 'due the day before at 10 a.m. local');
    const texts = await messagesTo(digits);
    assert.equal(texts.length, 1);
    assert.match(texts[0].body, /a reminder from Northstar Home Services: we'll see you \w{3} \w{3} \d+, 10am/);
  });

  test('no-show: a text to rebook', async () => {
    const digits = '6515550206';
    const id = await newCustomer('Jonas Berg', digits);
    const job = await serial(() => jobFor(id));
    await serial(() => post(`/_admin/jobs/${job}/no-show`));
    await untilFollowUp(id, 'noShow', (f) => f.status === 'sent', 'the rebooking text');
    const texts = await messagesTo(digits);
    assert.equal(texts.length, 1);
    assert.match(texts[0].body, /Sorry we missed each other! Want to pick a new time\?/);
  });

  test('booked with text and call consent; estimate sent, its text goes; sold before 72 h: no call', async () => {
    const digits = '6515550207';
    const at = Math.floor(Date.now() / 1000);
    const turns = ['My furnace is making a loud banging noise, can you come tomorrow afternoon', 'Nadia Brooks',
      '651-555-0207', '4120 Oak Ave S, Minneapolis, MN 55405', 'yes', 'Text messages: yes', 'Voice calls: yes', 'Book it']
      .map((text, i) => ({ text, at: at + i }));
    const r = await fetch(`${WORKER_URL}/v1/sites/${SITE}/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: process.env.SITE_URL },
      body: JSON.stringify({ idempotencyKey: `fu-consent-${Date.now().toString(36)}`, turns, locale: 'en' }),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    const { reference } = JSON.parse(text);
    const { jobs } = await withReference(reference, 60_000);
    const id = jobs[0].customerId;
    await serial(async () => {
      const { record } = await post('/_admin/estimates', { customerId: id, name: 'New furnace' });
      await post(`/_admin/estimates/${record.id}/sent`);
      return record.id;
    }).then(async (estimate) => {
      const c = await until(async () => {
        const l = await listOf(id);
        return l.bookingConsent?.voice && withRecipe(l, 'estimateCall').length ? l : null;
      }, 30_000, 'the booking\'s consent and the 72 h call scheduled');
      assert.equal(c.bookingConsent.sms, true);
      assert.equal(withRecipe(c, 'estimateCall')[0].status, 'pending');
      await untilFollowUp(id, 'estimateSms', (f) => f.status === 'sent', 'the 24 h text');
      await serial(() => post(`/_admin/estimates/${estimate}/sold`));
      const after = await untilFollowUp(id, 'estimateCall', (f) => f.status !== 'pending', 'the call cancelled', 20_000);
      const call = withRecipe(after, 'estimateCall')[0];
      assert.equal(call.status, 'cancelled');
      assert.match(call.reason, /sold/);
    });
    const calls = await (await fetch(`${TW}/outbound-calls`)).json();
    assert.ok(!JSON.stringify(calls).includes(digits), 'no follow-up call was placed');
    assert.ok((await messagesTo(digits)).some((m) => /Any questions about the estimate/.test(m.body)));
  });
});
