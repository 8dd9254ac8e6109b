//! Many tenants in one emulator (issue 16 item 1): each its own credentials, records,
//! tokens and faults, the tenant in the path picking which; the first tenant is the
//! single-tenant emulator every other test sees.

mod common;

use common::*;
use serde_json::{json, Value};

const B: i64 = 2044990;
const B_CLIENT: &str = "b-client";
const B_SECRET: &str = "b-secret-1111";
const B_KEY: &str = "ak1.b-app-key";

fn tb(path: &str) -> String {
    t(path).replace(&TENANT.to_string(), &B.to_string())
}

/// The emulator with a second tenant; returns it and a token of tenant B.
async fn two_tenants() -> (Sbx, String) {
    let s = start().await;
    let body = json!({"tenantId": B, "clientId": B_CLIENT, "clientSecret": B_SECRET, "appKey": B_KEY});
    let r = s.admin("POST", "/_admin/tenants", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let form = format!("grant_type=client_credentials&client_id={B_CLIENT}&client_secret={B_SECRET}");
    let token = s.form("/connect/token", &form).await.body["access_token"].as_str().unwrap().to_string();
    (s, token)
}

async fn as_b(s: &Sbx, token: &str, key: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let auth = format!("Bearer {token}");
    let b = body.map(Value::to_string);
    let headers = [("authorization", auth.as_str()), ("st-app-key", key), ("content-type", "application/json")];
    s.raw(method, path, &headers, b.as_deref()).await
}

fn names(records: &Value) -> Vec<String> {
    records["customers"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str().map(String::from)).collect()
}

#[tokio::test]
async fn each_tenant_keeps_its_own_records() {
    let (s, b_token) = two_tenants().await;
    let a = s.post(&t("/crm/customers"), &new_customer("Ada Tenant", "1 A St", "55416", "6125550101")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let customer = new_customer("Bo Tenant", "2 B St", "55416", "6125550102");
    let b = as_b(&s, &b_token, B_KEY, "POST", &tb("/crm/customers"), Some(&customer)).await;
    assert_eq!(b.status, 200, "{}", b.text);
    let (a_names, b_names) =
        (names(&s.records().await), names(&s.admin("GET", "/_admin/records?tenant=2044990", None).await.body));
    assert!(a_names.contains(&"Ada Tenant".into()) && !a_names.contains(&"Bo Tenant".into()), "{a_names:?}");
    assert!(b_names.contains(&"Bo Tenant".into()) && !b_names.contains(&"Ada Tenant".into()), "{b_names:?}");
    let listed = s.admin("GET", "/_admin/tenants", None).await;
    assert_eq!(listed.body["tenants"], json!([TENANT, B]));
    assert!(!listed.text.contains(B_SECRET) && !listed.text.contains(B_KEY));
}

#[tokio::test]
async fn a_token_or_app_key_of_one_tenant_is_refused_on_the_other() {
    let (s, b_token) = two_tenants().await;
    // A's token on B's path, B's token on A's path, A's key with B's token.
    let cross = as_b(&s, &s.token, APP_KEY, "GET", &tb("/crm/customers"), None).await;
    assert_eq!(cross.status, 401, "{}", cross.text);
    let cross = as_b(&s, &b_token, B_KEY, "GET", &t("/crm/customers"), None).await;
    assert_eq!(cross.status, 401, "{}", cross.text);
    let wrong_key = as_b(&s, &b_token, APP_KEY, "GET", &tb("/crm/customers"), None).await;
    assert_eq!(wrong_key.status, 401, "{}", wrong_key.text);
    assert_eq!(as_b(&s, &b_token, B_KEY, "GET", &tb("/crm/customers"), None).await.status, 200);
    // A's client secret does not open B's client.
    let form = format!("grant_type=client_credentials&client_id={B_CLIENT}&client_secret={CLIENT_SECRET}");
    assert_eq!(s.form("/connect/token", &form).await.status, 401);
}

#[tokio::test]
async fn a_fault_on_one_tenant_leaves_the_other_alone() {
    let (s, b_token) = two_tenants().await;
    let fault = json!({"kind": "status", "status": 429, "retryAfter": 7});
    let r = s.admin("POST", "/_admin/faults?tenant=2044990", Some(&fault)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let limited = as_b(&s, &b_token, B_KEY, "GET", &tb("/crm/customers"), None).await;
    assert_eq!((limited.status, limited.headers.get("retry-after").map(String::as_str)), (429, Some("7")));
    assert_eq!(s.get(&t("/crm/customers")).await.status, 200);
    // Each tenant's journal has its own calls only.
    let journal = s.admin("GET", "/_admin/requests?tenant=2044990", None).await.body;
    let paths: Vec<&str> = journal.as_array().unwrap().iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(paths.iter().all(|p| !p.contains(&TENANT.to_string())), "{paths:?}");
    assert_eq!(s.admin("GET", "/_admin/records?tenant=99", None).await.status, 404);
}
