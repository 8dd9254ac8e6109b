//! Regressions in the conversation's confirming stage, each named by its cause.

use booking_core::booking::{ArrivalWindow, BookingRequest, Channel, Locale};
use booking_core::conversation::{replay, reply_for, Act, Conversation, Effect, Event, UserTurn};
use booking_core::site::{PublicSiteConfig, SiteConfig};
use booking_core::submission::ReplyStatus;

fn site() -> PublicSiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/conversations/site.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("site.json")).expect("site.json parses")
}

fn full_site() -> SiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sites/northstar.json");
    SiteConfig::from_json(&std::fs::read_to_string(path).expect("northstar.json")).expect("valid site")
}

/// 2026-12-01 06:00 in Minneapolis (UTC-6), a Tuesday.
const NOW: i64 = 1_764_590_400 + 365 * 86_400;

/// Tomorrow's morning window (8-12 local) as the site defines it.
fn tomorrow_morning() -> ArrivalWindow {
    let day = (NOW - 6 * 3600).div_euclid(86_400) + 1;
    ArrivalWindow { start: day * 86_400 + 8 * 3600 + 6 * 3600, end: day * 86_400 + 12 * 3600 + 6 * 3600 }
}

const DETAILS: [&str; 5] =
    ["ac not cooling", "Maria Gonzalez", "612-555-0143", "4417 W Lake St, Minneapolis, MN 55416", "whenever works"];

/// Replays the details, the yes, a window turn and "Book it", as the worker would at `now`.
fn book_with(window_turn: &str, now: i64) -> Option<BookingRequest> {
    let mut turns: Vec<UserTurn> = DETAILS.iter().map(|t| UserTurn { text: t.to_string(), at: NOW }).collect();
    turns.push(UserTurn { text: "yes".into(), at: NOW });
    turns.push(UserTurn { text: window_turn.into(), at: NOW });
    turns.push(UserTurn::act(Act::BookIt, "", NOW));
    replay(site(), Channel::Chat, Some(Locale::En), &turns, now).1
}

#[test]
fn crafted_window_turn_ten_years_ahead_is_not_booked() {
    let w = ArrivalWindow { start: NOW + 3 * 3600, end: NOW + 10 * 365 * 86_400 };
    let b = book_with(&Act::Window(w).text(""), NOW).expect("still booked, without the window");
    assert_eq!(b.arrival_window, None);
}

#[test]
fn crafted_window_in_year_318857_never_reaches_the_request() {
    let b = book_with("Arrival window: [9999999999999-9999999999999999]", NOW).expect("booked");
    assert_eq!(b.arrival_window, None);
}

#[test]
fn window_off_the_sites_hours_is_refused() {
    let mut w = tomorrow_morning();
    w.start -= 5 * 3600; // 3am-12pm: not one of the site's windows
    assert_eq!(book_with(&Act::Window(w).text(""), NOW).expect("booked").arrival_window, None);
}

#[test]
fn window_past_the_booking_horizon_is_refused() {
    let mut w = tomorrow_morning();
    w.start += 60 * 86_400;
    w.end += 60 * 86_400;
    assert_eq!(book_with(&Act::Window(w).text(""), NOW).expect("booked").arrival_window, None);
}

#[test]
fn a_sites_own_window_tomorrow_is_booked() {
    let w = tomorrow_morning();
    assert_eq!(book_with(&Act::Window(w).text("Wed Dec 2, 8am–12pm"), NOW).expect("booked").arrival_window, Some(w));
}

#[test]
fn turn_times_from_the_future_are_clamped_to_the_replaying_clock() {
    // A browser that claims it is next year cannot make next year's windows "near".
    let far = NOW + 300 * 86_400;
    let day = (far - 6 * 3600).div_euclid(86_400) + 1;
    let w = ArrivalWindow { start: day * 86_400 + 14 * 3600, end: day * 86_400 + 18 * 3600 };
    let mut turns: Vec<UserTurn> = DETAILS.iter().map(|t| UserTurn { text: t.to_string(), at: far }).collect();
    turns.push(UserTurn { text: "yes".into(), at: far });
    turns.push(UserTurn::act(Act::Window(w), "", far));
    turns.push(UserTurn::act(Act::BookIt, "", far));
    let b = replay(site(), Channel::Chat, Some(Locale::En), &turns, NOW).1.expect("booked");
    assert_eq!(b.arrival_window, None);
}

