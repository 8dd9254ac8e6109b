//! Every request the pipeline and the availability planner build is checked against
//! ServiceTitan's OpenAPI files (`shared/servicetitan-openapi/*.yml`): the operation
//! exists, query parameter names and types, body property names, required fields,
//! types, enums and date-times. A typo in a field name fails here.

#[path = "pipeline_fake.rs"]
mod fake;

use booking_core::booking::*;
use booking_core::servicetitan::{availability, parse_iso8601, BookingPipeline, Method, StRequest};
use booking_core::site::BookingMode;
use fake::*;
use serde_json::Value;

struct Spec {
    docs: Vec<Value>,
}

impl Spec {
    fn load() -> Spec {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/servicetitan-openapi/");
        let docs = ["crm", "jpm", "dispatch", "salestech", "settings", "marketing"]
            .iter()
            .map(|m| {
                let text = std::fs::read_to_string(format!("{dir}tenant-{m}-v2.yml")).unwrap();
                serde_yaml_ng::from_str::<Value>(&text).unwrap()
            })
            .collect();
        Spec { docs }
    }

    /// (document, operation) for a concrete path like `/crm/v2/tenant/123/customers/5/notes`.
    fn operation(&self, method: Method, path: &str) -> Option<(&Value, &Value)> {
        let want: Vec<&str> = path.split('/').collect();
        for doc in &self.docs {
            for (template, item) in doc["paths"].as_object()? {
                let t: Vec<&str> = template.split('/').collect();
                let fits = t.len() == want.len()
                    && t.iter().zip(&want).all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b);
                if fits {
                    if let Some(op) = item.get(method.as_str().to_ascii_lowercase()) {
                        return Some((doc, op));
                    }
                }
            }
        }
        None
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    loop {
        if let Some(r) = s["$ref"].as_str() {
            let name = r.trim_start_matches("#/components/schemas/");
            s = &doc["components"]["schemas"][name];
        } else if let Some(one) = s["oneOf"].as_array().filter(|a| a.len() == 1) {
            s = &one[0];
        } else if let Some(all) = s["allOf"].as_array().filter(|a| a.len() == 1) {
            s = &all[0];
        } else {
            return s;
        }
    }
}

/// Errors of `value` against `schema`, with JSON paths.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let nullable = schema["nullable"] == true;
    let s = resolve(doc, schema);
    if value.is_null() {
        if !(nullable || s["nullable"] == true) {
            errors.push(format!("{at}: null where not nullable"));
        }
        return;
    }
    if let Some(e) = s["enum"].as_array() {
        if !e.contains(value) {
            errors.push(format!("{at}: {value} not in enum {e:?}"));
        }
    }
    let ty = s["type"].as_str().unwrap_or(if s["properties"].is_object() { "object" } else { "" });
    match ty {
        "object" => {
            let Some(obj) = value.as_object() else { return errors.push(format!("{at}: expected object")) };
            let props = s["properties"].as_object();
            for req in s["required"].as_array().into_iter().flatten() {
                let k = req.as_str().unwrap();
                if !obj.contains_key(k) {
                    errors.push(format!("{at}: missing required {k}"));
                }
            }
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => check(doc, ps, v, &format!("{at}.{k}"), errors),
                    None if props.is_some() => errors.push(format!("{at}: unknown property {k}")),
                    None => {}
                }
            }
        }
        "array" => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(doc, &s["items"], v, &format!("{at}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: expected array")),
        },
        "string" => match value.as_str() {
            Some(text) if s["format"] == "date-time" && parse_iso8601(text).is_none() => {
                errors.push(format!("{at}: {text} is not a date-time"))
            }
            Some(_) => {}
            None => errors.push(format!("{at}: expected string, got {value}")),
        },
        "integer" if !value.is_i64() => errors.push(format!("{at}: expected integer, got {value}")),
        "number" if !value.is_number() => errors.push(format!("{at}: expected number")),
        "boolean" if !value.is_boolean() => errors.push(format!("{at}: expected boolean")),
        _ => {}
    }
}

fn validate(spec: &Spec, req: &StRequest) -> Vec<String> {
    let mut errors = vec![];
    let Some((doc, op)) = spec.operation(req.method, &req.path) else {
        return vec![format!("{} {}: no such operation in the spec", req.method.as_str(), req.path)];
    };
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    for (k, v) in &req.query {
        match params.iter().find(|p| p["in"] == "query" && p["name"] == k.as_str()) {
            None => errors.push(format!("query {k}: not a parameter")),
            Some(p) => {
                let s = resolve(doc, &p["schema"]);
                let ok = match s["type"].as_str() {
                    Some("integer") => v.parse::<i64>().is_ok(),
                    Some("boolean") => v == "true" || v == "false",
                    Some("string") if s["format"] == "date-time" => parse_iso8601(v).is_some(),
                    _ => true,
                } && s["enum"].as_array().is_none_or(|e| e.iter().any(|x| x.as_str() == Some(v.as_str())));
                if !ok {
                    errors.push(format!("query {k}={v}: wrong type for {s}"));
                }
            }
        }
    }
    let schema = op["requestBody"]["content"].as_object().and_then(|c| c.values().next()).map(|c| c["schema"].clone());
    match (schema, &req.body) {
        (Some(s), Some(b)) => check(doc, &s, b, "body", &mut errors),
        (Some(_), None) => errors.push("missing body".into()),
        (None, Some(_)) => errors.push("body sent to an operation without one".into()),
        (None, None) => {}
    }
    errors.into_iter().map(|e| format!("{} {}: {e}", req.method.as_str(), req.path)).collect()
}

