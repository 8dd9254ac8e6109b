//! Notes on customers, locations, jobs and leads: one `notes` collection whose records
//! carry the owner's id under `customerId` / `locationId` / `jobId` / `leadId`. The API
//! answers with ServiceTitan's `NoteResponse` (`{text, isPinned, createdById, createdOn,
//! modifiedOn}`), so those keys and our `id` are stripped on the way out.

use super::{id, json_body, ApiResult, Params};
use crate::error::ApiError;
use crate::paging::{self, ListOpts};
use crate::state::{lock, Shared};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value};

/// Keys never shown through the API.
const INTERNAL: &[&str] = &["id", "customerId", "locationId", "jobId", "leadId"];

/// Whose notes: collection of the owner, the owner key on notes, a label for 404s.
#[derive(Clone, Copy)]
pub struct Owner {
    /// Owner collection.
    pub coll: &'static str,
    /// Key on the note.
    pub key: &'static str,
    /// For messages.
    pub what: &'static str,
}

/// Customer notes.
pub const CUSTOMER: Owner = Owner { coll: "customers", key: "customerId", what: "Customer" };
/// Location notes.
pub const LOCATION: Owner = Owner { coll: "locations", key: "locationId", what: "Location" };
/// Job notes.
pub const JOB: Owner = Owner { coll: "jobs", key: "jobId", what: "Job" };
/// Lead notes.
pub const LEAD: Owner = Owner { coll: "leads", key: "leadId", what: "Lead" };

/// `POST .../{owner}/{id}/notes`. `addToLocations` / `addToCustomer` copy the note to
/// the customer's locations or the location's customer, as ServiceTitan does.
pub fn create(
    owner: Owner,
    state: Shared,
    params: &std::collections::HashMap<String, String>,
    bytes: &Bytes,
) -> ApiResult {
    let owner_id = id(params, "id")?;
    let body = json_body(bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&state.db);
    let Some(rec) = db.get(owner.coll, owner_id).cloned() else {
        return Err(ApiError::not_found(owner.what, owner_id));
    };
    let mut targets = vec![(owner.key, owner_id)];
    if owner.key == "customerId" && body.get("addToLocations").and_then(Value::as_bool) == Some(true) {
        let locs = db.all("locations").iter().filter(|l| l.get("customerId").and_then(Value::as_i64) == Some(owner_id));
        targets.extend(locs.filter_map(|l| l.get("id").and_then(Value::as_i64)).map(|i| ("locationId", i)));
    }
    if owner.key == "locationId" && body.get("addToCustomer").and_then(Value::as_bool) == Some(true) {
        targets.extend(rec.get("customerId").and_then(Value::as_i64).map(|c| ("customerId", c)));
    }
    let mut first = Value::Null;
    for (key, target) in targets {
        let mut note = json!({
            "id": db.next_id(),
            "text": body.get("text").cloned().unwrap_or(Value::Null),
            "isPinned": body.get("pinToTop").and_then(Value::as_bool).unwrap_or(false),
            "createdById": state.app.user_id,
            "createdOn": now,
            "modifiedOn": now,
        });
        note[key] = target.into();
        if first.is_null() {
            first = super::without(note.clone(), INTERNAL);
        }
        db.insert("notes", note);
    }
    Ok(Json(first))
}

/// `GET .../{owner}/{id}/notes`.
pub fn list(
    owner: Owner,
    state: &Shared,
    params: &std::collections::HashMap<String, String>,
    raw: Option<String>,
) -> ApiResult {
    let owner_id = id(params, "id")?;
    let db = lock(&state.db);
    if db.get(owner.coll, owner_id).is_none() {
        return Err(ApiError::not_found(owner.what, owner_id));
    }
    let rows: Vec<Value> = db
        .all("notes")
        .iter()
        .filter(|n| n.get(owner.key).and_then(Value::as_i64) == Some(owner_id))
        .cloned()
        .collect();
    drop(db);
    let q = paging::Query::parse(raw.as_deref());
    let mut env = paging::page(rows, &q, ListOpts::default())?;
    if let Some(Value::Array(data)) = env.get_mut("data") {
        for n in data.iter_mut() {
            *n = super::without(n.take(), INTERNAL);
        }
    }
    Ok(Json(env))
}

/// Axum handler factories, so route tables stay one line each.
pub fn post_handler(
    owner: Owner,
) -> impl Fn(State<Shared>, Params, Bytes) -> std::future::Ready<ApiResult> + Clone + Send + Sync + 'static {
    move |State(s), axum::extract::Path(p), b| std::future::ready(create(owner, s, &p, &b))
}

/// See [`post_handler`].
pub fn get_handler(
    owner: Owner,
) -> impl Fn(State<Shared>, Params, RawQuery) -> std::future::Ready<ApiResult> + Clone + Send + Sync + 'static {
    move |State(s), axum::extract::Path(p), RawQuery(q)| std::future::ready(list(owner, &s, &p, q))
}