#[test]
fn yes_to_the_summary_no_longer_books_without_book_it() {
    let mut turns: Vec<UserTurn> = DETAILS.iter().map(|t| UserTurn { text: t.to_string(), at: NOW }).collect();
    turns.push(UserTurn { text: "yes".into(), at: NOW });
    assert_eq!(replay(site(), Channel::Chat, Some(Locale::En), &turns, NOW).1, None);
}

#[test]
fn widget_sent_window_before_the_card_is_checked_too() {
    let mut c = Conversation::new(site(), Channel::Chat, Some(Locale::En));
    c.handle(Event::Start, NOW);
    let bad = ArrivalWindow { start: NOW + 3 * 3600, end: NOW + 10 * 365 * 86_400 };
    let t = c.handle(Event::ChooseWindow { window: bad }, NOW);
    assert!(t.replies.iter().any(|r| r.contains("isn't available")), "{t:?}");
}

#[test]
fn offered_windows_keep_only_bookable_ones_preference_first() {
    let mut c = Conversation::new(site(), Channel::Chat, Some(Locale::En));
    c.handle(Event::Start, NOW);
    for t in [
        "ac not cooling",
        "Maria Gonzalez",
        "612-555-0143",
        "4417 W Lake St, Minneapolis, MN 55416",
        "tomorrow afternoon",
        "yes",
    ] {
        c.handle(Event::User { text: t.into() }, NOW);
    }
    let m = tomorrow_morning();
    let afternoon = ArrivalWindow { start: m.start + 4 * 3600, end: m.end + 4 * 3600 };
    let junk = ArrivalWindow { start: NOW + 10, end: NOW + 20 };
    let t = c.handle(Event::OfferWindows { windows: vec![m, junk, afternoon] }, NOW);
    let Some(Effect::Confirm(card)) = t.effects.first() else { panic!("no card: {t:?}") };
    let offered: Vec<ArrivalWindow> = card.windows.iter().map(|w| w.window).collect();
    assert_eq!(offered, vec![afternoon, m], "tomorrow afternoon first, junk dropped");
    assert!(card.windows[0].label.contains("12pm–4pm"), "{:?}", card.windows[0]);
}

#[test]
fn spanish_homeowner_reads_a_spanish_success_sentence() {
    let mut c = Conversation::new(site(), Channel::Chat, None);
    c.handle(Event::Start, NOW);
    for t in [
        "necesito un plomero, tengo una fuga",
        "Ana López",
        "612 555 0143",
        "100 Main St, Minneapolis, MN 55401",
        "mañana por la mañana",
        "sí",
    ] {
        c.handle(Event::User { text: t.into() }, NOW);
    }
    let t = c.handle(Event::BookIt, NOW);
    let Some(Effect::Book { request }) = t.effects.first() else { panic!("not booked: {t:?}") };
    let reply = reply_for(request, &full_site(), "W-TEST-0001", NOW);
    assert_eq!(reply.status, ReplyStatus::Booked);
    assert!(reply.message.starts_with("Su cita está reservada para"), "{}", reply.message);
    assert!(reply.message.contains("W-TEST-0001"));
}

#[test]
fn reply_on_a_booking_mode_site_says_the_office_will_call() {
    let b = book_with("Edit", NOW);
    assert!(b.is_none(), "Edit goes back to the summary, nothing booked");
    let mut turns: Vec<UserTurn> = DETAILS.iter().map(|t| UserTurn { text: t.to_string(), at: NOW }).collect();
    turns.push(UserTurn { text: "yes".into(), at: NOW });
    turns.push(UserTurn::act(Act::BookIt, "", NOW));
    let b = replay(site(), Channel::Chat, Some(Locale::En), &turns, NOW).1.expect("booked");
    let mut booking_site = full_site();
    booking_site.mode = booking_core::site::BookingMode::Booking;
    let reply = reply_for(&b, &booking_site, "W-TEST-0002", NOW);
    assert_eq!(reply.status, ReplyStatus::Received);
    assert!(reply.message.contains("office will call"), "{}", reply.message);
}

