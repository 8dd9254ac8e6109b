//! Heuristics the parser applies between words, one named function each, its doc
//! comment the example it exists for. A new rule goes here with its example and a
//! vector in `tests/data/utterances/address.txt` or the hand-labeled set.

use super::tables::*;
use super::tags::*;
use crate::extract::words::Word;
use crate::text;

/// "Tower Place ste 1685", "Langley Commons, Suite C-4", "400 Colony Square, # 1001",
/// "Kingston Building, Second Floor": a building's name between the street and the
/// unit (kept as `extra`). Returns where the unit starts (`i` when there is no name).
pub(super) fn past_building(words: &[Word], used: &[usize], i: usize) -> usize {
    const TYPES: &str = "apt|apartment|unit|ste|suite|#|rm|room";
    let unit_at = |m: usize| {
        words.get(m).is_some_and(|w| {
            w.norm.starts_with('#') && w.norm.len() > 1
                || glued_unit(w)
                || is(w, TYPES)
                    && words.get(m + 1).is_some_and(|n| {
                        n.norm.len() <= 6 && n.norm.bytes().any(|b| b.is_ascii_digit()) && is_zip(n).is_none()
                    })
        })
    };
    if unit_at(i)
        || words
            .get(i)
            .is_some_and(|w| is(w, UNIT_BEFORE_ID) || is(w, SUBADDRESS) || is(w, "lockbox|lbx|box|po|pob|attn|attn:"))
    {
        return i;
    }
    for m in i + 1..i + 5 {
        let Some(w) = words.get(m - 1).filter(|_| !used.contains(&(m - 1))) else { return i };
        let number_first = m - 1 == i && all_digits(w) && !w.brk;
        let numbered = words.get(i).is_some_and(all_digits);
        if !number_first
            && (!w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
                || is(w, CHATTER)
                || state_at(words, m - 1).is_some()
                || numbered && is(w, STRONG_SUFFIX))
        {
            return i;
        }
        if unit_at(m) && !used.contains(&m) {
            return m;
        }
        // "Kingston Building, Second Floor": a floor after the name's comma.
        if w.brk && floor_after_its_id(words, m + 1) && !used.contains(&m) {
            return m;
        }
        // "Professional Office Building 1 Suite 205": the building's number, then the unit.
        let id = words.get(m).filter(|n| {
            n.norm.len() <= 6 && n.norm.bytes().any(|b| b.is_ascii_digit()) && is_zip(n).is_none() && !n.brk
        });
        if is(w, SUBADDRESS) && id.is_some() && unit_at(m + 1) && !used.contains(&m) && !used.contains(&(m + 1)) {
            return m + 1;
        }
    }
    i
}

/// "St 1400" after a street type: Suite.
pub(super) fn suite_st(words: &[Word], i: usize) -> bool {
    words.get(i).is_some_and(|w| clean(&w.norm) == "st" && !w.brk)
        && words.get(i + 1).is_some_and(|n| n.norm.len() <= 5 && n.norm.bytes().all(|b| b.is_ascii_digit()))
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

/// "Wind and Fire Dr", "C AND N Smith Mill Rd": "and" inside a name that a strong
/// suffix ends within a few words (not "Main St and my phone is…").
pub(super) fn and_in_name(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| w.norm == "and")
        && (1..=4).any(|d| words.get(j + d).is_some_and(|x| is(x, STRONG_SUFFIX)))
        && (1..4).all(|d| {
            words.get(j + d - 1).is_none_or(|x| !x.brk)
                && words.get(j + d).is_none_or(|x| !is(x, CHATTER) && !all_digits(x))
        })
}

/// "13th Ave No St Petersburg", "21st ave no. ste 130": "No" right after a street type
/// (word `prev`) is North, not a unit's "No." — unless a number follows.
pub(super) fn no_is_north(words: &[Word], prev: usize, j: usize) -> bool {
    words.get(j).is_some_and(|w| clean(&w.norm) == "no")
        && words.get(prev).is_some_and(|p| is(p, STRONG_SUFFIX) && !p.brk)
        && words.get(j + 1).is_none_or(|n| !n.norm.bytes().any(|b| b.is_ascii_digit()))
}

/// "U.S. Highway No. 130": "No." between a road type (word `prev`) and its number.
pub(super) fn no_before_route_number(words: &[Word], prev: usize, j: usize) -> bool {
    words.get(j).is_some_and(|w| clean(&w.norm) == "no")
        && words.get(prev).is_some_and(|p| is(p, ROUTE) && !p.brk)
        && words.get(j + 1).is_some_and(route_number)
}

/// "P.O. Box 5000", "RR 1 Box 297", "P O Box 12": a mailbox starts here, not more street.
pub(super) fn mailbox_at(words: &[Word], j: usize) -> bool {
    let Some(w) = words.get(j) else { return false };
    let next = words.get(j + 1);
    matches!(clean(&w.norm), "p.o" | "po" | "pob" | "rr" | "box")
        && next.is_some_and(|n| all_digits(n) || clean(&n.norm) == "box")
        || clean(&w.norm) == "p" && next.is_some_and(|n| clean(&n.norm) == "o")
}

