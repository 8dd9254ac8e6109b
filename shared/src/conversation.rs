//! The booking conversation: a deterministic state machine.
//!
//! PLACEHOLDER: the public API below is the contract the widget and the worker use;
//! the implementation is a naive walking-skeleton version to be replaced.

use serde::{Deserialize, Serialize};

use crate::booking::{
    Address, BookingRequest, Channel, Locale, PersonName, Phone, PreferredTime, Priority, Speaker, Trade,
    TranscriptLine, UnixSeconds, VisitKind,
};
use crate::site::PublicSiteConfig;

/// Version of the serialized state; bump when the shape changes.
pub const STATE_VERSION: u32 = 1;

/// What the homeowner did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// The widget opened or the call connected: greet.
    Start,
    /// The homeowner typed or said something.
    User {
        /// Verbatim text.
        text: String,
    },
    /// The homeowner left with the conversation unfinished.
    Abandon,
}

/// One homeowner input, as stored for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTurn {
    /// Verbatim text.
    pub text: String,
    /// When it was said.
    pub at: UnixSeconds,
}

/// Something the shell must do besides showing replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Effect {
    /// The homeowner confirmed: submit this booking.
    Book {
        /// The confirmed request.
        request: BookingRequest,
    },
    /// The homeowner asked for a person.
    HandOff,
    /// An emergency was described; the shell may show a banner.
    Emergency,
    /// Contact details were given but nothing was booked.
    QualifiedAbandon {
        /// Name, if given.
        name: Option<PersonName>,
        /// Phone, if given.
        phone: Option<Phone>,
        /// Email, if given.
        email: Option<String>,
    },
}

/// The assistant's answer to one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Turn {
    /// Messages to show or speak, in order.
    pub replies: Vec<String>,
    /// Suggested answers (chips in chat).
    pub quick_replies: Vec<String>,
    /// Side effects for the shell.
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Step {
    Problem,
    Name,
    Phone,
    Address,
    Confirm,
    Booked,
}

/// The conversation state. Serializes to JSON (with [`STATE_VERSION`]) so the widget
/// can resume after a reload and the voice channel can keep it per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    version: u32,
    site: PublicSiteConfig,
    channel: Channel,
    locale: Locale,
    step: Step,
    issue: Option<String>,
    name: Option<PersonName>,
    phone: Option<Phone>,
    address: Option<Address>,
    turns: Vec<UserTurn>,
    transcript: Vec<TranscriptLine>,
}

impl Conversation {
    /// A new conversation for a site.
    pub fn new(site: PublicSiteConfig, channel: Channel, locale: Option<Locale>) -> Conversation {
        let locale = locale.or_else(|| site.locales.first().copied()).unwrap_or_default();
        Conversation {
            version: STATE_VERSION,
            site,
            channel,
            locale,
            step: Step::Problem,
            issue: None,
            name: None,
            phone: None,
            address: None,
            turns: Vec::new(),
            transcript: Vec::new(),
        }
    }

