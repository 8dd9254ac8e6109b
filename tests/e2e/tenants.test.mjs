// Many tenants, one deployment (issue 16 item 1). Two emulated ServiceTitan tenants, each
// with its own client id, client secret and app key, added to the stack's emulator; a
// second worker (wrangler dev on the built bundle) with two sites whose `serviceTitan`
// blocks name different secrets holding those credentials. Both sites book at once;
// each tenant's records hold exactly its own homeowner, and each tenant's emulator
// accepted every call (which it does only with its own app key and a token it issued).
// Then a 429 on every CRM call of tenant A: B books while A is held, and A books once
// ServiceTitan lets it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, until, REFERENCE, SANDBOX_URL } from './lib.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const northstar = JSON.parse(readFileSync(join(ROOT, 'examples/sites/northstar.json'), 'utf8'));
const ORIGIN = 'https://tenants.example';
const run = randomBytes(4).toString('hex');
// Tenant ids of this run only, so a rerun against a kept emulator meets no old records.
const base = 3_000_000 + (parseInt(run, 16) % 900_000);
const TENANTS = {
  alder: { tenantId: base, prefix: 'ALDER', clientId: `cid.a.${run}`, clientSecret: `cs.a.${randomBytes(8).toString('hex')}`, appKey: `ak.a.${randomBytes(8).toString('hex')}` },
  birch: { tenantId: base + 1, prefix: 'BIRCH', clientId: `cid.b.${run}`, clientSecret: `cs.b.${randomBytes(8).toString('hex')}`, appKey: `ak.b.${randomBytes(8).toString('hex')}` },
};
// Birch's own ServiceTitan webhook key and Twilio auth token, in secrets its config names.
const BIRCH_WEBHOOK_KEY = `stw.b.${randomBytes(8).toString('hex')}`;
const BIRCH_TWILIO_TOKEN = `tw.b.${randomBytes(8).toString('hex')}`;
let wrangler;
let url;
const seen = [];

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

// A site of its own for a tenant: northstar's trades and ids (the emulator seeds every
// tenant from the same file), its own secret names.
function site(id, t) {
  const { webhookUrl, followUps, ...rest } = northstar;
  return {
    ...rest, id, businessName: `${id} Heating`, allowedOrigins: [ORIGIN],
    serviceTitan: {
      clientIdSecret: `${t.prefix}_ST_CLIENT_ID`, clientSecretSecret: `${t.prefix}_ST_CLIENT_SECRET`,
      appKeySecret: `${t.prefix}_ST_APP_KEY`, tenantIdSecret: `${t.prefix}_ST_TENANT_ID`,
    },
  };
}

function secretVars(t) {
  return [[`${t.prefix}_ST_CLIENT_ID`, t.clientId], [`${t.prefix}_ST_CLIENT_SECRET`, t.clientSecret],
    [`${t.prefix}_ST_APP_KEY`, t.appKey], [`${t.prefix}_ST_TENANT_ID`, String(t.tenantId)]];
}

before(async () => {
  for (const t of Object.values(TENANTS)) {
    const { prefix, ...body } = t;
    const r = await fetch(`${SANDBOX_URL}/_admin/tenants`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201, await r.text());
  }
  const birch = site('birch', TENANTS.birch);
  birch.serviceTitan = { ...birch.serviceTitan, webhookKeySecret: 'BIRCH_ST_WEBHOOK_KEY', twilioAuthTokenSecret: 'BIRCH_TWILIO_AUTH_TOKEN' };
  const sites = [site('alder', TENANTS.alder), birch];
  const vars = [['ST_ENV', 'sandbox'], ['ST_API_URL', SANDBOX_URL], ['ST_AUTH_URL', `${SANDBOX_URL}/connect/token`],
    ['RATE_LIMIT_MULTIPLIER', '10'], ['SITES_JSON', JSON.stringify(sites)],
    ...secretVars(TENANTS.alder), ...secretVars(TENANTS.birch),
    ['BIRCH_ST_WEBHOOK_KEY', BIRCH_WEBHOOK_KEY], ['BIRCH_TWILIO_AUTH_TOKEN', BIRCH_TWILIO_TOKEN]];
  const [port, inspector] = [await freePort(), await freePort()];
  mkdirSync(join(ROOT, 'target/logs'), { recursive: true });
  const log = openSync(join(ROOT, 'target/logs/tenants-worker.log'), 'w');
  wrangler = spawn(join(ROOT, 'node_modules/.bin/wrangler'), ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--persist-to', mkdtempSync(join(tmpdir(), 'tenants-')),
    '--show-interactive-dev-session=false', ...vars.flatMap(([k, v]) => ['--var', `${k}:${v}`])], {
    cwd: join(ROOT, 'edge-worker'), env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', log, log], detached: true,
  });
  url = `http://127.0.0.1:${port}`;
  await until(async () => {
    try { return (await fetch(`${url}/health`)).status === 200; } catch { return false; }
  }, 90_000, 'the tenants worker');
});
after(() => { if (wrangler) process.kill(-wrangler.pid, 'SIGTERM'); });

