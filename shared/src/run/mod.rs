//! The booking run: everything after "Book it", as a sans-IO state machine the Durable
//! Object only drives (quinn-proto's shape). It owns the [`BookingPipeline`] once the
//! request is submitted, the owner's webhooks and their retries, the 24 h give-up, the
//! long retry after it, and the "needs attention" entry.
//!
//! The shell's loop, storing the run after every call into it:
//!
//! ```text
//! loop { match run.next_action(now) {
//!     Action::Send(req)    => { store; let r = servicetitan(req); run.on_response(r, now) }
//!     Action::Deliver(d)   => { store; let r = sign_and_post(d); run.on_delivery(&d.id, r, now) }
//!     Action::Record(rec)  => { write rec to KV; run.on_recorded(now) }
//!     Action::WakeAt(t)    => { store; set_alarm(t); break }
//!     Action::Idle         => { store; break }
//! } }
//! ```
//!
//! | action | when |
//! |---|---|
//! | [`Action::Record`] | first, whenever one is pending: [`Record::Outcome`] when the booking is in ServiceTitan or finally failed (update the stored transcript), [`Record::Attention`] / [`Record::AttentionCleared`] when the attention entry changes, [`Record::Mismatch`] for a conversation that did not replay (store its transcript) |
//! | [`Action::Send`] | the pipeline has a ServiceTitan call to make (stored before sending: the pipeline's persistence contract) |
//! | [`Action::Deliver`] | a webhook is due: first try at once, retries [`RETRY_DELAYS`] then hourly, dropped after [`DELIVERY_GIVE_UP`] (and put on the attention list) |
//! | [`Action::WakeAt`] | nothing now: the earliest pipeline backoff, queued retry or webhook retry |
//! | [`Action::Idle`] | nothing pending until the next `submit`, `abandon` or `replay_mismatch` |
//!
//! Policy:
//!
//! | what happens | what the run does |
//! |---|---|
//! | ServiceTitan takes it (a job, or an office booking) | `session.completed`, [`Record::Outcome`], booking issues cleared |
//! | ServiceTitan refuses it, the office booking too | `booking.failed`, [`Cause::Refused`], [`Record::Outcome`] `failed` |
//! | credentials or scopes (token `invalid_client`, 401 twice, 403) | `booking.needs_attention` once, [`Cause::Configuration`], retried after 30 s once, then every 15 min; cleared by the next 2xx |
//! | not taken after [`GIVE_UP_AFTER`] (24 h) | `booking.failed` (retrying), [`Cause::GaveUp`], the pipeline files an office booking instead of the job; retried hourly until [`RETRY_FOR`] (7 days), then [`Record::Outcome`] `failed` |
//! | the promised window passed before the job was made | the pipeline re-plans it; `booking.needs_attention`, [`Cause::WindowReplanned`] |
//! | a webhook is refused for a day | dropped, [`Cause::WebhookUndelivered`] |
//! | the shell has no signing secret ([`DeliveryResult::NotSigned`]) | the delivery is held (never sent unsigned), [`Cause::WebhooksUnsigned`] |
//! | `abandon` before `submit` | `session.qualified_abandoned` once; a later `submit` cancels it if no attempt was made; after `submit` it is ignored |
//! | `abandon_to_office` with a phone or email and a problem, on a site with a booking provider | also an office booking in ServiceTitan ("Abandoned chat", the transcript; `externalId` = [`abandoned_external_id`](crate::servicetitan::pipeline::abandoned_external_id)), once, a chat's after [`ABANDONED_CHAT_GRACE`] (a reload is not leaving), a call's at once; a `submit` before its first call drops it, one already sent is finished (looked up, never doubled) before the booking; refused or not taken within [`RETRY_FOR`]: dropped (the webhook told the owner) |
//! | `replay_mismatch` | [`Record::Mismatch`], `booking.needs_attention`, [`Cause::ReplayMismatch`] |
//!
//! Without a `webhook_url` on the site nothing is delivered; records and attention
//! still are. Only one driver at a time: the shell serializes its fetch and alarm.

