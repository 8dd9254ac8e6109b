//! Outgoing webhooks, as a ServiceTitan tenant sends them when a record changes.
//!
//! ServiceTitan's V2 webhooks are beta and their payload and signature are not
//! documented (`../shared/voice-and-followups.md` §1a): the portal takes a callback URL
//! and an optional HMAC key, "a hash of the payload" goes in a request header, and any
//! answer but 200 is retried after 10, 30, 60 and 300 s. So everything undocumented is a
//! setting of the subscription (header name, hex or base64), the algorithm is
//! HMAC-SHA256 over the raw body, and the body is deliberately minimal:
//!
//! ```json
//! {"eventType":"Estimate.Sold","entityType":"Estimate","entityId":10003,
//!  "modifiedOn":"2026-12-02T01:00:00.123Z","tenantId":1044990}
//! ```
//! plus `sentOn` / `viewedOn` on `Estimate.Sent` / `Estimate.Viewed` (the 2022 estimate
//! schema has no field for either, so a REST re-read cannot show them). A client should
//! treat a webhook as a nudge and re-read the entity.
//!
//! `GET /_admin/webhooks` answers `{subscriptions, deliveries, held}`: each delivery is
//! `{seq, event, body, status, attempts: [{attempt, at, status, error?}]}` with `status`
//! one of `queued`, `held` (waiting for the next event), `skipped`, `unsubscribed` (no
//! subscription for it when it fired), `delivered`, `retrying`, `failed` (after the last retry).
//!
//! Only `http://` URLs are delivered (the emulator runs next to its clients on loopback).
//! Each event's first delivery goes through one queue, in order; a retry waits on its own.

use crate::state::{lock, Shared};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// ServiceTitan's retry delays after a failed delivery, in seconds (then it gives up).
pub const RETRY_DELAYS_S: [u64; 4] = [10, 30, 60, 300];
/// How long one delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries kept for `GET /_admin/webhooks`.
const MAX_LOG: usize = 2_000;

/// How the signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Lowercase hex.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// A tenant's subscription, as `POST /_admin/webhooks` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    /// Where events go (`http://host:port/path`).
    pub url: String,
    /// The HMAC key (ServiceTitan asks for 32–64 characters; not enforced). Without it
    /// nothing is signed, as in the portal.
    #[serde(default)]
    pub hmac_key: Option<String>,
    /// The signature header.
    #[serde(default = "default_header")]
    pub header: String,
    /// `hex` or `base64`.
    #[serde(default = "default_encoding")]
    pub encoding: Encoding,
    /// The tenant (default: the emulator's).
    #[serde(default)]
    pub tenant_id: Option<i64>,
    /// Only these events (`"Estimate"` for every estimate event, or `"Estimate.Sold"`),
    /// as ServiceTitan's portal subscribes per event; absent: all.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
}

impl Subscription {
    fn wants(&self, event_type: &str) -> bool {
        let entity = event_type.split('.').next().unwrap_or(event_type);
        self.event_types.as_ref().is_none_or(|list| list.iter().any(|t| t == event_type || t == entity))
    }
}

fn default_header() -> String {
    "x-servicetitan-signature".into()
}

fn default_encoding() -> Encoding {
    Encoding::Hex
}

/// What to do with the events of one admin change (`?deliver=` on the admin call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Send once.
    #[default]
    Normal,
    /// Send twice, the same body and signature.
    Duplicate,
    /// Hold back and send right after the next event (out of order).
    Late,
    /// Never send (a missed webhook, for a poller to find).
    Skip,
}

impl Delivery {
    /// Parses `?deliver=`.
    pub fn parse(s: Option<&str>) -> Result<Delivery, String> {
        match s {
            None | Some("") | Some("normal") => Ok(Delivery::Normal),
            Some("duplicate") => Ok(Delivery::Duplicate),
            Some("late") | Some("outOfOrder") => Ok(Delivery::Late),
            Some("skip") => Ok(Delivery::Skip),
            Some(other) => Err(format!("deliver must be normal, duplicate, late or skip, not {other:?}")),
        }
    }
}

