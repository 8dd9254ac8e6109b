//! US service addresses: "4417 W Lake St Apt 2B, Minneapolis, MN 55416",
//! "12324 e 86th st n # 315 owasso ok 74055", "twenty two hundred main street".
//!
//! Word by word: a house number, then street words up to the street suffix (the
//! *first* strong suffix such as St/Ave/Rd that is not followed by another one, so
//! "Gross Point Road" keeps "Point"), an optional unit, then city, state and ZIP.
//! Every place a number could start is tried and the most address-like parse wins.

use super::words::Word;
use crate::text;

/// The parts of an address found in one utterance; any may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressParts {
    /// House number, "4417".
    pub number: Option<String>,
    /// Street without the number, "W Lake St".
    pub street: Option<String>,
    /// Unit as said, "Apt 2B", "Suite 300", "2nd Floor".
    pub unit: Option<String>,
    /// A building, department, mailbox or building name said with the address that is
    /// not the unit: "Bldg C-2", "PMB 175", "Dept 301", "Tower Place". The booking
    /// carries it with the unit ("Bldg C-2, Suite 100"): see [`AddressParts::unit_line`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Two-letter state, uppercase.
    pub state: Option<String>,
    /// Five-digit ZIP.
    pub zip: Option<String>,
}

impl AddressParts {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == AddressParts::default()
    }

    /// What goes on the address's second line: the building (or department, mailbox)
    /// then the unit, "Bldg C-2, Suite 100"; either alone; None when neither was said.
    pub fn unit_line(&self) -> Option<String> {
        match (&self.extra, &self.unit) {
            (Some(e), Some(u)) => Some(format!("{e}, {u}")),
            (Some(x), None) | (None, Some(x)) => Some(x.clone()),
            (None, None) => None,
        }
    }
}

/// "Bldg C-2" then "Dept 301": `extra` collects them in the order said.
fn add_extra(parts: &mut AddressParts, said: &str) {
    let said = said.trim_matches([',', ' ']);
    if said.is_empty() {
        return;
    }
    match parts.extra.as_mut() {
        Some(e) => {
            e.push_str(", ");
            e.push_str(said);
        }
        None => parts.extra = Some(said.to_string()),
    }
}

/// "Bldg C-2", "PMB 175", "Dept. 301", "Bld-A": a unit-shaped text whose designator
/// names a building, department or mailbox, which the USPS does not count as the unit.
fn subaddress_unit(unit: &str) -> bool {
    let first = unit.split([' ', '-', '#']).next().unwrap_or("");
    text::listed(SUBADDRESS, text::lowercase(first.trim_end_matches(['.', ','])).as_str())
}

mod rules;
pub(crate) mod tables;
mod tags;

use rules::*;
pub use tables::state_for_zip;
use tables::*;
use tags::*;

/// "w lake st" → "W Lake St": lowercase input gets capitals; anything typed with
/// capitals is kept as typed.
fn tidy(ws: &[Word]) -> String {
    let words: Vec<String> = ws
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let raw = w.raw.trim_end_matches(['.', ',']);
            // Spoken numbers and fixed typos ("stret") show the fixed word.
            let fixed = w.spoken && !name_number(w)
                || w.norm.trim_end_matches('.') != text::lowercase(raw) && (is(w, STRONG_SUFFIX) || is(w, DIRS));
            let raw = if fixed { w.norm.trim_end_matches('.') } else { raw };
            // "Via de Ventura", "Ave of the Americas": a particle inside the name stays small.
            let particle = k > 0
                && (is(w, NAME_PARTICLES)
                    || is(w, "the|la|las|los") && ws.get(k - 1).is_some_and(|p| is(p, NAME_PARTICLES)));
            if raw.chars().any(text::is_upper) || particle {
                raw.to_string()
            } else if text::listed(DIRS, raw) && raw.len() <= 2 {
                raw.to_ascii_uppercase()
            } else {
                text::capitalize(raw)
            }
        })
        .collect();
    words.join(" ")
}

/// Best address in the words; `used` marks words already taken (the phone).
pub(crate) fn find(words: &[Word], used: &[usize], tail_only: bool) -> AddressParts {
    let plaza = |k: usize| plz_is_plaza(words, k);
    if (0..words.len()).any(plaza) {
        let fixed: Vec<Word> = words
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let mut w = w.clone();
                if plaza(k) {
                    w.norm = "plz".to_string();
                }
                w
            })
            .collect();
        return find_in(&fixed, used, tail_only);
    }
    find_in(words, used, tail_only)
}

fn find_in(words: &[Word], used: &[usize], tail_only: bool) -> AddressParts {
    let mut best: Option<(i32, AddressParts)> = None;
    for i in 0..words.len() {
        if used.contains(&i) {
            continue;
        }
        let Some(w) = words.get(i) else { continue };
        if !is_house_number(w) && grid_len(words, i) == 0 && !lot_letter_number(words, i)
            || is_zip(w).is_some() && words.get(i + 1).is_none()
        {
            continue;
        }
        if let Some((score, parts)) = street_from(words, used, i) {
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, parts));
            }
        }
    }
    if let Some((_, parts)) = best {
        return parts;
    }
    // No street: a city/state/ZIP answer ("minneapolis mn 55416", "55416").
    if tail_only {
        for i in 0..words.len() {
            let mut parts = AddressParts::default();
            let (score, _) = tail(words, used, i, &mut parts, true, false);
            if score > 0 && (parts.zip.is_some() || parts.state.is_some()) {
                return parts;
            }
        }
    }
    AddressParts::default()
}

