//! Test harness: the emulator in-process on 127.0.0.1:0 with the shared seed and the
//! real OpenAPI files, and a raw HTTP/1.1 client (raw so a dropped connection is seen
//! as exactly that: no bytes at all).
#![allow(dead_code)]

use serde_json::Value;
use st_sandbox::{app, server, AppState, Config, Shared};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) const TENANT: i64 = 1044990;
pub(crate) const BP: i64 = 7001;
pub(crate) const CLIENT_ID: &str = "test-client";
pub(crate) const CLIENT_SECRET: &str = "test-secret-0000";
pub(crate) const APP_KEY: &str = "ak1.test-app-key";

pub(crate) struct Sbx {
    pub addr: SocketAddr,
    pub state: Shared,
    pub token: String,
}

#[derive(Debug)]
pub(crate) struct Resp {
    /// 0 when the connection closed without a response.
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub text: String,
}

pub(crate) fn config() -> Config {
    Config {
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(CLIENT_SECRET.into()),
        app_key: Some(APP_KEY.into()),
        ..Config::default()
    }
}

pub(crate) async fn start_with(config: Config) -> Sbx {
    let state = Arc::new(AppState::new(&config).expect("seed and spec load"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, app(state.clone()), std::future::pending()));
    let mut s = Sbx { addr, state, token: String::new() };
    let r = s
        .form(
            "/connect/token",
            &format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"),
        )
        .await;
    s.token = r.body["access_token"].as_str().unwrap_or_default().to_string();
    s
}

pub(crate) async fn start() -> Sbx {
    start_with(config()).await
}

pub(crate) fn t(path: &str) -> String {
    // "/crm/customers" → "/crm/v2/tenant/1044990/customers"
    let (module, rest) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    format!("/{module}/v2/tenant/{TENANT}/{rest}")
}

impl Sbx {
    pub(crate) async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n", self.addr);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or("");
        req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await; // a reset counts as "no response"
        parse(&buf)
    }

    /// An authenticated API call.
    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let auth = format!("Bearer {}", self.token);
        self.raw(
            method,
            path,
            &[("authorization", &auth), ("st-app-key", APP_KEY), ("content-type", "application/json")],
            body,
        )
        .await
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(&body.to_string())).await
    }

    pub(crate) async fn form(&self, path: &str, body: &str) -> Resp {
        self.raw("POST", path, &[("content-type", "application/x-www-form-urlencoded")], Some(body)).await
    }

    pub(crate) async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let b = body.map(|b| b.to_string());
        self.raw(method, path, &[("content-type", "application/json")], b.as_deref()).await
    }

    pub(crate) async fn records(&self) -> Value {
        self.admin("GET", "/_admin/records", None).await.body
    }

    pub(crate) async fn fault(&self, spec: Value) {
        let r = self.admin("POST", "/_admin/faults", Some(&spec)).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn parse(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf).into_owned();
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        return Resp { status: 0, headers: HashMap::new(), body: Value::Null, text };
    };
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body_text = if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let body = serde_json::from_str(&body_text).unwrap_or(Value::Null);
    Resp { status, headers, body, text: body_text }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Asserts ServiceTitan's error shape and returns its `errors`.
pub(crate) fn st_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    for k in ["type", "title", "status", "traceId", "errors", "data"] {
        assert!(r.body.get(k).is_some(), "error body lacks {k}: {}", r.text);
    }
    assert_eq!(r.body["status"], status);
    r.body["errors"].clone()
}

pub(crate) fn ids(r: &Resp) -> Vec<i64> {
    r.body["data"].as_array().map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect()).unwrap_or_default()
}

pub(crate) fn new_customer(name: &str, street: &str, zip: &str, phone: &str) -> Value {
    let addr =
        serde_json::json!({"street": street, "city": "Minneapolis", "state": "MN", "zip": zip, "country": "USA"});
    serde_json::json!({
        "name": name, "type": "Residential", "address": addr,
        "locations": [{"name": "Home", "address": addr, "contacts": [{"type": "Phone", "value": phone}]}],
        "contacts": [{"type": "MobilePhone", "value": phone, "memo": null}, {"type": "Email", "value": "x@example.com"}],
    })
}

pub(crate) fn new_job(customer: i64, location: i64) -> Value {
    serde_json::json!({
        "customerId": customer, "locationId": location, "businessUnitId": 1001, "jobTypeId": 2001,
        "priority": "Normal", "campaignId": 3001, "summary": "AC not cooling",
        "appointments": [{"start": "2030-07-01T15:00:00Z", "end": "2030-07-01T17:00:00Z",
                          "arrivalWindowStart": "2030-07-01T15:00:00Z", "arrivalWindowEnd": "2030-07-01T19:00:00Z"}],
        "customFields": [{"typeId": 1, "value": "x"}],
    })
}
