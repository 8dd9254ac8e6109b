//! A small in-process ServiceTitan for pipeline tests: state, fault injection, a
//! virtual clock and a driver loop (quinn-proto style: no sockets, no sleeps).
//! Included by `pipeline.rs` and `openapi.rs` with `#[path]`.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use booking_core::booking::*;
use booking_core::servicetitan::{parse_iso8601, BookingPipeline, Method, Outcome, StRequest, StResponse, Step};
use booking_core::site::SiteConfig;
use serde_json::{json, Value};

/// Monday 2025-07-07 12:00:00 UTC (07:00 in the site's UTC-6... -360 min).
pub const NOW: i64 = 1_751_889_600;

pub fn site() -> SiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sites/northstar.json");
    SiteConfig::from_json(&std::fs::read_to_string(path).expect("site file")).expect("valid site")
}

pub fn request() -> BookingRequest {
    BookingRequest {
        business: None,
        name: PersonName { first: "Maria".into(), last: "Gonzalez".into() },
        phone: Phone { digits: "6125550143".into(), extension: None },
        email: Some("maria@example.net".into()),
        address: Address {
            street: "4417 W Lake St".into(),
            unit: None,
            city: "Minneapolis".into(),
            state: "MN".into(),
            zip: "55416".into(),
        },
        trade: Trade::Hvac,
        kind: VisitKind::Service,
        issue: "AC not cooling".into(),
        priority: Priority::Normal,
        preferred_time: PreferredTime { day: Some(DayPreference::Tomorrow), part: Some(DayPart::Morning) },
        arrival_window: None,
        unconfirmed_window: None,
        referral_code: None,
        sms_consent: false,
        voice_consent: false,
        locale: Locale::En,
        channel: Channel::Chat,
        transcript: vec![
            TranscriptLine { speaker: Speaker::Homeowner, text: "My AC stopped blowing cold air".into() },
            TranscriptLine { speaker: Speaker::Assistant, text: "Sorry to hear that. What's your name?".into() },
        ],
    }
}

pub fn pipeline(req: BookingRequest, site: SiteConfig) -> BookingPipeline {
    BookingPipeline::new(req, site, Attribution::default(), "chat-7f3c2a".into(), 123)
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer with this status (and Retry-After) without applying the call.
    Status(u16, Option<u64>),
    /// Apply the call, then lose the response (connection dropped).
    Lost,
    /// Apply the call, then answer 502 (proxy died after the write).
    AppliedThen502,
    /// Answer 200 with a body that is not what was asked.
    Garbage,
}

#[derive(Debug, Default)]
pub struct Fake {
    next_id: i64,
    pub customers: Vec<Value>,
    pub locations: Vec<Value>,
    pub jobs: Vec<Value>,
    pub bookings: Vec<Value>,
    pub estimates: Vec<Value>,
    /// (kind, owner id, text).
    pub notes: Vec<(String, i64, String)>,
    /// Every request seen, in order.
    pub log: Vec<StRequest>,
    /// Faults by call index (0-based).
    pub faults: BTreeMap<usize, Fault>,
    /// Capacity slots (start, end, open).
    pub capacity: Vec<(i64, i64, f64)>,
}

fn page(items: Vec<Value>) -> String {
    json!({"page": 1, "pageSize": 50, "hasMore": false, "totalCount": null, "data": items}).to_string()
}

fn ok(v: Value) -> StResponse {
    StResponse { status: 200, retry_after: None, body: v.to_string() }
}

