//! The booking run (`booking_core::run`) driven like the Durable Object drives it, over
//! the in-process ServiceTitan of `pipeline_fake.rs`, an in-process webhook receiver and
//! KV, on a virtual clock: no sleeps, the run stored (serialized) after every step.

#[path = "pipeline_fake.rs"]
mod fake;

use booking_core::booking::*;
use booking_core::run::*;
use booking_core::servicetitan::StResponse;
use fake::*;

fn submitted(site: booking_core::site::SiteConfig) -> World {
    let mut w = World::new(site);
    w.run.submit(request(), Attribution::default(), NOW);
    w
}

fn abandon_report() -> AbandonReport {
    AbandonReport { name: Some("Maria Gonzalez".into()), phone: Some("6125550143".into()), ..Default::default() }
}

fn status(w: &World) -> Option<FinalStatus> {
    match w.outcome() {
        Some(Record::Outcome { status, .. }) => Some(*status),
        _ => None,
    }
}

#[test]
fn books_and_tells_the_owner_once_with_reference_summary_transcript_and_records() {
    let mut w = submitted(hooked_site());
    w.drive();
    assert_eq!(w.run.finished(), Some(FinalStatus::Booked));
    assert_eq!(w.delivered(), ["session.completed"]);
    let body = w.body_of("session.completed");
    assert_eq!(body["event"], "session.completed");
    assert_eq!(body["createdAt"].as_i64().map(|t| t >= NOW), Some(true));
    let data = &body["data"];
    assert_eq!(data["site"], "northstar");
    assert_eq!(data["session"], "chat-7f3c2a");
    assert_eq!(data["reference"], reference("chat-7f3c2a"));
    assert!(data["summary"].as_str().unwrap().contains("AC not cooling"));
    assert!(data["transcript"].as_str().unwrap().contains("Homeowner: My AC stopped blowing cold air"));
    assert_eq!(data["records"]["jobId"], w.st.jobs[0]["id"]);
    match w.outcome() {
        Some(Record::Outcome { status, reference: r, records: Some(b), window: Some(_), .. }) => {
            assert_eq!(*status, FinalStatus::Booked);
            assert_eq!(r, &reference("chat-7f3c2a"));
            assert_eq!(b.job_id, w.st.jobs[0]["id"].as_i64());
        }
        o => panic!("{o:?}"),
    }
    assert!(w.attention.is_none() && w.run.attention().is_none());
    assert_eq!(w.run.next_action(w.now + 86400), Action::Idle);
}

#[test]
fn servicetitan_down_25_hours_ends_as_an_office_booking_never_lost() {
    let mut w = submitted(hooked_site());
    w.down_until(NOW + 25 * 3600);
    w.drive_until(NOW + 24 * 3600 + 1800);
    // A day in: the owner is told, the entry is on the attention list, still retrying.
    assert_eq!(w.run.finished(), None);
    assert_eq!(w.delivered(), ["booking.failed"]);
    let failed = w.body_of("booking.failed");
    assert_eq!(failed["data"]["retrying"], true);
    let a = w.attention.clone().expect("on the attention list");
    assert_eq!(a.issues[0].cause, Cause::GaveUp);
    assert_eq!(a.reference, reference("chat-7f3c2a"));
    assert_eq!(a.phone.as_deref(), Some("6125550143"));
    w.drive();
    assert_eq!(w.run.finished(), Some(FinalStatus::FiledForOffice));
    assert_eq!((w.st.jobs.len(), w.st.bookings.len()), (0, 1), "one office booking");
    let summary = w.st.bookings[0]["_body"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("Office review: ServiceTitan did not take it as a job for 24 hours"), "{summary}");
    assert_eq!(w.delivered(), ["booking.failed", "session.completed"]);
    assert!(w.attention.is_none(), "cleared once filed: {:?}", w.attention);
    // Every 15 minutes for a day (6 attempts each), then hourly.
    let calls = w.st.log.len();
    assert!(calls < 24 * 4 * 6 + 6 + 10, "{calls} calls");
}

#[test]
fn servicetitan_down_8_days_fails_on_the_attention_list_after_a_week() {
    let mut w = submitted(hooked_site());
    w.down_until(NOW + 8 * 86400);
    w.drive();
    assert_eq!(w.run.finished(), Some(FinalStatus::Failed));
    assert_eq!(status(&w), Some(FinalStatus::Failed));
    assert_eq!(w.delivered(), ["booking.failed", "booking.failed"]);
    assert_eq!(w.body_of("booking.failed")["data"]["retrying"], true);
    let a = w.attention.clone().expect("stays on the list");
    assert!(a.issues.iter().any(|i| i.cause == Cause::GaveUp && i.detail.contains("7 days")), "{a:?}");
    let last_try = w.st.log.len();
    w.drive_until(w.now + 30 * 86400);
    assert_eq!(w.st.log.len(), last_try, "nothing after the week");
}