/// One event to deliver.
#[derive(Debug, Clone)]
struct Outgoing {
    seq: u64,
    body: String,
}

/// Subscriptions, the delivery log and the held-back event.
#[derive(Debug, Default)]
pub struct Webhooks {
    subscriptions: Vec<Subscription>,
    log: Vec<Value>,
    seq: u64,
    held: Option<Outgoing>,
    queue: Option<mpsc::UnboundedSender<Outgoing>>,
}

impl Webhooks {
    /// Sets (replaces) the tenant's subscription.
    pub fn subscribe(&mut self, mut sub: Subscription, tenant: i64) -> Result<(), String> {
        if !sub.url.starts_with("http://") {
            return Err("url must be http://host:port/path (the emulator delivers on loopback, without TLS)".into());
        }
        if sub.header.trim().is_empty() || axum::http::HeaderName::from_bytes(sub.header.as_bytes()).is_err() {
            return Err(format!("header {:?} is not a valid header name", sub.header));
        }
        let tenant = *sub.tenant_id.get_or_insert(tenant);
        self.subscriptions.retain(|s| s.tenant_id != Some(tenant));
        self.subscriptions.push(sub);
        Ok(())
    }

    /// Removes every subscription and forgets the log and any held event.
    pub fn clear(&mut self) {
        self.subscriptions.clear();
        self.forget_deliveries();
    }

    /// Forgets the log and any held event (an event already queued still goes out).
    pub fn forget_deliveries(&mut self) {
        self.log.clear();
        self.held = None;
    }

    /// Subscriptions (keys redacted) and every delivery with its attempts.
    pub fn to_json(&self) -> Value {
        let subs: Vec<Value> = self
            .subscriptions
            .iter()
            .map(|s| {
                json!({"tenantId": s.tenant_id, "url": s.url, "header": s.header,
                       "encoding": if s.encoding == Encoding::Hex { "hex" } else { "base64" },
                       "eventTypes": s.event_types,
                       "hmacKey": s.hmac_key.as_ref().map(|_| crate::journal::REDACTED)})
            })
            .collect();
        json!({"subscriptions": subs, "deliveries": self.log, "held": self.held.as_ref().map(|h| h.seq)})
    }

    fn subscription(&self, tenant: i64) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.tenant_id == Some(tenant))
    }

    fn entry(&mut self, seq: u64) -> Option<&mut Value> {
        self.log.iter_mut().rev().find(|e| e["seq"] == json!(seq))
    }
}

/// The body of one event (see the module doc).
pub fn event(event_type: &str, entity_id: i64, modified_on: &str, tenant: i64, extra: Value) -> Value {
    let entity = event_type.split('.').next().unwrap_or(event_type);
    let mut body = json!({"eventType": event_type, "entityType": entity, "entityId": entity_id,
                          "modifiedOn": modified_on, "tenantId": tenant});
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    body
}

/// Hands the events of one admin change to the subscription of `state`'s tenant.
/// Without a subscription they are logged as `unsubscribed` and dropped.
pub fn fire(state: &Shared, events: Vec<Value>, how: Delivery) {
    let tenant = state.app.tenant_id;
    let mut wh = lock(&state.webhooks);
    for body in events {
        let ty = body.get("eventType").and_then(Value::as_str).unwrap_or("");
        let subscribed = wh.subscription(tenant).is_some_and(|s| s.wants(ty));
        wh.seq += 1;
        let seq = wh.seq;
        let text = body.to_string();
        let status = match (subscribed, how) {
            (false, _) => "unsubscribed",
            (true, Delivery::Skip) => "skipped",
            (true, Delivery::Late) => "held",
            (true, _) => "queued",
        };
        wh.log.push(json!({"seq": seq, "event": body, "body": text, "status": status, "attempts": []}));
        if wh.log.len() > MAX_LOG {
            wh.log.remove(0);
        }
        if !subscribed || how == Delivery::Skip {
            continue;
        }
        let out = Outgoing { seq, body: text };
        if how == Delivery::Late {
            // One held at a time: an earlier held event goes out now, before this one.
            if let Some(prev) = wh.held.replace(out) {
                enqueue(state, &mut wh, prev);
            }
            continue;
        }
        enqueue(state, &mut wh, out.clone());
        if how == Delivery::Duplicate {
            enqueue(state, &mut wh, out);
        }
        if let Some(late) = wh.held.take() {
            enqueue(state, &mut wh, late);
        }
    }
}