    /// Handles one event and says what to show and do.
    pub fn handle(&mut self, event: Event, now: UnixSeconds) -> Turn {
        let mut turn = Turn::default();
        match event {
            Event::Start => {
                let g = self
                    .site
                    .greeting
                    .get(&self.locale)
                    .cloned()
                    .unwrap_or_else(|| format!("Hi! This is {}. What can we help you with?", self.site.business_name));
                self.say(&mut turn, g);
            }
            Event::Abandon => {}
            Event::User { text } => {
                self.turns.push(UserTurn { text: text.clone(), at: now });
                self.transcript.push(TranscriptLine { speaker: Speaker::Homeowner, text: text.clone() });
                let t = text.trim().to_string();
                match self.step {
                    Step::Problem => {
                        self.issue = Some(t);
                        self.step = Step::Name;
                        self.say(&mut turn, "What is your name?".into());
                    }
                    Step::Name => {
                        let mut parts = t.splitn(2, ' ');
                        let first = parts.next().unwrap_or("").to_string();
                        let last = parts.next().unwrap_or("").to_string();
                        self.name = Some(PersonName { first, last });
                        self.step = Step::Phone;
                        self.say(&mut turn, "What is the best phone number?".into());
                    }
                    Step::Phone => {
                        let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
                        let digits = digits.strip_prefix('1').filter(|d| d.len() == 10).map(str::to_string).unwrap_or(digits);
                        if digits.len() != 10 {
                            self.say(&mut turn, "That phone number needs 10 digits. What is it?".into());
                        } else {
                            self.phone = Some(Phone { digits, extension: None });
                            self.step = Step::Address;
                            self.say(&mut turn, "What is the service address?".into());
                        }
                    }
                    Step::Address => {
                        let parts: Vec<&str> = t.split(',').map(str::trim).collect();
                        let (state, zip) = parts
                            .get(2)
                            .map(|sz| {
                                let mut w = sz.split_whitespace();
                                (w.next().unwrap_or("").to_string(), w.next().unwrap_or("").to_string())
                            })
                            .unwrap_or_default();
                        self.address = Some(Address {
                            street: parts.first().unwrap_or(&"").to_string(),
                            unit: None,
                            city: parts.get(1).unwrap_or(&"").to_string(),
                            state,
                            zip,
                        });
                        self.step = Step::Confirm;
                        self.say(&mut turn, "Shall I book it? (yes/no)".into());
                        turn.quick_replies = vec!["Yes".into(), "No".into()];
                    }
                    Step::Confirm => {
                        if t.to_ascii_lowercase().starts_with('y') {
                            if let Some(request) = self.request() {
                                self.step = Step::Booked;
                                self.say(&mut turn, "Booking it now.".into());
                                turn.effects.push(Effect::Book { request });
                            }
                        }
                    }
                    Step::Booked => {}
                }
            }
        }
        turn
    }

    fn say(&mut self, turn: &mut Turn, text: String) {
        self.transcript.push(TranscriptLine { speaker: Speaker::Assistant, text: text.clone() });
        turn.replies.push(text);
    }

    fn request(&self) -> Option<BookingRequest> {
        Some(BookingRequest {
            name: self.name.clone()?,
            phone: self.phone.clone()?,
            email: None,
            address: self.address.clone()?,
            trade: self.site.trades.first().copied().unwrap_or(Trade::Hvac),
            kind: VisitKind::Service,
            issue: self.issue.clone()?,
            priority: Priority::Normal,
            preferred_time: PreferredTime::default(),
            arrival_window: None,
            referral_code: None,
            locale: self.locale,
            channel: self.channel,
            transcript: self.transcript.clone(),
        })
    }

    /// The homeowner's inputs so far, for replay by the worker.
    pub fn user_turns(&self) -> &[UserTurn] {
        &self.turns
    }

    /// The conversation language.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// State as JSON, for localStorage or per-call storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores state saved by [`Conversation::to_json`]; refuses other versions.
    pub fn from_json(text: &str) -> Result<Conversation, String> {
        let c: Conversation = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if c.version != STATE_VERSION {
            return Err(format!("saved conversation version {} is not {}", c.version, STATE_VERSION));
        }
        Ok(c)
    }
}

/// Replays user turns from a fresh conversation; returns the booking they confirm, if any.
/// The worker uses this: it never trusts structured fields from the browser.
pub fn replay(
    site: PublicSiteConfig,
    channel: Channel,
    locale: Option<Locale>,
    turns: &[UserTurn],
) -> (Conversation, Option<BookingRequest>) {
    let mut conversation = Conversation::new(site, channel, locale);
    let mut booking = None;
    conversation.handle(Event::Start, turns.first().map(|t| t.at).unwrap_or(0));
    for t in turns {
        let turn = conversation.handle(Event::User { text: t.text.clone() }, t.at);
        for e in turn.effects {
            if let Effect::Book { request } = e {
                booking = Some(request);
            }
        }
    }
    (conversation, booking)
}
