//! booking-edge: the Cloudflare Worker. The only holder of ServiceTitan credentials.
//!
//! It moves bytes and calls `booking-core`: it parses a submission, replays the
//! homeowner's turns through the same conversation engine the widget ran (it never
//! trusts structured fields from the browser), and hands the confirmed booking to a
//! Durable Object keyed by the conversation's idempotency key, which drives the
//! sans-IO `BookingPipeline` against ServiceTitan.

mod admin;
mod attention;
mod booking_object;
mod config;
mod deliveries;
mod followups;
mod http;
mod limiter;
mod outbound;
mod owner_page;
mod pacer;
mod rate_limit;
mod servicetitan_client;
mod transcripts;
mod voice;

pub use booking_object::BookingObject;
pub use followups::FollowUpObject;
pub use limiter::SiteLimiter;
pub use pacer::TenantPacer;
pub use voice::CallObject;

use booking_core::booking::{BookingRequest, Channel, Trade};
use booking_core::conversation::{replay, replay_submission, reply_after_recheck, Conversation, Effect, Event};
use booking_core::run::{AbandonReport, AbandonedChat, MismatchReport};
use booking_core::servicetitan::availability::{self, WindowCheck};
use booking_core::site::{SiteConfig, TradeRoute};
use booking_core::submission::{Refusal, Submission, MAX_BODY_BYTES};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

use crate::booking_object::{Job, Notice};
use crate::config::ServiceTitanSettings;
use crate::http::{cors_preflight, error, json_reply, Cors};
use crate::limiter::{allow, Capacity};
use crate::rate_limit::{client_ip, Bucket};
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

/// The cron trigger (`[triggers] crons` in wrangler.toml): the follow-ups' export-feed
/// poller, the backstop for ServiceTitan webhooks that never came.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    followups::poller::scheduled(&env).await;
}

async fn route(mut req: Request, env: &Env) -> Result<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match (method.clone(), segments.as_slice()) {
        (Method::Get, ["health"]) => {
            // Refused site configs (issue 16 item 4): the path and the reason, no secrets.
            let refused = config::refusals(env);
            Response::from_json(&json!({"ok": refused.is_empty(), "refusedSiteConfigs": refused}))
        }
        (_, ["v1", "sites", site_id, rest @ ..]) => {
            let Some(site) = config::site(env, site_id) else {
                if let Some(why) = config::refusal(env, site_id) {
                    return error(
                        503,
                        &format!("this site's configuration is invalid ({why}); nothing is booked until it is fixed"),
                        &Cors::none(),
                    );
                }
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
                    // Counted per address and per site in the site's limiter object (not
                    // per conversation: the idempotency key is the client's to choose).
                    if !allow(env, &site.id, Bucket::Bookings, &client_ip(&req)).await {
                        return too_many_requests(&cors);
                    }
                    let submission = match read_submission(&mut req).await? {
                        Ok(s) => s,
                        Err(refusal) => return error(refusal.status(), &refusal.to_string(), &cors),
                    };
                    book(env, &site, submission, &cors).await
                }
                (Method::Post, ["abandoned"]) => {
                    if !allow(env, &site.id, Bucket::Abandoned, &client_ip(&req)).await {
                        return too_many_requests(&cors);
                    }
                    match read_submission(&mut req).await? {
                        Ok(s) => abandoned(env, &site, s, &cors).await,
                        Err(refusal) => error(refusal.status(), &refusal.to_string(), &cors),
                    }
                }
                (Method::Get, ["availability"]) => {
                    if !allow(env, &site.id, Bucket::Availability, &client_ip(&req)).await {
                        return too_many_requests(&cors);
                    }
                    let url = req.url()?;
                    let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
                    windows(env, &site, q("trade"), q("zip"), &cors).await
                }
                (Method::Get, ["frame"]) => frame(&site),
                _ => error(404, "no such route", &cors),
            }
        }
        (Method::Post, ["v1", "webhooks", "servicetitan", site_id]) => followups::webhook(req, env, site_id).await,
        (Method::Post, ["v1", "webhooks", "twilio", site_id, "sms"]) => {
            followups::inbound::sms(req, env, site_id).await
        }
        (_, ["v1", "admin", rest @ ..]) => admin::route(&req, env, rest).await,
        (_, ["v1", "voice", rest @ ..]) => voice::route(req, env, rest).await,
        _ => error(404, "no such route", &Cors::none()),
    }
}