/// "4th floor 300 East Randolph St", "3 fl 45-18 Court Square": a floor word after its
/// own number (word `k`) is complete; the number after it is the house number, not
/// the floor's id.
pub(super) fn floor_after_its_id(words: &[Word], k: usize) -> bool {
    let ordinal = |w: &Word| {
        let n = clean(&w.norm);
        let digits = n.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && (digits == n.len() || matches!(n.get(digits..), Some("st" | "nd" | "rd" | "th")))
            || text::listed(ORDINAL_WORDS, n)
    };
    words.get(k).is_some_and(|w| is(w, UNIT_AFTER_ID))
        && k.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| ordinal(p) && !p.brk)
}

/// "612 A So Lake St", "8517 So Nashville": a capitalised "So" before a capitalised
/// word is South, not the word "so".
pub(super) fn capital_so(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| clean(&w.norm) == "so" && w.raw.starts_with('S'))
        && words.get(j + 1).is_some_and(|n| n.raw.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// "13011 T I Blvd": a capital letter right before a street type is part of the name,
/// even "I".
pub(super) fn letter_before_type(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| w.raw.len() == 1 && w.raw.bytes().all(|b| b.is_ascii_uppercase()) && !w.brk)
        && words.get(j + 1).is_some_and(|n| is(n, STRONG_SUFFIX))
}

/// "851 United States Highway 53 Bsnss Rte N": after "Business" (at region index `e`),
/// "Route" and a direction are still the street. Returns the last street index.
pub(super) fn business_route_end(region: &[usize], words: &[Word], mut e: usize) -> usize {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    if !at(e).is_some_and(|w| w.brk) && at(e + 1).is_some_and(|w| is(w, "rte|route|rt")) {
        e += 1;
        if !at(e).is_some_and(|w| w.brk) && at(e + 1).is_some_and(short_dir) {
            e += 1;
        }
    }
    e
}

/// "4715 F 41 Oscoda, MI": a letter and a number are one road (county road F-41); the
/// number is not a unit.
pub(super) fn lettered_route(words: &[Word], region: &[usize], name_start: usize) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    at(name_start)
        .is_some_and(|w| clean(&w.norm).len() == 1 && w.norm.bytes().all(|b| b.is_ascii_alphabetic()) && !is(w, DIRS))
        && at(name_start + 1).is_some_and(route_number)
}

/// "3645 N Route Z": Missouri's lettered state routes.
pub(super) fn route_letter(w: &Word) -> bool {
    w.raw.trim_end_matches([',', '.']).len() == 1 && w.raw.bytes().all(|b| b.is_ascii_uppercase() || b == b',')
}

/// "3340 Peachtree Rd NE Tower Place Ste 1685": a quadrant (NE, NW, SE, SW, word `d`)
/// after a street type ends the street; a later type belongs to a building's name
/// (not "21st St NW Ln", where the type follows the quadrant).
pub(super) fn quadrant_ends_street(words: &[Word], d: usize) -> bool {
    words.get(d).is_some_and(|w| short_dir(w) && clean(&w.norm).replace('.', "").len() == 2 && !w.brk)
        && words.get(d + 1).is_some_and(|n| !is(n, STRONG_SUFFIX))
}

/// "384 William St, E. Orange, NJ", "1 First St, e San Jose CA": after the street's
/// comma, one compass letter before a city's name ending at a comma, state or ZIP
/// starts the city (a quadrant, "Bolton Road, NW Atlanta", stays the street's).
pub(super) fn compass_letter_city(words: &[Word], j: usize) -> bool {
    let Some(d) = words.get(j) else { return false };
    // "3313 Hwy. 31, W. White House": a route's direction ("US 31W") stays.
    let route = j >= 2 && words.get(j - 1).is_some_and(route_number) && words.get(j - 2).is_some_and(|r| is(r, ROUTE));
    if clean(&d.norm).len() != 1 || d.brk || route {
        return false;
    }
    for k in j + 1..j + 4 {
        let Some(w) = words.get(k) else { return false };
        if !w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.' || b == b'\'') || is(w, CHATTER) {
            return false;
        }
        if w.brk || words.get(k + 1).is_some_and(|n| is_zip(n).is_some() || state_at(words, k + 1).is_some()) {
            return true;
        }
    }
    false
}

/// "1960 South 18th Rear": a unit without an id ending the address is not street.
pub(super) fn unit_alone_last(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| {
        is(w, UNIT_ALONE)
            && (w.brk || words.get(j + 1).is_none_or(|n| is_zip(n).is_some() || state_at(words, j + 1).is_some()))
    })
}

