//! Phones: 10-digit NANP keys, extensions, mobile first; placeholder emails.

use crate::booking::Phone;

/// Normalizes a US phone as people type it: `(612) 555-0143`, `+1 612.555.0143`,
/// `1-612-555-0143 ext. 12`, `612 555 0143 x12`, vanity letters (`1-800-FLOWERS`).
/// `None` when there are not exactly 10 digits (after an optional leading 1) or the
/// number breaks NANP rules (area code or exchange starting with 0 or 1).
pub fn normalize_phone(text: &str) -> Option<Phone> {
    // Full-width digits and plus (typed on CJK keyboards) become ASCII first.
    let lower: String = text
        .chars()
        .map(|c| match c {
            '\u{ff10}'..='\u{ff19}' => char::from(b'0' + (c as u32 - 0xff10) as u8),
            '\u{ff0b}' => '+',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let trimmed = lower.trim_start();
    // A country code other than 1 is not a NANP number; a '+' mid-number is not a phone.
    let after_first = trimmed.chars().skip(1).collect::<String>();
    if trimmed.starts_with('+') && !after_first.trim_start().starts_with('1') || after_first.contains('+') {
        return None;
    }
    // Split off an extension: "ext", "ext.", "extension", "x", "#", ";ext=".
    let (main, ext) = split_extension(&lower);
    let mut digits = String::new();
    for ch in main.chars() {
        match ch {
            '0'..='9' => digits.push(ch),
            'a'..='z' if !digits.is_empty() || main.trim_start().starts_with('+') => digits.push(keypad(ch)),
            ' ' | '-' | '.' | '(' | ')' | '+' | '/' | '\u{a0}' => {}
            'a'..='z' => return None, // letters before any digit: not a phone
            _ => {}
        }
    }
    if digits.len() == 11 && digits.starts_with('1') {
        digits.remove(0);
    }
    if digits.len() != 10 {
        return None;
    }
    let b = digits.as_bytes();
    if b[0] < b'2' || b[3] < b'2' {
        return None;
    }
    Some(Phone { digits, extension: ext })
}

fn split_extension(s: &str) -> (&str, Option<String>) {
    for marker in [";ext=", "extension", "ext.", "ext", " x", "x", "#", ";", ","] {
        if let Some(i) = s.find(marker) {
            let ext: String = s[i + marker.len()..].chars().filter(char::is_ascii_digit).collect();
            if !ext.is_empty() && s[..i].chars().filter(char::is_ascii_digit).count() >= 10 {
                return (&s[..i], Some(ext));
            }
        }
    }
    (s, None)
}

fn keypad(c: char) -> char {
    match c {
        'a'..='c' => '2',
        'd'..='f' => '3',
        'g'..='i' => '4',
        'j'..='l' => '5',
        'm'..='o' => '6',
        'p'..='s' => '7',
        't'..='v' => '8',
        _ => '9',
    }
}

/// Picks the number to use from ServiceTitan-style `(type, value)` contacts: the first
/// usable `MobilePhone` (texts reach it), else the first usable phone of any type.
pub fn prefer_mobile<'a>(contacts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Phone> {
    let mut fallback = None;
    for (kind, value) in contacts {
        let Some(p) = normalize_phone(value) else { continue };
        if kind.eq_ignore_ascii_case("MobilePhone") {
            return Some(p);
        }
        if kind.eq_ignore_ascii_case("Phone") && fallback.is_none() {
            fallback = Some(p);
        }
    }
    fallback
}

/// Emails CSRs type when the customer has none: never a match signal, never sent.
pub fn is_placeholder_email(email: &str) -> bool {
    let e = email.trim().to_ascii_lowercase();
    let Some((local, domain)) = e.rsplit_once('@') else { return true };
    const LOCALS: [&str; 12] = [
        "none",
        "noemail",
        "no-email",
        "no.email",
        "noreply",
        "no-reply",
        "na",
        "n/a",
        "test",
        "unknown",
        "nomail",
        "donotreply",
    ];
    const DOMAINS: [&str; 8] =
        ["example.com", "example.org", "test.com", "none.com", "noemail.com", "email.com", "nomail.com", "na.com"];
    local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || LOCALS.contains(&local)
        || DOMAINS.contains(&domain)
        || local.chars().all(|c| c == 'x' || c == '0')
}
