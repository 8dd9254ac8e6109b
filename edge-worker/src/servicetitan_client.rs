//! Sends the pipeline's requests to ServiceTitan: OAuth token, headers, bytes.
//! Decisions (what to call, how to react) stay in `booking-core`.
//!
//! Every call of every site goes through here, so this is where a tenant's calls are
//! paced (`pacer`, one Durable Object per tenant) and where its token is cached (per
//! auth host, client id and tenant: two sites on two tenants never share one).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use booking_core::servicetitan::{StRequest, StResponse};
use wasm_bindgen::JsValue;
use worker::{Date, Headers, Method, Request, RequestInit};

use crate::config::ServiceTitanSettings;
use crate::http::fetch_within;

/// Refresh this long before ServiceTitan says the token expires.
const TOKEN_MARGIN_MS: u64 = 60_000;
/// How long one API call (or the token request) may take before it counts as a
/// dropped connection (status 0: the pipeline then looks the write up before retrying).
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(15);

struct Token {
    value: String,
    expires_at_ms: u64,
}

/// Whose token: the auth host (integration and production tokens differ), the client
/// and the tenant. The client id is no secret (the client secret and the token are).
type TokenKey = (String, String, i64);

thread_local! {
    // One isolate is single-threaded; a tenant's token is shared by every request it serves.
    static TOKENS: RefCell<HashMap<TokenKey, Token>> = RefCell::new(HashMap::new());
}

fn token_key(settings: &ServiceTitanSettings) -> TokenKey {
    (settings.auth_url.clone(), settings.client_id.clone(), settings.tenant_id)
}

/// Counts of what this isolate sent, for the bench.
#[derive(Default, Clone, Copy)]
pub(crate) struct Sent {
    /// Token requests.
    pub(crate) token: u32,
    /// API calls.
    pub(crate) api: u32,
}

/// Sends one request. Never fails: a transport error or a timeout becomes status 0,
/// which the pipeline treats as "the write may or may not have happened".
pub(crate) async fn send(settings: &ServiceTitanSettings, req: &StRequest, sent: &mut Sent) -> StResponse {
    send_within(settings, req, sent, API_TIMEOUT).await
}

/// [`send`] with a deadline of its own (availability look-ups keep a homeowner waiting).
pub(crate) async fn send_within(
    settings: &ServiceTitanSettings,
    req: &StRequest,
    sent: &mut Sent,
    limit: Duration,
) -> StResponse {
    let token = match token(settings, req.fresh_token, sent, limit).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let mut url = format!("{}{}", settings.api_url, req.path);
    if !req.query.is_empty() {
        let q: Vec<String> = req.query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        url.push('?');
        url.push_str(&q.join("&"));
    }
    let headers = Headers::new();
    let _ = headers.set("authorization", &format!("Bearer {token}"));
    let _ = headers.set("st-app-key", &settings.app_key);
    let mut init = RequestInit::new();
    init.with_method(match req.method.as_str() {
        "POST" => Method::Post,
        "PATCH" => Method::Patch,
        "PUT" => Method::Put,
        _ => Method::Get,
    });
    if let Some(body) = &req.body {
        let _ = headers.set("content-type", "application/json");
        init.with_body(Some(JsValue::from_str(&body.to_string())));
    }
    init.with_headers(headers);
    if let Some(held) = crate::pacer::wait_for_slot(&settings.env, &settings.tenant_key).await {
        // The tenant is paused (a 429) longer than a call should sleep: the caller
        // retries on its own clock, as after ServiceTitan's own 429.
        return held;
    }
    sent.api += 1;
    let response = exchange(&url, &init, limit).await;
    match response.status {
        // Whatever the pipeline decides, this token is no good.
        401 => {
            TOKENS.with(|t| t.borrow_mut().remove(&token_key(settings)));
        }
        429 => crate::pacer::rate_limited(&settings.env, &settings.tenant_key, response.retry_after).await,
        _ => {}
    }
    response
}

async fn exchange(url: &str, init: &RequestInit, limit: Duration) -> StResponse {
    let dropped = StResponse { status: 0, retry_after: None, body: String::new() };
    let Ok(request) = Request::new_with_init(url, init) else { return dropped };
    match fetch_within(request, limit).await {
        Ok(r) => StResponse { status: r.status, retry_after: r.retry_after, body: r.body },
        Err(_) => dropped,
    }
}

async fn token(
    settings: &ServiceTitanSettings,
    fresh: bool,
    sent: &mut Sent,
    limit: Duration,
) -> Result<String, StResponse> {
    let now = Date::now().as_millis();
    if !fresh {
        let cached = TOKENS.with(|t| {
            t.borrow()
                .get(&token_key(settings))
                .filter(|t| t.expires_at_ms > now + TOKEN_MARGIN_MS)
                .map(|t| t.value.clone())
        });
        if let Some(v) = cached {
            return Ok(v);
        }
    }
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        encode(&settings.client_id),
        encode(&settings.client_secret)
    );
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&form)));
    sent.token += 1;
    let resp = exchange(&settings.auth_url, &init, limit).await;
    if resp.status != 200 {
        return Err(resp);
    }
    let parsed: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
    let Some(value) = parsed["access_token"].as_str() else {
        return Err(StResponse { status: 0, retry_after: None, body: String::new() });
    };
    let expires_in = parsed["expires_in"].as_u64().unwrap_or(900);
    let token = Token { value: value.to_string(), expires_at_ms: now + expires_in * 1000 };
    TOKENS.with(|t| t.borrow_mut().insert(token_key(settings), token));
    Ok(value.to_string())
}

/// Percent-encodes a query or form component (RFC 3986 unreserved kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
