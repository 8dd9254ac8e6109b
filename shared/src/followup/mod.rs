//! Follow-ups, sans-IO: ServiceTitan events in, scheduled and halted messages out
//! (issue 15). The worker moves the bytes; this module decides. One
//! [`CustomerFollowUps`] per customer per site (one Durable Object each), so a
//! customer's sequences see each other: the 24 h cap, opt-out and halts.
//!
//! The shell's loop, storing the state after every call into it (quinn-proto's shape,
//! as [`crate::run::BookingRun`]):
//!
//! ```text
//! loop { match fu.next_action(now) {
//!     Action::Note(n)    => { store; write the ServiceTitan note; fu.on_noted(&n.key, ok, now) }
//!     Action::Recheck(r) => { store; re-read r.reads from ServiceTitan; fu.on_recheck(&r.key, result, now) }
//!     Action::Send(m)    => { store; if m.maybe_sent { look the key up at the provider };
//!                             send unless found; fu.on_send_result(&m.key, result, now) }
//!     Action::WakeAt(t)  => { store; set_alarm(t); break }
//!     Action::Idle       => { store; break }
//! } }
//! ```
//!
//! Events: [`CustomerFollowUps::observe`] (a ServiceTitan entity as read, from a
//! webhook's re-read or the export feed), [`CustomerFollowUps::booking_consent`],
//! [`CustomerFollowUps::inbound_sms`], [`CustomerFollowUps::call_in`],
//! [`CustomerFollowUps::cancel`] (the office). [`CustomerFollowUps::list`] is the office's
//! list: every scheduled, sent, skipped, halted, cancelled and failed follow-up with its
//! reason and times (the newest [`KEPT_SETTLED`] settled ones).
//!
//! | recipe | scheduled when | due | goes only if (re-checked right before) | cancelled when |
//! |---|---|---|---|---|
//! | [`Recipe::EstimateSms`] | an open estimate has `sentOn` | sent + 24 h | estimate Open and active | sold, dismissed, inactive; replaced by the viewed SMS if still waiting |
//! | [`Recipe::EstimateCall`] | same | sent + 72 h | estimate Open; the booking's voice consent | sold, dismissed, inactive |
//! | [`Recipe::EstimateViewed`] | an open estimate has `viewedOn` | viewed + 0 h | estimate Open | sold, dismissed, inactive |
//! | [`Recipe::JobReminder`] | an appointment is Scheduled/Dispatched | the day before, 10:00 local | same start, still scheduled, ≥ 2 h ahead | rescheduled (a new one for the new time), canceled, started, job completed/canceled |
//! | [`Recipe::ReviewRequest`] | a job is Completed | completed + 2 h | job Completed; none asked in the last 30 days | — |
//! | [`Recipe::DunningSms`], [`Recipe::DunningEmail`] | an invoice with a balance and a due date | due + 7 days, then every 7 days, 4 steps | balance > 0 | balance 0, or any payment applied to it (at once; a partial payment too: the office takes over) |
//! | [`Recipe::NoShow`] | a job or appointment canceled for a no-show | + 1 h | job not completed, no visit scheduled ahead | — |
//!
//! Every send, in this order: the recipe still on; a recipient with consent (SMS: the
//! booking's consent, or a ServiceTitan mobile with text notifications allowed; voice:
//! the booking's voice consent; email: an address); not opted out, number not refused by
//! Twilio (21610); inside quiet hours (8–20 in the customer's zone, else it waits for the
//! morning); under the cap (3 per 24 h, else it waits); then [`Action::Recheck`]; and only
//! after the re-check confirms (within [`FRESH_FOR`]) the [`Action::Send`]. The job's
//! `notificationsEnabled` false or the job canceled skips every follow-up about that job.
//!
//! Exactly once: a follow-up's id is its send key, the same on every try. A send with no
//! answer (crash, timeout, an alarm firing while one is in flight) is tried again only
//! after [`IN_FLIGHT_TIMEOUT`], re-checked again, and flagged `maybe_sent` so the worker
//! looks the key up at the provider first. A second result for a sent key is ignored.
//!
//! Opt-out: STOP (and the other words of [`Keyword::of`]) halts every pending follow-up
//! of the customer from that moment and skips new ones until START. Twilio's 21610 halts
//! everything to that number (texts and calls) until START. The worker reads the site's
//! opt-out list before every send ([`opt_out`]): a number still out is refused as 21610;
//! one that texted STOP and then START refuses a follow-up scheduled before the START
//! ([`SendResult::ScheduledBeforeStart`]: that one is halted, the number is not blocked),
//! which catches an object that missed the STOP. Every send and every reply,
//! opt-out or opt-in is a ServiceTitan note on the job (else the customer).

mod clock;
mod events;
pub mod opt_out;
mod settings;
mod templates;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::booking::{ArrivalWindow, Locale, UnixSeconds};
use crate::conversation::window_label;
use crate::servicetitan::iso8601;
use crate::site::SiteConfig;

pub use clock::Zone;
pub use events::{
    parse_modified_on, parse_money, AppointmentStatus, BookingConsent, Contact, Entity, EstimateStatus, Facts,
    InboundSms, JobStatus, Keyword, Observation, RecheckResult, SendResult, TWILIO_UNSUBSCRIBED,
};
pub use opt_out::OptOutEntry;
pub use settings::{After, Dunning, FollowUpSettings, Links, NoteSettings, QuietHours, Reminder, Review};

const DAY: i64 = 86_400;
/// A re-check or send without an answer is tried again after this long.
pub const IN_FLIGHT_TIMEOUT: i64 = 60;
/// A re-check confirms a send for this long; later, ServiceTitan is asked again.
pub const FRESH_FOR: i64 = 300;
/// A provider refusal (other than 21610) is retried this many times in all.
pub const MAX_SEND_ATTEMPTS: u8 = 3;
/// Settled follow-ups kept for the office's list (the newest): the state is one Durable
/// Object value, and a value is at most 128 KiB.
pub const KEPT_SETTLED: usize = 100;
/// Entities remembered for deduplication (the newest, and every one a pending follow-up
/// is about). One forgotten and replayed is caught by the re-check before any send.
pub const KEPT_SEEN: usize = 200;

/// A follow-up recipe; each sends on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Recipe {
    /// Estimate sent → SMS.
    EstimateSms,
    /// Estimate sent and still unsigned → AI voice call.
    EstimateCall,
    /// Estimate viewed and not sold → SMS.
    EstimateViewed,
    /// Visit scheduled → reminder the day before.
    JobReminder,
    /// Job completed → review request.
    ReviewRequest,
    /// Invoice overdue → SMS, each step.
    DunningSms,
    /// Invoice overdue → email, each step.
    DunningEmail,
    /// No-show → SMS to rebook.
    NoShow,
}

impl Recipe {
    /// The channel it sends on.
    pub fn channel(self) -> Channel {
        match self {
            Recipe::EstimateCall => Channel::Voice,
            Recipe::DunningEmail => Channel::Email,
            _ => Channel::Sms,
        }
    }

