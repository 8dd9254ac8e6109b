//! A follow-up text through Twilio's Messages API: posted by `voice::sms::post` (the
//! same call the phone agent makes), the answer read as booking-core's `SendResult`
//! (Twilio's error `code` kept, so 21610 ends the recipient's sequence in the engine).
//! The look-up before a retry lists the messages to the number (`GET Messages.json?To=`,
//! newest first) and finds one with the same body created since the first try.

use std::time::Duration;

use booking_core::followup::SendResult;
use booking_core::signing::base64;
use worker::{Env, Headers, Method, Request, RequestInit};

use super::var;
use crate::http::fetch_within;
use crate::voice::sms::post;
use crate::voice::twilio::{auth_token, form_encode};

/// A listing is small; a hung API must not hold the customer's object.
const LOOK_UP_TIMEOUT: Duration = Duration::from_secs(8);
/// Clocks differ a little between Twilio and us.
const CLOCK_SLACK_S: i64 = 60;

/// Sends `body` to `to` (`+1XXXXXXXXXX`) for a site.
pub(crate) async fn send(env: &Env, site: &str, to: &str, body: &str) -> SendResult {
    let from = var(env, "TWILIO_FROM_NUMBER");
    match post(env, site, to, from.as_deref(), body).await {
        None => SendResult::Failed { code: None, detail: "Twilio is not configured for this site".into() },
        Some((0, _)) => SendResult::Unknown,
        Some((status, answer)) => read_answer(status, &answer),
    }
}

/// The message to `to` with this `body` created since `since_ms`, if Twilio has one;
/// `None`: none, send again; `Some(Unknown)` when Twilio could not be asked (the engine
/// asks again later rather than risk a second text).
pub(crate) async fn look_up(env: &Env, site: &str, to: &str, body: &str, since_ms: f64) -> Option<SendResult> {
    let Some(listing) = list(env, site, "Messages", to).await else { return Some(SendResult::Unknown) };
    let since = (since_ms / 1000.0) as i64 - CLOCK_SLACK_S;
    find_sent(&listing, "messages", since, |m| m["body"].as_str() == Some(body))
}

/// One page (newest first) of `GET {api}/2010-04-01/Accounts/{sid}/{resource}.json?To=`.
pub(crate) async fn list(env: &Env, site: &str, resource: &str, to: &str) -> Option<serde_json::Value> {
    let (sid, token) = (var(env, "TWILIO_ACCOUNT_SID")?, auth_token(env, site)?);
    let api = var(env, "TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".into());
    let query = form_encode(&[("To", to), ("PageSize", "50")]);
    let url = format!("{}/2010-04-01/Accounts/{sid}/{resource}.json?{query}", api.trim_end_matches('/'));
    let headers = Headers::new();
    headers.set("authorization", &format!("Basic {}", base64(format!("{sid}:{token}").as_bytes()))).ok()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let answer = fetch_within(Request::new_with_init(&url, &init).ok()?, LOOK_UP_TIMEOUT).await.ok()?;
    if !(200..300).contains(&answer.status) {
        worker::console_error!("Twilio {resource} look-up answered {}", answer.status);
        return None;
    }
    serde_json::from_str(&answer.body).ok()
}

/// The first entry of `listing[field]` created at or after `since` that `same` accepts.
pub(crate) fn find_sent(
    listing: &serde_json::Value,
    field: &str,
    since: i64,
    same: impl Fn(&serde_json::Value) -> bool,
) -> Option<SendResult> {
    let created = |m: &serde_json::Value| m["date_created"].as_str().and_then(super::send::rfc2822_seconds);
    let found = listing[field].as_array()?.iter().find(|m| created(m).is_some_and(|t| t >= since) && same(m))?;
    let sid = found["sid"].as_str().unwrap_or("").to_string();
    Some(SendResult::Sent { provider_id: format!("{sid} (found by the look-up before a retry)") })
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
        let refused = read_answer(400, r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient"}"#);
        assert!(matches!(refused, SendResult::Failed { code: Some(TWILIO_UNSUBSCRIBED), .. }));
        assert_eq!(read_answer(503, "oops"), SendResult::Unknown);
    }

    #[test]
    fn the_look_up_finds_only_the_same_body_since_the_first_try() {
        let listing = serde_json::json!({"messages": [
            {"sid": "SM3", "body": "other", "date_created": "Wed, 02 Dec 2026 07:00:00 +0000"},
            {"sid": "SM2", "body": "hi", "date_created": "Wed, 02 Dec 2026 06:59:00 +0000"},
            {"sid": "SM1", "body": "hi", "date_created": "Tue, 01 Dec 2026 06:59:00 +0000"},
        ]});
        let since = super::super::send::rfc2822_seconds("Wed, 02 Dec 2026 06:58:00 +0000").unwrap();
        let hi = |m: &serde_json::Value| m["body"] == "hi";
        assert!(
            matches!(find_sent(&listing, "messages", since, hi), Some(SendResult::Sent { provider_id }) if provider_id.starts_with("SM2"))
        );
        assert_eq!(find_sent(&listing, "messages", since + 120, hi), None);
        assert_eq!(find_sent(&serde_json::json!({}), "messages", since, hi), None);
    }
}
