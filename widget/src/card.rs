//! The cards in the message log: the confirmation card (booking-core's
//! [`Confirmation`]: lines, arrival windows, SMS consent) and what follows "Book it"
//! (queued, the worker's answer, failure). Separate because this is the one place the
//! homeowner's details are shown back to them.

use booking_core::booking::Phone;
use booking_core::conversation::Confirmation;
use booking_core::submission::ReplyStatus;

use crate::i18n::{t, K};
use crate::node::{el, Node};
use crate::state::{Phase, St};

/// A phone number as people read it: "(612) 555-0143".
pub(crate) fn format_phone(digits: &str) -> String {
    Phone { digits: digits.to_string(), extension: None }.display()
}

/// A button that says what it does in `data-act` (the view's one click listener acts).
pub(crate) fn button(class: &str, testid: &str, act: &str) -> Node {
    el("button").a("type", "button").a("class", class).a("data-testid", testid).a("data-act", act)
}

/// A note in the log (`.m.note`).
pub(crate) fn note(testid: &str) -> Node {
    el("div").a("class", "m note").a("data-testid", testid)
}

/// A chip: a quick reply or an arrival window.
pub(crate) fn chip(testid: &str, act: &str, i: usize, pressed: Option<bool>, label: &str) -> Node {
    let chip = button("chip", testid, act).a("data-arg", &i.to_string());
    let chip = match pressed {
        Some(p) => chip.a("aria-pressed", if p { "true" } else { "false" }),
        None => chip,
    };
    chip.t(label)
}

/// The confirmation card, as booking-core gave it: the lines to check (in the
/// conversation's language), the arrival windows it offers, SMS consent. Each control
/// is a `data-act` the view hands back to booking-core as an event.
pub(crate) fn card(s: &St, c: &Confirmation) -> Node {
    let l = s.locale;
    let sending = s.phase != Phase::Card;
    let windows = (!c.windows.is_empty()).then(|| {
        el("fieldset").a("data-testid", "bw-window-picker").k(el("legend").t(t(l, K::Windows))).k(el("div")
            .a("class", "wins")
            .all(
                c.windows
                    .iter()
                    .enumerate()
                    .map(|(i, w)| chip("bw-window", "win", i, Some(c.picked == Some(w.window)), &w.label)),
            ))
    });
    // A line is a <dt>/<dd> pair, so the list keeps its shape as it grows.
    let lines = c
        .lines
        .iter()
        .flat_map(|(label, value)| [el("dt").t(label), el("dd").a("data-testid", "bw-card-line").t(value)]);
    el("div")
        .a("class", "card")
        .a("data-testid", "bw-confirm-card")
        .a("role", "group")
        .a("aria-labelledby", "bw-card-title")
        .k(el("h3").a("id", "bw-card-title").t(t(l, K::CardTitle)))
        .k(el("dl").all(lines))
        .opt(windows)
        .k(el("label")
            .k(el("input")
                .a("type", "checkbox")
                .a("data-testid", "bw-sms-consent")
                .a("data-act", "sms")
                .a(".checked", if c.request.sms_consent { "1" } else { "" })
                .flag("disabled", sending))
            .k(el("span").t(t(l, K::Sms))))
        .k(el("div")
            .a("class", "row")
            .k(button("pri", "bw-confirm", "confirm")
                .a("id", "bw-confirm")
                .flag("disabled", sending)
                .t(t(l, if sending { K::Sending } else { K::Book })))
            .k(button("sec", "bw-edit", "edit").flag("disabled", sending).t(t(l, K::Edit))))
}

/// Queued / done / failed: a fragment of three places in the log.
pub(crate) fn status(s: &St) -> Node {
    let l = s.locale;
    let restart = || button("sec", "bw-restart", "restart").t(t(l, K::Restart));
    let queued = (s.phase == Phase::Queued).then(|| note("bw-queued").a("role", "status").t(t(l, K::Queued)));
    let done = (s.phase == Phase::Done).then(|| {
        let d = s.done.as_ref();
        let booked = d.is_some_and(|d| d.status == ReplyStatus::Booked);
        let reference = d.map(|d| d.reference.as_str()).filter(|r| !r.is_empty());
        let message = d.map(|d| d.message.as_str()).unwrap_or_default();
        el("div")
            .a("class", "card ok")
            .a("data-testid", "bw-success")
            .a("data-status", if booked { "booked" } else { "received" })
            .a("role", "status")
            .k(el("h3").t(t(l, if booked { K::Booked } else { K::Received })))
            .opt(reference.map(|r| {
                el("p")
                    .t(t(l, K::Reference))
                    .t(": ")
                    .k(el("span").a("class", "job").a("data-testid", "bw-reference").t(r))
            }))
            .k(el("p").t(message))
            .k(restart())
    });
    let failed = (s.phase == Phase::Failed).then(|| {
        el("div")
            .a("class", "card")
            .a("data-testid", "bw-error")
            .a("role", "alert")
            .k(el("p").t(s.error.as_deref().unwrap_or(t(l, K::Failed))))
            .k(restart())
    });
    el("").opt(queued).opt(done).opt(failed)
}
