//! `CallObject`: one Durable Object per phone call (`{site}:{CallSid}`, or
//! `{site}:tools-{platform call id}`), holding the call's `booking_core::voice::Call`,
//! stored after every turn. It does what the call's effects ask: a booking through the
//! same path as chat (window re-check, the conversation's `BookingObject`, the same
//! idempotency), a call-back for a call that ended before booking (the office booking
//! and the owner's webhook through the `BookingRun`, one SMS with the booking link),
//! and a text with the booking link when the caller asks for one.
//!
//! A caller's turn answers within [`TURN_BUDGET_MS`] of the request reaching the worker:
//! a booking that takes longer goes on in the object (kept alive by `wait_until`, and
//! by an alarm if the object is evicted), and the caller hears that the request is in.

use std::cell::RefCell;

use booking_core::booking::{Attribution, BookingRequest, Channel, Locale};
use booking_core::conversation::{reply_after_recheck, reply_for};
use booking_core::run::{AbandonReport, AbandonedChat};
use booking_core::servicetitan::availability::WindowCheck;
use booking_core::site::SiteConfig;
use booking_core::submission::BookingReply;
use booking_core::voice::{render_relay, Call, CallEffect, CallEvent, CallTurn, FollowUpCall, Next, TwimlUrls};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{
    durable_object, Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, State, Storage,
    WebSocket, WebSocketIncomingMessage,
};

use super::{relay, sms, spawn_kept, within};
use crate::booking_object::{self, Job, Notice};
use crate::transcripts::{self, Transcript};
use crate::{config, recheck};

/// Twilio waits 15 s for a webhook; the caller should wait far less. Past this the
/// booking goes on without them.
pub(crate) const TURN_BUDGET_MS: u64 = 5_000;
/// The window re-check is skipped (the window kept, as for chat when ServiceTitan does
/// not answer) if capacity has not answered in this long.
const RECHECK_MS: u64 = 2_500;
/// Answer this long before the budget ends (the trip back to Twilio).
const TURN_MARGIN_MS: u64 = 400;
/// How often the run's outcome is looked for while the caller waits.
const POLL_MS: u64 = 150;
/// A booking handed to `wait_until` is picked up by the alarm this long after, in case
/// the object was evicted before it finished.
const BOOKING_ALARM_MS: i64 = 30_000;

/// What happened on the line, as the worker read it from Twilio or a platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Heard {
    /// The call connected.
    Answered,
    /// Speech, as text.
    Said {
        /// What the caller said.
        text: String,
    },
    /// Keys pressed.
    Keyed {
        /// The digits.
        digits: String,
    },
    /// A Gather that heard nothing.
    Nothing,
    /// A transfer ended.
    DialEnded {
        /// Whether someone picked up.
        answered: bool,
    },
    /// The call ended.
    HungUp {
        /// Twilio's CallStatus.
        status: String,
    },
    /// A ConversationRelay session ended; `data` is the `handoffData` of our `end`.
    Handoff {
        /// Twilio's `HandoffData`.
        data: String,
    },
    /// The call's recording is ready.
    Recording {
        /// Twilio's RecordingUrl.
        url: String,
    },
}

/// One event for a call's object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Inbound {
    /// Site id.
    pub(crate) site_id: String,
    /// The call's name: a CallSid, or `tools-{id}` for a platform's call.
    pub(crate) call: String,
    /// The caller ID, when there is one.
    pub(crate) from: Option<String>,
    /// The number the caller dialed.
    pub(crate) to: Option<String>,
    /// What happened.
    pub(crate) heard: Heard,
    /// Where Twilio's Gather and Dial actions go (`…/v1/voice/twilio/{site}`).
    pub(crate) base_url: String,
    /// When the worker received the request (ms), for the turn's deadline.
    pub(crate) received_ms: u64,
    /// A follow-up call's reason (the `/incoming` query), on its first webhook.
    #[serde(default)]
    pub(crate) follow_up: Option<FollowUpCall>,
}

