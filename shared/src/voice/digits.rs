//! Digits on the phone: said one by one or in groups ("six one two, five five five"),
//! with "oh" for zero, "double"/"triple", "twenty two hundred" house numbers, in English
//! or Spanish, or keyed on the pad.
//!
//! The extractor's word pass (`extract/words.rs`) already turns runs of English number
//! words into digits ("six one two" → 612, "double five" → 55, "twenty two hundred" →
//! 2200, "nineteen oh five" → 1905). What a speech recogniser adds on top of that is
//! handled here, by rewriting it into the words that pass reads, so there is one number
//! reader, not two:
//!
//! - numerals mixed with number words ("six one two 555 oh one four three", "22 hundred"):
//!   the numerals are spelled out as digit words so the whole run is read as one;
//! - "oh" between numerals ("555 oh 143");
//! - hyphenated words ("twenty-two", "six-one-two");
//! - "and" inside a number ("twelve hundred and five");
//! - "double 5", "triple 0";
//! - Spanish tens, teens and hundreds ("cuarenta y cuatro", "diecisiete", "quinientos"),
//!   which the word pass does not know, as their English words.

use crate::booking::Locale;
use crate::text;

/// Rewrites what a caller said so that every spoken number reads as one run of number
/// words (see the module doc). Words that are not numbers pass unchanged.
pub fn normalize(text: &str) -> String {
    let mut tokens: Vec<Token> = Vec::new();
    for piece in text.split_whitespace() {
        split_hyphens(piece, &mut tokens);
    }
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let n = tokens.len();
    for i in 0..n {
        let Some(t) = tokens.get(i) else { continue };
        let prev = i.checked_sub(1).and_then(|j| tokens.get(j));
        let next = tokens.get(i + 1);
        let next2 = tokens.get(i + 2);
        let word = t.core.as_str();
        // "twelve hundred and five", "cuarenta y cuatro": the joiner goes.
        if matches!(word, "and" | "y") && prev.is_some_and(Token::joins_after) && next.is_some_and(Token::is_number) {
            continue;
        }
        let spelled = match t.kind() {
            Kind::Numeral if prev.is_some_and(Token::is_word_number) || next.is_some_and(Token::is_word_number) => {
                Some(spell(&t.core))
            }
            Kind::Numeral if is_oh(prev) || is_oh(next) => Some(spell(&t.core)),
            Kind::Oh if oh_is_zero(prev, next, next2) => Some("oh".to_string()),
            Kind::Repeat if next.is_some_and(|x| x.kind() == Kind::Numeral) => Some(t.core.clone()),
            // "un"/"una" alone are articles ("tiene una fuga"): a number only next to one.
            Kind::Spanish(english)
                if !matches!(word, "un" | "una")
                    || prev.is_some_and(Token::is_number)
                    || next.is_some_and(Token::is_number) =>
            {
                Some(english.to_string())
            }
            _ => None,
        };
        match spelled {
            Some(s) => out.push(format!("{s}{}", t.tail)),
            None => out.push(t.raw.clone()),
        }
    }
    out.join(" ")
}

/// The digits a caller keyed on the pad, without `#` and `*` (Twilio's `Digits`).
pub fn keyed(digits: &str) -> String {
    digits.chars().filter(char::is_ascii_digit).collect()
}

