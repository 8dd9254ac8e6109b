//! What leaves the browser: the booking submission on "Book it", its outcome, and the
//! qualified-abandonment report. Separate from the chat state because this is the
//! widget → worker contract (`booking_core::submission`); `net` only moves the bytes.

use booking_core::conversation::{Effect, Event};
use booking_core::submission::{BookingReply, Utm, MAX_FIELD_BYTES};
use wasm_bindgen::prelude::*;

use crate::dom::{clip, later, now};
use crate::i18n::{t, K};
use crate::json::{self, Js, Out};
use crate::net;
use crate::state::{Phase, Ui};

impl Ui {
    fn attribution(self) -> (Utm, Option<String>) {
        let page = self.st(|s| s.page_url.clone());
        // The landing URL (kept by the loader for this tab) carries the campaign when
        // the homeowner browsed on before chatting.
        let landing = web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .and_then(|s| s.get_item("bw:landing").ok().flatten());
        let get = |url: &str, name: &str| -> Option<String> {
            let u = web_sys::Url::new(url).ok()?;
            u.search_params().get(name).map(|v| clip(v.trim(), MAX_FIELD_BYTES)).filter(|v| !v.is_empty())
        };
        let pick = |name: &str| get(&page, name).or_else(|| landing.as_deref().and_then(|l| get(l, name)));
        let utm = Utm {
            source: pick("utm_source"),
            medium: pick("utm_medium"),
            campaign: pick("utm_campaign"),
            content: pick("utm_content"),
        };
        let param = self.st(|s| s.cfg.as_ref().and_then(|c| c.referral_param.clone())).filter(|p| !p.is_empty());
        let referral = param.and_then(|p| pick(&p));
        (utm, referral)
    }

    /// booking-core said book (after "Book it"): builds the submission once from the
    /// conversation's turns, keeps it, and sends it. The widget writes no turn itself.
    pub(crate) fn submit(self) {
        // The phase flips before any await: a second tap finds Sending and does nothing.
        if self.st(|s| s.phase) != Phase::Card {
            return;
        }
        let turns = self.st(|s| json::turns_out(s.conv.as_ref().map_or(&[], |c| c.user_turns())));
        let (utm, referral_code) = self.attribution();
        // booking_core::submission::Submission, as the worker parses it.
        let body = Out::new()
            .set("idempotencyKey", self.st(|s| s.key.clone()))
            .set("turns", turns)
            .set("locale", self.l().code())
            .set("pageUrl", clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES))
            .set(
                "utm",
                Out::new()
                    .opt("source", utm.source)
                    .opt("medium", utm.medium)
                    .opt("campaign", utm.campaign)
                    .opt("content", utm.content),
            )
            .opt("referralCode", referral_code)
            .text();
        self.set(|s| {
            s.pending = Some(body);
            s.phase = Phase::Sending;
        });
        self.save();
        self.post_booking();
    }

    /// `POST /bookings` with the kept submission. Network errors, 429 and 5xx are queued
    /// and retried with backoff (and at once when the browser comes back online); the
    /// idempotency key makes every retry the same booking.
    pub(crate) fn post_booking(self) {
        let Some(body) = self.st(|s| s.pending.clone()) else { return };
        if self.st(|s| s.inflight) {
            return;
        }
        self.st(|s| s.inflight = true);
        net::fetch(self.url("bookings"), Some(body), Box::new(move |a| self.booking_answered(a)));
    }

    fn booking_answered(self, answer: Option<net::Answer>) {
        self.st(|s| s.inflight = false);
        match answer {
            // An unreadable reply still means the worker has the booking: "received".
            Some(a) if a.status == 200 || a.status == 202 => {
                let j = a.text.and_then(|t| Js::parse(&t)).unwrap_or(Js(JsValue::UNDEFINED));
                self.finish(json::booking_reply(&j));
            }
            // 4xx: the worker refused the request (its reason is in its logs); the
            // homeowner gets a plain sentence and the phone number.
            Some(a) if a.status != 429 && a.status < 500 => self.fail(t(self.l(), K::Failed).into()),
            _ => self.retry_later(),
        }
    }

    fn retry_later(self) {
        self.set(|s| s.phase = Phase::Queued);
        self.save();
        let n = self.st(|s| s.attempts);
        self.st(|s| s.attempts = n + 1);
        let secs = (2u64 << n.min(5)).min(60);
        later(
            secs * 1000,
            Box::new(move || {
                if self.st(|s| s.phase) == Phase::Queued {
                    self.post_booking();
                }
            }),
        );
    }

    pub(crate) fn finish(self, reply: BookingReply) {
        let reference = JsValue::from(reply.reference.as_str());
        let status = JsValue::from(json::status_code(reply.status));
        self.set(|s| {
            s.pending = None;
            s.card = None;
            s.done = Some(reply);
            s.done_at = now();
            s.phase = Phase::Done;
        });
        self.save();
        self.emit("booking-completed", &[("reference", reference), ("status", status)]);
    }

    pub(crate) fn fail(self, message: String) {
        self.set(|s| {
            s.pending = None;
            s.error = Some(message);
            s.phase = Phase::Failed;
            s.handoff = true;
        });
        self.save();
    }

    /// What booking-core says an abandonment now would report, if anything: asked of a
    /// replay of the turns, since the conversation itself goes on (and is never cloned,
    /// see `Ui::config`).
    pub(crate) fn qualified(self) -> Option<Effect> {
        let turns = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()))?;
        let (mut c, _) = crate::saved::rebuild(self.config()?, self.l(), &turns);
        c.handle(Event::Abandon, now()).effects.into_iter().find(|e| matches!(e, Effect::QualifiedAbandon { .. }))
    }

    /// Reports a qualified abandonment once, with `sendBeacon` (it survives page unload).
    pub(crate) fn abandon(self) {
        if self.st(|s| s.abandoned || !matches!(s.phase, Phase::Chat | Phase::Card)) {
            return;
        }
        if self.qualified().is_none() {
            return;
        }
        let turns = self.st(|s| json::turns_out(s.conv.as_ref().map_or(&[], |c| c.user_turns())));
        // `POST /abandoned`: the same shape as a submission, without the booking's extras.
        let body = Out::new()
            .set("idempotencyKey", self.st(|s| s.key.clone()))
            .set("turns", turns)
            .set("locale", self.l().code())
            .set("pageUrl", clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES))
            .text();
        if net::beacon(&self.url("abandoned"), &body) {
            self.st(|s| s.abandoned = true);
            self.save();
            self.emit("abandoned", &[]);
        }
    }
}
