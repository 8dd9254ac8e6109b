//! CRM: customers, locations, their contacts and notes, and leads.
//!
//! List filters: customers `name, street, unit, city, state, zip, country, phone`
//! (phone matches any customer or location contact by its ten digits; address filters
//! look at the customer's bill-to address, as the spec says "customer's street");
//! locations `name, customerId, street, unit, city, state, zip, country`;
//! leads `customerId, status`. `zip` matches a prefix so `55416` finds `55416-1234`.

use super::notes::{self, CUSTOMER, LEAD, LOCATION};
use super::{check_ref, field, get_one, id, json_body, list, new_contact, phone_digits, ApiResult, Params};
use crate::error::ApiError;
use crate::paging::{self, fold, Filter, ListOpts};
use crate::state::{lock, Shared};
use std::collections::HashSet;

use crate::store::{Db, Rec};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

const T: &str = "/crm/v2/tenant/{tenant}";

/// CRM routes (bookings are in [`super::bookings`]).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(&format!("{T}/customers"), get(list_customers).post(create_customer))
        .route(&format!("{T}/customers/contacts"), get(all_customer_contacts))
        .route(&format!("{T}/customers/{{id}}"), get(get_customer).patch(patch_customer))
        .route(
            &format!("{T}/customers/{{id}}/notes"),
            get(notes::get_handler(CUSTOMER)).post(notes::post_handler(CUSTOMER)),
        )
        .route(&format!("{T}/customers/{{id}}/contacts"), get(customer_contacts).post(add_customer_contact))
        .route(&format!("{T}/locations"), get(list_locations).post(create_location))
        .route(&format!("{T}/locations/contacts"), get(all_location_contacts))
        .route(&format!("{T}/locations/{{id}}"), get(get_location).patch(patch_location))
        .route(
            &format!("{T}/locations/{{id}}/notes"),
            get(notes::get_handler(LOCATION)).post(notes::post_handler(LOCATION)),
        )
        .route(&format!("{T}/locations/{{id}}/contacts"), get(location_contacts).post(add_location_contact))
        .route(&format!("{T}/leads"), get(list_leads).post(create_lead))
        .route(&format!("{T}/leads/{{id}}"), get(get_lead))
        .route(&format!("{T}/leads/{{id}}/notes"), get(notes::get_handler(LEAD)).post(notes::post_handler(LEAD)))
}

/// Address filters shared by customers and locations.
const ADDRESS_FILTERS: &[Filter] = &[
    Filter::Contains("name", "/name"),
    Filter::Contains("street", "/address/street"),
    Filter::Contains("unit", "/address/unit"),
    Filter::Contains("city", "/address/city"),
    Filter::Eq("state", "/address/state"),
    Filter::Eq("country", "/address/country"),
];

/// `zip` as a prefix match.
fn zip_filter(rows: &mut Vec<Value>, q: &paging::Query) {
    if let Some(z) = q.get("zip").map(fold) {
        rows.retain(|r| r.pointer("/address/zip").and_then(Value::as_str).is_some_and(|s| fold(s).starts_with(&z)));
    }
}

/// A customer as `GET customers` returns it (no embedded locations or contacts).
fn customer_response(c: &Value) -> Value {
    super::without(c.clone(), &["locations", "contacts"])
}

async fn list_customers(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = paging::Query::parse(raw.as_deref());
    let db = lock(&s.db);
    let mut rows = paging::apply(db.all("customers").to_vec(), &q, ADDRESS_FILTERS)?;
    zip_filter(&mut rows, &q);
    if let Some(p) = q.get("phone").map(phone_digits).filter(|p| !p.is_empty()) {
        let reached = customers_with_phone(&db, &p);
        rows.retain(|c| c.int("id").is_some_and(|id| reached.contains(&id)));
    }
    drop(db);
    let rows = rows.iter().map(customer_response).collect();
    Ok(Json(paging::page(rows, &q, ListOpts { active: true })?))
}

