//! OAuth client-credentials tokens and the checks every API call passes:
//! `Authorization: Bearer` (401), `ST-App-Key` (401), the tenant in the path (403) and,
//! for bookings, the booking provider the app is restricted to (403) — ServiceTitan's
//! "Restriction by booking_provider for Bookings" setting on the app connection.

use crate::error::ApiError;
use crate::state::{lock, Shared};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

/// The token path (the real one lives on auth.servicetitan.io; ours shares the API host).
pub const TOKEN_PATH: &str = "/connect/token";

/// `POST /connect/token`.
pub fn token_route() -> Router<Shared> {
    Router::new().route(TOKEN_PATH, post(token))
}

/// OAuth errors use RFC 6749's shape, not ServiceTitan's API error shape, as the
/// identity server (not the API) answers them.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn token(State(state): State<Shared>, body: Bytes) -> Response {
    let mut grant = None;
    let (mut id, mut secret) = (None, None);
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant = Some(v.into_owned()),
            "client_id" => id = Some(v.into_owned()),
            "client_secret" => secret = Some(v.into_owned()),
            _ => {}
        }
    }
    match grant.as_deref() {
        Some("client_credentials") => {}
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            )
        }
    }
    let app = &state.app;
    if id.as_deref() != Some(app.client_id.as_str()) || secret.as_deref() != Some(app.client_secret.as_str()) {
        // RFC 6749 §5.2 allows 401 for a failed client authentication.
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    }
    let token = new_token();
    let ttl = app.token_ttl;
    let expires = crate::time::now_ms().saturating_add((ttl as i64).saturating_mul(1000));
    let mut tokens = lock(&state.tokens);
    tokens.retain(|_, exp| *exp > crate::time::now_ms());
    tokens.insert(token.clone(), expires);
    Json(json!({"access_token": token, "expires_in": ttl, "token_type": "Bearer", "scope": "tn.crm tn.jpm tn.settings tn.marketing tn.dispatch tn.sales"}))
        .into_response()
}

fn new_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.write_i64(crate::time::now_ms());
    format!("sbx.{n}.{:016x}", h.finish())
}

/// Middleware over every API route except the token endpoint.
pub async fn auth_layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == TOKEN_PATH {
        return next.run(req).await;
    }
    if let Err(e) = check(&state, &req, &path) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(state: &Shared, req: &Request, path: &str) -> Result<(), ApiError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let token = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("Authorization header with a Bearer token is required."))?;
    let expiry = lock(&state.tokens).get(token).copied();
    match expiry {
        None => return Err(ApiError::unauthorized("The access token is invalid.")),
        Some(exp) if exp <= crate::time::now_ms() => {
            return Err(ApiError::unauthorized("The access token has expired."))
        }
        Some(_) => {}
    }
    match header("st-app-key") {
        None => return Err(ApiError::unauthorized("ST-App-Key header is required.")),
        Some(k) if k != state.app.app_key => return Err(ApiError::unauthorized("The ST-App-Key is invalid.")),
        Some(_) => {}
    }
    // /{module}/v2/tenant/{tenant}/...
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let tenant = match segs.as_slice() {
        [_, _, "tenant", t, ..] => *t,
        _ => return Ok(()), // not a tenant path: the router answers 404
    };
    if tenant.parse::<i64>().ok() != Some(state.app.tenant_id) {
        return Err(ApiError::forbidden(&format!("The app is not connected to tenant {tenant}.")));
    }
    if let Some(i) = segs.iter().position(|s| *s == "booking-provider") {
        let bp = segs.get(i + 1).copied().unwrap_or("");
        if bp.parse::<i64>().ok() != Some(state.app.booking_provider_id) {
            return Err(ApiError::forbidden(&format!(
                "The app is restricted to booking provider {}; it may not use booking provider {bp}.",
                state.app.booking_provider_id
            )));
        }
    }
    Ok(())
}
