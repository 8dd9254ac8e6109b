//! The customer's local time: a US time zone (standard offset, daylight saving by the
//! 2007 rule), quiet hours, "the day before at 10".
//!
//! No date crate and no tz database: US zones are a standard offset and one rule. Civil
//! dates come from [`crate::servicetitan::time`]'s public functions (see the report for
//! the `days_from_civil` export that would make this shorter).

use serde::{Deserialize, Serialize};

use crate::booking::UnixSeconds;
use crate::servicetitan::{iso8601, parse_iso8601};

const DAY: i64 = 86_400;

/// A customer's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// Standard time's offset from UTC in minutes: -300 Eastern, -360 Central, -420
    /// Mountain, -480 Pacific, -540 Alaska, -600 Hawaii.
    pub utc_offset_minutes: i32,
    /// Clocks move by the US rule (second Sunday of March to first Sunday of November,
    /// at 2 a.m.); false for Arizona and Hawaii.
    #[serde(default = "yes")]
    pub us_dst: bool,
    /// A second standard offset the customer may be in (a state split between two
    /// zones, when only the state is known): quiet hours then hold in both.
    #[serde(default)]
    pub also_offset_minutes: Option<i32>,
}

fn yes() -> bool {
    true
}

impl Zone {
    /// A US zone with daylight saving.
    pub fn us(utc_offset_minutes: i32) -> Zone {
        Zone { utc_offset_minutes, us_dst: true, also_offset_minutes: None }
    }

    /// The zone of a US state or territory (two-letter code), for a customer whose
    /// location's state is all that is known. A state split between two zones gives the
    /// one most of its people live in, with the other as `also_offset_minutes`.
    pub fn for_us_state(code: &str) -> Option<Zone> {
        let code = code.trim().to_ascii_uppercase();
        let (offset, dst, also) = match code.as_str() {
            "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH" | "PA" | "RI" | "SC"
            | "VT" | "VA" | "WV" => (-300, true, None),
            "FL" | "IN" | "KY" | "MI" => (-300, true, Some(-360)),
            "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" => (-360, true, None),
            "TN" | "TX" | "KS" | "NE" | "ND" | "SD" => (-360, true, Some(if code == "TN" { -300 } else { -420 })),
            "CO" | "MT" | "NM" | "UT" | "WY" => (-420, true, None),
            "ID" => (-420, true, Some(-480)),
            "AZ" => (-420, false, None),
            "CA" | "WA" | "NV" => (-480, true, None),
            "OR" => (-480, true, Some(-420)),
            "AK" => (-540, true, Some(-600)),
            "HI" => (-600, false, None),
            "PR" | "VI" => (-240, false, None),
            "GU" | "MP" => (600, false, None),
            "AS" => (-660, false, None),
            _ => return None,
        };
        Some(Zone { utc_offset_minutes: offset, us_dst: dst, also_offset_minutes: also })
    }

    /// Seconds to add to UTC for local wall time at `t`.
    pub fn offset_at(self, t: UnixSeconds) -> i64 {
        let standard = i64::from(self.utc_offset_minutes) * 60;
        if !self.us_dst {
            return standard;
        }
        let local_standard = t + standard;
        let Some(year) = iso8601(local_standard).get(..4).and_then(|y| y.parse::<i32>().ok()) else {
            return standard;
        };
        let (Some(march), Some(november)) = (nth_sunday(year, 3, 2), nth_sunday(year, 11, 1)) else {
            return standard;
        };
        // Both edges in local standard time: 2:00 in March, 1:00 (2:00 daylight) in November.
        let summer = march + 2 * 3600 <= local_standard && local_standard < november + 3600;
        standard + if summer { 3600 } else { 0 }
    }

    /// Local wall time at `t`, as seconds since the epoch of the local calendar.
    pub fn local(self, t: UnixSeconds) -> i64 {
        t + self.offset_at(t)
    }

    /// The instant a local wall time happens. Only whole daytime hours are asked for
    /// here, never the 2 a.m. hour that daylight saving skips or repeats.
    pub fn instant(self, local: i64) -> UnixSeconds {
        let guess = local - i64::from(self.utc_offset_minutes) * 60;
        local - self.offset_at(guess)
    }