fn street_from(words: &[Word], used: &[usize], i: usize) -> Option<(i32, AddressParts)> {
    let num = words.get(i)?;
    // "# 2 Turner Rd": a '#' that opens the text is the number sign.
    let hash_first = i == 1 && words.first().is_some_and(|p| p.norm == "#");
    if num.brk
        || !hash_first
            && i.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| {
                is(p, UNIT_BEFORE_ID) && !floor_after_its_id(words, i - 1)
                    || is(p, "rr|box|lockbox|lbx|code|file|msc|mc")
            })
    {
        return None;
    }
    // The street region: up to a comma, a unit word, a ZIP, a state or chatter.
    let mut region = Vec::new();
    let grid_words = grid_len(words, i);
    let mut j = i + grid_words.max(1);
    if number_suffix(words, j) {
        j += 1;
    }
    let unit_after_number = unit_after_number(words, j);
    if unit_after_number.is_some() {
        j += 2;
    }
    let mut ended_by_comma = false;
    let mut broke_at_unit = false;
    let mut broke_at_saint = false;
    while let Some(w) = words.get(j) {
        if used.contains(&j) || region.len() >= 8 || is_zip(w).is_some() {
            break;
        }
        let first = region.is_empty();
        // "Wind and Fire Dr", "C AND N Smith Mill Rd": "and" inside a name that a
        // strong suffix ends within a few words.
        let and_in_name = !first && and_in_name(words, j);
        // "13th Ave No St Petersburg", "21st ave no. ste 130": "No" after a street type is North.
        let north = region.last().is_some_and(|&k| no_is_north(words, k, j));
        let name_before_type = unit_word_in_name(words, j);
        // "U.S. Highway No. 130": "No." between a road type and its number.
        let route_no = region.last().is_some_and(|&k| no_before_route_number(words, k, j));
        // "W. Taylor (m/c 525) rm. 128": a note in parentheses is skipped.
        if !first && w.raw.starts_with('(') {
            let close =
                (j..j + 6).find(|&k| words.get(k).is_some_and(|x| x.raw.trim_end_matches([',', '.']).ends_with(')')));
            if let Some(c) = close {
                if (j..=c).all(|k| !used.contains(&k)) {
                    let brk = words.get(c).is_some_and(|x| x.brk);
                    j = c + 1;
                    if brk {
                        ended_by_comma = true;
                        break;
                    }
                    continue;
                }
            }
        }
        if !first
            && (is(w, UNIT_BEFORE_ID) && !north && !name_before_type && !route_no
                || w.norm.starts_with('#')
                || is(w, CHATTER) && !and_in_name && !letter_before_type(words, j) && !at_in_name(words, &region, j)
                || glued_unit(w))
        {
            break;
        }
        let saint = saint_city_at(words, j);
        // "P.O. Box 5000", "RR 1 Box 297": a mailbox, not the street.
        let mailbox = mailbox_at(words, j);
        if !first && (region.len() >= 2 && saint || mailbox) {
            broke_at_saint = saint;
            break;
        }
        if first && (is(w, CHATTER) && !road_word_not_chatter(words, j) || is(w, UNIT_BEFORE_ID) && !is(w, PRE_TYPE)) {
            return None;
        }
        if !first
            && suite_st(words, j)
            && region.last().and_then(|&k| words.get(k)).is_some_and(|p| is(p, STRONG_SUFFIX))
        {
            broke_at_unit = true;
            break;
        }
        if !first && state_ends_street(words, &region, j) {
            break;
        }
        if !first && floor_named_after(words, j) {
            break;
        }
        if !first && unit_alone_last(words, j) {
            broke_at_unit = true;
            break;
        }
        // "Bryn Mawr 211": a bare number after street words is a unit, except after
        // a road type ("State Road 37", "Hwy 50").
        let prev = region.last().and_then(|&k: &usize| words.get(k));
        if !first
            && all_digits(w)
            && !name_number(w)
            && !number_names_road(words, &region, j)
            && !mile_road(words, j)
            && !prev.is_some_and(|p| is(p, PRE_TYPE) || is(p, ROUTE) || is(p, "county|box|no|old"))
        {
            broke_at_unit = true;
            break;
        }
        if !first && lettered_unit_after_name(w, prev) {
            broke_at_unit = true;
            break;
        }
        region.push(j);
        j += 1;
        if w.brk {
            ended_by_comma = true;
            break;
        }
    }
    if region.is_empty() {
        return None;
    }
    let rw = |k: usize| region.get(k).and_then(|&x| words.get(x));
    // Leading directional and pre-type ("S. Avenue H", "Highway 61").
    let mut name_start = 0;
    if rw(0).is_some_and(|w| is(w, DIRS))
        && region.len() > 1
        && !rw(1)
            .is_some_and(|w| is(w, STRONG_SUFFIX) && (region.len() == 2 || w.brk || rw(2).is_some_and(|x| is(x, DIRS))))
    {
        name_start = 1;
    }
    let pre_type = rw(name_start).is_some_and(|w| is(w, PRE_TYPE)) && region.len() > name_start + 1;
    let search_from = if pre_type { name_start + 2 } else { name_start + 1 };
    let mut end = None; // index in region of the last street word
    let mut strong = false;
    let mut complex = None; // region index of a complex's type after the street's

    // The last strong suffix ends the street ("River Rd Liberty Grove Rd"), but "St"
    // before a saint's name starts the city ("Ocean Blvd St Simons Island").
    for k in search_from..region.len() {
        let saint_at = |k: usize| {
            rw(k).is_some_and(|w| matches!(clean(&w.norm), "st" | "ste")) && rw(k + 1).is_some_and(|w| is(w, SAINTS))
        };
        let next_strong = rw(k + 1).is_some_and(|w| is(w, STRONG_SUFFIX)) && !saint_at(k + 1);
        if rw(k).is_some_and(|w| is(w, STRONG_SUFFIX)) && !next_strong && !saint_at(k) {
            if end.is_some_and(|p| complex_after_street(words, &region, p, k)) {
                complex = Some(k);
                break;
            }
            end = Some(k);
            strong = true;
            if region.get(k + 1).is_some_and(|&d| quadrant_ends_street(words, d)) {
                break;
            }
        }
    }
    // A route: "State Route 690", "U.S. Highway No. 130", "Hwy 1807", "Business 190".
    if pre_type && end.is_none() {
        let mut k = name_start + 1;
        while k < name_start + 4 && rw(k).is_some_and(|w| is(w, PRE_TYPE) || is(w, ROUTE) || clean(&w.norm) == "no") {
            k += 1;
        }
        if rw(k).is_some_and(|w| route_number(w) || route_letter(w)) {
            end = Some(k);
            strong = true;
        }
    }
    // "201 east south temple Salt Lake City Utah": typed in lowercase up to a
    // capitalised city.
    if !strong && !pre_type {
        if let Some(k) = capitals_start_city(words, &region, name_start) {
            end = Some(k - 1);
        }
    }
    // "1317 Lindbergh Plaza Center St. Louis": a weak type after the strong one, right
    // before a saint's city, is still the street's.
    if let Some(k) = end
        .filter(|&k| strong && broke_at_saint && k + 2 == region.len() && rw(k + 1).is_some_and(|w| is(w, WEAK_SUFFIX)))
    {
        end = Some(k + 1);
    }
    if end.is_none() && lettered_route(words, &region, name_start) {
        end = Some(name_start + 1);
        strong = true;
    }
    if end.is_none() {
        end = (search_from..region.len()).rev().find(|&k| rw(k).is_some_and(|w| is(w, WEAK_SUFFIX)));
    }
    let mut score = 1;
    if rw(0).is_some_and(|w| all_digits(w) && !name_number(w)) && !pre_type {
        // "111 501 south mill st": 501 is the house number; "20713 2700 N Ave": not.
        score += if grid_road(words, &region, end) { 2 } else { -2 };
    }
    let suffix_found = end.is_some();
    let end = match end {
        Some(mut k) => {
            // The route number after a road type ("County Rd 312", "Loop 410").
            if rw(k).is_some_and(|w| is(w, ROUTE)) {
                if rw(k + 1).is_some_and(|w| clean(&w.norm) == "no") && rw(k + 2).is_some_and(route_number) {
                    k += 2;
                } else if rw(k + 1).is_some_and(route_number) {
                    k += 1;
                }
            }
            score += if strong { 4 } else { 1 };
            // Post-directional: "86th st n", "16th St NW"; a spelled-out one only at a
            // boundary ("Conniston Road West Palm Beach": West starts the city) or after
            // a route's number ("Rt 60 East").
            let compass_city = region
                .get(k + 1)
                .is_some_and(|&d| compass_city_ahead(words, d) || direction_repeated(words, &region, name_start, d));
            let route_dir = route_direction(words, &region, k);
            let dir_ok = !compass_city
                && rw(k + 1).is_some_and(|w| {
                    (is(w, DIRS) || clean(&w.norm) == "no")
                        && (clean(&w.norm).len() <= 3
                            || route_dir
                            || w.brk
                            || broke_at_saint && rw(k + 2).is_none()
                            || rw(k + 2).is_none()
                                && words
                                    .get(j)
                                    .is_none_or(|n| !n.norm.chars().all(text::is_letter) || is(n, UNIT_BEFORE_ID)))
                });
            let mut e = k;
            if dir_ok && !rw(k).is_some_and(|w| w.brk) {
                e = k + 1;
                // "Lucerne Dr S E": a split NE/SE.
                if rw(e).is_some_and(|w| matches!(clean(&w.norm), "n" | "s") && !w.brk)
                    && rw(e + 1).is_some_and(|w| matches!(clean(&w.norm), "e" | "w"))
                {
                    e += 1;
                }
            }
            // "Avon St Ext", "US 17 Business".
            if !rw(e).is_some_and(|w| w.brk)
                && rw(e + 1).is_some_and(|w| matches!(clean(&w.norm), "ext" | "business" | "bus" | "bsnss"))
            {
                e += 1;
                e = business_route_end(&region, words, e);
            }
            e
        }
        None => {
            // No suffix: the whole region is the street unless a state/zip follows
            // right after it without a comma (then we cannot split city from street).
            region.len() - 1
        }
    };
    // A street of only digits ("4417 612") is not a street.
    let mut street_words: Vec<Word> = region.iter().take(end + 1).filter_map(|&x| words.get(x).cloned()).collect();
    if street_words.iter().all(|w| w.norm.bytes().all(|b| b.is_ascii_digit())) && !pre_type {
        return None;
    }
    let mut next = region.get(end + 1).copied().unwrap_or(j);
    let after_comma = ended_by_comma || street_words.last().is_some_and(|w| w.brk);
    if !suffix_found && next == j && !used.contains(&j) && type_after_stray_mark(words, j) {
        if let Some(t) = words.get(j) {
            street_words.push(t.clone());
            next = j + 1;
        }
    }
    // "1105 Bolton Road, NW Atlanta", "985 Cox Ave., S.W., Atlanta": the
    // directional after the comma still belongs to the street.
    if suffix_found && next == j && street_words.last().is_some_and(|w| w.brk) {
        if let Some(d) = words.get(j).filter(|d| short_dir(d) && !used.contains(&j) && !compass_letter_city(words, j)) {
            street_words.push(d.clone());
            next = j + 1;
            let pair = matches!(clean(&d.norm), "n" | "s") && !d.brk;
            if let Some(e) =
                words.get(j + 1).filter(|e| pair && matches!(clean(&e.norm), "e" | "w") && !used.contains(&(j + 1)))
            {
                street_words.push(e.clone());
                next = j + 2;
            }
        }
    }
    let mut parts = AddressParts {
        // "One Jelly Belly Lane": a capitalised one-word number is the building's name and
        // stays a word; said or typed in lowercase ("five main st") it is a house number
        // and becomes digits, which is what a technician's GPS needs.
        number: Some(if grid_words > 0 {
            words
                .get(i..i + grid_words)
                .unwrap_or(&[])
                .iter()
                .map(|w| w.norm.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(" ")
        } else if num.spoken && !num.raw.contains(' ') && num.raw.starts_with(text::is_upper) {
            num.raw.clone()
        } else {
            num.norm.to_ascii_uppercase()
        }),
        street: Some(tidy(&street_words)),
        ..AddressParts::default()
    };
    if let Some(k) = complex {
        let name: Vec<&str> = region
            .get(end + 1..=k)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&x| words.get(x))
            .map(|w| w.raw.as_str())
            .collect();
        add_extra(&mut parts, &name.join(" "));
        next = j;
    }
    let after_comma = after_comma || complex.is_some();
    let (tail_score, _) = tail(words, used, next, &mut parts, after_comma, suffix_found || broke_at_unit);
    score += tail_score;
    if let Some(u) = unit_after_number {
        match parts.unit {
            None => parts.unit = Some(u),
            Some(_) => add_extra(&mut parts, &u),
        }
    }
    said_before_number(words, used, i, &mut parts);
    if street_words.last().is_some_and(place_name_type) && another_street_after(words, next) {
        score -= 5;
    }
    if region.len() > end + 1 && parts.city.is_none() && parts.zip.is_none() {
        score -= 1; // leftover words we could not place
    }
    // No suffix and no comma: "115 Broadway San Francisco CA". One street word (after
    // a directional) when the rest reads as city + state or ZIP.
    // "27 Washington Oak Park IL 60302": a weak type ending the words before the state
    // may be the city's ("Oak Park"), so the one-word street is tried too.
    let weak_end = suffix_found
        && !strong
        && !after_comma
        && region.get(end + 1).is_none_or(|&k| state_at(words, k).is_some_and(|(_, n)| end + 1 + n == region.len()));
    // "Ave of the Americas New York NY": a pre-type street goes on through its particle.
    let particle_after_type = pre_type && region.get(name_start + 1).is_some_and(|&k| name_particle(words, k) > 0);
    if (!suffix_found || weak_end)
        && (!pre_type || particle_after_type)
        && end > name_start
        && !lettered_route(words, &region, name_start)
    {
        // "193 Braybrook SE Cedar Rapids": a two-letter direction after it stays.
        let quadrant = if split_quadrant(words, region.get(name_start + 1).copied()) { 2 } else { 1 };
        let take = name_start
            + 1
            + if rw(name_start + 1).is_some_and(|d| short_dir(d) && clean(&d.norm).len() == 2) || quadrant == 2 {
                quadrant
            } else {
                0
            };
        // "E. Via de Ventura Scottsdale": the name goes on through "de".
        let take = take + region.get(take).map_or(0, |&k| name_particle(words, k));
        let take = if region.len() > take { take } else { name_start + 1 };
        let one: Vec<Word> = region.iter().take(take).filter_map(|&x| words.get(x).cloned()).collect();
        let mut alt =
            AddressParts { number: parts.number.clone(), street: Some(tidy(&one)), ..AddressParts::default() };
        let from = region.get(take).copied().unwrap_or(j);
        let (alt_score, _) = tail(words, used, from, &mut alt, true, false);
        said_before_number(words, used, i, &mut alt);
        let the = rw(name_start).is_some_and(|w| clean(&w.norm) == "the");
        if alt.city.is_some()
            && (alt.state.is_some()
                || alt.zip.is_some()
                || numbered_street_then_city(words, &region, name_start, take)
                || alt.city.as_deref().is_some_and(largest_city))
            && (!weak_end || alt.state.is_some() && alt.zip.is_some())
            && alt_score + 1 >= score
            && !the
        {
            return Some((alt_score + 1, alt));
        }
    }
    Some((score, parts))
}