mod attention;
mod payloads;
mod webhooks;

use serde::{Deserialize, Serialize};

use crate::booking::{
    reference, Address, ArrivalWindow, Attribution, BookingRequest, Channel, Locale, PersonName, Phone, PreferredTime,
    Priority, Speaker, Trade, TranscriptLine, UnixSeconds, VisitKind,
};
use crate::conversation::UserTurn;
use crate::servicetitan::{iso8601, Booked, BookingPipeline, Outcome, QueueCause, StRequest, StResponse, Step};
use crate::site::SiteConfig;

pub use attention::{Attention, Cause, Issue};
pub use webhooks::{
    Delivery, DeliveryResult, WebhookEvent, DELIVERY_GIVE_UP, IN_FLIGHT_TIMEOUT, RETRY_DELAYS, RETRY_EVERY,
    UNSIGNED_RECHECK,
};

use payloads::Context;
use webhooks::{Outbox, Settled};

/// After this long without ServiceTitan taking the booking: tell the owner, file it for
/// the office instead, and slow down.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;
/// Retries stop this long after the submit.
pub const RETRY_FOR: i64 = 7 * 86400;
/// How long a chat's office booking for a qualified abandonment waits before it is filed.
/// The widget reports leaving on every page hide, and a homeowner who reloads, opens
/// another page of the site or switches apps for a minute comes back and books: the
/// office got "Abandoned chat: please call them back" seconds before the real job (CI
/// met it in the widget's reload test). A booking within this drops it. A call has no
/// such doubt (a hang-up is final): its office booking goes at once.
pub const ABANDONED_CHAT_GRACE: i64 = 10 * 60;
/// Between tries once given up.
pub const LONG_RETRY_EVERY: i64 = 3600;

/// What the shell should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Call ServiceTitan, then [`BookingRun::on_response`].
    Send(StRequest),
    /// POST a webhook (the shell signs it), then [`BookingRun::on_delivery`].
    Deliver(Delivery),
    /// Write to KV, then [`BookingRun::on_recorded`].
    Record(Record),
    /// Nothing now: set the alarm for then.
    WakeAt(UnixSeconds),
    /// Nothing pending.
    Idle,
}

/// How the booking ended, for the stored transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FinalStatus {
    /// A job exists.
    Booked,
    /// A booking for the office to schedule exists.
    FiledForOffice,
    /// ServiceTitan refused it, or did not take it within [`RETRY_FOR`]; it is on the
    /// attention list.
    Failed,
}

/// Something for the shell to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Record {
    /// The final outcome: update the stored transcript.
    #[serde(rename_all = "camelCase")]
    Outcome {
        /// How it ended.
        status: FinalStatus,
        /// Our reference.
        reference: String,
        /// ServiceTitan's records, when there are any.
        records: Option<Booked>,
        /// Why it failed or went to the office.
        reason: Option<String>,
        /// The job's arrival window.
        window: Option<ArrivalWindow>,
        /// When.
        at: UnixSeconds,
    },
    /// Put (or replace) this conversation's attention entry.
    Attention(Attention),
    /// Nothing needs attention any more: remove the entry.
    #[serde(rename_all = "camelCase")]
    AttentionCleared {
        /// Site id.
        site: String,
        /// Idempotency key.
        session: String,
    },
    /// Store the transcript of a conversation that did not replay.
    Mismatch(MismatchReport),
}

/// The homeowner left after giving contact details (the shell's replay decided that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AbandonReport {
    /// Name, when given.
    pub name: Option<String>,
    /// Phone digits, when given.
    pub phone: Option<String>,
    /// Email, when given.
    pub email: Option<String>,
    /// The homeowner's turns.
    pub turns: Vec<UserTurn>,
    /// The page the widget was on.
    pub page_url: Option<String>,
}