    /// The first instant at or after `t` that is inside `[start_hour, end_hour)` local
    /// (in both zones of a split state).
    pub(crate) fn next_allowed(self, t: UnixSeconds, hours: (i64, i64)) -> UnixSeconds {
        let Some(other) = self.also_offset_minutes else { return self.next_allowed_here(t, hours) };
        let other = Zone { utc_offset_minutes: other, also_offset_minutes: None, ..self };
        let mut t = t;
        // A few rounds settle it: each moves to the other zone's next allowed instant.
        for _ in 0..4 {
            let next = other.next_allowed_here(self.next_allowed_here(t, hours), hours);
            if next == t {
                return t;
            }
            t = next;
        }
        t
    }

    fn next_allowed_here(self, t: UnixSeconds, (start_hour, end_hour): (i64, i64)) -> UnixSeconds {
        let local = self.local(t);
        let second_of_day = local.rem_euclid(DAY);
        let midnight = local - second_of_day;
        if second_of_day >= start_hour * 3600 && second_of_day < end_hour * 3600 {
            t
        } else if second_of_day < start_hour * 3600 {
            self.instant(midnight + start_hour * 3600)
        } else {
            self.instant(midnight + DAY + start_hour * 3600)
        }
    }

    /// `days` days before the local day of `t`, at `hour` o'clock local.
    pub(crate) fn days_before_at(self, t: UnixSeconds, days: i64, hour: i64) -> UnixSeconds {
        let local = self.local(t);
        let midnight = local - local.rem_euclid(DAY);
        self.instant(midnight - days * DAY + hour * 3600)
    }
}

/// Midnight UTC of the `n`th Sunday of `month` in `year`, as Unix seconds.
fn nth_sunday(year: i32, month: u32, n: i64) -> Option<i64> {
    let first = parse_iso8601(&format!("{year:04}-{month:02}-01T00:00:00Z"))?;
    let days = first.div_euclid(DAY);
    // 1970-01-01 was a Thursday: weekday 4 with Sunday = 0.
    let weekday = (days + 4).rem_euclid(7);
    Some((days + (7 - weekday) % 7 + (n - 1) * 7) * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> UnixSeconds {
        parse_iso8601(s).unwrap()
    }

    #[test]
    fn us_daylight_saving_edges() {
        let central = Zone::us(-360);
        // 2026: March 8 and November 1. 2:00 CST on March 8 is 08:00 UTC.
        assert_eq!(central.offset_at(at("2026-03-08T07:59:59Z")), -6 * 3600);
        assert_eq!(central.offset_at(at("2026-03-08T08:00:00Z")), -5 * 3600);
        // 2:00 CDT on November 1 is 07:00 UTC.
        assert_eq!(central.offset_at(at("2026-11-01T06:59:59Z")), -5 * 3600);
        assert_eq!(central.offset_at(at("2026-11-01T07:00:00Z")), -6 * 3600);
        assert_eq!(Zone::for_us_state("az").unwrap().offset_at(at("2026-07-01T00:00:00Z")), -7 * 3600);
    }

    #[test]
    fn quiet_hours_wait_for_the_morning() {
        let central = Zone::us(-360);
        // 22:00 CDT on July 1 → 8:00 CDT on July 2 (13:00 UTC).
        assert_eq!(central.next_allowed(at("2026-07-02T03:00:00Z"), (8, 20)), at("2026-07-02T13:00:00Z"));
        // 6:00 CST → 8:00 CST the same day.
        assert_eq!(central.next_allowed(at("2026-01-05T12:00:00Z"), (8, 20)), at("2026-01-05T14:00:00Z"));
        let noon = at("2026-01-05T18:00:00Z");
        assert_eq!(central.next_allowed(noon, (8, 20)), noon);
        // Florida, Eastern with a Central panhandle: 8 a.m. Central, 8 p.m. Eastern.
        let florida = Zone::for_us_state("FL").unwrap();
        assert_eq!(florida.next_allowed(at("2026-01-05T12:30:00Z"), (8, 20)), at("2026-01-05T14:00:00Z"));
        assert_eq!(florida.next_allowed(at("2026-01-06T01:30:00Z"), (8, 20)), at("2026-01-06T14:00:00Z"));
        assert_eq!(florida.next_allowed(at("2026-01-05T20:00:00Z"), (8, 20)), at("2026-01-05T20:00:00Z"));
        assert_eq!(Zone::for_us_state("ZZ"), None);
        // The day before at 10 local.
        assert_eq!(central.days_before_at(at("2026-01-06T15:00:00Z"), 1, 10), at("2026-01-05T16:00:00Z"));
    }
}
