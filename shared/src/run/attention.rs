//! The "needs attention" entry: what the owner must fix or follow up for one
//! conversation, read from `GET /v1/admin/attention`. The run keeps it and hands every
//! change to the shell as [`Record::Attention`](super::Record::Attention) (or
//! [`Record::AttentionCleared`](super::Record::AttentionCleared) once nothing is left).

use serde::{Deserialize, Serialize};

use crate::booking::UnixSeconds;

/// Why a conversation is on the attention list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    /// ServiceTitan refused the booking and the office booking too.
    Refused,
    /// ServiceTitan has not taken the booking for a day (still retrying, up to a week).
    GaveUp,
    /// Credentials or API scopes: a token `invalid_client`, repeated 401s, a 403.
    Configuration,
    /// The promised arrival window passed before ServiceTitan took the booking; the job
    /// got another window (or went to the office): call the homeowner.
    WindowReplanned,
    /// The worker could not rebuild the booking from the homeowner's turns (a cached
    /// old widget after a deploy): the homeowner believes they booked.
    ReplayMismatch,
    /// `WEBHOOK_SECRET` is unset or empty: webhooks are held, never sent unsigned.
    WebhooksUnsigned,
    /// A webhook was not accepted within a day and was dropped.
    WebhookUndelivered,
}

impl Cause {
    /// Causes that end when ServiceTitan takes the booking.
    pub fn ends_with_booking(self) -> bool {
        matches!(self, Cause::GaveUp | Cause::Configuration)
    }
}

/// One thing to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// Why.
    pub cause: Cause,
    /// A line for the owner (ServiceTitan's message, what was tried).
    pub detail: String,
    /// When it was first seen.
    pub since: UnixSeconds,
}

/// A conversation on the attention list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    /// Site id.
    pub site: String,
    /// The conversation's idempotency key.
    pub session: String,
    /// Our reference, as the homeowner was told it.
    pub reference: String,
    /// The homeowner's name, when known, to call back.
    pub name: Option<String>,
    /// The homeowner's phone digits, when known.
    pub phone: Option<String>,
    /// What is wrong, oldest first.
    pub issues: Vec<Issue>,
    /// The run keeps retrying ServiceTitan until then.
    pub retrying_until: Option<UnixSeconds>,
    /// Last change.
    pub updated_at: UnixSeconds,
}

impl Attention {
    /// Adds `cause` (or updates its detail). Returns true when the cause is new.
    pub(super) fn raise(&mut self, cause: Cause, detail: String, now: UnixSeconds) -> bool {
        self.updated_at = now;
        match self.issues.iter_mut().find(|i| i.cause == cause) {
            Some(i) => {
                i.detail = detail;
                false
            }
            None => {
                self.issues.push(Issue { cause, detail, since: now });
                true
            }
        }
    }

    /// Removes the issues `keep` rejects. Returns true when something was removed.
    pub(super) fn clear(&mut self, drop: impl Fn(Cause) -> bool, now: UnixSeconds) -> bool {
        let before = self.issues.len();
        self.issues.retain(|i| !drop(i.cause));
        let changed = self.issues.len() != before;
        if changed {
            self.updated_at = now;
        }
        changed
    }

    /// Whether `cause` is among the issues.
    pub fn has(&self, cause: Cause) -> bool {
        self.issues.iter().any(|i| i.cause == cause)
    }
}