/// What else the conversation knew when the homeowner left, for the office booking of a
/// qualified abandonment ([`BookingRun::abandon_to_office`]). Apart from
/// [`AbandonReport`] so the shells that build reports keep compiling; every field is
/// optional on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AbandonedChat {
    /// The problem, as the conversation condensed it ("AC not cooling"); without one
    /// the office gets no booking (only the webhook).
    pub issue: Option<String>,
    /// The trade, when the conversation found it (else the site's first).
    pub trade: Option<Trade>,
    /// The address, as far as it was given.
    pub address: Option<Address>,
    /// The business the caller speaks for, if any.
    pub business: Option<String>,
    /// The whole conversation, both sides (else the homeowner's turns alone are used).
    pub transcript: Vec<TranscriptLine>,
    /// The conversation's language.
    pub locale: Locale,
    /// Chat or a phone call: the office booking says which ("Abandoned chat" or "Missed call").
    pub channel: Channel,
    /// Seconds the office booking waits for the homeowner to come back and book; `None`:
    /// [`ABANDONED_CHAT_GRACE`] for a chat, none for a call. Set by the worker only when
    /// a test shortens it (`ABANDONED_CHAT_GRACE_SECONDS`, which production never sets).
    pub grace: Option<i64>,
}

impl AbandonedChat {
    /// A phone or an email, and a problem: worth a call back from the office.
    fn qualified(&self, report: &AbandonReport) -> bool {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|x| !x.trim().is_empty());
        (given(&report.phone) || given(&report.email)) && given(&self.issue)
    }

    /// The request the office booking is built from.
    fn request(&self, report: &AbandonReport, site: &SiteConfig) -> BookingRequest {
        let name = report.name.as_deref().unwrap_or("").trim();
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        let unnamed = match self.channel {
            Channel::Chat => "Website visitor",
            Channel::Voice => "Caller",
        };
        let first = if first.is_empty() { unnamed } else { first };
        let transcript = if self.transcript.is_empty() {
            report.turns.iter().map(|t| TranscriptLine { speaker: Speaker::Homeowner, text: t.text.clone() }).collect()
        } else {
            self.transcript.clone()
        };
        BookingRequest {
            name: PersonName { first: first.into(), last: last.trim().into() },
            business: self.business.clone(),
            phone: Phone { digits: report.phone.clone().unwrap_or_default(), extension: None },
            email: report.email.clone(),
            address: self.address.clone().unwrap_or_default(),
            trade: self.trade.or(site.trades.first().map(|r| r.trade)).unwrap_or(Trade::Hvac),
            kind: VisitKind::Service,
            issue: self.issue.clone().unwrap_or_default(),
            priority: Priority::Normal,
            preferred_time: PreferredTime::default(),
            arrival_window: None,
            unconfirmed_window: None,
            referral_code: None,
            sms_consent: false,
            voice_consent: false,
            locale: self.locale,
            channel: self.channel,
            transcript,
        }
    }
}

/// The worker could not rebuild a confirmed booking from the submitted turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MismatchReport {
    /// What did not replay, in the worker's words.
    pub reason: String,
    /// Name, when the replay found one.
    pub name: Option<String>,
    /// Phone digits, when the replay found them.
    pub phone: Option<String>,
    /// Email, when the replay found one.
    pub email: Option<String>,
    /// The homeowner's turns, as submitted.
    pub turns: Vec<UserTurn>,
    /// The page the widget was on.
    pub page_url: Option<String>,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    /// Not submitted.
    Open,
    /// The pipeline is running.
    Booking,
    /// A day passed: the office booking is being filed, hourly.
    GivenUp,
    /// Finished.
    Done(FinalStatus),
}

/// One conversation's run. The shell stores it after every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRun {
    site: SiteConfig,
    tenant_id: i64,
    idempotency_key: String,
    reference: String,
    created_at: UnixSeconds,
    phase: Phase,
    submitted_at: Option<UnixSeconds>,
    pipeline: Option<BookingPipeline>,
    /// The pipeline is not asked before then (queued, or the hourly schedule).
    hold_until: Option<UnixSeconds>,
    abandoned: bool,
    /// The office booking for a qualified abandonment, while it is being filed.
    #[serde(default)]
    abandoned_chat: Option<BookingPipeline>,
    /// Its pipeline is not asked before then (queued).
    #[serde(default)]
    abandoned_hold: Option<UnixSeconds>,
    /// The abandoned chat's booking id, once ServiceTitan has it.
    #[serde(default)]
    abandoned_booking: Option<i64>,
    /// The last [`Action::Send`] was the abandoned chat's.
    #[serde(default)]
    abandoned_in_flight: bool,
    mismatched: bool,
    outbox: Outbox,
    /// Records to hand out, oldest first.
    records: Vec<Record>,
    attention: Attention,
}

