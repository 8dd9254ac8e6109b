//! One `TenantPacer` Durable Object per ServiceTitan tenant (binding `TENANT_PACERS`,
//! named by `tenant_key`: a hash of the app key and the tenant id, never the key): the
//! send slots every isolate's calls to that tenant take, so ServiceTitan's 60 requests
//! per second per (app key, tenant) hold across the fleet, and a 429 slows only the
//! tenant that got it. The bucket arithmetic is `booking_core::servicetitan::pacing`;
//! this object moves its bytes.
//!
//! The bucket lives in memory: it matters only while calls flow, and an object being
//! called is not evicted; an idle one forgets a full bucket, which is where it starts.
//! When the object cannot be reached, the call goes (a booking matters more than a
//! slot; ServiceTitan's own 429 still stops us, through the pipeline's retries).
//!
//! Cost: one Durable Object round trip per ServiceTitan call (7 ms median on loopback
//! under `wrangler dev`: ARCHITECTURE.md); a 429 adds one more.

use std::cell::RefCell;

use booking_core::servicetitan::pacing::{Pacer, Slot};
use booking_core::servicetitan::StResponse;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{durable_object, Date, Delay, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

/// What a caller reports after ServiceTitan's 429.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Limited {
    retry_after: Option<u64>,
}

async fn call(env: &Env, tenant_key: &str, path: &str, body: String) -> Result<Response> {
    let stub = env.durable_object("TENANT_PACERS")?.id_from_name(tenant_key)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    stub.fetch_with_request(Request::new_with_init(&format!("https://pacer{path}"), &init)?).await
}

/// Waits for the tenant's next send slot. `Some(429)` when the tenant is paused longer
/// than a call should sleep: hand that to the caller instead of sending.
pub(crate) async fn wait_for_slot(env: &Env, tenant_key: &str) -> Option<StResponse> {
    let slot = match call(env, tenant_key, "/slot", String::new()).await {
        Ok(mut r) => r.json::<Slot>().await,
        Err(e) => Err(e),
    };
    match slot {
        Ok(Slot::Go) => None,
        Ok(Slot::WaitMs(ms)) => {
            Delay::from(std::time::Duration::from_millis(ms.max(0) as u64)).await;
            None
        }
        Ok(Slot::Held { retry_after_s }) => Some(Slot::held_response(retry_after_s)),
        Err(e) => {
            worker::console_error!("tenant pacer {tenant_key} unreachable, call sent unpaced: {e}");
            None
        }
    }
}

/// Tells the tenant's pacer that ServiceTitan answered 429.
pub(crate) async fn rate_limited(env: &Env, tenant_key: &str, retry_after: Option<u64>) {
    worker::console_log!("ServiceTitan rate limit for tenant {tenant_key}: paused {retry_after:?} s");
    let body = serde_json::to_string(&Limited { retry_after }).unwrap_or_default();
    if let Err(e) = call(env, tenant_key, "/limited", body).await {
        worker::console_error!("tenant pacer {tenant_key} not told of a 429: {e}");
    }
}

/// The Durable Object.
#[durable_object]
pub struct TenantPacer {
    pacer: RefCell<Pacer>,
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

impl DurableObject for TenantPacer {
    fn new(_state: State, _env: Env) -> Self {
        TenantPacer { pacer: RefCell::new(Pacer::new(now_ms())) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        // Each borrow ends before the answer: none is held across an await.
        match req.path().as_str() {
            "/slot" => {
                let slot = self.pacer.borrow_mut().slot(now_ms());
                Response::from_json(&slot)
            }
            "/limited" => {
                let limited: Limited = req.json().await?;
                self.pacer.borrow_mut().rate_limited(limited.retry_after, now_ms());
                Response::ok("ok")
            }
            _ => Response::error("no such route", 404),
        }
    }
}
