//! The widget's state: the [`Ui`] signal handles the view reads, the [`Plain`] state
//! nothing on screen depends on, and what the homeowner's actions (send, edit, start
//! over, switch language) do to them. Separate from the view so the behaviour can be
//! read without the markup.

use std::cell::RefCell;
use std::time::Duration;

use booking_core::booking::{BookingRequest, Channel, Locale};
use booking_core::conversation::{Conversation, Effect, Event, Turn};
use booking_core::site::PublicSiteConfig;
use booking_core::submission::{BookingReply, MAX_TURNS, MAX_TURN_BYTES};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::events::emit;
use crate::i18n::{t, K};
use crate::net;

thread_local! {
    /// Message ids are never reused, even after "Start over" or a language switch:
    /// the keyed list would otherwise keep the old text for a reused key.
    pub(crate) static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// One line in the message list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Msg {
    pub(crate) id: u32,
    /// "bot", "user" or "note" (a widget notice).
    pub(crate) from: String,
    pub(crate) text: String,
}

/// Where the booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) enum Phase {
    #[default]
    Chat,
    Card,
    Sending,
    Queued,
    Done,
    Failed,
}

/// An arrival window offered by the worker's availability route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Window {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// State nothing on screen depends on. Kept in one plain struct rather than in Leptos
/// `StoredValue`s: every `StoredValue<T>` type costs its own copy of the reactive arena
/// code in the wasm.
pub(crate) struct Plain {
    pub(crate) site: String,
    pub(crate) api: String,
    pub(crate) page_url: String,
    pub(crate) key: String,
    pub(crate) conv: Option<Conversation>,
    pub(crate) before_yes: Option<Conversation>,
    pub(crate) pending: Option<String>,
    pub(crate) inflight: bool,
    pub(crate) attempts: u32,
    pub(crate) contact: bool,
    pub(crate) abandoned: bool,
}

thread_local! {
    pub(crate) static PLAIN: RefCell<Option<Plain>> = const { RefCell::new(None) };
}

/// The widget's state: all `Copy` handles, so closures can capture it freely.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    pub(crate) frame: bool,
    pub(crate) cfg: RwSignal<Option<PublicSiteConfig>>,
    pub(crate) cfg_failed: RwSignal<bool>,
    pub(crate) locale: RwSignal<Locale>,
    pub(crate) msgs: RwSignal<Vec<Msg>>,
    pub(crate) quick: RwSignal<Vec<String>>,
    pub(crate) typing: RwSignal<bool>,
    pub(crate) open: RwSignal<bool>,
    pub(crate) emergency: RwSignal<bool>,
    pub(crate) handoff: RwSignal<bool>,
    pub(crate) card: RwSignal<Option<BookingRequest>>,
    pub(crate) phase: RwSignal<Phase>,
    pub(crate) done: RwSignal<Option<BookingReply>>,
    pub(crate) error: RwSignal<Option<String>>,
    pub(crate) windows: RwSignal<Vec<Window>>,
    pub(crate) pick: RwSignal<Option<usize>>,
    pub(crate) sms: RwSignal<bool>,
    pub(crate) draft: RwSignal<String>,
    pub(crate) input: NodeRef<leptos::html::Input>,
    pub(crate) bubble: NodeRef<leptos::html::Button>,
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
    s[..end].to_string()
}

impl Ui {
    /// Runs `f` on the plain state. `f` must not call `st` again (one borrow at a time).
    pub(crate) fn st<R>(self, f: impl FnOnce(&mut Plain) -> R) -> R {
        PLAIN.with(|p| f(p.borrow_mut().as_mut().expect("mounted")))
    }
    fn push(self, from: &str, text: String) {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        self.msgs.update(|m| m.push(Msg { id, from: from.into(), text }));
    }

    pub(crate) fn l(self) -> Locale {
        self.locale.get_untracked()
    }

    /// Starts the conversation (greeting) once the config is known and the panel is open.
    pub(crate) fn start(self) {
        if self.st(|s| s.conv.is_some()) {
            return;
        }
        let Some(cfg) = self.cfg.get_untracked() else { return };
        let mut c = Conversation::new(cfg, Channel::Chat, Some(self.l()));
        let turn = c.handle(Event::Start, now());
        self.locale.set(c.locale());
        self.st(|s| s.conv = Some(c));
        self.apply(turn, None);
    }

    pub(crate) fn open_panel(self) {
        if !self.open.get_untracked() {
            self.open.set(true);
            emit(self, "opened", &[]);
        }
        self.start();
        self.save();
        self.focus_input();
    }