/// Bookings: replay, keep the transcript, hand the job to its Durable Object. The answer
/// is booking-core's, from the request alone, so it is the same for every match.
pub(crate) async fn book(env: &Env, site: &SiteConfig, submission: Submission, cors: &Cors) -> Result<Response> {
    let now = transcripts::now();
    let (_, booking) = replay_submission(site.public(), Channel::Chat, submission.locale, &submission.turns, now);
    let Some(request) = booking else {
        return mismatch(env, site, submission, cors).await;
    };
    let reference = booking_core::booking::reference(&submission.idempotency_key);
    let check = recheck(env, site, &request, now).await?;
    let (request, reply) = reply_after_recheck(request, site, &reference, now, check);
    let job = Job {
        site_id: site.id.clone(),
        idempotency_key: submission.idempotency_key.clone(),
        request: request.clone(),
        attribution: submission.attribution(),
        reply,
    };
    let reply = booking_object::submit(env, &job).await?;
    let transcript = Transcript {
        site: site.id.clone(),
        session: submission.idempotency_key,
        outcome: reply.status.code().into(),
        stored_at: now,
        phone: Some(request.phone.digits.clone()),
        email: request.email.clone(),
        turns: submission.turns,
        rendered: Some(booking_core::transcript::render(&request)),
        final_outcome: None,
    };
    if let Err(e) = transcripts::store(env, &transcript).await {
        // The booking matters more than its copy of the transcript.
        worker::console_error!("transcript not stored: {e}");
    }
    json_reply(200, &reply, cors)
}

/// Turns that do not replay to a booking (a cached old widget after a deploy, or a
/// forged body): the transcript is kept and the owner told, and the homeowner is asked
/// to call, so nothing they said is lost.
async fn mismatch(env: &Env, site: &SiteConfig, submission: Submission, cors: &Cors) -> Result<Response> {
    let (conversation, _) =
        replay(site.public(), Channel::Chat, submission.locale, &submission.turns, transcripts::now());
    let stage = conversation.stage();
    let contact = abandon_report(conversation, &submission).unwrap_or_default();
    let report = MismatchReport {
        reason: format!(
            "the turns replay to the {stage:?} stage, not to a booking (a cached old widget, or an altered body)"
        ),
        name: contact.name,
        phone: contact.phone,
        email: contact.email,
        turns: submission.turns.clone(),
        page_url: submission.page_url.clone(),
    };
    let notice = Notice::Mismatch { site_id: site.id.clone(), idempotency_key: submission.idempotency_key, report };
    booking_object::notify(env, &notice).await?;
    error(422, "the conversation did not reach a confirmed booking; please call the office", cors)
}

/// What an abandonment would report, when contact details were given.
fn abandon_report(mut conversation: Conversation, submission: &Submission) -> Option<AbandonReport> {
    let last = submission.turns.last().map_or(0, |t| t.at);
    conversation.handle(Event::Abandon, last).effects.into_iter().find_map(|e| match e {
        Effect::QualifiedAbandon { phone, email, name } if phone.is_some() || email.is_some() => Some(AbandonReport {
            name: name.map(|n| n.full()),
            phone: phone.map(|p| p.digits),
            email,
            turns: submission.turns.clone(),
            page_url: submission.page_url.clone(),
        }),
        _ => None,
    })
}

/// Abandonment beacons: keep the transcript when contact details were given.
async fn abandoned(env: &Env, site: &SiteConfig, submission: Submission, cors: &Cors) -> Result<Response> {
    let (conversation, booking) =
        replay(site.public(), Channel::Chat, submission.locale, &submission.turns, transcripts::now());
    if booking.is_some() {
        return json_reply(202, &json!({ "ok": true }), cors);
    }
    let known = conversation.so_far();
    let chat = AbandonedChat {
        issue: known.issue,
        trade: known.trade,
        address: known.address,
        business: known.business,
        transcript: known.transcript,
        locale: conversation.locale(),
        channel: Channel::Chat,
        // Tests shorten the wait before the office booking; production keeps booking-core's.
        grace: env.var("ABANDONED_CHAT_GRACE_SECONDS").ok().and_then(|v| v.to_string().trim().parse().ok()),
    };
    if let Some(report) = abandon_report(conversation, &submission) {
        let t = Transcript {
            site: site.id.clone(),
            session: submission.idempotency_key.clone(),
            outcome: "abandoned".into(),
            stored_at: transcripts::now(),
            phone: report.phone.clone(),
            email: report.email.clone(),
            turns: submission.turns.clone(),
            rendered: None,
            final_outcome: None,
        };
        transcripts::store(env, &t).await?;
        let notice =
            Notice::Abandoned { site_id: site.id.clone(), idempotency_key: submission.idempotency_key, report, chat };
        booking_object::notify(env, &notice).await?;
    }
    json_reply(202, &json!({ "ok": true }), cors)
}