/// The customers a phone number reaches: those its contacts are on, directly or through
/// one of their locations. One pass over the contacts and one over the locations: asking
/// every customer in turn to scan every contact made a search cost customers × contacts,
/// and with the db locked for it the soak after the load bench (3,000 customers) had the
/// emulator at a full core, a records read taking a minute, and bookings timing out.
fn customers_with_phone(db: &Db, digits: &str) -> HashSet<i64> {
    let mut customers = HashSet::new();
    let mut locations = HashSet::new();
    let phones = db.all("contacts").iter().filter(|c| c.str_("type") != Some("Email"));
    for c in phones.filter(|c| c.str_("value").is_some_and(|v| phone_digits(v) == digits)) {
        customers.extend(c.int("customerId"));
        locations.extend(c.int("locationId"));
    }
    let of_locations = db.all("locations").iter().filter(|l| l.int("id").is_some_and(|id| locations.contains(&id)));
    customers.extend(of_locations.filter_map(|l| l.int("customerId")));
    customers
}

async fn get_customer(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "customers", "Customer", &p).map(|Json(c)| Json(customer_response(&c)))
}

/// An address from a request, with ServiceTitan's nullable fields present.
fn address(v: &Value) -> Value {
    let f = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    json!({"street": f("street"), "unit": f("unit"), "city": f("city"), "state": f("state"), "zip": f("zip"),
           "country": f("country"), "latitude": f("latitude"), "longitude": f("longitude")})
}

/// Custom fields from a request (`{typeId, value}`) as records show them (`{typeId, name, value}`).
pub fn custom_fields(v: &Value) -> Value {
    let items = v.as_array().cloned().unwrap_or_default();
    Value::Array(
        // The spec requires `name` (the custom field type's name); the seed has no custom
        // field types, so the name is made from the type id rather than left null.
        items
            .iter()
            .map(|c| {
                let name = format!("Custom field {}", c.get("typeId").and_then(Value::as_i64).unwrap_or(0));
                json!({"typeId": c.get("typeId"), "name": name, "value": c.get("value")})
            })
            .collect(),
    )
}

/// Creates one location record (and its contacts); returns the location with contacts.
fn insert_location(db: &mut Db, customer_id: i64, body: &Value, user: i64, now: &str) -> Value {
    let id = db.next_id();
    let location = json!({
        "id": id, "customerId": customer_id, "active": true, "name": body.get("name"),
        "address": address(body.get("address").unwrap_or(&Value::Null)),
        "customFields": custom_fields(body.get("customFields").unwrap_or(&Value::Null)),
        "createdOn": now, "createdById": user, "modifiedOn": now, "mergedToId": null, "taxZoneId": null,
    });
    db.insert("locations", location.clone());
    let contacts: Vec<Value> = body.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default();
    let contacts: Vec<Value> = contacts.iter().map(|c| new_contact(db, c, "locationId", id, now)).collect();
    for c in &contacts {
        db.insert("contacts", c.clone());
    }
    let mut out = location;
    out["contacts"] = Value::Array(
        contacts.iter().map(|c| super::without(c.clone(), &["locationId", "phoneSettings", "modifiedOn"])).collect(),
    );
    out
}

async fn create_customer(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let now = crate::time::now_rfc3339();
    let user = s.app.user_id;
    let mut db = lock(&s.db);
    let id = db.next_id();
    let customer = json!({
        "id": id, "active": true, "name": field(&body, "name"), "type": body.get("type").cloned().filter(|t| !t.is_null()).unwrap_or(json!("Residential")),
        "address": address(body.get("address").unwrap_or(&Value::Null)),
        "customFields": custom_fields(body.get("customFields").unwrap_or(&Value::Null)),
        "balance": 0.0, "doNotMail": body.get("doNotMail").and_then(Value::as_bool).unwrap_or(false),
        "doNotService": body.get("doNotService").and_then(Value::as_bool).unwrap_or(false),
        "createdOn": now, "createdById": user, "modifiedOn": now, "mergedToId": null,
    });
    db.insert("customers", customer.clone());
    let locations: Vec<Value> = body.get("locations").and_then(Value::as_array).cloned().unwrap_or_default();
    let locations: Vec<Value> = locations.iter().map(|l| insert_location(&mut db, id, l, user, &now)).collect();
    let contacts: Vec<Value> = body.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default();
    let contacts: Vec<Value> = contacts.iter().map(|c| new_contact(&mut db, c, "customerId", id, &now)).collect();
    for c in &contacts {
        db.insert("contacts", c.clone());
    }
    let mut out = customer;
    out["locations"] = Value::Array(locations);
    out["contacts"] = Value::Array(
        contacts.iter().map(|c| super::without(c.clone(), &["customerId", "phoneSettings", "modifiedOn"])).collect(),
    );
    Ok(Json(out))
}

