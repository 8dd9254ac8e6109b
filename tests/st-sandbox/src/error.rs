//! ServiceTitan's error body (`ApiErrorResponse` in every spec):
//! `{type, title, status, traceId, errors: {field: [messages]}, data: {}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// An error answer in ServiceTitan's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human title.
    pub title: String,
    /// Field → messages (ASP.NET model-state style).
    pub errors: Map<String, Value>,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// Any status with a title and no field errors.
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        ApiError { status, title: title.into(), errors: Map::new(), headers: Vec::new() }
    }
    /// 400 "One or more validation errors occurred." with field errors.
    pub fn validation(errors: Map<String, Value>) -> Self {
        ApiError { errors, ..Self::new(StatusCode::BAD_REQUEST, "One or more validation errors occurred.") }
    }
    /// 400 with one field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut m = Map::new();
        m.insert(field.to_string(), json!([message.into()]));
        Self::validation(m)
    }
    /// 404 for a missing entity.
    pub fn not_found(what: &str, id: i64) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} with ID {id} not found"))
    }
    /// 401 (bad or missing credentials).
    pub fn unauthorized(title: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, title)
            .with_header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
    }
    /// 403 (credentials fine, not allowed here).
    pub fn forbidden(title: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, title)
    }
    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "type": type_uri(self.status),
            "title": self.title,
            "status": self.status.as_u16(),
            "traceId": trace_id(),
            "errors": self.errors,
            "data": {},
        })
    }
}

/// The RFC section ASP.NET puts in `type` for each status.
fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        401 => "https://tools.ietf.org/html/rfc7235#section-3.1",
        403 => "https://tools.ietf.org/html/rfc7231#section-6.5.3",
        404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        409 => "https://tools.ietf.org/html/rfc7231#section-6.5.8",
        413 => "https://tools.ietf.org/html/rfc7231#section-6.5.11",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        502 => "https://tools.ietf.org/html/rfc7231#section-6.6.3",
        503 => "https://tools.ietf.org/html/rfc7231#section-6.6.4",
        _ => "https://tools.ietf.org/html/rfc7231#section-6.6.1",
    }
}

/// W3C traceparent-looking ids, unique per process (they only need to be distinct).
fn trace_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("00-{:016x}{:016x}-{:016x}-01", crate::time::now_ms(), n, n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name.clone(), v);
            }
        }
        resp
    }
}

/// Router fallback: unknown paths get a 404 in the same shape.
pub async fn not_found_fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}