/// Runs the homeowner's messages on a fresh chat conversation and returns every reply.
fn replies(msgs: &[&str]) -> (Conversation, Vec<String>) {
    let mut c = Conversation::new(site(), Channel::Chat, None);
    let mut out = c.handle(Event::Start, NOW).replies;
    for m in msgs {
        out.extend(c.handle(Event::User { text: (*m).into() }, NOW).replies);
    }
    (c, out)
}

#[test]
fn yes_with_a_new_trade_was_taken_as_a_plain_yes() {
    let (c, said) = replies(&[
        "my ac is broken",
        "Lee Wong",
        "612 555 0177",
        "36 Lowry Ave NE, Minneapolis, MN 55418",
        "asap",
        "yes, book the plumber",
    ]);
    assert_eq!(c.stage(), booking_core::conversation::Stage::ReadingBack, "{said:?}");
    assert!(said.last().is_some_and(|r| r.contains("(plumbing)") && r.contains("Shall I book it?")), "{said:?}");
}

#[test]
fn correction_while_asked_when_was_counted_as_a_missed_day() {
    let (_, said) = replies(&[
        "ac not cooling",
        "Maria Gonzalez",
        "612-555-0143",
        "4417 W Lake St, Minneapolis, MN 55416",
        "change the phone to 612 555 0110",
    ]);
    let last = said.get(said.len() - 2..).unwrap_or(&[]);
    assert_eq!(last, ["Got it, I changed the phone to (612) 555-0110.", "When would you like us to come?"], "{said:?}");
}

#[test]
fn state_was_asked_although_the_zip_says_it() {
    let (_, said) = replies(&["furnace is out", "Tom Baker", "612-555-0143", "2200 Main St, Hopkins 55305"]);
    assert!(!said.iter().any(|r| r.contains("state")), "{said:?}");
    assert_eq!(said.last().map(String::as_str), Some("When would you like us to come?"));
}

#[test]
fn business_name_answer_was_read_as_the_contact_persons_name() {
    let (c, _) = replies(&[
        "the reach-in freezer at our deli is warm",
        "Rosa Diaz",
        "Rosa's Deli",
        "612 555 0199",
        "36 Lowry Ave NE, Minneapolis, MN 55418",
        "asap",
    ]);
    let draft = c.draft().expect("complete");
    assert_eq!((draft.name.first.as_str(), draft.business.as_deref()), ("Rosa", Some("Rosa's Deli")));
}

#[test]
fn spanish_first_message_gets_spanish_card_lines_and_issue() {
    let (mut c, said) = replies(&[
        "Hola, mi aire no enfría",
        "Ana Pérez",
        "612-555-0143",
        "4417 W Lake St, Minneapolis, MN 55416",
        "mañana por la mañana",
    ]);
    assert!(said.iter().skip(1).all(|r| !r.contains("What") && !r.contains("Thanks")), "{said:?}");
    let turn = c.handle(Event::User { text: "sí".into() }, NOW);
    let card = turn
        .effects
        .iter()
        .find_map(|e| if let Effect::Confirm(k) = e { Some(k.clone()) } else { None })
        .expect("card");
    assert!(
        card.lines.iter().any(|(k, v)| k == "Problema" && v.starts_with("El aire acondicionado no enfría")),
        "{:?}",
        card.lines
    );
    assert_eq!(card.request.locale, Locale::Es);
}

#[test]
fn old_widget_turns_ending_on_the_card_book_as_pressed() {
    // A widget cached from before the card's acts were turns sends "yes" and no "Book it":
    // the submission itself is the press.
    let mut turns: Vec<UserTurn> = DETAILS.iter().map(|t| UserTurn { text: t.to_string(), at: NOW }).collect();
    turns.push(UserTurn { text: "yes".into(), at: NOW });
    let (_, b) = booking_core::conversation::replay_submission(site(), Channel::Chat, Some(Locale::En), &turns, NOW);
    assert!(b.is_some_and(|b| !b.sms_consent), "booked, without consent it never gave");
    turns.pop();
    let (_, b) = booking_core::conversation::replay_submission(site(), Channel::Chat, Some(Locale::En), &turns, NOW);
    assert!(b.is_none(), "short of the card nothing is booked");
}

