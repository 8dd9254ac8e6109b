//! ServiceTitan: the requests we send and the sans-IO booking pipeline.
//!
//! - [`models`]: typed request/response bodies, checked against the OpenAPI files.
//! - [`pipeline`]: [`BookingPipeline`], the state machine the worker drives:
//!   `next_request(now)` → [`Step`], the shell sends it, `on_response(response, now)`.
//! - [`availability`]: capacity → up to three arrival windows.
//! - [`time`]: RFC 3339 without a date crate.
//! - [`connection`]: whether a site's connection works (scopes, booking provider, business units).
//! - [`tenant`]: which tenant a site books into (secret names, environment), [`tenant::tenant_key`].
//! - [`pacing`]: one tenant's send slots under ServiceTitan's 60/s ([`pacing::Pacer`]).
//!
//! API boundary: nothing here knows HTTP clients, tokens or the worker runtime. The
//! shell adds `Authorization: Bearer` and `ST-App-Key`, fetches a token first when
//! [`StRequest::fresh_token`] is set, and persists the pipeline (see [`pipeline`]).

pub mod availability;
pub mod connection;
pub mod models;
pub mod pacing;
pub mod pipeline;
pub mod tenant;
pub mod time;

use serde::{Deserialize, Serialize};

use crate::booking::UnixSeconds;

pub use pipeline::BookingPipeline;
pub use time::{iso8601, parse_iso8601};

/// HTTP method of a ServiceTitan call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// PUT.
    Put,
}

impl Method {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }
}

/// One call for the shell to make against the API host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StRequest {
    /// Method.
    pub method: Method,
    /// Path from the API host root, tenant filled in: `/crm/v2/tenant/123/customers`.
    pub path: String,
    /// Query parameters (not yet encoded).
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// The last attempt got 401: the shell must fetch a new token before sending.
    pub fresh_token: bool,
}

/// What came back. `status` 0 means no response arrived (connection dropped, timeout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StResponse {
    /// HTTP status, or 0 for a transport failure.
    pub status: u16,
    /// Retry-After in seconds, when sent.
    pub retry_after: Option<u64>,
    /// Body text.
    pub body: String,
}

impl StResponse {
    /// An API answer.
    pub fn new(status: u16, retry_after: Option<u64>, body: String) -> StResponse {
        StResponse { status, retry_after, body }
    }

    /// No response arrived (connection dropped, timeout).
    pub fn dropped() -> StResponse {
        StResponse::default()
    }

    /// A call our tenant pacer held back ([`pacing::Slot::Held`]): never sent, so not a
    /// try. It reads as a 429 with the pacer's Retry-After, and [`Self::is_held`] tells
    /// it from ServiceTitan's own.
    pub fn held(retry_after_s: u64) -> StResponse {
        StResponse { status: 429, retry_after: Some(retry_after_s), body: HELD_BODY.into() }
    }

    /// True for [`Self::held`]: the call waited its turn and was not sent.
    pub fn is_held(&self) -> bool {
        self.status == 429 && self.body == HELD_BODY
    }
}

/// The body of a [`StResponse::held`]: not JSON, so no ServiceTitan answer is it.
const HELD_BODY: &str = "(held by the tenant pacer: not sent)";

/// Why a booking is queued: the run tells the owner at once about configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QueueCause {
    /// ServiceTitan is down, throttling or not answering: it will pass.
    Unavailable,
    /// Credentials or API scopes (token `invalid_client`, a second 401, a 403): only
    /// the owner can fix it.
    Configuration,
}

/// Records created for one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Booked {
    /// Customer id.
    pub customer_id: Option<i64>,
    /// Location id.
    pub location_id: Option<i64>,
    /// Job id.
    pub job_id: Option<i64>,
    /// Job number shown to the homeowner.
    pub job_number: Option<String>,
    /// Booking id (booking modes, and ambiguous matches sent to the office).
    pub booking_id: Option<i64>,
    /// Estimate id, for quote requests.
    #[serde(default)]
    pub estimate_id: Option<i64>,
}

/// How the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Outcome {
    /// Records exist.
    Booked(Booked),
    /// ServiceTitan refused the request (validation); the message is ServiceTitan's.
    Failed {
        /// Why.
        message: String,
    },
    /// ServiceTitan kept failing (5xx, 429, no response, credentials): nothing is lost.
    /// Store the pipeline and call `next_request` again at or after `retry_at`; it
    /// resumes where it stopped.
    Queued {
        /// What kept failing.
        reason: String,
        /// When to try again.
        retry_at: UnixSeconds,
    },
}

/// What the shell should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this request and feed the response to `on_response`.
    Send(StRequest),
    /// Nothing to send before this time (backoff).
    Wait {
        /// When to ask again.
        until: UnixSeconds,
    },
    /// Finished.
    Done(Outcome),
}
