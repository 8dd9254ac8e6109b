//! One Durable Object per booking, named by the conversation's idempotency key.
//!
//! Durable Objects give one single-threaded owner per key, so double clicks and
//! concurrent submits of the same conversation meet in one place. The pipeline's
//! progress is stored after every ServiceTitan response; when ServiceTitan is down the
//! request stays stored and an alarm resumes it.

use std::cell::Cell;

use booking_core::booking::{Attribution, BookingRequest};
use booking_core::servicetitan::{BookingPipeline, Outcome, Step};
use booking_core::submission::BookingReply;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{durable_object, Date, Delay, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

use crate::config::{self, ServiceTitanSettings};
use crate::servicetitan_client::{self, Sent};

/// How long a homeowner's request may wait for ServiceTitan before we answer
/// "received" and carry on in the background.
const ANSWER_WITHIN_MS: u64 = 20_000;
/// Waits shorter than this are slept through instead of set as an alarm.
const SLEEP_UNDER_SECS: i64 = 3;

/// What the worker hands the object: a booking already replayed and confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// Site id.
    pub site_id: String,
    /// The conversation's idempotency key.
    pub idempotency_key: String,
    /// The confirmed request.
    pub request: BookingRequest,
    /// Campaign attribution.
    pub attribution: Attribution,
}

/// Sends a job to its object and returns the homeowner's answer.
pub async fn submit(env: &Env, job: &Job) -> Result<BookingReply> {
    let ns = env.durable_object("BOOKINGS")?;
    let stub = ns.id_from_name(&format!("{}:{}", job.site_id, job.idempotency_key))?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&serde_json::to_string(job)?)));
    let req = Request::new_with_init("https://booking/run", &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    resp.json().await
}

/// The Durable Object.
#[durable_object]
pub struct BookingObject {
    state: State,
    env: Env,
    running: Cell<bool>,
}

impl DurableObject for BookingObject {
    fn new(state: State, env: Env) -> Self {
        BookingObject { state, env, running: Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        if let Some(reply) = storage.get::<BookingReply>("reply").await? {
            return Response::from_json(&reply);
        }
        if self.running.get() {
            // A second submit of the same conversation: wait for the first one's answer.
            return Response::from_json(&self.wait_for_reply().await?);
        }
        if storage.get::<BookingPipeline>("pipeline").await?.is_none() {
            let job: Job = req.json().await?;
            let site = config::site(&self.env, &job.site_id).ok_or_else(|| worker::Error::from("unknown site"))?;
            let settings = ServiceTitanSettings::from_env(&self.env).map_err(worker::Error::from)?;
            let pipeline =
                BookingPipeline::new(job.request, site, job.attribution, job.idempotency_key, settings.tenant_id);
            storage.put("pipeline", &pipeline).await?;
        }
        Response::from_json(&self.drive().await?)
    }

    async fn alarm(&self) -> Result<Response> {
        if !self.running.get() {
            self.drive().await?;
        }
        Response::ok("ok")
    }
}

impl BookingObject {
    async fn wait_for_reply(&self) -> Result<BookingReply> {
        let start = Date::now().as_millis();
        while Date::now().as_millis() < start + ANSWER_WITHIN_MS {
            Delay::from(std::time::Duration::from_millis(100)).await;
            if let Some(reply) = self.state.storage().get::<BookingReply>("reply").await? {
                return Ok(reply);
            }
            if !self.running.get() {
                break;
            }
        }
        Ok(received())
    }

    /// Runs the pipeline until it finishes, must wait, or the homeowner has waited long enough.
    async fn drive(&self) -> Result<BookingReply> {
        self.running.set(true);
        let result = self.drive_inner().await;
        self.running.set(false);
        result
    }

    async fn drive_inner(&self) -> Result<BookingReply> {
        let storage = self.state.storage();
        let Some(mut pipeline) = storage.get::<BookingPipeline>("pipeline").await? else {
            return Ok(received());
        };
        let settings = ServiceTitanSettings::from_env(&self.env).map_err(worker::Error::from)?;
        let started = Date::now().as_millis();
        let mut sent = Sent::default();
        loop {
            let now = (Date::now().as_millis() / 1000) as i64;
            match pipeline.next_request(now) {
                Step::Send(request) => {
                    let response = servicetitan_client::send(&settings, &request, &mut sent).await;
                    pipeline.on_response(response, (Date::now().as_millis() / 1000) as i64);
                    storage.put("pipeline", &pipeline).await?;
                }
                Step::Wait { until } => {
                    let waited = Date::now().as_millis() - started;
                    if until - now <= SLEEP_UNDER_SECS && waited + ((until - now).max(0) as u64) * 1000 < ANSWER_WITHIN_MS {
                        Delay::from(std::time::Duration::from_millis(((until - now).max(0) as u64) * 1000)).await;
                        continue;
                    }
                    storage.set_alarm(((until - now).max(1)) * 1000).await?;
                    return Ok(received());
                }
                Step::Done(outcome) => {
                    let reply = reply_for(&outcome);
                    storage.put("reply", &reply).await?;
                    storage.put("outcome", &outcome).await?;
                    return Ok(reply);
                }
            }
            if Date::now().as_millis() - started > ANSWER_WITHIN_MS {
                storage.set_alarm(1_000i64).await?;
                return Ok(received());
            }
        }
    }
}

fn received() -> BookingReply {
    BookingReply {
        status: "received".into(),
        job_number: None,
        message: "We have your request. Our office will confirm your appointment shortly.".into(),
    }
}

fn reply_for(outcome: &Outcome) -> BookingReply {
    match outcome {
        Outcome::Booked(b) => match &b.job_number {
            Some(n) => BookingReply {
                status: "booked".into(),
                job_number: Some(n.clone()),
                message: format!("You're booked. Your job number is {n}."),
            },
            None => received(),
        },
        // ServiceTitan refused it; the office still has the transcript and will call.
        _ => received(),
    }
}
