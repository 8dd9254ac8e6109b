//! The panel: bubble, header, message log, quick replies and input, wired to [`Ui`].
//! Separate from the state so the markup reads on its own; the cards are in `card`.

use booking_core::booking::Locale;
use leptos::prelude::*;

use crate::card::{card, format_phone, status};
use crate::i18n::{t, K};
use crate::net;
use crate::state::{new_key, Phase, Plain, Ui, PLAIN};
use crate::{style, ROOT};

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
    PLAIN.with(|p| {
        *p.borrow_mut() = Some(Plain {
            site,
            api,
            page_url,
            key: new_key(),
            conv: None,
            before_yes: None,
            pending: None,
            inflight: false,
            attempts: 0,
            contact: false,
            abandoned: false,
        })
    });
    let ui = Ui {
        frame,
        cfg: RwSignal::new(None),
        cfg_failed: RwSignal::new(false),
        locale: RwSignal::new(initial_locale()),
        msgs: RwSignal::new(Vec::new()),
        quick: RwSignal::new(Vec::new()),
        typing: RwSignal::new(false),
        open: RwSignal::new(false),
        emergency: RwSignal::new(false),
        handoff: RwSignal::new(false),
        card: RwSignal::new(None),
        phase: RwSignal::new(Phase::Chat),
        done: RwSignal::new(None),
        error: RwSignal::new(None),
        windows: RwSignal::new(Vec::new()),
        pick: RwSignal::new(None),
        sms: RwSignal::new(false),
        draft: RwSignal::new(String::new()),
        input: NodeRef::new(),
        bubble: NodeRef::new(),
    };
    let restored = ui.restore();
    if !restored {
        // Keep the site's locale choice if the page's language is not offered.
        ui.locale.set(initial_locale());
    }
    net::load_config(ui);
    if open || frame {
        ui.open_panel();
    } else if ui.open.get_untracked() {
        ui.focus_input();
    }
    if ui.st(|s| s.pending.clone()).is_some() && matches!(ui.phase.get_untracked(), Phase::Queued | Phase::Sending) {
        net::post_booking(ui);
    }
    // Brand colour follows the config.
    leptos::prelude::Effect::new(move |_| {
        if let Some(c) = ui.cfg.get() {
            ROOT.with(|r| {
                if let Some(r) = r.borrow().as_ref() {
                    style::install(r, &c.brand_color);
                }
            });
        }
    });
    // Keep the newest message in view.
    let log = NodeRef::<leptos::html::Div>::new();
    leptos::prelude::Effect::new(move |_| {
        ui.msgs.track();
        ui.typing.track();
        ui.phase.track();
        request_animation_frame(move || {
            if let Some(l) = log.get_untracked() {
                l.set_scroll_top(l.scroll_height());
            }
        });
    });
    let _ = window_event_listener(leptos::ev::online, move |_| {
        if ui.phase.get_untracked() == Phase::Queued {
            net::post_booking(ui);
        }
    });
    let _ = window_event_listener(leptos::ev::pagehide, move |_| ui.abandon());
    let _ = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if document().visibility_state() == web_sys::VisibilityState::Hidden {
            ui.abandon();
        }
    });

    let l = move || ui.locale.get();
    let tel = move || ui.cfg.get().map(|c| format!("tel:+1{}", c.office_phone)).unwrap_or_default();
    let phone_text = move || ui.cfg.get().map(|c| format_phone(&c.office_phone)).unwrap_or_default();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            ui.close_panel();
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ui.send(ui.draft.get_untracked());
    };

    view! {
        <div class="w" class:frame=frame>
            {(!frame).then(|| view! {
                <button
                    type="button"
                    class="bubble"
                    id="bw-bubble"
                    data-testid="bw-bubble"
                    node_ref=ui.bubble
                    aria-label=move || t(l(), if ui.open.get() { K::Close } else { K::OpenChat })
                    aria-expanded=move || ui.open.get().to_string()
                    aria-controls="bw-panel"
                    on:click=move |_| if ui.open.get_untracked() { ui.close_panel() } else { ui.open_panel() }
                >
                    <svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
                        <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/>
                    </svg>
                </button>
            })}
            {move || ui.open.get().then(|| view! {
                <div class="panel" id="bw-panel" data-testid="bw-panel" role="dialog" aria-labelledby="bw-title" on:keydown=on_key>
                    <header>
                        <div class="hd">
                            <h2 id="bw-title">{move || ui.cfg.get().map(|c| c.business_name).unwrap_or_default()}</h2>
                            <p data-testid="bw-hours">
                                {move || ui.cfg.get().map(|c| format!("{}: {}", t(l(), K::Hours), c.office_hours)).unwrap_or_default()}
                            </p>
                            <p>
                                <a href=tel id="bw-handoff" data-testid="bw-handoff" class:strong=move || ui.handoff.get()>
                                    {tx(ui, K::Talk)} " · " {phone_text}
                                </a>
                            </p>
                        </div>
                        {move || (
                            ui.cfg.get().is_some_and(|c| c.locales.len() > 1)
                                && ui.st(|s| s.conv.as_ref().is_none_or(|c| c.user_turns().is_empty()))
                                && ui.msgs.with(|m| !m.iter().any(|m| m.from == "user"))
                        ).then(|| view! {
                            <button type="button" class="hb" data-testid="bw-lang"
                                lang=move || if l() == Locale::Es { "en" } else { "es" }
                                on:click=move |_| ui.switch_locale()>
                                {tx(ui, K::OtherLang)}
                            </button>
                        })}
                        <button type="button" class="hb" data-testid="bw-close" aria-label=tx(ui, K::Close)
                            on:click=move |_| ui.close_panel()>
                            "✕"
                        </button>
                    </header>
                    {move || ui.emergency.get().then(|| view! {
                        <div class="alert" role="alert" data-testid="bw-emergency">
                            {tx(ui, K::Emergency)} " " <a href=tel>{phone_text}</a>
                        </div>
                    })}
                    <div class="log" id="bw-messages" data-testid="bw-messages" role="log" aria-live="polite"
                        aria-relevant="additions" node_ref=log tabindex="0" aria-label=move || ui.cfg.get().map(|c| c.business_name).unwrap_or_default()>
                        <For each=move || ui.msgs.get() key=|m| m.id let:m>
                            <div
                                class=format!("m {}", match m.from.as_str() { "user" => "me", "bot" => "bot", _ => "note" })
                                data-testid="bw-msg"
                                data-from=m.from.clone()
                            >
                                {m.text}
                            </div>
                        </For>
                        {move || (ui.cfg.get().is_none() && ui.msgs.with(Vec::is_empty)).then(|| view! {
                            <div class="m note" data-testid="bw-connecting">
                                {move || if ui.cfg_failed.get() { t(l(), K::NoConfig) } else { t(l(), K::Connecting) }}
                            </div>
                        })}
                        {move || ui.card.get().map(|r| card(ui, r))}
                        {move || status(ui)}
                        {move || ui.typing.get().then(|| view! {
                            <div class="typing" data-testid="bw-typing" role="status">
                                <span class="sr">{tx(ui, K::Typing)}</span>
                                <i></i><i></i><i></i>
                            </div>
                        })}
                    </div>
                    // Rebuilt whole when the chips change (a few buttons): no keyed list needed.
                    {move || (ui.phase.get() == Phase::Chat).then(|| ui.quick.get()).filter(|q| !q.is_empty()).map(|q| view! {
                        <div class="qr" data-testid="bw-quick-replies" role="group" aria-label=tx(ui, K::Suggestions)>
                            {q.into_iter().map(|q| {
                                let label = q.clone();
                                view! {
                                    <button type="button" class="chip" data-testid="bw-quick-reply"
                                        on:click=move |_| { ui.send(q.clone()); ui.focus_input(); }>
                                        {label}
                                    </button>
                                }
                            }).collect_view()}
                        </div>
                    })}
                    <form on:submit=on_submit data-testid="bw-form">
                        <label class="sr" for="bw-input">{tx(ui, K::InputLabel)}</label>
                        <input
                            type="text"
                            id="bw-input"
                            data-testid="bw-input"
                            node_ref=ui.input
                            autocomplete="off"
                            maxlength="2000"
                            placeholder=tx(ui, K::Placeholder)
                            prop:value=move || ui.draft.get()
                            on:input=move |ev| ui.draft.set(event_target_value(&ev))
                            disabled=move || ui.phase.get() != Phase::Chat || ui.cfg.get().is_none()
                        />
                        <button type="submit" class="pri" id="bw-send" data-testid="bw-send"
                            disabled=move || ui.phase.get() != Phase::Chat || ui.cfg.get().is_none()>
                            {tx(ui, K::Send)}
                        </button>
                    </form>
                </div>
            })}
        </div>
    }
}

/// A label that follows the language. One closure type for every label, so the view
/// code for it is generated once rather than once per label (wasm size).
pub(crate) fn tx(ui: Ui, k: K) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || t(ui.locale.get(), k)
}
