//! One Durable Object per conversation, named `{site}:{idempotency key}`: it stores,
//! sends and sets alarms; every decision is `booking_core::run::BookingRun`'s.
//!
//! Durable Objects give one single-threaded owner per key, so double clicks and
//! concurrent submits of the same conversation meet in one place. The run lives in
//! memory (one `RefCell`, never borrowed across an `await`) and is stored after every
//! change, before and after every send (booking-core's persistence contract), so a
//! crash at any point resumes without a second record. Whatever goes wrong inside
//! `fetch` or `alarm`, the alarm is armed again before the error is returned.

use std::cell::{Cell, RefCell};

use booking_core::booking::{Attribution, BookingRequest};
use booking_core::followup::BookingConsent;
use booking_core::run::{
    AbandonReport, AbandonedChat, Action, BookingRun, Delivery, DeliveryResult, MismatchReport, Record,
};
use booking_core::servicetitan::Booked;
use booking_core::submission::BookingReply;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{durable_object, Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

use crate::config::{self, ServiceTitanSettings};
use crate::servicetitan_client::{self, Sent};
use crate::{attention, outbound};

/// One invocation drives the run at most this long, then hands over to the next alarm
/// (a Durable Object invocation must not run unbounded).
const DRIVE_FOR_MS: u64 = 20_000;
/// After an error inside `fetch` or `alarm`, try again this much later.
const REARM_AFTER_ERROR_MS: i64 = 60_000;

/// What the worker hands the object: a booking already replayed and confirmed, and the
/// homeowner's answer (decided by booking-core from the request alone).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    /// Site id.
    pub(crate) site_id: String,
    /// The conversation's idempotency key.
    pub(crate) idempotency_key: String,
    /// The confirmed request.
    pub(crate) request: BookingRequest,
    /// Campaign attribution.
    pub(crate) attribution: Attribution,
    /// The answer for the homeowner; the first one stored wins.
    pub(crate) reply: BookingReply,
}

/// Something for a conversation's object besides a booking.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Notice {
    /// The homeowner left after giving contact details.
    Abandoned {
        /// Site id.
        site_id: String,
        /// Idempotency key.
        idempotency_key: String,
        /// What to report.
        report: AbandonReport,
        /// What the conversation knew, for the office's call-back booking.
        #[serde(default)]
        chat: AbandonedChat,
    },
    /// The turns did not replay to a booking (e.g. a cached old widget after a deploy).
    Mismatch {
        /// Site id.
        site_id: String,
        /// Idempotency key.
        idempotency_key: String,
        /// What to report.
        report: MismatchReport,
    },
}

/// Which conversation this object is (for the records it writes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Names {
    site: String,
    session: String,
}

fn stub(env: &Env, site: &str, key: &str) -> Result<worker::Stub> {
    env.durable_object("BOOKINGS")?.id_from_name(&format!("{site}:{key}"))?.get_stub()
}

async fn call(stub: worker::Stub, path: &str, body: String) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    stub.fetch_with_request(Request::new_with_init(&format!("https://booking{path}"), &init)?).await
}

/// Hands a job to its object; returns the homeowner's answer (the first one stored).
pub(crate) async fn submit(env: &Env, job: &Job) -> Result<BookingReply> {
    let mut resp = call(stub(env, &job.site_id, &job.idempotency_key)?, "/submit", serde_json::to_string(job)?).await?;
    resp.json().await
}

/// Tells a conversation's object about an abandonment or a replay mismatch.
pub(crate) async fn notify(env: &Env, notice: &Notice) -> Result<()> {
    let (site, key) = match notice {
        Notice::Abandoned { site_id, idempotency_key, .. } | Notice::Mismatch { site_id, idempotency_key, .. } => {
            (site_id, idempotency_key)
        }
    };
    call(stub(env, site, key)?, "/notice", serde_json::to_string(notice)?).await?;
    Ok(())
}

