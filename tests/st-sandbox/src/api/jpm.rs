//! JPM: jobs (with their appointments), job notes, appointments, job types.
//!
//! Job create checks what ServiceTitan checks beyond the schema: the customer, location
//! (belonging to that customer), business unit, job type and campaign exist, and every
//! appointment ends after it starts. Job lists filter by `number, bookingId, jobStatus,
//! customerId, locationId, jobTypeId, campaignId, businessUnitId, technicianId`.
//!
//! Status changes (completed, canceled, no-show) come from the admin API
//! ([`crate::changes`]). ServiceTitan has no no-show status: a no-show is a job canceled
//! with a reason such as "No show", read from `job-cancel-reasons` and the job's
//! `canceled-log` (`{id, jobId, reasonId, name, memo, createdOn}` entries; that path is
//! newer than the 2022 OpenAPI files, which have only `cancel-reasons`). `export/jobs` and
//! `export/appointments` are the feeds of [`super::export`].

use super::export::feed;
use super::notes::{self, JOB};
use super::{check_ref, field, get_one, json_body, list, ApiResult, Params};
use crate::error::ApiError;
use crate::paging::{self, Filter, ListOpts};
use crate::state::{lock, Shared};
use crate::store::Rec;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

const T: &str = "/jpm/v2/tenant/{tenant}";

/// JPM routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(&format!("{T}/jobs"), get(list_jobs).post(create_job))
        .route(&format!("{T}/jobs/{{id}}"), get(get_job))
        .route(&format!("{T}/jobs/{{id}}/notes"), get(notes::get_handler(JOB)).post(notes::post_handler(JOB)))
        .route(&format!("{T}/appointments"), get(list_appointments))
        .route(&format!("{T}/appointments/{{id}}"), get(get_appointment))
        .route(&format!("{T}/jobs/{{id}}/canceled-log"), get(canceled_log))
        .route(&format!("{T}/job-cancel-reasons"), get(list_cancel_reasons))
        .route(
            &format!("{T}/export/jobs"),
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { feed(&s, "jobs", q) }),
        )
        .route(
            &format!("{T}/export/appointments"),
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { feed(&s, "appointments", q) }),
        )
        .route(&format!("{T}/job-types"), get(list_job_types))
        .route(&format!("{T}/job-types/{{id}}"), get(get_job_type))
}

async fn list_jobs(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = paging::Query::parse(raw.as_deref());
    let rows = lock(&s.db).all("jobs").to_vec();
    let mut rows = paging::apply(
        rows,
        &q,
        &[
            Filter::Eq("number", "/jobNumber"),
            Filter::IntEq("bookingId", "bookingId"),
            Filter::Eq("jobStatus", "/jobStatus"),
            Filter::IntEq("customerId", "customerId"),
            Filter::IntEq("locationId", "locationId"),
            Filter::IntEq("jobTypeId", "jobTypeId"),
            Filter::IntEq("campaignId", "campaignId"),
            Filter::IntEq("businessUnitId", "businessUnitId"),
        ],
    )?;
    if let Some(tech) = q.int("technicianId")? {
        rows.retain(|j| {
            j.get("appointments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|a| a.get("technicianIds").and_then(Value::as_array).is_some_and(|t| t.contains(&json!(tech))))
        });
    }
    Ok(Json(paging::page(rows, &q, ListOpts::default())?))
}

async fn get_job(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "jobs", "Job", &p)
}

