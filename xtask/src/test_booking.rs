//! `cargo xtask test-booking [--worker URL] [--site ID]`: the check of the seeds' step 6
//! (issue 16 item 3). A scripted conversation goes through a local or deployed worker
//! exactly as the widget sends it; then the ServiceTitan tenant (same four values as
//! `connect`: environment, `.dev.vars`, or a prompt) is searched for the Customer and the
//! Job carrying the conversation's reference, and the job's notes for the summary. It
//! prints their ids, the job number and where to find them, then cleans up what it can:
//! the job is cancelled (ServiceTitan's API deletes no customer; that is said), and the
//! stored transcript is deleted when `ADMIN_TOKEN` is given.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use booking_core::site::PublicSiteConfig;
use booking_core::test_booking::{self, TestHomeowner};
use serde_json::{json, Value};

use crate::connect::{self, Api, Flags};
use crate::Fail;

/// `cargo xtask test-booking ...`.
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let flags = Flags::parse(args)?;
    let worker = flags.get("worker").unwrap_or("http://127.0.0.1:8787").trim_end_matches('/').to_string();
    let site = flags.get("site").unwrap_or("northstar").to_string();
    let (env, other) = connect::environments(&flags)?;
    let creds = connect::credentials(&flags)?;
    let api = Api::connect(&env, other.as_ref(), &creds, connect::tenant_id(&creds)?)?;
    let config = site_config(&worker, &site)?;
    let homeowner = test_booking::homeowner(&config);
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    let key = format!("test-booking-{now_ms}");
    let reference = book(&worker, &site, &test_booking::submission_json(&config, &key, now_ms))?;
    println!("test-booking: the worker answered; reference {reference}; waiting for ServiceTitan's records");
    let wait = Duration::from_secs(flags.get("wait-seconds").and_then(|s| s.parse().ok()).unwrap_or(120));
    let found = find(&api, &homeowner, &reference, &key, wait)?;
    report(&found);
    clean_up(&api, &found, &worker, &site, &homeowner);
    Ok(())
}

/// The site's public config from the worker (what the widget reads): the test homeowner
/// lives in its service area.
fn site_config(worker: &str, site: &str) -> Result<PublicSiteConfig, Fail> {
    let url = format!("{worker}/v1/sites/{site}/config");
    let (status, text) = connect::http("GET", &url, &[], None)?;
    match status {
        200 => serde_json::from_str(&text)
            .map_err(|e| Fail(format!("the worker's {url} is not a site config ({e}): is it this version?"))),
        404 => Err(no_site(worker, site)),
        _ => Err(refused(worker, site, status, &text)),
    }
}

fn no_site(worker: &str, site: &str) -> Fail {
    Fail(format!(
        "the worker at {worker} has no site {site:?}: give --site with an id from examples/sites (or SITES_JSON)"
    ))
}

fn refused(worker: &str, site: &str, status: u16, text: &str) -> Fail {
    let reply: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if status == 503 {
        return Fail(format!(
            "the worker refuses site {site:?}'s config: {}; fix it (cargo xtask connect --check FILE) and deploy again",
            reply["error"]
        ));
    }
    Fail(format!(
        "the worker at {worker} answered {status} ({}): check --worker and that the deployed worker is this version",
        text.chars().take(200).collect::<String>()
    ))
}

/// Submits the conversation, as the widget does; the worker's reference.
fn book(worker: &str, site: &str, body: &str) -> Result<String, Fail> {
    let url = format!("{worker}/v1/sites/{site}/bookings");
    let (status, text) = connect::http("POST", &url, &[("content-type", "application/json")], Some(body))?;
    let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match (status, reply["reference"].as_str()) {
        (200, Some(r)) => Ok(r.to_string()),
        (404, _) => Err(no_site(worker, site)),
        _ => Err(refused(worker, site, status, &text)),
    }
}

/// What the booking made in ServiceTitan.
struct Found {
    customer: Value,
    job: Value,
    notes: Vec<Value>,
    /// A job note carries the conversation's summary and transcript.
    summary: bool,
}

