//! The request journal behind `GET /_admin/requests`: every ServiceTitan-side request,
//! with secrets redacted before they are stored (so no test output can leak them).

use crate::error::ApiError;
use crate::state::{lock, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Largest body we accept; ServiceTitan bodies we emulate are a few KB.
pub const MAX_BODY: usize = 1 << 20;
/// Oldest entries are dropped past this, so a long demo cannot grow without bound.
const MAX_ENTRIES: usize = 10_000;
/// Headers whose values never reach the journal.
const SECRET_HEADERS: &[&str] = &["authorization", "st-app-key", "cookie", "proxy-authorization"];
/// Form / JSON fields whose values never reach the journal.
const SECRET_FIELDS: &[&str] = &["client_secret", "access_token"];
/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Recorded requests.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Vec<Value>,
    seq: u64,
}

impl Journal {
    /// All entries, oldest first.
    pub fn to_json(&self) -> Value {
        Value::Array(self.entries.clone())
    }

    fn push(&mut self, mut entry: Value) -> u64 {
        self.seq += 1;
        entry["seq"] = json!(self.seq);
        self.entries.push(entry);
        if self.entries.len() > MAX_ENTRIES {
            self.entries.remove(0);
        }
        self.seq
    }

    fn update(&mut self, seq: u64, f: impl FnOnce(&mut Value)) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e["seq"] == json!(seq)) {
            f(e);
        }
    }

    /// Marks a request as answered by a dropped connection.
    pub fn mark_dropped(&mut self, seq: u64) {
        self.update(seq, |e| {
            e["dropped"] = json!(true);
            e["status"] = Value::Null;
        });
    }
}

/// The journal entry's sequence number, in request extensions for later layers.
#[derive(Debug, Clone, Copy)]
pub struct Seq(pub u64);

/// Middleware: buffers the body (so it can be recorded and re-read), records the
/// request, runs the rest, records the status.
pub async fn journal_layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.").into_response();
    };
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_string();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (name, Value::String(value))
        })
        .collect();
    let entry = json!({
        "at": crate::time::now_rfc3339(),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": redacted_body(&bytes),
        "status": null,
        "dropped": false,
    });
    let seq = lock(&state.journal).push(entry);
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(Seq(seq));
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    lock(&state.journal).update(seq, |e| e["status"] = json!(status));
    resp
}

/// JSON bodies as JSON, form bodies as an object, anything else as text; secret fields redacted.
pub fn redacted_body(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
        redact_json(&mut v);
        return v;
    }
    let text = String::from_utf8_lossy(bytes);
    let looks_like_form = !text.contains(char::is_whitespace) && text.contains('=');
    if looks_like_form {
        let fields: Map<String, Value> = form_urlencoded::parse(bytes)
            .map(|(k, v)| {
                let v = if SECRET_FIELDS.contains(&k.as_ref()) { REDACTED.to_string() } else { v.into_owned() };
                (k.into_owned(), Value::String(v))
            })
            .collect();
        return Value::Object(fields);
    }
    Value::String(text.into_owned())
}

fn redact_json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) {
                    *x = Value::String(REDACTED.into());
                } else {
                    redact_json(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        let form = redacted_body(&Bytes::from("grant_type=client_credentials&client_id=a&client_secret=s3cret"));
        assert_eq!(form["client_secret"], REDACTED);
        assert_eq!(form["client_id"], "a");
        let j = redacted_body(&Bytes::from(r#"{"x":[{"client_secret":"s"}]}"#));
        assert_eq!(j["x"][0]["client_secret"], REDACTED);
        assert_eq!(redacted_body(&Bytes::from("not json")), json!("not json"));
    }
}
