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
pub fn capacity_request(site: &SiteConfig, tenant: i64, business_unit: i64, job_type: i64, zip: &str, now: UnixSeconds) -> Option<StRequest> {
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
    let Some(cap) = parse::<CapacityOut>(body) else { return vec![] };
    let open: Vec<(i64, i64)> = cap
        .availabilities
        .iter()
        .filter(|a| a.open_availability > 0.0 && !a.is_exceeding_ideal_booking_percentage)
        .filter(|a| a.business_unit_ids.is_empty() || a.business_unit_ids.contains(&business_unit))
        .filter_map(|a| Some((parse_iso8601(&a.start)?, parse_iso8601(&a.end)?)))
        .collect();
    let first = local_day(site, now);
    let mut out = Vec::new();
    for day in first..=first + DAYS_AHEAD {
        for (_, w) in windows_on(site, day) {
            if w.start >= now + LEAD_TIME && open.iter().any(|(s, e)| *s < w.end && *e > w.start) && !out.contains(&w) {
                out.push(w);
                if out.len() == MAX_OFFERED {
                    return out;
                }
            }
        }
    }
    out
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
