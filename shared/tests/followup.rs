//! Follow-ups (`booking_core::followup`) driven like the customer's Durable Object drives
//! them, on a virtual clock (no sleeps), over an in-process ServiceTitan (versions of
//! each entity; a re-check reads the newest), an in-process provider that remembers
//! every message by its send key (the look-up before a retry), and a notes log. The
//! state is stored (serialized) after every step; a crash goes back to what was stored.
//!
//! The scenarios are data: `tests/data/followups/*.txt` (the format is in that folder's
//! README.md). After every scenario the invariants hold: no send key went out twice,
//! nothing went outside quiet hours or over the cap, nothing after STOP until START.

use std::collections::BTreeMap;

use booking_core::booking::Locale;
use booking_core::followup::*;
use booking_core::servicetitan::{iso8601, parse_iso8601};
use booking_core::site::SiteConfig;

const CUSTOMER: i64 = 5001;

fn site() -> SiteConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sites/northstar.json");
    SiteConfig::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One message as the provider got it.
#[derive(Debug, Clone)]
struct Posted {
    key: String,
    channel: Channel,
    to: String,
    text: String,
    at: i64,
    /// Order among the posts and the customer's texts (several happen in one second).
    order: usize,
}

/// What the provider does with the next send.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Refused with this code.
    Refuse(i64),
    /// It goes out, the answer is lost.
    Timeout,
    /// It goes out, the worker dies before recording it.
    Crash,
}

struct World {
    site: SiteConfig,
    fu: CustomerFollowUps,
    stored: String,
    now: i64,
    zone: Zone,
    contact: Contact,
    /// Every version of every entity, oldest first.
    st: BTreeMap<(Entity, i64), Vec<Observation>>,
    st_down: bool,
    modified_seq: i64,
    posted: Vec<Posted>,
    faults: Vec<Fault>,
    notes: Vec<Note>,
    wake: Option<i64>,
    /// (opted out, back) from the customer's texts, in [`Posted::order`], for the invariant.
    opt_outs: Vec<(usize, Option<usize>)>,
    order: usize,
    text_seq: u32,
    /// The site's opt-out list as the worker keeps it (KV), by `+1XXXXXXXXXX`; its real
    /// ms are the virtual clock's seconds × 1000 (engine time = real time here).
    opt_out_list: BTreeMap<String, OptOutEntry>,
}

impl World {
    fn new(site: SiteConfig) -> World {
        let fu = CustomerFollowUps::new(&site, CUSTOMER);
        let stored = serde_json::to_string(&fu).unwrap();
        World {
            site,
            fu,
            stored,
            now: 0,
            zone: Zone::us(-360),
            contact: Contact::default(),
            st: BTreeMap::new(),
            st_down: false,
            modified_seq: 0,
            posted: vec![],
            faults: vec![],
            notes: vec![],
            wake: None,
            opt_outs: vec![],
            order: 0,
            text_seq: 0,
            opt_out_list: BTreeMap::new(),
        }
    }

    fn store(&mut self) {
        self.stored = serde_json::to_string(&self.fu).unwrap();
    }

    /// What the Durable Object's alarm (or fetch) does: loop over next_action.
    fn drive(&mut self) {
        for _ in 0..500 {
            let action = self.fu.next_action(self.now);
            self.store();
            let now = self.now;
            match action {
                Action::Note(n) => {
                    let key = n.key.clone();
                    self.notes.push(n);
                    self.fu.on_noted(&key, true, now);
                }
                Action::Recheck(r) => {
                    let result = if self.st_down {
                        RecheckResult::Unavailable { detail: "503 from ServiceTitan".into() }
                    } else {
                        let observations = r.reads.iter().filter_map(|x| self.current(x.entity, x.id)).collect();
                        RecheckResult::Read { observations }
                    };
                    self.fu.on_recheck(&r.key, result, now);
                }
                Action::Send(m) => {
                    self.assert_right_to_send(&m);
                    // The worker reads the site's opt-out list before every send: the
                    // number, or for an email every number of the customer (send.rs).
                    let numbers = match m.channel {
                        Channel::Email => self.fu.phones(),
                        Channel::Sms | Channel::Voice => vec![m.to.clone()],
                    };
                    let listed = numbers.iter().filter_map(|n| Some((n.as_str(), self.opt_out_list.get(n)?)));
                    if let Some(refused) = opt_out::refusal(listed, m.scheduled_at, |ms| ms.div_euclid(1000)) {
                        self.fu.on_send_result(&m.key, refused, now);
                        continue;
                    }
                    if m.maybe_sent {
                        if let Some(p) = self.posted.iter().position(|p| p.key == m.key) {
                            self.fu.on_send_result(&m.key, SendResult::Sent { provider_id: format!("SM{p}") }, now);
                            continue;
                        }
                    }
                    let fault = if self.faults.is_empty() { None } else { Some(self.faults.remove(0)) };
                    if let Some(Fault::Refuse(code)) = fault {
                        let detail = "refused".to_string();
                        self.fu.on_send_result(&m.key, SendResult::Failed { code: Some(code), detail }, now);
                        continue;
                    }
                    let id = format!("SM{}", self.posted.len());
                    self.order += 1;
                    let order = self.order;
                    self.posted.push(Posted {
                        key: m.key.clone(),
                        channel: m.channel,
                        to: m.to,
                        text: m.text,
                        at: now,
                        order,
                    });
                    match fault {
                        Some(Fault::Timeout) => self.fu.on_send_result(&m.key, SendResult::Unknown, now),
                        Some(Fault::Crash) => {
                            // The isolate dies between "sent" and "recorded": the object
                            // comes back from storage, and the alarm is retried.
                            self.fu = serde_json::from_str(&self.stored).unwrap();
                            self.fu.configure(&self.site);
                            self.wake = Some(now + 1);
                            return;
                        }
                        _ => self.fu.on_send_result(&m.key, SendResult::Sent { provider_id: id }, now),
                    }
                }
                Action::WakeAt(t) => {
                    assert!(t > now, "WakeAt({t}) not after now {now}");
                    self.wake = Some(t);
                    return;
                }
                Action::Idle => {
                    self.wake = None;
                    return;
                }
            }
        }
        panic!("the follow-ups did not settle within 500 actions");
    }

    /// Lets time pass to `until`, firing every alarm on the way.
    fn advance(&mut self, until: i64) {
        assert!(until >= self.now, "time goes forward only");
        while let Some(t) = self.wake.filter(|t| *t <= until) {
            self.now = t;
            self.drive();
        }
        self.now = until;
        self.drive();
    }

