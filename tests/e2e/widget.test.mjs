// The widget in a real browser, one fresh Chromium profile per test (clean localStorage):
// resume after reload (and its expiry), Spanish, mobile/desktop layout, strict CSP, the
// iframe fallback (which books), an XSS corpus, keyboard-only use, axe-core, emergency and hand-off, attribution
// (UTM + referral), the events a site owner listens to, the card's windows and edits,
// and the abandonment beacon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { browser, records, say, sayAll, ui, until, withReference, jobsOf, REFERENCE, SITE_URL, WORKER_URL, OUT } from './lib.mjs';

mkdirSync(OUT, { recursive: true });
const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const XSS = readFileSync(new URL('../data/xss-corpus.txt', import.meta.url), 'utf8')
  .split('\n').filter((l) => l.trim() !== '');

// A fresh profile for one test; closed however the test ends.
async function withPage(t, opts = {}) {
  const ctx = await browser(opts.viewport);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { ctx, page, errors };
}

// Opens the widget on a page of the demo site and waits for the greeting.
async function openWidget(page, path = '/') {
  await page.goto(`${SITE_URL}${path}`);
  await page.locator(ui.bubble).click();
  await page.locator(ui.input).waitFor({ state: 'visible' });
  await until(async () => (await page.locator(ui.assistant).count()) > 0, 10_000, 'the greeting');
  await until(() => page.locator(ui.input).isEnabled(), 10_000, 'the input enabled');
}

const AC_TOMORROW = 'My AC stopped cooling, can someone come tomorrow morning?';
const texts = (page, sel) => page.locator(sel).allTextContents();
const lastBot = async (page) => (await texts(page, ui.assistant)).at(-1) || '';
const referenceEl = '[data-testid="bw-reference"]';
const shownReference = async (page) => (await page.locator(referenceEl).textContent({ timeout: 30_000 })).trim();
// The worker answers as soon as it has stored the booking, before any ServiceTitan call
// (the reply cannot tell a new customer from a known one): the job appears shortly after.

// The whole booking conversation; returns the reference the widget shows. Each test
// books a homeowner of its own (phone and address in no seed and no other test): a
// known address with another phone is ambiguous, and the pipeline then only files a
// booking request for the office (the homeowner's reply is the same either way).
async function book(page, { name, phone, address }) {
  await sayAll(page, [AC_TOMORROW, name, phone, address, 'Yes']);
  await page.locator(ui.card).waitFor({ state: 'visible' });
  await page.locator(ui.confirm).click();
  return shownReference(page);
}

test('the summary "yes" shows the card, not "all set"; one "Book it" tap books', async (t) => {
  const { page, errors } = await withPage(t);
  await openWidget(page);
  await sayAll(page, [AC_TOMORROW, 'Nadia Ferris', '612-555-0131', '2630 Bryant Ave S, Minneapolis, MN 55408']);
  const botBefore = await page.locator(ui.assistant).count();
  await say(page, 'Yes');
  await page.locator(ui.card).waitFor({ state: 'visible' });
  await page.waitForTimeout(600); // any reply the turn carried has been drawn by now
  const said = (await texts(page, ui.assistant)).slice(botBefore).join(' ');
  assert.doesNotMatch(said, /all set|got your request/i, 'nothing claims a booking before it is sent');
  assert.equal(await page.locator(ui.success).count(), 0);
  assert.equal(await page.locator('[data-testid="bw-sms-consent"]').isChecked(), false, 'SMS consent is opt-in');
  const lines = await texts(page, '[data-testid="bw-card-line"]');
  assert.ok(lines.some((l) => /Nadia Ferris/.test(l)), `the name on the card: ${lines}`);
  assert.ok(lines.some((l) => /555-0131/.test(l)), 'the phone on the card');
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/bookings'));
  await page.locator(ui.confirm).click();
  const reply = await (await answer).json();
  assert.match(await shownReference(page), REFERENCE);
  assert.equal(await shownReference(page), reply.reference, "the worker's reference");
  assert.equal(reply.jobNumber, undefined, 'no ServiceTitan number reaches the browser');
  assert.equal(await page.locator(ui.success).getAttribute('data-status'), 'booked', 'tomorrow morning is a window');
  assert.ok(reply.message && (await page.locator(ui.success).textContent()).includes(reply.message), "the worker's sentence");
  assert.deepEqual(errors, []);
});

