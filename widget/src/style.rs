//! The widget's CSS. It is installed as a constructed stylesheet on the shadow root
//! (`adoptedStyleSheets`), which a strict `style-src` without 'unsafe-inline' allows.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, ShadowRoot};

pub(crate) const CSS: &str = r#":host{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1a1a1a;--b:#0b5cab}
*{box-sizing:border-box}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,a{font:inherit}
.bubble{all:unset;box-sizing:border-box;cursor:pointer;width:60px;height:60px;border-radius:50%;background:var(--b);color:#fff;display:grid;place-items:center;box-shadow:0 4px 14px rgba(0,0,0,.3)}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #111;outline-offset:2px}
header button:focus-visible,header a:focus-visible,.alert a:focus-visible{outline-color:#fff}
.panel{position:fixed;right:16px;bottom:88px;width:380px;height:min(620px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden}
.frame .panel{inset:0;width:100%;height:100%;border-radius:0;box-shadow:none}
header{background:var(--b);color:#fff;padding:12px 14px;display:flex;gap:8px;align-items:flex-start}
header h2{margin:0;font-size:16px;font-weight:700}
header p{margin:2px 0 0;font-size:13px}
header a{color:#fff;font-weight:600}
.hb{all:unset;cursor:pointer;color:#fff;padding:3px 8px;border-radius:6px;font-size:13px;border:1px solid #fff;white-space:nowrap}
.hd{flex:1;min-width:0}
.alert{background:#8b0000;color:#fff;padding:10px 14px;font-size:14px}
.alert a{color:#fff;font-weight:700}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.msgs{display:contents}
.m{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.bot{background:#eef1f5;align-self:flex-start}
.me{background:var(--b);color:#fff;align-self:flex-end}
.note{align-self:center;font-size:13px;color:#3d4752;text-align:center}
.typing{align-self:flex-start;display:flex;gap:4px;padding:12px;background:#eef1f5;border-radius:14px}
.typing i{width:7px;height:7px;border-radius:50%;background:#4a5561;animation:bw 1s infinite}
.typing i:nth-child(2){animation-delay:.2s}
.typing i:nth-child(3){animation-delay:.4s}
@keyframes bw{50%{opacity:.25}}
.qr{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}
.chip{all:unset;cursor:pointer;border:1.5px solid var(--b);color:var(--b);background:#fff;border-radius:16px;padding:5px 12px;font-size:14px}
.chip[aria-pressed=true]{background:var(--b);color:#fff}
.card{border:1px solid #b8c2cc;border-radius:12px;padding:12px;background:#fff}
.card h3{margin:0 0 8px;font-size:15px}
.card dl{margin:0 0 8px;display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:14px}
.card dt{color:#3d4752}
.card dd{margin:0;overflow-wrap:anywhere}
.card label{display:flex;gap:8px;align-items:flex-start;font-size:14px;margin-top:6px}
.card fieldset{border:0;padding:0;margin:8px 0 0}
.card legend{font-size:14px;font-weight:600;padding:0;margin-bottom:6px}
.wins{display:flex;flex-wrap:wrap;gap:6px}
.row{display:flex;gap:8px;margin-top:10px;flex-wrap:wrap}
.pri{all:unset;cursor:pointer;background:var(--b);color:#fff;padding:8px 16px;border-radius:8px;font-weight:600}
.pri[disabled]{opacity:.65;cursor:default}
.sec{all:unset;cursor:pointer;color:var(--b);padding:7px 12px;border-radius:8px;border:1px solid var(--b)}
.ok{border-color:#1e7b34;border-width:2px}
.job{font-size:18px;font-weight:700}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #dde2e8}
input[type=text]{flex:1;font:inherit;padding:9px 10px;border:1px solid #66717d;border-radius:8px;min-width:0;color:#1a1a1a;background:#fff}
form .pri{padding:8px 14px}
@media(max-width:479px){.panel{inset:0;width:100%;height:100%;border-radius:0}}
@media(prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important;scroll-behavior:auto!important}}
"#;

fn sheet(css: &str) -> Option<CssStyleSheet> {
    let s = CssStyleSheet::new().ok()?;
    s.replace_sync(css).ok()?;
    Some(s)
}

/// Installs the widget CSS plus a `:host{--b:...}` rule for the brand colour.
pub(crate) fn install(root: &ShadowRoot, brand: &str) {
    let list = js_sys::Array::new();
    if let Some(s) = sheet(CSS) {
        list.push(&s);
    }
    if let Some(s) = sheet(&format!(":host{{--b:{}}}", accessible_brand(brand))) {
        list.push(&s);
    }
    if list.length() > 0 {
        let _ = js_sys::Reflect::set(root, &JsValue::from_str("adoptedStyleSheets"), &list);
    } else if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        // Browsers without constructable stylesheets: a <style> element (needs 'unsafe-inline' under CSP).
        if let Ok(el) = doc.create_element("style") {
            el.set_text_content(Some(CSS));
            let _ = root.prepend_with_node_1(el.unchecked_ref());
        }
    }
}

fn channel(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.039_28 {
        c / 12.92
    } else {
        // x^2.5 (no libm pow in the wasm): a touch darker than x^2.4, so the check errs safe.
        let x = (c + 0.055) / 1.055;
        x * x * x.sqrt()
    }
}

/// The brand colour if white text on it reaches 4.5:1 (WCAG AA), else the colour darkened
/// until it does. Anything that is not `#rrggbb` becomes the default blue.
pub(crate) fn accessible_brand(c: &str) -> String {
    let hex = c.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex) = hex else { return "#0b5cab".into() };
    let mut rgb: Vec<u8> = (0..3).map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0)).collect();
    for _ in 0..40 {
        let l = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
        if 1.05 / (l + 0.05) >= 4.8 {
            break;
        }
        for v in rgb.iter_mut() {
            *v = (f64::from(*v) * 0.9) as u8;
        }
    }
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

#[cfg(test)]
mod tests {
    use super::accessible_brand;

    #[test]
    fn brand_colour_is_made_readable() {
        assert_eq!(accessible_brand("#0b5cab"), "#0b5cab");
        assert_ne!(accessible_brand("#ffcc00"), "#ffcc00");
        assert_eq!(accessible_brand("red;}body{x:y"), "#0b5cab");
    }
}
