//! The `data` of each webhook. Every payload names the site, the session (idempotency
//! key) and our reference; booking payloads add the summary and the transcript.

use serde_json::{json, Value};

use crate::booking::{ArrivalWindow, BookingRequest};
use crate::servicetitan::{iso8601, Booked};
use crate::transcript;

use super::attention::Cause;
use super::{AbandonReport, MismatchReport};

/// Site, session and reference.
pub(super) struct Context<'a> {
    pub(super) site: &'a str,
    pub(super) session: &'a str,
    pub(super) reference: &'a str,
}

impl Context<'_> {
    fn base(&self) -> Value {
        json!({ "site": self.site, "session": self.session, "reference": self.reference })
    }

    fn booking(&self, request: &BookingRequest) -> Value {
        let mut v = self.base();
        v["summary"] = json!(transcript::summary(request));
        v["transcript"] = json!(transcript::render(request));
        v
    }

    /// `session.completed`: the records, and why it went to the office if it did.
    pub(super) fn completed(
        &self,
        request: &BookingRequest,
        records: &Booked,
        office_review: Option<&str>,
        window: Option<ArrivalWindow>,
    ) -> Value {
        let mut v = self.booking(request);
        v["records"] = json!(records);
        v["officeReview"] = json!(office_review);
        v["window"] = json!(window.map(|w| json!({ "start": iso8601(w.start), "end": iso8601(w.end) })));
        v
    }

    /// `booking.failed`: why, and whether the run is still trying.
    pub(super) fn failed(&self, request: &BookingRequest, reason: &str, retrying_until: Option<i64>) -> Value {
        let mut v = self.booking(request);
        v["reason"] = json!(reason);
        v["retrying"] = json!(retrying_until.is_some());
        v["retryingUntil"] = json!(retrying_until.map(iso8601));
        v
    }

    /// `booking.needs_attention` about a booking.
    pub(super) fn attention(&self, request: &BookingRequest, cause: Cause, reason: &str) -> Value {
        let mut v = self.booking(request);
        v["cause"] = json!(cause);
        v["reason"] = json!(reason);
        v
    }

    /// `session.qualified_abandoned`.
    pub(super) fn abandoned(&self, report: &AbandonReport) -> Value {
        let mut v = self.base();
        v["name"] = json!(report.name);
        v["phone"] = json!(report.phone);
        v["email"] = json!(report.email);
        v["turns"] = json!(report.turns);
        v["pageUrl"] = json!(report.page_url);
        v
    }

    /// `booking.needs_attention` for a conversation that did not replay.
    pub(super) fn mismatch(&self, report: &MismatchReport) -> Value {
        let mut v = self.base();
        v["cause"] = json!(Cause::ReplayMismatch);
        v["reason"] = json!(report.reason);
        v["name"] = json!(report.name);
        v["phone"] = json!(report.phone);
        v["email"] = json!(report.email);
        v["turns"] = json!(report.turns);
        v["pageUrl"] = json!(report.page_url);
        v
    }
}
