// Widget timings in headless Chromium on the stack's contractor site: loader start ->
// bubble shown, and the homeowner's first interaction with the bubble -> chat input
// usable, with cache disabled and a fresh browser context per run, at normal speed
// and with 4x CPU throttling; plus the bytes fetched before any interaction.
// Run by `cargo xtask bench` (SITE_URL set); writes JSON to $BENCH_OUT.
import { chromium } from 'playwright-core';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const SITE_URL = process.env.SITE_URL;
const OUT = process.env.BENCH_OUT || 'target/bench/widget.json';
const RUNS = Number(process.env.BENCH_RUNS || 7);
if (!SITE_URL) throw new Error('SITE_URL is unset; run through `cargo xtask bench`');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};

// Same flags as tests/e2e/lib.mjs (no background traffic to unreachable hosts).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

async function once(throttle) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' || m.type() === 'warning' ? errors.push(m.text()) : null);
  try {
    return await measure(page, context, throttle);
  } catch (e) {
    const state = await page.evaluate(() => JSON.stringify({ bw: window.__bw, interest: window.__benchInterest })).catch(() => '?');
    console.log(`widget: cpu x${throttle}: run failed: ${String(e).split('\n')[0]}; page state ${state}; page errors ${JSON.stringify(errors.slice(0, 3))}`);
    return { failed: true, error: String(e).split('\n')[0], pageErrors: errors.slice(0, 3) };
  } finally {
    await context.close();
  }
}

async function measure(page, context, throttle) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (throttle > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
  // Bytes per response (encodedDataLength = headers + body as transferred), tagged with
  // the phase it finished in.
  let phase = 'before';
  const urls = new Map();
  const fetched = [];
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => fetched.push({ url: urls.get(e.requestId) || '?', bytes: e.encodedDataLength, phase }));
  await page.goto(`${SITE_URL}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__bw && window.__bw.shown !== undefined, null, { timeout: 20_000 });
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
  const before = await page.evaluate(() => ({ t0: window.__bw.t0, shown: window.__bw.shown, mounted: window.__bw.ms ?? null }));
  // The first pointer event that reaches the bubble (hover starts the download, as for a
  // real homeowner), then the click.
  await page.evaluate(() => {
    const host = document.querySelector('#bw-host');
    const mark = (e) => { if (e.composedPath().includes(host) && window.__benchInterest === undefined) window.__benchInterest = performance.now(); };
    document.addEventListener('pointerover', mark, true);
    document.addEventListener('pointerdown', mark, true);
  });
  phase = 'after';
  await page.locator('[data-testid="bw-bubble"]').click();
  const ready = await page.waitForFunction(() => {
    const root = document.querySelector('#bw-host')?.shadowRoot;
    const input = root && root.querySelector('[data-testid="bw-input"]');
    if (!input || input.disabled || !input.checkVisibility()) return false;
    return { at: performance.now(), focused: root.activeElement === input };
  }, null, { polling: 'raf', timeout: 30_000 }).then((h) => h.jsonValue());
  const after = await page.evaluate(() => ({
    interest: window.__benchInterest,
    mountedAt: window.__bw.ms === undefined ? null : window.__bw.t0 + window.__bw.ms,
  }));
  const sum = (xs) => xs.reduce((t, x) => t + x.bytes, 0);
  const beforeFiles = fetched.filter((f) => f.phase === 'before');
  return {
    navToLoader: before.t0,
    loaderToShown: before.shown,
    mountedBeforeClick: before.mounted !== null,
    interestToInteractive: ready.at - after.interest,
    interestToMounted: after.mountedAt === null ? null : after.mountedAt - after.interest,
    focused: ready.focused,
    bytesBefore: sum(beforeFiles),
    widgetBytesBefore: sum(beforeFiles.filter((f) => f.url.includes('/widget/'))),
    widgetFilesBefore: beforeFiles.filter((f) => f.url.includes('/widget/')).map((f) => f.url.replace(/^.*\/widget\//, '')),
    bytesAfter: sum(fetched.filter((f) => f.phase === 'after')),
  };
}

const result = { runs: RUNS, modes: [] };
try {
  for (const throttle of [1, 4]) {
    const all = [];
    for (let i = 0; i < RUNS; i++) all.push(await once(throttle));
    const runs = all.filter((r) => !r.failed);
    const m = (k) => median(runs.map((r) => r[k]));
    const mode = {
      throttle,
      runs: all,
      failed: all.filter((r) => r.failed).length,
      navToLoaderMs: m('navToLoader'),
      loaderToShownMs: m('loaderToShown'),
      interestToInteractiveMs: m('interestToInteractive'),
      interestToInteractiveMaxMs: runs.length ? Math.max(...runs.map((r) => r.interestToInteractive)) : null,
      interestToMountedMs: m('interestToMounted'),
      bytesBefore: m('bytesBefore'),
      widgetBytesBefore: m('widgetBytesBefore'),
      widgetFilesBefore: [...new Set(runs.flatMap((r) => r.widgetFilesBefore))],
      bytesAfter: m('bytesAfter'),
      eagerMounts: runs.filter((r) => r.mountedBeforeClick).length,
      focusedRuns: runs.filter((r) => r.focused).length,
    };
    result.modes.push(mode);
    console.log(`widget: cpu x${throttle}: loader->bubble ${mode.loaderToShownMs?.toFixed(1)} ms, interest->interactive `
      + `${mode.interestToInteractiveMs?.toFixed(1)} ms (median of ${runs.length}; ${mode.failed} failed), ${mode.widgetBytesBefore} widget bytes before interaction`);
  }
} finally {
  await browser.close();
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2));
