// Shared helpers for the browser end-to-end tests: one Chromium, the URLs of the
// running stack (set by `cargo xtask test`), and the emulator's admin API.
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SITE_URL = process.env.SITE_URL;
export const WORKER_URL = process.env.WORKER_URL;
export const SANDBOX_URL = process.env.SANDBOX_URL;
export const OUT = process.env.E2E_OUT || 'target/e2e';
export const SECRETS = (process.env.SECRET_VALUES || '').split(',').filter(Boolean);

if (!SITE_URL || !WORKER_URL || !SANDBOX_URL) {
  throw new Error('run these through `cargo xtask test`: SITE_URL, WORKER_URL and SANDBOX_URL are unset');
}

// Flags from ../shared/toolchain: without the background-networking ones Chromium
// keeps dialing hosts this machine cannot reach.
export async function browser(viewport = { width: 1280, height: 800 }) {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-chromium-'));
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

export async function admin(path, init) {
  const r = await fetch(`${SANDBOX_URL}${path}`, init);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

export const resetSandbox = () => admin('/_admin/reset', { method: 'POST' });
export const records = () => admin('/_admin/records');
export const requests = () => admin('/_admin/requests');

// Our confirmation reference (booking-core's booking::reference, Crockford base32),
// never a ServiceTitan id.
export const REFERENCE = /^W-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

// The emulator's jobs and office bookings that carry this reference (their summary has
// a "Web reference: W-XXXX-XXXX" line), once there is at least one, polled for up to
// `ms`: the worker answers before any ServiceTitan call, the records come after.
export async function withReference(reference, ms = 60_000) {
  return until(async () => {
    const r = await records();
    const mark = `Web reference: ${reference}`;
    const jobs = r.jobs.filter((j) => JSON.stringify(j).includes(mark));
    const bookings = (r.bookings || []).filter((b) => JSON.stringify(b).includes(mark));
    return jobs.length + bookings.length ? { jobs, bookings } : null;
  }, ms, `a job or booking with ${reference}`);
}

// The jobs of a booking (by its reference), once ServiceTitan has it. An office booking
// with the same reference may come first (a reload's abandonment beacon files an
// "Abandoned chat" one before the homeowner books: CI met it), so this waits for a job,
// not for the first record. When none comes, the failure says why: the office bookings'
// first summary lines ("Office review: ...", an ambiguous match, no window).
export async function jobsOf(reference, ms = 60_000) {
  const mark = `Web reference: ${reference}`;
  let bookings = [];
  try {
    return await until(async () => {
      const r = await records();
      bookings = (r.bookings || []).filter((b) => JSON.stringify(b).includes(mark));
      const jobs = r.jobs.filter((j) => JSON.stringify(j).includes(mark));
      return jobs.length ? jobs : null;
    }, ms, `a job with ${reference}`);
  } catch (e) {
    if (!bookings.length) throw e;
    const why = bookings.map((b) => String(b.summary || '').split('\n')[0]).join(' | ');
    throw new Error(`no job for ${reference}: ${bookings.length} office booking(s) instead: ${why}`);
  }
}

// The widget's parts, by data-testid (Playwright's CSS pierces the open shadow root).
export const ui = {
  bubble: '[data-testid="bw-bubble"]',
  panel: '[data-testid="bw-panel"]',
  input: '[data-testid="bw-input"]',
  send: '[data-testid="bw-send"]',
  assistant: '[data-testid="bw-msg"][data-from="bot"]',
  homeowner: '[data-testid="bw-msg"][data-from="user"]',
  quick: '[data-testid="bw-quick-reply"]',
  card: '[data-testid="bw-confirm-card"]',
  confirm: '[data-testid="bw-confirm"]',
  success: '[data-testid="bw-success"]',
  jobNumber: '[data-testid="bw-job-number"]',
  emergency: '[data-testid="bw-emergency"]',
  handoff: '[data-testid="bw-handoff"]',
};

// Polls until `check` returns a truthy value, or fails after `ms`.
export async function until(check, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Says each line in turn, waiting for each answer.
export async function sayAll(page, lines) {
  for (const line of lines) await say(page, line);
}

// Types one message and waits for the assistant to answer it.
export async function say(page, text) {
  const before = await page.locator(ui.assistant).count();
  await page.locator(ui.input).fill(text);
  await page.locator(ui.input).press('Enter');
  await until(async () => (await page.locator(ui.assistant).count()) > before
    || (await page.locator(`${ui.card}, ${ui.success}`).count()) > 0, 10_000, `a reply to ${JSON.stringify(text)}`);
}
