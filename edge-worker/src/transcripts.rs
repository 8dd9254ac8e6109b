//! Transcripts per session in Workers KV, kept for a configurable number of days, so
//! the site owner can read them and delete a person's on request.
//!
//! Each key carries the person's phone digits and email as KV metadata, so finding a
//! person's sessions lists keys without reading values. Listing walks every page
//! (KV answers at most 1,000 keys a page; stopping at the first page missed people).

use booking_core::conversation::UserTurn;
use serde::{Deserialize, Serialize};
use worker::{Date, Env, KvStore, Result};

/// Days a transcript is kept unless `TRANSCRIPT_RETENTION_DAYS` says otherwise.
const DEFAULT_RETENTION_DAYS: u64 = 90;
/// At most this many transcripts in one listing answer.
const LIST_LIMIT: usize = 1000;

/// What is stored per session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transcript {
    /// Site id.
    pub(crate) site: String,
    /// The conversation's idempotency key.
    pub(crate) session: String,
    /// "booked", "received", "abandoned".
    pub(crate) outcome: String,
    /// Unix seconds when stored.
    pub(crate) stored_at: i64,
    /// Phone digits, when given (for deletion on request).
    pub(crate) phone: Option<String>,
    /// Email, when given (for deletion on request). Absent in transcripts stored
    /// before it was kept.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// The homeowner's turns.
    pub(crate) turns: Vec<UserTurn>,
    /// Rendered transcript (summary + conversation), when a booking was confirmed.
    pub(crate) rendered: Option<String>,
    /// How the booking run ended (the run's `Record::Outcome`), once it has: what the
    /// office got, beside `outcome` (what the homeowner was told).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) final_outcome: Option<serde_json::Value>,
}

/// Metadata listed without reading values: enough to find a person's sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Whose transcripts, normalized so any way of writing it finds the same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Person {
    /// Ten digits, no country code.
    Phone(String),
    /// Lowercase, trimmed.
    Email(String),
}

impl Person {
    /// A phone in any format: "+1 (612) 555-0143", "16125550143", "612.555.0143".
    /// `None` unless it comes to ten digits (after dropping a leading country code 1).
    pub(crate) fn phone(text: &str) -> Option<Person> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let ten = match digits.len() {
            11 if digits.starts_with('1') => digits.get(1..)?.to_string(),
            10 => digits,
            _ => return None,
        };
        Some(Person::Phone(ten))
    }

    /// An email, compared without case.
    pub(crate) fn email(text: &str) -> Option<Person> {
        let e = text.trim().to_lowercase();
        (e.len() >= 3 && e.contains('@')).then_some(Person::Email(e))
    }

    /// Whether the key's metadata names this person; `None` when it cannot say (the
    /// field was not kept for that transcript), and the value must be read.
    fn in_meta(&self, meta: &Meta) -> Option<bool> {
        match (self, meta) {
            (Person::Phone(p), Meta { phone: Some(m), .. }) => Some(m == p),
            (Person::Email(e), Meta { email: Some(m), .. }) => Some(m.to_lowercase() == *e),
            _ => None,
        }
    }

    /// Whether a stored transcript is this person's: its fields, or their words.
    fn in_transcript(&self, t: &Transcript) -> bool {
        match self {
            Person::Phone(p) => {
                t.phone.as_deref() == Some(p)
                    || t.turns
                        .iter()
                        .any(|u| u.text.chars().filter(char::is_ascii_digit).collect::<String>().contains(p.as_str()))
            }
            Person::Email(e) => {
                t.email.as_deref().is_some_and(|m| m.to_lowercase() == *e)
                    || t.turns.iter().any(|u| u.text.to_lowercase().contains(e.as_str()))
            }
        }
    }
}

fn key(site: &str, session: &str) -> String {
    format!("t/{site}/{session}")
}