/// "Suite 200, Building 17, 7000 Peachtree Dunwoody Rd", "Apt 4 10A Dr. MLK Blvd",
/// "41st floor 1221 Ave of the Americas": a unit (or building, floor, plaza) said
/// before the house number (word `i`) goes in the unit or `extra`.
fn said_before_number(words: &[Word], used: &[usize], i: usize, parts: &mut AddressParts) {
    if parts.unit.is_none() {
        let mut b = i;
        let pair = |b: usize, list: &'static str| {
            b >= 2
                && words.get(b - 2).is_some_and(|t| is(t, list))
                && words.get(b - 1).is_some_and(|x| {
                    x.norm.len() <= 6 && x.norm.bytes().any(|c| c.is_ascii_digit()) && !used.contains(&(b - 1))
                })
        };
        while pair(b, SUBADDRESS) {
            b -= 2;
        }
        let unit_first = pair(b, UNIT_BEFORE_ID) && (b == 2 || words.get(b - 3).is_some_and(|x| x.brk));
        // "lt42 99 Some Road": a glued unit said first.
        if !unit_first
            && b == i
            && i >= 1
            && words.get(i - 1).is_some_and(|u| glued_unit(u) && !used.contains(&(i - 1)))
            && (i == 1 || words.get(i - 2).is_some_and(|x| x.brk))
        {
            parts.unit = words.get(i - 1).map(|u| u.raw.clone());
        }
        if unit_first {
            if let (Some(t), Some(x)) = (words.get(b - 2), words.get(b - 1)) {
                parts.unit = Some(format!("{} {}", t.raw, x.raw)).filter(|u| !subaddress_unit(u));
            }
        }
        // "41st floor 1221 Ave of the Americas": a floor said first is `extra`.
        if b == i && i >= 2 && floor_after_its_id(words, i - 1) && (i == 2 || words.get(i - 3).is_some_and(|x| x.brk)) {
            b -= 2;
        }
        // "Bldg 5, Suite 200, 7000 Peachtree Dunwoody Rd": the building is `extra`.
        let start = if unit_first { b - 2 } else { b };
        // "30 Allen Plaza, Suite 700, 30 Ivan Allen Jr. Blvd.": the plaza is `extra`.
        let building_first = start > 1
            && start <= 6
            && words.get(start - 1).is_some_and(|x| (x.brk || start == i) && place_name_type(x))
            && (0..start).all(|k| !used.contains(&k));
        if building_first {
            let said: Vec<&str> =
                words.get(..start).unwrap_or(&[]).iter().map(|w| w.raw.trim_end_matches(',')).collect();
            add_extra(parts, &said.join(" "));
        }
        if b < i && (start == 0 || words.get(start - 1).is_some_and(|x| x.brk)) {
            let from = if parts.unit.is_some() { b } else { start };
            let said: Vec<&str> =
                words.get(from..i).unwrap_or(&[]).iter().map(|w| w.raw.trim_end_matches(',')).collect();
            add_extra(parts, &said.join(" "));
        }
    }
}

