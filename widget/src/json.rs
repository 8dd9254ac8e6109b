//! JSON through the browser's own `JSON.parse` and `JSON.stringify`, read and written
//! field by field. serde_json with its derives cost the widget about a quarter of its
//! wasm (its parser, a visitor per type, and the float formatting its errors pull in);
//! the browser already has a JSON parser, so the wasm only names fields.
//!
//! The shapes are booking-core's serde shapes (camelCase); the worker still parses
//! them with serde, and the browser tests post real bookings through it, so a drift
//! fails there.

use std::collections::BTreeMap;

use booking_core::booking::{ArrivalWindow, Locale, Trade};
use booking_core::conversation::UserTurn;
use booking_core::site::{LocalWindow, PublicSiteConfig, ZipCities};
use booking_core::submission::{BookingReply, ReplyStatus};
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// A parsed JSON value, read field by field. A missing or mistyped field reads as
/// absent, as serde's `default` would.
pub(crate) struct Js(pub(crate) JsValue);

impl Js {
    /// An object from JSON text; anything else is `None`.
    pub(crate) fn parse(text: &str) -> Option<Js> {
        JSON::parse(text).ok().filter(JsValue::is_object).map(Js)
    }
    pub(crate) fn get(&self, key: &str) -> Js {
        Js(Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED))
    }
    pub(crate) fn str(&self, key: &str) -> Option<String> {
        self.get(key).0.as_string()
    }
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        self.get(key).0.as_f64().filter(|n| n.is_finite()).map(|n| n as i64)
    }
    pub(crate) fn bool(&self, key: &str) -> bool {
        self.get(key).0.as_bool().unwrap_or(false)
    }
    pub(crate) fn list(&self, key: &str) -> Vec<Js> {
        let v = self.get(key).0;
        if Array::is_array(&v) {
            Array::from(&v).iter().map(Js).collect()
        } else {
            Vec::new()
        }
    }
    pub(crate) fn strs(&self, key: &str) -> Vec<String> {
        self.list(key).into_iter().filter_map(|v| v.0.as_string()).collect()
    }
}

/// An object being built for `JSON.stringify`. `None` fields are left out.
pub(crate) struct Out(Object);

impl Out {
    pub(crate) fn new() -> Out {
        Out(Object::new())
    }
    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Out {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }
    pub(crate) fn opt(self, key: &str, value: Option<impl Into<JsValue>>) -> Out {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
    pub(crate) fn text(&self) -> String {
        JSON::stringify(&self.0).ok().and_then(|s| s.as_string()).unwrap_or_default()
    }
}

impl From<Out> for JsValue {
    fn from(o: Out) -> JsValue {
        o.0.into()
    }
}

/// A JS array from values.
pub(crate) fn array<T: Into<JsValue>>(items: impl IntoIterator<Item = T>) -> JsValue {
    items.into_iter().map(Into::into).collect::<Array>().into()
}

/// `zipCities`: ZIP → city, inserted one by one (no sort in the wasm).
fn zip_cities(z: &Js) -> ZipCities {
    let mut out = ZipCities::default();
    if z.0.is_object() {
        for k in Object::keys(z.0.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()) {
            if let Some(city) = z.str(&k) {
                out.insert(k, city);
            }
        }
    }
    out
}

/// `GET /config`'s body (booking-core's `PublicSiteConfig`).
pub(crate) fn site_config(j: &Js) -> Option<PublicSiteConfig> {
    let g = j.get("greeting");
    // Inserted one by one: `collect` into a BTreeMap sorts, which costs the wasm a sort.
    let mut greeting = BTreeMap::new();
    for l in [Locale::En, Locale::Es] {
        if let Some(text) = g.str(l.code()) {
            greeting.insert(l, text);
        }
    }
    let locales: Vec<Locale> = j.strs("locales").iter().filter_map(|c| Locale::from_code(c)).collect();
    Some(PublicSiteConfig {
        id: j.str("id")?,
        business_name: j.str("businessName")?,
        brand_color: j.str("brandColor").unwrap_or_default(),
        greeting,
        office_phone: j.str("officePhone").unwrap_or_default(),
        office_hours: j.str("officeHours").unwrap_or_default(),
        utc_offset_minutes: j.int("utcOffsetMinutes").unwrap_or(0) as i32,
        service_area_zips: j.strs("serviceAreaZips"),
        zip_cities: zip_cities(&j.get("zipCities")),
        trades: j.strs("trades").iter().filter_map(|c| Trade::from_code(c)).collect(),
        arrival_windows: j
            .list("arrivalWindows")
            .iter()
            .map(|w| LocalWindow {
                name: w.str("name").unwrap_or_default(),
                start_hour: w.int("startHour").unwrap_or(0) as u8,
                end_hour: w.int("endHour").unwrap_or(0) as u8,
            })
            .collect(),
        offer_availability: j.bool("offerAvailability"),
        // booking-core's default when the worker leaves it out.
        booking_horizon_days: j.int("bookingHorizonDays").map_or(30, |d| d.clamp(0, 365) as u16),
        referral_param: j.str("referralParam"),
        locales: if locales.is_empty() { vec![Locale::En] } else { locales },
    })
}

/// `POST /bookings`' answer. Anything unreadable is "received": the worker has it. The
/// promised window is left out: the worker's sentence already says it.
pub(crate) fn booking_reply(j: &Js) -> BookingReply {
    BookingReply {
        status: if j.str("status").as_deref() == Some("booked") { ReplyStatus::Booked } else { ReplyStatus::Received },
        reference: j.str("reference").unwrap_or_default(),
        message: j.str("message").unwrap_or_default(),
        window: None,
    }
}

pub(crate) fn status_code(s: ReplyStatus) -> &'static str {
    match s {
        ReplyStatus::Booked => "booked",
        ReplyStatus::Received => "received",
    }
}

pub(crate) fn booking_reply_out(r: &BookingReply) -> Out {
    Out::new()
        .set("status", status_code(r.status))
        .set("reference", r.reference.as_str())
        .set("message", r.message.as_str())
}

pub(crate) fn turns_out(turns: &[UserTurn]) -> JsValue {
    array(turns.iter().map(|t| Out::new().set("text", t.text.as_str()).set("at", t.at as f64)))
}

pub(crate) fn turns(j: &Js, key: &str) -> Vec<UserTurn> {
    j.list(key).iter().filter_map(|t| Some(UserTurn { text: t.str("text")?, at: t.int("at")? })).collect()
}

pub(crate) fn windows(j: &Js, key: &str) -> Vec<ArrivalWindow> {
    j.list(key).iter().filter_map(|w| Some(ArrivalWindow { start: w.int("start")?, end: w.int("end")? })).collect()
}
