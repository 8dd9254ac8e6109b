//! A follow-up text through Twilio's Messages API, the same call as `voice/sms.rs`
//! (which `voice/mod.rs` keeps private; once it is `pub(crate) mod sms`, this file
//! should call it instead). The answer is read as booking-core's `SendResult`.

use std::time::Duration;

use booking_core::followup::SendResult;
use booking_core::signing::base64;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit};

use super::{per_site, var};
use crate::http::fetch_within;

const SEND_TIMEOUT: Duration = Duration::from_secs(8);

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Sends `body` to `to` (`+1XXXXXXXXXX`) for a site.
pub(crate) async fn send(env: &Env, site: &str, to: &str, body: &str) -> SendResult {
    let (Some(sid), Some(token), Some(from)) =
        (var(env, "TWILIO_ACCOUNT_SID"), per_site(env, "TWILIO_AUTH_TOKENS", site), var(env, "TWILIO_FROM_NUMBER"))
    else {
        return SendResult::Failed { code: None, detail: "Twilio is not configured for this site".into() };
    };
    let api = var(env, "TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".into());
    let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", api.trim_end_matches('/'));
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let _ = headers.set("authorization", &format!("Basic {}", base64(format!("{sid}:{token}").as_bytes())));
    let mut init = RequestInit::new();
    let form = form_encode(&[("To", to), ("From", &from), ("Body", body)]);
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&form)));
    let Ok(request) = Request::new_with_init(&url, &init) else { return SendResult::Unknown };
    match fetch_within(request, SEND_TIMEOUT).await {
        Ok(f) => read_answer(f.status, &f.body),
        Err(_) => SendResult::Unknown,
    }
}

/// Twilio's answer: 2xx with the message's `sid`, or an error JSON with its `code`.
fn read_answer(status: u16, body: &str) -> SendResult {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if (200..300).contains(&status) {
        return SendResult::Sent { provider_id: json["sid"].as_str().unwrap_or("").to_string() };
    }
    if status >= 500 {
        return SendResult::Unknown;
    }
    let code = json["code"].as_i64();
    let detail: String = json["message"].as_str().unwrap_or("refused").chars().take(200).collect();
    SendResult::Failed { code, detail: format!("Twilio {status}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_core::followup::TWILIO_UNSUBSCRIBED;

    #[test]
    fn twilio_answers_are_read() {
        assert_eq!(
            read_answer(201, r#"{"sid":"SM1","status":"queued"}"#),
            SendResult::Sent { provider_id: "SM1".into() }
        );
        let refused = read_answer(400, r#"{"code":21610,"message":"unsubscribed"}"#);
        assert!(matches!(refused, SendResult::Failed { code: Some(TWILIO_UNSUBSCRIBED), .. }));
        assert_eq!(read_answer(503, "oops"), SendResult::Unknown);
    }
}
