//! A follow-up email through a configurable HTTP email API: one JSON POST to
//! `EMAIL_API_URL` with the secret `EMAIL_API_KEY`, shaped as `EMAIL_API_STYLE` says:
//!
//! - `resend` (the default): `Authorization: Bearer {key}`, `{"from", "to": [..],
//!   "subject", "text", "reply_to"}`, answer `{"id"}`.
//! - `postmark`: `X-Postmark-Server-Token: {key}`, `{"From", "To", "Subject",
//!   "TextBody", "ReplyTo", "Metadata": {"followUp"}}`, answer `{"MessageID"}`.
//!
//! Both carry `Idempotency-Key: {follow-up key}`: a retry after a lost answer is the same
//! request again, which an API honouring the header (Resend does) does not send twice.
//! The from-address is the site's `followUps.emailFrom` (and `emailReplyTo`); without
//! one nothing is sent and the follow-up fails visibly.

use std::time::Duration;

use booking_core::followup::{Outgoing, SendResult};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit};

use super::var;
use crate::http::fetch_within;

/// Email APIs answer in about a second; a hung one must not hold the customer's object.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The API's request shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Resend,
    Postmark,
}

/// Sends one email for a site.
pub(crate) async fn send(env: &Env, site: &str, out: &Outgoing) -> SendResult {
    let not_configured =
        |what: &str| SendResult::Failed { code: None, detail: format!("email is not configured: {what}") };
    let Some(url) = var(env, "EMAIL_API_URL") else { return not_configured("no EMAIL_API_URL") };
    let Some(key) = var(env, "EMAIL_API_KEY") else { return not_configured("no EMAIL_API_KEY secret") };
    let Some(settings) = crate::config::site(env, site).map(|s| s.follow_ups) else {
        return not_configured("unknown site");
    };
    let Some(from) = settings.email_from.filter(|f| !f.trim().is_empty()) else {
        return not_configured("no followUps.emailFrom in the site's settings");
    };
    let reply_to = settings.email_reply_to.filter(|r| !r.trim().is_empty());
    let style = match var(env, "EMAIL_API_STYLE").as_deref() {
        Some("postmark") => Style::Postmark,
        _ => Style::Resend,
    };
    let Ok(request) = request(style, &url, &key, &from, reply_to.as_deref(), out) else {
        return SendResult::Failed { code: None, detail: "the email request could not be built".into() };
    };
    match fetch_within(request, SEND_TIMEOUT).await {
        Ok(answer) => read_answer(style, answer.status, &answer.body),
        Err(_) => SendResult::Unknown,
    }
}

fn request(
    style: Style,
    url: &str,
    key: &str,
    from: &str,
    reply_to: Option<&str>,
    out: &Outgoing,
) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("idempotency-key", &out.key)?;
    match style {
        Style::Resend => headers.set("authorization", &format!("Bearer {key}"))?,
        Style::Postmark => headers.set("x-postmark-server-token", key)?,
    }
    let mut init = RequestInit::new();
    let body = body(style, from, reply_to, out).to_string();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&body)));
    Request::new_with_init(url, &init)
}

fn body(style: Style, from: &str, reply_to: Option<&str>, out: &Outgoing) -> Value {
    let subject = out.email_subject.clone().unwrap_or_default();
    match style {
        Style::Resend => {
            let mut b = json!({"from": from, "to": [out.to], "subject": subject, "text": out.text});
            if let Some(r) = reply_to {
                b["reply_to"] = json!(r);
            }
            b
        }
        Style::Postmark => {
            let mut b = json!({"From": from, "To": out.to, "Subject": subject, "TextBody": out.text,
                "Metadata": {"followUp": out.key}, "MessageStream": "outbound"});
            if let Some(r) = reply_to {
                b["ReplyTo"] = json!(r);
            }
            b
        }
    }
}

/// 2xx with the API's id; 5xx, 408 or 429 (busy, may have gone) unknown; else refused.
fn read_answer(style: Style, status: u16, body: &str) -> SendResult {
    let json: Value = serde_json::from_str(body).unwrap_or_default();
    let id = match style {
        Style::Resend => &json["id"],
        Style::Postmark => &json["MessageID"],
    };
    if (200..300).contains(&status) {
        return SendResult::Sent { provider_id: id.as_str().unwrap_or("").to_string() };
    }
    if status >= 500 || status == 408 || status == 429 {
        return SendResult::Unknown;
    }
    let message = json["message"].as_str().or(json["Message"].as_str()).unwrap_or("refused");
    let detail: String = message.chars().take(200).collect();
    SendResult::Failed { code: json["ErrorCode"].as_i64(), detail: format!("email API {status}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_core::followup::{Channel, Entity, Recipe, Ref};

    fn out() -> Outgoing {
        Outgoing {
            key: "fu:northstar:5004:dunningEmail:invoice:9".into(),
            channel: Channel::Email,
            to: "fhassan@example.com".into(),
            text: "Hi Fatima,\n\nA friendly reminder".into(),
            email_subject: Some("Invoice 9 from Northstar: $120.00 due".into()),
            about: Ref { entity: Entity::Invoice, id: 9 },
            recipe: Recipe::DunningEmail,
            maybe_sent: false,
            scheduled_at: 0,
        }
    }

    #[test]
    fn both_api_shapes_carry_subject_text_and_recipient() {
        let r = body(Style::Resend, "Office <o@x.test>", Some("o@x.test"), &out());
        assert_eq!(r["to"][0], "fhassan@example.com");
        assert_eq!(r["subject"], "Invoice 9 from Northstar: $120.00 due");
        assert_eq!(r["reply_to"], "o@x.test");
        let p = body(Style::Postmark, "Office <o@x.test>", None, &out());
        assert_eq!(p["To"], "fhassan@example.com");
        assert_eq!(p["TextBody"], "Hi Fatima,\n\nA friendly reminder");
        assert_eq!(p["Metadata"]["followUp"], "fu:northstar:5004:dunningEmail:invoice:9");
        assert!(p.get("ReplyTo").is_none());
    }

    #[test]
    fn answers_are_read() {
        assert_eq!(
            read_answer(Style::Resend, 200, r#"{"id":"em_1"}"#),
            SendResult::Sent { provider_id: "em_1".into() }
        );
        assert_eq!(
            read_answer(Style::Postmark, 200, r#"{"MessageID":"pm-1","ErrorCode":0}"#),
            SendResult::Sent { provider_id: "pm-1".into() }
        );
        assert_eq!(read_answer(Style::Resend, 429, "{}"), SendResult::Unknown);
        assert_eq!(read_answer(Style::Resend, 502, ""), SendResult::Unknown);
        let refused = read_answer(Style::Postmark, 422, r#"{"ErrorCode":406,"Message":"Inactive recipient"}"#);
        assert!(matches!(refused, SendResult::Failed { code: Some(406), ref detail } if detail.contains("Inactive")));
    }
}
