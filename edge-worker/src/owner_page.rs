//! The owner page (issue 16 item 5): `GET /v1/admin/` behind the admin token (bearer,
//! or Basic auth's password from a browser), plain HTML with no script:
//!
//! - every site, and whether its ServiceTitan connection works right now: a token, every
//!   scope the product uses, the booking provider tag, the site's business units
//!   (probes from `booking_core::servicetitan::connection`, which also says what the
//!   answers mean); site configs that were refused, with their path and reason;
//! - the last bookings and abandoned sessions with their transcripts and what the office
//!   got (the stored transcripts), what needs attention, and the webhook deliveries with
//!   their answers (`deliveries.rs`);
//! - a "send a test booking" button per site: `POST /v1/admin/test-booking` runs the
//!   scripted conversation of the seeds' step 6 (`booking_core::test_booking`) through
//!   the same replay and booking object as the widget's bookings, then comes back here
//!   with its reference.
//!
//! Everything shown is escaped; the page's CSP allows no script and no framing, and a
//! test booking from another origin is refused.

use booking_core::servicetitan::connection::{self, Answers, Verdict, SCOPES};
use booking_core::servicetitan::iso8601;
use booking_core::signing::parse_form;
use booking_core::site::SiteConfig;
use booking_core::submission::Submission;
use worker::{Date, Env, Request, Response, Result};

use crate::config::{self, ServiceTitanSettings};
use crate::followups::page::{esc, html_reply, same_origin};
use crate::http::{error, read_body_within, Cors};
use crate::servicetitan_client::{self, Sent};
use crate::{attention, deliveries, transcripts};

/// Bookings and sessions shown per site.
const LAST_SESSIONS: usize = 20;
/// The test booking's form is one field.
const MAX_FORM_BYTES: usize = 1024;

/// `GET /v1/admin/`: the page; `?test=<reference>` says a test booking was just sent.
pub(crate) async fn page(env: &Env, q: impl Fn(&str) -> Option<String>) -> Result<Response> {
    let mut body = String::from(HEAD);
    if let (Some(site), Some(reference)) = (q("site"), q("test")) {
        body.push_str(&format!(
            "<p class=note role=status data-testid=test-sent>Test booking {} sent for {}: its records appear below once ServiceTitan has them (reload).</p>",
            esc(&reference),
            esc(&site)
        ));
    }
    for refused in config::refusals(env) {
        body.push_str(&format!("<p class=bad data-testid=refused>Site config refused: {}</p>", esc(&refused)));
    }
    for site in config::all(env) {
        body.push_str(&site_section(env, &site).await?);
    }
    body.push_str("</main></body></html>");
    html_reply(200, &body)
}

const HEAD: &str = "<!doctype html><html lang=en><head><meta charset=utf-8><title>Booking: owner</title>\
<meta name=viewport content='width=device-width,initial-scale=1'><style>\
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1a1a1a}main{max-width:1100px;margin:0 auto;padding:16px}\
table{border-collapse:collapse;width:100%;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}\
.ok{color:#0a6b2d}.bad{color:#a10d0d}.note{background:#eef6ff;padding:8px}pre{white-space:pre-wrap;margin:0}\
section{border-top:2px solid #0b5cab;margin-top:16px}button{font:inherit;padding:6px 12px}</style></head>\
<body><main><h1>Booking front door: owner</h1>";

async fn site_section(env: &Env, site: &SiteConfig) -> Result<String> {
    let verdict = check(env, site).await;
    let mut s = format!(
        "<section data-testid=site data-site='{id}'><h2>{name} <small>({id})</small></h2>",
        id = esc(&site.id),
        name = esc(&site.business_name)
    );
    s.push_str(&connection_html(&verdict));
    s.push_str(&format!(
        "<form method=post action='/v1/admin/test-booking'><input type=hidden name=site value='{}'>\
         <button type=submit data-testid=test-booking>Send a test booking</button> \
         <small>A scripted conversation, booked into ServiceTitan like any other (cancel the job afterwards).</small></form>",
        esc(&site.id)
    ));
    s.push_str(&sessions_html(env, site).await?);
    s.push_str(&attention_html(env, site).await?);
    s.push_str(&deliveries_html(env, site).await?);
    s.push_str("</section>");
    Ok(s)
}

/// Sends the probes and asks booking-core what their answers mean.
async fn check(env: &Env, site: &SiteConfig) -> Verdict {
    let settings = match ServiceTitanSettings::for_site(env, site) {
        Ok(s) => s,
        Err(missing) => {
            let answers = Answers { token_refused: Some(missing.to_string()), ..Answers::default() };
            return connection::verdict(site, &answers);
        }
    };
    let t = settings.tenant_id;
    let mut answers = Answers::default();
    let mut sent = Sent::default();
    for scope in SCOPES {
        let resp = servicetitan_client::send(&settings, &connection::probe(scope, t), &mut sent).await;
        if sent.api == 0 {
            // The token endpoint refused: no API call was made.
            answers.token_refused = Some(format!("the token endpoint answered {}", resp.status));
            return connection::verdict(site, &answers);
        }
        answers.scopes.push(resp.status);
    }
    answers.booking_provider =
        servicetitan_client::send(&settings, &connection::booking_provider_probe(site, t), &mut sent).await.status;
    let units = servicetitan_client::send(&settings, &connection::business_units_probe(t), &mut sent).await;
    let parsed: serde_json::Value = serde_json::from_str(&units.body).unwrap_or_default();
    answers.business_unit_ids =
        parsed["data"].as_array().into_iter().flatten().filter_map(|u| u["id"].as_i64()).collect();
    connection::verdict(site, &answers)
}