    /// Never the wrong message: at the moment of a send, ServiceTitan (as it is, webhooks
    /// missed or not) agrees it should go.
    fn assert_right_to_send(&self, m: &Outgoing) {
        let about = self.current(m.about.entity, m.about.id).expect("a send about something ServiceTitan has");
        let what = format!("{} at {}", m.key, self.local(self.now));
        match &about.facts {
            Facts::Estimate { status, .. } => assert_eq!(*status, EstimateStatus::Open, "{what}"),
            Facts::Invoice { balance_cents, .. } => {
                assert!(*balance_cents > 0, "{what}: the invoice is paid");
                let paid =
                    self.st.values().filter_map(|v| v.last()).any(
                        |o| matches!(&o.facts, Facts::Payment { invoice_ids } if invoice_ids.contains(&m.about.id)),
                    );
                assert!(!paid, "{what}: a payment was applied");
            }
            Facts::Appointment { status, .. } => {
                assert!(matches!(status, AppointmentStatus::Scheduled | AppointmentStatus::Dispatched), "{what}")
            }
            Facts::Job { status, .. } if m.recipe == Recipe::ReviewRequest => {
                assert_eq!(*status, JobStatus::Completed, "{what}")
            }
            Facts::Job { status, .. } => assert_ne!(*status, JobStatus::Completed, "{what}"),
            Facts::Payment { .. } => panic!("{what}: a follow-up about a payment"),
        }
        let job = self.fu.list().iter().find(|f| f.id == m.key).and_then(|f| f.job_id);
        if let Some(Facts::Job { status, notifications_enabled, .. }) =
            job.and_then(|j| self.current(Entity::Job, j)).map(|o| o.facts)
        {
            assert!(notifications_enabled, "{what}: the job's notifications are off");
            assert!(status != JobStatus::Canceled || m.recipe == Recipe::NoShow, "{what}: the job is canceled");
        }
    }

    fn current(&self, entity: Entity, id: i64) -> Option<Observation> {
        self.st.get(&(entity, id)).and_then(|v| v.last()).cloned()
    }

    /// ServiceTitan changes an entity; `deliver` = a webhook (re-read) brings it in.
    fn change(&mut self, facts: Facts, id: i64, deliver: bool) {
        self.modified_seq += 1;
        let o = Observation {
            id,
            modified_on_ms: self.now * 1000 + self.modified_seq,
            facts,
            contact: Some(self.contact.clone()),
        };
        self.st.entry((o.entity(), id)).or_default().push(o.clone());
        if deliver {
            self.deliver(o);
        }
    }

    fn deliver(&mut self, o: Observation) {
        self.fu.observe(o, self.now);
        self.drive();
    }

    /// A text from the customer, as the worker's inbound route takes it: the site's
    /// opt-out list first, then this customer's object, unless `missed` (the object did
    /// not know the number yet: only the list sees it).
    fn text_in(&mut self, body: &str, missed: bool) {
        self.text_seq += 1;
        let from = self.contact.mobile.clone().unwrap_or_else(|| "+16125550101".into());
        let digits: String = from.chars().filter(char::is_ascii_digit).collect();
        let number = format!("+1{}", digits.strip_prefix('1').filter(|d| d.len() == 10).unwrap_or(&digits));
        self.order += 1;
        let order = self.order;
        let keyword = Keyword::of(body);
        match keyword {
            Keyword::Stop => {
                self.opt_out_list.insert(number, OptOutEntry::stop(body, self.now * 1000));
            }
            Keyword::Start => {
                if let Some(entry) = self.opt_out_list.get_mut(&number) {
                    entry.start(self.now * 1000);
                }
            }
            Keyword::Help | Keyword::Reply => {}
        }
        if !missed {
            let sms = InboundSms { message_sid: format!("SMin{}", self.text_seq), from, body: body.into() };
            assert_eq!(self.fu.inbound_sms(sms, self.now), keyword);
        }
        match keyword {
            Keyword::Stop => self.opt_outs.push((order, None)),
            Keyword::Start => {
                if let Some(last) = self.opt_outs.last_mut().filter(|o| o.1.is_none()) {
                    last.1 = Some(order);
                }
            }
            Keyword::Help | Keyword::Reply => {}
        }
        self.drive();
    }

    fn local(&self, t: i64) -> String {
        let s = iso8601(self.zone.local(t));
        format!("{} {}", &s[..10], &s[11..16])
    }

