//! The booking chat widget: a Leptos CSR app compiled to wasm and mounted by `loader.js`
//! into the Shadow DOM it drew the bubble in.
//!
//! It is a shell around `booking-core`: every reply comes from
//! [`booking_core::conversation::Conversation`], run locally, so answers are instant
//! and survive reloads. The widget only moves bytes: it fetches the public site
//! config, POSTs the homeowner's turns on confirmation, queues that POST while
//! offline, and reports a qualified abandonment with `sendBeacon`.
//!
//! Everything the homeowner types is rendered as text nodes; nothing here uses
//! `inner_html`.
//!
//! Modules, each using only those after it (no cycle): `view` and `card` (the panel,
//! built whole from the state, and its cards, one click handler); `node` (the panel as
//! data, and the patch that brings the DOM in line with it); `actions` (what the
//! homeowner's actions and the worker's config and availability answers do); `submit`
//! (what leaves the browser: the booking and the abandonment report); `saved`
//! (resume after reload); `state` (the one state struct and the `Ui` handle); `events`
//! (the host page's CustomEvents and `dataLayer`, from plain values); `net` (fetch and
//! beacons: bytes in, bytes out); `json` (JSON through the browser's `JSON`); `dom`
//! (host, shadow root, timers, clock); `i18n`, `style`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::ShadowRoot;

mod actions;
mod card;
mod dom;
mod events;
mod i18n;
mod json;
mod net;
mod node;
mod saved;
mod state;
mod style;
mod submit;
mod view;

use dom::{HOST, ROOT};

fn opt_str(o: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(o, &JsValue::from_str(name)).ok()?.as_string()
}

/// Mounts the widget into the shadow root `loader.js` drew the bubble in.
///
/// - `root`: the open shadow root (its content is replaced).
/// - `site`: the site id (`data-site`).
/// - `api`: the worker's base URL (`data-api`), no trailing slash needed.
/// - `open`: open the panel at once (the homeowner clicked the bubble).
/// - `options`: a plain object: `frame` (bool, full-frame inside the iframe fallback),
///   `pageUrl` (the page the homeowner is on; the parent page in frame mode).
#[wasm_bindgen]
pub fn mount(root: ShadowRoot, site: String, api: String, open: bool, options: JsValue) {
    let frame = js_sys::Reflect::get(&options, &"frame".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    let page_url = opt_str(&options, "pageUrl")
        .filter(|u| !u.is_empty())
        .or_else(|| web_sys::window().and_then(|w| w.location().href().ok()))
        .unwrap_or_default();
    style::install(&root, "#0b5cab");
    // The loader starts loading when its bubble gets focus (Tab): keep that focus on our
    // bubble, or a keyboard user would be dropped to the top of the page.
    let had_focus = root.active_element().is_some();
    while let Some(c) = root.first_child() {
        let _ = root.remove_child(&c);
    }
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(div) = doc.create_element("div") else { return };
    let _ = root.append_child(&div);
    HOST.with(|h| *h.borrow_mut() = Some(root.host()));
    ROOT.with(|r| *r.borrow_mut() = Some(root.clone()));
    let api = api.trim_end_matches('/').to_string();
    let Ok(div) = div.dyn_into::<web_sys::HtmlElement>() else { return };
    leptos::mount::mount_to(div, move || view::app(site, api, page_url, frame, open)).forget();
    if had_focus && !open {
        if let Some(b) = root.get_element_by_id("bw-bubble").and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = b.focus();
        }
    }
}
