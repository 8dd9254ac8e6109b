//! The booking pipeline: which ServiceTitan calls to make, in which order, and what a
//! failure means. Sans-IO: the shell sends [`StRequest`]s and feeds back [`StResponse`]s.
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
//! | job notes | `POST …/jobs/{id}/notes` | summary + transcript, split at [`transcript::NOTE_LIMIT`] |
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

use serde::{Deserialize, Serialize};

use crate::booking::{Address, ArrivalWindow, Attribution, BookingRequest, Channel, UnixSeconds, VisitKind};
use crate::matching::{self, Candidate, CandidateLocation, Decision, Homeowner, LocationMatch, NameMatch};
use crate::site::{BookingMode, SiteConfig};
use crate::transcript;

use super::availability::window_for_preference;
use super::models::*;
use super::time::iso8601;
use super::{Booked, Method, Outcome, StRequest, StResponse, Step};

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

    fn t(&self) -> i64 {
        self.tenant_id
    }

    fn get(&self, path: String, query: Vec<(&str, String)>) -> StRequest {
        StRequest {
            method: Method::Get,
            path,
            query: query.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            body: None,
            fresh_token: false,
        }
    }

    fn post<T: Serialize>(&self, path: String, body: &T) -> StRequest {
        StRequest {
            method: Method::Post,
            path,
            query: vec![],
            body: serde_json::to_value(body).ok(),
            fresh_token: false,
        }
    }

    fn route(&self) -> (i64, i64) {
        let r = self.site.route(self.request.trade).or(self.site.trades.first());
        match (r, self.request.kind) {
            (Some(r), VisitKind::Service) => (r.business_unit_id, r.job_type_id),
            (Some(r), VisitKind::Estimate) => (r.business_unit_id, r.estimate_job_type_id),
            (None, _) => (0, 0),
        }
    }

    fn address(&self) -> StAddress {
        let a = &self.request.address;
        StAddress {
            street: a.street.clone(),
            unit: a.unit.clone().filter(|u| !u.trim().is_empty()),
            city: a.city.clone(),
            state: a.state.clone(),
            zip: a.zip.clone(),
            country: "USA".into(),
        }
    }

    fn contacts(&self) -> Vec<Contact> {
        let p = &self.request.phone;
        // The conversation keeps the homeowner's best number, mobile preferred.
        let mut v = vec![Contact {
            kind: ContactType::MobilePhone,
            value: p.digits.clone(),
            memo: p.extension.as_ref().map(|x| format!("ext. {x}")),
        }];
        if let Some(e) = self.request.email.as_deref().map(str::trim) {
            if !e.is_empty() && !matching::is_placeholder_email(e) {
                v.push(Contact { kind: ContactType::Email, value: e.to_string(), memo: None });
            }
        }
        v
    }

    fn job_notes(&self) -> Vec<String> {
        transcript::job_notes(&self.request, &self.idempotency_key)
    }

    fn request_for_stage(&self) -> StRequest {
        let t = self.t();
        let r = &self.request;
        match &self.stage {
            Stage::SearchByPhone => self.get(
                format!("/crm/v2/tenant/{t}/customers"),
                vec![("phone", r.phone.digits.clone()), ("active", "True".into()), ("pageSize", "10".into())],
            ),
            Stage::SearchByAddress => self.get(
                format!("/crm/v2/tenant/{t}/customers"),
                vec![
                    ("street", r.address.street.clone()),
                    ("zip", r.address.zip.clone()),
                    ("active", "True".into()),
                    ("pageSize", "10".into()),
                ],
            ),
            Stage::ListLocations { candidate } => {
                let id = self.candidates.get(*candidate).map(|c| c.id).unwrap_or(0);
                self.locations_of(id)
            }
            Stage::FindLocation => self.locations_of(self.booked.customer_id.unwrap_or(0)),
            Stage::CreateCustomer => {
                let body = CreateCustomer {
                    name: r.name.full(),
                    kind: "Residential".into(),
                    address: self.address(),
                    locations: vec![NewLocation { name: r.name.full(), address: self.address(), contacts: self.contacts() }],
                    contacts: self.contacts(),
                };
                self.post(format!("/crm/v2/tenant/{t}/customers"), &body)
            }
            Stage::CreateLocation => {
                let body = CreateLocation {
                    customer_id: self.booked.customer_id.unwrap_or(0),
                    name: r.name.full(),
                    address: self.address(),
                    contacts: self.contacts(),
                };
                self.post(format!("/crm/v2/tenant/{t}/locations"), &body)
            }
            Stage::CreateJob => {
                let (bu, jt) = self.route();
                let w = self.window.unwrap_or(ArrivalWindow { start: 0, end: 0 });
                let referral = r.referral_code.clone().or_else(|| self.attribution.referral_code.clone());
                let custom_fields = match (self.site.referral_custom_field_id, referral) {
                    (Some(id), Some(code)) if !code.trim().is_empty() => {
                        Some(vec![CustomField { type_id: id, value: code.trim().to_string() }])
                    }
                    _ => None,
                };
                let body = CreateJob {
                    customer_id: self.booked.customer_id.unwrap_or(0),
                    location_id: self.booked.location_id.unwrap_or(0),
                    business_unit_id: bu,
                    job_type_id: jt,
                    priority: r.priority.as_str().into(),
                    campaign_id: self.campaign(),
                    appointments: vec![Appointment {
                        start: iso8601(w.start),
                        end: iso8601(w.end),
                        arrival_window_start: iso8601(w.start),
                        arrival_window_end: iso8601(w.end),
                    }],
                    summary: transcript::cut(&transcript::summary(r), transcript::NOTE_LIMIT).to_string(),
                    custom_fields,
                };
                self.post(format!("/jpm/v2/tenant/{t}/jobs"), &body)
            }
            Stage::CreateEstimate => {
                let body = CreateEstimate {
                    job_id: self.booked.job_id.unwrap_or(0),
                    name: transcript::cut(&format!("Estimate: {}", r.issue), 100).to_string(),
                    summary: transcript::cut(&r.issue, transcript::NOTE_LIMIT).to_string(),
                };
                self.post(format!("/sales/v2/tenant/{t}/estimates"), &body)
            }
            Stage::JobNote { part } => {
                let text = self.job_notes().get(*part).cloned().unwrap_or_default();
                let id = self.booked.job_id.unwrap_or(0);
                self.post(format!("/jpm/v2/tenant/{t}/jobs/{id}/notes"), &CreateNote { text, pin_to_top: *part == 0 })
            }
            Stage::CustomerNote => {
                let text = transcript::customer_note(r, &self.idempotency_key);
                let id = self.booked.customer_id.unwrap_or(0);
                self.post(format!("/crm/v2/tenant/{t}/customers/{id}/notes"), &CreateNote { text, pin_to_top: false })
            }
            Stage::CreateBooking => {
                let (bu, jt) = self.route();
                let mut summary = transcript::summary(r);
                if let Some(why) = &self.office_review {
                    summary = format!("Office review: {why}.\n{summary}");
                }
                let summary = format!("{summary}\n\nTranscript:\n{}", transcript::render(r));
                let body = CreateBooking {
                    source: match r.channel {
                        Channel::Chat => "Web chat".into(),
                        Channel::Voice => "Voice agent".into(),
                    },
                    name: r.name.full(),
                    address: self.address(),
                    contacts: self.contacts(),
                    customer_type: "Residential".into(),
                    start: self.window.map(|w| iso8601(w.start)),
                    summary: transcript::cut(&summary, transcript::NOTE_LIMIT).to_string(),
                    campaign_id: self.campaign(),
                    business_unit_id: bu,
                    job_type_id: jt,
                    priority: r.priority.as_str().into(),
                    is_first_time_client: self.candidates.is_empty() && self.booked.customer_id.is_none(),
                    is_send_confirmation_email: false,
                    external_id: self.idempotency_key.clone(),
                };
                let bp = self.site.booking_provider_id;
                self.post(format!("/crm/v2/tenant/{t}/booking-provider/{bp}/bookings"), &body)
            }
            Stage::Finished(_) => self.get(String::new(), vec![]),
        }
    }

    fn campaign(&self) -> i64 {
        self.site.campaign_for(self.attribution.utm_source.as_deref())
    }

    fn locations_of(&self, customer: i64) -> StRequest {
        self.get(
            format!("/crm/v2/tenant/{}/locations", self.t()),
            vec![("customerId", customer.to_string()), ("active", "True".into()), ("pageSize", "50".into())],
        )
    }

    /// "Did my write happen?" for the current write stage.
    fn lookup_request(&self, now: UnixSeconds) -> StRequest {
        let t = self.t();
        let since = iso8601(self.first_write_at.unwrap_or(now) - 600);
        match &self.stage {
            Stage::CreateCustomer => self.get(
                format!("/crm/v2/tenant/{t}/customers"),
                vec![("phone", self.request.phone.digits.clone()), ("createdOnOrAfter", since)],
            ),
            Stage::CreateLocation => self.locations_of(self.booked.customer_id.unwrap_or(0)),
            Stage::CreateJob => {
                let (_, jt) = self.route();
                self.get(
                    format!("/jpm/v2/tenant/{t}/jobs"),
                    vec![
                        ("customerId", self.booked.customer_id.unwrap_or(0).to_string()),
                        ("locationId", self.booked.location_id.unwrap_or(0).to_string()),
                        ("jobTypeId", jt.to_string()),
                        ("createdOnOrAfter", since),
                    ],
                )
            }
            Stage::CreateEstimate => self.get(
                format!("/sales/v2/tenant/{t}/estimates"),
                vec![("jobId", self.booked.job_id.unwrap_or(0).to_string())],
            ),
            Stage::JobNote { .. } => self.get(
                format!("/jpm/v2/tenant/{t}/jobs/{}/notes", self.booked.job_id.unwrap_or(0)),
                vec![("pageSize", "50".into())],
            ),
            Stage::CustomerNote => self.get(
                format!("/crm/v2/tenant/{t}/customers/{}/notes", self.booked.customer_id.unwrap_or(0)),
                vec![("pageSize", "50".into())],
            ),
            Stage::CreateBooking => self.get(
                format!("/crm/v2/tenant/{t}/booking-provider/{}/bookings", self.site.booking_provider_id),
                vec![("externalId", self.idempotency_key.clone())],
            ),
            _ => self.request_for_stage(),
        }
    }

    fn homeowner(&self) -> Homeowner {
        Homeowner {
            name: self.request.name.full(),
            phones: vec![self.request.phone.digits.clone()],
            email: self.request.email.clone(),
            address: self.request.address.clone(),
        }
    }

    fn on_lookup(&mut self, body: &str) {
        self.looking_up = false;
        let found = match &self.stage {
            Stage::CreateCustomer => {
                let name = self.request.name.full();
                let known: Vec<i64> = self.candidates.iter().map(|c| c.id).collect();
                parse::<Page<CustomerOut>>(body).and_then(|p| {
                    p.data.into_iter().find(|c| {
                        !known.contains(&c.id) && matching::compare_names(&name, &c.name) == NameMatch::Full
                    })
                })
                .map(|c| {
                    self.booked.customer_id = Some(c.id);
                    // The location came inline; find its id.
                    self.stage = Stage::FindLocation;
                })
            }
            Stage::CreateLocation => parse::<Page<LocationOut>>(body)
                .and_then(|p| p.data.into_iter().find(|l| self.is_our_address(l)))
                .map(|l| {
                    self.booked.location_id = Some(l.id);
                    self.stage = Stage::CreateJob;
                }),
            Stage::CreateJob => parse::<Page<JobOut>>(body).and_then(|p| p.data.into_iter().next()).map(|j| {
                self.job_created(j);
            }),
            Stage::CreateEstimate => {
                parse::<Page<EstimateOut>>(body).and_then(|p| p.data.into_iter().next()).map(|e| {
                    self.booked.estimate_id = Some(e.id);
                    self.stage = Stage::JobNote { part: 0 };
                })
            }
            Stage::JobNote { part } => {
                let marker = transcript::reference(&self.idempotency_key, part + 1, self.job_notes().len());
                parse::<Page<NoteOut>>(body)
                    .filter(|p| p.data.iter().any(|n| n.text.contains(&marker)))
                    .map(|_| self.after_notes_step())
            }
            Stage::CustomerNote => {
                let marker = transcript::reference(&self.idempotency_key, 1, 1);
                parse::<Page<NoteOut>>(body)
                    .filter(|p| p.data.iter().any(|n| n.text.contains(&marker)))
                    .map(|_| self.after_notes_step())
            }
            Stage::CreateBooking => {
                let key = self.idempotency_key.clone();
                parse::<Page<BookingOut>>(body)
                    .and_then(|p| p.data.into_iter().find(|b| b.external_id.as_deref() == Some(&key)))
                    .map(|b| self.booking_created(b.id))
            }
            _ => None,
        };
        // Found: the stage moved on. Not found: the write did not happen; send it.
        self.unconfirmed = false;
        let _ = found;
    }

    fn is_our_address(&self, l: &LocationOut) -> bool {
        let a = l.address.clone().unwrap_or_default();
        let addr = Address { street: a.street, unit: a.unit, city: a.city, state: a.state, zip: a.zip };
        l.active != Some(false) && matching::same_place(&self.request.address, &addr)
    }

    fn on_success(&mut self, body: &str) {
        self.unconfirmed = false;
        match self.stage.clone() {
            Stage::SearchByPhone => {
                let Some(page) = parse::<Page<CustomerOut>>(body) else { return self.malformed() };
                self.candidates = self.to_candidates(page.data, true);
                if self.site.mode == BookingMode::Booking || self.office_review.is_some() {
                    self.stage = Stage::CreateBooking;
                } else if self.candidates.is_empty() {
                    self.stage = Stage::SearchByAddress;
                } else if self.candidates.len() > MAX_CANDIDATES {
                    self.decide_ambiguous(format!("{} customers share this phone", self.candidates.len()));
                } else {
                    self.stage = Stage::ListLocations { candidate: 0 };
                }
            }
            Stage::SearchByAddress => {
                let Some(page) = parse::<Page<CustomerOut>>(body) else { return self.malformed() };
                self.candidates = self.to_candidates(page.data, false);
                self.candidates.truncate(MAX_CANDIDATES);
                if self.candidates.is_empty() {
                    self.decide();
                } else {
                    self.stage = Stage::ListLocations { candidate: 0 };
                }
            }
            Stage::ListLocations { candidate } => {
                let Some(page) = parse::<Page<LocationOut>>(body) else { return self.malformed() };
                if let Some(c) = self.candidates.get_mut(candidate) {
                    c.locations = page
                        .data
                        .into_iter()
                        .map(|l| {
                            let a = l.address.unwrap_or_default();
                            CandidateLocation {
                                id: l.id,
                                address: Address { street: a.street, unit: a.unit, city: a.city, state: a.state, zip: a.zip },
                                active: l.active != Some(false),
                            }
                        })
                        .collect();
                }
                if candidate + 1 < self.candidates.len() {
                    self.stage = Stage::ListLocations { candidate: candidate + 1 };
                } else {
                    self.decide();
                }
            }
            Stage::FindLocation => {
                let Some(page) = parse::<Page<LocationOut>>(body) else { return self.malformed() };
                match page.data.into_iter().find(|l| self.is_our_address(l)) {
                    Some(l) => {
                        self.booked.location_id = Some(l.id);
                        self.stage = Stage::CreateJob;
                    }
                    None => self.stage = Stage::CreateLocation,
                }
            }
            Stage::CreateCustomer => {
                let Some(c) = parse::<CustomerOut>(body).filter(|c| c.id != 0) else { return self.unknown_write() };
                self.booked.customer_id = Some(c.id);
                match c.locations.first() {
                    Some(l) => {
                        self.booked.location_id = Some(l.id);
                        self.stage = Stage::CreateJob;
                    }
                    None => self.stage = Stage::FindLocation,
                }
            }
            Stage::CreateLocation => {
                let Some(l) = parse::<LocationOut>(body).filter(|l| l.id != 0) else { return self.unknown_write() };
                self.booked.location_id = Some(l.id);
                self.stage = Stage::CreateJob;
            }
            Stage::CreateJob => {
                let Some(j) = parse::<JobOut>(body).filter(|j| j.id != 0) else { return self.unknown_write() };
                self.job_created(j);
            }
            Stage::CreateEstimate => {
                let Some(e) = parse::<EstimateOut>(body).filter(|e| e.id != 0) else { return self.unknown_write() };
                self.booked.estimate_id = Some(e.id);
                self.stage = Stage::JobNote { part: 0 };
            }
            Stage::JobNote { .. } | Stage::CustomerNote => self.after_notes_step(),
            Stage::CreateBooking => {
                let Some(b) = parse::<BookingOut>(body).filter(|b| b.id != 0) else { return self.unknown_write() };
                self.booking_created(b.id);
            }
            Stage::Finished(_) => {}
        }
    }

    /// A 2xx we cannot read on a search: try again (counts as an attempt).
    fn malformed(&mut self) {
        self.attempts += 1;
        self.wait_until = None;
        if self.attempts >= MAX_ATTEMPTS {
            self.finish(Outcome::Failed { message: "ServiceTitan sent responses we could not read".into() });
        }
    }

    /// A 2xx to a write without a readable id: it probably happened; look it up.
    fn unknown_write(&mut self) {
        self.unconfirmed = true;
        self.malformed();
    }

    fn to_candidates(&self, customers: Vec<CustomerOut>, by_phone: bool) -> Vec<Candidate> {
        customers
            .into_iter()
            .filter(|c| c.active != Some(false) && c.merged_to_id.is_none() && !self.stale_customers.contains(&c.id))
            .map(|c| Candidate {
                id: c.id,
                name: c.name,
                active: true,
                address: c.address.map(|a| Address { street: a.street, unit: a.unit, city: a.city, state: a.state, zip: a.zip }),
                locations: vec![],
                phones: vec![],
                emails: vec![],
                found_by_phone: by_phone,
            })
            .collect()
    }

    fn decide(&mut self) {
        let d = matching::decide(&self.homeowner(), &self.candidates);
        match &d {
            Decision::Existing { customer, location } => {
                self.booked.customer_id = Some(*customer);
                match location {
                    LocationMatch::Existing(l) => {
                        self.booked.location_id = Some(*l);
                        self.stage = Stage::CreateJob;
                    }
                    LocationMatch::New => self.stage = Stage::CreateLocation,
                }
            }
            Decision::New => self.stage = Stage::CreateCustomer,
            Decision::Ambiguous { reason } => {
                self.office_review = Some(format!("customer match is ambiguous: {reason}"));
                self.stage = Stage::CreateBooking;
            }
        }
        self.decision = Some(d);
    }

    fn decide_ambiguous(&mut self, reason: String) {
        self.decision = Some(Decision::Ambiguous { reason: reason.clone() });
        self.office_review = Some(format!("customer match is ambiguous: {reason}"));
        self.stage = Stage::CreateBooking;
    }

    fn job_created(&mut self, j: JobOut) {
        self.booked.job_id = Some(j.id);
        self.booked.job_number = j.job_number.or_else(|| Some(j.id.to_string()));
        self.first_write_at = None;
        self.stage = match self.request.kind {
            VisitKind::Estimate => Stage::CreateEstimate,
            VisitKind::Service => Stage::JobNote { part: 0 },
        };
    }

    fn after_notes_step(&mut self) {
        self.stage = match self.stage {
            Stage::JobNote { part } if part + 1 < self.job_notes().len() => Stage::JobNote { part: part + 1 },
            Stage::JobNote { .. } => Stage::CustomerNote,
            _ if self.site.mode == BookingMode::JobAndBooking => Stage::CreateBooking,
            _ => Stage::Finished(Outcome::Booked(self.booked.clone())),
        };
    }

    fn booking_created(&mut self, id: i64) {
        self.booked.booking_id = Some(id);
        self.finish(Outcome::Booked(self.booked.clone()));
    }
}