/// "720 10th Ave SW A Mount Vernon IA": a capital letter after the street, before a
/// capitalised city, is the unit.
pub(super) fn letter_unit_before_city(words: &[Word], i: usize) -> bool {
    let Some(w) = words.get(i) else { return false };
    let letter = w.raw.len() == 1 && w.raw.bytes().all(|b| b.is_ascii_uppercase()) && !is(w, DIRS) && !w.brk;
    let after_street =
        i.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| short_dir(p) || is(p, STRONG_SUFFIX));
    letter
        && after_street
        && words.get(i + 1).is_some_and(|n| {
            n.raw.starts_with(|c: char| c.is_ascii_uppercase()) && n.norm.bytes().all(|b| b.is_ascii_alphabetic())
        })
}

/// "2nd floor conference room", "12th Floor Executive Conference Room": the room's
/// name after a floor is part of the unit. Returns how many words.
pub(super) fn room_named(words: &[Word], i: usize) -> Option<usize> {
    for n in 1..=3 {
        let w = words.get(i + n - 1)?;
        if !w.norm.bytes().all(|b| b.is_ascii_alphabetic()) || is(w, CHATTER) || state_at(words, i + n - 1).is_some() {
            return None;
        }
        if n >= 2
            && is(w, "room|rm")
            && words.get(i + n).is_none_or(|x| !x.norm.bytes().any(|b| b.is_ascii_digit()) || is_zip(x).is_some())
        {
            return Some(n);
        }
        if w.brk {
            return None;
        }
    }
    None
}

/// "6910 # G Mary Caroline Circle": a unit between the house number and the street.
pub(super) fn unit_after_number(words: &[Word], j: usize) -> Option<String> {
    let hash = words.get(j).filter(|w| w.norm == "#" && !w.brk)?;
    let id = words
        .get(j + 1)
        .filter(|n| n.norm.len() <= 3 && n.norm.bytes().all(|b| b.is_ascii_alphanumeric()) && !n.brk)?;
    let name = words.get(j + 2)?;
    (name.norm.bytes().all(|b| b.is_ascii_alphabetic()) && name.norm.len() >= 2 && !is(name, CHATTER))
        .then(|| format!("{} {}", hash.raw, id.raw))
}

/// "Peachtree Dunwoody, B-17, Ste. 200": a bare id followed, after a comma, by a unit
/// with its designator is a building; the designated one (at `i`) is the unit.
pub(super) fn designated_unit_after_comma(words: &[Word], i: usize) -> bool {
    i.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| p.brk)
        && words.get(i).is_some_and(|w| is(w, UNIT_BEFORE_ID) && !is(w, SUBADDRESS) && w.norm != "#")
        && words.get(i + 1).is_some_and(|n| n.norm.bytes().any(|b| b.is_ascii_digit()))
}

/// Types that name a building or a complex as often as a street: "Cathedral Pl",
/// "Allen Plaza", "Colony Square", "Financial Place".
pub(super) fn place_name_type(w: &Word) -> bool {
    is(w, "plaza|plz|place|pl|square|sq|center|ctr|centre")
}

/// "1000 Cathedral Pl 925 W Georgia St", "30 Allen Plaza, Suite 700, 30 Ivan Allen Jr.
/// Blvd.", "One Exchange Plaza, 55 Broadway, New York": a numbered street with a
/// thoroughfare's type (or one name and a comma) follows (from word `i`), so the plaza
/// before it is the building, not the street.
pub(super) fn another_street_after(words: &[Word], i: usize) -> bool {
    (i..i + 5).any(|n| {
        let one_name = words.get(n + 1).is_some_and(|x| {
            x.brk
                && x.raw.starts_with(|c: char| c.is_ascii_uppercase())
                && x.norm.bytes().all(|b| b.is_ascii_alphabetic())
                && state_at(words, n + 1).is_none()
        });
        words.get(n).is_some_and(|w| is_house_number(w) && !w.brk)
            && (one_name
                || (n + 2..n + 7).find(|&k| words.get(k).is_none_or(|x| x.brk || is(x, STRONG_SUFFIX))).is_some_and(
                    |k| {
                        words.get(k).is_some_and(|x| is(x, STRONG_SUFFIX) && !place_name_type(x))
                            && (n + 1..k).all(|m| words.get(m).is_some_and(|x| !all_digits(x) && !is(x, CHATTER)))
                    },
                ))
    })
}

/// "440 LaSalle St. 1 Financial Place": after the street, a number and a name ending
/// in a plaza-like type is the building's own address, not the unit. Returns how many
/// words.
pub(super) fn numbered_place(words: &[Word], used: &[usize], i: usize) -> Option<usize> {
    words.get(i).filter(|w| all_digits(w) && !w.brk && !used.contains(&i))?;
    (i + 2..i + 5)
        .find(|&k| words.get(k).is_none_or(|x| place_name_type(x) || x.brk))
        .filter(|&k| {
            words.get(k).is_some_and(|x| place_name_type(x) && (x.brk || words.get(k + 1).is_none()))
                && (i + 1..=k).all(|m| {
                    words
                        .get(m)
                        .is_some_and(|x| x.raw.starts_with(|c: char| c.is_ascii_uppercase()) && !used.contains(&m))
                })
        })
        .map(|k| k + 1 - i)
}

