//! The booking pipeline: which ServiceTitan calls to make, in which order, and what a
//! failure means. Sans-IO: the shell sends [`StRequest`](super::StRequest)s and feeds back [`StResponse`]s.
//!
//! Plan (fewest calls):
//!
//! | step | call | when |
//! |---|---|---|
//! | search by phone | `GET /crm/v2/tenant/{t}/customers?phone=` | always (booking mode: only to tell the office "first-time client") |
//! | search by address | `GET …/customers?street=&zip=` | job modes, no phone hit |
//! | list locations | `GET …/locations?customerId=` | once per candidate (at most 3) |
//! | list contacts | `GET …/customers/{id}/contacts` | only when the homeowner gave an email and whether a candidate has it would change the decision (see below) |
//! | create customer | `POST …/customers` (location + contacts inline) | decision New |
//! | add location | `POST …/locations` | decision Existing at a new property |
//! | create job | `POST /jpm/v2/tenant/{t}/jobs` (one appointment) | job modes |
//! | create estimate | `POST /sales/v2/tenant/{t}/estimates` | quote requests |
//! | job notes | `POST …/jobs/{id}/notes` | summary + transcript, split at [`transcript::NOTE_LIMIT`](crate::transcript::NOTE_LIMIT) |
//! | customer note | `POST /crm/v2/tenant/{t}/customers/{id}/notes` | summary |
//! | create booking | `POST …/booking-provider/{bp}/bookings` (`externalId` = idempotency key) | booking / job+booking modes, ambiguous match, no arrival window |
//!
//! Calls per scenario (`tests/pipeline.rs` `calls_per_scenario` asserts these):
//!
//! | scenario | calls |
//! |---|---|
//! | new customer | 6: search by phone, search by address, create customer, create job, job note, customer note |
//! | existing customer, known property | 5: search by phone, list locations, create job, job note, customer note |
//! | existing customer, new property | 6: as above plus add location |
//! | quote request (existing customer) | 6: as known property plus create estimate |
//! | booking mode | 2: search by phone, create booking |
//! | job + booking mode (new customer) | 7: new customer plus create booking |
//! | ambiguous match | 3: search by phone, list locations, create booking |
//! | no arrival window | 2: search by phone, create booking |
//! | same address and last name, the homeowner's email on file | 7: search by phone, search by address, list locations, **list contacts**, create job, notes |
//!
//! Contacts are listed only when the homeowner gave a (non-placeholder) email and some
//! candidate having it would change the decision (alone or with other candidates:
//! at most 3 candidates, so at most 7 what-ifs, no call). A phone hit with name and
//! place already matching, any booking without an email, and a new customer cost
//! nothing extra; a tie between duplicates costs one call per tied candidate.
//!
//! Exactly-once: a write whose outcome is unknown (no response, 5xx, or the pipeline
//! was stored after `next_request` handed the write out and never saw the answer) is
//! looked up before it is sent again: customers by phone + name, locations by address,
//! jobs by customer + location + job type + creation time, bookings by `externalId`,
//! estimates by job, notes by their `[ref key i/n]` line.
//!
//! **Persistence contract for the shell:** store the pipeline after `next_request`
//! returns [`Step::Send`] (before sending) and after every `on_response`.
//!
//! Errors:
//!
//! | answer | what the pipeline does |
//! |---|---|
//! | 400 on create customer, location or job | the request goes to the office as a booking, ServiceTitan's refusal as the office-review reason |
//! | 400 on anything else (the office booking too) | [`Outcome::Failed`] with ServiceTitan's message |
//! | 401 | the same call again with `fresh_token` (once); a second 401 → queued, [`QueueCause::Configuration`] |
//! | 403, or the token endpoint refusing us (an OAuth error body such as `invalid_client`, on 400 or 401) | queued, [`QueueCause::Configuration`]: never a drop; the first time retried after [`CONFIGURATION_RECHECK`], then every [`QUEUE_DELAY`] |
//! | 404/409 on a write naming our ids | re-plan from the search (at most twice, then a booking for the office) |
//! | 429/5xx/no response | retry after Retry-After or exponential backoff; after [`MAX_ATTEMPTS`] → [`Outcome::Queued`], the first time retried after [`UNAVAILABLE_RECHECK`], then every [`QUEUE_DELAY`] |
//! | held by our tenant pacer ([`StResponse::is_held`]: never sent) | wait its Retry-After; not a try |
//!
//! A job's arrival window is checked when the job is created: one that starts sooner
//! than [`STILL_REACHABLE`] from now (ServiceTitan was down past it) is re-planned from the
//! homeowner's stated preference, else the request goes to the office; it is never sent.
//! [`BookingPipeline::give_to_office`] is how the run files an office booking after a day
//! of failures.
//!
//! The job and booking summaries carry a `Web reference: W-XXXX-XXXX` line
//! ([`crate::booking::reference`]); the look-up after a lost create-job answer takes only
//! the job whose summary has it, never another recent job of the same customer.
//!
//! This file is the state machine (stages, retries, error mapping); the request for each
//! stage is built in `requests.rs` and each answer is read in `responses.rs`.

