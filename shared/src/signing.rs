//! HMAC signatures for webhooks: signing our outgoing ones, verifying Twilio's.
//!
//! Outgoing ("Session Completed", "Qualified Abandoned Session"): Stripe-style header
//! `t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<body>")>`; receivers check the
//! timestamp against a tolerance so a captured request cannot be replayed later.
//!
//! Incoming Twilio webhooks: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL +
//! sorted form params)), with Twilio's URL variants (as given, port stripped, default
//! port added) and JSON bodies signed through a `bodySHA256` query parameter.
//! Verified against every vector in `shared/test-vectors/twilio-signature-vectors.json`.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::booking::UnixSeconds;

/// Default tolerance for outgoing-webhook timestamps, seconds.
pub const DEFAULT_TOLERANCE: i64 = 300;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // new_from_slice accepts any key length for HMAC; the error arm is unreachable.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return vec![] };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time equality (no early exit on the first differing byte).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The header value for an outgoing webhook: `t=<unix>,v1=<hex>`.
pub fn sign_webhook(secret: &[u8], body: &[u8], t: UnixSeconds) -> String {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={t},v1={}", hex(&hmac_sha256(secret, &msg)))
}

/// Why a webhook signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// Header missing parts or malformed.
    Malformed,
    /// Timestamp outside the tolerance (replay or clock skew).
    Expired,
    /// No `v1` signature matched.
    Mismatch,
    /// The receiver's secret is empty: anyone can compute HMAC with an empty key, so
    /// such a "signature" proves nothing and is never accepted.
    NoSecret,
}

/// Verifies a `t=..,v1=..` header (several `v1` allowed, for secret rotation).
pub fn verify_webhook(
    secret: &[u8],
    body: &[u8],
    header: &str,
    now: UnixSeconds,
    tolerance: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut t = None;
    let mut sigs = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_ascii_lowercase()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Expired);
    }
    let expected = sign_webhook(secret, body, t);
    let expected = expected.rsplit_once("v1=").map(|x| x.1).unwrap_or("");
    if sigs.iter().any(|s| same(s.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (all Twilio needs; saves a dependency in the wasm).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Twilio's signature of `url` + params sorted by key (code-point order), each key
/// followed by its values sorted.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut msg = url.to_string();
    for (k, v) in sorted {
        msg.push_str(k);
        msg.push_str(v);
    }
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else { return String::new() };
    mac.update(msg.as_bytes());
    base64(&mac.finalize().into_bytes())
}

/// The URL variants Twilio's own validators accept: as given, without the port, with
/// the scheme's default port, and the two query spellings of `'` (twilio-node signs
/// after its URL parser turns `'` into `%27`).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        match hostport.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())) {
            Some((host, _)) => out.push(format!("{scheme}://{userinfo}{host}{path}")),
            None => {
                let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
                out.push(format!("{scheme}://{userinfo}{hostport}:{port}{path}"));
            }
        }
    }
    let mut quotes = vec![];
    for u in &out {
        if let Some((base, query)) = u.split_once('?') {
            if query.contains('\'') {
                quotes.push(format!("{base}?{}", query.replace('\'', "%27")));
            }
            if query.contains("%27") {
                quotes.push(format!("{base}?{}", query.replace("%27", "'")));
            }
        }
    }
    out.extend(quotes);
    out
}

/// `hex(sha256(body))`, for Twilio's `bodySHA256`.
pub fn sha256_hex(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// Validates a Twilio request. `params` are the decoded form fields (empty for JSON
/// bodies); `body` is the raw body when it is JSON, checked through `bodySHA256`.
pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    body: Option<&[u8]>,
    signature: &str,
) -> bool {
    if signature.is_empty() {
        return false;
    }
    if let Some(body) = body {
        let hash = url.split_once('?').and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("bodySHA256=")));
        match hash {
            Some(h) if same(h.as_bytes(), sha256_hex(body).as_bytes()) => {}
            _ => return false,
        }
    }
    url_variants(url).iter().any(|u| same(twilio_signature(auth_token, u, params).as_bytes(), signature.as_bytes()))
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}
