//! Transcript rendering and the summary notes put on the customer and the job.
//!
//! ServiceTitan's 2022 spec gives no maximum note length; the UI truncates long notes
//! and very large bodies have been rejected in integrator reports, so we cap each note
//! at [`NOTE_LIMIT`] characters (Unicode scalar values, so a cut never splits a
//! character) and split longer transcripts into several notes. The summary always
//! comes first, so the office reads what matters even if later parts are skipped.
//!
//! Every note ends with a reference line `[ref <key> i/n]`: after a lost response the
//! pipeline lists the notes and looks for that line instead of adding a second copy.
//!
//! Every value the homeowner supplied (turns, name, email, address, issue, referral code)
//! goes through [`one_line`] before it is placed in a line: a typed line break must not
//! forge a line of ours ("Priority: Urgent", "Text messages: yes, opted in",
//! "Assistant: …"), which the office and the pipeline's look-ups trust.

use crate::booking::{BookingRequest, Channel, DayPart, DayPreference, Speaker, VisitKind};
pub use crate::text::one_line;

/// Most characters in one ServiceTitan note (our choice, see the module doc).
pub const NOTE_LIMIT: usize = 10_000;

/// How a phone call's transcript carries the call's recording: the assistant's last
/// line, `(Call recording: <url>)` (written by `crate::voice::Call`; a caller's words are
/// never read as one, they are the homeowner's lines).
pub const RECORDING_LINE: &str = "(Call recording: ";

/// The recording of a phone booking, if the site records calls.
pub fn recording_url(req: &BookingRequest) -> Option<&str> {
    req.transcript
        .iter()
        .rev()
        .filter(|l| l.speaker == Speaker::Assistant)
        .find_map(|l| l.text.strip_prefix(RECORDING_LINE)?.strip_suffix(')'))
}

/// The short summary: what, where, who, when. Plain text (ServiceTitan notes are text).
pub fn summary(req: &BookingRequest) -> String {
    let kind = match req.kind {
        VisitKind::Service => "Service visit",
        VisitKind::Estimate => "Estimate",
    };
    let channel = match req.channel {
        Channel::Chat => "web chat",
        Channel::Voice => "phone (voice agent)",
    };
    let mut s = format!(
        "{kind} ({}) booked by {channel}: {}\nPriority: {}\nCustomer: {}, {}",
        req.trade.label(),
        one_line(&req.issue),
        req.priority.as_str(),
        one_line(&req.name.full()),
        one_line(&req.phone.display())
    );
    if let Some(e) = &req.email {
        s.push_str(&format!(", {}", one_line(e)));
    }
    // A business's customer record is under its name; the line above names the person.
    if let Some(b) = req.business.as_deref().map(one_line).filter(|b| !b.is_empty()) {
        s.push_str(&format!("\nBusiness: {b}"));
    }
    s.push_str(&format!("\nAddress: {}", one_line(&req.address.one_line())));
    if let Some(when) = preferred(req) {
        s.push_str(&format!("\nPreferred time: {when}"));
    }
    if let Some(code) = &req.referral_code {
        s.push_str(&format!("\nReferral code: {}", one_line(code)));
    }
    s.push_str(if req.sms_consent { "\nText messages: yes, opted in" } else { "\nText messages: no consent given" });
    if let Some(url) = recording_url(req) {
        s.push_str(&format!("\nCall recording: {}", one_line(url)));
    }
    s
}

fn preferred(req: &BookingRequest) -> Option<String> {
    let p = req.preferred_time;
    let day = p.day.map(|d| match d {
        DayPreference::Asap => "as soon as possible".to_string(),
        DayPreference::Today => "today".into(),
        DayPreference::Tomorrow => "tomorrow".into(),
        DayPreference::Weekday(n) => ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            .get(n as usize)
            .copied()
            .unwrap_or("a weekday")
            .into(),
    });
    let part = p.part.map(|x| match x {
        DayPart::Morning => "morning",
        DayPart::Afternoon => "afternoon",
        DayPart::Evening => "evening",
    });
    match (day, part) {
        (None, None) => None,
        (Some(d), None) => Some(d),
        (None, Some(p)) => Some(p.into()),
        (Some(d), Some(p)) => Some(format!("{d}, {p}")),
    }
}

/// The whole conversation, one line per turn: a turn's own line breaks become spaces, so
/// a homeowner's "\nAssistant: …" stays inside the homeowner's line.
pub fn render(req: &BookingRequest) -> String {
    req.transcript
        .iter()
        .map(|l| {
            let who = match l.speaker {
                Speaker::Homeowner => "Homeowner",
                Speaker::Assistant => "Assistant",
            };
            format!("{who}: {}", one_line(&l.text))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The reference line that makes a note findable after a lost response.
pub fn reference(key: &str, part: usize, parts: usize) -> String {
    format!("[ref {key} {part}/{parts}]")
}

/// The customer note: the summary and the transcript (and the call's recording, in the
/// summary), as one note, so the customer's history in ServiceTitan shows what was said
/// even where no job was opened from it. A transcript longer than one note is cut at a
/// line end and says so; the job's notes carry it whole.
pub fn customer_note(req: &BookingRequest, key: &str) -> String {
    const REST: &str = "\n(The rest of the transcript is in the job's notes.)";
    let tail = format!("\n{}", reference(key, 1, 1));
    let full = format!("{}\n\nTranscript:\n{}", summary(req), render(req));
    let room = NOTE_LIMIT.saturating_sub(tail.chars().count());
    if full.chars().count() <= room {
        return format!("{full}{tail}");
    }
    let head = cut(&full, room.saturating_sub(REST.chars().count()));
    let head = match head.rfind('\n') {
        Some(i) if i > head.len() / 2 => &head[..i],
        _ => head,
    };
    format!("{head}{REST}{tail}")
}

/// The job notes: summary first, then the transcript, split into notes of at most
/// [`NOTE_LIMIT`] chars each, preferring to cut at line ends.
pub fn job_notes(req: &BookingRequest, key: &str) -> Vec<String> {
    let full = format!("{}\n\nTranscript:\n{}", summary(req), render(req));
    // Reserve room for the reference line ("[ref key 99/99]") in every part.
    let room = NOTE_LIMIT.saturating_sub(reference(key, 99, 99).chars().count() + 1).max(100);
    let mut parts = Vec::new();
    let mut rest = full.as_str();
    while !rest.is_empty() {
        let head = cut(rest, room);
        // Prefer the last line break in the second half of the chunk.
        let at = if head.len() < rest.len() {
            match head.rfind('\n') {
                Some(i) if head[..i].chars().count() > room / 2 => i + 1,
                _ => head.len(),
            }
        } else {
            head.len()
        };
        parts.push(rest[..at].trim_end().to_string());
        rest = &rest[at..];
    }
    let n = parts.len();
    parts.into_iter().enumerate().map(|(i, p)| format!("{p}\n{}", reference(key, i + 1, n))).collect()
}

/// The longest prefix of `s` with at most `max` chars: always on a char boundary.
pub fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
