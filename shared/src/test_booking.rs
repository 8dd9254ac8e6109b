//! The test booking of the seeds' step 6: one scripted conversation, the same wherever it
//! is sent from (the owner page's button). A homeowner nobody else is: a fresh name, a
//! house number and a 555-01xx number (fictional) derived from the time, so the booking
//! makes its own customer and a clean-up touches nothing else.

use serde_json::json;

use crate::site::SiteConfig;

/// The homeowner of a test booking made at `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestHomeowner {
    /// "Test Booking 3F2A".
    pub name: String,
    /// Ten digits, 612-555-0180..0199.
    pub phone: String,
    /// A street address in the site's service area.
    pub address: String,
}

/// The homeowner for a test booking on `site` at `now_ms`.
pub fn homeowner(site: &SiteConfig, now_ms: u64) -> TestHomeowner {
    // A ZIP the site serves, else one it names; a site that names none serves any ZIP, so
    // any real one does (Minneapolis').
    let (zip, city) = match (site.service_area_zips.first(), site.zip_cities.first()) {
        (Some(zip), _) => (zip.clone(), site.zip_cities.get(zip).cloned().unwrap_or_default()),
        (None, Some((zip, city))) => (zip.to_string(), city.to_string()),
        (None, None) => ("55416".to_string(), String::new()),
    };
    let place = if city.is_empty() { zip } else { format!("{city} {zip}") };
    TestHomeowner {
        name: format!("Test Booking {:04X}", now_ms % 0xFFFF),
        phone: format!("61255501{:02}", 80 + now_ms % 20),
        address: format!("{} Birch Ave, {place}", 1000 + now_ms % 8000),
    }
}

/// The submission body, as the widget would post it: the homeowner's turns only, a
/// key of its own (`owner-test-<ms>`).
pub fn submission_json(site: &SiteConfig, now_ms: u64) -> String {
    let h = homeowner(site, now_ms);
    let p = &h.phone;
    let said = [
        "My AC stopped cooling, can you come tomorrow morning?".to_string(),
        h.name.clone(),
        format!("{}-{}-{}", p.get(..3).unwrap_or(""), p.get(3..6).unwrap_or(""), p.get(6..).unwrap_or("")),
        h.address.clone(),
        "yes".to_string(),
        "Book it".to_string(),
    ];
    let at = (now_ms / 1000) as i64;
    let turns: Vec<_> = said.iter().enumerate().map(|(i, t)| json!({"text": t, "at": at + i as i64})).collect();
    json!({"idempotencyKey": format!("owner-test-{now_ms}"), "turns": turns, "locale": "en"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Channel;
    use crate::conversation::replay_submission;
    use crate::submission::Submission;

    fn northstar() -> SiteConfig {
        SiteConfig::from_json(include_str!("../../examples/sites/northstar.json")).expect("northstar parses")
    }

    #[test]
    fn the_test_booking_replays_to_a_booking_of_its_own_homeowner() {
        let site = northstar();
        for now_ms in [1_800_000_000_000, 1_800_000_123_457] {
            let sub = Submission::parse(submission_json(&site, now_ms).as_bytes()).expect("a valid submission");
            let (_, booked) = replay_submission(site.public(), Channel::Chat, sub.locale, &sub.turns, 1_800_000_100);
            let request = booked.expect("the scripted conversation books");
            let h = homeowner(&site, now_ms);
            assert_eq!(request.phone.digits, h.phone);
            assert!(h.address.ends_with(&request.address.zip), "{:?}", request.address);
        }
    }
}
