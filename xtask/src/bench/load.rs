//! Load, soak and the follow-ups intake (tests/bench/load.mjs, tests/bench/webhooks.mjs)
//! and their sections of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{bytes, ms, node_json, num, verdict, Span};
use crate::Fail;

/// How many bookings from how many conversations at once.
#[derive(Clone, Copy)]
pub(super) struct Size {
    pub(super) bookings: u32,
    pub(super) concurrency: u32,
}

/// Issue 17 item 2: 1,000 bookings from 200 concurrent conversations.
pub(super) const FULL: Size = Size { bookings: 1000, concurrency: 200 };
/// `--quick`: small enough for CI, large enough to meet the rate limit.
pub(super) const QUICK: Size = Size { bookings: 100, concurrency: 20 };
/// ServiceTitan's limit per tenant, enforced by the emulator during both phases.
const ST_PER_SECOND: u32 = 60;
/// The soak's steady rate: 2 bookings a second is about 12 ServiceTitan calls a second,
/// a fifth of the limit, so the soak measures the worker, not the limit's queue.
const SOAK_RATE: u32 = 2;

pub(super) enum Phase {
    Load(Size),
    /// `after_load`: the load phase ran before on this stack, so the soak re-reads its
    /// bookings' records at its end (`--only soak` has none to re-read).
    Soak {
        minutes: u64,
        after_load: bool,
    },
}

/// Written by load.mjs when every booking of the load phase has its answer.
pub(super) fn answered_file(out: &Path) -> PathBuf {
    out.join("load-answered")
}

/// `--quick` waits 2 minutes for the records (a booking the pipeline queued for 15
/// minutes counts as lost there); the full load waits past that queue.
const QUICK_RECORDS_LIMIT_MS: u32 = 120_000;

