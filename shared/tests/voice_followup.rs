//! Follow-up calls (issue 15's voice call, booking_core::voice::followup): the opt-out
//! phrases in `tests/data/voice/opt_out.txt` and the `/incoming` query the engine writes.
//! Whole follow-up calls are in `tests/data/voice/calls.txt` (run by `voice.rs`).

use std::fs;
use std::path::PathBuf;

use booking_core::booking::Locale;
use booking_core::voice::followup::{greeting, wants_no_calls};
use booking_core::voice::FollowUpCall;

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/voice").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn opt_out_phrases_in_tests_data_voice() {
    let mut wrong = Vec::new();
    let mut count = 0;
    for (n, line) in read("opt_out.txt").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (said, want) =
            line.rsplit_once('|').unwrap_or_else(|| panic!("opt_out.txt:{}: said | stop or go on", n + 1));
        let want = match want.trim() {
            "stop" => true,
            "go on" => false,
            other => panic!("opt_out.txt:{}: {other:?} is not stop or go on", n + 1),
        };
        count += 1;
        if wants_no_calls(said.trim()) != want {
            wrong.push(format!(
                "opt_out.txt:{}: {:?} should {}",
                n + 1,
                said.trim(),
                if want { "stop" } else { "go on" }
            ));
        }
    }
    assert!(count >= 30, "opt_out.txt has {count} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn query(q: &str) -> Option<FollowUpCall> {
    FollowUpCall::from_query(q.split('&').filter_map(|p| p.split_once('=')))
}

#[test]
fn the_follow_up_query_is_read_as_the_engine_writes_it_and_anything_else_is_no_follow_up() {
    let f = query("followUp=fu-5001-9001-1&customer=5001&estimate=9001&recipe=estimate").expect("a follow-up");
    assert_eq!(
        (f.key.as_str(), f.customer_id, f.estimate_id, f.recipe.as_str()),
        ("fu-5001-9001-1", 5001, Some(9001), "estimate")
    );
    assert_eq!(query("followUp=k&customer=7").map(|f| f.estimate_id), Some(None), "no estimate is still a follow-up");
    for bad in [
        "",
        "customer=5001&estimate=9001",
        "followUp=&customer=5001",
        "followUp=k&customer=0",
        "followUp=k&customer=-4",
        "followUp=k&customer=abc",
        "followUp=k",
        "followUp=k&customer=5&estimate=x",
        "followUp=<script>&customer=5",
        "followUp=k&customer=5&recipe=a b",
    ] {
        assert_eq!(query(bad), None, "{bad:?}");
    }
    let long = format!("followUp={}&customer=5", "k".repeat(121));
    assert_eq!(query(&long), None, "an over-long key");
}

#[test]
fn the_follow_up_greeting_discloses_first_and_offers_the_way_out_in_both_languages() {
    let en = greeting("Smith & Sons", Locale::En, true, true);
    assert!(en.starts_with("Hi, this is the automated assistant for Smith & Sons"), "{en}");
    for w in ["estimate", "say stop", "recorded", "español"] {
        assert!(en.contains(w), "{w}: {en}");
    }
    let es = greeting("Smith & Sons", Locale::Es, false, false);
    assert!(es.contains("asistente automático") && es.contains("presupuesto") && es.contains("diga alto"), "{es}");
    assert!(!es.contains("graba"), "not recorded: {es}");
}