/// Requests from every path the pipeline can take.
fn all_requests() -> Vec<StRequest> {
    let mut out = vec![];
    let mut go = |p: &mut BookingPipeline, f: &mut Fake| {
        run(p, f, &mut NOW.clone());
        out.append(&mut f.log);
    };
    // New customer, with referral custom field and an email.
    let mut site = site();
    site.referral_custom_field_id = Some(77);
    let mut req = request();
    req.referral_code = Some("ADV-1".into());
    req.phone.extension = Some("12".into());
    req.address.unit = Some("Apt 2B".into());
    go(&mut pipeline(req, site.clone()), &mut Fake::new());
    // Existing customer at a new property, then a quote request.
    let mut f = Fake::new();
    f.seed("Maria Gonzalez", "6125550143", "12 Elm Ave", "55401");
    go(&mut pipeline(request(), site.clone()), &mut f);
    let mut f = Fake::new();
    f.seed("Maria Gonzalez", "6125550143", "4417 W Lake St", "55416");
    let mut est = request();
    est.kind = VisitKind::Estimate;
    go(&mut pipeline(est, site.clone()), &mut f);
    // Booking modes, voice channel.
    for mode in [BookingMode::Booking, BookingMode::JobAndBooking] {
        let mut s = site.clone();
        s.mode = mode;
        let mut r = request();
        r.channel = Channel::Voice;
        go(&mut pipeline(r, s), &mut Fake::new());
    }
    // Look-ups after lost responses, for every write.
    for cut in 2..8 {
        let mut f = Fake::new();
        f.faults.insert(cut, Fault::Lost);
        let mut s = site.clone();
        s.mode = BookingMode::JobAndBooking;
        let mut r = request();
        r.kind = VisitKind::Estimate;
        go(&mut pipeline(r, s), &mut f);
    }
    let mut f = Fake::new();
    f.seed("Maria Gonzalez", "6125550143", "12 Elm Ave", "55401");
    f.faults.insert(2, Fault::Lost);
    go(&mut pipeline(request(), site.clone()), &mut f);
    let mut s = site.clone();
    s.mode = BookingMode::Booking;
    let mut f = Fake::new();
    f.faults.insert(1, Fault::Lost);
    go(&mut pipeline(request(), s), &mut f);
    // Contacts listed: the email on file decides.
    let mut f = Fake::new();
    let (c, _) = f.seed("Gonzalez, Rosa", "6125559999", "4417 W Lake St", "55416");
    f.seed_contact(c, "Email", "maria@example.net");
    go(&mut pipeline(request(), site.clone()), &mut f);
    // A business, as a job and as an office booking.
    let mut r = request();
    r.business = Some("Northside Dental".into());
    go(&mut pipeline(r.clone(), site.clone()), &mut Fake::new());
    let mut s = site.clone();
    s.mode = BookingMode::Booking;
    go(&mut pipeline(r, s), &mut Fake::new());
    // An abandoned chat's office booking: no address, an email only.
    let mut r = request();
    r.phone = Phone::default();
    r.address = Address::default();
    go(&mut BookingPipeline::abandoned_chat(r, site.clone(), "chat-1".into(), 123), &mut Fake::new());
    // Availability.
    out.push(availability::capacity_request(&site, 123, 1001, 2001, "55416-1234", NOW).unwrap());
    out
}

#[test]
fn every_request_matches_the_openapi_schemas() {
    let spec = Spec::load();
    let requests = all_requests();
    let mut ops: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method.as_str(), r.path)).collect();
    ops.sort();
    ops.dedup();
    assert!(ops.len() >= 15, "covered operations: {ops:#?}");
    let errors: Vec<String> = requests.iter().flat_map(|r| validate(&spec, r)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_validator_catches_typos() {
    let spec = Spec::load();
    let mut f = Fake::new();
    let mut p = pipeline(request(), site());
    run(&mut p, &mut f, &mut NOW.clone());
    let job = f.log.iter().find(|r| r.path.ends_with("/jobs")).unwrap().clone();
    assert!(validate(&spec, &job).is_empty());
    let mutate = |edit: &dyn Fn(&mut Value)| {
        let mut r = job.clone();
        edit(r.body.as_mut().unwrap());
        validate(&spec, &r)
    };
    let renamed = mutate(&|b| {
        let v = b.as_object_mut().unwrap().remove("businessUnitId").unwrap();
        b["businessUnitID"] = v;
    });
    assert!(renamed.iter().any(|e| e.contains("unknown property businessUnitID")), "{renamed:?}");
    assert!(renamed.iter().any(|e| e.contains("missing required businessUnitId")), "{renamed:?}");
    let wrong_type = mutate(&|b| b["campaignId"] = "3001".into());
    assert!(!wrong_type.is_empty());
    let bad_time = mutate(&|b| b["appointments"][0]["start"] = "tomorrow".into());
    assert!(!bad_time.is_empty());
    let mut q = f.log[0].clone();
    q.query.push(("phoneNumber".into(), "1".into()));
    assert!(!validate(&spec, &q).is_empty());
    let mut bad_enum = f.log.iter().find(|r| r.path.ends_with("/customers") && r.body.is_some()).unwrap().clone();
    bad_enum.body.as_mut().unwrap()["contacts"][0]["type"] = "Mobile".into();
    assert!(validate(&spec, &bad_enum).iter().any(|e| e.contains("enum")));
}
