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
//! | create customer | `POST …/customers` (location + contacts inline) | decision New |
//! | add location | `POST …/locations` | decision Existing at a new property |
//! | create job | `POST /jpm/v2/tenant/{t}/jobs` (one appointment) | job modes |
//! | create estimate | `POST /sales/v2/tenant/{t}/estimates` | quote requests |
//! | job notes | `POST …/jobs/{id}/notes` | summary + transcript, split at [`transcript::NOTE_LIMIT`](crate::transcript::NOTE_LIMIT) |
//! | customer note | `POST /crm/v2/tenant/{t}/customers/{id}/notes` | summary |
//! | create booking | `POST …/booking-provider/{bp}/bookings` (`externalId` = idempotency key) | booking / job+booking modes, ambiguous match, no arrival window |
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
//! Errors: 400 → [`Outcome::Failed`] with ServiceTitan's message; 401 → the same call
//! again with `fresh_token` (once); 404/409 on a write naming our ids → re-plan from the
//! search (at most twice, then a booking for the office); 429/5xx/no response → retry
//! after Retry-After or exponential backoff; after [`MAX_ATTEMPTS`] → [`Outcome::Queued`].
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
use super::{Booked, Outcome, StResponse, Step};

/// Attempts per call before the booking is queued.
pub const MAX_ATTEMPTS: u32 = 6;
/// Longest backoff between attempts, seconds.
pub const MAX_BACKOFF: u64 = 300;
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
    ListLocations { candidate: usize },
    CreateCustomer,
    /// Find the location of a customer we created (response lost) or add one.
    FindLocation,
    CreateLocation,
    CreateJob,
    CreateEstimate,
    JobNote { part: usize },
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
    #[serde(default)]
    replans: u32,
    #[serde(default)]
    stale_customers: Vec<i64>,
    /// When the first write of the current stage went out (job look-up window).
    #[serde(default)]
    first_write_at: Option<UnixSeconds>,
    #[serde(default)]
    calls: u32,
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
            replans: 0,
            stale_customers: vec![],
            first_write_at: None,
            calls: 0,
        }
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
        if self.site.mode != BookingMode::Booking && self.window.is_none() {
            self.office_review = Some("no arrival window chosen or preferred".into());
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
        self.calls += 1;
        let status = response.status;
        match status {
            200..=299 => {
                self.attempts = 0;
                self.refreshed = false;
                if self.looking_up {
                    self.on_lookup(&response.body);
                } else {
                    self.on_success(&response.body);
                }
            }
            401 => {
                // Not applied. Refresh the token once; a second 401 is a credentials
                // problem the office must fix: keep the booking.
                if self.looking_up {
                    self.looking_up = false;
                } else {
                    self.unconfirmed = false;
                }
                if self.refreshed {
                    self.queue("ServiceTitan rejected our credentials twice".into(), now);
                } else {
                    self.refreshed = true;
                    self.fresh_token = true;
                }
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

    fn is_stale_ids_stage(&self) -> bool {
        matches!(self.stage, Stage::CreateLocation | Stage::CreateJob | Stage::FindLocation | Stage::ListLocations { .. })
    }

    fn queue(&mut self, reason: String, now: UnixSeconds) {
        self.attempts = 0;
        self.queued = Some((reason, now + QUEUE_DELAY));
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
