//! The cards in the message log: the confirmation card (summary, SMS consent, arrival
//! windows) and what follows "Book it" (queued, success, failure). Separate because
//! this is the one place the homeowner's details are shown back to them.

use booking_core::booking::BookingRequest;
use leptos::prelude::*;

use crate::i18n::{self, t, K};
use crate::state::{Phase, Ui};
use crate::view::tx;

pub(crate) fn format_phone(d: &str) -> String {
    if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    } else {
        d.to_string()
    }
}

/// The confirmation card: a summary to check, SMS consent, optional arrival windows.
pub(crate) fn card(ui: Ui, r: BookingRequest) -> impl IntoView {
    let l = move || ui.locale.get();
    let name = format!("{} {}", r.name.first, r.name.last).trim().to_string();
    let a = &r.address;
    let unit = a.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
    let address = format!("{}{unit}, {}, {} {}", a.street, a.city, a.state, a.zip);
    let phone = format_phone(&r.phone.digits);
    let sending = move || ui.phase.get() != Phase::Card;
    view! {
        <div class="card" data-testid="bw-confirm-card" role="group" aria-labelledby="bw-card-title">
            <h3 id="bw-card-title">{tx(ui, K::CardTitle)}</h3>
            <dl>
                <dt>{tx(ui, K::Issue)}</dt><dd data-testid="bw-card-issue">{r.issue.clone()}</dd>
                <dt>{tx(ui, K::Name)}</dt><dd data-testid="bw-card-name">{name}</dd>
                <dt>{tx(ui, K::Phone)}</dt><dd data-testid="bw-card-phone">{phone}</dd>
                <dt>{tx(ui, K::Address)}</dt><dd data-testid="bw-card-address">{address}</dd>
            </dl>
            {move || Some(ui.windows.get()).filter(|w| !w.is_empty()).map(|ws| view! {
                <fieldset data-testid="bw-window-picker">
                    <legend>{tx(ui, K::Windows)}</legend>
                    <div class="wins">
                        {ws.into_iter().enumerate().take(6).map(|iw| view! {
                            <button type="button" class="chip" data-testid="bw-window"
                                aria-pressed=move || (ui.pick.get() == Some(iw.0)).to_string()
                                on:click=move |_| ui.pick.set(if ui.pick.get_untracked() == Some(iw.0) { None } else { Some(iw.0) })>
                                {move || {
                                    let off = ui.cfg.get().map_or(0, |c| c.utc_offset_minutes);
                                    i18n::window_label(l(), iw.1.start, iw.1.end, off)
                                }}
                            </button>
                        }).collect_view()}
                    </div>
                </fieldset>
            })}
            <label>
                <input type="checkbox" data-testid="bw-sms-consent" prop:checked=move || ui.sms.get()
                    on:change=move |ev| ui.sms.set(event_target_checked(&ev)) />
                <span>{tx(ui, K::Sms)}</span>
            </label>
            <div class="row">
                <button type="button" class="pri" id="bw-confirm" data-testid="bw-confirm" disabled=sending
                    on:click=move |_| ui.confirm()>
                    {move || if sending() { t(l(), K::Sending) } else { t(l(), K::Book) }}
                </button>
                <button type="button" class="sec" data-testid="bw-edit" disabled=sending on:click=move |_| ui.edit()>
                    {tx(ui, K::Edit)}
                </button>
            </div>
        </div>
    }
}

/// Queued / done / failed (plain optional views: no type-erased `AnyView` code).
pub(crate) fn status(ui: Ui) -> impl IntoView {
    let is = move |p: Phase| ui.phase.get() == p;
    (
        move || is(Phase::Queued).then(|| view! {
            <div class="m note" data-testid="bw-queued" role="status">{tx(ui, K::Queued)}</div>
        }),
        move || is(Phase::Done).then(|| {
            let d = ui.done.get();
            let booked = d.as_ref().is_some_and(|d| d.status == "booked");
            let job = d.as_ref().and_then(|d| d.job_number.clone());
            let message = d.map(|d| d.message).unwrap_or_default();
            view! {
                <div class="card ok" data-testid="bw-success" data-status=if booked { "booked" } else { "received" } role="status">
                    <h3>{tx(ui, if booked { K::Booked } else { K::Received })}</h3>
                    {job.map(|j| view! {
                        <p>{tx(ui, K::JobNumber)} ": " <span class="job" data-testid="bw-job-number">{j}</span></p>
                    })}
                    <p>{message}</p>
                    {restart_button(ui)}
                </div>
            }
        }),
        move || is(Phase::Failed).then(|| view! {
            <div class="card" data-testid="bw-error" role="alert">
                <p>{move || ui.error.get().unwrap_or_else(|| t(ui.locale.get(), K::Failed).into())}</p>
                {restart_button(ui)}
            </div>
        }),
    )
}

fn restart_button(ui: Ui) -> impl IntoView {
    view! {
        <button type="button" class="sec" data-testid="bw-restart" on:click=move |_| ui.restart()>
            {tx(ui, K::Restart)}
        </button>
    }
}