impl BookingRun {
    /// A run for one conversation (`{site}:{idempotency key}`), before any submit.
    pub fn new(site: SiteConfig, tenant_id: i64, idempotency_key: String, now: UnixSeconds) -> BookingRun {
        let reference = reference(&idempotency_key);
        let attention = Attention {
            site: site.id.clone(),
            session: idempotency_key.clone(),
            reference: reference.clone(),
            name: None,
            phone: None,
            issues: vec![],
            retrying_until: None,
            updated_at: now,
        };
        BookingRun {
            site,
            tenant_id,
            idempotency_key,
            reference,
            created_at: now,
            phase: Phase::Open,
            submitted_at: None,
            pipeline: None,
            hold_until: None,
            abandoned: false,
            abandoned_chat: None,
            abandoned_hold: None,
            abandoned_booking: None,
            abandoned_in_flight: false,
            mismatched: false,
            outbox: Outbox::default(),
            records: vec![],
            attention,
        }
    }

    /// Starts booking the confirmed request. Once: later calls are ignored.
    pub fn submit(&mut self, request: BookingRequest, attribution: Attribution, now: UnixSeconds) {
        if self.phase != Phase::Open {
            return;
        }
        self.attention.name = Some(request.name.full());
        self.attention.phone = Some(request.phone.digits.clone());
        self.attention.retrying_until = Some(now + RETRY_FOR);
        let pipeline =
            BookingPipeline::new(request, self.site.clone(), attribution, self.idempotency_key.clone(), self.tenant_id);
        self.pipeline = Some(pipeline);
        self.submitted_at = Some(now);
        self.phase = Phase::Booking;
        // They booked after all: an abandonment not yet tried would be wrong news.
        self.outbox.cancel_unsent(WebhookEvent::SessionQualifiedAbandoned);
        if self.abandoned_chat.as_ref().is_some_and(|p| !p.started()) {
            self.abandoned_chat = None;
            self.abandoned_hold = None;
        }
    }

    /// The homeowner left with contact details given: `session.qualified_abandoned`,
    /// once, and never after a submit. (No office booking: see [`Self::abandon_to_office`].)
    pub fn abandon(&mut self, report: AbandonReport, now: UnixSeconds) {
        self.abandon_to_office(report, AbandonedChat::default(), now);
    }

    /// [`Self::abandon`], and when the homeowner gave a phone or email and a problem
    /// (`chat.issue`) on a site with a booking provider, an office booking in
    /// ServiceTitan too ("Abandoned chat", with the transcript), once per conversation.
    pub fn abandon_to_office(&mut self, report: AbandonReport, chat: AbandonedChat, now: UnixSeconds) {
        if self.phase != Phase::Open || self.abandoned {
            return;
        }
        self.abandoned = true;
        let data = self.context().abandoned(&report);
        self.queue(WebhookEvent::SessionQualifiedAbandoned, data, now);
        if chat.qualified(&report) && self.site.booking_provider_id > 0 {
            let request = chat.request(&report, &self.site);
            let p = BookingPipeline::abandoned_chat(
                request,
                self.site.clone(),
                self.idempotency_key.clone(),
                self.tenant_id,
            );
            self.abandoned_chat = Some(p);
            let grace = chat.grace.unwrap_or(match chat.channel {
                Channel::Chat => ABANDONED_CHAT_GRACE,
                Channel::Voice => 0,
            });
            if grace > 0 {
                self.abandoned_hold = Some(now + grace);
            }
        }
    }

    /// The abandoned chat's office booking id, once ServiceTitan has it.
    pub fn abandoned_booking(&self) -> Option<i64> {
        self.abandoned_booking
    }

