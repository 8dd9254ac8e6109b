//! Admin calls that change records the way the office does in ServiceTitan: an estimate
//! sent, viewed, sold or dismissed; an invoice issued, overdue or paid; a job completed,
//! canceled or a no-show. Each bumps the record's `modifiedOn` (strictly later than any
//! before, see [`crate::store::Db::tick`]) and fires webhooks ([`crate::webhooks`]).
//!
//! | call | body (all optional unless said) | event |
//! |---|---|---|
//! | `POST /_admin/estimates` | `jobId` or `customerId` (one required), `name`, `summary`, `subtotal` | `Estimate.Created` |
//! | `POST /_admin/estimates/{id}/sent` \| `viewed` \| `sold` \| `dismissed` | `soldBy` (sold) | `Estimate.Sent` (+`sentOn`), `Estimate.Viewed` (+`viewedOn`), `Estimate.Sold`, `Estimate.Dismissed` |
//! | `POST /_admin/invoices` | `jobId` (required), `total` (default 100), `dueDate` (default in 30 days) | `Invoice.Created` |
//! | `POST /_admin/invoices/{id}/overdue` | `days` past due (default 8) | `Invoice.Overdue` |
//! | `POST /_admin/invoices/{id}/paid` | `amount` (default the balance) | `Payment.Created`, then `Invoice.Paid` |
//! | `POST /_admin/jobs/{id}/completed` \| `canceled` \| `no-show` | `reasonId`, `memo` (canceled) | `Job.Completed`, `Job.Canceled` (a no-show is canceled with the "No show" reason) |
//! | `POST /_admin/jobs/{id}/notifications` | `enabled` (required) | `Job.Updated` |
//! | `POST /_admin/appointments/{id}/rescheduled` | `start`, `end` (required), `arrivalWindowStart`, `arrivalWindowEnd` | `Appointment.Rescheduled` |
//! | `POST /_admin/customers` | `name` (required), `mobile`, `email`, `state` (default MN) | none: a customer with one location and its contacts |
//! | `POST /_admin/jobs` | `customerId` (required), `start`, `end` (default in 3 days, 2 h) | `Job.Created` (a scheduled job with one appointment) |
//! | `POST /_admin/clock` | `offsetMs` or `now` (one required) | none: record times run that far off real time until the next reset |
//!
//! Every call takes `?deliver=normal|duplicate|late|skip` for its events (see
//! [`crate::webhooks::Delivery`]) and answers `{record, events}`. Event names are the
//! emulator's: ServiceTitan's V2 event catalog is not public.

use crate::error::ApiError;
use crate::state::{lock, Shared};
use crate::store::{Db, Rec};
use crate::webhooks::{self, Delivery};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

/// The record-changing admin routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_admin/estimates", post(create_estimate))
        .route("/_admin/estimates/{id}/{action}", post(estimate_action))
        .route("/_admin/invoices", post(create_invoice))
        .route("/_admin/invoices/{id}/{action}", post(invoice_action))
        .route("/_admin/jobs/{id}/{action}", post(job_action))
        .route("/_admin/appointments/{id}/rescheduled", post(reschedule))
        .route("/_admin/customers", post(create_customer))
        .route("/_admin/jobs", post(create_job))
        .route("/_admin/clock", post(set_clock))
}

// ---------- customers, jobs and the clock (for tests that need their own) ----------