let n = 0;
// A homeowner: a name and phone no other test uses (the tenants are this run's own).
function homeowner(name) {
  n += 1;
  const phone = `61255571${String(n).padStart(2, '0')}`;
  const at = Math.floor(Date.now() / 1000);
  const turns = ['My furnace is making a loud banging noise, can you come tomorrow afternoon', name,
    `${phone.slice(0, 3)}-${phone.slice(3, 6)}-${phone.slice(6)}`, `${4400 + n} Oak Ave S, Minneapolis, MN 55405`,
    'yes', 'Text messages: yes', 'Book it'].map((text, i) => ({ text, at: at + i }));
  return { name, phone, body: { idempotencyKey: `tenants-${run}-${n}`, turns, locale: 'en' } };
}

async function book(siteId, h) {
  const r = await fetch(`${url}/v1/sites/${siteId}/bookings`, {
    method: 'POST', body: JSON.stringify(h.body), headers: { origin: ORIGIN, 'content-type': 'application/json' },
  });
  const text = await r.text();
  seen.push(text);
  assert.equal(r.status, 200, text);
  const reply = JSON.parse(text);
  assert.match(reply.reference, REFERENCE);
  return reply.reference;
}

const recordsOf = (t) => admin(`/_admin/records?tenant=${t.tenantId}`);
const journalOf = (t) => admin(`/_admin/requests?tenant=${t.tenantId}`);
const named = (records, name) => records.customers.filter((c) => c.name === name);
const jobWith = (records, reference) => records.jobs.filter((j) => JSON.stringify(j).includes(`Web reference: ${reference}`));

async function jobIn(t, reference, ms = 60_000) {
  return until(async () => jobWith(await recordsOf(t), reference)[0], ms, `a job with ${reference} in tenant ${t.prefix}`);
}

test('two sites book at once into two tenants, and nothing crosses', async () => {
  const [a, b] = [homeowner('Olivia Alderman'), homeowner('Liam Birchwood')];
  const [refA, refB] = await Promise.all([book('alder', a), book('birch', b)]);
  await Promise.all([jobIn(TENANTS.alder, refA), jobIn(TENANTS.birch, refB)]);
  const [recA, recB] = [await recordsOf(TENANTS.alder), await recordsOf(TENANTS.birch)];
  assert.equal(named(recA, a.name).length, 1, 'tenant A has its customer once');
  assert.equal(named(recB, b.name).length, 1, 'tenant B has its customer once');
  assert.deepEqual([named(recA, b.name), named(recB, a.name)], [[], []], "neither tenant has the other's customer");
  assert.deepEqual([jobWith(recA, refB), jobWith(recB, refA)], [[], []], "neither tenant has the other's job");
  const first = await admin('/_admin/records');
  assert.deepEqual([named(first, a.name), named(first, b.name)], [[], []], 'the default tenant has neither');
  for (const t of Object.values(TENANTS)) {
    const journal = await journalOf(t);
    const tokens = journal.filter((r) => r.path.endsWith('/connect/token'));
    assert.ok(tokens.length >= 1 && tokens.every((r) => r.status === 200), `tenant ${t.prefix} issued its own token`);
    const api = journal.filter((r) => r.path.includes('/tenant/'));
    assert.ok(api.length > 3, `tenant ${t.prefix} was called`);
    // The emulator refuses another tenant's token or app key with 401: none was refused.
    assert.deepEqual(api.filter((r) => r.status === 401 || r.status === 403).map((r) => r.path), []);
    assert.ok(api.every((r) => r.path.includes(`/tenant/${t.tenantId}/`)), `tenant ${t.prefix}'s calls name it`);
  }
  for (const text of seen) {
    for (const t of Object.values(TENANTS)) {
      for (const secret of [t.clientSecret, t.appKey, t.clientId]) assert.ok(!text.includes(secret), 'no credential in a reply');
    }
  }
});

