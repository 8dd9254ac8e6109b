//! The booking conversation: a deterministic state machine.
//!
//! The homeowner talks; [`Conversation::handle`] reads each message with
//! [`crate::extract`], keeps every detail it finds (later values replace earlier
//! ones, so corrections just work), asks only for what is still missing, and shows a
//! summary the homeowner can confirm or edit. On "yes" it shows the confirmation
//! ([`Effect::Confirm`]); only "Book it" hands the shell an [`Effect::Book`]. No clock, no randomness: the same user turns always give the same
//! booking, which is how the worker rebuilds it with [`replay`].
//!
//! Stages, in the office's words: *taking details* → *reading back* (summary) →
//! *confirming* (the card: window, consents, "Book it") → *booked*, or *handed to the
//! office* when the homeowner wants a person.
//!
//! This file is the state machine (events, stages, dispatch); storing details and
//! asking for what is missing is in `details.rs`, the summary (reading back, changing a
//! detail) in `summary.rs`, the confirming stage and the homeowner's reply in `confirm.rs`.

mod confirm;
mod details;
pub(crate) mod prompts;
mod summary;

pub use confirm::{
    reply_after_recheck, reply_for, window_allowed, window_label, Act, Confirmation, OfferedWindow, MAX_WINDOWS_SHOWN,
};

use serde::{Deserialize, Serialize};

use crate::booking::{
    ArrivalWindow, BookingRequest, Channel, Locale, PersonName, Phone, PreferredTime, Priority, Speaker, Trade,
    TranscriptLine, UnixSeconds, VisitKind,
};
use crate::extract::{self, AddressParts, Answer, Expecting, SlotName, Urgency};
use crate::site::PublicSiteConfig;
use prompts::Msg;
use summary::expecting_for;

/// Version of the serialized state; bump when the shape changes.
pub const STATE_VERSION: u32 = 3;

/// After this many unusable phone answers the homeowner is offered a person.
pub const PHONE_TRIES_BEFORE_HANDOFF: u8 = 2;

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
    /// The homeowner picked an arrival window on the card (checked by the core).
    ChooseWindow {
        /// The window picked.
        window: ArrivalWindow,
    },
    /// Live availability arrived for the card. Not a homeowner turn: it only changes
    /// which windows are offered.
    OfferWindows {
        /// Windows with capacity, as the worker's availability route sent them.
        windows: Vec<ArrivalWindow>,
    },
    /// "Edit" on the card: back to the summary.
    Edit,
    /// The card's "text me updates" box.
    SmsConsent {
        /// Ticked.
        given: bool,
    },
    /// The card's automated-call consent (follow-up calls by the voice assistant).
    VoiceConsent {
        /// Ticked.
        given: bool,
    },
    /// "Book it".
    BookIt,
    /// The page was opened from a booking link that carried the homeowner's phone
    /// (`?bw-phone=`, [`phone_in_link`]). A valid US number is stored as a turn
    /// ([`Act::KnownPhone`]) and, when the phone would be asked, confirmed instead
    /// ("Is (612) 555-0100 the best number to reach you?"); anything else is ignored.
    KnownPhone {
        /// The link's digits, as the page URL had them.
        digits: String,
    },
}

/// One homeowner input, as stored for replay. Card actions are stored as text turns
/// too ([`Act`]; written by [`UserTurn::act`], read by [`Act::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Unknown fields are refused like the submission's own (abuse bench: a turn's extra
// "speaker" was taken silently).
#[serde(deny_unknown_fields)]
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
    /// Show (or refresh) the confirmation card.
    Confirm(Confirmation),
    /// "Book it" was pressed: submit this booking.
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
    /// Suggested answers (chips in chat; empty on voice).
    pub quick_replies: Vec<String>,
    /// Side effects for the shell.
    pub effects: Vec<Effect>,
}

