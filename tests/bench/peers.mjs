// Peers side by side (issue 17 item 1): the embeddable chat widgets that ship their
// client in their npm package, fetched at the versions pinned in tests/bench/peers.json,
// served from one local host page the way a site ships them, and measured beside ours
// (loader.js + the widget it loads on interest) in the same headless Chromium with the
// same CPU throttle: bytes (raw, gzip, brotli) before and after interaction, the main
// thread's long tasks and total blocking time the widget adds to the page, and
// interest -> interactive (the launcher clicked -> the chat input usable).
//
// Fetching: `npm pack` into target/peers/cache (the tarballs, kept: later runs work
// offline) and, for a peer whose dependencies install, `npm install --prefix
// target/peers/<name> --ignore-scripts` (never in the repo's node_modules). A peer that
// is a library for a site's own bundle (React components) is bundled with the repo's
// esbuild, minified, as a site would ship it.
//
// Run by `cargo xtask bench` (WORKER_URL set: our widget's GETs go to the stack's worker
// through this page's server, so the page stays one origin); writes JSON to $BENCH_OUT.
//   node tests/bench/peers.mjs            (PEERS_RUNS=N, PEERS_THROTTLE=X to change)
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, cpSync, rmSync, statSync } from 'node:fs';
import { dirname, join, extname, normalize } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const ROOT = process.env.ROOT || process.cwd();
const OUT = process.env.BENCH_OUT || join(ROOT, 'target/bench/peers.json');
const RUNS = Number(process.env.PEERS_RUNS || 3);
const THROTTLE = Number(process.env.PEERS_THROTTLE || 4);
const WORKER_URL = process.env.WORKER_URL || '';
const DIR = process.env.PEERS_DIR || join(ROOT, 'target/peers');
const CACHE = join(DIR, 'cache');
const SITE = join(DIR, 'site');
const PINS = JSON.parse(readFileSync(join(ROOT, 'tests/bench/peers.json'), 'utf8'));
const ESBUILD = join(ROOT, 'node_modules/.bin/esbuild');
// The whole script is bounded: a stuck browser or registry must not hold the bench.
const DEADLINE_MS = Number(process.env.PEERS_DEADLINE_MS || 12 * 60_000);
setTimeout(() => { console.error(`peers: gave up after ${DEADLINE_MS / 1000} s (PEERS_DEADLINE_MS)`); process.exit(2); }, DEADLINE_MS).unref();

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};

// ---------- fetching (npm) ----------

function npm(args, cwd, what) {
  try {
    // One retry, 30 s per request: an unreachable registry is said in about a minute, not five.
    return execFileSync('npm', [...args, '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=5000', '--fetch-timeout=30000'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000, encoding: 'utf8' });
  } catch (e) {
    const lines = String(e.stderr || '').split('\n').filter((l) => /^npm (ERR|error)/.test(l)).map((l) => l.replace(/^npm (ERR!|error) ?/, ''));
    const why = (e.signal ? `npm timed out after 180 s; ` : '') + (lines.slice(0, 2).join(' ') || String(e.message).split('\n')[0]);
    throw new Error(`peers: could not fetch ${what} from the npm registry (is it reachable? ${why.trim()}). `
      + 'The peers bench needs the registry once; afterwards it runs offline from target/peers.');
  }
}

