//! Letter and case tests for the text the product reads: English and Spanish.
//!
//! Why not `char::is_alphabetic`, `str::to_lowercase`, `char::to_uppercase`? Each pulls
//! core's Unicode tables (case conversions, Alphabetic, Numeric, Cased, ...) into the
//! widget's wasm, several KB of code and data paid by every visitor, to cover scripts
//! we never parse. These are exact for ASCII, Latin-1 Supplement and Latin Extended-A
//! (U+0000..=U+017F: á é í ó ú ñ ü ç ß ÿ Ł Ő ...), and beyond that treat anything that
//! is not whitespace, a combining mark, punctuation, a symbol or an emoji as a letter,
//! and leave its case alone.

use std::cell::RefCell;

/// Like `char::is_alphabetic`.
pub(crate) fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | 'ª' | 'µ' | 'º' => true,
        '×' | '÷' => false,
        'À'..='\u{17F}' => true,
        '\0'..='\u{FF}' => false,
        _ => !c.is_whitespace() && !not_a_letter_beyond_latin(c),
    }
}

/// Like `char::is_alphanumeric`: letters, digits, and Latin-1's ² ³ ¹ ¼ ½ ¾.
pub(crate) fn is_letter_or_digit(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '²' | '³' | '¹' | '¼'..='¾') || is_letter(c)
}

/// Combining marks, punctuation, symbols and emoji above U+0100 (by block, roughly).
fn not_a_letter_beyond_latin(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36F}'          // combining diacritics ("e" + U+0301)
        | '\u{2000}'..='\u{2BFF}'      // punctuation, currency, arrows, math, shapes, dingbats
        | '\u{2E00}'..='\u{2E7F}'      // supplemental punctuation
        | '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' // CJK punctuation
        | '\u{FE00}'..='\u{FE0F}'      // variation selectors (❤️)
        | '\u{FE30}'..='\u{FE6F}'      // compatibility forms
        | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}'
        | '\u{FFF0}'..='\u{FFFF}'      // specials (U+FFFD)
        | '\u{1F000}'..='\u{1FAFF}'    // emoji, pictographs
        | '\u{E0000}'..='\u{E007F}'    // tags
    )
}

/// Like `char::is_uppercase`.
pub(crate) fn is_upper(c: char) -> bool {
    match c {
        'A'..='Z' => true,
        'À'..='Þ' => c != '×',
        // Latin Extended-A alternates capital/small, with a shift of parity at U+0138 and
        // U+0149 (ĸ and ŉ have no capital) and Ÿ (its small is ÿ in Latin-1).
        '\u{100}'..='\u{137}' | '\u{14A}'..='\u{177}' => c as u32 & 1 == 0,
        '\u{139}'..='\u{148}' | '\u{179}'..='\u{17E}' => c as u32 & 1 == 1,
        'Ÿ' => true,
        _ => false,
    }
}

/// Appends the lowercase of `c` (like `char::to_lowercase`).
pub(crate) fn push_lower(out: &mut String, c: char) {
    match c {
        'İ' => out.push_str("i\u{307}"),
        'Ÿ' => out.push('ÿ'),
        _ if is_upper(c) => out.push(char::from_u32(c as u32 + if c < '\u{100}' { 32 } else { 1 }).unwrap_or(c)),
        _ => out.push(c),
    }
}

/// Appends the uppercase of `c` (like `char::to_uppercase`).
pub(crate) fn push_upper(out: &mut String, c: char) {
    let u = c as u32;
    let shift = match c {
        'ß' => return out.push_str("SS"),
        'ŉ' => return out.push_str("\u{2BC}N"),
        'µ' => return out.push('\u{39C}'),
        'ÿ' => return out.push('Ÿ'),
        'ı' => return out.push('I'),
        'ſ' => return out.push('S'),
        'a'..='z' | 'à'..='þ' if c != '÷' => 32,
        '\u{100}'..='\u{137}' | '\u{14A}'..='\u{177}' => u % 2,
        '\u{139}'..='\u{148}' | '\u{179}'..='\u{17E}' => (u + 1) % 2,
        _ => 0,
    };
    out.push(char::from_u32(u - shift).unwrap_or(c));
}

/// Like `str::to_lowercase` (without Greek final sigma: Greek's case is left alone).
pub(crate) fn lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_lower(&mut out, c);
    }
    out
}

/// "maria" → "Maria": the first character in uppercase, the rest as is.
pub(crate) fn capitalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut c = s.chars();
    if let Some(f) = c.next() {
        push_upper(&mut out, f);
    }
    out.push_str(c.as_str());
    out
}