test('the conversation survives a reload and continues', async (t) => {
  const { page, errors } = await withPage(t);
  await openWidget(page);
  await say(page, 'My furnace is making a loud banging noise');
  await say(page, 'Dana Whitfield');
  const before = await texts(page, '[data-testid="bw-msg"]');
  assert.ok(before.length >= 5, 'greeting, two questions and two answers');
  await page.reload();
  // A saved conversation makes the loader mount at idle; the panel was open, so it is again.
  await page.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(async () => (await page.locator('[data-testid="bw-msg"]').count()) === before.length, 10_000, 'the log');
  assert.deepEqual(await texts(page, '[data-testid="bw-msg"]'), before, 'the same log, in order');
  // The state is back too: the next answer is the phone it asked for, then the address.
  assert.match(before.at(-1), /phone|number/i);
  await say(page, '612-555-0132');
  assert.match(await lastBot(page), /address/i, 'it goes on to the address, not back to the start');
  assert.deepEqual(errors, []);
});

test('Spanish: the language switch gives Spanish replies', async (t) => {
  const { page, errors } = await withPage(t);
  await openWidget(page);
  await page.locator('[data-testid="bw-lang"]').click();
  await until(async () => /Hola/.test(await lastBot(page)), 5000, 'the Spanish greeting');
  assert.match(await page.locator(ui.input).getAttribute('placeholder'), /Escriba/);
  await say(page, 'Mi calentador de agua tiene una fuga');
  const reply = await lastBot(page);
  assert.match(reply, /nombre/i, `asks for the name in Spanish: ${reply}`);
  assert.doesNotMatch(reply, /\bname\b/i);
  assert.equal(await page.locator('[data-testid="bw-lang"]').count(), 0, 'no switch once the homeowner spoke');
  assert.deepEqual(errors, []);
});

test('mobile 390x844 is a full-screen panel; desktop 1280x800 a corner panel', async (t) => {
  const m = await withPage(t, { viewport: { width: 390, height: 844 } });
  await openWidget(m.page);
  const mb = await m.page.locator(ui.panel).boundingBox();
  assert.deepEqual([mb.x, mb.y, mb.width, mb.height], [0, 0, 390, 844], 'the panel fills the phone screen');
  await m.page.screenshot({ path: `${OUT}/mobile-390x844.png` });

  const d = await withPage(t, { viewport: { width: 1280, height: 800 } });
  await openWidget(d.page);
  const db = await d.page.locator(ui.panel).boundingBox();
  assert.ok(db.width <= 400 && db.x > 800 && db.y > 0, `a corner panel: ${JSON.stringify(db)}`);
  await d.page.screenshot({ path: `${OUT}/desktop-1280x800.png` });
  assert.deepEqual([...m.errors, ...d.errors], []);
});

