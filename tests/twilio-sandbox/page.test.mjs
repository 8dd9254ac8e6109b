// The emulator's page in Chromium against a scripted fake worker and a fake ServiceTitan
// emulator: a newcomer calls, types what the caller says, presses keys, hears the agent
// (speechSynthesis), sees SMS and ServiceTitan records as text, hangs up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startEmulator } from './server.mjs';
import { parseForm } from './sign.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.E2E_OUT || 'target/e2e';
let emu;
let fake;
let ctx;

before(async () => {
  fake = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const p = Object.fromEntries(parseForm(body));
      const xml = (s) => res.writeHead(200, { 'content-type': 'text/xml' }).end(`<Response>${s}</Response>`);
      const gather = (say) => `<Gather input="speech dtmf" action="gather" speechModel="phone_call" speechTimeout="3" actionOnEmptyResult="true" numDigits="5"><Say>${say}</Say></Gather>`;
      if (req.url === '/_admin/records') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ customers: [{ id: 7, name: 'Ann <b>Bold</b>', address: { street: '1 Main St', city: 'Minneapolis', state: 'MN', zip: '55405' } }], jobs: [{ id: 9, customerId: 7, priority: 'Normal', summary: 'Furnace' }], bookings: [], notes: [] }));
      } else if (req.url.endsWith('/incoming')) xml(gather('Hi, you are talking to an automated assistant. What can we help you with?'));
      else if (req.url.endsWith('/status')) res.writeHead(204).end();
      else if (p.Digits) xml(gather(`You pressed ${p.Digits}.`));
      else if (p.SpeechResult) xml(gather(`You said ${p.SpeechResult.replace(/&/g, '&amp;').replace(/</g, '&lt;')}.`));
      else xml(gather('Are you still there?'));
    });
  });
  await new Promise((r) => fake.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${fake.address().port}`;
  emu = await startEmulator({ authToken: 't', workerUrl: base, stUrl: base, site: 'northstar' });
});
after(async () => { ctx && await ctx.close(); await emu.close(); fake.close(); });

test('the page calls the agent: type, keys, hear the answers, see the records, hang up', { skip: !existsSync(CHROMIUM) && 'no Chromium' }, async () => {
  ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'tw-page-')), {
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  // Count what is spoken without needing an audio device.
  await page.addInitScript(() => {
    window.spoken = [];
    if (window.speechSynthesis) window.speechSynthesis.speak = (u) => window.spoken.push([u.text, u.lang]);
  });
  await page.goto(emu.url);
  await page.click('#call');
  const agent = page.locator('.line.agent');
  await agent.filter({ hasText: 'automated assistant' }).waitFor();
  await page.fill('#say', 'my furnace <script>x</script> & stuff');
  await page.press('#say', 'Enter');
  await agent.filter({ hasText: 'You said my furnace <script>x</script> & stuff.' }).waitFor();
  assert.equal(await page.locator('#transcript script').count(), 0, 'caller text is text');
  assert.equal(await page.locator('#dialRow').isVisible(), false, 'no transfer buttons while the agent listens');
  for (const k of ['5', '5', '4', '0', '5']) await page.click(`#keypad button:text-is("${k}")`);
  await agent.filter({ hasText: 'You pressed 55405.' }).waitFor();
  await page.click('#silence');
  await agent.filter({ hasText: 'Are you still there?' }).waitFor();
  const spoken = await page.evaluate(() => window.spoken);
  assert.ok(spoken.some(([t]) => /automated assistant/.test(t)) && spoken.some(([t]) => t === 'You pressed 55405.'), JSON.stringify(spoken));
  await page.locator('#st td', { hasText: 'Ann <b>Bold</b>' }).waitFor();
  assert.equal(await page.locator('#st b:text-is("Bold")').count(), 0, 'records are text');
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'twilio-page.png'), fullPage: true });
  await page.click('#hangup');
  await page.locator('#state', { hasText: 'ended' }).waitFor();
  const calls = (await (await fetch(`${emu.url}/calls`)).json()).calls;
  assert.equal(calls.length, 1);
  assert.ok(calls[0].requests.some((r) => r.url.endsWith('/status') && r.params.CallStatus === 'completed'));
});
