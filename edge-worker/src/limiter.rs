//! One `SiteLimiter` Durable Object per site (binding `LIMITS`, named by the site id):
//! the request counters every isolate shares, the cache of ServiceTitan capacity
//! answers, and the budget of capacity calls per minute.
//!
//! A Durable Object has one live instance in the world, so its memory is the whole
//! fleet's count. Counters live in memory, not storage: they only matter while
//! someone is sending, and an object that is being sent to is not evicted; an idle
//! one forgets counts nobody needs. A site's traffic (a contractor's web chat) is far
//! below what one object serves.
//!
//! When the object cannot be reached, request limits let the request through (a
//! booking matters more than a count, and the fault is ours, not the client's) and the
//! capacity budget says no (availability is optional; ServiceTitan's quota is not).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::{durable_object, Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

use crate::rate_limit::{keys, multiplier, Bucket, Windows, CAPACITY_CALLS_PER_MINUTE};

/// How long a capacity answer is reused for the same trade, ZIP and hour.
const CAPACITY_FRESH_SECS: i64 = 300;
/// Capacity answers kept per site (one per trade, ZIP and hour; a few KB each).
const CAPACITY_ENTRIES: usize = 256;

/// Counts one request of `client` against `bucket` on `site`; `false` when over a limit.
pub(crate) async fn allow(env: &Env, site: &str, bucket: Bucket, client: &str) -> bool {
    let scale = multiplier(env);
    let hit = Hit {
        bucket,
        client: client.to_string(),
        per_client: bucket.per_client().saturating_mul(scale),
        per_site: bucket.per_site().saturating_mul(scale),
    };
    match call(env, site, "/hit", &hit).await {
        Ok(v) => v["allowed"].as_bool().unwrap_or(true),
        Err(e) => {
            worker::console_error!("rate limiter unreachable, request let through: {e}");
            true
        }
    }
}

/// What to do for an availability look-up.
pub(crate) enum Capacity {
    /// ServiceTitan's answer from the last few minutes (the body of the capacity call).
    Cached(String),
    /// Call ServiceTitan (counted against the site's budget), then [`remember`].
    Call,
    /// The site's capacity calls for this minute are spent: offer no windows.
    OverBudget,
}

/// The cached capacity answer for `key` (trade, ZIP, hour) on `site`, or leave to call.
/// `budgeted`: a look-up anyone may send counts against the site's budget; the re-check
/// of a booking does not (bookings have their own limits), or a flood of look-ups
/// would leave every booking's window unchecked.
pub(crate) async fn capacity(env: &Env, site: &str, key: &str, budgeted: bool) -> Capacity {
    let budget = if budgeted { CAPACITY_CALLS_PER_MINUTE.saturating_mul(multiplier(env)) } else { u32::MAX };
    let ask = json!({ "key": key, "budget": budget });
    match call(env, site, "/capacity", &ask).await {
        Ok(v) => match (v["cached"].as_str(), v["call"].as_bool()) {
            (Some(body), _) => Capacity::Cached(body.to_string()),
            (None, Some(true)) => Capacity::Call,
            _ => Capacity::OverBudget,
        },
        Err(e) => {
            worker::console_error!("rate limiter unreachable, no capacity call: {e}");
            Capacity::OverBudget
        }
    }
}

/// Keeps a successful capacity answer for the next few minutes.
pub(crate) async fn remember(env: &Env, site: &str, key: &str, body: &str) {
    if let Err(e) = call(env, site, "/capacity/put", &json!({ "key": key, "body": body })).await {
        worker::console_error!("capacity answer not cached: {e}");
    }
}

async fn call<T: Serialize>(env: &Env, site: &str, path: &str, body: &T) -> Result<serde_json::Value> {
    let stub = env.durable_object("LIMITS")?.id_from_name(site)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&serde_json::to_string(body)?)));
    let mut resp = stub.fetch_with_request(Request::new_with_init(&format!("https://limits{path}"), &init)?).await?;
    resp.json().await
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hit {
    bucket: Bucket,
    client: String,
    per_client: u32,
    per_site: u32,
}

#[derive(Deserialize)]
struct Ask {
    key: String,
    budget: u32,
}

#[derive(Deserialize)]
struct Answer {
    key: String,
    body: String,
}

/// The Durable Object.
#[durable_object]
pub struct SiteLimiter {
    requests: RefCell<Windows>,
    capacity_calls: RefCell<Windows>,
    /// key -> (stored at, ServiceTitan's body).
    capacity: RefCell<HashMap<String, (i64, String)>>,
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

impl DurableObject for SiteLimiter {
    fn new(_state: State, _env: Env) -> Self {
        SiteLimiter { requests: RefCell::default(), capacity_calls: RefCell::default(), capacity: RefCell::default() }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let minute = (now() / 60) as u64;
        // Every borrow below starts after the body is read and ends before the answer:
        // none is held across an await, so interleaved requests never meet one.
        match req.path().as_str() {
            "/hit" => {
                let hit: Hit = req.json().await?;
                let (client, site) = keys(hit.bucket, &hit.client);
                let allowed =
                    self.requests.borrow_mut().hit(&[(&client, hit.per_client), (&site, hit.per_site)], minute);
                Response::from_json(&json!({ "allowed": allowed }))
            }
            "/capacity" => {
                let ask: Ask = req.json().await?;
                let fresh = self
                    .capacity
                    .borrow()
                    .get(&ask.key)
                    .filter(|(at, _)| now() - at < CAPACITY_FRESH_SECS)
                    .map(|(_, b)| b.clone());
                if let Some(body) = fresh {
                    return Response::from_json(&json!({ "cached": body }));
                }
                let call = self.capacity_calls.borrow_mut().hit(&[("capacity", ask.budget)], minute);
                Response::from_json(&json!({ "call": call }))
            }
            "/capacity/put" => {
                let answer: Answer = req.json().await?;
                let mut cache = self.capacity.borrow_mut();
                let t = now();
                cache.retain(|_, (at, _)| t - *at < CAPACITY_FRESH_SECS);
                if cache.len() >= CAPACITY_ENTRIES {
                    let oldest = cache.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone());
                    oldest.map(|k| cache.remove(&k));
                }
                cache.insert(answer.key, (t, answer.body));
                Response::from_json(&json!({ "ok": true }))
            }
            _ => Response::error("no such route", 404),
        }
    }
}