// Records CSP violations from the first byte on (an init script is not subject to the CSP).
async function watchCsp(page) {
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`), true);
  });
  const console = [];
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && console.push(m.text()));
  return async () => [...(await page.evaluate(() => window.__csp)), ...console];
}

test('strict CSP page (no unsafe-inline) books with zero CSP violations', async (t) => {
  const { page, errors } = await withPage(t);
  const violations = await watchCsp(page);
  await openWidget(page, '/csp.html');
  const reference = await book(page, { name: 'Corinne Vale', phone: '612-555-0161', address: '1520 Hennepin Ave, Minneapolis, MN 55403' });
  assert.match(reference, REFERENCE);
  assert.equal(await page.locator('#bw-host iframe').count(), 0, 'the wasm widget, not the fallback');
  assert.deepEqual(await violations(), []);
  assert.deepEqual(errors, []);
});

test('CSP without wasm-unsafe-eval falls back to the worker-served iframe', async (t) => {
  const { page } = await withPage(t);
  await page.addInitScript(() => {
    window.__fallback = 0;
    document.addEventListener('bw:fallback', () => window.__fallback++);
  });
  await page.goto(`${SITE_URL}/csp-nowasm.html`);
  await page.locator(ui.bubble).click();
  const frameEl = page.locator('#bw-host iframe');
  await frameEl.waitFor({ state: 'visible' });
  const src = await frameEl.getAttribute('src');
  assert.ok(src.startsWith(`${WORKER_URL}/v1/sites/northstar/frame?page=`), src);
  assert.equal(await page.evaluate(() => window.__fallback), 1);
  // The framed widget works: it greets and answers.
  const frame = page.frameLocator('#bw-host iframe');
  await frame.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(async () => (await frame.locator(ui.assistant).count()) > 0, 10_000, 'the greeting in the frame');
  await until(() => frame.locator(ui.input).isEnabled(), 10_000, 'the frame input');
  await frame.locator(ui.input).fill('My kitchen sink is clogged');
  await frame.locator(ui.input).press('Enter');
  await until(async () => (await frame.locator(ui.assistant).count()) > 1, 10_000, 'a reply in the frame');
  const f = page.frames().find((x) => x.url().startsWith(WORKER_URL));
  assert.ok(f, 'the frame document comes from the worker origin');
  // Its close button closes the frame and returns focus to the bubble.
  await frame.locator('[data-testid="bw-close"]').click();
  await until(() => frameEl.isHidden(), 5000, 'the frame hidden');
});

test('the iframe fallback books: its same-origin POST is accepted, the job is made', async (t) => {
  const { page, errors } = await withPage(t);
  const posts = [];
  page.on('response', (r) => r.request().method() === 'POST' && r.url().endsWith('/bookings') && posts.push(r));
  await page.goto(`${SITE_URL}/csp-nowasm.html`);
  await page.locator(ui.bubble).click();
  const frame = page.frameLocator('#bw-host iframe');
  await frame.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(() => frame.locator(ui.input).isEnabled(), 10_000, 'the frame input');
  await sayAll(frame, [AC_TOMORROW, 'Lorna Skye', '612-555-0165', '3345 Pleasant Ave, Minneapolis, MN 55408', 'Yes']);
  await frame.locator(ui.card).waitFor({ state: 'visible' });
  await frame.locator(ui.confirm).click();
  const reference = (await frame.locator(referenceEl).textContent({ timeout: 30_000 })).trim();
  assert.match(reference, REFERENCE);
  assert.equal(posts.length, 1, 'one booking POST');
  assert.ok(posts[0].url().startsWith(`${WORKER_URL}/v1/sites/northstar/bookings`), 'sent from the frame to its own origin');
  assert.equal(posts[0].status(), 200, 'the worker accepts its own origin');
  const jobs = await jobsOf(reference);
  assert.equal(jobs.length, 1, 'one job with the reference');
  assert.deepEqual(errors, []);
});

test('XSS corpus: every payload shows as text, runs nothing, adds no element', async (t) => {
  const { page, errors } = await withPage(t);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await openWidget(page);
  assert.ok(XSS.length >= 10);
  const dangerous = 'img,script,svg,iframe,a,style,details,math,input,object,embed,body,table';
  const count = () => page.evaluate((sel) => {
    const r = document.querySelector('#bw-host').shadowRoot;
    return { shadow: r.querySelectorAll(sel).length, doc: document.querySelectorAll(sel).length };
  }, dangerous);
  const base = await count();
  for (const payload of XSS) {
    await say(page, payload);
    const mine = page.locator(ui.homeowner).last();
    assert.equal(await mine.textContent(), payload.trim(), 'shown verbatim');
    assert.equal(await mine.evaluate((e) => e.childElementCount), 0, 'no element inside the message');
  }
  await page.waitForTimeout(500);
  assert.deepEqual(await count(), base, 'no new img/script/svg/iframe/a/... anywhere');
  const bots = await page.locator(ui.assistant).evaluateAll((els) => els.map((e) => e.childElementCount));
  assert.ok(bots.every((n) => n === 0), 'replies quoting the payload are text too');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no payload ran');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
});

test('keyboard only: Tab to the bubble, Enter opens, Esc closes and focus returns', async (t) => {
  const { page } = await withPage(t);
  await page.goto(`${SITE_URL}/`);
  await page.locator(ui.bubble).waitFor();
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    const inner = a && a.shadowRoot ? a.shadowRoot.activeElement : null;
    return inner ? inner.getAttribute('data-testid') : (a && a.id) || (a && a.tagName);
  });
  let n = 0;
  while ((await focused()) !== 'bw-bubble') {
    assert.ok(++n < 80, 'Tab reaches the bubble');
    await page.keyboard.press('Tab');
  }
  // Focus moved the loader to load the widget; the widget's bubble keeps the focus.
  await until(() => page.evaluate(() => !!window.__bw.ms), 10_000, 'the widget mounted');
  await page.waitForTimeout(200);
  assert.equal(await focused(), 'bw-bubble', 'focus stays on the bubble across the mount');
  await page.keyboard.press('Enter');
  await page.locator(ui.panel).waitFor({ state: 'visible' });
  await until(async () => (await focused()) === 'bw-input', 5000, 'focus in the input');
  assert.equal(await page.locator(ui.bubble).getAttribute('aria-expanded'), 'true');
  // The panel is patched in place (widget/src/node.rs): the input that has the focus is
  // the same element after the message, the reply and the quick replies' going.
  await page.locator(ui.input).evaluate((i) => { i.__kept = true; });
  await page.keyboard.type('My toilet keeps running');
  await page.keyboard.press('Enter');
  await until(async () => (await page.locator(ui.homeowner).count()) === 1, 5000, 'sent with Enter');
  await until(async () => (await page.locator(ui.assistant).count()) >= 2, 5000, 'the reply');
  assert.equal(await page.locator(ui.input).evaluate((i) => i.__kept === true), true, 'the same input element');
  assert.equal(await focused(), 'bw-input', 'focus stays in the input across the re-render');
  await page.keyboard.type('Dana');
  assert.equal(await page.locator(ui.input).inputValue(), 'Dana', 'typing goes on into it');
  await page.locator(ui.input).fill('');
  await page.keyboard.press('Escape');
  await page.locator(ui.panel).waitFor({ state: 'detached' });
  await until(async () => (await focused()) === 'bw-bubble', 5000, 'focus back on the bubble');
  assert.equal(await page.locator(ui.bubble).getAttribute('aria-expanded'), 'false');
});

test('axe-core: no serious or critical violations in the open widget', async (t) => {
  const { page } = await withPage(t);
  await openWidget(page);
  await say(page, 'My AC stopped cooling');
  await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(() => window.axe.run({ include: [['#bw-host']] }, { resultTypes: ['violations', 'passes'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
  assert.deepEqual(bad, []);
  // It did look inside the shadow root (targets there are [host, inner selector]).
  const inner = r.passes.flatMap((p) => p.nodes).filter((n) => Array.isArray(n.target[0]) || n.target.length > 1);
  assert.ok(inner.length > 5, 'axe checked elements inside the shadow root');
});

test('emergency: "I smell gas" shows the safety banner first', async (t) => {
  const { page } = await withPage(t);
  await openWidget(page);
  await say(page, 'I smell gas in my basement');
  const banner = page.locator(ui.emergency);
  await banner.waitFor({ state: 'visible' });
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.match(await banner.textContent(), /911/);
  assert.equal(await banner.locator('a[href="tel:+16125550100"]').count(), 1);
  assert.match((await texts(page, ui.assistant)).join(' '), /leave the house/i, 'the safety instructions');
});

test('"talk to a person" gives the tel: hand-off', async (t) => {
  const { page } = await withPage(t);
  await openWidget(page);
  const link = page.locator(ui.handoff);
  assert.equal(await link.getAttribute('class'), null, 'not highlighted before');
  await say(page, 'Can I talk to a real person please?');
  assert.equal(await link.getAttribute('href'), 'tel:+16125550100');
  await until(async () => /strong/.test(await link.getAttribute('class') || ''), 5000, 'the hand-off highlighted');
  assert.match(await lastBot(page), /call our office at/i);
});

test('attribution: ?ref= and utm_source reach the booking; events and dataLayer fire', async (t) => {
  const { page, errors } = await withPage(t);
  await page.addInitScript(() => {
    window.__ev = [];
    for (const n of ['bw:opened', 'bw:contact-captured', 'bw:booking-completed']) {
      document.addEventListener(n, (e) => window.__ev.push([n, e.detail]));
    }
  });
  let sent = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/v1/sites/northstar/bookings')) sent = r.postDataJSON();
  });
  await openWidget(page, '/?ref=JSMITH123&utm_source=google');
  const reference = await book(page, { name: 'Harriet Quill', phone: '612-555-0162', address: '3907 Chicago Ave, Minneapolis, MN 55407' });

  // What the widget sent.
  assert.equal(sent.referralCode, 'JSMITH123');
  assert.equal(sent.utm.source, 'google');
  assert.match(sent.pageUrl, /ref=JSMITH123/);
  assert.equal(sent.smsConsent, undefined, 'consent travels in the turns, not a field');
  assert.equal(sent.turns.at(-1).text, 'Book it');
  assert.ok(!sent.turns.some((x) => /^Text messages: yes/.test(x.text)), 'no opt-in ticked');
  // What ServiceTitan got: the job with the campaign site config maps google to.
  const jobs = await jobsOf(reference);
  assert.equal(jobs.length, 1);
  const site = JSON.parse(readFileSync(new URL('../../examples/sites/northstar.json', import.meta.url), 'utf8'));
  assert.equal(jobs[0].campaignId, site.campaignsByUtmSource.google, 'utm_source=google picks its campaign');
  if (site.referralCustomFieldId != null) {
    assert.ok((jobs[0].customFields || []).some((f) => f.value === 'JSMITH123'), 'the referral custom field');
  }
  assert.match(jobs[0].summary || '', /JSMITH123/, 'the referral code is in the job summary the office reads');
  assert.match(jobs[0].summary || '', /Text messages: no consent/, 'no opt-in ticked, none recorded');

  // Site-owner events, in order, without personal data; the same in dataLayer.
  const ev = await page.evaluate(() => window.__ev);
  assert.deepEqual(ev.map((e) => e[0]), ['bw:opened', 'bw:contact-captured', 'bw:booking-completed']);
  assert.equal(ev[2][1].reference, reference);
  assert.equal(ev[2][1].status, 'booked');
  assert.equal(ev[2][1].site, 'northstar');
  assert.doesNotMatch(JSON.stringify(ev), /Harriet|0162|Chicago Ave/);
  const dl = await page.evaluate(() => (window.dataLayer || []).map((x) => x.event));
  for (const e of ['booking_widget_opened', 'booking_widget_contact_captured', 'booking_widget_booking_completed']) {
    assert.ok(dl.includes(e), `dataLayer has ${e}: ${dl}`);
  }
  assert.deepEqual(errors, []);
});

test('the card: live arrival windows, Edit and back, SMS opt-in, resume, a picked window on the job, Start over', async (t) => {
  const { page, errors } = await withPage(t);
  let sent = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/v1/sites/northstar/bookings')) sent = r.postDataJSON();
  });
  await openWidget(page);
  await sayAll(page, [AC_TOMORROW, 'Odile Brandt', '612-555-0163', '4419 Xerxes Ave S, Minneapolis, MN 55410', 'Yes']);
  await page.locator(ui.card).waitFor({ state: 'visible' });
  // The site offers live availability: the card asks the worker, which asks ServiceTitan;
  // booking-core keeps the ones that may be booked, the stated preference first.
  const chips = page.locator('[data-testid="bw-window"]');
  await until(async () => (await chips.count()) > 0, 10_000, 'arrival windows from the availability route');
  const offered = await (await fetch(`${WORKER_URL}/v1/sites/northstar/availability?trade=hvac&zip=55410`)).json();
  assert.ok((await chips.count()) <= Math.min(6, offered.windows.length), 'no window the worker did not offer');

  // Edit: booking-core reads the summary back; the same "yes" brings the card back.
  await page.locator('[data-testid="bw-edit"]').click();
  await until(async () => (await page.locator(ui.card).count()) === 0, 5000, 'the card gone');
  await until(() => page.locator(ui.input).isEnabled(), 5000, 'the input enabled again');
  assert.match(await lastBot(page), /Odile Brandt/, 'the summary again');
  await say(page, 'Yes');
  await page.locator(ui.card).waitFor({ state: 'visible' });
  await until(async () => (await chips.count()) > 0, 10_000, 'the windows again');

  // Pick the second window (or the only one), tick SMS.
  const pick = Math.min(1, (await chips.count()) - 1);
  const label = (await chips.nth(pick).textContent()).trim();
  await chips.nth(pick).click();
  assert.equal(await chips.nth(pick).getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('[data-testid="bw-window"][aria-pressed="true"]').count(), 1, 'one window picked');
  await page.locator('[data-testid="bw-sms-consent"]').check();
  assert.equal(await page.locator('[data-testid="bw-sms-consent"]').isChecked(), true);

  // A reload replays the turns (the taps are turns): the same card, the same choices.
  await page.reload();
  await page.locator(ui.card).waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="bw-sms-consent"]').isChecked(), true, 'SMS still ticked');
  const picked = page.locator('[data-testid="bw-window"][aria-pressed="true"]');
  await until(async () => (await picked.count()) === 1, 10_000, 'the picked window among the live ones again');
  assert.equal((await picked.textContent()).trim(), label);

  await page.locator(ui.confirm).click();
  const jobs = await jobsOf(await shownReference(page));
  assert.equal(jobs.length, 1);
  // What went: booking-core's turns, the taps written by it, "Book it" last.
  const turns = sent.turns.map((x) => x.text);
  assert.equal(turns.at(-1), 'Book it');
  assert.ok(turns.includes('Text messages: yes'), JSON.stringify(turns));
  const windowTurn = turns.findLast((x) => x.startsWith('Arrival window:'));
  assert.ok(windowTurn.includes(label), `the pick's turn carries its label: ${windowTurn}`);
  const start = Number(windowTurn.match(/\[(\d+)-(\d+)\]$/)[1]);
  assert.ok(offered.windows.some((w) => w.start === start), 'a window the worker offered');
  const appt = jobs[0].appointments?.[0] || {};
  assert.equal(Date.parse(appt.arrivalWindowStart || appt.start) / 1000, start, 'the job is in the picked window');
  assert.match(jobs[0].summary || '', /Text messages: yes, opted in/, 'the opt-in reaches the job');

  // Start over: a new conversation, greeting first, nothing of the last one on screen.
  await page.locator('[data-testid="bw-restart"]').click();
  await until(async () => (await page.locator(ui.success).count()) === 0, 5000, 'the success card gone');
  await until(async () => (await page.locator('[data-testid="bw-msg"]').count()) === 1, 5000, 'only the greeting');
  assert.match(await lastBot(page), /Northstar/);
  await until(() => page.locator(ui.input).isEnabled(), 5000, 'the input enabled');
  assert.deepEqual(errors, []);
});

