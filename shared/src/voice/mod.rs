//! The voice agent, sans-IO: a phone call around the same [`crate::conversation::Conversation`]
//! that serves chat (issue 14). The worker moves Twilio's bytes; this module decides.
//!
//! - [`call`]: one phone call ([`Call`]): events from Twilio in, what to say and do next out.
//! - [`digits`]: digits said or keyed ("six one two", "double five", "oh", "twenty two hundred").
//! - [`twiml`]: a [`CallTurn`] as a TwiML document (everything escaped).
//! - [`tools`]: LLM voice platforms' tool calls (Vapi, Retell, ElevenLabs) in and out.
//! - [`relay`]: Twilio ConversationRelay's WebSocket messages in and out.

pub mod call;
pub mod digits;
pub mod relay;
pub mod tools;
pub mod twiml;

pub use call::{Call, CallEffect, CallEvent, CallTurn, Listen, Next};
pub use relay::{parse_relay, relay_out, RelayIn};
pub use tools::{
    book_fields, parse_tool_request, tool_action, tool_response, FieldProblem, Platform, ToolAction, ToolCall,
    ToolRequest,
};
pub use twiml::{render, render_relay, TwimlUrls};

use serde::{Deserialize, Serialize};

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
            VoiceError::Version(v) => write!(f, "stored call version {v} is not {}", call::CALL_VERSION),
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
