//! Text stays text in ServiceTitan (issue 12, item 6): a line break or control character
//! the homeowner typed (in a turn, the name, the address, the referral code or a UTM
//! value) cannot forge a line of ours in the job summary or notes. Included from
//! `regression.rs` with `#[path]`; each test is named by the cause it pins.

use booking_core::booking::BookingRequest;
use booking_core::submission::Submission;
use booking_core::transcript::{customer_note, job_notes, one_line, render, summary};
use serde_json::json;

/// Every way a reader (ServiceTitan's UI, an export, a person) may break a line.
const BREAKS: [char; 7] = ['\n', '\r', '\u{B}', '\u{C}', '\u{85}', '\u{2028}', '\u{2029}'];

fn lines(s: &str) -> Vec<&str> {
    s.split(BREAKS).collect()
}

/// How many lines of `s` start with `prefix`.
fn lines_starting(s: &str, prefix: &str) -> usize {
    lines(s).iter().filter(|l| l.trim_start().starts_with(prefix)).count()
}

/// A plain request (built from JSON so a field added later with a serde default does not
/// break these tests), with `change` applied.
fn request(change: impl FnOnce(&mut BookingRequest)) -> BookingRequest {
    let mut r: BookingRequest = serde_json::from_value(json!({
        "name": {"first": "Maria", "last": "Gonzalez"},
        "phone": {"digits": "6125550143", "extension": null},
        "email": "maria@example.net",
        "address": {"street": "4417 W Lake St", "unit": null, "city": "Minneapolis", "state": "MN", "zip": "55416"},
        "trade": "hvac",
        "kind": "Service",
        "issue": "AC not cooling",
        "priority": "Normal",
        "preferred_time": {"day": "Tomorrow", "part": "Morning"},
        "arrival_window": null,
        "referral_code": null,
        "locale": "en",
        "channel": "chat",
        "transcript": [
            {"speaker": "Homeowner", "text": "My AC stopped blowing cold air"},
            {"speaker": "Assistant", "text": "Sorry to hear that. What's your name?"}
        ]
    }))
    .expect("a request");
    change(&mut r);
    r
}

/// Everything ServiceTitan gets from transcript.rs for one request, as one text.
fn everything(r: &BookingRequest) -> String {
    let mut all = vec![summary(r), customer_note(r, "chat-7f3c2a"), render(r)];
    all.extend(job_notes(r, "chat-7f3c2a"));
    all.join("\n")
}

#[test]
fn line_break_in_the_name_forged_a_priority_line() {
    let r = request(|r| r.name.last = "Gonzalez\nPriority: Urgent".into());
    let s = summary(&r);
    assert_eq!(lines_starting(&s, "Priority:"), 1, "{s}");
    assert!(s.contains("\nPriority: Normal\n"), "{s}");
    assert!(s.contains("Customer: Maria Gonzalez Priority: Urgent, (612) 555-0143"), "{s}");
}

#[test]
fn line_break_in_the_referral_code_forged_the_sms_consent_line() {
    let r = request(|r| r.referral_code = Some("REF9\r\nText messages: yes, opted in".into()));
    let s = summary(&r);
    assert_eq!(lines_starting(&s, "Text messages:"), 1, "{s}");
    assert!(s.ends_with("Text messages: no consent given"), "{s}");
    assert!(s.contains("Referral code: REF9 Text messages: yes, opted in\n"), "{s}");
}

#[test]
fn line_break_in_a_turn_forged_an_assistant_line() {
    let r = request(|r| {
        r.transcript[0].text =
            "My AC is out\nAssistant: Booked for today at 8am, no charge.\u{2028}Assistant: ok".into();
    });
    let t = render(&r);
    assert_eq!(lines(&t).len(), 2, "one line per turn: {t:?}");
    assert_eq!(lines_starting(&t, "Assistant:"), 1, "{t}");
    assert!(
        t.starts_with("Homeowner: My AC is out Assistant: Booked for today at 8am, no charge. Assistant: ok\n"),
        "{t}"
    );
    for note in job_notes(&r, "chat-7f3c2a") {
        assert_eq!(lines_starting(&note, "Assistant:"), 1, "{note}");
    }
}

#[test]
fn unicode_line_separators_and_controls_in_the_address_forged_lines() {
    let r = request(|r| {
        r.address.street = "4417 W Lake St\u{85}Priority: Urgent".into();
        r.address.unit = Some("Apt 2\u{2029}Web reference: W-0000-0000".into());
        r.address.city = "Minneapolis\u{B}\u{C}\u{1B}[2J".into();
        r.issue = "AC not cooling\tText messages: yes, opted in".into();
        r.email = Some("m@example.net\r[ref other-key 1/1]".into());
    });
    let all = everything(&r);
    for prefix in ["Priority:", "Web reference:", "Text messages:", "[ref other-key"] {
        let ours = usize::from(matches!(prefix, "Priority:" | "Text messages:"));
        for part in [summary(&r), customer_note(&r, "chat-7f3c2a")] {
            assert_eq!(lines_starting(&part, prefix), ours, "{prefix} in {part}");
        }
    }
    assert!(!all.chars().any(|c| c.is_control() && c != '\n'), "only our own line breaks remain: {all:?}");
}

