//! From raw text to words: fold odd characters, fix common typos, and turn spoken
//! numbers ("six one two", "double five", "twenty two hundred") into digits, so the
//! slot finders only ever see one spelling of each thing.

use crate::text;

/// One word of the utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// As typed (case kept), without surrounding punctuation.
    pub raw: String,
    /// Lowercase, typo-fixed; digits for spoken numbers.
    pub norm: String,
    /// A comma, semicolon, period or similar came right after it: a phrase break.
    pub brk: bool,
    /// It was made from spoken number words.
    pub spoken: bool,
}

/// Folds full-width forms, other scripts' digits and invisible characters to ASCII,
/// so "＋１（６５０）" and "᠖᠕᠐" read like "+1(650)" and "650".
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let u = c as u32;
        let mapped = match u {
            0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
            0x3000 | 0x00A0 | 0x2000..=0x200A | 0x202F => Some(' '),
            0x00AD | 0x200B..=0x200D | 0xFEFF => None,
            0x2010..=0x2015 | 0x2212 | 0x30FC => Some('-'),
            0x2018 | 0x2019 => Some('\''),
            _ => Some(digit_of(c).map(|d| (b'0' + d) as char).unwrap_or(c)),
        };
        if let Some(m) = mapped {
            out.push(m);
        }
    }
    out
}

/// Digits of scripts people (or their keyboards) actually send.
fn digit_of(c: char) -> Option<u8> {
    let u = c as u32;
    for base in [0x0660u32, 0x06F0, 0x0966, 0x1810, 0xFF10] {
        if (base..base + 10).contains(&u) {
            return u8::try_from(u - base).ok();
        }
    }
    None
}

/// Splits folded text into words, keeping phrase breaks.
pub(crate) fn split(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for piece in text.split(|c: char| c.is_whitespace()) {
        if piece.is_empty() {
            continue;
        }
        let trimmed = piece.trim_matches(|c: char| !keep_in_word(c));
        // A period after a short word is an abbreviation ("S.", "Ste.", "Blvd."), not
        // the end of a phrase.
        let abbrev = trimmed.chars().count() <= 5 && trimmed.chars().all(|c| text::is_letter(c) || c == '.');
        let brk =
            !trimmed.is_empty() && (piece.ends_with([',', ';', '!', '?', ':']) || (piece.ends_with('.') && !abbrev));
        if trimmed.is_empty() {
            if piece.contains([',', ';', '-']) {
                if let Some(last) = words.last_mut() {
                    let last: &mut Word = last;
                    last.brk = true;
                }
            }
            continue;
        }
        // "hi,this" typed without a space: split on inner commas.
        let mut parts = trimmed.split(',').filter(|p| !p.is_empty()).peekable();
        while let Some(p) = parts.next() {
            let inner_brk = parts.peek().is_some();
            let p = p.trim_matches(|c: char| !keep_in_word(c));
            if p.is_empty() {
                continue;
            }
            words.push(Word {
                raw: p.to_string(),
                norm: fix_typo(&text::lowercase(p)),
                brk: inner_brk || (brk && parts.peek().is_none()),
                spoken: false,
            });
        }
    }
    words
}

fn keep_in_word(c: char) -> bool {
    text::is_letter_or_digit(c) || matches!(c, '#' | '@' | '+' | '(' | ')' | '/' | '&' | '\'')
}

/// Misspellings seen in real chats, and shorthands, mapped to the word we match on:
/// "typo=fixed" entries.
const TYPOS: &str = "stret=street|streat=street|sreet=street|steet=street|stree=street|avenu=avenue|raod=road|\
    drv=drive|blv=blvd|plumer=plumber|plummer=plumber|plumbr=plumber|plumbing=plumbing|plumming=plumbing|\
    pluming=plumbing|furnance=furnace|furnis=furnace|furnice=furnace|thermastat=thermostat|thermostate=thermostat|\
    airconditioner=ac|a/c=ac|aircon=ac|leeking=leaking|leakin=leaking|leek=leak|leeks=leaks|toliet=toilet|\
    toilett=toilet|watter=water|heatr=heater|heator=heater|electrition=electrician|electritian=electrician|\
    electricain=electrician|electrican=electrician|elctrician=electrician|electic=electric|outlit=outlet|\
    brakers=breakers|braker=breaker|sparkes=sparks|tommorow=tomorrow|tomorow=tomorrow|tommorrow=tomorrow|\
    tmrw=tomorrow|tmr=tomorrow|tmw=tomorrow|2morrow=tomorrow|tonite=tonight|mornin=morning|afternon=afternoon|\
    walkin=walk-in|walkins=walk-ins|reachin=reach-in|\
    evenin=evening|phne=phone|numbr=number|nmber=number|emial=email|e-mail=email|adress=address|addres=address|\
    adres=address|roff=roof|rooff=roof|shingels=shingles|guter=gutter|gutters=gutters|brokn=broken|broke=broken|\
    workin=working|wokring=working|coolin=cooling|colling=cooling|blowin=blowing|heatin=heating|basment=basement|\
    ceilng=ceiling|celing=ceiling|smel=smell|smells=smell|smelling=smell|pls=please|plz=please|ur=your|u=you|\
    im=i'm|dont=don't|wont=won't|isnt=isn't|doesnt=doesn't|yess=yes|yea=yeah|ya=yeah|yas=yes|yse=yes|ys=yes|\
    persn=person|humen=human|someon=someone|carbon-monoxide=carbon monoxide|si=sí|telefono=teléfono|\
    direccion=dirección";