    /// Its name in keys and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Recipe::EstimateSms => "estimateSms",
            Recipe::EstimateCall => "estimateCall",
            Recipe::EstimateViewed => "estimateViewed",
            Recipe::JobReminder => "jobReminder",
            Recipe::ReviewRequest => "reviewRequest",
            Recipe::DunningSms => "dunningSms",
            Recipe::DunningEmail => "dunningEmail",
            Recipe::NoShow => "noShow",
        }
    }

    /// In the office's words, for notes.
    fn label(self) -> &'static str {
        match self {
            Recipe::EstimateSms => "estimate follow-up text",
            Recipe::EstimateCall => "estimate follow-up call (AI assistant)",
            Recipe::EstimateViewed => "viewed-estimate text",
            Recipe::JobReminder => "visit reminder text",
            Recipe::ReviewRequest => "review request text",
            Recipe::DunningSms => "payment reminder text",
            Recipe::DunningEmail => "payment reminder email",
            Recipe::NoShow => "missed-visit rebooking text",
        }
    }

    /// A follow-up first seen this long after it was due is skipped: a 72 h call for an
    /// estimate sent two months ago (the first sync) would be wrong news.
    fn grace(self) -> Option<i64> {
        match self {
            Recipe::EstimateSms | Recipe::EstimateCall | Recipe::EstimateViewed | Recipe::NoShow => Some(DAY),
            Recipe::ReviewRequest => Some(3 * DAY),
            Recipe::JobReminder | Recipe::DunningSms | Recipe::DunningEmail => None,
        }
    }

    fn is_dunning(self) -> bool {
        matches!(self, Recipe::DunningSms | Recipe::DunningEmail)
    }

    fn is_estimate(self) -> bool {
        matches!(self, Recipe::EstimateSms | Recipe::EstimateCall | Recipe::EstimateViewed)
    }
}

/// How a follow-up goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    /// Twilio Messages.
    Sms,
    /// The email API.
    Email,
    /// Twilio Calls starting the voice agent.
    Voice,
}

/// Where a follow-up is, for the office's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Waiting for its time, the morning, the cap, a re-check or the provider.
    Pending,
    /// Sent.
    Sent,
    /// Not sent: at its time a condition said no (paid, sold, no consent, too late...).
    Skipped,
    /// Stopped by the customer: STOP, or Twilio's 21610.
    Halted,
    /// Stopped by an event (sold, dismissed, paid, rescheduled) or by the office.
    Cancelled,
    /// The provider refused it [`MAX_SEND_ATTEMPTS`] times.
    Failed,
}

/// One entity of ServiceTitan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ref {
    /// Which kind.
    pub entity: Entity,
    /// Its id.
    pub id: i64,
}

/// Where a follow-up's internal try is (not for the list: [`Status`] is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "stage", rename_all = "camelCase")]
enum Stage {
    #[default]
    Waiting,
    Rechecking {
        since: UnixSeconds,
    },
    Confirmed {
        at: UnixSeconds,
    },
    Sending {
        since: UnixSeconds,
    },
}

/// One scheduled follow-up and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    /// Stable id and send key (the same on every try).
    pub id: String,
    /// Which recipe.
    pub recipe: Recipe,
    /// Which channel.
    pub channel: Channel,
    /// What it is about.
    pub about: Ref,
    /// The job, when known (the note goes there).
    pub job_id: Option<i64>,
    /// Dunning step (1-based); 1 for the others.
    pub step: u8,
    /// Where it is.
    pub status: Status,
    /// Why it is where it is, in the office's words.
    pub reason: String,
    /// When it was scheduled.
    pub scheduled_at: UnixSeconds,
    /// When the recipe wanted it.
    pub due: UnixSeconds,
    /// When it is next tried (after quiet hours, the cap, a retry).
    pub next_try: UnixSeconds,
    /// When it was sent, skipped, halted, cancelled or failed.
    pub settled_at: Option<UnixSeconds>,
    /// The recipient, once known.
    pub to: Option<String>,
    /// What it said (fixed at the first send, the same on every retry).
    pub text: Option<String>,
    /// The provider's id, once sent.
    pub provider_id: Option<String>,
    /// The visit a reminder is for.
    #[serde(default)]
    pub visit_starts: Option<UnixSeconds>,
    #[serde(default)]
    stage: Stage,
    #[serde(default)]
    attempts: u8,
    #[serde(default)]
    maybe_sent: bool,
    #[serde(default)]
    recheck_failing_since: Option<UnixSeconds>,
}

impl FollowUp {
    fn settle(&mut self, status: Status, reason: String, now: UnixSeconds) {
        self.status = status;
        self.reason = reason;
        self.settled_at = Some(now);
        self.stage = Stage::Waiting;
    }

    fn pending(&self) -> bool {
        self.status == Status::Pending
    }

    /// A send went out with no answer yet, or the last answer was "unknown".
    fn in_doubt(&self) -> bool {
        self.pending() && (self.maybe_sent || matches!(self.stage, Stage::Sending { .. }))
    }
}

/// What the shell should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Re-read these from ServiceTitan, then [`CustomerFollowUps::on_recheck`].
    Recheck(Recheck),
    /// Send it (looked up first when `maybe_sent`), then [`CustomerFollowUps::on_send_result`].
    Send(Outgoing),
    /// Write a ServiceTitan note, then [`CustomerFollowUps::on_noted`].
    Note(Note),
    /// Nothing now: set the alarm for then.
    WakeAt(UnixSeconds),
    /// Nothing pending.
    Idle,
}

/// Re-read before a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recheck {
    /// The follow-up's id.
    pub key: String,
    /// What to read (the subject first, then its job). An invoice is read with
    /// `invoices?ids=` (there is no get by id).
    pub reads: Vec<Ref>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outgoing {
    /// The send key: look it up at the provider before a retry.
    pub key: String,
    /// Which channel.
    pub channel: Channel,
    /// The recipient: `+1XXXXXXXXXX`, or an email address.
    pub to: String,
    /// The text (for a call, the voice agent's opening and context).
    pub text: String,
    /// An email's subject.
    pub email_subject: Option<String>,
    /// What it is about (the voice agent gets the estimate's context from it).
    pub about: Ref,
    /// Which recipe.
    pub recipe: Recipe,
    /// An earlier try got no answer: it may have gone.
    pub maybe_sent: bool,
    /// When the follow-up was scheduled (engine time): the site's opt-out list halts one
    /// scheduled before the number's START ([`opt_out::refusal`]).
    #[serde(default)]
    pub scheduled_at: UnixSeconds,
}

/// Where a note goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", content = "id", rename_all = "camelCase")]
pub enum NoteTarget {
    /// `POST /jpm/v2/tenant/{t}/jobs/{id}/notes`.
    Job(i64),
    /// `POST /crm/v2/tenant/{t}/customers/{id}/notes`.
    Customer(i64),
}

/// A ServiceTitan note. Its text ends with `Follow-up key: {key}` so a retry can look
/// for it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Stable key.
    pub key: String,
    /// Where.
    pub target: NoteTarget,
    /// The note.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingNote {
    note: Note,
    next_at: UnixSeconds,
    first_at: UnixSeconds,
    attempts: u32,
}

/// What [`CustomerFollowUps::observe`] did with an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Newer than anything seen: applied.
    Applied,
    /// The same `modifiedOn` as seen: a retry or duplicate, nothing changed.
    Duplicate,
    /// Older than what was seen: out of order, nothing changed.
    Older,
}

/// A refusal to send, and whether it is the customer's (halted) or a condition (skipped).
struct Refusal {
    status: Status,
    reason: String,
}

fn skipped(reason: impl Into<String>) -> Refusal {
    Refusal { status: Status::Skipped, reason: reason.into() }
}

/// One customer's follow-ups on one site. The shell stores it after every call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFollowUps {
    site_id: String,
    business_name: String,
    site_locale: Locale,
    site_zone: Zone,
    settings: FollowUpSettings,
    customer_id: i64,
    contact: Contact,
    consent: Option<BookingConsent>,
    /// Latest observation per `entity:id`.
    seen: BTreeMap<String, Observation>,
    /// Invoices a payment was applied to: never dunned again.
    paid_invoices: BTreeSet<i64>,
    opted_out: Option<UnixSeconds>,
    /// Numbers Twilio refused with 21610, ten digits.
    blocked: BTreeSet<String>,
    follow_ups: Vec<FollowUp>,
    notes: Vec<PendingNote>,
    /// Inbound `MessageSid`s already handled, newest last (bounded).
    replies_seen: Vec<String>,
    last_review_at: Option<UnixSeconds>,
}