/// Unit, city, state and ZIP starting at word `i`. Returns (score, next index).
fn tail(
    words: &[Word],
    used: &[usize],
    mut i: usize,
    parts: &mut AddressParts,
    after_comma: bool,
    after_suffix: bool,
) -> (i32, usize) {
    let mut score = 0;
    let free = |k: usize| !used.contains(&k);
    // Building or department first ("Bldg 300, Suite 615"): kept as `extra`, not the unit.
    while let (Some(w), Some(n)) = (words.get(i).filter(|_| free(i)), words.get(i + 1).filter(|_| free(i + 1))) {
        let id_ok =
            n.norm.len() <= 6 && n.norm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && is_zip(n).is_none();
        // "Medical Park Tower 5 Suite 704": a numbered tower is a building too.
        let building = is(w, SUBADDRESS) || is(w, "tower|twr");
        if !(building
            && id_ok
            && words.get(i + 2).is_some_and(|x| {
                is(x, UNIT_BEFORE_ID) || x.norm.starts_with('#') || glued_unit(x) || suite_st(words, i + 2)
            }))
        {
            break;
        }
        add_extra(parts, &format!("{} {}", w.raw.trim_end_matches(','), n.raw.trim_end_matches(',')));
        i += 2;
    }
    // "Bld-A Flr 3 Ste 222": a building typed with its id.
    if let Some(w) = words.get(i).filter(|w| free(i) && w.norm.contains('-') && !w.brk && subaddress_unit(&w.raw)) {
        add_extra(parts, &w.raw);
        i += 1;
    }
    // Unit; a building, department or mailbox said where the unit goes ("Bldg C-2",
    // "PMB 175", "Dept 528 4th Floor") is `extra`, and the unit may follow it.
    if let Some(n) = numbered_place(words, used, i) {
        let said: Vec<&str> = words.get(i..i + n).unwrap_or(&[]).iter().map(|w| w.raw.as_str()).collect();
        add_extra(parts, &said.join(" "));
        i += n;
    }
    for _ in 0..3 {
        let (s, next) = unit_from(words, used, i, parts, after_comma, after_suffix);
        score += s;
        i = next;
        let bare_then_designated =
            parts.unit.as_deref().is_some_and(|u| !u.contains([' ', '#'])) && designated_unit_after_comma(words, i);
        if !parts.unit.as_deref().is_some_and(subaddress_unit) && !bare_then_designated {
            break;
        }
        if let Some(u) = parts.unit.take() {
            add_extra(parts, &u);
        }
    }
    // City: up to four words of letters before a state or ZIP (or a comma at the end).
    let city_start = i;
    let mut k = i;
    let mut city_end = None;
    while let Some(w) = words.get(k) {
        if !free(k) || k - city_start >= 4 {
            break;
        }
        if k > city_start && (state_at(words, k).is_some() || is_zip(w).is_some()) {
            city_end = Some(k);
            break;
        }
        if !w.norm.chars().all(|c| text::is_letter(c) || c == '.' || c == '\'' || c == '-') || is(w, CHATTER) {
            break;
        }
        k += 1;
        if w.brk {
            let after = words.get(k);
            if after.is_none()
                || after.is_some_and(|a| state_at(words, k).is_some() || is_zip(a).is_some())
                || after_comma
            {
                city_end = Some(k);
            }
            break;
        }
        if words.get(k).is_none() && after_comma {
            city_end = Some(k);
        }
    }
    // A state right away (no city) is fine too: "…, MN 55416".
    if let Some(ce) = city_end {
        let city_words: Vec<Word> = words.get(city_start..ce).unwrap_or(&[]).to_vec();
        // A lone state word with no ZIP after it is the state, not a city; a state's
        // two-letter code is the state even before a ZIP of that state ("Lake St, MN
        // 55416"; not "Lowry Ave NE 55418", Northeast in Minneapolis).
        let code = city_words.first().is_some_and(|w| {
            let zip_state = words.get(ce).map(|z| z.norm.as_str()).and_then(state_for_zip);
            zip_state.is_some_and(|st| st.eq_ignore_ascii_case(clean(&w.norm)))
        });
        let only_state = city_words.len() == 1
            && state_at(words, city_start).is_some()
            && ce == city_start + 1
            && (words.get(ce).is_none_or(|w| is_zip(w).is_none()) || code)
            && state_at(words, ce).is_none();
        if !city_words.is_empty() && !only_state {
            parts.city = Some(tidy(&city_words));
            score += 1;
            i = ce;
        }
    }
    if let Some((code, n)) = state_at(words, i).filter(|_| free(i)) {
        parts.state = Some(code);
        score += 1;
        i += n;
    }
    if let Some(z) = words.get(i).filter(|_| free(i)).and_then(is_zip) {
        // "client code 28502 chicago il 60686": a later ZIP after a city and state wins.
        let (z, at) = match later_zip(words, used, i) {
            Some(k) => (words.get(k).and_then(is_zip).unwrap_or(z), k),
            None => (z, i),
        };
        parts.zip = Some(z);
        score += 2;
        i = at + 1;
    } else if let Some(w) = words.get(i).filter(|w| parts.state.is_some() && zip_lost_its_zero(w)) {
        parts.zip = Some(format!("0{}", w.norm));
        score += 1;
        i += 1;
    } else {
        // The ZIP further on ("Memphis TN, TN 38103", a typo in the state): the last
        // ZIP-shaped word within a few words.
        let found = (i..(i + 9).min(words.len()))
            .rev()
            .find(|&k| free(k) && words.get(k).and_then(is_zip).is_some())
            .or_else(|| zip_ends_plain_words(words, used, i));
        if let Some(k) = found {
            parts.zip = words.get(k).and_then(is_zip);
            score += 1;
            i = k + 1;
        }
    }
    (score, i)
}