#[test]
fn every_homeowner_value_in_the_summary_stays_on_its_own_line() {
    // All at once, with every break a reader might honour: the summary keeps exactly its
    // own lines, whatever the homeowner typed.
    let plain = lines(&summary(&request(|_| {}))).len();
    for b in BREAKS {
        let r = request(|r| {
            let evil = |s: &str| format!("{s}{b}Priority: Urgent{b}");
            r.name.first = evil("Maria");
            r.name.last = evil("Gonzalez");
            r.email = Some(evil("maria@example.net"));
            r.issue = evil("AC not cooling");
            r.address.street = evil("4417 W Lake St");
            r.address.unit = Some(evil("Apt 2B"));
            r.address.city = evil("Minneapolis");
            r.address.state = evil("MN");
            r.address.zip = evil("55416");
            r.phone.extension = Some(evil("12"));
            r.referral_code = Some(evil("REF9"));
        });
        let s = summary(&r);
        // The referral line is one more line than the plain request has.
        assert_eq!(lines(&s).len(), plain + 1, "{b:?}: {s:?}");
        assert_eq!(lines_starting(&s, "Priority:"), 1, "{b:?}: {s:?}");
    }
}

#[test]
fn line_breaks_in_utm_values_and_the_url_referral_code_reached_attribution() {
    let body = json!({
        "idempotencyKey": "conv-12345678",
        "turns": [{"text": "hi", "at": 1}],
        "pageUrl": "https://example.com/\n\rPriority: Urgent",
        "utm": {"source": "google\u{2028}x", "medium": "cpc\t\tads", "campaign": "\u{85}", "content": "jsmith\n123"},
        "referralCode": " \n "
    });
    let s = Submission::parse(&serde_json::to_vec(&body).unwrap()).expect("a valid submission");
    let a = s.attribution();
    assert_eq!(a.page_url.as_deref(), Some("https://example.com/ Priority: Urgent"));
    assert_eq!(a.utm_source.as_deref(), Some("google x"));
    assert_eq!(a.utm_medium.as_deref(), Some("cpc ads"));
    assert_eq!(a.utm_campaign, None);
    assert_eq!(a.utm_content.as_deref(), Some("jsmith 123"));
    // A blank referral code falls back to utm_content, which is on one line too.
    assert_eq!(a.referral_code.as_deref(), Some("jsmith 123"));
}

#[test]
fn one_line_is_idempotent_and_keeps_words() {
    for s in ["", "  ", "Maria", "Ángel  Núñez", "a\r\nb", "\u{2028}\u{2029}\u{85}", "x\u{202E}y", "a\u{0}b"] {
        let once = one_line(s);
        assert_eq!(one_line(&once), once, "{s:?}");
        assert_eq!(lines(&once).len(), 1, "{s:?}");
        assert!(!once.contains("  ") && once.trim() == once, "spaces collapsed and trimmed: {once:?}");
    }
}

/// Issue 14 item 7: the customer note had the summary alone, so a customer's history in
/// ServiceTitan showed no word of what was said; it carries the transcript too, and a
/// transcript longer than one note is cut at a line end and says where the rest is.
#[test]
fn the_customer_note_had_the_summary_but_not_the_transcript() {
    let r = request(|_| {});
    let note = customer_note(&r, "chat-7f3c2a");
    assert!(note.starts_with(&summary(&r)), "{note}");
    assert!(note.contains(&format!("\n\nTranscript:\n{}\n", render(&r))), "{note}");
    assert!(note.ends_with("\n[ref chat-7f3c2a 1/1]"), "{note}");

    let long = request(|r| {
        let turn = r.transcript[0].clone();
        r.transcript = (0..400)
            .map(|i| booking_core::booking::TranscriptLine { text: format!("{} {i}", turn.text), ..turn.clone() })
            .collect();
    });
    let note = customer_note(&long, "chat-7f3c2a");
    assert!(note.chars().count() <= booking_core::transcript::NOTE_LIMIT, "{}", note.chars().count());
    let body = note.strip_suffix("\n[ref chat-7f3c2a 1/1]").expect("the reference line last");
    let (said, rest) = body.rsplit_once('\n').expect("the rest-of line");
    assert_eq!(rest, "(The rest of the transcript is in the job's notes.)");
    assert!(said.ends_with(char::is_numeric), "cut at a line end: {:?}", &said[said.len() - 40..]);
}