/// What a conversation knows so far, complete or not ([`Conversation::so_far`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SoFar {
    /// The problem, condensed.
    pub issue: Option<String>,
    /// The trade, when found.
    pub trade: Option<Trade>,
    /// The address, as far as it was given.
    pub address: Option<crate::booking::Address>,
    /// The business the caller speaks for.
    pub business: Option<String>,
    /// The homeowner's name, when given (a phone call hung up before the phone was
    /// asked still has it).
    pub name: Option<PersonName>,
    /// Both sides of the conversation.
    pub transcript: Vec<TranscriptLine>,
}

/// Where the conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Asking for what is missing.
    TakingDetails,
    /// The summary is shown; waiting for yes or a change.
    ReadingBack,
    /// "What should I change?" was asked.
    ChoosingChange,
    /// The confirmation card is up: window, consents, "Book it".
    Confirming,
    /// Booked: the shell got [`Effect::Book`].
    Booked,
    /// The homeowner was sent to the office.
    HandedOff,
}

/// Everything known about the job so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Details {
    trade: Option<Trade>,
    issue: Option<String>,
    kind: VisitKind,
    priority: Priority,
    name: Option<PersonName>,
    phone: Option<Phone>,
    email: Option<String>,
    address: AddressParts,
    preferred_time: Option<PreferredTime>,
    window: Option<ArrivalWindow>,
    referral_code: Option<String>,
    sms_consent: bool,
    voice_consent: bool,
    /// The business the caller speaks for; `name` is then the contact person.
    #[serde(default)]
    business: Option<String>,
    /// The place is a business or a managed property (named or not yet).
    #[serde(default)]
    commercial: bool,
}

/// The conversation state. Serializes to JSON (with [`STATE_VERSION`]) so the widget
/// can resume after a reload and the voice channel can keep it per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    version: u32,
    site: PublicSiteConfig,
    channel: Channel,
    locale: Locale,
    /// Set by the site or the caller: never switched by detection.
    locale_fixed: bool,
    stage: Stage,
    asked: Expecting,
    details: Details,
    phone_failures: u8,
    safety_given: bool,
    abandon_reported: bool,
    /// How many times "when would you like us to come?" was asked.
    #[serde(default)]
    time_asks: u8,
    /// "What's the name of the business?" was asked (once: "no" is an answer).
    #[serde(default)]
    business_asked: bool,
    /// Live windows the card may offer (already checked by [`window_allowed`]).
    #[serde(default)]
    offered: Vec<ArrivalWindow>,
    /// The phone the booking link carried, until it is confirmed or turned down.
    #[serde(default)]
    known_phone: Option<i64>,
    turns: Vec<UserTurn>,
    transcript: Vec<TranscriptLine>,
}

impl Conversation {
    /// A new conversation for a site. With `locale: None` the language is the site's
    /// first, switched to Spanish if the first message is clearly Spanish and the site
    /// offers it.
    pub fn new(site: PublicSiteConfig, channel: Channel, locale: Option<Locale>) -> Conversation {
        let locale_fixed = locale.is_some() || site.locales.len() == 1;
        let locale = locale.or_else(|| site.locales.first().copied()).unwrap_or_default();
        Conversation {
            version: STATE_VERSION,
            site,
            channel,
            locale,
            locale_fixed,
            stage: Stage::TakingDetails,
            asked: Expecting::Problem,
            details: Details::default(),
            phone_failures: 0,
            safety_given: false,
            abandon_reported: false,
            time_asks: 0,
            business_asked: false,
            offered: Vec::new(),
            known_phone: None,
            turns: Vec::new(),
            transcript: Vec::new(),
        }
    }

    /// Greets in `locale` (the page's or the browser's language) without fixing it: the
    /// homeowner's first clear message still decides, as with no locale at all. Only a
    /// locale the site offers is taken.
    pub fn greeting_in(mut self, locale: Locale) -> Conversation {
        if !self.locale_fixed && self.site.locales.contains(&locale) {
            self.locale = locale;
        }
        self
    }

