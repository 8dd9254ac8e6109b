//! One phone call: the booking [`Conversation`] (`Channel::Voice`) with what only a phone
//! has around it. The worker feeds Twilio's webhooks in as [`CallEvent`]s and renders
//! each [`CallTurn`] ([`crate::voice::twiml::render`], or as ConversationRelay tokens).
//!
//! What the call adds to the conversation, in the office's words:
//! - the greeting says it's an automated assistant for the business and offers Spanish
//!   ("diga español u oprima el dos") when the site offers it;
//! - the caller ID is the phone unless the caller says otherwise ("is six one two, five
//!   five five, zero one zero zero the best number to reach you?");
//! - digits may be said in any spoken form or keyed ([`crate::voice::digits`]);
//! - emergencies: the safety words first, then a transfer to the on-call number;
//!   "talk to a person": a transfer; a transfer nobody answers goes back to booking;
//! - two silent or not-understood turns in a row: a transfer or a text with the link;
//! - a call that ends before booking, with a number to call back: [`CallEffect::CallBack`],
//!   once.
//!
//! The call keeps its own transcript (what was said and heard, keyed digits too): that is
//! the one that reaches the booking and the office's note, because on a phone the agent
//! says things the conversation did not (the disclosure, the caller-ID question, "sorry,
//! I didn't catch that").

use serde::{Deserialize, Serialize};

use crate::booking::{BookingRequest, Channel, Locale, Phone, Speaker, TranscriptLine, UnixSeconds};
use crate::conversation::prompts::{self, VoiceLine};
use crate::conversation::{self, Conversation, Effect, Event, Stage, Turn};
use crate::extract::{self, Answer, Expecting};
use crate::run::{AbandonReport, AbandonedChat};
use crate::site::{PublicSiteConfig, SiteConfig};
use crate::submission::{BookingReply, ReplyStatus};

use super::followup::{self, FollowUpCall};
use super::{digits, e164, VoiceError, VoiceSettings};

/// Version of a stored [`Call`]; bump when the shape changes.
pub const CALL_VERSION: u32 = 1;

/// Turns in a row with nothing heard or nothing understood before the caller is offered
/// a person or a text.
pub const MISSES_BEFORE_HELP: u8 = 2;

/// The caller's turns in one call before it goes to a person: a booking takes a dozen,
/// and the stored call stays well under a Durable Object value's size (the same bound
/// as a chat submission's 60 turns).
pub const MAX_CALLER_TURNS: usize = 60;

/// Keys gathered one by one (ConversationRelay) before they are read as one entry.
const MAX_KEYS: usize = 20;

/// What happened on the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CallEvent {
    /// The call connected: greet.
    Answered,
    /// The caller said something (Twilio's `SpeechResult`, a relay `prompt`).
    Heard {
        /// What the recogniser heard.
        text: String,
    },
    /// The caller keyed digits (Twilio's `Digits`, the whole entry).
    Keyed {
        /// The keys, `#` and `*` included as pressed.
        digits: String,
    },
    /// One key (ConversationRelay's `dtmf`): gathered until `#` or the length the
    /// question wants ([`Listen::digits`]), then read as [`CallEvent::Keyed`].
    KeyPressed {
        /// The key: "0"-"9", "#", "*".
        digit: String,
    },
    /// The gather ended with nothing (`actionOnEmptyResult`).
    Nothing,
    /// The transfer ended (`<Dial action>`: `DialCallStatus == "completed"` is answered).
    DialEnded {
        /// Someone picked up.
        answered: bool,
    },
    /// The call is over (status callback `CallStatus`: completed, busy, no-answer,
    /// failed, canceled).
    HungUp {
        /// Twilio's `CallStatus`.
        status: String,
    },
    /// ConversationRelay's WebSocket closed. After our `end` with a transfer the call
    /// goes on (Twilio requests the `<Connect action>` with the `HandoffData`), so that
    /// close is nothing; otherwise the caller hung up.
    RelayClosed,
}

/// What to do after a turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Next {
    /// Listen for the answer (`<Gather input="speech dtmf">`).
    Listen(Listen),
    /// Transfer to a person; the outcome comes back as [`CallEvent::DialEnded`].
    Dial {
        /// E.164, `+16125550100`.
        number: String,
    },
    /// End the call.
    Hangup,
}

/// How to listen for the next answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Listen {
    /// Words and class tokens the recogniser should expect (`hints`).
    pub hints: Vec<String>,
    /// When a keyed answer has a known length (10 for a phone, 5 for a ZIP, 1 for a
    /// menu choice): `numDigits`.
    pub digits: Option<u8>,
    /// What the question asked for.
    pub asking: Expecting,
}

