//! Twilio ConversationRelay's WebSocket messages (Twilio does the speech; we exchange
//! text). In: `setup`, `prompt`, `dtmf`, `interrupt`, `error`. Out: `text` tokens for
//! what to say, `language` when the call switches language, and `end` with
//! `handoffData` when the call transfers or hangs up (Twilio then requests the
//! `<Connect action>` URL with `HandoffData`; [`handoff`] reads it back).
//! Shapes: `../shared/voice-and-followups.md` §2c.

use serde_json::{json, Value};

use crate::booking::Locale;

use super::call::{CallEvent, CallTurn, Next};
use super::VoiceError;

/// One message from ConversationRelay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayIn {
    /// The socket opened for a call.
    Setup {
        /// Twilio's `callSid`.
        call_sid: String,
        /// The caller (`from`).
        from: Option<String>,
        /// The number called (`to`).
        to: Option<String>,
    },
    /// The caller said something (`voicePrompt`); `last` is false for partial prompts.
    Prompt {
        /// What was heard.
        text: String,
        /// The final part of this utterance.
        last: bool,
        /// The recogniser's language (`lang`), if sent.
        lang: Option<String>,
    },
    /// One key pressed.
    Dtmf {
        /// "0"-"9", "#", "*".
        digit: String,
    },
    /// The caller talked over the agent.
    Interrupt {
        /// What the agent had said until then.
        said_until: String,
    },
    /// Twilio reports a problem (an invalid message of ours, for one).
    Error {
        /// Twilio's words.
        description: String,
    },
    /// A message type we do not use (`info`, new ones): ignored, not an error.
    Other {
        /// Its `type`.
        kind: String,
    },
}

/// Reads one ConversationRelay message.
pub fn parse_relay(text: &str) -> Result<RelayIn, VoiceError> {
    let v: Value = serde_json::from_str(text).map_err(|e| VoiceError::Json(e.to_string()))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = s("type").ok_or(VoiceError::Shape("a relay message needs a type"))?;
    Ok(match kind.as_str() {
        "setup" => RelayIn::Setup {
            call_sid: s("callSid").ok_or(VoiceError::Shape("setup needs a callSid"))?,
            from: s("from"),
            to: s("to"),
        },
        "prompt" => RelayIn::Prompt {
            text: s("voicePrompt").unwrap_or_default(),
            last: v.get("last").and_then(Value::as_bool).unwrap_or(true),
            lang: s("lang"),
        },
        "dtmf" => RelayIn::Dtmf { digit: s("digit").ok_or(VoiceError::Shape("dtmf needs a digit"))? },
        "interrupt" => RelayIn::Interrupt { said_until: s("utteranceUntilInterrupt").unwrap_or_default() },
        "error" => RelayIn::Error { description: s("description").unwrap_or_default() },
        _ => RelayIn::Other { kind },
    })
}

/// The call event a relay message is, if any: a final prompt is [`CallEvent::Heard`], a
/// key is [`CallEvent::KeyPressed`]. Setup (the worker creates or finds the call),
/// partial prompts, interruptions and errors are not turns.
pub fn relay_event(msg: &RelayIn) -> Option<CallEvent> {
    match msg {
        RelayIn::Prompt { text, last: true, .. } => Some(CallEvent::Heard { text: text.clone() }),
        RelayIn::Dtmf { digit } => Some(CallEvent::KeyPressed { digit: digit.clone() }),
        _ => None,
    }
}

/// What the socket should send for a turn, in order. `spoken` is the language the
/// session speaks now (the call's before this turn): a change sends a `language`
/// message first. Each line is a `text` token, the last with `last: true`; a transfer
/// or a hang-up ends with `end` and `handoffData` (the [`Next`] as JSON).
pub fn relay_out(turn: &CallTurn, spoken: Locale) -> Vec<String> {
    let mut out = Vec::new();
    if turn.locale != spoken {
        let code = super::twiml::language(turn.locale);
        out.push(json!({"type": "language", "ttsLanguage": code, "transcriptionLanguage": code}).to_string());
    }
    let lines: Vec<&String> = turn.say.iter().filter(|s| !s.trim().is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        // A space between lines: tokens are concatenated as they are spoken.
        let token = if i + 1 < lines.len() { format!("{line} ") } else { (*line).clone() };
        out.push(json!({"type": "text", "token": token, "last": i + 1 == lines.len()}).to_string());
    }
    if !matches!(turn.next, Next::Listen(_)) {
        let data = serde_json::to_string(&turn.next).unwrap_or_default();
        out.push(json!({"type": "end", "handoffData": data}).to_string());
    }
    out
}

/// The [`Next`] an `end` message carried, from the `HandoffData` Twilio posts to the
/// `<Connect action>` URL; render it with [`super::twiml::render`].
pub fn handoff(data: &str) -> Option<Next> {
    serde_json::from_str::<Next>(data).ok().filter(|n| !matches!(n, Next::Listen(_)))
}