/// Sends the held-back event now (`POST /_admin/webhooks/flush`); false if none.
pub fn flush(state: &Shared) -> bool {
    let mut wh = lock(&state.webhooks);
    match wh.held.take() {
        Some(out) => {
            enqueue(state, &mut wh, out);
            true
        }
        None => false,
    }
}

fn enqueue(state: &Shared, wh: &mut Webhooks, out: Outgoing) {
    if let Some(e) = wh.entry(out.seq) {
        e["status"] = json!("queued");
    }
    let tx = wh.queue.get_or_insert_with(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(sender(state.clone(), rx));
        tx
    });
    let _ = tx.send(out);
}

/// First attempts, one at a time in order; a failed one schedules its own retries.
async fn sender(state: Shared, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(out) = rx.recv().await {
        if !attempt(&state, &out, 0).await {
            tokio::spawn(retries(state.clone(), out));
        }
    }
}

async fn retries(state: Shared, out: Outgoing) {
    for (i, secs) in RETRY_DELAYS_S.iter().enumerate() {
        let wait = Duration::from_secs_f64(*secs as f64 / state.time_factor);
        tokio::time::sleep(wait).await;
        if attempt(&state, &out, i + 1).await {
            return;
        }
    }
    if let Some(e) = lock(&state.webhooks).entry(out.seq) {
        e["status"] = json!("failed");
    }
}

/// One POST; true on 200. The attempt is logged either way.
async fn attempt(state: &Shared, out: &Outgoing, n: usize) -> bool {
    let sub = lock(&state.webhooks).subscription(state.app.tenant_id).cloned();
    let Some(sub) = sub else { return true }; // unsubscribed meanwhile: nothing to retry
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(key) = &sub.hmac_key {
        headers.push((sub.header.clone(), sign(key.as_bytes(), out.body.as_bytes(), sub.encoding)));
    }
    let status = tokio::time::timeout(DELIVERY_TIMEOUT, post(&sub.url, &headers, &out.body))
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
    let ok = matches!(status, Ok(200));
    let mut wh = lock(&state.webhooks);
    if let Some(e) = wh.entry(out.seq) {
        let record = match &status {
            Ok(code) => json!({"attempt": n + 1, "at": crate::time::now_rfc3339(), "status": code}),
            Err(why) => json!({"attempt": n + 1, "at": crate::time::now_rfc3339(), "status": null, "error": why}),
        };
        if let Some(a) = e["attempts"].as_array_mut() {
            a.push(record);
        }
        e["status"] = json!(if ok { "delivered" } else { "retrying" });
    }
    ok
}

/// HMAC-SHA256 of `body` under `key`, hex or base64.
pub fn sign(key: &[u8], body: &[u8], encoding: Encoding) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    match encoding {
        Encoding::Hex => digest.iter().map(|b| format!("{b:02x}")).collect(),
        Encoding::Base64 => base64(&digest),
    }
}

/// Standard base64 with padding (one 32-byte digest does not justify a crate).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A minimal HTTP/1.1 POST over plain TCP; the status code, or why there is none.
async fn post(url: &str, headers: &[(String, String)], body: &str) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// url")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| e.to_string())?;
    let mut req = format!("POST {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\nuser-agent: st-sandbox-webhooks\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    // The status line is all we need; read until it is complete.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| "no HTTP status line".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_hmac_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?", Encoding::Hex),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?", Encoding::Base64),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
        assert_eq!(Delivery::parse(Some("late")), Ok(Delivery::Late));
        assert!(Delivery::parse(Some("twice")).is_err());
    }
}
