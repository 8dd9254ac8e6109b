//! What the homeowner's actions do (open, send, a tap on the card, start over, switch
//! language) and what the worker's answers to the config and availability routes do.
//! Every decision about the conversation is booking-core's, the card's included: this
//! module feeds it events, shows its turns and acts on its effects. It calls `net` with
//! plain URLs and bodies and acts on the answers itself.

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{phone_in_link, Confirmation, Conversation, Effect, Event, Stage, Turn};
use booking_core::submission::{MAX_TURNS, MAX_TURN_BYTES};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom::{by_id, clip, focus, later, new_key, now, ROOT};
use crate::i18n::{t, K};
use crate::json::{self, Js};
use crate::state::{Phase, Ui};
use crate::{net, style};

impl Ui {
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

    /// `GET /config`. A saved config is shown at once and refreshed here.
    pub(crate) fn load_config(self) {
        net::fetch(self.url("config"), None, Box::new(move |a| self.config_arrived(a)));
    }

    fn config_arrived(self, answer: Option<net::Answer>) {
        let parsed = answer
            .filter(net::Answer::ok)
            .and_then(|a| a.text)
            .and_then(|text| Some((json::site_config(&Js::parse(&text)?)?, text)));
        let Some((cfg, text)) = parsed else {
            self.set(|s| s.cfg_failed = true);
            return;
        };
        self.set(|s| {
            if !cfg.locales.contains(&s.locale) && s.conv.is_none() {
                s.locale = cfg.locales.first().copied().unwrap_or_default();
            }
            s.cfg_text = text;
            s.cfg = Some(cfg);
        });
        self.brand();
        if self.st(|s| s.open) {
            self.start();
            self.focus_input();
        }
    }

    /// `GET /availability` for the card, when booking-core wants live windows and the
    /// card has none yet. They go back to booking-core, which decides what to offer.
    pub(crate) fn fetch_windows(self) {
        let Some(url) = self.st(|s| {
            let c =
                s.card.as_ref().filter(|c| s.phase == Phase::Card && c.wants_availability && c.windows.is_empty())?;
            let zip: String = js_sys::encode_uri_component(&c.request.address.zip).into();
            Some(format!("{}?trade={}&zip={zip}", net::route(&s.api, &s.site, "availability"), c.request.trade.code()))
        }) else {
            return;
        };
        net::fetch(
            url,
            None,
            Box::new(move |a| {
                let Some(j) = a.and_then(|a| a.text).and_then(|t| Js::parse(&t)) else { return };
                if self.st(|s| s.phase) == Phase::Card {
                    self.handle(Event::OfferWindows { windows: json::windows(&j, "windows") });
                }
            }),
        );
    }

    /// Starts the conversation (greeting) once the config is known and the panel is open.
    pub(crate) fn start(self) {
        let Some(cfg) = self.st(|s| s.conv.is_none()).then(|| self.config()).flatten() else { return };
        // The page's language greets; the homeowner's first words decide, unless they
        // picked a language with the button.
        let chosen = self.st(|s| s.locale_chosen).then(|| self.l());
        let mut c = Conversation::new(cfg, Channel::Chat, chosen).greeting_in(self.l());
        let turn = c.handle(Event::Start, now());
        // Opened from the missed-call text's link (`?bw-phone=`): booking-core checks the
        // number and confirms it when it would ask for the phone.
        if let Some(digits) = self.st(|s| phone_in_link(&s.page_url).map(str::to_string)) {
            c.handle(Event::KnownPhone { digits }, now());
        }
        self.set(|s| {
            s.locale = c.locale();
            s.conv = Some(c);
        });
        self.apply(turn);
    }

    pub(crate) fn open_panel(self) {
        if !self.st(|s| s.open) {
            self.set(|s| s.open = true);
            self.emit("opened", &[]);
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

    /// Whether the conversation has as many turns as the worker takes; then the
    /// homeowner is sent to the phone.
    fn at_limit(self) -> bool {
        let Some(turns) = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().len())) else { return true };
        if turns < MAX_TURNS {
            return false;
        }
        self.push("note", t(self.l(), K::Limit).into());
        self.set(|s| s.handoff = true);
        true
    }

