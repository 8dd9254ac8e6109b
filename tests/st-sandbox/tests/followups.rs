//! What follow-ups need from the emulator, over real sockets: estimates, invoices and
//! payments, job status changes, the export feeds, and the signed webhooks the admin
//! changes fire (duplicates, late and skipped deliveries, retries after a 500).
//! Every answer the spec has a schema for is checked against it.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET with the answer checked against the operation's 200 schema (when there is one).
async fn get_checked(s: &Sbx, path: &str) -> Value {
    let r = s.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let bare = path.split('?').next().unwrap_or(path);
    if let Some(errors) = s.state.spec.check_response("GET", bare, &r.body) {
        assert!(errors.is_empty(), "{path} does not fit its schema: {errors:?}\n{}", r.text);
    }
    r.body
}

async fn change(s: &Sbx, path: &str, body: Value) -> Value {
    let r = s.admin("POST", path, Some(&body)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

/// A job for the seed's first customer, through the API.
async fn job(s: &Sbx) -> i64 {
    let r = s.post(&t("/jpm/jobs"), &new_job(5001, 6001)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

fn rid(v: &Value) -> i64 {
    v["record"]["id"].as_i64().unwrap()
}

// ---------- a webhook receiver: a real HTTP server recording each POST ----------

#[derive(Clone, Debug)]
struct Hit {
    headers: HashMap<String, String>,
    body: String,
}

struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// Answers each POST with the next status of `statuses`, then 200.
    async fn start(statuses: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/st/webhook", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(statuses.iter().copied().collect::<VecDeque<u16>>()));
        let (h, p) = (hits.clone(), plan);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (h, p) = (h.clone(), p.clone());
                tokio::spawn(async move {
                    let Some(hit) = read_request(&mut sock).await else { return };
                    let status = p.lock().unwrap().pop_front().unwrap_or(200);
                    h.lock().unwrap().push(hit);
                    let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        Receiver { url, hits }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (5 s at most), then a little longer to see extras.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..500 {
            if self.hits().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.hits()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Hit> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let headers: HashMap<String, String> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            if rest.len() >= len {
                return Some(Hit { headers, body: rest[..len].to_string() });
            }
        }
    }
}

const KEY: &str = "0123456789abcdef0123456789abcdef-hmac-key";

async fn subscribe(s: &Sbx, url: &str, extra: Value) {
    let mut sub = json!({"url": url, "hmacKey": KEY});
    if let (Value::Object(a), Value::Object(b)) = (&mut sub, extra) {
        a.extend(b);
    }
    let r = s.admin("POST", "/_admin/webhooks", Some(&sub)).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

fn hmac_of(body: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn event(hit: &Hit) -> Value {
    serde_json::from_str(&hit.body).unwrap()
}

// ---------- REST ----------

#[tokio::test]
async fn estimates_by_id_list_filters_and_paging() {
    let s = start().await;
    let jid = job(&s).await;
    let a = rid(&change(&s, "/_admin/estimates", json!({"jobId": jid, "name": "New furnace", "subtotal": 4200})).await);
    let b = rid(&change(&s, "/_admin/estimates", json!({"customerId": 5002, "name": "Water heater"})).await);
    let one = get_checked(&s, &t(&format!("/sales/estimates/{a}"))).await;
    assert_eq!((one["status"]["name"].as_str(), one["jobId"].as_i64()), (Some("Open"), Some(jid)));
    assert_eq!((one["customerId"].as_i64(), one["subtotal"].as_f64()), (Some(5001), Some(4200.0)));
    let _ = st_error(&s.get(&t("/sales/estimates/999999")).await, 404);

    let before_sale = one["modifiedOn"].as_str().unwrap().to_string();
    let sold = change(&s, &format!("/_admin/estimates/{a}/sold"), json!({"soldBy": 4001})).await;
    assert!(sold["record"]["modifiedOn"].as_str().unwrap() > before_sale.as_str());
    assert_eq!(sold["record"]["soldBy"], 4001);
    let sold_at = sold["record"]["modifiedOn"].as_str().unwrap().to_string();

    let list = |q: String| {
        let s = &s;
        async move { ids_of(&get_checked(s, &format!("{}?{q}", t("/sales/estimates"))).await) }
    };
    assert_eq!(list(format!("ids={a},{b}")).await, vec![a, b]);
    assert_eq!(list("status=Sold".into()).await, vec![a]);
    assert_eq!(list("status=open".into()).await, vec![b]);
    assert_eq!(list(format!("modifiedOnOrAfter={sold_at}")).await, vec![a]);
    assert_eq!(list(format!("jobId={jid}")).await, vec![a]);
    assert_eq!(list(format!("soldAfter={sold_at}")).await, vec![a]);
    assert_eq!(list(format!("soldBefore={sold_at}")).await, Vec::<i64>::new());
    let page = get_checked(&s, &format!("{}?pageSize=1&page=2&includeTotal=true", t("/sales/estimates"))).await;
    assert_eq!(
        (ids_of(&page), page["hasMore"].as_bool(), page["totalCount"].as_i64()),
        (vec![b], Some(false), Some(2))
    );
    let _ = st_error(&s.get(&format!("{}?modifiedOnOrAfter=soon", t("/sales/estimates"))).await, 400);

    let dismissed = change(&s, &format!("/_admin/estimates/{b}/dismissed"), json!({})).await;
    assert_eq!(dismissed["record"]["status"], json!({"value": 2, "name": "Dismissed"}));
    for action in ["sent", "viewed"] {
        let r = change(&s, &format!("/_admin/estimates/{b}/{action}"), json!({})).await;
        assert!(r["events"][0][format!("{action}On")].is_string(), "{r}");
    }
    assert_eq!(s.admin("POST", &format!("/_admin/estimates/{b}/signed"), None).await.status, 404);
    assert_eq!(s.admin("POST", "/_admin/estimates/999999/sold", None).await.status, 404);
    assert_eq!(s.admin("POST", "/_admin/estimates", Some(&json!({"name": "x"}))).await.status, 400);
}

fn ids_of(v: &Value) -> Vec<i64> {
    v["data"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn invoices_by_ids_payments_by_invoice() {
    let s = start().await;
    let jid = job(&s).await;
    let inv = change(&s, "/_admin/invoices", json!({"jobId": jid, "total": "250.50"})).await;
    let iid = rid(&inv);
    let path = format!("{}?ids={iid}", t("/accounting/invoices"));
    let got = get_checked(&s, &path).await;
    assert_eq!(ids_of(&got), vec![iid]);
    let i = &got["data"][0];
    assert_eq!((i["balance"].as_str(), i["total"].as_str()), (Some("250.50"), Some("250.50")));
    assert_eq!((i["job"]["id"].as_i64(), i["customer"]["id"].as_i64()), (Some(jid), Some(5001)));
    // ServiceTitan has no GET invoices/{id}.
    let _ = st_error(&s.get(&t(&format!("/accounting/invoices/{iid}"))).await, 404);

    let due_before = i["dueDate"].as_str().unwrap().to_string();
    let overdue = change(&s, &format!("/_admin/invoices/{iid}/overdue"), json!({"days": 10})).await;
    let due = overdue["record"]["dueDate"].as_str().unwrap();
    assert!(due < due_before.as_str() && due < st_sandbox::time::now_rfc3339().as_str(), "{due}");
    let now = st_sandbox::time::now_rfc3339();
    assert_eq!(
        ids_of(&get_checked(&s, &format!("{}?dueDateBefore={now}", t("/accounting/invoices"))).await),
        vec![iid]
    );
    assert_eq!(
        ids_of(&get_checked(&s, &format!("{}?customerId=5002", t("/accounting/invoices"))).await),
        Vec::<i64>::new()
    );

    let none = get_checked(&s, &format!("{}?appliedToInvoiceIds={iid}", t("/accounting/payments"))).await;
    assert_eq!(ids_of(&none), Vec::<i64>::new());
    let paid = change(&s, &format!("/_admin/invoices/{iid}/paid"), json!({})).await;
    assert_eq!(paid["record"]["balance"], "0.00");
    let types: Vec<&str> =
        paid["events"].as_array().unwrap().iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["Payment.Created", "Invoice.Paid"]);
    let pays = get_checked(&s, &format!("{}?appliedToInvoiceIds=1,{iid}", t("/accounting/payments"))).await;
    assert_eq!(pays["data"].as_array().unwrap().len(), 1);
    assert_eq!(pays["data"][0]["appliedTo"][0]["appliedTo"], iid);
    assert_eq!(pays["data"][0]["total"], "250.50");
    let paid_on = pays["data"][0]["date"].as_str().unwrap().to_string();
    let q = |p: &str| format!("{}?{p}={paid_on}", t("/accounting/payments"));
    assert_eq!(get_checked(&s, &q("paidOnAfter")).await["data"].as_array().unwrap().len(), 1);
    assert_eq!(get_checked(&s, &q("paidOnBefore")).await["data"].as_array().unwrap().len(), 0);
    assert_eq!(get_checked(&s, &path).await["data"][0]["balance"], "0.00");
    // Nothing left to pay.
    assert_eq!(s.admin("POST", &format!("/_admin/invoices/{iid}/paid"), None).await.status, 400);
    assert_eq!(s.admin("POST", "/_admin/invoices", Some(&json!({"jobId": 1}))).await.status, 404);
}

#[tokio::test]
async fn job_completed_canceled_and_no_show() {
    let s = start().await;
    let (a, b, c) = (job(&s).await, job(&s).await, job(&s).await);
    let got = get_checked(&s, &t(&format!("/jpm/jobs/{a}"))).await;
    assert_eq!((got["jobStatus"].as_str(), got["notificationsEnabled"].as_bool()), (Some("Scheduled"), Some(true)));

    let done = change(&s, &format!("/_admin/jobs/{a}/completed"), json!({})).await;
    assert_eq!(done["events"][0]["eventType"], "Job.Completed");
    let got = get_checked(&s, &t(&format!("/jpm/jobs/{a}"))).await;
    assert_eq!(got["jobStatus"], "Completed");
    assert!(got["completedOn"].is_string());
    let appt = got["firstAppointmentId"].as_i64().unwrap();
    assert_eq!(get_checked(&s, &t(&format!("/jpm/appointments/{appt}"))).await["status"], "Done");

    change(&s, &format!("/_admin/jobs/{b}/no-show"), json!({"memo": "nobody home"})).await;
    let got = get_checked(&s, &t(&format!("/jpm/jobs/{b}"))).await;
    assert_eq!(got["jobStatus"], "Canceled");
    let log = get_checked(&s, &t(&format!("/jpm/jobs/{b}/canceled-log"))).await;
    assert_eq!(
        (log["data"][0]["name"].as_str(), log["data"][0]["memo"].as_str()),
        (Some("No show"), Some("nobody home"))
    );
    let reasons = get_checked(&s, &t("/jpm/job-cancel-reasons")).await;
    assert_eq!(reasons["data"][0]["id"], log["data"][0]["reasonId"]);
    let appt = got["firstAppointmentId"].as_i64().unwrap();
    assert_eq!(get_checked(&s, &t(&format!("/jpm/appointments/{appt}"))).await["status"], "Canceled");

    change(&s, &format!("/_admin/jobs/{c}/canceled"), json!({})).await;
    let log = get_checked(&s, &t(&format!("/jpm/jobs/{c}/canceled-log"))).await;
    assert_eq!(log["data"][0]["name"], "Customer canceled");
    change(&s, &format!("/_admin/jobs/{c}/notifications"), json!({"enabled": false})).await;
    assert_eq!(get_checked(&s, &t(&format!("/jpm/jobs/{c}"))).await["notificationsEnabled"], false);
    assert_eq!(ids_of(&get_checked(&s, &format!("{}?jobStatus=Canceled", t("/jpm/jobs"))).await), vec![b, c]);
    assert_eq!(s.admin("POST", &format!("/_admin/jobs/{c}/notifications"), None).await.status, 400);

    // A visit moved to tomorrow morning.
    let d = job(&s).await;
    let appt = get_checked(&s, &t(&format!("/jpm/jobs/{d}"))).await["firstAppointmentId"].as_i64().unwrap();
    let times = json!({"start": "2031-01-02T15:00:00Z", "end": "2031-01-02T17:00:00Z", "arrivalWindowStart": "2031-01-02T14:00:00Z", "arrivalWindowEnd": "2031-01-02T18:00:00Z"});
    let moved = change(&s, &format!("/_admin/appointments/{appt}/rescheduled"), times).await;
    assert_eq!(moved["events"][0]["eventType"], "Appointment.Rescheduled");
    let got = get_checked(&s, &t(&format!("/jpm/appointments/{appt}"))).await;
    assert_eq!(
        (got["start"].as_str(), got["arrivalWindowEnd"].as_str()),
        (Some("2031-01-02T15:00:00Z"), Some("2031-01-02T18:00:00Z"))
    );
    let bad = json!({"start": "2031-01-02T15:00:00Z", "end": "2031-01-02T14:00:00Z"});
    assert_eq!(s.admin("POST", &format!("/_admin/appointments/{appt}/rescheduled"), Some(&bad)).await.status, 400);
    assert_eq!(
        s.admin("POST", &format!("/_admin/appointments/{appt}/rescheduled"), Some(&json!({"start": "soon"})))
            .await
            .status,
        400
    );
    assert_eq!(s.admin("POST", &format!("/_admin/jobs/{c}/exploded"), None).await.status, 404);
    let _ = st_error(&s.get(&t("/jpm/jobs/999999/canceled-log")).await, 404);
}

#[tokio::test]
async fn export_feeds_continue_from_tokens() {
    let s = start().await;
    let jid = job(&s).await;
    let mut made = Vec::new();
    for n in 0..3 {
        made.push(rid(&change(&s, "/_admin/estimates", json!({"jobId": jid, "name": format!("E{n}")})).await));
    }
    let feed = |from: Option<String>| {
        let s = &s;
        async move {
            let q = from.map(|f| format!("&from={f}")).unwrap_or_default();
            let r = s.get(&format!("{}?pageSize=2{q}", t("/sales/estimates/export"))).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body
        }
    };
    let first = feed(None).await;
    assert_eq!((ids_of(&first), first["hasMore"].as_bool()), (made[..2].to_vec(), Some(true)));
    let token = first["continueFrom"].as_str().unwrap().to_string();
    let second = feed(Some(token)).await;
    assert_eq!((ids_of(&second), second["hasMore"].as_bool()), (vec![made[2]], Some(false)));
    let token = second["continueFrom"].as_str().unwrap().to_string();
    let idle = feed(Some(token.clone())).await;
    assert_eq!((ids_of(&idle), idle["continueFrom"].as_str()), (Vec::<i64>::new(), Some(token.as_str())));
    // A change moves the record past the token: the poller sees it again, once.
    change(&s, &format!("/_admin/estimates/{}/sold", made[0]), json!({})).await;
    let after = feed(Some(token)).await;
    assert_eq!(ids_of(&after), vec![made[0]]);
    assert_eq!(after["data"][0]["status"]["name"], "Sold");
    let again = feed(Some(after["continueFrom"].as_str().unwrap().to_string())).await;
    assert_eq!(ids_of(&again), Vec::<i64>::new());
    // A date as `from`; a bad one.
    assert_eq!(ids_of(&feed(Some("2000-01-01".into())).await), made[1..].to_vec());
    let _ = st_error(&s.get(&format!("{}?from=st1-oops", t("/sales/estimates/export"))).await, 400);

    // The other feeds carry their records.
    let inv = rid(&change(&s, "/_admin/invoices", json!({"jobId": jid})).await);
    change(&s, &format!("/_admin/invoices/{inv}/paid"), json!({})).await;
    for (path, want) in [
        ("/jpm/export/jobs", 1),
        ("/jpm/export/appointments", 1),
        ("/accounting/export/invoices", 1),
        ("/accounting/export/payments", 1),
    ] {
        let r = s.get(&t(path)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["data"].as_array().unwrap().len(), want, "{path}");
        assert!(r.body["continueFrom"].as_str().unwrap().starts_with("st1-"), "{path}");
    }
}

// ---------- webhooks ----------

#[tokio::test]
async fn an_admin_change_fires_one_signed_webhook() {
    let s = start().await;
    let rx = Receiver::start(&[]).await;
    subscribe(&s, &rx.url, json!({})).await;
    let jid = job(&s).await; // an API call fires nothing
    let est = rid(&change(&s, "/_admin/estimates", json!({"jobId": jid})).await);
    let sold = change(&s, &format!("/_admin/estimates/{est}/sold"), json!({})).await;
    let hits = rx.wait_for(2).await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    let hit = &hits[1];
    let sig = &hit.headers["x-servicetitan-signature"];
    let hex: String = hmac_of(&hit.body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sig, &hex, "hex HMAC-SHA256 of the raw body");
    let e = event(hit);
    assert_eq!(e, sold["events"][0]);
    assert_eq!(
        (e["eventType"].as_str(), e["entityType"].as_str(), e["entityId"].as_i64()),
        (Some("Estimate.Sold"), Some("Estimate"), Some(est))
    );
    assert_eq!((e["tenantId"].as_i64(), e["modifiedOn"].clone()), (Some(TENANT), sold["record"]["modifiedOn"].clone()));
    assert_eq!(hit.headers["content-type"], "application/json");

    // base64 under a header of the site's choosing; the key never shows.
    subscribe(&s, &rx.url, json!({"header": "X-ST-Signature", "encoding": "base64"})).await;
    change(&s, &format!("/_admin/estimates/{est}/dismissed"), json!({})).await;
    let hits = rx.wait_for(3).await;
    let sig = &hits[2].headers["x-st-signature"];
    assert_eq!(sig, &st_sandbox::webhooks::base64(&hmac_of(&hits[2].body)));
    let listed = s.admin("GET", "/_admin/webhooks", None).await;
    assert!(!listed.text.contains(KEY));
    assert_eq!(listed.body["deliveries"].as_array().unwrap().len(), 3);
    assert!(listed.body["deliveries"].as_array().unwrap().iter().all(|d| d["status"] == "delivered"));
    // Subscribed to jobs only: an estimate event is not sent.
    subscribe(&s, &rx.url, json!({"eventTypes": ["Job"]})).await;
    change(&s, &format!("/_admin/estimates/{est}/viewed"), json!({})).await;
    change(&s, &format!("/_admin/jobs/{jid}/completed"), json!({})).await;
    let hits = rx.wait_for(4).await;
    assert_eq!(hits.len(), 4, "{hits:?}");
    assert_eq!(event(&hits[3])["eventType"], "Job.Completed");
    assert_eq!(s.admin("POST", "/_admin/webhooks", Some(&json!({"url": "https://x"}))).await.status, 400);
    assert_eq!(
        s.admin("POST", "/_admin/webhooks", Some(&json!({"url": rx.url, "encoding": "rot13"}))).await.status,
        400
    );
}

#[tokio::test]
async fn duplicate_late_and_skipped_deliveries() {
    let s = start().await;
    let rx = Receiver::start(&[]).await;
    subscribe(&s, &rx.url, json!({})).await;
    let jid = job(&s).await;
    let inv = rid(&change(&s, "/_admin/invoices?deliver=skip", json!({"jobId": jid})).await);
    let est = rid(&change(&s, "/_admin/estimates?deliver=duplicate", json!({"jobId": jid})).await);
    let hits = rx.wait_for(2).await;
    assert_eq!(hits.len(), 2, "the skipped one never comes: {hits:?}");
    assert_eq!(
        (hits[0].body.clone(), hits[0].headers["x-servicetitan-signature"].clone()),
        (hits[1].body.clone(), hits[1].headers["x-servicetitan-signature"].clone())
    );
    assert_eq!(event(&hits[0])["entityId"], est);

    // Late: held until the next event has gone out.
    change(&s, &format!("/_admin/estimates/{est}/sent?deliver=late"), json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.hits().len(), 2, "held back");
    change(&s, &format!("/_admin/estimates/{est}/sold"), json!({})).await;
    let hits = rx.wait_for(4).await;
    let order: Vec<String> = hits[2..].iter().map(|h| event(h)["eventType"].as_str().unwrap().to_string()).collect();
    assert_eq!(order, ["Estimate.Sold", "Estimate.Sent"]);
    assert!(event(&hits[3])["modifiedOn"].as_str() < event(&hits[2])["modifiedOn"].as_str(), "the late one is older");

    // The skipped change is in the feed, for a poller to find.
    let feed = s.get(&t("/accounting/export/invoices")).await;
    assert_eq!(ids_of(&feed.body), vec![inv]);
    let log = s.admin("GET", "/_admin/webhooks", None).await.body;
    assert_eq!(log["deliveries"][0]["status"], "skipped");

    // A held event with no next one goes out on flush.
    change(&s, &format!("/_admin/jobs/{jid}/completed?deliver=late"), json!({})).await;
    assert_eq!(s.admin("POST", "/_admin/webhooks/flush", None).await.body["flushed"], true);
    let hits = rx.wait_for(5).await;
    assert_eq!(event(&hits[4])["eventType"], "Job.Completed");
    assert_eq!(s.admin("POST", "/_admin/estimates?deliver=twice", Some(&json!({"jobId": jid}))).await.status, 400);
}

#[tokio::test]
async fn a_500_from_the_receiver_is_retried_then_given_up() {
    // 10/30/60/300 s at ×1000: 10/30/60/300 ms.
    let s = start_with(st_sandbox::Config { time_factor: 1000.0, ..config() }).await;
    let rx = Receiver::start(&[500, 503]).await;
    subscribe(&s, &rx.url, json!({})).await;
    let jid = job(&s).await;
    change(&s, "/_admin/invoices", json!({"jobId": jid})).await;
    let hits = rx.wait_for(3).await;
    assert_eq!(hits.len(), 3, "500, 503, then 200: {hits:?}");
    assert!(hits.windows(2).all(|w| w[0].body == w[1].body));
    let log = s.admin("GET", "/_admin/webhooks", None).await.body;
    let d = &log["deliveries"][0];
    assert_eq!(d["status"], "delivered");
    let codes: Vec<i64> = d["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 200]);

    // Always failing: the first try and four retries, then it stops.
    let down = Receiver::start(&[500; 20]).await;
    subscribe(&s, &down.url, json!({})).await;
    change(&s, &format!("/_admin/jobs/{jid}/completed"), json!({})).await;
    assert_eq!(down.wait_for(5).await.len(), 5);
    let mut status = Value::Null;
    for _ in 0..100 {
        status = s.admin("GET", "/_admin/webhooks", None).await.body["deliveries"][1]["status"].clone();
        if status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "failed");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(down.hits().len(), 5, "no sixth try");
}

/// Regression: job (and customer, location) custom fields were answered with `"name": null`,
/// which the spec's `CustomFieldApiModel` does not allow (name is a required string).
#[tokio::test]
async fn custom_field_name_null_broke_the_job_schema() {
    let s = start().await;
    let jid = job(&s).await;
    let got = get_checked(&s, &t(&format!("/jpm/jobs/{jid}"))).await;
    assert!(got["customFields"][0]["name"].is_string());
}

/// The older GETs the spec has a 200 schema for answer in that shape. Left out: contacts
/// (the 2022 spec makes `phoneSettings` required even on an email, which the seed answers
/// with null) and bookings (a seeded booking with no `start`).
#[tokio::test]
async fn existing_answers_fit_the_spec() {
    let s = start().await;
    let jid = job(&s).await;
    for path in [
        "/settings/business-units",
        "/settings/business-units/1001",
        "/settings/technicians",
        "/settings/technicians/4001",
        "/marketing/campaigns",
        "/marketing/campaigns/3001",
        "/jpm/job-types",
        "/jpm/job-types/2001",
        "/jpm/jobs",
        "/jpm/appointments",
        "/crm/customers",
        "/crm/customers/5001",
        "/crm/locations",
        "/crm/locations/6001",
        "/crm/leads",
        "/sales/estimates",
    ] {
        get_checked(&s, &t(path)).await;
    }
    get_checked(&s, &t(&format!("/jpm/jobs/{jid}/notes"))).await;
}

/// Regression: an estimate made through the API had items with a null `description` and
/// no `skuAccount`, which `EstimateItemResponse` requires.
#[tokio::test]
async fn estimate_items_lacked_required_strings() {
    let s = start().await;
    let jid = job(&s).await;
    let body = json!({"jobId": jid, "name": "Furnace", "items": [{"skuId": 1, "quantity": 2, "unitPrice": 100.5}]});
    let r = s.post(&t("/sales/estimates"), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let got = get_checked(&s, &t(&format!("/sales/estimates/{id}"))).await;
    assert_eq!(got["items"][0]["total"], 201.0);
}

#[tokio::test]
async fn a_test_customer_with_a_job_the_clock_and_ids_that_survive_a_reset() {
    let s = start().await;
    let made = change(&s, "/_admin/customers", json!({"name": "Pat Lee", "mobile": "6125550191", "state": "FL"})).await;
    let customer = rid(&made);
    let got = get_checked(&s, &t(&format!("/crm/customers/{customer}"))).await;
    assert_eq!(got["address"]["state"], "FL");
    let contacts = get_checked(&s, &t(&format!("/crm/customers/{customer}/contacts"))).await;
    assert_eq!(contacts["data"][0]["type"], "MobilePhone");
    let locations = get_checked(&s, &format!("{}?customerId={customer}", t("/crm/locations"))).await;
    assert_eq!(locations["data"][0]["address"]["state"], "FL");
    assert_eq!(s.admin("POST", "/_admin/customers", Some(&json!({"name": "X", "state": "Florida"}))).await.status, 400);

    let job = change(&s, "/_admin/jobs", json!({"customerId": customer})).await;
    assert_eq!(job["events"][0]["eventType"], "Job.Created");
    let jid = rid(&job);
    let got = get_checked(&s, &t(&format!("/jpm/jobs/{jid}"))).await;
    assert_eq!((got["jobStatus"].as_str(), got["customerId"].as_i64()), (Some("Scheduled"), Some(customer)));
    let appt = got["firstAppointmentId"].as_i64().unwrap();
    assert_eq!(get_checked(&s, &t(&format!("/jpm/appointments/{appt}"))).await["jobId"], jid);
    assert_eq!(s.admin("POST", "/_admin/jobs", Some(&json!({"customerId": 1}))).await.status, 404);

    // The office's clock, 23 h back: the estimate's sentOn and modifiedOn follow it.
    let clock = change(&s, "/_admin/clock", json!({"offsetMs": -23 * 3_600_000})).await;
    let est = rid(&change(&s, "/_admin/estimates", json!({"customerId": customer})).await);
    let sent = change(&s, &format!("/_admin/estimates/{est}/sent"), json!({})).await;
    let sent_on = sent["events"][0]["sentOn"].as_str().unwrap().to_string();
    let ago = st_sandbox::time::now_ms() - st_sandbox::time::parse_ms(&sent_on).unwrap();
    assert!((23 * 3_600_000 - 60_000..23 * 3_600_000 + 60_000).contains(&ago), "{clock} {sent_on}");
    assert_eq!(s.admin("POST", "/_admin/clock", Some(&json!({}))).await.status, 400);

    // A reset goes back to the seed and the real clock, but never hands out an id twice.
    assert_eq!(s.admin("POST", "/_admin/reset", None).await.status, 204);
    let after = rid(&change(&s, "/_admin/customers", json!({"name": "Sam Ortiz"})).await);
    assert!(after > est, "ids go on rising after a reset ({after} after {est})");
    let modified =
        get_checked(&s, &t(&format!("/crm/customers/{after}"))).await["modifiedOn"].as_str().unwrap().to_string();
    assert!(st_sandbox::time::now_ms() - st_sandbox::time::parse_ms(&modified).unwrap() < 60_000);
}
