//! The emulator over real sockets: auth, every endpoint's happy path, validation,
//! paging and filters, each fault, and the admin API.

mod common;

use common::*;
use serde_json::{json, Value};

// ---------- auth ----------

#[tokio::test]
async fn token_endpoint() {
    let s = start().await;
    assert!(s.token.starts_with("sbx."));
    let ok = s
        .form(
            "/connect/token",
            &format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert!(ok.body["scope"].is_string());
    for (body, status, error) in [
        (format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong"), 401, "invalid_client"),
        ("grant_type=client_credentials&client_id=nobody&client_secret=x".to_string(), 401, "invalid_client"),
        (
            format!("grant_type=password&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"),
            400,
            "unsupported_grant_type",
        ),
        (String::new(), 400, "invalid_request"),
    ] {
        let r = s.form("/connect/token", &body).await;
        assert_eq!((r.status, r.body["error"].as_str()), (status, Some(error)), "{body}");
    }
}

#[tokio::test]
async fn tokens_expire_per_expires_in() {
    let s = start_with(Config { token_ttl: 0, ..config() }).await;
    let r = s.get(&t("/settings/business-units")).await;
    let _ = st_error(&r, 401);
    assert!(r.body["title"].as_str().unwrap().contains("expired"));
}

use st_sandbox::Config;

#[tokio::test]
async fn auth_failures_in_servicetitan_shape() {
    let s = start().await;
    let bearer = format!("Bearer {}", s.token);
    let customers = t("/crm/customers");
    let bookings = t(&format!("/crm/booking-provider/{BP}/bookings"));
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        ("no headers", customers.clone(), vec![], 401),
        ("no bearer", customers.clone(), vec![("st-app-key", APP_KEY)], 401),
        ("unknown token", customers.clone(), vec![("authorization", "Bearer nope"), ("st-app-key", APP_KEY)], 401),
        ("no app key", customers.clone(), vec![("authorization", &bearer)], 401),
        ("wrong app key", customers.clone(), vec![("authorization", &bearer), ("st-app-key", "other")], 401),
        (
            "other tenant",
            "/crm/v2/tenant/999/customers".into(),
            vec![("authorization", &bearer), ("st-app-key", APP_KEY)],
            403,
        ),
        (
            "other booking provider",
            t("/crm/booking-provider/7002/bookings"),
            vec![("authorization", &bearer), ("st-app-key", APP_KEY)],
            403,
        ),
        ("fine", customers.clone(), vec![("authorization", &bearer), ("st-app-key", APP_KEY)], 200),
        ("fine bookings", bookings, vec![("authorization", &bearer), ("st-app-key", APP_KEY)], 200),
    ];
    for (name, path, headers, status) in cases {
        let r = s.raw("GET", &path, &headers, None).await;
        if status == 200 {
            assert_eq!(r.status, 200, "{name}: {}", r.text);
        } else {
            let _ = st_error(&r, status);
        }
    }
    // Writes are refused the same way, before validation.
    let r = s
        .raw(
            "POST",
            &t("/crm/booking-provider/7002/bookings"),
            &[("authorization", &bearer), ("st-app-key", APP_KEY)],
            Some("{}"),
        )
        .await;
    let _ = st_error(&r, 403);
}

// ---------- happy paths ----------

#[tokio::test]
async fn lookup_lists_and_gets() {
    let s = start().await;
    for (path, min) in [
        ("/settings/business-units", 4),
        ("/settings/technicians", 6),
        ("/jpm/job-types", 8),
        ("/marketing/campaigns", 4),
        ("/crm/customers", 6),
        ("/crm/locations", 8),
        ("/crm/customers/contacts", 6),
        ("/crm/locations/contacts", 2),
        ("/crm/bookings", 1),
        ("/jpm/jobs", 0),
        ("/jpm/appointments", 0),
        ("/crm/leads", 0),
        ("/sales/estimates", 0),
    ] {
        let r = s.get(&format!("{}?pageSize=500", t(path))).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        for k in ["page", "pageSize", "hasMore", "totalCount", "data"] {
            assert!(r.body.get(k).is_some(), "{path} lacks {k}");
        }
        assert!(ids(&r).len() >= min, "{path}: {} < {min}", ids(&r).len());
    }
    for (path, id) in [
        ("/settings/business-units", 1001),
        ("/settings/technicians", 4001),
        ("/jpm/job-types", 2001),
        ("/marketing/campaigns", 3001),
        ("/crm/customers", 5001),
        ("/crm/locations", 6001),
    ] {
        let r = s.get(&format!("{}/{id}", t(path))).await;
        assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(id)), "{path}/{id}");
        let _ = st_error(&s.get(&format!("{}/999999", t(path))).await, 404);
    }
    let names: Vec<String> = s.get(&t("/marketing/campaigns")).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Website Chat".to_string()) && names.contains(&"Google Ads".to_string()));
}

