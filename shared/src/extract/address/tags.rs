//! Word tags: what one word (or a few) of an address can be — a ZIP, a house number,
//! a Wisconsin grid number, a glued unit, a state. Each answers for the word in front
//! of it; rules (`rules.rs`) and the parser (`mod.rs`) decide what to do with it.

use super::tables::*;
use crate::extract::words::Word;
use crate::text;

pub(super) fn states() -> impl Iterator<Item = (&'static str, &'static str)> {
    text::pairs(STATES)
}

pub(super) fn clean(w: &str) -> &str {
    w.trim_end_matches('.')
}
pub(super) fn is(w: &Word, list: &'static str) -> bool {
    text::listed(list, clean(&w.norm))
}
pub(super) fn is_zip(w: &Word) -> Option<String> {
    let n = w.norm.as_str();
    let b = n.as_bytes();
    let five = b.len() >= 5 && b.iter().take(5).all(u8::is_ascii_digit);
    let ok = five
        && (b.len() == 5
            || (b.len() == 10 && b.get(5) == Some(&b'-') && b.iter().skip(6).all(u8::is_ascii_digit))
            || (b.len() == 9 && b.iter().all(u8::is_ascii_digit) && !w.spoken));
    if ok {
        n.get(..5).map(str::to_string)
    } else {
        None
    }
}
pub(super) fn is_house_number(w: &Word) -> bool {
    lettered_house_number(w) || digits_house_number(w)
}
/// "A1075 Main, San Juan": a capital letter then four to six digits, how Puerto Rico
/// and some developments number houses (not "R22", a refrigerant).
fn lettered_house_number(w: &Word) -> bool {
    let b = clean(&w.norm).as_bytes();
    w.raw.starts_with(|c: char| c.is_ascii_uppercase())
        && (5..=7).contains(&b.len())
        && b.get(1..).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}
fn digits_house_number(w: &Word) -> bool {
    let b = w.norm.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=6).contains(&digits)
        && match b.get(digits..) {
            Some([]) => true,
            Some([c]) => c.is_ascii_lowercase(),
            Some([b'-', rest @ ..]) => !rest.is_empty() && rest.iter().all(u8::is_ascii_alphanumeric),
            _ => false,
        }
}

/// Wisconsin grid numbers: "W156N9762", "N170 W20015", "W206N W16282". Words used (0: none).
pub(super) fn grid_len(words: &[Word], i: usize) -> usize {
    // One compass letter then 1-6 digits, optionally another letter and digits.
    fn part(n: &str) -> Option<(usize, usize)> {
        let b = n.as_bytes();
        let is_dir = |c: Option<&u8>| c.is_some_and(|c| matches!(c, b'n' | b's' | b'e' | b'w'));
        if !is_dir(b.first()) {
            return None;
        }
        let d = b.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&d) {
            return None;
        }
        let rest = b.get(1 + d..).unwrap_or(&[]);
        match rest {
            [] => Some((1, 0)),
            [c] if is_dir(Some(c)) => Some((1, 0)),
            [c, more @ ..]
                if is_dir(Some(c)) && (1..=6).contains(&more.len()) && more.iter().all(u8::is_ascii_digit) =>
            {
                Some((2, 0))
            }
            _ => None,
        }
    }
    let Some(w) = words.get(i) else { return 0 };
    match part(&w.norm) {
        Some((2, _)) => 1,
        Some((1, _)) if !w.brk && words.get(i + 1).and_then(|n| part(&n.norm)).is_some_and(|(k, _)| k == 1) => 2,
        _ => 0,
    }
}

