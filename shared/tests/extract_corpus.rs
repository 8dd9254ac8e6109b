//! Runs every utterance in tests/data/utterances/*.txt through `extract`.
//!
//! One case per line: `channel | asked | what the homeowner said | expected slots`.
//! - channel: chat or voice (documentation only: extract reads text the same way);
//! - asked: what we had just asked: - (nothing), problem, name, phone, address, time, confirm;
//! - expected: `key=value; key=value`. Keys not listed are not checked.
//!   Keys: first, last, phone, ext, email, number, street, unit, city, state, zip, trade,
//!   issue, kind, urgency, day, part, referral, answer, person, correction, language,
//!   phone_problem, and `none` (no slot at all).
//!
//! Lines starting with # are comments. Anything else that is not a case (an unknown
//! channel, question or key) fails the test with its file:line, so a typo cannot turn a
//! case into one that checks nothing.

use booking_core::booking::{DayPart, DayPreference};
use booking_core::extract::{extract, Answer, Emergency, Expecting, Extraction, Urgency};

/// What we had just asked, as the corpus writes it; `None` for a word not in the list.
fn expecting(s: &str) -> Option<Expecting> {
    Some(match s {
        "-" => Expecting::Anything,
        "problem" => Expecting::Problem,
        "name" => Expecting::Name,
        "phone" => Expecting::Phone,
        "address" => Expecting::Address,
        "time" => Expecting::Time,
        "confirm" => Expecting::Confirmation,
        _ => return None,
    })
}

/// Every key `value` knows, for the error on an unknown one.
const KEYS: &str = "first, last, phone, ext, email, number, street, unit, city, state, zip, trade, issue, kind, \
                    urgency, day, part, referral, answer, person, correction, language, phone_problem, none";

/// The extracted value of one key, as the corpus writes it; `None` for an unknown key.
fn value(ex: &Extraction, key: &str) -> Option<String> {
    let s = |o: Option<&str>| o.unwrap_or("").to_string();
    Some(match key {
        "first" => s(ex.name.as_ref().map(|n| n.first.as_str())),
        "last" => s(ex.name.as_ref().map(|n| n.last.as_str())),
        "phone" => s(ex.phone.as_ref().map(|p| p.digits.as_str())),
        "ext" => s(ex.phone.as_ref().and_then(|p| p.extension.as_deref())),
        "email" => s(ex.email.as_deref()),
        "number" => s(ex.address.number.as_deref()),
        "street" => s(ex.address.street.as_deref()),
        "unit" => s(ex.address.unit.as_deref()),
        "city" => s(ex.address.city.as_deref()),
        "state" => s(ex.address.state.as_deref()),
        "zip" => s(ex.address.zip.as_deref()),
        "trade" => ex.trade.map(|t| t.label().to_ascii_lowercase()).unwrap_or_default(),
        "issue" => s(ex.issue.as_deref()),
        "kind" => ex.kind.map(|k| format!("{k:?}").to_ascii_lowercase()).unwrap_or_default(),
        "urgency" => match ex.urgency {
            Some(Urgency::Emergency(Emergency::Gas)) => "gas".into(),
            Some(Urgency::Emergency(Emergency::CarbonMonoxide)) => "co".into(),
            Some(Urgency::Emergency(Emergency::Flooding)) => "flooding".into(),
            Some(Urgency::Emergency(Emergency::Sparks)) => "sparks".into(),
            Some(Urgency::High) => "high".into(),
            None => String::new(),
        },
        "day" => match ex.preferred_time.and_then(|t| t.day) {
            Some(DayPreference::Asap) => "asap".into(),
            Some(DayPreference::Today) => "today".into(),
            Some(DayPreference::Tomorrow) => "tomorrow".into(),
            Some(DayPreference::Weekday(d)) => {
                ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
                    .get(usize::from(d))
                    .copied()
                    .unwrap_or("")
                    .into()
            }
            None => String::new(),
        },
        "part" => match ex.preferred_time.and_then(|t| t.part) {
            Some(DayPart::Morning) => "morning".into(),
            Some(DayPart::Afternoon) => "afternoon".into(),
            Some(DayPart::Evening) => "evening".into(),
            None => String::new(),
        },
        "referral" => s(ex.referral_code.as_deref()),
        "answer" => match ex.answer {
            Some(Answer::Yes) => "yes".into(),
            Some(Answer::No) => "no".into(),
            Some(Answer::Change(None)) => "change".into(),
            Some(Answer::Change(Some(slot))) => format!("change:{slot:?}").to_ascii_lowercase(),
            None => String::new(),
        },
        "person" => if ex.wants_person { "yes" } else { "no" }.into(),
        "correction" => if ex.correction { "yes" } else { "no" }.into(),
        "language" => ex.language.map(|l| format!("{l:?}").to_ascii_lowercase()).unwrap_or_default(),
        "phone_problem" => ex.phone_problem.map(|p| format!("{p:?}")).unwrap_or_default(),
        _ => return None,
    })
}

#[test]
fn utterance_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/utterances");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("utterance dir").flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut failed) = (0usize, Vec::new());
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        let text = std::fs::read_to_string(path).expect("read corpus file");
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("?");
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.splitn(4, " | ").collect();
            let [channel, asked, said, expect] = cols.as_slice() else {
                failed.push(format!("{file}:{}: malformed line (need 4 columns split by ' | ')", n + 1));
                continue;
            };
            if !matches!(channel.trim(), "chat" | "voice") {
                failed.push(format!("{file}:{}: channel {channel:?} is not chat or voice", n + 1));
                continue;
            }
            let Some(asked) = expecting(asked.trim()) else {
                failed.push(format!(
                    "{file}:{}: asked {asked:?} is not one of -, problem, name, phone, address, time, confirm",
                    n + 1
                ));
                continue;
            };
            total += 1;
            let ex = extract(said, asked);
            let mut wrong = Vec::new();
            for pair in expect.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                if pair == "none" {
                    if ex.has_details() {
                        wrong.push(format!("none: got {ex:?}"));
                    }
                    continue;
                }
                let (k, want) = pair.split_once('=').unwrap_or((pair, ""));
                let Some(got) = value(&ex, k.trim()) else {
                    wrong.push(format!("unknown key {:?} (the keys: {KEYS})", k.trim()));
                    continue;
                };
                if got != want.trim() {
                    wrong.push(format!("{}: got {got:?}, want {:?}", k.trim(), want.trim()));
                }
            }
            if !wrong.is_empty() {
                failed.push(format!("{file}:{}: {said:?}\n      {}", n + 1, wrong.join("\n      ")));
            }
        }
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    println!("utterance corpus: {} of {total} passed, {} failed", total - failed.len(), failed.len());
    assert!(total >= 250, "corpus has {total} cases");
    assert!(failed.is_empty(), "{} utterance cases failed (listed above)", failed.len());
}
