//! Time per turn of the engine: chat over the whole conversations of the corpus, voice
//! over the whole calls of the voice corpus.
//!
//! `cargo run --release -p booking-core --example bench_turn [rounds]` prints two lines:
//! `bench-turn: median_us=X p99_us=Y turns=N` (`Conversation::handle` per user turn of
//! tests/data/conversations) and `bench-voice: median_us=X p99_us=Y turns=N`
//! (`voice::Call::handle` per caller turn, said, keyed or silent, of
//! tests/data/voice/calls.txt, on examples/sites/northstar.json; the greeting and the
//! hang-up are played but not timed, and the per-call site tweaks the voice tests make are
//! not: the timing needs the same turns, not the same assertions).

use std::time::Instant;

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{Conversation, Event};
use booking_core::site::{PublicSiteConfig, SiteConfig};
use booking_core::voice::{Call, CallEvent};

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/conversations");
    let site: PublicSiteConfig =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/site.json")).expect("site.json"))
            .expect("site.json parses");
    // (channel, locale, messages) per conversation.
    let mut convos: Vec<(Channel, Option<Locale>, Vec<String>)> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root).expect("dir").flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
            if line.starts_with("===") {
                convos.push((Channel::Chat, None, Vec::new()));
            } else if let Some(c) = convos.last_mut() {
                if line.trim() == "channel: voice" {
                    c.0 = Channel::Voice;
                } else if line.trim() == "locale: es" {
                    c.1 = Some(Locale::Es);
                } else if let Some(m) = line.strip_prefix("> ") {
                    c.2.push(m.to_string());
                }
            }
        }
    }
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for (channel, locale, msgs) in &convos {
            let mut c = Conversation::new(site.clone(), *channel, *locale);
            c.handle(Event::Start, 0);
            for (i, m) in msgs.iter().enumerate() {
                let event = Event::User { text: m.clone() };
                let t0 = Instant::now();
                let turn = c.handle(event, i as i64);
                samples.push(t0.elapsed().as_nanos());
                std::hint::black_box(turn);
            }
        }
    }
    print_line("bench-turn", samples);
    print_line("bench-voice", voice(rounds));
}

/// `name: median_us=X p99_us=Y turns=N` from nanosecond samples.
fn print_line(name: &str, mut samples: Vec<u128>) {
    samples.sort_unstable();
    let at = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0) as f64 / 1000.0;
    println!("{name}: median_us={:.1} p99_us={:.1} turns={}", at(0.5), at(0.99), samples.len());
}

/// One call of the voice corpus: its caller ID and its events, each marked timed or not.
struct VoiceCall {
    caller_id: Option<String>,
    events: Vec<(CallEvent, bool)>,
}

/// The events of tests/data/voice/calls.txt (its header says what each line means);
/// lines that check the agent's answer are not events and are skipped.
fn voice_calls() -> Vec<VoiceCall> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/voice/calls.txt");
    let mut calls: Vec<VoiceCall> = Vec::new();
    for line in std::fs::read_to_string(path).expect("calls.txt").lines().map(str::trim) {
        if line.starts_with("===") {
            calls.push(VoiceCall { caller_id: None, events: Vec::new() });
            continue;
        }
        let Some(call) = calls.last_mut() else { continue };
        let event = if let Some(v) = line.strip_prefix("caller id:") {
            call.caller_id = Some(v.trim().to_string());
            None
        } else if line == "call starts" {
            Some((CallEvent::Answered, false))
        } else if let Some(t) = line.strip_prefix("caller:") {
            Some((CallEvent::Heard { text: t.trim().into() }, true))
        } else if let Some(d) = line.strip_prefix("caller keys:") {
            Some((CallEvent::Keyed { digits: d.trim().into() }, true))
        } else if line == "caller says nothing" {
            Some((CallEvent::Nothing, true))
        } else if line == "caller hangs up" {
            Some((CallEvent::HungUp { status: "completed".into() }, false))
        } else {
            None
        };
        call.events.extend(event);
    }
    calls
}

/// Nanoseconds per timed `Call::handle` over `rounds` passes of the voice corpus.
fn voice(rounds: usize) -> Vec<u128> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sites/northstar.json");
    let site = SiteConfig::from_json(&std::fs::read_to_string(path).expect("northstar.json")).expect("site parses");
    let calls = voice_calls();
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for c in &calls {
            let mut call = Call::new(&site, c.caller_id.as_deref(), 0);
            for (i, (event, timed)) in c.events.iter().enumerate() {
                let now = 20 * (i as i64 + 1);
                let event = event.clone();
                let t0 = Instant::now();
                let turn = call.handle(event, now);
                if *timed {
                    samples.push(t0.elapsed().as_nanos());
                }
                std::hint::black_box(turn);
            }
        }
    }
    samples
}