    /// Handles one event and says what to show and do.
    pub fn handle(&mut self, event: Event, now: UnixSeconds) -> Turn {
        let mut turn = Turn::default();
        match event {
            Event::Start => {
                let g = self.site.greeting.get(&self.locale).cloned().unwrap_or_else(|| {
                    prompts::say(&Msg::Greeting { business: &self.site.business_name }, self.locale, self.channel)
                });
                self.say(&mut turn, g);
            }
            Event::Abandon => {
                let d = &self.details;
                let contact = d.phone.is_some() || d.email.is_some();
                if contact && !self.abandon_reported && !matches!(self.stage, Stage::Booked) {
                    self.abandon_reported = true;
                    turn.effects.push(Effect::QualifiedAbandon {
                        name: d.name.clone(),
                        phone: d.phone.clone(),
                        email: d.email.clone(),
                    });
                }
            }
            Event::OfferWindows { windows } => self.offer_windows(windows, now, &mut turn),
            Event::ChooseWindow { window } => {
                let label = window_label(self.locale, window, self.site.utc_offset_minutes);
                self.act(Act::Window(window), &label, now, &mut turn);
            }
            Event::Edit => self.act(Act::Edit, "", now, &mut turn),
            Event::SmsConsent { given } => self.act(Act::SmsConsent(given), "", now, &mut turn),
            Event::VoiceConsent { given } => self.act(Act::VoiceConsent(given), "", now, &mut turn),
            Event::BookIt => self.act(Act::BookIt, "", now, &mut turn),
            Event::KnownPhone { digits } => {
                if let Some(n) = link_phone(&digits) {
                    self.act(Act::KnownPhone(n), "", now, &mut turn);
                }
            }
            Event::User { text } => {
                let text = extract::cap(&text).to_string();
                self.turns.push(UserTurn { text: text.clone(), at: now });
                self.transcript.push(TranscriptLine { speaker: Speaker::Homeowner, text: text.clone() });
                match Act::parse(&text).filter(|a| self.accepts(*a)) {
                    Some(act) => self.on_act(act, now, &mut turn),
                    None => self.on_text(&text, now, &mut turn),
                }
            }
        }
        if self.channel == Channel::Voice {
            turn.quick_replies.clear();
        }
        turn
    }

    /// A card action from a shell: stored as the homeowner's turn, then handled.
    fn act(&mut self, act: Act, label: &str, now: UnixSeconds, turn: &mut Turn) {
        let t = UserTurn::act(act, label, now);
        self.transcript.push(TranscriptLine { speaker: Speaker::Homeowner, text: t.text.clone() });
        self.turns.push(t);
        if self.accepts(act) {
            self.on_act(act, now, turn);
        }
    }

    /// Card actions mean something only while the card is up; a window pick is also
    /// taken while details are being taken (live windows shown early). Anything else is
    /// read as words.
    fn accepts(&self, act: Act) -> bool {
        if matches!(act, Act::KnownPhone(_)) {
            // Never read as words (its digits would be a phone given unasked).
            return true;
        }
        match self.stage {
            Stage::Confirming => true,
            Stage::TakingDetails | Stage::ReadingBack => matches!(act, Act::Window(_)),
            _ => false,
        }
    }

