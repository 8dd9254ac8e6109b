//! The voice agent's routes: Twilio Programmable Voice webhooks, ConversationRelay's
//! WebSocket, and the tool calls of LLM voice platforms. Each request is checked
//! (Twilio's signature, the platform's secret) before anything is read into a call,
//! then handed to the call's [`CallObject`] (one per CallSid), which runs
//! `booking_core::voice::Call`. What the agent says and does is booking-core's.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/voice/twilio/{site}/incoming` | a call connected: the greeting, as TwiML |
//! | `POST /v1/voice/twilio/{site}/gather` | what the caller said (`SpeechResult`) or keyed (`Digits`), or nothing |
//! | `POST /v1/voice/twilio/{site}/dial` | a transfer ended (`DialCallStatus`) |
//! | `POST /v1/voice/twilio/{site}/handoff` | a ConversationRelay session ended (`HandoffData`): the transfer or hang-up it asked for |
//! | `POST /v1/voice/twilio/{site}/status` | the call's status callback: a call that ended before booking becomes a call-back; 204 |
//! | `POST /v1/voice/twilio/{site}/recording` | the recording's URL, kept for the note; 204 |
//! | `GET /v1/voice/relay/{site}` | ConversationRelay's WebSocket, held by the call's object |
//! | `POST /v1/voice/tools/{site}` | Vapi / Retell / ElevenLabs / bearer tool calls |
//!
//! A request that is not signed with the site's token (or a site without one) gets 403
//! and changes nothing.

mod call_object;
mod relay;
pub(crate) mod sms;
mod tools;
// pub(crate): the follow-ups' inbound SMS route checks Twilio's signature the same way.
pub(crate) mod twilio;

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};

pub use call_object::CallObject;
use call_object::{Heard, Inbound};
use worker::{Date, Delay, Env, Method, Request, Response, Result};

use crate::config;

/// Routes `/v1/voice/...` (`rest` is what follows `voice`).
pub(crate) async fn route(req: Request, env: &Env, rest: &[&str]) -> Result<Response> {
    let received_ms = Date::now().as_millis();
    match (req.method(), rest) {
        (Method::Post, ["twilio", site, hook]) => twilio_hook(req, env, site, hook, received_ms).await,
        (Method::Get, ["relay", site]) => relay::open(req, env, site).await,
        (Method::Post, ["tools", site]) => tools::route(req, env, site, received_ms).await,
        _ => Response::error("no such route", 404),
    }
}

/// One Twilio Programmable Voice webhook.
async fn twilio_hook(req: Request, env: &Env, site_id: &str, hook: &str, received_ms: u64) -> Result<Response> {
    if !matches!(hook, "incoming" | "gather" | "dial" | "handoff" | "status" | "recording") {
        return Response::error("no such route", 404);
    }
    // An unknown site has no token, so it is refused like a forged request.
    if config::site(env, site_id).is_none() {
        return twilio::forbidden();
    }
    let Some(signed) = twilio::signed(&req, env, site_id).await? else { return twilio::forbidden() };
    let Some(call_sid) = twilio::call_sid(signed.get("CallSid")) else {
        return Response::error("no CallSid", 400);
    };
    let Some(heard) = heard(hook, &signed) else { return Response::empty().map(|r| r.with_status(204)) };
    let inbound = Inbound {
        site_id: site_id.to_string(),
        call: call_sid,
        from: signed.given("From").map(str::to_string),
        to: signed.given("To").map(str::to_string),
        heard,
        base_url: base_url(&signed.url),
        received_ms,
        follow_up: if hook == "incoming" { follow_up(&signed.url) } else { None },
    };
    let quiet = matches!(inbound.heard, Heard::HungUp { .. } | Heard::Recording { .. });
    let xml = call_object::send(env, &inbound).await?;
    if quiet {
        return Response::empty().map(|r| r.with_status(204));
    }
    twilio::twiml(xml)
}