impl CustomerFollowUps {
    /// A customer's follow-ups on `site`, before any event.
    pub fn new(site: &SiteConfig, customer_id: i64) -> CustomerFollowUps {
        let mut state = CustomerFollowUps {
            site_id: String::new(),
            business_name: String::new(),
            site_locale: Locale::En,
            site_zone: Zone::us(0),
            settings: FollowUpSettings::default(),
            customer_id,
            contact: Contact::default(),
            consent: None,
            seen: BTreeMap::new(),
            paid_invoices: BTreeSet::new(),
            opted_out: None,
            blocked: BTreeSet::new(),
            follow_ups: vec![],
            notes: vec![],
            replies_seen: vec![],
            last_review_at: None,
        };
        state.configure(site);
        state
    }

    /// Takes the site's current settings (call on every load: templates and switches
    /// changed by the owner apply to what is pending).
    pub fn configure(&mut self, site: &SiteConfig) {
        self.site_id = site.id.clone();
        self.business_name = site.business_name.clone();
        self.site_locale = site.locales.first().copied().unwrap_or_default();
        self.site_zone = Zone::us(site.utc_offset_minutes);
        self.settings = site.follow_ups.clone();
    }

    /// ServiceTitan's customer id.
    pub fn customer_id(&self) -> i64 {
        self.customer_id
    }

    /// When the customer opted out, while they are.
    pub fn opted_out(&self) -> Option<UnixSeconds> {
        self.opted_out
    }

    /// Every follow-up kept: pending, sent, skipped, halted, cancelled, failed.
    pub fn list(&self) -> &[FollowUp] {
        &self.follow_ups
    }

    /// The customer's contact facts as ServiceTitan last gave them (for the office's list).
    pub fn contact(&self) -> &Contact {
        &self.contact
    }

    /// The numbers follow-ups may text or call (`+1XXXXXXXXXX`): the worker indexes them
    /// to route an inbound text to this customer.
    pub fn phones(&self) -> Vec<String> {
        let consented = self.consent.as_ref().filter(|c| c.sms || c.voice).map(|c| c.phone.clone());
        let mobile = self.contact.mobile.clone().filter(|_| self.contact.mobile_texts_allowed);
        let mut phones: Vec<String> = consented
            .into_iter()
            .chain(mobile)
            .map(|p| ten_digits(&p))
            .filter(|d| d.len() == 10)
            .map(|d| format!("+1{d}"))
            .collect();
        phones.dedup();
        phones
    }

    /// What the customer agreed to on our booking card, when a booking handed it over
    /// (for the office's list: why texts or calls may go).
    pub fn consent(&self) -> Option<&BookingConsent> {
        self.consent.as_ref()
    }

    /// The booking's consent (the latest booking's replaces an earlier one).
    pub fn booking_consent(&mut self, consent: BookingConsent) {
        if self.consent.as_ref().is_none_or(|c| c.at <= consent.at) {
            self.consent = Some(consent);
        }
    }

    /// The office cancels a pending follow-up. False when there is none by that id.
    pub fn cancel(&mut self, id: &str, now: UnixSeconds) -> bool {
        let Some(fu) = self.follow_ups.iter_mut().find(|f| f.id == id && f.pending()) else { return false };
        fu.settle(Status::Cancelled, format!("cancelled by the office at {}", iso8601(now)), now);
        self.trim();
        true
    }

    /// An entity as read from ServiceTitan. Only what is newer than the last seen
    /// `modifiedOn` of that entity changes anything.
    pub fn observe(&mut self, observation: Observation, now: UnixSeconds) -> Observed {
        self.apply(observation, Status::Cancelled, now)
    }

    fn apply(&mut self, observation: Observation, halt_as: Status, now: UnixSeconds) -> Observed {
        let key = seen_key(observation.entity(), observation.id);
        if let Some(prev) = self.seen.get(&key) {
            if observation.modified_on_ms == prev.modified_on_ms && !tells_more(&observation.facts, &prev.facts) {
                return Observed::Duplicate;
            }
            if observation.modified_on_ms < prev.modified_on_ms {
                return Observed::Older;
            }
        }
        if let Some(contact) = observation.contact.clone() {
            self.contact = contact;
        }
        let mut observation = observation;
        observation.facts = observation.facts.sanitized();
        if let (Some(prev), Facts::Estimate { sent_on, viewed_on, .. }) = (self.seen.get(&key), &mut observation.facts)
        {
            // "Sent" and "viewed" may come only with the webhook; a plain REST re-read
            // without them does not make the estimate unsent.
            if let Facts::Estimate { sent_on: was_sent, viewed_on: was_viewed, .. } = prev.facts {
                *sent_on = sent_on.or(was_sent);
                *viewed_on = viewed_on.or(was_viewed);
            }
        }
        self.seen.insert(key, observation.clone());
        self.react(&observation, halt_as, now);
        self.trim();
        Observed::Applied
    }

    /// A text from the customer. The same `MessageSid` twice is handled once.
    pub fn inbound_sms(&mut self, sms: InboundSms, now: UnixSeconds) -> Keyword {
        let keyword = Keyword::of(&sms.body);
        if !self.first_time(&sms.message_sid) {
            return keyword;
        }
        let from = display_phone(&sms.from);
        let when = iso8601(now);
        let text = match keyword {
            Keyword::Stop => {
                self.opted_out = Some(now);
                self.halt_all(
                    |_| true,
                    &format!("the customer texted {:?} at {when}: opted out", sms.body.trim()),
                    now,
                );
                format!(
                    "Customer texted {:?} from {from} at {when}: opted out of all automated follow-ups.",
                    sms.body.trim()
                )
            }
            Keyword::Start => {
                self.opted_out = None;
                self.blocked.remove(&ten_digits(&sms.from));
                format!(
                    "Customer texted {:?} from {from} at {when}: automated follow-ups may be sent again.",
                    sms.body.trim()
                )
            }
            Keyword::Help => format!("Customer texted HELP from {from} at {when}."),
            Keyword::Reply if self.settings.notes.incoming_text => {
                format!("Customer replied by text from {from} at {when}: {}", crate::text::one_line(&sms.body))
            }
            Keyword::Reply => format!("Customer replied by text from {from} at {when}."),
        };
        let target = self.latest_target();
        self.note(format!("in:{}", sms.message_sid), target, text, now);
        keyword
    }

    /// The customer called back (the voice agent or the office line saw their number):
    /// a note, as for a reply. The same `call_sid` twice is noted once.
    pub fn call_in(&mut self, call_sid: &str, from: &str, now: UnixSeconds) {
        if !self.first_time(call_sid) {
            return;
        }
        let text = format!("Customer called back from {} at {}.", display_phone(from), iso8601(now));
        let target = self.latest_target();
        self.note(format!("call:{call_sid}"), target, text, now);
    }

    /// The customer opted out some other way than a text: "stop" said on the follow-up
    /// call, an email's unsubscribe, the office noting a request. Since FCC 24-18 a
    /// revocation by any reasonable means covers every automated message from the
    /// business, so every recipe halts, as for STOP, until a START text. `why` is for the
    /// office (a note on the job of the latest follow-up, else the customer).
    pub fn opt_out(&mut self, channel: Channel, why: &str, now: UnixSeconds) {
        let how = match channel {
            Channel::Sms => "by text",
            Channel::Email => "by email",
            Channel::Voice => "on an automated call",
        };
        let why = crate::text::one_line(why);
        let when = iso8601(now);
        let first = self.opted_out.is_none();
        self.opted_out = Some(self.opted_out.unwrap_or(now));
        self.halt_all(|_| true, &format!("the customer opted out {how} at {when}: {why}"), now);
        if first {
            let text = format!("Customer opted out of all automated follow-ups {how} at {when}: {why}.");
            let target = self.latest_target();
            self.note(format!("optout:{}:{now}", channel_name(channel)), target, text, now);
        }
    }

