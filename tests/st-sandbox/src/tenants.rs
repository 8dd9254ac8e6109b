//! Many tenants in one emulator (issue 16 item 1), as ServiceTitan has them: each tenant
//! its own app connection (client id, client secret, app key), its own records, tokens,
//! faults (so its own rate limit), request journal and webhooks. A tenant is a whole
//! [`AppState`] behind the same routes; this layer only picks which one answers:
//!
//! * an API path `/{module}/v2/tenant/{t}/...`: tenant `t` (an unknown `t` goes to the
//!   first tenant, whose auth layer answers 403 "not connected to tenant", as before);
//!   a token or app key of another tenant is refused there with 401, since each tenant
//!   knows only the tokens it issued and its own app key;
//! * the token endpoints: the tenant whose client id the form names (else the first,
//!   which refuses it as `invalid_client`);
//! * `/_admin/...` and `/`: the tenant of `?tenant=N` (the parameter removed before the
//!   handler sees the query), else the first one: every single-tenant test is unchanged.
//!
//! The first tenant is the one the flags and the seed describe. More are added with
//! `POST /_admin/tenants {tenantId, clientId, clientSecret, appKey, bookingProviderId?}`
//! (seeded from the same seed file; adding an id again replaces it), listed (ids only,
//! no credentials) with `GET /_admin/tenants`.

use crate::cli::Config;
use crate::state::{AppState, Shared};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

/// One tenant: its state and the routes over it.
#[derive(Clone)]
struct Tenant {
    id: i64,
    state: Shared,
    router: Router,
}

/// Every tenant; the first is the default.
pub struct Tenants {
    list: RwLock<Vec<Tenant>>,
}

/// What `POST /_admin/tenants` takes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTenant {
    tenant_id: i64,
    client_id: String,
    client_secret: String,
    app_key: String,
    booking_provider_id: Option<i64>,
}

/// The emulator's router: `state` is the first tenant.
pub fn app(state: Shared) -> Router {
    let first = Tenant { id: state.app.tenant_id, router: crate::tenant_app(state.clone()), state };
    let tenants = Arc::new(Tenants { list: RwLock::new(vec![first]) });
    Router::new()
        .route("/_admin/tenants", post(add).get(list).layer(axum::middleware::from_fn(crate::admin::loopback_only)))
        .fallback(dispatch)
        .with_state(tenants)
}

impl Tenants {
    fn read(&self) -> Vec<Tenant> {
        self.list.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn by(&self, pick: impl Fn(&Tenant) -> bool) -> Tenant {
        let list = self.read();
        list.iter().find(|t| pick(t)).unwrap_or(&list[0]).clone()
    }
}

/// Which tenant an API path names: `/{module}/v2/tenant/{t}/...`.
fn path_tenant(path: &str) -> Option<i64> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        [_, _, "tenant", t, ..] => t.parse().ok(),
        _ => None,
    }
}

/// The client id of a token request's form.
fn form_client_id(body: &Bytes) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == "client_id").map(|(_, v)| v.into_owned())
}

/// `?tenant=N` out of a query: (N, the rest of the query).
fn admin_tenant(uri: &Uri) -> (Option<i64>, Option<String>) {
    let Some(query) = uri.query() else { return (None, None) };
    let mut tenant = None;
    let rest: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            if k == "tenant" {
                tenant = v.parse().ok();
                return None;
            }
            Some(form_urlencoded::Serializer::new(String::new()).append_pair(&k, &v).finish())
        })
        .collect();
    (tenant, (!rest.is_empty()).then(|| rest.join("&")))
}

async fn dispatch(State(tenants): State<Arc<Tenants>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(id) = path_tenant(&path) {
        return forward(tenants.by(|t| t.id == id), req).await;
    }
    if path.ends_with(crate::auth::TOKEN_PATH) {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "token request too large").into_response();
        };
        let client = form_client_id(&bytes);
        let tenant = tenants.by(|t| client.as_deref() == Some(t.state.app.client_id.as_str()));
        return forward(tenant, Request::from_parts(parts, Body::from(bytes))).await;
    }
    let (id, rest) = admin_tenant(req.uri());
    let Some(id) = id else { return forward(tenants.by(|_| false), req).await };
    let Some(tenant) = tenants.read().into_iter().find(|t| t.id == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("no tenant {id}")}))).into_response();
    };
    let (mut parts, body) = req.into_parts();
    let pq = match rest {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    parts.uri = pq.parse().unwrap_or(parts.uri);
    forward(tenant, Request::from_parts(parts, body)).await
}

async fn forward(tenant: Tenant, req: Request) -> Response {
    match tenant.router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

async fn add(State(tenants): State<Arc<Tenants>>, body: Bytes) -> Response {
    let new: NewTenant = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e.to_string()}))).into_response(),
    };
    let first = tenants.by(|_| false).state;
    let config = Config {
        tenant_id: Some(new.tenant_id),
        client_id: Some(new.client_id),
        client_secret: Some(new.client_secret),
        app_key: Some(new.app_key),
        booking_provider_id: Some(new.booking_provider_id.unwrap_or(first.app.booking_provider_id)),
        token_ttl: first.app.token_ttl,
        time_factor: first.time_factor,
        ..Config::default()
    };
    let state = Arc::new(AppState::from_parts(&config, first.seed.clone(), first.spec.clone()));
    let tenant = Tenant { id: new.tenant_id, router: crate::tenant_app(state.clone()), state };
    let mut list = tenants.list.write().unwrap_or_else(|e| e.into_inner());
    if list[0].id == new.tenant_id {
        return (StatusCode::CONFLICT, Json(json!({"error": "that is the first tenant"}))).into_response();
    }
    list.retain(|t| t.id != new.tenant_id);
    list.push(tenant);
    (StatusCode::CREATED, Json(json!({"tenantId": new.tenant_id}))).into_response()
}

async fn list(State(tenants): State<Arc<Tenants>>) -> Json<serde_json::Value> {
    Json(json!({"tenants": tenants.read().iter().map(|t| t.id).collect::<Vec<_>>()}))
}
