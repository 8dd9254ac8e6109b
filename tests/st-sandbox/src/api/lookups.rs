//! Settings (business units, technicians), Marketing (campaigns) and Sales (estimates).
//!
//! Estimate lists filter by `ids`, `jobId`, `projectId`, `jobNumber`, `soldById`, `status`
//! (Open, Sold or Dismissed: the status's `name`), `soldAfter` / `soldBefore`, the common `modifiedOnOrAfter` /
//! `createdOnOrAfter` / ..., and page like every list; `estimates/export` is the feed of
//! [`super::export`]. Sent, viewed, sold and dismissed come from the admin API.

use super::{check_ref, field, get_one, json_body, list, ApiResult, Params};
use crate::error::ApiError;
use crate::paging::{Filter, ListOpts};
use crate::state::{lock, Shared};
use crate::store::Rec;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

/// Lookup routes.
pub fn routes() -> Router<Shared> {
    let set = "/settings/v2/tenant/{tenant}";
    let mkt = "/marketing/v2/tenant/{tenant}";
    let sales = "/sales/v2/tenant/{tenant}";
    Router::new()
        .route(&format!("{set}/business-units"), get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { by_name(&s, "businessUnits", q) }))
        .route(&format!("{set}/business-units/{{id}}"), get(|State(s): State<Shared>, Path(p): Params| async move { get_one(&s, "businessUnits", "Business unit", &p) }))
        .route(&format!("{set}/technicians"), get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { by_name(&s, "technicians", q) }))
        .route(&format!("{set}/technicians/{{id}}"), get(|State(s): State<Shared>, Path(p): Params| async move { get_one(&s, "technicians", "Technician", &p) }))
        .route(&format!("{mkt}/campaigns"), get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { by_name(&s, "campaigns", q) }))
        .route(&format!("{mkt}/campaigns/{{id}}"), get(|State(s): State<Shared>, Path(p): Params| async move { get_one(&s, "campaigns", "Campaign", &p) }))
        .route(&format!("{sales}/estimates"), get(list_estimates).post(create_estimate))
        .route(&format!("{sales}/estimates/export"), get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { super::export::feed(&s, "estimates", q) }))
        .route(&format!("{sales}/estimates/{{id}}"), get(|State(s): State<Shared>, Path(p): Params| async move { get_one(&s, "estimates", "Estimate", &p) }))
}

/// Lists with `name` ("contains", case-insensitive, as the campaigns spec documents) and `active`.
fn by_name(s: &Shared, coll: &str, q: Option<String>) -> ApiResult {
    list(s, coll, q, &[Filter::Contains("name", "/name")], ListOpts { active: true })
}

async fn list_estimates(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = crate::paging::Query::parse(raw.as_deref());
    let mut rows = lock(&s.db).all("estimates").to_vec();
    for (param, after) in [("soldAfter", true), ("soldBefore", false)] {
        if let Some(t) = q.time(param)? {
            rows.retain(|e| {
                let at = e.get("soldOn").and_then(Value::as_str).and_then(crate::time::parse_ms);
                at.is_some_and(|at| if after { at >= t } else { at < t })
            });
        }
    }
    let rows = crate::paging::apply(
        rows,
        &q,
        &[
            Filter::IntEq("jobId", "jobId"),
            Filter::IntEq("projectId", "projectId"),
            Filter::Eq("jobNumber", "/jobNumber"),
            Filter::IntEq("soldById", "soldBy"),
            Filter::Eq("status", "/status/name"),
        ],
    )?;
    Ok(Json(crate::paging::page(rows, &q, ListOpts { active: true })?))
}

async fn create_estimate(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    let mut errors = Map::new();
    check_ref(&db, "jobs", "Job", "JobId", &field(&body, "jobId"), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let job = body.get("jobId").and_then(Value::as_i64).and_then(|j| db.get("jobs", j)).cloned().unwrap_or(Value::Null);
    let items: Vec<Value> = body.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut subtotal = 0.0;
    let mut out_items = Vec::new();
    for it in &items {
        let qty = it.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
        let price = it.get("unitPrice").and_then(Value::as_f64).unwrap_or(0.0);
        subtotal += qty * price;
        // EstimateItemResponse and SkuModel require every one of these (strings, not
        // null); the emulator has no pricebook, so the SKU is made from the request.
        let text = |k: &str| it.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let sku_name =
            it.get("skuName").and_then(Value::as_str).map(String::from).unwrap_or_else(|| text("description"));
        out_items.push(json!({
            "id": db.next_id(),
            "sku": {"id": it.get("skuId").and_then(Value::as_i64).unwrap_or(0), "name": sku_name, "displayName": sku_name,
                    "type": "Service", "soldHours": 0.0, "generalLedgerAccountId": 0, "generalLedgerAccountName": "", "modifiedOn": now},
            "skuAccount": "", "description": text("description"), "qty": qty, "unitRate": price, "total": qty * price,
            "itemGroupName": text("itemGroupName"), "itemGroupRootId": null, "modifiedOn": now,
        }));
    }
    let est = json!({
        "id": db.next_id(), "jobId": job.get("id"), "projectId": job.get("projectId"), "jobNumber": job.get("jobNumber"),
        "name": field(&body, "name"), "status": {"value": 0, "name": "Open"}, "summary": field(&body, "summary"),
        "createdOn": now, "modifiedOn": now, "soldOn": null, "soldBy": null, "active": true, "items": out_items,
        "externalLinks": body.get("externalLinks").cloned().filter(|v| !v.is_null()).unwrap_or(json!([])),
        "subtotal": subtotal, "tax": body.get("tax").and_then(Value::as_f64).unwrap_or(0.0),
        "customerId": job.int("customerId"), "locationId": job.int("locationId"), "businessUnitId": job.int("businessUnitId"),
    });
    db.insert("estimates", est.clone());
    Ok(Json(est))
}