test('leaving after giving contact details sends the abandonment beacon; the owner gets the webhook', { skip: !process.env.WEBHOOK_PORT }, async (t) => {
  const hooks = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { hooks.push(body); res.writeHead(200).end('ok'); });
  });
  await new Promise((ok) => server.listen(Number(process.env.WEBHOOK_PORT), '127.0.0.1', ok));
  t.after(() => server.close());
  const { page, errors } = await withPage(t);
  await openWidget(page);
  await sayAll(page, ['My kitchen sink is leaking under the cabinet', 'Priya Lund', '612-555-0164']);
  const key = await page.evaluate(() => JSON.parse(localStorage.getItem('bw:v3:northstar')).key);
  assert.match(key, /^bw-/);
  // The homeowner leaves without booking: a real navigation (pagehide).
  await page.goto(`${SITE_URL}/csp.html`);
  const hook = await until(() => hooks.find((h) => h.includes(key)), 20_000, 'the qualified-abandonment webhook');
  const body = JSON.parse(hook);
  assert.equal(body.event, 'session.qualified_abandoned');
  assert.equal(body.data.phone, '6125550164');
  assert.match(JSON.stringify(body.data.turns), /kitchen sink/);
  // Reported once: the saved conversation remembers it.
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('bw:v3:northstar')).abandoned), true);
  assert.deepEqual(errors, []);
});