/// What a signed webhook says happened; `None` when nothing has (a call still ringing,
/// a recording not ready).
fn heard(hook: &str, signed: &twilio::Signed) -> Option<Heard> {
    Some(match hook {
        "incoming" => Heard::Answered,
        // Keys win over speech: a caller who keyed an answer meant it.
        "gather" => match (signed.given("SpeechResult"), signed.given("Digits")) {
            (_, Some(digits)) => Heard::Keyed { digits: digits.to_string() },
            (Some(text), None) => Heard::Said { text: text.to_string() },
            (None, None) => Heard::Nothing,
        },
        "dial" => Heard::DialEnded { answered: signed.get("DialCallStatus") == Some("completed") },
        // ConversationRelay ended with our `end` message: its HandoffData says what next.
        "handoff" => Heard::Handoff { data: signed.get("HandoffData").unwrap_or("").to_string() },
        "status" => match signed.given("CallStatus")? {
            s @ ("completed" | "busy" | "no-answer" | "failed" | "canceled") => Heard::HungUp { status: s.to_string() },
            // queued, ringing, in-progress: nothing has ended yet.
            _ => return None,
        },
        _ => match (signed.given("RecordingUrl"), signed.given("RecordingStatus")) {
            (Some(url), None | Some("in-progress" | "completed")) => Heard::Recording { url: url.to_string() },
            _ => return None,
        },
    })
}

/// The reason of a follow-up call the business placed (issue 15): the `/incoming`
/// URL's query, as signed (`followUp`, `customer`, `estimate`, `recipe`).
fn follow_up(url: &str) -> Option<booking_core::voice::FollowUpCall> {
    let parsed = worker::Url::parse(url).ok()?;
    let pairs: Vec<(String, String)> = parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    booking_core::voice::FollowUpCall::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Where a call's Gather and Dial actions point: the webhook's own URL up to the site
/// (`https://host/v1/voice/twilio/{site}`), so they come back the way the call came in.
fn base_url(url: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    base.rsplit_once('/').map_or(base, |(b, _)| b).to_string()
}

/// `Some(output)` if `work` finishes within `ms`, else `None` (the work is dropped:
/// pass work that must go on through [`spawn_kept`]).
pub(crate) async fn within<T>(work: impl Future<Output = T>, ms: u64) -> Option<T> {
    crate::http::first(work, Delay::from(std::time::Duration::from_millis(ms))).await
}

/// A value one future hands another: the receiving side may stop waiting while the
/// sending side goes on (a booking that outlives the caller's turn).
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// Runs `work` to its end even when nobody waits for it any more (`keep` is the
/// object's `State::wait_until`), and returns a future for its output.
pub(crate) fn spawn_kept<T: 'static>(
    work: impl Future<Output = T> + 'static,
    keep: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()>>>),
) -> impl Future<Output = T> {
    let slot = Rc::new(RefCell::new(Slot { value: None, waker: None }));
    let writer = slot.clone();
    keep(Box::pin(async move {
        let value = work.await;
        let mut s = writer.borrow_mut();
        s.value = Some(value);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }));
    poll_fn(move |cx| {
        let mut s = slot.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(pairs: &[(&str, &str)]) -> twilio::Signed {
        twilio::Signed {
            params: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            url: String::new(),
        }
    }

    #[test]
    fn keys_win_over_speech_and_an_empty_gather_is_nothing() {
        let both = heard("gather", &signed(&[("SpeechResult", "six one two"), ("Digits", "612")]));
        assert!(matches!(both, Some(Heard::Keyed { digits }) if digits == "612"));
        assert!(matches!(heard("gather", &signed(&[("SpeechResult", "  ")])), Some(Heard::Nothing)));
        assert!(
            matches!(heard("gather", &signed(&[("SpeechResult", "yes")])), Some(Heard::Said { text }) if text == "yes")
        );
    }

    #[test]
    fn only_an_ended_call_hangs_up() {
        for s in ["completed", "busy", "no-answer", "failed", "canceled"] {
            assert!(matches!(heard("status", &signed(&[("CallStatus", s)])), Some(Heard::HungUp { .. })), "{s}");
        }
        for s in ["ringing", "in-progress", "queued", ""] {
            assert!(heard("status", &signed(&[("CallStatus", s)])).is_none(), "{s}");
        }
    }

    #[test]
    fn a_transfer_counts_as_answered_only_when_completed() {
        let answered =
            |s| matches!(heard("dial", &signed(&[("DialCallStatus", s)])), Some(Heard::DialEnded { answered: true }));
        assert!(answered("completed"));
        assert!(!answered("no-answer") && !answered("busy") && !answered("failed"));
    }

    #[test]
    fn actions_point_back_to_the_site_the_call_came_in_on() {
        assert_eq!(
            base_url("http://127.0.0.1:8787/v1/voice/twilio/northstar/incoming?x=1"),
            "http://127.0.0.1:8787/v1/voice/twilio/northstar"
        );
    }
}
