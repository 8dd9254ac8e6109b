//! The walking-skeleton flow and the behaviours acceptance names, one test each.

use booking_core::booking::{Channel, Locale, Priority};
use booking_core::conversation::{replay, Conversation, Effect, Event, Turn};
use booking_core::site::PublicSiteConfig;

fn site() -> PublicSiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/conversations/site.json");
    let text = std::fs::read_to_string(path).expect("site.json");
    serde_json::from_str(&text).expect("site.json parses")
}

fn say(c: &mut Conversation, text: &str, at: i64) -> Turn {
    c.handle(Event::User { text: text.into() }, at)
}

#[test]
fn walking_skeleton_books_after_yes() {
    let mut c = Conversation::new(site(), Channel::Chat, None);
    c.handle(Event::Start, 0);
    for (i, m) in [
        "My AC stopped cooling",
        "Maria Gonzalez",
        "612-555-0143",
        "4417 W Lake St, Minneapolis, MN 55416",
        "Tomorrow morning",
    ]
    .iter()
    .enumerate()
    {
        let t = say(&mut c, m, i as i64);
        assert!(t.effects.is_empty(), "{m}: {t:?}");
    }
    let t = say(&mut c, "Yes", 10);
    assert!(matches!(t.effects.first(), Some(Effect::Confirm(_))), "the yes shows the card: {t:?}");
    let t = c.handle(Event::BookIt, 11);
    let Some(Effect::Book { request }) = t.effects.first() else { panic!("no booking: {t:?}") };
    assert_eq!(request.name.full(), "Maria Gonzalez");
    assert_eq!(request.phone.digits, "6125550143");
    assert_eq!(request.address.one_line(), "4417 W Lake St, Minneapolis, MN 55416");
    assert_eq!(request.issue, "AC not cooling");
    let (_, again) = replay(site(), Channel::Chat, None, c.user_turns(), 100);
    assert_eq!(again.as_ref(), Some(request));
}

#[test]
fn everything_at_once_reaches_the_summary() {
    let mut c = Conversation::new(site(), Channel::Chat, None);
    c.handle(Event::Start, 0);
    let t = say(&mut c, "hi this is maria gonzalez, my ac stopped cooling, 612-555-0143, 4417 w lake st minneapolis mn 55416, tomorrow morning", 1);
    assert!(t.replies.last().is_some_and(|r| r.contains("Shall I book it?")), "{t:?}");
    let t = say(&mut c, "change the phone", 2);
    assert!(t.replies.iter().any(|r| r.contains("phone")), "{t:?}");
    let t = say(&mut c, "612 555 0110", 3);
    assert!(t.replies.last().is_some_and(|r| r.contains("(612) 555-0110")), "{t:?}");
    let t = say(&mut c, "yes", 4);
    assert!(matches!(t.effects.first(), Some(Effect::Confirm(_))), "{t:?}");
    let t = c.handle(Event::BookIt, 5);
    assert!(matches!(t.effects.first(), Some(Effect::Book { .. })), "{t:?}");
}

#[test]
fn gas_smell_gets_safety_first_and_urgent() {
    let mut c = Conversation::new(site(), Channel::Voice, None);
    c.handle(Event::Start, 0);
    let t = say(&mut c, "i smell gas near the furnace", 1);
    assert!(t.replies.first().is_some_and(|r| r.contains("leave the house")), "{t:?}");
    assert!(t.effects.contains(&Effect::Emergency));
    for m in [
        "Dan Robinson",
        "six one two five five five oh one four three",
        "twenty two hundred main street minneapolis minnesota five five four one six",
        "yes",
    ] {
        let t = say(&mut c, m, 2);
        if let Some(Effect::Book { request }) = t.effects.first() {
            assert_eq!(request.priority, Priority::Urgent);
            assert_eq!(request.address.street, "2200 Main Street");
            return;
        }
    }
    panic!("not booked: {}", c.to_json());
}

#[test]
fn resume_from_json_mid_conversation() {
    let mut a = Conversation::new(site(), Channel::Chat, None);
    a.handle(Event::Start, 0);
    say(&mut a, "necesito un plomero, tengo una fuga", 1);
    assert_eq!(a.locale(), Locale::Es);
    let mut b = Conversation::from_json(&a.to_json()).expect("resume");
    for m in ["Ana López", "612 555 0143", "100 Main St, Minneapolis, MN 55401", "mañana por la mañana", "sí"] {
        assert_eq!(say(&mut a, m, 2), say(&mut b, m, 2));
    }
    assert_eq!(a, b);
}
