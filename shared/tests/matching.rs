//! Customer matching, pinned by `tests/data/matching/cases.json` (rules: RULES.md), plus
//! normalizers against inputs nobody on this team chose (libphonenumber's test phones).

use booking_core::matching::*;
use serde_json::Value;

fn data(path: &str) -> Value {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))).unwrap()
}

fn show(d: &Decision) -> String {
    match d {
        Decision::New => "new".into(),
        Decision::Ambiguous { .. } => "ambiguous".into(),
        Decision::Existing { customer, location: LocationMatch::Existing(l) } => format!("existing {customer} loc {l}"),
        Decision::Existing { customer, location: LocationMatch::New } => format!("existing {customer} new"),
    }
}

#[test]
fn match_cases() {
    let file = data("tests/data/matching/cases.json");
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let mut failures = vec![];
    for c in cases {
        let h: Homeowner = serde_json::from_value(c["homeowner"].clone()).unwrap();
        let cands: Vec<Candidate> = serde_json::from_value(c["candidates"].clone()).unwrap();
        let got = show(&decide(&h, &cands));
        if got != c["expect"].as_str().unwrap() {
            failures.push(format!("{}: expected {}, got {got}", c["note"], c["expect"]));
        }
    }
    eprintln!("{} of {} match cases pass", cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn phones_from_libphonenumber_tests() {
    let vectors = data("../shared/test-vectors/us-phone-formats.json");
    let mut checked = 0;
    let mut failures = vec![];
    for v in vectors.as_array().unwrap() {
        // Loose groupings libphonenumber accepts only in lenient modes: not our bar.
        if v["ambiguous"] == true {
            continue;
        }
        let text = v["text"].as_str().unwrap();
        let want = if v["nanp_valid"] == false { None } else { v["national_number"].as_str() };
        let got = normalize_phone(text);
        checked += 1;
        if got.as_ref().map(|p| p.digits.as_str()) != want {
            failures.push(format!("{text:?}: want {want:?}, got {got:?}"));
        } else if let (Some(p), Some(ext)) = (&got, v["extension"].as_str()) {
            if p.extension.as_deref() != Some(ext) {
                failures.push(format!("{text:?}: extension {ext} != {:?}", p.extension));
            }
        }
    }
    eprintln!("{} of {checked} phone vectors pass", checked - failures.len());
    // Free text with several numbers and exotic digit scripts are out of scope (listed).
    assert!(failures.len() * 5 <= checked, "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn mobile_preferred_and_placeholders() {
    let contacts = [("Phone", "612-555-0100"), ("Email", "a@b.co"), ("MobilePhone", "(952) 555-0199")];
    assert_eq!(prefer_mobile(contacts).unwrap().digits, "9525550199");
    assert_eq!(prefer_mobile([("Phone", "612-555-0100"), ("Fax", "6125550101")]).unwrap().digits, "6125550100");
    assert_eq!(prefer_mobile([("MobilePhone", "555-0100")]), None);
    for e in ["none@none.com", "noemail@gmail.com", "na@na.com", "test@test.com", "x@example.com", "xxx@gmail.com", "nope"] {
        assert!(is_placeholder_email(e), "{e}");
    }
    for e in ["maria@example.net", "dan.robinson@gmail.com"] {
        assert!(!is_placeholder_email(e), "{e}");
    }
}

#[test]
fn normalizers_never_panic() {
    let odd = ["", "+", "᠑ ᠖᠕", "＋", "ext", "#", ",", "Ω, ", " , ", "&", "a & & b", "Jr.", "-", "0000000000", "+1", "x".repeat(3000).leak()];
    for a in odd {
        let _ = normalize_phone(a);
        for b in odd {
            let _ = compare_names(a, b);
            let addr = |s: &str| booking_core::booking::Address { street: s.into(), unit: Some(s.into()), city: s.into(), state: s.into(), zip: s.into() };
            let _ = same_place(&addr(a), &addr(b));
        }
    }
}