/// Something the worker must do besides speaking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CallEffect {
    /// The caller's yes to "shall I book it?": submit this booking (`Channel::Voice`,
    /// the call's transcript), then say [`Call::booked`]'s turn instead of this one.
    Book {
        /// The confirmed request.
        request: BookingRequest,
    },
    /// The call ended before a booking, with a number to call back: file the office
    /// booking ([`crate::run::BookingRun::abandon_to_office`]) and the owner's webhook,
    /// and text the booking link unless `link_texted`. Once per call.
    CallBack {
        /// Who to call back.
        report: AbandonReport,
        /// What the call knew.
        call: AbandonedChat,
        /// The link was already texted during the call ([`CallEffect::TextBookingLink`]).
        link_texted: bool,
    },
    /// The caller asked for a text with the booking link.
    TextBookingLink {
        /// Ten digits.
        phone: String,
    },
    /// On a follow-up call the customer asked for no more calls: tell the customer's
    /// follow-ups (their object's `/opt-out`, channel voice).
    OptOut {
        /// The ServiceTitan customer.
        customer_id: i64,
        /// The follow-up that placed the call.
        follow_up: String,
    },
}

/// The agent's answer to one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTurn {
    /// What to say, in order; plain text (escaping is the renderer's job).
    pub say: Vec<String>,
    /// The language to say it and to listen in.
    pub locale: Locale,
    /// What follows.
    pub next: Next,
    /// What the worker must do.
    pub effects: Vec<CallEffect>,
    /// Start recording the call now (the greeting, on sites that record; the disclosure
    /// is in the greeting).
    #[serde(default)]
    pub record: bool,
}

/// Why a transfer was started: what to do when nobody answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Transfer {
    /// "Talk to a person": undo the request and carry on.
    Person,
    /// An emergency after the safety words: carry on with the held question.
    Emergency,
    /// Accepted after two misses.
    Help,
}

/// Where the caller-ID check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum CallerIdCheck {
    /// Not asked yet.
    NotAsked,
    /// "Is … the best number?" is open.
    Asked,
    /// Answered (yes, no, or another number), or never needed.
    Done,
}

/// One phone call. Serializes to JSON ([`Call::to_json`]) for the call's Durable Object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    version: u32,
    voice: VoiceSettings,
    site: PublicSiteConfig,
    conversation: Conversation,
    caller_id: Option<Phone>,
    caller_id_check: CallerIdCheck,
    /// Nothing heard or understood, in a row.
    misses: u8,
    /// The transfer-or-text offer is open.
    help_offered: bool,
    transfer: Option<Transfer>,
    /// A person took the call: nothing to call back.
    person_answered: bool,
    /// Said after a transfer nobody answered (the question held back by an emergency).
    held: Vec<String>,
    /// The last question asked, for repeats.
    last_question: String,
    /// A house number keyed before the street was said.
    keyed_house: Option<String>,
    /// Keys pressed one by one (ConversationRelay), and how many the question wants.
    keys: String,
    keys_wanted: Option<u8>,
    answered: bool,
    /// Twilio's status callback came: the call is over for good.
    #[serde(default)]
    hung_up: bool,
    booking_sent: bool,
    booked: bool,
    ended: bool,
    callback_sent: bool,
    link_texted: bool,
    started: UnixSeconds,
    /// Twilio's recording of the call, for the office's note.
    #[serde(default)]
    recording: Option<String>,
    /// The site has a web page a text can link to ([`super::booking_link`]).
    #[serde(default)]
    can_link: bool,
    /// The cities of the site's ZIPs: speech hints when the address is asked.
    #[serde(default)]
    cities: Vec<String>,
    /// The business called the customer about an estimate (issue 15's follow-up call).
    #[serde(default)]
    follow_up: Option<FollowUpCall>,
    transcript: Vec<TranscriptLine>,
}

impl Call {
    /// A new call to a site; `caller_id` is Twilio's `From` ("+16125550100"; "anonymous"
    /// or a non-US number is no caller ID).
    pub fn new(site: &SiteConfig, caller_id: Option<&str>, now: UnixSeconds) -> Call {
        let public = site.public();
        let caller_id = caller_id
            .and_then(e164)
            .and_then(|e| e.get(2..).map(str::to_string))
            .map(|digits| Phone { digits, extension: None });
        Call {
            version: CALL_VERSION,
            voice: site.voice.clone(),
            conversation: Conversation::new(public.clone(), Channel::Voice, None),
            site: public,
            caller_id_check: if caller_id.is_some() { CallerIdCheck::NotAsked } else { CallerIdCheck::Done },
            caller_id,
            misses: 0,
            help_offered: false,
            transfer: None,
            person_answered: false,
            held: Vec::new(),
            last_question: String::new(),
            keyed_house: None,
            keys: String::new(),
            keys_wanted: None,
            answered: false,
            hung_up: false,
            booking_sent: false,
            booked: false,
            ended: false,
            callback_sent: false,
            link_texted: false,
            started: now,
            recording: None,
            can_link: super::booking_link(site, "").is_some(),
            cities: cities_of(site),
            follow_up: None,
            transcript: Vec::new(),
        }
    }

    /// A follow-up call the business placed to `customer_phone` (Twilio's `To` on an
    /// outbound call): the greeting says why it calls and how to stop the calls; an
    /// unanswered or dropped one is no missed call for the office.
    pub fn follow_up(site: &SiteConfig, customer_phone: Option<&str>, why: FollowUpCall, now: UnixSeconds) -> Call {
        let mut call = Call::new(site, customer_phone, now);
        call.follow_up = Some(why);
        call
    }

    /// Why the business called, on a follow-up call.
    pub fn follow_up_call(&self) -> Option<&FollowUpCall> {
        self.follow_up.as_ref()
    }