/// Stores (or replaces) a session's transcript.
pub(crate) async fn store(env: &Env, t: &Transcript) -> Result<()> {
    let kv = env.kv("TRANSCRIPTS")?;
    let days = env
        .var("TRANSCRIPT_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(DEFAULT_RETENTION_DAYS)
        .max(1);
    let meta = Meta { phone: t.phone.clone(), email: t.email.as_ref().map(|e| e.trim().to_lowercase()) };
    kv.put(&key(&t.site, &t.session), serde_json::to_string(t)?)?
        .metadata(meta)?
        .expiration_ttl(days * 86_400)
        .execute()
        .await?;
    Ok(())
}

/// Calls `each` with every transcript key under `prefix` and its metadata, page by page.
async fn walk(kv: &KvStore, prefix: &str, mut each: impl FnMut(String, Meta)) -> Result<()> {
    let mut cursor: Option<String> = None;
    loop {
        let mut list = kv.list().prefix(prefix.to_string());
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        for k in page.keys {
            let meta = k.metadata.and_then(|m| serde_json::from_value(m).ok()).unwrap_or_default();
            each(k.name, meta);
        }
        match page.cursor.filter(|c| !page.list_complete && !c.is_empty()) {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// The transcripts of a site (or all sites), or of one person, with their KV keys.
async fn find(
    kv: &KvStore,
    site: Option<&str>,
    person: Option<&Person>,
    limit: usize,
) -> Result<Vec<(String, Transcript)>> {
    let prefix = site.map(|s| format!("t/{s}/")).unwrap_or_else(|| "t/".into());
    let mut candidates = Vec::new();
    walk(kv, &prefix, |name, meta| {
        let maybe = person.map(|p| p.in_meta(&meta)).unwrap_or(Some(true));
        if maybe != Some(false) {
            candidates.push((name, maybe.is_none()));
        }
    })
    .await?;
    let mut out = Vec::new();
    for (name, check) in candidates {
        if out.len() >= limit {
            break;
        }
        let Some(t) = kv.get(&name).json::<Transcript>().await? else { continue };
        if !check || person.is_none_or(|p| p.in_transcript(&t)) {
            out.push((name, t));
        }
    }
    Ok(out)
}

/// Lists transcripts, optionally only a site's or a person's (oldest first, at most 1,000).
pub(crate) async fn list(env: &Env, site: Option<&str>, person: Option<&Person>) -> Result<Vec<Transcript>> {
    let kv = env.kv("TRANSCRIPTS")?;
    let mut out: Vec<Transcript> = find(&kv, site, person, LIST_LIMIT).await?.into_iter().map(|(_, t)| t).collect();
    out.sort_by_key(|t| t.stored_at);
    Ok(out)
}

/// Every transcript of this person, across all sites and pages.
pub(crate) async fn of_person(env: &Env, person: &Person) -> Result<Vec<Transcript>> {
    let kv = env.kv("TRANSCRIPTS")?;
    Ok(find(&kv, None, Some(person), usize::MAX).await?.into_iter().map(|(_, t)| t).collect())
}

/// One session's transcript, if stored.
pub(crate) async fn get(env: &Env, site: &str, session: &str) -> Result<Option<Transcript>> {
    Ok(env.kv("TRANSCRIPTS")?.get(&key(site, session)).json::<Transcript>().await?)
}

/// Deletes one session's transcript.
pub(crate) async fn delete(env: &Env, site: &str, session: &str) -> Result<()> {
    env.kv("TRANSCRIPTS")?.delete(&key(site, session)).await?;
    Ok(())
}

/// Now, Unix seconds.
pub(crate) fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: deletion took `?phone=` digits as given, so "+1 612 555 0143"
    /// (eleven digits) was refused and "16125550143" never matched the stored ten.
    #[test]
    fn a_phone_with_country_code_names_the_same_person() {
        let want = Some(Person::Phone("6125550143".into()));
        for text in ["+1 (612) 555-0143", "16125550143", "612.555.0143", " 6125550143 "] {
            assert_eq!(Person::phone(text), want, "{text}");
        }
        assert_eq!(Person::phone("26125550143"), None);
        assert_eq!(Person::phone("555-0143"), None);
    }

    #[test]
    fn emails_compare_without_case() {
        assert_eq!(Person::email(" Ana@Example.COM "), Some(Person::Email("ana@example.com".into())));
        assert_eq!(Person::email("nobody"), None);
    }
}