// The published tarball, kept under target/peers/cache.
function tarball(pkg, version) {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `${pkg.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(file)) npm(['pack', `${pkg}@${version}`, '--pack-destination', CACHE, '--loglevel=error'], CACHE, `${pkg}@${version}`);
  if (!existsSync(file)) throw new Error(`peers: npm pack ${pkg}@${version} wrote no ${file}`);
  return file;
}

// The tarball unpacked to target/peers/<name>/package (what npm publishes, nothing else).
function unpacked(peer) {
  const file = tarball(peer.package, peer.version);
  const dir = join(DIR, peer.name, 'tarball');
  const stamp = join(dir, '.version');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== peer.version) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', file, '-C', dir], { timeout: 60_000 });
    writeFileSync(stamp, peer.version);
  }
  return join(dir, 'package');
}

// The package with its dependencies, in its own prefix (the repo's node_modules untouched).
function installed(peer) {
  unpacked(peer); // the tarball is kept too, for the record and offline runs
  const dir = join(DIR, peer.name);
  const stamp = join(dir, 'node_modules/.peers-install');
  const want = peer.install.join(' ');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
    npm(['install', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline',
      '--no-save', '--legacy-peer-deps', ...peer.install], dir, want);
    writeFileSync(stamp, want);
  }
  return dir;
}

function esbuild(dir, entry, source, jsx) {
  writeFileSync(join(dir, entry), source);
  execFileSync(ESBUILD, [entry, '--bundle', '--minify', '--format=iife', `--jsx=${jsx}`, '--log-level=warning',
    '--define:process.env.NODE_ENV="production"', '--outdir=out'], { cwd: dir, timeout: 120_000 });
  return join(dir, 'out');
}

// ---------- how each one is shipped on the page ----------
// Each entry: files copied under site/<name>/, the snippet the page embeds, the
// launcher and the chat input (CSS, searched through open shadow roots; `frame` when
// they live in the widget's iframe), and what the package leaves to a hosted service.

const FAKE_ID = '00000000-0000-4000-8000-000000000000';
const SHIPS = {
  ours: {
    label: 'ours (loader.js + widget on interest)',
    prepare(out) { cpSync(join(ROOT, 'widget/dist'), join(out, 'widget'), { recursive: true }); },
    snippet: (o) => `<script async src="/ours/widget/loader.js" data-site="northstar" data-api="${o}"></script>`,
    launcher: '[data-testid="bw-bubble"]',
    input: '[data-testid="bw-input"]',
  },
  botpress: {
    prepare(out, peer) {
      const dir = installed(peer);
      const built = esbuild(dir, 'entry.jsx', `import { createRoot } from 'react-dom/client';
import { useState } from 'react';
import { Fab, Webchat } from '@botpress/webchat';
function App() {
  const [open, setOpen] = useState(false);
  return (<>
    <Webchat clientId="${FAKE_ID}" style={{ width: '400px', height: '600px', display: open ? 'flex' : 'none', position: 'fixed', bottom: '90px', right: '20px' }} />
    <Fab onClick={() => setOpen(!open)} style={{ position: 'fixed', bottom: '20px', right: '20px', width: '64px', height: '64px' }} />
  </>);
}
const el = document.createElement('div'); document.body.appendChild(el);
createRoot(el).render(<App />);
`, 'automatic');
      cpSync(built, out, { recursive: true });
    },
    snippet: () => '<link rel="stylesheet" href="/botpress/entry.css"><script defer src="/botpress/entry.js"></script>',
    launcher: '.bpFab, button[class*="Fab"], [class*="bpFab"]',
    input: 'textarea, input[type="text"]',
    hosted: 'its bot, configuration and messages come from Botpress Cloud (chat.botpress.cloud) for the clientId',
  },
  n8n: {
    prepare(out, peer) {
      const pkg = unpacked(peer);
      cpSync(join(pkg, 'dist/chat.bundle.umd.js'), join(out, 'chat.bundle.umd.js'));
      cpSync(join(pkg, 'dist/style.css'), join(out, 'style.css'));
    },
    snippet: (o) => '<link rel="stylesheet" href="/n8n/style.css"><script src="/n8n/chat.bundle.umd.js"></script>'
      + `<script>N8nChat.createChat({ webhookUrl: '${o}/n8n-webhook', mode: 'window', loadPreviousSession: false });</script>`,
    launcher: '.chat-window-toggle',
    input: '.chat-inputs textarea, textarea',
    hosted: 'the conversation is an n8n workflow behind webhookUrl (here a local URL answering 404)',
  },
  rocketchat: {
    prepare(out, peer) { cpSync(join(unpacked(peer), 'build'), join(out, 'livechat'), { recursive: true }); },
    snippet: (o) => `<script>(function(w,d,s,u){w.RocketChat=function(c){w.RocketChat._.push(c)};w.RocketChat._=[];w.RocketChat.url=u;
var h=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src='${o}/rocketchat/livechat/rocketchat-livechat.min.js?_=201903270000';
h.parentNode.insertBefore(j,h);})(window,document,'script','${o}/rocketchat/livechat?serverUrl=${encodeURIComponent(o)}');</script>`,
    frame: '#rocketchat-iframe',
    launcher: 'button, [class*="screen__chat-button"], [class*="button"]',
    input: 'textarea, [contenteditable="true"], input[type="text"]',
    hosted: 'the iframe talks to a Rocket.Chat server (DDP over WebSocket at the same URL) for its settings and messages',
  },
  papercups: {
    prepare(out, peer) {
      const dir = installed(peer);
      const built = esbuild(dir, 'entry.jsx', `import React from 'react';
import ReactDOM from 'react-dom';
import { ChatWidget } from '@papercups-io/chat-widget';
const el = document.createElement('div'); document.body.appendChild(el);
ReactDOM.render(<ChatWidget token="${FAKE_ID}" inbox="${FAKE_ID}" title="Welcome" baseUrl={location.origin + '/papercups-api'} />, el);
`, 'transform');
      cpSync(built, out, { recursive: true });
    },
    snippet: () => '<script defer src="/papercups/entry.js"></script>',
    launcher: '.Papercups-toggleButton',
    frame: '.Papercups-chatWindowContainer',
    input: 'textarea',
    hosted: 'the chat window itself is an iframe from chat-widget.papercups.io, not in the package; the launcher shows only once that iframe reports chat:loaded',
  },
};

// The same host page for every widget: text, a heading, no other scripts.
function hostPage(name, origin) {
  const snippet = name === 'none' ? '' : SHIPS[name].snippet(origin);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Northstar Heating &amp; Plumbing</title><style>body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem}</style></head>
<body><header><h1>Northstar Heating &amp; Plumbing</h1><p>Furnace, AC, plumbing and electrical repair in Minneapolis. Same-day service.</p></header>
<main>${'<section><h2>Services</h2><p>Furnace repair, AC tune-ups, water heaters, drain cleaning, panel upgrades.</p></section>'.repeat(8)}</main>
${snippet}</body></html>`;
}

