//! A conversation of up to eight turns (the input split at newlines): extraction, the
//! conversation, a resume from JSON halfway, and a replay of the user turns must agree
//! on the booking, and nothing may panic.
#![no_main]

use booking_core::booking::{Channel, Locale};
use booking_core::conversation::{replay, Conversation, Effect, Event};
use booking_core::extract::{extract, Expecting};
use booking_core::site::PublicSiteConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let msgs: Vec<&str> = text.split('\n').take(8).collect();
    let channel = if mode & 1 == 1 { Channel::Voice } else { Channel::Chat };
    let locale = [None, Some(Locale::En), Some(Locale::Es)][usize::from(mode >> 1) % 3];
    let site: PublicSiteConfig =
        serde_json::from_str(include_str!("../../tests/data/conversations/site.json")).expect("site.json parses");
    for m in &msgs {
        let _ = extract(m, Expecting::Anything);
    }
    let mut c = Conversation::new(site.clone(), channel, locale);
    c.handle(Event::Start, 0);
    let (mut booked, mut resumed) = (None, None);
    for (i, m) in msgs.iter().enumerate() {
        if i == msgs.len() / 2 {
            resumed = Some(Conversation::from_json(&c.to_json()).expect("a conversation resumes from its own JSON"));
        }
        let turn = c.handle(Event::User { text: m.to_string() }, i as i64);
        if let Some(r) = resumed.as_mut() {
            assert_eq!(
                r.handle(Event::User { text: m.to_string() }, i as i64),
                turn,
                "the resumed conversation differs"
            );
        }
        for e in turn.effects {
            if let Effect::Book { request } = e {
                booked = Some(request);
            }
        }
    }
    c.handle(Event::Abandon, 99);
    let (_, again) = replay(site, channel, locale, c.user_turns(), i64::MAX);
    assert_eq!(again, booked, "the replay books differently");
});
