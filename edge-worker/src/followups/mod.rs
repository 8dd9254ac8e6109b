//! Follow-ups, the worker's side (issue 15): ServiceTitan's signed webhooks in, the
//! customer's [`FollowUpObject`] drives `booking_core::followup::CustomerFollowUps`.
//!
//! - `POST /v1/webhooks/servicetitan/{site}`: the signature (HMAC-SHA256 over the raw
//!   body; header and hex/base64 from the site's `followUps.webhookSignature`, the key
//!   from the secret `ST_WEBHOOK_KEYS`, JSON `{site: key}`) is checked before anything
//!   else: missing → 401, wrong or no key configured → 403, and nothing is stored. A good
//!   one is queued in the site's intake object (`{site}:webhooks`) and answered at once.
//! - The intake object's alarm re-reads each entity from ServiceTitan (a webhook is only
//!   a nudge), finds its customer, and hands the [`Observation`] to that customer's object
//!   (`{site}:{customerId}`), which observes it and loops over `next_action`.
//! - `GET /v1/admin/followups?site=` (admin.rs): every customer's `list()`, from an index
//!   in KV (`f/{site}/{customerId}`).
//!
//! Time compression (tests only): `FOLLOWUP_TIME_FACTOR` = F > 1 makes a customer's
//! object see `origin + (real - origin) × F` as the engine's `now`, where `origin` is the
//! real time of its first event (stored), and sets its alarms F times sooner. Production
//! never sets it; absent or unreadable it is 1 and the engine sees the real clock.

mod object;
pub(crate) mod poller;
mod reads;
mod sms;
// F1's: messages in and out, and the office page.
mod calls;
mod email;
pub(crate) mod inbound;
pub(crate) mod page;
mod send;

pub use object::FollowUpObject;

use booking_core::followup::{Entity, Observation};
use booking_core::site::SiteConfig;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{Env, Method, Request, RequestInit, Response, Result};

use crate::http::{error, json_reply, Cors};

/// A webhook body is a few hundred bytes; anything much larger is not ServiceTitan's.
const MAX_WEBHOOK_BYTES: usize = 16 * 1024;

/// What a webhook says: which entity changed. Only a nudge: the entity is re-read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Nudge {
    /// `Estimate.Sent`, ...
    #[serde(default)]
    pub(crate) event_type: String,
    /// `Estimate`, `Job`, `Invoice`, ...
    pub(crate) entity_type: String,
    /// The entity's id.
    pub(crate) entity_id: i64,
    /// When the estimate was sent (only the webhook carries it; the REST record cannot).
    #[serde(default)]
    pub(crate) sent_on: Option<String>,
    /// When the customer viewed it (likewise).
    #[serde(default)]
    pub(crate) viewed_on: Option<String>,
}

impl Nudge {
    /// The entity follow-ups watch, if it is one and this event can start or stop one.
    /// `Estimate.Created` is ignored: no recipe starts there, and its re-read may already
    /// show the `modifiedOn` of the `Estimate.Sent` right after it, which would then be
    /// deduplicated away together with the `sentOn` only that webhook carries.
    pub(crate) fn entity(&self) -> Option<Entity> {
        if self.event_type == "Estimate.Created" {
            return None;
        }
        match self.entity_type.as_str() {
            "Estimate" => Some(Entity::Estimate),
            "Job" => Some(Entity::Job),
            "Invoice" => Some(Entity::Invoice),
            "Appointment" => Some(Entity::Appointment),
            "Payment" => Some(Entity::Payment),
            _ => None,
        }
    }
}

/// What the webhook route hands the site's intake.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SiteNudge {
    pub(crate) site_id: String,
    pub(crate) nudge: Nudge,
}

/// What the intake hands a customer's object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForCustomer {
    pub(crate) site_id: String,
    pub(crate) customer_id: i64,
    pub(crate) observation: Observation,
}

/// A plain var, trimmed; empty counts as unset.
pub(crate) fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `POST /v1/webhooks/servicetitan/{site}`.
pub(crate) async fn webhook(req: Request, env: &Env, site_id: &str) -> Result<Response> {
    let none = Cors::none();
    let Some(site) = crate::config::site(env, site_id) else { return error(404, "unknown site", &none) };
    let signature = &site.follow_ups.webhook_signature;
    let Some(given) = req.headers().get(&signature.header)? else {
        return error(401, "signature required", &none);
    };
    let Some(body) = crate::http::read_body_within(&req, MAX_WEBHOOK_BYTES).await? else {
        return error(413, "body too large", &none);
    };
    let named = site.service_titan.webhook_key_secret.as_deref();
    let Some(key) = crate::config::site_secret(env, named, "ST_WEBHOOK_KEYS", &site.id) else {
        worker::console_error!("no ServiceTitan webhook key for site {}: webhook refused", site.id);
        return error(403, "bad signature", &none);
    };
    if !signature.matches(key.as_bytes(), &body, &given) {
        return error(403, "bad signature", &none);
    }
    let Ok(nudge) = serde_json::from_slice::<Nudge>(&body) else {
        return error(400, "not a ServiceTitan webhook body", &none);
    };
    if nudge.entity().is_none() {
        return json_reply(200, &json!({"ok": true, "ignored": nudge.entity_type}), &none);
    }
    let given = SiteNudge { site_id: site.id.clone(), nudge };
    call(env, &site.id, "webhooks", "/nudge", serde_json::to_string(&given)?).await?;
    json_reply(200, &json!({"ok": true}), &none)
}

/// Posts `body` to the object `{site}:{name}` at `path`.
pub(crate) async fn call(env: &Env, site: &str, name: &str, path: &str, body: String) -> Result<Response> {
    let stub = env.durable_object("FOLLOWUPS")?.id_from_name(&format!("{site}:{name}"))?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    stub.fetch_with_request(Request::new_with_init(&format!("https://followups{path}"), &init)?).await
}

fn index_key(site: &str, customer: i64) -> String {
    format!("f/{site}/{customer}")
}

/// Remembers that a site has follow-ups for this customer (the office's list walks these).
pub(crate) async fn index(env: &Env, site: &str, customer: i64) -> Result<()> {
    env.kv("TRANSCRIPTS")?.put(&index_key(site, customer), "1")?.execute().await?;
    Ok(())
}

/// `GET /v1/admin/followups?site=`: each indexed customer's follow-ups.
pub(crate) async fn list(env: &Env, site: Option<&str>) -> Result<Response> {
    let none = Cors::none();
    let Some(site) = site.and_then(|s| crate::config::site(env, s)) else {
        return error(400, "give ?site= (a known site id)", &none);
    };
    let mut customers = vec![];
    for id in indexed(env, &site).await? {
        let mut resp = call(env, &site.id, &id.to_string(), "/list", String::new()).await?;
        customers.push(resp.json::<Value>().await?);
    }
    json_reply(200, &json!({"site": site.id, "customers": customers}), &none)
}

async fn indexed(env: &Env, site: &SiteConfig) -> Result<Vec<i64>> {
    let kv = env.kv("TRANSCRIPTS")?;
    let prefix = format!("f/{}/", site.id);
    let mut ids = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut list = kv.list().prefix(prefix.clone());
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        ids.extend(page.keys.iter().filter_map(|k| k.name.strip_prefix(&prefix)?.parse::<i64>().ok()));
        match page.cursor.filter(|c| !page.list_complete && !c.is_empty()) {
            Some(c) => cursor = Some(c),
            None => return Ok(ids),
        }
    }
}
