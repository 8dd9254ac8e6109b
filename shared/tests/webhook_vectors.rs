//! The webhook signature vectors the examples verify (`examples/webhooks/`, issue 16 item
//! 6): `tests/data/webhooks/vectors.json` is generated here from booking-core's own
//! `sign_webhook` and `verify_webhook`, so the JavaScript and Python examples are tested
//! against what the worker really sends (`BLESS=1 cargo test -p booking-core --test
//! webhook_vectors` rewrites the file).

use booking_core::signing::{sign_webhook, verify_webhook, DEFAULT_TOLERANCE};
use serde_json::{json, Value};

fn vectors() -> Vec<Value> {
    let body = r#"{"event":"session.completed","site":"northstar","reference":"W-7KQ2-M9XD","name":"Ana Díaz"}"#;
    let (secret, t) = ("whsec_example_0123456789", 1_764_662_400_i64);
    let good = sign_webhook(secret.as_bytes(), body.as_bytes(), t);
    let other = sign_webhook(b"the-old-secret", body.as_bytes(), t);
    let v1 = good.split_once(",v1=").map(|(_, s)| s.to_string()).unwrap_or_default();
    let case = |why: &str, secret: &str, body: &str, header: &str, now_offset: i64| {
        let valid =
            verify_webhook(secret.as_bytes(), body.as_bytes(), header, t + now_offset, DEFAULT_TOLERANCE).is_ok();
        json!({"why": why, "secret": secret, "body": body, "header": header, "t": t, "nowOffset": now_offset, "valid": valid})
    };
    vec![
        case("as sent", secret, body, &good, 0),
        case("received four minutes later", secret, body, &good, 240),
        case("replayed six minutes later", secret, body, &good, 360),
        case("the body changed by one character", secret, &body.replace("Ana", "Ann"), &good, 0),
        case("signed with another secret", secret, body, &other, 0),
        case("during a rotation: old and new signatures", secret, body, &format!("{other},v1={v1}"), 0),
        case("the signature in capitals", secret, body, &format!("t={t},v1={}", v1.to_uppercase()), 0),
        case("no timestamp", secret, body, &format!("v1={v1}"), 0),
        case("an empty secret never verifies", "", body, &sign_webhook(b"", body.as_bytes(), t), 0),
    ]
}

#[test]
fn the_examples_vectors_are_what_booking_core_signs() {
    let want = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    let valid: Vec<bool> = vectors().iter().map(|v| v["valid"].as_bool().unwrap()).collect();
    assert_eq!(valid, [true, true, false, false, false, true, true, false, false]);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/webhooks/vectors.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "tests/data/webhooks/vectors.json is stale: run BLESS=1 cargo test -p booking-core --test webhook_vectors"
    );
}