    /// Handles one event from the line.
    pub fn handle(&mut self, event: CallEvent, now: UnixSeconds) -> CallTurn {
        if event == CallEvent::RelayClosed && self.transfer.is_some() {
            // Our `end` handed the call to a transfer: Twilio posts the Connect action.
            return CallTurn {
                say: Vec::new(),
                locale: self.locale(),
                next: Next::Hangup,
                effects: Vec::new(),
                record: false,
            };
        }
        let event = match event {
            CallEvent::RelayClosed => CallEvent::HungUp { status: "completed".into() },
            other => other,
        };
        if let CallEvent::HungUp { status } = &event {
            // The status callback comes once per call, after whatever ended it (a
            // goodbye of ours included); a replay of it changes nothing.
            return match self.hung_up {
                true => self.turn(Vec::new(), Next::Hangup),
                false => self.hung_up(&status.clone(), now),
            };
        }
        if self.ended {
            // A webhook after the end (a replayed gather): nothing more.
            return self.turn(Vec::new(), Next::Hangup);
        }
        let caller_turns = self.transcript.iter().filter(|l| l.speaker == Speaker::Homeowner).count();
        if caller_turns >= MAX_CALLER_TURNS && !matches!(event, CallEvent::DialEnded { .. } | CallEvent::Answered) {
            return self.too_long();
        }
        match event {
            CallEvent::Answered => self.greet(now),
            CallEvent::Heard { text } if text.trim().is_empty() => self.missed(now),
            CallEvent::Heard { text } => self.heard(&text, now),
            CallEvent::Keyed { digits } => self.keyed(&digits, now),
            CallEvent::KeyPressed { digit } => self.key_pressed(&digit, now),
            CallEvent::Nothing => self.missed(now),
            CallEvent::DialEnded { answered } => self.dial_ended(answered, now),
            CallEvent::HungUp { .. } | CallEvent::RelayClosed => self.turn(Vec::new(), Next::Hangup),
        }
    }

    /// The booking's answer (from the worker's `reply_for`): read back the arrival window
    /// or say the office will call, then goodbye and hang up.
    pub fn booked(&mut self, reply: &BookingReply, _now: UnixSeconds) -> CallTurn {
        self.booked = true;
        self.ended = true;
        let l = self.locale();
        let reference = spoken_reference(&reply.reference);
        let line = match (reply.status, reply.window) {
            (ReplyStatus::Booked, Some(w)) => {
                let window = spoken_window(l, w, self.site.utc_offset_minutes);
                prompts::voice_line(&VoiceLine::BookedFor { window: &window, reference: &reference }, l)
            }
            _ => prompts::voice_line(&VoiceLine::Received { reference: &reference }, l),
        };
        let bye = prompts::voice_line(&VoiceLine::Goodbye { business: &self.site.business_name }, l);
        self.turn(vec![line, bye], Next::Hangup)
    }

