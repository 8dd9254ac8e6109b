//! The panel: bubble, header, message log, quick replies and input. One render of the
//! whole panel from [`St`], re-run on every change; the buttons say what they do in
//! `data-act` and one click listener acts on it, so the wasm carries one handler rather
//! than one closure type per button. The cards are in `card`.

use booking_core::booking::Locale;
use booking_core::conversation::Event;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::card::{card, chip, format_phone, status};
use crate::dom::{by_id, new_key};
use crate::i18n::{t, K};
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
        <div class="w" class:frame=frame on:click=move |ev| act(ui, &ev) on:keydown=on_key on:submit=on_submit>
            {move || {
                ui.rev.track();
                ui.st(|s| panel(frame, s))
            }}
        </div>
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

/// The bubble and, when open, the panel, as `s` says.
fn panel(frame: bool, s: &St) -> impl IntoView {
    let l = s.locale;
    let business = s.cfg.as_ref().map(|c| c.business_name.clone()).unwrap_or_default();
    let tel = s.cfg.as_ref().map(|c| format!("tel:+1{}", c.office_phone)).unwrap_or_default();
    let phone = s.cfg.as_ref().map(|c| format_phone(&c.office_phone)).unwrap_or_default();
    let bubble = (!frame).then(|| {
        view! {
            <button
                type="button"
                class="bubble"
                id="bw-bubble"
                data-testid="bw-bubble"
                data-act="toggle"
                aria-label=t(l, if s.open { K::Close } else { K::OpenChat })
                aria-expanded=if s.open { "true" } else { "false" }
                aria-controls="bw-panel"
            >
                <svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
                    <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/>
                </svg>
            </button>
        }
    });
    let open = s.open.then(|| {
        let hours = s.cfg.as_ref().map(|c| format!("{}: {}", t(l, K::Hours), c.office_hours)).unwrap_or_default();
        // The language switch is offered until the homeowner has said anything (a phone
        // from the booking link is a turn they did not type: it does not count).
        let lang = (s.cfg.as_ref().is_some_and(|c| c.locales.len() > 1) && !s.msgs.iter().any(|m| m.from == "user"))
        .then(|| {
            view! {
                <button type="button" class="hb" data-testid="bw-lang" data-act="lang"
                    lang=if l == Locale::Es { "en" } else { "es" }>
                    {t(l, K::OtherLang)}
                </button>
            }
        });
        let emergency = s.emergency.then(|| {
            view! {
                <div class="alert" role="alert" data-testid="bw-emergency">
                    {t(l, K::Emergency)} " " <a href=tel.clone()>{phone.clone()}</a>
                </div>
            }
        });
        let msgs = s
            .msgs
            .iter()
            .map(|m| {
                let class = match m.from.as_str() {
                    "user" => "m me",
                    "bot" => "m bot",
                    _ => "m note",
                };
                view! { <div class=class data-testid="bw-msg" data-from=m.from.clone()>{m.text.clone()}</div> }
            })
            .collect_view();
        let connecting = (s.cfg.is_none() && s.msgs.is_empty()).then(|| {
            view! {
                <div class="m note" data-testid="bw-connecting">
                    {t(l, if s.cfg_failed { K::NoConfig } else { K::Connecting })}
                </div>
            }
        });
        let typing = s.typing.then(|| {
            view! {
                <div class="typing" data-testid="bw-typing" role="status">
                    <span class="sr">{t(l, K::Typing)}</span>
                    <i></i><i></i><i></i>
                </div>
            }
        });
        let quick = (s.phase == Phase::Chat && !s.quick.is_empty()).then(|| {
            view! {
                <div class="qr" data-testid="bw-quick-replies" role="group" aria-label=t(l, K::Suggestions)>
                    {s.quick.iter().enumerate().map(|(i, q)| chip("bw-quick-reply", "quick", i, None, q.clone())).collect_view()}
                </div>
            }
        });
        let off = s.phase != Phase::Chat || s.cfg.is_none();
        view! {
            <div class="panel" id="bw-panel" data-testid="bw-panel" role="dialog" aria-labelledby="bw-title">
                <header>
                    <div class="hd">
                        <h2 id="bw-title">{business.clone()}</h2>
                        <p data-testid="bw-hours">{hours}</p>
                        <p>
                            <a href=tel id="bw-handoff" data-testid="bw-handoff" class:strong=s.handoff>
                                {t(l, K::Talk)} " · " {phone}
                            </a>
                        </p>
                    </div>
                    {lang}
                    <button type="button" class="hb" data-testid="bw-close" data-act="close" aria-label=t(l, K::Close)>
                        "✕"
                    </button>
                </header>
                {emergency}
                // aria-relevant is left at its default, "additions text": the panel is patched in
                // place, so after "Start over" or a language switch the first message's text
                // changes rather than a new node appearing, and that must be announced too.
                <div class="log" id="bw-messages" data-testid="bw-messages" role="log" aria-live="polite"
                    tabindex="0" aria-label=business>
                    {msgs}
                    {connecting}
                    {s.card.as_ref().map(|c| card(s, c))}
                    {status(s)}
                    {typing}
                </div>
                {quick}
                <form data-testid="bw-form">
                    <label class="sr" for="bw-input">{t(l, K::InputLabel)}</label>
                    <input type="text" id="bw-input" data-testid="bw-input" autocomplete="off" maxlength="2000"
                        placeholder=t(l, K::Placeholder) disabled=off />
                    <button type="submit" class="pri" id="bw-send" data-testid="bw-send" disabled=off>
                        {t(l, K::Send)}
                    </button>
                </form>
            </div>
        }
    });
    (bubble, open)
}