#[test]
fn webhook_500_then_200_retries_the_same_delivery_after_10_seconds() {
    let mut w = submitted(hooked_site());
    w.receiver =
        Box::new(|n, _| if n == 0 { DeliveryResult::Failed { status: 500 } } else { DeliveryResult::Delivered });
    w.drive();
    let [(t0, d0, a0), (t1, d1, a1)] = &w.attempts[..] else { panic!("{:?}", w.attempts) };
    assert_eq!((*a0, *a1), (DeliveryResult::Failed { status: 500 }, DeliveryResult::Delivered));
    assert_eq!(t1 - t0, 10);
    assert_eq!(d0, d1, "same id and body on the retry");
}

#[test]
fn webhook_retry_schedule_is_10_30_60_300_then_hourly_and_dropped_after_a_day() {
    let mut w = submitted(hooked_site());
    w.receiver = Box::new(|_, _| DeliveryResult::Failed { status: 0 });
    w.drive();
    let times: Vec<i64> = w.attempts.iter().map(|(t, _, _)| *t).collect();
    let gaps: Vec<i64> = times.windows(2).map(|p| p[1] - p[0]).collect();
    assert_eq!(gaps[..5], [10, 30, 60, 300, 3600]);
    assert!(times.last().unwrap() - times[0] < DELIVERY_GIVE_UP);
    let a = w.attention.clone().expect("a dropped webhook is on the list");
    assert_eq!(a.issues.iter().map(|i| i.cause).collect::<Vec<_>>(), [Cause::WebhookUndelivered]);
    assert_eq!(w.run.finished(), Some(FinalStatus::Booked), "the booking itself is fine");
}

#[test]
fn abandon_after_book_sends_no_abandoned_webhook() {
    // Abandon after the submit: ignored.
    let mut w = submitted(hooked_site());
    w.run.abandon(abandon_report(), NOW + 5);
    w.drive();
    assert_eq!(w.delivered(), ["session.completed"]);
    // An abandonment beacon raced ahead of the submit: cancelled before any attempt.
    let mut w = World::new(hooked_site());
    w.run.abandon(abandon_report(), NOW);
    w.run.submit(request(), Attribution::default(), NOW + 1);
    w.drive();
    assert_eq!(w.delivered(), ["session.completed"]);
}

#[test]
fn abandon_without_book_tells_the_owner_once() {
    let mut w = World::new(hooked_site());
    w.run.abandon(abandon_report(), NOW);
    w.run.abandon(abandon_report(), NOW + 1);
    w.drive();
    assert_eq!(w.delivered(), ["session.qualified_abandoned"]);
    let data = &w.body_of("session.qualified_abandoned")["data"];
    assert_eq!(data["phone"], "6125550143");
    assert_eq!(data["reference"], reference("chat-7f3c2a"));
    assert!(w.records.is_empty() && w.st.log.is_empty());
}

#[test]
fn no_webhook_url_means_no_deliveries_but_records_and_attention() {
    let mut w = submitted(site());
    w.down_until(NOW + 8 * 86400);
    w.drive();
    assert!(w.attempts.is_empty());
    assert_eq!(status(&w), Some(FinalStatus::Failed));
    assert!(w.attention.is_some());
}

#[test]
fn refused_job_and_refused_office_booking_fails_with_attention_and_booking_failed() {
    let mut w = submitted(hooked_site());
    // New customer: search phone, search address, create customer (2), then the booking.
    w.st.faults.insert(2, Fault::Status(400, None));
    w.st.faults.insert(3, Fault::Status(400, None));
    w.drive();
    assert_eq!(w.run.finished(), Some(FinalStatus::Failed));
    assert_eq!(w.delivered(), ["booking.failed"]);
    assert_eq!(w.body_of("booking.failed")["data"]["retrying"], false);
    let a = w.attention.clone().unwrap();
    assert_eq!(a.issues[0].cause, Cause::Refused);
    assert!(a.issues[0].detail.contains("00-test-01"));
}