    /// True the first time this `MessageSid` or `CallSid` comes in (the last 100 are kept).
    fn first_time(&mut self, sid: &str) -> bool {
        if self.replies_seen.iter().any(|s| s == sid) {
            return false;
        }
        self.replies_seen.push(sid.to_string());
        if self.replies_seen.len() > 100 {
            self.replies_seen.remove(0);
        }
        true
    }

    /// The next thing to do.
    pub fn next_action(&mut self, now: UnixSeconds) -> Action {
        if let Some(n) = self.notes.iter().find(|n| n.next_at <= now) {
            return Action::Note(n.note.clone());
        }
        let mut order: Vec<usize> = (0..self.follow_ups.len()).filter(|&i| self.follow_ups[i].pending()).collect();
        order.sort_by_key(|&i| (self.follow_ups[i].next_try, self.follow_ups[i].due));
        for i in order {
            if let Some(action) = self.try_follow_up(i, now) {
                return action;
            }
        }
        self.trim();
        let next_follow_up = self.follow_ups.iter().filter(|f| f.pending()).map(|f| f.next_try);
        match self.notes.iter().map(|n| n.next_at).chain(next_follow_up).min() {
            Some(t) => Action::WakeAt(t.max(now + 1)),
            None => Action::Idle,
        }
    }

    /// The answer to the [`Action::Recheck`] of `key`.
    pub fn on_recheck(&mut self, key: &str, result: RecheckResult, now: UnixSeconds) {
        let Some(i) = self.index(key) else { return };
        let observations = match result {
            RecheckResult::Unavailable { detail } => return self.recheck_failed(i, &detail, now),
            RecheckResult::Read { observations } => observations,
        };
        let reads = self.reads(&self.follow_ups[i]);
        let missing =
            reads.iter().find(|r| !observations.iter().any(|o| o.entity() == r.entity && o.id == r.id)).copied();
        for o in observations {
            // Halts found by the re-check read as skips: "skipped: the invoice is paid".
            self.apply(o, Status::Skipped, now);
        }
        let Some(i) = self.index(key) else { return };
        let fu = &self.follow_ups[i];
        if !fu.pending() || !matches!(fu.stage, Stage::Rechecking { .. }) {
            return;
        }
        let verdict = match missing {
            Some(r) => Err(format!("re-check: {} {} was not found in ServiceTitan", r.entity.as_str(), r.id)),
            None => self.still_wanted(fu, now).map_err(|why| format!("re-check: {why}")),
        };
        let fu = &mut self.follow_ups[i];
        match verdict {
            Err(why) => fu.settle(Status::Skipped, why, now),
            Ok(()) => {
                fu.stage = Stage::Confirmed { at: now };
                fu.recheck_failing_since = None;
                fu.reason = "confirmed by the re-check; sending".into();
            }
        }
        self.trim();
    }

    /// The provider's answer to the [`Action::Send`] of `key`.
    pub fn on_send_result(&mut self, key: &str, result: SendResult, now: UnixSeconds) {
        let Some(i) = self.index(key) else { return };
        if self.follow_ups[i].status == Status::Sent {
            return;
        }
        match result {
            SendResult::Sent { provider_id } => self.sent(i, provider_id, now),
            SendResult::Failed { code: Some(TWILIO_UNSUBSCRIBED), detail } => self.unsubscribed(i, &detail, now),
            SendResult::ScheduledBeforeStart { number, stopped_at, started_at } => {
                self.scheduled_before_start(i, &number, stopped_at, started_at, now)
            }
            SendResult::Failed { code, detail } => {
                let fu = &mut self.follow_ups[i];
                fu.maybe_sent = false;
                let code = code.map(|c| format!(" {c}")).unwrap_or_default();
                if !fu.pending() {
                    // Halted or cancelled while it was in flight: it stays so.
                } else if fu.attempts >= MAX_SEND_ATTEMPTS {
                    fu.settle(Status::Failed, format!("the provider refused it{code}: {detail}"), now);
                    self.after_settled(i, now);
                } else {
                    fu.stage = Stage::Waiting;
                    fu.next_try = now + 600 * i64::from(fu.attempts);
                    fu.reason =
                        format!("the provider refused it{code} ({detail}); trying again at {}", iso8601(fu.next_try));
                }
            }
            SendResult::Unknown => {
                let fu = &mut self.follow_ups[i];
                fu.maybe_sent = true;
                if fu.pending() {
                    fu.reason = "no answer from the provider: it is looked up before any retry".into();
                }
            }
        }
        self.trim();
    }

    /// The [`Action::Note`] of `key` is written (`ok`), or failed and is retried.
    pub fn on_noted(&mut self, key: &str, ok: bool, now: UnixSeconds) {
        let Some(i) = self.notes.iter().position(|n| n.note.key == key) else { return };
        let n = &mut self.notes[i];
        if ok || now - n.first_at > 7 * DAY {
            self.notes.remove(i);
            return;
        }
        n.attempts += 1;
        n.next_at = now + [60, 300, 1800].get(n.attempts as usize - 1).copied().unwrap_or(3600);
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.follow_ups.iter().position(|f| f.id == key)
    }

    /// One pending follow-up's next step, if it has one now.
    fn try_follow_up(&mut self, i: usize, now: UnixSeconds) -> Option<Action> {
        let fu = &self.follow_ups[i];
        if now < fu.next_try {
            return None;
        }
        if let Stage::Rechecking { since } | Stage::Sending { since } = fu.stage {
            if now < since + IN_FLIGHT_TIMEOUT {
                self.follow_ups[i].next_try = since + IN_FLIGHT_TIMEOUT;
                return None;
            }
        }
        if let Err(refusal) = self.allowed(fu) {
            self.follow_ups[i].settle(refusal.status, refusal.reason, now);
            self.after_settled(i, now);
            return None;
        }
        let to = match self.recipient(fu.channel) {
            Ok(to) => to,
            Err(refusal) => {
                self.follow_ups[i].settle(refusal.status, refusal.reason, now);
                self.after_settled(i, now);
                return None;
            }
        };
        if let Some((until, why)) = self.must_wait(i, now) {
            let fu = &mut self.follow_ups[i];
            fu.next_try = until;
            fu.reason = why;
            if let Stage::Confirmed { .. } | Stage::Sending { .. } = fu.stage {
                fu.stage = Stage::Waiting;
            }
            return None;
        }
        let fu = &self.follow_ups[i];
        match fu.stage {
            Stage::Confirmed { at } if now <= at + FRESH_FOR => Some(self.send(i, to, now)),
            _ => {
                let reads = self.reads(fu);
                let fu = &mut self.follow_ups[i];
                fu.stage = Stage::Rechecking { since: now };
                fu.reason = "re-checking ServiceTitan before sending".into();
                Some(Action::Recheck(Recheck { key: fu.id.clone(), reads }))
            }
        }
    }

    /// Reasons that end a follow-up whatever the time: switched off, opted out.
    fn allowed(&self, fu: &FollowUp) -> Result<(), Refusal> {
        if !self.settings.on(fu.recipe) {
            return Err(skipped("the recipe is turned off in the site's follow-up settings"));
        }
        if let Some(at) = self.opted_out {
            return Err(Refusal {
                status: Status::Halted,
                reason: format!("the customer opted out at {}", iso8601(at)),
            });
        }
        Ok(())
    }

