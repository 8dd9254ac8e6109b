//! ServiceTitan: the requests we send and the sans-IO booking pipeline.
//!
//! PLACEHOLDER implementation (walking skeleton): create customer with its location,
//! then the job. The public API (`BookingPipeline`, `Step`, `StRequest`, `StResponse`,
//! `Outcome`) is the contract the worker drives.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::booking::{Attribution, BookingRequest, UnixSeconds};
use crate::site::SiteConfig;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StResponse {
    /// HTTP status, or 0 for a transport failure.
    pub status: u16,
    /// Retry-After in seconds, when sent.
    pub retry_after: Option<u64>,
    /// Body text.
    pub body: String,
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
    /// Booking id (booking modes).
    pub booking_id: Option<i64>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Stage {
    CreateCustomer,
    CreateJob,
    Done(Outcome),
}

/// The booking pipeline. Serializable after every response so a crash resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingPipeline {
    request: BookingRequest,
    site: SiteConfig,
    attribution: Attribution,
    idempotency_key: String,
    tenant_id: i64,
    stage: Stage,
    booked: Booked,
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
        BookingPipeline {
            request,
            site,
            attribution,
            idempotency_key,
            tenant_id,
            stage: Stage::CreateCustomer,
            booked: Booked::default(),
        }
    }

    /// The next thing to do.
    pub fn next_request(&mut self, now: UnixSeconds) -> Step {
        let t = self.tenant_id;
        let r = &self.request;
        match &self.stage {
            Stage::Done(o) => Step::Done(o.clone()),
            Stage::CreateCustomer => {
                let address = json!({
                    "street": r.address.street, "unit": r.address.unit, "city": r.address.city,
                    "state": r.address.state, "zip": r.address.zip, "country": "USA"
                });
                let phone = json!({"type": "MobilePhone", "value": r.phone.digits});
                Step::Send(StRequest {
                    method: Method::Post,
                    path: format!("/crm/v2/tenant/{t}/customers"),
                    query: vec![],
                    body: Some(json!({
                        "name": r.name.full(),
                        "type": "Residential",
                        "address": address,
                        "locations": [{"name": r.name.full(), "address": address, "contacts": [phone]}],
                        "contacts": [phone],
                    })),
                    fresh_token: false,
                })
            }
            Stage::CreateJob => {
                let route = self.site.route(r.trade).or(self.site.trades.first());
                let (bu, jt) = route.map(|x| (x.business_unit_id, x.job_type_id)).unwrap_or((0, 0));
                let start = (now / 86400 + 1) * 86400 + 14 * 3600;
                let iso = |s: i64| iso8601(s);
                Step::Send(StRequest {
                    method: Method::Post,
                    path: format!("/jpm/v2/tenant/{t}/jobs"),
                    query: vec![],
                    body: Some(json!({
                        "customerId": self.booked.customer_id,
                        "locationId": self.booked.location_id,
                        "businessUnitId": bu,
                        "jobTypeId": jt,
                        "priority": r.priority.as_str(),
                        "campaignId": self.site.campaign_for(self.attribution.utm_source.as_deref()),
                        "appointments": [{"start": iso(start), "end": iso(start + 4 * 3600),
                            "arrivalWindowStart": iso(start), "arrivalWindowEnd": iso(start + 4 * 3600)}],
                        "summary": r.issue,
                    })),
                    fresh_token: false,
                })
            }
        }
    }

    /// Feeds the response to the last request.
    pub fn on_response(&mut self, response: StResponse, _now: UnixSeconds) {
        let body: serde_json::Value = serde_json::from_str(&response.body).unwrap_or_default();
        if !(200..300).contains(&response.status) {
            let message = body["title"].as_str().unwrap_or("ServiceTitan refused the request").to_string();
            self.stage = Stage::Done(Outcome::Failed { message });
            return;
        }
        match self.stage {
            Stage::CreateCustomer => {
                self.booked.customer_id = body["id"].as_i64();
                self.booked.location_id = body["locations"][0]["id"].as_i64();
                self.stage = Stage::CreateJob;
            }
            Stage::CreateJob => {
                self.booked.job_id = body["id"].as_i64();
                self.booked.job_number = body["jobNumber"].as_str().map(str::to_string);
                self.stage = Stage::Done(Outcome::Booked(self.booked.clone()));
            }
            Stage::Done(_) => {}
        }
    }

    /// The idempotency key this pipeline books under.
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
}

/// RFC 3339 UTC from Unix seconds (civil-from-days, Howard Hinnant's algorithm).
pub fn iso8601(secs: UnixSeconds) -> String {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}
