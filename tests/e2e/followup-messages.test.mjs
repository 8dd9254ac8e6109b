// Follow-up messages in and out, and the office page (issue 15), against the real worker:
// the email sink, STOP and START by signed inbound SMS, a forged inbound SMS, a send whose
// answer (or request) is lost, the office's HTML page and its cancel button. Time is
// compressed as in followups.test.mjs (an hour a second; a message due in the customer's
// night waits for 8 a.m., at most 12 s more). Each scenario makes its own customers in
// the ServiceTitan emulator (numbers 952-555-01xx), so no scenario meets another's cap,
// opt-out or faults, and the scenarios run side by side.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, until, withReference, WORKER_URL, SECRETS } from './lib.mjs';
import { signature, formBody } from '../twilio-sandbox/sign.mjs';

const TW = process.env.TWILIO_URL;
const TWILIO_AUTH_TOKEN = process.env.TWILIO_AUTH_TOKEN;
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
const SITE = 'northstar';
const INBOUND = `${WORKER_URL}/v1/webhooks/twilio/${SITE}/sms`;
// 24 compressed hours, the night's wait at worst, and the machine's slowness.
const DUE_WITHIN_MS = 75_000;
// 72 compressed hours (the estimate's call), the night's wait, and slowness.
const CALL_WITHIN_MS = 120_000;
// Long enough for a 24 h follow-up (and its morning) to have gone if it were going to.
const PAST_DUE_MS = 45_000;

if (!TW) throw new Error('run through `cargo xtask test --only followup-messages`: TWILIO_URL is unset');

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function customer(name, { mobile, email } = {}) {
  const { record } = await admin('/_admin/customers', json({ name, mobile, email }));
  return record.id;
}

async function estimateSent(customerId) {
  const { record } = await admin('/_admin/estimates', json({ customerId, name: 'Water heater replacement' }));
  await admin(`/_admin/estimates/${record.id}/sent`, { method: 'POST' });
  return record.id;
}

async function messagesTo(digits) {
  const { messages } = await (await fetch(`${TW}/messages`)).json();
  return messages.filter((m) => m.to === `+1${digits}`);
}

async function refusedTo(digits) {
  const { refused } = await (await fetch(`${TW}/messages`)).json();
  return refused.filter((m) => m.to === `+1${digits}`);
}

async function emailsTo(address) {
  const { emails } = await (await fetch(`${TW}/email/emails`)).json();
  return emails.filter((e) => e.to.includes(address));
}

const text = (from, body, extra = {}) => fetch(`${TW}/sms/inbound`, json({ from: `+1${from}`, body, url: INBOUND, ...extra })).then((r) => r.json());

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function followUpsOf(customerId) {
  const r = await fetch(`${WORKER_URL}/v1/admin/followups?site=${SITE}&customer=${customerId}`, { headers: bearer });
  assert.equal(r.status, 200);
  const body = await r.text();
  for (const s of SECRETS) assert.ok(!body.includes(s), 'no secret in the follow-up list');
  return JSON.parse(body).customers[0]?.followUps ?? [];
}

// Waits for `check`; on a timeout prints the customers' follow-ups (what the worker decided).
async function waitFor(check, ms, what, customers) {
  try {
    return await until(check, ms, what);
  } catch (e) {
    for (const c of customers) console.log(`customer ${c}: ${JSON.stringify(await followUpsOf(c))}`);
    throw e;
  }
}

const withRecipe = async (customerId, recipe, status) => (await followUpsOf(customerId)).find((f) => f.recipe === recipe && (!status || f.status === status));

