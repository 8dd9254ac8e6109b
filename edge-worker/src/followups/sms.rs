//! A follow-up text through Twilio's Messages API: posted by `voice::sms::post` (the
//! same call the phone agent makes), the answer read as booking-core's `SendResult`.

use booking_core::followup::SendResult;
use worker::Env;

use super::var;
use crate::voice::sms::post;

/// Sends `body` to `to` (`+1XXXXXXXXXX`) for a site.
pub(crate) async fn send(env: &Env, site: &str, to: &str, body: &str) -> SendResult {
    let from = var(env, "TWILIO_FROM_NUMBER");
    match post(env, site, to, from.as_deref(), body).await {
        None => SendResult::Failed { code: None, detail: "Twilio is not configured for this site".into() },
        Some((0, _)) => SendResult::Unknown,
        Some((status, answer)) => read_answer(status, &answer),
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
