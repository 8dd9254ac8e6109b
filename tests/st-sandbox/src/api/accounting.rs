//! Accounting: invoices and payments, read-only as the follow-ups need them. There is no
//! `GET /invoices/{id}` in ServiceTitan's API (nor here): an invoice is read with
//! `invoices?ids=`. Money is a string (`"125.00"`), as in the spec. Invoices and payments
//! are made by the admin API ([`crate::changes`]).
//!
//! Invoice filters: `ids`, `jobId`, `customerId`, `number` (the reference number),
//! `dueDateBefore`, `modifiedOnOrAfter` and the other common ones. Payment filters:
//! `ids`, `customerId`, `appliedToInvoiceIds` (any of them), `paidOnAfter`, `paidOnBefore`,
//! `modifiedOnOrAfter`.

use super::export::feed;
use super::ApiResult;
use crate::paging::{self, Filter, ListOpts, Query};
use crate::state::{lock, Shared};
use crate::time::parse_ms;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

const T: &str = "/accounting/v2/tenant/{tenant}";

/// Accounting routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(&format!("{T}/invoices"), get(list_invoices))
        .route(&format!("{T}/payments"), get(list_payments))
        .route(
            &format!("{T}/export/invoices"),
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { feed(&s, "invoices", q) }),
        )
        .route(
            &format!("{T}/export/payments"),
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move { feed(&s, "payments", q) }),
        )
}

async fn list_invoices(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let rows = lock(&s.db).all("invoices").to_vec();
    let mut rows = paging::apply(rows, &q, &[Filter::Eq("number", "/referenceNumber")])?;
    for (param, ptr) in [("jobId", "/job/id"), ("customerId", "/customer/id")] {
        if let Some(id) = q.int(param)? {
            rows.retain(|r| r.pointer(ptr).and_then(Value::as_i64) == Some(id));
        }
    }
    if let Some(before) = q.time("dueDateBefore")? {
        rows.retain(|r| r.get("dueDate").and_then(Value::as_str).and_then(parse_ms).is_some_and(|d| d < before));
    }
    Ok(Json(paging::page(rows, &q, ListOpts::default())?))
}

async fn list_payments(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let rows = lock(&s.db).all("payments").to_vec();
    let mut rows = paging::apply(rows, &q, &[])?;
    if let Some(id) = q.int("customerId")? {
        rows.retain(|p| p.pointer("/customer/id").and_then(Value::as_i64) == Some(id));
    }
    for (param, after) in [("paidOnAfter", true), ("paidOnBefore", false)] {
        if let Some(t) = q.time(param)? {
            rows.retain(|p| {
                let at = p.get("date").and_then(Value::as_str).and_then(parse_ms);
                at.is_some_and(|at| if after { at >= t } else { at < t })
            });
        }
    }
    if let Some(list) = q.get("appliedToInvoiceIds") {
        let wanted: Vec<i64> = list.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        if wanted.is_empty() {
            return Err(crate::error::ApiError::field("appliedToInvoiceIds", "A comma-separated list of invoice ids."));
        }
        rows.retain(|p| {
            p.get("appliedTo")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|a| a.get("appliedTo").and_then(Value::as_i64).is_some_and(|i| wanted.contains(&i)))
        });
    }
    Ok(Json(paging::page(rows, &q, ListOpts::default())?))
}
