//! The widget's state ([`St`], one plain struct behind one change signal) and what the
//! homeowner's actions (send, edit, start over, switch language) do to it. Separate
//! from the view so the behaviour can be read without the markup.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use booking_core::booking::{BookingRequest, Channel, Locale};
use booking_core::conversation::{Conversation, Effect, Event, Turn};
use booking_core::site::PublicSiteConfig;
use booking_core::submission::{BookingReply, MAX_TURNS, MAX_TURN_BYTES};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::events::emit;
use crate::i18n::{t, K};
use crate::{net, style, ROOT};

/// One line in the message list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Msg {
    pub(crate) id: u32,
    /// "bot", "user" or "note" (a widget notice).
    pub(crate) from: String,
    pub(crate) text: String,
}

/// Where the booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    #[default]
    Chat,
    Card,
    Sending,
    Queued,
    Done,
    Failed,
}

const PHASES: [(Phase, &str); 6] = [
    (Phase::Chat, "chat"),
    (Phase::Card, "card"),
    (Phase::Sending, "sending"),
    (Phase::Queued, "queued"),
    (Phase::Done, "done"),
    (Phase::Failed, "failed"),
];

impl Phase {
    /// The name kept in localStorage.
    pub(crate) fn code(self) -> &'static str {
        PHASES.iter().find(|(p, _)| *p == self).map_or("chat", |(_, c)| c)
    }
    pub(crate) fn from_code(code: &str) -> Phase {
        PHASES.iter().find(|(_, c)| *c == code).map_or(Phase::Chat, |(p, _)| *p)
    }
}

/// An arrival window offered by the worker's availability route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// Everything the widget knows, in one plain struct behind one change signal
/// ([`Ui::rev`]). Fine-grained signals cost the wasm a copy of Leptos's reactive code
/// per value type and per binding (about a third of the bundle); the panel is small,
/// so rendering it whole on a change (tachys patches only what differs) is cheaper in
/// bytes and still instant.
#[derive(Default)]
pub(crate) struct St {
    pub(crate) site: String,
    pub(crate) api: String,
    pub(crate) page_url: String,
    /// The idempotency key of this conversation's booking.
    pub(crate) key: String,
    /// The site config as the worker sent it, kept verbatim for resume.
    pub(crate) cfg_text: String,
    pub(crate) cfg: Option<PublicSiteConfig>,
    pub(crate) cfg_failed: bool,
    pub(crate) locale: Locale,
    pub(crate) msgs: Vec<Msg>,
    /// Message ids are never reused, even after "Start over" or a language switch.
    pub(crate) next_id: u32,
    pub(crate) quick: Vec<String>,
    pub(crate) typing: bool,
    pub(crate) open: bool,
    pub(crate) emergency: bool,
    pub(crate) handoff: bool,
    /// The confirmation card's booking, while it is up.
    pub(crate) card: Option<BookingRequest>,
    pub(crate) phase: Phase,
    pub(crate) done: Option<BookingReply>,
    pub(crate) error: Option<String>,
    pub(crate) windows: Vec<Window>,
    pub(crate) pick: Option<usize>,
    pub(crate) sms: bool,
    pub(crate) conv: Option<Conversation>,
    /// The conversation before the answer that brought up the card ("Edit" returns to it).
    pub(crate) before_yes: Option<Conversation>,
    /// The submission body, kept until the worker has it.
    pub(crate) pending: Option<String>,
    pub(crate) inflight: bool,
    pub(crate) attempts: u32,
    pub(crate) contact: bool,
    pub(crate) abandoned: bool,
}

/// The widget's handle: `Copy`, so closures capture it freely.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    pub(crate) frame: bool,
    /// Notified on every change the panel shows; the panel's one render tracks it.
    pub(crate) rev: Trigger,
}

thread_local! {
    static STATE: Cell<Option<&'static RefCell<St>>> = const { Cell::new(None) };
}

/// Sets up the state when the widget mounts (once per page; leaked, it lives as long
/// as the page).
pub(crate) fn init(st: St) {
    STATE.with(|c| c.set(Some(Box::leak(Box::new(RefCell::new(st))))));
}

/// The one accessor of [`STATE`]. A thread-local read inside a generic `st` would be
/// copied into the wasm for every closure that reads the state.
fn state() -> &'static RefCell<St> {
    STATE.with(Cell::get).expect("mounted")
}

