//! Outgoing webhooks to the site owner, signed like Stripe's and retried at 10 s,
//! 30 s, 60 s and 300 s (ServiceTitan's own schedule, so owners see one pattern).
//!
//! Headers: `x-booking-event` (`session.completed`, `session.qualified_abandoned`,
//! `booking.failed`), `x-booking-delivery` (stable id for de-duplication) and
//! `x-booking-signature: t=<unix>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<body>")>`.

use booking_core::servicetitan::Outcome;
use booking_core::signing::sign_webhook;
use booking_core::transcript;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{Date, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::booking_object::Job;

/// Seconds to wait before each retry.
pub const RETRY_DELAYS: [i64; 4] = [10, 30, 60, 300];

/// A webhook waiting to be delivered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Where it goes.
    pub url: String,
    /// Event name.
    pub event: String,
    /// Stable id across retries.
    pub id: String,
    /// JSON body.
    pub body: String,
    /// Attempts made so far.
    pub attempts: usize,
    /// When to try next, Unix seconds.
    pub due: i64,
}

impl Delivery {
    /// A first attempt, due now.
    pub fn new(url: String, event: &str, payload: serde_json::Value, now: i64) -> Delivery {
        let body = json!({ "event": event, "createdAt": now, "data": payload }).to_string();
        let id = format!("{event}:{}", booking_core::signing::sha256_hex(body.as_bytes()).get(..24).unwrap_or(""));
        Delivery { url, event: event.to_string(), id, body, attempts: 0, due: now }
    }
}

/// The signing secret (empty when unset: deliveries then go unsigned-but-marked).
pub fn secret(env: &Env) -> String {
    env.secret("WEBHOOK_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("WEBHOOK_SECRET").map(|v| v.to_string()))
        .unwrap_or_default()
}

/// The event and payload for a finished booking.
pub fn for_outcome(job: &Job, outcome: &Outcome) -> (&'static str, serde_json::Value) {
    let common = json!({
        "site": job.site_id,
        "session": job.idempotency_key,
        "summary": transcript::summary(&job.request),
        "transcript": transcript::render(&job.request),
    });
    match outcome {
        Outcome::Booked(b) => {
            let mut v = common;
            v["records"] = json!(b);
            ("session.completed", v)
        }
        Outcome::Failed { message } => {
            let mut v = common;
            v["reason"] = json!(message);
            ("booking.failed", v)
        }
        Outcome::Queued { reason, .. } => {
            let mut v = common;
            v["reason"] = json!(reason);
            ("booking.failed", v)
        }
    }
}

/// Tries once. `None` when delivered or out of retries; else the next attempt.
pub async fn deliver(mut d: Delivery, secret: &str) -> Option<Delivery> {
    let now = (Date::now().as_millis() / 1000) as i64;
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("x-booking-event", &d.event);
    let _ = headers.set("x-booking-delivery", &d.id);
    let _ = headers.set("x-booking-signature", &sign_webhook(secret.as_bytes(), d.body.as_bytes(), now));
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&d.body)));
    let ok = match Request::new_with_init(&d.url, &init) {
        Ok(r) => Fetch::Request(r).send().await.map(|r| (200..300).contains(&r.status_code())).unwrap_or(false),
        Err(_) => false,
    };
    if ok {
        return None;
    }
    let delay = RETRY_DELAYS.get(d.attempts)?;
    d.attempts += 1;
    d.due = now + delay;
    Some(d)
}
