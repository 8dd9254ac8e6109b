//! The confirming stage: after the homeowner's "yes" to the summary, the confirmation
//! (the request and the arrival windows we may offer) is shown; picking a window, Edit,
//! the SMS and voice-call consents and "Book it" are events handled here, and only
//! "Book it" yields [`Effect::Book`]. Separate from the summary because this is the last
//! gate before anything reaches ServiceTitan, and the one place a window the browser
//! sends is checked.
//!
//! Every card action is stored as a user turn so replay stays the only source of truth:
//! [`Act::text`] writes it and [`Act::parse`] reads it, nowhere else.

use serde::{Deserialize, Serialize};

use crate::booking::{ArrivalWindow, BookingRequest, Channel, DayPart, DayPreference, Locale, UnixSeconds};
use crate::extract::Expecting;
use crate::servicetitan::availability::{window_for_preference, WindowCheck, LEAD_TIME};
use crate::site::{BookingMode, PublicSiteConfig, SiteConfig};
use crate::submission::{BookingReply, ReplyStatus};

use super::prompts::{self, Msg};
use super::{Conversation, Effect, Stage, Turn, UserTurn};

/// At most this many windows are offered on the card.
pub const MAX_WINDOWS_SHOWN: usize = 6;

/// A card action, as stored in the homeowner's turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Picked an arrival window.
    Window(ArrivalWindow),
    /// Back to the summary.
    Edit,
    /// Ticked or unticked "text me updates".
    SmsConsent(bool),
    /// Ticked or unticked "you may call me with an automated assistant".
    VoiceConsent(bool),
    /// "Book it".
    BookIt,
    /// The phone the homeowner's booking link carried (`?bw-phone=`, the text after a
    /// missed call), ten digits: asked to confirm, never taken unasked.
    KnownPhone(i64),
}

const SMS_PREFIX: &str = "Text messages: ";
const VOICE_PREFIX: &str = "Voice calls: ";
const WINDOW_PREFIX: &str = "Arrival window";
const LINK_PHONE_PREFIX: &str = "Phone from the booking link: ";

impl Act {
    /// The turn text for this act. A window carries its label for the transcript and its
    /// exact times in brackets for replay: `Arrival window: Tue Nov 25, 8am–12pm [start-end]`.
    pub fn text(self, label: &str) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        match self {
            Act::Window(w) if label.is_empty() => format!("{WINDOW_PREFIX}: [{}-{}]", w.start, w.end),
            Act::Window(w) => format!("{WINDOW_PREFIX}: {label} [{}-{}]", w.start, w.end),
            Act::Edit => "Edit".into(),
            Act::SmsConsent(b) => format!("{SMS_PREFIX}{}", yes_no(b)),
            Act::VoiceConsent(b) => format!("{VOICE_PREFIX}{}", yes_no(b)),
            Act::BookIt => "Book it".into(),
            Act::KnownPhone(n) => format!("{LINK_PHONE_PREFIX}{n}"),
        }
    }

    /// The act a turn's text records, if it is one. The window's times are only parsed
    /// here; whether the window may be booked is [`window_allowed`]'s decision.
    pub fn parse(text: &str) -> Option<Act> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("book it") {
            return Some(Act::BookIt);
        }
        if t.eq_ignore_ascii_case("edit") {
            return Some(Act::Edit);
        }
        let yes_no = |v: &str| match v.trim() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        if let Some(v) = t.strip_prefix(SMS_PREFIX) {
            return yes_no(v).map(Act::SmsConsent);
        }
        if let Some(v) = t.strip_prefix(VOICE_PREFIX) {
            return yes_no(v).map(Act::VoiceConsent);
        }
        if let Some(v) = t.strip_prefix(LINK_PHONE_PREFIX) {
            return super::link_phone(v).map(Act::KnownPhone);
        }
        window_in(t).map(Act::Window)
    }
}

fn window_in(t: &str) -> Option<ArrivalWindow> {
    if !t.starts_with(WINDOW_PREFIX) || !t.ends_with(']') {
        return None;
    }
    let inner = t.get(t.rfind('[')? + 1..t.len() - 1)?;
    let (a, b) = inner.split_once('-')?;
    let (start, end) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (start < end).then_some(ArrivalWindow { start, end })
}

