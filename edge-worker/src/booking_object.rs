//! One Durable Object per conversation, named `{site}:{idempotency key}`.
//!
//! Durable Objects give one single-threaded owner per key, so double clicks and
//! concurrent submits of the same conversation meet in one place. The pipeline is
//! stored before every send and after every response (booking-core's persistence
//! contract), so a crash at any point resumes without a second record. When
//! ServiceTitan stays down the request stays stored and alarms retry it for up to a
//! day; then the site owner is told. Outgoing webhooks are retried from here too.

use std::cell::Cell;

use booking_core::booking::{Attribution, BookingRequest};
use booking_core::servicetitan::{BookingPipeline, Outcome, Step};
use booking_core::submission::BookingReply;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{durable_object, Date, Delay, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

use crate::config::{self, ServiceTitanSettings};
use crate::servicetitan_client::{self, Sent};
use crate::webhooks::{self, Delivery};

/// How long a homeowner's request may wait for ServiceTitan before we answer
/// "received" and carry on in the background.
const ANSWER_WITHIN_MS: u64 = 20_000;
/// Waits shorter than this are slept through instead of set as an alarm.
const SLEEP_UNDER_SECS: i64 = 3;
/// After this long without success the booking is given up and the site owner told.
const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;

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

fn stub(env: &Env, site: &str, key: &str) -> Result<worker::Stub> {
    env.durable_object("BOOKINGS")?.id_from_name(&format!("{site}:{key}"))?.get_stub()
}

async fn call(stub: worker::Stub, path: &str, body: String) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    stub.fetch_with_request(Request::new_with_init(&format!("https://booking{path}"), &init)?).await
}

/// Sends a job to its object and returns the homeowner's answer.
pub async fn submit(env: &Env, job: &Job) -> Result<BookingReply> {
    let mut resp = call(stub(env, &job.site_id, &job.idempotency_key)?, "/run", serde_json::to_string(job)?).await?;
    resp.json().await
}

/// Queues a "Qualified Abandoned Session" webhook, unless this conversation booked.
pub async fn abandon(env: &Env, site: &str, key: &str, payload: serde_json::Value) -> Result<()> {
    call(stub(env, site, key)?, "/abandon", payload.to_string()).await?;
    Ok(())
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
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
        if req.path() == "/abandon" {
            let payload: serde_json::Value = req.json().await?;
            if storage.get::<Job>("job").await?.is_none() && storage.get::<bool>("abandon-sent").await?.is_none() {
                storage.put("abandon-sent", true).await?;
                let site = payload["site"].as_str().and_then(|s| config::site(&self.env, s));
                if let Some(url) = site.and_then(|s| s.webhook_url) {
                    self.queue_webhook(Delivery::new(url, "session.qualified_abandoned", payload, now())).await?;
                }
            }
            return Response::ok("ok");
        }
        // Claimed before the first await: a concurrent submit of the same conversation
        // must never start a second pipeline run from the same stored state.
        if self.running.get() {
            return Response::from_json(&self.wait_for_reply().await?);
        }
        self.running.set(true);
        let result = self.run_submit(req).await;
        self.running.set(false);
        let reply = result?;
        self.schedule().await?;
        Response::from_json(&reply)
    }

    async fn alarm(&self) -> Result<Response> {
        if !self.running.get() {
            self.running.set(true);
            let result = match self.state.storage().get::<BookingReply>("reply").await {
                Ok(None) => self.drive_inner().await.map(|_| ()),
                Ok(Some(_)) => Ok(()),
                Err(e) => Err(e),
            };
            self.running.set(false);
            result?;
        }
        self.deliver_due_webhooks().await?;
        self.schedule().await?;
        Response::ok("ok")
    }
}

