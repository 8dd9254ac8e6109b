//! The AI voice follow-up call (the estimate's 72 h call): Twilio `Calls.json` POST whose
//! `Url` starts the voice agent on `/v1/voice/twilio/{site}/incoming` with the
//! follow-up's context in the query (`followUp`, `customer`, `estimate`, `recipe`), and
//! its `StatusCallback` on `/status`. The call object (voice/) answers it: it says it is
//! an automated assistant, why it calls, and offers the opt-out. The worker's own
//! address is `WORKER_PUBLIC_URL`; without it no call is placed.
//!
//! The look-up before a retry lists the calls to the number since the first try.

use std::time::Duration;

use booking_core::followup::{Entity, Outgoing, SendResult};
use booking_core::signing::base64;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit};

use super::sms::{find_sent, list};
use super::var;
use crate::http::fetch_within;
use crate::voice::twilio::{auth_token, form_encode};

/// Twilio answers a call request in well under a second.
const PLACE_TIMEOUT: Duration = Duration::from_secs(8);
/// Clocks differ a little between Twilio and us.
const CLOCK_SLACK_S: i64 = 60;

/// Places the call; Twilio's answer as a `SendResult` (the `CallSid` as the provider id).
pub(crate) async fn place(env: &Env, site: &str, out: &Outgoing) -> SendResult {
    let not_configured =
        |what: &str| SendResult::Failed { code: None, detail: format!("calls not configured: {what}") };
    let Some(worker) = var(env, "WORKER_PUBLIC_URL") else { return not_configured("no WORKER_PUBLIC_URL") };
    let (Some(sid), Some(token)) = (var(env, "TWILIO_ACCOUNT_SID"), auth_token(env, site)) else {
        return not_configured("no Twilio account or token for this site");
    };
    let Some(from) = var(env, "TWILIO_FROM_NUMBER") else { return not_configured("no TWILIO_FROM_NUMBER") };
    let fields = call_form(worker.trim_end_matches('/'), site, &from, out);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let form = form_encode(&pairs);
    let api = var(env, "TWILIO_API_URL").unwrap_or_else(|| "https://api.twilio.com".into());
    let url = format!("{}/2010-04-01/Accounts/{sid}/Calls.json", api.trim_end_matches('/'));
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let _ = headers.set("authorization", &format!("Basic {}", base64(format!("{sid}:{token}").as_bytes())));
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&form)));
    let Ok(request) = Request::new_with_init(&url, &init) else { return SendResult::Unknown };
    match fetch_within(request, PLACE_TIMEOUT).await {
        Ok(answer) => read_answer(answer.status, &answer.body),
        Err(_) => SendResult::Unknown,
    }
}

/// A call to `to` created since `since_ms`, if Twilio has one (`Some(Unknown)`: Twilio
/// could not be asked).
pub(crate) async fn look_up(env: &Env, site: &str, to: &str, since_ms: f64) -> Option<SendResult> {
    let Some(listing) = list(env, site, "Calls", to).await else { return Some(SendResult::Unknown) };
    find_sent(&listing, "calls", (since_ms / 1000.0) as i64 - CLOCK_SLACK_S, |_| true)
}

/// The form Twilio gets: who, from which number, and where the call's TwiML comes from.
fn call_form(worker: &str, site: &str, from: &str, out: &Outgoing) -> Vec<(&'static str, String)> {
    let customer = super::send::customer_of(site, &out.key).map(|c| c.to_string()).unwrap_or_default();
    let estimate = if out.about.entity == Entity::Estimate { out.about.id.to_string() } else { String::new() };
    let query = form_encode(&[
        ("followUp", out.key.as_str()),
        ("customer", &customer),
        ("estimate", &estimate),
        ("recipe", out.recipe.as_str()),
    ]);
    let hooks = format!("{worker}/v1/voice/twilio/{site}");
    vec![
        ("To", out.to.clone()),
        ("From", from.to_string()),
        ("Url", format!("{hooks}/incoming?{query}")),
        ("Method", "POST".into()),
        ("StatusCallback", format!("{hooks}/status")),
        ("StatusCallbackMethod", "POST".into()),
    ]
}

fn read_answer(status: u16, body: &str) -> SendResult {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if (200..300).contains(&status) {
        return SendResult::Sent { provider_id: json["sid"].as_str().unwrap_or("").to_string() };
    }
    if status >= 500 || status == 0 {
        return SendResult::Unknown;
    }
    let detail: String = json["message"].as_str().unwrap_or("refused").chars().take(200).collect();
    SendResult::Failed { code: json["code"].as_i64(), detail: format!("Twilio {status}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_core::followup::{Channel, Recipe, Ref};

    #[test]
    fn the_call_starts_the_agent_with_the_estimate_in_the_url() {
        let out = Outgoing {
            key: "fu:northstar:5003:estimateCall:estimate:77".into(),
            channel: Channel::Voice,
            to: "+16125550134".into(),
            text: "Hi Carol".into(),
            email_subject: None,
            about: Ref { entity: Entity::Estimate, id: 77 },
            recipe: Recipe::EstimateCall,
            maybe_sent: false,
            scheduled_at: 0,
        };
        let form = call_form("https://w.test", "northstar", "+16125550170", &out);
        let get = |k: &str| form.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("To"), "+16125550134");
        assert_eq!(
            get("Url"),
            "https://w.test/v1/voice/twilio/northstar/incoming?followUp=fu%3Anorthstar%3A5003%3AestimateCall%3Aestimate%3A77&customer=5003&estimate=77&recipe=estimateCall"
        );
        assert_eq!(get("StatusCallback"), "https://w.test/v1/voice/twilio/northstar/status");
    }

    #[test]
    fn answers_are_read() {
        assert_eq!(read_answer(201, r#"{"sid":"CA1"}"#), SendResult::Sent { provider_id: "CA1".into() });
        assert_eq!(read_answer(503, ""), SendResult::Unknown);
        assert!(matches!(read_answer(400, r#"{"code":21215}"#), SendResult::Failed { code: Some(21215), .. }));
    }
}