mod requests;
mod responses;

use serde::{Deserialize, Serialize};

use crate::booking::{ArrivalWindow, Attribution, BookingRequest, UnixSeconds};
use crate::matching::{Candidate, Decision};
use crate::site::{BookingMode, SiteConfig};

use super::availability::window_for_preference;
use super::models::*;
use super::{Booked, Outcome, QueueCause, StResponse, Step};

/// A promised window that starts at least this far ahead is still booked as promised.
/// Smaller than the offering lead time ([`super::availability::LEAD_TIME`]) on purpose: a window picked at the
/// edge of the lead time must not be re-planned a minute later in normal operation.
pub const STILL_REACHABLE: i64 = 15 * 60;
/// Attempts per call before the booking is queued.
pub const MAX_ATTEMPTS: u32 = 6;
/// Longest backoff between attempts, seconds.
pub const MAX_BACKOFF: u64 = 300;
/// A refused credential is tried again this soon, once, before the quarter-hour queue:
/// a token endpoint that refuses once (an auth hiccup, a secret rotated a moment before)
/// kept the booking out of ServiceTitan for 15 minutes (the bench's fault matrix).
pub const CONFIGURATION_RECHECK: i64 = 30;
/// A booking queued after [`MAX_ATTEMPTS`] failed tries is tried again this soon, once,
/// before the quarter-hour queue: a burst of throttling and timeouts (a tenant at its
/// 60 calls/s, an isolate starved past the call's timeout) passes within a minute or
/// two, and the bench's load saw 5 of 1,000 bookings wait 15 minutes for ServiceTitan
/// after one. An outage costs one more round of tries.
pub const UNAVAILABLE_RECHECK: i64 = 120;
/// How long a queued booking waits before the pipeline tries again.
pub const QUEUE_DELAY: i64 = 900;
/// Phone hits beyond this are "too many to tell apart".
pub const MAX_CANDIDATES: usize = 3;
/// Re-plans after stale ids before giving the booking to the office.
pub const MAX_REPLANS: u32 = 2;

/// Where the pipeline is. Named after what it does next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Stage {
    SearchByPhone,
    SearchByAddress,
    ListLocations {
        candidate: usize,
    },
    /// A candidate's contacts, when whether its email is the homeowner's would change
    /// the decision (the email rule of `matching/RULES.md`).
    ListContacts {
        candidate: usize,
    },
    CreateCustomer,
    /// Find the location of a customer we created (response lost) or add one.
    FindLocation,
    CreateLocation,
    CreateJob,
    CreateEstimate,
    JobNote {
        part: usize,
    },
    CustomerNote,
    CreateBooking,
    Finished(Outcome),
}