    fn on_text(&mut self, text: &str, now: UnixSeconds, turn: &mut Turn) {
        if matches!(self.stage, Stage::Booked | Stage::HandedOff) {
            let office = self.office();
            self.say_msg(turn, &Msg::AfterEnd { office: &office });
            return;
        }
        let ex = extract::extract(text, self.asked);
        // The language is the first message's that is clearly one ("Hola", "mi aire no
        // enfría"): every reply from this one on is in it. A message that says nothing
        // of its language ("612 555 0143") leaves the choice open.
        if !self.locale_fixed {
            if let Some(l) = ex.language {
                if self.site.locales.contains(&l) {
                    self.locale = l;
                }
                self.locale_fixed = true;
            }
        }
        if ex.wants_person {
            self.hand_off(turn);
            return;
        }
        if let Some(Urgency::Emergency(e)) = ex.urgency {
            self.details.priority = Priority::Urgent;
            if !self.safety_given {
                self.safety_given = true;
                self.say_msg(turn, &Msg::Safety { emergency: e });
                turn.effects.push(Effect::Emergency);
            }
        }
        match self.stage {
            Stage::ReadingBack => {
                match ex.answer {
                    // "yes" alone, or repeating what the summary says, books; "yes, but
                    // it's the furnace" changes it and reads the summary again (below).
                    Some(Answer::Yes) if !self.changes_anything(&ex) && !ex.but => {
                        self.confirm(turn, now);
                        return;
                    }
                    Some(Answer::Yes) if !ex.has_details() => {
                        // "yes, but…" with nothing we could read: ask what to change.
                        self.stage = Stage::ChoosingChange;
                        self.asked = Expecting::Anything;
                        self.say_msg(turn, &Msg::WhatToChange);
                        turn.quick_replies = prompts::change_choices(self.locale);
                        return;
                    }
                    Some(Answer::Change(Some(slot))) if !self.has_value_for(&ex, slot) => {
                        self.ask_again(slot, turn);
                        return;
                    }
                    Some(Answer::Change(None) | Answer::No) if !ex.has_details() => {
                        self.stage = Stage::ChoosingChange;
                        self.asked = Expecting::Anything;
                        self.say_msg(turn, &Msg::WhatToChange);
                        turn.quick_replies = prompts::change_choices(self.locale);
                        return;
                    }
                    _ => {}
                }
            }
            Stage::ChoosingChange => {
                if let Some(slot) = extract::slot_named(text) {
                    if !self.has_value_for(&ex, slot) {
                        self.ask_again(slot, turn);
                        return;
                    }
                }
                if matches!(ex.answer, Some(Answer::Yes)) && !ex.has_details() {
                    self.confirm(turn, now);
                    return;
                }
            }
            Stage::Confirming => {
                // Typed while the card is up: a plain yes is "Book it"; anything else is
                // a change, read as it would be on the summary.
                if matches!(ex.answer, Some(Answer::Yes)) && !ex.has_details() {
                    self.on_act(Act::BookIt, now, turn);
                    return;
                }
                self.stage = Stage::ReadingBack;
                return self.on_text(text, now, turn);
            }
            Stage::TakingDetails => {
                if self.known_phone_answer(&ex, turn) {
                    return;
                }
                // "change the phone" while another question is open: ask for it again.
                if let Some(Answer::Change(Some(slot))) = ex.answer {
                    if self.has_slot(slot) && !self.has_value_for(&ex, slot) && expecting_for(slot) != self.asked {
                        return self.ask_again(slot, turn);
                    }
                }
            }
            _ => {}
        }
        let before = (self.stage == Stage::TakingDetails).then(|| self.details.clone());
        let asked = self.asked;
        if !self.take(&ex, text, turn) {
            return;
        }
        if let Some(before) = before {
            self.acknowledge_changes(&before, asked, turn);
        }
        self.next_question(turn);
    }

    fn hand_off(&mut self, turn: &mut Turn) {
        let office = self.office();
        let hours = self.site.office_hours.clone();
        self.say_msg(turn, &Msg::HandOff { office: &office, hours: &hours });
        self.stage = Stage::HandedOff;
        turn.effects.push(Effect::HandOff);
    }

    fn office(&self) -> String {
        prompts::office_text(&self.site.office_phone, self.channel, self.locale)
    }

    /// "Change the phone": forget that detail and ask for it again.
    fn ask_again(&mut self, slot: SlotName, turn: &mut Turn) {
        self.forget(slot);
        if slot == SlotName::Time {
            self.time_asks = 1;
        } else if self.asked == Expecting::Time {
            // Asked "when?" and told to change something else: "when?" comes back as it
            // was asked, not as a missed answer.
            self.time_asks = self.time_asks.saturating_sub(1);
        }
        self.stage = Stage::TakingDetails;
        self.asked = expecting_for(slot);
        self.say_msg(turn, &Msg::AskAgain { slot });
    }

    fn say_msg(&mut self, turn: &mut Turn, msg: &Msg<'_>) {
        let text = prompts::say(msg, self.locale, self.channel);
        self.say(turn, text);
    }

    fn say(&mut self, turn: &mut Turn, text: String) {
        self.transcript.push(TranscriptLine { speaker: Speaker::Assistant, text: text.clone() });
        turn.replies.push(text);
    }

