//! The widget's only I/O: the worker's four routes.

use booking_core::booking::BookingRequest;
use wasm_bindgen::{JsCast, JsValue};
// wasm-bindgen-futures' own spawn: Leptos's adds an abortable wrapper the widget never uses.
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::Response;

use crate::i18n::{t, K};
use crate::json::{self, Js};
use crate::state::later;
use crate::{Phase, Ui};

/// `fetch()` straight through web-sys (a GET, or a JSON POST). gloo-net did the same
/// with an HTTP builder, streams and channels the widget never used (about 4 KB brotli).
async fn fetch(url: &str, json_body: Option<String>) -> Option<Response> {
    let init = web_sys::RequestInit::new();
    if let Some(body) = json_body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        let h = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&h, &"Content-Type".into(), &"application/json".into());
        init.set_headers(&h);
    }
    let p = web_sys::window()?.fetch_with_str_and_init(url, &init);
    JsFuture::from(p).await.ok()?.dyn_into().ok()
}

/// The body as text (kept as it came: the config is saved verbatim) and parsed.
async fn read(r: Response) -> Option<(String, Js)> {
    let text = JsFuture::from(r.text().ok()?).await.ok()?.as_string()?;
    let j = Js::parse(&text)?;
    Some((text, j))
}

fn url(ui: Ui, route: &str) -> String {
    let site: String = js_sys::encode_uri_component(&ui.st(|s| s.site.clone())).into();
    format!("{}/v1/sites/{site}/{route}", ui.st(|s| s.api.clone()))
}

/// `GET /config`. A saved config is shown at once and refreshed here.
pub(crate) fn load_config(ui: Ui) {
    spawn_local(async move {
        match fetch(&url(ui, "config"), None).await {
            Some(r) if r.ok() => match read(r).await.and_then(|(text, j)| Some((text, json::site_config(&j)?))) {
                Some((text, cfg)) => {
                    ui.set(|s| {
                        if !cfg.locales.contains(&s.locale) && s.conv.is_none() {
                            s.locale = cfg.locales.first().copied().unwrap_or_default();
                        }
                        s.cfg_text = text;
                        s.cfg = Some(cfg);
                    });
                    ui.brand();
                    if ui.st(|s| s.open) {
                        ui.start();
                        ui.focus_input();
                    }
                }
                None => ui.set(|s| s.cfg_failed = true),
            },
            _ => ui.set(|s| s.cfg_failed = true),
        }
    });
}

/// `GET /availability`, when the site offers live arrival windows.
pub(crate) fn availability(ui: Ui, r: &BookingRequest) {
    if !ui.st(|s| s.cfg.as_ref().is_some_and(|c| c.offer_availability)) {
        return;
    }
    let trade = r.trade.code();
    let zip: String = js_sys::encode_uri_component(&r.address.zip).into();
    let u = format!("{}?trade={trade}&zip={zip}", url(ui, "availability"));
    spawn_local(async move {
        if let Some(r) = fetch(&u, None).await {
            if let Some((_, j)) = read(r).await {
                ui.set(|s| {
                    if s.phase == Phase::Card {
                        s.windows = json::windows(&j, "windows");
                    }
                });
            }
        }
    });
}

/// `POST /bookings` with the kept submission. Network errors, 429 and 5xx are queued and
/// retried with backoff (and at once when the browser comes back online); the
/// idempotency key makes every retry the same booking.
pub(crate) fn post_booking(ui: Ui) {
    let Some(body) = ui.st(|s| s.pending.clone()) else { return };
    if ui.st(|s| s.inflight) {
        return;
    }
    ui.st(|s| s.inflight = true);
    spawn_local(async move {
        let res = fetch(&url(ui, "bookings"), Some(body)).await;
        ui.st(|s| s.inflight = false);
        match res {
            // An unreadable reply still means the worker has the booking: "received".
            Some(r) if r.status() == 200 || r.status() == 202 => {
                let reply = read(r).await.map(|(_, j)| json::booking_reply(&j));
                ui.finish(reply.unwrap_or_else(|| json::booking_reply(&Js(JsValue::UNDEFINED))));
            }
            // 4xx: the worker refused the request (its reason is in its logs); the
            // homeowner gets a plain sentence and the phone number.
            Some(r) if r.status() != 429 && r.status() < 500 => ui.fail(t(ui.l(), K::Failed).into()),
            _ => retry_later(ui),
        }
    });
}

fn retry_later(ui: Ui) {
    ui.set(|s| s.phase = Phase::Queued);
    ui.save();
    let n = ui.st(|s| s.attempts);
    ui.st(|s| s.attempts = n + 1);
    let secs = (2u64 << n.min(5)).min(60);
    later(
        secs * 1000,
        Box::new(move || {
            if ui.st(|s| s.phase) == Phase::Queued {
                post_booking(ui);
            }
        }),
    );
}

/// `navigator.sendBeacon` to a route, body as text/plain (no CORS preflight).
pub(crate) fn beacon(ui: Ui, route: &str, body: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().send_beacon_with_opt_str(&url(ui, route), Some(body)).ok())
        .unwrap_or(false)
}