/// An element of the panel by id (the shadow root has its own ids).
pub(crate) fn by_id(id: &str) -> Option<web_sys::HtmlElement> {
    ROOT.with(|r| r.borrow().as_ref()?.get_element_by_id(id)?.dyn_into().ok())
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

impl Ui {
    /// Runs `f` on the state without re-rendering. `f` must not call `st` again.
    pub(crate) fn st<R>(self, f: impl FnOnce(&mut St) -> R) -> R {
        f(&mut state().borrow_mut())
    }

    /// Changes what the panel shows: runs `f`, then re-renders. Keeps the newest
    /// message in view when the log grew or its tail changed.
    pub(crate) fn set<R>(self, f: impl FnOnce(&mut St) -> R) -> R {
        let tail = |s: &mut St| (s.msgs.len(), s.typing, s.phase, s.card.is_some());
        let before = self.st(tail);
        let r = self.st(f);
        self.rev.notify();
        if self.st(tail) != before {
            later(
                0,
                Box::new(|| {
                    if let Some(l) = by_id("bw-messages") {
                        l.set_scroll_top(l.scroll_height());
                    }
                }),
            );
        }
        r
    }

    fn push(self, from: &str, text: String) {
        self.set(|s| {
            s.msgs.push(Msg { id: s.next_id, from: from.into(), text });
            s.next_id += 1;
        });
    }

    pub(crate) fn l(self) -> Locale {
        self.st(|s| s.locale)
    }

    /// Brand colour from the config.
    pub(crate) fn brand(self) {
        if let Some(c) = self.st(|s| s.cfg.as_ref().map(|c| c.brand_color.clone())) {
            ROOT.with(|r| {
                if let Some(r) = r.borrow().as_ref() {
                    style::install(r, &c);
                }
            });
        }
    }

    /// Starts the conversation (greeting) once the config is known and the panel is open.
    pub(crate) fn start(self) {
        let Some(cfg) = self.st(|s| if s.conv.is_some() { None } else { s.cfg.clone() }) else { return };
        let mut c = Conversation::new(cfg, Channel::Chat, Some(self.l()));
        let turn = c.handle(Event::Start, now());
        self.set(|s| {
            s.locale = c.locale();
            s.conv = Some(c);
        });
        self.apply(turn, None);
    }

    pub(crate) fn open_panel(self) {
        if !self.st(|s| s.open) {
            self.set(|s| s.open = true);
            emit(self, "opened", &[]);
        }
        self.start();
        self.save();
        self.focus_input();
    }

    pub(crate) fn close_panel(self) {
        self.set(|s| s.open = false);
        self.save();
        if self.frame {
            if let Some(p) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
                let _ = p.post_message(&JsValue::from_str("bw:close"), "*");
            }
        } else {
            focus("bw-bubble");
        }
    }

    pub(crate) fn focus_input(self) {
        focus("bw-input");
    }

    /// The homeowner sent `text` (typed or a quick reply).
    pub(crate) fn send(self, text: String) {
        let text = clip(text.trim(), MAX_TURN_BYTES);
        if text.is_empty() || self.st(|s| s.phase) != Phase::Chat {
            return;
        }
        let Some(turns) = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().len())) else { return };
        if turns >= MAX_TURNS {
            self.push("note", t(self.l(), K::Limit).into());
            self.set(|s| s.handoff = true);
            return;
        }
        self.push("user", text.clone());
        if let Some(i) = by_id("bw-input").and_then(|i| i.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            i.set_value("");
        }
        let mut before = None;
        let mut turn = Turn::default();
        self.set(|s| {
            s.quick.clear();
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
            self.set(|s| s.typing = true);
            later(
                450,
                Box::new(move || {
                    self.set(|s| s.typing = false);
                    self.apply(turn, before);
                }),
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
        self.set(|s| s.quick = turn.quick_replies);
        for e in turn.effects {
            match e {
                Effect::Book { request } => {
                    net::availability(self, &request);
                    self.set(|s| {
                        s.before_yes = before.clone();
                        s.pick = None;
                        s.windows.clear();
                        s.card = Some(request);
                        s.phase = Phase::Card;
                        s.quick.clear();
                    });
                }
                Effect::HandOff => self.set(|s| s.handoff = true),
                Effect::Emergency => self.set(|s| s.emergency = true),
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
        if self.st(|s| s.phase) != Phase::Card {
            return;
        }
        self.set(|s| {
            if let Some(c) = s.before_yes.clone() {
                s.conv = Some(c);
            }
            s.card = None;
            s.phase = Phase::Chat;
        });
        self.push("note", t(self.l(), K::EditHint).into());
        self.save();
        self.focus_input();
    }

    /// "Start over" after a booking or a failure: a new conversation and key.
    pub(crate) fn restart(self) {
        self.set(|s| {
            s.conv = None;
            s.key = new_key();
            s.msgs.clear();
            s.quick.clear();
            s.emergency = false;
            s.handoff = false;
            s.card = None;
            s.before_yes = None;
            s.phase = Phase::Chat;
            s.pending = None;
            s.done = None;
            s.error = None;
            s.contact = false;
            s.abandoned = false;
            s.windows.clear();
            s.pick = None;
            s.sms = false;
        });
        self.start();
        self.save();
        self.focus_input();
    }

    /// The other language, offered until the homeowner has said anything.
    pub(crate) fn switch_locale(self) {
        let next = if self.l() == Locale::Es { Locale::En } else { Locale::Es };
        if !self.st(|s| s.cfg.as_ref().is_some_and(|c| c.locales.contains(&next))) {
            return;
        }
        self.set(|s| {
            s.locale = next;
            s.conv = None;
            s.msgs.clear();
        });
        self.start();
        self.focus_input();
    }
}

/// Focuses an element after the next render.
fn focus(id: &'static str) {
    later(
        0,
        Box::new(move || {
            if let Some(e) = by_id(id) {
                let _ = e.focus();
            }
        }),
    );
}

/// Runs `f` after `ms` milliseconds; 0 means after the pending render. Every deferred
/// action goes through this one boxed type, so the wasm has one copy of the timer glue
/// rather than one per closure.
pub(crate) fn later(ms: u64, f: Box<dyn FnOnce()>) {
    set_timeout(f, Duration::from_millis(ms));
}
