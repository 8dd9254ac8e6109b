//! Sends the site owner's webhooks the booking run hands out: signs each one at send
//! time and reports what happened. What to send, when, and how often to retry is
//! `booking_core::run`'s.
//!
//! Headers: `x-booking-event`, `x-booking-delivery` (stable id across retries, for
//! de-duplication) and `x-booking-signature: t=<unix>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET,
//! "<t>.<body>")>`.

use std::time::Duration;

use booking_core::run::{Delivery, DeliveryResult};
use booking_core::signing::sign_webhook;
use wasm_bindgen::JsValue;
use worker::{Date, Env, Headers, Method, Request, RequestInit};

use crate::http::fetch_within;

/// A receiver that has not answered in this long is counted as a failed attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The signing secret; empty when unset (the run then never sends: `NotSigned`).
pub(crate) fn webhook_secret(env: &Env) -> String {
    env.secret("WEBHOOK_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("WEBHOOK_SECRET").map(|v| v.to_string()))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// POSTs one delivery, signed with `secret` (never empty: the caller checks).
pub(crate) async fn post_signed(d: &Delivery, secret: &str) -> DeliveryResult {
    let now = (Date::now().as_millis() / 1000) as i64;
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("x-booking-event", d.event.as_str());
    let _ = headers.set("x-booking-delivery", &d.id);
    let _ = headers.set("x-booking-signature", &sign_webhook(secret.as_bytes(), d.body.as_bytes(), now));
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&d.body)));
    let Ok(request) = Request::new_with_init(&d.url, &init) else { return DeliveryResult::Failed { status: 0 } };
    match fetch_within(request, DELIVERY_TIMEOUT).await {
        Ok(f) if (200..300).contains(&f.status) => DeliveryResult::Delivered,
        Ok(f) => DeliveryResult::Failed { status: f.status },
        Err(_) => DeliveryResult::Failed { status: 0 },
    }
}