test("a 429 on tenant A holds A's booking, not B's", async () => {
  const fault = { kind: 'status', status: 429, retryAfter: 4, match: { pathContains: '/crm/' } };
  await admin(`/_admin/faults?tenant=${TENANTS.alder.tenantId}`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } });
  const [a, b] = [homeowner('Emma Alderson'), homeowner('Noah Birchfield')];
  const [refA, refB] = await Promise.all([book('alder', a), book('birch', b)]);
  await jobIn(TENANTS.birch, refB, 30_000);
  // B's job is in while A's every CRM call is refused: A has been tried and holds nothing.
  const limited = async () => (await journalOf(TENANTS.alder)).filter((r) => r.status === 429).length;
  await until(async () => (await limited()) >= 1, 20_000, "tenant A's 429");
  const held = await recordsOf(TENANTS.alder);
  assert.deepEqual([named(held, a.name), jobWith(held, refA)], [[], []], 'A has nothing while it is rate limited');
  await admin(`/_admin/faults?tenant=${TENANTS.alder.tenantId}`, { method: 'DELETE' });
  await jobIn(TENANTS.alder, refA, 60_000);
  // The worker told A's pacer (and only A's) of the 429s: the log names a hash, never a key.
  const logged = readFileSync(join(ROOT, 'target/logs/tenants-worker.log'), 'utf8');
  assert.match(logged, /ServiceTitan rate limit for tenant [0-9a-f]{24}/);
  assert.ok(!/pacer .* unreachable/.test(logged), 'every call took a slot from its pacer');
  for (const t of Object.values(TENANTS)) {
    for (const secret of [t.clientSecret, t.appKey]) assert.ok(!logged.includes(secret), 'no credential in the log');
  }
  const [recA, recB] = [await recordsOf(TENANTS.alder), await recordsOf(TENANTS.birch)];
  assert.equal(named(recA, a.name).length, 1, 'A books once ServiceTitan lets it, once');
  assert.deepEqual([named(recB, a.name), jobWith(recB, refA)], [[], []]);
});

test("a site's webhook key and Twilio token come from the secrets its config names", async () => {
  // ServiceTitan's webhook: HMAC-SHA256 hex of the raw body in x-servicetitan-signature.
  const body = JSON.stringify({ eventType: 'Ping', entityType: 'Nothing', entityId: 1 });
  const hook = (siteId, key) => fetch(`${url}/v1/webhooks/servicetitan/${siteId}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'x-servicetitan-signature': createHmac('sha256', key).update(body).digest('hex') },
  });
  const signed = await hook('birch', BIRCH_WEBHOOK_KEY);
  assert.notEqual(signed.status, 403, 'signed with the key in BIRCH_ST_WEBHOOK_KEY: accepted');
  assert.ok([200, 400].includes(signed.status), `${signed.status}`);
  assert.equal((await hook('birch', 'some-other-key')).status, 403);
  assert.equal((await hook('alder', BIRCH_WEBHOOK_KEY)).status, 403, "alder has no key: birch's does not open it");
  // Twilio's inbound SMS: HMAC-SHA1 base64 of the URL and the sorted form fields.
  const form = { AccountSid: 'AC0', Body: 'hello', From: '+16125557199', MessageSid: `SM${'0'.repeat(32)}`, To: '+16125550100' };
  const sms = (token) => {
    const to = `${url}/v1/webhooks/twilio/birch/sms`;
    const data = to + Object.keys(form).sort().map((k) => k + form[k]).join('');
    return fetch(to, {
      method: 'POST', body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': createHmac('sha1', token).update(data).digest('base64') },
    });
  };
  assert.equal((await sms(BIRCH_TWILIO_TOKEN)).status, 200, 'signed with the token in BIRCH_TWILIO_AUTH_TOKEN');
  assert.equal((await sms('another-token')).status, 403);
});