/// `POST /_admin/customers {name, mobile?, email?, state?}`: a residential customer with
/// one service location (in `state`, default MN) and its contacts. No event: follow-ups
/// do not watch customers.
async fn create_customer(State(s): State<Shared>, RawQuery(q): RawQuery, bytes: Bytes) -> Response {
    let b = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    apply(&s, q, |db, _tenant| {
        let text = |k: &'static str| b.get(k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
        let Some(name) = text("name") else { return Err(ApiError::field("Name", "name is required.")) };
        let state = text("state").unwrap_or("MN");
        if state.len() != 2 || !state.bytes().all(|c| c.is_ascii_alphabetic()) {
            return Err(ApiError::field("State", "state is a two-letter code."));
        }
        let now = db.tick();
        let (id, location) = (db.next_id(), db.next_id());
        let address = json!({"street": "100 Test St", "unit": null, "city": "Testville", "state": state,
                             "zip": "55408", "country": "USA"});
        let customer = json!({"id": id, "active": true, "name": name, "type": "Residential", "address": address,
            "customFields": [], "balance": 0.0, "doNotMail": false, "doNotService": false, "createdOn": now,
            "createdById": 1, "modifiedOn": now, "mergedToId": null});
        db.insert("customers", customer.clone());
        db.insert(
            "locations",
            json!({"id": location, "customerId": id, "active": true, "name": "Home",
            "address": address, "customFields": [], "createdOn": now, "createdById": 1, "modifiedOn": now,
            "mergedToId": null, "taxZoneId": null}),
        );
        for (ty, value) in [("MobilePhone", text("mobile")), ("Email", text("email"))] {
            let Some(value) = value else { continue };
            let phone = (ty == "MobilePhone").then(|| json!({"phoneNumber": value, "doNotText": false}));
            let contact = db.next_id();
            db.insert(
                "contacts",
                json!({"id": contact, "type": ty, "value": value, "memo": null,
                "modifiedOn": now, "phoneSettings": phone, "customerId": id}),
            );
        }
        Ok(Change { record: customer, events: vec![] })
    })
}

/// `POST /_admin/jobs {customerId, start?, end?}`: a scheduled job at the customer's first
/// location with one appointment (default: in 3 days, 2 h). Fires `Job.Created`.
async fn create_job(State(s): State<Shared>, RawQuery(q): RawQuery, bytes: Bytes) -> Response {
    let b = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        let Some(customer) = b.get("customerId").and_then(Value::as_i64) else {
            return Err(ApiError::field("CustomerId", "customerId is required."));
        };
        let location =
            db.all("locations").iter().find(|l| l.int("customerId") == Some(customer)).and_then(|l| l.int("id"));
        let Some(location) = location else { return Err(ApiError::not_found("Location of customer", customer)) };
        let time = |k: &'static str| b.get(k).and_then(Value::as_str).map(|t| crate::time::parse_ms(t).ok_or(k));
        let start = match time("start") {
            Some(Ok(t)) => t,
            Some(Err(k)) => return Err(ApiError::field(&pascal(k), format!("{k} must be a date-time."))),
            None => db.now_ms() + 3 * 86_400_000,
        };
        let end = match time("end") {
            Some(Ok(t)) if t > start => t,
            None => start + 2 * 3_600_000,
            _ => return Err(ApiError::field("End", "The appointment must end after it starts.")),
        };
        let now = db.tick();
        let (id, appointment) = (db.next_id(), db.next_id());
        let (start, end) = (crate::time::format_ms(start), crate::time::format_ms(end));
        let appt = json!({"id": appointment, "jobId": id, "appointmentNumber": format!("{id}-1"), "start": start,
            "end": end, "arrivalWindowStart": start, "arrivalWindowEnd": end, "status": "Scheduled",
            "specialInstructions": null, "technicianIds": [], "createdOn": now, "modifiedOn": now});
        db.insert("appointments", appt.clone());
        let job = json!({"id": id, "jobNumber": id.to_string(), "projectId": null, "customerId": customer,
            "locationId": location, "jobStatus": "Scheduled", "completedOn": null, "businessUnitId": 1001,
            "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001, "summary": "Test job", "customFields": [],
            "appointmentCount": 1, "firstAppointmentId": appointment, "lastAppointmentId": appointment,
            "recallForId": null, "warrantyId": null, "jobGeneratedLeadSource": null, "noCharge": false,
            "notificationsEnabled": true, "createdOn": now, "createdById": 1, "modifiedOn": now, "tagTypeIds": [],
            "leadCallId": null, "bookingId": null, "soldById": null, "externalData": [], "appointments": [appt]});
        db.insert("jobs", job.clone());
        Ok(Change { events: vec![event("Job.Created", id, &now, tenant, json!({}))], record: job })
    })
}