/// The unit at word `i` ("Apt 2B", "# 3 South", "9th Floor Room 905"), set in
/// `parts.unit` when none is set yet. Returns (score, next index).
fn unit_from(
    words: &[Word],
    used: &[usize],
    mut i: usize,
    parts: &mut AddressParts,
    after_comma: bool,
    after_suffix: bool,
) -> (i32, usize) {
    let mut score = 0;
    let free = |k: usize| !used.contains(&k);
    if after_suffix || i.checked_sub(1).and_then(|p| words.get(p)).is_some_and(|p| p.brk) {
        let unit_at = past_building(words, used, i);
        if unit_at > i {
            let name: Vec<&str> = words.get(i..unit_at).unwrap_or(&[]).iter().map(|w| w.raw.as_str()).collect();
            add_extra(parts, &name.join(" "));
        }
        i = unit_at;
    }
    if let (Some(w), true) = (words.get(i), free(i)) {
        let next = words.get(i + 1).filter(|_| free(i + 1));
        // "unit 17771 long beach ca 90807": five digits are the unit when the ZIP comes later.
        if is(w, UNIT_BEFORE_ID) && next.and_then(is_zip).is_some() && later_zip(words, used, i + 1).is_some() {
            if let Some(n) = next {
                parts.unit = Some(format!("{} {}", w.raw, n.raw));
                score += 1;
                i += 2;
            }
        }
    }
    if let (Some(w), true, true) = (words.get(i), free(i), parts.unit.is_none()) {
        let next = words.get(i + 1).filter(|_| free(i + 1));
        let unit_id = |x: &Word| {
            x.norm.len() <= 8
                && x.norm.bytes().any(|b| b.is_ascii_alphanumeric())
                && !is(x, CHATTER)
                && is_zip(x).is_none()
        };
        // "Unit C-D", "Apt 12-3B".
        let dashed = |x: &Word| {
            x.norm.contains('-') && x.norm.len() <= 6 && x.norm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        // "# APT 2", "Ste # 2": the '#' adds nothing.
        let hash_type = w.norm == "#" && next.is_some_and(|n| is(n, UNIT_BEFORE_ID) && n.norm != "#");
        let type_hash = is(w, UNIT_BEFORE_ID) && w.norm != "#" && next.is_some_and(|n| n.norm == "#" && !n.brk);
        let after = words.get(i + 2).filter(|_| free(i + 2));
        let mut id_at = None;
        if (hash_type || type_hash) && after.is_some_and(&unit_id) {
            let id = after.map(|n| n.raw.as_str()).unwrap_or("");
            let t = if hash_type { next.map(|n| n.raw.as_str()).unwrap_or("") } else { w.raw.as_str() };
            parts.unit = Some(format!("{t} {id}"));
            id_at = Some(i + 2);
            i += 3;
        } else if w.norm.starts_with('#') && w.norm.len() > 1 || glued_unit(w) {
            parts.unit = Some(w.raw.clone());
            id_at = Some(i);
            i += 1;
        } else if w.norm == "#" && next.is_some_and(|n| n.norm.len() <= 6 && all_digits(n)) {
            // "# 50430": after '#', five digits are a box, not a ZIP.
            parts.unit = next.map(|n| n.raw.clone());
            id_at = Some(i + 1);
            i += 2;
        } else if (is(w, UNIT_BEFORE_ID) || misspelled(w, UNIT_BEFORE_ID))
            && next.is_some_and(|n| {
                (unit_id(n) || n.norm.len() == 1 && n.norm.bytes().all(|b| b.is_ascii_alphabetic()))
                    && (n.norm.bytes().any(|b| b.is_ascii_digit()) || n.norm.len() <= 2 || dashed(n))
            })
        {
            let id = next.map(|n| if n.spoken { n.norm.as_str() } else { n.raw.as_str() }).unwrap_or("");
            parts.unit = Some(format!("{} {}", w.raw, id));
            id_at = Some(i + 1);
            i += 2;
        } else if next.is_some_and(|n| is(n, UNIT_AFTER_ID)) && unit_id(w) && !w.brk && !subaddress_unit(&w.raw) {
            let t = next.map(|n| n.raw.as_str()).unwrap_or("");
            parts.unit = Some(format!("{} {}", w.raw, t));
            i += 2;
        } else if is(w, UNIT_ALONE) || after_suffix && misspelled(w, UNIT_ALONE) {
            parts.unit = Some(w.raw.clone());
            i += 1;
        } else if (after_comma || after_suffix) && suite_st(words, i) {
            // "Bonhomme Ave St 1400", "Boundary Terrace, St 2": St before a number is Suite.
            parts.unit = Some(format!("{} {}", w.raw, next.map(|n| n.raw.as_str()).unwrap_or("")));
            id_at = Some(i + 1);
            i += 2;
        } else if after_suffix && unit_without_its_id(words, i) {
            parts.unit = Some(w.raw.clone());
            i += 1;
        } else if (after_comma || after_suffix)
            && (w.norm.len() <= 5 || w.norm.len() <= 8 && w.norm.contains('-') && w.brk)
            && w.norm.bytes().any(|b| b.is_ascii_digit())
            && is_zip(w).is_none()
            && w.norm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            parts.unit = Some(w.raw.clone());
            id_at = Some(i);
            i += 1;
        } else if after_suffix && (letters_unit_at_end(words, i) || letter_unit_before_city(words, i)) {
            parts.unit = Some(w.raw.clone());
            i += 1;
        } else if (after_comma || after_suffix) && unlisted_designator(words, used, i) {
            parts.unit = Some(format!("{} {}", w.raw, next.map(|n| n.raw.as_str()).unwrap_or("")));
            id_at = Some(i + 1);
            i += 2;
        }
        // "Apt 13 C", "# 3 South", "Unit K, L": a letter or direction ends the unit.
        if let (Some(at), Some(u)) = (id_at, parts.unit.as_mut()) {
            let last_ok = words.get(at).is_some_and(|x| !x.brk);
            if let Some(x) =
                words.get(at + 1).filter(|x| last_ok && free(at + 1) && (x.brk || words.get(at + 2).is_none()))
            {
                let letter = x.norm.len() == 1 && x.norm.bytes().all(|b| b.is_ascii_alphabetic());
                if letter || is(x, DIRS) {
                    u.push(' ');
                    u.push_str(&x.raw);
                    i = at + 2;
                }
            }
            // "Unit K, L", "1 N Oak Park", "Suite 2 3665 Valley Cottage": more of the unit.
            let sep = if i != at + 1 || !free(at + 1) {
                ""
            } else if second_unit_letter(words, at) {
                ", "
            } else if !u.contains(' ') && unit_direction_before_city(words, at)
                || unit_number_goes_on(words, used, at + 1)
            {
                " "
            } else {
                ""
            };
            if let Some(x) = words.get(at + 1).filter(|_| !sep.is_empty()) {
                u.push_str(sep);
                u.push_str(&x.raw);
                i = at + 2;
            }
        }
        // "9th Floor room 905", "14th Floor, Room 1418", "Apt. 3rd Flr.": two parts of one unit.
        if let Some(u) = parts.unit.as_mut() {
            let lower = u.to_ascii_lowercase();
            // "Flr 3 Ste 222" too: the floor's type first.
            let floor = lower.ends_with("floor")
                || lower.ends_with("flr")
                || lower.ends_with(" fl")
                || ["floor ", "flr ", "fl "].iter().any(|f| lower.starts_with(f));
            let room = words.get(i).filter(|_| free(i) && floor).is_some_and(|r| is(r, "room|rm|ste|suite"))
                && words.get(i + 1).is_some_and(|n| {
                    n.norm.len() <= 6
                        && n.norm.bytes().any(|b| b.is_ascii_digit())
                        && is_zip(n).is_none()
                        && free(i + 1)
                });
            let ordinal = ["st", "nd", "rd", "th"].iter().any(|o| lower.ends_with(o))
                && lower.bytes().any(|b| b.is_ascii_digit());
            if room {
                for x in words.get(i..i + 2).unwrap_or(&[]) {
                    u.push(' ');
                    u.push_str(x.raw.trim_end_matches([',', '.']));
                }
                i += 2;
            } else if let Some(n) = (floor && free(i) && free(i + 1)).then(|| room_named(words, i)).flatten() {
                for x in words.get(i..i + n).unwrap_or(&[]) {
                    u.push(' ');
                    u.push_str(x.raw.trim_end_matches([',', '.']));
                }
                i += n;
            } else if ordinal && words.get(i).is_some_and(|f| free(i) && is(f, UNIT_AFTER_ID)) {
                if let Some(f) = words.get(i) {
                    u.push(' ');
                    u.push_str(f.raw.trim_end_matches([',', '.']));
                }
                i += 1;
            }
        }
        if parts.unit.is_some() {
            score += 1;
        }
    }
    (score, i)
}

