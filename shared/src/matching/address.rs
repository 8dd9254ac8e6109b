//! Addresses: USPS suffixes and directionals, unit designators, case, punctuation, ZIP5.

use crate::booking::Address;

/// A comparable key for one service address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceKey {
    /// "4417 W LAKE ST".
    pub street: String,
    /// "2B" (designator dropped: Apt 2B = Unit 2B = # 2B = Ste 2B).
    pub unit: String,
    /// Five digits, or empty.
    pub zip: String,
    /// Upper-case city, used only when a ZIP is missing.
    pub city: String,
}

/// USPS Publication 28 street suffixes we see in homeowners' addresses.
const SUFFIXES: [(&str, &str); 46] = [
    ("STREET", "ST"), ("STR", "ST"), ("AVENUE", "AVE"), ("AV", "AVE"), ("AVEN", "AVE"), ("ROAD", "RD"),
    ("DRIVE", "DR"), ("DRV", "DR"), ("LANE", "LN"), ("BOULEVARD", "BLVD"), ("BOUL", "BLVD"), ("COURT", "CT"),
    ("PLACE", "PL"), ("TERRACE", "TER"), ("CIRCLE", "CIR"), ("HIGHWAY", "HWY"), ("PARKWAY", "PKWY"),
    ("PKY", "PKWY"), ("TRAIL", "TRL"), ("SQUARE", "SQ"), ("WAY", "WAY"), ("PLAZA", "PLZ"), ("ALLEY", "ALY"),
    ("CROSSING", "XING"), ("EXPRESSWAY", "EXPY"), ("FREEWAY", "FWY"), ("HEIGHTS", "HTS"), ("HOLLOW", "HOLW"),
    ("JUNCTION", "JCT"), ("LOOP", "LOOP"), ("MOUNT", "MT"), ("MOUNTAIN", "MTN"), ("POINT", "PT"),
    ("RIDGE", "RDG"), ("ROUTE", "RTE"), ("TURNPIKE", "TPKE"), ("VALLEY", "VLY"), ("VIEW", "VW"),
    ("VILLAGE", "VLG"), ("COVE", "CV"), ("CREEK", "CRK"), ("ESTATES", "ESTS"), ("GARDENS", "GDNS"),
    ("GROVE", "GRV"), ("HILL", "HL"), ("PASS", "PASS"),
];

const DIRECTIONALS: [(&str, &str); 8] = [
    ("NORTH", "N"), ("SOUTH", "S"), ("EAST", "E"), ("WEST", "W"), ("NORTHEAST", "NE"), ("NORTHWEST", "NW"),
    ("SOUTHEAST", "SE"), ("SOUTHWEST", "SW"),
];

const ORDINALS: [(&str, &str); 10] = [
    ("FIRST", "1ST"), ("SECOND", "2ND"), ("THIRD", "3RD"), ("FOURTH", "4TH"), ("FIFTH", "5TH"),
    ("SIXTH", "6TH"), ("SEVENTH", "7TH"), ("EIGHTH", "8TH"), ("NINTH", "9TH"), ("TENTH", "10TH"),
];

/// Words that introduce a unit.
const UNIT_WORDS: [&str; 11] = ["APT", "APARTMENT", "UNIT", "STE", "SUITE", "#", "NO", "RM", "ROOM", "FL", "BLDG"];

fn tokens(s: &str) -> Vec<String> {
    let spaced: String = s
        .to_ascii_uppercase()
        .chars()
        .map(|c| match c {
            '#' => " # ".to_string(),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '/' => c.to_string(),
            _ => " ".to_string(),
        })
        .collect();
    spaced.split_whitespace().map(|t| t.trim_matches('-').to_string()).filter(|t| !t.is_empty()).collect()
}

fn map(t: &str, table: &'static [(&'static str, &'static str)]) -> Option<&'static str> {
    table.iter().find(|(long, short)| t == *long || t == *short).map(|(_, short)| *short)
}

/// Splits "123 Main St Apt 4" into street tokens and a unit identifier.
fn street_and_unit(street: &str, unit: Option<&str>) -> (Vec<String>, String) {
    let mut toks = tokens(street);
    let mut found_unit = String::new();
    if let Some(i) = toks.iter().position(|t| UNIT_WORDS.contains(&t.as_str())).filter(|i| *i > 0) {
        found_unit = toks[i + 1..].iter().filter(|t| !UNIT_WORDS.contains(&t.as_str())).cloned().collect();
        toks.truncate(i);
    }
    let unit = match unit {
        Some(u) if !u.trim().is_empty() => {
            tokens(u).into_iter().filter(|t| !UNIT_WORDS.contains(&t.as_str())).collect::<String>()
        }
        _ => found_unit,
    };
    (toks, unit)
}

/// The comparable key of an address.
pub fn place_key(a: &Address) -> PlaceKey {
    let (toks, unit) = street_and_unit(&a.street, a.unit.as_deref());
    let n = toks.len();
    let street = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // Directionals right after the number or at the end; the suffix is the last
            // word (or the one before a trailing directional). Elsewhere a word is part of
            // the name: "4 Court St" keeps COURT? It is at i == 1, so only i > 1 maps.
            let last_word = i + 1 == n || (i + 2 == n && map(&toks[n - 1], &DIRECTIONALS).is_some());
            if (i == 1 || i + 1 == n) && n > 2 {
                if let Some(d) = map(t, &DIRECTIONALS) {
                    return d.to_string();
                }
            }
            if last_word && i > 1 {
                if let Some(s) = map(t, &SUFFIXES) {
                    return s.to_string();
                }
            }
            map(t, &ORDINALS).map(str::to_string).unwrap_or_else(|| t.clone())
        })
        .collect::<Vec<_>>()
        .join(" ");
    let zip: String = a.zip.chars().filter(char::is_ascii_digit).take(5).collect();
    PlaceKey { street, unit: unit.trim_start_matches('0').to_string(), zip, city: tokens(&a.city).join(" ") }
}

/// Same service address: street, unit and ZIP5 (city when a ZIP is missing).
pub fn same_place(a: &Address, b: &Address) -> bool {
    let (x, y) = (place_key(a), place_key(b));
    if x.street.is_empty() || x.street != y.street || x.unit != y.unit {
        return false;
    }
    if x.zip.len() == 5 && y.zip.len() == 5 {
        x.zip == y.zip
    } else {
        !x.city.is_empty() && x.city == y.city
    }
}
