//! A [`CallTurn`] as a TwiML document. Everything placed in the document (the agent's
//! words, which repeat the caller's; URLs; numbers; hints) is XML-escaped here and only
//! here.
//!
//! Choices, with Twilio's reasons (`../shared/voice-and-followups.md` §2a):
//! - `<Gather input="speech dtmf">` always: a caller may say or key any answer.
//! - `speechModel="phone_call"` with an integer `speechTimeout` (warnings 13335/13327:
//!   `auto` is not allowed with a model); three seconds when digits are asked, since
//!   people pause between the groups of a phone number, two otherwise.
//! - `actionOnEmptyResult="true"`: silence comes back to us as [`CallEvent::Nothing`]
//!   instead of Twilio going on with the document.
//! - `numDigits` when the answer has a known length (phone 10, ZIP 5, a menu key 1).
//!
//! [`CallEvent::Nothing`]: super::CallEvent::Nothing

use crate::booking::Locale;

use super::call::{CallTurn, Listen, Next};

/// Seconds the office line rings before the transfer counts as not answered.
pub const DIAL_TIMEOUT_SECONDS: u8 = 20;

/// The worker's absolute URLs the document points back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwimlUrls {
    /// `<Gather action>`: `/v1/voice/twilio/{site}/gather`.
    pub gather: String,
    /// `<Dial action>`: `/v1/voice/twilio/{site}/dial`.
    pub dial: String,
    /// `<Recording recordingStatusCallback>`: `/v1/voice/twilio/{site}/recording`. Asked
    /// for `in-progress` too, so the `RecordingUrl` is known before the booking is sent
    /// ([`super::Call::recorded`]).
    pub recording: String,
}

impl TwimlUrls {
    /// The URLs under `origin` (`https://book.example.com`, no trailing slash) for a site.
    pub fn new(origin: &str, site_id: &str) -> TwimlUrls {
        let base = format!("{}/v1/voice/twilio/{site_id}", origin.trim_end_matches('/'));
        TwimlUrls {
            gather: format!("{base}/gather"),
            dial: format!("{base}/dial"),
            recording: format!("{base}/recording"),
        }
    }
}

/// The TwiML `<Response>` for one turn.
pub fn render(turn: &CallTurn, urls: &TwimlUrls) -> String {
    let lang = language(turn.locale);
    let mut x = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    if turn.record {
        x.push_str(&format!(
            r#"<Start><Recording recordingStatusCallback="{}" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="in-progress completed"/></Start>"#,
            escape(&urls.recording)
        ));
    }
    match &turn.next {
        Next::Listen(listen) => {
            x.push_str(&gather_open(listen, &urls.gather, lang));
            says(&mut x, &turn.say, lang);
            x.push_str("</Gather>");
        }
        Next::Dial { number } => {
            says(&mut x, &turn.say, lang);
            x.push_str(&format!(
                r#"<Dial action="{}" method="POST" timeout="{DIAL_TIMEOUT_SECONDS}" answerOnBridge="true">{}</Dial>"#,
                escape(&urls.dial),
                escape(number)
            ));
        }
        Next::Hangup => {
            says(&mut x, &turn.say, lang);
            x.push_str("<Hangup/>");
        }
    }
    x.push_str("</Response>");
    x
}

/// The document that hands the call to ConversationRelay: Twilio speaks `turn.say` as
/// the welcome greeting and opens the WebSocket at `relay_url`
/// (`wss://…/v1/voice/relay/{site}`); when the socket ends (a transfer, a hang-up),
/// Twilio requests `action_url` with the `HandoffData` our `end` message carried.
pub fn render_relay(turn: &CallTurn, relay_url: &str, action_url: &str) -> String {
    let lang = language(turn.locale);
    let greeting = turn.say.join(" ");
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="{action}">"#,
            r#"<ConversationRelay url="{url}" welcomeGreeting="{greeting}" language="{lang}" "#,
            r#"interruptible="any" dtmfDetection="true" hints="{hints}">"#,
            r#"<Language code="en-US"/><Language code="es-US"/>"#,
            r#"</ConversationRelay></Connect></Response>"#
        ),
        action = escape(action_url),
        url = escape(relay_url),
        greeting = escape(&greeting),
        lang = lang,
        hints = escape(&hints(&turn.next)),
    )
}

fn hints(next: &Next) -> String {
    match next {
        Next::Listen(l) => l.hints.join(","),
        _ => String::new(),
    }
}

fn gather_open(listen: &Listen, action: &str, lang: &str) -> String {
    let speech_timeout = if listen.digits.is_some_and(|d| d > 1) { 3 } else { 2 };
    let mut g = format!(
        r#"<Gather input="speech dtmf" action="{}" method="POST" language="{lang}" speechModel="phone_call" enhanced="true" speechTimeout="{speech_timeout}" timeout="6" actionOnEmptyResult="true""#,
        escape(action)
    );
    if let Some(n) = listen.digits {
        g.push_str(&format!(r#" numDigits="{n}""#));
    }
    if !listen.hints.is_empty() {
        g.push_str(&format!(r#" hints="{}""#, escape(&listen.hints.join(","))));
    }
    g.push('>');
    g
}

fn says(x: &mut String, lines: &[String], lang: &str) {
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        x.push_str(&format!(r#"<Say language="{lang}" voice="{}">{}</Say>"#, voice(lang), escape(line)));
    }
}

/// Twilio's BCP-47 codes for our languages.
pub fn language(l: Locale) -> &'static str {
    match l {
        Locale::En => "en-US",
        Locale::Es => "es-US",
    }
}

/// Amazon Polly voices Twilio offers for each language (US English, US Spanish).
fn voice(lang: &str) -> &'static str {
    if lang == "es-US" {
        "Polly.Lupe"
    } else {
        "Polly.Joanna"
    }
}

/// Text for XML content and attribute values: `& < > " '` escaped, and the characters
/// XML 1.0 forbids (controls other than tab and line breaks, U+FFFE, U+FFFF) dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}
