//! The summary: reading the details back, forgetting one the homeowner wants to change,
//! and turning a confirmed summary into the [`BookingRequest`]. Separate from the state
//! machine because this is what the homeowner checks before anything is booked.

use crate::booking::{
    Address, BookingRequest, Channel, DayPart, DayPreference, Locale, PersonName, PreferredTime, Priority, VisitKind,
};
use crate::extract::{issue_label, AddressParts, Expecting, Extraction, SlotName};

use super::prompts::{self, Msg};
use super::{Conversation, Stage, Turn};

impl Conversation {
    pub(super) fn has_value_for(&self, ex: &Extraction, slot: SlotName) -> bool {
        match slot {
            SlotName::Problem => ex.trade.is_some(),
            SlotName::Name => ex.name.is_some(),
            SlotName::Phone => ex.phone.is_some(),
            SlotName::Email => ex.email.is_some(),
            SlotName::Address => !ex.address.is_empty(),
            SlotName::Time => ex.preferred_time.is_some(),
            SlotName::Business => ex.business.is_some(),
        }
    }

    /// Whether a detail is known now.
    pub(super) fn has_slot(&self, slot: SlotName) -> bool {
        let d = &self.details;
        match slot {
            SlotName::Problem => d.trade.is_some(),
            SlotName::Name => d.name.is_some(),
            SlotName::Phone => d.phone.is_some(),
            SlotName::Email => d.email.is_some(),
            SlotName::Address => d.address.street.is_some(),
            SlotName::Time => d.preferred_time.is_some() || d.window.is_some(),
            SlotName::Business => d.business.is_some(),
        }
    }

    /// Whether taking this message would change the summary: a "yes" that says
    /// something new ("yes, but it's the furnace", "yes, book the plumber") is not a
    /// plain yes. Repeating what is there ("yes, the AC") changes nothing.
    pub(super) fn changes_anything(&self, ex: &Extraction) -> bool {
        let d = &self.details;
        let a = &d.address;
        let differs = |new: &Option<String>, old: &Option<String>| new.is_some() && new != old;
        let n = &ex.address;
        let address = differs(&n.street, &a.street)
            || differs(&n.number, &a.number)
            || differs(&n.unit, &a.unit)
            || differs(&n.extra, &a.extra)
            || differs(&n.city, &a.city)
            || differs(&n.zip, &a.zip)
            || differs(&n.state, &a.state);
        ex.trade.is_some() && (ex.trade != d.trade || differs(&ex.issue, &d.issue))
            || ex.name.is_some() && ex.name != d.name
            || ex
                .phone
                .as_ref()
                .is_some_and(|p| d.phone.as_ref().is_none_or(|o| o.digits != p.digits || o.extension != p.extension))
            || differs(&ex.email, &d.email)
            || ex.preferred_time.is_some() && ex.preferred_time != d.preferred_time
            || differs(&ex.referral_code, &d.referral_code)
            || differs(&ex.business, &d.business)
            || address
    }

    /// "Got it, I changed the phone to …" for each known detail this message replaced
    /// while another question was open; then the open question is asked again as it
    /// was, not as if its answer had been missed.
    pub(super) fn acknowledge_changes(&mut self, before: &super::Details, asked: Expecting, turn: &mut Turn) {
        let d = &self.details;
        let changed = |slot: SlotName| match slot {
            SlotName::Problem => before.trade.is_some() && (before.trade != d.trade || before.issue != d.issue),
            SlotName::Name => before.name.is_some() && before.name != d.name,
            SlotName::Phone => before.phone.is_some() && before.phone != d.phone,
            SlotName::Email => before.email.is_some() && before.email != d.email,
            SlotName::Address => before.address.street.is_some() && before.address != d.address,
            SlotName::Time => before.preferred_time.is_some() && before.preferred_time != d.preferred_time,
            SlotName::Business => before.business.is_some() && before.business != d.business,
        };
        let slots = [
            SlotName::Problem,
            SlotName::Business,
            SlotName::Name,
            SlotName::Phone,
            SlotName::Email,
            SlotName::Address,
            SlotName::Time,
        ];
        let changed: Vec<SlotName> = slots.into_iter().filter(|s| expecting_for(*s) != asked && changed(*s)).collect();
        if changed.is_empty() {
            return;
        }
        let lines = self.summary_lines();
        for slot in changed {
            let value = lines.iter().find(|(s, _)| *s == slot).map(|(_, v)| v.clone()).unwrap_or_default();
            self.say_msg(turn, &Msg::Changed { slot, value: &value });
        }
        if asked == Expecting::Time {
            // The time question comes again as it was asked, not as "I didn't catch a day".
            self.time_asks = self.time_asks.saturating_sub(1);
        }
    }

    pub(super) fn forget(&mut self, slot: SlotName) {
        let d = &mut self.details;
        match slot {
            SlotName::Problem => {
                d.trade = None;
                d.issue = None;
            }
            SlotName::Name => d.name = None,
            SlotName::Phone => {
                d.phone = None;
                // "Change the phone": a new number is asked, not the link's again.
                self.known_phone = None;
            }
            SlotName::Email => d.email = None,
            SlotName::Address => d.address = AddressParts::default(),
            SlotName::Time => {
                d.preferred_time = None;
                d.window = None;
            }
            SlotName::Business => d.business = None,
        }
    }
    pub(super) fn read_back(&mut self, turn: &mut Turn) {
        self.stage = Stage::ReadingBack;
        self.asked = Expecting::Confirmation;
        let lines = self.summary_lines();
        self.say_msg(turn, &Msg::Summary { lines: &lines });
        turn.quick_replies = prompts::confirm_choices(self.locale);
    }

