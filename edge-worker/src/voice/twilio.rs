//! Twilio's side of the wire: whose auth token signs a site's requests, the
//! `X-Twilio-Signature` check over the URL the worker sees, form bodies, and TwiML
//! replies. Twilio's rules for the signature are `booking_core::signing::verify_twilio`'s.

use booking_core::signing::{parse_form, verify_twilio};
use worker::{Env, Request, Response, Result};

use crate::http::read_body_within;

/// Twilio's webhooks are small; anything bigger is not Twilio.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A JSON map `{"<site id>": "<secret>"}` from a secret (or, locally, a var).
pub(crate) fn per_site_secret(env: &Env, name: &str, site: &str) -> Option<String> {
    let text = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).ok()?;
    let value = map.get(site)?.as_str()?.trim().to_string();
    // An empty key signs anything; it never counts as configured.
    (!value.is_empty()).then_some(value)
}

/// The site's Twilio auth token: the secret its config names
/// (`serviceTitan.twilioAuthTokenSecret`), else its entry of `TWILIO_AUTH_TOKENS`.
pub(crate) fn auth_token(env: &Env, site: &str) -> Option<String> {
    let named = crate::config::site(env, site).and_then(|s| s.service_titan.twilio_auth_token_secret);
    crate::config::site_secret(env, named.as_deref(), "TWILIO_AUTH_TOKENS", site)
}

/// A Twilio request whose signature checked out.
pub(crate) struct Signed {
    /// The form fields (empty for a JSON body or a GET).
    pub(crate) params: Vec<(String, String)>,
    /// The URL as the worker saw it, the one Twilio signed.
    pub(crate) url: String,
}

impl Signed {
    /// One form field, when present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// One form field, trimmed, `None` when absent or blank.
    pub(crate) fn given(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// Reads the body and checks `X-Twilio-Signature` with the site's token. `None` for a
/// missing token, a missing or wrong signature, or a body that is not Twilio's: the
/// caller answers 403 and writes nothing.
pub(crate) async fn signed(req: &Request, env: &Env, site: &str) -> Result<Option<Signed>> {
    let Some(token) = auth_token(env, site) else { return Ok(None) };
    let Some(signature) = req.headers().get("x-twilio-signature")? else { return Ok(None) };
    // The URL exactly as it came in (`Request::url` would re-serialize it).
    let url = req.inner().url();
    let Some(body) = read_body_within(req, MAX_FORM_BYTES).await? else { return Ok(None) };
    let json = req.headers().get("content-type")?.is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let (params, raw) =
        if json { (Vec::new(), Some(body.as_slice())) } else { (parse_form(&String::from_utf8_lossy(&body)), None) };
    if !verify_twilio(&token, &url, &params, raw, signature.trim()) {
        return Ok(None);
    }
    Ok(Some(Signed { params, url }))
}

/// Checks the signature of a bodiless request (the ConversationRelay WebSocket handshake).
pub(crate) fn signed_get(req: &Request, env: &Env, site: &str) -> Result<bool> {
    let Some(token) = auth_token(env, site) else { return Ok(false) };
    let Some(signature) = req.headers().get("x-twilio-signature")? else { return Ok(false) };
    // Twilio signs the `wss://` URL it was given; the runtime hands us the upgrade as
    // `https://` (`http://` locally), so both spellings are tried.
    let url = req.inner().url();
    let ws = url.strip_prefix("http").map(|rest| format!("ws{rest}"));
    Ok([Some(url), ws].into_iter().flatten().any(|u| verify_twilio(&token, &u, &[], None, signature.trim())))
}

/// A CallSid as Twilio writes them (`CA` + 32 hex); anything else names no object.
pub(crate) fn call_sid(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    let ok = (2..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| v.to_string())
}

/// The refusal for anything not signed by Twilio: no body worth reading.
pub(crate) fn forbidden() -> Result<Response> {
    Response::error("forbidden", 403)
}

/// A TwiML document.
pub(crate) fn twiml(xml: String) -> Result<Response> {
    let mut r = Response::ok(xml)?;
    r.headers_mut().set("content-type", "text/xml; charset=utf-8")?;
    Ok(r)
}

/// `application/x-www-form-urlencoded` for Twilio's REST API.
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_round_trips_through_parse_form() {
        let body = form_encode(&[("To", "+16125550100"), ("Body", "Book here: https://x.test/?a=1&b=ü ok")]);
        assert_eq!(
            parse_form(&body),
            vec![
                ("To".to_string(), "+16125550100".to_string()),
                ("Body".to_string(), "Book here: https://x.test/?a=1&b=ü ok".to_string())
            ]
        );
    }

    #[test]
    fn a_call_sid_is_letters_and_digits_only() {
        assert_eq!(
            call_sid(Some("CA0123456789abcdef0123456789abcdef")).as_deref(),
            Some("CA0123456789abcdef0123456789abcdef")
        );
        assert_eq!(call_sid(Some("CA1/../x")), None);
        assert_eq!(call_sid(Some("")), None);
        assert_eq!(call_sid(None), None);
    }
}
