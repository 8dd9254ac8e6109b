//! The owner page's connection check: what ServiceTitan's answers to the probes mean.

use std::fs;
use std::path::PathBuf;

use booking_core::servicetitan::connection::{probe, verdict, Answers, SCOPES};
use booking_core::servicetitan::Method;
use booking_core::site::SiteConfig;

fn site() -> SiteConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/sites/northstar.json");
    SiteConfig::from_json(&fs::read_to_string(path).unwrap()).unwrap()
}

fn all_ok(site: &SiteConfig) -> Answers {
    Answers {
        token_refused: None,
        scopes: SCOPES.iter().map(|s| if s.method == Method::Get { 200 } else { 400 }).collect(),
        booking_provider: 400,
        business_unit_ids: site.trades.iter().map(|t| t.business_unit_id).collect(),
    }
}

#[test]
fn a_tenant_that_answers_every_probe_is_connected() {
    let site = site();
    let v = verdict(&site, &all_ok(&site));
    assert!(v.ok && v.token && v.booking_provider, "{v:?}");
    assert_eq!(v.business_units_found, site.trades.len());
}

#[test]
fn each_refused_probe_names_its_scope_in_the_portals_words() {
    let site = site();
    for (i, scope) in SCOPES.iter().enumerate() {
        let mut a = all_ok(&site);
        a.scopes[i] = 403;
        let v = verdict(&site, &a);
        assert!(!v.ok);
        assert_eq!(v.missing_scopes, vec![scope.name]);
        assert!(v.problems.iter().any(|p| p.contains(scope.name)), "{:?}", v.problems);
    }
}

#[test]
fn every_probe_refused_is_an_app_not_connected_to_the_tenant() {
    let site = site();
    let mut a = all_ok(&site);
    a.scopes = vec![403; SCOPES.len()];
    let v = verdict(&site, &a);
    assert!(v.problems.iter().any(|p| p.contains("not connected to this tenant")), "{:?}", v.problems);
}

#[test]
fn no_token_is_said_first_and_alone() {
    let site = site();
    let a = Answers { token_refused: Some("invalid_client".into()), ..Answers::default() };
    let v = verdict(&site, &a);
    assert!(!v.ok && !v.token);
    assert_eq!(v.problems.len(), 1);
    assert!(v.problems[0].contains("invalid_client") && v.problems[0].contains("same environment"));
}

#[test]
fn a_booking_provider_the_app_is_not_restricted_to_is_a_problem() {
    let site = site();
    let mut a = all_ok(&site);
    a.booking_provider = 403;
    let v = verdict(&site, &a);
    assert!(!v.ok && !v.booking_provider);
    assert!(v.problems.iter().any(|p| p.contains(&site.booking_provider_id.to_string())));
}

#[test]
fn a_business_unit_the_tenant_lacks_is_named() {
    let site = site();
    let mut a = all_ok(&site);
    let gone = site.trades[0].business_unit_id;
    a.business_unit_ids.retain(|id| *id != gone);
    let v = verdict(&site, &a);
    assert!(!v.ok);
    assert_eq!(v.business_units_missing, vec![gone]);
}

#[test]
fn reads_ask_for_one_record_and_writes_send_an_empty_body() {
    for s in SCOPES {
        let r = probe(s, 42);
        assert!(r.path.contains("/tenant/42/"), "{}", r.path);
        match s.method {
            Method::Get => assert!(r.body.is_none() && r.query == vec![("pageSize".to_string(), "1".to_string())]),
            _ => assert_eq!(r.body, Some(serde_json::json!({}))),
        }
    }
}