async fn create_job(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    let mut errors = Map::new();
    check_ref(&db, "customers", "Customer", "CustomerId", &field(&body, "customerId"), &mut errors);
    check_ref(&db, "locations", "Location", "LocationId", &field(&body, "locationId"), &mut errors);
    check_ref(&db, "businessUnits", "Business unit", "BusinessUnitId", &field(&body, "businessUnitId"), &mut errors);
    check_ref(&db, "jobTypes", "Job type", "JobTypeId", &field(&body, "jobTypeId"), &mut errors);
    check_ref(&db, "campaigns", "Campaign", "CampaignId", &field(&body, "campaignId"), &mut errors);
    let customer_id = body.get("customerId").and_then(Value::as_i64);
    let location_id = body.get("locationId").and_then(Value::as_i64).unwrap_or(-1);
    if let Some(loc) = db.get("locations", location_id) {
        if loc.int("customerId") != customer_id {
            errors.insert(
                "LocationId".into(),
                json!([format!("Location {location_id} does not belong to customer {}.", customer_id.unwrap_or(0))]),
            );
        }
    }
    let appts: Vec<Value> = body.get("appointments").and_then(Value::as_array).cloned().unwrap_or_default();
    if appts.is_empty() {
        errors.insert("Appointments".into(), json!(["At least one appointment is required."]));
    }
    for (i, a) in appts.iter().enumerate() {
        let t = |k: &str| a.get(k).and_then(Value::as_str).and_then(crate::time::parse_ms);
        if let (Some(start), Some(end)) = (t("start"), t("end")) {
            if end <= start {
                errors.insert(format!("Appointments[{i}].End"), json!(["The appointment must end after it starts."]));
            }
        }
        for tech in a.get("technicianIds").and_then(Value::as_array).into_iter().flatten() {
            check_ref(&db, "technicians", "Technician", &format!("Appointments[{i}].TechnicianIds"), tech, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = db.next_id();
    let job_number = id.to_string();
    let appointments: Vec<Value> = appts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let f = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
            let rec = json!({
                "id": db.next_id(), "jobId": id, "appointmentNumber": format!("{job_number}-{}", i + 1),
                "start": f("start"), "end": f("end"), "arrivalWindowStart": f("arrivalWindowStart"), "arrivalWindowEnd": f("arrivalWindowEnd"),
                "status": "Scheduled", "specialInstructions": f("specialInstructions"), "technicianIds": a.get("technicianIds").cloned().unwrap_or(json!([])),
                "createdOn": now, "modifiedOn": now,
            });
            db.insert("appointments", rec.clone());
            rec
        })
        .collect();
    let ids: Vec<i64> = appointments.iter().filter_map(|a| a.int("id")).collect();
    let external = body.get("externalData").and_then(|e| e.get("externalData")).cloned().unwrap_or(json!([]));
    let job = json!({
        "id": id, "jobNumber": job_number, "projectId": null, "customerId": customer_id, "locationId": location_id,
        "jobStatus": "Scheduled", "completedOn": null, "businessUnitId": field(&body, "businessUnitId"),
        "jobTypeId": field(&body, "jobTypeId"), "priority": field(&body, "priority"), "campaignId": field(&body, "campaignId"),
        "summary": field(&body, "summary"), "customFields": super::crm::custom_fields(&field(&body, "customFields")),
        "appointmentCount": appointments.len(), "firstAppointmentId": ids.first(), "lastAppointmentId": ids.last(),
        "recallForId": null, "warrantyId": null, "jobGeneratedLeadSource": null, "noCharge": false, "notificationsEnabled": true,
        "createdOn": now, "createdById": s.app.user_id, "modifiedOn": now, "tagTypeIds": body.get("tagTypeIds").cloned().filter(|v| !v.is_null()).unwrap_or(json!([])),
        "leadCallId": null, "bookingId": null, "soldById": null, "externalData": external, "appointments": appointments,
    });
    db.insert("jobs", job.clone());
    Ok(Json(job))
}

async fn list_appointments(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    list(
        &s,
        "appointments",
        q,
        &[Filter::IntEq("jobId", "jobId"), Filter::Eq("status", "/status"), Filter::Eq("number", "/appointmentNumber")],
        ListOpts::default(),
    )
}

async fn get_appointment(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "appointments", "Appointment", &p)
}

async fn list_job_types(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    list(&s, "jobTypes", q, &[Filter::Contains("name", "/name")], ListOpts { active: true })
}

async fn get_job_type(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "jobTypes", "Job type", &p)
}

async fn canceled_log(State(s): State<Shared>, Path(p): Params, RawQuery(q): RawQuery) -> ApiResult {
    let id = super::id(&p, "id")?;
    if lock(&s.db).get("jobs", id).is_none() {
        return Err(ApiError::not_found("Job", id));
    }
    list(
        &s,
        "jobCancellations",
        Some(format!("jobId={id}&{}", q.unwrap_or_default())),
        &[Filter::IntEq("jobId", "jobId")],
        ListOpts::default(),
    )
}

async fn list_cancel_reasons(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    list(&s, "jobCancelReasons", q, &[], ListOpts { active: true })
}
