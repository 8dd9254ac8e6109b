//! The booking conversation: a deterministic state machine.
//!
//! The homeowner talks; [`Conversation::handle`] reads each message with
//! [`crate::extract`], keeps every detail it finds (later values replace earlier
//! ones, so corrections just work), asks only for what is still missing, and shows a
//! summary the homeowner can confirm or edit. On "yes" it hands the shell an
//! [`Effect::Book`]. No clock, no randomness: the same user turns always give the same
//! booking, which is how the worker rebuilds it with [`replay`].
//!
//! Stages, in the office's words: *taking details* → *reading back* (summary) →
//! *booked*, or *handed to the office* when the homeowner wants a person.

mod prompts;

use serde::{Deserialize, Serialize};

use crate::booking::{
    Address, ArrivalWindow, BookingRequest, Channel, DayPart, DayPreference, Locale, PersonName, Phone,
    PreferredTime, Priority, Speaker, Trade, TranscriptLine, UnixSeconds, VisitKind,
};
use crate::extract::{self, AddressParts, Answer, Expecting, Extraction, SlotName, Urgency};
use crate::site::PublicSiteConfig;
use prompts::Msg;

/// Version of the serialized state; bump when the shape changes.
pub const STATE_VERSION: u32 = 2;

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
    /// The homeowner picked an arrival window offered from live availability.
    ChooseWindow {
        /// The window picked.
        window: ArrivalWindow,
    },
}

/// One homeowner input, as stored for replay.
///
/// A picked arrival window is stored as a text turn, `Arrival window: <label>
/// [<start>-<end>]` (the shape the widget already sends), so the struct keeps its two
/// fields and every driver written against it still compiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTurn {
    /// Verbatim text.
    pub text: String,
    /// When it was said.
    pub at: UnixSeconds,
}

impl UserTurn {
    /// The turn that records a window pick.
    pub fn window_pick(window: ArrivalWindow, at: UnixSeconds) -> UserTurn {
        UserTurn { text: format!("Arrival window: [{}-{}]", window.start, window.end), at }
    }

