//! The phone agent (booking_core::voice), natively on a virtual clock: whole calls from
//! `tests/data/voice/calls.txt`, digits from `digits.txt`, the `book` tool's fields from
//! `book_fields.txt`, the LLM platforms' request bodies from `tools/`, ConversationRelay
//! messages from `relay.txt`, and the TwiML documents.

use std::fs;
use std::path::PathBuf;

use booking_core::booking::{Priority, Speaker};
use booking_core::conversation::reply_for;
use booking_core::extract::{extract, Expecting};
use booking_core::site::SiteConfig;
use booking_core::voice::relay::{handoff, relay_event};
use booking_core::voice::tools::{availability_result, converse, MAX_TOOL_BODY};
use booking_core::voice::twiml::escape;
use booking_core::voice::{
    book_fields, digits, parse_relay, parse_tool_request, relay_out, render, render_relay, tool_action, tool_response,
    Call, CallEffect, CallEvent, CallTurn, FollowUpCall, Next, Platform, RelayIn, ToolAction, TwimlUrls, VoiceSettings,
};

/// 2025-11-24 16:00 UTC, a Monday, 10:00 in the site's time (UTC-6).
const T0: i64 = 1_764_000_000;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/voice").join(name)
}

fn read(name: &str) -> String {
    fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The demo site with transfer numbers of its own (so a transfer is told apart from
/// the office phone).
fn site() -> SiteConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/sites/northstar.json");
    let mut site = SiteConfig::from_json(&fs::read_to_string(path).unwrap()).unwrap();
    site.voice = VoiceSettings {
        transfer_number: Some("612-555-0111".into()),
        on_call_number: Some("612-555-0122".into()),
        ..VoiceSettings::default()
    };
    site
}

// ---------------------------------------------------------------- whole calls

struct Case {
    title: String,
    line: usize,
    caller_id: Option<String>,
    record: bool,
    only_english: bool,
    office_books: bool,
    no_web_page: bool,
    follow_up: Option<FollowUpCall>,
    steps: Vec<(usize, String)>,
}

fn cases(text: &str) -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(title) = line.strip_prefix("===") {
            out.push(Case {
                title: title.trim().into(),
                line: n + 1,
                caller_id: None,
                record: false,
                only_english: false,
                office_books: false,
                no_web_page: false,
                follow_up: None,
                steps: Vec::new(),
            });
            continue;
        }
        let c = out.last_mut().unwrap_or_else(|| panic!("calls.txt:{}: a line before the first ===", n + 1));
        if let Some(v) = line.strip_prefix("caller id:") {
            c.caller_id = Some(v.trim().into());
        } else if let Some(q) = line.strip_prefix("the business calls about an estimate:") {
            let q: Vec<(String, String)> = pairs(q);
            let f = FollowUpCall::from_query(q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.follow_up = Some(f.unwrap_or_else(|| panic!("calls.txt:{}: not a follow-up query", n + 1)));
        } else if line == "the site records calls" {
            c.record = true;
        } else if line == "the site has no web page" {
            c.no_web_page = true;
        } else if line == "the office schedules every visit" {
            c.office_books = true;
        } else if line == "the site speaks only English" {
            c.only_english = true;
        } else {
            c.steps.push((n + 1, line.to_string()));
        }
    }
    out
}

