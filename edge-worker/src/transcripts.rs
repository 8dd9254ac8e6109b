//! Transcripts per session in Workers KV, kept for a configurable number of days, so
//! the site owner can read them and delete a person's on request.

use booking_core::conversation::UserTurn;
use serde::{Deserialize, Serialize};
use worker::{Date, Env, Result};

/// Days a transcript is kept unless `TRANSCRIPT_RETENTION_DAYS` says otherwise.
const DEFAULT_RETENTION_DAYS: u64 = 90;

/// What is stored per session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    /// Site id.
    pub site: String,
    /// The conversation's idempotency key.
    pub session: String,
    /// "booked", "received", "abandoned".
    pub outcome: String,
    /// Unix seconds when stored.
    pub stored_at: i64,
    /// Phone digits, when given (for deletion on request).
    pub phone: Option<String>,
    /// The homeowner's turns.
    pub turns: Vec<UserTurn>,
    /// Rendered transcript (summary + conversation), when a booking was confirmed.
    pub rendered: Option<String>,
}

/// Metadata listed without reading values: enough to find a person's sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    phone: Option<String>,
}

fn key(site: &str, session: &str) -> String {
    format!("t/{site}/{session}")
}

/// Stores (or replaces) a session's transcript.
pub async fn store(env: &Env, t: &Transcript) -> Result<()> {
    let kv = env.kv("TRANSCRIPTS")?;
    let days = env
        .var("TRANSCRIPT_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(DEFAULT_RETENTION_DAYS)
        .max(1);
    kv.put(&key(&t.site, &t.session), serde_json::to_string(t)?)?
        .metadata(Meta { phone: t.phone.clone() })?
        .expiration_ttl(days * 86_400)
        .execute()
        .await?;
    Ok(())
}

/// Lists transcripts, optionally only a site's or a phone's (newest last, at most 1,000).
pub async fn list(env: &Env, site: Option<&str>, phone: Option<&str>) -> Result<Vec<Transcript>> {
    let kv = env.kv("TRANSCRIPTS")?;
    let prefix = site.map(|s| format!("t/{s}/")).unwrap_or_else(|| "t/".into());
    let keys = kv.list().prefix(prefix).limit(1000).execute().await?.keys;
    let mut out = Vec::new();
    for k in keys {
        let meta: Option<Meta> = k.metadata.and_then(|m| serde_json::from_value(m).ok());
        if let Some(p) = phone {
            if meta.and_then(|m| m.phone).as_deref() != Some(p) {
                continue;
            }
        }
        if let Some(t) = kv.get(&k.name).json::<Transcript>().await? {
            out.push(t);
        }
    }
    out.sort_by_key(|t| t.stored_at);
    Ok(out)
}

/// Deletes every transcript with this phone; returns how many.
pub async fn delete_for_phone(env: &Env, phone: &str) -> Result<usize> {
    let kv = env.kv("TRANSCRIPTS")?;
    let found = list(env, None, Some(phone)).await?;
    for t in &found {
        kv.delete(&key(&t.site, &t.session)).await?;
    }
    Ok(found.len())
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}