fn err(status: u16, title: &str) -> StResponse {
    let body = json!({"type": "https://tools.ietf.org/html/rfc7231", "title": title, "status": status,
        "traceId": "00-test-01", "errors": {}, "data": {}});
    StResponse { status, retry_after: None, body: body.to_string() }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl Fake {
    pub fn new() -> Fake {
        Fake { next_id: 1000, ..Default::default() }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Seeds an existing customer with one location; returns (customer id, location id).
    pub fn seed(&mut self, name: &str, phone: &str, street: &str, zip: &str) -> (i64, i64) {
        let (c, l) = (self.id(), self.id());
        let addr = json!({"street": street, "city": "Minneapolis", "state": "MN", "zip": zip, "country": "USA"});
        self.customers.push(json!({"id": c, "name": name, "active": true, "address": addr, "type": "Residential",
            "_phones": [phone], "_created": 0, "_contacts": [{"id": c * 10, "type": "MobilePhone", "value": phone, "memo": null}]}));
        self.locations.push(json!({"id": l, "customerId": c, "active": true, "name": name, "address": addr}));
        (c, l)
    }

    /// Adds a contact (`Email`, `Phone`, ...) to a customer.
    pub fn seed_contact(&mut self, customer: i64, kind: &str, value: &str) {
        let id = self.id();
        if let Some(c) = self.customers.iter_mut().find(|c| c["id"] == customer) {
            c["_contacts"].as_array_mut().unwrap().push(json!({"id": id, "type": kind, "value": value, "memo": null}));
        }
    }

    pub fn handle(&mut self, req: &StRequest, now: i64) -> StResponse {
        let i = self.log.len();
        self.log.push(req.clone());
        match self.faults.get(&i).copied() {
            Some(Fault::Status(s, ra)) => {
                let mut r = err(s, "injected");
                r.retry_after = ra;
                r
            }
            Some(Fault::Lost) => {
                self.apply(req, now);
                StResponse { status: 0, retry_after: None, body: String::new() }
            }
            Some(Fault::AppliedThen502) => {
                self.apply(req, now);
                StResponse { status: 502, retry_after: None, body: "<html>Bad gateway</html>".into() }
            }
            Some(Fault::Garbage) => StResponse { status: 200, retry_after: None, body: "{\"data\": 7".into() },
            None => self.apply(req, now),
        }
    }

    fn q<'a>(req: &'a StRequest, k: &str) -> Option<&'a str> {
        req.query.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }

    fn apply(&mut self, req: &StRequest, now: i64) -> StResponse {
        let parts: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        // [module, v2, tenant, 123, rest...]
        if parts.len() < 5 || parts[2] != "tenant" || parts[3] != "123" {
            return err(404, "no such route");
        }
        let rest = &parts[4..];
        let body = req.body.clone().unwrap_or(Value::Null);
        let since = Self::q(req, "createdOnOrAfter").and_then(parse_iso8601).unwrap_or(i64::MIN);
        match (req.method, parts[0], rest) {
            (Method::Get, "crm", ["customers"]) => {
                let phone = Self::q(req, "phone").map(digits);
                let street = Self::q(req, "street").map(str::to_ascii_lowercase);
                let zip = Self::q(req, "zip");
                let hits = self
                    .customers
                    .iter()
                    .filter(|c| c["active"] == true)
                    .filter(|c| c["_created"].as_i64().unwrap_or(0) >= since)
                    .filter(|c| {
                        phone.as_ref().is_none_or(|p| {
                            c["_phones"].as_array().unwrap().iter().any(|x| digits(x.as_str().unwrap()) == *p)
                        })
                    })
                    .filter(|c| {
                        street.as_ref().is_none_or(|s| {
                            c["address"]["street"].as_str().unwrap().to_ascii_lowercase() == *s
                                && zip.is_none_or(|z| c["address"]["zip"].as_str().unwrap().starts_with(z))
                        })
                    })
                    .cloned()
                    .collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            (Method::Post, "crm", ["customers"]) => {
                let (Some(name), Some(addr), Some(locs)) =
                    (body["name"].as_str(), body.get("address"), body["locations"].as_array())
                else {
                    return err(400, "One or more validation errors occurred.");
                };
                let c = self.id();
                let mut phones: Vec<Value> = vec![];
                let mut contacts = |v: &Value| {
                    for x in v.as_array().into_iter().flatten() {
                        if x["type"] != "Email" {
                            phones.push(x["value"].clone());
                        }
                    }
                };
                contacts(&body["contacts"]);
                let mut out_locs = vec![];
                for l in locs.clone() {
                    contacts(&l["contacts"]);
                    let id = self.id();
                    let loc =
                        json!({"id": id, "customerId": c, "active": true, "name": l["name"], "address": l["address"]});
                    self.locations.push(loc.clone());
                    out_locs.push(loc);
                }
                let cust = json!({"id": c, "name": name, "active": true, "address": addr, "type": body["type"],
                    "_phones": phones, "_created": now, "_contacts": body["contacts"]});
                self.customers.push(cust.clone());
                let mut out = cust;
                out["locations"] = Value::Array(out_locs);
                out["contacts"] = json!([]);
                ok(out)
            }
            (Method::Get, "crm", ["customers", id, "contacts"]) => {
                let id: i64 = id.parse().unwrap_or(-1);
                match self.customers.iter().find(|c| c["id"] == id) {
                    Some(c) => StResponse {
                        status: 200,
                        retry_after: None,
                        body: page(c["_contacts"].as_array().cloned().unwrap_or_default()),
                    },
                    None => err(404, "Customer not found"),
                }
            }
            (Method::Get, "crm", ["locations"]) => {
                let cid: i64 = Self::q(req, "customerId").and_then(|x| x.parse().ok()).unwrap_or(-1);
                let hits = self.locations.iter().filter(|l| l["customerId"] == cid).cloned().collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            (Method::Post, "crm", ["locations"]) => {
                let cid = body["customerId"].as_i64().unwrap_or(-1);
                if !self.customers.iter().any(|c| c["id"] == cid && c["active"] == true) {
                    return err(409, "Unknown customer");
                }
                let id = self.id();
                let loc = json!({"id": id, "customerId": cid, "active": true, "name": body["name"], "address": body["address"]});
                self.locations.push(loc.clone());
                ok(loc)
            }
            (Method::Post, "jpm", ["jobs"]) => {
                let (cid, lid) = (body["customerId"].as_i64().unwrap_or(-1), body["locationId"].as_i64().unwrap_or(-1));
                if !self.locations.iter().any(|l| l["id"] == lid && l["customerId"] == cid) {
                    return err(404, "Location not found for customer");
                }
                if body["appointments"].as_array().is_none_or(|a| a.is_empty()) {
                    return err(400, "At least one appointment is required");
                }
                let id = self.id();
                let job = json!({"id": id, "jobNumber": format!("{id}"), "customerId": cid, "locationId": lid,
                    "jobTypeId": body["jobTypeId"], "businessUnitId": body["businessUnitId"], "summary": body["summary"],
                    "_created": now, "_body": body});
                self.jobs.push(job.clone());
                ok(job)
            }
            (Method::Get, "jpm", ["jobs"]) => {
                let f = |k: &str| Self::q(req, k).and_then(|x| x.parse::<i64>().ok());
                let hits = self
                    .jobs
                    .iter()
                    .filter(|j| f("customerId").is_none_or(|v| j["customerId"] == v))
                    .filter(|j| f("locationId").is_none_or(|v| j["locationId"] == v))
                    .filter(|j| f("jobTypeId").is_none_or(|v| j["jobTypeId"] == v))
                    .filter(|j| j["_created"].as_i64().unwrap_or(0) >= since)
                    .cloned()
                    .collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            (Method::Post, m, [kind @ ("jobs" | "customers"), id, "notes"]) if m == "jpm" || m == "crm" => {
                let id: i64 = id.parse().unwrap_or(-1);
                let exists = match *kind {
                    "jobs" => self.jobs.iter().any(|j| j["id"] == id),
                    _ => self.customers.iter().any(|c| c["id"] == id),
                };
                if !exists {
                    return err(404, "Not found");
                }
                let text = body["text"].as_str().unwrap_or("").to_string();
                self.notes.push((kind.to_string(), id, text.clone()));
                ok(
                    json!({"text": text, "isPinned": body["pinToTop"], "createdById": 1, "createdOn": "2025-07-07T12:00:00Z", "modifiedOn": "2025-07-07T12:00:00Z"}),
                )
            }
            (Method::Get, _, [kind @ ("jobs" | "customers"), id, "notes"]) => {
                let id: i64 = id.parse().unwrap_or(-1);
                let hits = self
                    .notes
                    .iter()
                    .filter(|(k, o, _)| k == kind && *o == id)
                    .map(|(_, _, t)| json!({"text": t}))
                    .collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            (Method::Post, "crm", ["booking-provider", _, "bookings"]) => {
                if body["externalId"].as_str().is_none() || body["summary"].as_str().is_none() {
                    return err(400, "One or more validation errors occurred.");
                }
                let id = self.id();
                let b = json!({"id": id, "externalId": body["externalId"], "status": "New", "_body": body});
                self.bookings.push(b.clone());
                ok(b)
            }
            (Method::Get, "crm", ["booking-provider", _, "bookings"]) => {
                let ext = Self::q(req, "externalId");
                let hits = self.bookings.iter().filter(|b| ext.is_none_or(|e| b["externalId"] == e)).cloned().collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            (Method::Post, "sales", ["estimates"]) => {
                let jid = body["jobId"].as_i64().unwrap_or(-1);
                if !self.jobs.iter().any(|j| j["id"] == jid) {
                    return err(404, "Job not found");
                }
                let id = self.id();
                let e = json!({"id": id, "jobId": jid, "active": true, "modifiedOn": "2025-07-07T12:00:00Z", "summary": body["summary"]});
                self.estimates.push(e.clone());
                ok(e)
            }
            (Method::Get, "sales", ["estimates"]) => {
                let jid: i64 = Self::q(req, "jobId").and_then(|x| x.parse().ok()).unwrap_or(-1);
                let hits = self.estimates.iter().filter(|e| e["jobId"] == jid).cloned().collect();
                StResponse { status: 200, retry_after: None, body: page(hits) }
            }
            _ => err(404, "no such route"),
        }
    }
}

/// Drives a pipeline against the fake until it is done; the clock jumps over waits.
pub fn run(p: &mut BookingPipeline, fake: &mut Fake, now: &mut i64) -> Outcome {
    for _ in 0..500 {
        match p.next_request(*now) {
            Step::Send(req) => {
                let resp = fake.handle(&req, *now);
                *now += 1;
                p.on_response(resp, *now);
            }
            Step::Wait { until } => {
                assert!(until > *now, "wait must move forward");
                *now = until;
            }
            Step::Done(o) => return o,
        }
    }
    panic!("pipeline did not finish");
}

// ---- The booking run against the fake: ServiceTitan, the owner's webhook receiver and
// KV, all in-process, with the same virtual clock.

use booking_core::run::{Action, Attention, BookingRun, Delivery, DeliveryResult, Record};

/// The owner's webhook URL in run tests.
pub const HOOK_URL: &str = "https://owner.example/hooks";

/// How ServiceTitan answers while it is "down" (or misconfigured): `None` = normally.
pub type Outage = Box<dyn Fn(i64, &StRequest) -> Option<StResponse>>;
/// How the owner's receiver answers the n-th attempt (0-based) at `now`.
pub type Receiver = Box<dyn Fn(usize, i64) -> DeliveryResult>;

/// One conversation's run with everything around it.
pub struct World {
    pub run: BookingRun,
    pub st: Fake,
    pub now: i64,
    pub outage: Outage,
    pub receiver: Receiver,
    /// Every delivery attempt: (time, delivery, answer).
    pub attempts: Vec<(i64, Delivery, DeliveryResult)>,
    /// Every record written, in order.
    pub records: Vec<Record>,
    /// KV's attention entry for this conversation.
    pub attention: Option<Attention>,
    /// Requests sent while down.
    pub refused: usize,
}

/// The northstar site with a webhook URL.
pub fn hooked_site() -> SiteConfig {
    let mut s = site();
    s.webhook_url = Some(HOOK_URL.into());
    s
}

/// A JSON error body like ServiceTitan's.
pub fn st_error(status: u16, title: &str) -> StResponse {
    err(status, title)
}

impl World {
    /// A run for `site`, not yet submitted; ServiceTitan up, the receiver answering 200.
    pub fn new(site: SiteConfig) -> World {
        World {
            run: BookingRun::new(site, 123, "chat-7f3c2a".into(), NOW),
            st: Fake::new(),
            now: NOW,
            outage: Box::new(|_, _| None),
            receiver: Box::new(|_, _| DeliveryResult::Delivered),
            attempts: vec![],
            records: vec![],
            attention: None,
            refused: 0,
        }
    }

    /// ServiceTitan answers 503 to everything before `until`.
    pub fn down_until(&mut self, until: i64) {
        self.outage = Box::new(move |now, _| (now < until).then(|| err(503, "Service Unavailable")));
    }

    /// Drives the run until it is idle or wants to sleep past `until`. Like the Durable
    /// Object, it stores (serializes) the run after every step.
    pub fn drive_until(&mut self, until: i64) {
        for _ in 0..100_000 {
            let action = self.run.next_action(self.now);
            self.store();
            match action {
                Action::Send(req) => {
                    let resp = match (self.outage)(self.now, &req) {
                        Some(r) => {
                            self.st.log.push(req.clone());
                            self.refused += 1;
                            r
                        }
                        None => self.st.handle(&req, self.now),
                    };
                    self.now += 1;
                    self.run.on_response(resp, self.now);
                }
                Action::Deliver(d) => {
                    let n = self.attempts.iter().filter(|(_, x, _)| x.id == d.id).count();
                    let answer = (self.receiver)(n, self.now);
                    self.attempts.push((self.now, d.clone(), answer));
                    self.run.on_delivery(&d.id, answer, self.now);
                }
                Action::Record(r) => {
                    match &r {
                        Record::Attention(a) => self.attention = Some(a.clone()),
                        Record::AttentionCleared { .. } => self.attention = None,
                        _ => {}
                    }
                    self.records.push(r);
                    self.run.on_recorded(self.now);
                }
                Action::WakeAt(t) => {
                    assert!(t > self.now, "a wake-up must move forward");
                    if t > until {
                        return;
                    }
                    self.now = t;
                }
                Action::Idle => return,
            }
            self.store();
        }
        panic!("the run never settled");
    }

    /// Drives until idle (a week and a day at most).
    pub fn drive(&mut self) {
        self.drive_until(self.now + 8 * 86400);
    }

    fn store(&mut self) {
        let stored = serde_json::to_string(&self.run).expect("run serializes");
        self.run = serde_json::from_str(&stored).expect("run deserializes");
    }

    /// Events of the accepted deliveries, in order.
    pub fn delivered(&self) -> Vec<&'static str> {
        self.attempts
            .iter()
            .filter(|(_, _, a)| *a == DeliveryResult::Delivered)
            .map(|(_, d, _)| d.event.as_str())
            .collect()
    }

    /// The body of the first accepted delivery of `event`.
    pub fn body_of(&self, event: &str) -> Value {
        let (_, d, _) = self
            .attempts
            .iter()
            .find(|(_, d, a)| d.event.as_str() == event && *a == DeliveryResult::Delivered)
            .unwrap_or_else(|| panic!("no {event} delivered: {:?}", self.delivered()));
        serde_json::from_str(&d.body).expect("JSON body")
    }

    /// The final outcome record.
    pub fn outcome(&self) -> Option<&Record> {
        self.records.iter().rev().find(|r| matches!(r, Record::Outcome { .. }))
    }
}