impl UserTurn {
    /// The one writer of a card action's turn.
    pub fn act(act: Act, label: &str, at: UnixSeconds) -> UserTurn {
        UserTurn { text: act.text(label), at }
    }
}

/// A window the card offers, with its label in the conversation's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedWindow {
    /// The window.
    pub window: ArrivalWindow,
    /// "Tue Nov 25, 8am–12pm" in the site's local time.
    pub label: String,
}

/// What the confirmation card shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The booking as "Book it" would send it now.
    pub request: BookingRequest,
    /// (label, value) lines in the conversation's language.
    pub lines: Vec<(String, String)>,
    /// Windows to offer, best first; empty means no picker.
    pub windows: Vec<OfferedWindow>,
    /// The window picked, if any.
    pub picked: Option<ArrivalWindow>,
    /// The shell should fetch live windows and send [`super::Event::OfferWindows`].
    pub wants_availability: bool,
}

/// Whether a window may be booked: one of the site's arrival windows (on its local
/// hours), starting at least [`LEAD_TIME`] after `now` and within the site's horizon.
pub fn window_allowed(site: &PublicSiteConfig, w: ArrivalWindow, now: UnixSeconds) -> bool {
    let horizon = i64::from(site.booking_horizon_days.max(1)) * 86_400;
    if w.start < now + LEAD_TIME || w.start > now + horizon || w.end <= w.start {
        return false;
    }
    let offset = i64::from(site.utc_offset_minutes) * 60;
    let day = (w.start + offset).div_euclid(86_400);
    site.arrival_windows.iter().any(|lw| {
        let start = day * 86_400 + i64::from(lw.start_hour) * 3600 - offset;
        let end = day * 86_400 + i64::from(lw.end_hour) * 3600 - offset;
        start == w.start && end == w.end
    })
}

impl Conversation {
    /// The "yes" to the summary: show the confirmation. On the phone there is no card:
    /// the spoken yes is the "Book it".
    pub(super) fn confirm(&mut self, turn: &mut Turn, now: UnixSeconds) {
        if self.request().is_none() {
            return self.next_question(turn);
        }
        self.stage = Stage::Confirming;
        self.asked = Expecting::Confirmation;
        if self.channel == Channel::Voice {
            return self.book_it(turn);
        }
        self.offered.retain(|w| window_allowed(&self.site, *w, now));
        self.say_msg(turn, &Msg::CheckCard);
        self.push_confirmation(turn);
    }

    /// A card action, or its turn replayed.
    pub(super) fn on_act(&mut self, act: Act, now: UnixSeconds, turn: &mut Turn) {
        match act {
            Act::Window(w) if window_allowed(&self.site, w, now) => self.details.window = Some(w),
            Act::Window(_) => self.say_msg(turn, &Msg::WindowNotOffered),
            Act::SmsConsent(b) => self.details.sms_consent = b,
            Act::VoiceConsent(b) => self.details.voice_consent = b,
            Act::Edit => return self.read_back(turn),
            Act::BookIt => return self.book_it(turn),
            // Only a phone not yet given is confirmed; it changes nothing on the card.
            Act::KnownPhone(n) => {
                if self.stage == Stage::TakingDetails && self.details.phone.is_none() {
                    self.known_phone = Some(n);
                }
                return;
            }
        }
        if self.stage == Stage::Confirming {
            self.push_confirmation(turn);
        } else if matches!(act, Act::Window(_)) && self.details.window.is_some() {
            // A pick before the summary (live windows shown early): noted, carry on.
            self.say_msg(turn, &Msg::WindowNoted);
            self.next_question(turn);
        }
    }

    /// Live availability arrived: keep what may be booked, the stated preference first.
    pub(super) fn offer_windows(&mut self, windows: Vec<ArrivalWindow>, now: UnixSeconds, turn: &mut Turn) {
        let mut ok: Vec<ArrivalWindow> = Vec::new();
        for w in windows {
            if window_allowed(&self.site, w, now) && !ok.contains(&w) {
                ok.push(w);
            }
        }
        // The asked-for windows first, each group in the order the worker sent them
        // (earliest first). A partition, not a sort: std's sort costs the widget ~5 KB.
        let (mut ok, rest): (Vec<ArrivalWindow>, Vec<ArrivalWindow>) =
            ok.into_iter().partition(|w| self.matches_preference(*w, now));
        ok.extend(rest);
        ok.truncate(MAX_WINDOWS_SHOWN);
        self.offered = ok;
        if self.stage == Stage::Confirming {
            self.push_confirmation(turn);
        }
    }

