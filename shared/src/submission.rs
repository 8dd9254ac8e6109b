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
    /// Whether the homeowner agreed to text messages.
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

/// Why a submission was refused; the message is safe to show a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Submission {
    /// Parses and checks a body. The error says which limit was broken.
    pub fn parse(body: &[u8]) -> Result<Submission, Refusal> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Refusal(format!("body is {} bytes; the limit is {MAX_BODY_BYTES}", body.len())));
        }
        let s: Submission =
            serde_json::from_slice(body).map_err(|e| Refusal(format!("body is not a valid booking submission: {e}")))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), Refusal> {
        let key = &self.idempotency_key;
        if key.len() < 8 || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Refusal("idempotencyKey must be 8-64 letters, digits, '-' or '_'".into()));
        }
        if self.turns.is_empty() {
            return Err(Refusal("turns is empty".into()));
        }
        if self.turns.len() > MAX_TURNS {
            return Err(Refusal(format!("{} turns; the limit is {MAX_TURNS}", self.turns.len())));
        }
        if let Some(t) = self.turns.iter().find(|t| t.text.len() > MAX_TURN_BYTES) {
            return Err(Refusal(format!("a turn is {} bytes; the limit is {MAX_TURN_BYTES}", t.text.len())));
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
            return Err(Refusal(format!("a page or UTM field is longer than {MAX_FIELD_BYTES} bytes")));
        }
        Ok(())
    }

    /// Attribution for the pipeline. The referral code from the URL wins over utm_content
    /// only when the site names its own parameter; Extole puts codes in utm_content.
    pub fn attribution(&self) -> Attribution {
        let clean = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
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

/// What the worker answers a booking submission with. Never carries ServiceTitan
/// internals or whether the homeowner was already a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingReply {
    /// "booked" (records exist) or "received" (kept; the office will confirm).
    pub status: String,
    /// The job number, when a job was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_number: Option<String>,
    /// A sentence for the homeowner.
    pub message: String,
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
    fn refuses_with_a_reason() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (body(0, "conv-12345678"), "turns is empty"),
            (body(MAX_TURNS + 1, "conv-12345678"), "limit is 60"),
            (body(1, "short"), "idempotencyKey"),
            (body(1, "bad key with spaces"), "idempotencyKey"),
            (b"{not json".to_vec(), "not a valid"),
            (vec![b' '; MAX_BODY_BYTES + 1], "limit is 65536"),
            (br#"{"idempotencyKey":"conv-12345678","turns":[{"text":"a","at":1}],"customerId":5}"#.to_vec(), "unknown field"),
        ];
        for (b, want) in cases {
            let err = Submission::parse(&b).unwrap_err().0;
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
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
