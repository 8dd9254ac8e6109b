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
mod servicetitan_client;

pub use booking_object::BookingObject;

use booking_core::booking::Channel;
use booking_core::conversation::replay;
use booking_core::submission::{Submission, MAX_BODY_BYTES};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

use crate::booking_object::Job;
use crate::http::{cors_preflight, error, json_reply, Cors};

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
                    let body = read_limited(&mut req).await?;
                    let submission = match body.map_err(|m| m.to_string()).and_then(|b| {
                        Submission::parse(&b).map_err(|r| r.0)
                    }) {
                        Ok(s) => s,
                        Err(reason) => return error(400, &reason, &cors),
                    };
                    let (_, booking) =
                        replay(site.public(), Channel::Chat, submission.locale, &submission.turns);
                    let Some(request) = booking else {
                        return error(422, "the conversation did not reach a confirmed booking", &cors);
                    };
                    let job = Job {
                        site_id: site.id.clone(),
                        idempotency_key: submission.idempotency_key.clone(),
                        request,
                        attribution: submission.attribution(),
                    };
                    let reply = booking_object::submit(env, &job).await?;
                    json_reply(200, &reply, &cors)
                }
                _ => error(404, "no such route", &cors),
            }
        }
        _ => error(404, "no such route", &Cors::none()),
    }
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
