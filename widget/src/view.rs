//! The panel: bubble, header, message log, quick replies and input. One render of the
//! whole panel from [`St`], re-run on every change; the buttons say what they do in
//! `data-act` and one click listener acts on it, so the wasm carries one handler rather
//! than one closure type per button. The cards are in `card`.

use booking_core::booking::Locale;
use booking_core::conversation::Event;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::card::{button, card, chip, format_phone, note, status};
use crate::dom::{by_id, new_key};
use crate::i18n::{t, K};
use crate::node::{el, patch_children, Node};
use crate::state::{Phase, St, Ui};

fn initial_locale() -> Locale {
    let lang = web_sys::window()
        .and_then(|w| {
            let doc_lang = w.document().and_then(|d| d.document_element()).and_then(|e| e.get_attribute("lang"));
            doc_lang.filter(|l| !l.is_empty()).or_else(|| w.navigator().language())
        })
        .unwrap_or_default();
    if lang.to_ascii_lowercase().starts_with("es") {
        Locale::Es
    } else {
        Locale::En
    }
}

pub(crate) fn app(site: String, api: String, page_url: String, frame: bool, open: bool) -> impl IntoView {
    let state = St { site, api, page_url, key: new_key(), locale: initial_locale(), ..St::default() };
    crate::state::init(state);
    let ui = Ui { frame, rev: Trigger::new() };
    ui.restore();
    ui.brand();
    ui.load_config();
    if open || frame {
        ui.open_panel();
    } else if ui.st(|s| s.open) {
        ui.focus_input();
    }
    if ui.st(|s| s.pending.is_some() && matches!(s.phase, Phase::Queued | Phase::Sending)) {
        ui.post_booking();
    }
    // A resumed card has lost its live windows (they are not turns): ask again.
    ui.fetch_windows();
    // Back online: send a queued booking. Leaving (pagehide, tab hidden): report a
    // qualified abandonment. One closure for the three (one copy of the listener glue).
    let on_window = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| match ev.type_().as_str() {
        "online" if ui.st(|s| s.phase) == Phase::Queued => ui.post_booking(),
        "pagehide" => ui.abandon(),
        "visibilitychange" if document().visibility_state() == web_sys::VisibilityState::Hidden => ui.abandon(),
        _ => {}
    });
    if let Some(w) = web_sys::window() {
        for event in ["online", "pagehide", "visibilitychange"] {
            let _ = w.add_event_listener_with_callback(event, on_window.as_ref().unchecked_ref());
        }
    }
    // The widget lives as long as the page.
    on_window.forget();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && ui.st(|s| s.open) {
            ev.prevent_default();
            ui.close_panel();
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(i) = by_id("bw-input").and_then(|i| i.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            ui.send(i.value());
        }
    };
    view! {
        <div class="w" class:frame=frame on:click=move |ev| act(ui, &ev) on:keydown=on_key on:submit=on_submit
            use:paint=ui></div>
    }
}

/// What a click on a `data-act` element does.
fn act(ui: Ui, ev: &leptos::ev::MouseEvent) {
    let Some(el) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("[data-act]").ok().flatten())
    else {
        return;
    };
    let arg = || el.get_attribute("data-arg").and_then(|a| a.parse::<usize>().ok());
    match el.get_attribute("data-act").as_deref().unwrap_or_default() {
        "toggle" if ui.st(|s| s.open) => ui.close_panel(),
        "toggle" => ui.open_panel(),
        "close" => ui.close_panel(),
        "lang" => ui.switch_locale(),
        "quick" => {
            ui.send(el.text_content().unwrap_or_default());
            ui.focus_input();
        }
        "win" => {
            let pick = ui.st(|s| Some(s.card.as_ref()?.windows.get(arg()?)?.window));
            if let Some(window) = pick {
                ui.card_act(Event::ChooseWindow { window });
            }
        }
        "sms" => {
            let given = el.dyn_ref::<web_sys::HtmlInputElement>().is_some_and(|i| i.checked());
            ui.card_act(Event::SmsConsent { given });
        }
        "confirm" => ui.card_act(Event::BookIt),
        "edit" => ui.card_act(Event::Edit),
        "restart" => ui.restart(),
        _ => {}
    }
}

/// Leptos's directive on the root: from now on, the panel in `root` is rendered from
/// the state (once now, so the bubble is there when `mount` returns, and again on every
/// change [`Ui::rev`] tells of).
fn paint(root: web_sys::Element, ui: Ui) {
    let effect = RenderEffect::new(move |_| {
        ui.rev.track();
        let panel = ui.st(|s| panel(ui.frame, s));
        patch_children(&root, panel.into_kids());
    });
    // Dropping it would stop it; the widget lives as long as the page.
    Box::leak(Box::new(effect));
}

/// The bubble and, when open, the panel, as `s` says.
fn panel(frame: bool, s: &St) -> Node {
    let l = s.locale;
    let bubble = (!frame).then(|| {
        el("button")
            .a("type", "button")
            .a("class", "bubble")
            .a("id", "bw-bubble")
            .a("data-testid", "bw-bubble")
            .a("data-act", "toggle")
            .a("aria-label", t(l, if s.open { K::Close } else { K::OpenChat }))
            .a("aria-expanded", if s.open { "true" } else { "false" })
            .a("aria-controls", "bw-panel")
            .k(el("svg")
                .a("width", "28")
                .a("height", "28")
                .a("viewBox", "0 0 24 24")
                .a("aria-hidden", "true")
                .a("fill", "currentColor")
                .k(el("path")
                    .a("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z")))
    });
    // The root's children: a fragment (`into_kids`), never an element of its own.
    el("").opt(bubble).opt(s.open.then(|| open_panel(s, l)))
}

