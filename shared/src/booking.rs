//! The values a finished conversation hands to the booking pipeline.
//!
//! A [`BookingRequest`] is only built by [`crate::conversation`] once every required
//! detail is known and the homeowner confirmed; the pipeline takes it by value, so
//! "is this booking complete?" is answered by the type, not by `Option` checks.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, UTC. Passed in by the shell; the core has no clock.
pub type UnixSeconds = i64;

/// The trade a homeowner's problem belongs to, in the contractor's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trade {
    /// Heating, ventilation and air conditioning.
    Hvac,
    /// Plumbing, water heaters, drains.
    Plumbing,
    /// Electrical.
    Electrical,
    /// Roofing.
    Roofing,
}

impl Trade {
    /// Every trade, in display order.
    pub const ALL: [Trade; 4] = [Trade::Hvac, Trade::Plumbing, Trade::Electrical, Trade::Roofing];

    /// The name a contractor uses.
    pub fn label(self) -> &'static str {
        match self {
            Trade::Hvac => "HVAC",
            Trade::Plumbing => "Plumbing",
            Trade::Electrical => "Electrical",
            Trade::Roofing => "Roofing",
        }
    }

    /// The name on the wire and in site files (its serde name): "hvac", "plumbing", ...
    pub fn code(self) -> &'static str {
        match self {
            Trade::Hvac => "hvac",
            Trade::Plumbing => "plumbing",
            Trade::Electrical => "electrical",
            Trade::Roofing => "roofing",
        }
    }

    /// The trade for a [`Trade::code`].
    pub fn from_code(code: &str) -> Option<Trade> {
        Trade::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// Whether the homeowner wants a repair visit or a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VisitKind {
    /// Something is broken or needs service.
    #[default]
    Service,
    /// "How much for a new water heater": book the estimate job type.
    Estimate,
}

/// ServiceTitan's priority values (jobs, bookings and leads share them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, PartialOrd, Ord)]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    #[default]
    Normal,
    /// High.
    High,
    /// Urgent: emergencies (gas smell, CO alarm, flooding, sparks).
    Urgent,
}

impl Priority {
    /// The wire value ServiceTitan expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }
}

/// A person's name as the homeowner gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PersonName {
    /// Given name.
    pub first: String,
    /// Family name; may be empty when only one word was given.
    pub last: String,
}

impl PersonName {
    /// "First Last", as ServiceTitan shows a residential customer.
    pub fn full(&self) -> String {
        if self.last.is_empty() {
            self.first.clone()
        } else {
            format!("{} {}", self.first, self.last)
        }
    }
}

/// A 10-digit NANP number plus an optional extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Phone {
    /// Exactly ten ASCII digits, no country code.
    pub digits: String,
    /// Extension digits, if any.
    pub extension: Option<String>,
}

impl Phone {
    /// "(612) 555-0143", for people.
    pub fn display(&self) -> String {
        let d = &self.digits;
        // `get`, not `&d[..]`: slicing a str can panic, and its panic code (with char
        // formatting) would be in the widget's wasm for these three slices alone.
        let (Some(area), Some(exchange), Some(line)) = (d.get(..3), d.get(3..6), d.get(6..)) else { return d.clone() };
        if d.len() != 10 {
            return d.clone();
        }
        let base = format!("({area}) {exchange}-{line}");
        match &self.extension {
            Some(x) => format!("{base} ext. {x}"),
            None => base,
        }
    }
}

/// A US service address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    /// House number and street, e.g. "4417 W Lake St".
    pub street: String,
    /// Apartment, suite or unit, e.g. "Apt 2B".
    pub unit: Option<String>,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// Five-digit ZIP.
    pub zip: String,
}

impl Address {
    /// One line for summaries: "4417 W Lake St Apt 2B, Minneapolis, MN 55416".
    pub fn one_line(&self) -> String {
        let mut s = self.street.clone();
        if let Some(u) = &self.unit {
            s.push(' ');
            s.push_str(u);
        }
        let place = [self.city.as_str(), self.state.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if !place.is_empty() {
            s.push_str(", ");
            s.push_str(&place);
        }
        if !self.zip.is_empty() {
            s.push(' ');
            s.push_str(&self.zip);
        }
        s
    }
}

/// When the homeowner would like the visit, as they said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayPreference {
    /// As soon as possible.
    Asap,
    /// Today.
    Today,
    /// Tomorrow.
    Tomorrow,
    /// A weekday: 0 = Monday .. 6 = Sunday.
    Weekday(u8),
}

/// Part of the day the homeowner prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayPart {
    /// Morning.
    Morning,
    /// Afternoon.
    Afternoon,
    /// Evening.
    Evening,
}

/// The homeowner's preferred time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PreferredTime {
    /// Which day, if said.
    pub day: Option<DayPreference>,
    /// Which part of the day, if said.
    pub part: Option<DayPart>,
}

/// An arrival window, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrivalWindow {
    /// Start of the window.
    pub start: UnixSeconds,
    /// End of the window.
    pub end: UnixSeconds,
}

