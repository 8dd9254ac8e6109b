//! A booking submission's body as the widget would post it: parsed, refused with a
//! reason or replayed, never a panic.
#![no_main]

use booking_core::booking::Channel;
use booking_core::conversation::replay_submission;
use booking_core::site::PublicSiteConfig;
use booking_core::submission::Submission;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sub) = Submission::parse(data) else { return };
    let _ = sub.attribution();
    let site: PublicSiteConfig =
        serde_json::from_str(include_str!("../../tests/data/conversations/site.json")).expect("site.json parses");
    let _ = replay_submission(site, Channel::Chat, None, &sub.turns, 1_800_000_000);
});
