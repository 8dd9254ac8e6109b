//! The signatures on webhooks: our owner webhook's `t=…,v1=…` header, Retell's header,
//! and a site config as the worker reads it. A header is checked, never trusted, and
//! nothing panics.
#![no_main]

use booking_core::signing::{sign_webhook, verify_webhook};
use booking_core::site::parse_config;
use booking_core::voice::tools::verify_retell;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..cut], data.get(cut + 1..).unwrap_or_default());
    let header = String::from_utf8_lossy(header);
    // A forged header never verifies unless it is the real signature.
    if verify_webhook(b"secret", body, &header, 1_800_000_000, 300).is_ok() {
        assert_eq!(header, sign_webhook(b"secret", body, 1_800_000_000), "a forged signature verified");
    }
    let good = sign_webhook(b"secret", body, 1_800_000_000);
    assert!(verify_webhook(b"secret", body, &good, 1_800_000_000, 300).is_ok(), "our own signature fails");
    let _ = verify_retell(b"key", body, &header, 1_800_000_000_000);
    let _ = parse_config(&String::from_utf8_lossy(body));
});
