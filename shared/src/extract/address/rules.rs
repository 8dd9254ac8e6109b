//! Heuristics the parser applies between words, one named function each, its doc
//! comment the example it exists for. A new rule goes here with its example and a
//! vector in `tests/data/utterances/address.txt` or the hand-labeled set.

use super::tables::*;
use super::tags::*;
use crate::extract::words::Word;

/// "Tower Place ste 1685", "Langley Commons, Suite C-4", "400 Colony Square, # 1001":
/// a building's name between the street and the unit is skipped. Returns where the
/// unit starts (`i` when there is no such name).
pub(super) fn past_building(words: &[Word], used: &[usize], i: usize) -> usize {
    const TYPES: &str = "apt|apartment|unit|ste|suite|#|rm|room";
    let unit_at = |m: usize| {
        words.get(m).is_some_and(|w| {
            w.norm.starts_with('#') && w.norm.len() > 1
                || glued_unit(w)
                || is(w, TYPES) && words.get(m + 1).is_some_and(|n| n.norm.len() <= 6 && n.norm.bytes().any(|b| b.is_ascii_digit()) && is_zip(n).is_none())
        })
    };
    if unit_at(i) || words.get(i).is_some_and(|w| is(w, UNIT_BEFORE_ID) || is(w, SUBADDRESS) || is(w, "lockbox|lbx|box|po|pob|attn|attn:")) {
        return i;
    }
    for m in i + 1..i + 5 {
        let Some(w) = words.get(m - 1).filter(|_| !used.contains(&(m - 1))) else { return i };
        let number_first = m - 1 == i && all_digits(w) && !w.brk;
        let numbered = words.get(i).is_some_and(all_digits);
        if !number_first && (!w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.') || is(w, CHATTER) || state_at(words, m - 1).is_some() || numbered && is(w, STRONG_SUFFIX)) {
            return i;
        }
        if unit_at(m) && !used.contains(&m) {
            return m;
        }
    }
    i
}

/// "St 1400" after a street type: Suite.
pub(super) fn suite_st(words: &[Word], i: usize) -> bool {
    words.get(i).is_some_and(|w| clean(&w.norm) == "st" && !w.brk) && words.get(i + 1).is_some_and(|n| n.norm.len() <= 5 && n.norm.bytes().all(|b| b.is_ascii_digit()))
}

/// A ZIP a few words after the ZIP-shaped word at `k`, past city and state words only
/// ("28502 chicago il 60686").
pub(super) fn later_zip(words: &[Word], used: &[usize], k: usize) -> Option<usize> {
    let mut seen_state = false;
    for m in k + 1..k + 8 {
        let w = words.get(m).filter(|_| !used.contains(&m))?;
        if is_zip(w).is_some() {
            return seen_state.then_some(m);
        }
        if !w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.' || b == b'-') || is(w, CHATTER) {
            return None;
        }
        seen_state |= state_at(words, m).is_some();
    }
    None
}