    /// The homeowner sent `text` (typed or a quick reply).
    pub(crate) fn send(self, text: String) {
        let text = clip(text.trim(), MAX_TURN_BYTES);
        if text.is_empty() || self.st(|s| s.phase) != Phase::Chat || self.at_limit() {
            return;
        }
        self.push("user", text.clone());
        if let Some(i) = by_id("bw-input").and_then(|i| i.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            i.set_value("");
        }
        let mut turn = Turn::default();
        self.set(|s| {
            s.quick.clear();
            if let Some(c) = &mut s.conv {
                turn = c.handle(Event::User { text }, now());
                // The first clear message may have switched the language.
                s.locale = c.locale();
            }
        });
        self.save();
        // A short typing pause reads as a reply rather than a form; it is skipped when
        // the reply carries a safety message.
        let urgent = turn.effects.iter().any(|e| matches!(e, Effect::Emergency));
        if urgent {
            self.apply(turn);
        } else {
            self.set(|s| s.typing = true);
            later(
                450,
                Box::new(move || {
                    self.set(|s| s.typing = false);
                    self.apply(turn);
                }),
            );
        }
    }

    /// A tap on the card (a window, the SMS box, Edit, "Book it"). booking-core writes
    /// it as the homeowner's turn and answers; taps after "Book it" are ignored.
    pub(crate) fn card_act(self, event: Event) {
        if self.st(|s| s.phase) == Phase::Card && !self.at_limit() {
            self.handle(event);
        }
    }

    /// Hands booking-core an event and shows its answer at once.
    fn handle(self, event: Event) {
        if let Some(turn) = self.st(|s| s.conv.as_mut().map(|c| c.handle(event, now()))) {
            self.apply(turn);
        }
    }

    /// Shows a turn's replies and acts on its effects.
    fn apply(self, turn: Turn) {
        for r in turn.replies {
            self.push("bot", r);
        }
        self.set(|s| s.quick = turn.quick_replies);
        for e in turn.effects {
            match e {
                Effect::Confirm(c) => self.show_card(c),
                // Only "Book it" yields this; the submission is the conversation's turns.
                Effect::Book { .. } => self.submit(),
                Effect::HandOff => self.set(|s| s.handoff = true),
                Effect::Emergency => self.set(|s| s.emergency = true),
                // Reported on leaving (`submit`), not while chatting.
                Effect::QualifiedAbandon { .. } => {}
            }
        }
        // Edit left the confirming stage without booking (`submit` has moved a booked
        // card on to Sending): the card goes, the chat is back.
        let confirming = self.st(|s| s.conv.as_ref().is_some_and(|c| c.stage() == Stage::Confirming));
        if !confirming && self.st(|s| s.phase) == Phase::Card {
            self.set(|s| {
                s.card = None;
                s.phase = Phase::Chat;
            });
            self.focus_input();
        }
        if !self.st(|s| s.contact) && self.qualified().is_some() {
            self.st(|s| s.contact = true);
            self.emit("contact-captured", &[]);
        }
        self.save();
    }

    /// booking-core's confirmation card, shown or refreshed.
    fn show_card(self, c: Confirmation) {
        let first = self.st(|s| s.card.is_none());
        self.set(|s| {
            s.card = Some(c);
            s.phase = Phase::Card;
            s.quick.clear();
        });
        if first {
            self.fetch_windows();
        }
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
            s.phase = Phase::Chat;
            s.pending = None;
            s.done = None;
            s.error = None;
            s.contact = false;
            s.abandoned = false;
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
            s.locale_chosen = true;
            s.conv = None;
            s.msgs.clear();
        });
        self.start();
        self.focus_input();
    }
}
