//! Typed serde models of the ServiceTitan v2 requests we send and the responses we read.
//!
//! Field names follow `shared/servicetitan-openapi/*.yml` exactly; `tests/openapi.rs`
//! checks every request the pipeline builds against those schemas, so a typo here fails
//! the tests. Requests leave out `None` fields rather than sending `null` (the create
//! models are `additionalProperties: false` and some tenants reject explicit nulls).
//! Responses are lenient: every field has a default and unknown fields are ignored, so
//! a body that is odd or truncated becomes "missing data", never a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `Crm.V2.ContactType`. (`LandlinePhone` in the docs is a label for `Phone`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactType {
    /// Landline phone.
    Phone,
    /// Email.
    Email,
    /// Fax.
    Fax,
    /// Mobile phone: ServiceTitan texts these.
    MobilePhone,
    /// Anything newer than our spec copy.
    #[serde(other)]
    Other,
}

/// A contact on a customer, location or booking (`NewCustomerContact`, `BookingContactModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Phone, mobile, email, fax.
    #[serde(rename = "type")]
    pub kind: ContactType,
    /// The number (10 digits) or address.
    pub value: String,
    /// Short note, e.g. "ext. 12".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memo: Option<String>,
}

/// `Crm.V2.Customers.CustomerAddress` / `Crm.V2.AddressModel` (same required fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct StAddress {
    /// Number and street.
    pub street: String,
    /// Apartment / suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// City.
    pub city: String,
    /// State.
    pub state: String,
    /// ZIP.
    pub zip: String,
    /// Country; we send "USA".
    pub country: String,
}

/// `CustomFieldUpdateModel` (customers) and `CustomFieldModel` (jobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    /// Custom field type id in the tenant.
    pub type_id: i64,
    /// Value.
    pub value: String,
}

/// `Crm.V2.Customers.NewLocation`: a location created inline with its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLocation {
    /// Location name ("Maria Gonzalez").
    pub name: String,
    /// Service address.
    pub address: StAddress,
    /// Contacts at this location.
    pub contacts: Vec<Contact>,
}

/// `POST /crm/v2/tenant/{t}/customers` body (`CreateCustomerRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateCustomer {
    /// "First Last".
    pub name: String,
    /// `Residential` (homeowners).
    #[serde(rename = "type")]
    pub kind: String,
    /// Bill-to address (the service address for homeowners).
    pub address: StAddress,
    /// The service location, inline: one call instead of two.
    pub locations: Vec<NewLocation>,
    /// Customer-level contacts.
    pub contacts: Vec<Contact>,
}

/// `POST /crm/v2/tenant/{t}/locations` body (`CreateLocationRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLocation {
    /// Owner of the new location.
    pub customer_id: i64,
    /// Location name.
    pub name: String,
    /// Address.
    pub address: StAddress,
    /// Contacts.
    pub contacts: Vec<Contact>,
}

/// `Crm.V2.AppointmentInformation`, times RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
    /// Arrival window start.
    pub arrival_window_start: String,
    /// Arrival window end.
    pub arrival_window_end: String,
}

/// `POST /jpm/v2/tenant/{t}/jobs` body (`JobCreateRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateJob {
    /// Customer.
    pub customer_id: i64,
    /// Location (must belong to the customer).
    pub location_id: i64,
    /// From the site's trade route.
    pub business_unit_id: i64,
    /// Service or estimate job type.
    pub job_type_id: i64,
    /// Low | Normal | High | Urgent.
    pub priority: String,
    /// From the UTM source, else the site default.
    pub campaign_id: i64,
    /// Exactly one: ServiceTitan requires an appointment on create.
    pub appointments: Vec<Appointment>,
    /// What the technician reads first.
    pub summary: String,
    /// Referral code, when the site names a custom field for it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom_fields: Option<Vec<CustomField>>,
}

/// `POST /crm/v2/tenant/{t}/booking-provider/{bp}/bookings` body (`CreateBookingRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBooking {
    /// "Web chat" / "Voice agent".
    pub source: String,
    /// Homeowner's name.
    pub name: String,
    /// Service address, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<StAddress>,
    /// Phone and email.
    pub contacts: Vec<Contact>,
    /// Residential or Commercial.
    pub customer_type: String,
    /// Preferred start, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start: Option<String>,
    /// What the office reads.
    pub summary: String,
    /// Campaign.
    pub campaign_id: i64,
    /// Business unit.
    pub business_unit_id: i64,
    /// Job type.
    pub job_type_id: i64,
    /// `Crm.V2.Priority`.
    pub priority: String,
    /// True when matching found no customer.
    pub is_first_time_client: bool,
    /// We confirm in the chat; ServiceTitan need not email.
    pub is_send_confirmation_email: bool,
    /// Our idempotency key: the look-up key after a lost response.
    pub external_id: String,
}

