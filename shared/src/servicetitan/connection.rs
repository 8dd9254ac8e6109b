//! Does a site's ServiceTitan connection work right now? (The owner page and
//! `cargo xtask connect` ask the same questions.)
//!
//! ServiceTitan's tokens do not list their scopes, so each scope the product uses is
//! probed with a call that needs it: a read with `pageSize=1`, a write with an empty
//! body, which ServiceTitan refuses (400) after its scope check (403), so nothing is
//! created. The booking provider is probed the same way on its bookings path, where a
//! tag the app is not restricted to also answers 403. The shell sends the probes and
//! hands back the statuses; [`verdict`] says what they mean, in the portal's words.

use serde::Serialize;

use super::{Method, StRequest};
use crate::site::SiteConfig;

/// One scope: the portal's words, the method and a path (`{t}`: the tenant) that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// As the Developer Portal's "API Scopes" list names it.
    pub name: &'static str,
    /// Method of the probe.
    pub method: Method,
    /// Path of the probe, `{t}` for the tenant id.
    pub path: &'static str,
}

const fn scope(name: &'static str, method: Method, path: &'static str) -> Scope {
    Scope { name, method, path }
}

/// Every scope the product uses (from the calls in `servicetitan/`, `followup/` and the
/// worker). CRM › Bookings: Write is probed on the site's booking provider.
pub const SCOPES: &[Scope] = &[
    scope("CRM › Customers: Read", Method::Get, "/crm/v2/tenant/{t}/customers"),
    scope("CRM › Customers: Write", Method::Post, "/crm/v2/tenant/{t}/customers"),
    scope("CRM › Locations: Read", Method::Get, "/crm/v2/tenant/{t}/locations"),
    scope("CRM › Locations: Write", Method::Post, "/crm/v2/tenant/{t}/locations"),
    scope("CRM › Bookings: Read", Method::Get, "/crm/v2/tenant/{t}/bookings"),
    scope("Job Planning › Jobs: Read", Method::Get, "/jpm/v2/tenant/{t}/jobs"),
    scope("Job Planning › Jobs: Write", Method::Post, "/jpm/v2/tenant/{t}/jobs"),
    scope("Job Planning › Appointments: Read", Method::Get, "/jpm/v2/tenant/{t}/appointments"),
    scope("Job Planning › Job Types: Read", Method::Get, "/jpm/v2/tenant/{t}/job-types"),
    scope("Dispatch › Capacity: Read", Method::Post, "/dispatch/v2/tenant/{t}/capacity"),
    scope("Settings › Business Units: Read", Method::Get, "/settings/v2/tenant/{t}/business-units"),
    scope("Marketing › Campaigns: Read", Method::Get, "/marketing/v2/tenant/{t}/campaigns"),
    scope("Sales › Estimates: Read", Method::Get, "/sales/v2/tenant/{t}/estimates"),
    scope("Accounting › Invoices: Read", Method::Get, "/accounting/v2/tenant/{t}/invoices"),
    scope("Accounting › Payments: Read", Method::Get, "/accounting/v2/tenant/{t}/payments"),
];

/// The probe for `scope` on `tenant`.
pub fn probe(scope: &Scope, tenant: i64) -> StRequest {
    let path = scope.path.replace("{t}", &tenant.to_string());
    let read = scope.method == Method::Get;
    StRequest {
        method: scope.method,
        path,
        query: if read { vec![("pageSize".into(), "1".into())] } else { vec![] },
        body: (!read).then(|| serde_json::json!({})),
        fresh_token: false,
    }
}

/// The probe of the site's booking provider tag (an empty booking, refused with 400 when
/// the app may book as it).
pub fn booking_provider_probe(site: &SiteConfig, tenant: i64) -> StRequest {
    StRequest {
        method: Method::Post,
        path: format!("/crm/v2/tenant/{tenant}/booking-provider/{}/bookings", site.booking_provider_id),
        query: vec![],
        body: Some(serde_json::json!({})),
        fresh_token: false,
    }
}