    /// Who receives it, with the consent that allows it.
    fn recipient(&self, channel: Channel) -> Result<String, Refusal> {
        let booking = self.consent.as_ref();
        let phone = match channel {
            Channel::Email => {
                return match self.contact.email.as_deref().map(str::trim) {
                    Some(e) if e.contains('@') => Ok(e.to_string()),
                    _ => Err(skipped("no email address on the ServiceTitan customer")),
                };
            }
            Channel::Sms => match (booking.filter(|c| c.sms), &self.contact.mobile) {
                (Some(c), _) => c.phone.clone(),
                (None, Some(m)) if self.contact.mobile_texts_allowed => m.clone(),
                _ => return Err(skipped("no consent to texts: none given at booking, and no ServiceTitan mobile number with text notifications allowed")),
            },
            Channel::Voice => match booking.filter(|c| c.voice) {
                Some(c) => c.phone.clone(),
                None => return Err(skipped("no consent to automated calls from the booking")),
            },
        };
        let digits = ten_digits(&phone);
        if digits.len() != 10 {
            return Err(skipped(format!("no usable phone number ({:?})", crate::text::one_line(&phone))));
        }
        if self.blocked.contains(&digits) {
            let reason = format!("{} unsubscribed at Twilio (21610) until they text START", display_phone(&digits));
            return Err(Refusal { status: Status::Halted, reason });
        }
        Ok(format!("+1{digits}"))
    }

    /// Quiet hours and the 24 h cap: when it may go instead, and why.
    fn must_wait(&self, i: usize, now: UnixSeconds) -> Option<(UnixSeconds, String)> {
        let hours = self.settings.quiet_hours.checked();
        let allowed = self.zone().next_allowed(now, hours);
        if allowed > now {
            let (start, end) = hours;
            return Some((
                allowed,
                format!(
                    "quiet hours ({start}:00 to {end}:00 in the customer's time zone): waiting until {}",
                    iso8601(allowed)
                ),
            ));
        }
        let id = &self.follow_ups[i].id;
        let window_start = now - DAY;
        let sent: Vec<UnixSeconds> = self
            .follow_ups
            .iter()
            .filter(|f| f.status == Status::Sent)
            .filter_map(|f| f.settled_at)
            .filter(|t| *t > window_start)
            .collect();
        let in_doubt = self.follow_ups.iter().filter(|f| f.id != *id && f.in_doubt()).count();
        let max = usize::from(self.settings.max_per_day);
        if sent.len() + in_doubt < max {
            return None;
        }
        let until = match sent.iter().min() {
            Some(oldest) if sent.len() >= max => oldest + DAY,
            _ => now + IN_FLIGHT_TIMEOUT,
        };
        Some((until, format!("{max} follow-ups in 24 hours already: waiting until {}", iso8601(until))))
    }

    /// The send, text fixed at its first render.
    fn send(&mut self, i: usize, to: String, now: UnixSeconds) -> Action {
        if self.follow_ups[i].text.is_none() {
            let text = self.render(&self.follow_ups[i]);
            self.follow_ups[i].text = Some(text);
        }
        let fu = &mut self.follow_ups[i];
        let maybe_sent = fu.maybe_sent;
        fu.stage = Stage::Sending { since: now };
        fu.attempts = fu.attempts.saturating_add(1);
        fu.maybe_sent = true;
        fu.to = Some(to.clone());
        fu.reason = "sending".into();
        let full = fu.text.clone().unwrap_or_default();
        let (email_subject, text) = match fu.channel {
            Channel::Email => match full.split_once('\n') {
                Some((subject, body)) => (Some(subject.trim().to_string()), body.trim_start_matches('\n').to_string()),
                None => (Some(full.clone()), full),
            },
            Channel::Sms | Channel::Voice => (None, full),
        };
        Action::Send(Outgoing {
            key: fu.id.clone(),
            channel: fu.channel,
            to,
            text,
            email_subject,
            about: fu.about,
            recipe: fu.recipe,
            maybe_sent,
            scheduled_at: fu.scheduled_at,
        })
    }

    fn sent(&mut self, i: usize, provider_id: String, now: UnixSeconds) {
        let include_text = self.settings.notes.outgoing_text;
        let fu = &mut self.follow_ups[i];
        fu.provider_id = Some(provider_id);
        fu.maybe_sent = false;
        fu.settle(Status::Sent, "sent".into(), now);
        let fu = &self.follow_ups[i];
        if fu.recipe == Recipe::ReviewRequest {
            self.last_review_at = Some(now);
        }
        let to = fu.to.as_deref().map(display_phone).unwrap_or_default();
        let mut text = format!("Automated follow-up sent: {} to {to} at {}.", fu.recipe.label(), iso8601(now));
        if include_text {
            if let Some(t) = &fu.text {
                text.push_str(&format!("\nMessage: {}", crate::text::one_line(t)));
            }
        }
        let (key, target) = (format!("{}:sent", fu.id), self.target(fu.job_id));
        self.note(key, target, text, now);
        self.after_settled(i, now);
    }

    /// Twilio 21610: that number has unsubscribed. Everything to it ends.
    fn unsubscribed(&mut self, i: usize, detail: &str, now: UnixSeconds) {
        let to = self.follow_ups[i].to.clone().unwrap_or_default();
        let digits = ten_digits(&to);
        self.blocked.insert(digits.clone());
        let reason = format!(
            "Twilio 21610 ({}): {} has unsubscribed; nothing more goes to it until START",
            crate::text::one_line(detail),
            display_phone(&digits)
        );
        let fu = &mut self.follow_ups[i];
        fu.maybe_sent = false;
        fu.settle(Status::Halted, reason.clone(), now);
        let job = fu.job_id;
        // Only what would go to that number: another number of the customer is not it.
        let to_it: BTreeSet<Channel> = [Channel::Sms, Channel::Voice]
            .into_iter()
            .filter(|c| matches!(self.recipient(*c), Err(Refusal { status: Status::Halted, .. })))
            .collect();
        self.halt_all(|f| to_it.contains(&f.channel), &reason, now);
        let target = self.target(job);
        let text = format!(
            "Automated follow-ups to {} ended at {}: Twilio reports the number has unsubscribed (21610).",
            display_phone(&digits),
            iso8601(now)
        );
        self.note(format!("{}:21610", self.follow_ups[i].id), target, text, now);
    }

    /// The site's opt-out list: the number texted STOP and START, and this follow-up was
    /// scheduled before the START (this object missed the STOP). It alone is halted, as
    /// the STOP would have halted it; the number is not blocked, new follow-ups go.
    fn scheduled_before_start(
        &mut self,
        i: usize,
        number: &str,
        stopped_at: UnixSeconds,
        started_at: UnixSeconds,
        now: UnixSeconds,
    ) {
        let fu = &mut self.follow_ups[i];
        fu.maybe_sent = false;
        if !fu.pending() {
            // Halted or cancelled while it was in flight: it stays so.
            return;
        }
        let when = if fu.scheduled_at < stopped_at {
            format!("before the customer's STOP at {}", iso8601(stopped_at))
        } else {
            format!("while the customer had opted out (STOP at {})", iso8601(stopped_at))
        };
        let (phone, started) = (display_phone(number), iso8601(started_at));
        let reason =
            format!("scheduled {when}; START at {started} does not bring it back (the site's opt-out list, {phone})");
        fu.settle(Status::Halted, reason, now);
        let text = format!(
            "Automated follow-up halted at {}: {} to {phone}, scheduled {when}. The customer texted START at {started}, which allows only new follow-ups.",
            iso8601(now),
            fu.recipe.label()
        );
        let (key, job) = (format!("{}:stop", fu.id), fu.job_id);
        let target = self.target(job);
        self.note(key, target, text, now);
    }

