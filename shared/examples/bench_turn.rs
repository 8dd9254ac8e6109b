//! Time per conversation turn over the whole conversations of the corpus.
//!
//! `cargo run --release -p booking-core --example bench_turn` prints one line:
//! `bench-turn: median_us=X p99_us=Y turns=N`.

use std::time::Instant;

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{Conversation, Event};
use booking_core::site::PublicSiteConfig;

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
    samples.sort_unstable();
    let at = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0) as f64 / 1000.0;
    println!("bench-turn: median_us={:.1} p99_us={:.1} turns={}", at(0.5), at(0.99), samples.len());
}