    /// The window this turn picks, if it is a window pick.
    pub fn window(&self) -> Option<ArrivalWindow> {
        let t = self.text.trim();
        if !t.starts_with("Arrival window") || !t.ends_with(']') {
            return None;
        }
        let inner = t.get(t.rfind('[')? + 1..t.len() - 1)?;
        let (a, b) = inner.split_once('-')?;
        let (start, end) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        (start < end).then_some(ArrivalWindow { start, end })
    }
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
    /// Suggested answers (chips in chat; empty on voice).
    pub quick_replies: Vec<String>,
    /// Side effects for the shell.
    pub effects: Vec<Effect>,
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
            turns: Vec::new(),
            transcript: Vec::new(),
        }
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
            Event::ChooseWindow { window } => {
                self.turns.push(UserTurn::window_pick(window, now));
                if matches!(self.stage, Stage::Booked | Stage::HandedOff) {
                    return turn;
                }
                self.details.window = Some(window);
                if matches!(self.stage, Stage::ReadingBack) {
                    self.read_back(&mut turn);
                } else {
                    self.say_msg(&mut turn, &Msg::WindowNoted);
                    self.next_question(&mut turn);
                }
            }
            Event::User { text } => {
                let text = extract::cap(&text).to_string();
                if let Some(window) = (UserTurn { text: text.clone(), at: now }).window() {
                    return self.handle(Event::ChooseWindow { window }, now);
                }
                self.turns.push(UserTurn { text: text.clone(), at: now });
                self.transcript.push(TranscriptLine { speaker: Speaker::Homeowner, text: text.clone() });
                self.on_text(&text, &mut turn);
            }
        }
        if self.channel == Channel::Voice {
            turn.quick_replies.clear();
        }
        turn
    }

    fn on_text(&mut self, text: &str, turn: &mut Turn) {
        if matches!(self.stage, Stage::Booked | Stage::HandedOff) {
            let office = self.office();
            self.say_msg(turn, &Msg::AfterEnd { office: &office });
            return;
        }
        let ex = extract::extract(text, self.asked);
        if !self.locale_fixed && self.turns.len() == 1 {
            if let Some(l) = ex.language.filter(|l| self.site.locales.contains(l)) {
                self.locale = l;
            }
            self.locale_fixed = true;
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
                    Some(Answer::Yes) if !ex.has_details() || ex.trade.is_some() && ex.phone.is_none() && ex.address.is_empty() && ex.name.is_none() => {
                        self.book(turn);
                        return;
                    }
                    Some(Answer::Change(Some(slot))) if !self.has_value_for(&ex, slot) => {
                        self.forget(slot);
                        if slot == SlotName::Time {
                            self.time_asks = 1;
                        }
                        self.stage = Stage::TakingDetails;
                        self.asked = expecting_for(slot);
                        self.say_msg(turn, &Msg::AskAgain { slot });
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
                        self.forget(slot);
                        if slot == SlotName::Time {
                            self.time_asks = 1;
                        }
                        self.stage = Stage::TakingDetails;
                        self.asked = expecting_for(slot);
                        self.say_msg(turn, &Msg::AskAgain { slot });
                        return;
                    }
                }
                if matches!(ex.answer, Some(Answer::Yes)) && !ex.has_details() {
                    self.book(turn);
                    return;
                }
            }
            _ => {}
        }
        if !self.take(&ex, text, turn) {
            return;
        }
        self.next_question(turn);
    }

    fn has_value_for(&self, ex: &Extraction, slot: SlotName) -> bool {
        match slot {
            SlotName::Problem => ex.trade.is_some(),
            SlotName::Name => ex.name.is_some(),
            SlotName::Phone => ex.phone.is_some(),
            SlotName::Email => ex.email.is_some(),
            SlotName::Address => !ex.address.is_empty(),
            SlotName::Time => ex.preferred_time.is_some(),
        }
    }

    fn forget(&mut self, slot: SlotName) {
        let d = &mut self.details;
        match slot {
            SlotName::Problem => {
                d.trade = None;
                d.issue = None;
            }
            SlotName::Name => d.name = None,
            SlotName::Phone => d.phone = None,
            SlotName::Email => d.email = None,
            SlotName::Address => d.address = AddressParts::default(),
            SlotName::Time => {
                d.preferred_time = None;
                d.window = None;
            }
        }
    }

    /// Stores what the message says. Returns false when a reply was already given
    /// and no further question should follow (a re-prompt or a decline).
    fn take(&mut self, ex: &Extraction, text: &str, turn: &mut Turn) -> bool {
        let asked = self.asked;
        let d = &mut self.details;
        if let Some(t) = ex.trade {
            d.trade = Some(t);
            d.issue = ex.issue.clone();
            if let Some(k) = ex.kind {
                d.kind = k;
            }
        } else if asked == Expecting::Problem && d.issue.is_none() && !text.trim().is_empty() && !ex.has_details() && ex.answer.is_none() {
            // No trade recognised: keep their words as the issue and ask which trade.
            d.issue = Some(condense(text));
        }
        if matches!(ex.urgency, Some(Urgency::High)) && d.priority < Priority::High {
            d.priority = Priority::High;
        }
        if let Some(n) = &ex.name {
            d.name = Some(n.clone());
        }
        if let Some(e) = &ex.email {
            d.email = Some(e.clone());
        }
        if let Some(t) = ex.preferred_time {
            d.preferred_time = Some(t);
        }
        if let Some(r) = &ex.referral_code {
            d.referral_code = Some(r.clone());
        }
        merge_address(&mut d.address, &ex.address);
        // The site must book this trade.
        if let Some(t) = d.trade.filter(|t| !self.site.trades.is_empty() && !self.site.trades.contains(t)) {
            d.trade = None;
            d.issue = None;
            self.asked = Expecting::Problem;
            self.say_msg(turn, &Msg::TradeNotOffered { trade: t });
            return false;
        }
        // Phone: check it, and re-prompt with the reason.
        let office = self.office();
        if let Some(p) = &ex.phone {
            match extract::nanp_problem(&p.digits) {
                None => {
                    self.details.phone = Some(p.clone());
                    self.phone_failures = 0;
                }
                Some(problem) => return self.phone_failed(Some(problem), &office, turn),
            }
        } else if asked == Expecting::Phone && self.details.phone.is_none() && !ex.has_details() && ex.answer.is_none() {
            return self.phone_failed(ex.phone_problem, &office, turn);
        } else if asked == Expecting::Phone && ex.phone_problem.is_some() && self.details.phone.is_none() {
            return self.phone_failed(ex.phone_problem, &office, turn);
        }
        // Service area.
        if let Some(zip) = self.details.address.zip.clone() {
            let area = &self.site.service_area_zips;
            if !area.is_empty() && !area.iter().any(|z| z.trim() == zip) {
                self.details.address = AddressParts::default();
                self.asked = Expecting::Address;
                self.say_msg(turn, &Msg::OutOfArea { zip: &zip, office: &office });
                return false;
            }
        }
        true
    }

    fn phone_failed(&mut self, problem: Option<extract::PhoneProblem>, office: &str, turn: &mut Turn) -> bool {
        self.phone_failures = self.phone_failures.saturating_add(1);
        self.asked = Expecting::Phone;
        let offer_person = self.phone_failures >= PHONE_TRIES_BEFORE_HANDOFF;
        let msg = match problem {
            Some(problem) => Msg::PhoneInvalid { problem, offer_person, office },
            None => Msg::NoPhoneHeard { offer_person, office },
        };
        self.say_msg(turn, &msg);
        if offer_person {
            turn.quick_replies = vec![prompts::person_choice(self.locale)];
        }
        false
    }

    /// Asks for the first missing detail, or reads the summary back.
    fn next_question(&mut self, turn: &mut Turn) {
        let d = &self.details;
        let a = &d.address;
        let (msg, asked) = if d.trade.is_none() {
            if d.issue.is_some() {
                (Msg::AskTrade, Expecting::Problem)
            } else {
                (Msg::AskProblem, Expecting::Problem)
            }
        } else if d.name.is_none() {
            (Msg::AskName { first_issue: None }, Expecting::Name)
        } else if d.phone.is_none() {
            (Msg::AskPhone { first_name: "" }, Expecting::Phone)
        } else if a.street.is_none() || a.number.is_none() {
            (Msg::AskAddress, Expecting::Address)
        } else if a.city.is_none() || a.state.is_none() || a.zip.is_none() {
            (Msg::AskAddressRest { have_zip: a.zip.is_some(), have_city: a.city.is_some(), have_state: a.state.is_some() }, Expecting::Address)
        } else if d.preferred_time.is_none() && d.window.is_none() && d.priority == Priority::Urgent {
            // An emergency: as soon as possible, without asking.
            self.details.preferred_time = Some(PreferredTime { day: Some(DayPreference::Asap), part: None });
            self.read_back(turn);
            return;
        } else if d.preferred_time.is_none() && d.window.is_none() && self.time_asks < 2 {
            // A job needs an appointment: ask when (once more if the answer had no time).
            self.time_asks += 1;
            self.asked = Expecting::Time;
            self.say_msg(turn, &Msg::AskTime { again: self.time_asks > 1 });
            if self.channel == Channel::Chat {
                turn.quick_replies = prompts::time_choices(self.locale);
            }
            return;
        } else {
            self.read_back(turn);
            return;
        };
        // Personal touches need owned strings; build them after the borrow ends.
        let issue = d.issue.clone();
        let first = d.name.as_ref().map(|n| n.first.clone()).unwrap_or_default();
        self.asked = asked;
        let msg = match msg {
            Msg::AskName { .. } => Msg::AskName { first_issue: issue.as_deref().filter(|_| self.channel == Channel::Chat) },
            Msg::AskPhone { .. } => Msg::AskPhone { first_name: &first },
            m => m,
        };
        let text = prompts::say(&msg, self.locale, self.channel);
        self.say(turn, text);
        if asked == Expecting::Problem && self.details.issue.is_some() {
            turn.quick_replies = self.site.trades.iter().map(|t| capitalize(prompts::trade_name(*t, self.locale))).collect();
        }
    }

    fn read_back(&mut self, turn: &mut Turn) {
        self.stage = Stage::ReadingBack;
        self.asked = Expecting::Confirmation;
        let lines = self.summary_lines();
        self.say_msg(turn, &Msg::Summary { lines: &lines });
        turn.quick_replies = prompts::confirm_choices(self.locale);
    }

    fn summary_lines(&self) -> Vec<(SlotName, String)> {
        let d = &self.details;
        let es = self.locale == Locale::Es;
        let mut lines = Vec::new();
        let mut problem = d.issue.clone().unwrap_or_default();
        // Voice: no brackets a speech engine would stumble over.
        if let (Some(t), Channel::Chat) = (d.trade, self.channel) {
            problem = format!("{problem} ({})", prompts::trade_name(t, self.locale));
        }
        if d.kind == VisitKind::Estimate {
            problem.push_str(if es { ", presupuesto" } else { ", estimate" });
        }
        if d.priority == Priority::Urgent {
            problem.push_str(if es { ", urgente" } else { ", urgent" });
        }
        lines.push((SlotName::Problem, problem));
        lines.push((SlotName::Name, d.name.as_ref().map(PersonName::full).unwrap_or_default()));
        if let Some(p) = &d.phone {
            lines.push((SlotName::Phone, prompts::phone_text(p, self.channel, self.locale)));
        }
        if let Some(e) = &d.email {
            if self.channel == Channel::Chat {
                lines.push((SlotName::Email, e.clone()));
            }
        }
        lines.push((SlotName::Address, to_address(&d.address).one_line()));
        if let Some(t) = d.preferred_time {
            lines.push((SlotName::Time, time_text(t, self.locale)));
        }
        lines
    }

    fn book(&mut self, turn: &mut Turn) {
        let first = self.details.name.as_ref().map(|n| n.first.clone()).unwrap_or_default();
        self.say_msg(turn, &Msg::Booked { first_name: &first });
        match self.request() {
            Some(request) => {
                self.stage = Stage::Booked;
                turn.effects.push(Effect::Book { request });
            }
            None => self.next_question(turn),
        }
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

    fn say_msg(&mut self, turn: &mut Turn, msg: &Msg<'_>) {
        let text = prompts::say(msg, self.locale, self.channel);
        self.say(turn, text);
    }

    fn say(&mut self, turn: &mut Turn, text: String) {
        self.transcript.push(TranscriptLine { speaker: Speaker::Assistant, text: text.clone() });
        turn.replies.push(text);
    }

    fn request(&self) -> Option<BookingRequest> {
        let d = &self.details;
        let a = &d.address;
        if a.city.is_none() || a.state.is_none() || a.zip.is_none() {
            return None;
        }
        Some(BookingRequest {
            name: d.name.clone()?,
            phone: d.phone.clone()?,
            email: d.email.clone(),
            address: to_address(a),
            trade: d.trade?,
            kind: d.kind,
            issue: d.issue.clone().unwrap_or_default(),
            priority: d.priority,
            preferred_time: d.preferred_time.unwrap_or_default(),
            arrival_window: d.window,
            referral_code: d.referral_code.clone(),
            sms_consent: false,
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

    /// Where the conversation is.
    pub fn stage(&self) -> Stage {
        self.stage
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

fn expecting_for(slot: SlotName) -> Expecting {
    match slot {
        SlotName::Problem => Expecting::Problem,
        SlotName::Name => Expecting::Name,
        SlotName::Phone => Expecting::Phone,
        SlotName::Address => Expecting::Address,
        SlotName::Time => Expecting::Time,
        SlotName::Email => Expecting::Anything,
    }
}

/// New address parts replace old ones; a new street starts a new address but keeps
/// the city/state/ZIP unless those were given too.
fn merge_address(have: &mut AddressParts, new: &AddressParts) {
    if new.street.is_some() {
        have.number = new.number.clone();
        have.street = new.street.clone();
        have.unit = new.unit.clone();
    } else if new.unit.is_some() {
        have.unit = new.unit.clone();
    }
    if new.city.is_some() {
        have.city = new.city.clone();
    }
    if new.state.is_some() {
        have.state = new.state.clone();
    }
    if new.zip.is_some() {
        have.zip = new.zip.clone();
    }
}

fn to_address(a: &AddressParts) -> Address {
    let street = match (&a.number, &a.street) {
        (Some(n), Some(s)) => format!("{n} {s}"),
        (None, Some(s)) => s.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => String::new(),
    };
    Address {
        street,
        unit: a.unit.clone(),
        city: a.city.clone().unwrap_or_default(),
        state: a.state.clone().unwrap_or_default(),
        zip: a.zip.clone().unwrap_or_default(),
    }
}

/// The homeowner's own words, trimmed to a note-sized issue.
fn condense(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match t.char_indices().nth(120) {
        Some((i, _)) => t.get(..i).unwrap_or("").to_string(),
        None => t,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn time_text(t: PreferredTime, locale: Locale) -> String {
    let es = locale == Locale::Es;
    const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const DAYS_ES: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
    let day = t.day.map(|d| match (d, es) {
        (DayPreference::Asap, false) => "as soon as possible".to_string(),
        (DayPreference::Today, false) => "today".to_string(),
        (DayPreference::Tomorrow, false) => "tomorrow".to_string(),
        (DayPreference::Asap, true) => "lo antes posible".to_string(),
        (DayPreference::Today, true) => "hoy".to_string(),
        (DayPreference::Tomorrow, true) => "mañana".to_string(),
        (DayPreference::Weekday(w), _) => {
            let names = if es { DAYS_ES } else { DAYS_EN };
            names.get(usize::from(w)).copied().unwrap_or("").to_string()
        }
    });
    let part = t.part.map(|p| match (p, es) {
        (DayPart::Morning, false) => "morning",
        (DayPart::Afternoon, false) => "afternoon",
        (DayPart::Evening, false) => "evening",
        (DayPart::Morning, true) => "por la mañana",
        (DayPart::Afternoon, true) => "por la tarde",
        (DayPart::Evening, true) => "por la noche",
    });
    match (day, part) {
        (Some(d), Some(p)) => format!("{d} {p}"),
        (Some(d), None) => d,
        (None, Some(p)) => p.to_string(),
        (None, None) => String::new(),
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
        let window = t.window();
        let event = match window {
            Some(window) => Event::ChooseWindow { window },
            None => Event::User { text: t.text.clone() },
        };
        let turn = conversation.handle(event, t.at);
        // The widget sends the window pick after the "yes": it still belongs to the booking.
        if let (Some(w), Some(b)) = (window, booking.as_mut()) {
            let b: &mut BookingRequest = b;
            b.arrival_window = Some(w);
        }
        for e in turn.effects {
            if let Effect::Book { request } = e {
                booking = Some(request);
            }
        }
    }
    (conversation, booking)
}