/// Which call an object holds (stored once, on its first event).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Names {
    pub(crate) site_id: String,
    pub(crate) call: String,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    /// The business placed this call about an estimate (issue 15).
    #[serde(default)]
    pub(crate) follow_up: Option<FollowUpCall>,
}

impl Names {
    /// The business's number on this call: the one dialed, or on a call we placed the
    /// one it came from (texts go out from it).
    fn our_number(&self) -> Option<&str> {
        if self.follow_up.is_some() {
            self.from.as_deref()
        } else {
            self.to.as_deref()
        }
    }

    /// The call as it starts: a follow-up call knows the customer by the number called
    /// (Twilio's `To`), any other call the caller by the caller ID.
    fn new_call(&self, site: &SiteConfig, now: i64) -> Call {
        match &self.follow_up {
            Some(why) => Call::follow_up(site, self.to.as_deref(), why.clone(), now),
            None => Call::new(site, self.from.as_deref(), now),
        }
    }

    /// The conversation's idempotency key: names its `BookingObject`, so a second
    /// booking or call-back of the same call meets the first.
    pub(crate) fn idempotency_key(&self) -> String {
        format!("call-{}", self.call)
    }
}

/// A booking handed over, for the alarm to finish if the object was evicted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    request: BookingRequest,
}

/// What moves a call on.
pub(crate) enum Step {
    /// Something happened on the line (Twilio, ConversationRelay).
    Event(CallEvent),
    /// A platform's caller said this (its LLM runs the call around our engine).
    Converse(String),
}

/// A step's outcome.
pub(crate) struct Done {
    /// What to say and do next (effects done).
    pub(crate) turn: CallTurn,
    /// The language spoken before the step (ConversationRelay is told when it changes).
    pub(crate) spoken: Locale,
    /// The booking's answer, when the step booked.
    pub(crate) reply: Option<BookingReply>,
    /// The result sentence of a [`Step::Converse`].
    pub(crate) result: String,
}

/// ConversationRelay's socket for a call: the same host (`ws`/`wss`), the CallSid in the
/// query so the socket reaches this call's object.
fn relay_url(inbound: &Inbound) -> String {
    let base = inbound.base_url.replacen("/v1/voice/twilio/", "/v1/voice/relay/", 1);
    let base = base.strip_prefix("http").map_or(base.clone(), |rest| format!("ws{rest}"));
    format!("{base}?callSid={}", inbound.call)
}

fn object_name(site: &str, call: &str) -> String {
    format!("{site}:{call}")
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

/// Hands an event to its call's object; returns the TwiML to answer with.
pub(crate) async fn send(env: &Env, inbound: &Inbound) -> Result<String> {
    let stub = env.durable_object("CALLS")?.id_from_name(&object_name(&inbound.site_id, &inbound.call))?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&serde_json::to_string(inbound)?)));
    let mut resp = stub.fetch_with_request(Request::new_with_init("https://call/event", &init)?).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::from(format!("call object answered {}", resp.status_code())));
    }
    resp.text().await
}

/// One utterance of a platform's caller through its call's object; returns the result
/// sentence for the LLM (`booking_core::voice::tools::converse`'s, or the booking's).
pub(crate) async fn converse(env: &Env, names: &Names, text: &str, received_ms: u64) -> Result<String> {
    let stub = env.durable_object("CALLS")?.id_from_name(&object_name(&names.site_id, &names.call))?.get_stub()?;
    let body = serde_json::json!({ "names": names, "text": text, "receivedMs": received_ms });
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body.to_string())));
    let mut resp = stub.fetch_with_request(Request::new_with_init("https://call/converse", &init)?).await?;
    resp.text().await
}

/// Books a platform's structured request in its call's object.
pub(crate) async fn send_booking(
    env: &Env,
    names: &Names,
    request: &BookingRequest,
    received_ms: u64,
) -> Result<String> {
    let stub = env.durable_object("CALLS")?.id_from_name(&object_name(&names.site_id, &names.call))?.get_stub()?;
    let body = serde_json::json!({ "names": names, "request": request, "receivedMs": received_ms });
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body.to_string())));
    let mut resp = stub.fetch_with_request(Request::new_with_init("https://call/book", &init)?).await?;
    resp.text().await
}

