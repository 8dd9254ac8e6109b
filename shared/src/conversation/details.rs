//! Taking details: storing what one message says (with the checks that can refuse it:
//! trade offered, phone valid, ZIP served) and asking for the first thing still
//! missing. Separate from the state machine because this is where the order of
//! questions lives.

use crate::booking::{Channel, DayPreference, Phone, PreferredTime, Priority};
use crate::extract::{self, AddressParts, Answer, Expecting, Extraction, Urgency};
use crate::site::ZipCities;
use crate::text::{capitalize, is_letter};

use super::prompts::{self, Msg};
use super::{Conversation, Turn, PHONE_TRIES_BEFORE_HANDOFF};

impl Conversation {
    /// Stores what the message says. Returns false when a reply was already given
    /// and no further question should follow (a re-prompt or a decline).
    pub(super) fn take(&mut self, ex: &Extraction, text: &str, turn: &mut Turn) -> bool {
        let asked = self.asked;
        let d = &mut self.details;
        if let Some(t) = ex.trade {
            d.trade = Some(t);
            d.issue = ex.issue.clone();
            if let Some(k) = ex.kind {
                d.kind = k;
            }
        } else if asked == Expecting::Problem
            && d.issue.is_none()
            && !text.trim().is_empty()
            && !ex.has_details()
            && ex.answer.is_none()
        {
            // No trade recognised: keep their words as the issue and ask which trade.
            d.issue = Some(condense(text));
        }
        if matches!(ex.urgency, Some(Urgency::High)) && d.priority < Priority::High {
            d.priority = Priority::High;
        }
        if let Some(n) = &ex.name {
            d.name = Some(n.clone());
        }
        if let Some(e) = &ex.email {
            d.email = Some(e.clone());
        }
        if let Some(t) = ex.preferred_time {
            d.preferred_time = Some(t);
        }
        if let Some(r) = &ex.referral_code {
            d.referral_code = Some(r.clone());
        }
        if let Some(b) = &ex.business {
            d.business = Some(b.clone());
        }
        d.commercial |= ex.commercial || ex.business.is_some();
        merge_address(&mut d.address, &ex.address);
        if asked == Expecting::Address
            && d.address.street.is_some()
            && d.address.city.is_none()
            && ex.address.is_empty()
        {
            // "And the city?" — "Minneapolis": a bare answer is the city.
            d.address.city = city_answer(text, ex);
        }
        fill_state(&mut d.address);
        fill_city(&mut d.address, &self.site.zip_cities);
        // The site must book this trade.
        if let Some(t) = d.trade.filter(|t| !self.site.trades.is_empty() && !self.site.trades.contains(t)) {
            d.trade = None;
            d.issue = None;
            self.asked = Expecting::Problem;
            self.say_msg(turn, &Msg::TradeNotOffered { trade: t });
            return false;
        }
        // Phone: check it, and re-prompt with the reason.
        let office = self.office();
        if let Some(p) = &ex.phone {
            match extract::nanp_problem(&p.digits) {
                None => {
                    self.details.phone = Some(p.clone());
                    self.phone_failures = 0;
                }
                Some(problem) => return self.phone_failed(Some(problem), &office, turn),
            }
        } else if asked == Expecting::Phone
            && self.details.phone.is_none()
            && (!ex.has_details() && ex.answer.is_none() || ex.phone_problem.is_some())
        {
            return self.phone_failed(ex.phone_problem, &office, turn);
        }
        // Service area.
        if let Some(zip) = self.details.address.zip.clone() {
            let area = &self.site.service_area_zips;
            if !area.is_empty() && !area.iter().any(|z| z.trim() == zip) {
                self.details.address = AddressParts::default();
                self.asked = Expecting::Address;
                self.say_msg(turn, &Msg::OutOfArea { zip: &zip, office: &office });
                return false;
            }
        }
        true
    }

