//! Names: "Last, First", case, punctuation, suffixes, households, nicknames.

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
        .map(|w| text::lowercase(&w.chars().filter(|c| text::is_letter_or_digit(*c) || *c == '\'' || *c == '-').collect::<String>()))
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
    let firsts = firsts_part
        .split('&')
        .filter_map(|p| words(p).into_iter().next())
        .collect();
    NameKey { firsts, last: words(&last_part).join(" ") }
}

const NICKNAMES: [(&str, &str); 28] = [
    ("bob", "robert"), ("rob", "robert"), ("bobby", "robert"), ("bill", "william"), ("will", "william"),
    ("liz", "elizabeth"), ("beth", "elizabeth"), ("betty", "elizabeth"), ("mike", "michael"), ("jim", "james"),
    ("jimmy", "james"), ("dan", "daniel"), ("danny", "daniel"), ("tom", "thomas"), ("joe", "joseph"),
    ("chris", "christopher"), ("matt", "matthew"), ("dave", "david"), ("steve", "steven"), ("steve", "stephen"),
    ("tony", "anthony"), ("rick", "richard"), ("dick", "richard"), ("kate", "katherine"), ("katie", "katherine"),
    ("jen", "jennifer"), ("sue", "susan"), ("pat", "patricia"),
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

/// Compares the homeowner's name with a stored customer name.
pub fn compare_names(homeowner: &str, stored: &str) -> NameMatch {
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
