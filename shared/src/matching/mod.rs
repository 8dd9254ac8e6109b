//! Is this homeowner already a ServiceTitan customer, and at which location?
//!
//! Normalizers ([`phone`], [`name`], [`address`]) turn what people type and what
//! ServiceTitan stores into comparable keys; [`decide`] scores candidate customers
//! (with their locations and contacts) and decides by the table in `RULES.md`
//! (included below), which is pinned by `tests/data/matching/cases.json`.
//!
#![doc = include_str!("RULES.md")]

pub mod address;
pub mod name;
pub mod phone;

use serde::{Deserialize, Serialize};

use crate::booking::Address;

pub use address::{same_place, PlaceKey};
pub use name::{business_key, compare_names, is_business_name, NameMatch};
pub use phone::{is_placeholder_email, normalize_phone, prefer_mobile};

/// The homeowner as the conversation gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Homeowner {
    /// Full name as typed.
    pub name: String,
    /// Phones as typed (the first usable one is searched).
    pub phones: Vec<String>,
    /// Email, if any.
    pub email: Option<String>,
    /// Service address.
    pub address: Address,
}

/// A customer ServiceTitan returned, with what we know of its locations and contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Candidate {
    /// Customer id.
    pub id: i64,
    /// Name as stored ("Gonzalez, Maria" or "Maria Gonzalez").
    pub name: String,
    /// False for merged / deactivated customers.
    #[serde(default = "yes")]
    pub active: bool,
    /// Bill-to address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Service locations.
    #[serde(default)]
    pub locations: Vec<CandidateLocation>,
    /// Phone numbers on the customer or its locations, as stored.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Emails on the customer.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Found by the `?phone=` search: ServiceTitan matched a contact phone.
    #[serde(default)]
    pub found_by_phone: bool,
}

fn yes() -> bool {
    true
}

/// A location of a candidate customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CandidateLocation {
    /// Location id.
    pub id: i64,
    /// Address.
    pub address: Address,
    /// False for inactive locations (never booked onto).
    #[serde(default = "yes")]
    pub active: bool,
}

/// Where the job goes for an existing customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocationMatch {
    /// This location.
    Existing(i64),
    /// A new location must be added (second property).
    New,
}

/// The matching decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Book onto this customer.
    Existing {
        /// Customer id.
        customer: i64,
        /// Location.
        location: LocationMatch,
    },
    /// Create a customer.
    New,
    /// Don't guess: a booking for the office to review.
    Ambiguous {
        /// Why, for the office and the logs.
        reason: String,
    },
}

/// How one candidate relates to the homeowner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// Phone matched.
    pub phone: bool,
    /// Email matched.
    pub email: bool,
    /// Name comparison.
    pub name: NameMatch,
    /// The matching location (or bill-to match when `Some(None)`... see `place`).
    pub place: Option<LocationMatch>,
    /// Points, only to rank Existing candidates.
    pub points: u32,
}

/// Scores one candidate (rules' signals).
pub fn score(h: &Homeowner, c: &Candidate) -> Score {
    let mine: Vec<String> = h.phones.iter().filter_map(|p| normalize_phone(p)).map(|p| p.digits).collect();
    let phone = (c.found_by_phone && !mine.is_empty())
        || c.phones.iter().filter_map(|p| normalize_phone(p)).any(|p| mine.contains(&p.digits));
    let email = match h.email.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() && !is_placeholder_email(e) => {
            c.emails.iter().any(|x| x.trim().eq_ignore_ascii_case(e))
        }
        _ => false,
    };
    let name = compare_names(&h.name, &c.name);
    let place = c
        .locations
        .iter()
        .filter(|l| l.active)
        .find(|l| same_place(&h.address, &l.address))
        .map(|l| LocationMatch::Existing(l.id))
        // Without a matching location, a bill-to match still says "same household";
        // the job then needs a location, so it is added (New).
        .or_else(|| match &c.address {
            Some(a) if c.locations.is_empty() && same_place(&h.address, a) => Some(LocationMatch::New),
            _ => None,
        });
    let mut points = 0;
    if phone {
        points += 40;
    }
    if email {
        points += 30;
    }
    points += match name {
        NameMatch::Full => 30,
        NameMatch::LastOnly => 15,
        NameMatch::None => 0,
    };
    if place.is_some() {
        points += 30;
    }
    Score { phone, email, name, place, points }
}

enum Verdict {
    Existing(LocationMatch),
    Ambiguous(&'static str),
    NotCandidate,
}

fn verdict(s: &Score) -> Verdict {
    let contact = s.phone || s.email;
    match (contact, s.name, s.place) {
        (true, _, Some(loc)) => Verdict::Existing(loc), // rules 1, 3, 4
        (true, NameMatch::Full, None) => Verdict::Existing(LocationMatch::New), // rule 2
        (true, NameMatch::LastOnly, None) => Verdict::Ambiguous("same phone, same last name, other address"),
        (true, NameMatch::None, None) => Verdict::Ambiguous("same phone, different name"),
        (false, NameMatch::Full, Some(loc)) => Verdict::Existing(loc), // rule 7
        (false, NameMatch::LastOnly, Some(_)) => Verdict::Ambiguous("same address and last name, different phone"),
        (false, NameMatch::None, Some(_)) => Verdict::Ambiguous("same address, different name and phone"),
        (false, _, None) => Verdict::NotCandidate,
    }
}

/// Decides by the rules table.
pub fn decide(h: &Homeowner, candidates: &[Candidate]) -> Decision {
    let mut existing: Vec<(u32, i64, LocationMatch)> = Vec::new();
    let mut ambiguous: Option<String> = None;
    for c in candidates.iter().filter(|c| c.active) {
        let s = score(h, c);
        match verdict(&s) {
            Verdict::Existing(loc) => existing.push((s.points, c.id, loc)),
            Verdict::Ambiguous(why) => {
                ambiguous.get_or_insert_with(|| format!("{why} (customer {})", c.id));
            }
            Verdict::NotCandidate => {}
        }
    }
    existing.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    match existing.as_slice() {
        [] => match ambiguous {
            Some(reason) => Decision::Ambiguous { reason },
            None => Decision::New,
        },
        [(p, ..), (q, second, _), ..] if p == q => {
            Decision::Ambiguous { reason: format!("customers {} and {second} match equally well", existing[0].1) }
        }
        [(_, customer, location), ..] => Decision::Existing { customer: *customer, location: *location },
    }
}
