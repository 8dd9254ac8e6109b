//! Per-IP request limits, per route, in a fixed one-minute window.
//!
//! Counted in the isolate's memory: cheap and good against a single noisy client.
//! An isolate is not the whole fleet, so a deployment that needs a global limit adds
//! Cloudflare's rate-limiting rules in front; bookings themselves are already
//! deduplicated per conversation by the Durable Object.

use std::cell::RefCell;
use std::collections::HashMap;

use worker::{Date, Env, Request};

/// Which bucket a request counts against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Bucket {
    /// Booking submissions.
    Bookings,
    /// Abandonment beacons.
    Abandoned,
    /// Availability look-ups (each costs a ServiceTitan call).
    Availability,
    /// Submits of one conversation (keyed by its idempotency key, not the address):
    /// a stuck retry loop in one browser must not hammer its Durable Object.
    Session,
}

impl Bucket {
    fn default_per_minute(self) -> u32 {
        match self {
            Bucket::Bookings => 30,
            Bucket::Abandoned => 30,
            Bucket::Availability => 60,
            Bucket::Session => 20,
        }
    }
}

thread_local! {
    static COUNTS: RefCell<HashMap<(Bucket, String), (u64, u32)>> = RefCell::new(HashMap::new());
}

/// The client's address: Cloudflare sets `cf-connecting-ip`; locally it may be absent.
pub fn client_ip(req: &Request) -> String {
    req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "local".into())
}

/// Counts one request; `false` when the client is over its limit this minute.
/// `RATE_LIMIT_MULTIPLIER` (a var) scales every limit, e.g. for load tests.
pub fn allow(env: &Env, bucket: Bucket, ip: &str) -> bool {
    let scale: u32 = env.var("RATE_LIMIT_MULTIPLIER").ok().and_then(|v| v.to_string().parse().ok()).unwrap_or(1);
    let limit = bucket.default_per_minute().saturating_mul(scale.max(1));
    let minute = Date::now().as_millis() / 60_000;
    COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 10_000 {
            // Old windows only; a flood of addresses must not grow memory without bound.
            c.retain(|_, (m, _)| *m == minute);
        }
        let entry = c.entry((bucket, ip.to_string())).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    })
}
