//! Twilio ConversationRelay: Twilio does speech-to-text and text-to-speech and talks to
//! us over one WebSocket per call. The handshake's `X-Twilio-Signature` is checked in
//! the worker; the socket is accepted by the call's `CallObject` (hibernatable, so an
//! idle call costs nothing), whose `Call` answers each `prompt` with `text` tokens.
//! Message shapes are `booking_core::voice::relay`'s.

use booking_core::voice::relay::relay_event;
use booking_core::voice::{parse_relay, relay_out, CallEvent, RelayIn};
use serde::{Deserialize, Serialize};
use worker::{Date, Env, Request, Response, Result, State, WebSocket, WebSocketPair};

use super::call_object::{open_relay, CallObject, Names, Step};
use super::twilio;
use crate::config;

/// What the object keeps on the socket itself (survives hibernation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tag {
    site: String,
}

/// `GET /v1/voice/relay/{site}[?callSid=CA…]`: the signed upgrade, handed to the call's object.
pub(crate) async fn open(req: Request, env: &Env, site: &str) -> Result<Response> {
    if config::site(env, site).is_none() || !twilio::signed_get(&req, env, site)? {
        return twilio::forbidden();
    }
    if !req.headers().get("upgrade")?.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Response::error("expected a WebSocket upgrade", 426);
    }
    let url = req.url()?;
    let sid = url.query_pairs().find(|(k, _)| k == "callSid").map(|(_, v)| v.to_string());
    let call = twilio::call_sid(sid.as_deref());
    open_relay(env, site, call.as_deref(), req).await
}

/// Inside the object: accept the socket (hibernation API) and answer 101.
pub(crate) fn accept(state: &State, site: &str) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    state.accept_web_socket(&pair.server);
    pair.server.serialize_attachment(Tag { site: site.to_string() })?;
    Response::from_websocket(pair.client)
}

/// One message from Twilio.
pub(crate) async fn message(object: &CallObject, ws: &WebSocket, text: &str) -> Result<()> {
    let received_ms = Date::now().as_millis();
    let tag: Tag = ws.deserialize_attachment()?.unwrap_or_default();
    let message = match parse_relay(text) {
        Ok(m) => m,
        Err(e) => {
            worker::console_log!("relay message not understood: {e}");
            return Ok(());
        }
    };
    let event = match &message {
        RelayIn::Setup { call_sid, from, to } => {
            let Some(call) = twilio::call_sid(Some(call_sid)) else { return Ok(()) };
            let names =
                Names { site_id: tag.site.clone(), call, from: nonempty(from), to: nonempty(to), follow_up: None };
            object.remember(&names).await?;
            // A call answered by TwiML first (its greeting was the welcome) goes on as it is.
            if object.has_call().await? {
                return Ok(());
            }
            CallEvent::Answered
        }
        RelayIn::Error { description } => {
            worker::console_log!("relay error from Twilio: {description}");
            return Ok(());
        }
        // A partial prompt, or the caller talking over the agent: the next prompt says it.
        other => match relay_event(other) {
            Some(event) => event,
            None => return Ok(()),
        },
    };
    let Some(names) = object.names().await? else { return Ok(()) };
    let site = object.site(&names.site_id)?;
    let done = object.turn(&names, &site, Step::Event(event), received_ms).await?;
    for out in relay_out(&done.turn, done.spoken) {
        ws.send_with_str(out)?;
    }
    Ok(())
}

/// The socket closed: the call is over (a call that ended before booking is a
/// call-back), unless our `end` handed it to a transfer (booking-core tells which).
pub(crate) async fn closed(object: &CallObject, _ws: &WebSocket) -> Result<()> {
    let Some(names) = object.names().await? else { return Ok(()) };
    let site = object.site(&names.site_id)?;
    object.turn(&names, &site, Step::Event(CallEvent::RelayClosed), Date::now().as_millis()).await?;
    Ok(())
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}