    /// The recording's URL (Twilio's `RecordingUrl`, from the recording status callback):
    /// it goes at the end of the transcript the booking and the call-back carry, so the
    /// office's note links it. Anything but one http(s) URL is ignored.
    pub fn recorded(&mut self, url: &str) {
        let url = url.trim();
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 500
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            self.recording = Some(url.to_string());
        }
    }

    /// The conversation inside the call.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// Both sides of the call so far, as said and heard.
    pub fn transcript(&self) -> &[TranscriptLine] {
        &self.transcript
    }

    /// The caller ID, ten digits, when there is a US one.
    pub fn caller_id(&self) -> Option<&str> {
        self.caller_id.as_ref().map(|p| p.digits.as_str())
    }

    /// The call is over (hung up, booked, or handed to a person who answered).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// When the call started.
    pub fn started(&self) -> UnixSeconds {
        self.started
    }

    /// The call's language.
    pub fn locale(&self) -> Locale {
        self.conversation.locale()
    }

    /// State as JSON, for the call's Durable Object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores a call saved by [`Call::to_json`]; refuses other versions.
    pub fn from_json(text: &str) -> Result<Call, VoiceError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let v: Versioned = serde_json::from_str(text).map_err(|e| VoiceError::Json(e.to_string()))?;
        if v.version != CALL_VERSION {
            return Err(VoiceError::Version(v.version));
        }
        serde_json::from_str(text).map_err(|e| VoiceError::Json(e.to_string()))
    }

    // --- the events ---

    fn greet(&mut self, now: UnixSeconds) -> CallTurn {
        if self.answered {
            // The incoming webhook again (a retry, a replay).
            return self.same_again();
        }
        self.answered = true;
        self.conversation.handle(Event::Start, now);
        let offer_spanish = self.site.locales.contains(&Locale::Es) && self.locale() == Locale::En;
        let (business, recorded, l) = (&self.site.business_name, self.voice.record, self.locale());
        let line = match self.follow_up {
            Some(_) => followup::greeting(business, l, offer_spanish, recorded),
            None => prompts::voice_line(&VoiceLine::Greeting { business, offer_spanish, recorded }, l),
        };
        self.last_question = line.clone();
        // "Oprima el dos": one key is the whole answer to the greeting.
        let listen = Listen {
            digits: offer_spanish.then_some(1),
            ..listen_for(&self.conversation, self.locale(), &self.cities)
        };
        let mut t = self.turn(vec![line], listen.into_next());
        t.record = self.voice.record;
        t
    }

    fn heard(&mut self, said: &str, now: UnixSeconds) -> CallTurn {
        self.hear(said);
        self.answer(said, now)
    }

    fn keyed(&mut self, keys: &str, now: UnixSeconds) -> CallTurn {
        let d = digits::keyed(keys);
        if d.is_empty() {
            return self.missed(now);
        }
        self.hear(&format!("(keyed {d})"));
        if self.help_offered {
            let choice = match d.as_str() {
                "1" => "connect me",
                "2" => "text me",
                other => other,
            };
            return self.help_choice(choice, now);
        }
        if self.conversation.user_turns().is_empty() && (d == "1" || d == "2") {
            // The greeting's keys: 2 for Spanish, 1 (or 2 where there is no Spanish) to go on.
            let l = if d == "2" && self.offers(Locale::Es) { Locale::Es } else { self.locale() };
            return self.choose_language(l, now);
        }
        if self.caller_id_check == CallerIdCheck::Asked && (d == "1" || d == "2") {
            // "Is … the best number?": 1 is yes, 2 is no.
            return self.answer(if d == "1" { "yes" } else { "no" }, now);
        }
        if self.conversation.expecting() == Expecting::Address {
            let has_street = self.conversation.so_far().address.is_some_and(|a| !a.street.is_empty());
            if !has_street && d.len() <= 6 {
                // A house number keyed before the street: ask the street, keep the number.
                let l = self.locale();
                let line = prompts::voice_line(&VoiceLine::AskStreet { number: &prompts::spoken_digits(&d, l) }, l);
                self.keyed_house = Some(d);
                self.misses = 0;
                self.last_question = line.clone();
                return self.turn(vec![line], self.listen());
            }
            if has_street && d.len() == 5 {
                return self.answer(&format!("zip {d}"), now);
            }
        }
        self.answer(&d, now)
    }

    fn key_pressed(&mut self, key: &str, now: UnixSeconds) -> CallTurn {
        let done = key.contains('#');
        self.keys.extend(key.chars().filter(char::is_ascii_digit).take(MAX_KEYS));
        let full = self.keys.len() >= MAX_KEYS || self.keys_wanted.is_some_and(|n| self.keys.len() >= usize::from(n));
        if !done && !full {
            // Still keying: say nothing, keep listening.
            return CallTurn {
                say: Vec::new(),
                locale: self.locale(),
                next: self.listen(),
                effects: Vec::new(),
                record: false,
            };
        }
        let keys = std::mem::take(&mut self.keys);
        self.keyed(&keys, now)
    }

    /// A call that goes on and on: a person takes it, or it ends.
    fn too_long(&mut self) -> CallTurn {
        let l = self.locale();
        let line = prompts::voice_line(&VoiceLine::TooLong, l);
        match self.transfer_number() {
            Some(number) if self.transfer.is_none() && !self.person_answered => {
                self.transfer = Some(Transfer::Help);
                self.turn(vec![line], Next::Dial { number })
            }
            _ => {
                self.ended = true;
                let bye = prompts::voice_line(&VoiceLine::Goodbye { business: &self.site.business_name }, l);
                self.turn(vec![bye], Next::Hangup)
            }
        }
    }

    /// Nothing heard: repeat once, then offer help, then transfer.
    fn missed(&mut self, now: UnixSeconds) -> CallTurn {
        self.hear("(silence)");
        self.miss(Vec::new(), now)
    }

    fn miss(&mut self, mut say: Vec<String>, _now: UnixSeconds) -> CallTurn {
        self.misses = self.misses.saturating_add(1);
        let l = self.locale();
        if self.misses > MISSES_BEFORE_HELP && self.help_offered {
            return self.transfer_to(Transfer::Help, Vec::new());
        }
        if self.misses >= MISSES_BEFORE_HELP {
            self.help_offered = true;
            let line = prompts::voice_line(&VoiceLine::OfferHelp { can_text: self.text_number().is_some() }, l);
            return self.turn(
                vec![line],
                Listen { digits: Some(1), ..listen_for(&self.conversation, l, &self.cities) }.into_next(),
            );
        }
        if say.is_empty() {
            say.push(prompts::voice_line(&VoiceLine::NotHeard, l));
            say.push(self.last_question.clone());
        }
        self.turn(say, self.listen())
    }

    fn dial_ended(&mut self, answered: bool, now: UnixSeconds) -> CallTurn {
        let Some(why) = self.transfer.take() else {
            // No transfer was started (a replayed dial webhook): nothing changes.
            return self.same_again();
        };
        if answered {
            self.person_answered = true;
            self.ended = true;
            let bye = prompts::voice_line(&VoiceLine::Goodbye { business: &self.site.business_name }, self.locale());
            return self.turn(vec![bye], Next::Hangup);
        }
        self.misses = 0;
        self.help_offered = false;
        let l = self.locale();
        let mut say = Vec::new();
        match why {
            Transfer::Emergency => {
                say.push(prompts::voice_line(&VoiceLine::NoAnswerEmergency, l));
                say.append(&mut self.held);
                // The held question may be the phone's: the caller ID is asked instead.
                self.offer_caller_id(&mut say);
                if let Some(q) = say.last() {
                    self.last_question = q.clone();
                }
            }
            Transfer::Person => {
                // Back to where the conversation was before "talk to a person": the
                // request to hand off was that turn's only effect.
                let turns = self.conversation.user_turns();
                let before = turns.get(..turns.len().saturating_sub(1)).unwrap_or(&[]).to_vec();
                let (c, _) = conversation::replay(self.site.clone(), Channel::Voice, Some(l), &before, now);
                self.conversation = c;
                say.push(prompts::voice_line(&VoiceLine::NoAnswer, l));
                say.push(self.last_question.clone());
            }
            Transfer::Help => {
                say.push(prompts::voice_line(&VoiceLine::NoAnswer, l));
                say.push(self.last_question.clone());
            }
        }
        self.held.clear();
        self.turn(say, self.listen())
    }

    fn hung_up(&mut self, status: &str, now: UnixSeconds) -> CallTurn {
        self.ended = true;
        self.hung_up = true;
        let mut t = self.turn(Vec::new(), Next::Hangup);
        // We called a follow-up's customer: no missed call of theirs for the office.
        if self.booking_sent || self.person_answered || self.callback_sent || self.follow_up.is_some() {
            return t;
        }
        let abandon = self.conversation.handle(Event::Abandon, now);
        let so_far = self.conversation.so_far();
        let (mut name, mut phone, mut email) = (so_far.name.as_ref().map(|n| n.full()), None, None);
        for e in abandon.effects {
            if let Effect::QualifiedAbandon { name: n, phone: p, email: m } = e {
                name = n.map(|n| n.full()).or(name);
                phone = p.map(|p| p.digits);
                email = m;
            }
        }
        let Some(phone) = phone.or_else(|| self.caller_id().map(str::to_string)) else { return t };
        self.callback_sent = true;
        let issue = so_far.issue.clone().unwrap_or_else(|| {
            if self.answered {
                "Caller hung up before booking: please call back".into()
            } else {
                format!("Missed call ({}): please call back", extract::cap(status).chars().take(20).collect::<String>())
            }
        });
        t.effects.push(CallEffect::CallBack {
            report: AbandonReport {
                name,
                phone: Some(phone),
                email,
                turns: self.conversation.user_turns().to_vec(),
                page_url: None,
            },
            call: AbandonedChat {
                issue: Some(issue),
                trade: so_far.trade,
                address: so_far.address,
                business: so_far.business,
                transcript: self.record_of_call(),
                locale: self.locale(),
                channel: Channel::Voice,
                grace: None,
            },
            link_texted: self.link_texted,
        });
        t
    }

    // --- what was said ---

    /// A spoken (or keyed, as text) answer.
    fn answer(&mut self, said: &str, now: UnixSeconds) -> CallTurn {
        if let Some(t) = self.opt_out(said) {
            return t;
        }
        if self.help_offered {
            return self.help_choice(said, now);
        }
        if let Some(l) = digits::language_asked(said).filter(|l| *l != self.locale() && self.offers(*l)) {
            return self.choose_language(l, now);
        }
        let mut text = digits::normalize(said);
        if let Some(house) = self.keyed_house.take() {
            text = format!("{house} {text}");
        }
        if self.caller_id_check == CallerIdCheck::Asked {
            if let Some(t) = self.caller_id_answer(&text, now) {
                return t;
            }
        }
        let text = self.correction_at_read_back(text);
        let before = self.progress();
        let turn = self.conversation.handle(Event::User { text }, now);
        let progressed = self.progress() != before;
        self.after(turn, progressed, now)
    }

    /// On a follow-up call, "stop" or "don't call me": the opt-out and a goodbye.
    fn opt_out(&mut self, said: &str) -> Option<CallTurn> {
        let why = self.follow_up.as_ref().filter(|_| followup::wants_no_calls(said))?;
        let effect = CallEffect::OptOut { customer_id: why.customer_id, follow_up: why.key.clone() };
        self.ended = true;
        let bye = followup::opted_out_goodbye(&self.site.business_name, self.locale());
        let mut t = self.turn(vec![bye], Next::Hangup);
        t.effects.push(effect);
        Some(t)
    }

    /// "No, my name is Noah Patel" to "shall I book it?": on the phone a correction
    /// starts with "no". The extractor drops a name said together with a yes/no answer
    /// (it cannot tell "no, Maria" from a name), so the "no" goes when what follows
    /// carries the new details; a bare "no" still asks what to change.
    fn correction_at_read_back(&self, text: String) -> String {
        if self.conversation.stage() != Stage::ReadingBack {
            return text;
        }
        // The prefixes are ASCII, so their length in the lowercase copy is theirs in `text`.
        let lower = crate::text::lowercase(&text);
        let cut = ["no,", "no.", "nope,", "nope", "no"]
            .iter()
            .find(|p| lower.strip_prefix(**p).is_some_and(|r| r.starts_with([' ', ','])))
            .map(|p| p.len());
        let Some(cut) = cut else { return text };
        let tail = text.get(cut..).unwrap_or("").trim_start_matches([' ', ',']).to_string();
        match extract::extract(&tail, Expecting::Confirmation).has_details() {
            true => tail,
            false => text,
        }
    }

    /// The answer to "is … the best number?": yes takes the caller ID, no asks for
    /// another, a number is that number (the conversation reads it).
    fn caller_id_answer(&mut self, text: &str, now: UnixSeconds) -> Option<CallTurn> {
        let ex = extract::extract(text, Expecting::Phone);
        if ex.phone.is_some() || ex.phone_problem.is_some() {
            self.caller_id_check = CallerIdCheck::Done;
            return None;
        }
        match ex.answer {
            Some(Answer::Yes) => {
                self.caller_id_check = CallerIdCheck::Done;
                let digits = self.caller_id.as_ref().map(|p| p.digits.clone()).unwrap_or_default();
                let before = self.progress();
                let mut turn = self.conversation.handle(Event::User { text: digits }, now);
                if ex.has_details() {
                    // "Yes, and it's 4417 West Lake": the number first, then the rest.
                    turn = self.conversation.handle(Event::User { text: text.to_string() }, now);
                }
                let progressed = self.progress() != before;
                Some(self.after(turn, progressed, now))
            }
            Some(Answer::No) if !ex.has_details() => {
                self.caller_id_check = CallerIdCheck::Done;
                self.misses = 0;
                let line = prompts::voice_line(&VoiceLine::AskOtherPhone, self.locale());
                self.last_question = line.clone();
                Some(self.turn(vec![line], self.listen()))
            }
            _ => None,
        }
    }

    /// The conversation answered: speak it, or transfer, or book.
    fn after(&mut self, turn: Turn, progressed: bool, now: UnixSeconds) -> CallTurn {
        let l = self.locale();
        let mut effects = Vec::new();
        let mut emergency = false;
        let mut hand_off = false;
        for e in turn.effects {
            match e {
                Effect::Book { mut request } => {
                    request.transcript = self.record_of_call();
                    self.booking_sent = true;
                    effects.push(CallEffect::Book { request });
                }
                Effect::HandOff => hand_off = true,
                Effect::Emergency => emergency = true,
                Effect::Confirm(_) | Effect::QualifiedAbandon { .. } => {}
            }
        }
        if !effects.is_empty() {
            let line = prompts::voice_line(&VoiceLine::OneMoment, l);
            let mut t = self.turn(vec![line], self.listen());
            t.effects = effects;
            return t;
        }
        if hand_off {
            return self.transfer_to(Transfer::Person, Vec::new());
        }
        if emergency {
            // The safety words first (the conversation's first reply), then the on-call
            // line; the next question waits for a transfer nobody answers.
            let mut replies = turn.replies.into_iter();
            let safety: Vec<String> = replies.next().into_iter().collect();
            self.held = replies.collect();
            if let Some(q) = self.held.last() {
                self.last_question = q.clone();
            }
            return self.transfer_to(Transfer::Emergency, safety);
        }
        let mut say = turn.replies;
        if !progressed {
            return self.miss(say, now);
        }
        self.misses = 0;
        self.offer_caller_id(&mut say);
        if let Some(q) = say.last() {
            self.last_question = q.clone();
        }
        self.turn(say, self.listen())
    }

    /// The conversation just asked for the phone and there is a caller ID: ask whether
    /// that is the number instead.
    fn offer_caller_id(&mut self, say: &mut [String]) {
        if self.caller_id_check != CallerIdCheck::NotAsked || self.conversation.expecting() != Expecting::Phone {
            return;
        }
        let Some(phone) = &self.caller_id else { return };
        let l = self.locale();
        let spoken = prompts::spoken_phone(&phone.digits, l);
        let ask = prompts::voice_line(&VoiceLine::ConfirmCallerId { phone: &spoken }, l);
        if let Some(last) = say.last_mut() {
            // "Thanks, Maria. What's the best phone number…?" keeps its thanks.
            let thanks = last.split_once(". ").map(|(a, _)| a).filter(|a| a.len() < 40 && !a.contains('?'));
            *last = match thanks {
                Some(t) => format!("{t}. {ask}"),
                None => ask,
            };
        }
        self.caller_id_check = CallerIdCheck::Asked;
    }

    /// After two misses: "connect me" / 1 transfers, "text me" / 2 texts the link;
    /// anything else the conversation understands carries on.
    fn help_choice(&mut self, said: &str, now: UnixSeconds) -> CallTurn {
        self.help_offered = false;
        let lower = crate::text::lowercase(said);
        let wants = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        if lower.trim() == "1" || wants(&["connect", "person", "transfer", "office", "comunicar", "persona", "oficina"])
        {
            return self.transfer_to(Transfer::Help, Vec::new());
        }
        if lower.trim() == "2" || wants(&["text", "message", "link", "mensaje", "texto", "enlace"]) {
            if let Some(phone) = self.text_number() {
                self.link_texted = true;
                self.ended = true;
                let l = self.locale();
                let say = vec![
                    prompts::voice_line(&VoiceLine::TextingLink, l),
                    prompts::voice_line(&VoiceLine::Goodbye { business: &self.site.business_name }, l),
                ];
                let mut t = self.turn(say, Next::Hangup);
                t.effects.push(CallEffect::TextBookingLink { phone });
                return t;
            }
            // No text to send (no number, or no page to link to): still a miss.
            self.help_offered = true;
            return self.miss(Vec::new(), now);
        }
        self.misses = 0;
        self.answer(said, now)
    }

    fn transfer_to(&mut self, why: Transfer, mut say: Vec<String>) -> CallTurn {
        let l = self.locale();
        let number = match why {
            Transfer::Emergency => self.on_call_number(),
            _ => self.transfer_number(),
        };
        let Some(number) = number else {
            let office = prompts::office_text(&self.site.office_phone, Channel::Voice, l);
            say.push(prompts::voice_line(&VoiceLine::CannotTransfer { office: &office }, l));
            say.push(self.last_question.clone());
            return self.turn(say, self.listen());
        };
        let line = match why {
            Transfer::Emergency => VoiceLine::ConnectingEmergency,
            _ => VoiceLine::Connecting,
        };
        say.push(prompts::voice_line(&line, l));
        self.transfer = Some(why);
        self.help_offered = false;
        self.turn(say, Next::Dial { number })
    }

    fn choose_language(&mut self, l: Locale, now: UnixSeconds) -> CallTurn {
        // Replayed in the chosen language: whatever was said so far is kept.
        let turns = self.conversation.user_turns().to_vec();
        let (c, _) = conversation::replay(self.site.clone(), Channel::Voice, Some(l), &turns, now);
        self.conversation = c;
        self.misses = 0;
        if turns.is_empty() {
            let line = prompts::voice_line(&VoiceLine::LanguageChosen { business: &self.site.business_name }, l);
            self.last_question = line.clone();
            return self.turn(vec![line], self.listen());
        }
        // Mid-call: carry on where the conversation was, its question in the new language.
        let question =
            self.conversation.so_far().transcript.into_iter().rev().find(|t| t.speaker == Speaker::Assistant);
        let mut say = vec![prompts::voice_line(&VoiceLine::LanguageSwitched, l)];
        say.push(question.map_or_else(|| self.last_question.clone(), |q| q.text));
        if self.caller_id_check == CallerIdCheck::Asked {
            self.caller_id_check = CallerIdCheck::NotAsked;
            self.offer_caller_id(&mut say);
        }
        if let Some(q) = say.last() {
            self.last_question = q.clone();
        }
        self.turn(say, self.listen())
    }

    // --- helpers ---

    /// The last question again, recorded nowhere: the answer to a webhook Twilio sent
    /// twice.
    fn same_again(&self) -> CallTurn {
        let say = vec![self.last_question.clone()];
        CallTurn { say, locale: self.locale(), next: self.listen(), effects: Vec::new(), record: false }
    }

    /// The transcript for the office: what was said and heard, and the recording.
    fn record_of_call(&self) -> Vec<TranscriptLine> {
        let mut lines = self.transcript.clone();
        if let Some(url) = &self.recording {
            lines.push(TranscriptLine {
                speaker: Speaker::Assistant,
                text: format!("{}{url})", crate::transcript::RECORDING_LINE),
            });
        }
        lines
    }

    fn hear(&mut self, text: &str) {
        self.transcript.push(TranscriptLine { speaker: Speaker::Homeowner, text: extract::cap(text).to_string() });
    }

    fn turn(&mut self, say: Vec<String>, next: Next) -> CallTurn {
        for s in &say {
            self.transcript.push(TranscriptLine { speaker: Speaker::Assistant, text: s.clone() });
        }
        self.keys_wanted = match &next {
            Next::Listen(l) => l.digits,
            _ => None,
        };
        CallTurn { say, locale: self.locale(), next, effects: Vec::new(), record: false }
    }

    fn offers(&self, l: Locale) -> bool {
        self.site.locales.contains(&l)
    }

    /// What changed in the conversation, apart from its record of the turn itself: a
    /// turn that changes nothing was not understood.
    fn progress(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.conversation).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            for k in ["turns", "transcript", "phone_failures", "time_asks"] {
                o.remove(k);
            }
        }
        v
    }

    fn listen(&self) -> Next {
        listen_for(&self.conversation, self.locale(), &self.cities).into_next()
    }

    fn transfer_number(&self) -> Option<String> {
        self.voice.transfer_number.as_deref().and_then(e164).or_else(|| e164(&self.site.office_phone))
    }

    fn on_call_number(&self) -> Option<String> {
        self.voice.on_call_number.as_deref().and_then(e164).or_else(|| self.transfer_number())
    }

    /// The number a text with the booking link goes to: the one the caller gave, else
    /// the caller ID; none when the site has no page to link to.
    fn text_number(&self) -> Option<String> {
        if !self.can_link {
            return None;
        }
        self.conversation.draft().map(|r| r.phone.digits).or_else(|| self.caller_id().map(str::to_string))
    }
}