// ---------- the local server ----------

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8',
  '.wasm': 'application/wasm', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json', '.woff2': 'font/woff2' };

function serve() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const page = url.pathname.match(/^\/page\/([a-z0-9]+)$/);
    if (page) return send(res, 200, TYPES['.html'], hostPage(page[1], origin));
    if (url.pathname.startsWith('/v1/')) return proxy(req, res, url);
    let rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    if (rel.includes('..')) return send(res, 400, 'text/plain', 'bad path');
    let file = join(SITE, rel);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return send(res, 404, 'text/plain', 'not found');
    send(res, 200, TYPES[extname(file)] || 'application/octet-stream', readFileSync(file));
  });
  let origin = '';
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    origin = `http://127.0.0.1:${server.address().port}`;
    ok({ server, origin });
  }));
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

// Our widget's GETs (site config, booking windows) to the stack's worker: same origin for
// the page, as a site proxying its API, or a site on the worker's allowed origin, sees it.
async function proxy(req, res, url) {
  if (!WORKER_URL) return send(res, 502, 'application/json', '{"error":"WORKER_URL unset"}');
  try {
    const r = await fetch(WORKER_URL + url.pathname + url.search, { method: req.method === 'GET' ? 'GET' : 'HEAD',
      signal: AbortSignal.timeout(10_000) });
    send(res, r.status, r.headers.get('content-type') || 'application/json', Buffer.from(await r.arrayBuffer()));
  } catch (e) {
    send(res, 502, 'application/json', JSON.stringify({ error: String(e) }));
  }
}

// ---------- sizes of what the browser fetched ----------

const sizeCache = new Map();
function sizeOf(path) {
  if (!sizeCache.has(path)) {
    const buf = readFileSync(path);
    sizeCache.set(path, {
      raw: buf.length,
      gzip: gzipSync(buf, { level: 9 }).length,
      brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }).length,
    });
  }
  return sizeCache.get(path);
}

// The widget's files (everything but the host page and proxied API answers), summed.
function bytesOf(urls, origin) {
  const t = { raw: 0, gzip: 0, brotli: 0, files: 0 };
  for (const u of new Set(urls)) {
    if (!u.startsWith(origin + '/') || u.startsWith(origin + '/page/') || u.startsWith(origin + '/v1/')) continue;
    let file = join(SITE, decodeURIComponent(new URL(u).pathname));
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) continue;
    const s = sizeOf(file);
    t.raw += s.raw; t.gzip += s.gzip; t.brotli += s.brotli; t.files += 1;
  }
  return t;
}

export { bytesOf, sizeOf, hostPage, SHIPS };

// ---------- the browser ----------

// Long tasks of the page and its same-origin frames (they share its main thread), kept
// from the start of navigation.
const LONGTASKS = `(() => { if (window.top !== window) return; window.__lt = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__lt.push({ start: e.startTime, duration: e.duration }); })
    .observe({ type: 'longtask', buffered: true }); })();`;