fn connection_html(v: &Verdict) -> String {
    let mut s = if v.ok {
        format!(
            "<p class=ok data-testid=connection data-ok=true>ServiceTitan: connected. A token, all {} scopes, the booking provider tag and {} business unit(s) of this site found.</p>",
            SCOPES.len(),
            v.business_units_found
        )
    } else {
        String::from("<p class=bad data-testid=connection data-ok=false>ServiceTitan: not working.</p><ul>")
    };
    if !v.ok {
        for p in &v.problems {
            s.push_str(&format!("<li class=bad data-testid=problem>{}</li>", esc(p)));
        }
        s.push_str("</ul>");
    }
    s
}

async fn sessions_html(env: &Env, site: &SiteConfig) -> Result<String> {
    let mut list = transcripts::list(env, Some(&site.id), None).await?;
    list.sort_by_key(|t| std::cmp::Reverse(t.stored_at));
    let mut s = String::from(
        "<h3>Last bookings and abandoned sessions</h3><table data-testid=sessions><tr><th>When</th><th>Outcome</th><th>Phone</th><th>ServiceTitan</th><th>Transcript</th></tr>",
    );
    for t in list.iter().take(LAST_SESSIONS) {
        let records = t.final_outcome.as_ref().map(|o| records_text(&o["records"]));
        let transcript = t
            .rendered
            .clone()
            .unwrap_or_else(|| t.turns.iter().map(|u| format!("Homeowner: {}", u.text)).collect::<Vec<_>>().join("\n"));
        s.push_str(&format!(
            "<tr data-testid=session data-session='{}'><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary>read</summary><pre>{}</pre></details></td></tr>",
            esc(&t.session),
            esc(&iso8601(t.stored_at)),
            esc(&t.outcome),
            esc(t.phone.as_deref().unwrap_or("")),
            esc(records.as_deref().unwrap_or("")),
            esc(&transcript)
        ));
    }
    s.push_str("</table>");
    Ok(s)
}

/// "customer 12, location 34, job 56 (number 1056)" from the run's `records`.
fn records_text(r: &serde_json::Value) -> String {
    let parts = [("customer", "customerId"), ("location", "locationId"), ("job", "jobId"), ("booking", "bookingId")];
    let mut out: Vec<String> =
        parts.iter().filter_map(|(name, key)| r[*key].as_i64().map(|id| format!("{name} {id}"))).collect();
    if let Some(n) = r["jobNumber"].as_str() {
        out.push(format!("(job number {n})"));
    }
    out.join(", ")
}

async fn attention_html(env: &Env, site: &SiteConfig) -> Result<String> {
    let list = attention::list(env, Some(&site.id)).await?;
    let mut s =
        String::from("<h3>Needs attention</h3><table data-testid=attention><tr><th>Reference</th><th>Why</th></tr>");
    for a in &list {
        let why: Vec<String> = a.issues.iter().map(|i| i.detail.clone()).collect();
        s.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", esc(&a.reference), esc(&why.join("; "))));
    }
    s.push_str("</table>");
    Ok(s)
}

async fn deliveries_html(env: &Env, site: &SiteConfig) -> Result<String> {
    let list = deliveries::latest(env, &site.id).await?;
    let mut s = String::from(
        "<h3>Webhook deliveries</h3><table data-testid=deliveries><tr><th>When</th><th>Event</th><th>Session</th><th>Answer</th></tr>",
    );
    for d in &list {
        s.push_str(&format!(
            "<tr data-testid=delivery data-result='{}'><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
            esc(&d.result),
            esc(&iso8601((d.at_ms / 1000) as i64)),
            esc(&d.event),
            esc(&d.session),
            esc(&d.result),
            if d.status == 0 { String::new() } else { d.status.to_string() }
        ));
    }
    s.push_str("</table>");
    Ok(s)
}

/// `POST /v1/admin/test-booking` (`site=<id>`, a form): the scripted test booking.
pub(crate) async fn test_booking(req: &Request, env: &Env) -> Result<Response> {
    let none = Cors::none();
    if !same_origin(req)? {
        return error(403, "a test booking from another origin is refused", &none);
    }
    let Some(body) = read_body_within(req, MAX_FORM_BYTES).await? else { return error(413, "form too large", &none) };
    let form = parse_form(&String::from_utf8_lossy(&body));
    let Some(site) = form.iter().find(|(k, _)| k == "site").and_then(|(_, id)| config::site(env, id)) else {
        return error(400, "say which site: site=<a site id>", &none);
    };
    let now_ms = Date::now().as_millis();
    let json = booking_core::test_booking::submission_json(&site.public(), &format!("owner-test-{now_ms}"), now_ms);
    let submission = match Submission::parse(json.as_bytes()) {
        Ok(s) => s,
        Err(e) => return error(500, &format!("the test booking's own submission was refused: {e}"), &none),
    };
    let reference = booking_core::booking::reference(&submission.idempotency_key);
    let answer = crate::book(env, &site, submission, &none).await?;
    if answer.status_code() >= 400 {
        return error(502, "the test booking was not taken; see the page for the connection's problems", &none);
    }
    let mut back = Response::empty()?.with_status(303);
    back.headers_mut().set("location", &format!("/v1/admin/?site={}&test={reference}", site.id))?;
    Ok(back)
}
