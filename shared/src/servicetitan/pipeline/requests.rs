//! Building the request for each stage: searches, creates, notes, and the look-ups that
//! ask "did my write happen?". Separate from the state machine in `mod.rs` because this
//! is ServiceTitan's wire shape (paths, query keys, bodies), not the plan's decisions.

use serde::Serialize;

use crate::booking::{ArrivalWindow, Channel, UnixSeconds, VisitKind};
use crate::matching;
use crate::transcript::{self, one_line};

use super::{BookingPipeline, Stage};
use crate::servicetitan::models::*;
use crate::servicetitan::time::iso8601;
use crate::servicetitan::{Method, StRequest};

impl BookingPipeline {
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

    /// The service address, each field on one line (the office's screens and the
    /// technician's app show these as text).
    fn address(&self) -> StAddress {
        let a = &self.request.address;
        StAddress {
            street: one_line(&a.street),
            unit: a.unit.as_deref().map(one_line).filter(|u| !u.is_empty()),
            city: one_line(&a.city),
            state: one_line(&a.state),
            zip: one_line(&a.zip),
            country: "USA".into(),
        }
    }

    /// The name on the customer, location and booking: the business when the caller
    /// speaks for one, else the person.
    pub(super) fn customer_name(&self) -> String {
        match self.business() {
            Some(b) => b,
            None => one_line(&self.request.name.full()),
        }
    }

    /// The business the caller speaks for, on one line, when there is one.
    pub(super) fn business(&self) -> Option<String> {
        self.request.business.as_deref().map(one_line).filter(|b| !b.is_empty())
    }

    /// `Residential`, or `Commercial` for a business.
    fn customer_type(&self) -> String {
        if self.business().is_some() { "Commercial" } else { "Residential" }.into()
    }

    /// Who a contact reaches: for a business, the person's name ("Lena Ortiz"), so the
    /// office knows whom to ask for; plus the extension when there is one.
    fn contact_memo(&self, extension: Option<&str>) -> Option<String> {
        let person = self.business().map(|_| one_line(&self.request.name.full())).filter(|n| !n.is_empty());
        let ext = extension.map(one_line).filter(|x| !x.is_empty()).map(|x| format!("ext. {x}"));
        match (person, ext) {
            (Some(p), Some(x)) => Some(format!("{p}, {x}")),
            (p, x) => p.or(x),
        }
    }

    /// The email to put on the records: given, not a placeholder, on one line.
    pub(super) fn email(&self) -> Option<String> {
        self.request.email.as_deref().map(one_line).filter(|e| !e.is_empty() && !matching::is_placeholder_email(e))
    }

    fn contacts(&self) -> Vec<Contact> {
        let p = &self.request.phone;
        // The conversation keeps the homeowner's best number, mobile preferred. (An
        // abandoned chat may have left only an email.)
        let mut v = vec![];
        if !p.digits.is_empty() {
            v.push(Contact {
                kind: ContactType::MobilePhone,
                value: p.digits.clone(),
                memo: self.contact_memo(p.extension.as_deref()),
            });
        }
        if let Some(e) = self.email() {
            v.push(Contact { kind: ContactType::Email, value: e, memo: self.contact_memo(None) });
        }
        v
    }

    pub(super) fn job_notes(&self) -> Vec<String> {
        transcript::job_notes(&self.request, &self.idempotency_key)
    }