impl BookingObject {
    /// A submit, with `running` held: answer a finished booking, or start and drive one.
    async fn run_submit(&self, mut req: Request) -> Result<BookingReply> {
        let storage = self.state.storage();
        if let Some(reply) = storage.get::<BookingReply>("reply").await? {
            return Ok(reply);
        }
        if storage.get::<BookingPipeline>("pipeline").await?.is_none() {
            let job: Job = req.json().await?;
            let site = config::site(&self.env, &job.site_id).ok_or_else(|| worker::Error::from("unknown site"))?;
            let settings = ServiceTitanSettings::from_env(&self.env).map_err(worker::Error::from)?;
            let pipeline = BookingPipeline::new(
                job.request.clone(),
                site,
                job.attribution.clone(),
                job.idempotency_key.clone(),
                settings.tenant_id,
            );
            storage.put("job", &job).await?;
            storage.put("created_at", now()).await?;
            storage.put("pipeline", &pipeline).await?;
        }
        self.drive_inner().await
    }

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
    /// Callers hold `running`.
    async fn drive_inner(&self) -> Result<BookingReply> {
        let storage = self.state.storage();
        let Some(mut pipeline) = storage.get::<BookingPipeline>("pipeline").await? else {
            return Ok(received());
        };
        let settings = ServiceTitanSettings::from_env(&self.env).map_err(worker::Error::from)?;
        let started = Date::now().as_millis();
        let mut sent = Sent::default();
        loop {
            let t = now();
            match pipeline.next_request(t) {
                Step::Send(request) => {
                    // Stored before sending: a crash now resumes knowing the write may exist.
                    storage.put("pipeline", &pipeline).await?;
                    let response = servicetitan_client::send(&settings, &request, &mut sent).await;
                    pipeline.on_response(response, now());
                    storage.put("pipeline", &pipeline).await?;
                }
                Step::Wait { until } => {
                    let wait = (until - t).max(0);
                    let waited = Date::now().as_millis() - started;
                    if wait <= SLEEP_UNDER_SECS && waited + (wait as u64) * 1000 < ANSWER_WITHIN_MS {
                        Delay::from(std::time::Duration::from_millis(wait as u64 * 1000)).await;
                        continue;
                    }
                    storage.put("retry_at", until).await?;
                    return Ok(received());
                }
                Step::Done(Outcome::Queued { reason, retry_at }) => {
                    let created: i64 = storage.get("created_at").await?.unwrap_or(t);
                    if t - created < GIVE_UP_AFTER_SECS {
                        storage.put("retry_at", retry_at).await?;
                        return Ok(received());
                    }
                    return self.finish(Outcome::Failed { message: format!("gave up after 24 hours: {reason}") }).await;
                }
                Step::Done(outcome) => return self.finish(outcome).await,
            }
            if Date::now().as_millis() - started > ANSWER_WITHIN_MS {
                storage.put("retry_at", now() + 1).await?;
                return Ok(received());
            }
        }
    }

    /// Records the final outcome and tells the site owner.
    async fn finish(&self, outcome: Outcome) -> Result<BookingReply> {
        let storage = self.state.storage();
        let reply = reply_for(&outcome);
        storage.put("outcome", &outcome).await?;
        storage.put("reply", &reply).await?;
        let _ = storage.delete("retry_at").await?;
        if let Some(job) = storage.get::<Job>("job").await? {
            if let Some(url) = config::site(&self.env, &job.site_id).and_then(|s| s.webhook_url) {
                let (event, payload) = webhooks::for_outcome(&job, &outcome);
                self.queue_webhook(Delivery::new(url, event, payload, now())).await?;
            }
        }
        Ok(reply)
    }

    async fn queue_webhook(&self, delivery: Delivery) -> Result<()> {
        let storage = self.state.storage();
        let mut queue: Vec<Delivery> = storage.get("webhooks").await?.unwrap_or_default();
        queue.push(delivery);
        // Delivered from the alarm, so a slow receiver never delays the homeowner's answer.
        storage.put("webhooks", &queue).await?;
        self.schedule().await
    }

    async fn deliver_due_webhooks(&self) -> Result<()> {
        let storage = self.state.storage();
        let queue: Vec<Delivery> = storage.get("webhooks").await?.unwrap_or_default();
        if queue.is_empty() {
            return Ok(());
        }
        let secret = webhooks::secret(&self.env);
        let mut left = Vec::new();
        for d in queue {
            if d.due > now() {
                left.push(d);
                continue;
            }
            if let Some(next) = webhooks::deliver(d, &secret).await {
                left.push(next);
            }
        }
        storage.put("webhooks", &left).await
    }

    /// One alarm per object: the earliest of the pipeline retry and webhook retries.
    async fn schedule(&self) -> Result<()> {
        let storage = self.state.storage();
        let retry: Option<i64> = storage.get("retry_at").await?;
        let hooks: Vec<Delivery> = storage.get("webhooks").await?.unwrap_or_default();
        let next = hooks.iter().map(|d| d.due).chain(retry).min();
        match next {
            Some(at) => storage.set_alarm(((at - now()).max(1)) * 1000).await,
            None => Ok(()),
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
            // Booking modes: the office converts the booking and calls to confirm.
            None => received(),
        },
        // ServiceTitan refused it; the office has the transcript and will call.
        _ => received(),
    }
}