impl Listen {
    fn into_next(self) -> Next {
        Next::Listen(self)
    }
}

/// Hints and keypad length for what the conversation just asked.
fn listen_for(c: &Conversation, l: Locale, cities: &[String]) -> Listen {
    let asking = c.expecting();
    let es = l == Locale::Es;
    let words =
        |en: &str, sp: &str| -> Vec<String> { (if es { sp } else { en }).split('|').map(str::to_string).collect() };
    let (hints, digits) = match asking {
        Expecting::Phone => (words("$OOV_CLASS_DIGIT_SEQUENCE|$FULLPHONENUM|yes|no", "$OOV_CLASS_DIGIT_SEQUENCE|$FULLPHONENUM|sí|no"), Some(10)),
        Expecting::Address => {
            let has_street = c.so_far().address.is_some_and(|a| !a.street.is_empty());
            if has_street {
                (words("$POSTALCODE|$OOV_CLASS_DIGIT_SEQUENCE", "$POSTALCODE|$OOV_CLASS_DIGIT_SEQUENCE"), Some(5))
            } else {
                let mut h = words(
                    "$ADDRESSNUM|$STREET|$POSTALCODE|street|avenue|road|drive|lane|boulevard|court",
                    "$ADDRESSNUM|$STREET|$POSTALCODE|calle|avenida",
                );
                h.extend(cities.iter().cloned());
                (h, None)
            }
        }
        Expecting::Time => (
            words(
                "as soon as possible|today|tomorrow|morning|afternoon|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday",
                "lo antes posible|hoy|mañana|por la mañana|por la tarde|lunes|martes|miércoles|jueves|viernes|sábado",
            ),
            None,
        ),
        Expecting::Confirmation => (words("yes|no|book it|change", "sí|no|reservar|cambiar"), None),
        Expecting::Problem | Expecting::Anything => (
            words(
                "heating|cooling|air conditioner|furnace|plumbing|leak|water heater|drain|electrical|outlet|breaker|roof|gas|español|talk to a person",
                "calefacción|aire acondicionado|plomería|fuga|calentador de agua|electricidad|techo|gas|hablar con una persona",
            ),
            None,
        ),
        Expecting::Name | Expecting::Business => (Vec::new(), None),
    };
    Listen { hints, digits, asking }
}

