//! The admin API (for tests and the demo; no ServiceTitan auth, loopback peers only)
//! and the HTML page at `/`.

use crate::faults::FaultSpec;
use crate::server::Conn;
use crate::state::{lock, Shared};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// Admin routes and the page.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_admin/requests", get(requests))
        .route("/_admin/records", get(records))
        .route("/_admin/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route("/_admin/reset", post(reset))
        .route("/_admin/webhooks", get(list_webhooks).post(subscribe).delete(unsubscribe))
        .route("/_admin/webhooks/flush", post(flush_webhooks))
        .merge(crate::changes::routes())
        .route("/", get(page))
        .layer(from_fn(loopback_only))
}

/// Refuses non-loopback peers (the server may be bound to 0.0.0.0 in a container).
pub(crate) async fn loopback_only(req: Request, next: Next) -> Response {
    let remote = req.extensions().get::<Conn>().map(|c| c.peer.ip());
    if remote.is_some_and(|ip| !ip.is_loopback()) {
        return (StatusCode::FORBIDDEN, "admin API is loopback-only").into_response();
    }
    next.run(req).await
}

async fn requests(State(s): State<Shared>) -> Json<Value> {
    Json(lock(&s.journal).to_json())
}

async fn records(State(s): State<Shared>) -> Json<Value> {
    Json(lock(&s.db).to_json())
}

async fn list_faults(State(s): State<Shared>) -> Json<Value> {
    Json(lock(&s.faults).to_json())
}

/// Accepts one fault object or an array; all or nothing.
async fn add_faults(State(s): State<Shared>, body: Bytes) -> Response {
    let parsed: Result<Vec<FaultSpec>, String> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => {
            items.into_iter().map(|v| serde_json::from_value(v).map_err(|e| e.to_string())).collect()
        }
        Ok(v) => serde_json::from_value(v).map(|f| vec![f]).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let specs = match parsed {
        Ok(s) => s,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    };
    let mut faults = lock(&s.faults);
    let mut ids = Vec::new();
    for spec in specs {
        match faults.add(spec) {
            Ok(id) => ids.push(id),
            Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
        }
    }
    Json(json!({"ids": ids})).into_response()
}

async fn clear_faults(State(s): State<Shared>) -> StatusCode {
    lock(&s.faults).clear();
    StatusCode::NO_CONTENT
}

/// `POST /_admin/webhooks`: the tenant's subscription (see [`crate::webhooks::Subscription`]).
async fn subscribe(State(s): State<Shared>, body: Bytes) -> Response {
    let sub = match serde_json::from_slice::<crate::webhooks::Subscription>(&body) {
        Ok(sub) => sub,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e.to_string()}))).into_response(),
    };
    match lock(&s.webhooks).subscribe(sub, s.app.tenant_id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn list_webhooks(State(s): State<Shared>) -> Json<Value> {
    Json(lock(&s.webhooks).to_json())
}

async fn unsubscribe(State(s): State<Shared>) -> StatusCode {
    lock(&s.webhooks).clear();
    StatusCode::NO_CONTENT
}

async fn flush_webhooks(State(s): State<Shared>) -> Json<Value> {
    Json(json!({"flushed": crate::webhooks::flush(&s)}))
}

async fn reset(State(s): State<Shared>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A cell's text: strings as-is, null as empty, anything else as JSON.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => esc(s),
        Some(other) => esc(&other.to_string()),
    }
}

fn address(v: Option<&Value>) -> String {
    let Some(a) = v.filter(|a| a.is_object()) else { return String::new() };
    let part = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let unit = part("unit");
    let street = if unit.is_empty() { part("street") } else { format!("{} {unit}", part("street")) };
    esc(&format!("{street}, {} {} {}", part("city"), part("state"), part("zip")))
}

/// A column: header and how to render a record's cell (already escaped).
type Col<'a> = (&'a str, &'a dyn Fn(&Value) -> String);

