//! The cards in the message log: the confirmation card (booking-core's
//! [`Confirmation`]: lines, arrival windows, SMS consent) and what follows "Book it"
//! (queued, the worker's answer, failure). Separate because this is the one place the
//! homeowner's details are shown back to them.

use booking_core::booking::Phone;
use booking_core::conversation::Confirmation;
use booking_core::submission::ReplyStatus;
use leptos::prelude::*;

use crate::i18n::{t, K};
use crate::state::{Phase, St};

/// A phone number as people read it: "(612) 555-0143".
pub(crate) fn format_phone(digits: &str) -> String {
    Phone { digits: digits.to_string(), extension: None }.display()
}

/// A chip: a quick reply or an arrival window. One element type for both lists, so the
/// list code is in the wasm once.
pub(crate) fn chip(
    testid: &'static str,
    act: &'static str,
    i: usize,
    pressed: Option<bool>,
    label: String,
) -> impl IntoView {
    view! {
        <button type="button" class="chip" data-testid=testid data-act=act data-arg=i.to_string()
            aria-pressed=pressed.map(|p| if p { "true" } else { "false" })>
            {label}
        </button>
    }
}

/// The confirmation card, as booking-core gave it: the lines to check (in the
/// conversation's language), the arrival windows it offers, SMS consent. Each control
/// is a `data-act` the view hands back to booking-core as an event.
pub(crate) fn card(s: &St, c: &Confirmation) -> impl IntoView {
    let l = s.locale;
    let sending = s.phase != Phase::Card;
    let windows = (!c.windows.is_empty()).then(|| {
        view! {
            <fieldset data-testid="bw-window-picker">
                <legend>{t(l, K::Windows)}</legend>
                <div class="wins">
                    {c.windows.iter().enumerate().map(|(i, w)| {
                        chip("bw-window", "win", i, Some(c.picked == Some(w.window)), w.label.clone())
                    }).collect_view()}
                </div>
            </fieldset>
        }
    });
    view! {
        <div class="card" data-testid="bw-confirm-card" role="group" aria-labelledby="bw-card-title">
            <h3 id="bw-card-title">{t(l, K::CardTitle)}</h3>
            <dl>
                {c.lines.iter().map(|(label, value)| view! {
                    <dt>{label.clone()}</dt><dd data-testid="bw-card-line">{value.clone()}</dd>
                }).collect_view()}
            </dl>
            {windows}
            <label>
                <input type="checkbox" data-testid="bw-sms-consent" data-act="sms" prop:checked=c.request.sms_consent
                    disabled=sending />
                <span>{t(l, K::Sms)}</span>
            </label>
            <div class="row">
                <button type="button" class="pri" id="bw-confirm" data-testid="bw-confirm" data-act="confirm" disabled=sending>
                    {t(l, if sending { K::Sending } else { K::Book })}
                </button>
                <button type="button" class="sec" data-testid="bw-edit" data-act="edit" disabled=sending>
                    {t(l, K::Edit)}
                </button>
            </div>
        </div>
    }
}

/// Queued / done / failed.
pub(crate) fn status(s: &St) -> impl IntoView {
    let l = s.locale;
    let restart = || {
        view! {
            <button type="button" class="sec" data-testid="bw-restart" data-act="restart">{t(l, K::Restart)}</button>
        }
    };
    (
        (s.phase == Phase::Queued).then(|| view! {
            <div class="m note" data-testid="bw-queued" role="status">{t(l, K::Queued)}</div>
        }),
        (s.phase == Phase::Done).then(|| {
            let d = s.done.as_ref();
            let booked = d.is_some_and(|d| d.status == ReplyStatus::Booked);
            let reference = d.map(|d| d.reference.clone()).filter(|r| !r.is_empty());
            let message = d.map(|d| d.message.clone()).unwrap_or_default();
            view! {
                <div class="card ok" data-testid="bw-success" data-status=if booked { "booked" } else { "received" } role="status">
                    <h3>{t(l, if booked { K::Booked } else { K::Received })}</h3>
                    {reference.map(|r| view! {
                        <p>{t(l, K::Reference)} ": " <span class="job" data-testid="bw-reference">{r}</span></p>
                    })}
                    <p>{message}</p>
                    {restart()}
                </div>
            }
        }),
        (s.phase == Phase::Failed).then(|| view! {
            <div class="card" data-testid="bw-error" role="alert">
                <p>{s.error.clone().unwrap_or_else(|| t(l, K::Failed).into())}</p>
                {restart()}
            </div>
        }),
    )
}