/// Forwards ConversationRelay's WebSocket upgrade to a call's object.
pub(crate) async fn open_relay(env: &Env, site: &str, call: Option<&str>, req: Request) -> Result<Response> {
    let ns = env.durable_object("CALLS")?;
    let id = match call {
        Some(sid) => ns.id_from_name(&object_name(site, sid))?,
        // Without a CallSid in the URL the call is named by its `setup` message; the
        // socket is the whole call, so a fresh object holds it.
        None => ns.unique_id()?,
    };
    let url = format!("https://call/relay?site={site}");
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(req.headers().clone());
    id.get_stub()?.fetch_with_request(Request::new_with_init(&url, &init)?).await
}

/// The Durable Object.
#[durable_object]
pub struct CallObject {
    state: State,
    env: Env,
    /// The call as last stored, so a turn does not read and parse it again (storage
    /// stays the truth: every change is written before it is kept here).
    call: RefCell<Option<Call>>,
    /// The site's config, parsed once per instance.
    site: RefCell<Option<SiteConfig>>,
}

impl DurableObject for CallObject {
    fn new(state: State, env: Env) -> Self {
        CallObject { state, env, call: RefCell::new(None), site: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/event" => {
                let inbound: Inbound = req.json().await?;
                let Some(turn) = self.take(&inbound).await? else { return Response::ok("") };
                // A transfer nobody answered goes back to the socket on a relay site.
                let relay = matches!(inbound.heard, Heard::Answered | Heard::DialEnded { .. })
                    && matches!(turn.next, Next::Listen(_))
                    && self.site(&inbound.site_id)?.voice.conversation_relay;
                if relay {
                    // The greeting is Twilio's welcome; the rest of the call is the socket's.
                    let action = format!("{}/handoff", inbound.base_url);
                    return Response::ok(render_relay(&turn, &relay_url(&inbound), &action));
                }
                let urls = TwimlUrls {
                    gather: format!("{}/gather", inbound.base_url),
                    dial: format!("{}/dial", inbound.base_url),
                    recording: format!("{}/recording", inbound.base_url),
                };
                Response::ok(booking_core::voice::render(&turn, &urls))
            }
            "/converse" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Said {
                    names: Names,
                    text: String,
                    received_ms: u64,
                }
                let said: Said = req.json().await?;
                let names = self.remember(&said.names).await?;
                let site = self.site(&names.site_id)?;
                let done = self.turn(&names, &site, Step::Converse(said.text), said.received_ms).await?;
                Response::ok(match done.reply {
                    Some(reply) => booking_core::voice::tools::booked_result(&reply),
                    None => done.result,
                })
            }
            "/book" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Booking {
                    names: Names,
                    request: BookingRequest,
                    received_ms: u64,
                }
                let b: Booking = req.json().await?;
                self.remember(&b.names).await?;
                let site = self.site(&b.names.site_id)?;
                let reply = self.book_within(&b.names, &site, b.request, b.received_ms).await?;
                Response::ok(booking_core::voice::tools::booked_result(&reply))
            }
            "/relay" => {
                let url = req.url()?;
                let site = url.query_pairs().find(|(k, _)| k == "site").map(|(_, v)| v.to_string()).unwrap_or_default();
                relay::accept(&self.state, &site)
            }
            _ => Response::error("no such path", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.finish_pending().await {
            worker::console_error!("call booking alarm failed: {e}");
            self.state.storage().set_alarm(BOOKING_ALARM_MS).await?;
        }
        Response::ok("ok")
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        let WebSocketIncomingMessage::String(text) = message else { return Ok(()) };
        relay::message(self, &ws, &text).await
    }

    async fn websocket_close(&self, ws: WebSocket, _code: usize, _reason: String, _clean: bool) -> Result<()> {
        relay::closed(self, &ws).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        relay::closed(self, &ws).await
    }
}

