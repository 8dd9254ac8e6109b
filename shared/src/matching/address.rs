//! Addresses: USPS suffixes and directionals, unit designators, ordinal words, Saint /
//! Mount, case, punctuation, ZIP5. The tables are the ones the address parser reads
//! (`crate::extract::usps`, i.e. `extract/address/tables.rs`; none is written here),
//! so both sides agree on what "Avenue" is.

use crate::booking::Address;
use crate::extract::usps;
use crate::text;

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

/// Lowercase words: "#" stands alone, other punctuation separates ("Mt." → "mt"),
/// '-' and '/' stay inside a word ("12-3B", "1/2").
fn tokens(s: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '#' => spaced.push_str(" # "),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '/' => spaced.push(c.to_ascii_lowercase()),
            c if text::is_letter(c) => text::push_lower(&mut spaced, c),
            _ => spaced.push(' '),
        }
    }
    spaced.split_whitespace().map(|t| t.trim_matches('-').to_string()).filter(|t| !t.is_empty()).collect()
}

fn is_unit_word(t: &str) -> bool {
    text::listed(usps::UNIT_DESIGNATORS, t)
}

/// Splits "123 Main St Apt 4" into street tokens and a unit identifier.
fn street_and_unit(street: &str, unit: Option<&str>) -> (Vec<String>, String) {
    let mut toks = tokens(street);
    let mut found_unit = String::new();
    if let Some(i) = toks.iter().position(|t| is_unit_word(t)).filter(|i| *i > 0) {
        found_unit = toks.iter().skip(i + 1).filter(|t| !is_unit_word(t)).map(String::as_str).collect();
        toks.truncate(i);
    }
    let unit = match unit {
        Some(u) if !u.trim().is_empty() => tokens(u).iter().filter(|t| !is_unit_word(t)).map(String::as_str).collect(),
        _ => found_unit,
    };
    (toks, unit.to_ascii_uppercase())
}

/// "5" → "5TH", "22" → "22ND", "13" → "13TH".
fn ordinal_digits(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "TH",
        (1, _) => "ST",
        (2, _) => "ND",
        (3, _) => "RD",
        _ => "TH",
    };
    format!("{n}{suffix}")
}

/// "fifth" → 5, "twenty-second" → 22 (one word, hyphenated).
fn ordinal_word(t: &str) -> Option<u32> {
    if let Some(n) = text::lookup(usps::ORDINAL_UNITS, t) {
        return n.parse().ok();
    }
    let (tens, unit) = t.split_once('-')?;
    let tens: u32 = text::lookup(usps::ORDINAL_TENS, tens)?.parse().ok()?;
    let unit: u32 = text::lookup(usps::ORDINAL_UNITS, unit)?.parse().ok()?;
    (unit < 10).then_some(tens + unit)
}

/// "Twenty Second" said as two words: the tens, then a unit ordinal.
fn ordinal_pair(tens: &str, unit: &str) -> Option<u32> {
    let tens: u32 = text::lookup(usps::ORDINAL_TENS, tens)?.parse().ok()?;
    let unit = ordinal_word(unit).filter(|u| *u < 10)?;
    Some(tens + unit)
}

/// Street words with ordinals as digits: "fifth avenue" → "5TH avenue",
/// "twenty second st" → "22ND st".
fn with_ordinals(toks: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(toks.len());
    let mut k = 0;
    while let Some(t) = toks.get(k) {
        // The house number (first word) is never an ordinal name.
        let pair = toks.get(k + 1).filter(|_| k > 0).and_then(|u| ordinal_pair(t, u));
        if let Some(n) = pair {
            out.push(ordinal_digits(n));
            k += 2;
            continue;
        }
        out.push(match ordinal_word(t).filter(|_| k > 0) {
            Some(n) => ordinal_digits(n),
            None => t.clone(),
        });
        k += 1;
    }
    out
}

/// The suffix's place: the last word, or the one before a trailing directional.
fn suffix_position(toks: &[String]) -> Option<usize> {
    let n = toks.len();
    let last = n.checked_sub(1)?;
    let trailing_dir =
        n > 3 && toks.get(last).is_some_and(|t| text::lookup(usps::DIRECTIONAL_ABBREVIATIONS, t).is_some());
    Some(if trailing_dir { last - 1 } else { last })
}

