//! Request limits: the buckets, their sizes, and the fixed one-minute window that
//! counts them. The counting itself happens in the site's `SiteLimiter` Durable Object
//! (`limiter.rs`), so every isolate of the fleet counts into the same numbers; this
//! module is plain data and arithmetic.
//!
//! There is no per-conversation bucket any more: it was keyed by the idempotency key,
//! which the browser picks, so a client that wanted to escape it sent a new key each
//! time. One browser's stuck retry loop is already bounded by its address's
//! `Bookings` bucket, and the conversation's Durable Object deduplicates the submits.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{Env, Request};

/// Which bucket a request counts against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Bucket {
    /// Booking submissions.
    Bookings,
    /// Abandonment beacons.
    Abandoned,
    /// Availability look-ups (a cache miss costs a ServiceTitan call).
    Availability,
}

impl Bucket {
    /// Per client address, per minute, before `RATE_LIMIT_MULTIPLIER`.
    pub(crate) fn per_client(self) -> u32 {
        match self {
            Bucket::Bookings => 30,
            Bucket::Abandoned => 30,
            Bucket::Availability => 60,
        }
    }

    /// Per site, all addresses together, per minute, before `RATE_LIMIT_MULTIPLIER`.
    /// A contractor's site sees a few bookings an hour; this bounds what a crowd of
    /// addresses can make the worker send to ServiceTitan and the owner's webhook.
    pub(crate) fn per_site(self) -> u32 {
        match self {
            Bucket::Bookings => 120,
            Bucket::Abandoned => 300,
            // Availability's cost is capped where it is paid: ServiceTitan capacity calls.
            Bucket::Availability => 6_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Bucket::Bookings => "bookings",
            Bucket::Abandoned => "abandoned",
            Bucket::Availability => "availability",
        }
    }
}

/// ServiceTitan capacity calls per site per minute (cache misses only), before
/// `RATE_LIMIT_MULTIPLIER`: availability must not spend the tenant's API quota.
pub(crate) const CAPACITY_CALLS_PER_MINUTE: u32 = 20;

/// `RATE_LIMIT_MULTIPLIER` (a var) scales every limit, e.g. for tests and load tests.
pub(crate) fn multiplier(env: &Env) -> u32 {
    env.var("RATE_LIMIT_MULTIPLIER").ok().and_then(|v| v.to_string().parse().ok()).unwrap_or(1).max(1)
}

/// The client's address: Cloudflare sets `cf-connecting-ip`; locally it may be absent.
pub(crate) fn client_ip(req: &Request) -> String {
    req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "local".into())
}

/// The counter key of a client's bucket, and of the whole site's.
pub(crate) fn keys(bucket: Bucket, client: &str) -> (String, String) {
    (format!("{}/{client}", bucket.name()), format!("{}/*", bucket.name()))
}

/// Seconds until the fixed one-minute window ends, for a refusal's `Retry-After`: a
/// client that waits that long is counted afresh (at least 1, so it never says "now").
pub(crate) fn retry_after(now_ms: u64) -> u64 {
    60 - (now_ms / 1000) % 60
}

/// Counts in fixed one-minute windows, keyed by strings.
#[derive(Default)]
pub(crate) struct Windows {
    counts: HashMap<String, (u64, u32)>,
}

/// Beyond this many keys, past minutes' entries are dropped: a flood of addresses
/// must not grow memory without bound.
const MAX_KEYS: usize = 10_000;

impl Windows {
    /// The count `key` would have this minute after one more request.
    fn next(&self, key: &str, minute: u64) -> u32 {
        match self.counts.get(key) {
            Some((m, n)) if *m == minute => n.saturating_add(1),
            _ => 1,
        }
    }

    fn set(&mut self, key: &str, minute: u64, n: u32) {
        if self.counts.len() > MAX_KEYS {
            self.counts.retain(|_, (m, _)| *m == minute);
        }
        self.counts.insert(key.to_string(), (minute, n));
    }

    /// Counts one request against every `(key, limit)`; `false` (and nothing counted)
    /// when any of them is full this minute, so refused requests do not eat the site's
    /// budget on behalf of the client that was refused.
    pub(crate) fn hit(&mut self, limits: &[(&str, u32)], minute: u64) -> bool {
        if limits.iter().any(|(key, limit)| self.next(key, minute) > *limit) {
            return false;
        }
        for (key, _) in limits {
            let n = self.next(key, minute);
            self.set(key, minute, n);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_the_seconds_left_in_its_minute() {
        assert_eq!(retry_after(120_000), 60);
        assert_eq!(retry_after(120_999), 60);
        assert_eq!(retry_after(179_500), 1);
        assert_eq!(retry_after(150_000), 30);
    }

    #[test]
    fn a_client_over_its_limit_is_refused_until_the_next_minute() {
        let mut w = Windows::default();
        assert!((0..3).all(|_| w.hit(&[("a", 3)], 7)));
        assert!(!w.hit(&[("a", 3)], 7));
        assert!(w.hit(&[("a", 3)], 8));
    }

    #[test]
    fn the_site_limit_holds_across_clients_and_refusals_do_not_count() {
        let mut w = Windows::default();
        assert!(w.hit(&[("ip1", 1), ("site", 2)], 1));
        assert!(!w.hit(&[("ip1", 1), ("site", 2)], 1), "ip1 is full");
        assert!(w.hit(&[("ip2", 1), ("site", 2)], 1), "ip1's refusal did not use the site's budget");
        assert!(!w.hit(&[("ip3", 1), ("site", 2)], 1), "the site is full for everyone");
    }
}
