//! The owner's webhook delivery log: every attempt to deliver a signed webhook, with its
//! answer, in KV under `d/{site}/{inverted ms}` (newest first in a listing), kept 30 days.
//! The owner page lists it; the booking run decides what is delivered and retried.

use booking_core::run::{Delivery, DeliveryResult};
use serde::{Deserialize, Serialize};
use worker::{Date, Env, Result};

/// Days an attempt is kept.
const KEEP_SECS: u64 = 30 * 24 * 3600;
/// Most attempts one listing returns.
const LIST_LIMIT: u64 = 50;

/// One attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attempt {
    pub(crate) session: String,
    /// `session.completed`, ...
    pub(crate) event: String,
    /// `delivered`, `failed` or `not signed`.
    pub(crate) result: String,
    /// The owner's HTTP status (0: no answer).
    pub(crate) status: u16,
    /// Unix ms of the attempt.
    pub(crate) at_ms: u64,
}

/// Logs one attempt; a log that cannot be written is said in the worker's log only.
pub(crate) async fn log(env: &Env, site: &str, session: &str, d: &Delivery, result: DeliveryResult) {
    let at_ms = Date::now().as_millis();
    let (result, status) = match result {
        DeliveryResult::Delivered => ("delivered", 200),
        DeliveryResult::Failed { status } => ("failed", status),
        DeliveryResult::NotSigned => ("not signed", 0),
    };
    let event = serde_json::to_value(d.event).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let attempt = Attempt { session: session.to_string(), event, result: result.to_string(), status, at_ms };
    // Inverted time: KV lists keys in order, and the owner reads the newest first.
    let key = format!("d/{site}/{:013}-{}", u64::MAX / 1_000_000 - at_ms, d.id);
    let put = async {
        let kv = env.kv("TRANSCRIPTS")?;
        kv.put(&key, serde_json::to_string(&attempt)?)?.expiration_ttl(KEEP_SECS).execute().await?;
        Ok::<(), worker::Error>(())
    };
    if let Err(e) = put.await {
        worker::console_error!("webhook delivery log: {e}");
    }
}

/// The latest attempts of `site`, newest first.
pub(crate) async fn latest(env: &Env, site: &str) -> Result<Vec<Attempt>> {
    let kv = env.kv("TRANSCRIPTS")?;
    let page = kv.list().prefix(format!("d/{site}/")).limit(LIST_LIMIT).execute().await?;
    let mut out = Vec::new();
    for k in page.keys {
        if let Some(a) = kv.get(&k.name).json::<Attempt>().await? {
            out.push(a);
        }
    }
    Ok(out)
}