// Finds a selector's first visible, enabled (and for an input, writable) match in a
// document, through open shadow roots.
const FIND_BODY = `const seen = [];
  const walk = (root) => { for (const el of root.querySelectorAll(a.sel)) seen.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot); };
  walk(document);
  const ok = seen.find((el) => el.checkVisibility && el.checkVisibility() && !el.disabled && !(a.input && el.readOnly));`;
// eslint-disable-next-line no-eval -- one body for both: Playwright sends a function's source to the page.
const FIND = (0, eval)(`(a) => { ${FIND_BODY} return ok ? performance.timeOrigin + performance.now() : false; }`);
const FIND_EL = (0, eval)(`(a) => { ${FIND_BODY} return ok || null; }`);

const tbt = (tasks) => tasks.reduce((t, x) => t + Math.max(0, x.duration - 50), 0);

async function frameOf(page, ship) {
  if (!ship.frame) return page.mainFrame();
  const handle = await page.waitForSelector(ship.frame, { state: 'attached', timeout: 10_000 }).catch(() => null);
  return handle ? handle.contentFrame() : null;
}

async function once(browser, name, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const external = new Set();
  // Nothing leaves the machine: a request to another host is refused at once (and named).
  await context.route((u) => !u.href.startsWith(origin) && !u.href.startsWith('data:') && !u.href.startsWith('blob:'),
    (route) => { external.add(new URL(route.request().url()).host); return route.abort('internetdisconnected'); });
  await context.addInitScript(LONGTASKS);
  const errors = [];
  page.on('pageerror', (e) => errors.push(process.env.PEERS_SHOTS ? String(e.stack) : String(e).split('\n')[0]));
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE });
    const r = await measure(page, name, origin);
    return { ...r, external: [...external], errors: errors.slice(0, 3) };
  } catch (e) {
    await shot(page, name, 'failed');
    return { failed: true, error: String(e).split('\n')[0], external: [...external], errors: errors.slice(0, 3) };
  } finally {
    await context.close();
  }
}

// PEERS_SHOTS=1: a screenshot per step under target/peers/shots (to see what a peer shows).
async function shot(page, name, step) {
  if (!process.env.PEERS_SHOTS) return;
  mkdirSync(join(DIR, 'shots'), { recursive: true });
  await page.screenshot({ path: join(DIR, 'shots', `${name}-${step}.png`) }).catch(() => {});
}

// Every URL the page or its frames finished loading, tagged with the phase.
function recorder(page) {
  const rec = { phase: 'before', before: [], after: [] };
  page.on('requestfinished', (r) => rec[rec.phase].push(r.url()));
  return rec;
}

async function settle(page) {
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  await page.waitForTimeout(1000);
}

async function measure(page, name, origin) {
  const rec = recorder(page);
  await page.goto(`${origin}/page/${name}`, { waitUntil: 'load', timeout: 30_000 });
  await settle(page);
  const before = await page.evaluate(() => ({ tasks: window.__lt.slice(), now: performance.now() }));
  const result = { longTasksBefore: before.tasks.length, tbtBefore: tbt(before.tasks),
    longestBefore: Math.max(0, ...before.tasks.map((t) => t.duration)) };
  if (name === 'none') return { ...result, bytesBefore: bytesOf(rec.before, origin) };
  const ship = SHIPS[name];
  await shot(page, name, 'before');
  rec.phase = 'after';
  const interaction = await interact(page, ship);
  await settle(page);
  await shot(page, name, 'after');
  const after = await page.evaluate((t) => window.__lt.filter((x) => x.start >= t), before.now);
  return { ...result, ...interaction, longTasksAfter: after.length, tbtAfter: tbt(after),
    bytesBefore: bytesOf(rec.before, origin), bytesAfter: bytesOf(rec.after, origin) };
}

// Interest (the first pointer event on the launcher's document) -> the chat input
// visible, enabled and writable, checked every animation frame in the input's document.
async function interact(page, ship) {
  const frame = await frameOf(page, ship);
  if (!frame) return { interactive: false, why: `no ${ship.frame} on the page` };
  const launcher = await frame.waitForFunction(FIND, { sel: ship.launcher }, { timeout: 8_000 }).then(() => true).catch(() => false);
  if (!launcher) return { interactive: false, why: 'no visible launcher' };
  await frame.evaluate(() => {
    const mark = () => { if (window.__interest === undefined) window.__interest = performance.timeOrigin + performance.now(); };
    document.addEventListener('pointerover', mark, true);
    document.addEventListener('pointerdown', mark, true);
  });
  const target = await frame.evaluateHandle(FIND_EL, { sel: ship.launcher });
  await target.asElement().click({ timeout: 8_000 });
  const inputFrame = (await frameOf(page, ship)) || frame;
  const ready = await inputFrame.waitForFunction(FIND, { sel: ship.input, input: true }, { polling: 'raf', timeout: 20_000 })
    .then((h) => h.jsonValue()).catch(() => null);
  const interest = await frame.evaluate(() => window.__interest);
  if (!ready) return { interactive: false, why: 'the chat input did not become usable within 20 s of the click' };
  return { interactive: true, interestToInteractive: ready - interest };
}