fn site(env: &Env, id: &str) -> Result<SiteConfig> {
    config::site(env, id).ok_or_else(|| worker::Error::from("unknown site"))
}

impl CallObject {
    fn storage(&self) -> Storage {
        self.state.storage()
    }

    /// Stores which call this is, on its first event.
    pub(crate) async fn remember(&self, names: &Names) -> Result<Names> {
        if let Some(known) = self.storage().get::<Names>("names").await? {
            return Ok(known);
        }
        self.storage().put("names", names).await?;
        Ok(names.clone())
    }

    /// The stored call, if any (one of another version starts over).
    async fn load(&self) -> Result<Option<Call>> {
        if let Some(call) = self.call.borrow().clone() {
            return Ok(Some(call));
        }
        let stored = self.storage().get::<String>("call").await?.and_then(|s| Call::from_json(&s).ok());
        if self.call.borrow().is_none() {
            self.call.borrow_mut().clone_from(&stored);
        }
        Ok(stored)
    }

    async fn store(&self, call: &Call) -> Result<()> {
        self.storage().put("call", call.to_json()).await?;
        *self.call.borrow_mut() = Some(call.clone());
        Ok(())
    }

    /// The site's config (parsed once; a site id never changes within one object).
    pub(crate) fn site(&self, id: &str) -> Result<SiteConfig> {
        if let Some(site) = self.site.borrow().as_ref().filter(|s| s.id == id) {
            return Ok(site.clone());
        }
        let site = site(&self.env, id)?;
        *self.site.borrow_mut() = Some(site.clone());
        Ok(site)
    }

    /// One event through the call: the turn to answer with (effects done); `None` for
    /// an event that says nothing (a recording's URL).
    pub(crate) async fn take(&self, inbound: &Inbound) -> Result<Option<CallTurn>> {
        let names = Names {
            site_id: inbound.site_id.clone(),
            call: inbound.call.clone(),
            from: inbound.from.clone(),
            to: inbound.to.clone(),
            follow_up: inbound.follow_up.clone(),
        };
        let names = self.remember(&names).await?;
        let site = self.site(&names.site_id)?;
        if let (Heard::Answered, None, Some(from)) = (&inbound.heard, &names.follow_up, &names.from) {
            // A customer with follow-ups calling in gets a "called back" note (issue 15).
            let (env, site_id, from, sid) = (self.env.clone(), site.id.clone(), from.clone(), names.call.clone());
            self.state.wait_until(async move { crate::followups::inbound::call_in(&env, &site_id, &from, &sid).await });
        }
        let event = match inbound.heard.clone() {
            Heard::Answered => CallEvent::Answered,
            Heard::Said { text } => CallEvent::Heard { text },
            Heard::Keyed { digits } => CallEvent::Keyed { digits },
            Heard::Nothing => CallEvent::Nothing,
            Heard::DialEnded { answered } => CallEvent::DialEnded { answered },
            Heard::HungUp { status } => CallEvent::HungUp { status },
            Heard::Handoff { data } => {
                // Not a turn of the conversation: the relay already said everything.
                let next = booking_core::voice::relay::handoff(&data).unwrap_or(Next::Hangup);
                let locale = self.load().await?.map(|c| c.locale()).unwrap_or_default();
                return Ok(Some(CallTurn { say: Vec::new(), locale, next, effects: Vec::new(), record: false }));
            }
            Heard::Recording { url } => {
                // The call keeps it for the office's note; nothing is said.
                let mut call = self.load().await?.unwrap_or_else(|| names.new_call(&site, now()));
                call.recorded(&url);
                self.store(&call).await?;
                return Ok(None);
            }
        };
        Ok(Some(self.turn(&names, &site, Step::Event(event), inbound.received_ms).await?.turn))
    }

