//! The wire format between the widget and the worker, and its limits.
//!
//! The widget sends only what the homeowner typed (user turns) plus page context; the
//! worker replays the turns through [`crate::conversation::replay`] and never trusts
//! structured fields from the browser. Limits are checked here so the widget and the
//! worker agree on them.

use serde::{Deserialize, Serialize};

use crate::booking::{Attribution, Locale};
use crate::conversation::UserTurn;

/// Largest request body the worker reads, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most user turns in one conversation.
pub const MAX_TURNS: usize = 60;
/// Longest single user turn, in bytes.
pub const MAX_TURN_BYTES: usize = 2_000;
/// Longest URL or UTM value kept, in bytes.
pub const MAX_FIELD_BYTES: usize = 2_000;

/// UTM parameters from the page URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Utm {
    /// utm_source.
    pub source: Option<String>,
    /// utm_medium.
    pub medium: Option<String>,
    /// utm_campaign.
    pub campaign: Option<String>,
    /// utm_content.
    pub content: Option<String>,
}

/// `POST /v1/sites/{site}/bookings` and `/abandoned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Submission {
    /// One per conversation, kept by the widget across reloads.
    pub idempotency_key: String,
    /// Everything the homeowner said, in order.
    pub turns: Vec<UserTurn>,
    /// Conversation language.
    #[serde(default)]
    pub locale: Option<Locale>,
    /// Sent by widgets before the confirming stage moved into booking-core; accepted so a
    /// cached old widget is not refused, and ignored: consent comes from the replayed turns
    /// ("Text messages: yes"), never from a structured field.
    #[serde(default)]
    pub sms_consent: bool,
    /// Page the widget was on.
    #[serde(default)]
    pub page_url: Option<String>,
    /// UTM parameters.
    #[serde(default)]
    pub utm: Utm,
    /// Referral code from the page URL.
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// Why a submission was refused. Its `Display` is safe to show the browser that sent the
/// body (it names the limit, or serde's reason about that body, and nothing of ours);
/// [`Refusal::status`] is its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The body is over [`MAX_BODY_BYTES`]; `len` is `None` when the body was cut while
    /// being read (no declared length).
    BodyTooLarge {
        /// Bytes in the body, when known.
        len: Option<usize>,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or not a submission (a missing or unknown field): serde's reason.
    NotJson(String),
    /// The idempotency key is not 8-64 letters, digits, '-' or '_'.
    BadKey,
    /// No user turns.
    NoTurns,
    /// More than [`MAX_TURNS`] turns.
    TooManyTurns {
        /// Turns sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A turn over [`MAX_TURN_BYTES`].
    TurnTooLong {
        /// Bytes in the longest offending turn found first.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The page URL, a UTM value or the referral code is over [`MAX_FIELD_BYTES`].
    FieldTooLong {
        /// The limit.
        limit: usize,
    },
}

impl Refusal {
    /// The HTTP status for this refusal, decided here once: 413 when a size limit was
    /// broken, 400 when the body is not a valid submission.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BodyTooLarge { .. }
            | Refusal::TooManyTurns { .. }
            | Refusal::TurnTooLong { .. }
            | Refusal::FieldTooLong { .. } => 413,
            Refusal::NotJson(_) | Refusal::BadKey | Refusal::NoTurns => 400,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::BodyTooLarge { len: Some(len), limit } => write!(f, "body is {len} bytes; the limit is {limit}"),
            Refusal::BodyTooLarge { len: None, limit } => {
                write!(f, "body is over the limit; the limit is {limit} bytes")
            }
            Refusal::NotJson(e) => write!(f, "body is not a valid booking submission: {e}"),
            Refusal::BadKey => f.write_str("idempotencyKey must be 8-64 letters, digits, '-' or '_'"),
            Refusal::NoTurns => f.write_str("turns is empty"),
            Refusal::TooManyTurns { count, limit } => write!(f, "{count} turns; the limit is {limit}"),
            Refusal::TurnTooLong { len, limit } => write!(f, "a turn is {len} bytes; the limit is {limit}"),
            Refusal::FieldTooLong { limit } => write!(f, "a page or UTM field is longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Submission {
    /// Parses and checks a body. The error says which limit was broken.
    pub fn parse(body: &[u8]) -> Result<Submission, Refusal> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Refusal::BodyTooLarge { len: Some(body.len()), limit: MAX_BODY_BYTES });
        }
        let s: Submission = serde_json::from_slice(body).map_err(|e| Refusal::NotJson(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), Refusal> {
        let key = &self.idempotency_key;
        if key.len() < 8 || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Refusal::BadKey);
        }
        if self.turns.is_empty() {
            return Err(Refusal::NoTurns);
        }
        if self.turns.len() > MAX_TURNS {
            return Err(Refusal::TooManyTurns { count: self.turns.len(), limit: MAX_TURNS });
        }
        if let Some(t) = self.turns.iter().find(|t| t.text.len() > MAX_TURN_BYTES) {
            return Err(Refusal::TurnTooLong { len: t.text.len(), limit: MAX_TURN_BYTES });
        }
        let fields = [
            &self.page_url,
            &self.utm.source,
            &self.utm.medium,
            &self.utm.campaign,
            &self.utm.content,
            &self.referral_code,
        ];
        if fields.iter().any(|f| f.as_ref().is_some_and(|v| v.len() > MAX_FIELD_BYTES)) {
            return Err(Refusal::FieldTooLong { limit: MAX_FIELD_BYTES });
        }
        Ok(())
    }

    /// Attribution for the pipeline. The referral code from the URL wins over utm_content
    /// only when the site names its own parameter; Extole puts codes in utm_content.
    /// Each value is put on one line ([`crate::transcript::one_line`]): they come from a
    /// URL anyone can write, and end up in job summaries and custom fields.
    pub fn attribution(&self) -> Attribution {
        let clean = |v: &Option<String>| v.as_deref().map(crate::text::one_line).filter(|s| !s.is_empty());
        Attribution {
            page_url: clean(&self.page_url),
            utm_source: clean(&self.utm.source),
            utm_medium: clean(&self.utm.medium),
            utm_campaign: clean(&self.utm.campaign),
            utm_content: clean(&self.utm.content),
            referral_code: clean(&self.referral_code).or_else(|| clean(&self.utm.content)),
        }
    }
}