// ---------- the run ----------

async function main() {
  const peers = PINS.peers;
  rmSync(SITE, { recursive: true, force: true });
  for (const name of ['ours', ...peers.map((p) => p.name)]) {
    const out = join(SITE, name);
    mkdirSync(out, { recursive: true });
    console.log(`peers: preparing ${name}`);
    SHIPS[name].prepare(out, peers.find((p) => p.name === name));
  }
  const { server, origin } = await serve();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const result = { throttle: THROTTLE, runs: RUNS, worker: Boolean(WORKER_URL), widgets: [] };
  try {
    const only = process.env.PEERS_ONLY ? process.env.PEERS_ONLY.split(',') : null;
    for (const name of ['none', 'ours', ...peers.map((p) => p.name)].filter((n) => !only || only.includes(n))) {
      const all = [];
      for (let i = 0; i < RUNS; i++) all.push(await once(browser, name, origin));
      result.widgets.push(summarize(name, all, peers.find((p) => p.name === name)));
    }
  } finally {
    await browser.close();
    server.close();
  }
  const base = result.widgets.find((w) => w.name === 'none');
  for (const w of result.widgets) w.tbtAddedBefore = w.tbtBefore === null ? null : Math.max(0, w.tbtBefore - (base?.tbtBefore || 0));
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
}

function summarize(name, all, peer) {
  const ok = all.filter((r) => !r.failed);
  const m = (f) => median(ok.map(f));
  const sizes = (k) => ok.length ? { raw: m((r) => r[k]?.raw), gzip: m((r) => r[k]?.gzip), brotli: m((r) => r[k]?.brotli),
    files: m((r) => r[k]?.files) } : null;
  const interactive = ok.filter((r) => r.interactive);
  const w = {
    name,
    label: peer ? `${peer.package}@${peer.version}` : name === 'ours' ? SHIPS.ours.label : 'host page alone (no widget)',
    ship: peer?.ship || (name === 'ours' ? 'widget/dist as built' : ''),
    hosted: SHIPS[name]?.hosted || null,
    failed: all.length - ok.length,
    errors: [...new Set(all.flatMap((r) => r.failed ? [r.error] : []))],
    pageErrors: [...new Set(all.flatMap((r) => r.errors || []))].slice(0, 3),
    external: [...new Set(all.flatMap((r) => r.external || []))],
    bytesBefore: sizes('bytesBefore'),
    bytesAfter: name === 'none' ? null : sizes('bytesAfter'),
    longTasksBefore: m((r) => r.longTasksBefore),
    tbtBefore: m((r) => r.tbtBefore),
    longestBefore: m((r) => r.longestBefore),
    longTasksAfter: m((r) => r.longTasksAfter),
    tbtAfter: m((r) => r.tbtAfter),
    interactiveRuns: interactive.length,
    interestToInteractive: median(interactive.map((r) => r.interestToInteractive)),
    notInteractive: [...new Set(ok.filter((r) => !r.interactive && r.why).map((r) => r.why))],
  };
  // "Up front": the widget fetches more before interaction than after it.
  if (w.bytesBefore && w.bytesAfter) w.upFront = w.bytesBefore.raw > 0 && w.bytesBefore.raw >= w.bytesAfter.raw;
  console.log(`peers: ${name}: before ${w.bytesBefore?.gzip ?? '?'} B gzip, after ${w.bytesAfter?.gzip ?? '-'} B gzip, `
    + `TBT ${w.tbtBefore?.toFixed(0)} ms, interest->interactive ${w.interestToInteractive?.toFixed(0) ?? 'n/a'} ms `
    + `(${interactive.length}/${all.length}) ${w.notInteractive.join('; ')} ${w.errors.join('; ')}`);
  return w;
}

if (process.argv[1] && process.argv[1].endsWith('peers.mjs')) {
  main().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
}
