//! Bookings through a booking provider. [`crate::auth`] has already refused any
//! `{bp}` other than the one the app is restricted to; the tenant-wide reads likewise
//! only see that provider's bookings. Lists filter by `externalId` (exact).

use super::{get_one, id, json_body, new_contact, ApiResult, Params};
use crate::error::ApiError;
use crate::paging::{self, Filter, ListOpts};
use crate::state::{lock, Shared};
use crate::store::Rec;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

const BP: &str = "/crm/v2/tenant/{tenant}/booking-provider/{bp}/bookings";
const ALL: &str = "/crm/v2/tenant/{tenant}/bookings";

/// Booking routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(BP, get(list_bookings).post(create_booking))
        .route(&format!("{BP}/{{id}}"), get(get_booking).patch(patch_booking))
        .route(&format!("{BP}/{{id}}/contacts"), get(booking_contacts).post(add_booking_contact))
        .route(ALL, get(list_bookings))
        .route(&format!("{ALL}/{{id}}"), get(get_booking))
        .route(&format!("{ALL}/{{id}}/contacts"), get(booking_contacts))
}

fn ours(s: &Shared, b: &Value) -> bool {
    b.int("bookingProviderId") == Some(s.app.booking_provider_id)
}

async fn list_bookings(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = paging::Query::parse(raw.as_deref());
    let rows: Vec<Value> = lock(&s.db).all("bookings").iter().filter(|b| ours(&s, b)).cloned().collect();
    // externalId is an exact key (it is the caller's idempotency reference).
    let rows = match q.get("externalId") {
        Some(want) => rows.into_iter().filter(|b| b.str_("externalId") == Some(want)).collect(),
        None => rows,
    };
    let rows = paging::apply(rows, &q, &[Filter::Eq("status", "/status")])?;
    Ok(Json(paging::page(rows, &q, ListOpts::default())?))
}

async fn get_booking(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    let Json(b) = get_one(&s, "bookings", "Booking", &p)?;
    if !ours(&s, &b) {
        return Err(ApiError::not_found("Booking", b.int("id").unwrap_or(0)));
    }
    Ok(Json(b))
}

async fn create_booking(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    let id = db.next_id();
    let f = |k: &str| body.get(k).cloned().unwrap_or(Value::Null);
    let booking = json!({
        "id": id, "source": f("source"), "createdOn": now, "name": f("name"), "address": f("address"),
        "customerType": f("customerType"), "start": f("start"), "summary": f("summary"), "campaignId": f("campaignId"),
        "businessUnitId": f("businessUnitId"), "isFirstTimeClient": f("isFirstTimeClient"),
        "uploadedImages": body.get("uploadedImages").cloned().filter(|v| !v.is_null()).unwrap_or(json!([])),
        "isSendConfirmationEmail": f("isSendConfirmationEmail"), "status": "New", "dismissingReasonId": null, "jobId": null,
        "externalId": f("externalId"), "priority": f("priority"), "jobTypeId": f("jobTypeId"),
        "bookingProviderId": s.app.booking_provider_id, "modifiedOn": now,
    });
    db.insert("bookings", booking.clone());
    for c in body.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default() {
        let rec = new_contact(&mut db, &c, "bookingId", id, &now);
        db.insert("contacts", rec);
    }
    Ok(Json(booking))
}

async fn patch_booking(State(s): State<Shared>, Path(p): Params, bytes: Bytes) -> ApiResult {
    let bid = id(&p, "id")?;
    let body = json_body(&bytes)?;
    let mut db = lock(&s.db);
    let rec = db.get_mut("bookings", bid).filter(|b| b.int("bookingProviderId") == Some(s.app.booking_provider_id));
    let rec = rec.ok_or_else(|| ApiError::not_found("Booking", bid))?;
    for (k, v) in body {
        rec[k.as_str()] = v;
    }
    rec["modifiedOn"] = json!(crate::time::now_rfc3339());
    Ok(Json(rec.clone()))
}

async fn booking_contacts(State(s): State<Shared>, Path(p): Params, RawQuery(raw): RawQuery) -> ApiResult {
    let Json(_) = get_booking(State(s.clone()), Path(p.clone())).await?;
    let bid = id(&p, "id")?;
    let rows: Vec<Value> = lock(&s.db)
        .all("contacts")
        .iter()
        .filter(|c| c.int("bookingId") == Some(bid))
        .map(|c| super::without(c.clone(), &["bookingId", "phoneSettings"]))
        .collect();
    Ok(Json(paging::page(rows, &paging::Query::parse(raw.as_deref()), ListOpts::default())?))
}

async fn add_booking_contact(State(s): State<Shared>, Path(p): Params, bytes: Bytes) -> ApiResult {
    let Json(_) = get_booking(State(s.clone()), Path(p.clone())).await?;
    let bid = id(&p, "id")?;
    let body = Value::Object(json_body(&bytes)?);
    let mut db = lock(&s.db);
    let c = new_contact(&mut db, &body, "bookingId", bid, &crate::time::now_rfc3339());
    db.insert("contacts", c.clone());
    Ok(Json(super::without(c, &["bookingId", "phoneSettings"])))
}
