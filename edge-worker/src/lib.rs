//! booking-edge: the Cloudflare Worker. The only holder of ServiceTitan credentials.
//!
//! It moves bytes and calls `booking-core`: it parses a submission, replays the
//! homeowner's turns through the same conversation engine the widget ran (it never
//! trusts structured fields from the browser), and hands the confirmed booking to a
//! Durable Object keyed by the conversation's idempotency key, which drives the
//! sans-IO `BookingPipeline` against ServiceTitan.

mod booking_object;
mod config;
mod http;
mod rate_limit;
mod servicetitan_client;
mod transcripts;
mod webhooks;

pub use booking_object::BookingObject;

use booking_core::booking::{Channel, Trade};
use booking_core::conversation::{replay, Effect, Event};
use booking_core::servicetitan::availability;
use booking_core::site::SiteConfig;
use booking_core::submission::{Submission, MAX_BODY_BYTES};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

use crate::booking_object::Job;
use crate::config::ServiceTitanSettings;
use crate::http::{cors_preflight, error, json_reply, Cors};
use crate::rate_limit::{allow, client_ip, Bucket};
use crate::transcripts::Transcript;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match route(req, &env).await {
        Ok(r) => Ok(r),
        // An internal failure never leaks details to the browser.
        Err(e) => {
            worker::console_error!("internal error: {e}");
            error(500, "something went wrong on our side; please call the office", &Cors::none())
        }
    }
}

async fn route(mut req: Request, env: &Env) -> Result<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match (method.clone(), segments.as_slice()) {
        (Method::Get, ["health"]) => Response::from_json(&json!({"ok": true})),
        (_, ["v1", "sites", site_id, rest @ ..]) => {
            let Some(site) = config::site(env, site_id) else {
                return error(404, "unknown site", &Cors::none());
            };
            let cors = Cors::for_request(&req, &site.allowed_origins)?;
            if cors.refused() {
                return error(403, "this origin may not use this site", &Cors::none());
            }
            match (method, rest) {
                (Method::Options, _) => cors_preflight(&cors),
                (Method::Get, ["config"]) => json_reply(200, &site.public(), &cors),
                (Method::Post, ["bookings"]) => {
                    if !allow(env, Bucket::Bookings, &client_ip(&req)) {
                        return error(429, "too many requests; please wait a minute", &cors);
                    }
                    let submission = match read_submission(&mut req).await? {
                        Ok(s) => s,
                        Err(reason) => return error(400, &reason, &cors),
                    };
                    if !allow(env, Bucket::Session, &submission.idempotency_key) {
                        return error(429, "this conversation was sent too often; please wait a minute", &cors);
                    }
                    book(env, &site, submission, &cors).await
                }
                (Method::Post, ["abandoned"]) => {
                    if !allow(env, Bucket::Abandoned, &client_ip(&req)) {
                        return error(429, "too many requests; please wait a minute", &cors);
                    }
                    match read_submission(&mut req).await? {
                        Ok(s) => abandoned(env, &site, s, &cors).await,
                        Err(reason) => error(400, &reason, &cors),
                    }
                }
                (Method::Get, ["availability"]) => {
                    if !allow(env, Bucket::Availability, &client_ip(&req)) {
                        return error(429, "too many requests; please wait a minute", &cors);
                    }
                    let url = req.url()?;
                    let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
                    windows(env, &site, q("trade"), q("zip"), &cors).await
                }
                (Method::Get, ["frame"]) => frame(&site),
                _ => error(404, "no such route", &cors),
            }
        }
        (Method::Get, ["v1", "admin", "transcripts"]) | (Method::Delete, ["v1", "admin", "transcripts"]) => {
            if !admin_allowed(&req, env)? {
                return error(401, "admin token required", &Cors::none());
            }
            let url = req.url()?;
            let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
            let phone = q("phone").map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>());
            if req.method() == Method::Delete {
                let Some(phone) = phone.filter(|p| p.len() == 10) else {
                    return error(400, "say whose transcripts to delete: ?phone=<10 digits>", &Cors::none());
                };
                let deleted = transcripts::delete_for_phone(env, &phone).await?;
                return json_reply(200, &json!({ "deleted": deleted }), &Cors::none());
            }
            let list = transcripts::list(env, q("site").as_deref(), phone.as_deref()).await?;
            json_reply(200, &json!({ "transcripts": list }), &Cors::none())
        }
        _ => error(404, "no such route", &Cors::none()),
    }
}

/// Bookings: replay, keep the transcript, hand the job to its Durable Object.
async fn book(env: &Env, site: &SiteConfig, submission: Submission, cors: &Cors) -> Result<Response> {
    let (conversation, booking) = replay(site.public(), Channel::Chat, submission.locale, &submission.turns);
    let Some(mut request) = booking else {
        return error(422, "the conversation did not reach a confirmed booking", cors);
    };
    drop(conversation);
    request.sms_consent = submission.sms_consent;
    let job = Job {
        site_id: site.id.clone(),
        idempotency_key: submission.idempotency_key.clone(),
        request: request.clone(),
        attribution: submission.attribution(),
    };
    let reply = booking_object::submit(env, &job).await?;
    let transcript = Transcript {
        site: site.id.clone(),
        session: submission.idempotency_key,
        outcome: reply.status.clone(),
        stored_at: transcripts::now(),
        phone: Some(request.phone.digits.clone()),
        turns: submission.turns,
        rendered: Some(booking_core::transcript::render(&request)),
    };
    if let Err(e) = transcripts::store(env, &transcript).await {
        // The booking matters more than its copy of the transcript.
        worker::console_error!("transcript not stored: {e}");
    }
    json_reply(200, &reply, cors)
}