    /// Runs one step of the call and its effects; the call is stored after the turn
    /// and again after a booking changed it.
    pub(crate) async fn turn(&self, names: &Names, site: &SiteConfig, step: Step, received_ms: u64) -> Result<Done> {
        let now = now();
        let stored = self.load().await?;
        let fresh = stored.is_none();
        let mut call = stored.unwrap_or_else(|| names.new_call(site, now));
        let spoken = call.locale();
        let mut opening = Vec::new();
        let mut result = String::new();
        let mut turn = match step {
            Step::Event(event) => {
                let caller_turn = matches!(
                    event,
                    CallEvent::Heard { .. }
                        | CallEvent::Keyed { .. }
                        | CallEvent::KeyPressed { .. }
                        | CallEvent::Nothing
                );
                if fresh && caller_turn {
                    // The object never saw this call's start (its storage was lost): the
                    // call starts as any call does, and its greeting comes first. (A
                    // status callback for a call never answered stays a missed call.)
                    opening = call.handle(CallEvent::Answered, now).say;
                }
                call.handle(event, now)
            }
            Step::Converse(text) => {
                let (said, turn) = booking_core::voice::tools::converse(&mut call, &text, now);
                result = said;
                turn
            }
        };
        self.store(&call).await?;
        let mut reply = None;
        for effect in std::mem::take(&mut turn.effects) {
            match effect {
                CallEffect::Book { request } => {
                    // booking-core's rule: the booked turn is said instead of this one.
                    let answer = self.book_within(names, site, request, received_ms).await?;
                    turn = call.booked(&answer, now);
                    reply = Some(answer);
                    self.store(&call).await?;
                }
                CallEffect::CallBack { report, call: chat, link_texted } => {
                    self.call_back(names, site, report, chat, link_texted).await?
                }
                CallEffect::TextBookingLink { phone } => self.text_link(names, site, &phone, call.locale()).await?,
                CallEffect::OptOut { customer_id, follow_up } => {
                    opt_out(&self.env, &site.id, customer_id, &follow_up).await
                }
            }
        }
        turn.say.splice(0..0, opening);
        Ok(Done { turn, spoken, reply, result })
    }

    /// The booking, through the same path as chat, answered within the turn's budget.
    /// When it cannot finish in time it goes on without the caller (the alarm finishes
    /// it if need be), and the answer is booking-core's "we have your request" (the
    /// reply for the request without a window, with the same reference).
    async fn book_within(
        &self,
        names: &Names,
        site: &SiteConfig,
        request: BookingRequest,
        received_ms: u64,
    ) -> Result<BookingReply> {
        let storage = self.storage();
        if let Some(reply) = storage.get::<BookingReply>("booked").await? {
            // A repeated webhook (Twilio retries) or a second "yes": the first answer.
            return Ok(reply);
        }
        let mut unhurried = request.clone();
        unhurried.arrival_window = None;
        unhurried.preferred_time = Default::default();
        let in_time = reply_for(&unhurried, site, &booking_core::booking::reference(&names.idempotency_key()), now());
        storage.put("pending", &Pending { request: request.clone() }).await?;
        storage.set_alarm(BOOKING_ALARM_MS).await?;
        let deadline = received_ms + TURN_BUDGET_MS - TURN_MARGIN_MS;
        let key = names.idempotency_key();
        let (env, names, owned_site) = (self.env.clone(), names.clone(), site.clone());
        let work =
            async move { hand_over(&env, &storage, &names, &owned_site, request).await.map_err(|e| e.to_string()) };
        let booking = spawn_kept(work, |f| self.state.wait_until(f));
        let reply = match within(booking, left_until(deadline)).await {
            Some(Ok(reply)) => reply,
            Some(Err(e)) => {
                // Stored as pending: the alarm tries again; the caller hears it is in.
                worker::console_error!("call booking not handed over yet: {e}");
                return Ok(in_time);
            }
            None => return Ok(in_time),
        };
        // The caller hears the window only once ServiceTitan has the booking; until the
        // deadline the run's outcome is awaited, after it the request is "in".
        Ok(if booked_by(&self.env, &site.id, &key, deadline).await { reply } else { in_time })
    }