    /// Halts every pending follow-up that `which` selects.
    fn halt_all(&mut self, which: impl Fn(&FollowUp) -> bool, reason: &str, now: UnixSeconds) {
        for fu in self.follow_ups.iter_mut().filter(|f| f.pending() && which(f)) {
            fu.settle(Status::Halted, reason.to_string(), now);
        }
    }

    /// Cancels (or, from a re-check, skips) the pending follow-ups `which` selects.
    fn stop(&mut self, which: impl Fn(&FollowUp) -> bool, status: Status, reason: &str, now: UnixSeconds) {
        for fu in self.follow_ups.iter_mut().filter(|f| f.pending() && which(f)) {
            let reason = if status == Status::Skipped { format!("re-check: {reason}") } else { reason.to_string() };
            fu.settle(status, reason, now);
        }
    }

    /// The viewed-estimate text replaces the 24 h one still waiting (one sent or in
    /// doubt stays as it is).
    fn viewed_replaces_the_day_text(&mut self, about: Ref, now: UnixSeconds) {
        let waiting = |f: &FollowUp| f.recipe == Recipe::EstimateSms && f.about == about && !f.in_doubt();
        self.stop(waiting, Status::Cancelled, "the estimate was viewed: the viewed-estimate text goes instead", now);
    }

    fn recheck_failed(&mut self, i: usize, detail: &str, now: UnixSeconds) {
        let give_up = i64::from(self.settings.recheck_give_up_hours) * 3600;
        let fu = &mut self.follow_ups[i];
        if !fu.pending() {
            return;
        }
        let since = *fu.recheck_failing_since.get_or_insert(now);
        if now - since >= give_up {
            let why = format!(
                "ServiceTitan could not be re-checked since {} ({detail}): never sent unchecked",
                iso8601(since)
            );
            fu.settle(Status::Skipped, why, now);
            return self.after_settled(i, now);
        }
        fu.stage = Stage::Waiting;
        // A quarter of the outage so far, between 5 minutes and an hour: ServiceTitan's
        // API is rate-limited per app, and every customer waits on it at once.
        fu.next_try = now + ((now - since) / 4).clamp(300, 3600);
        fu.reason =
            format!("ServiceTitan did not answer the re-check ({detail}); trying again at {}", iso8601(fu.next_try));
    }

    /// After a follow-up settles: a dunning step that reached the customer schedules the
    /// next one.
    fn after_settled(&mut self, i: usize, now: UnixSeconds) {
        let fu = &self.follow_ups[i];
        if !fu.recipe.is_dunning() {
            return;
        }
        let (invoice, step, job) = (fu.about.id, fu.step, fu.job_id);
        let same_step = |f: &&FollowUp| f.recipe.is_dunning() && f.about.id == invoice && f.step == step;
        let mut this_step = self.follow_ups.iter().filter(same_step);
        if this_step.clone().any(FollowUp::pending) || !this_step.any(|f| f.status == Status::Sent) {
            return;
        }
        let d = self.settings.dunning;
        let Some(Facts::Invoice { due_on: Some(due_on), .. }) = self.facts(Entity::Invoice, invoice) else { return };
        if step >= d.steps || self.opted_out.is_some() {
            return;
        }
        let nominal = self.days_after(*due_on, i64::from(d.overdue_days) + i64::from(step) * i64::from(d.every_days));
        let due = nominal.max(now + DAY);
        let invoice_ref = Ref { entity: Entity::Invoice, id: invoice };
        for recipe in [Recipe::DunningSms, Recipe::DunningEmail] {
            self.schedule(recipe, invoice_ref, job, step + 1, due, None, now);
        }
    }

    /// What changes when an entity says something new.
    fn react(&mut self, o: &Observation, halt_as: Status, now: UnixSeconds) {
        let id = o.id;
        let this = |recipe_test: fn(Recipe) -> bool, entity: Entity| {
            move |f: &FollowUp| recipe_test(f.recipe) && f.about.entity == entity && f.about.id == id
        };
        match &o.facts {
            Facts::Estimate { status, active, job_id, sent_on, viewed_on, .. } => {
                if *status != EstimateStatus::Open || !active {
                    let why = match status {
                        EstimateStatus::Sold => "the estimate was sold",
                        EstimateStatus::Dismissed => "the estimate was dismissed",
                        _ => "the estimate is no longer open",
                    };
                    return self.stop(this(Recipe::is_estimate, Entity::Estimate), halt_as, why, now);
                }
                let about = Ref { entity: Entity::Estimate, id };
                if let Some(sent) = *sent_on {
                    for recipe in [Recipe::EstimateSms, Recipe::EstimateCall] {
                        self.schedule(recipe, about, *job_id, 1, sent + self.settings.delay(recipe), None, now);
                    }
                    // Out of order ("viewed" delivered before "sent"): the viewed text
                    // replaces the 24 h one, as when they come in order.
                    if self.follow_ups.iter().any(|f| f.recipe == Recipe::EstimateViewed && f.about == about) {
                        self.viewed_replaces_the_day_text(about, now);
                    }
                }
                if let Some(viewed) = *viewed_on {
                    let due = viewed + self.settings.delay(Recipe::EstimateViewed);
                    if self.schedule(Recipe::EstimateViewed, about, *job_id, 1, due, None, now) {
                        self.viewed_replaces_the_day_text(about, now);
                    }
                }
            }
            Facts::Job { status, no_show, .. } => {
                let of_job = move |f: &FollowUp| f.job_id == Some(id) && f.recipe != Recipe::NoShow;
                match status {
                    JobStatus::Canceled => {
                        self.stop(of_job, halt_as, "the job was canceled", now);
                        if *no_show {
                            let about = Ref { entity: Entity::Job, id };
                            self.schedule(
                                Recipe::NoShow,
                                about,
                                Some(id),
                                1,
                                now + self.settings.delay(Recipe::NoShow),
                                None,
                                now,
                            );
                        }
                    }
                    JobStatus::Completed => {
                        let reminders = move |f: &FollowUp| f.job_id == Some(id) && f.recipe == Recipe::JobReminder;
                        self.stop(reminders, halt_as, "the job is completed", now);
                        let about = Ref { entity: Entity::Job, id };
                        self.stop(
                            move |f: &FollowUp| f.recipe == Recipe::NoShow && f.about == about,
                            halt_as,
                            "the job is completed",
                            now,
                        );
                        self.schedule_review(id, now);
                    }
                    _ => {}
                }
            }
            Facts::Appointment { job_id, status, starts_on, no_show, .. } => {
                let reminder = this(|r| r == Recipe::JobReminder, Entity::Appointment);
                match status {
                    AppointmentStatus::Scheduled | AppointmentStatus::Dispatched => {
                        let start = *starts_on;
                        let moved = move |f: &FollowUp| reminder(f) && f.visit_starts != Some(start);
                        self.stop(moved, Status::Cancelled, "the visit was rescheduled", now);
                        let r = self.settings.job_reminder;
                        let due = self.zone().days_before_at(start, i64::from(r.days_before), i64::from(r.at_hour));
                        let about = Ref { entity: Entity::Appointment, id };
                        self.schedule(Recipe::JobReminder, about, Some(*job_id), 1, due, Some(start), now);
                    }
                    AppointmentStatus::Canceled => {
                        self.stop(reminder, halt_as, "the appointment was canceled", now);
                        if *no_show {
                            let about = Ref { entity: Entity::Job, id: *job_id };
                            let due = now + self.settings.delay(Recipe::NoShow);
                            self.schedule(Recipe::NoShow, about, Some(*job_id), 1, due, None, now);
                        }
                    }
                    AppointmentStatus::Working | AppointmentStatus::Done => {
                        self.stop(reminder, halt_as, "the visit has started", now);
                    }
                    AppointmentStatus::Hold | AppointmentStatus::Other => {}
                }
            }
            Facts::Invoice { job_id, balance_cents, due_on, .. } => {
                if *balance_cents <= 0 || self.paid_invoices.contains(&id) {
                    let why = format!("the invoice is paid (balance {})", templates::dollars(*balance_cents));
                    return self.stop(this(Recipe::is_dunning, Entity::Invoice), halt_as, &why, now);
                }
                let Some(due_on) = *due_on else { return };
                let started = self.follow_ups.iter().any(|f| f.recipe.is_dunning() && f.about.id == id);
                if !started {
                    let due = self.days_after(due_on, i64::from(self.settings.dunning.overdue_days));
                    let about = Ref { entity: Entity::Invoice, id };
                    for recipe in [Recipe::DunningSms, Recipe::DunningEmail] {
                        self.schedule(recipe, about, *job_id, 1, due, None, now);
                    }
                }
            }
            Facts::Payment { invoice_ids } => {
                for &invoice in invoice_ids {
                    self.paid_invoices.insert(invoice);
                    let dunning = move |f: &FollowUp| f.recipe.is_dunning() && f.about.id == invoice;
                    self.stop(dunning, halt_as, "payment received", now);
                }
            }
        }
    }