/// The business units listing, to see the site's own among them.
pub fn business_units_probe(tenant: i64) -> StRequest {
    StRequest {
        method: Method::Get,
        path: format!("/settings/v2/tenant/{tenant}/business-units"),
        query: vec![("pageSize".into(), "200".into())],
        body: None,
        fresh_token: false,
    }
}

/// What the probes answered, as the shell saw them.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// Why no token came, if none did (the shell's words for the token endpoint's answer).
    pub token_refused: Option<String>,
    /// The status of each of [`SCOPES`]' probes, in order.
    pub scopes: Vec<u16>,
    /// The booking provider probe's status.
    pub booking_provider: u16,
    /// The ids in the business units listing (empty if it failed).
    pub business_unit_ids: Vec<i64>,
}

/// What the owner reads: each line a sentence with the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Everything the product needs works.
    pub ok: bool,
    /// A token was issued.
    pub token: bool,
    /// Scopes the app lacks, in the portal's words.
    pub missing_scopes: Vec<&'static str>,
    /// The app may book as the site's booking provider tag.
    pub booking_provider: bool,
    /// The site's business units (its trades' routes) found in the tenant.
    pub business_units_found: usize,
    /// The site's business units the tenant does not have.
    pub business_units_missing: Vec<i64>,
    /// What is wrong, and how to fix it.
    pub problems: Vec<String>,
}

/// What the answers mean for `site`.
pub fn verdict(site: &SiteConfig, answers: &Answers) -> Verdict {
    let mut v = Verdict {
        ok: false,
        token: answers.token_refused.is_none(),
        missing_scopes: vec![],
        booking_provider: (200..300).contains(&answers.booking_provider) || answers.booking_provider == 400,
        business_units_found: 0,
        business_units_missing: vec![],
        problems: vec![],
    };
    if let Some(why) = &answers.token_refused {
        v.problems.push(format!(
            "ServiceTitan gave no token ({why}): check the Client ID and Client Secret, and that they are from the same environment (integration or production) as the site's"
        ));
        return v;
    }
    v.missing_scopes =
        SCOPES.iter().zip(&answers.scopes).filter(|(_, s)| **s == 403).map(|(scope, _)| scope.name).collect();
    if answers.scopes.contains(&401) {
        v.problems.push("ServiceTitan refused the App Key (401 with a fresh token): copy the Application Key from the Developer Portal (My Apps → Edit), same environment as the Client ID".into());
    }
    if v.missing_scopes.len() == SCOPES.len() {
        v.problems.push("every call was refused (403): the app is not connected to this tenant; check the Tenant ID, and connect the app in ServiceTitan Settings → Integrations → API Application Access".into());
    } else if !v.missing_scopes.is_empty() {
        v.problems.push(format!(
            "the app lacks these API scopes: {}; create the app again with them in the Developer Portal (scopes cannot be added to an existing app)",
            v.missing_scopes.join(", ")
        ));
    }
    if !v.booking_provider {
        v.problems.push(format!(
            "the app may not book as booking provider {}: in ServiceTitan Settings → Integrations → API Application Access, choose this tag under \"Restriction by booking_provider for Bookings\"",
            site.booking_provider_id
        ));
    }
    for unit in site.trades.iter().map(|t| t.business_unit_id) {
        if answers.business_unit_ids.contains(&unit) {
            v.business_units_found += 1;
        } else if !v.business_units_missing.contains(&unit) {
            v.business_units_missing.push(unit);
        }
    }
    if !v.business_units_missing.is_empty() {
        let ids: Vec<String> = v.business_units_missing.iter().map(i64::to_string).collect();
        v.problems.push(format!(
            "the site routes trades to business units the tenant does not have ({}): pick existing ones with `cargo xtask connect`",
            ids.join(", ")
        ));
    }
    v.ok = v.problems.is_empty();
    v
}