    /// The submitted turns did not replay into a booking: the transcript is stored
    /// ([`Record::Mismatch`]) and the owner told. Once, and never after a submit.
    pub fn replay_mismatch(&mut self, report: MismatchReport, now: UnixSeconds) {
        if self.phase != Phase::Open || self.mismatched {
            return;
        }
        self.mismatched = true;
        self.attention.name = report.name.clone();
        self.attention.phone = report.phone.clone();
        let data = self.context().mismatch(&report);
        self.records.push(Record::Mismatch(report.clone()));
        self.queue(WebhookEvent::BookingNeedsAttention, data, now);
        self.raise(Cause::ReplayMismatch, report.reason, now);
    }

    /// Our reference for this conversation.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The attention entry, while anything needs attention.
    pub fn attention(&self) -> Option<&Attention> {
        (!self.attention.issues.is_empty()).then_some(&self.attention)
    }

    /// How the booking ended, once it has.
    pub fn finished(&self) -> Option<FinalStatus> {
        match self.phase {
            Phase::Done(s) => Some(s),
            _ => None,
        }
    }

    /// The pipeline, once submitted (calls made, decision, window).
    pub fn pipeline(&self) -> Option<&BookingPipeline> {
        self.pipeline.as_ref()
    }

    /// Webhook events queued and not yet accepted, oldest first.
    pub fn pending_webhooks(&self) -> Vec<WebhookEvent> {
        self.outbox.events()
    }

    /// The next thing to do.
    pub fn next_action(&mut self, now: UnixSeconds) -> Action {
        if let Some(r) = self.records.first() {
            return Action::Record(r.clone());
        }
        let abandoned_wake = match self.drive_abandoned_chat(now) {
            Ok(req) => return Action::Send(req),
            Err(wake) => wake,
        };
        let pipeline_wake = match self.drive_pipeline(now) {
            Ok(req) => return Action::Send(req),
            Err(wake) => wake,
        };
        // The pipeline may just have finished and queued a record.
        if let Some(r) = self.records.first() {
            return Action::Record(r.clone());
        }
        if let Some(d) = self.outbox.next(now) {
            return Action::Deliver(d);
        }
        match pipeline_wake.into_iter().chain(abandoned_wake).chain(self.outbox.wake()).min() {
            Some(t) => Action::WakeAt(t.max(now + 1)),
            None => Action::Idle,
        }
    }

    /// The answer to the last [`Action::Send`].
    pub fn on_response(&mut self, response: StResponse, now: UnixSeconds) {
        let ok = (200..300).contains(&response.status);
        if std::mem::take(&mut self.abandoned_in_flight) {
            if let Some(p) = self.abandoned_chat.as_mut() {
                p.on_response(response, now);
            }
            return;
        }
        let Some(p) = self.pipeline.as_mut() else { return };
        p.on_response(response, now);
        if ok && self.attention.clear(|c| c == Cause::Configuration, now) {
            // The credentials work again.
            self.record_attention();
        }
    }

    /// The answer to an [`Action::Deliver`] with this id.
    pub fn on_delivery(&mut self, id: &str, result: DeliveryResult, now: UnixSeconds) {
        match self.outbox.settle(id, result, now) {
            Settled::Delivered(_) => {
                if self.attention.clear(|c| c == Cause::WebhooksUnsigned, now) {
                    self.record_attention();
                }
            }
            Settled::Held => {
                let detail = "WEBHOOK_SECRET is unset or empty: webhooks are held, never sent unsigned".to_string();
                self.raise(Cause::WebhooksUnsigned, detail, now);
            }
            Settled::Dropped(d) => {
                let detail = format!("the {} webhook ({}) was not accepted within a day", d.event.as_str(), d.id);
                self.raise(Cause::WebhookUndelivered, detail, now);
            }
            Settled::Retrying | Settled::Unknown => {}
        }
    }

    /// The last [`Action::Record`] is stored.
    pub fn on_recorded(&mut self, _now: UnixSeconds) {
        if !self.records.is_empty() {
            self.records.remove(0);
        }
    }