/// The language of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Locale {
    /// The name on the wire and in site files (its serde name): "en" or "es".
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }

    /// The locale for a [`Locale::code`].
    pub fn from_code(code: &str) -> Option<Locale> {
        [Locale::En, Locale::Es].into_iter().find(|l| l.code() == code)
    }
}

/// Where the conversation happens: chat text, or speech on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The website chat widget.
    #[default]
    Chat,
    /// A phone call (speech in, speech out).
    Voice,
}

/// Who said a line of the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Speaker {
    /// The homeowner.
    Homeowner,
    /// Our assistant.
    Assistant,
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said, verbatim.
    pub text: String,
}

/// A confirmed request for service: everything the pipeline needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRequest {
    /// The homeowner's name; for a business, the contact person's.
    pub name: PersonName,
    /// The business the request is for ("Northside Dental", "Rosa's Deli"), when the
    /// caller speaks for one: the customer is then created as `Commercial` under this
    /// name, with the person as the contact.
    #[serde(default)]
    pub business: Option<String>,
    /// Best phone number (mobile preferred).
    pub phone: Phone,
    /// Email, if given.
    pub email: Option<String>,
    /// The service address.
    pub address: Address,
    /// Which trade.
    pub trade: Trade,
    /// Repair visit or estimate.
    pub kind: VisitKind,
    /// The problem in the homeowner's words, condensed ("AC not cooling").
    pub issue: String,
    /// Priority; Urgent for emergencies.
    pub priority: Priority,
    /// When they would like the visit.
    pub preferred_time: PreferredTime,
    /// The arrival window picked from availability, if any.
    pub arrival_window: Option<ArrivalWindow>,
    /// The window the homeowner picked that the re-check right before booking could not
    /// confirm (taken, with nothing open after it, or past what capacity shows): it is
    /// not booked, and the office's review names it, so they call about that time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed_window: Option<ArrivalWindow>,
    /// Referral / advocate code, if given.
    pub referral_code: Option<String>,
    /// The homeowner ticked "text me updates" on the confirmation card. Set by the
    /// worker from the submission (the conversation itself never asks), so it is an
    /// explicit opt-in, never a default.
    #[serde(default)]
    pub sms_consent: bool,
    /// The homeowner agreed to automated follow-up calls (the card's voice consent).
    /// Like `sms_consent`, set only by an explicit act in the confirming stage.
    #[serde(default)]
    pub voice_consent: bool,
    /// Conversation language.
    pub locale: Locale,
    /// Chat or voice.
    pub channel: Channel,
    /// The whole conversation, for notes.
    pub transcript: Vec<TranscriptLine>,
}

/// Our confirmation reference for a conversation, e.g. `W-7K3Q-9D2M`: stable for the
/// idempotency key, independent of ServiceTitan (a job number would tell a visitor how
/// the tenant numbers its jobs and whether a job was made at all). It is written into the
/// job and booking summaries as `Web reference: …`, which is also the marker the
/// pipeline's look-up of a lost create-job response matches on.
pub fn reference(idempotency_key: &str) -> String {
    // Crockford base32 without I, L, O, U: read aloud and typed back without confusion.
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let digest = crate::signing::sha256_hex(idempotency_key.as_bytes());
    let mut bits: u64 = u64::from_str_radix(digest.get(..16).unwrap_or("0"), 16).unwrap_or(0);
    let mut out = String::from("W-");
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        out.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

/// Where the booking came from, for campaign attribution. Set by the shell from the
/// page URL and UTM parameters; the worker validates lengths before use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Attribution {
    /// Page the widget was on.
    pub page_url: Option<String>,
    /// utm_source.
    pub utm_source: Option<String>,
    /// utm_medium.
    pub utm_medium: Option<String>,
    /// utm_campaign.
    pub utm_campaign: Option<String>,
    /// utm_content (Extole puts the advocate code here).
    pub utm_content: Option<String>,
    /// Referral code from the URL parameter the site names.
    pub referral_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::{reference, Locale, Trade};

    #[test]
    fn reference_is_stable_short_and_unambiguous() {
        let r = reference("bw-0123456789abcdef");
        assert_eq!(r, reference("bw-0123456789abcdef"));
        assert_ne!(r, reference("bw-0123456789abcdeg"));
        assert_eq!(r.len(), 11, "{r}");
        assert!(r.starts_with("W-") && r.as_bytes()[6] == b'-', "{r}");
        assert!(!r[2..].contains(['I', 'L', 'O', 'U']), "{r}");
    }

    #[test]
    fn codes_are_the_serde_names() {
        for t in Trade::ALL {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.code()));
            assert_eq!(Trade::from_code(t.code()), Some(t));
        }
        for l in [Locale::En, Locale::Es] {
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{}\"", l.code()));
            assert_eq!(Locale::from_code(l.code()), Some(l));
        }
        assert_eq!(Trade::from_code("HVAC"), None);
    }
}
