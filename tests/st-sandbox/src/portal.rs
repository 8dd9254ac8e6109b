//! What the Developer Portal and the tenant's app connection decide, for `cargo xtask
//! connect`'s tests (issue 16 item 2): the API scopes the app was created with, and the
//! other environment's identity server.
//!
//! - Scopes: ServiceTitan refuses a call whose API scope the app lacks with 403 (inferred:
//!   `../shared/servicetitan-api.md` §1), after authentication and before the body is
//!   read. `POST /_admin/scopes {"revoked": ["crm.customers:write", ...]}` takes scopes
//!   away (names: `module.resource:read|write`, the resource being the path's first
//!   segment after the tenant); `{"revoked": []}` grants everything again (the default).
//! - The other environment: integration and production have separate identity servers
//!   and separate credentials. `POST /_admin/other-environment {"clientId", "clientSecret"}`
//!   registers the credentials the other environment's `POST /other-environment/connect/token`
//!   accepts; its tokens are no good on this API (as production's are not on integration's).
//! - `PUT .../jobs/{id}/cancel`, ServiceTitan's job cancel, for test-booking's clean-up.

use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::server::Conn;
use crate::state::Shared;

/// Scopes taken away, as `module.resource:read|write`.
static REVOKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The other environment's (client id, client secret).
static OTHER: Mutex<Option<(String, String)>> = Mutex::new(None);

/// The admin routes and the other environment's token endpoint (no API auth on either).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_admin/scopes", post(set_scopes))
        .route("/_admin/other-environment", post(set_other))
        .route("/other-environment/connect/token", post(other_token))
}

fn loopback(req_conn: Option<&Conn>) -> bool {
    req_conn.is_none_or(|c| c.peer.ip().is_loopback())
}

async fn set_scopes(req: Request) -> Response {
    if !loopback(req.extensions().get::<Conn>()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 16).await.unwrap_or_default();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(list) = v["revoked"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "body must be {\"revoked\": [\"crm.customers:write\", ...]}"})),
        )
            .into_response();
    };
    let list: Vec<String> = list.iter().filter_map(Value::as_str).map(str::to_string).collect();
    *REVOKED.lock().unwrap_or_else(|e| e.into_inner()) = list.clone();
    Json(json!({"revoked": list})).into_response()
}

async fn set_other(req: Request) -> Response {
    if !loopback(req.extensions().get::<Conn>()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 16).await.unwrap_or_default();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(id), Some(secret)) = (v["clientId"].as_str(), v["clientSecret"].as_str()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "body must be {\"clientId\", \"clientSecret\"}"})))
            .into_response();
    };
    *OTHER.lock().unwrap_or_else(|e| e.into_inner()) = Some((id.to_string(), secret.to_string()));
    Json(json!({"ok": true})).into_response()
}

/// The other environment's identity server: RFC 6749 answers, like ours.
async fn other_token(body: Bytes) -> Response {
    let (mut id, mut secret) = (None, None);
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "client_id" => id = Some(v.into_owned()),
            "client_secret" => secret = Some(v.into_owned()),
            _ => {}
        }
    }
    let known = OTHER.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match (known, id, secret) {
        (Some((kid, ks)), Some(id), Some(s)) if kid == id && ks == s => {
            Json(json!({"access_token": "other-environment-token", "expires_in": 900, "token_type": "Bearer"}))
                .into_response()
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"})),
        )
            .into_response(),
    }
}

/// ServiceTitan calls the admin API lacks: `PUT /jpm/v2/tenant/{tenant}/jobs/{id}/cancel`
/// (Jobs_Cancel, body `{reasonId, memo}`; `cargo xtask test-booking`'s clean-up), behind
/// the same auth and validation as every API route. It is the admin API's
/// `POST /_admin/jobs/{id}/canceled` (the same record change and `Job.Canceled` webhook),
/// answered as ServiceTitan does: 200 with no body.
pub fn api_routes() -> Router<Shared> {
    Router::new().route("/jpm/v2/tenant/{tenant}/jobs/{id}/cancel", axum::routing::put(cancel_job))
}

async fn cancel_job(
    State(s): State<Shared>,
    axum::extract::Path((_tenant, id)): axum::extract::Path<(String, String)>,
    body: Bytes,
) -> Response {
    use tower::ServiceExt;
    let req = Request::post(format!("/_admin/jobs/{id}/canceled"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body));
    let Ok(req) = req else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    match crate::changes::routes().with_state(s).oneshot(req).await {
        Ok(r) if r.status().is_success() => StatusCode::OK.into_response(),
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The scope a call needs: `module.resource:read|write` (`/crm/v2/tenant/1/customers/5`
/// → `crm.customers`; a booking provider's bookings are `crm.bookings`).
pub fn scope_of(method: &Method, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (module, resource) = match segs.as_slice() {
        [m, _, "tenant", _, "booking-provider", _, r, ..] => (*m, *r),
        [m, _, "tenant", _, r, ..] => (*m, *r),
        _ => return None,
    };
    // Capacity is a query sent as a POST; ServiceTitan lists it as a read.
    let write = *method != Method::GET && resource != "capacity";
    Some(format!("{module}.{resource}:{}", if write { "write" } else { "read" }))
}

/// Middleware after authentication: a call whose scope was revoked is refused with 403.
pub async fn scope_layer(State(_state): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(scope) = scope_of(req.method(), req.uri().path()) {
        if REVOKED.lock().unwrap_or_else(|e| e.into_inner()).contains(&scope) {
            return ApiError::forbidden(&format!("The app has no access to this API (scope {scope} not granted)."))
                .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_module_resource_and_method() {
        assert_eq!(scope_of(&Method::GET, "/crm/v2/tenant/1/customers/5").as_deref(), Some("crm.customers:read"));
        assert_eq!(scope_of(&Method::POST, "/jpm/v2/tenant/1/jobs").as_deref(), Some("jpm.jobs:write"));
        assert_eq!(
            scope_of(&Method::POST, "/crm/v2/tenant/1/booking-provider/7/bookings").as_deref(),
            Some("crm.bookings:write")
        );
        assert_eq!(
            scope_of(&Method::POST, "/dispatch/v2/tenant/1/capacity").as_deref(),
            Some("dispatch.capacity:read")
        );
        assert_eq!(scope_of(&Method::POST, "/connect/token"), None);
    }
}