    /// The abandoned chat's office booking: a request to send, or when it next wants to
    /// be asked. It goes before the booking pipeline: once it has sent anything it is
    /// finished first, so a write it made is looked up, not left half done.
    fn drive_abandoned_chat(&mut self, now: UnixSeconds) -> Result<StRequest, Option<UnixSeconds>> {
        if let Some(t) = self.abandoned_hold.filter(|t| now < *t) {
            return Err(Some(t));
        }
        self.abandoned_hold = None;
        let Some(p) = self.abandoned_chat.as_mut() else { return Err(None) };
        match p.next_request(now) {
            Step::Send(req) => {
                self.abandoned_in_flight = true;
                Ok(req)
            }
            Step::Wait { until } => Err(Some(until)),
            Step::Done(Outcome::Queued { retry_at, .. }) if now < self.created_at + RETRY_FOR => {
                self.abandoned_hold = Some(retry_at);
                Err(Some(retry_at))
            }
            Step::Done(Outcome::Booked(b)) => {
                self.abandoned_booking = b.booking_id;
                self.abandoned_chat = None;
                Err(None)
            }
            // Refused, or not taken within a week: the webhook told the owner.
            Step::Done(_) => {
                self.abandoned_chat = None;
                Err(None)
            }
        }
    }

    /// A request to send, or when the pipeline next wants to be asked.
    fn drive_pipeline(&mut self, now: UnixSeconds) -> Result<StRequest, Option<UnixSeconds>> {
        if !matches!(self.phase, Phase::Booking | Phase::GivenUp) {
            return Err(None);
        }
        if let Some(t) = self.hold_until.filter(|t| now < *t) {
            return Err(Some(t));
        }
        self.hold_until = None;
        let Some(p) = self.pipeline.as_mut() else { return Err(None) };
        match p.next_request(now) {
            Step::Send(req) => Ok(req),
            Step::Wait { until } => Err(Some(until)),
            Step::Done(outcome) => {
                self.on_outcome(outcome, now);
                Err(self.hold_until)
            }
        }
    }

    fn on_outcome(&mut self, outcome: Outcome, now: UnixSeconds) {
        match outcome {
            Outcome::Booked(records) => self.booked(records, now),
            Outcome::Failed { message } => {
                self.raise(Cause::Refused, message.clone(), now);
                self.failed(message, now);
            }
            Outcome::Queued { reason, retry_at } => self.queued(reason, retry_at, now),
        }
    }

    fn booked(&mut self, records: Booked, now: UnixSeconds) {
        let Some(p) = self.pipeline.as_ref() else { return };
        let status = if records.job_id.is_some() { FinalStatus::Booked } else { FinalStatus::FiledForOffice };
        let replanned = p.replanned_from();
        let (window, office) = (p.window().filter(|_| records.job_id.is_some()), p.office_review().map(str::to_string));
        let data = self.context().completed(p.request(), &records, office.as_deref(), window);
        let reason = office;
        self.phase = Phase::Done(status);
        self.attention.retrying_until = None;
        self.records.push(Record::Outcome {
            status,
            reference: self.reference.clone(),
            records: Some(records),
            reason,
            window,
            at: now,
        });
        self.queue(WebhookEvent::SessionCompleted, data, now);
        if self.attention.clear(Cause::ends_with_booking, now) {
            self.record_attention();
        }
        if let Some(w) = replanned {
            let promised = format!("the promised window {} to {} passed", iso8601(w.start), iso8601(w.end));
            let detail = match window {
                Some(n) => format!(
                    "{promised}; the job is booked {} to {}: call the homeowner",
                    iso8601(n.start),
                    iso8601(n.end)
                ),
                None => format!("{promised}; filed for the office to schedule: call the homeowner"),
            };
            self.tell_owner(Cause::WindowReplanned, detail, now);
        }
    }