    pub(super) fn summary_lines(&self) -> Vec<(SlotName, String)> {
        let d = &self.details;
        let es = self.locale == Locale::Es;
        let mut lines = Vec::new();
        let mut problem = d.issue.as_deref().map(|i| issue_label(i, self.locale)).unwrap_or_default();
        // Voice: no brackets a speech engine would stumble over.
        match (d.trade, self.channel) {
            (Some(t), _) if problem.is_empty() => {
                problem = crate::text::capitalize(prompts::trade_name(t, self.locale))
            }
            (Some(t), Channel::Chat) => problem = format!("{problem} ({})", prompts::trade_name(t, self.locale)),
            _ => {}
        }
        if d.kind == VisitKind::Estimate {
            problem.push_str(if es { ", presupuesto" } else { ", estimate" });
        }
        if d.priority == Priority::Urgent {
            problem.push_str(if es { ", urgente" } else { ", urgent" });
        }
        lines.push((SlotName::Problem, problem));
        if let Some(b) = &d.business {
            lines.push((SlotName::Business, b.clone()));
        }
        lines.push((SlotName::Name, d.name.as_ref().map(PersonName::full).unwrap_or_default()));
        if let Some(p) = &d.phone {
            lines.push((SlotName::Phone, prompts::phone_text(p, self.channel, self.locale)));
        }
        if let Some(e) = &d.email {
            if self.channel == Channel::Chat {
                lines.push((SlotName::Email, e.clone()));
            }
        }
        lines.push((SlotName::Address, to_address(&d.address).one_line()));
        if let Some(t) = d.preferred_time {
            lines.push((SlotName::Time, time_text(t, self.locale)));
        }
        lines
    }

    pub(super) fn request(&self) -> Option<BookingRequest> {
        let d = &self.details;
        let a = &d.address;
        if a.city.is_none() && !self.known_zip() || a.state.is_none() || a.zip.is_none() {
            return None;
        }
        Some(BookingRequest {
            business: d.business.clone(),
            name: d.name.clone()?,
            phone: d.phone.clone()?,
            email: d.email.clone(),
            address: to_address(a),
            trade: d.trade?,
            kind: d.kind,
            issue: d.issue.clone().unwrap_or_default(),
            priority: d.priority,
            preferred_time: d.preferred_time.unwrap_or_default(),
            arrival_window: d.window,
            unconfirmed_window: None,
            referral_code: d.referral_code.clone(),
            sms_consent: d.sms_consent,
            voice_consent: d.voice_consent,
            locale: self.locale,
            channel: self.channel,
            transcript: self.transcript.clone(),
        })
    }
}

pub(super) fn expecting_for(slot: SlotName) -> Expecting {
    match slot {
        SlotName::Problem => Expecting::Problem,
        SlotName::Name => Expecting::Name,
        SlotName::Phone => Expecting::Phone,
        SlotName::Address => Expecting::Address,
        SlotName::Time => Expecting::Time,
        SlotName::Email => Expecting::Anything,
        SlotName::Business => Expecting::Business,
    }
}

pub(super) fn to_address(a: &AddressParts) -> Address {
    let street = match (&a.number, &a.street) {
        (Some(n), Some(s)) => format!("{n} {s}"),
        (None, Some(s)) => s.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => String::new(),
    };
    Address {
        street,
        unit: a.unit_line(),
        city: a.city.clone().unwrap_or_default(),
        state: a.state.clone().unwrap_or_default(),
        zip: a.zip.clone().unwrap_or_default(),
    }
}

fn time_text(t: PreferredTime, locale: Locale) -> String {
    let es = locale == Locale::Es;
    const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const DAYS_ES: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
    let day = t.day.map(|d| match (d, es) {
        (DayPreference::Asap, false) => "as soon as possible".to_string(),
        (DayPreference::Today, false) => "today".to_string(),
        (DayPreference::Tomorrow, false) => "tomorrow".to_string(),
        (DayPreference::Asap, true) => "lo antes posible".to_string(),
        (DayPreference::Today, true) => "hoy".to_string(),
        (DayPreference::Tomorrow, true) => "mañana".to_string(),
        (DayPreference::Weekday(w), _) => {
            let names = if es { DAYS_ES } else { DAYS_EN };
            names.get(usize::from(w)).copied().unwrap_or("").to_string()
        }
    });
    let part = t.part.map(|p| match (p, es) {
        (DayPart::Morning, false) => "morning",
        (DayPart::Afternoon, false) => "afternoon",
        (DayPart::Evening, false) => "evening",
        (DayPart::Morning, true) => "por la mañana",
        (DayPart::Afternoon, true) => "por la tarde",
        (DayPart::Evening, true) => "por la noche",
    });
    match (day, part) {
        (Some(d), Some(p)) => format!("{d} {p}"),
        (Some(d), None) => d,
        (None, Some(p)) => p.to_string(),
        (None, None) => String::new(),
    }
}