    pub(super) fn request_for_stage(&self) -> StRequest {
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
                    ("street", one_line(&r.address.street)),
                    ("zip", one_line(&r.address.zip)),
                    ("active", "True".into()),
                    ("pageSize", "10".into()),
                ],
            ),
            Stage::ListLocations { candidate } => {
                let id = self.candidates.get(*candidate).map(|c| c.id).unwrap_or(0);
                self.locations_of(id)
            }
            Stage::FindLocation => self.locations_of(self.booked.customer_id.unwrap_or(0)),
            Stage::ListContacts { candidate } => {
                let id = self.candidates.get(*candidate).map(|c| c.id).unwrap_or(0);
                self.get(format!("/crm/v2/tenant/{t}/customers/{id}/contacts"), vec![("pageSize", "50".into())])
            }
            Stage::CreateCustomer => {
                let body = CreateCustomer {
                    name: self.customer_name(),
                    kind: self.customer_type(),
                    address: self.address(),
                    locations: vec![NewLocation {
                        name: self.customer_name(),
                        address: self.address(),
                        contacts: self.contacts(),
                    }],
                    contacts: self.contacts(),
                };
                self.post(format!("/crm/v2/tenant/{t}/customers"), &body)
            }
            Stage::CreateLocation => {
                let body = CreateLocation {
                    customer_id: self.booked.customer_id.unwrap_or(0),
                    name: self.customer_name(),
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
                    (Some(id), Some(code)) if !one_line(&code).is_empty() => {
                        Some(vec![CustomField { type_id: id, value: one_line(&code) }])
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
                    summary: self.summary_with_marker(transcript::summary(r)),
                    custom_fields,
                };
                self.post(format!("/jpm/v2/tenant/{t}/jobs"), &body)
            }
            Stage::CreateEstimate => {
                let body = CreateEstimate {
                    job_id: self.booked.job_id.unwrap_or(0),
                    name: transcript::cut(&format!("Estimate: {}", one_line(&r.issue)), 100).to_string(),
                    summary: transcript::cut(&one_line(&r.issue), transcript::NOTE_LIMIT).to_string(),
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
                    summary = format!("Office review: {}.\n{summary}", one_line(why));
                }
                if self.abandoned_chat {
                    let left = match r.channel {
                        Channel::Chat => "Abandoned chat: the homeowner left before booking.",
                        Channel::Voice => "Missed call: the caller hung up before booking.",
                    };
                    summary = format!("{left} Please call them back.\n{summary}");
                }
                let summary = self.summary_with_marker(format!("{summary}\n\nTranscript:\n{}", transcript::render(r)));
                let body = CreateBooking {
                    source: match r.channel {
                        Channel::Chat => "Web chat".into(),
                        Channel::Voice => "Voice agent".into(),
                    },
                    name: self.customer_name(),
                    // Optional here, and an abandoned chat may not have reached it.
                    address: Some(self.address()).filter(|a| !a.street.is_empty()),
                    contacts: self.contacts(),
                    customer_type: self.customer_type(),
                    start: self.window.map(|w| iso8601(w.start)),
                    summary,
                    campaign_id: self.campaign(),
                    business_unit_id: bu,
                    job_type_id: jt,
                    priority: r.priority.as_str().into(),
                    is_first_time_client: self.candidates.is_empty() && self.booked.customer_id.is_none(),
                    is_send_confirmation_email: false,
                    external_id: self.external_id(),
                };
                let bp = self.site.booking_provider_id;
                self.post(format!("/crm/v2/tenant/{t}/booking-provider/{bp}/bookings"), &body)
            }
            Stage::Finished(_) => self.get(String::new(), vec![]),
        }
    }

    /// The marker line a look-up matches on ([`crate::booking::reference`]).
    pub(super) fn marker(&self) -> String {
        format!("Web reference: {}", crate::booking::reference(&self.idempotency_key))
    }

    /// `summary` cut to a note, any re-planned window on top and the marker on the last
    /// line, both kept whole (a cut must never take the marker away).
    fn summary_with_marker(&self, summary: String) -> String {
        let marker = self.marker();
        let head = match self.replanned_from {
            Some(w) => format!(
                "Arrival window re-planned: the homeowner was promised {} to {} (UTC), which passed before ServiceTitan took the booking. Please call to confirm.\n",
                iso8601(w.start),
                iso8601(w.end)
            ),
            None => String::new(),
        };
        let room = transcript::NOTE_LIMIT.saturating_sub(head.chars().count() + marker.chars().count() + 1);
        let body = summary.replace(&marker, "");
        format!("{head}{}\n{marker}", transcript::cut(body.trim_end(), room))
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
    pub(super) fn lookup_request(&self, now: UnixSeconds) -> StRequest {
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
                vec![("externalId", self.external_id())],
            ),
            _ => self.request_for_stage(),
        }
    }
}