    /// The end: nothing more will be tried.
    fn failed(&mut self, reason: String, now: UnixSeconds) {
        self.phase = Phase::Done(FinalStatus::Failed);
        self.attention.retrying_until = None;
        self.hold_until = None;
        self.records.push(Record::Outcome {
            status: FinalStatus::Failed,
            reference: self.reference.clone(),
            records: None,
            reason: Some(reason.clone()),
            window: None,
            at: now,
        });
        if let Some(p) = self.pipeline.as_ref() {
            let data = self.context().failed(p.request(), &reason, None);
            self.queue(WebhookEvent::BookingFailed, data, now);
        }
        self.record_attention();
    }

    fn queued(&mut self, reason: String, retry_at: UnixSeconds, now: UnixSeconds) {
        let submitted = self.submitted_at.unwrap_or(self.created_at);
        let cause = self.pipeline.as_ref().and_then(BookingPipeline::queue_cause);
        if cause == Some(QueueCause::Configuration) {
            self.tell_owner(Cause::Configuration, reason.clone(), now);
        }
        if now >= submitted + RETRY_FOR {
            let why = format!("ServiceTitan did not take the booking within 7 days: {reason}");
            self.raise(Cause::GaveUp, why.clone(), now);
            return self.failed(why, now);
        }
        if now >= submitted + GIVE_UP_AFTER && self.phase == Phase::Booking {
            self.give_up(&reason, now);
        }
        self.hold_until = Some(match self.phase {
            Phase::GivenUp => retry_at.max(now + LONG_RETRY_EVERY),
            _ => retry_at,
        });
    }

    /// A day without ServiceTitan taking it: the owner hears, the office gets it.
    fn give_up(&mut self, reason: &str, now: UnixSeconds) {
        self.phase = Phase::GivenUp;
        let until = self.submitted_at.unwrap_or(self.created_at) + RETRY_FOR;
        let why = format!(
            "ServiceTitan has not taken the booking for 24 hours ({reason}); still trying hourly as an office booking"
        );
        if let Some(p) = self.pipeline.as_mut() {
            p.give_to_office(format!("ServiceTitan did not take it as a job for 24 hours ({reason})"));
        }
        if let Some(p) = self.pipeline.as_ref() {
            let data = self.context().failed(p.request(), &why, Some(until));
            self.queue(WebhookEvent::BookingFailed, data, now);
        }
        self.raise(Cause::GaveUp, why, now);
    }

    /// Raises `cause` and, when it is new, sends `booking.needs_attention`.
    fn tell_owner(&mut self, cause: Cause, detail: String, now: UnixSeconds) {
        if self.attention.has(cause) {
            return self.raise(cause, detail, now);
        }
        if let Some(p) = self.pipeline.as_ref() {
            let data = self.context().attention(p.request(), cause, &detail);
            self.queue(WebhookEvent::BookingNeedsAttention, data, now);
        }
        self.raise(cause, detail, now);
    }

    fn raise(&mut self, cause: Cause, detail: String, now: UnixSeconds) {
        let before = self.attention.clone();
        self.attention.raise(cause, detail, now);
        if self.attention.issues != before.issues {
            self.record_attention();
        }
    }

    /// Queues the attention entry as it is now, replacing one not yet handed out.
    fn record_attention(&mut self) {
        let keep_head = usize::from(!self.records.is_empty());
        let mut i = keep_head;
        while i < self.records.len() {
            if matches!(self.records[i], Record::Attention(_) | Record::AttentionCleared { .. }) {
                self.records.remove(i);
            } else {
                i += 1;
            }
        }
        self.records.push(match self.attention() {
            Some(a) => Record::Attention(a.clone()),
            None => Record::AttentionCleared { site: self.site.id.clone(), session: self.idempotency_key.clone() },
        });
    }

    fn queue(&mut self, event: WebhookEvent, data: serde_json::Value, now: UnixSeconds) {
        let Some(url) = self.site.webhook_url.clone().filter(|u| !u.trim().is_empty()) else { return };
        self.outbox.queue(&url, &self.idempotency_key, event, data, now);
    }

    fn context(&self) -> Context<'_> {
        Context { site: &self.site.id, session: &self.idempotency_key, reference: &self.reference }
    }
}
