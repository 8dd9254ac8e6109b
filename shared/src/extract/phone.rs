//! US phone numbers in any written or spoken shape: "(612) 555-0143", "+1 612.555.0143",
//! "6125550143 ext 22", "six one two, five five five, oh one four three".
//!
//! Hand-written scanning instead of one big regex: digit groups are collected with
//! their separators, then the first run of groups that adds up to 10 digits (or 11
//! starting with the country code 1) wins. Groups of one or two digits (dates, prices)
//! never join a number.

use super::words::Word;
use crate::booking::Phone;

/// Why something that looked like a phone number is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PhoneProblem {
    /// Seven digits: the area code is missing.
    MissingAreaCode,
    /// Too few or too many digits.
    WrongLength,
    /// Area code or exchange starts with 0 or 1, which US numbers never do.
    NotAUsNumber,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Group { digits: String, word: usize },
    Sep,
    Break,
    Ext,
    Hash,
    Other,
}

fn items(words: &[Word]) -> Vec<Item> {
    let mut out = Vec::new();
    for (wi, w) in words.iter().enumerate() {
        let n = w.norm.as_str();
        if matches!(n, "x" | "ext" | "ext." | "ext:" | "extension" | "extensión" | "extn" | "extensión:") {
            out.push(Item::Ext);
        } else {
            let mut digits = String::new();
            let mut chars = n.chars().peekable();
            let mut prev_digit = false;
            while let Some(c) = chars.next() {
                if c.is_ascii_digit() {
                    digits.push(c);
                    prev_digit = true;
                    continue;
                }
                if !digits.is_empty() {
                    out.push(Item::Group { digits: std::mem::take(&mut digits), word: wi });
                }
                let next_digit = chars.peek().is_some_and(|c| c.is_ascii_digit());
                let item = match c {
                    '-' | '.' | '(' | ')' | '/' | '\\' => Item::Sep,
                    '+' if !prev_digit => Item::Sep,
                    ';' | ',' => Item::Break,
                    '#' => Item::Hash,
                    'x' if prev_digit || next_digit => Item::Ext,
                    _ => Item::Other,
                };
                // Letters glued to digits ("ext.503") end with Ext; the rest of a word
                // of letters is one Other.
                if item == Item::Other && matches!(out.last(), Some(Item::Other)) {
                } else {
                    out.push(item);
                }
                prev_digit = false;
            }
            if !digits.is_empty() {
                out.push(Item::Group { digits, word: wi });
            }
        }
        out.push(if w.brk { Item::Break } else { Item::Sep });
    }
    out
}

/// The phone found, the words it used, or why digits seen were not a phone.
pub(crate) struct Found {
    pub phone: Option<Phone>,
    pub used_words: Vec<usize>,
    pub problem: Option<PhoneProblem>,
}

pub(crate) fn find(words: &[Word]) -> Found {
    let items = items(words);
    let groups: Vec<(usize, &str, usize)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| match it {
            Item::Group { digits, word } => Some((i, digits.as_str(), *word)),
            _ => None,
        })
        .collect();
    let mut longest_run = 0usize;
    for start in 0..groups.len() {
        let mut total = String::new();
        let mut used = Vec::new();
        for gi in start..groups.len() {
            let Some(&(item_idx, digits, word)) = groups.get(gi) else { break };
            if gi > start {
                // Only separators and breaks may lie between two groups of one number.
                let Some(&(prev_idx, prev_digits, _)) = groups.get(gi - 1) else { break };
                let between = items.get(prev_idx + 1..item_idx).unwrap_or(&[]);
                if between.iter().any(|it| !matches!(it, Item::Sep | Item::Break)) {
                    break;
                }
                if prev_digits.len() == 4 && digits.len() == 2 {
                    break; // 2012-01-02: a date
                }
            }
            let leading_one = gi == start && digits == "1";
            if digits.len() <= 2 && !leading_one {
                break;
            }
            total.push_str(digits);
            used.push(word);
            longest_run = longest_run.max(total.len());
            let national = match total.len() {
                10 => Some(total.clone()),
                11 if total.starts_with('1') => total.get(1..).map(str::to_string),
                _ => None,
            };
            if let Some(national) = national {
                let after = items.get(item_idx + 1..).unwrap_or(&[]);
                match extension(after) {
                    Ok(ext) => {
                        if let Some((_, w)) = &ext {
                            used.push(*w);
                        }
                        let phone = Phone { digits: national, extension: ext.map(|(x, _)| x) };
                        return Found { phone: Some(phone), used_words: used, problem: None };
                    }
                    Err(()) => {
                        return Found { phone: None, used_words: used, problem: Some(PhoneProblem::WrongLength) }
                    }
                }
            }
            if total.len() > 11 {
                break;
            }
        }
    }
    let problem = match longest_run {
        7 => Some(PhoneProblem::MissingAreaCode),
        8 | 9 | 11.. => Some(PhoneProblem::WrongLength),
        _ => None,
    };
    Found { phone: None, used_words: Vec::new(), problem }
}

/// The extension after a number: "x 22", "ext. 22", "; 22" at the end, "-910#".
/// Err when an extension is present but longer than 15 digits.
fn extension(after: &[Item]) -> Result<Option<(String, usize)>, ()> {
    let mut it = after.iter().peekable();
    let mut marked = false;
    let mut broke = false;
    while let Some(i) = it.peek() {
        match i {
            Item::Sep => {}
            Item::Break => broke = true,
            Item::Ext if !marked => marked = true,
            _ => break,
        }
        it.next();
    }
    let Some(Item::Group { digits, word }) = it.next() else { return Ok(None) };
    let rest_is_end = it.clone().all(|i| matches!(i, Item::Sep | Item::Break));
    let hash = matches!(it.clone().find(|i| !matches!(i, Item::Sep)), Some(Item::Hash));
    if !(marked || hash || (broke && rest_is_end)) {
        return Ok(None);
    }
    if digits.len() > 15 {
        return Err(());
    }
    Ok(Some((digits.clone(), *word)))
}

/// Why ten digits cannot be a US number, if they cannot.
pub fn nanp_problem(digits: &str) -> Option<PhoneProblem> {
    let b = digits.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return Some(PhoneProblem::WrongLength);
    }
    if matches!(b.first(), Some(b'0' | b'1')) || matches!(b.get(3), Some(b'0' | b'1')) {
        return Some(PhoneProblem::NotAUsNumber);
    }
    None
}