/// Runs one call; returns what went wrong, one line each.
fn run(case: &Case) -> Vec<String> {
    let mut site = site();
    site.voice.record = case.record;
    if case.office_books {
        site.mode = booking_core::site::BookingMode::Booking;
    }
    if case.no_web_page {
        site.allowed_origins.clear();
        site.voice.booking_page_url = None;
    }
    if case.only_english {
        site.locales = vec![booking_core::booking::Locale::En];
    }
    let mut now = T0;
    let mut call = match &case.follow_up {
        Some(f) => Call::follow_up(&site, case.caller_id.as_deref(), f.clone(), now),
        None => Call::new(&site, case.caller_id.as_deref(), now),
    };
    let mut wrong = Vec::new();
    let mut last: Option<CallTurn> = None;
    let mut all: Vec<CallTurn> = Vec::new();
    for (n, step) in &case.steps {
        let at = format!("line {n} ({step})");
        let event = if step == "call starts" {
            Some(CallEvent::Answered)
        } else if let Some(t) = step.strip_prefix("caller:") {
            Some(CallEvent::Heard { text: t.trim().into() })
        } else if let Some(d) = step.strip_prefix("caller keys:") {
            Some(CallEvent::Keyed { digits: d.trim().into() })
        } else if step == "caller says nothing" {
            Some(CallEvent::Nothing)
        } else if step == "caller hangs up" {
            Some(CallEvent::HungUp { status: "completed".into() })
        } else if let Some(s) = step.strip_prefix("call ends:") {
            Some(CallEvent::HungUp { status: s.trim().into() })
        } else if step == "the relay socket closes" {
            Some(CallEvent::RelayClosed)
        } else if step == "transfer answered" {
            Some(CallEvent::DialEnded { answered: true })
        } else if step == "transfer not answered" {
            Some(CallEvent::DialEnded { answered: false })
        } else {
            None
        };
        if let Some(event) = event {
            now += 20;
            let t = call.handle(event, now);
            all.push(t.clone());
            last = Some(t);
            // Every turn survives the Durable Object's storage.
            let again = Call::from_json(&call.to_json()).expect("stored call loads");
            if again.to_json() != call.to_json() {
                wrong.push(format!("{at}: the stored call differs after loading"));
            }
            continue;
        }
        if step == "the booking goes through" {
            let Some(request) = all.iter().flat_map(|t| &t.effects).find_map(|e| match e {
                CallEffect::Book { request } => Some(request.clone()),
                _ => None,
            }) else {
                wrong.push(format!("{at}: nothing was booked"));
                continue;
            };
            now += 2;
            let reply = reply_for(&request, &site, "W-7K3Q-9D2M", now);
            let t = call.booked(&reply, now);
            all.push(t.clone());
            last = Some(t);
            continue;
        }
        let Some(t) = last.as_ref() else {
            wrong.push(format!("{at}: an expectation before anything happened"));
            continue;
        };
        let said = t.say.join(" ").to_lowercase();
        if let Some(w) = step.strip_prefix("agent should say:") {
            if !said.contains(&w.trim().to_lowercase()) {
                wrong.push(format!("{at}: the agent said {:?}", t.say));
            }
        } else if let Some(w) = step.strip_prefix("agent should not say:") {
            let w = w.trim().to_lowercase();
            if let Some(s) = all.iter().flat_map(|t| &t.say).find(|s| s.to_lowercase().contains(&w)) {
                wrong.push(format!("{at}: the agent said {s:?}"));
            }
        } else if let Some(first) = step.strip_prefix("agent should say first:") {
            if !t.say.first().is_some_and(|s| s.to_lowercase().contains(&first.trim().to_lowercase())) {
                wrong.push(format!("{at}: the agent said first {:?}", t.say.first()));
            }
        } else if let Some(num) = step.strip_prefix("agent transfers to:") {
            if t.next != (Next::Dial { number: num.trim().into() }) {
                wrong.push(format!("{at}: next is {:?}", t.next));
            }
        } else if step == "agent listens" {
            if !matches!(t.next, Next::Listen(_)) {
                wrong.push(format!("{at}: next is {:?}", t.next));
            }
        } else if let Some(n) = step.strip_prefix("agent listens for keys:") {
            let want: u8 = n.trim().parse().expect("a number of keys");
            if !matches!(&t.next, Next::Listen(l) if l.digits == Some(want)) {
                wrong.push(format!("{at}: next is {:?}", t.next));
            }
        } else if let Some(h) = step.strip_prefix("agent hints:") {
            let h = h.trim();
            if !matches!(&t.next, Next::Listen(l) if l.hints.iter().any(|x| x == h)) {
                wrong.push(format!("{at}: next is {:?}", t.next));
            }
        } else if step == "agent hangs up" {
            if t.next != Next::Hangup {
                wrong.push(format!("{at}: next is {:?}", t.next));
            }
        } else if step == "agent speaks Spanish" || step == "agent speaks English" {
            let want = if step.ends_with("Spanish") { "es" } else { "en" };
            if t.locale.code() != want {
                wrong.push(format!("{at}: the turn is in {:?}", t.locale));
            }
        } else if step == "recording starts" {
            if !t.record {
                wrong.push(format!("{at}: recording did not start"));
            }
        } else if let Some(fields) = step.strip_prefix("agent books:") {
            match t.effects.iter().find_map(|e| match e {
                CallEffect::Book { request } => Some(request),
                _ => None,
            }) {
                None => wrong.push(format!("{at}: no booking; effects {:?}, said {:?}", t.effects, t.say)),
                Some(r) => {
                    for (k, v) in pairs(fields) {
                        let got = match k.as_str() {
                            "phone" => r.phone.digits.clone(),
                            "zip" => r.address.zip.clone(),
                            "street" => r.address.street.clone(),
                            "city" => r.address.city.clone(),
                            "name" => r.name.full(),
                            "priority" => r.priority.as_str().to_string(),
                            "locale" => r.locale.code().to_string(),
                            "trade" => r.trade.code().to_string(),
                            "channel" => format!("{:?}", r.channel).to_lowercase(),
                            other => panic!("calls.txt {at}: no booking field {other}"),
                        };
                        if got != v {
                            wrong.push(format!("{at}: {k} is {got:?}, not {v:?}"));
                        }
                    }
                    let heard = r.transcript.iter().any(|l| l.speaker == Speaker::Homeowner);
                    if !heard {
                        wrong.push(format!("{at}: the booking's transcript has no caller line"));
                    }
                }
            }
        } else if let Some(fields) = step.strip_prefix("agent asks the office to call back:") {
            let backs: Vec<_> = all
                .iter()
                .flat_map(|t| &t.effects)
                .filter_map(|e| match e {
                    CallEffect::CallBack { report, call, link_texted } => Some((report, call, *link_texted)),
                    _ => None,
                })
                .collect();
            if backs.len() != 1 {
                wrong.push(format!("{at}: {} call-backs", backs.len()));
                continue;
            }
            let (report, info, texted) = backs[0];
            for (k, v) in pairs(fields) {
                let got = match k.as_str() {
                    "phone" => report.phone.clone().unwrap_or_default(),
                    "name" => report.name.clone().unwrap_or_default(),
                    "issue" => info.issue.clone().unwrap_or_default(),
                    "link texted" => texted.to_string(),
                    other => panic!("calls.txt {at}: no call-back field {other}"),
                };
                if !got.contains(&v) {
                    wrong.push(format!("{at}: {k} is {got:?}, not {v:?}"));
                }
            }
        } else if step == "no call back" {
            if all.iter().flat_map(|t| &t.effects).any(|e| matches!(e, CallEffect::CallBack { .. })) {
                wrong.push(format!("{at}: a call-back was asked"));
            }
        } else if let Some(phone) = step.strip_prefix("agent texts the booking link to:") {
            if !t.effects.contains(&CallEffect::TextBookingLink { phone: phone.trim().into() }) {
                wrong.push(format!("{at}: effects {:?}", t.effects));
            }
        } else if let Some(fields) = step.strip_prefix("agent stops the calls:") {
            let want: Vec<(String, String)> = pairs(fields);
            let got = t.effects.iter().find_map(|e| match e {
                CallEffect::OptOut { customer_id, follow_up } => Some((customer_id.to_string(), follow_up.clone())),
                _ => None,
            });
            let expected = want.iter().find(|(k, _)| k == "customer").map(|(_, v)| v.clone());
            if got.as_ref().map(|g| &g.0) != expected.as_ref() {
                wrong.push(format!("{at}: opt-out {got:?}, effects {:?}", t.effects));
            }
        } else if step == "no opt-out" {
            if all.iter().flat_map(|t| &t.effects).any(|e| matches!(e, CallEffect::OptOut { .. })) {
                wrong.push(format!("{at}: an opt-out was sent"));
            }
        } else if step == "agent says nothing" {
            if !t.say.is_empty() {
                wrong.push(format!("{at}: the agent said {:?}", t.say));
            }
        } else {
            panic!("calls.txt line {n}: I don't know {step:?}");
        }
    }
    wrong
}

