//! Runs every whole conversation in tests/data/conversations/*.txt.
//!
//! Format (one conversation per block, blocks start with `===`):
//! ```text
//! === walking skeleton, separate messages
//! channel: chat            (chat or voice; default chat)
//! locale: es               (optional: set by the site)
//! link: https://site/?bw-phone=6125550100  (optional: the page URL the widget opened on;
//!                          a phone in it is handed over as Event::KnownPhone after the greeting)
//! > My AC stopped cooling  (what the homeowner says, one line per message)
//! < Shall I book it?       (optional: the replies to the message before contain this)
//! expect: outcome=booked; phone=6125550143; zip=55416; priority=Urgent
//! never: What state          (no reply in the whole conversation contains this)
//! card: Problema: Calentador (the last confirmation card has a `label: value` line containing this)
//! ```
//! Outcomes: booked (the confirmation card came up, and its "Book it" — sent by this
//! runner after the last line unless the script ends on one — booked), confirming (the
//! card is up; the runner does not press "Book it" when the expectation says so),
//! handoff, open (nothing booked yet).
//! Any other line that is not blank or a `#` comment fails the test with its file:line. Other keys: first, last,
//! phone, ext, street, unit, city, state, zip, business, trade, kind, priority, locale, referral,
//! emergency (yes/no), sms and voice (consent yes/no), window (start-end), email, day (asap, today, tomorrow, weekday(0..6) from Monday),
//! part (morning, afternoon, evening).
//! Every conversation is also replayed from its user turns and resumed from JSON
//! halfway: both must give the same booking.

use booking_core::booking::{BookingRequest, Channel, Locale};
use booking_core::conversation::{phone_in_link, replay, Conversation, Effect, Event, Stage};
use booking_core::site::PublicSiteConfig;

fn site() -> PublicSiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/conversations/site.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("site.json")).expect("site.json parses")
}

struct Case {
    title: String,
    channel: Channel,
    locale: Option<Locale>,
    link: Option<String>,
    steps: Vec<(String, Vec<String>)>,
    expect: String,
    never: Vec<String>,
    card: Vec<String>,
}

