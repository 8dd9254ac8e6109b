//! Resume after reload: what the widget keeps in localStorage and how the conversation
//! is rebuilt from it. Separate because its shape is versioned ([`SAVE_VERSION`]) and
//! must change only on purpose.
//!
//! What is kept expires ([`KEEP_SECS`], [`KEEP_DONE_SECS`]): the homeowner's words and
//! address stay on a shared or borrowed computer only as long as they are useful.

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{Confirmation, Conversation, Effect, Event, UserTurn};
use booking_core::site::PublicSiteConfig;

use crate::dom::now;
use crate::json::{self, array, Js, Out};
use crate::state::{Msg, Phase, Ui};

/// Version of what the widget keeps in localStorage; bump when its shape changes.
/// Version 3: the site config is kept verbatim as the worker sent it.
const SAVE_VERSION: u32 = 3;

/// A saved conversation untouched for a week is dropped on the next visit: its "tomorrow
/// morning" no longer means anything, and it should not outlive its use.
const KEEP_SECS: i64 = 7 * 86_400;

/// A finished booking's conversation is dropped a day after the worker answered: the
/// success card has been seen, and what remains is personal data.
const KEEP_DONE_SECS: i64 = 86_400;

/// Whether a saved state is too old to put back. `saved_at` is its last save, `done_at`
/// when its booking was answered, if it was.
fn expired(saved_at: i64, done_at: Option<i64>, now: i64) -> bool {
    now - saved_at > KEEP_SECS || done_at.is_some_and(|d| now - d > KEEP_DONE_SECS)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The conversation the widget had after these turns (booking-core is deterministic;
/// the card's taps are turns too), and the last confirmation card it showed.
pub(crate) fn rebuild(
    cfg: PublicSiteConfig,
    locale: Locale,
    turns: &[UserTurn],
) -> (Conversation, Option<Confirmation>) {
    let mut c = Conversation::new(cfg, Channel::Chat, Some(locale));
    let mut card = None;
    c.handle(Event::Start, turns.first().map_or_else(now, |t| t.at));
    for t in turns {
        for e in c.handle(Event::User { text: t.text.clone() }, t.at).effects {
            if let Effect::Confirm(shown) = e {
                card = Some(shown);
            }
        }
    }
    (c, card)
}

impl Ui {
    fn storage_key(self) -> String {
        self.st(|s| format!("bw:v{SAVE_VERSION}:{}", s.site))
    }

    pub(crate) fn save(self) {
        let Some(store) = storage() else { return };
        let key = self.storage_key();
        let text = self.st(|s| {
            let has_turns = s.conv.as_ref().is_some_and(|c| !c.user_turns().is_empty());
            if !has_turns && s.pending.is_none() && s.done.is_none() {
                // Nothing worth resuming: leave no trace, so the loader stays lazy on the next page.
                return None;
            }
            // The conversation itself is never stored: it is rebuilt by replaying the
            // homeowner's turns through booking-core (deterministic).
            let msgs = array(
                s.msgs
                    .iter()
                    .map(|m| Out::new().set("id", m.id).set("from", m.from.as_str()).set("text", m.text.as_str())),
            );
            let saved = Out::new()
                .set("v", SAVE_VERSION)
                .set("savedAt", now() as f64)
                .opt("doneAt", s.done.is_some().then_some(s.done_at as f64))
                .set("key", s.key.as_str())
                .set("cfg", s.cfg_text.as_str())
                .opt("turns", s.conv.as_ref().map(|c| json::turns_out(c.user_turns())))
                .set("locale", s.locale.code())
                .set("msgs", msgs)
                .set("quick", array(s.quick.iter().map(String::as_str)))
                .set("open", s.open)
                .set("emergency", s.emergency)
                .set("handoff", s.handoff)
                .set("phase", s.phase.code())
                .opt("pending", s.pending.as_deref())
                .opt("done", s.done.as_ref().map(json::booking_reply_out))
                .opt("error", s.error.as_deref())
                .set("contact", s.contact)
                .set("abandoned", s.abandoned);
            Some(saved.text())
        });
        let _ = match text {
            Some(t) => store.set_item(&key, &t),
            None => store.remove_item(&key),
        };
    }

    /// Puts back what [`Ui::save`] kept, if it is for this version and site and not
    /// expired; an expired one is removed.
    pub(crate) fn restore(self) -> bool {
        let Some(store) = storage() else { return false };
        let Some(text) = store.get_item(&self.storage_key()).ok().flatten() else { return false };
        let Some(s) = Js::parse(&text) else { return false };
        let key = s.str("key").unwrap_or_default();
        if s.int("v") != Some(SAVE_VERSION.into()) || key.len() < 8 {
            return false;
        }
        let turns = json::turns(&s, "turns");
        // Saves from before savedAt existed count from their last turn.
        let saved_at = s.int("savedAt").or_else(|| turns.last().map(|t| t.at)).unwrap_or(0);
        if expired(saved_at, s.int("doneAt"), now()) {
            let _ = store.remove_item(&self.storage_key());
            return false;
        }
        let cfg_text = s.str("cfg").unwrap_or_default();
        // Read twice, for the state and for the replay: a config is never cloned (see `Ui::config`).
        let read = || Js::parse(&cfg_text).and_then(|c| json::site_config(&c));
        let (Some(cfg), Some(replayed)) = (read(), read()) else { return false };
        let phase = Phase::from_code(&s.str("phase").unwrap_or_default());
        let locale = s.str("locale").and_then(|l| Locale::from_code(&l)).unwrap_or_default();
        // The card is up (or being sent) in these phases; after "Done" it is gone. It
        // is the last one booking-core showed while replaying.
        let (c, card) = rebuild(replayed, locale, &turns);
        let card = card.filter(|_| !matches!(phase, Phase::Chat | Phase::Done));
        // A card the turns no longer bring up (booking-core changed under a saved
        // conversation) would leave the input disabled: back to the chat.
        let phase = if phase == Phase::Card && card.is_none() { Phase::Chat } else { phase };
        let msgs: Vec<Msg> = s
            .list("msgs")
            .iter()
            .filter_map(|m| Some(Msg { id: m.int("id")? as u32, from: m.str("from")?, text: m.str("text")? }))
            .collect();
        let done = s.get("done");
        self.set(|p| {
            p.key = key;
            p.cfg_text = cfg_text;
            p.cfg = Some(cfg);
            p.locale = c.locale();
            p.conv = Some(c);
            p.card = card;
            p.next_id = msgs.iter().map(|m| m.id + 1).max().unwrap_or(0);
            p.msgs = msgs;
            p.quick = s.strs("quick");
            p.open = s.bool("open");
            p.emergency = s.bool("emergency");
            p.handoff = s.bool("handoff");
            // A send cut short by the reload is retried as queued.
            p.phase = if phase == Phase::Sending { Phase::Queued } else { phase };
            p.pending = s.str("pending");
            p.done = done.0.is_object().then(|| json::booking_reply(&done));
            p.done_at = s.int("doneAt").unwrap_or_else(now);
            p.error = s.str("error");
            p.contact = s.bool("contact");
            p.abandoned = s.bool("abandoned");
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_old_conversation_or_a_day_old_booking_expires() {
        let now = 1_800_000_000;
        assert!(!expired(now - KEEP_SECS, None, now), "a week to the second is kept");
        assert!(expired(now - KEEP_SECS - 1, None, now));
        assert!(!expired(now - 60, Some(now - KEEP_DONE_SECS), now));
        assert!(expired(now - 60, Some(now - KEEP_DONE_SECS - 1), now), "a finished booking goes after a day");
    }
}