/// `POST /_admin/clock {"offsetMs": N}` or `{"now": "<date-time>"}`: record times (and so
/// `modifiedOn`, `sentOn`, due dates) run N ms off real time until the next reset. Move it
/// before making the records a test needs (see [`Db::set_clock_offset`]).
async fn set_clock(State(s): State<Shared>, bytes: Bytes) -> Response {
    let b = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let offset = match (b.get("offsetMs").and_then(Value::as_i64), b.get("now").and_then(Value::as_str)) {
        (Some(ms), _) => ms,
        (None, Some(t)) => match crate::time::parse_ms(t) {
            Some(at) => at - crate::time::now_ms(),
            None => return ApiError::field("Now", "now must be a date-time.").into_response(),
        },
        (None, None) => return ApiError::field("OffsetMs", "offsetMs or now is required.").into_response(),
    };
    let mut db = lock(&s.db);
    db.set_clock_offset(offset);
    Json(json!({"offsetMs": offset, "now": crate::time::format_ms(db.now_ms())})).into_response()
}

/// What an admin change did: the record and the events it fired.
struct Change {
    record: Value,
    events: Vec<Value>,
}

type Outcome = Result<Change, ApiError>;

/// Runs a change under the records lock, then fires its events as asked.
fn apply(state: &Shared, raw: Option<String>, f: impl FnOnce(&mut Db, i64) -> Outcome) -> Response {
    let q = crate::paging::Query::parse(raw.as_deref());
    let how = match Delivery::parse(q.get("deliver")) {
        Ok(h) => h,
        Err(e) => return ApiError::field("deliver", e).into_response(),
    };
    let change = {
        let mut db = lock(&state.db);
        f(&mut db, state.app.tenant_id)
    };
    match change {
        Ok(c) => {
            webhooks::fire(state, c.events.clone(), how);
            Json(json!({"record": c.record, "events": c.events})).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn body(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    crate::api::json_body(bytes)
}

fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::field("id", format!("The value '{raw}' is not valid.")))
}

fn unknown_action(action: &str, allowed: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("No admin action {action:?}; use one of {allowed}."))
}

/// Money as ServiceTitan writes it: a string with two decimals.
fn money(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, (cents / 100).abs(), (cents % 100).abs())
}

/// `"125.00"` or `125` → cents.
fn cents(v: Option<&Value>) -> Option<i64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (n.is_finite() && n.abs() < 1e12).then(|| (n * 100.0).round() as i64)
}

fn event(ty: &str, id: i64, modified: &str, tenant: i64, extra: Value) -> Value {
    webhooks::event(ty, id, modified, tenant, extra)
}

// ---------- estimates ----------

async fn create_estimate(State(s): State<Shared>, RawQuery(q): RawQuery, bytes: Bytes) -> Response {
    let b = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        let job = match b.get("jobId").and_then(Value::as_i64) {
            Some(j) => Some(db.get("jobs", j).cloned().ok_or_else(|| ApiError::not_found("Job", j))?),
            None => None,
        };
        let customer = job.as_ref().and_then(|j| j.int("customerId")).or_else(|| b.get("customerId")?.as_i64());
        let Some(customer) = customer else { return Err(ApiError::field("JobId", "jobId or customerId is required.")) };
        if db.get("customers", customer).is_none() {
            return Err(ApiError::not_found("Customer", customer));
        }
        let now = db.tick();
        let id = db.next_id();
        let j = |k: &str| job.as_ref().and_then(|j| j.get(k)).cloned().unwrap_or(Value::Null);
        let subtotal = cents(b.get("subtotal")).unwrap_or(0) as f64 / 100.0;
        let est = json!({
            "id": id, "jobId": j("id"), "projectId": j("projectId"), "jobNumber": j("jobNumber"),
            "name": b.get("name").cloned().unwrap_or(json!("Estimate")), "status": {"value": 0, "name": "Open"},
            "summary": b.get("summary").cloned().unwrap_or(Value::Null), "createdOn": now, "modifiedOn": now,
            "soldOn": null, "soldBy": null, "active": true, "items": [], "externalLinks": [],
            "subtotal": subtotal, "tax": 0.0, "customerId": customer, "locationId": j("locationId"),
            "businessUnitId": j("businessUnitId"),
        });
        db.insert("estimates", est.clone());
        Ok(Change { events: vec![event("Estimate.Created", id, &now, tenant, json!({}))], record: est })
    })
}

