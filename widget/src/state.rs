//! The widget's state: [`St`], one plain struct behind one change signal, and the
//! [`Ui`] handle that reads and changes it. What the homeowner's actions do to it is in
//! `actions` (chat) and `submit` (the booking); this module calls neither.

use std::cell::{Cell, RefCell};

use booking_core::booking::Locale;
use booking_core::conversation::{Confirmation, Conversation};
use booking_core::site::PublicSiteConfig;
use booking_core::submission::BookingReply;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::dom::{by_id, later};
use crate::json::{self, Js};
use crate::{events, net};

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

/// Everything the widget knows, in one plain struct behind one change signal
/// ([`Ui::rev`]). Fine-grained signals cost the wasm a copy of Leptos's reactive code
/// per value type and per binding (about a third of the bundle); the panel is small,
/// so rendering it whole on a change (`node` patches only what differs) is cheaper in
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
    /// The homeowner picked the language with the button: it is fixed, not detected.
    pub(crate) locale_chosen: bool,
    pub(crate) msgs: Vec<Msg>,
    /// Message ids are never reused, even after "Start over" or a language switch.
    pub(crate) next_id: u32,
    pub(crate) quick: Vec<String>,
    pub(crate) typing: bool,
    pub(crate) open: bool,
    pub(crate) emergency: bool,
    pub(crate) handoff: bool,
    /// The confirmation card as booking-core last showed it (`Effect::Confirm`), while
    /// it is up and while its booking is being sent.
    pub(crate) card: Option<Confirmation>,
    pub(crate) phase: Phase,
    pub(crate) done: Option<BookingReply>,
    /// When the worker answered the booking (unix seconds): the saved conversation
    /// expires a day after it.
    pub(crate) done_at: i64,
    pub(crate) error: Option<String>,
    pub(crate) conv: Option<Conversation>,
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

    pub(crate) fn push(self, from: &str, text: String) {
        self.set(|s| {
            s.msgs.push(Msg { id: s.next_id, from: from.into(), text });
            s.next_id += 1;
        });
    }

    pub(crate) fn l(self) -> Locale {
        self.st(|s| s.locale)
    }

    /// A copy of the site config, read again from the text the worker sent. A
    /// `PublicSiteConfig` (or a `Conversation`, which holds one) is never cloned: their
    /// derived `Clone` was about 2 KB of the wasm, and reading the config is code the
    /// widget has anyway.
    pub(crate) fn config(self) -> Option<PublicSiteConfig> {
        let text = self.st(|s| s.cfg_text.clone());
        json::site_config(&Js::parse(&text)?)
    }

    /// The worker's URL for one of this site's routes.
    pub(crate) fn url(self, route: &str) -> String {
        self.st(|s| net::route(&s.api, &s.site, route))
    }

    /// A `bw:*` event for the site owner (see `events`).
    pub(crate) fn emit(self, name: &str, extra: &[(&str, JsValue)]) {
        events::emit(&self.st(|s| s.site.clone()), self.frame, name, extra);
    }
}
