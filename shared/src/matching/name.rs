//! Names: "Last, First", case, punctuation, suffixes, households, nicknames; business
//! names through their abbreviations ("Northside Property Mgmt LLC" = "Northside
//! Property Management").

use crate::text;

/// How two names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// Same last name and agreeing first names.
    Full,
    /// Same last name only (household member).
    LastOnly,
    /// Different.
    None,
}

/// A normalized name: lower-case first names (several for "Bob & Mary") and last name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameKey {
    /// First names (may be empty).
    pub firsts: Vec<String>,
    /// Last name, lower case, no punctuation; may be several words ("de la cruz").
    pub last: String,
}

const SUFFIXES: [&str; 8] = ["jr", "sr", "ii", "iii", "iv", "md", "phd", "esq"];
const TITLES: [&str; 6] = ["mr", "mrs", "ms", "miss", "dr", "mx"];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .map(|w| {
            text::lowercase(
                &w.chars().filter(|c| text::is_letter_or_digit(*c) || *c == '\'' || *c == '-').collect::<String>(),
            )
        })
        .map(|w| w.replace('\'', ""))
        .filter(|w| !w.is_empty() && !SUFFIXES.contains(&w.as_str()) && !TITLES.contains(&w.as_str()))
        .collect()
}

/// Normalizes "Maria Gonzalez", "GONZALEZ, MARIA", "Mr. Dan Robinson Jr.", "Bob & Mary Smith".
pub fn name_key(raw: &str) -> NameKey {
    let raw = raw.replace(" and ", " & ").replace('+', "&");
    let (firsts_part, last_part) = match raw.split_once(',') {
        // "Last, First" (but not "First Last, Jr").
        Some((a, b)) if !words(b).is_empty() => (b.to_string(), a.to_string()),
        _ => {
            let w = words(&raw.replace('&', " & "));
            let Some(last) = w.iter().rposition(|x| x != "&") else { return NameKey::default() };
            let first = w[..last].join(" ");
            if first.is_empty() {
                return NameKey { firsts: vec![], last: w[last].clone() };
            }
            (first, w[last].clone())
        }
    };
    let firsts = firsts_part.split('&').filter_map(|p| words(p).into_iter().next()).collect();
    NameKey { firsts, last: words(&last_part).join(" ") }
}

