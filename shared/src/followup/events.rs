//! What comes in: ServiceTitan observations, the booking's consent, inbound texts,
//! provider and re-check results.

use serde::{Deserialize, Serialize};

use super::clock::Zone;
use crate::booking::{BookingRequest, Locale, UnixSeconds};

/// The ServiceTitan entities follow-ups watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Entity {
    /// `/sales/v2/.../estimates`.
    Estimate,
    /// `/jpm/v2/.../jobs`.
    Job,
    /// `/jpm/v2/.../appointments`.
    Appointment,
    /// `/accounting/v2/.../invoices`.
    Invoice,
    /// `/accounting/v2/.../payments`.
    Payment,
}

impl Entity {
    /// Lowercase name, as in keys and notes.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Estimate => "estimate",
            Entity::Job => "job",
            Entity::Appointment => "appointment",
            Entity::Invoice => "invoice",
            Entity::Payment => "payment",
        }
    }
}

/// An entity as read from ServiceTitan (a webhook's re-read, the export feed, or the
/// re-check before a send). Deduplicated on (entity, id, `modifiedOn`): an observation
/// not newer than the one already seen changes nothing. A webhook's payload is never an
/// observation: the worker re-reads the entity and hands that in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The entity's id.
    pub id: i64,
    /// Its `modifiedOn` in milliseconds ([`parse_modified_on`]): ServiceTitan writes
    /// fractions of a second, and two changes within one second must not look alike.
    pub modified_on_ms: i64,
    /// What it says.
    pub facts: Facts,
    /// The customer's contact facts, when the worker read them with it.
    #[serde(default)]
    pub contact: Option<Contact>,
}

impl Observation {
    /// The entity kind.
    pub fn entity(&self) -> Entity {
        self.facts.entity()
    }
}

/// What an entity says, per kind (only what follow-ups decide on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Facts {
    /// An estimate.
    Estimate {
        /// Open, Sold or Dismissed.
        status: EstimateStatus,
        /// `active` (an inactive estimate is as good as dismissed).
        #[serde(default = "yes")]
        active: bool,
        /// The job it belongs to.
        #[serde(default)]
        job_id: Option<i64>,
        /// When it was sent to the customer.
        #[serde(default)]
        sent_on: Option<UnixSeconds>,
        /// When the customer first viewed it.
        #[serde(default)]
        viewed_on: Option<UnixSeconds>,
        /// The customer's page for it.
        #[serde(default)]
        link: Option<String>,
    },
    /// A job.
    Job {
        /// `jobStatus`.
        status: JobStatus,
        /// `notificationsEnabled`: false means the office wants no messages for it.
        #[serde(default = "yes")]
        notifications_enabled: bool,
        /// When it was completed.
        #[serde(default)]
        completed_on: Option<UnixSeconds>,
        /// Cancelled for a no-show (from its cancel reason or tag; ServiceTitan has no
        /// no-show status).
        #[serde(default)]
        no_show: bool,
    },
    /// An appointment (a visit of a job).
    Appointment {
        /// Its job.
        job_id: i64,
        /// Its status.
        status: AppointmentStatus,
        /// Arrival window start (`arrivalWindowStart`, else `start`).
        starts_on: UnixSeconds,
        /// Arrival window end.
        ends_on: UnixSeconds,
        /// Cancelled for a no-show.
        #[serde(default)]
        no_show: bool,
    },
    /// An invoice.
    Invoice {
        /// Its job.
        #[serde(default)]
        job_id: Option<i64>,
        /// `balance` in cents ([`parse_money`]).
        balance_cents: i64,
        /// `dueDate`.
        #[serde(default)]
        due_on: Option<UnixSeconds>,
        /// Its payment page.
        #[serde(default)]
        link: Option<String>,
    },
    /// A payment.
    Payment {
        /// The invoices it applies to.
        #[serde(default)]
        invoice_ids: Vec<i64>,
    },
}

fn yes() -> bool {
    true
}

/// Times follow-ups believe: 2000 to 2200. Anything else from ServiceTitan is treated as
/// not given, so no date arithmetic can overflow.
const SANE: std::ops::RangeInclusive<UnixSeconds> = 946_684_800..=7_258_118_400;

fn sane(t: Option<UnixSeconds>) -> Option<UnixSeconds> {
    t.filter(|t| SANE.contains(t))
}