/// "364 Golfview Rd N Palm Beach FL 33406", "525 Okeechobee Blvd. W. Palm Beach FL",
/// "Hwy 1 West Palm Beach": a compass word (word `d`) and the words up to the state or ZIP spell a city of
/// `COMPASS_CITIES`, so the word is the city's.
pub(super) fn compass_city_ahead(words: &[Word], d: usize) -> bool {
    let Some(compass) = words.get(d).filter(|w| !w.brk).and_then(compass_name) else { return false };
    let mut name = String::from(compass);
    for k in d + 1..d + 5 {
        let Some(x) = words.get(k) else { return false };
        name.push(' ');
        name.push_str(&clean(&x.norm).replace('.', ""));
        let ends = x.brk || words.get(k + 1).is_some_and(|n| is_zip(n).is_some() || state_at(words, k + 1).is_some());
        if ends {
            return text::listed(COMPASS_CITIES, &name);
        }
    }
    false
}

/// "14100 Ben C Pratt 6 Mile Cypress Pkwy", "8 Mile Rd": a number before "Mile" is
/// part of the name, not a unit.
pub(super) fn mile_road(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| !w.brk) && words.get(j + 1).is_some_and(|n| clean(&n.norm) == "mile")
}

/// "2153 Wealthy S E E Grand Rapids": a quadrant typed as two letters (word `d`).
pub(super) fn split_quadrant(words: &[Word], d: Option<usize>) -> bool {
    let Some(d) = d else { return false };
    words.get(d).is_some_and(|w| matches!(clean(&w.norm), "n" | "s") && !w.brk)
        && words.get(d + 1).is_some_and(|w| matches!(clean(&w.norm), "e" | "w"))
}

/// "4381 Lassiter at North Hills Ave", "4351 The Circle at North Hills St": "at" inside
/// a development's name, a street type within three words, when the street so far
/// (`region`) has no type of its own or starts with "The" (not "Main St at Elm").
pub(super) fn at_in_name(words: &[Word], region: &[usize], j: usize) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    let no_type_yet = region.iter().all(|&k| words.get(k).is_some_and(|w| !is(w, STRONG_SUFFIX)));
    words.get(j).is_some_and(|w| w.norm == "at" && !w.brk)
        && (no_type_yet || at(0).is_some_and(|w| clean(&w.norm) == "the"))
        && (1..=3).any(|d| words.get(j + d).is_some_and(|x| is(x, STRONG_SUFFIX)))
        && (1..3).all(|d| {
            words.get(j + d - 1).is_none_or(|x| !x.brk)
                && words.get(j + d).is_none_or(|x| !is(x, CHATTER) && !all_digits(x))
        })
}

/// "201 east south temple Salt Lake City Utah 84111": street words typed in lowercase,
/// then capitalised words up to the state or ZIP: the capitals start the city. Returns
/// the region index where the city starts.
pub(super) fn capitals_start_city(words: &[Word], region: &[usize], name_start: usize) -> Option<usize> {
    let lower = |w: &Word| !w.raw.bytes().any(|b| b.is_ascii_uppercase());
    let capital = |w: &Word| {
        w.raw.starts_with(|c: char| c.is_ascii_uppercase())
            && w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
    };
    let k = (name_start + 1..region.len())
        .find(|&k| region.get(k).and_then(|&x| words.get(x)).is_some_and(|w| !lower(w)))?;
    let before_lower = region.get(..k)?.iter().all(|&x| words.get(x).is_some_and(lower));
    let rest_capital = region.get(k..)?.iter().all(|&x| words.get(x).is_some_and(capital));
    let last = *region.last()?;
    let then_state = words.get(last + 1).is_some_and(|n| is_zip(n).is_some() || state_at(words, last + 1).is_some())
        || words.get(last).is_some_and(|w| w.brk);
    (before_lower && rest_capital && then_state).then_some(k)
}

/// "Valley Cottage NY 10989", "Augusta GA 30912": one to four words of letters from
/// `k` (not a building's "Bldg"), then a state or a ZIP: a city and the rest of its
/// address follow.
pub(super) fn city_then_state_or_zip(words: &[Word], k: usize) -> bool {
    for m in k..k + 4 {
        let Some(w) = words.get(m) else { return false };
        let letters = w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.' || b == b'\'');
        if !letters || is(w, CHATTER) || is(w, SUBADDRESS) {
            return false;
        }
        if words.get(m + 1).is_some_and(|n| is_zip(n).is_some()) || state_at(words, m + 1).is_some() {
            return true;
        }
        if w.brk {
            return false;
        }
    }
    false
}