    /// A booking the object could not finish in its invocation.
    async fn finish_pending(&self) -> Result<()> {
        let storage = self.storage();
        let Some(pending) = storage.get::<Pending>("pending").await? else { return Ok(()) };
        if storage.get::<BookingReply>("booked").await?.is_some() {
            return Ok(());
        }
        let names: Names = storage.get("names").await?.unwrap_or_default();
        let site = site(&self.env, &names.site_id)?;
        hand_over(&self.env, &storage, &names, &site, pending.request).await.map(|_| ())
    }

    /// A call that ended before booking, with a caller ID: the office booking and the
    /// owner's webhook (the `BookingRun` files them once per conversation, never after a
    /// booking), and one SMS with the booking link.
    async fn call_back(
        &self,
        names: &Names,
        site: &SiteConfig,
        report: AbandonReport,
        chat: AbandonedChat,
        link_texted: bool,
    ) -> Result<()> {
        let storage = self.storage();
        // A booking already handed over: the call did not end unbooked.
        if storage.get::<Pending>("pending").await?.is_some() || storage.get::<bool>("calledBack").await? == Some(true)
        {
            return Ok(());
        }
        storage.put("calledBack", true).await?;
        let phone = report.phone.clone();
        let transcript = Transcript {
            site: site.id.clone(),
            session: names.idempotency_key(),
            outcome: "abandoned".into(),
            stored_at: now(),
            phone: phone.clone(),
            email: report.email.clone(),
            turns: report.turns.clone(),
            rendered: None,
            final_outcome: None,
        };
        if let Err(e) = transcripts::store(&self.env, &transcript).await {
            worker::console_error!("call transcript not stored: {e}");
        }
        let locale = chat.locale;
        let notice =
            Notice::Abandoned { site_id: site.id.clone(), idempotency_key: names.idempotency_key(), report, chat };
        booking_object::notify(&self.env, &notice).await?;
        if let Some(phone) = phone.filter(|_| !link_texted) {
            self.text_link(names, site, &phone, locale).await?;
        }
        Ok(())
    }

    /// One text with the booking link per call, whoever asked for it first.
    async fn text_link(&self, names: &Names, site: &SiteConfig, phone: &str, locale: Locale) -> Result<()> {
        let storage = self.storage();
        if storage.get::<sms::Sent>("sms").await?.is_some() {
            return Ok(());
        }
        let Some(body) = booking_core::voice::booking_link_text(site, phone, locale) else { return Ok(()) };
        // Marked before sending: a text twice is worse than a text lost.
        storage.put("sms", &sms::Sent::Failed { status: 0 }).await?;
        let sent = sms::send(&self.env, &site.id, phone, names.our_number(), &body).await;
        if !matches!(sent, sms::Sent::Queued { .. }) {
            worker::console_log!("booking link text not sent: {sent:?}");
        }
        storage.put("sms", &sent).await
    }

    /// Whether the object holds a call already.
    pub(crate) async fn has_call(&self) -> Result<bool> {
        Ok(self.load().await?.is_some())
    }

    /// The object's site and call names as stored (for the relay socket's messages).
    pub(crate) async fn names(&self) -> Result<Option<Names>> {
        self.storage().get::<Names>("names").await
    }
}

/// A follow-up call's "stop": the customer's follow-ups object (`{site}:{customerId}`)
/// hears it as a voice opt-out. A failure is logged (status only) and the call still
/// says goodbye: the customer was heard, and the office sees the call's transcript.
async fn opt_out(env: &Env, site: &str, customer_id: i64, follow_up: &str) {
    let body = serde_json::json!({
        "channel": "voice",
        "atMs": Date::now().as_millis(),
        "why": "said stop on the follow-up call",
        "followUp": follow_up,
    });
    let sent = crate::followups::call(env, site, &customer_id.to_string(), "/opt-out", body.to_string()).await;
    match sent {
        Ok(r) if (200..300).contains(&r.status_code()) => {}
        Ok(r) => worker::console_log!("follow-up opt-out for {site}: the customer object answered {}", r.status_code()),
        Err(e) => worker::console_error!("follow-up opt-out for {site} not delivered: {e}"),
    }
}