/// Runs tests/bench/load.mjs for one phase; its JSON lands in `out` as load.json,
/// soak.json or (for `quick`) quick-load.json.
pub(super) fn run(urls: &[(&'static str, String)], out: &Path, phase: Phase) -> Result<Value, Fail> {
    let mut env = urls.to_vec();
    env.push(("ST_PER_SECOND", ST_PER_SECOND.to_string()));
    let file = match phase {
        Phase::Load(size) => {
            env.push(("LOAD_PHASE", "load".into()));
            env.push(("LOAD_BOOKINGS", size.bookings.to_string()));
            env.push(("LOAD_CONCURRENCY", size.concurrency.to_string()));
            if size.bookings == FULL.bookings {
                let _ = std::fs::remove_file(answered_file(out));
                env.push(("LOAD_ANSWERED_FILE", answered_file(out).to_string_lossy().into_owned()));
                "load.json"
            } else {
                env.push(("LOAD_RECORDS_LIMIT_MS", QUICK_RECORDS_LIMIT_MS.to_string()));
                "quick-load.json"
            }
        }
        Phase::Soak { minutes, after_load } => {
            env.push(("LOAD_PHASE", "soak".into()));
            env.push(("SOAK_SECONDS", (minutes * 60).to_string()));
            env.push(("SOAK_RATE", SOAK_RATE.to_string()));
            if after_load {
                env.push(("LOAD_RECHECK", FULL.bookings.to_string()));
            }
            "soak.json"
        }
    };
    node_json("load.mjs", &out.join(file), &env)
}

fn target0(v: &Value) -> &'static str {
    if v == 0 {
        "(target 0: met)"
    } else {
        "(target 0: **missed**)"
    }
}

/// "http 429: 3, ECONNRESET: 1", or "none".
fn errors(v: &Value) -> String {
    let list: Vec<String> = v.as_object().into_iter().flatten().map(|(k, n)| format!("{k}: {n}")).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn mb(v: &Value) -> String {
    format!("{:.1} MB", num(v) / 1_048_576.0)
}

/// "12" or "n/a" for a count the run could not make.
fn count(v: &Value) -> String {
    if v.is_null() {
        "n/a".into()
    } else {
        bytes(v)
    }
}

/// A sentence when wrangler reloaded the worker during the phase.
fn restarted(v: &Value) -> &'static str {
    if v["restarted"] == true {
        " **The worker was reloaded during this phase (edge-worker/build changed under wrangler): its CPU and \
         memory figures mix two processes.**"
    } else {
        ""
    }
}

/// When the long phases ran, so their overlaps are visible.
fn timeline(spans: &[Span]) -> String {
    let list: Vec<String> = spans.iter().map(|p| format!("{} {}–{}", p.what, p.start, p.end)).collect();
    format!("When the long phases ran (UTC): {}.", list.join(", "))
}

/// The load and the soak.
pub(super) fn render(s: &mut String, load: &Value, soak: &Value, spans: &[Span]) {
    let _ = writeln!(
        s,
        "### Load: {} bookings from {} concurrent conversations, ServiceTitan at {} requests/s\n",
        bytes(&load["bookings"]),
        load["concurrency"],
        load["perSecond"]
    );
    let _ = writeln!(
        s,
        "`node tests/bench/load.mjs`: the emulator enforces ServiceTitan's limit per tenant (its `rateLimit` \
         fault, `{{\"kind\":\"rateLimit\",\"perSecond\":{}}}`: a call past the limit in a one-second window gets \
         429 with Retry-After), so the worker's pipeline must queue and retry. {} conversations at once, each \
         booking (five turns, then re-posted with the same key until \"booked\") and then starting the next \
         homeowner, until {} are booked; each homeowner has a phone of their own. Then the emulator's records \
         are polled until every phone has its customer and job. Latency is the first post to the \"booked\" \
         answer (it comes before ServiceTitan: the Durable Object books from its alarm); *into ServiceTitan* \
         is from the booking's first post to the poll of the records (one every 2 s from the phase's start) \
         that first saw its customer and job, waited for after the last answer for up to {:.0} minutes, past the pipeline's queue for a call that failed 6 times in a \
         row (tried again after 2 minutes, then every 15: `UNAVAILABLE_RECHECK`, `QUEUE_DELAY`, shared/src/servicetitan/pipeline/mod.rs). Errors are answers other than 200 (a \
         re-post follows). The 429s are the emulator's count of calls its limit refused; the calls and the \
         busiest second (calls answered, not refused) come from its journal, which keeps the last 10,000 \
         (n/a when the phase made more). Lost = not booked in time, or no customer and job in the records in \
         the end; duplicated = a phone with more than one customer or job. Load average {} at the start, {} \
         at the end.{}\n",
        load["perSecond"],
        load["concurrency"],
        bytes(&load["bookings"]),
        num(&load["recordsLimitMs"]) / 60_000.0,
        load["load"]["start"].as_str().unwrap_or("?"),
        load["load"]["end"].as_str().unwrap_or("?"),
        restarted(load),
    );
    let _ = writeln!(
        s,
        "| bookings | all answered after | all in ServiceTitan after | throughput (answered / in ServiceTitan) | \
         p50 | p95 | p99 | max | into ServiceTitan p50 / p95 / max (over 5 min) | posts | errors | ServiceTitan \
         calls (refused with 429) | busiest second | lost | duplicated |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
    );
    let into = &load["intoServiceTitan"];
    let st = &load["serviceTitan"];
    let _ = writeln!(
        s,
        "| {} | {:.1} s | {:.1} s | {:.1} / {:.1} bookings/s | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | \
         {:.1} / {:.1} / {:.1} s ({}) | {} | {} | {} ({}) | {} calls | {} {} | {} {} |\n",
        bytes(&load["bookings"]),
        num(&load["answeredMs"]) / 1000.0,
        num(&load["recordedMs"]) / 1000.0,
        num(&load["answeredPerSecond"]),
        num(&load["recordedPerSecond"]),
        num(&load["p50"]),
        num(&load["p95"]),
        num(&load["p99"]),
        num(&load["max"]),
        num(&into["p50"]) / 1000.0,
        num(&into["p95"]) / 1000.0,
        num(&into["max"]) / 1000.0,
        into["over5min"],
        bytes(&load["posts"]),
        errors(&load["errors"]),
        count(&st["calls"]),
        count(&st["tooMany"]),
        count(&st["answeredPerSecondMax"]),
        load["lost"],
        target0(&load["lost"]),
        load["duplicated"],
        target0(&load["duplicated"]),
    );
    let again = &soak["loadRecheck"];
    if again.is_object() {
        let _ = writeln!(
            s,
            "The same {} bookings re-read in the records at the soak's end (a booking the pipeline queued retries \
             2 or 15 minutes later and may only then reach ServiceTitan, or reach it twice): not in ServiceTitan {} {}, \
             duplicated {} {}.\n",
            bytes(&again["bookings"]),
            again["missing"],
            target0(&again["missing"]),
            again["duplicated"],
            target0(&again["duplicated"]),
        );
    }
    render_soak(s, soak, spans);
}

fn render_soak(s: &mut String, soak: &Value, spans: &[Span]) {
    let minutes = num(&soak["seconds"]) / 60.0;
    let _ = writeln!(s, "### Soak: {minutes:.0} minutes at {} bookings/s\n", soak["rate"]);
    let procs: Vec<String> = soak["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} (`{}`)", p["pid"], p["args"].as_str().unwrap_or("")))
        .collect();
    let _ = writeln!(
        s,
        "The same script and limit: a new homeowner every {:.1} s, started on schedule whatever the answers do, \
         for {minutes:.0} minutes. Memory is the resident set (VmRSS from /proc/<pid>/status) of the workerd \
         processes under this run's `wrangler dev` (pids {}: wrangler runs the worker in one and its dev proxy in \
         another), summed, every {:.0} s. It *grows* when the mean of the last fifth of the samples is more than \
         10 % above the mean of the second fifth (the first fifth is warm-up). The fuzzing (below) runs between \
         the load's answers and the soak, never beside the soak. {} Load average {} at the start, {} at the end.{}\n",
        1.0 / num(&soak["rate"]),
        procs.join(", "),
        num(&soak["everyMs"]) / 1000.0,
        timeline(spans),
        soak["load"]["start"].as_str().unwrap_or("?"),
        soak["load"]["end"].as_str().unwrap_or("?"),
        restarted(soak),
    );
    let _ = writeln!(
        s,
        "| bookings | p50 | p95 | p99 | into ServiceTitan p50 / p95 / max | errors | ServiceTitan calls (refused \
         with 429) | lost | duplicated | RSS start | RSS peak | RSS end | second fifth / last fifth (mean) | grows \
         |\n|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let into = &soak["intoServiceTitan"];
    let _ = writeln!(
        s,
        "| {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} / {:.1} / {:.1} s | {} | {} ({}) | {} {} | {} {} | {} | {} | \
         {} | {} / {} | {} |\n",
        bytes(&soak["bookings"]),
        num(&soak["p50"]),
        num(&soak["p95"]),
        num(&soak["p99"]),
        num(&into["p50"]) / 1000.0,
        num(&into["p95"]) / 1000.0,
        num(&into["max"]) / 1000.0,
        errors(&soak["errors"]),
        count(&soak["serviceTitan"]["calls"]),
        count(&soak["serviceTitan"]["tooMany"]),
        soak["lost"],
        target0(&soak["lost"]),
        soak["duplicated"],
        target0(&soak["duplicated"]),
        mb(&soak["rssStart"]),
        mb(&soak["rssPeak"]),
        mb(&soak["rssEnd"]),
        mb(&soak["rssEarlyMean"]),
        mb(&soak["rssLateMean"]),
        if soak["grows"] == true { "**yes**" } else { "no" },
    );
}

/// The follow-ups intake's answer time (tests/bench/webhooks.mjs).
pub(super) fn render_webhooks(s: &mut String, w: &Value) {
    let _ = writeln!(s, "\n## Follow-ups intake: signed ServiceTitan webhooks\n");
    let _ = writeln!(
        s,
        "`node tests/bench/webhooks.mjs` against the same stack: `POST /v1/webhooks/servicetitan/northstar` with \
         the bodies the emulator fired for {} estimates marked sent (`?deliver=skip`, so it does not deliver them \
         itself), each posted several times as ServiceTitan's retries are, signed as the site's \
         `followUps.webhookSignature` says (hex HMAC-SHA256 of the raw body in `x-servicetitan-signature`, the \
         run's key). One after another, from sending to the whole answer; the first {} are warm-up. Issue 15 \
         item 1: the intake answers within 50 ms (it queues the nudge in a Durable Object and answers; the \
         re-read from ServiceTitan comes after).\n",
        w["estimates"], w["warmup"]
    );
    let _ = writeln!(s, "| posts timed | answers | p50 | p95 | max | target | |\n|---:|---|---:|---:|---:|---|---|");
    let statuses: Vec<String> =
        w["statuses"].as_object().into_iter().flatten().map(|(k, n)| format!("{k}: {n}")).collect();
    let _ = writeln!(
        s,
        "| {} | {} | {} ms | {} ms | {} ms | p95 ≤ {} ms (n ≥ 100) | {} |",
        w["n"],
        statuses.join(", "),
        ms(&w["p50"]),
        ms(&w["p95"]),
        ms(&w["max"]),
        w["targetP95"],
        verdict(w["met"] == true)
    );
}

pub(super) fn summary(load: &Value, soak: &Value, webhooks: &Value) {
    println!(
        "bench: load {} bookings ({} at once): {:.1} bookings/s answered, p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, \
         lost {}, duplicated {}, {:.1} ms workerd CPU per booking",
        load["bookings"],
        load["concurrency"],
        num(&load["answeredPerSecond"]),
        num(&load["p50"]),
        num(&load["p95"]),
        num(&load["p99"]),
        load["lost"],
        load["duplicated"],
        num(&load["cpuMsPerBooking"])
    );
    println!(
        "bench: soak {} bookings: RSS {} -> peak {} -> {}, grows: {}, lost {}, duplicated {}",
        soak["bookings"],
        mb(&soak["rssStart"]),
        mb(&soak["rssPeak"]),
        mb(&soak["rssEnd"]),
        soak["grows"],
        soak["lost"],
        soak["duplicated"]
    );
    println!(
        "bench: follow-ups intake p50 {} ms, p95 {} ms (n {}): {}",
        ms(&webhooks["p50"]),
        ms(&webhooks["p95"]),
        webhooks["n"],
        verdict(webhooks["met"] == true)
    );
}