/// Deletes everything a conversation's object holds (a person's deletion request).
/// Returns whether it held anything.
pub(crate) async fn forget(env: &Env, site: &str, key: &str) -> Result<bool> {
    let mut resp = call(stub(env, site, key)?, "/forget", String::new()).await?;
    Ok(resp.json::<bool>().await.unwrap_or(false))
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

/// The Durable Object.
#[durable_object]
pub struct BookingObject {
    state: State,
    env: Env,
    run: RefCell<Option<BookingRun>>,
    loaded: Cell<bool>,
    driving: Cell<bool>,
}

impl DurableObject for BookingObject {
    fn new(state: State, env: Env) -> Self {
        BookingObject { state, env, run: RefCell::new(None), loaded: Cell::new(false), driving: Cell::new(false) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let result = self.answer(req).await;
        if result.is_err() {
            self.rearm().await;
        }
        result
    }

    async fn alarm(&self) -> Result<Response> {
        let result = self.drive().await;
        if let Err(e) = &result {
            worker::console_error!("booking run alarm failed: {e}");
            self.rearm().await;
        }
        result.map(|_| Response::ok("ok"))?
    }
}

impl BookingObject {
    async fn answer(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/submit" => {
                let job: Job = req.json().await?;
                let reply = self.accept(job).await?;
                Response::from_json(&reply)
            }
            "/notice" => {
                let notice: Notice = req.json().await?;
                self.take_notice(notice).await?;
                Response::ok("ok")
            }
            "/forget" => {
                let held = self.load().await?;
                self.state.storage().delete_all().await?;
                self.state.storage().delete_alarm().await?;
                *self.run.borrow_mut() = None;
                Response::from_json(&held)
            }
            _ => Response::error("no such path", 404),
        }
    }

    /// Stores the job and its answer, then lets the alarm drive the run: the answer
    /// never waits for ServiceTitan, so its timing tells nothing about the records.
    async fn accept(&self, job: Job) -> Result<BookingReply> {
        let storage = self.state.storage();
        if let Some(reply) = storage.get::<BookingReply>("reply").await? {
            return Ok(reply);
        }
        self.ensure_run(&job.site_id, &job.idempotency_key).await?;
        self.with_run(|run| run.submit(job.request.clone(), job.attribution.clone(), now()));
        self.save().await?;
        // The card's text and call consents, for the customer's follow-ups once
        // ServiceTitan has said who the customer is (see `record`).
        let consent = BookingConsent::from_request(&job.request, now());
        if consent.sms || consent.voice {
            storage.put("consent", &consent).await?;
        }
        storage.put("reply", &job.reply).await?;
        storage.set_alarm(1).await?;
        Ok(job.reply)
    }

    async fn take_notice(&self, notice: Notice) -> Result<()> {
        match notice {
            Notice::Abandoned { site_id, idempotency_key, report, chat } => {
                self.ensure_run(&site_id, &idempotency_key).await?;
                self.with_run(|run| run.abandon_to_office(report, chat, now()));
            }
            Notice::Mismatch { site_id, idempotency_key, report } => {
                self.ensure_run(&site_id, &idempotency_key).await?;
                self.with_run(|run| run.replay_mismatch(report, now()));
            }
        }
        self.save().await?;
        self.state.storage().set_alarm(1).await
    }

    /// Loads the stored run once per object instance. Returns whether there is one.
    async fn load(&self) -> Result<bool> {
        if !self.loaded.get() {
            let stored = self.state.storage().get::<BookingRun>("run").await?;
            if !self.loaded.get() {
                *self.run.borrow_mut() = stored;
                self.loaded.set(true);
            }
        }
        Ok(self.run.borrow().is_some())
    }

    async fn ensure_run(&self, site_id: &str, key: &str) -> Result<()> {
        if self.load().await? {
            return Ok(());
        }
        let site = config::site(&self.env, site_id).ok_or_else(|| worker::Error::from("unknown site"))?;
        let settings = ServiceTitanSettings::for_site(&self.env, &site)?;
        let run = BookingRun::new(site, settings.tenant_id, key.to_string(), now());
        let names = Names { site: site_id.to_string(), session: key.to_string() };
        self.state.storage().put("names", &names).await?;
        self.run.borrow_mut().get_or_insert(run);
        Ok(())
    }

    fn with_run<R>(&self, f: impl FnOnce(&mut BookingRun) -> R) -> Option<R> {
        self.run.borrow_mut().as_mut().map(f)
    }

    async fn save(&self) -> Result<()> {
        let run = self.run.borrow().clone();
        match run {
            Some(run) => self.state.storage().put("run", &run).await,
            None => Ok(()),
        }
    }

    /// Does what the run asks until it waits, is idle, or this invocation has run long
    /// enough. A second caller while one drives only returns: the first sees its change.
    async fn drive(&self) -> Result<()> {
        if !self.load().await? || self.driving.get() {
            return Ok(());
        }
        self.driving.set(true);
        let result = self.drive_loop().await;
        self.driving.set(false);
        result
    }

    async fn drive_loop(&self) -> Result<()> {
        let started = Date::now().as_millis();
        let names: Names = self.state.storage().get("names").await?.unwrap_or_default();
        let settings = ServiceTitanSettings::for_site_id(&self.env, &names.site)?;
        let mut sent = Sent::default();
        loop {
            if Date::now().as_millis() - started > DRIVE_FOR_MS {
                return self.state.storage().set_alarm(1).await;
            }
            let Some(action) = self.with_run(|run| run.next_action(now())) else { return Ok(()) };
            match action {
                Action::Send(request) => {
                    self.save().await?;
                    let response = servicetitan_client::send(&settings, &request, &mut sent).await;
                    self.with_run(|run| run.on_response(response, now()));
                }
                Action::Deliver(delivery) => {
                    self.save().await?;
                    let result = self.deliver(&delivery).await;
                    self.with_run(|run| run.on_delivery(&delivery.id, result, now()));
                }
                Action::Record(record) => {
                    self.record(&record).await?;
                    self.with_run(|run| run.on_recorded(now()));
                }
                Action::WakeAt(at) => {
                    self.save().await?;
                    return self.state.storage().set_alarm(((at - now()).max(0)) * 1000 + 1).await;
                }
                Action::Idle => return self.save().await,
            }
            self.save().await?;
        }
    }

    async fn deliver(&self, d: &Delivery) -> DeliveryResult {
        let secret = outbound::webhook_secret(&self.env);
        let result =
            if secret.is_empty() { DeliveryResult::NotSigned } else { outbound::post_signed(d, &secret).await };
        // Every attempt goes in the owner's delivery log (the owner page).
        let names: Names = self.state.storage().get("names").await.ok().flatten().unwrap_or_default();
        crate::deliveries::log(&self.env, &names.site, &names.session, d, result).await;
        result
    }

    async fn record(&self, record: &Record) -> Result<()> {
        let names: Names = self.state.storage().get("names").await?.unwrap_or_default();
        attention::store(&self.env, &names.site, &names.session, record).await?;
        if let Record::Outcome { records: Some(Booked { customer_id: Some(customer_id), .. }), .. } = record {
            self.hand_consent(&names.site, *customer_id).await;
        }
        Ok(())
    }

    /// Hands the booking's consent to the customer's follow-ups (`{site}:{customerId}`,
    /// engine `booking_consent`), once. A failure is logged, never the booking's: without
    /// it the customer's ServiceTitan mobile with texts allowed still counts.
    async fn hand_consent(&self, site: &str, customer_id: i64) {
        let storage = self.state.storage();
        let Ok(Some(consent)) = storage.get::<BookingConsent>("consent").await else { return };
        let body = serde_json::json!({"siteId": site, "customerId": customer_id, "consent": consent}).to_string();
        match crate::followups::call(&self.env, site, &customer_id.to_string(), "/consent", body).await {
            Ok(r) if r.status_code() == 200 => {
                let _ = storage.delete("consent").await;
            }
            Ok(r) => worker::console_error!("booking consent for customer {customer_id}: {}", r.status_code()),
            Err(e) => worker::console_error!("booking consent for customer {customer_id}: {e}"),
        }
    }

    async fn rearm(&self) {
        if let Err(e) = self.state.storage().set_alarm(REARM_AFTER_ERROR_MS).await {
            worker::console_error!("could not re-arm the booking alarm: {e}");
        }
    }
}
