//! Slots from one utterance: everything a homeowner might say in one message, found
//! at once ("hi this is maria, ac is out, 612 555 0143, 4417 w lake st 55416").
//!
//! Like rust-analyzer's parser, extraction never fails: [`extract`] always returns
//! the best [`Extraction`] it could make, with `None` for what it did not find.
//!
//! Pipeline: cap the input at [`MAX_INPUT_CHARS`] → fold odd characters → words
//! (typos fixed, spoken numbers turned into digits) → phone → address (skipping the
//! phone's words) → the rest (name, email, need, time, answers) on the word text.

mod address;
mod need;
mod phone;
mod talk;
mod words;

/// The USPS tables addresses are read by, shared with `crate::matching`.
pub(crate) use address::tables as usps;
pub use address::{state_for_zip, AddressParts};
pub use need::{issue_label, Emergency, Urgency};
pub use phone::{nanp_problem, PhoneProblem};
pub use talk::{Answer, SlotName};

use serde::{Deserialize, Serialize};

use crate::booking::{Locale, PersonName, Phone, PreferredTime, Trade, VisitKind};

/// Longest input read, in characters. Longer text is cut at a character boundary:
/// no booking detail needs more, and it bounds the time one turn can take.
pub const MAX_INPUT_CHARS: usize = 2_000;

/// What the assistant just asked for: short answers are read in that light
/// ("maria" is a name only when we asked for a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Expecting {
    /// Nothing in particular (first message, summary).
    #[default]
    Anything,
    /// The problem.
    Problem,
    /// The homeowner's name.
    Name,
    /// A phone number.
    Phone,
    /// The service address (street, city, ZIP).
    Address,
    /// When to come ("tomorrow morning", "any time").
    Time,
    /// Yes or no to the summary.
    Confirmation,
    /// The name of the business the caller speaks for.
    Business,
}

/// Everything found in one utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// The homeowner's name.
    pub name: Option<PersonName>,
    /// A phone number.
    pub phone: Option<Phone>,
    /// Digits that looked like a phone but were not one, and why.
    pub phone_problem: Option<PhoneProblem>,
    /// An email address.
    pub email: Option<String>,
    /// Address parts.
    pub address: AddressParts,
    /// The trade the problem belongs to.
    pub trade: Option<Trade>,
    /// The issue in the contractor's words ("AC not cooling").
    pub issue: Option<String>,
    /// Repair or estimate, when said.
    pub kind: Option<VisitKind>,
    /// Emergency or high urgency.
    pub urgency: Option<Urgency>,
    /// Preferred day and part of day.
    pub preferred_time: Option<PreferredTime>,
    /// Referral / advocate code, uppercase.
    pub referral_code: Option<String>,
    /// Yes / no / change.
    pub answer: Option<Answer>,
    /// The homeowner asked for a person.
    pub wants_person: bool,
    /// "sorry", "actually", "I meant": the values here replace earlier ones.
    pub correction: bool,
    /// The language the text looks like, if it is clear.
    pub language: Option<Locale>,
    /// The business the caller speaks for ("this is Lena from Northside Dental").
    pub business: Option<String>,
    /// The place is a business or a managed property ("our deli", "I manage the
    /// building", "tenant in unit 2"), named or not.
    pub commercial: bool,
    /// "but", "pero", "except": a yes with a reservation is not a plain yes.
    pub but: bool,
}

impl Extraction {
    /// True when a slot value (not just an answer) was found.
    pub fn has_details(&self) -> bool {
        self.name.is_some()
            || self.phone.is_some()
            || self.email.is_some()
            || !self.address.is_empty()
            || self.trade.is_some()
            || self.preferred_time.is_some()
            || self.referral_code.is_some()
            || self.business.is_some()
    }
}

/// Cuts `text` to at most [`MAX_INPUT_CHARS`] characters, at a character boundary.
pub fn cap(text: &str) -> &str {
    match text.char_indices().nth(MAX_INPUT_CHARS) {
        Some((i, _)) => text.get(..i).unwrap_or(""),
        None => text,
    }
}

/// Finds every slot in one utterance.
pub fn extract(text: &str, expecting: Expecting) -> Extraction {
    let folded = words::fold(cap(text));
    let ws = words::spoken_numbers(words::split(&folded));
    let mut padded = String::with_capacity(folded.len() + 2);
    padded.push(' ');
    for w in &ws {
        padded.push_str(&w.norm);
        padded.push_str(if w.brk { " , " } else { " " });
    }
    let padded = need::Padded::new(&padded);
    let found_phone = phone::find(&ws);
    let tail_ok =
        matches!(expecting, Expecting::Address) || padded.contains(" zip ") || padded.contains(" código postal ");
    let mut address = address::find(&ws, &found_phone.used_words, tail_ok);
    if address.is_empty() && tail_ok && ws.len() == 1 {
        address = address::find(&ws, &[], true);
    }
    let need = need::find(&padded);
    let mut ex = Extraction {
        phone: found_phone.phone,
        phone_problem: found_phone.problem,
        email: talk::email(&ws),
        address,
        trade: need.trade,
        issue: need.issue,
        kind: need.kind,
        urgency: need.urgency,
        preferred_time: talk::preferred_time(&padded, expecting == Expecting::Time),
        referral_code: talk::referral(&ws),
        answer: talk::answer(&ws, &padded),
        wants_person: talk::wants_person(&padded),
        correction: talk::correction(&padded),
        language: need::language(&padded),
        name: None,
        business: talk::business(&ws),
        commercial: talk::commercial(&padded),
        but: talk::but(&padded),
    };
    ex.name = talk::name(&ws, &padded, expecting, &ex, &found_phone.used_words);
    // "yes it's fine" is no name, but "no, my name is Noah Patel" is one: a yes or no
    // cancels a name only when the name was not said as a name.
    if ex.answer.is_some() && ex.name.is_some() && expecting != Expecting::Name && !talk::said_as_name(&padded) {
        ex.name = None;
    }
    if expecting == Expecting::Business && ex.business.is_none() {
        // "Rosa's Deli" answers "what's the business called?": a name, not a person's.
        ex.name = None;
        if !ex.has_details() && ex.answer.is_none() {
            ex.business = talk::business_answer(&ws, &padded);
        }
    }
    ex
}

/// Which summary detail a short answer names ("phone", "la dirección"), if any.
pub fn slot_named(text: &str) -> Option<SlotName> {
    let folded = words::fold(cap(text));
    let mut padded = String::from(" ");
    for w in words::split(&folded) {
        padded.push_str(&w.norm);
        padded.push(' ');
    }
    talk::slot_named(&need::Padded::new(&padded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_in_one_message() {
        let ex = extract(
            "hi this is maria gonzalez, my ac stopped cooling, 612-555-0143, 4417 w lake st minneapolis mn 55416",
            Expecting::Anything,
        );
        assert_eq!(ex.name.map(|n| n.full()), Some("Maria Gonzalez".into()));
        assert_eq!(ex.phone.map(|p| p.digits), Some("6125550143".into()));
        assert_eq!(ex.address.street.as_deref(), Some("W Lake St"));
        assert_eq!(ex.address.city.as_deref(), Some("Minneapolis"));
        assert_eq!(ex.address.zip.as_deref(), Some("55416"));
        assert_eq!(ex.trade, Some(Trade::Hvac));
    }

    #[test]
    fn capped_input_never_splits_a_char() {
        let long = "é".repeat(5000);
        assert_eq!(cap(&long).chars().count(), MAX_INPUT_CHARS);
        let _ = extract(&long, Expecting::Anything);
    }
}