#[test]
fn window_taken_meanwhile_is_moved_and_the_reply_says_which() {
    use booking_core::conversation::reply_after_recheck;
    use booking_core::servicetitan::availability::WindowCheck;
    let w = tomorrow_morning();
    let mut b = book_with(&Act::Window(w).text(""), NOW).expect("booked");
    b.locale = Locale::En;
    let next = ArrivalWindow { start: w.start + 4 * 3600, end: w.end + 4 * 3600 };
    let (req, reply) = reply_after_recheck(b.clone(), &full_site(), "W-TEST-0003", NOW, WindowCheck::Moved(next));
    assert_eq!(req.arrival_window, Some(next));
    assert_eq!(reply.window, Some(next));
    assert!(reply.message.contains("was just taken") && reply.message.contains("12pm–4pm"), "{}", reply.message);
    let (req, reply) = reply_after_recheck(b, &full_site(), "W-TEST-0003", NOW, WindowCheck::Gone);
    assert_eq!((req.arrival_window, reply.status), (None, ReplyStatus::Received));
    assert!(reply.message.contains("office will call"), "{}", reply.message);
}

#[test]
fn page_language_greets_but_a_spanish_first_message_still_switches() {
    // The widget used to fix the page's language (English), so a Spanish homeowner got
    // English replies; the page's language now only greets.
    let mut c = Conversation::new(site(), Channel::Chat, None).greeting_in(Locale::En);
    let hello = c.handle(Event::Start, NOW);
    assert!(!hello.replies.is_empty());
    let t = c.handle(Event::User { text: "hola, mi aire acondicionado no enfría".into() }, NOW);
    assert_eq!(c.locale(), Locale::Es, "{t:?}");
    let fixed = Conversation::new(site(), Channel::Chat, Some(Locale::En)).greeting_in(Locale::Es);
    assert_eq!(fixed.locale(), Locale::En, "a chosen language stays");
}

// --- the phone the booking link carried (`?bw-phone=`, the text after a missed call) ---

/// A chat opened from the booking link, as the widget starts it.
fn from_link(digits: &str, locale: Locale) -> Conversation {
    let mut c = Conversation::new(site(), Channel::Chat, Some(locale));
    c.handle(Event::Start, NOW);
    c.handle(Event::KnownPhone { digits: digits.into() }, NOW);
    c
}

fn say(c: &mut Conversation, text: &str) -> booking_core::conversation::Turn {
    c.handle(Event::User { text: text.into() }, NOW)
}

#[test]
fn link_phone_is_confirmed_with_one_tap_and_the_submission_replays_to_the_same_booking() {
    let mut c = from_link("6125550100", Locale::En);
    say(&mut c, "ac not cooling");
    let t = say(&mut c, "Maria Gonzalez");
    assert_eq!(t.replies, ["Thanks, Maria. Is (612) 555-0100 the best number to reach you?"]);
    assert_eq!(t.quick_replies, ["Yes", "Use another number"]);
    let tap = t.quick_replies[0].clone();
    assert!(say(&mut c, &tap).replies.concat().contains("address"));
    say(&mut c, "4417 W Lake St, Minneapolis, MN 55416");
    say(&mut c, "whenever works");
    say(&mut c, "yes");
    let booked = c.handle(Event::BookIt, NOW).effects.into_iter().find_map(|e| match e {
        Effect::Book { request } => Some(request),
        _ => None,
    });
    let booked = booked.expect("booked");
    assert_eq!(booked.phone.digits, "6125550100");
    // The known phone is the first turn the widget sends, written by booking-core.
    assert_eq!(c.user_turns()[0].text, "Phone from the booking link: 6125550100");
    // The worker's side: the submission body as the widget posts it, replayed later.
    let body = serde_json::json!({ "idempotencyKey": "bw-link-phone-1", "turns": c.user_turns(), "locale": "en" });
    let sub = booking_core::submission::Submission::parse(body.to_string().as_bytes()).expect("accepted");
    let (_, replayed) =
        booking_core::conversation::replay_submission(site(), Channel::Chat, sub.locale, &sub.turns, NOW + 120);
    assert_eq!(replayed, Some(booked));
}

