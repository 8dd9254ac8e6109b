// `cargo xtask test-booking` through the real worker into the ServiceTitan emulator
// (issue 16 item 3): the scripted conversation makes a Customer and a Job with the
// summary attached; the command prints their ids and the job number, and cleans up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { records, WORKER_URL } from './lib.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
// The running xtask; " (deleted)" when a build replaced it meanwhile: the new one is there.
const XTASK = (process.env.XTASK_BIN || join(ROOT, 'target/debug/xtask')).replace(/ \(deleted\)$/, '');
const ST = process.env.SANDBOX_URL;
if (!ST || !process.env.SANDBOX_CLIENT_ID) throw new Error('run through `cargo xtask test --only test-booking`');

function testBooking(env = {}) {
  const r = spawnSync(XTASK, ['test-booking', '--worker', WORKER_URL, '--site', 'northstar',
    '--auth-url', `${ST}/connect/token`, '--api-url', ST, '--wait-seconds', '90'], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      ST_CLIENT_ID: process.env.SANDBOX_CLIENT_ID, ST_CLIENT_SECRET: process.env.SANDBOX_CLIENT_SECRET,
      ST_APP_KEY: process.env.SANDBOX_APP_KEY, ST_TENANT_ID: process.env.SANDBOX_TENANT_ID, ...env,
    },
    encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 150_000,
  });
  return { code: r.status, error: r.error, out: r.stdout, err: r.stderr };
}

test('test-booking books through the worker and prints the records ServiceTitan has', async () => {
  const r = testBooking({ ADMIN_TOKEN: process.env.ADMIN_TOKEN });
  assert.equal(r.code, 0, `${r.error}\n${r.out}\n${r.err}`);
  const customer = Number(r.out.match(/ {2}customer {2}(\d+) \(Jordan Testbook\)/)?.[1]);
  const job = Number(r.out.match(/ {2}job {7}(\d+) \(job number (\S+)\)/)?.[1]);
  const reference = r.out.match(/reference (W-[A-Z0-9]{4}-[A-Z0-9]{4})/)?.[1];
  assert.ok(customer && job && reference, r.out);
  assert.match(r.out, /the conversation summary is attached/);
  // The emulator agrees: that job, of that customer, carries our reference.
  const rec = await records();
  const made = rec.jobs.find((j) => j.id === job);
  assert.equal(made?.customerId, customer);
  assert.ok(JSON.stringify(made).includes(`Web reference: ${reference}`));
  assert.match(r.out, new RegExp(`clean-up: job ${job} cancelled`));
  const after = (await records()).jobs.find((j) => j.id === job);
  assert.equal(after?.jobStatus, 'Canceled', 'the clean-up cancelled the job in ServiceTitan');
  assert.match(r.out, /clean-up: the worker's transcript deleted/);
  for (const secret of [process.env.SANDBOX_CLIENT_SECRET, process.env.SANDBOX_APP_KEY]) assert.ok(!r.out.includes(secret));
});

test('test-booking against a site the worker does not have says which ids it has', () => {
  const r = spawnSync(XTASK, ['test-booking', '--worker', WORKER_URL, '--site', 'no-such-site',
    '--auth-url', `${ST}/connect/token`, '--api-url', ST], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ST_CLIENT_ID: process.env.SANDBOX_CLIENT_ID,
      ST_CLIENT_SECRET: process.env.SANDBOX_CLIENT_SECRET, ST_APP_KEY: process.env.SANDBOX_APP_KEY,
      ST_TENANT_ID: process.env.SANDBOX_TENANT_ID }, encoding: 'utf8', timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /has no site "no-such-site": give --site with an id from examples\/sites/);
});
