//! A contractor site's configuration: one JSON file per site (`examples/sites/*.json`).
//!
//! It holds no secrets: ServiceTitan credentials live only in the worker's secrets; the
//! config names which ones (`serviceTitan`, [`crate::servicetitan::tenant`]).
//! [`SiteConfig::public`] is the part the widget may see.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::booking::{Locale, Trade};

/// What the pipeline creates in ServiceTitan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BookingMode {
    /// Only a booking through the booking provider; the office converts it.
    #[serde(rename = "booking")]
    Booking,
    /// Customer, location and job directly.
    #[serde(rename = "job")]
    #[default]
    Job,
    /// A job, and a booking record as well so the office sees the source.
    #[serde(rename = "job+booking")]
    JobAndBooking,
}

/// Where a trade's work goes in ServiceTitan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeRoute {
    /// The trade.
    pub trade: Trade,
    /// Business unit for this trade's jobs.
    pub business_unit_id: i64,
    /// Job type for repair / service visits.
    pub job_type_id: i64,
    /// Job type for estimates ("how much for a new AC").
    pub estimate_job_type_id: i64,
}

/// A named arrival window in the site's local time, e.g. morning 8:00-12:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalWindow {
    /// "morning", "afternoon" or "evening".
    pub name: String,
    /// Start hour, local, 0-23.
    pub start_hour: u8,
    /// End hour, local, 1-24.
    pub end_hour: u8,
}

/// ZIP → city for the ZIPs the contractor knows, as pairs looked up one by one (a site
/// knows a handful). Not a `BTreeMap<String, String>`: a second key/value type of
/// BTreeMap in the widget cost it the whole B-tree code again (~5 KB of wasm). The JSON
/// shape is still an object, `{"55416": "Minneapolis"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZipCities(Vec<(String, String)>);

impl ZipCities {
    /// The city of `zip`, if the site knows it.
    pub fn get(&self, zip: &str) -> Option<&String> {
        self.0.iter().find(|(z, _)| z == zip).map(|(_, city)| city)
    }

    /// The first ZIP the site names, with its city.
    pub fn first(&self) -> Option<(&str, &str)> {
        self.0.first().map(|(z, c)| (z.as_str(), c.as_str()))
    }

    /// Adds or replaces the city of `zip`.
    pub fn insert(&mut self, zip: String, city: String) {
        match self.0.iter_mut().find(|(z, _)| *z == zip) {
            Some(pair) => pair.1 = city,
            None => self.0.push((zip, city)),
        }
    }
}

impl Serialize for ZipCities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(z, c)| (z, c)))
    }
}

impl<'de> Deserialize<'de> for ZipCities {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a map so that a repeated ZIP keeps one city, as before.
        Ok(ZipCities(BTreeMap::<String, String>::deserialize(d)?.into_iter().collect()))
    }
}

/// One contractor site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteConfig {
    /// Short id used in URLs: `/v1/sites/{id}/...`.
    pub id: String,
    /// The business name shown in the widget.
    pub business_name: String,
    /// Brand colour, `#rrggbb`.
    pub brand_color: String,
    /// First message, per locale; a default is used when absent.
    #[serde(default)]
    pub greeting: BTreeMap<Locale, String>,
    /// Languages offered; the first is the default.
    pub locales: Vec<Locale>,
    /// Office phone, digits, for hand-off and declines.
    pub office_phone: String,
    /// Office hours as people read them: "Mon-Fri 7am-6pm".
    pub office_hours: String,
    /// Offset of the site's local time from UTC, in minutes (e.g. -360 for CST).
    pub utc_offset_minutes: i32,
    /// Origins allowed to call the worker for this site (CORS).
    pub allowed_origins: Vec<String>,
    /// ZIP codes served; empty means "anywhere".
    #[serde(default)]
    pub service_area_zips: Vec<String>,
    /// ZIP → city for the ZIPs the contractor knows: the city is then never asked (the
    /// state never is when a ZIP was given: its prefix says it).
    #[serde(default)]
    pub zip_cities: ZipCities,
    /// What the pipeline creates.
    pub mode: BookingMode,
    /// The booking provider id ServiceTitan assigned to this integration.
    pub booking_provider_id: i64,
    /// Trade → business unit and job types.
    pub trades: Vec<TradeRoute>,
    /// Campaign used when no UTM source matches.
    pub default_campaign_id: i64,
    /// utm_source (lowercase) → campaign id.
    #[serde(default)]
    pub campaigns_by_utm_source: BTreeMap<String, i64>,
    /// The site's arrival windows.
    pub arrival_windows: Vec<LocalWindow>,
    /// Whether the widget offers windows from live availability.
    #[serde(default)]
    pub offer_availability: bool,
    /// How far ahead a homeowner may book, in days: a picked window later than this is
    /// refused.
    #[serde(default = "default_horizon_days")]
    pub booking_horizon_days: u16,
    /// Job custom field that receives the referral code, if configured.
    #[serde(default)]
    pub referral_custom_field_id: Option<i64>,
    /// Page URL parameter carrying a referral code (besides utm_content).
    #[serde(default)]
    pub referral_param: Option<String>,
    /// Where "Session Completed" / "Qualified Abandoned Session" webhooks go.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The phone agent's settings (transfer numbers, recording).
    #[serde(default)]
    pub voice: crate::voice::VoiceSettings,
    /// Follow-up recipes and their timing.
    #[serde(default)]
    pub follow_ups: crate::followup::FollowUpSettings,
    /// Which ServiceTitan tenant the site books into: the environment and the names of
    /// the worker secrets holding its credentials (never their values); the deployment's
    /// global `ST_*` secrets when absent.
    #[serde(default)]
    pub service_titan: crate::servicetitan::tenant::ServiceTitanConnection,
}