/// Up to three arrival windows from ServiceTitan's capacity for a trade and ZIP.
/// Answers are shared for a few minutes per (site, trade, ZIP, hour) and cache misses
/// are capped per site per minute in the site's limiter object, so a visitor reloading
/// the card, or a script walking ZIP codes, cannot spend the tenant's API quota.
async fn windows(
    env: &Env,
    site: &SiteConfig,
    trade: Option<String>,
    zip: Option<String>,
    cors: &Cors,
) -> Result<Response> {
    let trade = trade.and_then(|t| Trade::from_code(&t.to_ascii_lowercase()));
    let zip = zip.filter(|z| z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()));
    let (Some(trade), Some(zip)) = (trade, zip) else {
        return error(400, "give ?trade=hvac|plumbing|electrical|roofing and a 5-digit ?zip", cors);
    };
    let Some(route) = site.route(trade) else {
        return error(400, "give ?trade=hvac|plumbing|electrical|roofing and a 5-digit ?zip", cors);
    };
    let now = transcripts::now();
    let key = format!("{}:{zip}:{}", trade.code(), now / 3600);
    let Some(body) = capacity(env, site, route, &zip, &key, true, now).await? else {
        // The card then offers no picker and the office confirms the time.
        return json_reply(200, &json!({ "windows": [] }), cors);
    };
    // Windows are cut from the (possibly cached) answer at this moment, so a cached
    // answer never offers a window that has since come too close.
    json_reply(
        200,
        &json!({ "windows": availability::offered_windows(site, route.business_unit_id, &body, now) }),
        cors,
    )
}

/// ServiceTitan's capacity answer for a route and ZIP: shared for a while under `key`
/// (per hour for offering, per minute for the re-check at booking) and, when
/// `budgeted` (a look-up, not a booking's re-check), counted against the site's
/// capacity-call budget. `None`: outside the area, over budget, or no answer.
async fn capacity(
    env: &Env,
    site: &SiteConfig,
    route: &TradeRoute,
    zip: &str,
    key: &str,
    budgeted: bool,
    now: i64,
) -> Result<Option<String>> {
    let settings = ServiceTitanSettings::for_site(env, site)?;
    let Some(request) =
        availability::capacity_request(site, settings.tenant_id, route.business_unit_id, route.job_type_id, zip, now)
    else {
        return Ok(None);
    };
    Ok(match limiter::capacity(env, &site.id, key, budgeted).await {
        Capacity::Cached(body) => Some(body),
        Capacity::OverBudget => None,
        Capacity::Call => {
            let mut sent = servicetitan_client::Sent::default();
            let response = servicetitan_client::send_within(&settings, &request, &mut sent, AVAILABILITY_TIMEOUT).await;
            if response.status != 200 {
                return Ok(None);
            }
            limiter::remember(env, &site.id, key, &response.body).await;
            Some(response.body)
        }
    })
}

/// The picked window, checked against capacity at most a minute old just before the
/// answer: still open, moved to the next open one, or gone (the office confirms). Not
/// held to the look-ups' budget (abuse bench: a flood of look-ups for new ZIPs spent it
/// and a crafted Sunday window went through unchecked). No answer from ServiceTitan
/// keeps the window: the homeowner chose one it offered.
async fn recheck(env: &Env, site: &SiteConfig, request: &BookingRequest, now: i64) -> Result<WindowCheck> {
    let (Some(window), Some(route)) = (request.arrival_window, site.route(request.trade)) else {
        return Ok(WindowCheck::Still);
    };
    if !site.offer_availability {
        return Ok(WindowCheck::Still);
    }
    let zip = &request.address.zip;
    let key = format!("recheck:{}:{zip}:{}", request.trade.code(), now / 60);
    Ok(match capacity(env, site, route, zip, &key, false, now).await? {
        Some(body) => availability::recheck(site, route.business_unit_id, window, &body, now),
        None => WindowCheck::Still,
    })
}

/// A 429 that says when to come back (RFC 6585 with `Retry-After`, RFC 9110 §10.2.3):
/// the limits count in fixed minutes, so the rest of this one.
fn too_many_requests(cors: &Cors) -> Result<Response> {
    let mut r = error(429, "too many requests; please wait a minute", cors)?;
    r.headers_mut().set("retry-after", &rate_limit::retry_after(worker::Date::now().as_millis()).to_string())?;
    Ok(r)
}

/// A homeowner looking at the card waits for the windows; past this they get none.
const AVAILABILITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);

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

async fn read_submission(req: &mut Request) -> Result<std::result::Result<Submission, Refusal>> {
    Ok(read_limited(req).await?.and_then(|b| Submission::parse(&b)))
}

/// Reads a body up to the limit. A declared length over it is refused unread; a
/// chunked body (no length) is read chunk by chunk and cut as soon as it passes the
/// limit, so an endless upload costs at most 64 KB of memory.
async fn read_limited(req: &mut Request) -> Result<std::result::Result<Vec<u8>, Refusal>> {
    if let Some(len) = req.headers().get("content-length")?.and_then(|v| v.parse::<usize>().ok()) {
        if len > MAX_BODY_BYTES {
            return Ok(Err(Refusal::BodyTooLarge { len: Some(len), limit: MAX_BODY_BYTES }));
        }
    }
    let body = http::read_body_within(req, MAX_BODY_BYTES).await?;
    Ok(body.ok_or(Refusal::BodyTooLarge { len: None, limit: MAX_BODY_BYTES }))
}