#[cfg(test)]
mod tests {
    use super::AddressParts;
    use crate::extract::{extract, Expecting};

    fn parse(text: &str) -> AddressParts {
        extract(text, Expecting::Address).address
    }

    /// Before `extra`, "Bldg 300, Suite 615" dropped the building and "Bldg C-2" was
    /// sent as the unit; the USPS (and the labeled set) count neither as the unit.
    #[test]
    fn building_department_mailbox_are_kept_as_extra_not_dropped() {
        for (text, unit, extra) in [
            ("1400 Buford Hwy Bldg C-2", None, Some("Bldg C-2")),
            ("3520 Okemos Rd PMB 175 Okemos, MI 48864", None, Some("PMB 175")),
            ("4343 Shallowford Rd Bldg B, Suite 8A", Some("Suite 8A"), Some("Bldg B")),
            ("300 east randolph street dept 528 4th floor chicago il 60601", Some("4th floor"), Some("dept 528")),
            ("4th floor 300 east randolph st chicago il 60601", None, Some("4th floor")),
            ("3340 peachtree rd ne tower place ste 1685", Some("ste 1685"), Some("tower place")),
            ("30 allen plaza, suite 700, 30 ivan allen jr. blvd.", Some("suite 700"), Some("30 allen plaza")),
            ("7000 peachtree dunwoody, b-17, ste. 200", Some("ste 200"), Some("b-17")),
            ("1200 Hennepin Ave Apt 4B, Minneapolis, MN 55403", Some("Apt 4B"), None),
            ("2274 Ashley River Rd Middleton Cove, Charleston, SC 29414", None, Some("Middleton Cove")),
            ("500 Lake St Harbor Place, Wayzata MN 55391", None, Some("Harbor Place")),
        ] {
            let a = parse(text);
            assert_eq!((a.unit.as_deref(), a.extra.as_deref()), (unit, extra), "{text}");
        }
    }

