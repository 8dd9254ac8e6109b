//! `FollowUpObject`: one Durable Object per `{site}:{customerId}` holding that customer's
//! `CustomerFollowUps`, and one per site named `{site}:webhooks`, the intake that turns
//! webhook nudges into observations. Every decision is booking-core's; this stores,
//! reads ServiceTitan, texts, writes notes and sets alarms.
//!
//! The state is stored after every step (before each send and after each answer), so a
//! crash resumes where it was; any error inside `fetch` or `alarm` re-arms the alarm.
//! A send whose answer was lost (`maybe_sent`) is looked up at the provider before it is
//! tried again (`send`, through `send::look_up`).

use std::cell::{Cell, RefCell};

use booking_core::followup::{
    Action, BookingConsent, Channel, Contact, CustomerFollowUps, Entity, InboundSms, Keyword, Note, NoteTarget,
    Observation, Outgoing, Recheck, RecheckResult, Ref, SendResult,
};
use booking_core::servicetitan::{parse_iso8601, Method, StRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{durable_object, Date, DurableObject, Env, Request, Response, Result, State};

use super::poller;
use super::reads::{self, ReadError};
use super::{ForCustomer, Nudge, SiteNudge};
use crate::config::{self, ServiceTitanSettings};
use crate::servicetitan_client::{self, Sent};

/// One invocation drives at most this long, then hands over to the next alarm.
const DRIVE_FOR_MS: f64 = 20_000.0;
/// After an error, or ServiceTitan not answering the intake, try again this much later.
const RETRY_AFTER_MS: i64 = 30_000;
/// Nudges handed over per alarm at most (each is a few ServiceTitan reads; an invocation's
/// subrequests are limited): the rest go on at the next alarm, at once.
const NUDGES_PER_ALARM: usize = 25;
/// Nudges kept waiting in the intake at most (a flood is cut, the export poller catches up).
const MAX_NUDGES: usize = 1_000;

/// An office note's reason is kept to this length.
const MAX_WHY_CHARS: usize = 300;

/// `POST /inbound`: a text from the customer, routed here by F1's inbound SMS route.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundText {
    site_id: String,
    customer_id: i64,
    from: String,
    body: String,
    message_sid: String,
    /// Real time it came in (ms); 0: now.
    #[serde(default)]
    at_ms: f64,
}

/// `POST /call-in`: the customer called the voice agent (`voice::call_object`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallIn {
    call_sid: String,
    from: String,
    /// Real time of the call (ms); 0: now.
    #[serde(default)]
    at_ms: f64,
}

/// `POST /poll` (the cron trigger): read the export feeds for this site.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PollSite {
    site_id: String,
}

/// `POST /consent`: the booking's text and call consents (booking_object.rs, once
/// ServiceTitan named the customer).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsentGiven {
    site_id: String,
    customer_id: i64,
    consent: BookingConsent,
}

/// `POST /cancel`: the office cancels one pending follow-up.
#[derive(Debug, Deserialize)]
struct CancelOne {
    id: String,
}

/// `POST /opt-out`: the customer opted out some other way (said stop on the call).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptOut {
    channel: Channel,
    #[serde(default)]
    at_ms: f64,
    #[serde(default)]
    why: String,
    /// Needed only when the customer has no follow-ups state yet.
    #[serde(default)]
    site_id: Option<String>,
    #[serde(default)]
    customer_id: Option<i64>,
}

fn keyword_name(keyword: Keyword) -> &'static str {
    match keyword {
        Keyword::Stop => "stop",
        Keyword::Start => "start",
        Keyword::Help => "help",
        Keyword::Reply => "other",
    }
}

/// Which customer this object is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Names {
    site: String,
    customer_id: i64,
    /// Real time (ms) of the first event: the origin of the compressed clock.
    origin_ms: f64,
}

/// The Durable Object.
#[durable_object]
pub struct FollowUpObject {
    state: State,
    env: Env,
    follow_ups: RefCell<Option<CustomerFollowUps>>,
    names: RefCell<Option<Names>>,
    loaded: Cell<bool>,
    driving: Cell<bool>,
}