/// Thirty days: what a homeowner books from a chat is a visit, not a season.
fn default_horizon_days() -> u16 {
    30
}

/// What the widget may know about a site: no ids of the tenant, no webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicSiteConfig {
    /// Site id.
    pub id: String,
    /// Business name.
    pub business_name: String,
    /// Brand colour.
    pub brand_color: String,
    /// Greeting per locale.
    pub greeting: BTreeMap<Locale, String>,
    /// Locales offered.
    pub locales: Vec<Locale>,
    /// Office phone.
    pub office_phone: String,
    /// Office hours.
    pub office_hours: String,
    /// UTC offset of the site, minutes.
    pub utc_offset_minutes: i32,
    /// ZIPs served (empty: anywhere).
    pub service_area_zips: Vec<String>,
    /// ZIP → city, for the ZIPs whose city is not asked.
    #[serde(default)]
    pub zip_cities: ZipCities,
    /// Trades the site books.
    pub trades: Vec<Trade>,
    /// Arrival windows.
    pub arrival_windows: Vec<LocalWindow>,
    /// Whether to offer live availability.
    pub offer_availability: bool,
    /// How far ahead a window may be booked, days.
    #[serde(default = "default_horizon_days")]
    pub booking_horizon_days: u16,
    /// URL parameter that carries a referral code.
    pub referral_param: Option<String>,
}

/// Why a site config was refused: where (a JSON path such as `trades[0].jobTypeId`, `.`
/// for the whole document) and why, in the owner's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The JSON path of the value refused.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl ConfigError {
    fn at(path: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError { path: path.into(), reason: reason.into() }
    }
}

/// Parses one site config against its contract (`examples/sites/schema.json`): a wrong
/// type, a missing field, an unknown field (a typo would otherwise fall back to a default
/// silently; `$schema` at the top is allowed for editors) or a value the booking would
/// trip on later is refused with its path, so a worker never books against half a config.
pub fn parse_config(json: &str) -> Result<SiteConfig, ConfigError> {
    // serde reads a struct from an array too (fields by position): a site is an object.
    if json.trim_start().starts_with('[') {
        return Err(ConfigError::at(".", "a site config must be a JSON object, not an array"));
    }
    let mut unknown: Option<String> = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let mut note = |path: serde_ignored::Path<'_>| {
        let path = ignored_path(&path);
        if unknown.is_none() && path != "$schema" {
            unknown = Some(path);
        }
    };
    let ignored = serde_ignored::Deserializer::new(&mut de, &mut note);
    let site: SiteConfig = serde_path_to_error::deserialize(ignored).map_err(|e| {
        // A map key that does not parse is "greeting.?" to serde_path_to_error; the
        // reason names the key.
        let mut path = e.path().to_string();
        while let Some(p) = path.strip_suffix(".?") {
            path = p.to_string();
        }
        ConfigError::at(path, serde_reason(&e.inner().to_string()))
    })?;
    de.end().map_err(|e| ConfigError::at(".", serde_reason(&e.to_string())))?;
    if let Some(path) = unknown {
        return Err(ConfigError::at(path, "unknown field (misspelled? see examples/sites/schema.json)"));
    }
    if let (Ok(given), Ok(read)) = (serde_json::from_str(json), serde_json::to_value(&site)) {
        if let Some(path) = array_for_object(&given, &read, "") {
            return Err(ConfigError::at(path, "must be a JSON object, not an array"));
        }
    }
    site.check()?;
    Ok(site)
}

