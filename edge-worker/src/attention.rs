//! The owner's "needs attention" list and the final outcome on stored transcripts: the
//! booking run's [`Record`]s, written to KV so the owner can read them across every
//! conversation (`GET /v1/admin/attention`). Which bookings need attention is the run's
//! decision; this file only stores and lists.

use booking_core::run::{Attention, MismatchReport, Record};
use worker::{Env, Result};

use crate::transcripts::{self, Transcript};

/// Most entries one listing returns.
const LIST_LIMIT: usize = 1_000;

fn key(site: &str, session: &str) -> String {
    format!("a/{site}/{session}")
}

/// Writes one record of the conversation `(site, session)`.
pub(crate) async fn store(env: &Env, site: &str, session: &str, record: &Record) -> Result<()> {
    let kv = env.kv("TRANSCRIPTS")?;
    match record {
        Record::Attention(a) => kv.put(&key(&a.site, &a.session), serde_json::to_string(a)?)?.execute().await?,
        Record::AttentionCleared { site, session } => kv.delete(&key(site, session)).await?,
        Record::Outcome { status, .. } => {
            if let Some(mut t) = transcripts::get(env, site, session).await? {
                t.outcome = serde_json::to_value(status)?.as_str().unwrap_or("done").to_string();
                t.final_outcome = Some(serde_json::to_value(record)?);
                transcripts::store(env, &t).await?;
            }
        }
        Record::Mismatch(report) => transcripts::store(env, &mismatch_transcript(site, session, report)).await?,
    }
    Ok(())
}

fn mismatch_transcript(site: &str, session: &str, r: &MismatchReport) -> Transcript {
    Transcript {
        site: site.to_string(),
        session: session.to_string(),
        outcome: "mismatch".into(),
        stored_at: transcripts::now(),
        phone: r.phone.clone(),
        email: r.email.clone(),
        turns: r.turns.clone(),
        rendered: None,
        final_outcome: None,
    }
}

/// Removes a conversation's attention entry (it names the person: a deletion request).
pub(crate) async fn forget(env: &Env, site: &str, session: &str) -> Result<()> {
    env.kv("TRANSCRIPTS")?.delete(&key(site, session)).await?;
    Ok(())
}

/// The attention list, a site's or every site's, oldest change first.
pub(crate) async fn list(env: &Env, site: Option<&str>) -> Result<Vec<Attention>> {
    let kv = env.kv("TRANSCRIPTS")?;
    let prefix = site.map_or_else(|| "a/".to_string(), |s| format!("a/{s}/"));
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = kv.list().prefix(prefix.clone()).limit(1000);
        if let Some(c) = cursor.take() {
            q = q.cursor(c);
        }
        let page = q.execute().await?;
        for k in page.keys {
            if let Some(a) = kv.get(&k.name).json::<Attention>().await? {
                out.push(a);
            }
        }
        if page.list_complete || out.len() >= LIST_LIMIT {
            break;
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    out.sort_by_key(|a| a.updated_at);
    out.truncate(LIST_LIMIT);
    Ok(out)
}
