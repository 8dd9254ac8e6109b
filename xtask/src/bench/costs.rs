//! Costs per booking (issue 17 item 6): ServiceTitan calls per scenario against the
//! fewest possible, the worker's CPU time per booking, the engine's time per turn.

use std::fmt::Write as _;

use serde_json::Value;

use super::{num, Engines};

/// The fewest ServiceTitan calls a scenario can take while leaving what a booking must
/// leave (the customer matched or made, the property, the job, the summary and the
/// transcript as notes on the job and the customer) without risking a duplicate. A
/// requirement, like a size budget, so typed here; the measured calls are beside it.
struct Minimum {
    /// The start of worker.mjs's scenario name.
    scenario: &'static str,
    api: u64,
    token: u64,
    why: &'static str,
}

const MINIMUMS: &[Minimum] = &[
    Minimum {
        scenario: "new customer, token cold",
        api: 6,
        token: 1,
        why: "as the warm one, plus one token (client credentials: there is none yet)",
    },
    Minimum {
        scenario: "new customer, token warm",
        api: 6,
        token: 0,
        why: "2 searches before creating (ServiceTitan's customer list filters on one key per query: by phone, \
              then by street and zip, so a known household on a new phone is not made twice), 1 create with the \
              location and contacts inline, 1 job, 1 job note, 1 customer note",
    },
    Minimum {
        scenario: "existing customer, known address",
        api: 5,
        token: 0,
        why: "1 search (the phone finds them: no second search), 1 list of their locations (a customer's answer \
              does not carry its locations, and the job needs the property's id), 1 job, 2 notes",
    },
    Minimum {
        scenario: "existing customer at a new property",
        api: 6,
        token: 0,
        why: "as a known address, plus 1 create location (the address is not among theirs)",
    },
];

fn minimum_of(scenario: &str) -> Option<&'static Minimum> {
    MINIMUMS.iter().find(|m| scenario.starts_with(m.scenario))
}

/// The calls per scenario (worker.mjs's `scenarios`) beside the fewest possible.
pub(super) fn render_calls(s: &mut String, worker: &Value) {
    let _ = writeln!(s, "### ServiceTitan calls per booking, against the fewest possible\n");
    let _ = writeln!(
        s,
        "| scenario | latency | API calls | token calls | fewest possible (API + token) | | why that is the fewest | \
         calls |\n|---|---:|---:|---:|---:|---|---|---|"
    );
    for sc in worker["scenarios"].as_array().into_iter().flatten() {
        let name = sc["scenario"].as_str().unwrap_or("?");
        let calls: Vec<String> =
            sc["calls"].as_array().into_iter().flatten().filter_map(Value::as_str).map(|c| format!("`{c}`")).collect();
        let (api, token) = (sc["apiCalls"].as_u64().unwrap_or(0), sc["tokenCalls"].as_u64().unwrap_or(0));
        let (fewest, verdict, why) = match minimum_of(name) {
            Some(m) if api == m.api && token == m.token => (format!("{} + {}", m.api, m.token), "the fewest", m.why),
            Some(m) => (format!("{} + {}", m.api, m.token), "**more than the fewest**", m.why),
            None => ("n/a".into(), "", ""),
        };
        let _ = writeln!(
            s,
            "| {name}{} | {:.0} ms | {api} | {token} | {fewest} | {verdict} | {why} | {} |",
            if sc["booked"] == true { "" } else { " (NOT booked)" },
            num(&sc["ms"]),
            calls.join(", ")
        );
    }
    s.push('\n');
}

/// The workerd CPU per booking (load.mjs) and the engine's time per turn.
pub(super) fn render_cpu(s: &mut String, load: &Value, soak: &Value, engine: &Engines) {
    let _ = writeln!(s, "### Costs per booking\n");
    let _ = writeln!(
        s,
        "Worker CPU: utime + stime of the workerd processes under this run's `wrangler dev` (/proc/<pid>/stat), \
         from the first post of a phase to the last booking in ServiceTitan's records, divided by the bookings. \
         It includes everything workerd did meanwhile: the five-turn replay and the answer to every post and \
         re-post, the Durable Object's pipeline with its storage, its calls to ServiceTitan and the retries the \
         429s cost, the KV transcript, wrangler's dev proxy (a workerd of its own), and the runtime's own \
         housekeeping; not the emulator, wrangler's node process or the load generator. Engine time is \
         booking-core alone, natively (the worker runs it as wasm).\n"
    );
    let _ = writeln!(s, "| cost | measured | over |\n|---|---:|---|");
    let _ = writeln!(
        s,
        "| worker CPU per booking, under load | {:.1} ms | {} bookings, {} at once, ServiceTitan at {}/s |",
        num(&load["cpuMsPerBooking"]),
        load["bookings"],
        load["concurrency"],
        load["perSecond"]
    );
    let _ = writeln!(
        s,
        "| worker CPU per booking, steady | {:.1} ms | the soak's {} bookings at {}/s |",
        num(&soak["cpuMsPerBooking"]),
        soak["bookings"],
        soak["rate"]
    );
    let _ = writeln!(
        s,
        "| engine per chat turn (median) | {:.1} µs | {} turns, `Conversation::handle` |",
        engine.chat.median_us, engine.chat.turns
    );
    let _ = writeln!(
        s,
        "| engine per voice caller turn (median) | {:.1} µs | {} turns, `voice::Call::handle` |",
        engine.voice.median_us, engine.voice.turns
    );
    let _ = writeln!(s, "\nServiceTitan calls per booking by scenario: the table above.\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_scenario_over_its_fewest_calls_is_bold_and_says_why() {
        let w = json!({"scenarios": [
            {"scenario": "existing customer, known address", "ms": 50, "booked": true, "apiCalls": 6, "tokenCalls": 0,
             "calls": ["GET /crm/v2/tenant/{t}/customers"]},
            {"scenario": "new customer, token cold (first booking after start)", "ms": 170, "booked": true,
             "apiCalls": 6, "tokenCalls": 1, "calls": []}]});
        let mut s = String::new();
        render_calls(&mut s, &w);
        assert!(
            s.contains("| existing customer, known address | 50 ms | 6 | 0 | 5 + 0 | **more than the fewest** |"),
            "{s}"
        );
        assert!(s.contains("| 6 | 1 | 6 + 1 | the fewest | as the warm one"), "{s}");
    }
}