#[test]
fn link_phone_turned_down_asks_for_another_in_spanish_too() {
    let mut c = from_link("6125550100", Locale::Es);
    say(&mut c, "Mi calentador de agua tiene una fuga");
    let t = say(&mut c, "Ana López");
    assert_eq!(t.replies, ["Gracias, Ana. ¿Es el (612) 555-0100 el mejor número para comunicarnos con usted?"]);
    assert_eq!(t.quick_replies, ["Sí", "Usar otro número"]);
    let t = say(&mut c, "Usar otro número");
    assert_eq!(t.replies, ["Bien. ¿Cuál es el número correcto?"]);
    assert!(t.quick_replies.is_empty(), "no Yes chip for a number no longer offered");
    say(&mut c, "952 555 0122");
    say(&mut c, "1200 Hennepin Ave, Minneapolis, MN 55403");
    say(&mut c, "mañana por la mañana");
    let draft = c.draft().expect("complete");
    assert_eq!(draft.phone.digits, "9525550122");

    // A plain "no" in English does the same.
    let mut c = from_link("6125550100", Locale::En);
    say(&mut c, "ac not cooling");
    say(&mut c, "Maria Gonzalez");
    assert_eq!(say(&mut c, "no").replies, ["Okay. What's the right phone number?"]);
}

#[test]
fn link_phone_that_is_not_ten_us_digits_is_ignored_and_never_shown() {
    for bad in [
        "<script>alert(1)</script>",
        "6125550100<b>",
        "1125550100",
        "6121550100",
        "612555010",
        "26125550100",
        "612-555-0100",
        "+16125550100",
        "6125550100\u{0}",
        "",
    ] {
        let mut c = from_link(bad, Locale::En);
        assert!(c.user_turns().is_empty(), "{bad:?} became a turn");
        say(&mut c, "ac not cooling");
        let t = say(&mut c, "Maria Gonzalez");
        assert_eq!(t.replies, ["Thanks, Maria. What's the best phone number to reach you?"], "{bad:?}");
    }
    // The link's value goes to booking-core as it is; the checks above are its.
    use booking_core::conversation::phone_in_link;
    assert_eq!(phone_in_link("https://a.example/?bw-phone=6125550100"), Some("6125550100"));
    assert_eq!(phone_in_link("https://a.example/book?src=sms&bw-phone=16125550100#chat"), Some("16125550100"));
    assert_eq!(phone_in_link("https://a.example/?bw-phone=%3Cscript%3E"), Some("%3Cscript%3E"));
    assert_eq!(phone_in_link("https://a.example/#?bw-phone=6125550100"), None, "a fragment is not the query");
    assert_eq!(phone_in_link("https://a.example/?xbw-phone=6125550100"), None);
    let link = booking_core::voice::booking_link(&full_site(), "6125550100").expect("the site has a page");
    assert_eq!(phone_in_link(&link), Some("6125550100"), "the parameter the voice agent's text writes");
    assert_eq!(phone_in_link("https://a.example/?bw-phone"), None);
    assert_eq!(phone_in_link("not a url"), None);
}

#[test]
fn link_phone_turn_typed_after_the_phone_changes_nothing_and_is_not_read_as_a_phone() {
    // Typed (or crafted) at the summary, the act is not words: its digits are no phone.
    let (mut c, _) = replies(&DETAILS);
    let t = say(&mut c, "Phone from the booking link: 9525550199");
    assert_eq!(c.draft().expect("still complete").phone.digits, "6125550143", "{:?}", t.replies);
}

#[test]
fn conversation_saved_before_the_link_phone_existed_still_loads() {
    let (c, _) = replies(&DETAILS[..2]);
    let old = c.to_json().replace(",\"known_phone\":null", "");
    assert!(!old.contains("known_phone"));
    assert!(Conversation::from_json(&old).is_ok());
}
