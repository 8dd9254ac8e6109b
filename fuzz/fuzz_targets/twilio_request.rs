//! A Twilio webhook's form body, a ConversationRelay message or a voice platform's tool
//! call: parsed, its signature checked, and what the caller said fed to a call. Never a
//! panic, whatever the bytes.
#![no_main]

use booking_core::signing::{parse_form, verify_twilio};
use booking_core::site::SiteConfig;
use booking_core::voice::relay::relay_event;
use booking_core::voice::tools::{parse_tool_request, tool_action};
use booking_core::voice::{digits, parse_relay, Call, CallEvent};
use libfuzzer_sys::fuzz_target;

const URL: &str = "https://example.com/v1/voice/twilio/northstar/gather";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let params = parse_form(&text);
    let signature = params.iter().find(|(k, _)| k == "sig").map_or("", |(_, v)| v.as_str());
    let _ = verify_twilio("token", URL, &params, Some(data), signature);
    let _ = verify_twilio("token", &format!("{URL}?bodySHA256={signature}"), &[], Some(data), signature);
    let site = SiteConfig::from_json(include_str!("../../examples/sites/northstar.json")).expect("northstar parses");
    let from = params.iter().find(|(k, _)| k == "From").map(|(_, v)| v.as_str());
    let mut call = Call::new(&site, from, 0);
    call.handle(CallEvent::Answered, 0);
    for (i, (k, v)) in params.iter().enumerate() {
        let event = match k.as_str() {
            "Digits" => CallEvent::Keyed { digits: v.clone() },
            "Key" => CallEvent::KeyPressed { digit: v.clone() },
            "" => CallEvent::Nothing,
            _ => CallEvent::Heard { text: v.clone() },
        };
        let _ = digits::normalize(v);
        call.handle(event, i as i64);
    }
    let resumed = Call::from_json(&call.to_json()).expect("a call resumes from its own JSON");
    assert_eq!(resumed.to_json(), call.to_json(), "a resumed call differs");
    if let Ok(msg) = parse_relay(&text) {
        if let Some(event) = relay_event(&msg) {
            call.handle(event, 99);
        }
    }
    if let Ok(req) = parse_tool_request(data) {
        for tool in &req.calls {
            let _ = tool_action(&req, tool, &site, 100);
        }
    }
});
