//! Regression tests for the pipeline's requests and look-ups (issue 12 item 6, issue 13),
//! each named by the cause it pins. Included from `tests/regression.rs` with `#[path]`.

use crate::fake;

use booking_core::booking::*;
use booking_core::servicetitan::{Outcome, StRequest};
use fake::*;
use serde_json::{json, Value};

/// A value that would forge a line of ours if it reached a text field as typed.
const FORGED: &str = "x\nPriority: Emergency\u{2028}Text messages: yes, opted in\r\nWeb reference: W-0000-0000";

/// Every way a reader may break a line.
const BREAKS: [char; 7] = ['\n', '\r', '\u{B}', '\u{C}', '\u{85}', '\u{2028}', '\u{2029}'];

fn bodies(log: &[StRequest]) -> Vec<&Value> {
    log.iter().filter_map(|r| r.body.as_ref()).collect()
}

/// Every string in `v` that holds a line break or a control character: (JSON path, text).
fn broken_strings(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.contains(BREAKS) || s.chars().any(char::is_control) => out.push((at.into(), s.clone())),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| broken_strings(x, &format!("{at}[{i}]"), out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| broken_strings(x, &format!("{at}.{k}"), out)),
        _ => {}
    }
}

/// Fields that are one value each (not our multi-line summaries and notes).
fn single_line_fields(log: &[StRequest]) -> Vec<(String, String)> {
    let mut out = vec![];
    for (i, b) in bodies(log).into_iter().enumerate() {
        let mut b = b.clone();
        if let Some(o) = b.as_object_mut() {
            o.remove("summary");
            o.remove("text");
        }
        broken_strings(&b, &format!("request {i}"), &mut out);
    }
    out
}

/// Lines of every summary and note that start with `prefix`.
fn lines_starting<'a>(log: &'a [StRequest], prefix: &str) -> Vec<&'a str> {
    bodies(log)
        .into_iter()
        .flat_map(|b| [b.get("summary"), b.get("text")])
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(|s| s.split(BREAKS))
        .filter(|l| l.trim_start().starts_with(prefix))
        .collect()
}

fn forged_request() -> BookingRequest {
    let mut r = request();
    r.name = PersonName { first: format!("Maria{FORGED}"), last: format!("Gonzalez{FORGED}") };
    r.phone.extension = Some(format!("12{FORGED}"));
    r.email = Some(format!("maria@example.net{FORGED}"));
    r.address = Address {
        street: format!("4417 W Lake St{FORGED}"),
        unit: Some(format!("Apt 2B{FORGED}")),
        city: format!("Minneapolis{FORGED}"),
        state: format!("MN{FORGED}"),
        zip: format!("55416{FORGED}"),
    };
    r.issue = format!("AC not cooling{FORGED}");
    r.referral_code = Some(format!("ADV-1{FORGED}"));
    r.business = Some(format!("Rosa's Deli{FORGED}"));
    r
}

fn assert_no_forged_line(log: &[StRequest], what: &str) {
    let broken = single_line_fields(log);
    assert!(broken.is_empty(), "{what}: {broken:#?}");
    assert_eq!(lines_starting(log, "Priority: Emergency"), Vec::<&str>::new(), "{what}");
    assert_eq!(lines_starting(log, "Text messages: yes"), Vec::<&str>::new(), "{what}");
    assert_eq!(lines_starting(log, "Web reference: W-0000-0000"), Vec::<&str>::new(), "{what}");
}

#[test]
fn address_name_extension_email_referral_and_issue_reached_servicetitan_with_their_line_breaks() {
    let mut site = site();
    site.referral_custom_field_id = Some(77);
    for (what, kind, mode) in [
        ("job", VisitKind::Service, booking_core::site::BookingMode::Job),
        ("estimate", VisitKind::Estimate, booking_core::site::BookingMode::Job),
        ("office booking", VisitKind::Service, booking_core::site::BookingMode::JobAndBooking),
    ] {
        let mut s = site.clone();
        s.mode = mode;
        let mut r = forged_request();
        r.kind = kind;
        let mut f = Fake::new();
        let o = run(&mut pipeline(r.clone(), s.clone()), &mut f, &mut NOW.clone());
        assert!(matches!(o, Outcome::Booked(_)), "{what}: {o:?}");
        assert_no_forged_line(&f.log, what);
        // Without a business: the person's name is the customer's name.
        r.business = None;
        let mut f = Fake::new();
        run(&mut pipeline(r, s), &mut f, &mut NOW.clone());
        assert_no_forged_line(&f.log, what);
    }
    // The referral field holds the code on one line, not the code cut at its first break.
    let mut f = Fake::new();
    run(&mut pipeline(forged_request(), site), &mut f, &mut NOW.clone());
    let value = f.jobs[0]["_body"]["customFields"][0]["value"].as_str().unwrap();
    assert!(value.starts_with("ADV-1x Priority: Emergency Text messages"), "{value}");
}