/// "phone=6125550143, zip=55416" → pairs.
fn pairs(s: &str) -> Vec<(String, String)> {
    s.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

#[test]
fn whole_calls_in_tests_data_voice() {
    let text = read("calls.txt");
    let cases = cases(&text);
    assert!(cases.len() >= 15, "calls.txt has {} calls", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let wrong = run(c);
        if !wrong.is_empty() {
            failures.push(format!("calls.txt:{} {}\n  {}", c.line, c.title, wrong.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} calls went wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

// ---------------------------------------------------------------- digits

#[test]
fn digits_in_tests_data_voice() {
    let mut wrong = Vec::new();
    let mut count = 0;
    for (n, line) in read("digits.txt").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let [said, asked, want] = cols[..] else { panic!("digits.txt:{}: three columns, | between", n + 1) };
        count += 1;
        let text = match said.strip_prefix("keyed ") {
            Some(keys) => digits::keyed(keys),
            None => digits::normalize(said),
        };
        let got = match asked {
            "phone" => extract(&text, Expecting::Phone).phone.map(|p| p.digits),
            "zip" => extract(&text, Expecting::Address).address.zip,
            "house" => extract(&text, Expecting::Address).address.number,
            "street" => extract(&text, Expecting::Address)
                .address
                .street
                .zip(extract(&text, Expecting::Address).address.number)
                .map(|(s, n)| format!("{n} {s}")),
            "keys" => Some(text.clone()),
            other => panic!("digits.txt:{}: asked {other:?} is not phone, zip, house, street or keys", n + 1),
        };
        if got.as_deref() != Some(want) {
            wrong
                .push(format!("digits.txt:{}: {said:?} as {asked}: got {got:?} (from {text:?}), want {want:?}", n + 1));
        }
    }
    assert!(count >= 30, "digits.txt has {count} cases");
    assert!(wrong.is_empty(), "{} of {count} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

// ---------------------------------------------------------------- TwiML

fn urls() -> TwimlUrls {
    TwimlUrls::new("https://book.example.com", "northstar")
}

#[test]
fn twiml_escapes_what_the_homeowner_said() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    // The issue is read back in the summary: the caller's words reach a <Say>.
    let mut last = None;
    for said in [
        "my water heater <Say>is</Say> leaking & \"the tank\" isn't 'ok'",
        "maria gonzalez",
        "yes",
        "4417 west lake street minneapolis 55416",
        "tomorrow morning",
    ] {
        last = Some(call.handle(CallEvent::Heard { text: said.into() }, T0 + 60));
    }
    let t = last.unwrap();
    let xml = render(&t, &urls());
    assert!(!xml.contains("<Say>is</Say>"), "{xml}");
    let inner = xml.split("<Say").skip(1).map(|s| s.split_once('>').map(|(_, b)| b).unwrap_or("")).collect::<String>();
    for bad in ["\"the", "'ok'"] {
        assert!(!inner.contains(bad), "unescaped {bad} in {xml}");
    }
    // Every '&' starts an entity.
    for (i, _) in xml.match_indices('&') {
        let rest = &xml[i..];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| rest.starts_with(e)), "{xml}");
    }
    assert_eq!(escape("a<b&c\"d'e>\u{1}"), "a&lt;b&amp;c&quot;d&apos;e&gt;");
}

#[test]
fn twiml_gathers_speech_and_keys_with_an_integer_speech_timeout() {
    let site = site();
    let mut call = Call::new(&site, None, T0);
    let greet = call.handle(CallEvent::Answered, T0);
    let xml = render(&greet, &urls());
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="speech dtmf""#), "{xml}");
    assert!(xml.contains(r#"action="https://book.example.com/v1/voice/twilio/northstar/gather""#), "{xml}");
    assert!(xml.contains(r#"actionOnEmptyResult="true""#), "{xml}");
    assert!(xml.contains(r#"language="en-US""#), "{xml}");
    assert!(xml.contains(r#"numDigits="1""#), "the greeting takes one key (2 for Spanish): {xml}");
    for turn in [greet, ask_phone(&mut call)] {
        let xml = render(&turn, &urls());
        let (_, rest) = xml.split_once("speechTimeout=\"").expect("a speechTimeout");
        let value = rest.split('"').next().unwrap();
        assert!(value.parse::<u8>().is_ok_and(|v| v > 0), "speechTimeout {value:?} with a speechModel: {xml}");
        assert!(xml.contains("speechModel=\"phone_call\""), "{xml}");
        assert!(!xml.contains(r#"speechTimeout="auto""#), "{xml}");
    }
    let phone = render(&ask_phone(&mut Call::new(&site, None, T0)), &urls());
    assert!(phone.contains(r#"numDigits="10""#), "{phone}");
    assert!(phone.contains("$OOV_CLASS_DIGIT_SEQUENCE"), "{phone}");
}

/// A call that has just been asked for the phone (no caller ID).
fn ask_phone(call: &mut Call) -> CallTurn {
    call.handle(CallEvent::Answered, T0);
    call.handle(CallEvent::Heard { text: "my furnace stopped working".into() }, T0 + 10);
    let t = call.handle(CallEvent::Heard { text: "dan robinson".into() }, T0 + 20);
    assert_eq!(call.conversation().expecting(), Expecting::Phone, "{t:?}");
    t
}

#[test]
fn twiml_dials_and_hangs_up_in_the_call_language() {
    let site = site();
    let mut call = Call::new(&site, None, T0);
    call.handle(CallEvent::Answered, T0);
    let es = call.handle(CallEvent::Keyed { digits: "2".into() }, T0 + 5);
    let xml = render(&es, &urls());
    assert!(xml.contains(r#"language="es-US""#), "{xml}");
    let t = call.handle(CallEvent::Heard { text: "quiero hablar con una persona".into() }, T0 + 10);
    let xml = render(&t, &urls());
    assert!(
        xml.contains(
            r#"<Dial action="https://book.example.com/v1/voice/twilio/northstar/dial" method="POST" timeout="20""#
        ),
        "{xml}"
    );
    assert!(xml.contains(">+16125550111</Dial>"), "{xml}");
    assert!(xml.contains(r#"<Say language="es-US""#), "{xml}");
    let bye = call.handle(CallEvent::DialEnded { answered: true }, T0 + 200);
    let xml = render(&bye, &urls());
    assert!(xml.ends_with("<Hangup/></Response>"), "{xml}");
}

#[test]
fn twiml_records_after_the_disclosure_when_the_site_records() {
    let mut site = site();
    site.voice.record = true;
    let mut call = Call::new(&site, None, T0);
    let t = call.handle(CallEvent::Answered, T0);
    assert!(t.say[0].contains("recorded"), "{:?}", t.say);
    let xml = render(&t, &urls());
    assert!(
        xml.contains(r#"<Start><Recording recordingStatusCallback="https://book.example.com/v1/voice/twilio/northstar/recording""#),
        "{xml}"
    );
}

#[test]
fn conversation_relay_document_and_messages() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    let greet = call.handle(CallEvent::Answered, T0);
    let xml = render_relay(
        &greet,
        "wss://book.example.com/v1/voice/relay/northstar",
        "https://book.example.com/v1/voice/twilio/northstar/connect",
    );
    assert!(xml.contains(r#"<Connect action="https://book.example.com/v1/voice/twilio/northstar/connect">"#), "{xml}");
    assert!(
        xml.contains(
            r#"<ConversationRelay url="wss://book.example.com/v1/voice/relay/northstar" welcomeGreeting="Hi, thanks"#
        ),
        "{xml}"
    );

    let mut spoken = call.locale();
    let mut turn = None;
    for line in read("relay.txt").lines().filter(|l| l.starts_with('{')) {
        let msg = parse_relay(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        if let RelayIn::Setup { call_sid, from, .. } = &msg {
            assert!(call_sid.starts_with("CA"));
            assert_eq!(from.as_deref(), Some("+16125550143"));
        }
        if let Some(ev) = relay_event(&msg) {
            let t = call.handle(ev, T0 + 30);
            let out = relay_out(&t, spoken);
            spoken = t.locale;
            for o in &out {
                let v: serde_json::Value = serde_json::from_str(o).expect("relay out is JSON");
                assert!(["text", "end", "language"].contains(&v["type"].as_str().unwrap()), "{o}");
            }
            turn = Some((t, out));
        }
    }
    // relay.txt ends with "talk to a person": text tokens, the last one last, then end.
    let (t, out) = turn.expect("relay.txt has prompts");
    assert!(matches!(t.next, Next::Dial { .. }), "{t:?}");
    let end: serde_json::Value = serde_json::from_str(out.last().unwrap()).unwrap();
    assert_eq!(end["type"], "end");
    let next = handoff(end["handoffData"].as_str().unwrap()).expect("handoffData reads back");
    assert_eq!(next, Next::Dial { number: "+16125550111".into() });
    let texts: Vec<serde_json::Value> = out
        .iter()
        .map(|o| serde_json::from_str::<serde_json::Value>(o).unwrap())
        .filter(|v| v["type"] == "text")
        .collect();
    assert!(texts.last().is_some_and(|v| v["last"] == true) && texts.iter().rev().skip(1).all(|v| v["last"] == false));

    for bad in ["", "{", "[]", r#"{"type": 5}"#, r#"{"type":"setup"}"#, r#"{"type":"dtmf"}"#] {
        assert!(parse_relay(bad).is_err(), "{bad:?} parsed");
    }
    assert_eq!(parse_relay(r#"{"type":"info","name":"x"}"#).unwrap(), RelayIn::Other { kind: "info".into() });
}

#[test]
fn relay_keys_one_at_a_time_make_a_phone_number() {
    let site = site();
    let mut call = Call::new(&site, None, T0);
    ask_phone(&mut call);
    let mut last = None;
    for d in "6125550143".chars() {
        let t = call.handle(CallEvent::KeyPressed { digit: d.to_string() }, T0 + 40);
        last = Some(t);
    }
    let t = last.unwrap();
    assert!(t.say.iter().any(|s| s.contains("address")), "{t:?}");
    assert_eq!(call.conversation().draft(), None);
    assert_ne!(call.conversation().expecting(), Expecting::Phone);
}

// ---------------------------------------------------------------- LLM platforms

#[test]
fn tool_requests_of_the_three_platforms() {
    let site = site();
    for (file, platform, call_id, caller, name) in [
        ("tools/vapi-tool-calls.json", Platform::Vapi, "call-7f3c", Some("+16125550143"), "check_service_area"),
        ("tools/vapi-function-shape.json", Platform::Vapi, "call-91aa", Some("+16125550143"), "book"),
        (
            "tools/retell-custom-function.json",
            Platform::Retell,
            "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6",
            Some("+16125550143"),
            "book",
        ),
        (
            "tools/elevenlabs-server-tool.json",
            Platform::ElevenLabs,
            "conv_01jx9bmzhhfn5t3x9k3mzqp2hp",
            Some("+16125550143"),
            "converse",
        ),
    ] {
        let req = parse_tool_request(read(file).as_bytes()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(req.platform, platform, "{file}");
        assert_eq!(req.call_id, call_id, "{file}");
        assert_eq!(req.caller.as_deref(), caller, "{file}");
        assert_eq!(req.calls.first().map(|c| c.name.as_str()), Some(name), "{file}");
        for c in &req.calls {
            let action = tool_action(&req, c, &site, T0);
            match (c.name.as_str(), &action) {
                ("book", ToolAction::Book { request }) => {
                    if platform == Platform::Retell {
                        // The platform's transcript goes to the note.
                        assert_eq!(request.transcript.len(), 2, "{file}: {:?}", request.transcript);
                        assert_eq!(request.transcript[1].speaker, Speaker::Homeowner);
                        assert_eq!(request.transcript[1].text, "My AC stopped cooling.");
                    }
                    assert_eq!(request.phone.digits, "6125550143", "{file}");
                    assert_eq!(request.address.zip, "55416", "{file}");
                    assert_eq!(request.channel, booking_core::booking::Channel::Voice);
                }
                ("check_service_area", ToolAction::Say(s)) => assert!(s.contains("55416"), "{s}"),
                ("converse", ToolAction::Converse { text }) => assert!(text.contains("furnace"), "{text}"),
                other => panic!("{file}: {other:?}"),
            }
        }
    }
    let vapi_status = parse_tool_request(read("tools/vapi-status-update.json").as_bytes()).unwrap();
    assert!(vapi_status.calls.is_empty() && !vapi_status.ended);
    for (file, platform) in
        [("tools/vapi-end-of-call-report.json", Platform::Vapi), ("tools/retell-call-ended.json", Platform::Retell)]
    {
        let end = parse_tool_request(read(file).as_bytes()).unwrap();
        assert!(end.ended && end.calls.is_empty(), "{file}: {end:?}");
        assert_eq!(end.platform, platform);
        assert_eq!(end.caller.as_deref(), Some("+16125550143"));
    }
    assert_eq!(tool_response(Platform::Vapi, &[]), r#"{"results":[]}"#);
    for bad in [&b"not json"[..], b"[1,2]", b"{}", br#"{"message":{"type":"tool-calls","toolCallList":[{"id":"x"}]}}"#]
    {
        assert!(parse_tool_request(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    assert!(parse_tool_request(&vec![b' '; MAX_TOOL_BODY + 1]).is_err());
}

#[test]
fn tool_responses_are_each_platforms_shape() {
    let r = vec![("toolu_01DTPAzUm5Gk3zxrpJ969oMF".to_string(), "Yes, ZIP 55416 is in the service area.".to_string())];
    let vapi: serde_json::Value = serde_json::from_str(&tool_response(Platform::Vapi, &r)).unwrap();
    assert_eq!(vapi["results"][0]["toolCallId"], "toolu_01DTPAzUm5Gk3zxrpJ969oMF");
    assert_eq!(vapi["results"][0]["result"], "Yes, ZIP 55416 is in the service area.");
    for p in [Platform::Retell, Platform::ElevenLabs] {
        let v: serde_json::Value = serde_json::from_str(&tool_response(p, &r)).unwrap();
        assert_eq!(v["result"], "Yes, ZIP 55416 is in the service area.");
    }
}

#[test]
fn converse_runs_our_engine_as_the_dialogue_manager() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    let (first, _) = converse(&mut call, "my furnace is making a banging noise", T0);
    assert!(first.contains("name"), "{first}");
    let (r, _) = converse(&mut call, "ann smith", T0 + 10);
    assert!(r.contains("six one two, five five five, zero one four three"), "{r}");
    let (r, t) = converse(&mut call, "I want to talk to a person", T0 + 20);
    assert!(r.contains("[Now transfer the call to +16125550111.]"), "{r}");
    assert!(matches!(t.next, Next::Dial { .. }));
    call.handle(CallEvent::DialEnded { answered: true }, T0 + 200);
    let (r, t) = converse(&mut call, "hello?", T0 + 300);
    assert!(r.contains("end the call") && t.effects.is_empty(), "{r}");

    // The transfer tool: an emergency to the on-call line, else the office.
    for (reason, number) in [("gas leak emergency", "+16125550122"), ("wants a person", "+16125550111")] {
        let body = format!(r#"{{"tool":"transfer","callId":"c1","args":{{"reason":"{reason}"}}}}"#);
        let req = parse_tool_request(body.as_bytes()).unwrap();
        match tool_action(&req, &req.calls[0], &site, T0) {
            ToolAction::Transfer { number: n, say } => assert!(n == number && say.contains(number), "{reason}: {n}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn availability_result_offers_windows_to_book() {
    let site = site();
    let w = booking_core::booking::ArrivalWindow { start: T0 + 86_400 - 7_200, end: T0 + 86_400 + 7_200 };
    let s = availability_result(&[w], &site, booking_core::booking::Locale::En);
    assert!(s.contains(&format!("{}-{}", w.start, w.end)), "{s}");
    assert!(availability_result(&[], &site, booking_core::booking::Locale::En).contains("office"));
}

#[test]
fn book_fields_in_tests_data_voice() {
    let mut site = site();
    site.service_area_zips = vec!["55416".into(), "55401".into(), "55305".into()];
    site.trades.retain(|t| t.trade != booking_core::booking::Trade::Roofing);
    let mut wrong = Vec::new();
    let mut count = 0;
    for (n, line) in read("book_fields.txt").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (fields, want) =
            line.rsplit_once("=>").unwrap_or_else(|| panic!("book_fields.txt:{}: fields => result", n + 1));
        count += 1;
        let mut args = serde_json::Map::new();
        for f in fields.split(';').filter(|f| !f.trim().is_empty()) {
            let (k, v) =
                f.split_once('=').unwrap_or_else(|| panic!("book_fields.txt:{}: {f:?} is not key=value", n + 1));
            args.insert(k.trim().into(), serde_json::Value::String(v.trim().into()));
        }
        let got = book_fields(&serde_json::Value::Object(args), &site, T0);
        let want = want.trim();
        let ok = match (&got, want.strip_prefix("booked")) {
            (Ok(r), Some(checks)) => pairs(checks).iter().all(|(k, v)| {
                let g = match k.as_str() {
                    "phone" => r.phone.digits.clone(),
                    "street" => r.address.street.clone(),
                    "city" => r.address.city.clone(),
                    "state" => r.address.state.clone(),
                    "zip" => r.address.zip.clone(),
                    "name" => r.name.full(),
                    "trade" => r.trade.code().into(),
                    "priority" => r.priority.as_str().into(),
                    "locale" => r.locale.code().into(),
                    other => panic!("book_fields.txt:{}: no field {other}", n + 1),
                };
                &g == v
            }),
            (Err(p), None) => p.sentence().to_lowercase().contains(&want.to_lowercase()),
            _ => false,
        };
        if !ok {
            let got = got.map(|r| format!("{r:?}")).unwrap_or_else(|p| p.sentence());
            wrong.push(format!("book_fields.txt:{}: want {want:?}, got {got}", n + 1));
        }
    }
    assert!(count >= 12, "book_fields.txt has {count} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------- the call's own rules

#[test]
fn a_stored_call_of_another_version_is_refused() {
    let call = Call::new(&site(), None, T0);
    let json = call.to_json().replacen("\"version\":1", "\"version\":99", 1);
    assert!(Call::from_json(&json).is_err());
    assert!(Call::from_json("{}").is_err());
    assert!(Call::from_json("nonsense").is_err());
}

#[test]
fn an_emergency_books_urgent_after_an_unanswered_transfer() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    let t = call.handle(CallEvent::Heard { text: "I smell gas in the basement".into() }, T0 + 10);
    assert!(t.say[0].contains("leave the house"), "{:?}", t.say);
    assert_eq!(t.next, Next::Dial { number: "+16125550122".into() });
    let t = call.handle(CallEvent::DialEnded { answered: false }, T0 + 40);
    assert!(t.say.iter().any(|s| s.contains("name")), "{:?}", t.say);
    let mut booked = None;
    for said in ["sam jones", "yes", "twenty two hundred main street hopkins five five three oh five", "yes"] {
        let t = call.handle(CallEvent::Heard { text: said.into() }, T0 + 60);
        booked = booked.or(t.effects.into_iter().find_map(|e| match e {
            CallEffect::Book { request } => Some(request),
            _ => None,
        }));
    }
    let r = booked.expect("booked");
    assert_eq!(r.priority, Priority::Urgent);
    assert_eq!(r.phone.digits, "6125550143");
}

#[test]
fn events_after_the_end_change_nothing() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    call.handle(CallEvent::Heard { text: "my toilet is clogged".into() }, T0 + 10);
    let t = call.handle(CallEvent::HungUp { status: "completed".into() }, T0 + 20);
    assert_eq!(t.effects.len(), 1);
    let stored = call.to_json();
    for e in [
        CallEvent::HungUp { status: "completed".into() },
        CallEvent::Heard { text: "hello?".into() },
        CallEvent::Nothing,
        CallEvent::DialEnded { answered: false },
    ] {
        let t = call.handle(e, T0 + 30);
        assert!(t.effects.is_empty() && t.say.is_empty() && t.next == Next::Hangup, "{t:?}");
    }
    let _ = stored;
}

#[test]
fn retell_signatures_and_shared_secrets() {
    use booking_core::voice::{verify_retell, verify_secret};
    let body = br#"{"name":"book","args":{}}"#;
    // Computed with Python's hmac (HMAC-SHA256 over body ++ timestamp), as Retell's SDK does.
    let header = "v=1764000000000,d=2ecde4a757ad49fd592a3b1e41ad26ebec3b5dec6299f050388d87ae2e2f53c6";
    let now_ms = 1_764_000_000_000 + 60_000;
    assert!(verify_retell(b"key_retell_test", body, header, now_ms));
    assert!(!verify_retell(b"key_retell_test", body, header, now_ms + 5 * 60_000), "older than five minutes");
    assert!(!verify_retell(b"another key", body, header, now_ms));
    assert!(!verify_retell(b"key_retell_test", br#"{"name":"book","args":{"x":1}}"#, header, now_ms));
    assert!(!verify_retell(b"", body, header, now_ms));
    for bad in ["", "v=1764000000000", "d=2ecd", "v=abc,d=2ecde4", "v=1764000000000,d="] {
        assert!(!verify_retell(b"key_retell_test", body, bad, now_ms), "{bad:?}");
    }
    assert!(verify_secret("s3cret", "s3cret"));
    assert!(!verify_secret("s3cret", "s3cret "));
    assert!(!verify_secret("", ""));
}

#[test]
fn the_booking_link_fills_in_the_phone() {
    use booking_core::voice::{booking_link, booking_link_text};
    let mut site = site();
    site.allowed_origins = vec!["https://northstar.example.com".into()];
    assert_eq!(
        booking_link(&site, "6125550143").as_deref(),
        Some("https://northstar.example.com/?bw-phone=6125550143")
    );
    site.voice.booking_page_url = Some("https://northstar.example.com/book?src=sms#chat".into());
    assert_eq!(
        booking_link(&site, "+1 (612) 555-0143").as_deref(),
        Some("https://northstar.example.com/book?src=sms&bw-phone=16125550143#chat")
    );
    let es = booking_link_text(&site, "6125550143", booking_core::booking::Locale::Es).unwrap();
    assert!(es.contains("Reserve su visita") && es.contains("STOP"), "{es}");
    site.voice.booking_page_url = Some("javascript:alert(1)".into());
    site.allowed_origins = vec!["chrome-extension://x".into()];
    assert_eq!(booking_link(&site, "6125550143"), None);
}

#[test]
fn the_recording_reaches_the_booking_and_its_notes() {
    let mut site = site();
    site.voice.record = true;
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    call.recorded("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1");
    call.recorded("not a url"); // ignored
    let mut request = None;
    for said in
        ["my ac stopped cooling", "maria gonzalez", "yes", "4417 w lake st minneapolis 55416", "tomorrow", "yes"]
    {
        let t = call.handle(CallEvent::Heard { text: said.into() }, T0 + 30);
        request = request.or(t.effects.into_iter().find_map(|e| match e {
            CallEffect::Book { request } => Some(request),
            _ => None,
        }));
    }
    let request = request.expect("booked");
    let url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1";
    assert_eq!(booking_core::transcript::recording_url(&request), Some(url));
    assert!(booking_core::transcript::customer_note(&request, "k").contains(&format!("Call recording: {url}")));
    assert!(booking_core::transcript::summary(&request).contains("booked by phone (voice agent)"));
    // A caller saying the words is a caller's line, never the recording.
    let mut forged = request;
    forged.transcript.retain(|l| l.speaker == Speaker::Homeowner);
    forged.transcript.push(booking_core::booking::TranscriptLine {
        speaker: Speaker::Homeowner,
        text: "(Call recording: https://evil.example/x)".into(),
    });
    assert_eq!(booking_core::transcript::recording_url(&forged), None);
}

#[test]
fn a_call_that_goes_on_and_on_goes_to_a_person() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    let mut last = None;
    for i in 0..booking_core::voice::MAX_CALLER_TURNS + 1 {
        let text = if i % 2 == 0 { "my ac stopped cooling" } else { "tell me a joke" };
        last = Some(call.handle(CallEvent::Heard { text: text.into() }, T0 + i as i64));
    }
    let t = last.unwrap();
    assert!(matches!(t.next, Next::Dial { .. }), "{t:?}");
    assert!(call.to_json().len() < 128 * 1024, "stored call is {} bytes", call.to_json().len());
}

#[test]
fn availability_without_a_zip_asks_for_it() {
    let site = site();
    let req =
        parse_tool_request(br#"{"tool":"check_availability","callId":"c1","args":{"trade":"plumbing"}}"#).unwrap();
    assert_eq!(req.platform, Platform::Generic);
    match tool_action(&req, &req.calls[0], &site, T0) {
        ToolAction::Say(s) => assert!(s.contains("ZIP"), "{s}"),
        other => panic!("{other:?}"),
    }
    let req = parse_tool_request(
        br#"{"tool":"check_availability","callId":"c1","args":{"zip":"55416","problem":"toilet clogged"}}"#,
    )
    .unwrap();
    assert_eq!(
        tool_action(&req, &req.calls[0], &site, T0),
        ToolAction::CheckAvailability {
            trade: Some(booking_core::booking::Trade::Plumbing),
            zip: Some("55416".into())
        }
    );
}

#[test]
fn the_incoming_webhook_twice_greets_once() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    let a = call.handle(CallEvent::Answered, T0);
    let lines = call.transcript().len();
    let b = call.handle(CallEvent::Answered, T0 + 1);
    assert_eq!(a.say, b.say);
    assert_eq!(call.transcript().len(), lines, "a replayed incoming webhook adds nothing");
    // 1 at the greeting goes on in English.
    let t = call.handle(CallEvent::Keyed { digits: "1".into() }, T0 + 2);
    assert_eq!(t.locale, booking_core::booking::Locale::En);
    assert!(t.say.iter().any(|s| s.contains("What can we help you with")), "{t:?}");
}

#[test]
fn yes_with_more_details_takes_the_caller_id_and_the_details() {
    let site = site();
    let mut call = Call::new(&site, Some("+16125550143"), T0);
    call.handle(CallEvent::Answered, T0);
    call.handle(CallEvent::Heard { text: "my ac is out".into() }, T0 + 1);
    let t = call.handle(CallEvent::Heard { text: "maria gonzalez".into() }, T0 + 2);
    assert!(t.say.iter().any(|s| s.contains("best number")), "{t:?}");
    let t = call
        .handle(CallEvent::Heard { text: "yes, and I'm at 4417 west lake street minneapolis 55416".into() }, T0 + 3);
    assert!(t.say.iter().any(|s| s.contains("When")), "{t:?}");
    let t = call.handle(CallEvent::Heard { text: "tomorrow morning".into() }, T0 + 4);
    assert!(t.say.iter().any(|s| s.contains("six one two, five five five, zero one four three")), "{t:?}");
}

/// Every `<` of a document opens one of our own elements: nothing a caller said (read
/// back in a summary, a name, an issue) becomes markup.
fn only_our_tags(xml: &str) -> Result<(), String> {
    const OURS: [&str; 18] = [
        "<?xml ",
        "<Response>",
        "</Response>",
        "<Gather ",
        "</Gather>",
        "<Say ",
        "</Say>",
        "<Dial ",
        "</Dial>",
        "<Hangup/>",
        "<Start>",
        "</Start>",
        "<Recording ",
        "<Connect ",
        "</Connect>",
        "<ConversationRelay ",
        "</ConversationRelay>",
        "<Language ",
    ];
    for (i, _) in xml.match_indices('<') {
        let rest = &xml[i..];
        if !OURS.iter().any(|t| rest.starts_with(t)) {
            return Err(format!("markup we did not write at {i}: {}", rest.chars().take(40).collect::<String>()));
        }
    }
    Ok(())
}

#[test]
fn the_xss_corpus_said_on_the_phone_stays_text_in_twiml() {
    let site = site();
    let corpus =
        fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/xss-corpus.txt")).unwrap();
    let mut checked = 0;
    for payload in corpus.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut call = Call::new(&site, Some("+16125550143"), T0);
        let mut turns = vec![call.handle(CallEvent::Answered, T0)];
        for said in [
            format!("my water heater is leaking {payload}"),
            format!("{payload} gonzalez"),
            "yes".to_string(),
            format!("4417 west lake street {payload} minneapolis 55416"),
            "tomorrow morning".to_string(),
            payload.to_string(),
        ] {
            turns.push(call.handle(CallEvent::Heard { text: said }, T0 + 10));
            turns.push(call.handle(CallEvent::Keyed { digits: payload.to_string() }, T0 + 11));
        }
        for t in &turns {
            let xml = render(t, &urls());
            only_our_tags(&xml).unwrap_or_else(|e| panic!("{payload:?}: {e}\n{xml}"));
            only_our_tags(&render_relay(t, "wss://x/v1/voice/relay/northstar", "https://x/a")).unwrap();
            for o in relay_out(t, booking_core::booking::Locale::En) {
                serde_json::from_str::<serde_json::Value>(&o).expect("relay out stays JSON");
            }
            checked += 1;
        }
        let _ = parse_relay(payload);
        let _ = parse_tool_request(payload.as_bytes());
    }
    assert!(checked > 100, "{checked}");
}