    /// The answer to "Is (612) 555-0100 the best number to reach you?" (the phone the
    /// booking link carried): "yes" takes it; a number said is that number
    /// ([`Conversation::take`] reads it); "no", "use another number" or anything else
    /// with nothing to take asks for the number; other details alone ("4417 West Lake")
    /// are taken and the question comes back. Returns true when it answered.
    pub(super) fn known_phone_answer(&mut self, ex: &Extraction, turn: &mut Turn) -> bool {
        let Some(known) = self.known_phone.filter(|_| self.asked == Expecting::Phone) else { return false };
        match ex.answer {
            _ if ex.phone.is_some() || ex.phone_problem.is_some() => self.known_phone = None,
            Some(Answer::Yes) => {
                self.details.phone = Some(Phone { digits: format!("{known}"), extension: None });
                self.known_phone = None;
            }
            // Forgetting the phone forgets the link's too.
            _ if !ex.has_details() => {
                self.ask_again(extract::SlotName::Phone, turn);
                return true;
            }
            // "No, and it's 4417 West Lake": the rest is taken, the phone asked next.
            Some(_) => self.known_phone = None,
            None => {}
        }
        false
    }

    fn phone_failed(&mut self, problem: Option<extract::PhoneProblem>, office: &str, turn: &mut Turn) -> bool {
        self.phone_failures = self.phone_failures.saturating_add(1);
        self.asked = Expecting::Phone;
        let offer_person = self.phone_failures >= PHONE_TRIES_BEFORE_HANDOFF;
        let msg = match problem {
            Some(problem) => Msg::PhoneInvalid { problem, offer_person, office },
            None => Msg::NoPhoneHeard { offer_person, office },
        };
        self.say_msg(turn, &msg);
        if offer_person {
            turn.quick_replies = vec![prompts::person_choice(self.locale)];
        }
        false
    }

    /// Asks for the first missing detail, or reads the summary back.
    pub(super) fn next_question(&mut self, turn: &mut Turn) {
        let d = &self.details;
        let a = &d.address;
        let (msg, asked) = if d.trade.is_none() {
            if d.issue.is_some() {
                (Msg::AskTrade, Expecting::Problem)
            } else {
                (Msg::AskProblem, Expecting::Problem)
            }
        } else if d.name.is_none() {
            (Msg::AskName { first_issue: None }, Expecting::Name)
        } else if d.commercial && d.business.is_none() && !self.business_asked {
            // "our deli", "I manage the building": the customer is the business; ask its
            // name once ("no" is an answer).
            self.business_asked = true;
            (Msg::AskBusiness, Expecting::Business)
        } else if d.phone.is_none() {
            (Msg::AskPhone { first_name: "", known: None }, Expecting::Phone)
        } else if a.street.is_none() || a.number.is_none() {
            (Msg::AskAddress, Expecting::Address)
        } else if let Some(rest) = self.address_rest() {
            (rest, Expecting::Address)
        } else if d.preferred_time.is_none() && d.window.is_none() && d.priority == Priority::Urgent {
            // An emergency: as soon as possible, without asking.
            self.details.preferred_time = Some(PreferredTime { day: Some(DayPreference::Asap), part: None });
            self.read_back(turn);
            return;
        } else if d.preferred_time.is_none() && d.window.is_none() && self.time_asks < 2 {
            // A job needs an appointment: ask when (once more if the answer had no time).
            self.time_asks += 1;
            self.asked = Expecting::Time;
            self.say_msg(turn, &Msg::AskTime { again: self.time_asks > 1 });
            if self.channel == Channel::Chat {
                turn.quick_replies = prompts::time_choices(self.locale);
            }
            return;
        } else {
            self.read_back(turn);
            return;
        };
        // Personal touches need owned strings; build them after the borrow ends.
        let issue = d.issue.clone();
        let first = d.name.as_ref().map(|n| n.first.clone()).unwrap_or_default();
        let known = self.known_phone.map(|n| Phone { digits: format!("{n}"), extension: None });
        let known = known.map(|p| prompts::phone_text(&p, self.channel, self.locale));
        self.asked = asked;
        let msg = match msg {
            Msg::AskName { .. } => {
                Msg::AskName { first_issue: issue.as_deref().filter(|_| self.channel == Channel::Chat) }
            }
            // The booking link's phone: confirmed with one tap rather than typed.
            Msg::AskPhone { .. } => Msg::AskPhone { first_name: &first, known: known.as_deref() },
            m => m,
        };
        let text = prompts::say(&msg, self.locale, self.channel);
        self.say(turn, text);
        if asked == Expecting::Phone && known.is_some() {
            turn.quick_replies = prompts::known_phone_choices(self.locale);
        }
        if asked == Expecting::Problem && self.details.issue.is_some() {
            turn.quick_replies =
                self.site.trades.iter().map(|t| capitalize(prompts::trade_name(*t, self.locale))).collect();
        }
    }
}

