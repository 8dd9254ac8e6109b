//! The site owner's routes under `/v1/admin/`, all behind `Authorization: Bearer
//! <ADMIN_TOKEN>`:
//!
//! - `GET /v1/admin/transcripts[?site=][&phone=|&email=]`: stored transcripts.
//! - `DELETE /v1/admin/transcripts?phone=|?email=`: a person's data, everywhere we keep
//!   it: every transcript (all KV pages) and the Durable Object of each of their
//!   conversations (its stored booking run, webhooks and alarm). Answers what it removed.
//! - `GET /v1/admin/attention[?site=]`: bookings that need the owner: refused, given up,
//!   configuration problems, replay mismatches, webhooks not delivered (the booking run's
//!   `Record::Attention`, stored by `attention.rs`).
//! - `GET /v1/admin/followups?site=[&customer=]`: every follow-up of the site's customers
//!   (pending, sent, skipped, halted, cancelled, failed) with its reason and times, as
//!   JSON, or the office's HTML page for `Accept: text/html` or `?format=html`
//!   (`followups/page.rs`).
//! - `POST /v1/admin/followups/cancel`: cancels one pending follow-up (the page's button).
//! - `GET /v1/admin/`: the owner page (`owner_page.rs`): sites, their ServiceTitan
//!   connection right now, last sessions, attention, webhook deliveries;
//!   `POST /v1/admin/test-booking` is its "send a test booking" button.
//!
//! A browser cannot send a bearer token from a link or a form, so the same token is also
//! accepted as the password of HTTP Basic auth (any user name); an HTML request without
//! it gets `WWW-Authenticate: Basic`, and the browser asks for it once.

use serde_json::json;
use worker::{Env, Method, Request, Response, Result};

use crate::http::{error, json_reply, Cors};
use crate::transcripts::{self, Person};
use crate::{attention, booking_object};

/// Answers a `/v1/admin/...` request; `path` is what follows `admin/`.
pub(crate) async fn route(req: &Request, env: &Env, path: &[&str]) -> Result<Response> {
    if !allowed(req, env)? {
        let mut refused = error(401, "admin token required", &Cors::none())?;
        if req.headers().get("accept")?.is_some_and(|a| a.contains("text/html")) {
            refused.headers_mut().set("www-authenticate", "Basic realm=\"Booking admin\", charset=\"UTF-8\"")?;
        }
        return Ok(refused);
    }
    let url = req.url()?;
    let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
    match (req.method(), path) {
        (Method::Get, ["transcripts"]) => {
            let person = match person(q("phone"), q("email")) {
                Ok(p) => p,
                Err(reason) => return error(400, reason, &Cors::none()),
            };
            let list = transcripts::list(env, q("site").as_deref(), person.as_ref()).await?;
            json_reply(200, &json!({ "transcripts": list }), &Cors::none())
        }
        (Method::Delete, ["transcripts"]) => match person(q("phone"), q("email")) {
            Ok(Some(p)) => forget(env, &p).await,
            Ok(None) => {
                error(400, "say whose data to delete: ?phone=<phone, any format> or ?email=<email>", &Cors::none())
            }
            Err(reason) => error(400, reason, &Cors::none()),
        },
        (Method::Get, ["attention"]) => {
            let list = attention::list(env, q("site").as_deref()).await?;
            json_reply(200, &json!({ "attention": list }), &Cors::none())
        }
        (Method::Get, [] | [""]) => crate::owner_page::page(env, q).await,
        (Method::Post, ["test-booking"]) => crate::owner_page::test_booking(req, env).await,
        (Method::Get, ["followups"]) => crate::followups::page::followups(req, env, q).await,
        (Method::Post, ["followups", "cancel"]) => crate::followups::page::cancel(req, env).await,
        _ => error(404, "no such route", &Cors::none()),
    }
}

/// The person a query names, if any; an error when it names one unreadably.
fn person(phone: Option<String>, email: Option<String>) -> std::result::Result<Option<Person>, &'static str> {
    match (phone, email) {
        (Some(_), Some(_)) => Err("give ?phone= or ?email=, not both"),
        (Some(p), None) => Person::phone(&p).map(Some).ok_or("?phone= must be a 10-digit US number (+1 allowed)"),
        (None, Some(e)) => Person::email(&e).map(Some).ok_or("?email= is not an email address"),
        (None, None) => Ok(None),
    }
}

/// Deletes a person's conversations: the Durable Object first, then the transcript,
/// so a conversation whose object could not be reached keeps its transcript and is
/// found again when the owner repeats the request.
async fn forget(env: &Env, person: &Person) -> Result<Response> {
    let found = transcripts::of_person(env, person).await?;
    let mut sessions = Vec::new();
    let mut failed = Vec::new();
    for t in &found {
        match booking_object::forget(env, &t.site, &t.session).await {
            Ok(_) => {
                attention::forget(env, &t.site, &t.session).await?;
                transcripts::delete(env, &t.site, &t.session).await?;
                sessions.push(t.session.clone());
            }
            Err(e) => {
                worker::console_error!("conversation {}:{} not forgotten: {e}", t.site, t.session);
                failed.push(t.session.clone());
            }
        }
    }
    let body = json!({
        "deleted": { "transcripts": sessions.len(), "conversations": sessions.len(), "sessions": sessions },
        "failed": failed,
    });
    json_reply(if failed.is_empty() { 200 } else { 500 }, &body, &Cors::none())
}

/// Whether the request carries the admin token (`Bearer {token}`, or Basic auth with the
/// token as the password). A token shorter than 16 characters counts as unset: it would
/// be guessable.
fn allowed(req: &Request, env: &Env) -> Result<bool> {
    let Ok(token) =
        env.secret("ADMIN_TOKEN").map(|s| s.to_string()).or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
    else {
        return Ok(false);
    };
    let given = req.headers().get("authorization")?.unwrap_or_default();
    let given = match given.strip_prefix("Bearer ") {
        Some(bearer) => bearer.to_string(),
        None => basic_password(&given).unwrap_or_default(),
    };
    Ok(token.len() >= 16 && same(&given, &token))
}

/// Length and bytes compared without early exit.
fn same(given: &str, want: &str) -> bool {
    given.len() == want.len() && given.bytes().zip(want.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The password of `Basic base64(user:password)`.
fn basic_password(header: &str) -> Option<String> {
    let encoded = header.strip_prefix("Basic ")?.trim();
    let decoded = base64_decode(encoded)?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, p)| p.to_string())
}

/// Standard base64 (padding optional); `None` for anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_gives_its_password() {
        let header = format!("Basic {}", booking_core::signing::base64(b"office:adm-0123456789abcdef:x"));
        assert_eq!(basic_password(&header).as_deref(), Some("adm-0123456789abcdef:x"));
        assert_eq!(basic_password("Basic !!!"), None);
        assert_eq!(basic_password("Bearer abc"), None);
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("ab", "abc"));
    }
}