async fn estimate_action(
    State(s): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    bytes: Bytes,
) -> Response {
    let (b, id) = match (body(&bytes), path_id(&id)) {
        (Ok(b), Ok(id)) => (b, id),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        if db.get("estimates", id).is_none() {
            return Err(ApiError::not_found("Estimate", id));
        }
        let now = db.tick();
        let (ty, extra) = match action.as_str() {
            "sent" => ("Estimate.Sent", json!({"sentOn": now})),
            "viewed" => ("Estimate.Viewed", json!({"viewedOn": now})),
            "sold" => ("Estimate.Sold", json!({})),
            "dismissed" => ("Estimate.Dismissed", json!({})),
            other => return Err(unknown_action(other, "sent, viewed, sold, dismissed")),
        };
        let Some(est) = db.get_mut("estimates", id) else { return Err(ApiError::not_found("Estimate", id)) };
        est["modifiedOn"] = json!(now);
        match action.as_str() {
            "sold" => {
                est["status"] = json!({"value": 1, "name": "Sold"});
                est["soldOn"] = json!(now);
                est["soldBy"] = b.get("soldBy").cloned().unwrap_or(json!(null));
            }
            "dismissed" => est["status"] = json!({"value": 2, "name": "Dismissed"}),
            _ => {}
        }
        let record = est.clone();
        Ok(Change { events: vec![event(ty, id, &now, tenant, extra)], record })
    })
}

// ---------- invoices and payments ----------

async fn create_invoice(State(s): State<Shared>, RawQuery(q): RawQuery, bytes: Bytes) -> Response {
    let b = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        let Some(job_id) = b.get("jobId").and_then(Value::as_i64) else {
            return Err(ApiError::field("JobId", "jobId is required."));
        };
        let job = db.get("jobs", job_id).cloned().ok_or_else(|| ApiError::not_found("Job", job_id))?;
        let total = cents(b.get("total")).unwrap_or(10_000);
        let due = match b.get("dueDate").and_then(Value::as_str) {
            Some(d) => crate::time::parse_ms(d).ok_or_else(|| ApiError::field("DueDate", "Not a date-time."))?,
            None => db.now_ms() + 30 * 86_400_000,
        };
        let customer_id = job.int("customerId").unwrap_or(0);
        let customer = db.get("customers", customer_id).cloned().unwrap_or(Value::Null);
        let location = job.int("locationId").and_then(|l| db.get("locations", l)).cloned().unwrap_or(Value::Null);
        let unit = job.int("businessUnitId").and_then(|u| db.get("businessUnits", u)).cloned().unwrap_or(Value::Null);
        let job_type = job.int("jobTypeId").and_then(|t| db.get("jobTypes", t)).cloned().unwrap_or(Value::Null);
        let now = db.tick();
        let id = db.next_id();
        let inv = json!({
            "id": id, "syncStatus": "Pending", "summary": job.get("summary"), "referenceNumber": id.to_string(),
            "invoiceDate": now, "dueDate": crate::time::format_ms(due), "subTotal": money(total), "salesTax": "0.00",
            "salesTaxCode": null, "total": money(total), "balance": money(total),
            "customer": {"id": customer_id, "name": customer.get("name")},
            "customerAddress": customer.get("address"), "locationAddress": location.get("address"),
            "businessUnit": unit.get("id").map(|_| json!({"id": unit.get("id"), "name": unit.get("name")})),
            "termName": "Net 30", "createdBy": "st-sandbox", "batch": null, "modifiedOn": now, "adjustmentToId": null,
            "job": {"id": job_id, "number": job.get("jobNumber"), "type": job_type.get("name")},
            "projectId": job.get("projectId"), "royalty": null, "employeeInfo": null, "commissionEligibilityDate": null,
            "items": [], "customFields": [], "sentStatus": "Sent", "paidOn": null,
        });
        db.insert("invoices", inv.clone());
        Ok(Change { events: vec![event("Invoice.Created", id, &now, tenant, json!({}))], record: inv })
    })
}

async fn invoice_action(
    State(s): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    bytes: Bytes,
) -> Response {
    let (b, id) = match (body(&bytes), path_id(&id)) {
        (Ok(b), Ok(id)) => (b, id),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| match action.as_str() {
        "overdue" => overdue(db, tenant, id, &b),
        "paid" => paid(db, tenant, id, &b),
        other => Err(unknown_action(other, "overdue, paid")),
    })
}

