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

/// Keys in `given` that the type read into `parsed` does not have (a typo such as
/// "phone" for "phones" would otherwise be dropped by serde and the case would test less
/// than it says). A key absent from `parsed` is fine only when its value is empty.
fn unknown_keys(given: &Value, parsed: &Value, at: &str, out: &mut Vec<String>) {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    match (given, parsed) {
        (Value::Object(g), Value::Object(p)) => {
            for (k, v) in g {
                match p.get(k) {
                    Some(pv) => unknown_keys(v, pv, &format!("{at}.{k}"), out),
                    None if empty(v) => {}
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(g), Value::Array(p)) => {
            for (i, (gv, pv)) in g.iter().zip(p).enumerate() {
                unknown_keys(gv, pv, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The forms `show` writes: an expectation in another form can never match.
fn known_expectation(e: &str) -> bool {
    let w: Vec<&str> = e.split(' ').collect();
    let id = |s: &str| s.parse::<i64>().is_ok();
    match w.as_slice() {
        ["new"] | ["ambiguous"] => true,
        ["existing", c, "new"] => id(c),
        ["existing", c, "loc", l] => id(c) && id(l),
        _ => false,
    }
}

#[test]
fn match_cases() {
    let file = data("tests/data/matching/cases.json");
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let mut failures = vec![];
    for (i, c) in cases.iter().enumerate() {
        let at = format!("cases.json case {i} ({})", c["note"]);
        let keys: Vec<&String> = c.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        if let Some(k) = keys.iter().find(|k| !["note", "homeowner", "candidates", "expect"].contains(&k.as_str())) {
            failures.push(format!("{at}: unknown key {k:?} (a case has note, homeowner, candidates, expect)"));
            continue;
        }
        let expect = c["expect"].as_str().unwrap_or("");
        if !known_expectation(expect) {
            failures.push(format!(
                "{at}: expect {expect:?} is not new, ambiguous, \"existing N new\" or \"existing N loc M\""
            ));
            continue;
        }
        let (h, cands) = match (
            serde_json::from_value::<Homeowner>(c["homeowner"].clone()),
            serde_json::from_value::<Vec<Candidate>>(c["candidates"].clone()),
        ) {
            (Ok(h), Ok(cands)) => (h, cands),
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let mut unknown = Vec::new();
        unknown_keys(&c["homeowner"], &serde_json::to_value(&h).unwrap(), "homeowner", &mut unknown);
        unknown_keys(&c["candidates"], &serde_json::to_value(&cands).unwrap(), "candidates", &mut unknown);
        if !unknown.is_empty() {
            failures.push(format!("{at}: unknown keys {unknown:?} (see Homeowner and Candidate in matching/mod.rs)"));
            continue;
        }
        let got = show(&decide(&h, &cands));
        if got != expect {
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
    for e in
        ["none@none.com", "noemail@gmail.com", "na@na.com", "test@test.com", "x@example.com", "xxx@gmail.com", "nope"]
    {
        assert!(is_placeholder_email(e), "{e}");
    }
    for e in ["maria@example.net", "dan.robinson@gmail.com"] {
        assert!(!is_placeholder_email(e), "{e}");
    }
}

#[test]
fn normalizers_never_panic() {
    let odd = [
        "",
        "+",
        "᠑ ᠖᠕",
        "＋",
        "ext",
        "#",
        ",",
        "Ω, ",
        " , ",
        "&",
        "a & & b",
        "Jr.",
        "-",
        "0000000000",
        "+1",
        "x".repeat(3000).leak(),
    ];
    for a in odd {
        let _ = normalize_phone(a);
        for b in odd {
            let _ = compare_names(a, b);
            let addr = |s: &str| booking_core::booking::Address {
                street: s.into(),
                unit: Some(s.into()),
                city: s.into(),
                state: s.into(),
                zip: s.into(),
            };
            let _ = same_place(&addr(a), &addr(b));
        }
    }
}

#[test]
fn a_mistyped_case_is_refused_not_half_run() {
    let given = serde_json::json!({"name": "Maria Gonzalez", "phones": ["612-555-0143"], "emial": "maria@example.net", "address": {"street": "1 Main St", "city": "Minneapolis", "state": "MN", "zip": "55416", "appt": "2"}});
    let parsed = serde_json::to_value(serde_json::from_value::<Homeowner>(given.clone()).unwrap()).unwrap();
    let mut unknown = Vec::new();
    unknown_keys(&given, &parsed, "homeowner", &mut unknown);
    assert_eq!(unknown, ["homeowner.address.appt", "homeowner.emial"]);
    assert!(
        known_expectation("existing 100 loc 1000") && known_expectation("existing 7 new") && known_expectation("new")
    );
    assert!(
        !known_expectation("existing 100") && !known_expectation("Ambiguous") && !known_expectation("existing x new")
    );
}
