//! Resume after reload: what the widget keeps in localStorage and how the conversation
//! is rebuilt from it. Separate because its shape is versioned ([`SAVE_VERSION`]) and
//! must change only on purpose.

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{Conversation, Effect, Event, UserTurn};
use booking_core::site::PublicSiteConfig;
use booking_core::submission::BookingReply;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::state::{now, Msg, Phase, Ui, Window, NEXT_ID};

/// Version of what the widget keeps in localStorage; bump when [`Saved`] changes shape.
const SAVE_VERSION: u32 = 2;

/// Everything kept in localStorage under `bw:v1:{site}`.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Saved {
    v: u32,
    key: String,
    cfg: Option<PublicSiteConfig>,
    /// The homeowner's turns: the conversation is rebuilt by replaying them through
    /// booking-core (deterministic), so its state itself is never stored or parsed.
    turns: Vec<UserTurn>,
    locale: Locale,
    msgs: Vec<Msg>,
    quick: Vec<String>,
    open: bool,
    emergency: bool,
    handoff: bool,
    phase: Phase,
    pending: Option<String>,
    done: Option<BookingReply>,
    error: Option<String>,
    contact: bool,
    abandoned: bool,
    windows: Vec<Window>,
    pick: Option<usize>,
    sms: bool,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The conversation the widget had after these turns (booking-core is deterministic).
fn rebuild(cfg: &PublicSiteConfig, locale: Locale, turns: &[UserTurn]) -> Conversation {
    let mut c = Conversation::new(cfg.clone(), Channel::Chat, Some(locale));
    c.handle(Event::Start, turns.first().map_or_else(now, |t| t.at));
    for t in turns {
        c.handle(Event::User { text: t.text.clone() }, t.at);
    }
    c
}

impl Ui {
    fn storage_key(self) -> String {
        format!("bw:v{SAVE_VERSION}:{}", self.st(|s| s.site.clone()))
    }

    pub(crate) fn save(self) {
        let Some(s) = storage() else { return };
        let has_turns = self.st(|s| s.conv.as_ref().is_some_and(|c| !c.user_turns().is_empty()));
        if !has_turns && self.st(|s| s.pending.clone()).is_none() && self.done.get_untracked().is_none() {
            // Nothing worth resuming: leave no trace, so the loader stays lazy on the next page.
            let _ = s.remove_item(&self.storage_key());
            return;
        }
        let saved = Saved {
            v: SAVE_VERSION,
            key: self.st(|s| s.key.clone()),
            cfg: self.cfg.get_untracked(),
            turns: self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default()),
            locale: self.l(),
            msgs: self.msgs.get_untracked(),
            quick: self.quick.get_untracked(),
            open: self.open.get_untracked(),
            emergency: self.emergency.get_untracked(),
            handoff: self.handoff.get_untracked(),
            phase: self.phase.get_untracked(),
            pending: self.st(|s| s.pending.clone()),
            done: self.done.get_untracked(),
            error: self.error.get_untracked(),
            contact: self.st(|s| s.contact),
            abandoned: self.st(|s| s.abandoned),
            windows: self.windows.get_untracked(),
            pick: self.pick.get_untracked(),
            sms: self.sms.get_untracked(),
        };
        if let Ok(j) = serde_json::to_string(&saved) {
            let _ = s.set_item(&self.storage_key(), &j);
        }
    }

    pub(crate) fn restore(self) -> bool {
        let Some(text) = storage().and_then(|s| s.get_item(&self.storage_key()).ok().flatten()) else { return false };
        let Ok(s) = serde_json::from_str::<Saved>(&text) else { return false };
        if s.v != SAVE_VERSION || s.key.len() < 8 {
            return false;
        }
        let Some(cfg) = s.cfg.clone() else { return false };
        // Rebuild the conversation from the turns; when the card was up, stop one turn
        // short (that is the state "Edit" returns to) and take the card from the last one.
        let n = s.turns.len();
        let mut c = rebuild(&cfg, s.locale, &s.turns[..n.saturating_sub(1)]);
        let mut before = None;
        // The card is up (or being sent) in these phases; after "Done" it is gone.
        let card_up = !matches!(s.phase, Phase::Chat | Phase::Done);
        if let Some(last) = s.turns.last() {
            if card_up {
                before = Some(c.clone());
            }
            let turn = c.handle(Event::User { text: last.text.clone() }, last.at);
            if card_up {
                for e in turn.effects {
                    if let Effect::Book { request } = e {
                        self.card.set(Some(request));
                    }
                }
            }
        }
        self.locale.set(c.locale());
        let conv = Some(c);
        self.st(|p| p.key = s.key);
        self.cfg.set(s.cfg);
        self.st(|s| s.conv = conv);
        NEXT_ID.with(|n| n.set(s.msgs.iter().map(|m| m.id + 1).max().unwrap_or(0)));
        self.msgs.set(s.msgs);
        self.quick.set(s.quick);
        self.open.set(s.open);
        self.emergency.set(s.emergency);
        self.handoff.set(s.handoff);
        self.st(|s| s.before_yes = before);
        // A send cut short by the reload is retried as queued.
        self.phase.set(if s.phase == Phase::Sending { Phase::Queued } else { s.phase });
        self.st(|p| p.pending = s.pending);
        self.done.set(s.done);
        self.error.set(s.error);
        self.st(|p| p.contact = s.contact);
        self.st(|p| p.abandoned = s.abandoned);
        self.windows.set(s.windows);
        self.pick.set(s.pick);
        self.sms.set(s.sms);
        true
    }
}