/// "616 Corporate Way Suite 2 3665 Valley Cottage NY", "12645 Fredrick Street 1-5 344
/// Moreno Valley CA": a short bare number right after the unit's id (at `k - 1`),
/// before a city and its state or ZIP, is more of the unit, not a word to drop (it
/// also kept the city from being found).
pub(super) fn unit_number_goes_on(words: &[Word], used: &[usize], k: usize) -> bool {
    words.get(k).is_some_and(|n| all_digits(n) && n.norm.len() <= 4 && !n.brk && !used.contains(&k))
        && k.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| !p.brk)
        && city_then_state_or_zip(words, k + 1)
}

/// "4750 Tama St SE Unit K, L Cedar Rapids IA": a second capital letter after the
/// unit's letter (word `at`) and its comma is the unit too ("Unit K, L"), not the
/// city's first word.
pub(super) fn second_unit_letter(words: &[Word], at: usize) -> bool {
    let letter = |w: &Word| {
        let r = w.raw.trim_end_matches([',', '.']);
        r.len() == 1 && r.bytes().all(|b| b.is_ascii_uppercase())
    };
    words.get(at).is_some_and(|w| letter(w) && w.brk)
        && words.get(at + 1).is_some_and(|n| letter(n) && !n.brk && !is(n, DIRS))
        && words.get(at + 2).is_some_and(|c| {
            c.raw.starts_with(|c: char| c.is_ascii_uppercase()) && c.norm.bytes().all(|b| b.is_ascii_alphabetic())
        })
}

/// "1024 Randolph 1 N Oak Park IL": a compass letter after a bare unit number (word
/// `at`, said with no designator), before a city that is not a compass city ("1 N
/// Palm Beach" stays North Palm Beach), is the unit's ("1 N").
pub(super) fn unit_direction_before_city(words: &[Word], at: usize) -> bool {
    words.get(at).is_some_and(|w| all_digits(w) && !w.brk)
        && words.get(at + 1).is_some_and(|d| short_dir(d) && clean(&d.norm).len() == 1 && !d.brk)
        && city_then_state_or_zip(words, at + 2)
        && !compass_city_ahead(words, at + 1)
}

/// "20713 2700 N Ave", "1888 2150 East Rd": right after the house number, a number, a
/// direction and a street type are a grid road's name (rural Illinois and Indiana
/// number their roads), not a second house number.
pub(super) fn grid_road(words: &[Word], region: &[usize], end: Option<usize>) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    end == Some(2)
        && at(0).is_some_and(|w| all_digits(w) && (3..=5).contains(&w.norm.len()) && !w.brk)
        && at(1).is_some_and(|w| is(w, DIRS) && !w.brk)
        && at(2).is_some_and(|w| is(w, STRONG_SUFFIX))
}

/// "Via de Ventura", "Ave of the Americas", "Paseo de la Playa": a small word at `k`
/// (with its article) and the name word after it belong to the street. Returns how
/// many words (0: no particle).
pub(super) fn name_particle(words: &[Word], k: usize) -> usize {
    if !words.get(k).is_some_and(|w| is(w, NAME_PARTICLES) && !w.brk) {
        return 0;
    }
    let article = words.get(k + 1).is_some_and(|w| is(w, "the|la|las|los|el") && !w.brk);
    let name = k + 1 + usize::from(article);
    if words.get(name).is_some_and(|w| w.norm.bytes().all(|b| b.is_ascii_alphabetic()) && !is(w, CHATTER)) {
        name + 1 - k
    } else {
        0
    }
}

/// "401 Church Street, 14th Flr, L & C Twr Div of Fiscal Services-Fee Section
/// Nashville TN 37243": a ZIP ending the text, past a department's words (from `i`,
/// none with a digit), is the address's. Returns the ZIP's index.
pub(super) fn zip_ends_plain_words(words: &[Word], used: &[usize], i: usize) -> Option<usize> {
    let z = words.len().checked_sub(1)?;
    words.get(z).and_then(is_zip)?;
    for k in i..=z {
        if used.contains(&k) || k < z && words.get(k)?.norm.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(z)
}

/// "2615 1/2 Gary Ave", "4922 B South Cornell Ave", "2458 B Wesley Chapel Rd": the
/// word after the house number (at `j`) is its suffix: a half, or a letter before a
/// direction or a name. Before a type the letter is the name ("1800 M Street", "13011
/// T I Blvd"); "U S 401 Hwy" is U.S.; "P de Leon" is a name's initial.
pub(super) fn number_suffix(words: &[Word], j: usize) -> bool {
    let Some(w) = words.get(j) else { return false };
    let letter =
        clean(&w.norm).len() == 1 && w.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.') && !is(w, DIRS);
    let letter_then_dir = letter
        && words.get(j + 1).is_some_and(|n| is(n, DIRS))
        && !(clean(&w.norm) == "u" && words.get(j + 1).is_some_and(|n| clean(&n.norm) == "s"));
    let letter_then_name = letter
        && !w.brk
        && words.get(j + 1).is_some_and(|n| {
            clean(&n.norm).len() >= 2
                && n.norm.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
                && !is(n, STRONG_SUFFIX)
                && !is(n, NAME_PARTICLES)
                && (!is(n, CHATTER) || capital_so(words, j + 1))
        });
    w.norm == "1/2" || letter_then_dir || letter_then_name
}

/// "Truck and Trailer Way": a unit word (at `j`) right before a street type is part
/// of the name (not "Bonhomme Ave St 1400", where St is Suite).
pub(super) fn unit_word_in_name(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| w.norm.len() >= 4 && !w.brk)
        && words.get(j + 1).is_some_and(|n| {
            is(n, STRONG_SUFFIX) && !suite_st(words, j + 1) && words.get(j + 2).is_none_or(|x| !all_digits(x))
        })
}