/// Polls ServiceTitan until the customer (by phone) has a job with our reference and the
/// job's notes carry the summary and transcript (they are written after the job).
fn find(api: &Api, h: &TestHomeowner, reference: &str, key: &str, wait: Duration) -> Result<Found, Fail> {
    let start = Instant::now();
    let mark = format!("Web reference: {reference}");
    while start.elapsed() < wait {
        for customer in get_list(api, &format!("/crm/v2/tenant/{{t}}/customers?phone={}&pageSize=10", h.phone))? {
            let jobs = get_list(api, &format!("/jpm/v2/tenant/{{t}}/jobs?customerId={}&pageSize=50", customer["id"]))?;
            if let Some(job) = jobs.into_iter().find(|j| j.to_string().contains(&mark)) {
                let notes = get_list(api, &format!("/jpm/v2/tenant/{{t}}/jobs/{}/notes", job["id"]))?;
                let summary = notes
                    .iter()
                    .any(|n| n["text"].as_str().is_some_and(|t| t.contains("Transcript:") && t.contains(key)));
                if summary || start.elapsed() >= wait / 2 {
                    return Ok(Found { customer, job, notes, summary });
                }
            }
        }
        office_booking(api, key)?;
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(Fail(format!(
        "no job with {mark} in ServiceTitan after {} s: open the worker's GET /v1/admin/attention?site= (bearer ADMIN_TOKEN) for why, and check the worker's logs (npx wrangler tail)",
        wait.as_secs()
    )))
}

/// A booking for the office instead of a job (no window agreed, an ambiguous match, a
/// site in `booking` mode, or ServiceTitan refused the job) is a failed check, said with
/// where to look.
fn office_booking(api: &Api, key: &str) -> Result<(), Fail> {
    let bookings = get_list(api, "/crm/v2/tenant/{t}/bookings?pageSize=200")?;
    match bookings.iter().find(|b| b["externalId"].as_str() == Some(key)) {
        Some(b) => Err(Fail(format!(
            "ServiceTitan has booking {} for the office to review, not a job: the site is in booking mode, no arrival window was agreed, or the job was refused; the worker's GET /v1/admin/attention?site= says which (find the booking in ServiceTitan's Bookings inbox)",
            b["id"]
        ))),
        None => Ok(()),
    }
}

fn get_list(api: &Api, path: &str) -> Result<Vec<Value>, Fail> {
    let (status, body) = api.call("GET", path, None)?;
    if status != 200 {
        return Err(Fail(format!(
            "ServiceTitan answered {status} to GET {path}: run cargo xtask connect to check the scopes"
        )));
    }
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok(json["data"].as_array().cloned().unwrap_or_default())
}

fn report(f: &Found) {
    let summary = f.summary;
    println!("test-booking: booked");
    println!("  customer  {} ({})", f.customer["id"], f.customer["name"].as_str().unwrap_or(""));
    println!("  location  {}", f.job["locationId"]);
    println!(
        "  job       {} (job number {})",
        f.job["id"],
        f.job["jobNumber"].as_str().map_or(f.job["jobNumber"].to_string(), str::to_string)
    );
    println!(
        "  notes     {} on the job; the conversation summary {}",
        f.notes.len(),
        if summary { "is attached" } else { "is NOT attached yet" }
    );
    println!("In ServiceTitan: search the job number in the top bar (or Customers → {}); the summary is under the job's Notes.", f.customer["name"].as_str().unwrap_or(""));
}

/// Cancels the job and deletes the transcript; says what stays.
fn clean_up(api: &Api, f: &Found, worker: &str, site: &str, h: &TestHomeowner) {
    let reasons = get_list(api, "/jpm/v2/tenant/{t}/job-cancel-reasons").unwrap_or_default();
    let cancelled = reasons.first().and_then(|r| {
        let body = json!({"reasonId": r["id"], "memo": "cargo xtask test-booking"}).to_string();
        api.call("PUT", &format!("/jpm/v2/tenant/{{t}}/jobs/{}/cancel", f.job["id"]), Some(&body)).ok()
    });
    match cancelled {
        Some((200..=299, _)) => println!("clean-up: job {} cancelled", f.job["id"]),
        other => println!(
            "clean-up: could not cancel job {} ({}); cancel it in ServiceTitan by hand",
            f.job["id"],
            other.map_or("no cancel reason found".to_string(), |(s, _)| format!("answer {s}"))
        ),
    }
    println!(
        "clean-up: ServiceTitan's API deletes no customer: make customer {} inactive in ServiceTitan if you wish",
        f.customer["id"]
    );
    match std::env::var("ADMIN_TOKEN") {
        Ok(token) => {
            let url = format!("{worker}/v1/admin/transcripts?site={site}&phone={}", h.phone);
            let auth = format!("Bearer {}", token.trim());
            match connect::http("DELETE", &url, &[("authorization", &auth)], None) {
                Ok((200..=299, _)) => println!("clean-up: the worker's transcript deleted"),
                Ok((s, _)) => {
                    println!("clean-up: the worker refused to delete the transcript ({s}): check ADMIN_TOKEN")
                }
                Err(Fail(m)) => println!("clean-up: {m}"),
            }
        }
        Err(_) => println!("clean-up: set ADMIN_TOKEN to delete the stored transcript too"),
    }
}