#[test]
fn servicetitans_refusal_message_reached_the_office_review_line_with_its_line_breaks() {
    // ServiceTitan echoes what it refused (a field's value) in its validation messages.
    let mut f = Fake::new();
    let mut p = pipeline(request(), site());
    let mut now = NOW;
    for _ in 0..2 {
        let booking_core::servicetitan::Step::Send(r) = p.next_request(now) else { panic!() };
        let resp = f.handle(&r, now);
        p.on_response(resp, now);
    }
    let booking_core::servicetitan::Step::Send(r) = p.next_request(now) else { panic!() };
    f.log.push(r);
    let body = json!({"title": "Invalid name", "status": 400, "traceId": "t",
        "errors": {"name": ["'x\nPriority: Emergency' is not valid"]}});
    p.on_response(booking_core::servicetitan::StResponse::new(400, None, body.to_string()), now);
    now += 1;
    run(&mut p, &mut f, &mut now);
    let summary = f.bookings[0]["_body"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("Office review: ServiceTitan refused the customer: Invalid name"), "{summary}");
    assert_eq!(lines_starting(&f.log, "Priority: Emergency"), Vec::<&str>::new());
}

#[test]
fn lost_job_look_up_took_a_job_with_the_web_reference_planted_mid_line() {
    // An existing customer; a job of the same type, made minutes ago, whose summary holds
    // our marker inside a line (a homeowner typed it as their problem).
    let marker = format!("Web reference: {}", reference("chat-7f3c2a"));
    let mut f = Fake::new();
    let (c, l) = f.seed("Maria Gonzalez", "6125550143", "4417 W Lake St", "55416");
    f.jobs.push(json!({"id": 4242, "jobNumber": "4242", "customerId": c, "locationId": l, "jobTypeId": 2001,
        "summary": format!("Service visit (HVAC) booked by web chat: AC not cooling {marker}"), "_created": NOW}));
    // Search (0), locations (1), create job (2) times out before ServiceTitan applied it.
    f.faults.insert(2, Fault::Status(504, None));
    let mut p = pipeline(request(), site());
    let o = run(&mut p, &mut f, &mut NOW.clone());
    let Outcome::Booked(b) = o else { panic!("{o:?}") };
    assert_ne!(b.job_id, Some(4242), "took the planted job");
    assert_eq!(f.jobs.len(), 2, "our job was created after the look-up found none");
    let ours = f.jobs[1]["summary"].as_str().unwrap();
    assert!(ours.lines().any(|x| x == marker), "{ours}");
}

/// The abuse bench booked a crafted "Arrival window:" turn for a Sunday two weeks out:
/// the re-check kept any window past the capacity query's seven days on trust, though
/// none was ever offered from there. Now such a window is gone: the office confirms.
#[test]
fn a_window_past_the_capacity_look_ahead_was_kept_unchecked() {
    use booking_core::servicetitan::availability::{recheck, WindowCheck, DAYS_AHEAD};
    // Capacity open every hour of the next three weeks, so only the look-ahead decides.
    let slices: Vec<Value> = (0..21)
        .map(|d| {
            let start = NOW + d * 86_400;
            json!({"start": booking_core::servicetitan::iso8601(start), "end": booking_core::servicetitan::iso8601(start + 86_400),
                "businessUnitIds": [1001], "totalAvailability": 4.0, "openAvailability": 4.0, "technicians": [],
                "isExceedingIdealBookingPercentage": false})
        })
        .collect();
    let body = json!({"timeStamp": booking_core::servicetitan::iso8601(NOW), "availabilities": slices}).to_string();
    // A site window (14-18Z) on the day just past the look-ahead.
    let day = (NOW + (DAYS_AHEAD + 1) * 86_400).div_euclid(86_400) * 86_400;
    let far = ArrivalWindow { start: day + 14 * 3600, end: day + 18 * 3600 };
    assert_eq!(recheck(&site(), 1001, far, &body, NOW), WindowCheck::Gone);
}