/// "Grant Trace St. Simons Island": "St" before a saint's name (at `j`) starts the
/// city, unless a street type follows ("St Paul Ave").
pub(super) fn saint_city_at(words: &[Word], j: usize) -> bool {
    words.get(j).is_some_and(|w| matches!(clean(&w.norm), "st" | "saint"))
        && words.get(j + 1).is_some_and(|n| is(n, SAINTS))
        && !words.get(j + 2).is_some_and(|n| is(n, STRONG_SUFFIX))
}

/// "11745 I 10 W" (Interstate, not the pronoun), "8517 So Nashville" (South), "U S 401
/// Hwy" ("u" is read as "you" elsewhere): a chatter word (at `j`) that starts a road.
pub(super) fn road_word_not_chatter(words: &[Word], j: usize) -> bool {
    let Some(w) = words.get(j) else { return false };
    let next = words.get(j + 1);
    w.norm == "i" && next.is_some_and(all_digits)
        || clean(&w.norm) == "so"
            && (w.raw.starts_with('S') || w.raw.ends_with('.'))
            && next.is_some_and(|n| n.raw.starts_with(|c: char| c.is_ascii_uppercase()))
        || w.raw.eq_ignore_ascii_case("u") && next.is_some_and(|n| clean(&n.norm) == "s")
}

/// "219 South Dearborn Second Floor": a floor word after a name word (at `j`) starts
/// the unit there, unless its id follows ("Floor 3"), the word is a direction or a
/// type ("Main St 2nd Floor" ends at St anyway).
pub(super) fn floor_named_after(words: &[Word], j: usize) -> bool {
    let id_follows = words
        .get(j + 2)
        .is_some_and(|x| x.norm.len() <= 4 && x.norm.bytes().any(|b| b.is_ascii_digit()) && is_zip(x).is_none());
    words.get(j).is_some_and(|w| !w.brk && !short_dir(w) && !is(w, STRONG_SUFFIX))
        && !id_follows
        && words.get(j + 1).is_some_and(|n| is(n, UNIT_AFTER_ID))
}

/// "2928 N. 2900 E. Road", "144 S 500 E" (grid streets), "U S 401 Hwy", "E C R 850 N"
/// (county road), "F 41": a bare number (at `j`) after these street words (`region`)
/// names the road; after other street words it is a unit ("Bryn Mawr 211").
pub(super) fn number_names_road(words: &[Word], region: &[usize], j: usize) -> bool {
    let Some(w) = words.get(j) else { return false };
    let prev = region.last().and_then(|&k| words.get(k));
    let grid = region.len() == 1 && prev.is_some_and(|p| is(p, DIRS)) && all_digits(w) && w.norm.len() <= 5;
    let before_prev = region.len().checked_sub(2).and_then(|k| region.get(k)).and_then(|&k| words.get(k)).map(|p| {
        if p.raw.eq_ignore_ascii_case("u") {
            "u"
        } else {
            clean(&p.norm)
        }
    });
    let spelled_route = prev.is_some_and(|p| match clean(&p.norm) {
        "s" => before_prev == Some("u"),
        "r" => before_prev == Some("c"),
        x => region.len() == 1 && x.len() == 1 && x.bytes().all(|b| b.is_ascii_alphabetic()) && !is(p, DIRS),
    });
    grid || spelled_route
}

/// "W. Farwell 1A", "Elizabeth 1W": a short number with a letter after street words
/// is a unit (not an ordinal, "5th", nor a route's "US 31W" after `prev`).
pub(super) fn lettered_unit_after_name(w: &Word, prev: Option<&Word>) -> bool {
    let ordinal = ["st", "nd", "rd", "th"].iter().any(|o| w.norm.ends_with(o));
    !ordinal
        && !all_digits(w)
        && w.norm.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && w.norm.len() <= 4
        && w.norm.bytes().all(|b| b.is_ascii_alphanumeric())
        && !prev.is_some_and(|p| is(p, ROUTE) || is(p, PRE_TYPE))
}

