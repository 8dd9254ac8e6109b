// Walking skeleton: a homeowner books on the contractor site (problem with a time,
// name, phone, address, yes, Book it); the emulator ends up
// holding exactly one customer (with the location) and one job, and the widget shows
// that job's number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browser, records, requests, say, ui, until, SITE_URL, OUT } from './lib.mjs';

let ctx;
// No reset: this file runs first on the fresh stack `cargo xtask test` starts, so the
// emulator's journal still holds the worker's first OAuth token request.
before(async () => {
  ctx = await browser();
});
after(async () => ctx && ctx.close());

test('a homeowner books a job from the contractor site', async () => {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Any failed request of ours is an error; the browser's own favicon probe is not.
  page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${SITE_URL}/`);
  await page.locator(ui.bubble).click();
  try {
    await page.locator(ui.input).waitFor({ state: 'visible' });
  } catch (e) {
    await page.screenshot({ path: `${OUT}/booking-open-failed.png` });
    throw new Error(`the widget did not open: ${e.message}; page errors: ${errors.join(' | ')}`);
  }

  await say(page, 'My AC stopped cooling, can someone come tomorrow morning?');
  await say(page, 'Maria Gonzalez');
  await say(page, '612-555-0143');
  await say(page, '4417 W Lake St, Minneapolis, MN 55416');
  await say(page, 'Yes');
  // The confirmation card: the summary, SMS consent, then one tap to book.
  await page.locator(ui.confirm).click();

  const jobNumber = (await page.locator(ui.jobNumber).textContent({ timeout: 30_000 })).trim();
  await page.screenshot({ path: `${OUT}/booked-1280x800.png` });
  assert.match(jobNumber, /\S/, 'the widget shows a job number');

  const r = await records();
  const maria = r.customers.filter((c) => c.name === 'Maria Gonzalez');
  assert.equal(maria.length, 1, 'exactly one customer named Maria Gonzalez');
  const locs = r.locations.filter((l) => l.customerId === maria[0].id);
  assert.ok(locs.some((l) => /4417 W Lake St/i.test(l.address.street) && l.address.zip.startsWith('55416')),
    'the customer has the service location');
  const jobs = r.jobs.filter((j) => j.customerId === maria[0].id);
  assert.equal(jobs.length, 1, 'exactly one job for her');
  assert.equal(String(jobs[0].jobNumber), jobNumber, 'the widget shows the job the emulator holds');
  assert.ok(locs.some((l) => l.id === jobs[0].locationId), 'the job is at her location');

  const seen = (await requests()).map((q) => `${q.method} ${q.path}`);
  assert.ok(seen.some((s) => s === 'POST /connect/token'), 'the worker asked for an OAuth token');
  assert.ok(seen.some((s) => /^POST \/crm\/v2\/tenant\/\d+\/customers$/.test(s)), 'the worker created the customer');
  assert.ok(seen.some((s) => /^POST \/jpm\/v2\/tenant\/\d+\/jobs$/.test(s)), 'the worker created the job');
  assert.deepEqual(errors, [], 'no uncaught errors on the page');
});
