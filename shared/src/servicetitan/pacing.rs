//! Pacing a tenant's calls under ServiceTitan's limit (issue 16 item 1).
//!
//! ServiceTitan allows 60 requests per second per (app key, tenant) and answers 429
//! beyond it. Every isolate of the worker calls ServiceTitan, so counting per isolate
//! cannot hold that limit; one pacer per (app key, tenant) (a Durable Object in the
//! worker, named by [`super::tenant::tenant_key`]) hands out send slots for all of them.
//!
//! The pacer is a token bucket of [`BURST`] calls refilled at [`RATE_PER_SECOND`]: in any
//! one-second window at most `BURST + RATE_PER_SECOND` = 60 calls go, and sustained traffic
//! runs at 50/s, leaving ServiceTitan's other clients of the same app (connect, the owner's
//! own scripts) some room. A slot is a reservation: "go now" or "go in N ms", so a waiting
//! caller does not ask twice. A 429 from ServiceTitan pauses the tenant for its Retry-After
//! (1 s when absent, at most [`MAX_PAUSE_MS`]); other tenants have other pacers and never
//! notice. A wait longer than [`SLEEP_LIMIT_MS`] is not slept through: the caller is
//! handed a held 429 ([`StResponse::held`]), never sent: the pipeline waits its
//! Retry-After on its alarm, so no invocation idles, and does not count it as a try, so a
//! long queue of bookings (the load bench: 1,000 at once) waits its turn instead of
//! being queued for the office after six holds.
//!
//! Time is milliseconds passed in; nothing here reads a clock.

use serde::{Deserialize, Serialize};

use super::StResponse;

/// Calls per second the bucket refills with.
pub const RATE_PER_SECOND: i64 = 50;
/// Calls that may go at once after a quiet spell.
pub const BURST: i64 = 10;
/// Longest pause a 429 causes, whatever its Retry-After says.
pub const MAX_PAUSE_MS: i64 = 60_000;
/// Longest wait a caller sleeps through before sending; longer ones are [`Slot::Held`].
pub const SLEEP_LIMIT_MS: i64 = 2_000;

/// One token, in the bucket's unit (thousandths of a call, so refills stay integers).
const ONE: i64 = 1000;

/// The pacer's answer to "may I call ServiceTitan?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Slot {
    /// Send now.
    Go,
    /// Send after this many milliseconds (the slot is reserved).
    WaitMs(i64),
    /// Do not send: the tenant is paused (or queued) longer than a caller should sleep.
    /// Treat it as ServiceTitan's 429 with this Retry-After ([`Slot::held_response`]).
    Held {
        /// Seconds until a slot is likely.
        retry_after_s: u64,
    },
}

impl Slot {
    /// The response a held call stands for: a 429 nobody sent, with its Retry-After
    /// ([`StResponse::held`]: the pipeline waits it out without counting a try).
    pub fn held_response(retry_after_s: u64) -> StResponse {
        StResponse::held(retry_after_s)
    }
}

/// One tenant's token bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacer {
    /// Tokens in thousandths; negative while slots are reserved ahead.
    level: i64,
    /// When `level` was last brought up to date; in a pause, when the pause ends.
    at_ms: i64,
}

impl Pacer {
    /// A full bucket at `now_ms`.
    pub fn new(now_ms: i64) -> Pacer {
        Pacer { level: BURST * ONE, at_ms: now_ms }
    }

    /// Refills for the time since `at_ms` (none while paused, as `at_ms` is ahead).
    fn refill(&mut self, now_ms: i64) {
        if now_ms > self.at_ms {
            self.level = (self.level + (now_ms - self.at_ms) * RATE_PER_SECOND).min(BURST * ONE);
            self.at_ms = now_ms;
        }
    }

    /// Reserves the next send slot.
    pub fn slot(&mut self, now_ms: i64) -> Slot {
        self.refill(now_ms);
        self.level -= ONE;
        // Thousandths of a token at RATE_PER_SECOND per second = RATE_PER_SECOND per ms.
        let deficit_ms = if self.level < 0 { (-self.level + RATE_PER_SECOND - 1) / RATE_PER_SECOND } else { 0 };
        let wait = (self.at_ms + deficit_ms - now_ms).max(0);
        match wait {
            0 => Slot::Go,
            w if w <= SLEEP_LIMIT_MS => Slot::WaitMs(w),
            w => {
                // Not taken after all: the caller will ask again after its own wait.
                self.level += ONE;
                Slot::Held { retry_after_s: ((w + 999) / 1000) as u64 }
            }
        }
    }

    /// ServiceTitan answered 429: no call of this tenant goes before Retry-After has
    /// passed, and nothing saved up in the bucket crosses the pause.
    pub fn rate_limited(&mut self, retry_after_s: Option<u64>, now_ms: i64) {
        let pause = (retry_after_s.unwrap_or(1).max(1) as i64).saturating_mul(1000).min(MAX_PAUSE_MS);
        self.refill(now_ms);
        self.at_ms = self.at_ms.max(now_ms + pause);
        // One call may go when the pause ends; more must wait for the refill.
        self.level = self.level.min(ONE);
    }
}