/// "4417 W Lake St Minneapolis MN 55416", "Main St, Minnesota": a state (at `j`) with
/// its ZIP, a comma, chatter or the end after it ends the street once the street has
/// a type or a comma (`region`); not "Ave Ct" (a second type) nor "N 55416".
pub(super) fn state_ends_street(words: &[Word], region: &[usize], j: usize) -> bool {
    let Some(w) = words.get(j) else { return false };
    let suffix_pair =
        is(w, STRONG_SUFFIX) && region.last().and_then(|&k| words.get(k)).is_some_and(|p| is(p, STRONG_SUFFIX));
    let dir_not_state = is(w, DIRS) && words.get(j + 1).is_none_or(|a| is_zip(a).is_none());
    !(suffix_pair || dir_not_state)
        && state_at(words, j)
            .is_some_and(|(_, n)| words.get(j + n).is_none_or(|a| is_zip(a).is_some() || a.brk || is(a, CHATTER)))
        && region.iter().any(|&k: &usize| words.get(k).is_some_and(|x| is(x, STRONG_SUFFIX) || x.brk))
}

/// "Barnes Jewish Hospital Plz": a capitalised "Plz" (at `k`) after a name is Plaza,
/// not the "please" the typo list reads it as.
pub(super) fn plz_is_plaza(words: &[Word], k: usize) -> bool {
    words.get(k).is_some_and(|w| {
        w.norm == "please" && w.raw.trim_end_matches([',', '.']).eq_ignore_ascii_case("plz") && w.raw.starts_with('P')
    }) && k.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| {
        !p.brk && p.norm.bytes().all(|b| b.is_ascii_alphabetic()) && !is(p, CHATTER) && !is(p, STRONG_SUFFIX)
    })
}

/// "Dorchester Pl NE Unit Cedar Rapids": "Unit" (at `i`) before a capitalised word,
/// the unit's number left out.
pub(super) fn unit_without_its_id(words: &[Word], i: usize) -> bool {
    words.get(i).is_some_and(|w| w.norm == "unit")
        && words.get(i + 1).is_some_and(|n| {
            n.raw.starts_with(|c: char| c.is_ascii_uppercase()) && n.norm.bytes().all(|b| b.is_ascii_alphabetic())
        })
}

/// "Summit Court B", "Hudson Manor Terrace EE": one or two letters (at `i`) ending the
/// text after the street are the unit (not a state, not chatter).
pub(super) fn letters_unit_at_end(words: &[Word], i: usize) -> bool {
    words
        .get(i)
        .is_some_and(|w| w.norm.len() <= 2 && w.norm.bytes().all(|b| b.is_ascii_alphabetic()) && !is(w, CHATTER))
        && words.get(i + 1).is_none()
        && state_at(words, i).is_none()
}

/// "MA 1241": four digits after a state are a ZIP whose leading zero a spreadsheet ate.
pub(super) fn zip_lost_its_zero(w: &Word) -> bool {
    w.norm.len() == 4 && w.norm.bytes().all(|b| b.is_ascii_digit())
}

/// "N", "North", "n.": one of the four compass points, spelled out.
fn compass_name(w: &Word) -> Option<&'static str> {
    match clean(&w.norm) {
        "n" | "north" => Some("north"),
        "s" | "south" => Some("south"),
        "e" | "east" => Some("east"),
        "w" | "west" => Some("west"),
        _ => None,
    }
}

/// "224 S Cedar Ave S Pittsburg TN 37380", "1480 W City Highway 16 West Salem WI": a
/// compass word after the type (word `d`) that repeats the street's pre-directional,
/// a city's words and a state or ZIP after it, starts the city: no street runs south
/// twice.
pub(super) fn direction_repeated(words: &[Word], region: &[usize], name_start: usize, d: usize) -> bool {
    let pre = region.first().filter(|_| name_start == 1).and_then(|&k| words.get(k)).and_then(compass_name);
    pre.is_some() && words.get(d).and_then(compass_name) == pre && city_then_state_or_zip(words, d + 1)
}

/// "3252 Rt 60 East Ona WV", "500 FM 45 East": a spelled-out compass word right after
/// a route's number (region index `k`) is the route's direction.
pub(super) fn route_direction(words: &[Word], region: &[usize], k: usize) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    k >= 1
        && at(k).is_some_and(|w| route_number(w) && !w.brk)
        && at(k - 1).is_some_and(|w| is(w, ROUTE) || is(w, PRE_TYPE))
}