/// The booking pipeline. Serializable after every call so a crash resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingPipeline {
    request: BookingRequest,
    site: SiteConfig,
    attribution: Attribution,
    idempotency_key: String,
    tenant_id: i64,
    stage: Stage,
    booked: Booked,
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    decision: Option<Decision>,
    /// Candidates whose contacts were listed (their emails and phones are known).
    #[serde(default)]
    contacts_listed: Vec<i64>,
    /// Set once, on the first `next_request`: the appointment for the job, or `None`
    /// when there is neither a chosen window nor a stated preference.
    #[serde(default)]
    window: Option<ArrivalWindow>,
    #[serde(default)]
    planned: bool,
    /// Why this goes to the office as a booking instead of a job, if it does.
    #[serde(default)]
    office_review: Option<String>,
    /// A write was handed out and its outcome is unknown: look it up before resending.
    #[serde(default)]
    unconfirmed: bool,
    /// The current request is that look-up.
    #[serde(default)]
    looking_up: bool,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    fresh_token: bool,
    #[serde(default)]
    refreshed: bool,
    #[serde(default)]
    wait_until: Option<UnixSeconds>,
    #[serde(default)]
    queued: Option<(String, UnixSeconds)>,
    /// The one early retry after a refused credential ([`CONFIGURATION_RECHECK`]) is spent.
    #[serde(default)]
    configuration_rechecked: bool,
    /// The one early retry after a burst of failed tries ([`UNAVAILABLE_RECHECK`]) is spent.
    #[serde(default)]
    unavailable_rechecked: bool,
    #[serde(default)]
    replans: u32,
    #[serde(default)]
    stale_customers: Vec<i64>,
    /// When the first write of the current stage went out (job look-up window).
    #[serde(default)]
    first_write_at: Option<UnixSeconds>,
    #[serde(default)]
    calls: u32,
    /// Why the current queue is waiting (configuration problems are told at once).
    #[serde(default)]
    queue_cause: Option<QueueCause>,
    /// Go to the office as a booking as soon as no write is unconfirmed.
    #[serde(default)]
    office_fallback: bool,
    /// The window the homeowner was promised, when it passed before the job was
    /// created and another was planned.
    #[serde(default)]
    replanned_from: Option<ArrivalWindow>,
    /// A qualified abandonment filed for the office (see [`BookingPipeline::abandoned_chat`]).
    #[serde(default)]
    abandoned_chat: bool,
}

impl BookingPipeline {
    /// A pipeline for one confirmed booking.
    pub fn new(
        request: BookingRequest,
        site: SiteConfig,
        attribution: Attribution,
        idempotency_key: String,
        tenant_id: i64,
    ) -> BookingPipeline {
        let mut request = request;
        // A code from the page URL (referral link, Extole's utm_content) is the
        // homeowner's referral code as much as one typed in the chat: it goes into the
        // job summary and notes, and into the referral custom field when one is set.
        if request.referral_code.is_none() {
            request.referral_code = attribution.referral_code.clone();
        }
        BookingPipeline {
            request,
            site,
            attribution,
            idempotency_key,
            tenant_id,
            stage: Stage::SearchByPhone,
            booked: Booked::default(),
            candidates: vec![],
            decision: None,
            contacts_listed: vec![],
            window: None,
            planned: false,
            office_review: None,
            unconfirmed: false,
            looking_up: false,
            attempts: 0,
            fresh_token: false,
            refreshed: false,
            wait_until: None,
            queued: None,
            configuration_rechecked: false,
            unavailable_rechecked: false,
            replans: 0,
            stale_customers: vec![],
            first_write_at: None,
            calls: 0,
            queue_cause: None,
            office_fallback: false,
            replanned_from: None,
            abandoned_chat: false,
        }
    }

    /// A pipeline that only files a booking for the office (booking provider) for a
    /// homeowner who left after giving a phone or email and a problem: no search, no
    /// customer, no job. The summary starts "Abandoned chat"; its `externalId` is
    /// [`abandoned_external_id`] (not the idempotency key itself: a later booking of
    /// the same conversation looks its own booking up by that key and must not take
    /// this one for it).
    pub fn abandoned_chat(
        request: BookingRequest,
        site: SiteConfig,
        idempotency_key: String,
        tenant_id: i64,
    ) -> BookingPipeline {
        let mut p = BookingPipeline::new(request, site, Attribution::default(), idempotency_key, tenant_id);
        p.abandoned_chat = true;
        p.planned = true;
        p.stage = Stage::CreateBooking;
        p
    }

    /// The `externalId` this pipeline's booking carries.
    pub(super) fn external_id(&self) -> String {
        if self.abandoned_chat {
            abandoned_external_id(&self.idempotency_key)
        } else {
            self.idempotency_key.clone()
        }
    }

