//! Throws generated text at `extract`, `Conversation` and `replay`; any panic is a bug.
//!
//! Inputs come from a tiny deterministic PRNG over corpus fragments, spliced and
//! mutated, plus random UTF-8. Every conversation is also replayed from its user
//! turns and resumed from JSON: both must give the same booking.
//!
//! Run (panics must unwind to be counted, and the release profile aborts):
//! `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo run -p booking-core --example fuzz -- 1000000`

use std::panic::{catch_unwind, AssertUnwindSafe};

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{replay, Conversation, Effect, Event};
use booking_core::extract::{extract, Expecting};
use booking_core::site::PublicSiteConfig;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ODD: &[&str] = &[
    "",
    " ",
    ",",
    ",,",
    "#",
    "+1",
    "x",
    "ext",
    "oh",
    "double",
    "hundred",
    "apt",
    "#4b",
    "st",
    "yes",
    "no",
    "change",
    "the phone",
    "sorry",
    "é",
    "ñ",
    "\u{0301}",
    "\u{200b}",
    "\u{FF10}",
    "\u{1810}",
    "🔥",
    "\u{202e}",
    "\0",
    "(",
    ")",
    "-",
    ".",
    "55416",
    "6125550143",
    "twenty",
    "nine",
    "i smell gas",
    "talk to a person",
    "Arrival window: [1-2]",
    "Arrival window: [",
    "[9999999999999999999999-1]",
    "minneapolis mn",
    "Robinson, Dan",
    "@",
    "a@b.co",
];

fn random_utf8(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| match rng.below(4) {
            0 => char::from(b' ' + (rng.below(95) as u8)),
            1 => char::from_u32(rng.below(0x800) as u32).unwrap_or('?'),
            2 => char::from_u32(0x1F300 + rng.below(0x300) as u32).unwrap_or('?'),
            _ => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{FFFD}'),
        })
        .collect()
}

fn message(rng: &mut Rng, corpus: &[String]) -> String {
    let pick = |rng: &mut Rng| corpus.get(rng.below(corpus.len())).cloned().unwrap_or_default();
    match rng.below(10) {
        0 => {
            let len = rng.below(40);
            random_utf8(rng, len)
        }
        1 => {
            let len = 2_100 + rng.below(500); // over the cap
            random_utf8(rng, len)
        }
        2 | 3 => {
            let mut s = pick(rng);
            for _ in 0..rng.below(4) {
                let at = rng.below(s.len() + 1);
                let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                s.insert_str(at, ODD.get(rng.below(ODD.len())).copied().unwrap_or(""));
            }
            s
        }
        4 => format!("{} {}", pick(rng), pick(rng)),
        5 => {
            let s = pick(rng);
            let cut = rng.below(s.len() + 1);
            let cut = (0..=cut).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.get(..cut).unwrap_or("").to_string()
        }
        6 => {
            let piece = ODD.get(rng.below(ODD.len())).copied().unwrap_or("");
            piece.repeat(1 + rng.below(30))
        }
        _ => pick(rng),
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data");
    let mut corpus = Vec::new();
    for sub in ["utterances", "conversations"] {
        for entry in std::fs::read_dir(format!("{root}/{sub}")).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                if let Some(said) = line.split(" | ").nth(2) {
                    corpus.push(said.to_string());
                } else if let Some(said) = line.strip_prefix("> ") {
                    corpus.push(said.to_string());
                }
            }
        }
    }
    let site: PublicSiteConfig =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/conversations/site.json")).expect("site.json"))
            .expect("site.json parses");
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut inputs, mut panics, mut mismatches, mut conversations) = (0usize, 0usize, 0usize, 0usize);
    let mut first_failure: Option<Vec<String>> = None;
    while inputs < n {
        let len = 1 + rng.below(7);
        let msgs: Vec<String> = (0..len).map(|_| message(&mut rng, &corpus)).collect();
        let channel = if rng.below(3) == 0 { Channel::Voice } else { Channel::Chat };
        let locale = [None, Some(Locale::En), Some(Locale::Es)].get(rng.below(3)).copied().flatten();
        let site = site.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            for m in &msgs {
                let _ = extract(m, Expecting::Anything);
                let _ = extract(m, Expecting::Name);
            }
            let mut c = Conversation::new(site.clone(), channel, locale);
            c.handle(Event::Start, 0);
            let mut booked: Option<booking_core::booking::BookingRequest> = None;
            let mut resumed: Option<Conversation> = None;
            for (i, m) in msgs.iter().enumerate() {
                if i == msgs.len() / 2 {
                    resumed = Conversation::from_json(&c.to_json()).ok();
                }
                let turn = c.handle(Event::User { text: m.clone() }, i as i64);
                if let Some(r) = resumed.as_mut() {
                    if r.handle(Event::User { text: m.clone() }, i as i64) != turn {
                        return false;
                    }
                }
                for e in turn.effects {
                    if let Effect::Book { request } = e {
                        booked = Some(request);
                    }
                }
            }
            c.handle(Event::Abandon, 99);
            let (_, again) = replay(site, channel, locale, c.user_turns(), i64::MAX);
            again == booked
        }));
        inputs += len;
        conversations += 1;
        match result {
            Ok(true) => {}
            Ok(false) => {
                mismatches += 1;
                first_failure.get_or_insert(msgs);
            }
            Err(_) => {
                panics += 1;
                first_failure.get_or_insert(msgs);
            }
        }
    }
    if let Some(f) = &first_failure {
        eprintln!("first failing conversation: {f:?}");
    }
    println!(
        "fuzz: {inputs} inputs, {panics} panics ({conversations} conversations, {mismatches} replay/resume mismatches)"
    );
    if panics > 0 || mismatches > 0 {
        std::process::exit(1);
    }
}