/// The load bench (1,000 bookings at once, ServiceTitan's 60 requests a second): the
/// tenant pacer's "not yet, come back in N s" reached the pipeline as a 429 and counted as
/// a failed try, so a booking held six times in the queue was queued for later (up to a
/// quarter of an hour), and 47 were not in ServiceTitan 18 minutes on. A hold is waited
/// out, never counted: the booking goes when its turn comes, with no extra call.
#[test]
fn a_pacer_hold_counted_as_a_servicetitan_429_and_queued_the_booking() {
    use booking_core::servicetitan::{StResponse, Step};
    let mut f = Fake::new();
    let mut p = pipeline(request(), site());
    let mut now = NOW;
    // Every call is held seven times before it may go: more holds in a row than
    // MAX_ATTEMPTS (6) tries.
    let mut holds = 0;
    let outcome = loop {
        match p.next_request(now) {
            Step::Send(req) if holds % 8 != 7 => {
                holds += 1;
                let _ = req;
                p.on_response(StResponse::held(5), now);
            }
            Step::Send(req) => {
                holds += 1;
                let resp = f.handle(&req, now);
                now += 1;
                p.on_response(resp, now);
            }
            Step::Wait { until } => {
                assert!(until > now, "wait must move forward");
                now = until;
            }
            Step::Done(o) => break o,
        }
        assert!(holds < 500, "the pipeline did not finish");
    };
    let Outcome::Booked(b) = outcome else { panic!("{outcome:?}") };
    assert!(b.job_id.is_some());
    assert!(holds / 8 >= 3, "each call was held seven times ({holds} requests handed out)");
    assert_eq!(p.calls(), f.log.len() as u32, "a held call is not a ServiceTitan call");
    // ServiceTitan's own 429, six times, still queues the booking for later.
    let mut q = pipeline(request(), site());
    let mut now = NOW;
    let outcome = loop {
        match q.next_request(now) {
            Step::Send(_) => q.on_response(StResponse::new(429, Some(1), String::new()), now),
            Step::Wait { until } => now = until,
            Step::Done(o) => break o,
        }
    };
    assert!(matches!(outcome, Outcome::Queued { .. }), "{outcome:?}");
}

/// The window re-check found the homeowner's picked window gone and cleared it before the
/// pipeline saw the request, so the office's booking said "no arrival window chosen or
/// preferred" of a homeowner who had chosen one. The review now names the window picked.
#[test]
fn a_window_the_recheck_could_not_confirm_read_as_none_chosen() {
    use booking_core::conversation::reply_after_recheck;
    use booking_core::servicetitan::availability::WindowCheck;
    let picked = ArrivalWindow { start: NOW + 86_400 + 14 * 3600, end: NOW + 86_400 + 18 * 3600 };
    let mut chosen = request();
    chosen.arrival_window = Some(picked);
    let (booked, _) = reply_after_recheck(chosen, &site(), "W-TEST-0004", NOW, WindowCheck::Gone);
    assert_eq!((booked.arrival_window, booked.unconfirmed_window), (None, Some(picked)));
    let label = booking_core::conversation::window_label(Locale::En, picked, site().utc_offset_minutes);
    let mut f = Fake::new();
    let mut now = NOW;
    let outcome = run(&mut pipeline(booked, site()), &mut f, &mut now);
    assert!(matches!(outcome, Outcome::Booked(_)), "{outcome:?}");
    assert!(f.jobs.is_empty(), "no job without a confirmed window");
    let summary = f.bookings[0]["_body"]["summary"].as_str().unwrap();
    let review = summary.lines().next().unwrap();
    assert_eq!(
        review,
        format!("Office review: the homeowner picked {label}, which could not be confirmed against capacity.")
    );
}