// Changes fields of the saved conversation in localStorage, then reloads the page.
async function plantSaved(page, patch) {
  await page.evaluate((p) => {
    const k = 'bw:v3:northstar';
    localStorage.setItem(k, JSON.stringify({ ...JSON.parse(localStorage.getItem(k)), ...p }));
  }, patch);
  await page.reload();
}
const ago = (secs) => Math.floor(Date.now() / 1000) - secs;
const DAY = 86_400;

test('the saved conversation expires: a week-old one is dropped, a day-old finished booking too', async (t) => {
  const { page, errors } = await withPage(t);
  await openWidget(page);
  await sayAll(page, ['My furnace is making a loud banging noise', 'Dana Whitfield']);
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('bw:v3:northstar')));
  assert.ok(saved.savedAt > 0, 'the save says when it was made');
  assert.equal(saved.doneAt, undefined, 'nothing is finished yet');

  // Six days old: still kept, the log comes back.
  await plantSaved(page, { savedAt: ago(6 * DAY) });
  await page.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(async () => (await page.locator(ui.homeowner).count()) === 2, 10_000, 'the six-day-old log');

  // Eight days old: dropped on load; the widget starts fresh and keeps nothing.
  await plantSaved(page, { savedAt: ago(8 * DAY) });
  await until(() => page.evaluate(() => !!window.__bw.ms), 15_000, 'the widget mounted (a save makes it load at idle)');
  await until(() => page.evaluate(() => localStorage.getItem('bw:v3:northstar') === null), 5000, 'the old save removed');
  await page.locator(ui.bubble).click();
  await until(async () => (await page.locator(ui.assistant).count()) === 1, 10_000, 'only the greeting');
  assert.equal(await page.locator(ui.homeowner).count(), 0, 'nothing of the old conversation');

  // A finished booking: its success card comes back within the day, not after it.
  await say(page, 'My AC stopped cooling');
  const done = { phase: 'done', open: true, done: { status: 'received', reference: 'W-TEST-0000', message: 'We have your request.' } };
  await plantSaved(page, { ...done, doneAt: ago(3600) });
  await page.locator('[data-testid="bw-reference"]').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('[data-testid="bw-reference"]').textContent(), 'W-TEST-0000');
  assert.equal(await page.locator(ui.success).getAttribute('data-status'), 'received');
  await plantSaved(page, { ...done, doneAt: ago(DAY + 3600) });
  await until(() => page.evaluate(() => !!window.__bw.ms), 15_000, 'the widget mounted');
  await until(() => page.evaluate(() => localStorage.getItem('bw:v3:northstar') === null), 5000, 'the finished booking removed');
  assert.equal(await page.locator(ui.success).count(), 0);
  assert.deepEqual(errors, []);
});