    fn schedule_review(&mut self, job: i64, now: UnixSeconds) {
        let completed = match self.facts(Entity::Job, job) {
            Some(Facts::Job { completed_on: Some(t), .. }) => *t,
            _ => now,
        };
        let due = completed + self.settings.delay(Recipe::ReviewRequest);
        self.schedule(Recipe::ReviewRequest, Ref { entity: Entity::Job, id: job }, Some(job), 1, due, None, now);
    }

    /// Schedules a follow-up once per key; true if it is new. One that can never go
    /// (opted out, too late, a review too soon) is kept as skipped with its reason.
    #[allow(clippy::too_many_arguments)]
    fn schedule(
        &mut self,
        recipe: Recipe,
        about: Ref,
        job_id: Option<i64>,
        step: u8,
        due: UnixSeconds,
        visit_starts: Option<UnixSeconds>,
        now: UnixSeconds,
    ) -> bool {
        if !self.settings.on(recipe) {
            return false;
        }
        let mut id = format!(
            "fu:{}:{}:{}:{}:{}",
            self.site_id,
            self.customer_id,
            recipe.as_str(),
            about.entity.as_str(),
            about.id
        );
        if step > 1 {
            id.push_str(&format!(":step{step}"));
        }
        if let Some(start) = visit_starts {
            id.push_str(&format!(":{start}"));
        }
        if self.follow_ups.iter().any(|f| f.id == id) {
            return false;
        }
        let mut fu = FollowUp {
            id,
            recipe,
            channel: recipe.channel(),
            about,
            job_id,
            step,
            status: Status::Pending,
            reason: format!("scheduled for {}", iso8601(due)),
            scheduled_at: now,
            due,
            next_try: due,
            settled_at: None,
            to: None,
            text: None,
            provider_id: None,
            visit_starts,
            stage: Stage::Waiting,
            attempts: 0,
            maybe_sent: false,
            recheck_failing_since: None,
        };
        if let Some(why) = self.never(&fu, now) {
            fu.settle(Status::Skipped, why, now);
        }
        self.follow_ups.push(fu);
        true
    }

    /// Why a follow-up just scheduled can never go.
    fn never(&self, fu: &FollowUp, now: UnixSeconds) -> Option<String> {
        if let Some(at) = self.opted_out {
            return Some(format!("the customer opted out at {}", iso8601(at)));
        }
        // The number refused by Twilio; consent is judged at send time (it may come later).
        if let Err(Refusal { status: Status::Halted, reason }) = self.recipient(fu.channel) {
            return Some(reason);
        }
        if fu.recipe.grace().is_some_and(|g| now > fu.due + g) {
            return Some(format!("its moment passed: it was due {} and first seen {}", iso8601(fu.due), iso8601(now)));
        }
        if fu.recipe == Recipe::ReviewRequest {
            let days = i64::from(self.settings.review_request.once_per_days);
            let recent = self.follow_ups.iter().filter(|f| f.recipe == Recipe::ReviewRequest);
            let pending = recent.clone().any(FollowUp::pending);
            let last = self
                .last_review_at
                .into_iter()
                .chain(recent.filter(|f| f.status == Status::Sent).filter_map(|f| f.settled_at))
                .max();
            if pending {
                return Some("a review request is already pending for this customer".into());
            }
            if let Some(last) = last.filter(|t| fu.due < t + days * DAY) {
                return Some(format!("a review was asked for at {} (at most once per {days} days)", iso8601(last)));
            }
        }
        None
    }

    /// What the re-check must read: the subject, then its job.
    fn reads(&self, fu: &FollowUp) -> Vec<Ref> {
        let mut reads = vec![fu.about];
        if let Some(job) = fu.job_id.filter(|_| fu.about.entity != Entity::Job) {
            reads.push(Ref { entity: Entity::Job, id: job });
        }
        reads
    }

    /// The facts as they are now (after the re-check): does the follow-up still make sense?
    fn still_wanted(&self, fu: &FollowUp, now: UnixSeconds) -> Result<(), String> {
        if let Some(job) = fu.job_id {
            if let Some(Facts::Job { status, notifications_enabled, .. }) = self.facts(Entity::Job, job) {
                if !notifications_enabled {
                    return Err(format!("notifications are turned off for job {job} in ServiceTitan"));
                }
                if *status == JobStatus::Canceled && fu.recipe != Recipe::NoShow {
                    return Err(format!("job {job} is canceled"));
                }
            }
        }
        let Some(facts) = self.facts(fu.about.entity, fu.about.id) else {
            return Err(format!("{} {} is not known", fu.about.entity.as_str(), fu.about.id));
        };
        match (fu.recipe, facts) {
            (_, Facts::Estimate { status, active, .. }) if fu.recipe.is_estimate() => {
                if *status == EstimateStatus::Open && *active {
                    Ok(())
                } else {
                    Err(format!("the estimate is {status:?}, no longer open"))
                }
            }
            (_, Facts::Invoice { balance_cents, .. }) if fu.recipe.is_dunning() => {
                if *balance_cents <= 0 || self.paid_invoices.contains(&fu.about.id) {
                    Err(format!("the invoice is paid (balance {})", templates::dollars(*balance_cents)))
                } else {
                    Ok(())
                }
            }
            (Recipe::JobReminder, Facts::Appointment { status, starts_on, .. }) => {
                let ahead = i64::from(self.settings.job_reminder.min_hours_ahead) * 3600;
                if !matches!(status, AppointmentStatus::Scheduled | AppointmentStatus::Dispatched) {
                    Err(format!("the appointment is {status:?}"))
                } else if Some(*starts_on) != fu.visit_starts {
                    Err("the visit was rescheduled".into())
                } else if now + ahead > *starts_on {
                    Err(format!("the visit starts at {}, too soon for a reminder", iso8601(*starts_on)))
                } else {
                    Ok(())
                }
            }
            (Recipe::ReviewRequest, Facts::Job { status, .. }) => match status {
                JobStatus::Completed => Ok(()),
                other => Err(format!("the job is {other:?}, not completed")),
            },
            (Recipe::NoShow, Facts::Job { status, .. }) => {
                if *status == JobStatus::Completed {
                    return Err("the job is completed".into());
                }
                if self.visit_ahead(now) {
                    return Err("a visit is scheduled again".into());
                }
                Ok(())
            }
            _ => Err(format!("{} {} does not fit a {}", fu.about.entity.as_str(), fu.about.id, fu.recipe.as_str())),
        }
    }