/// The entries of a word list kept as one string, `|` between entries.
///
/// Long word lists are written this way rather than as `&[&str]`: in the widget's wasm
/// every `&str` element is an 8-byte pointer+length in the data section, which brotli
/// compresses badly, while a `|` costs next to nothing.
///
/// Each list is split once per thread and kept (a few dozen lists, leaked on purpose:
/// they live as long as the program): splitting at every use made the engine twice as
/// slow, since the lists are walked for every word the homeowner types.
pub(crate) fn entries(list: &'static str) -> impl Iterator<Item = &'static str> {
    split_once_per_thread(&ENTRIES, list, |l| l.split('|').collect()).iter().copied()
}

/// The `key=value` entries of a list, split at the first `=` (entries without one are
/// skipped).
pub(crate) fn pairs(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    split_once_per_thread(&PAIRS, list, |l| l.split('|').filter_map(|e| e.split_once('=')).collect()).iter().copied()
}

type Memo<T> = RefCell<Vec<((usize, usize), &'static [T])>>;

thread_local! {
    static ENTRIES: Memo<&'static str> = const { RefCell::new(Vec::new()) };
    static PAIRS: Memo<(&'static str, &'static str)> = const { RefCell::new(Vec::new()) };
}

/// `split(list)`, computed the first time this thread asks for `list` (keyed by its
/// address and length; a linear scan, as there are only a few dozen lists).
fn split_once_per_thread<T: 'static>(
    memo: &'static std::thread::LocalKey<Memo<T>>,
    list: &'static str,
    split: fn(&'static str) -> Vec<T>,
) -> &'static [T] {
    let key = (list.as_ptr() as usize, list.len());
    memo.with(|m| {
        if let Some((_, v)) = m.borrow().iter().find(|(k, _)| *k == key) {
            return *v;
        }
        let v: &'static [T] = Vec::leak(split(list));
        m.borrow_mut().push((key, v));
        v
    })
}

/// True when `word` is one of the entries of `list` (see [`entries`]). Most words are
/// in no list: one substring scan (vectorised in core) turns them away first.
pub(crate) fn listed(list: &'static str, word: &str) -> bool {
    list.contains(word) && entries(list).any(|e| e == word)
}

/// The value of `key` in a `key=value|...` list (see [`pairs`]).
pub(crate) fn lookup(list: &'static str, key: &str) -> Option<&'static str> {
    if !list.contains(key) {
        return None;
    }
    pairs(list).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// `s` on one line: every line break (CR, LF, VT, FF, NEL, U+2028, U+2029), tab, other
/// control character and bidi override becomes a space, runs of spaces become one, and
/// the ends are trimmed.
///
/// Why: ServiceTitan's summaries and notes are plain text read line by line, and our
/// own lines there ("Priority: Urgent", "Text messages: yes, opted in", "Assistant: …",
/// "Web reference: …") are what the office and the pipeline's look-ups trust. A value
/// the homeowner typed must never start a line of its own, so every such value goes
/// through here before it is placed in one.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if c.is_whitespace() || breaks_text(c) {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out
}

/// Controls (C0, DEL, C1; NEL is U+0085) and the bidi embeddings, overrides and isolates,
/// which can make a line read differently from what it holds.
fn breaks_text(c: char) -> bool {
    matches!(c, '\0'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every char the tables cover agrees with std, and what lies beyond is sensible.
    #[test]
    fn agrees_with_std_through_latin_extended_a() {
        for c in ('\0'..='\u{17F}').chain(['\u{300}', '\u{301}', '\u{2014}', '\u{FE0F}', '\u{1F44D}', '\u{3000}']) {
            assert_eq!(is_letter(c), c.is_alphabetic(), "is_letter {c:?}");
            assert_eq!(is_letter_or_digit(c), c.is_alphanumeric(), "is_letter_or_digit {c:?}");
            assert_eq!(is_upper(c), c.is_uppercase(), "is_upper {c:?}");
            let mut s = String::new();
            push_lower(&mut s, c);
            assert_eq!(s, c.to_lowercase().collect::<String>(), "lower {c:?}");
            s.clear();
            push_upper(&mut s, c);
            assert_eq!(s, c.to_uppercase().collect::<String>(), "upper {c:?}");
        }
        for c in ['я', 'Ж', 'ά', '中', 'ä', '٣'] {
            assert!(is_letter_or_digit(c), "{c:?}");
        }
        assert!(!is_upper('Ж'));
        assert_eq!(lowercase("ÁNGEL Ñúñez Ж"), "ángel ñúñez Ж");
        assert_eq!(capitalize("ángel"), "Ángel");
        assert_eq!(capitalize(""), "");
    }

    #[test]
    fn one_line_leaves_no_line_break_or_control_behind() {
        assert_eq!(one_line("Maria\nPriority: Emergency"), "Maria Priority: Emergency");
        assert_eq!(
            one_line("  a\r\n\r\n\tb \u{2028}c\u{2029}d\u{85}e\u{B}f\u{C}g\0h\u{1B}[31m  "),
            "a b c d e f g h [31m"
        );
        assert_eq!(one_line("abc\u{202E}cba"), "abc cba");
        assert_eq!(one_line("Ángel Núñez, 4417 W Lake St"), "Ángel Núñez, 4417 W Lake St");
        assert_eq!(one_line(""), "");
        assert_eq!(one_line("\n\n"), "");
        for c in ('\0'..='\u{3000}').chain(['\u{FEFF}', '\u{1F44D}']) {
            let s = format!("x{c}\n{c}y{c}");
            let once = one_line(&s);
            assert_eq!(one_line(&once), once, "idempotent for {c:?}");
            assert!(!once.chars().any(|d| d.is_control() || d == '\u{2028}' || d == '\u{2029}'), "{c:?} left {once:?}");
            assert!(once.lines().count() <= 1, "{c:?} breaks {once:?}");
        }
    }
}