/// Fixes a lowercase word: the typo table, then one-edit matches against the words
/// that decide a trade, so "thermostst" still means HVAC. A one-edit match keeps the
/// first letter (people rarely mistype it, and "parking", "turning", "seating",
/// "pooling" are words of their own, one edit from "sparking", "burning", "heating",
/// "cooling"), and never touches a real word that is one edit from a key word.
pub(crate) fn fix_typo(w: &str) -> String {
    if let Some(fixed) = text::lookup(TYPOS, w) {
        return fixed.to_string();
    }
    let fixable = w.len() >= 6 && w.bytes().all(|b| b.is_ascii_lowercase());
    if fixable && !text::listed(REAL_WORDS, w) && !text::listed(KEY_WORDS, w) {
        for v in text::entries(KEY_WORDS) {
            if v.len() + 1 >= w.len()
                && w.len() + 1 >= v.len()
                && v != w
                && v.as_bytes().first() == w.as_bytes().first()
                && one_edit(w, v)
            {
                return v.to_string();
            }
        }
    }
    w.to_string()
}

/// Words whose misspelling would lose a slot. Only words of 6+ letters: shorter ones
/// collide with real words too often.
const KEY_WORDS: &str = "plumber|plumbing|furnace|thermostat|electrician|electrical|electric|leaking|toilet|heater|\
    outlet|breaker|breakers|sparks|sparking|tomorrow|morning|afternoon|evening|street|avenue|boulevard|shingles|\
    gutter|flooding|flooded|burning|carbon|monoxide|cooling|heating|conditioner|conditioning|basement|ceiling|\
    clogged|drain|faucet|disposal|person|someone|representative|emergency|apartment|number|address|referral|\
    estimate|replace|install|broken";

/// Words one edit from a [`KEY_WORDS`] entry that share its first letter and mean
/// something else: "the fence is leaning", "cooking smells", "the room is heated".
const REAL_WORDS: &str = "leaning|leaping|leading|leaving|leasing|cooking|cooping|coiling|coaling|cowling|heated|\
    header|healer|heading|healing|hearing|heaping|heaving|heather|burying|burring|sparing|sparkling|sparky|mourning|\
    avenge|gutted|carton|parson|pearson|perdon|outlay|outset|instill|broker|brokers|clogger|flooring|plumbed|\
    plumper|shingled";

/// True when `a` becomes `b` by one insertion, deletion, substitution or swap.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (a.len().saturating_sub(prefix + suffix), b.len().saturating_sub(prefix + suffix));
    match (ra, rb) {
        (0, 1) | (1, 0) | (1, 1) => true,
        (2, 2) => {
            let (x, y) = (&a[prefix..prefix + 2], &b[prefix..prefix + 2]);
            x.first() == y.get(1) && x.get(1) == y.first()
        }
        _ => false,
    }
}

/// A spoken number word.
#[derive(Clone, Copy)]
enum Num {
    Digit(u32),
    /// "oh"/"o": zero, but only next to other number words.
    Oh,
    Teen(u32),
    Tens(u32),
    Hundred,
    Thousand,
    /// "double", "triple".
    Repeat(usize),
}

fn num_word(w: &str) -> Option<Num> {
    const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    const DIGITOS: [&str; 10] = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"];
    const TEENS: [&str; 10] =
        ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
    const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    if let Some(i) = DIGITS.iter().chain(DIGITOS.iter()).position(|d| *d == w) {
        return Some(Num::Digit((i % 10) as u32));
    }
    if let Some(i) = TEENS.iter().position(|d| *d == w) {
        return Some(Num::Teen(10 + i as u32));
    }
    if let Some(i) = TENS.iter().position(|d| *d == w) {
        return Some(Num::Tens(20 + 10 * i as u32));
    }
    match w {
        "oh" | "o" => Some(Num::Oh),
        "fourty" => Some(Num::Tens(40)),
        "hundred" | "cien" => Some(Num::Hundred),
        "thousand" | "mil" => Some(Num::Thousand),
        "double" | "doble" => Some(Num::Repeat(2)),
        "triple" => Some(Num::Repeat(3)),
        _ => None,
    }
}