describe('follow-up messages', { concurrency: true }, () => {
  test('dunning email: an overdue invoice reaches the email API with the site\'s from-address, once, keyed', async () => {
    const id = await customer('Dana Ekstrom', { mobile: '9525550171', email: 'dana.ekstrom@example.com' });
    const start = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const { record: job } = await admin('/_admin/jobs', json({ customerId: id, start }));
    const { record: invoice } = await admin('/_admin/invoices', json({ jobId: job.id, total: 120 }));
    await admin(`/_admin/invoices/${invoice.id}/overdue`, json({ days: 8 }));
    const [email] = await waitFor(async () => {
      const e = await emailsTo('dana.ekstrom@example.com');
      return e.length ? e : null;
    }, DUE_WITHIN_MS, 'the dunning email in the email sink', [id]);
    assert.equal(email.from, 'Northstar Home Services <office@northstar.example>');
    assert.equal(email.reply_to, 'office@northstar.example');
    assert.match(email.subject, /Invoice/);
    assert.match(email.text, /Dana/, 'greets the customer by first name');
    assert.match(email.idempotencyKey, new RegExp(`^fu:${SITE}:${id}:dunningEmail:invoice:${invoice.id}`));
    const sent = await until(() => withRecipe(id, 'dunningEmail', 'sent'), 20_000, 'the email recorded as sent');
    assert.equal(sent.providerId, email.id, 'the email API\'s id is on the follow-up');
    assert.equal(sent.to, 'dana.ekstrom@example.com');
    // Paid: the rest of the cadence stops (and leaves nothing behind for other tests).
    await admin(`/_admin/invoices/${invoice.id}/paid`, { method: 'POST' });
    await sleep(3000);
    assert.equal((await emailsTo('dana.ekstrom@example.com')).length, 1, 'one email for step 1');
  });

  test('STOP mid-sequence stops every later message to that number, for every customer with it; START resumes', async () => {
    // X has a dunning sequence under way (its first text sent) and Y, with the same
    // number, an estimate text waiting. STOP; a new estimate for X while stopped; START;
    // new estimates for both. Only the two after START may go: the waiting ones were
    // halted by the STOP and stay so. (Each object's clock runs an hour a second from its
    // first event, so the new events come within seconds of it, as real ones would.)
    const shared = '9525550181';
    const x = await customer('Xavier Lindqvist', { mobile: shared, email: 'xavier@example.com' });
    const y = await customer('Yara Lindqvist', { mobile: shared });
    const start = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const { record: job } = await admin('/_admin/jobs', json({ customerId: x, start }));
    const { record: invoice } = await admin('/_admin/invoices', json({ jobId: job.id, total: 80 }));
    await admin(`/_admin/invoices/${invoice.id}/overdue`, json({ days: 8 }));
    const waitingForY = await estimateSent(y);
    await waitFor(async () => (await messagesTo(shared)).length > 0, DUE_WITHIN_MS, 'the first dunning text', [x]);
    // Y's text must be waiting (its object has read Y's number, so STOP reaches it) before
    // the STOP: X's first text alone did not make sure of it (CI, under load, once).
    await until(async () => (await followUpsOf(y)).some((f) => f.about.id === waitingForY), 20_000, "Y's estimate text, waiting");

    const stop = await text(shared, 'STOP');
    assert.equal(stop.status, 200);
    assert.match(stop.response, /^<\?xml[^>]*\?><Response\/>$/, 'an empty TwiML answer: Twilio sends its own STOP reply');
    const textsAtStop = (await messagesTo(shared)).length;
    const emailsAtStop = (await emailsTo('xavier@example.com')).length;
    const whileStopped = await estimateSent(x);
    await until(async () => (await followUpsOf(x)).some((f) => f.about.id === whileStopped), 20_000, 'the estimate sent while stopped, seen');
    const startAgain = await text(shared, 'START');
    assert.equal(startAgain.status, 200);
    await estimateSent(x);
    await estimateSent(y);

    await waitFor(async () => (await messagesTo(shared)).length >= textsAtStop + 2, DUE_WITHIN_MS, 'texts to both customers after START', [x, y]);
    await sleep(5000);
    const after = (await messagesTo(shared)).slice(textsAtStop);
    assert.equal(after.length, 2, `only the two estimates after START: ${after.map((m) => m.body).join(' | ')}`);
    assert.ok(after.some((m) => /Xavier/.test(m.body)) && after.some((m) => /Yara/.test(m.body)), 'one for each customer');
    assert.equal((await emailsTo('xavier@example.com')).length, emailsAtStop, 'no email after STOP');
    assert.equal((await refusedTo(shared)).length, 0, 'nothing was even tried at Twilio while stopped');
    const fx = await followUpsOf(x);
    const fy = await followUpsOf(y);
    const stopped = fx.find((f) => f.about.id === whileStopped && f.recipe === 'estimateSms');
    assert.ok(stopped && !['sent', 'pending'].includes(stopped.status), `the estimate while stopped never goes: ${JSON.stringify(stopped)}`);
    assert.match(stopped.reason, /opted out/);
    const laterSteps = fx.filter((f) => /^dunning/.test(f.recipe) && (f.step > 1 || f.status !== 'sent'));
    assert.ok(laterSteps.every((f) => !['pending', 'sent'].includes(f.status)), `no later dunning step waits or went: ${JSON.stringify(laterSteps)}`);
    const halted = fy.find((f) => f.about.id === waitingForY && f.recipe === 'estimateSms');
    assert.equal(halted.status, 'halted', 'the other customer\'s waiting text was halted');
    assert.match(halted.reason, /STOP/);
    await admin(`/_admin/invoices/${invoice.id}/paid`, { method: 'POST' });
  });

  test('a customer whose object is made after the STOP: what it scheduled before START stays halted, what comes after START goes', async () => {
    // Issue 15's race: the STOP reaches only the objects that know the number, and Wren's
    // is made after it (no follow-up knew Wren yet), so the STOP never reached it. START
    // then comes before the text it scheduled is due. The site's opt-out list, kept after
    // START with its time, halts that text; the number is not blocked.
    const shared = '9525550186';
    const w = await customer('Wren Sandoval', { mobile: shared });
    const stop = await text(shared, 'STOP');
    assert.equal(stop.status, 200);
    const beforeStart = await estimateSent(w);
    await until(async () => (await followUpsOf(w)).some((f) => f.about.id === beforeStart && f.recipe === 'estimateSms' && f.status === 'pending'),
      20_000, "Wren's estimate text, scheduled after the STOP by an object that never got it");
    const start = await text(shared, 'START');
    assert.equal(start.status, 200);
    const afterStart = await estimateSent(w);
    await waitFor(() => withRecipe(w, 'estimateSms', 'sent'), DUE_WITHIN_MS + 20_000, 'the estimate text after START, sent', [w]);
    await sleep(3000);
    const fw = await followUpsOf(w);
    const halted = fw.find((f) => f.about.id === beforeStart && f.recipe === 'estimateSms');
    assert.equal(halted?.status, 'halted', `scheduled before START: ${JSON.stringify(halted)}`);
    assert.match(halted.reason, /START at .* does not bring it back/);
    const sent = fw.find((f) => f.about.id === afterStart && f.recipe === 'estimateSms');
    assert.equal(sent?.status, 'sent', `scheduled after START: ${JSON.stringify(sent)}`);
    const texts = await messagesTo(shared);
    assert.equal(texts.length, 1, `one text, the one after START: ${texts.map((m) => m.body).join(' | ')}`);
    assert.equal(texts[0].sid ?? sent.providerId, sent.providerId);
  });

  test('a forged or unsigned inbound SMS is refused and changes nothing', async () => {
    // Posted straight to the worker, as someone other than Twilio would (Twilio's own
    // STOP handling is not involved): a wrong token, a body changed after signing, none.
    const digits = '9525550191';
    const z = await customer('Zelda Moreau', { mobile: digits });
    await estimateSent(z);
    const params = { MessageSid: `SM${'f'.repeat(32)}`, AccountSid: process.env.TWILIO_ACCOUNT_SID, From: `+1${digits}`, To: process.env.TWILIO_NUMBER, Body: 'STOP' };
    const post = (headers, body = formBody(params)) => fetch(INBOUND, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    assert.equal((await post({ 'x-twilio-signature': signature(`${TWILIO_AUTH_TOKEN}-not`, INBOUND, params) })).status, 403, 'another token');
    const signedHelp = signature(TWILIO_AUTH_TOKEN, INBOUND, { ...params, Body: 'HELP' });
    assert.equal((await post({ 'x-twilio-signature': signedHelp })).status, 403, 'a body changed after signing');
    assert.equal((await post({})).status, 403, 'no signature');
    const elsewhere = await fetch(`${WORKER_URL}/v1/webhooks/twilio/no-such-site/sms`, { method: 'POST', body: formBody(params) });
    assert.equal(elsewhere.status, 403);
    // Control: the same request signed with the site's token is taken (a HELP changes nothing).
    const help = { ...params, MessageSid: `SM${'e'.repeat(32)}`, Body: 'HELP' };
    const ok = await post({ 'x-twilio-signature': signature(TWILIO_AUTH_TOKEN, INBOUND, help) }, formBody(help));
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /<Response\/>/);
    const [sent] = await waitFor(async () => {
      const m = await messagesTo(digits);
      return m.length ? m : null;
    }, DUE_WITHIN_MS, 'the estimate text, the forged STOPs notwithstanding', [z]);
    assert.match(sent.body, /Zelda/);
  });

  test('a send whose answer was lost, or whose request was lost, goes out exactly once', async () => {
    const lostAnswer = '9525550161';
    const lostRequest = '9525550162';
    await fetch(`${TW}/messages/faults`, json({ to: `+1${lostAnswer}`, dropAnswer: 1 }));
    await fetch(`${TW}/messages/faults`, json({ to: `+1${lostRequest}`, dropRequest: 1 }));
    const a = await customer('Walter Answerlost', { mobile: lostAnswer });
    const b = await customer('Wendy Requestlost', { mobile: lostRequest });
    await estimateSent(a);
    await estimateSent(b);
    const sentA = await waitFor(() => withRecipe(a, 'estimateSms', 'sent'), DUE_WITHIN_MS, 'the lost-answer text recorded as sent', [a]);
    const sentB = await until(() => withRecipe(b, 'estimateSms', 'sent'), 20_000, 'the lost-request text recorded as sent');
    await sleep(5000);
    const [onlyA, ...moreA] = await messagesTo(lostAnswer);
    assert.equal(moreA.length, 0, 'one text although the first answer never came');
    assert.equal(onlyA.answer_dropped, true, 'Twilio took it and the answer was lost');
    assert.match(sentA.providerId, new RegExp(`^${onlyA.sid}\\b.*look-up`), 'found by the look-up, not sent again');
    const [onlyB, ...moreB] = await messagesTo(lostRequest);
    assert.equal(moreB.length, 0, 'one text after a request that never reached Twilio');
    assert.equal(sentB.providerId, onlyB.sid, 'the look-up found nothing, so it was sent again');
    const { faults } = await (await fetch(`${TW}/messages/faults`)).json();
    assert.ok(faults.every((f) => f.count === 0), 'both faults were hit');
  });

  test('the office page lists follow-ups as escaped HTML, filters by customer, and cancels a pending one', async () => {
    const digits = '9525550151';
    const v = await customer('<img src=x onerror=alert(1)> Vera "Quote" Page', { mobile: digits });
    const other = await customer('Otto Other', { mobile: '9525550152' });
    await estimateSent(v);
    await estimateSent(other);
    const pending = await until(() => withRecipe(v, 'estimateSms', 'pending'), 20_000, 'the estimate text pending');
    await until(() => withRecipe(other, 'estimateSms'), 20_000, 'the other customer\'s follow-up');

    const pageUrl = `${WORKER_URL}/v1/admin/followups?site=${SITE}`;
    const r = await fetch(pageUrl, { headers: { ...bearer, accept: 'text/html' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.headers.get('content-security-policy'), /default-src 'none'.*frame-ancestors 'none'/);
    const page = await r.text();
    for (const s of SECRETS) assert.ok(!page.includes(s), 'no secret on the page');
    assert.ok(!page.includes('<img'), 'the homeowner\'s markup is text');
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt; Vera &quot;Quote&quot; Page'));
    for (const status of ['pending', 'sent', 'skipped', 'halted']) assert.ok(page.includes(`<section id="${status}"`), `a ${status} section`);
    const row = new RegExp(`<tr data-id="${pending.id}" data-customer="${v}">.*?</tr>`, 's').exec(page)?.[0];
    assert.ok(row, 'the pending follow-up has a row');
    assert.match(row, /action="\/v1\/admin\/followups\/cancel"/, 'with a cancel button');
    assert.match(row, /scheduled \d{4}-\d\d-\d\dT/, 'and its times');

    const only = await (await fetch(`${pageUrl}&customer=${v}&format=html`, { headers: bearer })).text();
    const customers = new Set([...only.matchAll(/<tr data-id="[^"]*" data-customer="(\d+)"/g)].map((m) => Number(m[1])));
    assert.deepEqual([...customers], [v], 'the filter shows one customer');
    assert.ok(only.includes(`<option value="${other}">`), 'the filter still offers the others');
    assert.equal((await fetch(`${pageUrl}&customer=abc&format=html`, { headers: bearer })).status, 400);

    const anonymous = await fetch(pageUrl, { headers: { accept: 'text/html' } });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate'), /^Basic /, 'a browser is asked for the token');
    const basic = `Basic ${Buffer.from(`office:${ADMIN_TOKEN}`).toString('base64')}`;
    assert.equal((await fetch(pageUrl, { headers: { authorization: basic, accept: 'text/html' } })).status, 200);

    const cancelUrl = `${WORKER_URL}/v1/admin/followups/cancel`;
    const form = new URLSearchParams({ site: SITE, customer: String(v), id: pending.id }).toString();
    const formHeaders = { ...bearer, 'content-type': 'application/x-www-form-urlencoded' };
    const foreign = await fetch(cancelUrl, { method: 'POST', headers: { ...formHeaders, origin: 'http://evil.example' }, body: form, redirect: 'manual' });
    assert.equal(foreign.status, 403, 'a cancel from another site is refused');
    const notHis = await fetch(cancelUrl, { method: 'POST', headers: formHeaders, body: new URLSearchParams({ site: SITE, customer: String(other), id: pending.id }).toString(), redirect: 'manual' });
    assert.equal(notHis.status, 400, 'an id of another customer cancels nothing');
    assert.equal((await fetch(cancelUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })).status, 401);
    assert.equal((await withRecipe(v, 'estimateSms')).status, 'pending', 'refused cancels changed nothing');

    const done = await fetch(cancelUrl, { method: 'POST', headers: formHeaders, body: form, redirect: 'manual' });
    assert.equal(done.status, 303);
    assert.match(done.headers.get('location'), new RegExp(`^/v1/admin/followups\\?site=${SITE}&format=html`));
    const cancelled = await withRecipe(v, 'estimateSms');
    assert.equal(cancelled.status, 'cancelled');
    assert.match(cancelled.reason, /office/);
    const again = await fetch(cancelUrl, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ site: SITE, customerId: v, id: pending.id }) });
    assert.deepEqual(await again.json(), { cancelled: false }, 'nothing pending by that id any more');
    const after = await (await fetch(`${pageUrl}&customer=${v}&format=html`, { headers: bearer })).text();
    const cancelledRow = new RegExp(`<tr data-id="${pending.id}"[^>]*>.*?</tr>`, 's').exec(after)?.[0];
    assert.ok(after.indexOf(cancelledRow) > after.indexOf('<section id="cancelled"'), 'listed as cancelled');
    assert.ok(!/followups\/cancel/.test(cancelledRow), 'with no cancel button');

    await until(async () => (await messagesTo('9525550152')).length > 0, DUE_WITHIN_MS, 'the other customer\'s text');
    await sleep(5000);
    assert.equal((await messagesTo(digits)).length, 0, 'no text for the cancelled follow-up');
  });
  test('the 72 h AI call: the worker posts Twilio Calls.json into the voice agent with the estimate, and the call says it is automated', async () => {
    const digits = '9525550141';
    const at = Math.floor(Date.now() / 1000);
    const turns = ['My furnace is making a loud banging noise, can you come tomorrow afternoon', 'Carla Voss',
      '952-555-0141', '5120 Oak Ave S, Minneapolis, MN 55405', 'yes', 'Text messages: yes', 'Voice calls: yes', 'Book it']
      .map((t, i) => ({ text: t, at: at + i }));
    const r = await fetch(`${WORKER_URL}/v1/sites/${SITE}/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: process.env.SITE_URL },
      body: JSON.stringify({ idempotencyKey: `fu-call-${Date.now().toString(36)}`, turns, locale: 'en' }),
    });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    const { jobs } = await withReference(JSON.parse(body).reference, 60_000);
    const id = jobs[0].customerId;
    const estimate = await estimateSent(id);
    const call = await waitFor(async () => {
      const { requests } = await (await fetch(`${TW}/outbound-calls`)).json();
      return requests.find((c) => c.to === `+1${digits}`);
    }, CALL_WITHIN_MS, 'the follow-up call placed at Twilio', [id]);
    const key = `fu:${SITE}:${id}:estimateCall:estimate:${estimate}`;
    assert.equal(call.from, process.env.TWILIO_NUMBER, 'from the business\'s number');
    const url = new URL(call.url);
    assert.equal(url.pathname, `/v1/voice/twilio/${SITE}/incoming`);
    assert.deepEqual(Object.fromEntries(url.searchParams), { followUp: key, customer: String(id), estimate: String(estimate), recipe: 'estimateCall' });
    assert.equal(call.status_callback, `${url.origin}/v1/voice/twilio/${SITE}/status`);
    const placed = await until(async () => {
      const c = await (await fetch(`${TW}/calls/${call.sid}`)).json();
      return c.said?.length ? c : null;
    }, 20_000, 'the agent\'s greeting on the call');
    assert.match(placed.said[0].text, /automated/i, `the greeting says it is automated: ${placed.said[0].text}`);
    assert.ok(placed.requests[0].status === 200, 'the worker took the signed call');
    const sent = await until(() => withRecipe(id, 'estimateCall', 'sent'), 20_000, 'the call recorded as sent');
    assert.equal(sent.providerId, call.sid);
    await fetch(`${TW}/calls/${call.sid}/hangup`, json({}));
  });
});