fn parse(text: &str, file: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if let Some(title) = line.strip_prefix("===") {
            cases.push(Case {
                title: title.trim().into(),
                channel: Channel::Chat,
                locale: None,
                link: None,
                steps: Vec::new(),
                expect: String::new(),
                never: Vec::new(),
                card: Vec::new(),
            });
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(c) = cases.last_mut() else { return Err(format!("{file}:{}: a line before the first ===", n + 1)) };
        if let Some(v) = line.strip_prefix("channel:") {
            c.channel = match v.trim() {
                "voice" => Channel::Voice,
                "chat" => Channel::Chat,
                other => return Err(format!("{file}:{}: channel {other:?} is not chat or voice", n + 1)),
            };
        } else if let Some(v) = line.strip_prefix("locale:") {
            c.locale = Some(
                Locale::from_code(v.trim()).ok_or_else(|| format!("{file}:{}: locale {v:?} is not en or es", n + 1))?,
            );
        } else if let Some(v) = line.strip_prefix("link:") {
            c.link = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("> ") {
            c.steps.push((v.to_string(), Vec::new()));
        } else if let Some(v) = line.strip_prefix("< ") {
            match c.steps.last_mut() {
                Some(s) => s.1.push(v.to_string()),
                None => return Err(format!("{file}:{}: a reply expectation before any message", n + 1)),
            }
        } else if let Some(v) = line.strip_prefix("expect:") {
            c.expect = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("never:") {
            c.never.push(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("card:") {
            c.card.push(v.trim().to_string());
        } else {
            return Err(format!(
                "{file}:{}: unknown directive {line:?} (use ===, channel:, locale:, link:, >, <, expect:, never:, card: or #)",
                n + 1
            ));
        }
    }
    Ok(cases)
}

fn field(b: Option<&BookingRequest>, key: &str) -> String {
    let Some(b) = b else { return String::new() };
    match key {
        "first" => b.name.first.clone(),
        "last" => b.name.last.clone(),
        "phone" => b.phone.digits.clone(),
        "ext" => b.phone.extension.clone().unwrap_or_default(),
        "street" => b.address.street.clone(),
        "unit" => b.address.unit.clone().unwrap_or_default(),
        "city" => b.address.city.clone(),
        "state" => b.address.state.clone(),
        "zip" => b.address.zip.clone(),
        "business" => b.business.clone().unwrap_or_default(),
        "trade" => b.trade.label().to_ascii_lowercase(),
        "kind" => format!("{:?}", b.kind).to_ascii_lowercase(),
        "priority" => b.priority.as_str().to_string(),
        "locale" => format!("{:?}", b.locale).to_ascii_lowercase(),
        "referral" => b.referral_code.clone().unwrap_or_default(),
        "email" => b.email.clone().unwrap_or_default(),
        "issue" => b.issue.clone(),
        "sms" => if b.sms_consent { "yes" } else { "no" }.to_string(),
        "voice" => if b.voice_consent { "yes" } else { "no" }.to_string(),
        "window" => b.arrival_window.map(|w| format!("{}-{}", w.start, w.end)).unwrap_or_default(),
        "day" => b.preferred_time.day.map(|d| format!("{d:?}").to_ascii_lowercase()).unwrap_or_default(),
        "part" => b.preferred_time.part.map(|d| format!("{d:?}").to_ascii_lowercase()).unwrap_or_default(),
        _ => format!("<unknown key {key}>"),
    }
}

#[derive(Default)]
struct Seen {
    booking: Option<BookingRequest>,
    handoff: bool,
    emergency: bool,
    /// The last card's lines, as `label: value`.
    card: Vec<String>,
}

fn note(effects: Vec<Effect>, seen: &mut Seen) {
    for e in effects {
        match e {
            Effect::Book { request } => seen.booking = Some(request),
            Effect::HandOff => seen.handoff = true,
            Effect::Emergency => seen.emergency = true,
            Effect::Confirm(c) => seen.card = c.lines.iter().map(|(k, v)| format!("{k}: {v}")).collect(),
            Effect::QualifiedAbandon { .. } => {}
        }
    }
}

#[test]
fn conversation_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/conversations");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("dir").flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut failed) = (0usize, Vec::new());
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        let text = std::fs::read_to_string(path).expect("read");
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("?");
        let cases = match parse(&text, name) {
            Ok(c) => c,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        for case in cases {
            total += 1;
            let mut c = Conversation::new(site(), case.channel, case.locale);
            c.handle(Event::Start, 1_700_000_000);
            if let Some(digits) = case.link.as_deref().and_then(phone_in_link).map(str::to_string) {
                c.handle(Event::KnownPhone { digits }, 1_700_000_000);
            }
            let mut seen = Seen::default();
            let mut said_all = Vec::new();
            let mut wrong = Vec::new();
            let half = case.steps.len() / 2;
            let mut resumed = None;
            for (i, (said, want_replies)) in case.steps.iter().enumerate() {
                if i == half {
                    resumed = Some(Conversation::from_json(&c.to_json()).expect("resume"));
                }
                let turn = c.handle(Event::User { text: said.clone() }, 1_700_000_000 + i as i64 * 20);
                if let Some(r) = resumed.as_mut() {
                    let again = r.handle(Event::User { text: said.clone() }, 1_700_000_000 + i as i64 * 20);
                    if again != turn {
                        wrong.push(format!("resumed conversation answered {said:?} differently"));
                    }
                }
                for w in want_replies {
                    if !turn.replies.iter().any(|r| r.contains(w.as_str())) {
                        wrong.push(format!("after {said:?}: no reply contains {w:?}; got {:?}", turn.replies));
                    }
                }
                if case.channel == Channel::Voice {
                    for r in &turn.replies {
                        if r.contains("http")
                            || r.contains("www.")
                            || r.chars().any(|ch| ch as u32 >= 0x1F000)
                            || r.contains("(")
                        {
                            wrong.push(format!("voice reply not speakable: {r:?}"));
                        }
                    }
                }
                said_all.extend(turn.replies.iter().cloned());
                note(turn.effects, &mut seen);
            }
            let stays_on_card = case.expect.contains("outcome=confirming");
            if c.stage() == Stage::Confirming && !stays_on_card {
                let turn = c.handle(Event::BookIt, 1_700_000_000 + case.steps.len() as i64 * 20);
                said_all.extend(turn.replies.iter().cloned());
                note(turn.effects, &mut seen);
            }
            for n in &case.never {
                if let Some(r) = said_all.iter().find(|r| r.contains(n.as_str())) {
                    wrong.push(format!("a reply contains {n:?}: {r:?}"));
                }
            }
            for want in &case.card {
                if !seen.card.iter().any(|l| l.contains(want.as_str())) {
                    wrong.push(format!("no card line contains {want:?}; card: {:?}", seen.card));
                }
            }
            let Seen { booking, handoff, emergency, .. } = seen;
            let (_, replayed) = replay(site(), case.channel, case.locale, c.user_turns(), 1_800_000_000);
            if replayed != booking {
                wrong.push("replay gave a different booking".into());
            }
            for pair in case.expect.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, want) = pair.split_once('=').unwrap_or((pair, ""));
                let (k, want) = (k.trim(), want.trim());
                let got = match k {
                    "outcome" => if booking.is_some() {
                        "booked"
                    } else if c.stage() == Stage::Confirming {
                        "confirming"
                    } else if handoff {
                        "handoff"
                    } else {
                        "open"
                    }
                    .to_string(),
                    "emergency" => if emergency { "yes" } else { "no" }.to_string(),
                    _ => field(booking.as_ref(), k),
                };
                if got != want {
                    wrong.push(format!("{k}: got {got:?}, want {want:?}"));
                }
            }
            if !wrong.is_empty() {
                failed.push(format!("{name}: {}\n      {}", case.title, wrong.join("\n      ")));
            }
        }
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    println!("conversation corpus: {} of {total} passed, {} failed", total - failed.len(), failed.len());
    assert!(total >= 50, "only {total} conversations");
    assert!(failed.is_empty(), "{} conversations failed (listed above)", failed.len());
}