// Issue 14 item 4: the text after a missed call links to the contractor's page with the
// caller's phone (`?bw-phone=`, booking-core's voice::booking_link).
test('the missed-call text\'s link opens the chat; its phone is confirmed with one tap and reaches ServiceTitan', async (t) => {
  const { page, errors } = await withPage(t);
  let sent = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/v1/sites/northstar/bookings')) sent = r.postDataJSON();
  });
  await page.goto(`${SITE_URL}/?bw-phone=6125550100`);
  // No click: the loader opens the chat for a booking link.
  await page.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(async () => (await page.locator(ui.assistant).count()) > 0, 10_000, 'the greeting');
  await until(() => page.locator(ui.input).isEnabled(), 10_000, 'the input enabled');
  await sayAll(page, [AC_TOMORROW, 'Wendell Okafor']);
  assert.equal(await lastBot(page), 'Thanks, Wendell. Is (612) 555-0100 the best number to reach you?');
  const chips = (await texts(page, ui.quick)).map((x) => x.trim());
  assert.deepEqual(chips, ['Yes', 'Use another number']);
  await page.locator(ui.quick).first().click();
  await until(async () => /address/i.test(await lastBot(page)), 10_000, 'the address question');
  await sayAll(page, ['2817 Emerson Ave S, Minneapolis, MN 55408', 'Yes']);
  await page.locator(ui.card).waitFor({ state: 'visible' });
  const lines = await texts(page, '[data-testid="bw-card-line"]');
  assert.ok(lines.some((l) => /\(612\) 555-0100/.test(l)), `the link's phone on the card: ${lines}`);
  await page.locator(ui.confirm).click();
  const reference = await shownReference(page);
  assert.match(reference, REFERENCE);
  // The phone travels as booking-core's turn, and the worker's replay books it.
  assert.equal(sent.turns[0].text, 'Phone from the booking link: 6125550100');
  const { jobs, bookings } = await withReference(reference);
  const digits = (v) => String(v).replace(/\D/g, '');
  const phoneReached = await until(async () => {
    const contacts = (await records()).contacts || [];
    return contacts.some((k) => digits(k.value) === '6125550100'
      && ((jobs[0] && k.customerId === jobs[0].customerId) || (bookings[0] && k.bookingId === bookings[0].id)));
  }, 30_000, 'the phone among the contacts of the booked customer');
  assert.ok(phoneReached);
  assert.deepEqual(errors, []);
});

test('a booking link whose phone is not a US number (or is markup) is ignored: shown as nothing, asked as usual', async (t) => {
  const { page, errors } = await withPage(t);
  await page.goto(`${SITE_URL}/?bw-phone=${encodeURIComponent('<img src=x onerror=window.__xss=1>')}`);
  await page.locator(ui.input).waitFor({ state: 'visible', timeout: 15_000 });
  await until(() => page.locator(ui.input).isEnabled(), 10_000, 'the input enabled');
  await sayAll(page, [AC_TOMORROW, 'Wendell Okafor']);
  assert.equal(await lastBot(page), "Thanks, Wendell. What's the best phone number to reach you?");
  const imgs = await page.evaluate(() => document.querySelector('#bw-host').shadowRoot.querySelectorAll('img').length
    + document.querySelectorAll('img[src="x"]').length);
  assert.equal(imgs, 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(errors, []);
});
