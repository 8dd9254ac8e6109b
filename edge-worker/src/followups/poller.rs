//! The export-feed poller (issue 15, item 1). ServiceTitan's V2 webhooks are beta, may be
//! off for a tenant, and their retries stop after about seven minutes, so a Workers cron
//! trigger (`[triggers] crons` in wrangler.toml, `scheduled` in lib.rs) reads the export
//! feeds of jobs, appointments, estimates, invoices and payments and queues each changed
//! record as a nudge in the site's intake object (`{site}:webhooks`): the same queue the
//! webhooks fill, so the same re-read and the same dedupe on (entity, id, modifiedOn). A
//! change seen both ways is one event; a webhook that never came is caught here.
//!
//! - Which sites (with follow-ups on): those named in `FOLLOWUP_POLL_SITES` (for a tenant
//!   whose webhooks are off), else those that receive ServiceTitan's webhooks (a key in
//!   `ST_WEBHOOK_KEYS`). Never simply every site: two sites on one tenant would both
//!   follow up the same customer.
//! - Tokens: each feed's `continueFrom`, per site, in the intake object's storage
//!   (`feed:{name}`), stored only after that batch's nudges are: a crash in between reads
//!   the batch again, and the dedupe absorbs it. A feed's first poll starts a day back
//!   (`from` as a date): older changes are history, and booking-core skips follow-ups
//!   whose moment has passed anyway.
//! - `includeRecentChanges=true`: changes come sooner, sometimes twice; the dedupe is why
//!   that is fine. A feed that fails (ServiceTitan down, a 4xx), or whose batch the intake
//!   had no room for, keeps its token and is read again at the next trigger; the others
//!   go on.
//! - What the feeds cannot say: an estimate's "sent" and "viewed" exist only in the
//!   webhook (the REST record has no `sentOn`), so a missed `Estimate.Sent` is not
//!   recovered; a missed sold, dismissed, completed, canceled, overdue or paid is.

use booking_core::servicetitan::{iso8601, Method, StRequest};
use serde_json::{json, Value};
use worker::{Env, Result, Storage};

use super::reads::{fetch_json, ReadError};
use super::Nudge;
use crate::config::ServiceTitanSettings;

/// Batches read from one feed in one trigger at most (ServiceTitan's are up to 5,000
/// records; the rest waits for the next trigger).
const MAX_BATCHES: usize = 5;
/// A feed's first poll starts this far back.
const FIRST_LOOKBACK_MS: f64 = 86_400_000.0;

/// One export feed.
struct Feed {
    /// Its name in storage keys and the report.
    name: &'static str,
    /// The nudge's `entityType`.
    entity_type: &'static str,
    /// The path, `{t}` for the tenant.
    path: &'static str,
}

const FEEDS: [Feed; 5] = [
    Feed { name: "jobs", entity_type: "Job", path: "/jpm/v2/tenant/{t}/export/jobs" },
    Feed { name: "appointments", entity_type: "Appointment", path: "/jpm/v2/tenant/{t}/export/appointments" },
    Feed { name: "estimates", entity_type: "Estimate", path: "/sales/v2/tenant/{t}/estimates/export" },
    Feed { name: "invoices", entity_type: "Invoice", path: "/accounting/v2/tenant/{t}/export/invoices" },
    Feed { name: "payments", entity_type: "Payment", path: "/accounting/v2/tenant/{t}/export/payments" },
];

/// The cron trigger: each polled site's intake reads its feeds.
pub(crate) async fn scheduled(env: &Env) {
    for site in polled_sites(env) {
        let body = json!({ "siteId": site }).to_string();
        if let Err(e) = super::call(env, &site, "webhooks", "/poll", body).await {
            worker::console_error!("export poll for {site} failed: {e}");
        }
    }
}

/// The sites to poll, with follow-ups on: `FOLLOWUP_POLL_SITES` (comma-separated site
/// ids) when set, for a tenant whose webhooks are off; else those with a ServiceTitan
/// webhook key.
fn polled_sites(env: &Env) -> Vec<String> {
    let named = super::var(env, "FOLLOWUP_POLL_SITES").map(|v| sites_named(&v));
    let ids = named.unwrap_or_else(|| {
        let text = env
            .secret("ST_WEBHOOK_KEYS")
            .map(|s| s.to_string())
            .or_else(|_| env.var("ST_WEBHOOK_KEYS").map(|v| v.to_string()))
            .unwrap_or_default();
        let keys: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
        // And the sites whose config names a webhook key secret of their own.
        let named = crate::config::all(env).into_iter().filter(|s| s.service_titan.webhook_key_secret.is_some());
        let mut ids: Vec<String> = keys.keys().cloned().chain(named.map(|s| s.id)).collect();
        ids.sort();
        ids.dedup();
        ids
    });
    ids.into_iter().filter(|id| crate::config::site(env, id).is_some_and(|s| s.follow_ups.enabled)).collect()
}

