//! The worker's time per voice turn (tests/bench/voice.mjs) in BENCHMARKS.md.

use std::fmt::Write as _;

use serde_json::Value;

use super::{ms, num, verdict, VOICE_TURN_P95_MS};

/// E. The worker's time per voice turn (tests/bench/voice.mjs).
pub(super) fn render_voice(s: &mut String, v: &Value) {
    let (tw, relay) = (&v["twiml"], &v["relay"]);
    let warmup = v["warmupCalls"].as_u64().unwrap_or(0);
    let _ = writeln!(s, "\n## Voice turns through the worker\n");
    let _ = writeln!(
        s,
        "`node tests/bench/voice.mjs`, run by `cargo xtask bench` against the same stack (the worker under \
         `wrangler dev --local`, 127.0.0.1). {calls} calls of each kind, one after another, each with a new CallSid \
         (so a new CallObject) and caller ID; the caller answers what the agent asks (the need, the name, yes to the \
         caller ID, the address, when) and stops at \"Shall I book it?\", so no timed turn needs ServiceTitan \
         (ServiceTitan requests during the timed turns, from the emulator's journal: {st_tw} for the webhooks, \
         {st_relay} for the relay). Requests are signed as Twilio signs them (tests/twilio-sandbox/sign.mjs, the \
         stack's auth token) and timed in the bench process, from sending the request to reading the whole answer \
         (TwiML), or from sending `prompt` to receiving the agent's `text` token with `last: true`. The first \
         {warmup} calls of each kind are warm-up: left out of n, p50 and p95, and shown in the last column. Load \
         average when this section started {load0}, when it ended {load1}.\n",
        calls = v["callsPerKind"],
        st_tw = tw["serviceTitanCalls"],
        st_relay = relay["serviceTitanCalls"],
        load0 = v["load"]["start"].as_str().unwrap_or("unknown"),
        load1 = v["load"]["end"].as_str().unwrap_or("unknown"),
    );
    let _ = writeln!(
        s,
        "| turn | request | n | p50 | p95 | max | target | | warm-up (first {warmup} calls): n, p50, max |\n\
         |---|---|---:|---:|---:|---:|---|---|---|"
    );
    let rows: [(&str, &str, &Value, bool); 5] = [
        ("a call connects (the greeting)", "`POST /v1/voice/twilio/northstar/incoming`", &tw["incoming"], true),
        (
            "a caller's turn, no ServiceTitan call",
            "`POST /v1/voice/twilio/northstar/gather` with a signed `SpeechResult`",
            &tw["gathers"],
            true,
        ),
        ("a ConversationRelay prompt", "WebSocket `prompt` → the agent's last `text` token", &relay["prompts"], true),
        (
            "ConversationRelay handshake",
            "signed WebSocket upgrade `GET /v1/voice/relay/northstar?callSid=…`",
            &relay["handshake"],
            false,
        ),
        ("ConversationRelay greeting", "`setup` → the agent's last `text` token", &relay["greeting"], false),
    ];
    for (turn, request, t, targeted) in rows {
        let n = t["n"].as_u64().unwrap_or(0);
        let (target, met) = if targeted {
            (format!("p95 ≤ {VOICE_TURN_P95_MS} ms"), verdict(n > 0 && num(&t["p95"]) <= VOICE_TURN_P95_MS))
        } else {
            ("none".to_string(), "")
        };
        let w = &t["warmup"];
        let _ = writeln!(
            s,
            "| {turn} | {request} | {n} | {} ms | {} ms | {} ms | {target} | {met} | {}, {} ms, {} ms |",
            ms(&t["p50"]),
            ms(&t["p95"]),
            ms(&t["max"]),
            w["n"],
            ms(&w["p50"]),
            ms(&w["max"]),
        );
    }
    let errors: Vec<&str> = [tw, relay]
        .iter()
        .flat_map(|k| k["errors"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let _ = writeln!(
        s,
        "\nCalls that reached \"Shall I book it?\": {} of {} (webhooks), {} of {} (relay). Turns that failed (not \
         timed): {}.",
        tw["reachedSummary"],
        tw["calls"],
        relay["reachedSummary"],
        relay["calls"],
        errors.len()
    );
    for e in errors.iter().take(5) {
        let _ = writeln!(s, "- {}", e.replace('|', "\\|"));
    }
}

pub(super) fn voice_summary(v: &Value) {
    for (what, t) in [
        ("incoming", &v["twiml"]["incoming"]),
        ("gather", &v["twiml"]["gathers"]),
        ("relay prompt", &v["relay"]["prompts"]),
    ] {
        println!("bench: voice {what}: p50 {} ms, p95 {} ms (n {})", ms(&t["p50"]), ms(&t["p95"]), t["n"]);
    }
}
