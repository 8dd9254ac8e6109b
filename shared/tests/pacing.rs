//! The tenant pacer on a virtual clock (issue 16 item 1): ServiceTitan's 60 calls per
//! second per (app key, tenant) held whatever the callers do; a 429 pauses only its
//! tenant; a long wait is handed back as a 429 nobody sent.

use booking_core::servicetitan::pacing::{Pacer, Slot, BURST, MAX_PAUSE_MS, RATE_PER_SECOND, SLEEP_LIMIT_MS};

/// Callers that each send at the time their slot says; returns the send times.
fn sends(pacer: &mut Pacer, asks: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut out = vec![];
    for now in asks {
        match pacer.slot(now) {
            Slot::Go => out.push(now),
            Slot::WaitMs(w) => out.push(now + w),
            Slot::Held { .. } => {}
        }
    }
    out.sort_unstable();
    out
}

/// The most sends in any window of one second.
fn busiest_second(times: &[i64]) -> usize {
    (0..times.len()).map(|i| times[i..].iter().take_while(|t| **t < times[i] + 1000).count()).max().unwrap_or(0)
}

#[test]
fn no_second_ever_sees_more_than_sixty_calls() {
    // Bursts of 40 callers every 300 ms for 20 s, far over the limit.
    let mut pacer = Pacer::new(0);
    let asks = (0..20_000).step_by(300).flat_map(|t| std::iter::repeat_n(t, 40));
    let times = sends(&mut pacer, asks);
    assert!(busiest_second(&times) <= 60, "{} calls in one second", busiest_second(&times));
    assert_eq!(BURST + RATE_PER_SECOND, 60);
    // Sustained, it runs at the refill rate (what is not slept is held, not lost).
    let last = *times.last().unwrap();
    let rate = times.len() as f64 * 1000.0 / last as f64;
    assert!((45.0..=61.0).contains(&rate), "{rate} calls/s");
}

#[test]
fn a_quiet_tenant_sends_a_burst_at_once_then_paces() {
    let mut pacer = Pacer::new(0);
    for _ in 0..BURST {
        assert_eq!(pacer.slot(5), Slot::Go);
    }
    assert_eq!(pacer.slot(5), Slot::WaitMs(20));
    assert_eq!(pacer.slot(5), Slot::WaitMs(40));
    // After a quiet second the bucket is full again, never fuller.
    for _ in 0..BURST {
        assert_eq!(pacer.slot(10_000), Slot::Go);
    }
    assert!(matches!(pacer.slot(10_000), Slot::WaitMs(_)));
}

#[test]
fn a_429_pauses_its_tenant_for_retry_after_and_not_the_other() {
    let (mut a, mut b) = (Pacer::new(0), Pacer::new(0));
    a.rate_limited(Some(5), 1_000);
    assert_eq!(a.slot(1_000), Slot::Held { retry_after_s: 5 });
    assert_eq!(b.slot(1_000), Slot::Go);
    // Within the sleep limit of the pause's end, the caller sleeps to the end.
    assert_eq!(a.slot(4_500), Slot::WaitMs(1_500));
    // After it, one call at a time: nothing saved up crosses the pause.
    assert!(matches!(a.slot(6_000), Slot::WaitMs(w) if w <= 20), "{:?}", a.slot(6_000));
}

#[test]
fn retry_after_absent_is_a_second_and_a_huge_one_is_capped() {
    let mut pacer = Pacer::new(0);
    pacer.rate_limited(None, 0);
    assert_eq!(pacer.slot(0), Slot::WaitMs(1_000));
    let mut pacer = Pacer::new(0);
    pacer.rate_limited(Some(86_400), 0);
    assert_eq!(pacer.slot(0), Slot::Held { retry_after_s: (MAX_PAUSE_MS / 1000) as u64 });
    assert!(matches!(pacer.slot(MAX_PAUSE_MS), Slot::Go | Slot::WaitMs(_)));
}

#[test]
fn a_held_slot_is_given_back_so_holding_never_starves_the_tenant() {
    let mut pacer = Pacer::new(0);
    pacer.rate_limited(Some(10), 0);
    for _ in 0..1_000 {
        assert!(matches!(pacer.slot(0), Slot::Held { .. }));
    }
    // A thousand refused askers did not push the next slot past the pause.
    assert!(matches!(pacer.slot(10_000 - SLEEP_LIMIT_MS / 2), Slot::WaitMs(w) if w <= SLEEP_LIMIT_MS));
}

#[test]
fn a_held_call_reads_as_servicetitans_429() {
    let resp = Slot::held_response(3);
    assert_eq!((resp.status, resp.retry_after), (429, Some(3)));
}