/// `"a, b"` → `["a", "b"]`.
fn sites_named(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// What one poll did, per feed: records queued, or why it stopped.
pub(crate) type Report = serde_json::Map<String, Value>;

/// Reads every feed from its token; `queue` stores a batch's nudges in the intake's queue
/// and says whether it took them all (if not, the token stays where it was).
pub(crate) async fn poll<F, Fut>(
    storage: &Storage,
    settings: &ServiceTitanSettings,
    now_ms: f64,
    queue: F,
) -> Result<Report>
where
    F: Fn(Vec<Nudge>) -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let mut report = Report::new();
    for feed in &FEEDS {
        let key = format!("feed:{}", feed.name);
        let start = iso8601(((now_ms - FIRST_LOOKBACK_MS) / 1000.0) as i64);
        let mut from = storage.get::<String>(&key).await?.unwrap_or(start);
        let mut queued = 0;
        let mut outcome = Value::Null;
        for _ in 0..MAX_BATCHES {
            let batch = match read_batch(settings, feed, &from).await {
                Ok(b) => b,
                Err(ReadError::NotFound) => {
                    outcome = json!("the feed is not there (404)");
                    break;
                }
                Err(ReadError::Unavailable(why)) => {
                    outcome = json!(why);
                    break;
                }
            };
            queued += batch.nudges.len();
            if !queue(batch.nudges).await? {
                // The intake is full: this batch is read again from the same token later.
                outcome = json!("the intake is full; read again at the next trigger");
                break;
            }
            if !batch.continue_from.is_empty() {
                from = batch.continue_from;
                storage.put(&key, &from).await?;
            }
            if !batch.has_more {
                break;
            }
        }
        report.insert(feed.name.into(), if outcome.is_null() { json!(queued) } else { outcome });
    }
    Ok(report)
}

/// One batch: its records as nudges, the token after it.
struct Batch {
    nudges: Vec<Nudge>,
    continue_from: String,
    has_more: bool,
}

async fn read_batch(settings: &ServiceTitanSettings, feed: &Feed, from: &str) -> std::result::Result<Batch, ReadError> {
    let path = feed.path.replace("{t}", &settings.tenant_id.to_string());
    let query = vec![("from".to_string(), from.to_string()), ("includeRecentChanges".to_string(), "true".to_string())];
    let req = StRequest { method: Method::Get, path, query, body: None, fresh_token: false };
    let page = fetch_json(settings, req).await?;
    Ok(Batch {
        nudges: nudges(feed, &page),
        continue_from: page["continueFrom"].as_str().unwrap_or("").to_string(),
        has_more: page["hasMore"].as_bool().unwrap_or(false),
    })
}

/// A batch's records as nudges (only the id: the intake re-reads each).
fn nudges(feed: &Feed, page: &Value) -> Vec<Nudge> {
    let records = page["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    records
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .map(|id| Nudge {
            event_type: format!("Export.{}", feed.name),
            entity_type: feed.entity_type.to_string(),
            entity_id: id,
            sent_on: None,
            viewed_on: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_becomes_one_nudge_per_record_that_the_intake_takes() {
        let page = json!({"hasMore": false, "continueFrom": "st1-5.7", "data": [{"id": 7}, {"id": "x"}, {"id": 9}]});
        for feed in &FEEDS {
            let n = nudges(feed, &page);
            assert_eq!(n.iter().map(|n| n.entity_id).collect::<Vec<_>>(), vec![7, 9]);
            assert!(n.iter().all(|n| n.entity().is_some()), "{} nudges are taken by the intake", feed.name);
        }
        assert!(nudges(&FEEDS[0], &json!({"data": null})).is_empty());
    }

    #[test]
    fn poll_sites_are_a_comma_list() {
        assert_eq!(sites_named(" northstar, ,acme "), vec!["northstar".to_string(), "acme".to_string()]);
        assert!(sites_named("").is_empty());
    }
}