/// "español", "Spanish please", "inglés": the caller asked for a language, and nothing
/// else (a "Spanish tile roof" is a roof).
pub fn language_asked(said: &str) -> Option<Locale> {
    let words: Vec<String> = said
        .split_whitespace()
        .map(|w| text::lowercase(w.trim_matches(|c: char| !text::is_letter(c))))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    const FILLER: &str = "en|in|por|favor|please|si|sí|yes|hablo|speak|i|yo|quiero|want|okay|ok";
    let mut found = None;
    for w in &words {
        let l = match w.as_str() {
            "español" | "espanol" | "espaniol" | "spanish" | "castellano" => Some(Locale::Es),
            "english" | "inglés" | "ingles" => Some(Locale::En),
            other if text::listed(FILLER, other) => None,
            _ => return None,
        };
        if l.is_some() {
            found = l;
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// "0".."9"+ as written by the recogniser.
    Numeral,
    /// An English number word the word pass reads ("six", "twenty", "hundred").
    Word,
    /// "oh" / "o": zero only between numbers.
    Oh,
    /// "double", "doble", "triple".
    Repeat,
    /// A Spanish number word, as the English words the word pass reads.
    Spanish(&'static str),
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    /// As said.
    raw: String,
    /// Lowercase, without surrounding punctuation.
    core: String,
    /// The punctuation after the word (kept: a comma breaks a number run).
    tail: String,
    brk: bool,
}

impl Token {
    fn kind(&self) -> Kind {
        let w = self.core.as_str();
        if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
            return Kind::Numeral;
        }
        if matches!(w, "oh" | "o") {
            return Kind::Oh;
        }
        if matches!(w, "double" | "doble" | "triple") {
            return Kind::Repeat;
        }
        if text::listed(ENGLISH, w) {
            return Kind::Word;
        }
        match text::lookup(SPANISH, w) {
            Some(e) => Kind::Spanish(e),
            None => Kind::Other,
        }
    }

    /// "hundred and five", "cuarenta y cuatro": a joiner may follow a hundred, a
    /// thousand or a tens word.
    fn joins_after(&self) -> bool {
        !self.brk && text::listed(JOINED, &self.core)
    }

    fn is_number(&self) -> bool {
        matches!(self.kind(), Kind::Numeral | Kind::Word | Kind::Spanish(_))
    }

    fn is_word_number(&self) -> bool {
        matches!(self.kind(), Kind::Word | Kind::Spanish(_) | Kind::Repeat)
    }
}

fn is_oh(t: Option<&Token>) -> bool {
    t.is_some_and(|t| t.kind() == Kind::Oh)
}

/// "five five five oh one", "555 oh 143", "nineteen oh five": "oh" is zero when a number
/// follows and one comes before (or two follow: "oh two one three nine"). "Oh, my AC"
/// and "lunes o martes" stay words.
fn oh_is_zero(prev: Option<&Token>, next: Option<&Token>, next2: Option<&Token>) -> bool {
    let num = |t: Option<&Token>| t.is_some_and(|t| t.is_number() || t.kind() == Kind::Oh);
    next.is_some_and(Token::is_number) && (num(prev) || num(next2))
}

/// "twenty-two" → "twenty", "two"; "6-1-2" stays one token (the phone reader knows it).
fn split_hyphens(piece: &str, out: &mut Vec<Token>) {
    let parts: Vec<&str> = piece.split('-').collect();
    let all_words = parts.len() > 1
        && parts.iter().all(|p| {
            let t = token(p);
            matches!(t.kind(), Kind::Word | Kind::Spanish(_) | Kind::Oh | Kind::Repeat)
        });
    if all_words {
        for p in parts {
            out.push(token(p));
        }
    } else {
        out.push(token(piece));
    }
}

fn token(piece: &str) -> Token {
    let core = piece.trim_matches(|c: char| !text::is_letter_or_digit(c));
    let start = piece.find(core).unwrap_or(0);
    let tail = piece.get(start + core.len()..).unwrap_or("").to_string();
    let brk = tail.contains([',', ';', '.', '?', '!', ':']);
    Token { raw: piece.to_string(), core: text::lowercase(core), tail, brk }
}

/// "555" → "five five five".
fn spell(numeral: &str) -> String {
    const EN: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    numeral
        .bytes()
        .filter_map(|b| b.checked_sub(b'0').and_then(|i| EN.get(usize::from(i))))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words a joiner ("and", "y") may follow inside one number.
const JOINED: &str = "hundred|thousand|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|mil|cien|ciento|\
    treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|doscientos|trescientos|cuatrocientos|quinientos|\
    seiscientos|setecientos|ochocientos|novecientos";

/// Number words the extractor's word pass reads as they are.
const ENGLISH: &str = "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|\
    fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|\
    hundred|thousand|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|cien|mil";

/// Spanish number words the word pass does not read, as English words it does.
const SPANISH: &str = "un=one|una=one|diez=ten|once=eleven|doce=twelve|trece=thirteen|catorce=fourteen|\
    quince=fifteen|dieciséis=sixteen|dieciseis=sixteen|diecisiete=seventeen|dieciocho=eighteen|\
    diecinueve=nineteen|veinte=twenty|veintiuno=twenty one|veintiún=twenty one|veintidós=twenty two|\
    veintidos=twenty two|veintitrés=twenty three|veintitres=twenty three|veinticuatro=twenty four|\
    veinticinco=twenty five|veintiséis=twenty six|veintiseis=twenty six|veintisiete=twenty seven|\
    veintiocho=twenty eight|veintinueve=twenty nine|treinta=thirty|cuarenta=forty|cincuenta=fifty|\
    sesenta=sixty|setenta=seventy|ochenta=eighty|noventa=ninety|ciento=one hundred|\
    doscientos=two hundred|trescientos=three hundred|cuatrocientos=four hundred|quinientos=five hundred|\
    seiscientos=six hundred|setecientos=seven hundred|ochocientos=eight hundred|novecientos=nine hundred";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_numbers() {
        assert_eq!(normalize("six one two 555 oh one four three"), "six one two five five five oh one four three");
        assert_eq!(normalize("twenty-two hundred Main Street"), "twenty two hundred Main Street");
        assert_eq!(normalize("Oh, my AC is out"), "Oh, my AC is out");
        assert_eq!(normalize("cuarenta y cuatro diecisiete"), "forty cuatro seventeen");
        assert_eq!(normalize("a Spanish tile roof"), "a Spanish tile roof");
        assert_eq!(normalize("double 5"), "double five");
    }

    #[test]
    fn language_words_alone_choose() {
        assert_eq!(language_asked("Español"), Some(Locale::Es));
        assert_eq!(language_asked("spanish please"), Some(Locale::Es));
        assert_eq!(language_asked("Spanish tile roof leaking"), None);
        assert_eq!(language_asked("English."), Some(Locale::En));
    }
}
