//! Arrival windows: from live capacity (dispatch `POST /capacity`) or, without it, from
//! the homeowner's stated preference mapped onto the site's windows. Sans-IO: the
//! caller passes `now` and sends the request itself.
//!
//! The 2022 capacity API filters by business unit and job type, not by ZIP; the ZIP is
//! checked against the site's service area before asking (see [`capacity_request`]).

use crate::booking::{ArrivalWindow, DayPart, DayPreference, PreferredTime, UnixSeconds};
use crate::site::{LocalWindow, SiteConfig};

use super::models::{parse, CapacityOut, CapacityQuery};
use super::time::{iso8601, parse_iso8601};
use super::{Method, StRequest};

/// How many windows we offer.
pub const MAX_OFFERED: usize = 3;
/// Days ahead we look.
pub const DAYS_AHEAD: i64 = 7;
/// A window must start at least this long after now: nobody can be there sooner.
pub const LEAD_TIME: i64 = 3600;

/// The capacity query for a business unit and job type over the next [`DAYS_AHEAD`]
/// days. `None` when the ZIP is outside the site's service area.
pub fn capacity_request(
    site: &SiteConfig,
    tenant: i64,
    business_unit: i64,
    job_type: i64,
    zip: &str,
    now: UnixSeconds,
) -> Option<StRequest> {
    let zip5: String = zip.chars().filter(char::is_ascii_digit).take(5).collect();
    if !site.service_area_zips.is_empty() && !site.service_area_zips.iter().any(|z| z == &zip5) {
        return None;
    }
    let body = CapacityQuery {
        starts_on_or_after: iso8601(now),
        ends_on_or_before: iso8601(now + DAYS_AHEAD * 86400),
        business_unit_ids: vec![business_unit],
        job_type_id: job_type,
        skill_based_availability: false,
    };
    Some(StRequest {
        method: Method::Post,
        path: format!("/dispatch/v2/tenant/{tenant}/capacity"),
        query: vec![],
        body: serde_json::to_value(body).ok(),
        fresh_token: false,
    })
}

/// The site's windows, as UTC, for the local day `day` (days since epoch, local).
fn windows_on(site: &SiteConfig, day: i64) -> impl Iterator<Item = (&LocalWindow, ArrivalWindow)> + '_ {
    let offset = site.utc_offset_minutes as i64 * 60;
    site.arrival_windows.iter().map(move |w| {
        let start = day * 86400 + w.start_hour as i64 * 3600 - offset;
        let end = day * 86400 + w.end_hour as i64 * 3600 - offset;
        (w, ArrivalWindow { start, end })
    })
}

fn local_day(site: &SiteConfig, t: UnixSeconds) -> i64 {
    (t + site.utc_offset_minutes as i64 * 60).div_euclid(86400)
}

/// Up to three site windows that overlap open capacity for `business_unit`, earliest
/// first, starting at least [`LEAD_TIME`] after `now`. A malformed body gives none.
pub fn offered_windows(site: &SiteConfig, business_unit: i64, body: &str, now: UnixSeconds) -> Vec<ArrivalWindow> {
    let Some(open) = open_slices(business_unit, body) else { return vec![] };
    let mut out = open_windows(site, &open, now);
    out.truncate(MAX_OFFERED);
    out
}

/// The capacity slices (start, end) open for booking for `business_unit`; `None` when
/// the body cannot be read.
fn open_slices(business_unit: i64, body: &str) -> Option<Vec<(i64, i64)>> {
    let cap = parse::<CapacityOut>(body)?;
    Some(
        cap.availabilities
            .iter()
            .filter(|a| a.open_availability > 0.0 && !a.is_exceeding_ideal_booking_percentage)
            .filter(|a| a.business_unit_ids.is_empty() || a.business_unit_ids.contains(&business_unit))
            .filter_map(|a| Some((parse_iso8601(&a.start)?, parse_iso8601(&a.end)?)))
            .collect(),
    )
}

fn overlaps_open(open: &[(i64, i64)], w: ArrivalWindow) -> bool {
    open.iter().any(|(s, e)| *s < w.end && *e > w.start)
}