    fn book_it(&mut self, turn: &mut Turn) {
        let Some(request) = self.request() else { return self.next_question(turn) };
        if self.channel == Channel::Voice {
            self.say_msg(turn, &Msg::Booked { first_name: &request.name.first });
        }
        self.stage = Stage::Booked;
        turn.effects.push(Effect::Book { request });
    }

    fn push_confirmation(&self, turn: &mut Turn) {
        if let Some(c) = self.confirmation() {
            turn.effects.push(Effect::Confirm(c));
        }
    }

    /// The card as it stands, while the conversation is confirming (for resume).
    pub fn confirmation(&self) -> Option<Confirmation> {
        if self.stage != Stage::Confirming {
            return None;
        }
        let request = self.request()?;
        let off = self.site.utc_offset_minutes;
        let windows = self
            .offered
            .iter()
            .map(|w| OfferedWindow { window: *w, label: window_label(self.locale, *w, off) })
            .collect();
        let lines = self
            .summary_lines()
            .into_iter()
            .map(|(slot, v)| (prompts::slot_label(slot, self.locale).to_string(), v))
            .collect();
        Some(Confirmation {
            request,
            lines,
            windows,
            picked: self.details.window,
            wants_availability: self.site.offer_availability,
        })
    }

    /// Whether a window is on the day and part of day the homeowner asked for
    /// ("tomorrow morning" puts tomorrow's morning window first).
    fn matches_preference(&self, w: ArrivalWindow, now: UnixSeconds) -> bool {
        let Some(pref) = self.details.preferred_time else { return false };
        let off = i64::from(self.site.utc_offset_minutes) * 60;
        let (day, today) = ((w.start + off).div_euclid(86_400), (now + off).div_euclid(86_400));
        let hour = (w.start + off).rem_euclid(86_400) / 3600;
        let day_ok = match pref.day {
            None | Some(DayPreference::Asap) => true,
            Some(DayPreference::Today) => day == today,
            Some(DayPreference::Tomorrow) => day == today + 1,
            // 1970-01-01 was a Thursday: weekday 0 = Monday is (day + 3) % 7.
            Some(DayPreference::Weekday(n)) => (day + 3).rem_euclid(7) == i64::from(n),
        };
        let part_ok = pref.part.is_none_or(|p| {
            let name = match p {
                DayPart::Morning => "morning",
                DayPart::Afternoon => "afternoon",
                DayPart::Evening => "evening",
            };
            self.site
                .arrival_windows
                .iter()
                .any(|lw| i64::from(lw.start_hour) == hour && lw.name.eq_ignore_ascii_case(name))
        });
        (pref.day.is_some() || pref.part.is_some()) && day_ok && part_ok
    }
}

/// The homeowner's answer to a booking the worker has stored, in their language. Decided
/// from the request alone, never from what ServiceTitan or matching found: a visitor
/// must not learn from it whether a phone or address is already a customer.
pub fn reply_for(request: &BookingRequest, site: &SiteConfig, reference: &str, now: UnixSeconds) -> BookingReply {
    let public = site.public();
    let window = request
        .arrival_window
        .filter(|w| w.start > now)
        .or_else(|| window_for_preference(site, request.preferred_time, now))
        .filter(|_| site.mode != BookingMode::Booking);
    let msg = match window {
        Some(w) => Msg::ReplyBooked { window: &window_label(request.locale, w, public.utc_offset_minutes), reference },
        None => Msg::ReplyReceived { reference },
    };
    BookingReply {
        status: if window.is_some() { ReplyStatus::Booked } else { ReplyStatus::Received },
        reference: reference.to_string(),
        message: prompts::say(&msg, request.locale, request.channel),
        window,
    }
}

