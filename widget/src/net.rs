//! The widget's only I/O: `fetch` and `sendBeacon`. It moves bytes and knows nothing of
//! the widget's state: the caller gives a URL, a body, and what to do with the answer.

use wasm_bindgen::{JsCast, JsValue};
// wasm-bindgen-futures' own spawn: Leptos's adds an abortable wrapper the widget never uses.
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::Response;

/// What the worker answered: the HTTP status and the body as text.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) text: Option<String>,
}

impl Answer {
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What to do with the answer; `None` when the request never got one (offline, DNS,
/// CORS). One boxed type, so the wasm carries one copy of the spawn glue for every call.
pub(crate) type Then = Box<dyn FnOnce(Option<Answer>)>;

/// The worker's route for a site: `{api}/v1/sites/{site}/{route}`.
pub(crate) fn route(api: &str, site: &str, route: &str) -> String {
    let site: String = js_sys::encode_uri_component(site).into();
    format!("{api}/v1/sites/{site}/{route}")
}

/// `fetch()` straight through web-sys: a GET, or a JSON POST when there is a body.
/// gloo-net did the same with an HTTP builder, streams and channels the widget never
/// used (about 4 KB brotli).
pub(crate) fn fetch(url: String, json_body: Option<String>, then: Then) {
    spawn_local(async move { then(send(&url, json_body).await) });
}

async fn send(url: &str, json_body: Option<String>) -> Option<Answer> {
    let init = web_sys::RequestInit::new();
    if let Some(body) = json_body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        let h = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&h, &"Content-Type".into(), &"application/json".into());
        init.set_headers(&h);
    }
    let p = web_sys::window()?.fetch_with_str_and_init(url, &init);
    let r: Response = JsFuture::from(p).await.ok()?.dyn_into().ok()?;
    let text = match r.text() {
        Ok(t) => JsFuture::from(t).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Some(Answer { status: r.status(), text })
}

/// `navigator.sendBeacon`, body as text/plain (no CORS preflight; it survives unload).
pub(crate) fn beacon(url: &str, body: &str) -> bool {
    web_sys::window().and_then(|w| w.navigator().send_beacon_with_opt_str(url, Some(body)).ok()).unwrap_or(false)
}
