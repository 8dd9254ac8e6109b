//! The cards in the message log: the confirmation card (summary, SMS consent, arrival
//! windows) and what follows "Book it" (queued, success, failure). Separate because
//! this is the one place the homeowner's details are shown back to them.

use booking_core::booking::{BookingRequest, Phone};
use booking_core::submission::ReplyStatus;
use leptos::prelude::*;

use crate::i18n::{self, t, K};
use crate::state::{Phase, St};

/// A phone number as people read it: "(612) 555-0143".
pub(crate) fn format_phone(digits: &str) -> String {
    Phone { digits: digits.to_string(), extension: None }.display()
}

/// A chip: a quick reply or an arrival window. One element type for both lists, so the
/// list code is in the wasm once.
pub(crate) fn chip(testid: &'static str, act: &'static str, i: usize, pressed: Option<bool>, label: String) -> impl IntoView {
    view! {
        <button type="button" class="chip" data-testid=testid data-act=act data-arg=i.to_string()
            aria-pressed=pressed.map(|p| if p { "true" } else { "false" })>
            {label}
        </button>
    }
}

/// The confirmation card: a summary to check, SMS consent, optional arrival windows.
pub(crate) fn card(s: &St, r: &BookingRequest) -> impl IntoView {
    let l = s.locale;
    let name = format!("{} {}", r.name.first, r.name.last).trim().to_string();
    let a = &r.address;
    let unit = a.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
    let address = format!("{}{unit}, {}, {} {}", a.street, a.city, a.state, a.zip);
    let phone = r.phone.display();
    let sending = s.phase != Phase::Card;
    let off = s.cfg.as_ref().map_or(0, |c| c.utc_offset_minutes);
    let windows = (!s.windows.is_empty()).then(|| {
        view! {
            <fieldset data-testid="bw-window-picker">
                <legend>{t(l, K::Windows)}</legend>
                <div class="wins">
                    {s.windows.iter().enumerate().take(6).map(|(i, w)| {
                        chip("bw-window", "win", i, Some(s.pick == Some(i)), i18n::window_label(l, w.start, w.end, off))
                    }).collect_view()}
                </div>
            </fieldset>
        }
    });
    view! {
        <div class="card" data-testid="bw-confirm-card" role="group" aria-labelledby="bw-card-title">
            <h3 id="bw-card-title">{t(l, K::CardTitle)}</h3>
            <dl>
                <dt>{t(l, K::Issue)}</dt><dd data-testid="bw-card-issue">{r.issue.clone()}</dd>
                <dt>{t(l, K::Name)}</dt><dd data-testid="bw-card-name">{name}</dd>
                <dt>{t(l, K::Phone)}</dt><dd data-testid="bw-card-phone">{phone}</dd>
                <dt>{t(l, K::Address)}</dt><dd data-testid="bw-card-address">{address}</dd>
            </dl>
            {windows}
            <label>
                <input type="checkbox" data-testid="bw-sms-consent" data-act="sms" prop:checked=s.sms />
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
