//! What leaves the browser: the booking submission on "Book it", its outcome, and the
//! qualified-abandonment report. Separate from the chat state because this is the
//! widget → worker contract (`booking_core::submission`); `net` only moves the bytes.

use booking_core::booking::Locale;
use booking_core::conversation::UserTurn;
use booking_core::submission::{BookingReply, Submission, Utm, MAX_FIELD_BYTES};
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::events::emit;
use crate::i18n;
use crate::net;
use crate::state::{clip, now, Phase, Ui};

/// `POST /abandoned` (sent with `sendBeacon`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Abandoned {
    idempotency_key: String,
    turns: Vec<UserTurn>,
    locale: Locale,
    page_url: String,
}

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
        let param = self.cfg.get_untracked().and_then(|c| c.referral_param).filter(|p| !p.is_empty());
        let referral = param.and_then(|p| pick(&p));
        (utm, referral)
    }

    /// "Book it": builds the submission once, keeps it, and sends it.
    pub(crate) fn confirm(self) {
        // The phase flips before any await: a double click finds Sending and does nothing.
        if self.phase.get_untracked() != Phase::Card {
            return;
        }
        let mut turns: Vec<UserTurn> = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default());
        if let (Some(i), Some(cfg)) = (self.pick.get_untracked(), self.cfg.get_untracked()) {
            if let Some(w) = self.windows.get_untracked().get(i) {
                let label = i18n::window_label(self.l(), w.start, w.end, cfg.utc_offset_minutes);
                turns.push(UserTurn { text: format!("Arrival window: {label} [{}-{}]", w.start, w.end), at: now() });
            }
        }
        let (utm, referral_code) = self.attribution();
        let sub = Submission {
            idempotency_key: self.st(|s| s.key.clone()),
            turns,
            locale: Some(self.l()),
            sms_consent: self.sms.get_untracked(),
            page_url: Some(clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES)),
            utm,
            referral_code,
        };
        let Ok(body) = serde_json::to_string(&sub) else { return };
        self.st(|s| s.pending = Some(body));
        self.phase.set(Phase::Sending);
        self.save();
        net::post_booking(self);
    }

    pub(crate) fn finish(self, reply: BookingReply) {
        self.st(|s| s.pending = None);
        self.card.set(None);
        let job = reply.job_number.clone().map(JsValue::from).unwrap_or(JsValue::NULL);
        let status = JsValue::from(reply.status.clone());
        self.done.set(Some(reply));
        self.phase.set(Phase::Done);
        self.save();
        emit(self, "booking-completed", &[("jobNumber", job), ("status", status)]);
    }

    pub(crate) fn fail(self, message: String) {
        self.st(|s| s.pending = None);
        self.error.set(Some(message));
        self.phase.set(Phase::Failed);
        self.handoff.set(true);
        self.save();
    }

    /// Reports a qualified abandonment once, with `sendBeacon` (it survives page unload).
    pub(crate) fn abandon(self) {
        if self.st(|s| s.abandoned) || !matches!(self.phase.get_untracked(), Phase::Chat | Phase::Card) {
            return;
        }
        if self.qualified().is_none() {
            return;
        }
        let turns = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default());
        let body = Abandoned {
            idempotency_key: self.st(|s| s.key.clone()),
            turns,
            locale: self.l(),
            page_url: clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES),
        };
        let Ok(body) = serde_json::to_string(&body) else { return };
        if net::beacon(self, "abandoned", &body) {
            self.st(|s| s.abandoned = true);
            self.save();
            emit(self, "abandoned", &[]);
        }
    }
}
