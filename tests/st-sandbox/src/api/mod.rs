//! The ServiceTitan routes, by module. Every path is `/{module}/v2/tenant/{tenant}/...`
//! exactly as in ServiceTitan's OpenAPI files; bodies reaching these handlers have
//! already passed [`crate::openapi`] validation and [`crate::auth`].
//!
//! | module | routes |
//! |---|---|
//! | CRM ([`crm`]) | customers (+ `/{id}`, `/{id}/notes`, `/{id}/contacts`, `/contacts`), locations (same), leads (+ notes) |
//! | CRM ([`bookings`]) | `booking-provider/{bp}/bookings` (+ `/{id}`, `/{id}/contacts`), tenant-wide `bookings` reads |
//! | JPM ([`jpm`]) | jobs (+ `/{id}`, `/{id}/notes`), appointments, job-types |
//! | Settings, Marketing, Sales ([`lookups`]) | business-units, technicians, campaigns, estimates |
//! | JPM ([`jpm`]) | `job-cancel-reasons`, `jobs/{id}/canceled-log`, `export/jobs`, `export/appointments` |
//! | Sales ([`lookups`]) | estimates (`?ids`, `status`, `modifiedOnOrAfter`, ...), `estimates/{id}`, `estimates/export` |
//! | Accounting ([`accounting`]) | `invoices` (no get-by-id, as in ServiceTitan), `payments` (`appliedToInvoiceIds`), `export/invoices`, `export/payments` |
//! | Dispatch ([`dispatch`]) | `POST capacity` |

pub mod accounting;
pub mod bookings;
pub mod crm;
pub mod dispatch;
pub mod export;
pub mod jpm;
pub mod lookups;
pub mod notes;

use crate::error::ApiError;
use crate::paging::{self, Filter, ListOpts, Query};
use crate::state::{lock, Shared};
use crate::store::Db;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::{Json, Router};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What handlers return.
pub type ApiResult = Result<Json<Value>, ApiError>;
/// Path parameters by name.
pub type Params = Path<HashMap<String, String>>;

/// All ServiceTitan routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .merge(crm::routes())
        .merge(bookings::routes())
        .merge(jpm::routes())
        .merge(lookups::routes())
        .merge(dispatch::routes())
        .merge(accounting::routes())
}

/// An integer path parameter (400 if not an integer).
pub fn id(params: &HashMap<String, String>, name: &str) -> Result<i64, ApiError> {
    let raw = params.get(name).map(String::as_str).unwrap_or("");
    raw.parse().map_err(|_| ApiError::field(name, format!("The value '{raw}' is not valid.")))
}

/// The JSON body (already validated when the spec describes the operation).
pub fn json_body(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::field("$", "The request body must be a JSON object.")),
        Err(e) => Err(ApiError::field("$", format!("The request body is not valid JSON: {e}"))),
    }
}

/// A field of a body, `null` when absent.
pub fn field(body: &Map<String, Value>, key: &str) -> Value {
    body.get(key).cloned().unwrap_or(Value::Null)
}

/// A list of records from one collection, filtered and paged.
pub fn list(state: &Shared, coll: &str, raw: Option<String>, filters: &[Filter], opts: ListOpts) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let rows = lock(&state.db).all(coll).to_vec();
    let rows = paging::apply(rows, &q, filters)?;
    Ok(Json(paging::page(rows, &q, opts)?))
}

/// One record by the `id` path parameter, or 404.
pub fn get_one(state: &Shared, coll: &str, what: &str, params: &HashMap<String, String>) -> ApiResult {
    let id = id(params, "id")?;
    lock(&state.db).get(coll, id).cloned().map(Json).ok_or_else(|| ApiError::not_found(what, id))
}

/// Checks that `id` names a record of `coll`; adds a field error otherwise.
pub fn check_ref(db: &Db, coll: &str, what: &str, key: &str, id: &Value, errors: &mut Map<String, Value>) {
    let Some(n) = id.as_i64() else { return };
    if db.get(coll, n).is_none() {
        errors
            .insert(key.to_string(), Value::Array(vec![Value::String(format!("{what} with ID {n} does not exist."))]));
    }
}

/// A contact record as ServiceTitan returns it, owned by `owner_key` = `owner_id`.
pub fn new_contact(db: &mut Db, c: &Value, owner_key: &str, owner_id: i64, now: &str) -> Value {
    let ty = c.get("type").cloned().unwrap_or(Value::Null);
    let value = c.get("value").cloned().unwrap_or(Value::Null);
    let is_phone = matches!(ty.as_str(), Some("Phone" | "MobilePhone" | "Fax"));
    let mut rec = serde_json::json!({
        "id": db.next_id(),
        "type": ty,
        "value": value,
        "memo": c.get("memo").cloned().unwrap_or(Value::Null),
        "phoneSettings": if is_phone { serde_json::json!({"phoneNumber": value, "doNotText": false}) } else { Value::Null },
        "modifiedOn": now,
    });
    rec[owner_key] = owner_id.into();
    rec
}

/// Ten-digit NANP form of a phone number for matching (`+1 (612) 555-0143` → `6125550143`).
pub fn phone_digits(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() == 11 && d.starts_with('1') {
        d[1..].to_string()
    } else {
        d
    }
}

/// Removes keys from a record copy (internal owner keys on notes).
pub fn without(mut v: Value, keys: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for k in keys {
            m.remove(*k);
        }
    }
    v
}

/// Query-string helper for handlers that filter by hand.
pub fn query(raw: &Option<String>) -> Query {
    Query::parse(raw.as_deref())
}

/// Extractor bundle most list handlers take.
pub type ListArgs = (State<Shared>, Params, RawQuery);