    /// The invariants every scenario keeps.
    fn check_invariants(&self, name: &str) {
        let mut keys: Vec<&str> = self.posted.iter().map(|p| p.key.as_str()).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "{name}: a send key went out twice: {:#?}", self.posted);
        let (start, end) = {
            let q = self.site.follow_ups.quiet_hours;
            (i64::from(q.start_hour), i64::from(q.end_hour))
        };
        for p in &self.posted {
            let hour = self.zone.local(p.at).rem_euclid(86_400) / 3600;
            assert!(
                hour >= start && hour < end,
                "{name}: {} sent at {} local, inside quiet hours",
                p.key,
                self.local(p.at)
            );
            let in_day = self.posted.iter().filter(|q| q.at <= p.at && q.at > p.at - 86_400).count();
            let max = usize::from(self.site.follow_ups.max_per_day);
            assert!(in_day <= max, "{name}: {in_day} follow-ups in the 24 h before {}", self.local(p.at));
            for (out, back) in &self.opt_outs {
                let opted_out = p.order > *out && back.is_none_or(|b| p.order < b);
                assert!(!opted_out, "{name}: {} sent at {} after STOP", p.key, self.local(p.at));
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The scenario language (tests/data/followups/README.md).

fn words(line: &str) -> Vec<String> {
    // Words, with "double quoted" runs kept whole.
    let mut out = vec![];
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            out.push(r[..end].to_string());
            rest = r.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    out
}

/// `2026-03-02 09:00` (the customer's wall clock), or `+24h`, `+3d`, `+30m`, `now`.
fn time(w: &World, s: &str) -> i64 {
    if s == "now" {
        return w.now;
    }
    if let Some(rel) = s.strip_prefix('+').or_else(|| s.strip_prefix("now+")) {
        let (n, unit) = rel.split_at(rel.len() - 1);
        let n: i64 = n.parse().unwrap_or_else(|_| panic!("bad duration {s:?}"));
        return w.now
            + n * match unit {
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                "s" => 1,
                _ => panic!("bad unit in {s:?}"),
            };
    }
    let iso = format!("{}:00Z", s.replace([' ', '_'], "T"));
    w.zone.instant(parse_iso8601(&iso).unwrap_or_else(|| panic!("bad time {s:?}")))
}

/// `key=value` of a command's words.
fn opt<'a>(args: &'a [String], key: &str) -> Option<&'a str> {
    args.iter().find_map(|a| a.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn flag(args: &[String], word: &str) -> bool {
    args.iter().any(|a| a == word)
}

fn id(args: &[String]) -> i64 {
    args.first().and_then(|a| a.parse().ok()).expect("an entity command starts with its id")
}

fn recipe(s: &str) -> Recipe {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap_or_else(|_| panic!("unknown recipe {s:?}"))
}

fn channel(s: &str) -> Channel {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap_or_else(|_| panic!("unknown channel {s:?}"))
}

fn status(s: &str) -> Status {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap_or_else(|_| panic!("unknown status {s:?}"))
}

/// The entity's facts after `args` change its newest version.
fn facts(w: &World, kind: &str, args: &[String]) -> Facts {
    let id = id(args);
    let t = |k: &str| opt(args, k).map(|v| if v.is_empty() { w.now } else { time(w, &v.replace('_', " ")) });
    let before = |e: Entity| w.current(e, id).map(|o| o.facts);
    match kind {
        "estimate" => {
            let (mut status, mut sent_on, mut viewed_on, mut job_id) = (EstimateStatus::Open, None, None, None);
            if let Some(Facts::Estimate { status: s, sent_on: a, viewed_on: b, job_id: j, .. }) =
                before(Entity::Estimate)
            {
                (status, sent_on, viewed_on, job_id) = (s, a, b, j);
            }
            for a in args {
                match a.as_str() {
                    "open" => status = EstimateStatus::Open,
                    "sold" => status = EstimateStatus::Sold,
                    "dismissed" => status = EstimateStatus::Dismissed,
                    "sent" => sent_on = Some(w.now),
                    // A REST re-read: ServiceTitan's estimate has no sent/viewed fields.
                    "no-sent-field" => (sent_on, viewed_on) = (None, None),
                    "viewed" => viewed_on = Some(w.now),
                    _ => {}
                }
            }
            sent_on = t("sent").or(sent_on);
            viewed_on = t("viewed").or(viewed_on);
            job_id = opt(args, "job").and_then(|j| j.parse().ok()).or(job_id);
            Facts::Estimate { status, active: true, job_id, sent_on, viewed_on, link: None }
        }
        "job" => {
            let (mut status, mut notifications_enabled, mut completed_on, mut no_show) =
                (JobStatus::Scheduled, true, None, false);
            if let Some(Facts::Job { status: s, notifications_enabled: n, completed_on: c, no_show: x }) =
                before(Entity::Job)
            {
                (status, notifications_enabled, completed_on, no_show) = (s, n, c, x);
            }
            for a in args {
                match a.as_str() {
                    "scheduled" => status = JobStatus::Scheduled,
                    "completed" => (status, completed_on) = (JobStatus::Completed, Some(w.now)),
                    "canceled" => status = JobStatus::Canceled,
                    "noshow" => (status, no_show) = (JobStatus::Canceled, true),
                    "notifications=off" => notifications_enabled = false,
                    "notifications=on" => notifications_enabled = true,
                    _ => {}
                }
            }
            Facts::Job { status, notifications_enabled, completed_on, no_show }
        }
        "appointment" => {
            let (mut status, mut starts_on, mut ends_on, mut job_id, mut no_show) =
                (AppointmentStatus::Scheduled, 0, 0, 0, false);
            if let Some(Facts::Appointment { status: s, starts_on: a, ends_on: b, job_id: j, no_show: x }) =
                before(Entity::Appointment)
            {
                (status, starts_on, ends_on, job_id, no_show) = (s, a, b, j, x);
            }
            for a in args {
                match a.as_str() {
                    "scheduled" => status = AppointmentStatus::Scheduled,
                    "canceled" => status = AppointmentStatus::Canceled,
                    "done" => status = AppointmentStatus::Done,
                    "noshow" => (status, no_show) = (AppointmentStatus::Canceled, true),
                    _ => {}
                }
            }
            if let Some(s) = t("starts") {
                (starts_on, ends_on) = (s, s + 4 * 3600);
            }
            ends_on = t("ends").unwrap_or(ends_on);
            job_id = opt(args, "job").and_then(|j| j.parse().ok()).unwrap_or(job_id);
            Facts::Appointment { job_id, status, starts_on, ends_on, no_show }
        }
        "invoice" => {
            let (mut balance_cents, mut due_on, mut job_id) = (0, None, None);
            if let Some(Facts::Invoice { balance_cents: b, due_on: d, job_id: j, .. }) = before(Entity::Invoice) {
                (balance_cents, due_on, job_id) = (b, d, j);
            }
            balance_cents =
                opt(args, "balance").map(|b| parse_money(b).expect("balance=123.45")).unwrap_or(balance_cents);
            due_on = t("due").or(due_on);
            job_id = opt(args, "job").and_then(|j| j.parse().ok()).or(job_id);
            Facts::Invoice { job_id, balance_cents, due_on, link: Some(format!("https://pay.example.com/{id}")) }
        }
        "payment" => {
            let invoice_ids = opt(args, "invoices").unwrap_or("").split(',').filter_map(|i| i.parse().ok()).collect();
            Facts::Payment { invoice_ids }
        }
        other => panic!("unknown entity {other:?}"),
    }
}

fn entity(kind: &str) -> Entity {
    serde_json::from_value(serde_json::Value::String(kind.into())).unwrap_or_else(|_| panic!("unknown entity {kind:?}"))
}

/// Runs command lines that must all work (a test's set-up).
fn steps(w: &mut World, lines: &[&str]) {
    for line in lines {
        step(w, line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// Runs one command line; `Err` says what went wrong, for the scenario's report.
fn step(w: &mut World, line: &str) -> Result<(), String> {
    let ws = words(line);
    let (cmd, args) = ws.split_first().ok_or("empty line")?;
    // The line after the command, as written (JSON and texts keep their quotes).
    let raw = line.trim().split_once(' ').map(|(_, r)| r.trim()).unwrap_or("");
    match cmd.as_str() {
        "zone" => {
            let minutes: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(-360);
            w.zone = match opt(args, "state") {
                Some(state) => Zone::for_us_state(state).ok_or("unknown state")?,
                None => Zone { utc_offset_minutes: minutes, us_dst: !flag(args, "nodst"), also_offset_minutes: None },
            };
            w.contact.zone = Some(w.zone);
        }
        "customer" => {
            let name: Vec<&str> =
                args.iter().take_while(|a| !a.contains('=') && *a != "texts").map(String::as_str).collect();
            w.contact.name = name.join(" ");
            w.contact.mobile = opt(args, "mobile").map(str::to_string);
            w.contact.mobile_texts_allowed = flag(args, "texts");
            w.contact.email = opt(args, "email").map(str::to_string);
            w.contact.locale = if flag(args, "spanish") { Some(Locale::Es) } else { None };
            w.contact.zone = Some(w.zone);
        }
        "consent" => {
            let phone = opt(args, "phone").map(str::to_string).or(w.contact.mobile.clone());
            let phone = phone.unwrap_or_else(|| "6125550101".into());
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let digits = digits.strip_prefix('1').filter(|d| d.len() == 10).unwrap_or(&digits).to_string();
            w.fu.booking_consent(BookingConsent {
                sms: flag(args, "sms"),
                voice: flag(args, "voice"),
                phone: digits,
                first_name: w.contact.first_name(),
                locale: Locale::En,
                at: w.now,
            });
        }
        "settings" => {
            let mut site = serde_json::to_value(&w.site).unwrap();
            let patch: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
            let mut follow = serde_json::to_value(&w.site.follow_ups).unwrap();
            merge(&mut follow, patch);
            site["followUps"] = follow;
            w.site = serde_json::from_value(site).map_err(|e| e.to_string())?;
            w.fu.configure(&w.site);
        }
        "now" => {
            let t = time(w, &args.join(" "));
            w.now = t;
        }
        "until" => {
            let t = time(w, &args.join(" "));
            w.advance(t);
        }
        "alarm" => w.drive(),
        "restart" => {
            w.fu = serde_json::from_str(&w.stored).map_err(|e| e.to_string())?;
            w.fu.configure(&w.site);
            w.drive();
        }
        "estimate" | "job" | "appointment" | "invoice" | "payment" => {
            let f = facts(w, cmd, args);
            w.change(f, id(args), true);
        }
        "quietly" => {
            // ServiceTitan changes it and no webhook comes: only a re-check sees it.
            let (kind, rest) = args.split_first().ok_or("quietly ENTITY ...")?;
            let f = facts(w, kind, rest);
            w.change(f, id(rest), false);
        }
        "again" => {
            // The webhook is delivered again (ServiceTitan's retry): the same version.
            let e = entity(&args[0]);
            let o = w.current(e, id(&args[1..])).ok_or("nothing to deliver again")?;
            w.deliver(o);
        }
        "late" => {
            // An older version arrives after a newer one (out of order).
            let e = entity(&args[0]);
            let versions = w.st.get(&(e, id(&args[1..]))).ok_or("no such entity")?;
            let o = versions.iter().rev().nth(1).cloned().ok_or("no older version")?;
            w.deliver(o);
        }
        "text" => w.text_in(raw, false),
        "missed" => w.text_in(raw.strip_prefix("text").ok_or("missed text WORDS")?.trim(), true),
        "optout" => {
            // Opted out another way: "stop" said on the follow-up call, an email's unsubscribe.
            let (how, why) = raw.split_once(' ').unwrap_or((raw, ""));
            w.order += 1;
            w.opt_outs.push((w.order, None));
            w.fu.opt_out(channel(how), why.trim().trim_matches('"'), w.now);
            w.drive();
        }
        "provider" => match args.first().map(String::as_str) {
            Some("refuses") => w.faults.push(Fault::Refuse(args[1].parse().map_err(|_| "provider refuses CODE")?)),
            Some("times-out") => w.faults.push(Fault::Timeout),
            Some("crashes") => w.faults.push(Fault::Crash),
            _ => return Err("provider refuses CODE | times-out | crashes".into()),
        },
        "servicetitan" => w.st_down = flag(args, "down"),
        "cancel" => {
            let r = recipe(&args[0]);
            let id = w.fu.list().iter().find(|f| f.recipe == r && f.status == Status::Pending).map(|f| f.id.clone());
            let id = id.ok_or_else(|| format!("no pending {} to cancel", args[0]))?;
            if !w.fu.cancel(&id, w.now) {
                return Err("cancel refused".into());
            }
            w.drive();
        }
        "expect" => expect(w, args)?,
        other => return Err(format!("unknown command {other:?}")),
    }
    Ok(())
}

fn merge(into: &mut serde_json::Value, patch: serde_json::Value) {
    match (into, patch) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn expect(w: &World, args: &[String]) -> Result<(), String> {
    let (what, rest) = args.split_first().ok_or("expect what?")?;
    let sent_list = || {
        w.posted
            .iter()
            .map(|p| format!("{:?} at {} to {}: {}", p.channel, w.local(p.at), p.to, p.text))
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    let list = || {
        w.fu.list()
            .iter()
            .map(|f| {
                format!("{} {:?} {:?} due {}: {}", f.recipe.as_str(), f.status, f.channel, w.local(f.due), f.reason)
            })
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    match what.as_str() {
        "sent" => {
            // expect sent CHANNEL TIME ["fragment"]
            let ch = channel(&rest[0]);
            let at = time(w, &format!("{} {}", rest[1], rest[2]));
            let fragment = rest.get(3).map(String::as_str).unwrap_or("");
            let hit = w.posted.iter().any(|p| p.channel == ch && p.at == at && p.text.contains(fragment));
            if !hit {
                return Err(format!(
                    "no {ch:?} at {} containing {fragment:?}; sent:\n  {}\nlist:\n  {}",
                    w.local(at),
                    sent_list(),
                    list()
                ));
            }
        }
        "count" => {
            // expect count CHANNEL|all N
            let n: usize = rest[1].parse().map_err(|_| "expect count CHANNEL N")?;
            let got = w.posted.iter().filter(|p| rest[0] == "all" || p.channel == channel(&rest[0])).count();
            if got != n {
                return Err(format!("{got} {} sent, expected {n}:\n  {}\nlist:\n  {}", rest[0], sent_list(), list()));
            }
        }
        "status" => {
            // expect status RECIPE STATUS ["reason fragment"]
            let (r, s) = (recipe(&rest[0]), status(&rest[1]));
            let fragment = rest.get(2).map(String::as_str).unwrap_or("");
            let hit = w.fu.list().iter().any(|f| f.recipe == r && f.status == s && f.reason.contains(fragment));
            if !hit {
                return Err(format!("no {} {s:?} with reason {fragment:?}; list:\n  {}", rest[0], list()));
            }
        }
        "none" => {
            // expect none RECIPE [STATUS]: no follow-up of that recipe (in that status)
            let r = recipe(&rest[0]);
            let s = rest.get(1).map(|s| status(s));
            if w.fu.list().iter().any(|f| f.recipe == r && s.is_none_or(|s| f.status == s)) {
                return Err(format!("a {} is listed; list:\n  {}", rest[0], list()));
            }
        }
        "note" => {
            let fragment = rest.join(" ");
            if !w.notes.iter().any(|n| n.text.contains(&fragment)) {
                let notes: Vec<&str> = w.notes.iter().map(|n| n.text.as_str()).collect();
                return Err(format!("no note containing {fragment:?}; notes: {notes:#?}"));
            }
        }
        "notes" => {
            let n: usize = rest[0].parse().map_err(|_| "expect notes N")?;
            if w.notes.len() != n {
                let notes: Vec<&str> = w.notes.iter().map(|n| n.text.as_str()).collect();
                return Err(format!("{} notes, expected {n}: {notes:#?}", w.notes.len()));
            }
        }
        other => return Err(format!("unknown expectation {other:?}")),
    }
    Ok(())
}

#[test]
fn scenarios_in_tests_data_followups() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/followups");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(Result::ok).map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    let mut failures = vec![];
    let mut count = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name_of = |n: &str| format!("{}: {n}", file.file_name().unwrap().to_string_lossy());
        let mut current: Option<(String, World, bool)> = None;
        let finish = |c: Option<(String, World, bool)>, failures: &mut Vec<String>| {
            if let Some((name, w, ok)) = c {
                if ok {
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.check_invariants(&name)));
                    if let Err(e) = r {
                        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
                        failures.push(msg);
                    }
                }
            }
        };
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(title) = line.strip_prefix("==") {
                finish(current.take(), &mut failures);
                count += 1;
                current = Some((name_of(title.trim()), World::new(site()), true));
                continue;
            }
            let Some((name, w, ok)) = current.as_mut() else {
                panic!("{}: line {} before any '== scenario'", file.display(), n + 1)
            };
            if !*ok {
                continue;
            }
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(w, line)));
            let err = match r {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or(p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            };
            failures.push(format!("{name}, line {} `{line}`: {err}", n + 1));
            *ok = false;
        }
        finish(current.take(), &mut failures);
    }
    assert!(count >= 20, "only {count} scenarios found in {dir}");
    assert!(failures.is_empty(), "{} of {count} scenarios failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------
// What the data files cannot say.

#[test]
fn settings_parse_from_site_json_with_the_seed_defaults() {
    let mut site = serde_json::to_value(site()).unwrap();
    site["followUps"] = serde_json::json!({
        "estimateCall": {"enabled": false},
        "estimateSms": {"afterHours": 48},
        "dunning": {"everyDays": 3},
        "templates": {"es": {"reviewRequest": "¡Gracias {firstName}!"}}
    });
    let site: SiteConfig = serde_json::from_value(site).unwrap();
    let s = &site.follow_ups;
    assert!(!s.on(Recipe::EstimateCall) && s.on(Recipe::EstimateSms) && s.on(Recipe::DunningEmail));
    assert_eq!(s.estimate_sms.after_hours, Some(48));
    assert_eq!((s.dunning.every_days, s.dunning.overdue_days, s.dunning.steps), (3, 7, 4));
    assert_eq!((s.quiet_hours.start_hour, s.quiet_hours.end_hour, s.max_per_day), (8, 20, 3));
    assert_eq!(s.templates[&Locale::Es][&Recipe::ReviewRequest], "¡Gracias {firstName}!");
    let none: SiteConfig = serde_json::from_str(&serde_json::to_string(&self::site()).unwrap()).unwrap();
    // The example site sets only its email sender; everything else is the seed default.
    let sender = (none.follow_ups.email_from.clone(), none.follow_ups.email_reply_to.clone());
    let defaults = FollowUpSettings { email_from: sender.0, email_reply_to: sender.1, ..FollowUpSettings::default() };
    assert_eq!(none.follow_ups, defaults);
    let mut with_sender = serde_json::to_value(self::site()).unwrap();
    with_sender["followUps"] = serde_json::json!({"emailFrom": "Northstar <office@northstar.example>"});
    let with_sender: SiteConfig = serde_json::from_value(with_sender).unwrap();
    assert_eq!(with_sender.follow_ups.email_from.as_deref(), Some("Northstar <office@northstar.example>"));
    assert_eq!((FollowUpSettings::default().email_from, FollowUpSettings::default().email_reply_to), (None, None));
}

#[test]
fn an_observation_reads_from_the_workers_json() {
    let o: Observation = serde_json::from_value(serde_json::json!({
        "id": 101, "modifiedOnMs": 1_772_463_600_123_i64,
        "facts": {"entity": "estimate", "status": "Open", "jobId": 77, "sentOn": 1_772_463_600},
        "contact": {"name": "Smith, Dana", "mobile": "+16125550101", "mobileTextsAllowed": true}
    }))
    .unwrap();
    assert_eq!(o.entity(), Entity::Estimate);
    assert_eq!(o.contact.as_ref().unwrap().first_name(), "Dana");
    // A status this code does not know is not "open".
    let odd: Facts = serde_json::from_value(serde_json::json!({"entity": "estimate", "status": "Archived"})).unwrap();
    assert!(matches!(odd, Facts::Estimate { status: EstimateStatus::Other, .. }));
}

/// Regression: a webhook's "sent" arriving with a modifiedOn already seen (the re-read of
/// an earlier "created" webhook already showed the change) was a duplicate, so the
/// estimate never got its text.
#[test]
fn a_sent_on_arriving_with_a_modified_on_already_seen_still_schedules_the_text_because_it_was_a_duplicate() {
    let mut w = World::new(site());
    w.now = parse_iso8601("2026-03-02T15:00:00Z").unwrap();
    let facts = |sent| Facts::Estimate {
        status: EstimateStatus::Open,
        active: true,
        job_id: None,
        sent_on: sent,
        viewed_on: None,
        link: None,
    };
    let created = Observation { id: 9, modified_on_ms: 5000, facts: facts(None), contact: None };
    let sent = Observation { id: 9, modified_on_ms: 5000, facts: facts(Some(w.now)), contact: None };
    assert_eq!(w.fu.observe(created, w.now), Observed::Applied);
    assert_eq!(w.fu.observe(sent.clone(), w.now), Observed::Applied);
    assert!(w.fu.list().iter().any(|f| f.recipe == Recipe::EstimateSms), "{:?}", w.fu.list());
    // The same again adds nothing: a duplicate.
    assert_eq!(w.fu.observe(sent, w.now), Observed::Duplicate);
}

/// Regression: "viewed" delivered before "sent" (ServiceTitan's webhooks come in any
/// order; the re-read of both shows the same modifiedOn) left the 24 h text pending beside
/// the viewed one, so the customer got two texts where in order they get one.
#[test]
fn sent_arriving_after_viewed_still_cancels_the_24_h_text_because_the_order_was_reversed() {
    let mut w = World::new(site());
    w.contact = Contact {
        name: "Dana Smith".into(),
        mobile: Some("+16125550101".into()),
        mobile_texts_allowed: true,
        ..Contact::default()
    };
    w.now = parse_iso8601("2026-03-02T16:00:00Z").unwrap();
    let facts = |sent, viewed| Facts::Estimate {
        status: EstimateStatus::Open,
        active: true,
        job_id: None,
        sent_on: sent,
        viewed_on: viewed,
        link: None,
    };
    let contact = Some(w.contact.clone());
    let viewed = Observation { id: 9, modified_on_ms: 7000, facts: facts(None, Some(w.now)), contact: contact.clone() };
    let sent = Observation { id: 9, modified_on_ms: 7000, facts: facts(Some(w.now - 60), None), contact };
    assert_eq!(w.fu.observe(viewed, w.now), Observed::Applied);
    assert_eq!(w.fu.observe(sent, w.now), Observed::Applied);
    let of = |r: Recipe| w.fu.list().iter().find(|f| f.recipe == r).map(|f| f.status);
    assert_eq!(of(Recipe::EstimateViewed), Some(Status::Pending));
    assert_eq!(of(Recipe::EstimateSms), Some(Status::Cancelled), "{:#?}", w.fu.list());
    assert_eq!(of(Recipe::EstimateCall), Some(Status::Pending), "the 72 h call is not the text's to cancel");
}

#[test]
fn observe_says_duplicate_and_older() {
    let mut w = World::new(site());
    w.now = parse_iso8601("2026-03-02T15:00:00Z").unwrap();
    let facts = |sent| Facts::Estimate {
        status: EstimateStatus::Open,
        active: true,
        job_id: None,
        sent_on: sent,
        viewed_on: None,
        link: None,
    };
    let o1 = Observation { id: 1, modified_on_ms: 2000, facts: facts(None), contact: None };
    let o2 = Observation { id: 1, modified_on_ms: 3000, facts: facts(Some(w.now)), contact: None };
    assert_eq!(w.fu.observe(o2.clone(), w.now), Observed::Applied);
    assert_eq!(w.fu.observe(o2, w.now), Observed::Duplicate);
    assert_eq!(w.fu.observe(o1, w.now), Observed::Older);
    // Two changes within one second are two changes (modifiedOn in milliseconds).
    let o3 = Observation { id: 1, modified_on_ms: 3400, facts: facts(Some(w.now)), contact: None };
    assert_eq!(w.fu.observe(o3, w.now), Observed::Applied);
    // The same id of another entity is another thing.
    let job = Observation {
        id: 1,
        modified_on_ms: 2000,
        facts: Facts::Job {
            status: JobStatus::Scheduled,
            notifications_enabled: true,
            completed_on: None,
            no_show: false,
        },
        contact: None,
    };
    assert_eq!(w.fu.observe(job, w.now), Observed::Applied);
}

#[test]
fn a_send_is_the_same_key_and_text_on_every_try_and_flagged_maybe_sent() {
    let mut w = World::new(site());
    step(&mut w, "customer Dana Smith mobile=+16125550101 texts").unwrap();
    step(&mut w, "now 2026-03-02 09:00").unwrap();
    step(&mut w, "estimate 101 sent").unwrap();
    w.now = time(&w, "2026-03-03 09:00");
    let Action::Recheck(r) = w.fu.next_action(w.now) else { panic!("a re-check first") };
    assert_eq!(r.reads, [Ref { entity: Entity::Estimate, id: 101 }]);
    let obs = vec![w.current(Entity::Estimate, 101).unwrap()];
    w.fu.on_recheck(&r.key, RecheckResult::Read { observations: obs.clone() }, w.now);
    let Action::Send(first) = w.fu.next_action(w.now) else { panic!("then the send") };
    assert!(!first.maybe_sent && first.to == "+16125550101" && first.text.contains("Dana"));
    // The answer is lost; an alarm right away does not send again.
    w.fu.on_send_result(&first.key, SendResult::Unknown, w.now);
    assert_eq!(w.fu.next_action(w.now), Action::WakeAt(w.now + IN_FLIGHT_TIMEOUT));
    w.now += IN_FLIGHT_TIMEOUT;
    let Action::Recheck(r) = w.fu.next_action(w.now) else { panic!("re-checked again") };
    w.fu.on_recheck(&r.key, RecheckResult::Read { observations: obs }, w.now);
    let Action::Send(again) = w.fu.next_action(w.now) else { panic!("then the send again") };
    assert!(again.maybe_sent);
    assert_eq!((again.key.as_str(), again.text.as_str()), (first.key.as_str(), first.text.as_str()));
    w.fu.on_send_result(&again.key, SendResult::Sent { provider_id: "SM1".into() }, w.now);
    // A late second answer changes nothing.
    w.fu.on_send_result(&again.key, SendResult::Failed { code: Some(21610), detail: "late".into() }, w.now);
    assert_eq!(w.fu.list().iter().find(|f| f.id == first.key).unwrap().status, Status::Sent);
}

#[test]
fn a_name_from_servicetitan_is_text_in_the_message() {
    let mut w = World::new(site());
    step(&mut w, "customer {link}\u{7}Dana mobile=+16125550101 texts").unwrap();
    step(&mut w, "now 2026-03-02 09:00").unwrap();
    step(&mut w, "estimate 101 sent").unwrap();
    step(&mut w, "until 2026-03-03 12:00").unwrap();
    assert_eq!(w.posted.len(), 1);
    assert!(w.posted[0].text.starts_with("Hi linkDana, this is Northstar"), "{}", w.posted[0].text);
}

#[test]
fn the_state_survives_json_at_every_step() {
    // World::drive stores after every action; here the whole thing once more, mid-run.
    let mut w = World::new(site());
    steps(
        &mut w,
        &[
            "customer Dana Smith mobile=+16125550101 texts email=dana@example.com",
            "consent sms voice",
            "now 2026-03-02 09:00",
            "estimate 101 sent job=77",
            "invoice 9 balance=120.00 due=2026-02-20_12:00 job=77",
            "until 2026-03-03 12:00",
        ],
    );
    let json = serde_json::to_string(&w.fu).unwrap();
    let back: CustomerFollowUps = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.fu);
    assert!(w.fu.list().iter().any(|f| f.status == Status::Pending));
}

#[test]
fn stop_while_a_text_is_in_flight_records_what_went_and_nothing_after() {
    let mut w = World::new(site());
    steps(
        &mut w,
        &[
            "customer Dana Smith mobile=+16125550101 texts",
            "consent sms voice",
            "now 2026-03-02 10:00",
            "estimate 101 sent",
        ],
    );
    w.now = time(&w, "2026-03-03 10:00");
    let Action::Recheck(r) = w.fu.next_action(w.now) else { panic!("a re-check first") };
    let obs = vec![w.current(Entity::Estimate, 101).unwrap()];
    w.fu.on_recheck(&r.key, RecheckResult::Read { observations: obs }, w.now);
    let Action::Send(m) = w.fu.next_action(w.now) else { panic!("then the send") };
    // STOP arrives while the provider call is in flight (the object's input gate is open
    // during the fetch).
    let stop = InboundSms { message_sid: "SMin1".into(), from: "+16125550101".into(), body: "stop".into() };
    assert_eq!(w.fu.inbound_sms(stop, w.now), Keyword::Stop);
    w.fu.on_send_result(&m.key, SendResult::Sent { provider_id: "SM1".into() }, w.now);
    let statuses: Vec<(Recipe, Status)> = w.fu.list().iter().map(|f| (f.recipe, f.status)).collect();
    assert_eq!(statuses, [(Recipe::EstimateSms, Status::Sent), (Recipe::EstimateCall, Status::Halted)]);
    assert_eq!(w.fu.opted_out(), Some(w.now));
    // Only notes from here on, and then nothing.
    let mut notes = 0;
    loop {
        match w.fu.next_action(w.now + 7 * 86_400) {
            Action::Note(n) => {
                notes += 1;
                w.fu.on_noted(&n.key, true, w.now);
            }
            Action::Idle => break,
            other => panic!("after STOP: {other:?}"),
        }
    }
    assert_eq!(notes, 2, "the opt-out and the text that went");
    assert_eq!(w.fu.phones(), ["+16125550101"]);
}

#[test]
fn a_note_that_fails_is_retried_and_never_blocks_a_send() {
    let mut w = World::new(site());
    steps(&mut w, &["customer Dana Smith mobile=+16125550101 texts", "now 2026-03-02 10:00", "estimate 101 sent"]);
    let stop = InboundSms { message_sid: "SMin1".into(), from: "+16125550101".into(), body: "Thanks!".into() };
    w.fu.inbound_sms(stop, w.now);
    let Action::Note(n) = w.fu.next_action(w.now) else { panic!("the reply's note") };
    assert!(n.text.ends_with(&format!("Follow-up key: {}", n.key)), "{}", n.text);
    assert_eq!(n.target, NoteTarget::Customer(CUSTOMER));
    w.fu.on_noted(&n.key, false, w.now);
    assert!(matches!(w.fu.next_action(w.now), Action::WakeAt(t) if t == w.now + 60));
    // The next day the text goes while the note is still being retried.
    w.now = time(&w, "2026-03-03 10:00");
    let Action::Note(again) = w.fu.next_action(w.now) else { panic!("the note again") };
    assert_eq!(again.key, n.key);
    w.fu.on_noted(&again.key, false, w.now);
    assert!(matches!(w.fu.next_action(w.now), Action::Recheck(_)));
}

#[test]
fn settings_problems_name_what_breaks_the_rules() {
    let mut s = FollowUpSettings::default();
    assert!(s.problems().is_empty());
    s.quiet_hours = QuietHours { start_hour: 20, end_hour: 8 };
    let mut en = BTreeMap::new();
    en.insert(Recipe::EstimateSms, "Hi {firstName}, still thinking it over?".to_string());
    en.insert(Recipe::EstimateCall, "Hi {firstName}, it's Northstar calling.".to_string());
    en.insert(Recipe::DunningEmail, "Invoice {invoice}\nPlease pay.".to_string());
    s.templates.insert(Locale::En, en);
    let problems = s.problems().join("\n");
    assert!(problems.contains("quietHours 20-8"), "{problems}");
    assert!(problems.contains("templates.en.estimateSms must tell the customer how to opt out"), "{problems}");
    assert!(problems.contains("templates.en.estimateCall must say the call is automated"), "{problems}");
    assert!(!problems.contains("dunningEmail"), "{problems}");
}

#[test]
fn a_call_back_is_noted_on_the_job_of_the_last_follow_up() {
    let mut w = World::new(site());
    steps(
        &mut w,
        &[
            "customer Dana Smith mobile=+16125550101 texts",
            "now 2026-03-02 10:00",
            "job 77 scheduled",
            "estimate 101 sent job=77",
            "until 2026-03-03 12:00",
        ],
    );
    w.fu.call_in("CA1", "+16125550101", w.now);
    w.drive();
    w.fu.call_in("CA1", "+16125550101", w.now);
    w.drive();
    let calls: Vec<&Note> = w.notes.iter().filter(|n| n.text.contains("called back")).collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].target, NoteTarget::Job(77));
}

/// A small deterministic generator (no dependency): the same runs every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Random event streams through the harness: no panic, and every invariant (once per key,
/// quiet hours, the cap, nothing after STOP, never the wrong message) holds.
#[test]
fn random_event_streams_keep_every_invariant() {
    let mut rng = Lcg(15);
    let mut sent = 0;
    for run in 0..60 {
        let mut w = World::new(site());
        let mut lines = vec!["customer Dana Smith mobile=+16125550101 texts email=dana@example.com".to_string()];
        if rng.next(2) == 0 {
            lines.push("consent sms voice".into());
        }
        lines.push(format!("now 2026-03-0{} {:02}:{:02}", 1 + rng.next(9), rng.next(24), rng.next(60)));
        lines.push("job 77 scheduled".into());
        lines.push("job 78 scheduled".into());
        for _ in 0..(5 + rng.next(25)) {
            let (e, j, a, i) = (101 + rng.next(3), 77 + rng.next(2), 5 + rng.next(2), 9 + rng.next(2));
            let line = match rng.next(30) {
                0..=2 => format!("estimate {e} sent job={j}"),
                3 => format!("estimate {e} viewed"),
                4 => format!("estimate {e} sold"),
                5 => format!("estimate {e} dismissed"),
                6 => format!("quietly estimate {e} sold"),
                7 => format!("job {j} completed"),
                8 => format!("job {j} noshow"),
                9 => format!("job {j} scheduled"),
                10 => format!("quietly job {j} scheduled notifications=off"),
                11 => format!("appointment {a} job={j} starts=+{}h", 2 + rng.next(70)),
                12 => format!("appointment {a} noshow"),
                13 => format!("invoice {i} balance=120.00 due=+-{}d job={j}", rng.next(20)),
                14 => format!("invoice {i} balance=0"),
                15 => format!("quietly invoice {i} balance=0"),
                16 => format!("payment 3 invoices={i}"),
                17 => format!("again estimate {e}"),
                18 => format!("late estimate {e}"),
                19 => ["text STOP", "text START", "text Thanks", "text HELP", "missed text STOP", "missed text START"]
                    [rng.next(6)]
                .to_string(),
                20 => ["provider refuses 21610", "provider refuses 30003", "provider times-out", "provider crashes"]
                    [rng.next(4)]
                .to_string(),
                21 => ["servicetitan down", "servicetitan up"][rng.next(2)].to_string(),
                22 => "alarm".into(),
                23 => "restart".into(),
                24 => "cancel estimateCall".into(),
                _ => format!("until +{}h", 1 + rng.next(72)),
            };
            lines.push(line);
        }
        lines.push("servicetitan up".into());
        lines.push("until +21d".into());
        for line in &lines {
            // Commands that do not apply (nothing to deliver again, nothing to cancel) are fine.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(&mut w, line)));
            assert!(r.is_ok(), "run {run} panicked at `{line}`; the run:\n{}", lines.join("\n"));
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.check_invariants(&format!("run {run}"))));
        assert!(r.is_ok(), "run {run} broke an invariant; the run:\n{}", lines.join("\n"));
        sent += w.posted.len();
    }
    assert!(sent > 100, "the random runs sent only {sent} messages: they test too little");
}

#[test]
fn a_long_customer_history_stays_within_one_durable_object_value() {
    let mut w = World::new(site());
    steps(&mut w, &["customer Dana Smith mobile=+16125550101 texts email=dana@example.com", "now 2026-03-02 10:00"]);
    for k in 0..60 {
        step(&mut w, &format!("estimate {} sent", 1000 + k)).unwrap();
        for j in 0..3 {
            step(&mut w, &format!("job {} scheduled", 5000 + 3 * k + j)).unwrap();
        }
        step(&mut w, "until +25h").unwrap();
    }
    assert!(w.posted.len() >= 55, "{} sent", w.posted.len());
    let settled = w.fu.list().iter().filter(|f| f.status != Status::Pending).count();
    assert_eq!(settled, KEPT_SETTLED, "the newest settled are kept, the oldest dropped");
    let size = serde_json::to_string(&w.fu).unwrap().len();
    assert!(size < 128 * 1024, "the state is {size} bytes");
    // The newest entity is still deduplicated; a forgotten old one that comes back is
    // applied again, and the re-check before any send is what stands guard.
    let newest = w.current(Entity::Estimate, 1059).unwrap();
    assert_eq!(w.fu.observe(newest, w.now), Observed::Duplicate);
    let oldest = w.current(Entity::Job, 5000).unwrap();
    assert_eq!(w.fu.observe(oldest, w.now), Observed::Applied);
}

#[test]
fn a_stop_the_object_missed_let_an_earlier_follow_up_out_after_start() {
    // Issue 15: the object did not know the number when the STOP came (no phones index
    // entry yet), so only the site's opt-out list saw it; START came before the pending
    // text was due, and the list, deleted by START, let it go.
    let mut w = World::new(site());
    steps(
        &mut w,
        &[
            "customer Dana Smith mobile=+16125550101 texts",
            "consent sms voice",
            "now 2026-03-02 10:00",
            "estimate 101 sent",
            "until 2026-03-02 12:00",
            "missed text STOP",
            "until +1h",
            "missed text START",
            "until 2026-03-06 12:00",
        ],
    );
    assert!(w.posted.is_empty(), "sent after START though scheduled before the STOP: {:#?}", w.posted);
    let stop = iso8601(time(&w, "2026-03-02 12:00"));
    for f in w.fu.list() {
        assert_eq!(f.status, Status::Halted, "{}: {}", f.id, f.reason);
        assert!(f.reason.contains(&format!("scheduled before the customer's STOP at {stop}")), "{}", f.reason);
        assert!(f.reason.contains("START at"), "{}", f.reason);
    }
    let halted_notes = w.notes.iter().filter(|n| n.key.ends_with(":stop")).count();
    assert_eq!(halted_notes, 2, "one note per halted follow-up");
    // The number is not blocked: a new estimate's text goes.
    step(&mut w, "estimate 102 sent").unwrap();
    step(&mut w, "until 2026-03-07 13:00").unwrap();
    assert_eq!(w.posted.len(), 1, "{:#?}", w.posted);
    assert!(w.posted[0].key.contains(":102"), "{}", w.posted[0].key);
    w.check_invariants("a_stop_the_object_missed");
}

#[test]
fn the_opt_out_list_compares_in_engine_time_when_the_clock_is_compressed() {
    // The worker's clock in tests: engine time runs 3600 times faster from the object's
    // origin (object.rs `engine_time`). The entry's real ms must be converted first.
    let origin_ms: i64 = 1_780_000_000_000;
    let engine_time = |ms: i64| (origin_ms + (ms - origin_ms) * 3600).div_euclid(1000);
    let mut entry = OptOutEntry::stop("STOP", origin_ms + 20_000);
    assert!(entry.start(origin_ms + 30_000));
    let number = "+16125550101";
    // Scheduled 10 real seconds after the origin (10 engine hours), before the STOP.
    let before = engine_time(origin_ms + 10_000);
    assert!(before > (origin_ms + 30_000) / 1000, "in real seconds it would look later than the START");
    let refused = opt_out::refusal([(number, &entry)], before, engine_time);
    assert_eq!(
        refused,
        Some(SendResult::ScheduledBeforeStart {
            number: number.into(),
            stopped_at: engine_time(origin_ms + 20_000),
            started_at: engine_time(origin_ms + 30_000),
        })
    );
    // Scheduled after the START: it goes.
    assert_eq!(opt_out::refusal([(number, &entry)], engine_time(origin_ms + 40_000), engine_time), None);
    // A number still out wins over one back (an email checks every number).
    let out = OptOutEntry::stop("Stop", origin_ms);
    let both = opt_out::refusal([(number, &entry), ("+16125550102", &out)], before, engine_time);
    assert!(matches!(both, Some(SendResult::Failed { code: Some(TWILIO_UNSUBSCRIBED), .. })), "{both:?}");
}

#[test]
fn the_opt_out_entry_reads_the_first_format_and_keeps_the_start() {
    // Entries written before the START was kept: `{"body","at"}`, only while out.
    let old = OptOutEntry::from_stored(r#"{"body":"STOP","at":"2026-12-02T06:57:19Z"}"#);
    assert!(old.opted_out());
    assert_eq!(old.stopped_at_ms(), Some(parse_iso8601("2026-12-02T06:57:19Z").unwrap() * 1000));
    let Some(SendResult::Failed { code, detail }) = old.refusal("+16125550101", 0, |ms| ms / 1000) else {
        panic!("an old entry refuses")
    };
    assert_eq!(code, Some(TWILIO_UNSUBSCRIBED));
    assert_eq!(detail, "+16125550101 texted \"STOP\" at 2026-12-02T06:57:19Z: on the site's opt-out list, not sent");
    // An old entry then START: kept, with the START's time.
    let mut back = old;
    assert!(back.start(1_796_000_000_000));
    assert!(!back.start(1_796_000_999_000), "a second START keeps the first one's time");
    let json: serde_json::Value = serde_json::from_str(&back.to_stored()).unwrap();
    assert_eq!(json["startedAtMs"], 1_796_000_000_000_i64);
    assert_eq!(OptOutEntry::from_stored(&back.to_stored()), back);
    // The new format: the STOP in real ms too; a STOP after START starts over.
    let stop = OptOutEntry::stop("Stop texting me please, now and forever, thank you", 1_796_000_500_123);
    let json: serde_json::Value = serde_json::from_str(&stop.to_stored()).unwrap();
    assert_eq!(json["stoppedAtMs"], 1_796_000_500_123_i64);
    assert_eq!(json["at"], iso8601(1_796_000_500));
    assert_eq!(json["body"].as_str().unwrap().chars().count(), opt_out::KEPT_BODY_CHARS);
    assert!(json.get("startedAtMs").is_none());
    assert!(stop.opted_out());
}
