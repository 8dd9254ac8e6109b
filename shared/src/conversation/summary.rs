//! The summary: reading the details back, forgetting one the homeowner wants to change,
//! and turning a confirmed summary into the [`BookingRequest`]. Separate from the state
//! machine because this is what the homeowner checks before anything is booked.

use crate::booking::{Address, BookingRequest, Channel, DayPart, DayPreference, Locale, PersonName, PreferredTime, Priority, VisitKind};
use crate::extract::{AddressParts, Expecting, Extraction, SlotName};

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
            SlotName::Phone => d.phone = None,
            SlotName::Email => d.email = None,
            SlotName::Address => d.address = AddressParts::default(),
            SlotName::Time => {
                d.preferred_time = None;
                d.window = None;
            }
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
        let mut problem = d.issue.clone().unwrap_or_default();
        // Voice: no brackets a speech engine would stumble over.
        if let (Some(t), Channel::Chat) = (d.trade, self.channel) {
            problem = format!("{problem} ({})", prompts::trade_name(t, self.locale));
        }
        if d.kind == VisitKind::Estimate {
            problem.push_str(if es { ", presupuesto" } else { ", estimate" });
        }
        if d.priority == Priority::Urgent {
            problem.push_str(if es { ", urgente" } else { ", urgent" });
        }
        lines.push((SlotName::Problem, problem));
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
        if a.city.is_none() || a.state.is_none() || a.zip.is_none() {
            return None;
        }
        Some(BookingRequest {
            business: None,
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
    }
}

fn to_address(a: &AddressParts) -> Address {
    let street = match (&a.number, &a.street) {
        (Some(n), Some(s)) => format!("{n} {s}"),
        (None, Some(s)) => s.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => String::new(),
    };
    Address {
        street,
        unit: a.unit.clone(),
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
