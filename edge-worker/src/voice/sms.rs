//! One text message through Twilio's Messages API. What it says and whether to send it
//! is booking-core's; this only posts it and reads Twilio's answer.
//!
//! `POST {TWILIO_API_URL}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json`,
//! basic auth `sid:token` (the site's token from `TWILIO_AUTH_TOKENS`), form
//! `To`, `From` (`TWILIO_FROM_NUMBER`, else the number the caller dialed), `Body`.

use std::time::Duration;

use booking_core::signing::base64;
use booking_core::voice::e164;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit};

use super::twilio::{auth_token, form_encode};
use crate::http::fetch_within;

/// Twilio answers in well under a second; a hung API must not hold the call's object.
const SEND_TIMEOUT: Duration = Duration::from_secs(8);

/// Twilio's error code for a number that texted STOP.
const UNSUBSCRIBED: i64 = 21610;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub(crate) enum Sent {
    /// Twilio queued it.
    Queued {
        /// Twilio's message sid.
        sid: String,
    },
    /// The number opted out (texted STOP): nothing is sent until they text START.
    OptedOut,
    /// No account sid, token or sender for this site: nothing could be sent.
    NotConfigured,
    /// Twilio refused or did not answer (status 0: no answer).
    Failed {
        /// HTTP status.
        status: u16,
    },
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Sends `body` to `to` for a site. `dialed` is the number the caller called (the
/// contractor's Twilio number), the sender when `TWILIO_FROM_NUMBER` is not set.
pub(crate) async fn send(env: &Env, site: &str, to: &str, dialed: Option<&str>, body: &str) -> Sent {
    let Some(to) = e164(to) else { return Sent::NotConfigured };
    let from = var(env, "TWILIO_FROM_NUMBER").or_else(|| dialed.map(str::to_string));
    match post(env, site, &to, from.as_deref(), body).await {
        None => Sent::NotConfigured,
        Some((status, answer)) => read_answer(status, &answer),
    }
}

/// Posts one message to Twilio (`to` in E.164): `None` when this site has no account
/// sid, token or sender; else Twilio's status and body (status 0: no answer). Follow-ups
/// send through this too, and read the answer their own way.
pub(crate) async fn post(env: &Env, site: &str, to: &str, from: Option<&str>, body: &str) -> Option<(u16, String)> {
    let (Some(sid), Some(token), Some(from)) = (var(env, "TWILIO_ACCOUNT_SID"), auth_token(env, site), from) else {
        return None;
    };
    let api = var(env, "TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".into());
    let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", api.trim_end_matches('/'));
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let _ = headers.set("authorization", &format!("Basic {}", base64(format!("{sid}:{token}").as_bytes())));
    let form = form_encode(&[("To", to), ("From", from), ("Body", body)]);
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&form)));
    let Ok(request) = Request::new_with_init(&url, &init) else { return Some((0, String::new())) };
    match fetch_within(request, SEND_TIMEOUT).await {
        Ok(f) => Some((f.status, f.body)),
        Err(_) => Some((0, String::new())),
    }
}

/// Twilio's answer: 201 with the message's `sid`, or an error JSON with its `code`.
fn read_answer(status: u16, body: &str) -> Sent {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if (200..300).contains(&status) {
        return Sent::Queued { sid: json["sid"].as_str().unwrap_or("").to_string() };
    }
    if json["code"].as_i64() == Some(UNSUBSCRIBED) {
        return Sent::OptedOut;
    }
    Sent::Failed { status }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_answers_are_read() {
        assert_eq!(read_answer(201, r#"{"sid":"SM1","status":"queued"}"#), Sent::Queued { sid: "SM1".into() });
        assert_eq!(read_answer(400, r#"{"code":21610,"message":"unsubscribed"}"#), Sent::OptedOut);
        assert_eq!(read_answer(500, "oops"), Sent::Failed { status: 500 });
    }
}