/// One street word in its USPS form. `at_suffix`: this is where the street type goes
/// ("Oak St": Street); elsewhere "St" is Saint ("St Paul Ave" = "Saint Paul Ave").
fn standard_word(t: &str, i: usize, n: usize, at_suffix: bool) -> String {
    let dir_place = (i == 1 || i + 1 == n) && n > 2;
    if dir_place {
        if let Some(d) = text::lookup(usps::DIRECTIONAL_ABBREVIATIONS, t) {
            return d.to_string();
        }
    }
    if at_suffix && i > 1 {
        if let Some(s) = text::lookup(usps::SUFFIX_ABBREVIATIONS, t) {
            return s.to_string();
        }
    }
    match t {
        // Name words with a USPS abbreviation: "Saint Paul", "Mount Vernon", "Fort Worth".
        "saint" | "st" => "SAINT".to_string(),
        "mount" | "mt" => "MOUNT".to_string(),
        "fort" | "ft" => "FORT".to_string(),
        _ => t.to_ascii_uppercase(),
    }
}

/// The comparable key of an address.
pub fn place_key(a: &Address) -> PlaceKey {
    let (toks, unit) = street_and_unit(&a.street, a.unit.as_deref());
    let toks = with_ordinals(toks);
    let n = toks.len();
    let suffix_at = suffix_position(&toks);
    let street = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.bytes().any(|b| b.is_ascii_digit()) {
                t.to_ascii_uppercase()
            } else {
                standard_word(t, i, n, Some(i) == suffix_at)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let zip: String = a.zip.chars().filter(char::is_ascii_digit).take(5).collect();
    let city =
        tokens(&a.city).iter().enumerate().map(|(i, t)| standard_word(t, i, 0, false)).collect::<Vec<_>>().join(" ");
    PlaceKey { street, unit: unit.trim_start_matches('0').to_string(), zip, city }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(street: &str) -> String {
        place_key(&Address {
            street: street.into(),
            unit: None,
            city: String::new(),
            state: String::new(),
            zip: String::new(),
        })
        .street
    }

    #[test]
    fn ordinal_words_are_their_numbers() {
        assert_eq!(key("100 Fifth Avenue"), key("100 5th Ave"));
        assert_eq!(key("100 Twenty-Second St"), key("100 22nd St"));
        assert_eq!(key("100 twenty second street"), key("100 22nd St"));
        assert_eq!(key("100 Eleventh St NE"), key("100 11th Street Northeast"));
        assert_eq!(key("100 W Thirty-First St"), "100 W 31ST ST");
        assert_ne!(key("100 Fifth Ave"), key("100 Fourth Ave"));
        assert_ne!(key("100 Twenty-Second St"), key("100 2nd St"));
        assert_ne!(key("100 Twenty Second St"), key("100 20th St"));
    }

    #[test]
    fn st_is_street_at_the_end_and_saint_before_a_name() {
        assert_eq!(key("12 Saint Paul Ave"), key("12 St. Paul Avenue"));
        assert_eq!(key("12 Mount Vernon Rd"), key("12 Mt Vernon Road"));
        assert_eq!(key("12 Oak St"), "12 OAK ST");
        assert_eq!(key("12 Oak Street"), "12 OAK ST");
        assert_eq!(key("12 St Marks Pl"), key("12 Saint Marks Place"));
        assert_ne!(key("12 St Paul St"), key("12 Saint Paul Ave"));
        assert_eq!(key("12 Saint Paul St"), key("12 St Paul Street"));
    }

    #[test]
    fn saint_and_mount_in_the_city() {
        let at = |city: &str| {
            place_key(&Address {
                street: "1 Main St".into(),
                unit: None,
                city: city.into(),
                state: "MN".into(),
                zip: String::new(),
            })
            .city
        };
        assert_eq!(at("Saint Paul"), at("St. Paul"));
        assert_eq!(at("Mount Pleasant"), at("Mt Pleasant"));
        assert_ne!(at("Saint Paul"), at("Minneapolis"));
    }
}