/// The distinct cities of the site's `zipCities`, at most twenty (hints stay short).
fn cities_of(site: &SiteConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&site.zip_cities) {
        for city in m.values().filter_map(serde_json::Value::as_str) {
            let city = crate::transcript::one_line(city);
            if !city.is_empty() && !out.contains(&city) && out.len() < 20 {
                out.push(city);
            }
        }
    }
    out
}

/// "W-7K3Q-9D2M" → "W, 7, K, 3, Q, 9, D, 2, M": each character heard on its own.
fn spoken_reference(r: &str) -> String {
    r.chars().filter(|c| c.is_ascii_alphanumeric()).map(String::from).collect::<Vec<_>>().join(", ")
}

/// A window as a voice says it: "Tuesday, November 25, between 8 AM and 12 PM",
/// "martes 25 de noviembre, entre las 8 y las 12".
fn spoken_window(l: Locale, w: crate::booking::ArrivalWindow, offset: i32) -> String {
    let label = conversation::window_label(l, w, offset);
    let (day, hours) = label.split_once(", ").unwrap_or((label.as_str(), ""));
    let (from, to) = hours.split_once('–').unwrap_or((hours, ""));
    let parts: Vec<&str> = day.split(' ').collect();
    let long = |list: &'static str, i: usize| -> String {
        let p = parts.get(i).copied().unwrap_or("");
        text_lookup(list, p).unwrap_or(p).to_string()
    };
    match l {
        // "mar 25 nov": weekday, day, month.
        Locale::Es => format!(
            "{} {} de {}, entre las {} y las {}",
            long(DAYS_ES, 0),
            parts.get(1).copied().unwrap_or(""),
            long(MONTHS_ES, 2),
            from.trim_end_matches(":00"),
            to.trim_end_matches(":00")
        ),
        // "Tue Nov 25": weekday, month, day.
        Locale::En => format!(
            "{}, {} {}, between {} and {}",
            long(DAYS_EN, 0),
            long(MONTHS_EN, 1),
            parts.get(2).copied().unwrap_or(""),
            from.replace("am", " AM").replace("pm", " PM"),
            to.replace("am", " AM").replace("pm", " PM")
        ),
    }
}

fn text_lookup(list: &'static str, key: &str) -> Option<&'static str> {
    list.split('|').find_map(|e| e.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

const DAYS_EN: &str = "Sun=Sunday|Mon=Monday|Tue=Tuesday|Wed=Wednesday|Thu=Thursday|Fri=Friday|Sat=Saturday";
const MONTHS_EN: &str = "Jan=January|Feb=February|Mar=March|Apr=April|May=May|Jun=June|Jul=July|Aug=August|\
Sep=September|Oct=October|Nov=November|Dec=December";
const DAYS_ES: &str = "dom=domingo|lun=lunes|mar=martes|mié=miércoles|jue=jueves|vie=viernes|sáb=sábado";
const MONTHS_ES: &str = "ene=enero|feb=febrero|mar=marzo|abr=abril|may=mayo|jun=junio|jul=julio|ago=agosto|\
sep=septiembre|oct=octubre|nov=noviembre|dic=diciembre";
