// `cargo xtask connect` against the ServiceTitan emulator (issue 16 item 2). Each test
// starts its own emulator with its own credentials (the stack's is left alone, since
// scopes are revoked here) and runs the real xtask binary with stdin not a terminal, so
// nothing is prompted: the values come from the environment, the picks from flags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
// The running xtask; " (deleted)" when a build replaced it meanwhile: the new one is there.
const XTASK = (process.env.XTASK_BIN || join(ROOT, 'target/debug/xtask')).replace(/ \(deleted\)$/, '');
const CREDS = { ST_CLIENT_ID: 'cid.connect', ST_CLIENT_SECRET: 'cs.connect-secret', ST_APP_KEY: 'ak.connect', ST_TENANT_ID: '1044990' };
const OUT = mkdtempSync(join(tmpdir(), 'connect-'));
let st;
let url;

before(async () => {
  st = spawn(process.env.ST_SANDBOX_BIN || join(ROOT, 'target/release/st-sandbox'), [
    '--port', '0', '--seed', join(ROOT, 'tests/data/st-tenant.json'), '--tenant-id', CREDS.ST_TENANT_ID,
    '--client-id', CREDS.ST_CLIENT_ID, '--client-secret', CREDS.ST_CLIENT_SECRET, '--app-key', CREDS.ST_APP_KEY,
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  url = await new Promise((resolve, reject) => {
    st.stdout.once('data', (d) => resolve(String(d).trim().replace('st-sandbox listening on ', '')));
    st.once('exit', (c) => reject(new Error(`st-sandbox exited ${c}`)));
  });
});
after(() => st?.kill('SIGTERM'));

const post = (path, body) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function connect(env = {}, flags = []) {
  const out = join(OUT, `site-${Math.random().toString(36).slice(2)}.json`);
  const args = ['connect', '--auth-url', `${url}/connect/token`, '--api-url', url,
    '--other-auth-url', `${url}/other-environment/connect/token`, '--site', 'acme', '--origin', 'https://www.acme.example',
    '--out', out, '--yes', '--dev-vars', join(OUT, 'none.vars'), ...flags];
  const r = spawnSync(XTASK, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...CREDS, ...env }, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, file: out };
}

test('connect writes a valid site config from the tenant and prints the secret lines, never the values', () => {
  const r = connect({ ST_CLIENT_SECRET: `  ${CREDS.ST_CLIENT_SECRET}\n` }, ['--business-unit', '1002', '--campaign', '3002']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /ST_CLIENT_SECRET had spaces or a line break around it \(pasted\?\); trimmed them/);
  assert.match(r.out, /all 15 scopes the product uses are granted/);
  assert.match(r.out, /1002 +Plumbing - Residential Service/, 'business units listed');
  assert.match(r.out, /2004 +Plumbing Estimate/, 'job types listed');
  assert.match(r.out, /3002 +Google Ads/, 'campaigns listed');
  assert.match(r.out, /booking providers seen on the tenant's bookings: \[7001\]/);
  for (const name of Object.keys(CREDS)) assert.match(r.out, new RegExp(`npx wrangler secret put ${name}`));
  for (const value of Object.values(CREDS).slice(0, 3)) assert.ok(!r.out.includes(value), 'no secret printed');
  const site = JSON.parse(readFileSync(r.file, 'utf8'));
  assert.equal(site.id, 'acme');
  assert.deepEqual(site.trades[0], { trade: 'hvac', businessUnitId: 1002, jobTypeId: 2003, estimateJobTypeId: 2004 });
  assert.equal(site.defaultCampaignId, 3002);
  assert.equal(site.bookingProviderId, 7001);
  assert.deepEqual(site.allowedOrigins, ['https://www.acme.example']);
  // The same config is tests/data/sites/connect-acme.json, which shared/tests/site_config.rs
  // validates against examples/sites/schema.json with the jsonschema crate.
  assert.deepEqual(site, JSON.parse(readFileSync(join(ROOT, 'tests/data/sites/connect-acme.json'), 'utf8')));
  const check = spawnSync(XTASK, ['connect', '--check', r.file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('a wrong secret is told apart from the other environment\'s credentials', async () => {
  const wrong = connect({ ST_CLIENT_SECRET: 'not-the-secret' });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.err, /refused the Client ID and Client Secret \(and so did the other environment\).*Generate/);
  await post('/_admin/other-environment', { clientId: 'prod.cid', clientSecret: 'prod.secret' });
  const mixed = connect({ ST_CLIENT_ID: 'prod.cid', ST_CLIENT_SECRET: 'prod.secret' });
  assert.notEqual(mixed.code, 0);
  assert.match(mixed.err, /belong to the other environment, not sandbox/);
});

test('a wrong app key and a wrong tenant are sentences with the fix', () => {
  const key = connect({ ST_APP_KEY: 'ak.other' });
  assert.match(key.err, /refused the App Key .* My Apps → Edit/);
  const tenant = connect({ ST_TENANT_ID: '42' });
  assert.match(tenant.err, /not connected to tenant 42 .*API Application Access/);
  const text = connect({ ST_TENANT_ID: 'abc' });
  assert.match(text.err, /ST_TENANT_ID "abc" is not a number: copy the Tenant ID/);
});

test('missing scopes are named in the portal\'s words', async () => {
  await post('/_admin/scopes', { revoked: ['crm.customers:write', 'dispatch.capacity:read', 'sales.estimates:read'] });
  try {
    const r = connect();
    assert.notEqual(r.code, 0);
    assert.match(r.err, /lacks these API scopes: CRM › Customers: Write, Dispatch › Capacity: Read, Sales › Estimates: Read\./);
  } finally {
    await post('/_admin/scopes', { revoked: [] });
  }
});

test('connect --secret-prefix writes a site with its own secrets (one more tenant in a shared deployment)', () => {
  const r = connect({}, ['--business-unit', '1002', '--campaign', '3002', '--secret-prefix', 'acme']);
  assert.equal(r.code, 0, r.err);
  const site = JSON.parse(readFileSync(r.file, 'utf8'));
  // The sandbox is neither ServiceTitan environment: the block names no environment.
  assert.deepEqual(site.serviceTitan, {
    clientIdSecret: 'ACME_ST_CLIENT_ID', clientSecretSecret: 'ACME_ST_CLIENT_SECRET',
    appKeySecret: 'ACME_ST_APP_KEY', tenantIdSecret: 'ACME_ST_TENANT_ID',
  });
  for (const name of Object.keys(CREDS)) assert.match(r.out, new RegExp(`npx wrangler secret put ACME_${name}\\n`));
  assert.doesNotMatch(r.out, /secret put ST_CLIENT_ID/, 'not the deployment-wide names');
  const check = spawnSync(XTASK, ['connect', '--check', r.file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const bad = connect({}, ['--business-unit', '1002', '--campaign', '3002', '--secret-prefix', '9-lives']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--secret-prefix "9-LIVES": use letters, digits and _ starting with a letter/);
});

test('a booking provider the app is not restricted to says where to choose it', () => {
  const r = connect({}, ['--booking-provider', '7002']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /may not book as booking provider 7002: .*Restriction by booking_provider for Bookings/);
});

test('connect --check names the path and the reason of a bad config', () => {
  const r = spawnSync(XTASK, ['connect', '--check', join(ROOT, 'tests/data/sites/bad.json')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.json: \.: a site config must be a JSON object/);
});

test('in a terminal, connect asks for the four values and each pick (Enter takes the default)', (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('no `script` to give connect a terminal');
  const out = join(OUT, 'tty.json');
  const cmd = [XTASK, 'connect', '--auth-url', `${url}/connect/token`, '--api-url', url, '--site', 'tty', '--out', out, '--force', '--dev-vars', join(OUT, 'none.vars')].join(' ');
  const answers = [CREDS.ST_CLIENT_ID, `  ${CREDS.ST_CLIENT_SECRET} `, CREDS.ST_APP_KEY, CREDS.ST_TENANT_ID, '1002', '', '', '3003', ''].join('\n') + '\n';
  // No ST_* in the environment and no .dev.vars: every value is asked for.
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: answers, encoding: 'utf8', timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: OUT }, cwd: OUT });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /Client Secret \(App Connections → Client Secret → Generate; shown once\): /);
  assert.match(r.stdout, /ST_CLIENT_SECRET had spaces or a line break around it/);
  assert.match(r.stdout, /business unit for chat jobs \[1001\]: /);
  const site = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(site.trades[0], { trade: 'hvac', businessUnitId: 1002, jobTypeId: 2003, estimateJobTypeId: 2004 });
  assert.equal(site.defaultCampaignId, 3003);
});