/// The reply after the picked window was re-checked against live capacity right before
/// booking ([`WindowCheck`]): the request as it will be booked, and the homeowner's
/// answer saying which window they got. Capacity does not depend on who the homeowner
/// is, so this tells a visitor nothing about the customer records.
pub fn reply_after_recheck(
    mut request: BookingRequest,
    site: &SiteConfig,
    reference: &str,
    now: UnixSeconds,
    check: WindowCheck,
) -> (BookingRequest, BookingReply) {
    let off = site.utc_offset_minutes;
    let Some(taken) = request.arrival_window.filter(|_| check != WindowCheck::Still) else {
        let reply = reply_for(&request, site, reference, now);
        return (request, reply);
    };
    let taken_label = window_label(request.locale, taken, off);
    let (msg_window, status) = match check {
        WindowCheck::Moved(w) => {
            request.arrival_window = Some(w);
            (Some(w), ReplyStatus::Booked)
        }
        _ => {
            // The office confirms a time: no window is sent, and none is promised; the
            // office's review says which one the homeowner picked.
            request.arrival_window = None;
            request.unconfirmed_window = Some(taken);
            request.preferred_time = Default::default();
            (None, ReplyStatus::Received)
        }
    };
    let msg = match msg_window {
        Some(w) => Msg::ReplyMoved { taken: &taken_label, window: &window_label(request.locale, w, off), reference },
        None => Msg::ReplyTaken { taken: &taken_label, reference },
    };
    let reply = BookingReply {
        status,
        reference: reference.to_string(),
        message: prompts::say(&msg, request.locale, request.channel),
        window: msg_window,
    };
    (request, reply)
}

const DAYS_EN: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_ES: [&str; 7] = ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"];
const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_ES: [&str; 12] = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"];

/// (weekday 0 = Sunday, month 0-11, day, hour, minute) of a Unix time in local time.
fn civil(t: i64, offset_min: i32) -> (usize, usize, u32, u32, u32) {
    let s = t + i64::from(offset_min) * 60;
    let days = s.div_euclid(86_400);
    let secs = s.rem_euclid(86_400);
    let weekday = (days + 4).rem_euclid(7) as usize;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    (weekday, m - 1, d, (secs / 3600) as u32, ((secs % 3600) / 60) as u32)
}

fn clock(l: Locale, h: u32, m: u32) -> String {
    if l == Locale::Es {
        return format!("{h}:{m:02}");
    }
    let (h12, ap) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    if m == 0 {
        format!("{h12}{ap}")
    } else {
        format!("{h12}:{m:02}{ap}")
    }
}

/// "Tue Nov 25, 8am–12pm" (English) or "mar 25 nov, 8:00–12:00" (Spanish), local time.
pub fn window_label(l: Locale, w: ArrivalWindow, offset_min: i32) -> String {
    let (wd, mo, d, h, mi) = civil(w.start, offset_min);
    let (_, _, _, h2, mi2) = civil(w.end, offset_min);
    let (days, months) = if l == Locale::Es { (DAYS_ES, MONTHS_ES) } else { (DAYS_EN, MONTHS_EN) };
    let (day, month) = (days.get(wd).copied().unwrap_or(""), months.get(mo).copied().unwrap_or(""));
    if l == Locale::Es {
        format!("{day} {d} {month}, {}–{}", clock(l, h, mi), clock(l, h2, mi2))
    } else {
        format!("{day} {month} {d}, {}–{}", clock(l, h, mi), clock(l, h2, mi2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_window_in_local_time() {
        // 2025-11-25 14:00 UTC = 8:00 CST.
        let w = ArrivalWindow { start: 1_764_079_200, end: 1_764_093_600 };
        assert_eq!(window_label(Locale::En, w, -360), "Tue Nov 25, 8am–12pm");
        assert_eq!(window_label(Locale::Es, w, -360), "mar 25 nov, 8:00–12:00");
    }

    #[test]
    fn each_act_reads_back_as_itself() {
        let w = ArrivalWindow { start: 1_764_079_200, end: 1_764_093_600 };
        for act in [
            Act::Window(w),
            Act::Edit,
            Act::SmsConsent(true),
            Act::SmsConsent(false),
            Act::VoiceConsent(true),
            Act::BookIt,
            Act::KnownPhone(6_125_550_100),
        ] {
            assert_eq!(Act::parse(&act.text("Tue Nov 25, 8am–12pm")), Some(act));
            assert_eq!(Act::parse(&act.text("")), Some(act));
        }
        assert_eq!(Act::parse("Text messages: maybe"), None);
        assert_eq!(Act::parse("Arrival window: [5-3]"), None);
        assert_eq!(Act::parse("Phone from the booking link: 1125550100"), None, "not a US number");
        assert_eq!(Act::parse("Phone from the booking link: 612555010"), None);
    }
}
