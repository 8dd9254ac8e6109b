// The owner page (issue 16 item 5) in Chromium: GET /v1/admin/ behind the admin token,
// every site with its ServiceTitan connection checked right now (a revoked scope is
// named in the portal's words), the "send a test booking" button booking into the
// emulator, and the session and its webhook delivery listed afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, WORKER_URL, SANDBOX_URL, SECRETS, jobsOf, until } from './lib.mjs';

const TOKEN = process.env.ADMIN_TOKEN;
const PAGE = `${WORKER_URL}/v1/admin/`;

const revoke = (revoked) => fetch(`${SANDBOX_URL}/_admin/scopes`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ revoked }),
});

test('the owner page needs the admin token; a browser is asked for it', async () => {
  const r = await fetch(PAGE, { headers: { accept: 'text/html' } });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate') || '', /^Basic /);
  const wrong = await fetch(PAGE, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
});

test('owner page: sites and their connection, a revoked scope named, a test booking listed with its delivery', { timeout: 180_000 }, async () => {
  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
    await page.goto(PAGE);
    const northstar = page.locator('[data-testid=site][data-site=northstar]');
    assert.equal(await northstar.locator('[data-testid=connection]').getAttribute('data-ok'), 'true',
      await northstar.locator('[data-testid=connection]').innerText());

    assert.equal((await revoke(['crm.customers:write'])).status, 200);
    try {
      await page.reload();
      const conn = northstar.locator('[data-testid=connection]');
      assert.equal(await conn.getAttribute('data-ok'), 'false');
      const problems = await northstar.locator('[data-testid=problem]').allInnerTexts();
      assert.ok(problems.some((p) => p.includes('CRM › Customers: Write')), problems.join(' | '));
    } finally {
      await revoke([]);
    }

    await page.reload();
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/admin/test-booking')),
      northstar.locator('[data-testid=test-booking]').click(),
    ]);
    assert.equal(posted.status(), 303, `the test booking answered ${posted.status()}: ${await posted.text().catch(() => '')}`);
    await page.waitForURL(/\/v1\/admin\/\?site=northstar&test=W-/);
    const sent = await page.locator('[data-testid=test-sent]').innerText();
    const reference = sent.match(/W-[0-9A-Z]{4}-[0-9A-Z]{4}/)[0];
    assert.equal((await jobsOf(reference, 90_000)).length, 1, 'one job for the test booking');

    // Its session, with what the office got, and the owner's webhook attempt for it.
    await until(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await page.reload();
      const rows = await northstar.locator('[data-testid=session]').allInnerTexts();
      const deliveries = await northstar.locator('[data-testid=delivery]').count();
      return rows.some((r) => r.includes('booked') && /job \d+/.test(r)) && deliveries > 0;
    }, 60_000, 'the test booking and its webhook delivery on the page');
    const html = await page.content();
    for (const s of SECRETS) assert.ok(!html.includes(s), 'no secret on the owner page');
  } finally {
    await ctx.close();
  }
});

// Regression: under a proxy the URL the worker sees may name another host than the
// browser's, so the page's own button was refused; the browser's Sec-Fetch-Site decides
// first, and a form from another site is still refused.
test('a test booking posted from another site is refused, whatever its Origin claims', async () => {
  const post = (headers) => fetch(`${WORKER_URL}/v1/admin/test-booking`, {
    method: 'POST',
    redirect: 'manual',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: 'site=northstar',
  });
  assert.equal((await post({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, 403);
  assert.equal((await post({ origin: WORKER_URL, 'sec-fetch-site': 'same-site' })).status, 403);
  assert.equal((await post({ origin: 'https://evil.example' })).status, 403);
  const unknown = await post({ 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(unknown.status, 303, 'a form without Origin (a script, curl) is taken: the token is its proof');
});