const NICKNAMES: [(&str, &str); 28] = [
    ("bob", "robert"),
    ("rob", "robert"),
    ("bobby", "robert"),
    ("bill", "william"),
    ("will", "william"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("mike", "michael"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("tom", "thomas"),
    ("joe", "joseph"),
    ("chris", "christopher"),
    ("matt", "matthew"),
    ("dave", "david"),
    ("steve", "steven"),
    ("steve", "stephen"),
    ("tony", "anthony"),
    ("rick", "richard"),
    ("dick", "richard"),
    ("kate", "katherine"),
    ("katie", "katherine"),
    ("jen", "jennifer"),
    ("sue", "susan"),
    ("pat", "patricia"),
];

fn first_names_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // An initial: "M" vs "Maria".
    if (a.len() == 1 && b.starts_with(a)) || (b.len() == 1 && a.starts_with(b)) {
        return true;
    }
    NICKNAMES.iter().any(|(n, f)| (a == *n && b == *f) || (a == *f && b == *n))
}

/// Words that make a name a business's: legal forms and the abbreviations business
/// names are stored with.
const BUSINESS_WORDS: &str =
    "llc|inc|incorporated|ltd|corp|corporation|co|company|pllc|llp|lp|pc|plc|mgmt|mgt|management|\
    svc|svcs|services|service|assn|assoc|association|associates|bros|brothers|intl|international|grp|group|\
    holdings|properties|property|enterprises|partners|realty|hoa|condominium|condominiums|apartments|dental|clinic|\
    restaurant|deli|cafe|church|school|plumbing|heating|cooling|electric|hvac";
/// Abbreviations spelled out, `short=long`.
const BUSINESS_ABBREVIATIONS: &str = "mgmt=management|mgt=management|svc=service|svcs=services|assn=association|\
    assoc=association|bros=brothers|intl=international|grp=group|co=company|corp=corporation|&=and|mfg=manufacturing|\
    ctr=center|dept=department|apts=apartments|condo=condominium|condos=condominiums|prop=property|props=properties";
/// Legal forms a business is filed under, ignored at the end of its name: "Acme
/// Heating Co., Inc." = "Acme Heating".
const LEGAL_FORMS: &str = "llc|inc|incorporated|ltd|limited|corporation|company|pllc|llp|lp|pc|plc";

/// Lowercase business words, punctuation dropped inside a word ("A.B.C." → "abc",
/// "Joe's" → "joes"), "&" a word of its own.
fn business_words(raw: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(raw.len() + 4);
    for c in raw.chars() {
        match c {
            '&' | '+' => spaced.push_str(" & "),
            c if text::is_letter_or_digit(c) => text::push_lower(&mut spaced, c),
            c if c.is_whitespace() || c == ',' || c == '-' || c == '/' => spaced.push(' '),
            _ => {}
        }
    }
    spaced.split_whitespace().map(|w| text::lookup(BUSINESS_ABBREVIATIONS, w).unwrap_or(w).to_string()).collect()
}

/// True when the name reads as a business's: "Acme Heating Svcs Inc", "Northside
/// Dental". "Bob & Mary Smith" is a household, not a business.
pub fn is_business_name(raw: &str) -> bool {
    business_words(raw).iter().any(|w| text::listed(BUSINESS_WORDS, w))
}

/// The comparable key of a business name: abbreviations spelled out, a leading "The"
/// and trailing legal forms dropped, words joined ("ABC Plumbing" = "A.B.C. Plumbing").
pub fn business_key(raw: &str) -> String {
    let mut words = business_words(raw);
    while words.last().is_some_and(|w| text::listed(LEGAL_FORMS, w)) && words.len() > 1 {
        words.pop();
    }
    if words.first().is_some_and(|w| w == "the") && words.len() > 1 {
        words.remove(0);
    }
    words.concat()
}

/// Compares the homeowner's name with a stored customer name.
pub fn compare_names(homeowner: &str, stored: &str) -> NameMatch {
    // A business on either side is compared as a business, never by its "last name"
    // ("Acme Co" and "Bob Co" share only a legal form).
    if is_business_name(homeowner) || is_business_name(stored) {
        let (h, s) = (business_key(homeowner), business_key(stored));
        return if !h.is_empty() && h == s { NameMatch::Full } else { NameMatch::None };
    }
    let (h, s) = (name_key(homeowner), name_key(stored));
    if h.last.is_empty() || s.last.is_empty() {
        return NameMatch::None;
    }
    // Hyphenated or double last names: "Garcia-Lopez" matches "Garcia".
    let lasts_agree = h.last == s.last || {
        let split = |x: &str| x.split(['-', ' ']).map(str::to_string).collect::<Vec<_>>();
        let (hs, ss) = (split(&h.last), split(&s.last));
        hs.iter().any(|p| p.len() > 2 && ss.contains(p))
    };
    if !lasts_agree {
        return NameMatch::None;
    }
    if h.firsts.iter().any(|a| s.firsts.iter().any(|b| first_names_agree(a, b))) {
        NameMatch::Full
    } else {
        NameMatch::LastOnly
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_names_compare_through_abbreviations_and_punctuation() {
        for (a, b) in [
            ("Northside Property Mgmt LLC", "Northside Property Management"),
            ("Acme Heating Svcs, Inc.", "ACME HEATING SERVICES"),
            ("Lakeview Homeowners Assn", "Lakeview Homeowners Association"),
            ("Smith & Sons Plumbing Co.", "Smith and Sons Plumbing Company"),
            ("A.B.C. Deli", "ABC Deli LLC"),
            ("Joe's Cafe", "Joes Cafe"),
            ("The Corner Deli", "Corner Deli, Inc."),
        ] {
            assert_eq!(compare_names(a, b), NameMatch::Full, "{a} vs {b}");
        }
        for (a, b) in [
            ("Northside Dental", "Southside Dental LLC"),
            ("Acme Co", "Bob Co"),
            ("Northside Property Mgmt", "Northside Property Management Group"),
            ("Smith Plumbing Co", "John Smith"),
            ("Inc", "LLC"),
        ] {
            assert_eq!(compare_names(a, b), NameMatch::None, "{a} vs {b}");
        }
    }

    #[test]
    fn households_are_not_businesses() {
        assert!(!is_business_name("Bob & Mary Smith"));
        assert!(!is_business_name("Maria and Jose Gonzalez"));
        assert!(!is_business_name("Mary N Smith"));
        assert!(is_business_name("Northside Dental"));
        assert_eq!(compare_names("Bob Smith", "Bob & Mary Smith"), NameMatch::Full);
    }
}