/// Every site window over the next [`DAYS_AHEAD`] days that overlaps open capacity and
/// starts at least [`LEAD_TIME`] after `now`, earliest first.
fn open_windows(site: &SiteConfig, open: &[(i64, i64)], now: UnixSeconds) -> Vec<ArrivalWindow> {
    let first = local_day(site, now);
    let mut out = Vec::new();
    for day in first..=first + DAYS_AHEAD {
        for (_, w) in windows_on(site, day) {
            if w.start >= now + LEAD_TIME && overlaps_open(open, w) && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// The chosen window, re-checked against live capacity right before booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCheck {
    /// Still open: book it as promised.
    Still,
    /// Taken meanwhile: this is the next open window after it; book that and tell the
    /// homeowner.
    Moved(ArrivalWindow),
    /// Taken, and nothing open after it: book without a window, the office confirms.
    Gone,
}

/// Re-checks `window` (the one the homeowner chose) against a fresh capacity answer
/// (the body of [`capacity_request`]) just before booking.
///
/// Still when it overlaps open capacity and starts at least
/// [`STILL_REACHABLE`](super::pipeline::STILL_REACHABLE) from now (not the offering lead
/// time: a window picked at the edge of it stays bookable a minute later), and also when
/// capacity cannot tell (an unreadable body: no news is no reason to move a homeowner).
/// Otherwise the first open window that starts after the chosen one's start
/// ([`WindowCheck::Moved`]), never an earlier one (a homeowner who chose Thursday did so
/// for a reason), else Gone. A window past the [`DAYS_AHEAD`] the query covers was never
/// offered from it, so it is Gone too (the office confirms): taking it on trust let a
/// crafted turn book a Sunday two weeks out (abuse bench).
pub fn recheck(
    site: &SiteConfig,
    business_unit: i64,
    window: ArrivalWindow,
    body: &str,
    now: UnixSeconds,
) -> WindowCheck {
    let Some(open) = open_slices(business_unit, body) else { return WindowCheck::Still };
    let reachable = window.start >= now + super::pipeline::STILL_REACHABLE;
    if reachable && window.start <= now + DAYS_AHEAD * 86400 && overlaps_open(&open, window) {
        return WindowCheck::Still;
    }
    match open_windows(site, &open, now).into_iter().find(|w| w.start > window.start) {
        Some(w) => WindowCheck::Moved(w),
        None => WindowCheck::Gone,
    }
}

fn part_name(p: DayPart) -> &'static str {
    match p {
        DayPart::Morning => "morning",
        DayPart::Afternoon => "afternoon",
        DayPart::Evening => "evening",
    }
}

/// The first site window matching the homeowner's preference, or `None` when they gave
/// no preference at all (then the office schedules: the pipeline books a booking).
/// "Tomorrow morning" → tomorrow's morning window; "Thursday" → Thursday's first window;
/// "afternoon" → the next afternoon window; "ASAP"/"today" → the next window today or later.
pub fn window_for_preference(site: &SiteConfig, pref: PreferredTime, now: UnixSeconds) -> Option<ArrivalWindow> {
    if pref.day.is_none() && pref.part.is_none() {
        return None;
    }
    let today = local_day(site, now);
    // 1970-01-01 was a Thursday: weekday 0 = Monday → (day + 3) % 7.
    let weekday = |d: i64| (d + 3).rem_euclid(7) as u8;
    let part_ok = |w: &LocalWindow| pref.part.is_none_or(|p| w.name.eq_ignore_ascii_case(part_name(p)));
    for day in today..=today + DAYS_AHEAD {
        let day_ok = match pref.day {
            None | Some(DayPreference::Asap) | Some(DayPreference::Today) => true,
            Some(DayPreference::Tomorrow) => day > today,
            Some(DayPreference::Weekday(n)) => weekday(day) == n,
        };
        if !day_ok {
            continue;
        }
        if let Some((_, w)) = windows_on(site, day).find(|(lw, w)| part_ok(lw) && w.start >= now + LEAD_TIME) {
            return Some(w);
        }
    }
    None
}