/// One table: title, columns, newest first.
fn table(title: &str, rows: &[Value], cols: &[Col<'_>]) -> String {
    let mut h = format!("<h2>{} <small>({})</small></h2><table><tr>", esc(title), rows.len());
    for (name, _) in cols {
        h.push_str(&format!("<th>{}</th>", esc(name)));
    }
    h.push_str("</tr>");
    for r in rows.iter().rev() {
        h.push_str("<tr>");
        for (_, f) in cols {
            h.push_str(&format!("<td>{}</td>", f(r)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

async fn page(State(s): State<Shared>) -> Html<String> {
    let db = lock(&s.db).clone();
    let f = |k: &'static str| move |r: &Value| cell(r.get(k));
    let contacts_of = |key: &'static str| {
        let db = &db;
        move |r: &Value| {
            let id = r.get("id");
            let list: Vec<String> = db
                .all("contacts")
                .iter()
                .filter(|c| c.get(key) == id)
                .map(|c| format!("{}: {}", cell(c.get("type")), cell(c.get("value"))))
                .collect();
            list.join("<br>")
        }
    };
    let note_owner = |r: &Value| {
        ["customerId", "locationId", "jobId", "leadId"]
            .iter()
            .find_map(|k| r.get(*k).map(|v| format!("{} {}", esc(k.trim_end_matches("Id")), cell(Some(v)))))
            .unwrap_or_default()
    };
    let mut body = String::new();
    body.push_str(&table(
        "Customers",
        db.all("customers"),
        &[
            ("id", &f("id")),
            ("name", &f("name")),
            ("type", &f("type")),
            ("address", &|r| address(r.get("address"))),
            ("contacts", &contacts_of("customerId")),
            ("created", &f("createdOn")),
        ],
    ));
    body.push_str(&table(
        "Locations",
        db.all("locations"),
        &[
            ("id", &f("id")),
            ("customer", &f("customerId")),
            ("name", &f("name")),
            ("address", &|r| address(r.get("address"))),
            ("contacts", &contacts_of("locationId")),
        ],
    ));
    body.push_str(&table(
        "Jobs",
        db.all("jobs"),
        &[
            ("id", &f("id")),
            ("number", &f("jobNumber")),
            ("customer", &f("customerId")),
            ("location", &f("locationId")),
            ("business unit", &f("businessUnitId")),
            ("job type", &f("jobTypeId")),
            ("priority", &f("priority")),
            ("campaign", &f("campaignId")),
            ("summary", &f("summary")),
            ("status", &f("jobStatus")),
            ("first appointment", &|r| cell(r.pointer("/appointments/0/start"))),
        ],
    ));
    body.push_str(&table(
        "Bookings",
        db.all("bookings"),
        &[
            ("id", &f("id")),
            ("external id", &f("externalId")),
            ("name", &f("name")),
            ("address", &|r| address(r.get("address"))),
            ("contacts", &contacts_of("bookingId")),
            ("summary", &f("summary")),
            ("status", &f("status")),
            ("priority", &f("priority")),
        ],
    ));
    body.push_str(&table(
        "Notes",
        db.all("notes"),
        &[
            ("on", &note_owner),
            ("text", &|r| cell(r.get("text")).replace('\n', "<br>")),
            ("pinned", &f("isPinned")),
            ("created", &f("createdOn")),
        ],
    ));
    body.push_str(&table(
        "Leads",
        db.all("leads"),
        &[("id", &f("id")), ("customer", &f("customerId")), ("summary", &f("summary")), ("status", &f("status"))],
    ));
    body.push_str(&table(
        "Estimates",
        db.all("estimates"),
        &[
            ("id", &f("id")),
            ("job", &f("jobId")),
            ("name", &f("name")),
            ("summary", &f("summary")),
            ("status", &|r| cell(r.pointer("/status/name"))),
            ("subtotal", &f("subtotal")),
            ("modified", &f("modifiedOn")),
        ],
    ));
    body.push_str(&table(
        "Invoices",
        db.all("invoices"),
        &[
            ("id", &f("id")),
            ("job", &|r| cell(r.pointer("/job/id"))),
            ("customer", &|r| cell(r.pointer("/customer/name"))),
            ("total", &f("total")),
            ("balance", &f("balance")),
            ("due", &f("dueDate")),
            ("modified", &f("modifiedOn")),
        ],
    ));
    let tenant = s.seed.tenant.get("name").and_then(Value::as_str).unwrap_or("ServiceTitan tenant");
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">\
<title>st-sandbox: {t}</title><style>body{{font:14px system-ui,sans-serif;margin:1em;color:#222}}\
table{{border-collapse:collapse;margin-bottom:1em;width:100%}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}}\
th{{background:#f0f3f7}}h2{{font-size:16px;margin:.8em 0 .3em}}small{{color:#777}}</style></head>\
<body><h1>ServiceTitan emulator: {t} <small>(tenant {id})</small></h1>{body}</body></html>",
        t = esc(tenant),
        id = s.app.tenant_id,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::esc(r#"<script>alert("x&'")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;&quot;)&lt;/script&gt;"
        );
    }
}