    #[test]
    fn unit_line_puts_the_building_before_the_unit() {
        let a = parse("4343 Shallowford Rd Bldg B, Suite 8A");
        assert_eq!(a.unit_line().as_deref(), Some("Bldg B, Suite 8A"));
        assert_eq!(parse("1400 Buford Hwy Bldg C-2").unit_line().as_deref(), Some("Bldg C-2"));
        assert_eq!(parse("1200 Hennepin Ave Apt 4B").unit_line().as_deref(), Some("Apt 4B"));
        assert_eq!(parse("1200 Hennepin Ave").unit_line(), None);
    }

    fn parts(text: &str) -> [Option<String>; 6] {
        let a = parse(text);
        [a.number, a.street, a.unit, a.city, a.state, a.zip]
    }

    fn some(v: [&str; 6]) -> [Option<String>; 6] {
        v.map(|x| (!x.is_empty()).then(|| x.to_string()))
    }

    /// "Suite 2 3665": the number after the unit's id stopped the unit, was dropped,
    /// and the city and state after it were never found.
    #[test]
    fn a_bare_number_after_the_unit_was_dropped_and_hid_the_city() {
        assert_eq!(
            parts("616 corporate way suite 2 3665 valley cottage ny 10989"),
            some(["616", "Corporate Way", "suite 2 3665", "Valley Cottage", "NY", "10989"])
        );
        // A phone after the unit is not the unit's.
        assert_eq!(parse("4417 w lake st apt 2 612 555 1234").unit.as_deref(), Some("apt 2"));
    }