impl Facts {
    /// The facts with impossible times dropped (an appointment without a believable
    /// start gets no reminder).
    pub(crate) fn sanitized(self) -> Facts {
        match self {
            Facts::Estimate { status, active, job_id, sent_on, viewed_on, link } => {
                Facts::Estimate { status, active, job_id, sent_on: sane(sent_on), viewed_on: sane(viewed_on), link }
            }
            Facts::Job { status, notifications_enabled, completed_on, no_show } => {
                Facts::Job { status, notifications_enabled, completed_on: sane(completed_on), no_show }
            }
            Facts::Appointment { job_id, status, starts_on, ends_on, no_show } => {
                let believable = SANE.contains(&starts_on) && SANE.contains(&ends_on);
                let status = if believable { status } else { AppointmentStatus::Other };
                Facts::Appointment { job_id, status, starts_on, ends_on, no_show }
            }
            Facts::Invoice { job_id, balance_cents, due_on, link } => {
                Facts::Invoice { job_id, balance_cents, due_on: sane(due_on), link }
            }
            payment @ Facts::Payment { .. } => payment,
        }
    }

    /// The entity kind.
    pub fn entity(&self) -> Entity {
        match self {
            Facts::Estimate { .. } => Entity::Estimate,
            Facts::Job { .. } => Entity::Job,
            Facts::Appointment { .. } => Entity::Appointment,
            Facts::Invoice { .. } => Entity::Invoice,
            Facts::Payment { .. } => Entity::Payment,
        }
    }
}

/// `Estimates.Types.EstimateStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EstimateStatus {
    /// Not yet sold or dismissed.
    Open,
    /// Signed.
    Sold,
    /// Turned down or closed by the office.
    Dismissed,
    /// A status this code does not know: treated as not open.
    #[serde(other)]
    Other,
}

/// `JobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    /// Scheduled.
    Scheduled,
    /// Dispatched.
    Dispatched,
    /// In progress.
    InProgress,
    /// On hold.
    Hold,
    /// Completed.
    Completed,
    /// Canceled (ServiceTitan's spelling).
    Canceled,
    /// Unknown.
    #[serde(other)]
    Other,
}

/// Appointment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppointmentStatus {
    /// Scheduled.
    Scheduled,
    /// Dispatched.
    Dispatched,
    /// The technician is working.
    Working,
    /// On hold.
    Hold,
    /// Done.
    Done,
    /// Canceled.
    Canceled,
    /// Unknown.
    #[serde(other)]
    Other,
}

/// The customer's contact facts from ServiceTitan's customer record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Contact {
    /// `name` as ServiceTitan has it ("Dana Smith" or "Smith, Dana").
    pub name: String,
    /// The first contact of type MobilePhone.
    pub mobile: Option<String>,
    /// That mobile contact allows text notifications.
    pub mobile_texts_allowed: bool,
    /// The first contact of type Email.
    pub email: Option<String>,
    /// The customer's zone (from the location's state), when known.
    pub zone: Option<Zone>,
    /// The customer's language, when known.
    pub locale: Option<Locale>,
}

impl Contact {
    /// The first name as Hatch reads it: after the comma of "Last, First", else the
    /// first word.
    pub fn first_name(&self) -> String {
        let name = self.name.trim();
        let first = match name.split_once(',') {
            Some((_, first)) => first.split_whitespace().next().unwrap_or(""),
            None => name.split_whitespace().next().unwrap_or(""),
        };
        first.to_string()
    }
}

/// What the customer agreed to on our booking card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingConsent {
    /// Texts to `phone`.
    pub sms: bool,
    /// Automated (AI) calls to `phone`.
    pub voice: bool,
    /// Ten digits.
    pub phone: String,
    /// First name they gave.
    pub first_name: String,
    /// Their language.
    pub locale: Locale,
    /// When they agreed.
    pub at: UnixSeconds,
}

impl BookingConsent {
    /// The consent a confirmed booking carries.
    pub fn from_request(request: &BookingRequest, at: UnixSeconds) -> BookingConsent {
        BookingConsent {
            sms: request.sms_consent,
            voice: request.voice_consent,
            phone: request.phone.digits.clone(),
            first_name: request.name.first.clone(),
            locale: request.locale,
            at,
        }
    }
}

/// A text the customer sent (the Twilio inbound webhook, signature checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundSms {
    /// `MessageSid`: the same text twice is one reply.
    pub message_sid: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
}

/// What an inbound text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Keyword {
    /// STOP and the other opt-out words: every recipe halts.
    Stop,
    /// START or UNSTOP: subscribed again.
    Start,
    /// HELP or INFO.
    Help,
    /// Anything else: a reply for the office.
    Reply,
}

/// Twilio's default opt-out words, with `OPT OUT` (FCC 24-18) and Spanish ones (the
/// site texts in Spanish; honouring more words is the safe side).
const STOP_WORDS: &str =
    "stop|stopall|unsubscribe|end|quit|revoke|optout|opt out|opt-out|cancel|alto|parar|para|baja|detener|cancelar";
const START_WORDS: &str = "start|unstop|comenzar";
const HELP_WORDS: &str = "help|info|ayuda";