impl DurableObject for FollowUpObject {
    fn new(state: State, env: Env) -> Self {
        FollowUpObject {
            state,
            env,
            follow_ups: RefCell::new(None),
            names: RefCell::new(None),
            loaded: Cell::new(false),
            driving: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let result = self.answer(req).await;
        if result.is_err() {
            self.rearm().await;
        }
        result
    }

    async fn alarm(&self) -> Result<Response> {
        let result = match self.state.storage().get::<Vec<Nudge>>("nudges").await? {
            Some(nudges) if !nudges.is_empty() => self.intake(nudges).await,
            _ => self.drive().await,
        };
        if let Err(e) = &result {
            worker::console_error!("follow-up alarm failed: {e}");
            self.rearm().await;
        }
        result.map(|_| Response::ok("ok"))?
    }
}

fn real_ms() -> f64 {
    Date::now().as_millis() as f64
}

/// `FOLLOWUP_TIME_FACTOR` (tests only): 1 unless set to a number above 1.
fn time_factor(env: &Env) -> f64 {
    super::var(env, "FOLLOWUP_TIME_FACTOR").and_then(|v| v.parse::<f64>().ok()).filter(|f| *f > 1.0).unwrap_or(1.0)
}

impl FollowUpObject {
    async fn answer(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/nudge" => {
                let SiteNudge { site_id, nudge } = req.json().await?;
                self.state.storage().put("intakeSite", &site_id).await?;
                if !self.queue(vec![nudge]).await? {
                    worker::console_error!("webhook intake full: the export poller catches up");
                }
                Response::ok("queued")
            }
            "/poll" => {
                let given: PollSite = req.json().await?;
                self.state.storage().put("intakeSite", &given.site_id).await?;
                let settings = ServiceTitanSettings::for_site_id(&self.env, &given.site_id)?;
                let report = poller::poll(&self.state.storage(), &settings, real_ms(), |n| self.queue(n)).await?;
                Response::from_json(&report)
            }
            "/observe" => {
                let given: ForCustomer = req.json().await?;
                self.observe(given).await?;
                Response::ok("ok")
            }
            "/consent" => {
                let given: ConsentGiven = req.json().await?;
                let names = Some((given.site_id, given.customer_id));
                self.change(names, 0.0, |fu, _| fu.booking_consent(given.consent)).await?;
                Response::ok("ok")
            }
            "/inbound" => {
                let given: InboundText = req.json().await?;
                let keyword = self.inbound(given).await?;
                Response::from_json(&json!({"keyword": keyword_name(keyword)}))
            }
            "/call-in" => {
                // Only a customer with follow-ups is indexed by phone: no state, no note.
                let given: CallIn = req.json().await?;
                let noted =
                    self.change(None, given.at_ms, |fu, now| fu.call_in(&given.call_sid, &given.from, now)).await?;
                Response::from_json(&json!({"noted": noted.is_some()}))
            }
            "/cancel" => {
                let given: CancelOne = req.json().await?;
                let cancelled = self.change(None, 0.0, |fu, now| fu.cancel(&given.id, now)).await?;
                Response::from_json(&json!({"cancelled": cancelled.unwrap_or(false)}))
            }
            "/opt-out" => {
                let given: OptOut = req.json().await?;
                let names = given.site_id.clone().zip(given.customer_id);
                let why: String = given.why.chars().take(MAX_WHY_CHARS).collect();
                let done = self.change(names, given.at_ms, |fu, now| fu.opt_out(given.channel, &why, now)).await?;
                match done {
                    Some(()) => Response::from_json(&json!({"optedOut": true})),
                    None => Response::error("no follow-ups for this customer: give siteId and customerId", 404),
                }
            }
            "/list" => {
                self.load().await?;
                let names = self.names.borrow().clone();
                let body = match (&*self.follow_ups.borrow(), names) {
                    (Some(fu), Some(n)) => json!({
                        "customerId": n.customer_id,
                        "name": fu.contact().name,
                        "optedOut": fu.opted_out(),
                        "bookingConsent": fu.consent().map(|c| json!({"sms": c.sms, "voice": c.voice, "at": c.at})),
                        "zone": fu.zone(),
                        "followUps": fu.list(),
                    }),
                    _ => json!({"followUps": []}),
                };
                Response::from_json(&body)
            }
            _ => Response::error("no such path", 404),
        }
    }

    /// Adds nudges to the intake's queue and wakes it. A duplicate delivery (or a record
    /// both a webhook and the export feed named) is one nudge: the re-read would be the same.
    /// Answers whether every one was taken (a full queue drops the rest: the poller then
    /// keeps its token and reads them again later).
    async fn queue(&self, given: Vec<Nudge>) -> Result<bool> {
        if given.is_empty() {
            return Ok(true);
        }
        let storage = self.state.storage();
        let mut nudges = storage.get::<Vec<Nudge>>("nudges").await?.unwrap_or_default();
        let mut all = true;
        for nudge in given {
            if nudges.contains(&nudge) {
                continue;
            }
            if nudges.len() < MAX_NUDGES {
                nudges.push(nudge);
            } else {
                all = false;
            }
        }
        storage.put("nudges", &nudges).await?;
        storage.set_alarm(1).await?;
        Ok(all)
    }

    /// The engine's clock: real time, compressed by the factor from this object's origin.
    fn now(&self) -> i64 {
        let origin = self.names.borrow().as_ref().map_or_else(real_ms, |n| n.origin_ms);
        let real = real_ms();
        ((origin + (real - origin) * time_factor(&self.env)) / 1000.0) as i64
    }

    /// Real milliseconds from now until the engine's time `at`.
    fn alarm_in_ms(&self, at: i64) -> i64 {
        let wait_s = (at - self.now()).max(0) as f64;
        (wait_s * 1000.0 / time_factor(&self.env)) as i64 + 1
    }

    async fn load(&self) -> Result<()> {
        if !self.loaded.get() {
            let storage = self.state.storage();
            let names = storage.get::<Names>("names").await?;
            let stored = storage.get::<CustomerFollowUps>("state").await?;
            if !self.loaded.get() {
                *self.names.borrow_mut() = names;
                *self.follow_ups.borrow_mut() = stored;
                self.loaded.set(true);
            }
        }
        Ok(())
    }

    async fn save(&self) -> Result<()> {
        let fu = self.follow_ups.borrow().clone();
        match fu {
            Some(fu) => self.state.storage().put("state", &fu).await,
            None => Ok(()),
        }
    }

    fn site(&self) -> Result<booking_core::site::SiteConfig> {
        let site = self.names.borrow().as_ref().map(|n| n.site.clone()).unwrap_or_default();
        config::site(&self.env, &site).ok_or_else(|| worker::Error::from("unknown site"))
    }

    async fn observe(&self, given: ForCustomer) -> Result<()> {
        let names = Some((given.site_id, given.customer_id));
        self.change(names, 0.0, |fu, now| {
            fu.observe(given.observation, now);
        })
        .await?;
        Ok(())
    }

    /// A text from the customer (F1's inbound route found them): STOP, START, HELP or a
    /// reply, each a note written by the drive loop.
    async fn inbound(&self, given: InboundText) -> Result<Keyword> {
        let names = Some((given.site_id, given.customer_id));
        let sms = InboundSms { message_sid: given.message_sid, from: given.from, body: given.body };
        let keyword = self.change(names, given.at_ms, |fu, now| fu.inbound_sms(sms, now)).await?;
        keyword.ok_or_else(|| worker::Error::from("no follow-ups state"))
    }

    /// Applies one event to the customer's follow-ups at the engine's time for `at_ms`
    /// (real ms; 0 for now), stores it and wakes the drive loop. `names` creates the
    /// customer's state on its first event; without it, a customer with no state is
    /// `None` and nothing changes.
    async fn change<R>(
        &self,
        names: Option<(String, i64)>,
        at_ms: f64,
        f: impl FnOnce(&mut CustomerFollowUps, i64) -> R,
    ) -> Result<Option<R>> {
        self.load().await?;
        let known = self.names.borrow().is_some();
        if let (false, Some((site, customer_id))) = (known, names) {
            let names = Names { site, customer_id, origin_ms: real_ms() };
            self.state.storage().put("names", &names).await?;
            *self.names.borrow_mut() = Some(names);
        }
        let Some(customer_id) = self.names.borrow().as_ref().map(|n| n.customer_id) else { return Ok(None) };
        let site = self.site()?;
        let now = self.engine_time(at_ms);
        let (result, before, phones) = {
            let mut slot = self.follow_ups.borrow_mut();
            let fu = slot.get_or_insert_with(|| CustomerFollowUps::new(&site, customer_id));
            fu.configure(&site);
            let before = fu.phones();
            let result = f(fu, now);
            (result, before, fu.phones())
        };
        self.save().await?;
        // The numbers an inbound text is routed by (F1's index), when they changed.
        if phones != before {
            if let Err(e) = super::inbound::remember_phones(&self.env, &site.id, customer_id, &phones).await {
                worker::console_error!("phones of customer {customer_id} not indexed: {e}");
            }
        }
        self.state.storage().set_alarm(1).await?;
        Ok(Some(result))
    }

    /// The engine's time for a real moment in ms (0 or less: now); never later than now.
    fn engine_time(&self, at_ms: f64) -> i64 {
        let now = self.now();
        if at_ms <= 0.0 || !at_ms.is_finite() {
            return now;
        }
        let origin = self.names.borrow().as_ref().map_or_else(real_ms, |n| n.origin_ms);
        (((origin + (at_ms - origin) * time_factor(&self.env)) / 1000.0) as i64).min(now)
    }

    /// The intake: each nudge re-read, handed to its customer's object, then dropped,
    /// [`NUDGES_PER_ALARM`] at a time. One ServiceTitan cannot answer stays for later.
    async fn intake(&self, nudges: Vec<Nudge>) -> Result<()> {
        let storage = self.state.storage();
        let site: String = storage.get("intakeSite").await?.unwrap_or_default();
        let settings = ServiceTitanSettings::for_site_id(&self.env, &site)?;
        let (mut done, mut failed) = (vec![], vec![]);
        for nudge in nudges.into_iter().take(NUDGES_PER_ALARM) {
            // Three failures and nothing read: ServiceTitan is down, try later.
            if failed.len() >= 3 && done.is_empty() {
                break;
            }
            match self.hand_over(&settings, &site, &nudge).await {
                Ok(()) | Err(ReadError::NotFound) => done.push(nudge),
                Err(ReadError::Unavailable(why)) => {
                    worker::console_error!("webhook for {} {} waits: {why}", nudge.entity_type, nudge.entity_id);
                    failed.push(nudge);
                }
            }
        }
        // Nudges that came in meanwhile stay; those that must wait go to the back, so one
        // record ServiceTitan cannot give never holds up the others.
        let mut left = storage.get::<Vec<Nudge>>("nudges").await?.unwrap_or_default();
        left.retain(|n| !done.contains(n) && !failed.contains(n));
        left.extend(failed.iter().cloned());
        storage.put("nudges", &left).await?;
        if !left.is_empty() {
            let stuck = done.is_empty() && !failed.is_empty();
            storage.set_alarm(if stuck { RETRY_AFTER_MS } else { 1 }).await?;
        }
        Ok(())
    }

    async fn hand_over(
        &self,
        settings: &ServiceTitanSettings,
        site: &str,
        nudge: &Nudge,
    ) -> std::result::Result<(), ReadError> {
        let Some(entity) = nudge.entity() else { return Ok(()) };
        let at = |t: &Option<String>| t.as_deref().and_then(parse_iso8601);
        let what = Ref { entity, id: nudge.entity_id };
        let read = reads::entity(settings, what, at(&nudge.sent_on), at(&nudge.viewed_on)).await?;
        let Some(customer_id) = read.customer_id else { return Err(ReadError::NotFound) };
        let contact = reads::contact(settings, customer_id).await?;
        self.observed(site, customer_id, read.observation, &contact).await?;
        // A job's visits: job webhooks say nothing of them, and the day-before reminder
        // (and whether a no-show was rebooked) is decided on them.
        if entity == Entity::Job {
            for id in reads::appointments_of(settings, nudge.entity_id).await? {
                match reads::entity(settings, Ref { entity: Entity::Appointment, id }, None, None).await {
                    Ok(visit) => self.observed(site, customer_id, visit.observation, &contact).await?,
                    Err(ReadError::NotFound) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(())
    }

    /// Hands one observation, with the customer's contacts, to the customer's object.
    async fn observed(
        &self,
        site: &str,
        customer_id: i64,
        mut observation: Observation,
        contact: &Contact,
    ) -> std::result::Result<(), ReadError> {
        observation.contact = Some(contact.clone());
        let given = ForCustomer { site_id: site.to_string(), customer_id, observation };
        let body = serde_json::to_string(&given).map_err(|e| ReadError::Unavailable(e.to_string()))?;
        let unavailable = |e: worker::Error| ReadError::Unavailable(e.to_string());
        super::index(&self.env, site, customer_id).await.map_err(unavailable)?;
        super::call(&self.env, site, &customer_id.to_string(), "/observe", body).await.map_err(unavailable)?;
        Ok(())
    }

    /// Does what the engine asks until it waits or is idle. A second caller while one
    /// drives only returns: the first sees its change.
    async fn drive(&self) -> Result<()> {
        self.load().await?;
        if self.follow_ups.borrow().is_none() || self.driving.get() {
            return Ok(());
        }
        self.driving.set(true);
        let result = self.drive_loop().await;
        self.driving.set(false);
        result
    }

    async fn drive_loop(&self) -> Result<()> {
        let started = real_ms();
        let site = self.site()?;
        let settings = ServiceTitanSettings::for_site(&self.env, &site)?;
        if let Some(fu) = self.follow_ups.borrow_mut().as_mut() {
            fu.configure(&site);
        }
        loop {
            if real_ms() - started > DRIVE_FOR_MS {
                return self.state.storage().set_alarm(1).await;
            }
            let now = self.now();
            let Some(action) = self.follow_ups.borrow_mut().as_mut().map(|fu| fu.next_action(now)) else {
                return Ok(());
            };
            self.save().await?;
            match action {
                Action::Note(note) => {
                    let ok = self.write_note(&settings, &note).await;
                    self.with(|fu, now| fu.on_noted(&note.key, ok, now));
                }
                Action::Recheck(recheck) => {
                    let result = self.recheck(&settings, &recheck).await;
                    self.with(|fu, now| fu.on_recheck(&recheck.key, result, now));
                }
                Action::Send(out) => {
                    let result = self.send(&site.id, &out).await;
                    self.with(|fu, now| fu.on_send_result(&out.key, result, now));
                }
                Action::WakeAt(at) => return self.state.storage().set_alarm(self.alarm_in_ms(at)).await,
                Action::Idle => return Ok(()),
            }
            self.save().await?;
        }
    }

    fn with(&self, f: impl FnOnce(&mut CustomerFollowUps, i64)) {
        let now = self.now();
        if let Some(fu) = self.follow_ups.borrow_mut().as_mut() {
            f(fu, now);
        }
    }

    async fn write_note(&self, settings: &ServiceTitanSettings, note: &Note) -> bool {
        let t = settings.tenant_id;
        let path = match note.target {
            NoteTarget::Job(id) => format!("/jpm/v2/tenant/{t}/jobs/{id}/notes"),
            NoteTarget::Customer(id) => format!("/crm/v2/tenant/{t}/customers/{id}/notes"),
        };
        let req = StRequest {
            method: Method::Post,
            path,
            query: vec![],
            body: Some(json!({"text": note.text, "pinToTop": false})),
            fresh_token: false,
        };
        let resp = servicetitan_client::send(settings, &req, &mut Sent::default()).await;
        (200..300).contains(&resp.status)
    }

    async fn recheck(&self, settings: &ServiceTitanSettings, recheck: &Recheck) -> RecheckResult {
        let mut observations = vec![];
        for what in &recheck.reads {
            match reads::entity(settings, *what, None, None).await {
                Ok(read) => observations.push(read.observation),
                // Missing from the answer: booking-core skips the follow-up.
                Err(ReadError::NotFound) => {}
                Err(ReadError::Unavailable(detail)) => return RecheckResult::Unavailable { detail },
            }
        }
        RecheckResult::Read { observations }
    }

    /// F1's (see the follow-ups contract): a keyed send. When an earlier try may have gone
    /// (`maybe_sent`), the provider is asked first (since that try began, stored here);
    /// found, it is not sent again. The customer's numbers are indexed for inbound texts.
    async fn send(&self, site: &str, out: &Outgoing) -> SendResult {
        let storage = self.state.storage();
        let started_key = format!("sendStarted:{}", out.key);
        let phones = self.follow_ups.borrow().as_ref().map(CustomerFollowUps::phones).unwrap_or_default();
        if let Some(customer) = super::send::customer_of(site, &out.key) {
            if let Err(e) = super::inbound::remember_phones(&self.env, site, customer, &phones).await {
                worker::console_error!("phones of customer {customer} not indexed: {e}");
            }
        }
        let since = storage.get::<f64>(&started_key).await.ok().flatten();
        if out.maybe_sent {
            // Unknown start (stored before this was kept): the last day covers any try.
            let since = since.unwrap_or_else(|| real_ms() - 86_400_000.0);
            if let Some(found) = super::send::look_up(&self.env, site, out, since).await {
                if found != SendResult::Unknown {
                    let _ = storage.delete(&started_key).await;
                }
                return found;
            }
        }
        if since.is_none() {
            if let Err(e) = storage.put(&started_key, real_ms()).await {
                return SendResult::Failed { code: None, detail: format!("could not store the try: {e}") };
            }
        }
        let result = super::send::deliver(&self.env, site, out, &phones, |ms| self.engine_time(ms as f64)).await;
        if result != SendResult::Unknown {
            let _ = storage.delete(&started_key).await;
        }
        result
    }

    async fn rearm(&self) {
        if let Err(e) = self.state.storage().set_alarm(RETRY_AFTER_MS).await {
            worker::console_error!("could not re-arm the follow-up alarm: {e}");
        }
    }
}