/// The open panel: header, alert, message log with the cards, quick replies, input.
fn open_panel(s: &St, l: Locale) -> Node {
    let business = s.cfg.as_ref().map(|c| c.business_name.clone()).unwrap_or_default();
    let tel = s.cfg.as_ref().map(|c| format!("tel:+1{}", c.office_phone)).unwrap_or_default();
    let phone = s.cfg.as_ref().map(|c| format_phone(&c.office_phone)).unwrap_or_default();
    let hours = s.cfg.as_ref().map(|c| format!("{}: {}", t(l, K::Hours), c.office_hours)).unwrap_or_default();
    // The language switch is offered until the homeowner has said anything (a phone
    // from the booking link is a turn they did not type: it does not count).
    let lang =
        (s.cfg.as_ref().is_some_and(|c| c.locales.len() > 1) && !s.msgs.iter().any(|m| m.from == "user")).then(|| {
            button("hb", "bw-lang", "lang").a("lang", if l == Locale::Es { "en" } else { "es" }).t(t(l, K::OtherLang))
        });
    let emergency = s.emergency.then(|| {
        el("div")
            .a("class", "alert")
            .a("role", "alert")
            .a("data-testid", "bw-emergency")
            .t(t(l, K::Emergency))
            .t(" ")
            .k(el("a").a("href", &tel).t(&phone))
    });
    let msgs = s.msgs.iter().map(|m| {
        let class = match m.from.as_str() {
            "user" => "m me",
            "bot" => "m bot",
            _ => "m note",
        };
        el("div").a("class", class).a("data-testid", "bw-msg").a("data-from", &m.from).t(&m.text)
    });
    let connecting = (s.cfg.is_none() && s.msgs.is_empty())
        .then(|| note("bw-connecting").t(t(l, if s.cfg_failed { K::NoConfig } else { K::Connecting })));
    let typing = s.typing.then(|| {
        el("div")
            .a("class", "typing")
            .a("data-testid", "bw-typing")
            .a("role", "status")
            .k(el("span").a("class", "sr").t(t(l, K::Typing)))
            .k(el("i"))
            .k(el("i"))
            .k(el("i"))
    });
    let quick = (s.phase == Phase::Chat && !s.quick.is_empty()).then(|| {
        el("div")
            .a("class", "qr")
            .a("data-testid", "bw-quick-replies")
            .a("role", "group")
            .a("aria-label", t(l, K::Suggestions))
            .all(s.quick.iter().enumerate().map(|(i, q)| chip("bw-quick-reply", "quick", i, None, q)))
    });
    let off = s.phase != Phase::Chat || s.cfg.is_none();
    let header = el("header")
        .k(el("div")
            .a("class", "hd")
            .k(el("h2").a("id", "bw-title").t(&business))
            .k(el("p").a("data-testid", "bw-hours").t(&hours))
            .k(el("p").k(el("a")
                .a("href", &tel)
                .a("id", "bw-handoff")
                .a("data-testid", "bw-handoff")
                .flag_as("class", "strong", s.handoff)
                .t(t(l, K::Talk))
                .t(" · ")
                .t(&phone))))
        .opt(lang)
        .k(button("hb", "bw-close", "close").a("aria-label", t(l, K::Close)).t("✕"));
    // aria-relevant is left at its default, "additions text": the panel is patched in
    // place, so after "Start over" or a language switch the first message's text
    // changes rather than a new node appearing, and that must be announced too. The
    // messages are a list, so they have their own box (`display: contents`).
    let log = el("div")
        .a("class", "log")
        .a("id", "bw-messages")
        .a("data-testid", "bw-messages")
        .a("role", "log")
        .a("aria-live", "polite")
        .a("tabindex", "0")
        .a("aria-label", &business)
        .k(el("div").a("class", "msgs").all(msgs))
        .opt(connecting)
        .opt(s.card.as_ref().map(|c| card(s, c)))
        .with(status(s))
        .opt(typing);
    let form = el("form")
        .a("data-testid", "bw-form")
        .k(el("label").a("class", "sr").a("for", "bw-input").t(t(l, K::InputLabel)))
        .k(el("input")
            .a("type", "text")
            .a("id", "bw-input")
            .a("data-testid", "bw-input")
            .a("autocomplete", "off")
            .a("maxlength", "2000")
            .a("placeholder", t(l, K::Placeholder))
            .flag("disabled", off))
        .k(el("button")
            .a("type", "submit")
            .a("class", "pri")
            .a("id", "bw-send")
            .a("data-testid", "bw-send")
            .flag("disabled", off)
            .t(t(l, K::Send)));
    el("div")
        .a("class", "panel")
        .a("id", "bw-panel")
        .a("data-testid", "bw-panel")
        .a("role", "dialog")
        .a("aria-labelledby", "bw-title")
        .k(header)
        .opt(emergency)
        .k(log)
        .opt(quick)
        .k(form)
}