/// A unit typed without a space: "Unit508", "Suite100", "ste.5300", "lt42" (lot 42).
pub(super) fn glued_unit(w: &Word) -> bool {
    let n = w.norm.as_str();
    ["suite", "unit", "apt", "ste", "flr", "fl", "rm", "room", "lot", "lt", "spc"].iter().any(|p| {
        n.strip_prefix(p).map(|r| r.trim_start_matches(['.', '-', '#'])).is_some_and(|r| {
            r.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && r.len() <= 6
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    })
}
pub(super) fn all_digits(w: &Word) -> bool {
    !w.norm.is_empty() && w.norm.bytes().all(|b| b.is_ascii_digit())
}
/// A route number: "98", "1400N".
pub(super) fn route_number(w: &Word) -> bool {
    let b = w.norm.as_bytes();
    let d = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=5).contains(&d) && b.len() <= d + 1 && is_zip(w).is_none()
}
/// Short compass directions ("N", "NW", "N.E."), not spelled out.
pub(super) fn short_dir(w: &Word) -> bool {
    is(w, DIRS) && clean(&w.norm).len() <= 3
}
/// A spelled number inside a street name ("E. Seven Oaks", "Nine North Drive"):
/// one capitalised word, kept as a word.
pub(super) fn name_number(w: &Word) -> bool {
    w.spoken && !w.raw.contains(' ') && w.raw.chars().next().is_some_and(text::is_upper)
}

/// (state code, words used) if a state starts at `i`.
pub(super) fn state_at(words: &[Word], i: usize) -> Option<(String, usize)> {
    let w = words.get(i)?;
    let n = clean(&w.norm);
    let ends_here = |len: usize| {
        let after = words.get(i + len);
        let last = words.get(i + len - 1);
        after.is_none() || after.is_some_and(|a| is_zip(a).is_some() || is(a, CHATTER)) || last.is_some_and(|l| l.brk)
    };
    // This runs for every word: a word found nowhere in the state list starts no state name
    // (one search of the list, not one per state).
    let named = !n.is_empty() && STATES.contains(n);
    for (name, code) in states().take_while(|_| named) {
        if !name.starts_with(n) {
            continue;
        }
        let len = name.split(' ').count();
        if name.split(' ').enumerate().all(|(k, p)| words.get(i + k).is_some_and(|x| clean(&x.norm) == p))
            && ends_here(len)
        {
            return Some(((*code).to_string(), len));
        }
    }
    // "N.Y.": a code typed with dots.
    let undotted;
    let n = if n.len() == 3 && n.as_bytes().get(1) == Some(&b'.') {
        undotted = n.replace('.', "");
        undotted.as_str()
    } else {
        n
    };
    if n.len() == 2 && states().any(|(_, c)| c.eq_ignore_ascii_case(n)) {
        let upper = w.raw.bytes().all(|b| b.is_ascii_uppercase());
        if !text::listed(AMBIGUOUS_STATES, n) || ends_here(1) || upper {
            return Some((n.to_ascii_uppercase(), 1));
        }
    }
    None
}

/// "SU£TE 1800", "Mezzaine", "apartmnt 4": a designator of the list, five letters or
/// more, typed with one letter missing or one too many, or with a stray symbol inside;
/// the first letter is right. A wrong letter is not enough: "flood" is not "floor".
pub(super) fn misspelled(w: &Word, list: &'static str) -> bool {
    let mut buf = [0u8; 12];
    let mut n = 0;
    for b in w.norm.bytes().filter(u8::is_ascii_lowercase) {
        match buf.get_mut(n) {
            Some(slot) => *slot = b,
            None => return false,
        }
        n += 1;
    }
    let typed = buf.get(..n).unwrap_or(&[]);
    typed.len() >= 4
        && list
            .split('|')
            .any(|d| d.len() >= 5 && d.as_bytes().first() == typed.first() && one_letter_off(typed, d.as_bytes()))
}

/// `a` is `b` with one letter dropped or one added.
fn one_letter_off(a: &[u8], b: &[u8]) -> bool {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (a.get(prefix..).unwrap_or(&[]), b.get(prefix..).unwrap_or(&[]));
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    matches!((a.len().saturating_sub(suffix), b.len().saturating_sub(suffix)), (0, 1) | (1, 0))
}
