//! What the homeowner's actions do (open, send, edit, start over, switch language) and
//! what the worker's answers to the config and availability routes do. Every decision
//! about the conversation is booking-core's; this module feeds it events and shows its
//! turns. It calls `net` with plain URLs and bodies and acts on the answers itself.

use booking_core::booking::{BookingRequest, Channel, Locale};
use booking_core::conversation::{Conversation, Effect, Event, Turn};
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

    /// `GET /availability`, when the site offers live arrival windows.
    pub(crate) fn availability(self, r: &BookingRequest) {
        if !self.st(|s| s.cfg.as_ref().is_some_and(|c| c.offer_availability)) {
            return;
        }
        let zip: String = js_sys::encode_uri_component(&r.address.zip).into();
        let url = format!("{}?trade={}&zip={zip}", self.url("availability"), r.trade.code());
        net::fetch(
            url,
            None,
            Box::new(move |a| {
                let Some(j) = a.and_then(|a| a.text).and_then(|t| Js::parse(&t)) else { return };
                self.set(|s| {
                    if s.phase == Phase::Card {
                        s.windows = json::windows(&j, "windows");
                    }
                });
            }),
        );
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
                    self.availability(&request);
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
            self.emit("contact-captured", &[]);
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