/// "132 N 10 Brooklyn": a street named by a direction and a bare number (region
/// indexes before `take`) has no more name words, so the name word after it starts
/// the city, even with no state or ZIP (not "2901 East 3300 South", a grid's second
/// direction).
pub(super) fn numbered_street_then_city(words: &[Word], region: &[usize], name_start: usize, take: usize) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    name_start == 1
        && take == 2
        && at(1).is_some_and(|w| all_digits(w) && !w.spoken)
        && at(2).is_some_and(|w| !is(w, DIRS) && !is(w, WEAK_SUFFIX))
}

/// "B San Luis Street, Avila Beach", "G-J Hathway Avenue, San Luis Obispo": a lot's
/// capital letter (or two joined by a dash) opening the text (word `i`), before
/// capitalised name words that end at a street type and a comma or the end, is the
/// house number (not the words "A" and "I", nor a direction: "E Main St, Avon").
pub(super) fn lot_letter_number(words: &[Word], i: usize) -> bool {
    let lot = |w: &Word| match w.raw.as_bytes() {
        [c] => c.is_ascii_uppercase() && !matches!(c, b'A' | b'I'),
        [a, b'-', b] => a.is_ascii_uppercase() && b.is_ascii_uppercase(),
        _ => false,
    };
    let name = |w: &Word| w.raw.starts_with(|c: char| c.is_ascii_uppercase()) && !w.brk && !is(w, CHATTER);
    i == 0
        && words.first().is_some_and(|w| lot(w) && !is(w, DIRS))
        && (2..5).any(|k| {
            words.get(k).is_some_and(|w| is(w, STRONG_SUFFIX) && (w.brk || words.get(k + 1).is_none()))
                && (1..k).all(|m| words.get(m).is_some_and(name))
        })
}

/// "1000 Nicollet Mall TPN 13A", "1120 15th Street, af 1025 Augusta GA": after the
/// street, two or three letters (typed in capitals, or after the comma) and a short id
/// with a digit, then the end, a city with its state or ZIP: a unit designator no list
/// has (not a state, a direction, a mailbox's "POB" or chatter).
pub(super) fn unlisted_designator(words: &[Word], used: &[usize], i: usize) -> bool {
    let Some(w) = words.get(i).filter(|w| !w.brk && !used.contains(&i)) else { return false };
    let after_comma = i.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| p.brk);
    let designator = (2..=3).contains(&w.norm.len())
        && w.norm.bytes().all(|b| b.is_ascii_lowercase())
        && (after_comma || w.raw.bytes().all(|b| b.is_ascii_uppercase()))
        && !is(w, DIRS)
        && !is(w, CHATTER)
        && !mailbox_at(words, i)
        && state_at(words, i).is_none()
        && !states().any(|(_, code)| code.eq_ignore_ascii_case(&w.norm));
    let id = words.get(i + 1).filter(|n| {
        n.norm.len() <= 5
            && n.norm.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && n.norm.bytes().all(|b| b.is_ascii_alphanumeric())
            && is_zip(n).is_none()
            && !used.contains(&(i + 1))
    });
    designator
        && id.is_some_and(|n| {
            n.brk || words.get(i + 2).is_none_or(|x| is_zip(x).is_some()) || city_then_state_or_zip(words, i + 2)
        })
}

/// "5429 woodlawn chicago", "7 N. Wells Chicago": with no type, state or ZIP, one of
/// the largest cities after the street's name is the city (a smaller town stays the
/// street's: "1755 Lake Cook", "6330 S Stony Island").
pub(super) fn largest_city(city: &str) -> bool {
    text::listed(LARGEST_CITIES, &text::lowercase(city))
}

/// "77 West Wacker! Drive. Ste 1900": a mark typed inside the street ended its words
/// before the type; the type (at `j`) right after the break, before a unit or the end,
/// is still the street's (not "Main, St Paul", a saint's city).
pub(super) fn type_after_stray_mark(words: &[Word], j: usize) -> bool {
    j.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| p.brk)
        && words.get(j).is_some_and(|w| is(w, STRONG_SUFFIX) && !saint_city_at(words, j))
        && words.get(j + 1).is_none_or(|n| is(n, UNIT_BEFORE_ID) || glued_unit(n))
}

/// "2274 Ashley River Rd Middleton Cove, Charleston": after the street's type (region
/// index `prev`), a name and a type that names complexes as often as streets (Cove,
/// Court, Place, Square...) ending the street's words at a comma (index `k`) are a
/// building, not more street ("River Rd Liberty Grove Rd" stays one street).
pub(super) fn complex_after_street(words: &[Word], region: &[usize], prev: usize, k: usize) -> bool {
    let at = |k: usize| region.get(k).and_then(|&x| words.get(x));
    k >= prev + 2
        && k + 1 == region.len()
        && at(k).is_some_and(|w| w.brk && (place_name_type(w) || is(w, "cove|cv|court|ct")))
        && (prev + 1..k).all(|m| at(m).is_some_and(|w| !w.brk && w.norm.bytes().all(|b| b.is_ascii_alphabetic())))
}