#[tokio::test]
async fn booking_flow_records_everything() {
    let s = start().await;
    // Customer with inline location and contacts.
    let c =
        s.post(&t("/crm/customers"), &new_customer("Ana Reyes", "900 Fremont Ave N", "55411", "612-555-0190")).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let cid = c.body["id"].as_i64().unwrap();
    let lid = c.body["locations"][0]["id"].as_i64().unwrap();
    assert_eq!(c.body["contacts"].as_array().unwrap().len(), 2);
    assert!(
        s.get(&format!("{}/{cid}", t("/crm/customers"))).await.body.get("locations").is_none(),
        "GET customer has no embedded locations"
    );

    // Second property.
    let l = s.post(&t("/crm/locations"), &json!({"customerId": cid, "name": "Cabin", "address": {"street": "1 Pine Rd", "city": "Ely", "state": "MN", "zip": "55731", "country": "USA"}})).await;
    assert_eq!((l.status, l.body["customerId"].as_i64()), (200, Some(cid)), "{}", l.text);
    let unknown = s.post(&t("/crm/locations"), &json!({"customerId": 1, "name": "x", "address": {"street": "1", "city": "c", "state": "MN", "zip": "1", "country": "USA"}})).await;
    let _ = st_error(&unknown, 409);

    // Job with appointment.
    let j = s.post(&t("/jpm/jobs"), &new_job(cid, lid)).await;
    assert_eq!(j.status, 200, "{}", j.text);
    let jid = j.body["id"].as_i64().unwrap();
    assert!(j.body["jobNumber"].is_string());
    assert_eq!(j.body["appointments"][0]["status"], "Scheduled");
    assert_eq!(j.body["customFields"][0]["value"], "x");
    assert_eq!(j.body["firstAppointmentId"], j.body["appointments"][0]["id"]);

    // Notes on job, customer (copied to locations), location.
    for (path, body) in [
        (format!("/jpm/jobs/{jid}/notes"), json!({"text": "Transcript: <b>hi</b>", "pinToTop": true})),
        (format!("/crm/customers/{cid}/notes"), json!({"text": "Booked via chat", "addToLocations": true})),
        (format!("/crm/locations/{lid}/notes"), json!({"text": "Gate code 1234"})),
    ] {
        let r = s.post(&t(&path), &body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["text"], body["text"]);
        for k in ["isPinned", "createdById", "createdOn", "modifiedOn"] {
            assert!(r.body.get(k).is_some(), "{path} note lacks {k}");
        }
        let list = s.get(&t(&path)).await;
        assert!(!list.body["data"].as_array().unwrap().is_empty(), "{path}");
    }
    assert_eq!(s.get(&t(&format!("/crm/locations/{lid}/notes"))).await.body["data"].as_array().unwrap().len(), 2);

    // Contacts.
    let add = s
        .post(&t(&format!("/crm/customers/{cid}/contacts")), &json!({"type": "Email", "value": "ana@example.com"}))
        .await;
    assert_eq!(add.status, 200, "{}", add.text);
    assert_eq!(s.get(&t(&format!("/crm/customers/{cid}/contacts"))).await.body["data"].as_array().unwrap().len(), 3);
    let add = s
        .post(&t(&format!("/crm/locations/{lid}/contacts")), &json!({"type": "MobilePhone", "value": "6125550191"}))
        .await;
    assert_eq!(add.status, 200, "{}", add.text);

    // Booking through our provider, with contacts; found again by externalId.
    let bp = t(&format!("/crm/booking-provider/{BP}/bookings"));
    let b = s.post(&bp, &json!({"source": "Website Chat", "name": "Ana Reyes", "summary": "No cooling", "isFirstTimeClient": false,
        "externalId": "chat-1", "priority": "High", "campaignId": 3001, "start": "2030-07-01T15:00:00Z",
        "address": {"street": "900 Fremont Ave N", "city": "Minneapolis", "state": "MN", "zip": "55411", "country": "USA"},
        "contacts": [{"type": "MobilePhone", "value": "6125550190"}]})).await;
    assert_eq!(b.status, 200, "{}", b.text);
    let bid = b.body["id"].as_i64().unwrap();
    assert_eq!((b.body["status"].as_str(), b.body["bookingProviderId"].as_i64()), (Some("New"), Some(BP)));
    assert_eq!(ids(&s.get(&format!("{bp}?externalId=chat-1")).await), vec![bid]);
    assert_eq!(ids(&s.get(&format!("{bp}?externalId=chat-2")).await), Vec::<i64>::new());
    assert_eq!(s.get(&format!("{bp}/{bid}/contacts")).await.body["data"].as_array().unwrap().len(), 1);
    let bc = s.post(&format!("{bp}/{bid}/contacts"), &json!({"type": "Email", "value": "a@example.com"})).await;
    assert_eq!(bc.status, 200, "{}", bc.text);
    let patched = s.call("PATCH", &format!("{bp}/{bid}"), Some(r#"{"summary":"No cooling upstairs"}"#)).await;
    assert_eq!(patched.body["summary"], "No cooling upstairs");

    // Lead and its note; estimate on the job.
    let lead = s
        .post(
            &t("/crm/leads"),
            &json!({"campaignId": 3002, "summary": "Wants a quote", "customerId": cid, "priority": "Low"}),
        )
        .await;
    assert_eq!(lead.status, 200, "{}", lead.text);
    let lead_id = lead.body["id"].as_i64().unwrap();
    assert_eq!(s.post(&t(&format!("/crm/leads/{lead_id}/notes")), &json!({"text": "call back"})).await.status, 200);
    let est = s
        .post(
            &t("/sales/estimates"),
            &json!({"jobId": jid, "name": "New furnace", "items": [{"skuId": 1, "quantity": 2, "unitPrice": 100.5}]}),
        )
        .await;
    assert_eq!((est.status, est.body["subtotal"].as_f64()), (200, Some(201.0)), "{}", est.text);

    // Everything is in the records.
    let r = s.records().await;
    let count = |k: &str, key: &str, id: i64| r[k].as_array().unwrap().iter().filter(|x| x[key] == id).count();
    assert_eq!(count("customers", "id", cid), 1);
    assert_eq!(count("locations", "customerId", cid), 2);
    assert_eq!(count("jobs", "customerId", cid), 1);
    assert_eq!(count("appointments", "jobId", jid), 1);
    assert_eq!(count("bookings", "id", bid), 1);
    assert_eq!(count("contacts", "bookingId", bid), 2);
    assert_eq!(count("notes", "jobId", jid), 1);
    assert_eq!(count("leads", "id", lead_id), 1);
    assert_eq!(count("estimates", "jobId", jid), 1);
    assert_eq!(ids(&s.get(&format!("{}?customerId={cid}", t("/jpm/jobs"))).await), vec![jid]);
    assert_eq!(
        ids(&s.get(&format!("{}?number={}", t("/jpm/jobs"), j.body["jobNumber"].as_str().unwrap())).await),
        vec![jid]
    );
}

#[tokio::test]
async fn capacity_from_technicians_and_appointments() {
    let s = start().await;
    // 2030-07-01 is a Monday; windows are 8-12, 12-16, 16-19 Central (UTC-6 in the seed).
    let body = json!({"startsOnOrAfter": "2030-07-01T00:00:00Z", "endsOnOrBefore": "2030-07-02T06:00:00Z", "businessUnitIds": [1001], "skillBasedAvailability": false});
    let before = s.post(&t("/dispatch/capacity"), &body).await;
    assert_eq!(before.status, 200, "{}", before.text);
    let a = before.body["availabilities"].as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(
        (a[0]["start"].as_str(), a[0]["end"].as_str()),
        (Some("2030-07-01T14:00:00Z"), Some("2030-07-01T18:00:00Z"))
    );
    assert_eq!(a[0]["totalAvailability"], 12.0); // 3 HVAC technicians × 4 h
    let mut job = new_job(5001, 6001);
    job["appointments"][0]["technicianIds"] = json!([4001]);
    assert_eq!(s.post(&t("/jpm/jobs"), &job).await.status, 200);
    let after = s.post(&t("/dispatch/capacity"), &body).await;
    let a = &after.body["availabilities"][0];
    assert_eq!(a["openAvailability"], 10.0); // 15:00-17:00Z booked
    assert_eq!(a["technicians"][0]["status"], "Unavailable");
    // Sunday: nothing.
    let sunday = json!({"startsOnOrAfter": "2030-06-30T00:00:00Z", "endsOnOrBefore": "2030-07-01T00:00:00Z", "skillBasedAvailability": true});
    assert_eq!(s.post(&t("/dispatch/capacity"), &sunday).await.body["availabilities"], json!([]));
}

// ---------- validation ----------

#[tokio::test]
async fn bodies_are_validated_against_the_openapi_files() {
    let s = start().await;
    let addr = json!({"street": "1 A St", "city": "Minneapolis", "state": "MN", "zip": "55401", "country": "USA"});
    let bp = t(&format!("/crm/booking-provider/{BP}/bookings"));
    let cases: Vec<(&str, String, Value, &str)> = vec![
        ("missing name", t("/crm/customers"), json!({"address": addr, "locations": []}), "Name"),
        (
            "missing nested zip",
            t("/crm/customers"),
            json!({"name": "x", "address": {"street": "1", "city": "c", "state": "MN", "country": "USA"}, "locations": []}),
            "Address.Zip",
        ),
        (
            "unknown field",
            t("/crm/customers"),
            json!({"name": "x", "address": addr, "locations": [], "email": "x@y"}),
            "Email",
        ),
        (
            "bad enum",
            t("/crm/customers"),
            json!({"name": "x", "address": addr, "locations": [], "type": "Industrial"}),
            "Type",
        ),
        ("wrong type", t("/crm/customers"), json!({"name": 7, "address": addr, "locations": []}), "Name"),
        ("null non-nullable", t("/crm/customers"), json!({"name": "x", "address": null, "locations": []}), "Address"),
        (
            "array item",
            t("/crm/customers"),
            json!({"name": "x", "address": addr, "locations": [{"name": "h"}]}),
            "Locations[0].Address",
        ),
        (
            "contact type enum",
            t("/crm/customers"),
            json!({"name": "x", "address": addr, "locations": [], "contacts": [{"type": "Pager", "value": "1"}]}),
            "Contacts[0].Type",
        ),
        (
            "int64 as string",
            t("/jpm/jobs"),
            json!({"customerId": "5001", "locationId": 6001, "businessUnitId": 1001, "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001, "appointments": []}),
            "CustomerId",
        ),
        (
            "date-time",
            t("/jpm/jobs"),
            json!({"customerId": 5001, "locationId": 6001, "businessUnitId": 1001, "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001, "appointments": [{"start": "tomorrow", "end": "2030-07-01T17:00:00Z"}]}),
            "Appointments[0].Start",
        ),
        (
            "missing appointments",
            t("/jpm/jobs"),
            json!({"customerId": 5001, "locationId": 6001, "businessUnitId": 1001, "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001}),
            "Appointments",
        ),
        (
            "unknown customer",
            t("/jpm/jobs"),
            json!({"customerId": 1, "locationId": 6001, "businessUnitId": 1001, "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001, "appointments": [{"start": "2030-07-01T15:00:00Z", "end": "2030-07-01T17:00:00Z"}]}),
            "CustomerId",
        ),
        (
            "location of another customer",
            t("/jpm/jobs"),
            json!({"customerId": 5001, "locationId": 6002, "businessUnitId": 1001, "jobTypeId": 2001, "priority": "Normal", "campaignId": 3001, "appointments": [{"start": "2030-07-01T15:00:00Z", "end": "2030-07-01T17:00:00Z"}]}),
            "LocationId",
        ),
        (
            "booking missing externalId",
            bp.clone(),
            json!({"source": "chat", "name": "x", "summary": "s", "isFirstTimeClient": true}),
            "ExternalId",
        ),
        (
            "booking bool",
            bp.clone(),
            json!({"source": "chat", "name": "x", "summary": "s", "isFirstTimeClient": "yes", "externalId": "e"}),
            "IsFirstTimeClient",
        ),
        (
            "booking priority",
            bp,
            json!({"source": "chat", "name": "x", "summary": "s", "isFirstTimeClient": true, "externalId": "e", "priority": "Whenever"}),
            "Priority",
        ),
        ("note text", t("/crm/customers/5001/notes"), json!({"pinToTop": true}), "Text"),
        ("job note text", t("/jpm/jobs/5001/notes"), json!({"text": 5}), "Text"),
        ("capacity", t("/dispatch/capacity"), json!({"startsOnOrAfter": "2030-07-01T00:00:00Z"}), "EndsOnOrBefore"),
        ("estimate", t("/sales/estimates"), json!({"name": "x"}), "JobId"),
        ("lead", t("/crm/leads"), json!({"summary": "x"}), "CampaignId"),
        ("location", t("/crm/locations"), json!({"customerId": 5001, "name": "x"}), "Address"),
        ("body not an object", t("/crm/customers"), json!([1, 2]), "$"),
    ];
    for (name, path, body, key) in cases {
        let r = s.post(&path, &body).await;
        let errors = st_error(&r, 400);
        assert!(errors.get(key).is_some(), "{name}: expected an error on {key}, got {errors}");
    }
    for (name, raw) in [("empty", ""), ("malformed", "{\"name\":")] {
        let r = s.call("POST", &t("/crm/customers"), Some(raw)).await;
        let _ = st_error(&r, 400);
        assert!(!r.body["errors"].as_object().unwrap().is_empty(), "{name}");
    }
    // Nothing was written by any of them.
    let r = s.records().await;
    assert_eq!(r["jobs"], json!([]));
    assert_eq!(r["customers"].as_array().unwrap().len(), 8);
}

// ---------- paging and filters ----------

#[tokio::test]
async fn paging_walks_every_record_once() {
    let s = start().await;
    let total = s.get(&format!("{}?includeTotal=true", t("/crm/locations"))).await.body["totalCount"].as_u64().unwrap()
        as usize;
    let (mut seen, mut page) = (Vec::new(), 1);
    loop {
        let r = s.get(&format!("{}?page={page}&pageSize=3", t("/crm/locations"))).await;
        assert_eq!(r.body["totalCount"], Value::Null);
        assert_eq!(r.body["pageSize"], 3);
        seen.extend(ids(&r));
        if !r.body["hasMore"].as_bool().unwrap() {
            break;
        }
        page += 1;
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (total, total));
    assert_eq!(
        ids(&s.get(&format!("{}?sort=-Id&pageSize=1", t("/crm/locations"))).await),
        vec![*seen.iter().max().unwrap()]
    );
    for bad in ["page=0", "pageSize=0", "pageSize=9999", "page=two", "sort=+Color", "ids=a,b"] {
        let _ = st_error(&s.get(&format!("{}?{bad}", t("/crm/customers"))).await, 400);
    }
}

#[tokio::test]
async fn list_filters() {
    let s = start().await;
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("/crm/customers?phone=(612)%20555-0122", vec![5002]),
        ("/crm/customers?phone=%2B1%20612.555.0189", vec![5002]), // a location contact
        ("/crm/customers?phone=6125559999", vec![]),
        ("/crm/customers?name=swanson", vec![5003]),
        ("/crm/customers?street=penn%20ave&zip=55419", vec![5002]),
        ("/crm/customers?zip=55410&city=minneapolis", vec![5003, 5007]),
        ("/crm/customers?zip=5541&name=o", vec![5003, 5006, 5007, 5008]),
        ("/crm/customers?ids=5001,5004", vec![5001, 5004]),
        ("/crm/locations?customerId=5005", vec![6006, 6007]),
        ("/crm/locations?zip=55345", vec![6010]),
        ("/settings/business-units?active=Any&name=hvac", vec![1001, 1005]),
        ("/settings/business-units?name=hvac", vec![1001]),
        ("/marketing/campaigns?name=GOOGLE", vec![3002, 3004]),
        ("/jpm/job-types?name=estimate&pageSize=2", vec![2002, 2004]),
        ("/settings/technicians?name=aisha", vec![4002]),
    ];
    for (path, want) in cases {
        let r = s.get(&t(path)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(ids(&r), want, "{path}");
    }
}

// ---------- faults ----------

#[tokio::test]
async fn status_faults_count_down() {
    let s = start().await;
    s.fault(
        json!({"kind": "status", "status": 503, "count": 2, "match": {"method": "GET", "pathContains": "/customers"}}),
    )
    .await;
    let path = t("/crm/customers");
    let r = s.get(&path).await;
    let _ = st_error(&r, 503);
    assert_eq!(r.headers.get("retry-after").map(String::as_str), Some("1"));
    assert_eq!(s.get(&t("/crm/locations")).await.status, 200, "unmatched path passes");
    let _ = st_error(&s.get(&path).await, 503);
    assert_eq!(s.get(&path).await.status, 200, "spent after two");
    for status in [500, 502] {
        s.fault(json!({"kind": "status", "status": status, "count": 1})).await;
        let _ = st_error(&s.get(&path).await, status);
        assert_eq!(s.get(&path).await.status, 200);
    }
    let listed = s.admin("GET", "/_admin/faults", None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(s.admin("DELETE", "/_admin/faults", None).await.status, 204);
    assert_eq!(s.admin("GET", "/_admin/faults", None).await.body, json!([]));
    assert_eq!(s.admin("POST", "/_admin/faults", Some(&json!({"kind": "status", "status": 200}))).await.status, 400);
    assert_eq!(s.admin("POST", "/_admin/faults", Some(&json!({"kind": "meteor"}))).await.status, 400);
}

#[tokio::test]
async fn too_many_requests_with_retry_after() {
    let s = start().await;
    s.fault(json!({"kind": "status", "status": 429, "retryAfter": 3, "count": 2, "skip": 1})).await;
    let path = t("/jpm/job-types");
    assert_eq!(s.get(&path).await.status, 200, "skip lets the first through");
    for _ in 0..2 {
        let r = s.get(&path).await;
        let _ = st_error(&r, 429);
        assert_eq!(r.headers.get("retry-after").map(String::as_str), Some("3"));
    }
    assert_eq!(s.get(&path).await.status, 200);
}

#[tokio::test]
async fn per_app_rate_limit() {
    let s = start().await;
    s.fault(json!({"kind": "rateLimit", "perSecond": 3})).await;
    let path = t("/marketing/campaigns");
    let mut codes = Vec::new();
    for _ in 0..8 {
        let r = s.get(&path).await;
        if r.status == 429 {
            let secs: u64 = r.headers["retry-after"].parse().unwrap();
            assert!((1..=1).contains(&secs));
        }
        codes.push(r.status);
    }
    // However the calls straddle a second boundary, at most 3 per second succeed.
    let ok = codes.iter().filter(|c| **c == 200).count();
    assert!((3..=6).contains(&ok) && codes.contains(&429), "{codes:?}");
}

#[tokio::test]
async fn added_latency() {
    let s = start().await;
    s.fault(json!({"kind": "latencyMs", "ms": 250, "count": 1, "match": {"pathContains": "/business-units"}})).await;
    let t0 = std::time::Instant::now();
    assert_eq!(s.get(&t("/settings/business-units")).await.status, 200);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn drop_before_write_leaves_nothing() {
    let s = start().await;
    s.fault(json!({"kind": "dropBeforeWrite", "count": 1, "match": {"pathContains": "/customers"}})).await;
    let body = new_customer("Drop Before", "1 Drop St", "55401", "6125550101");
    let r = s.post(&t("/crm/customers"), &body).await;
    assert_eq!((r.status, r.text.as_str()), (0, ""), "no response at all");
    assert_eq!(s.get(&t("/crm/customers")).await.status, 200, "GETs are not dropped");
    let recs = s.records().await;
    assert!(!recs["customers"].as_array().unwrap().iter().any(|c| c["name"] == "Drop Before"));
    let again = s.post(&t("/crm/customers"), &body).await;
    assert_eq!(again.status, 200, "one-shot");
    let journal = s.admin("GET", "/_admin/requests", None).await.body;
    let dropped: Vec<&Value> = journal.as_array().unwrap().iter().filter(|e| e["dropped"] == true).collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["status"], Value::Null);
}

#[tokio::test]
async fn drop_after_write_commits_but_loses_the_answer() {
    let s = start().await;
    s.fault(json!({"kind": "dropAfterWrite", "count": 1, "match": {"method": "POST", "pathContains": "/jobs"}})).await;
    let r = s.post(&t("/jpm/jobs"), &new_job(5001, 6001)).await;
    assert_eq!((r.status, r.text.as_str()), (0, ""));
    assert_eq!(s.records().await["jobs"].as_array().unwrap().len(), 1, "the job exists");
    assert_eq!(s.post(&t("/jpm/jobs"), &new_job(5001, 6001)).await.status, 200);
    // A failed write is answered normally (nothing committed, nothing to lose).
    s.fault(json!({"kind": "dropAfterWrite", "count": 1})).await;
    let _ = st_error(&s.post(&t("/jpm/jobs"), &json!({})).await, 400);
}

// ---------- admin ----------

#[tokio::test]
async fn journal_redacts_secrets() {
    let s = start().await;
    let _ = s.post(&t("/crm/customers"), &new_customer("Journal Test", "2 A St", "55401", "6125550102")).await;
    let journal = s.admin("GET", "/_admin/requests", None).await;
    let text = journal.text.clone();
    for secret in [CLIENT_SECRET, APP_KEY, s.token.as_str()] {
        assert!(!text.contains(secret), "journal leaks {secret}");
    }
    let entries = journal.body.as_array().unwrap();
    assert_eq!(entries[0]["path"], "/connect/token");
    assert_eq!(entries[0]["body"]["client_secret"], "[redacted]");
    assert_eq!(entries[0]["body"]["client_id"], CLIENT_ID);
    let post = entries.iter().find(|e| e["method"] == "POST" && e["path"] == t("/crm/customers")).unwrap();
    assert_eq!(post["headers"]["authorization"], "[redacted]");
    assert_eq!(post["headers"]["st-app-key"], "[redacted]");
    assert_eq!(post["body"]["name"], "Journal Test");
    assert_eq!(post["status"], 200);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn reset_returns_to_the_seed() {
    let s = start().await;
    let seeded = s.records().await;
    for k in ["customers", "locations", "contacts", "jobs", "appointments", "bookings", "notes", "leads", "estimates"] {
        assert!(seeded.get(k).is_some(), "records lacks {k}");
    }
    let _ = s.post(&t("/crm/customers"), &new_customer("Reset Me", "3 A St", "55401", "6125550103")).await;
    s.fault(json!({"kind": "status", "status": 500})).await;
    assert_eq!(s.admin("POST", "/_admin/reset", None).await.status, 204);
    assert_eq!(s.records().await, seeded);
    assert_eq!(s.admin("GET", "/_admin/faults", None).await.body, json!([]));
    assert_eq!(s.admin("GET", "/_admin/requests", None).await.body, json!([]));
    assert_eq!(s.get(&t("/crm/customers")).await.status, 200, "tokens survive a reset");
}

#[tokio::test]
async fn html_page_escapes_everything() {
    let s = start().await;
    let evil = "<script>alert('x')</script> & \"Co\"";
    let c =
        s.post(&t("/crm/customers"), &new_customer(evil, "<img src=x onerror=alert(1)>", "55401", "6125550104")).await;
    let cid = c.body["id"].as_i64().unwrap();
    let _ = s.post(&t(&format!("/crm/customers/{cid}/notes")), &json!({"text": "</td><b>bold</b>"})).await;
    let page = s.raw("GET", "/", &[], None).await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].starts_with("text/html"));
    for section in ["Customers", "Locations", "Jobs", "Bookings", "Notes"] {
        assert!(page.text.contains(&format!("<h2>{section} ")), "page lacks {section}");
    }
    assert!(!page.text.contains("<script>") && !page.text.contains("<img") && !page.text.contains("<b>bold"));
    assert!(page.text.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"));
    assert!(page.text.contains("Erik Johansson"));
}

#[tokio::test]
async fn unknown_routes_are_404_in_servicetitan_shape() {
    let s = start().await;
    let _ = st_error(&s.get(&t("/crm/widgets")).await, 404);
    let _ = st_error(&s.get(&t("/crm/customers/abc")).await, 400);
}