/// Applies a PATCH body onto a record (top-level keys; `address` replaced whole, as
/// UpdateCustomerRequest requires every address field).
fn patch(rec: &mut Value, body: &Map<String, Value>, now: &str) {
    for (k, v) in body {
        match k.as_str() {
            "customFields" => rec[k] = custom_fields(v),
            "address" => rec[k] = address(v),
            _ => rec[k.as_str()] = v.clone(),
        }
    }
    rec["modifiedOn"] = json!(now);
}

fn patch_in(
    s: &Shared,
    coll: &str,
    what: &str,
    p: &std::collections::HashMap<String, String>,
    bytes: &Bytes,
) -> ApiResult {
    let id = id(p, "id")?;
    let body = json_body(bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    let rec = db.get_mut(coll, id).ok_or_else(|| ApiError::not_found(what, id))?;
    patch(rec, &body, &now);
    Ok(Json(rec.clone()))
}

async fn patch_customer(State(s): State<Shared>, Path(p): Params, bytes: Bytes) -> ApiResult {
    patch_in(&s, "customers", "Customer", &p, &bytes).map(|Json(c)| Json(customer_response(&c)))
}

async fn patch_location(State(s): State<Shared>, Path(p): Params, bytes: Bytes) -> ApiResult {
    patch_in(&s, "locations", "Location", &p, &bytes)
}

/// Contacts of one owner, paged, without the owner key.
fn owned_contacts(
    s: &Shared,
    coll: &str,
    what: &str,
    key: &str,
    p: &std::collections::HashMap<String, String>,
    raw: Option<String>,
) -> ApiResult {
    let owner = id(p, "id")?;
    let db = lock(&s.db);
    if db.get(coll, owner).is_none() {
        return Err(ApiError::not_found(what, owner));
    }
    let rows: Vec<Value> = db
        .all("contacts")
        .iter()
        .filter(|c| c.int(key) == Some(owner))
        .map(|c| super::without(c.clone(), &[key]))
        .collect();
    drop(db);
    Ok(Json(paging::page(rows, &paging::Query::parse(raw.as_deref()), ListOpts::default())?))
}

fn add_contact(
    s: &Shared,
    coll: &str,
    what: &str,
    key: &str,
    p: &std::collections::HashMap<String, String>,
    bytes: &Bytes,
) -> ApiResult {
    let owner = id(p, "id")?;
    let body = Value::Object(json_body(bytes)?);
    let mut db = lock(&s.db);
    if db.get(coll, owner).is_none() {
        return Err(ApiError::not_found(what, owner));
    }
    let c = new_contact(&mut db, &body, key, owner, &crate::time::now_rfc3339());
    db.insert("contacts", c.clone());
    Ok(Json(super::without(c, &[key])))
}

async fn customer_contacts(State(s): State<Shared>, Path(p): Params, RawQuery(q): RawQuery) -> ApiResult {
    owned_contacts(&s, "customers", "Customer", "customerId", &p, q)
}
async fn add_customer_contact(State(s): State<Shared>, Path(p): Params, b: Bytes) -> ApiResult {
    add_contact(&s, "customers", "Customer", "customerId", &p, &b)
}
async fn location_contacts(State(s): State<Shared>, Path(p): Params, RawQuery(q): RawQuery) -> ApiResult {
    owned_contacts(&s, "locations", "Location", "locationId", &p, q)
}
async fn add_location_contact(State(s): State<Shared>, Path(p): Params, b: Bytes) -> ApiResult {
    add_contact(&s, "locations", "Location", "locationId", &p, &b)
}

/// The "modified contacts" feeds: every contact of one owner kind, owner key kept.
fn contact_feed(s: &Shared, key: &str, raw: Option<String>) -> ApiResult {
    let rows: Vec<Value> = lock(&s.db).all("contacts").iter().filter(|c| c.int(key).is_some()).cloned().collect();
    Ok(Json(paging::page(rows, &paging::Query::parse(raw.as_deref()), ListOpts::default())?))
}
async fn all_customer_contacts(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    contact_feed(&s, "customerId", q)
}
async fn all_location_contacts(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    contact_feed(&s, "locationId", q)
}

async fn list_locations(State(s): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = paging::Query::parse(raw.as_deref());
    let rows = lock(&s.db).all("locations").to_vec();
    let mut rows = paging::apply(rows, &q, ADDRESS_FILTERS)?;
    rows = paging::apply(rows, &q, &[Filter::IntEq("customerId", "customerId")])?;
    zip_filter(&mut rows, &q);
    Ok(Json(paging::page(rows, &q, ListOpts { active: true })?))
}

async fn get_location(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "locations", "Location", &p)
}

