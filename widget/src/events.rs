//! The widget's analytics surface: `bw:*` CustomEvents on the host element and
//! `dataLayer` pushes. Separate because it is what site owners integrate against, and
//! it must never carry personal data. It takes plain values, not the widget's state.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom::HOST;

/// Fires `bw:{name}` on the host element (bubbles, composed) and pushes to `dataLayer`,
/// with `site` and `extra` as the detail. Inside the iframe fallback (`frame`) the host
/// page cannot see our events, so the name is posted to the parent as well.
/// No personal data goes into any of them.
pub(crate) fn emit(site: &str, frame: bool, name: &str, extra: &[(&str, JsValue)]) {
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"site".into(), &site.into());
    for (k, v) in extra {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(k), v);
    }
    HOST.with(|h| {
        if let Some(h) = h.borrow().as_ref() {
            let init = web_sys::CustomEventInit::new();
            init.set_bubbles(true);
            init.set_composed(true);
            init.set_detail(&detail);
            if let Ok(ev) = web_sys::CustomEvent::new_with_event_init_dict(&format!("bw:{name}"), &init) {
                let _ = h.dispatch_event(&ev);
            }
        }
    });
    if let Some(w) = web_sys::window() {
        let dl = js_sys::Reflect::get(&w, &"dataLayer".into()).unwrap_or(JsValue::UNDEFINED);
        let dl = if js_sys::Array::is_array(&dl) {
            dl.unchecked_into::<js_sys::Array>()
        } else {
            let a = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&w, &"dataLayer".into(), &a);
            a
        };
        let _ = js_sys::Reflect::set(
            &detail,
            &"event".into(),
            &format!("booking_widget_{}", name.replace('-', "_")).into(),
        );
        dl.push(&detail);
    }
    if frame {
        if let Some(p) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
            let _ = p.post_message(&JsValue::from_str(&format!("bw:event:{name}")), "*");
        }
    }
}