/// Milliseconds from now to `deadline` (0 when past).
fn left_until(deadline: u64) -> u64 {
    deadline.saturating_sub(Date::now().as_millis())
}

/// Whether the conversation's booking run reached ServiceTitan (a job or an office
/// booking) by `deadline`: its outcome lands on the stored transcript.
async fn booked_by(env: &Env, site: &str, key: &str, deadline: u64) -> bool {
    loop {
        if let Ok(Some(t)) = transcripts::get(env, site, key).await {
            if let Some(outcome) = t.final_outcome {
                return matches!(outcome["status"].as_str(), Some("booked" | "filedForOffice"));
            }
        }
        let left = left_until(deadline);
        if left == 0 {
            return false;
        }
        worker::Delay::from(std::time::Duration::from_millis(left.min(POLL_MS))).await;
    }
}

/// Re-checks the window (within [`RECHECK_MS`]), decides the answer as chat does, and
/// submits the job to the conversation's `BookingObject`, keyed by the call: the same
/// key always gets the first answer, so a retried turn books nothing twice.
async fn hand_over(
    env: &Env,
    storage: &Storage,
    names: &Names,
    site: &SiteConfig,
    mut request: BookingRequest,
) -> Result<BookingReply> {
    let now = now();
    request.channel = Channel::Voice;
    let key = names.idempotency_key();
    let reference = booking_core::booking::reference(&key);
    let check = within(recheck(env, site, &request, now), RECHECK_MS).await.unwrap_or(Ok(WindowCheck::Still))?;
    let (request, reply) = reply_after_recheck(request, site, &reference, now, check);
    let job = Job {
        site_id: site.id.clone(),
        idempotency_key: key.clone(),
        request: request.clone(),
        attribution: Attribution::default(),
        reply,
    };
    // Stored first, so the run's outcome (written to it) is never overwritten.
    let transcript = Transcript {
        site: site.id.clone(),
        session: key,
        outcome: job.reply.status.code().into(),
        stored_at: now,
        phone: Some(request.phone.digits.clone()),
        email: request.email.clone(),
        turns: Vec::new(),
        rendered: Some(booking_core::transcript::render(&request)),
        final_outcome: None,
    };
    if transcripts::get(env, &site.id, &transcript.session).await?.is_none() {
        if let Err(e) = transcripts::store(env, &transcript).await {
            worker::console_error!("call transcript not stored: {e}");
        }
    }
    let reply = booking_object::submit(env, &job).await?;
    storage.put("booked", &reply).await?;
    let _ = storage.delete_alarm().await;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(base: &str) -> Inbound {
        Inbound {
            site_id: "northstar".into(),
            call: "CA0123".into(),
            from: None,
            to: None,
            heard: Heard::Answered,
            base_url: base.into(),
            received_ms: 0,
            follow_up: None,
        }
    }

    #[test]
    fn the_relay_socket_is_on_the_same_host_and_names_the_call() {
        assert_eq!(
            relay_url(&inbound("https://book.example.com/v1/voice/twilio/northstar")),
            "wss://book.example.com/v1/voice/relay/northstar?callSid=CA0123"
        );
        assert_eq!(
            relay_url(&inbound("http://127.0.0.1:8787/v1/voice/twilio/northstar")),
            "ws://127.0.0.1:8787/v1/voice/relay/northstar?callSid=CA0123"
        );
    }

    #[test]
    fn a_call_books_under_one_key() {
        let names = Names { site_id: "northstar".into(), call: "CA0123".into(), ..Names::default() };
        assert_eq!(names.idempotency_key(), "call-CA0123");
        assert_eq!(object_name("northstar", "CA0123"), "northstar:CA0123");
    }
}