/// Body of customer, location and job note creation (`text` + `pinToTop`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNote {
    /// Note text, at most [`crate::transcript::NOTE_LIMIT`] chars.
    pub text: String,
    /// Pin the summary so the office sees it first.
    pub pin_to_top: bool,
}

/// `POST /dispatch/v2/tenant/{t}/capacity` body (`CapacityQueryFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityQuery {
    /// Start of the range, UTC.
    pub starts_on_or_after: String,
    /// End of the range, UTC.
    pub ends_on_or_before: String,
    /// The trade's business unit.
    pub business_unit_ids: Vec<i64>,
    /// Job type whose duration is used.
    pub job_type_id: i64,
    /// Skill matching is the office's call, not ours.
    pub skill_based_availability: bool,
}

/// `POST /sales/v2/tenant/{t}/estimates` body (`CreateEstimateRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateEstimate {
    /// The estimate visit's job (which carries customer and location).
    pub job_id: i64,
    /// Short name: "Estimate: new water heater".
    pub name: String,
    /// The homeowner's request.
    pub summary: String,
}

// ---------- responses (lenient) ----------

/// `PaginatedResponse_Of_*`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Page<T> {
    /// Items of this page.
    pub data: Vec<T>,
    /// More pages exist.
    pub has_more: bool,
}

/// `CustomerResponse` (search results) and `CreatedCustomerResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomerOut {
    /// Id.
    pub id: i64,
    /// Active (merged customers are inactive).
    pub active: Option<bool>,
    /// Name.
    pub name: String,
    /// Bill-to address.
    pub address: Option<StAddress>,
    /// Only in the create response.
    pub locations: Vec<LocationOut>,
    /// Only in the create response.
    pub contacts: Vec<ContactOut>,
    /// Set when merged into another customer.
    pub merged_to_id: Option<i64>,
}

/// `LocationResponse` / `CreateLocationResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct LocationOut {
    /// Id.
    pub id: i64,
    /// Owner.
    pub customer_id: i64,
    /// Active.
    pub active: Option<bool>,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Option<StAddress>,
}

/// A contact as ServiceTitan returns it.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default)]
pub struct ContactOut {
    /// Type, as a string (unknown types must not fail the parse).
    #[serde(rename = "type")]
    pub kind: String,
    /// Value.
    pub value: String,
}

/// `JobResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct JobOut {
    /// Id.
    pub id: i64,
    /// The number the homeowner is told.
    pub job_number: Option<String>,
    /// Customer.
    pub customer_id: i64,
    /// Location.
    pub location_id: i64,
    /// Job type.
    pub job_type_id: i64,
    /// The summary we wrote; its `Web reference:` line tells our job from the customer's others.
    pub summary: String,
}

/// `BookingResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct BookingOut {
    /// Id.
    pub id: i64,
    /// Our idempotency key.
    pub external_id: Option<String>,
}

/// `NoteResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default)]
pub struct NoteOut {
    /// Text.
    pub text: String,
}

/// `EstimateResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct EstimateOut {
    /// Id.
    pub id: i64,
    /// Job.
    pub job_id: Option<i64>,
}

/// `CapacityResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default)]
pub struct CapacityOut {
    /// Time slices with their open capacity.
    pub availabilities: Vec<AvailabilityOut>,
}

/// `CapacityResponseAvailability`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct AvailabilityOut {
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// Business units this slice is for.
    pub business_unit_ids: Vec<i64>,
    /// Open capacity (technician-hours or slots; > 0 means bookable).
    pub open_availability: f64,
    /// The office asked not to book past its ideal percentage.
    pub is_exceeding_ideal_booking_percentage: bool,
}

/// `ApiErrorResponse`: ServiceTitan's validation error.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiError {
    /// "One or more validation errors occurred."
    pub title: String,
    /// Field → messages.
    pub errors: BTreeMap<String, Vec<String>>,
    /// For ServiceTitan support.
    pub trace_id: String,
}

impl ApiError {
    /// One readable line: title plus each field's messages.
    pub fn message(body: &str, status: u16) -> String {
        let e: ApiError = serde_json::from_str(body).unwrap_or_default();
        let mut msg = if e.title.is_empty() { format!("ServiceTitan answered {status}") } else { e.title };
        for (field, msgs) in &e.errors {
            msg.push_str(&format!(" {field}: {}", msgs.join(" ")));
        }
        if !e.trace_id.is_empty() {
            msg.push_str(&format!(" (trace {})", e.trace_id));
        }
        msg
    }
}

/// Parses a response body leniently: anything unreadable is `None`.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Option<T> {
    serde_json::from_str(body).ok()
}
