//! The voice agent, sans-IO: a phone call around the same [`crate::conversation::Conversation`]
//! that serves chat (issue 14). The worker moves Twilio's bytes; this module decides.

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
