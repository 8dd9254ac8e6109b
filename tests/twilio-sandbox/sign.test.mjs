// The emulator's signer against every vector in ../shared/test-vectors: a valid vector's
// signature is what the signer makes for the URL variant the vector names (as given,
// port stripped, default port added, node's query serialisations); an invalid one
// matches no variant. No worker needed: `node --test tests/twilio-sandbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import querystring from 'node:querystring';
import { signature, bodySha256, parseForm, signJson, formBody } from './sign.mjs';

const VECTORS = JSON.parse(readFileSync(fileURLToPath(new URL('../../../shared/test-vectors/twilio-signature-vectors.json', import.meta.url)), 'utf8'));

// scheme://[userinfo@]host[:port]rest, split by hand: WHATWG URL would lower-case the
// host and drop default ports, and the vectors say Twilio signs neither change.
function authority(url) {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#:]*)(:\d+)?(.*)$/s.exec(url);
  return m && { scheme: m[1], user: m[2] || '', host: m[3], port: m[4] || '', rest: m[5] };
}

const VARIANTS = {
  as_given: (u) => u,
  without_port: (u) => { const a = authority(u); return a && a.scheme + a.user + a.host + a.rest; },
  with_default_port: (u) => {
    const a = authority(u);
    if (!a || a.port) return null;
    const port = a.scheme.toLowerCase().startsWith('https') ? ':443' : ':80';
    return a.scheme + a.user + a.host + port + a.rest;
  },
};
// twilio-node's two query serialisations: legacy url.parse + querystring, and WHATWG URL.
const QUERY = {
  node_legacy_qs: (u) => {
    const i = u.indexOf('?');
    return i < 0 ? u : `${u.slice(0, i)}?${querystring.stringify(querystring.parse(u.slice(i + 1)))}`;
  },
  whatwg: (u) => new URL(u).href,
};

function variant(name, url) {
  const [base, query] = name.split('+');
  const u = VARIANTS[base]?.(url);
  return u && (query ? QUERY[query](u) : u);
}

// What a vector's request carries: a JSON body is signed with no parameters (its hash
// is in the URL); a raw form body is its parameters.
function paramsOf(v) {
  if (v.body != null) return {};
  if (v.raw_form_body != null) return parseForm(v.raw_form_body);
  return v.params || {};
}

test('the signer makes every valid vector\'s signature for the URL variant it names', () => {
  let checked = 0;
  for (const v of VECTORS.filter((x) => x.valid && x.url)) {
    const names = /^matches:([^;]*)/.exec(v.reference_check)[1].split(',');
    const made = names.map((n) => variant(n, v.url)).filter(Boolean).map((u) => signature(v.auth_token, u, paramsOf(v)));
    assert.ok(made.includes(v.signature), `${v.source}: ${v.signature} not in ${made} for ${names}`);
    if (v.body != null) {
      const hash = new URL(v.url).searchParams.get('bodySHA256');
      assert.equal(bodySha256(v.body), hash, `${v.source}: body hash`);
    }
    checked += 1;
  }
  assert.ok(checked >= 60, `only ${checked} valid vectors`);
});

test('no invalid vector\'s signature is one the signer makes for any URL variant', () => {
  let checked = 0;
  for (const v of VECTORS.filter((x) => !x.valid && x.url)) {
    const urls = ['as_given', 'without_port', 'with_default_port'].map((n) => variant(n, v.url)).filter(Boolean);
    const hashOk = v.body == null || new URL(v.url).searchParams.get('bodySHA256') === bodySha256(v.body);
    const sigOk = v.signature && urls.some((u) => signature(v.auth_token, u, paramsOf(v)) === v.signature);
    assert.ok(!(hashOk && sigOk), `${v.source}: an invalid vector validates`);
    checked += 1;
  }
  assert.ok(checked >= 20, `only ${checked} invalid vectors`);
});

test('body hash vectors', () => {
  for (const v of VECTORS.filter((x) => x.check === 'body_hash')) {
    assert.equal(bodySha256(v.body) === v.body_sha256, v.valid, v.source);
  }
});

test('a JSON request signs its URL with bodySHA256 and no parameters', () => {
  const v = VECTORS.find((x) => x.valid && x.body === '{"property": "value", "boolean": true}' && x.url.startsWith('https://mycompany.com/myapp.php?foo=1&bar=2&'));
  const s = signJson(v.auth_token, 'https://mycompany.com/myapp.php?foo=1&bar=2', v.body);
  assert.equal(s.url, v.url);
  assert.equal(s.signature, v.signature);
});

test('form bodies round-trip, spaces and plus signs included', () => {
  const params = { SpeechResult: 'six one two + oh & "five"', Digits: '', To: '+16125550100' };
  assert.deepEqual(Object.fromEntries(parseForm(formBody(params))), params);
});