/// Abandonment beacons: keep the transcript when contact details were given.
async fn abandoned(env: &Env, site: &SiteConfig, submission: Submission, cors: &Cors) -> Result<Response> {
    let (mut conversation, booking) = replay(site.public(), Channel::Chat, submission.locale, &submission.turns);
    if booking.is_some() {
        return json_reply(202, &json!({ "ok": true }), cors);
    }
    let last = submission.turns.last().map(|t| t.at).unwrap_or(0);
    let turn = conversation.handle(Event::Abandon, last);
    let contact = turn.effects.into_iter().find_map(|e| match e {
        Effect::QualifiedAbandon { phone, email, name } if phone.is_some() || email.is_some() => Some((name, phone, email)),
        _ => None,
    });
    if let Some((name, phone, email)) = contact {
        let t = Transcript {
            site: site.id.clone(),
            session: submission.idempotency_key.clone(),
            outcome: "abandoned".into(),
            stored_at: transcripts::now(),
            phone: phone.as_ref().map(|p| p.digits.clone()),
            turns: submission.turns.clone(),
            rendered: None,
        };
        transcripts::store(env, &t).await?;
        let payload = json!({
            "site": site.id,
            "session": submission.idempotency_key,
            "name": name.map(|n| n.full()),
            "phone": phone.map(|p| p.digits),
            "email": email,
            "turns": submission.turns,
            "pageUrl": submission.page_url,
        });
        booking_object::abandon(env, &site.id, &submission.idempotency_key, payload).await?;
    }
    json_reply(202, &json!({ "ok": true }), cors)
}

/// Up to three arrival windows from ServiceTitan's capacity for a trade and ZIP.
async fn windows(env: &Env, site: &SiteConfig, trade: Option<String>, zip: Option<String>, cors: &Cors) -> Result<Response> {
    let trade = trade.and_then(|t| Trade::from_code(&t.to_ascii_lowercase()));
    let zip = zip.filter(|z| z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()));
    let (Some(route), Some(zip)) = (trade.and_then(|t| site.route(t)), zip) else {
        return error(400, "give ?trade=hvac|plumbing|electrical|roofing and a 5-digit ?zip", cors);
    };
    let settings = ServiceTitanSettings::from_env(env).map_err(worker::Error::from)?;
    let now = transcripts::now();
    let Some(request) =
        availability::capacity_request(site, settings.tenant_id, route.business_unit_id, route.job_type_id, &zip, now)
    else {
        return json_reply(200, &json!({ "windows": [] }), cors);
    };
    let mut sent = servicetitan_client::Sent::default();
    let response = servicetitan_client::send(&settings, &request, &mut sent).await;
    let windows = if response.status == 200 {
        availability::offered_windows(site, route.business_unit_id, &response.body, now)
    } else {
        Vec::new()
    };
    json_reply(200, &json!({ "windows": windows }), cors)
}

/// The iframe fallback for pages whose CSP forbids WebAssembly: the widget on our origin.
fn frame(site: &SiteConfig) -> Result<Response> {
    let html = include_str!("../../widget/frame.html").replace("{{SITE}}", &site.id);
    let mut r = Response::from_html(html)?;
    let ancestors = site.allowed_origins.join(" ");
    r.headers_mut().set(
        "content-security-policy",
        &format!("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' data:; frame-ancestors {ancestors}"),
    )?;
    Ok(r)
}

fn admin_allowed(req: &Request, env: &Env) -> Result<bool> {
    let Ok(token) = env.secret("ADMIN_TOKEN").map(|s| s.to_string()).or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
    else {
        return Ok(false);
    };
    let given = req.headers().get("authorization")?.unwrap_or_default();
    let want = format!("Bearer {token}");
    // Length and bytes compared without early exit.
    Ok(token.len() >= 16
        && given.len() == want.len()
        && given.bytes().zip(want.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
}

async fn read_submission(req: &mut Request) -> Result<std::result::Result<Submission, String>> {
    Ok(read_limited(req).await?.and_then(|b| Submission::parse(&b).map_err(|r| r.0)))
}

/// Reads a body up to the limit; the error names the limit.
async fn read_limited(req: &mut Request) -> Result<std::result::Result<Vec<u8>, String>> {
    if let Some(len) = req.headers().get("content-length")?.and_then(|v| v.parse::<usize>().ok()) {
        if len > MAX_BODY_BYTES {
            return Ok(Err(format!("body is {len} bytes; the limit is {MAX_BODY_BYTES}")));
        }
    }
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY_BYTES {
        return Ok(Err(format!("body is {} bytes; the limit is {MAX_BODY_BYTES}", bytes.len())));
    }
    Ok(Ok(bytes))
}