/// Replaces each run of spoken number words with one word of digits.
/// Pieces are written one after another ("forty four seventeen" → 4417, "six one two"
/// → 612); "hundred"/"thousand" multiply the piece before ("twenty two hundred" → 2200).
pub(crate) fn spoken_numbers(words: Vec<Word>) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let run_end = run_end(&words, i);
        if run_end == i {
            if let Some(w) = words.get(i) {
                out.push(w.clone());
            }
            i += 1;
            continue;
        }
        let run = words.get(i..run_end).unwrap_or(&[]);
        let digits = run_digits(run);
        let raw = run.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ");
        let brk = run.last().is_some_and(|w| w.brk);
        out.push(Word { raw, norm: digits, brk, spoken: true });
        i = run_end;
    }
    out
}

/// End (exclusive) of a run of number words starting at `i`, or `i` if none.
/// A run breaks at a comma; a lone "oh"/"double" is not a number.
fn run_end(words: &[Word], i: usize) -> usize {
    let mut j = i;
    let mut real = 0;
    while let Some(w) = words.get(j) {
        let Some(n) = num_word(&w.norm) else { break };
        if !matches!(n, Num::Oh | Num::Repeat(_) | Num::Hundred | Num::Thousand) {
            real += 1;
        }
        j += 1;
        if w.brk {
            break;
        }
    }
    // Trailing "oh"/"double" that nothing follows are words, not numbers.
    while j > i {
        match words.get(j - 1).and_then(|w| num_word(&w.norm)) {
            Some(Num::Repeat(_)) => j -= 1,
            Some(Num::Oh) if real == 0 => j -= 1,
            _ => break,
        }
    }
    if real == 0 || (j - i == 1 && words.get(i).is_some_and(|w| matches!(w.norm.as_str(), "o" | "oh" | "dos" | "mil")))
    {
        // "mil" alone is rarely a number in chat; "oh" alone is an interjection.
        if real == 0 {
            return i;
        }
    }
    j
}

fn run_digits(run: &[Word]) -> String {
    // Pieces as (value, width-is-open): an open piece still accepts smaller parts
    // ("twenty" + "two"; "twenty two hundred" + "five").
    let mut pieces: Vec<(u64, u64)> = Vec::new(); // (value, room: largest addend accepted, 0 = closed)
    let mut repeat = 1usize;
    for w in run {
        let Some(n) = num_word(&w.norm) else { continue };
        match n {
            Num::Digit(d) | Num::Teen(d) | Num::Tens(d) => {
                let d = u64::from(d);
                let joined = pieces.last_mut().is_some_and(|(v, room)| {
                    if *room > d && repeat == 1 {
                        *v += d;
                        *room = if matches!(n, Num::Tens(_)) { 10 } else { 0 };
                        true
                    } else {
                        false
                    }
                });
                if !joined {
                    for _ in 0..repeat {
                        let room = if matches!(n, Num::Tens(_)) { 10 } else { 0 };
                        pieces.push((d, room));
                    }
                }
                repeat = 1;
            }
            Num::Oh => {
                for _ in 0..repeat {
                    pieces.push((0, 0));
                }
                repeat = 1;
            }
            Num::Repeat(k) => repeat = k,
            Num::Hundred => match pieces.last_mut() {
                Some((v, room)) if *v < 100 => {
                    *v *= 100;
                    *room = 100;
                }
                _ => pieces.push((100, 100)),
            },
            Num::Thousand => match pieces.last_mut() {
                Some((v, room)) if *v < 1000 => {
                    *v *= 1000;
                    *room = 1000;
                }
                _ => pieces.push((1000, 1000)),
            },
        }
    }
    let mut s = String::new();
    for (v, _) in pieces {
        s.push_str(&v.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> String {
        spoken_numbers(split(text)).iter().map(|w| w.norm.clone()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn spoken_numbers_become_digits() {
        assert_eq!(digits("six one two five five five oh one four three"), "6125550143");
        assert_eq!(digits("forty four seventeen west lake"), "4417 west lake");
        assert_eq!(digits("twenty two hundred main"), "2200 main");
        assert_eq!(digits("double five four one six"), "55416");
        assert_eq!(digits("one hundred twenty three"), "123");
        assert_eq!(digits("oh my ac"), "oh my ac");
        assert_eq!(digits("nineteen oh five"), "1905");
    }

    #[test]
    fn typos_are_fixed() {
        assert_eq!(fix_typo("stret"), "street");
        assert_eq!(fix_typo("thermostst"), "thermostat");
        assert_eq!(fix_typo("plumer"), "plumber");
    }

    /// "parking lot lights are out" was read as "sparking lot lights": a one-edit fix
    /// that changed the first letter turned a real word into an emergency word.
    #[test]
    fn typo_fix_keeps_the_first_letter_and_real_words() {
        for real in ["parking", "turning", "seating", "pooling", "leaning", "leaving", "cooking", "heated", "breaker"] {
            assert_eq!(fix_typo(real), real);
        }
        assert_eq!(fix_typo("sparkng"), "sparking");
        assert_eq!(fix_typo("coolng"), "cooling");
    }
}
