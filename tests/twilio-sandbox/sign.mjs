// Twilio's request signing, as the emulator does it for every request it sends:
// X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + every POST parameter's name
// and value, sorted by name)). Checked against ../shared/test-vectors in sign.test.mjs.
import { createHash, createHmac } from 'node:crypto';

// Names sort by code point, as Twilio's libraries do ('CALLSID' < 'CallSid' < 'callSid').
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

// The string Twilio signs: the URL exactly as requested, then each name followed by its
// value. A name given several values signs each distinct value once, sorted (what the
// vectors from twilio-python, -node and -php agree on); null signs as empty.
export function signedString(url, params = {}) {
  const entries = Array.isArray(params) ? params : Object.entries(params);
  const values = new Map();
  for (const [name, value] of entries) {
    const list = values.get(name) || new Set();
    for (const v of Array.isArray(value) ? value : [value]) list.add(v == null ? '' : String(v));
    values.set(name, list);
  }
  let s = url;
  for (const name of [...values.keys()].sort(byCodePoint)) {
    for (const v of [...values.get(name)].sort(byCodePoint)) s += name + v;
  }
  return s;
}

/** base64 HMAC-SHA1 over `signedString(url, params)`, keyed with the auth token. */
export function signature(authToken, url, params = {}) {
  return createHmac('sha1', authToken).update(signedString(url, params), 'utf8').digest('base64');
}

/** Hex SHA-256 of a raw body: Twilio's `bodySHA256` query parameter for JSON bodies. */
export function bodySha256(body) {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** A JSON request's URL and signature: bodySHA256 joins the query, then the URL alone is signed. */
export function signJson(authToken, url, body) {
  const signed = `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${bodySha256(body)}`;
  return { url: signed, signature: signature(authToken, signed) };
}

/** application/x-www-form-urlencoded, in the order given (Twilio's own order does not matter). */
export function formBody(params) {
  return Object.entries(params)
    .filter(([, v]) => v != null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`.replace(/%20/g, '+'))
    .join('&');
}

/** Parses a form body into [name, value] pairs ('+' is a space). */
export function parseForm(text) {
  if (!text) return [];
  return text.split('&').filter(Boolean).map((pair) => {
    const i = pair.indexOf('=');
    const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
    return i < 0 ? [dec(pair), ''] : [dec(pair.slice(0, i)), dec(pair.slice(i + 1))];
  });
}