    /// The homeowner's inputs so far, for replay by the worker.
    pub fn user_turns(&self) -> &[UserTurn] {
        &self.turns
    }

    /// The conversation language.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Where the conversation is.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What the last question asked for (the phone agent's speech hints and keypad).
    pub fn expecting(&self) -> Expecting {
        self.asked
    }

    /// What is known so far, complete or not (for an abandoned conversation's call-back).
    pub fn so_far(&self) -> SoFar {
        let d = &self.details;
        let address = summary::to_address(&d.address);
        SoFar {
            issue: d.issue.clone(),
            trade: d.trade,
            address: (!d.address.is_empty()).then_some(address),
            business: d.business.clone(),
            name: d.name.clone(),
            transcript: self.transcript.clone(),
        }
    }

    /// The booking as it would be submitted now, if every required detail is known
    /// (for tests and for the shell's "what we have so far").
    pub fn draft(&self) -> Option<BookingRequest> {
        self.request()
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

/// The phone a booking link carried: the `bw-phone` query parameter
/// ([`crate::voice::booking_link`]) of a page URL, as it is: [`Event::KnownPhone`]
/// checks it (and ignores anything but a US number).
pub fn phone_in_link(url: &str) -> Option<&str> {
    let query = url.split('#').next()?.split_once('?')?.1;
    query.split('&').find_map(|p| p.strip_prefix(LINK_PARAM))
}

/// [`crate::voice::PHONE_PARAM`] and its `=` (a test keeps them equal).
const LINK_PARAM: &str = "bw-phone=";

/// Ten digits of a valid US number (an "1" country code in front is dropped, as the
/// link has it for a caller ID in E.164), and nothing else: no spaces, signs or letters.
fn link_phone(digits: &str) -> Option<i64> {
    let d = match digits.len() {
        11 => digits.strip_prefix('1')?,
        _ => digits,
    };
    // Ten ASCII digits once `nanp_problem` passes them (a fold: `parse` costs the widget's wasm).
    extract::nanp_problem(d).is_none().then(|| d.bytes().fold(0, |n, b| n * 10 + i64::from(b.wrapping_sub(b'0'))))
}

/// Replays a submission's turns. A submission is only ever sent by "Book it", so turns
/// that stop on the confirmation card (a widget cached from before the card's acts were
/// turns) are booked as pressed; anything short of the card books nothing.
pub fn replay_submission(
    site: PublicSiteConfig,
    channel: Channel,
    locale: Option<Locale>,
    turns: &[UserTurn],
    now: UnixSeconds,
) -> (Conversation, Option<BookingRequest>) {
    let (mut conversation, booking) = replay(site, channel, locale, turns, now);
    if booking.is_some() || conversation.stage() != Stage::Confirming {
        return (conversation, booking);
    }
    let at = turns.last().map_or(now, |t| t.at.min(now));
    let booking = conversation.handle(Event::BookIt, at).effects.into_iter().find_map(|e| match e {
        Effect::Book { request } => Some(request),
        _ => None,
    });
    (conversation, booking)
}

/// Replays user turns from a fresh conversation; returns the booking they confirm, if
/// any. The worker uses this: it never trusts structured fields from the browser. `now`
/// is the replaying side's clock: a turn claiming a later time is taken as said `now`, so
/// a window is checked against a time that has really come.
pub fn replay(
    site: PublicSiteConfig,
    channel: Channel,
    locale: Option<Locale>,
    turns: &[UserTurn],
    now: UnixSeconds,
) -> (Conversation, Option<BookingRequest>) {
    let mut conversation = Conversation::new(site, channel, locale);
    let mut booking = None;
    conversation.handle(Event::Start, turns.first().map_or(0, |t| t.at.min(now)));
    for t in turns {
        let turn = conversation.handle(Event::User { text: t.text.clone() }, t.at.min(now));
        for e in turn.effects {
            if let Effect::Book { request } = e {
                booking = Some(request);
            }
        }
    }
    (conversation, booking)
}