    /// "Unit K, L Cedar Rapids": the second letter was read as the city's first word.
    #[test]
    fn a_second_unit_letter_after_a_comma_was_read_as_the_city() {
        let a = parse("4750 Tama St SE Unit K, L Cedar Rapids IA 52403");
        assert_eq!((a.unit.as_deref(), a.city.as_deref()), (Some("Unit K, L"), Some("Cedar Rapids")));
    }

    /// "Randolph 1 N Oak Park": the unit's letter was read as the city's ("N Oak Park").
    #[test]
    fn a_compass_letter_after_a_bare_unit_was_read_as_the_city() {
        let a = parse("1024 randolph 1 n oak park il 60302");
        assert_eq!((a.unit.as_deref(), a.city.as_deref()), (Some("1 n"), Some("Oak Park")));
        let a = parse("1024 randolph 1 n palm beach fl 33480");
        assert_eq!((a.unit.as_deref(), a.city.as_deref()), (Some("1"), Some("N Palm Beach")));
    }

    /// "20713 2700 N Ave": the grid road's number was taken for the house number.
    #[test]
    fn a_grid_road_number_was_taken_for_the_house_number() {
        assert_eq!(parts("20713 2700 N Ave"), some(["20713", "2700 N Ave", "", "", "", ""]));
        assert_eq!(parse("111 501 south mill st").number.as_deref(), Some("501"));
    }

    /// "A1075 Main": a house number starting with a letter started no address.
    #[test]
    fn a_lettered_house_number_started_no_address() {
        assert_eq!(parts("A1075 Main, San Juan, PR 00926"), some(["A1075", "Main", "", "San Juan", "PR", "00926"]));
        assert!(parse("my ac uses R410 refrigerant").is_empty());
    }

    /// "Via de Ventura Scottsdale", "Ave of the Americas New York", "P de Leon Blvd":
    /// the particle split the street from the rest of its name.
    #[test]
    fn a_name_particle_split_the_street_from_its_name() {
        assert_eq!(
            parts("9221 E. Via de Ventura Scottsdale, Arizona 85258"),
            some(["9221", "E Via de Ventura", "", "Scottsdale", "AZ", "85258"])
        );
        assert_eq!(
            parts("vivo en 9221 e via de ventura scottsdale az 85258"),
            some(["9221", "E Via de Ventura", "", "Scottsdale", "AZ", "85258"])
        );
        let a = parse("41st floor 1221 ave of the americas new york ny 10020");
        assert_eq!(
            (a.street.as_deref(), a.city.as_deref(), a.extra.as_deref()),
            (Some("Ave of the Americas"), Some("New York"), Some("41st floor"))
        );
        assert_eq!(parse("1180 P DE LEON BLVD").street.as_deref(), Some("P DE LEON BLVD"));
    }

    /// A department's long name between the unit and the city pushed the ZIP out of
    /// reach.
    #[test]
    fn a_department_name_hid_the_zip_at_the_end() {
        let a = parse("401 church street, 14th flr, l & c twr div of fiscal services-fee section nashville tn 37243");
        assert_eq!(a.zip.as_deref(), Some("37243"));
    }

    /// "4417 W Lake St, MN 55416": the state's code right after the street, before its
    /// ZIP, was read as the city "MN" and the state was left empty.
    #[test]
    fn a_state_code_before_its_zip_was_read_as_the_city() {
        for text in ["4417 W Lake St, MN 55416", "4417 w lake st mn 55416", "4417 W Lake St Apt 2, MN 55416"] {
            let a = parse(text);
            assert_eq!(
                (a.city.as_deref(), a.state.as_deref(), a.zip.as_deref()),
                (None, Some("MN"), Some("55416")),
                "{text}"
            );
        }
        let a = parse("4417 W Lake St, Minneapolis, MN 55416");
        assert_eq!((a.city.as_deref(), a.state.as_deref()), (Some("Minneapolis"), Some("MN")));
    }

    /// Conversations saved before `extra` existed still load.
    #[test]
    fn address_saved_without_extra_still_loads() {
        let old = r#"{"number":"1","street":"Main St","unit":"Apt 2","city":null,"state":null,"zip":null}"#;
        let a: AddressParts = serde_json::from_str(old).expect("old address loads");
        assert_eq!((a.unit.as_deref(), a.extra.as_deref()), (Some("Apt 2"), None));
        let saved = serde_json::to_string(&a).expect("serializes");
        assert!(!saved.contains("extra"), "{saved}");
    }
}