/// The first path where the config gave an array for what is an object (serde reads a
/// struct from an array too, its fields by position; the schema does not, nor do we).
fn array_for_object(given: &serde_json::Value, read: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (given, read) {
        (Value::Array(_), Value::Object(_)) => Some(if path.is_empty() { ".".into() } else { path.into() }),
        (Value::Object(g), Value::Object(r)) => {
            g.iter().find_map(|(k, v)| r.get(k).and_then(|rv| array_for_object(v, rv, &at(k))))
        }
        (Value::Array(g), Value::Array(r)) => {
            g.iter().zip(r).enumerate().find_map(|(i, (v, rv))| array_for_object(v, rv, &format!("{path}[{i}]")))
        }
        _ => None,
    }
}

/// serde_ignored's path in the same notation as serde_path_to_error's: `a.b[0].c`.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let p = ignored_path(parent);
            if p.is_empty() {
                key.clone()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// serde_json's message without its " at line 3 column 5" tail (the path says where).
fn serde_reason(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl SiteConfig {
    /// Parses a site file and checks what serde cannot ([`parse_config`], its error as
    /// one line).
    pub fn from_json(text: &str) -> Result<SiteConfig, String> {
        parse_config(text).map_err(|e| e.to_string())
    }

    /// [`SiteConfig::validate`] with the JSON path of what is wrong.
    fn check(&self) -> Result<(), ConfigError> {
        if self.id.is_empty() || !self.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ConfigError::at("id", format!("{:?} must be letters, digits and '-'", self.id)));
        }
        let hex = self.brand_color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::at("brandColor", format!("{:?} must be #rrggbb", self.brand_color)));
        }
        if self.business_name.is_empty() {
            return Err(ConfigError::at("businessName", "must not be empty"));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(ConfigError::at("utcOffsetMinutes", "must be between -720 and 840 minutes"));
        }
        let empty = [("locales", self.locales.is_empty()), ("trades", self.trades.is_empty())];
        let empty = empty.into_iter().chain([("arrivalWindows", self.arrival_windows.is_empty())]);
        if let Some((path, _)) = empty.into_iter().find(|(_, e)| *e) {
            return Err(ConfigError::at(path, "needs at least one entry"));
        }
        if let Some((field, name)) = self.service_titan.bad_name() {
            return Err(ConfigError::at(
                format!("serviceTitan.{field}"),
                format!("{name:?} is no secret name: letters, digits and '_', not starting with a digit"),
            ));
        }
        for (i, w) in self.arrival_windows.iter().enumerate() {
            if w.start_hour > 23 {
                return Err(ConfigError::at(format!("arrivalWindows[{i}].startHour"), "must be 0-23"));
            }
            if w.start_hour >= w.end_hour || w.end_hour > 24 {
                return Err(ConfigError::at(
                    format!("arrivalWindows[{i}].endHour"),
                    format!("window {:?} must end after it starts, at 24 at the latest", w.name),
                ));
            }
        }
        Ok(())
    }

    /// Rejects a config that would fail only later, at booking time.
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|e| e.to_string())
    }

    /// The route for a trade, if the site books it.
    pub fn route(&self, trade: Trade) -> Option<&TradeRoute> {
        self.trades.iter().find(|r| r.trade == trade)
    }

    /// Campaign for a utm_source, else the default.
    pub fn campaign_for(&self, utm_source: Option<&str>) -> i64 {
        utm_source
            .and_then(|s| self.campaigns_by_utm_source.get(&s.trim().to_ascii_lowercase()))
            .copied()
            .unwrap_or(self.default_campaign_id)
    }

    /// The subset safe to send to browsers.
    pub fn public(&self) -> PublicSiteConfig {
        PublicSiteConfig {
            id: self.id.clone(),
            business_name: self.business_name.clone(),
            brand_color: self.brand_color.clone(),
            greeting: self.greeting.clone(),
            locales: self.locales.clone(),
            office_phone: self.office_phone.clone(),
            office_hours: self.office_hours.clone(),
            utc_offset_minutes: self.utc_offset_minutes,
            service_area_zips: self.service_area_zips.clone(),
            zip_cities: self.zip_cities.clone(),
            trades: self.trades.iter().map(|r| r.trade).collect(),
            arrival_windows: self.arrival_windows.clone(),
            offer_availability: self.offer_availability,
            booking_horizon_days: self.booking_horizon_days,
            referral_param: self.referral_param.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_cities_keep_the_json_object_shape() {
        let z: ZipCities =
            serde_json::from_str(r#"{"55416":"Minneapolis","55401":"Minneapolis","55343":"Hopkins"}"#).unwrap();
        assert_eq!(z.get("55343").map(String::as_str), Some("Hopkins"));
        assert_eq!(z.get("99999"), None);
        let back: BTreeMap<String, String> = serde_json::from_str(&serde_json::to_string(&z).unwrap()).unwrap();
        assert_eq!(back.len(), 3);
        let mut z = z;
        z.insert("55343".into(), "Minnetonka".into());
        assert_eq!(z.get("55343").map(String::as_str), Some("Minnetonka"));
    }
}