/// Moves the due date into the past.
fn overdue(db: &mut Db, tenant: i64, id: i64, b: &Map<String, Value>) -> Outcome {
    let days = b.get("days").and_then(Value::as_i64).unwrap_or(8).clamp(0, 3650);
    let now = db.tick();
    let today = db.now_ms();
    let inv = db.get_mut("invoices", id).ok_or_else(|| ApiError::not_found("Invoice", id))?;
    inv["dueDate"] = json!(crate::time::format_ms(today - days * 86_400_000));
    inv["modifiedOn"] = json!(now);
    Ok(Change { record: inv.clone(), events: vec![event("Invoice.Overdue", id, &now, tenant, json!({}))] })
}

/// A payment applied to the invoice; the balance drops by it (to zero by default).
fn paid(db: &mut Db, tenant: i64, id: i64, b: &Map<String, Value>) -> Outcome {
    let inv = db.get("invoices", id).cloned().ok_or_else(|| ApiError::not_found("Invoice", id))?;
    let balance = cents(inv.get("balance")).unwrap_or(0);
    let amount = cents(b.get("amount")).unwrap_or(balance);
    if amount <= 0 {
        return Err(ApiError::field("Amount", "The payment must be more than zero (the invoice may be paid)."));
    }
    let pay_on = db.tick();
    let pay_id = db.next_id();
    let payment = json!({
        "id": pay_id, "syncStatus": "Pending", "referenceNumber": pay_id.to_string(), "date": pay_on,
        "type": "Credit Card", "typeId": "1", "total": money(amount), "unappliedAmount": money((amount - balance).max(0)),
        "memo": null, "customer": inv.get("customer"), "batch": null, "createdBy": "st-sandbox",
        "generalLedgerAccount": null,
        "appliedTo": [{"appliedTo": id, "appliedAmount": money(amount.min(balance)), "appliedOn": pay_on, "appliedBy": "st-sandbox"}],
        "customFields": [], "authCode": null, "checkNumber": null, "modifiedOn": pay_on,
    });
    db.insert("payments", payment);
    let now = db.tick();
    let left = (balance - amount).max(0);
    let rec = db.get_mut("invoices", id).ok_or_else(|| ApiError::not_found("Invoice", id))?;
    rec["balance"] = json!(money(left));
    rec["modifiedOn"] = json!(now);
    if left == 0 {
        rec["paidOn"] = json!(now);
    }
    let record = rec.clone();
    Ok(Change {
        record,
        events: vec![
            event("Payment.Created", pay_id, &pay_on, tenant, json!({})),
            event("Invoice.Paid", id, &now, tenant, json!({})),
        ],
    })
}

// ---------- jobs ----------

