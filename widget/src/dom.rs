//! The page around the widget: its host element and shadow root, timers, the clock and
//! random keys. A leaf: it knows nothing of the widget's state, so every other module
//! may use it.

use std::cell::RefCell;
use std::time::Duration;

use leptos::prelude::set_timeout;
use wasm_bindgen::JsCast;
use web_sys::{Element, ShadowRoot};

thread_local! {
    /// The element `loader.js` attached the shadow root to (events are fired on it).
    pub(crate) static HOST: RefCell<Option<Element>> = const { RefCell::new(None) };
    /// The shadow root the panel lives in (it has its own ids).
    pub(crate) static ROOT: RefCell<Option<ShadowRoot>> = const { RefCell::new(None) };
}

/// An element of the panel by id.
pub(crate) fn by_id(id: &str) -> Option<web_sys::HtmlElement> {
    ROOT.with(|r| r.borrow().as_ref()?.get_element_by_id(id)?.dyn_into().ok())
}

/// Runs `f` after `ms` milliseconds; 0 means after the pending render. Every deferred
/// action goes through this one boxed type, so the wasm has one copy of the timer glue
/// rather than one per closure.
pub(crate) fn later(ms: u64, f: Box<dyn FnOnce()>) {
    set_timeout(f, Duration::from_millis(ms));
}

/// Focuses an element after the next render.
pub(crate) fn focus(id: &'static str) {
    later(
        0,
        Box::new(move || {
            if let Some(e) = by_id(id) {
                let _ = e.focus();
            }
        }),
    );
}

pub(crate) fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

pub(crate) fn new_key() -> String {
    let mut k = String::from("bw-");
    for _ in 0..4 {
        k.push_str(&format!("{:06x}", (js_sys::Math::random() * 16_777_216.0) as u32));
    }
    k
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}