impl Keyword {
    /// The whole message, case-insensitive, spaces and a final `.`/`!` aside ("Stop
    /// please" is a reply, as Twilio reads it).
    pub fn of(body: &str) -> Keyword {
        let word = crate::text::lowercase(body.trim().trim_end_matches(['.', '!']).trim());
        let is = |list: &'static str| crate::text::listed(list, &word);
        if is(STOP_WORDS) {
            Keyword::Stop
        } else if is(START_WORDS) {
            Keyword::Start
        } else if is(HELP_WORDS) {
            Keyword::Help
        } else {
            Keyword::Reply
        }
    }
}

/// The provider's answer to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum SendResult {
    /// Accepted (or found by the look-up before a retry).
    Sent {
        /// Twilio's `MessageSid`/`CallSid`, the email API's id.
        provider_id: String,
    },
    /// Refused. Twilio's `code` 21610: the recipient has unsubscribed.
    Failed {
        /// The provider's error code.
        code: Option<i64>,
        /// Its message.
        detail: String,
    },
    /// No answer (timeout, crash): it may have gone. The next try is a look-up first.
    Unknown,
    /// Not sent: the site's opt-out list says `number` texted STOP and then START, and
    /// this follow-up was scheduled before that START (its object missed the STOP, which
    /// halts everything pending; START brings back only new follow-ups). This follow-up
    /// alone is halted; the number is not blocked. From [`super::opt_out::refusal`].
    #[serde(rename_all = "camelCase")]
    ScheduledBeforeStart {
        /// The number on the list.
        number: String,
        /// The STOP, engine time.
        stopped_at: UnixSeconds,
        /// The START, engine time.
        started_at: UnixSeconds,
    },
}

/// Twilio: "Attempt to send to unsubscribed recipient".
pub const TWILIO_UNSUBSCRIBED: i64 = 21610;

/// The answer to a [`super::Recheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum RecheckResult {
    /// The entities as ServiceTitan has them now; one asked for and missing was not found.
    Read {
        /// What was read.
        observations: Vec<Observation>,
    },
    /// ServiceTitan did not answer: the send waits (it never goes unchecked).
    Unavailable {
        /// Why.
        detail: String,
    },
}

/// ServiceTitan's `modifiedOn` (`2026-03-02T15:00:00.1234567Z`) in milliseconds.
pub fn parse_modified_on(s: &str) -> Option<i64> {
    let seconds = crate::servicetitan::parse_iso8601(s)?;
    let s = s.trim();
    let millis = match s.get(19..).and_then(|rest| rest.strip_prefix('.')) {
        Some(fraction) => {
            let digits: String =
                fraction.chars().take_while(char::is_ascii_digit).chain("000".chars()).take(3).collect();
            digits.parse::<i64>().ok()?
        }
        None => 0,
    };
    seconds.checked_mul(1000)?.checked_add(millis)
}

/// ServiceTitan's money string (`"123.45"`, `"-5"`, `"1,200.00"`) in cents.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', "");
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty() || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        // Beyond cents: rounded up, so a balance of 0.001 is still owed, never "paid".
        _ => frac[..2].parse::<i64>().ok()? + i64::from(frac[2..].bytes().any(|b| b != b'0')),
    };
    let total = whole.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_the_whole_message() {
        for stop in ["STOP", "stop", " Stop. ", "UNSUBSCRIBE", "opt out", "Cancel", "QUIT!"] {
            assert_eq!(Keyword::of(stop), Keyword::Stop, "{stop}");
        }
        assert_eq!(Keyword::of("Stop please"), Keyword::Reply);
        assert_eq!(Keyword::of("start"), Keyword::Start);
        assert_eq!(Keyword::of("HELP"), Keyword::Help);
    }

    #[test]
    fn modified_on_keeps_milliseconds() {
        assert_eq!(parse_modified_on("1970-01-01T00:00:01.2345678Z"), Some(1234));
        assert_eq!(parse_modified_on("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_modified_on("1970-01-01T00:00:01.5-01:00"), Some(3_601_500));
        assert_eq!(parse_modified_on("nope"), None);
    }

    #[test]
    fn money() {
        assert_eq!(parse_money("123.45"), Some(12345));
        assert_eq!(parse_money("1,200"), Some(120000));
        assert_eq!(parse_money("0.001"), Some(1));
        assert_eq!(parse_money("-5.5"), Some(-550));
        assert_eq!(parse_money("abc"), None);
        assert_eq!(parse_money(""), None);
    }

    #[test]
    fn first_names() {
        let c = |n: &str| Contact { name: n.into(), ..Contact::default() };
        assert_eq!(c("Smith, Dana").first_name(), "Dana");
        assert_eq!(c("Dana Smith").first_name(), "Dana");
        assert_eq!(c("").first_name(), "");
    }
}