/// What the homeowner is told: decided from the request alone, never from what
/// ServiceTitan or matching found (see ARCHITECTURE.md, "No existence leak").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyStatus {
    /// An arrival window was agreed (picked, or from the stated preference) on a site
    /// that books jobs: the homeowner is told the window.
    Booked,
    /// Kept for the office to schedule: no window, or a site that only files bookings.
    Received,
}

impl ReplyStatus {
    /// The serde name: "booked" or "received".
    pub fn code(self) -> &'static str {
        match self {
            ReplyStatus::Booked => "booked",
            ReplyStatus::Received => "received",
        }
    }
}

/// What the worker answers a booking submission with. Never carries ServiceTitan
/// internals or whether the homeowner was already a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingReply {
    /// Booked (a window was agreed) or received (the office will schedule).
    pub status: ReplyStatus,
    /// Our confirmation reference ([`crate::booking::reference`]), not a ServiceTitan id.
    pub reference: String,
    /// A sentence for the homeowner, in the conversation's language.
    pub message: String,
    /// The window promised, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::booking::ArrivalWindow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(turns: usize, key: &str) -> Vec<u8> {
        let turns: Vec<_> = (0..turns).map(|i| serde_json::json!({"text": format!("t{i}"), "at": i})).collect();
        serde_json::to_vec(&serde_json::json!({"idempotencyKey": key, "turns": turns})).unwrap()
    }

    #[test]
    fn accepts_a_plain_submission() {
        let s = Submission::parse(&body(3, "conv-12345678")).unwrap();
        assert_eq!(s.turns.len(), 3);
    }

    #[test]
    fn refuses_with_a_reason_and_a_status() {
        let long_turn = serde_json::to_vec(&serde_json::json!({
            "idempotencyKey": "conv-12345678", "turns": [{"text": "a".repeat(MAX_TURN_BYTES + 1), "at": 1}]
        }))
        .unwrap();
        let long_utm = serde_json::to_vec(&serde_json::json!({
            "idempotencyKey": "conv-12345678", "turns": [{"text": "a", "at": 1}], "utm": {"source": "u".repeat(MAX_FIELD_BYTES + 1)}
        }))
        .unwrap();
        let cases: Vec<(Vec<u8>, &str, u16)> = vec![
            (body(0, "conv-12345678"), "turns is empty", 400),
            (body(MAX_TURNS + 1, "conv-12345678"), "limit is 60", 413),
            (body(1, "short"), "idempotencyKey", 400),
            (body(1, "bad key with spaces"), "idempotencyKey", 400),
            (b"{not json".to_vec(), "not a valid", 400),
            (vec![b' '; MAX_BODY_BYTES + 1], "limit is 65536", 413),
            (
                br#"{"idempotencyKey":"conv-12345678","turns":[{"text":"a","at":1}],"customerId":5}"#.to_vec(),
                "unknown field",
                400,
            ),
            (long_turn, "limit is 2000", 413),
            (long_utm, "longer than 2000 bytes", 413),
        ];
        for (b, want, status) in cases {
            let err = Submission::parse(&b).unwrap_err();
            assert!(err.to_string().contains(want), "{err} should mention {want:?}");
            assert_eq!(err.status(), status, "{err}");
        }
    }

    #[test]
    fn unknown_fields_and_cut_bodies_are_typed() {
        let err = Submission::parse(
            br#"{"idempotencyKey":"conv-12345678","turns":[{"text":"a","at":1}],"secretThing":"hunter2"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Refusal::NotJson(_)), "{err:?}");
        let cut = Refusal::BodyTooLarge { len: None, limit: MAX_BODY_BYTES };
        assert_eq!((cut.to_string().as_str(), cut.status()), ("body is over the limit; the limit is 65536 bytes", 413));
    }

    /// The abuse bench posted a turn with a "speaker" field: the submission refuses
    /// unknown fields, but the turn took it silently.
    #[test]
    fn a_turns_unknown_field_was_taken_silently() {
        let err = Submission::parse(
            br#"{"idempotencyKey":"conv-12345678","turns":[{"text":"a","at":1,"speaker":"assistant"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Refusal::NotJson(_)), "{err:?}");
        assert!(err.to_string().contains("unknown field `speaker`"), "{err}");
    }

    #[test]
    fn attribution_values_cannot_break_lines() {
        let mut s = Submission::parse(&body(1, "conv-12345678")).unwrap();
        s.referral_code = Some("REF9\nPriority: Urgent".into());
        s.utm.source = Some("google\r\nText messages: yes, opted in".into());
        s.utm.campaign = Some("\u{2028}\t ".into());
        let a = s.attribution();
        assert_eq!(a.referral_code.as_deref(), Some("REF9 Priority: Urgent"));
        assert_eq!(a.utm_source.as_deref(), Some("google Text messages: yes, opted in"));
        assert_eq!(a.utm_campaign, None, "only breaks and blanks: nothing");
    }

    #[test]
    fn referral_code_falls_back_to_utm_content() {
        let mut s = Submission::parse(&body(1, "conv-12345678")).unwrap();
        s.utm.content = Some(" jsmith123 ".into());
        assert_eq!(s.attribution().referral_code.as_deref(), Some("jsmith123"));
        s.referral_code = Some("REF9".into());
        assert_eq!(s.attribution().referral_code.as_deref(), Some("REF9"));
    }
}
