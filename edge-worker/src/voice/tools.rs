//! `POST /v1/voice/tools/{site}`: LLM voice platforms (Vapi, Retell, ElevenLabs, or any
//! caller with the bearer secret) call our tools. The request is authenticated with the
//! site's `VOICE_TOOL_SECRETS` entry before its body is parsed: Vapi's `x-vapi-secret`,
//! Retell's `X-Retell-Signature` (HMAC-SHA256 over body + timestamp, five minutes), or
//! `Authorization: Bearer`. Shapes in and out, and what each tool answers, are
//! `booking_core::voice::tools`'s; `converse` and `book` run in the call's `CallObject`,
//! so a platform's call books once, through the same path as a Twilio call.

use booking_core::booking::Trade;
use booking_core::servicetitan::availability;
use booking_core::site::SiteConfig;
use booking_core::voice::tools::availability_result;
use booking_core::voice::{parse_tool_request, tool_action, tool_response, verify_retell, verify_secret, ToolAction};
use worker::{Date, Env, Request, Response, Result};

use super::call_object::{self, Heard, Inbound, Names};
use super::twilio::per_site_secret;
use crate::config;
use crate::http::read_body_within;

/// Tool calls carry a few arguments; anything bigger is not a platform's.
const MAX_TOOL_BYTES: usize = 64 * 1024;

/// Whether the request carries the site's secret in one of the platforms' ways.
fn authentic(req: &Request, body: &[u8], secret: &str) -> Result<bool> {
    let h = |name: &str| req.headers().get(name).map(|v| v.map(|s| s.trim().to_string()));
    if let Some(v) = h("x-vapi-secret")? {
        return Ok(verify_secret(secret, &v));
    }
    if let Some(v) = h("authorization")? {
        let token = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or("");
        return Ok(verify_secret(secret, token.trim()));
    }
    if let Some(v) = h("x-retell-signature")? {
        return Ok(verify_retell(secret.as_bytes(), body, &v, Date::now().as_millis() as i64));
    }
    Ok(false)
}

/// One platform request: every tool call in it answered, in the platform's shape.
pub(crate) async fn route(req: Request, env: &Env, site_id: &str, received_ms: u64) -> Result<Response> {
    let Some(site) = config::site(env, site_id) else { return Response::error("forbidden", 403) };
    let Some(secret) = per_site_secret(env, "VOICE_TOOL_SECRETS", site_id) else {
        return Response::error("forbidden", 403);
    };
    let Some(body) = read_body_within(&req, MAX_TOOL_BYTES).await? else {
        return Response::error("body too large", 413);
    };
    if !authentic(&req, &body, &secret)? {
        return Response::error("forbidden", 403);
    }
    let request = match parse_tool_request(&body) {
        Ok(r) => r,
        Err(e) => return Response::error(format!("not a tool call: {e}"), 400),
    };
    let names = Names {
        site_id: site.id.clone(),
        call: format!("tools-{}", safe_id(&request.call_id)),
        from: request.caller.clone(),
        to: None,
        follow_up: None,
    };
    if request.ended && !safe_id(&request.call_id).is_empty() {
        // The platform says the call is over: one that ended before booking is called back.
        let hung_up = Inbound {
            site_id: names.site_id.clone(),
            call: names.call.clone(),
            from: names.from.clone(),
            to: None,
            heard: Heard::HungUp { status: "completed".into() },
            base_url: String::new(),
            received_ms,
            follow_up: None,
        };
        call_object::send(env, &hung_up).await?;
    }
    let now = (Date::now().as_millis() / 1000) as i64;
    let mut results = Vec::with_capacity(request.calls.len());
    for call in &request.calls {
        let action = tool_action(&request, call, &site, now);
        let needs_call = matches!(action, ToolAction::Converse { .. } | ToolAction::Book { .. });
        if needs_call && safe_id(&request.call_id).is_empty() {
            // Without the platform's call id every caller would share one conversation.
            return Response::error("a tool call needs the platform's call id", 400);
        }
        let result = match action {
            ToolAction::Say(text) | ToolAction::Transfer { say: text, .. } => text,
            ToolAction::Converse { text } => call_object::converse(env, &names, &text, received_ms).await?,
            ToolAction::Book { request } => call_object::send_booking(env, &names, &request, received_ms).await?,
            ToolAction::CheckAvailability { trade, zip } => availability(env, &site, trade, zip, now).await?,
        };
        results.push((call.id.clone(), result));
    }
    let mut r = Response::ok(tool_response(request.platform, &results))?;
    r.headers_mut().set("content-type", "application/json")?;
    Ok(r)
}

/// Open windows for a trade (the site's first when not said) and ZIP, through the same
/// shared capacity cache and budget as the widget's availability route.
async fn availability(
    env: &Env,
    site: &SiteConfig,
    trade: Option<Trade>,
    zip: Option<String>,
    now: i64,
) -> Result<String> {
    let route = trade.and_then(|t| site.route(t)).or_else(|| site.trades.first());
    let windows = match (route, zip) {
        (Some(route), Some(zip)) => {
            let key = format!("{}:{zip}:{}", route.trade.code(), now / 3600);
            match crate::capacity(env, site, route, &zip, &key, true, now).await? {
                Some(body) => availability::offered_windows(site, route.business_unit_id, &body, now),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    Ok(availability_result(&windows, site, booking_core::booking::Locale::En))
}

/// A platform's call id as part of an object name and idempotency key: kept as it is
/// when it is letters, digits and `-` (at most 64), else its hash, so two ids never
/// share a call. Empty stays empty (refused by the caller).
fn safe_id(id: &str) -> String {
    let plain = id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain {
        id.to_string()
    } else {
        booking_core::signing::sha256_hex(id.as_bytes())[..32].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_id;

    #[test]
    fn platform_call_ids_never_collide_once_cleaned() {
        assert_eq!(safe_id("vapi-123"), "vapi-123");
        assert_ne!(safe_id("a.b"), safe_id("ab"));
        assert_eq!(safe_id("a/b:c").len(), 32);
        assert_eq!(safe_id(""), "");
    }
}