    pub(crate) fn close_panel(self) {
        self.open.set(false);
        self.save();
        if self.frame {
            if let Some(p) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
                let _ = p.post_message(&JsValue::from_str("bw:close"), "*");
            }
        } else {
            request_animation_frame(move || {
                if let Some(b) = self.bubble.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    }

    pub(crate) fn focus_input(self) {
        request_animation_frame(move || {
            if let Some(i) = self.input.get_untracked() {
                let _ = i.focus();
            }
        });
    }

    /// The homeowner sent `text` (typed or a quick reply).
    pub(crate) fn send(self, text: String) {
        let text = clip(text.trim(), MAX_TURN_BYTES);
        if text.is_empty() || self.phase.get_untracked() != Phase::Chat {
            return;
        }
        let Some(turns) = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().len())) else { return };
        if turns >= MAX_TURNS {
            self.push("note", t(self.l(), K::Limit).into());
            self.handoff.set(true);
            return;
        }
        self.push("user", text.clone());
        self.quick.set(Vec::new());
        self.draft.set(String::new());
        let mut before = None;
        let mut turn = Turn::default();
        self.st(|s| {
            if let Some(c) = &mut s.conv {
                before = Some(c.clone());
                turn = c.handle(Event::User { text }, now());
            }
        });
        self.save();
        // A short typing pause reads as a reply rather than a form; it is skipped when
        // the reply carries a safety message.
        let urgent = turn.effects.iter().any(|e| matches!(e, Effect::Emergency));
        if urgent {
            self.apply(turn, before);
        } else {
            self.typing.set(true);
            set_timeout(
                move || {
                    self.typing.set(false);
                    self.apply(turn, before);
                },
                Duration::from_millis(450),
            );
        }
    }

    /// Shows a turn's replies and acts on its effects.
    fn apply(self, turn: Turn, before: Option<Conversation>) {
        let mut replies = turn.replies;
        if turn.effects.iter().any(|e| matches!(e, Effect::Book { .. })) {
            // booking-core's last line here says "you're all set", which is only true once
            // the worker has the booking: the card asks for the one "Book it" tap instead,
            // and the success card says it when the POST has succeeded.
            replies.pop();
        }
        for r in replies {
            self.push("bot", r);
        }
        self.quick.set(turn.quick_replies);
        for e in turn.effects {
            match e {
                Effect::Book { request } => {
                    self.st(|s| s.before_yes = before.clone());
                    self.pick.set(None);
                    self.windows.set(Vec::new());
                    net::availability(self, &request);
                    self.card.set(Some(request));
                    self.phase.set(Phase::Card);
                    self.quick.set(Vec::new());
                }
                Effect::HandOff => self.handoff.set(true),
                Effect::Emergency => self.emergency.set(true),
                _ => {}
            }
        }
        if !self.st(|s| s.contact) && self.qualified().is_some() {
            self.st(|s| s.contact = true);
            emit(self, "contact-captured", &[]);
        }
        self.save();
    }

    /// What booking-core says an abandonment now would report, if anything.
    pub(crate) fn qualified(self) -> Option<Effect> {
        let mut c = self.st(|s| s.conv.clone())?;
        c.handle(Event::Abandon, now())
            .effects
            .into_iter()
            .find(|e| matches!(e, Effect::QualifiedAbandon { .. }))
    }

    /// "Edit" on the confirmation card: back to the state before the confirming answer.
    pub(crate) fn edit(self) {
        if self.phase.get_untracked() != Phase::Card {
            return;
        }
        if let Some(c) = self.st(|s| s.before_yes.clone()) {
            self.st(|s| s.conv = Some(c));
        }
        self.card.set(None);
        self.phase.set(Phase::Chat);
        self.push("note", t(self.l(), K::EditHint).into());
        self.save();
        self.focus_input();
    }

    /// "Start over" after a booking or a failure: a new conversation and key.
    pub(crate) fn restart(self) {
        self.st(|s| s.conv = None);
        self.st(|s| s.key = new_key());
        self.msgs.set(Vec::new());
        self.quick.set(Vec::new());
        self.emergency.set(false);
        self.handoff.set(false);
        self.card.set(None);
        self.st(|s| s.before_yes = None);
        self.phase.set(Phase::Chat);
        self.st(|s| s.pending = None);
        self.done.set(None);
        self.error.set(None);
        self.st(|s| s.contact = false);
        self.st(|s| s.abandoned = false);
        self.windows.set(Vec::new());
        self.pick.set(None);
        self.sms.set(false);
        self.start();
        self.save();
        self.focus_input();
    }

    /// The other language, offered until the homeowner has said anything.
    pub(crate) fn switch_locale(self) {
        let Some(cfg) = self.cfg.get_untracked() else { return };
        let next = if self.l() == Locale::Es { Locale::En } else { Locale::Es };
        if !cfg.locales.contains(&next) {
            return;
        }
        self.locale.set(next);
        self.st(|s| s.conv = None);
        self.msgs.set(Vec::new());
        self.start();
        self.focus_input();
    }
}