async fn create_location(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let customer_id = body.get("customerId").and_then(Value::as_i64).unwrap_or(-1);
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    if db.get("customers", customer_id).is_none() {
        // The spec documents 409 "Unknown customer" for this operation.
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "Unknown customer"));
    }
    Ok(Json(insert_location(&mut db, customer_id, &Value::Object(body), s.app.user_id, &now)))
}

async fn list_leads(State(s): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    list(
        &s,
        "leads",
        q,
        &[Filter::IntEq("customerId", "customerId"), Filter::Eq("status", "/status")],
        ListOpts::default(),
    )
}

async fn get_lead(State(s): State<Shared>, Path(p): Params) -> ApiResult {
    get_one(&s, "leads", "Lead", &p)
}

async fn create_lead(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let now = crate::time::now_rfc3339();
    let mut db = lock(&s.db);
    let mut errors = Map::new();
    check_ref(&db, "campaigns", "Campaign", "CampaignId", &field(&body, "campaignId"), &mut errors);
    check_ref(&db, "customers", "Customer", "CustomerId", &field(&body, "customerId"), &mut errors);
    check_ref(&db, "locations", "Location", "LocationId", &field(&body, "locationId"), &mut errors);
    check_ref(&db, "businessUnits", "Business unit", "BusinessUnitId", &field(&body, "businessUnitId"), &mut errors);
    check_ref(&db, "jobTypes", "Job type", "JobTypeId", &field(&body, "jobTypeId"), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut lead = json!({"id": db.next_id(), "status": "Open", "priority": body.get("priority").cloned().filter(|v| !v.is_null()).unwrap_or(json!("Normal")),
        "createdOn": now, "createdById": s.app.user_id, "modifiedOn": now});
    for k in [
        "customerId",
        "locationId",
        "businessUnitId",
        "jobTypeId",
        "campaignId",
        "summary",
        "callReasonId",
        "followUpDate",
        "tagTypeIds",
    ] {
        lead[k] = field(&body, k);
    }
    db.insert("leads", lead.clone());
    Ok(Json(lead))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Seed;
    use serde_json::json;

    /// Regression: the phone search asked every customer to scan every contact, so at
    /// the soak's size the emulator spent a core on it and the bookings behind its lock
    /// timed out. At 20,000 customers that search took minutes; one pass takes a moment.
    #[test]
    fn a_phone_search_scanned_every_contact_for_each_customer() {
        let n = 20_000;
        let customers: Vec<Value> = (0..n).map(|i| json!({"id": 100_000 + i, "name": format!("C{i}")})).collect();
        let locations: Vec<Value> =
            (0..n).map(|i| json!({"id": 200_000 + i, "customerId": 100_000 + i, "name": "home"})).collect();
        let direct: Vec<Value> = (0..n)
            .map(|i| json!({"id": 300_000 + i, "customerId": 100_000 + i, "type": "MobilePhone", "value": format!("612{:07}", i)}))
            .collect();
        // The location's phone is another customer's number, and an email never counts.
        let on_location = vec![
            json!({"id": 400_000, "locationId": 200_007, "type": "Phone", "value": "(612) 000-0042"}),
            json!({"id": 400_001, "customerId": 100_009, "type": "Email", "value": "6120000042"}),
        ];
        let seed = Seed::from_value(json!({"app": {"tenantId": 1}, "customers": customers, "locations": locations,
            "customerContacts": direct, "locationContacts": on_location}))
        .unwrap();
        let db = Db::from_seed(&seed);
        assert_eq!(customers_with_phone(&db, "6120000042"), HashSet::from([100_042, 100_007]));
        assert_eq!(customers_with_phone(&db, "6129999999"), HashSet::new());
    }
}