    /// Whether a request was ever handed out (a write may exist).
    pub fn started(&self) -> bool {
        self.calls > 0 || self.unconfirmed
    }

    /// The idempotency key this pipeline books under.
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// Calls answered so far (for `cargo xtask bench` and logs).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// The matching decision, once made.
    pub fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }

    /// Why the request went to the office as a booking, if it did.
    pub fn office_review(&self) -> Option<&str> {
        self.office_review.as_deref()
    }

    /// The appointment window the job is (or will be) booked in.
    pub fn window(&self) -> Option<ArrivalWindow> {
        self.window
    }

    /// The confirmed request this pipeline books.
    pub fn request(&self) -> &BookingRequest {
        &self.request
    }

    /// Why the booking is queued, while it is.
    pub fn queue_cause(&self) -> Option<QueueCause> {
        self.queued.as_ref().and(self.queue_cause)
    }

    /// The promised window, when it passed before the job was created and the job got
    /// another (or went to the office): the office must tell the homeowner.
    pub fn replanned_from(&self) -> Option<ArrivalWindow> {
        self.replanned_from
    }

    /// Gives up on the job and files the request for the office (the run calls this
    /// after a day of failures): from the next call on, unless a job already exists or
    /// the office booking is what is already being sent. A write whose outcome is
    /// unknown is looked up first, so a job that did get created is kept, not doubled.
    /// Returns whether the plan changed.
    pub fn give_to_office(&mut self, reason: String) -> bool {
        if !self.before_job() || !self.office_possible() {
            return false;
        }
        self.office_review = Some(reason);
        self.office_fallback = true;
        true
    }

    /// Still before the job exists (an office booking would not double anything).
    fn before_job(&self) -> bool {
        self.booked.job_id.is_none()
            && !matches!(
                self.stage,
                Stage::CreateBooking
                    | Stage::Finished(_)
                    | Stage::CreateEstimate
                    | Stage::JobNote { .. }
                    | Stage::CustomerNote
            )
    }

    /// The site has a booking provider to file office bookings with.
    fn office_possible(&self) -> bool {
        self.site.booking_provider_id > 0
    }

    /// The next thing to do.
    pub fn next_request(&mut self, now: UnixSeconds) -> Step {
        if let Stage::Finished(o) = &self.stage {
            return Step::Done(o.clone());
        }
        if let Some((reason, retry_at)) = &self.queued {
            if now < *retry_at {
                return Step::Done(Outcome::Queued { reason: reason.clone(), retry_at: *retry_at });
            }
            self.queued = None;
            self.attempts = 0;
        }
        if let Some(until) = self.wait_until {
            if now < until {
                return Step::Wait { until };
            }
            self.wait_until = None;
        }
        if !self.planned {
            self.plan_window(now);
        }
        if self.office_fallback && !self.unconfirmed && self.before_job() {
            self.office_fallback = false;
            self.stage = Stage::CreateBooking;
        }
        if self.stage == Stage::CreateJob && !self.unconfirmed {
            self.replan_if_passed(now);
        }
        let is_write = self.is_write();
        self.looking_up = is_write && self.unconfirmed;
        let req = if self.looking_up { self.lookup_request(now) } else { self.request_for_stage() };
        if is_write && !self.looking_up {
            self.unconfirmed = true;
            self.first_write_at.get_or_insert(now);
        }
        let mut req = req;
        req.fresh_token = std::mem::take(&mut self.fresh_token);
        Step::Send(req)
    }

    fn plan_window(&mut self, now: UnixSeconds) {
        self.planned = true;
        self.window = match self.request.arrival_window {
            Some(w) if w.start > now => Some(w),
            _ => window_for_preference(&self.site, self.request.preferred_time, now),
        };
        if let Some(w) = self.request.unconfirmed_window {
            let picked = crate::conversation::window_label(crate::booking::Locale::En, w, self.site.utc_offset_minutes);
            self.office_review =
                Some(format!("the homeowner picked {picked}, which could not be confirmed against capacity"));
        } else if self.site.mode != BookingMode::Booking && self.window.is_none() {
            self.office_review = Some("no arrival window chosen or preferred".into());
        }
    }

    /// A window that starts too soon to reach (ServiceTitan was down past it) is never
    /// sent: plan again from the stated preference, else give it to the office.
    fn replan_if_passed(&mut self, now: UnixSeconds) {
        let Some(w) = self.window else { return };
        if w.start >= now + STILL_REACHABLE {
            return;
        }
        self.replanned_from.get_or_insert(w);
        self.window = window_for_preference(&self.site, self.request.preferred_time, now);
        if self.window.is_none() {
            self.office_review = Some("the arrival window passed before ServiceTitan took the booking".into());
            self.stage = Stage::CreateBooking;
        }
    }

    fn is_write(&self) -> bool {
        matches!(
            self.stage,
            Stage::CreateCustomer
                | Stage::CreateLocation
                | Stage::CreateJob
                | Stage::CreateEstimate
                | Stage::JobNote { .. }
                | Stage::CustomerNote
                | Stage::CreateBooking
        )
    }

    /// Feeds the response to the last request.
    pub fn on_response(&mut self, response: StResponse, now: UnixSeconds) {
        if matches!(self.stage, Stage::Finished(_)) {
            return;
        }
        // A call our pacer held back reached nobody.
        if !response.is_held() {
            self.calls += 1;
        }
        let status = response.status;
        if let Some(code) = token_refusal(&response) {
            // Nothing reached the API: the call was not applied, and only the owner can
            // fix the credentials. Kept and retried, never failed.
            self.not_sent();
            let why = format!(
                "ServiceTitan's token endpoint refused our credentials ({code}): check the client id and secret"
            );
            return self.queue_for_configuration(why, now);
        }
        match status {
            200..=299 => {
                self.attempts = 0;
                self.refreshed = false;
                self.queue_cause = None;
                if self.looking_up {
                    self.on_lookup(&response.body);
                } else {
                    self.on_success(&response.body);
                }
            }
            401 => {
                // Not applied. Refresh the token once; a second 401 is a credentials
                // problem the office must fix: keep the booking.
                self.not_sent();
                if self.refreshed {
                    self.refreshed = false;
                    self.queue_for_configuration("ServiceTitan rejected our credentials twice".into(), now);
                } else {
                    self.refreshed = true;
                    self.fresh_token = true;
                }
            }
            429 if response.is_held() => {
                // Our pacer's turn, not ServiceTitan's refusal: nothing was sent, and
                // waiting for a turn is not a failed try.
                if !self.looking_up {
                    self.unconfirmed = false;
                }
                self.wait_until = Some(now + response.retry_after.unwrap_or(1).clamp(1, 3600) as i64);
            }
            429 | 500..=599 | 0 => {
                if status == 429 && !self.looking_up {
                    // Throttled before it was processed: not applied.
                    self.unconfirmed = false;
                }
                self.attempts += 1;
                let what = match status {
                    0 => "no response from ServiceTitan".to_string(),
                    429 => "ServiceTitan rate limit".to_string(),
                    s => format!("ServiceTitan error {s}"),
                };
                if self.attempts >= MAX_ATTEMPTS {
                    self.queue(format!("{what} after {MAX_ATTEMPTS} attempts"), now);
                } else {
                    let backoff = (1u64 << self.attempts.min(16)).min(MAX_BACKOFF);
                    let wait = response.retry_after.unwrap_or(backoff).min(3600);
                    self.wait_until = Some(now + wait as i64);
                }
            }
            403 => {
                // The app lacks a scope or the tenant revoked it: the owner's to fix.
                self.not_sent();
                let why = ApiError::message(&response.body, status);
                self.queue_for_configuration(
                    format!("ServiceTitan refused access (403), check the app's API scopes: {why}"),
                    now,
                );
            }
            400 if !self.looking_up && self.is_refusable_create() && self.office_possible() => {
                // ServiceTitan will not take this customer, location or job as we built
                // it; a booking for the office carries the request and the refusal.
                self.unconfirmed = false;
                let what = match self.stage {
                    Stage::CreateCustomer => "customer",
                    Stage::CreateLocation => "location",
                    _ => "job",
                };
                self.office_review =
                    Some(format!("ServiceTitan refused the {what}: {}", ApiError::message(&response.body, status)));
                self.stage = Stage::CreateBooking;
            }
            404 | 409 if self.looking_up => {
                // The thing we looked in is gone: nothing of ours there.
                self.looking_up = false;
                self.unconfirmed = false;
            }
            404 | 409 if self.is_stale_ids_stage() => {
                self.unconfirmed = false;
                self.replan();
            }
            404 | 409 if matches!(self.stage, Stage::JobNote { .. } | Stage::CustomerNote) => {
                // The records exist; a missing note target should not fail the booking.
                self.unconfirmed = false;
                self.after_notes_step();
            }
            _ => {
                self.unconfirmed = false;
                self.finish(Outcome::Failed { message: ApiError::message(&response.body, status) });
            }
        }
    }

    /// The call was not applied (401/403/token refusal): a look-up stays owed only for
    /// an earlier write, a write handed out just now did not happen.
    fn not_sent(&mut self) {
        if self.looking_up {
            self.looking_up = false;
        } else {
            self.unconfirmed = false;
        }
    }

    fn is_refusable_create(&self) -> bool {
        matches!(self.stage, Stage::CreateCustomer | Stage::CreateLocation | Stage::CreateJob)
    }

    fn queue_for_configuration(&mut self, reason: String, now: UnixSeconds) {
        self.queue_as(reason, QueueCause::Configuration, now);
    }

    fn is_stale_ids_stage(&self) -> bool {
        matches!(
            self.stage,
            Stage::CreateLocation
                | Stage::CreateJob
                | Stage::FindLocation
                | Stage::ListLocations { .. }
                | Stage::ListContacts { .. }
        )
    }

    fn queue(&mut self, reason: String, now: UnixSeconds) {
        self.queue_as(reason, QueueCause::Unavailable, now);
    }

    /// Queues the booking: the first time for a cause after its early recheck, then
    /// every [`QUEUE_DELAY`].
    fn queue_as(&mut self, reason: String, cause: QueueCause, now: UnixSeconds) {
        self.attempts = 0;
        self.wait_until = None;
        let (spent, early) = match cause {
            QueueCause::Configuration => (&mut self.configuration_rechecked, CONFIGURATION_RECHECK),
            QueueCause::Unavailable => (&mut self.unavailable_rechecked, UNAVAILABLE_RECHECK),
        };
        let delay = if std::mem::replace(spent, true) { QUEUE_DELAY } else { early };
        self.queued = Some((reason, now + delay));
        self.queue_cause = Some(cause);
    }

    fn finish(&mut self, o: Outcome) {
        self.stage = Stage::Finished(o);
    }

    /// Stale customer or location ids (merged, deleted): forget the match and search again.
    fn replan(&mut self) {
        if let Some(c) = self.booked.customer_id.take() {
            self.stale_customers.push(c);
        }
        self.booked.location_id = None;
        self.candidates.clear();
        self.contacts_listed.clear();
        self.decision = None;
        self.replans += 1;
        if self.replans > MAX_REPLANS {
            self.office_review = Some("ServiceTitan kept rejecting the matched customer's ids".into());
            self.stage = Stage::CreateBooking;
        } else {
            self.stage = Stage::SearchByPhone;
        }
    }
}

/// The `externalId` of a conversation's abandoned-chat booking.
pub fn abandoned_external_id(idempotency_key: &str) -> String {
    format!("{idempotency_key}:abandoned")
}

/// The token endpoint's own refusal, as opposed to the API's: an OAuth error body
/// (RFC 6749 §5.2, `{"error": "invalid_client", ...}`, on a 400 or 401) where the API
/// answers problem details (`title`). The call itself was never sent. Returns the OAuth
/// error code.
fn token_refusal(response: &StResponse) -> Option<String> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct OAuthError {
        error: String,
        title: String,
    }
    if !(400..500).contains(&response.status) || response.status == 429 {
        return None;
    }
    let e: OAuthError = parse(&response.body).unwrap_or_default();
    let code =
        !e.error.is_empty() && e.error.len() <= 64 && e.error.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (code && e.title.is_empty()).then_some(e.error)
}
