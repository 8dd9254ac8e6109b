//! The voice agent, sans-IO: a phone call around the same [`crate::conversation::Conversation`]
//! that serves chat (issue 14). The worker moves Twilio's bytes; this module decides.
//!
//! - [`call`]: one phone call ([`Call`]): events from Twilio in, what to say and do next out.
//! - [`digits`]: digits said or keyed ("six one two", "double five", "oh", "twenty two hundred").
//! - [`followup`]: a follow-up call the business places about an estimate (its greeting,
//!   the opt-out).
//! - [`twiml`]: a [`CallTurn`] as a TwiML document (everything escaped).
//! - [`tools`]: LLM voice platforms' tool calls (Vapi, Retell, ElevenLabs) in and out.
//! - [`relay`]: Twilio ConversationRelay's WebSocket messages in and out.

pub mod call;
pub mod digits;
pub mod followup;
pub mod relay;
pub mod tools;
pub mod twiml;

pub use call::{
    Call, CallEffect, CallEvent, CallTurn, Listen, Next, CALL_VERSION, MAX_CALLER_TURNS, MISSES_BEFORE_HELP,
};
pub use followup::FollowUpCall;
pub use relay::{parse_relay, relay_out, RelayIn};
pub use tools::{
    book_fields, parse_tool_request, tool_action, tool_response, verify_retell, verify_secret, FieldProblem, Platform,
    ToolAction, ToolCall, ToolRequest,
};
pub use twiml::{render, render_relay, TwimlUrls};

use serde::{Deserialize, Serialize};

use crate::booking::Locale;
use crate::site::SiteConfig;

/// A site's voice settings (`voice` in the site JSON); every field has a default so a
/// chat-only site needs none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct VoiceSettings {
    /// The number the agent transfers to; the site's office phone when absent.
    pub transfer_number: Option<String>,
    /// The after-hours / on-call number for emergencies; `transfer_number` when absent.
    pub on_call_number: Option<String>,
    /// Record calls (the disclosure is said first).
    pub record: bool,
    /// The page a text with the booking link opens (the widget on the contractor's site);
    /// the site's first allowed origin when absent.
    pub booking_page_url: Option<String>,
    /// Answer calls through Twilio ConversationRelay (Twilio's speech, our words over a
    /// WebSocket) instead of `<Gather>` turns.
    pub conversation_relay: bool,
}

/// The query parameter of the booking link that fills in the caller's phone in the
/// widget.
pub const PHONE_PARAM: &str = "bw-phone";

/// The booking link for a caller: the site's booking page with the phone filled in
/// (`?bw-phone=6125550143`), or `None` when the site has no web page to link to.
pub fn booking_link(site: &SiteConfig, phone: &str) -> Option<String> {
    let page =
        site.voice.booking_page_url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")).or_else(
            || site.allowed_origins.iter().find(|o| o.starts_with("https://") || o.starts_with("http://")).cloned(),
        )?;
    let page = crate::transcript::one_line(&page);
    let digits: String = phone.chars().filter(char::is_ascii_digit).take(11).collect();
    let (base, fragment) = page.split_once('#').map_or((page.as_str(), None), |(b, f)| (b, Some(f)));
    // "https://host" has no path: the query goes after "/".
    let has_path = base.split_once("://").is_some_and(|(_, rest)| rest.contains('/'));
    let base = if has_path || base.contains('?') { base.to_string() } else { format!("{base}/") };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut link = format!("{base}{sep}{PHONE_PARAM}={digits}");
    if let Some(f) = fragment {
        link.push('#');
        link.push_str(f);
    }
    Some(link)
}

/// The text message with the booking link (after a missed or abandoned call, or when the
/// caller asked for it), in the call's language; `None` without a page to link to.
pub fn booking_link_text(site: &SiteConfig, phone: &str, locale: Locale) -> Option<String> {
    let link = booking_link(site, phone)?;
    let business = crate::transcript::one_line(&site.business_name);
    Some(match locale {
        Locale::En => format!("{business}: thanks for calling. Book your visit online here: {link} Reply STOP to opt out."),
        Locale::Es => format!("{business}: gracias por llamar. Reserve su visita en línea aquí: {link} Responda STOP para no recibir mensajes."),
    })
}

/// Why a voice message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceError {
    /// Not JSON, or not the JSON we expect; the parser's words.
    Json(String),
    /// JSON, but none of the shapes we know (which part was missing).
    Shape(&'static str),
    /// A stored call of another version.
    Version(u32),
}

impl std::fmt::Display for VoiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoiceError::Json(e) => write!(f, "not valid JSON: {e}"),
            VoiceError::Shape(what) => write!(f, "unexpected message shape: {what}"),
            VoiceError::Version(v) => write!(f, "stored call version {v} is not {CALL_VERSION}"),
        }
    }
}

impl std::error::Error for VoiceError {}

/// "+1 (612) 555-0100", "6125550100", "16125550100" → `+16125550100` for `<Dial>`; `None`
/// when the digits are not a US number.
pub fn e164(number: &str) -> Option<String> {
    let d: String = number.chars().filter(char::is_ascii_digit).collect();
    let ten = match d.len() {
        10 => d,
        11 if d.starts_with('1') => d.get(1..)?.to_string(),
        _ => return None,
    };
    crate::extract::nanp_problem(&ten).is_none().then(|| format!("+1{ten}"))
}