    /// Some appointment of the customer is scheduled in the future. One of a job known to
    /// be canceled or completed is not: ServiceTitan cancels a job's visits with it, and
    /// only the job's change may come (a job no-show must not read as "rebooked" because
    /// its own missed visit was last seen scheduled).
    fn visit_ahead(&self, now: UnixSeconds) -> bool {
        let ended = |job: i64| {
            matches!(
                self.facts(Entity::Job, job),
                Some(Facts::Job { status: JobStatus::Canceled | JobStatus::Completed, .. })
            )
        };
        self.seen.values().any(|o| {
            matches!(&o.facts, Facts::Appointment { status: AppointmentStatus::Scheduled | AppointmentStatus::Dispatched, starts_on, job_id, .. } if *starts_on > now && !ended(*job_id))
        })
    }

    /// `days` days after `t` on the customer's calendar: the same local hour across a
    /// daylight-saving change.
    fn days_after(&self, t: UnixSeconds, days: i64) -> UnixSeconds {
        let zone = self.zone();
        zone.instant(zone.local(t) + days * DAY)
    }

    fn facts(&self, entity: Entity, id: i64) -> Option<&Facts> {
        self.seen.get(&seen_key(entity, id)).map(|o| &o.facts)
    }

    /// The customer's zone as used for quiet hours and reminders (ServiceTitan's facts,
    /// else the settings, else the site's offset with US daylight saving): the office's
    /// page shows times in it.
    pub fn zone(&self) -> Zone {
        self.contact.zone.or(self.settings.time_zone).unwrap_or(self.site_zone)
    }

    fn locale(&self) -> Locale {
        self.contact.locale.or(self.consent.as_ref().map(|c| c.locale)).unwrap_or(self.site_locale)
    }

    /// The message of `fu` in the customer's language.
    fn render(&self, fu: &FollowUp) -> String {
        let locale = self.locale();
        let template = self
            .settings
            .templates
            .get(&locale)
            .and_then(|t| t.get(&fu.recipe))
            .map(String::as_str)
            .unwrap_or_else(|| templates::builtin(fu.recipe, locale));
        let mut first = templates::clean_name(&self.contact.first_name());
        if first.is_empty() {
            first = self.consent.as_ref().map(|c| templates::clean_name(&c.first_name)).unwrap_or_default();
        }
        if first.is_empty() && locale == Locale::En {
            first = "there".into();
        }
        let facts = self.facts(fu.about.entity, fu.about.id);
        let (link, amount, when) = self.details(fu, facts, locale);
        let invoice = fu.about.id.to_string();
        let business = templates::clean_name(&self.business_name);
        let values = [
            ("firstName", first.as_str()),
            ("businessName", business.as_str()),
            ("link", link.as_str()),
            ("amount", amount.as_str()),
            ("when", when.as_str()),
            ("invoice", invoice.as_str()),
        ];
        templates::render(template, &values)
    }

    /// The link, the amount due and the visit's time for a message.
    fn details(&self, fu: &FollowUp, facts: Option<&Facts>, locale: Locale) -> (String, String, String) {
        let links = &self.settings.links;
        let id = fu.about.id.to_string();
        let fill = |pattern: &str| pattern.replace("{id}", &id);
        match facts {
            Some(Facts::Estimate { link, .. }) => {
                (link.clone().unwrap_or_else(|| fill(&links.estimate)), String::new(), String::new())
            }
            Some(Facts::Invoice { link, balance_cents, .. }) => (
                link.clone().unwrap_or_else(|| fill(&links.invoice)),
                templates::dollars(*balance_cents),
                String::new(),
            ),
            Some(Facts::Appointment { starts_on, ends_on, .. }) => {
                let offset = (self.zone().offset_at(*starts_on) / 60) as i32;
                let when = window_label(locale, ArrivalWindow { start: *starts_on, end: *ends_on }, offset);
                (fill(&links.booking), String::new(), when)
            }
            _ if fu.recipe == Recipe::ReviewRequest => (fill(&links.review), String::new(), String::new()),
            _ => (fill(&links.booking), String::new(), String::new()),
        }
    }

    /// The note's place: the job, else the customer.
    fn target(&self, job: Option<i64>) -> NoteTarget {
        job.map(NoteTarget::Job).unwrap_or(NoteTarget::Customer(self.customer_id))
    }

    /// For a reply: the job of the latest follow-up sent, else the customer.
    fn latest_target(&self) -> NoteTarget {
        let latest = self.follow_ups.iter().filter(|f| f.status == Status::Sent).max_by_key(|f| f.settled_at);
        self.target(latest.and_then(|f| f.job_id))
    }

    fn note(&mut self, key: String, target: NoteTarget, text: String, now: UnixSeconds) {
        if self.notes.iter().any(|n| n.note.key == key) {
            return;
        }
        let text = format!("{text}\nFollow-up key: {key}");
        self.notes.push(PendingNote { note: Note { key, target, text }, next_at: now, first_at: now, attempts: 0 });
    }

    /// Keeps the newest [`KEPT_SETTLED`] settled follow-ups and [`KEPT_SEEN`] entities.
    fn trim(&mut self) {
        self.trim_seen();
        let settled = self.follow_ups.iter().filter(|f| !f.pending()).count();
        if settled <= KEPT_SETTLED {
            return;
        }
        let mut by_age: Vec<(UnixSeconds, String)> = self
            .follow_ups
            .iter()
            .filter(|f| !f.pending())
            .map(|f| (f.settled_at.unwrap_or(0), f.id.clone()))
            .collect();
        by_age.sort();
        let drop: BTreeSet<String> = by_age.into_iter().take(settled - KEPT_SETTLED).map(|(_, id)| id).collect();
        self.follow_ups.retain(|f| !drop.contains(&f.id));
    }
}

impl CustomerFollowUps {
    fn trim_seen(&mut self) {
        if self.seen.len() <= KEPT_SEEN {
            return;
        }
        let needed: BTreeSet<String> = self
            .follow_ups
            .iter()
            .filter(|f| f.pending())
            .flat_map(|f| self.reads(f))
            .map(|r| seen_key(r.entity, r.id))
            .collect();
        let mut by_age: Vec<(i64, String)> = self
            .seen
            .iter()
            .filter(|(k, _)| !needed.contains(*k))
            .map(|(k, o)| (o.modified_on_ms, k.clone()))
            .collect();
        by_age.sort();
        let extra = self.seen.len() - KEPT_SEEN;
        for (_, key) in by_age.into_iter().take(extra) {
            self.seen.remove(&key);
        }
    }
}

fn seen_key(entity: Entity, id: i64) -> String {
    format!("{}:{id}", entity.as_str())
}

/// The last ten digits of a US number ("+1 (612) 555-0101" → "6125550101").
fn ten_digits(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        11 if digits.starts_with('1') => digits[1..].to_string(),
        _ => digits,
    }
}

/// "(612) 555-0101", for notes.
fn display_phone(phone: &str) -> String {
    let d = ten_digits(phone);
    if d.len() == 10 {
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    } else if phone.contains('@') {
        crate::text::one_line(phone)
    } else {
        d
    }
}

/// "Sent" and "viewed" come only with a webhook, and its re-read may show a modifiedOn
/// already seen (the "created" webhook's re-read already had the change): a sentOn or
/// viewedOn the last sighting lacked is news, not a duplicate.
fn tells_more(new: &Facts, seen: &Facts) -> bool {
    match (new, seen) {
        (
            Facts::Estimate { sent_on, viewed_on, .. },
            Facts::Estimate { sent_on: was_sent, viewed_on: was_viewed, .. },
        ) => (sent_on.is_some() && was_sent.is_none()) || (viewed_on.is_some() && was_viewed.is_none()),
        _ => false,
    }
}

/// A channel's name in keys.
fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "sms",
        Channel::Email => "email",
        Channel::Voice => "voice",
    }
}