impl Conversation {
    /// What is still missing after the street, as one question, or `None`. The state is
    /// never asked when there is a ZIP (its prefix says the state, [`fill_state`]); with
    /// no ZIP we ask for the ZIP, not the state. The city is asked unless the ZIP is
    /// known ([`Conversation::known_zip`]).
    fn address_rest(&self) -> Option<Msg<'static>> {
        let a = &self.details.address;
        let need_city = a.city.is_none() && !self.known_zip();
        let need_zip = a.zip.is_none();
        // A ZIP whose prefix is no state's (a typo): ask the state rather than guess.
        let need_state = a.state.is_none() && !need_zip;
        (need_city || need_zip || need_state).then_some(Msg::AskAddressRest {
            have_zip: !need_zip,
            have_city: !need_city,
            have_state: !need_state,
        })
    }

    /// A known ZIP is one the site maps to its city (`zipCities`): the contractor named
    /// it, so the city is filled in and not asked. ServiceTitan's address needs a city,
    /// so any other ZIP still gets the question.
    pub(super) fn known_zip(&self) -> bool {
        let cities = &self.site.zip_cities;
        self.details.address.zip.as_deref().is_some_and(|zip| cities.get(zip).is_some())
    }
}

/// A bare answer to "and the city?": one to four words of letters ("Minneapolis",
/// "st louis park", "Eden Prairie") and nothing else the message could mean.
fn city_answer(text: &str, ex: &Extraction) -> Option<String> {
    let t = text.trim().trim_end_matches(['.', '!']);
    let words = t.split_whitespace().count();
    let letters = t.chars().all(|c| is_letter(c) || matches!(c, ' ' | '.' | '\'' | '-'));
    let plain = !ex.has_details() && ex.answer.is_none() && !ex.wants_person;
    (plain && letters && (1..=4).contains(&words))
        .then(|| t.split_whitespace().map(capitalize).collect::<Vec<_>>().join(" "))
}

/// The city of a ZIP the site knows, when the homeowner did not say it.
fn fill_city(a: &mut AddressParts, cities: &ZipCities) {
    if a.city.is_none() {
        a.city = a.zip.as_deref().and_then(|z| cities.get(z)).cloned();
    }
}

/// The state from the ZIP's prefix when the homeowner did not say it: "55416" is MN.
fn fill_state(a: &mut AddressParts) {
    if a.state.is_none() {
        a.state = a.zip.as_deref().and_then(extract::state_for_zip).map(str::to_string);
    }
}

/// New address parts replace old ones; a new street starts a new address but keeps
/// the city/state/ZIP unless those were given too.
fn merge_address(have: &mut AddressParts, new: &AddressParts) {
    if new.street.is_some() {
        have.number = new.number.clone();
        have.street = new.street.clone();
        have.unit = new.unit.clone();
        have.extra = new.extra.clone();
    } else if new.unit.is_some() || new.extra.is_some() {
        // "Apt 4B" or "Bldg C-2" said on its own: what was said replaces its own kind.
        if new.unit.is_some() {
            have.unit = new.unit.clone();
        }
        if new.extra.is_some() {
            have.extra = new.extra.clone();
        }
    }
    if new.city.is_some() {
        have.city = new.city.clone();
    }
    if new.state.is_some() {
        have.state = new.state.clone();
    }
    if new.zip.is_some() {
        have.zip = new.zip.clone();
        // A new ZIP without a state: the old state may be the old ZIP's.
        if new.state.is_none() {
            have.state = None;
        }
    }
}

/// The homeowner's own words, trimmed to a note-sized issue.
fn condense(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match t.char_indices().nth(120) {
        Some((i, _)) => t.get(..i).unwrap_or("").to_string(),
        None => t,
    }
}