async fn job_action(
    State(s): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    bytes: Bytes,
) -> Response {
    let (b, id) = match (body(&bytes), path_id(&id)) {
        (Ok(b), Ok(id)) => (b, id),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        if db.get("jobs", id).is_none() {
            return Err(ApiError::not_found("Job", id));
        }
        let (ty, status, appointment_status) = match action.as_str() {
            "completed" => ("Job.Completed", "Completed", Some("Done")),
            "canceled" | "no-show" => ("Job.Canceled", "Canceled", Some("Canceled")),
            "notifications" => ("Job.Updated", "", None),
            other => return Err(unknown_action(other, "completed, canceled, no-show, notifications")),
        };
        let reason = match action.as_str() {
            "no-show" => Some(reason_named(db, "No show")?),
            "canceled" => Some(match b.get("reasonId").and_then(Value::as_i64) {
                Some(r) => {
                    db.get("jobCancelReasons", r).cloned().ok_or_else(|| ApiError::not_found("Cancel reason", r))?
                }
                None => reason_named(db, "Customer canceled")?,
            }),
            _ => None,
        };
        let enabled = b.get("enabled").and_then(Value::as_bool);
        if action == "notifications" && enabled.is_none() {
            return Err(ApiError::field("Enabled", "enabled (true or false) is required."));
        }
        let now = db.tick();
        if let Some(r) = &reason {
            let log_id = db.next_id();
            let memo = b.get("memo").cloned().unwrap_or(Value::Null);
            db.insert(
                "jobCancellations",
                json!({"id": log_id, "jobId": id, "reasonId": r.get("id"), "name": r.get("name"), "memo": memo,
                       "createdOn": now, "createdById": 1}),
            );
        }
        if let Some(a_status) = appointment_status {
            let ids: Vec<i64> = db
                .all("appointments")
                .iter()
                .filter(|a| a.int("jobId") == Some(id))
                .filter_map(|a| a.int("id"))
                .collect();
            for a in ids {
                if let Some(rec) = db.get_mut("appointments", a) {
                    rec["status"] = json!(a_status);
                    rec["modifiedOn"] = json!(now);
                }
            }
        }
        let job = db.get_mut("jobs", id).ok_or_else(|| ApiError::not_found("Job", id))?;
        job["modifiedOn"] = json!(now);
        match enabled {
            Some(on) => job["notificationsEnabled"] = json!(on),
            None => job["jobStatus"] = json!(status),
        }
        if status == "Completed" {
            job["completedOn"] = json!(now);
        }
        if let (Some(a_status), Some(list)) =
            (appointment_status, job.get_mut("appointments").and_then(Value::as_array_mut))
        {
            for a in list {
                a["status"] = json!(a_status);
                a["modifiedOn"] = json!(now);
            }
        }
        Ok(Change { record: job.clone(), events: vec![event(ty, id, &now, tenant, json!({}))] })
    })
}

/// Moves a visit (so a day-before reminder can be due soon); the status goes back to Scheduled.
async fn reschedule(State(s): State<Shared>, Path(id): Path<String>, RawQuery(q): RawQuery, bytes: Bytes) -> Response {
    let (b, id) = match (body(&bytes), path_id(&id)) {
        (Ok(b), Ok(id)) => (b, id),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    apply(&s, q, |db, tenant| {
        let mut times = Map::new();
        for key in ["start", "end", "arrivalWindowStart", "arrivalWindowEnd"] {
            match b.get(key) {
                Some(Value::String(t)) if crate::time::parse_ms(t).is_some() => {
                    times.insert(key.into(), json!(crate::time::format_ms(crate::time::parse_ms(t).unwrap_or(0))));
                }
                None | Some(Value::Null) if key.starts_with("arrival") => {}
                _ => return Err(ApiError::field(&pascal(key), format!("{key} must be a date-time."))),
            }
        }
        let at = |k: &str| times.get(k).and_then(Value::as_str).and_then(crate::time::parse_ms);
        if at("end") <= at("start") {
            return Err(ApiError::field("End", "The appointment must end after it starts."));
        }
        let now = db.tick();
        let appt = db.get_mut("appointments", id).ok_or_else(|| ApiError::not_found("Appointment", id))?;
        for (k, v) in &times {
            appt[k] = v.clone();
        }
        appt["status"] = json!("Scheduled");
        appt["modifiedOn"] = json!(now);
        let record = appt.clone();
        let job_id = record.int("jobId").unwrap_or(0);
        if let Some(list) =
            db.get_mut("jobs", job_id).and_then(|j| j.get_mut("appointments")).and_then(Value::as_array_mut)
        {
            for a in list.iter_mut().filter(|a| a.int("id") == Some(id)) {
                *a = record.clone();
            }
        }
        Ok(Change {
            record,
            events: vec![event("Appointment.Rescheduled", id, &now, tenant, json!({"jobId": job_id}))],
        })
    })
}

fn pascal(key: &str) -> String {
    let mut c = key.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn reason_named(db: &Db, name: &str) -> Result<Value, ApiError> {
    db.all("jobCancelReasons")
        .iter()
        .find(|r| r.str_("name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
        .ok_or_else(|| ApiError::field("ReasonId", format!("The tenant has no cancel reason named {name:?}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_strings() {
        assert_eq!(money(12_345), "123.45");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-150), "-1.50");
        assert_eq!(cents(Some(&json!("125.00"))), Some(12_500));
        assert_eq!(cents(Some(&json!(19.99))), Some(1_999));
        assert_eq!(cents(Some(&json!("x"))), None);
        assert_eq!(cents(Some(&json!(1e300))), None);
    }
}