#[test]
fn configuration_problems_are_told_once_retried_and_cleared() {
    type Answer = fn() -> StResponse;
    let cases: [(&str, Answer); 2] = [
        ("token invalid_client", || StResponse::new(400, None, r#"{"error":"invalid_client"}"#.into())),
        ("403 scopes", || st_error(403, "Forbidden")),
    ];
    for (name, answer) in cases {
        let mut w = submitted(hooked_site());
        let fixed_at = NOW + 6 * 3600;
        w.outage = Box::new(move |now, _| (now < fixed_at).then(answer));
        w.drive_until(fixed_at - 1);
        assert_eq!(w.run.finished(), None, "{name}: never failed");
        let a = w.attention.clone().unwrap_or_else(|| panic!("{name}: on the list"));
        assert_eq!(a.issues[0].cause, Cause::Configuration, "{name}");
        assert_eq!(w.delivered(), ["booking.needs_attention"], "{name}: told once, not every retry");
        assert!(w.refused >= 6 * 4 - 1, "{name}: retried every 15 min ({} tries)", w.refused);
        w.drive();
        assert_eq!(w.run.finished(), Some(FinalStatus::Booked), "{name}");
        assert!(w.attention.is_none(), "{name}: cleared");
        assert_eq!(w.delivered(), ["booking.needs_attention", "session.completed"], "{name}");
    }
}

#[test]
fn unsigned_webhooks_are_held_on_the_attention_list_and_sent_once_signed() {
    let mut w = submitted(hooked_site());
    let secret_set_at = NOW + 3600;
    w.receiver =
        Box::new(move |_, now| if now < secret_set_at { DeliveryResult::NotSigned } else { DeliveryResult::Delivered });
    w.drive_until(secret_set_at - 1);
    assert!(w.delivered().is_empty());
    assert_eq!(w.run.pending_webhooks(), [WebhookEvent::SessionCompleted], "kept, not dropped");
    assert_eq!(w.attention.clone().unwrap().issues[0].cause, Cause::WebhooksUnsigned);
    w.drive();
    assert_eq!(w.delivered(), ["session.completed"]);
    assert!(w.attention.is_none());
}

#[test]
fn replay_mismatch_records_the_transcript_and_tells_the_owner() {
    let mut w = World::new(hooked_site());
    let report = MismatchReport {
        reason: "the conversation did not reach a confirmed booking".into(),
        phone: Some("6125550143".into()),
        ..Default::default()
    };
    w.run.replay_mismatch(report.clone(), NOW);
    w.run.replay_mismatch(report.clone(), NOW + 1);
    w.drive();
    assert_eq!(w.records.iter().filter(|r| matches!(r, Record::Mismatch(_))).count(), 1);
    assert_eq!(w.records[0], Record::Mismatch(report));
    assert_eq!(w.delivered(), ["booking.needs_attention"]);
    let data = &w.body_of("booking.needs_attention")["data"];
    assert_eq!(data["cause"], "replayMismatch");
    assert_eq!(w.attention.clone().unwrap().issues[0].cause, Cause::ReplayMismatch);
    assert!(w.st.log.is_empty(), "nothing sent to ServiceTitan");
}

#[test]
fn a_second_submit_is_ignored() {
    let mut w = submitted(hooked_site());
    w.drive();
    let mut other = request();
    other.issue = "Something else".into();
    w.run.submit(other, Attribution::default(), w.now);
    w.drive();
    assert_eq!(w.st.jobs.len(), 1);
    assert_eq!(w.delivered(), ["session.completed"]);
}

#[test]
fn a_delivery_lost_in_flight_is_handed_out_again() {
    let mut w = World::new(hooked_site());
    w.run.abandon(abandon_report(), NOW);
    let Action::Deliver(d) = w.run.next_action(NOW) else { panic!() };
    // The shell died while posting: no on_delivery. Not again at once, but after the timeout.
    assert_eq!(w.run.next_action(NOW + 1), Action::WakeAt(NOW + IN_FLIGHT_TIMEOUT));
    assert_eq!(w.run.next_action(NOW + IN_FLIGHT_TIMEOUT), Action::Deliver(d));
}

fn qualified_report() -> AbandonReport {
    abandon_report()
}

fn chat() -> AbandonedChat {
    AbandonedChat {
        issue: Some("AC not cooling".into()),
        trade: Some(Trade::Hvac),
        transcript: vec![
            TranscriptLine { speaker: Speaker::Homeowner, text: "My AC stopped blowing cold air".into() },
            TranscriptLine { speaker: Speaker::Assistant, text: "Sorry to hear that. What's your name?".into() },
        ],
        ..Default::default()
    }
}

#[test]
fn a_qualified_abandonment_is_an_office_booking_in_servicetitan_once() {
    // No webhook receiver: the office still hears of it.
    let mut w = World::new(site());
    w.run.abandon_to_office(qualified_report(), chat(), NOW);
    w.run.abandon_to_office(qualified_report(), chat(), NOW + 1);
    w.drive();
    assert_eq!(w.st.bookings.len(), 1);
    assert_eq!(w.run.abandoned_booking(), w.st.bookings[0]["id"].as_i64());
    let b = &w.st.bookings[0]["_body"];
    assert_eq!(b["externalId"], "chat-7f3c2a:abandoned");
    assert_eq!(b["name"], "Maria Gonzalez");
    assert_eq!(b["contacts"][0]["value"], "6125550143");
    assert!(b.get("address").is_none(), "no address was given: {b}");
    let summary = b["summary"].as_str().unwrap();
    assert!(summary.starts_with("Abandoned chat: the homeowner left before booking."), "{summary}");
    assert!(summary.contains("AC not cooling") && summary.contains("Assistant: Sorry to hear that."), "{summary}");
    assert!(summary.lines().any(|l| l == format!("Web reference: {}", reference("chat-7f3c2a"))), "{summary}");
    assert!(w.attempts.is_empty() && w.run.finished().is_none());
    // With a webhook too: both.
    let mut w = World::new(hooked_site());
    w.run.abandon_to_office(qualified_report(), chat(), NOW);
    w.drive();
    assert_eq!((w.delivered(), w.st.bookings.len()), (vec!["session.qualified_abandoned"], 1));
}

/// Regression: `AbandonedChat::request` fixed the channel to chat, so a caller who hung up
/// was filed as "Abandoned chat … booked by web chat" with source "Web chat".
#[test]
fn missed_call_office_booking_says_call_not_chat_because_the_channel_was_fixed_to_chat() {
    let mut w = World::new(site());
    let report = AbandonReport { name: None, ..qualified_report() };
    w.run.abandon_to_office(report, AbandonedChat { channel: Channel::Voice, ..chat() }, NOW);
    w.drive();
    let b = &w.st.bookings[0]["_body"];
    let summary = b["summary"].as_str().unwrap();
    assert!(summary.starts_with("Missed call: the caller hung up before booking."), "{summary}");
    assert_eq!(b["source"], "Voice agent");
    assert!(b["name"].as_str().unwrap().starts_with("Caller"), "{b}");
}

#[test]
fn abandonments_that_do_not_reach_the_office() {
    let cases: [(&str, AbandonReport, AbandonedChat, i64); 5] = [
        ("no problem given", abandon_report(), AbandonedChat::default(), 7),
        ("blank problem", abandon_report(), AbandonedChat { issue: Some(" ".into()), ..chat() }, 7),
        ("no phone or email", AbandonReport { phone: None, ..qualified_report() }, chat(), 7),
        ("blank phone", AbandonReport { phone: Some(" ".into()), ..qualified_report() }, chat(), 7),
        ("no booking provider", qualified_report(), chat(), 0),
    ];
    for (what, report, chat, provider) in cases {
        let mut s = site();
        s.booking_provider_id = provider;
        let mut w = World::new(s);
        w.run.abandon_to_office(report, chat, NOW);
        w.drive();
        assert!(w.st.log.is_empty(), "{what}");
    }
    // An email alone is enough; it is the only contact.
    let mut w = World::new(site());
    w.run.abandon_to_office(
        AbandonReport { phone: None, email: Some("maria@example.net".into()), ..qualified_report() },
        chat(),
        NOW,
    );
    w.drive();
    let contacts = &w.st.bookings[0]["_body"]["contacts"];
    assert_eq!(contacts, &serde_json::json!([{"type": "Email", "value": "maria@example.net"}]));
}

#[test]
fn a_submit_before_the_abandoned_chat_was_filed_leaves_only_the_booking() {
    let mut w = World::new(site());
    w.run.abandon_to_office(qualified_report(), chat(), NOW);
    w.run.submit(request(), Attribution::default(), NOW + 1);
    w.drive();
    assert_eq!(w.run.finished(), Some(FinalStatus::Booked));
    assert!(w.st.bookings.is_empty(), "{:?}", w.st.bookings);
    assert_eq!(w.st.jobs.len(), 1);
}

#[test]
fn the_abandoned_chat_waits_out_an_outage_and_a_lost_answer_is_looked_up_not_doubled() {
    let mut w = World::new(site());
    w.down_until(NOW + 3 * 3600);
    w.run.abandon_to_office(qualified_report(), chat(), NOW);
    w.drive();
    assert_eq!(w.st.bookings.len(), 1);
    assert!(w.now >= NOW + 3 * 3600);
    let mut w = World::new(site());
    w.st.faults.insert(0, Fault::Lost);
    w.run.abandon_to_office(qualified_report(), chat(), NOW);
    // Filed once the homeowner had the grace to come back and did not.
    w.now = NOW + ABANDONED_CHAT_GRACE;
    // Submitted while the abandoned chat's answer was lost: it is finished first.
    let Action::Send(r) = w.run.next_action(w.now) else { panic!() };
    let resp = w.st.handle(&r, w.now);
    w.run.on_response(resp, w.now + 1);
    w.run.submit(request(), Attribution::default(), w.now + 2);
    w.drive();
    assert_eq!(w.st.bookings.len(), 1, "looked up, not sent twice");
    assert_eq!(w.run.abandoned_booking(), w.st.bookings[0]["id"].as_i64());
    assert_eq!((w.run.finished(), w.st.jobs.len()), (Some(FinalStatus::Booked), 1));
}
