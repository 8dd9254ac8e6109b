//! The site's opt-out list: one entry per number that texted STOP, kept in the worker's
//! KV (`o/{site}/{+1XXXXXXXXXX}`) and read before every send. The worker writes and
//! reads the bytes; what an entry means for a send is decided here.
//!
//! Why a list beside each customer's [`super::CustomerFollowUps`]: a STOP reaches only
//! the customer objects that know the number, so an object that did not (yet) know it
//! misses the halt. The list catches that object at its send:
//!
//! | the entry | a follow-up scheduled | the send |
//! |---|---|---|
//! | STOP, no START since | any time | refused as Twilio refuses (21610): the engine blocks the number until START |
//! | STOP, then START | before the START | [`SendResult::ScheduledBeforeStart`]: that follow-up alone is halted (STOP halts everything pending; START brings back only new ones) |
//! | STOP, then START | at or after the START | goes |
//!
//! The entry is kept after START (with [`OptOutEntry::started_at_ms`]), so an object
//! that missed both texts still halts what was pending. A new STOP replaces the entry.
//! Times in the entry are real milliseconds; the engine's clock may be compressed in
//! tests, so [`refusal`] converts them with the caller's `engine_time`.
//!
//! Older entries are `{"body","at"}` alone (`at` ISO 8601, written only while the number
//! was out: START deleted them); they still read as "opted out since `at`".

use serde::{Deserialize, Serialize};

use super::{SendResult, TWILIO_UNSUBSCRIBED};
use crate::booking::UnixSeconds;
use crate::servicetitan::{iso8601, parse_iso8601};

/// The STOP text kept in an entry, at most this many characters.
pub const KEPT_BODY_CHARS: usize = 40;

/// One number's entry on the site's opt-out list, as stored (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptOutEntry {
    /// What the customer texted (the first [`KEPT_BODY_CHARS`] characters).
    #[serde(default)]
    pub body: String,
    /// When the STOP came in, ISO 8601 (seconds), for people reading the list.
    #[serde(default)]
    pub at: String,
    /// When the STOP came in, real ms. Absent in entries written before it was kept
    /// ([`OptOutEntry::stopped_at_ms`] then reads `at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at_ms: Option<i64>,
    /// When the number texted START after that STOP, real ms (the first START).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
}

impl OptOutEntry {
    /// The entry a STOP at `now_ms` writes (replacing any earlier entry, START or not).
    pub fn stop(body: &str, now_ms: i64) -> OptOutEntry {
        OptOutEntry {
            body: body.chars().take(KEPT_BODY_CHARS).collect(),
            at: iso8601(now_ms.div_euclid(1000)),
            stopped_at_ms: Some(now_ms),
            started_at_ms: None,
        }
    }

    /// The stored JSON, old or new. Text that is not an entry still counts as a STOP
    /// (an unreadable entry must not let a text through), at an unknown time.
    pub fn from_stored(text: &str) -> OptOutEntry {
        serde_json::from_str(text).unwrap_or_else(|_| OptOutEntry {
            body: "STOP".into(),
            at: "?".into(),
            stopped_at_ms: None,
            started_at_ms: None,
        })
    }

    /// As stored.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A START at `now_ms`: the entry is kept with the START's time. A second START
    /// keeps the first one's (what was scheduled between the two may go). `false`: nothing
    /// changed, no write needed.
    pub fn start(&mut self, now_ms: i64) -> bool {
        if self.started_at_ms.is_some() {
            return false;
        }
        self.started_at_ms = Some(now_ms);
        true
    }

    /// Still opted out: no START since the STOP.
    pub fn opted_out(&self) -> bool {
        self.started_at_ms.is_none()
    }

    /// When the STOP came in, real ms: `stoppedAtMs`, else `at` (older entries), else
    /// unknown.
    pub fn stopped_at_ms(&self) -> Option<i64> {
        self.stopped_at_ms.or_else(|| parse_iso8601(&self.at).map(|s| s * 1000))
    }

    /// What this entry says about a follow-up to `number` scheduled at `scheduled_at`
    /// (engine time); `engine_time` turns the entry's real ms into engine time. `None`:
    /// it may go.
    pub fn refusal(
        &self,
        number: &str,
        scheduled_at: UnixSeconds,
        engine_time: impl Fn(i64) -> UnixSeconds,
    ) -> Option<SendResult> {
        let Some(started_ms) = self.started_at_ms else {
            return Some(SendResult::Failed {
                code: Some(TWILIO_UNSUBSCRIBED),
                detail: format!("{number} texted {:?} at {}: on the site's opt-out list, not sent", self.body, self.at),
            });
        };
        let started_at = engine_time(started_ms);
        if scheduled_at >= started_at {
            return None;
        }
        // An entry without a readable STOP time: the STOP was before the START.
        let stopped_at = self.stopped_at_ms().map_or(started_at, &engine_time).min(started_at);
        Some(SendResult::ScheduledBeforeStart { number: number.to_string(), stopped_at, started_at })
    }
}

/// The list's answer for a follow-up scheduled at `scheduled_at` (engine time) to the
/// numbers in `entries` (each number with its entry, if it has one): a number still
/// opted out wins (21610 blocks the number), then one re-subscribed after the follow-up
/// was scheduled. `None`: it may go.
pub fn refusal<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a OptOutEntry)>,
    scheduled_at: UnixSeconds,
    engine_time: impl Fn(i64) -> UnixSeconds,
) -> Option<SendResult> {
    let mut halted = None;
    for (number, entry) in entries {
        match entry.refusal(number, scheduled_at, &engine_time) {
            Some(r @ SendResult::Failed { .. }) => return Some(r),
            Some(r) => halted = halted.or(Some(r)),
            None => {}
        }
    }
    halted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_format_reads_as_opted_out_since_at() {
        let old = OptOutEntry::from_stored(r#"{"body":"STOP","at":"2026-12-02T10:00:00Z"}"#);
        assert!(old.opted_out());
        assert_eq!(old.stopped_at_ms(), parse_iso8601("2026-12-02T10:00:00Z").map(|s| s * 1000));
        assert!(matches!(
            old.refusal("+16125550101", 0, |ms| ms / 1000),
            Some(SendResult::Failed { code: Some(21610), .. })
        ));
    }

    #[test]
    fn an_unreadable_entry_still_refuses() {
        let e = OptOutEntry::from_stored("not json");
        assert!(e.opted_out());
        assert!(matches!(e.refusal("+16125550101", 0, |ms| ms / 1000), Some(SendResult::Failed { .. })));
    }
}
