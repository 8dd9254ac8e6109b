//! The booking chat widget: a Leptos CSR app compiled to wasm and mounted by `loader.js`
//! into the Shadow DOM it drew the bubble in.
//!
//! It is a shell around `booking-core`: every reply comes from
//! [`booking_core::conversation::Conversation`], run locally, so answers are instant
//! and survive reloads. The widget only moves bytes: it fetches the public site
//! config, POSTs the homeowner's turns on confirmation, queues that POST while
//! offline, and reports a qualified abandonment with `sendBeacon`.
//!
//! Everything the homeowner types is rendered as text nodes; nothing here uses
//! `inner_html`.

use std::cell::RefCell;
use std::time::Duration;

use booking_core::booking::{BookingRequest, Channel, Locale};
use booking_core::conversation::{Conversation, Effect, Event, Turn, UserTurn};
use booking_core::site::PublicSiteConfig;
use booking_core::submission::{BookingReply, Submission, Utm, MAX_FIELD_BYTES, MAX_TURNS, MAX_TURN_BYTES};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, ShadowRoot};

mod i18n;
mod net;
mod style;

use i18n::{t, K};

/// Version of what the widget keeps in localStorage; bump when [`Saved`] changes shape.
const SAVE_VERSION: u32 = 2;

thread_local! {
    static HOST: RefCell<Option<Element>> = const { RefCell::new(None) };
    static ROOT: RefCell<Option<ShadowRoot>> = const { RefCell::new(None) };
    /// Message ids are never reused, even after "Start over" or a language switch:
    /// the keyed list would otherwise keep the old text for a reused key.
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// One line in the message list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Msg {
    id: u32,
    /// "bot", "user" or "note" (a widget notice).
    from: String,
    text: String,
}

/// Where the booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) enum Phase {
    #[default]
    Chat,
    Card,
    Sending,
    Queued,
    Done,
    Failed,
}

/// An arrival window offered by the worker's availability route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Window {
    start: i64,
    end: i64,
}

/// Everything kept in localStorage under `bw:v1:{site}`.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Saved {
    v: u32,
    key: String,
    cfg: Option<PublicSiteConfig>,
    /// The homeowner's turns: the conversation is rebuilt by replaying them through
    /// booking-core (deterministic), so its state itself is never stored or parsed.
    turns: Vec<UserTurn>,
    locale: Locale,
    msgs: Vec<Msg>,
    quick: Vec<String>,
    open: bool,
    emergency: bool,
    handoff: bool,
    phase: Phase,
    pending: Option<String>,
    done: Option<BookingReply>,
    error: Option<String>,
    contact: bool,
    abandoned: bool,
    windows: Vec<Window>,
    pick: Option<usize>,
    sms: bool,
}

/// `POST /abandoned` (sent with `sendBeacon`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Abandoned {
    idempotency_key: String,
    turns: Vec<UserTurn>,
    locale: Locale,
    page_url: String,
}

/// State nothing on screen depends on. Kept in one plain struct rather than in Leptos
/// `StoredValue`s: every `StoredValue<T>` type costs its own copy of the reactive arena
/// code in the wasm.
struct Plain {
    site: String,
    api: String,
    page_url: String,
    key: String,
    conv: Option<Conversation>,
    before_yes: Option<Conversation>,
    pending: Option<String>,
    inflight: bool,
    attempts: u32,
    contact: bool,
    abandoned: bool,
}

thread_local! {
    static PLAIN: RefCell<Option<Plain>> = const { RefCell::new(None) };
}

/// The widget's state: all `Copy` handles, so closures can capture it freely.
#[derive(Clone, Copy)]
pub(crate) struct Ui {
    frame: bool,
    cfg: RwSignal<Option<PublicSiteConfig>>,
    cfg_failed: RwSignal<bool>,
    locale: RwSignal<Locale>,
    msgs: RwSignal<Vec<Msg>>,
    quick: RwSignal<Vec<String>>,
    typing: RwSignal<bool>,
    open: RwSignal<bool>,
    emergency: RwSignal<bool>,
    handoff: RwSignal<bool>,
    card: RwSignal<Option<BookingRequest>>,
    phase: RwSignal<Phase>,
    done: RwSignal<Option<BookingReply>>,
    error: RwSignal<Option<String>>,
    windows: RwSignal<Vec<Window>>,
    pick: RwSignal<Option<usize>>,
    sms: RwSignal<bool>,
    draft: RwSignal<String>,
    input: NodeRef<leptos::html::Input>,
    bubble: NodeRef<leptos::html::Button>,
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn new_key() -> String {
    let mut k = String::from("bw-");
    for _ in 0..4 {
        k.push_str(&format!("{:06x}", (js_sys::Math::random() * 16_777_216.0) as u32));
    }
    k
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn opt_str(o: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(o, &JsValue::from_str(name)).ok()?.as_string()
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Fires `bw:{name}` on the host element (bubbles, composed) and pushes to `dataLayer`.
/// No personal data goes into either.
fn emit(ui: Ui, name: &str, extra: &[(&str, JsValue)]) {
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"site".into(), &ui.st(|s| s.site.clone()).into());
    for (k, v) in extra {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(k), v);
    }
    HOST.with(|h| {
        if let Some(h) = h.borrow().as_ref() {
            let init = web_sys::CustomEventInit::new();
            init.set_bubbles(true);
            init.set_composed(true);
            init.set_detail(&detail);
            if let Ok(ev) = web_sys::CustomEvent::new_with_event_init_dict(&format!("bw:{name}"), &init) {
                let _ = h.dispatch_event(&ev);
            }
        }
    });
    if let Some(w) = web_sys::window() {
        let dl = js_sys::Reflect::get(&w, &"dataLayer".into()).unwrap_or(JsValue::UNDEFINED);
        let dl = if js_sys::Array::is_array(&dl) {
            dl.unchecked_into::<js_sys::Array>()
        } else {
            let a = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&w, &"dataLayer".into(), &a);
            a
        };
        let _ = js_sys::Reflect::set(&detail, &"event".into(), &format!("booking_widget_{}", name.replace('-', "_")).into());
        dl.push(&detail);
    }
    // Inside the iframe fallback the host page cannot see our events: forward them.
    if ui.frame {
        if let Some(p) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
            let _ = p.post_message(&JsValue::from_str(&format!("bw:event:{name}")), "*");
        }
    }
}

impl Ui {
    /// Runs `f` on the plain state. `f` must not call `st` again (one borrow at a time).
    fn st<R>(self, f: impl FnOnce(&mut Plain) -> R) -> R {
        PLAIN.with(|p| f(p.borrow_mut().as_mut().expect("mounted")))
    }

    fn storage_key(self) -> String {
        format!("bw:v{SAVE_VERSION}:{}", self.st(|s| s.site.clone()))
    }

    fn save(self) {
        let Some(s) = storage() else { return };
        let has_turns = self.st(|s| s.conv.as_ref().is_some_and(|c| !c.user_turns().is_empty()));
        if !has_turns && self.st(|s| s.pending.clone()).is_none() && self.done.get_untracked().is_none() {
            // Nothing worth resuming: leave no trace, so the loader stays lazy on the next page.
            let _ = s.remove_item(&self.storage_key());
            return;
        }
        let saved = Saved {
            v: SAVE_VERSION,
            key: self.st(|s| s.key.clone()),
            cfg: self.cfg.get_untracked(),
            turns: self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default()),
            locale: self.l(),
            msgs: self.msgs.get_untracked(),
            quick: self.quick.get_untracked(),
            open: self.open.get_untracked(),
            emergency: self.emergency.get_untracked(),
            handoff: self.handoff.get_untracked(),
            phase: self.phase.get_untracked(),
            pending: self.st(|s| s.pending.clone()),
            done: self.done.get_untracked(),
            error: self.error.get_untracked(),
            contact: self.st(|s| s.contact),
            abandoned: self.st(|s| s.abandoned),
            windows: self.windows.get_untracked(),
            pick: self.pick.get_untracked(),
            sms: self.sms.get_untracked(),
        };
        if let Ok(j) = serde_json::to_string(&saved) {
            let _ = s.set_item(&self.storage_key(), &j);
        }
    }

    fn restore(self) -> bool {
        let Some(text) = storage().and_then(|s| s.get_item(&self.storage_key()).ok().flatten()) else { return false };
        let Ok(s) = serde_json::from_str::<Saved>(&text) else { return false };
        if s.v != SAVE_VERSION || s.key.len() < 8 {
            return false;
        }
        let Some(cfg) = s.cfg.clone() else { return false };
        // Rebuild the conversation from the turns; when the card was up, stop one turn
        // short (that is the state "Edit" returns to) and take the card from the last one.
        let n = s.turns.len();
        let mut c = rebuild(&cfg, s.locale, &s.turns[..n.saturating_sub(1)]);
        let mut before = None;
        // The card is up (or being sent) in these phases; after "Done" it is gone.
        let card_up = !matches!(s.phase, Phase::Chat | Phase::Done);
        if let Some(last) = s.turns.last() {
            if card_up {
                before = Some(c.clone());
            }
            let turn = c.handle(Event::User { text: last.text.clone() }, last.at);
            if card_up {
                for e in turn.effects {
                    if let Effect::Book { request } = e {
                        self.card.set(Some(request));
                    }
                }
            }
        }
        self.locale.set(c.locale());
        let conv = Some(c);
        self.st(|p| p.key = s.key);
        self.cfg.set(s.cfg);
        self.st(|s| s.conv = conv);
        NEXT_ID.with(|n| n.set(s.msgs.iter().map(|m| m.id + 1).max().unwrap_or(0)));
        self.msgs.set(s.msgs);
        self.quick.set(s.quick);
        self.open.set(s.open);
        self.emergency.set(s.emergency);
        self.handoff.set(s.handoff);
        self.st(|s| s.before_yes = before);
        // A send cut short by the reload is retried as queued.
        self.phase.set(if s.phase == Phase::Sending { Phase::Queued } else { s.phase });
        self.st(|p| p.pending = s.pending);
        self.done.set(s.done);
        self.error.set(s.error);
        self.st(|p| p.contact = s.contact);
        self.st(|p| p.abandoned = s.abandoned);
        self.windows.set(s.windows);
        self.pick.set(s.pick);
        self.sms.set(s.sms);
        true
    }

    fn push(self, from: &str, text: String) {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        self.msgs.update(|m| m.push(Msg { id, from: from.into(), text }));
    }

    fn l(self) -> Locale {
        self.locale.get_untracked()
    }

    /// Starts the conversation (greeting) once the config is known and the panel is open.
    fn start(self) {
        if self.st(|s| s.conv.is_some()) {
            return;
        }
        let Some(cfg) = self.cfg.get_untracked() else { return };
        let mut c = Conversation::new(cfg, Channel::Chat, Some(self.l()));
        let turn = c.handle(Event::Start, now());
        self.locale.set(c.locale());
        self.st(|s| s.conv = Some(c));
        self.apply(turn, None);
    }

    fn open_panel(self) {
        if !self.open.get_untracked() {
            self.open.set(true);
            emit(self, "opened", &[]);
        }
        self.start();
        self.save();
        self.focus_input();
    }

    fn close_panel(self) {
        self.open.set(false);
        self.save();
        if self.frame {
            if let Some(p) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
                let _ = p.post_message(&JsValue::from_str("bw:close"), "*");
            }
        } else {
            request_animation_frame(move || {
                if let Some(b) = self.bubble.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    }

    fn focus_input(self) {
        request_animation_frame(move || {
            if let Some(i) = self.input.get_untracked() {
                let _ = i.focus();
            }
        });
    }

    /// The homeowner sent `text` (typed or a quick reply).
    fn send(self, text: String) {
        let text = clip(text.trim(), MAX_TURN_BYTES);
        if text.is_empty() || self.phase.get_untracked() != Phase::Chat {
            return;
        }
        let Some(turns) = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().len())) else { return };
        if turns >= MAX_TURNS {
            self.push("note", t(self.l(), K::Limit).into());
            self.handoff.set(true);
            return;
        }
        self.push("user", text.clone());
        self.quick.set(Vec::new());
        self.draft.set(String::new());
        let mut before = None;
        let mut turn = Turn::default();
        self.st(|s| {
            if let Some(c) = &mut s.conv {
                before = Some(c.clone());
                turn = c.handle(Event::User { text }, now());
            }
        });
        self.save();
        // A short typing pause reads as a reply rather than a form; it is skipped when
        // the reply carries a safety message.
        let urgent = turn.effects.iter().any(|e| matches!(e, Effect::Emergency));
        if urgent {
            self.apply(turn, before);
        } else {
            self.typing.set(true);
            set_timeout(
                move || {
                    self.typing.set(false);
                    self.apply(turn, before);
                },
                Duration::from_millis(450),
            );
        }
    }

    /// Shows a turn's replies and acts on its effects.
    fn apply(self, turn: Turn, before: Option<Conversation>) {
        let mut replies = turn.replies;
        if turn.effects.iter().any(|e| matches!(e, Effect::Book { .. })) {
            // booking-core's last line here says "you're all set", which is only true once
            // the worker has the booking: the card asks for the one "Book it" tap instead,
            // and the success card says it when the POST has succeeded.
            replies.pop();
        }
        for r in replies {
            self.push("bot", r);
        }
        self.quick.set(turn.quick_replies);
        for e in turn.effects {
            match e {
                Effect::Book { request } => {
                    self.st(|s| s.before_yes = before.clone());
                    self.pick.set(None);
                    self.windows.set(Vec::new());
                    net::availability(self, &request);
                    self.card.set(Some(request));
                    self.phase.set(Phase::Card);
                    self.quick.set(Vec::new());
                }
                Effect::HandOff => self.handoff.set(true),
                Effect::Emergency => self.emergency.set(true),
                _ => {}
            }
        }
        if !self.st(|s| s.contact) && self.qualified().is_some() {
            self.st(|s| s.contact = true);
            emit(self, "contact-captured", &[]);
        }
        self.save();
    }

    /// What booking-core says an abandonment now would report, if anything.
    fn qualified(self) -> Option<Effect> {
        let mut c = self.st(|s| s.conv.clone())?;
        c.handle(Event::Abandon, now())
            .effects
            .into_iter()
            .find(|e| matches!(e, Effect::QualifiedAbandon { .. }))
    }

    /// "Edit" on the confirmation card: back to the state before the confirming answer.
    fn edit(self) {
        if self.phase.get_untracked() != Phase::Card {
            return;
        }
        if let Some(c) = self.st(|s| s.before_yes.clone()) {
            self.st(|s| s.conv = Some(c));
        }
        self.card.set(None);
        self.phase.set(Phase::Chat);
        self.push("note", t(self.l(), K::EditHint).into());
        self.save();
        self.focus_input();
    }

    fn attribution(self) -> (Utm, Option<String>) {
        let page = self.st(|s| s.page_url.clone());
        // The landing URL (kept by the loader for this tab) carries the campaign when
        // the homeowner browsed on before chatting.
        let landing = web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .and_then(|s| s.get_item("bw:landing").ok().flatten());
        let get = |url: &str, name: &str| -> Option<String> {
            let u = web_sys::Url::new(url).ok()?;
            u.search_params().get(name).map(|v| clip(v.trim(), MAX_FIELD_BYTES)).filter(|v| !v.is_empty())
        };
        let pick = |name: &str| get(&page, name).or_else(|| landing.as_deref().and_then(|l| get(l, name)));
        let utm = Utm {
            source: pick("utm_source"),
            medium: pick("utm_medium"),
            campaign: pick("utm_campaign"),
            content: pick("utm_content"),
        };
        let param = self.cfg.get_untracked().and_then(|c| c.referral_param).filter(|p| !p.is_empty());
        let referral = param.and_then(|p| pick(&p));
        (utm, referral)
    }

    /// "Book it": builds the submission once, keeps it, and sends it.
    fn confirm(self) {
        // The phase flips before any await: a double click finds Sending and does nothing.
        if self.phase.get_untracked() != Phase::Card {
            return;
        }
        let mut turns: Vec<UserTurn> = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default());
        if let (Some(i), Some(cfg)) = (self.pick.get_untracked(), self.cfg.get_untracked()) {
            if let Some(w) = self.windows.get_untracked().get(i) {
                let label = i18n::window_label(self.l(), w.start, w.end, cfg.utc_offset_minutes);
                turns.push(UserTurn { text: format!("Arrival window: {label} [{}-{}]", w.start, w.end), at: now() });
            }
        }
        let (utm, referral_code) = self.attribution();
        let sub = Submission {
            idempotency_key: self.st(|s| s.key.clone()),
            turns,
            locale: Some(self.l()),
            sms_consent: self.sms.get_untracked(),
            page_url: Some(clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES)),
            utm,
            referral_code,
        };
        let Ok(body) = serde_json::to_string(&sub) else { return };
        self.st(|s| s.pending = Some(body));
        self.phase.set(Phase::Sending);
        self.save();
        net::post_booking(self);
    }

    fn finish(self, reply: BookingReply) {
        self.st(|s| s.pending = None);
        self.card.set(None);
        let job = reply.job_number.clone().map(JsValue::from).unwrap_or(JsValue::NULL);
        let status = JsValue::from(reply.status.clone());
        self.done.set(Some(reply));
        self.phase.set(Phase::Done);
        self.save();
        emit(self, "booking-completed", &[("jobNumber", job), ("status", status)]);
    }

    fn fail(self, message: String) {
        self.st(|s| s.pending = None);
        self.error.set(Some(message));
        self.phase.set(Phase::Failed);
        self.handoff.set(true);
        self.save();
    }

    /// Reports a qualified abandonment once, with `sendBeacon` (it survives page unload).
    fn abandon(self) {
        if self.st(|s| s.abandoned) || !matches!(self.phase.get_untracked(), Phase::Chat | Phase::Card) {
            return;
        }
        if self.qualified().is_none() {
            return;
        }
        let turns = self.st(|s| s.conv.as_ref().map(|c| c.user_turns().to_vec()).unwrap_or_default());
        let body = Abandoned {
            idempotency_key: self.st(|s| s.key.clone()),
            turns,
            locale: self.l(),
            page_url: clip(&self.st(|s| s.page_url.clone()), MAX_FIELD_BYTES),
        };
        let Ok(body) = serde_json::to_string(&body) else { return };
        if net::beacon(self, "abandoned", &body) {
            self.st(|s| s.abandoned = true);
            self.save();
            emit(self, "abandoned", &[]);
        }
    }

    /// "Start over" after a booking or a failure: a new conversation and key.
    fn restart(self) {
        self.st(|s| s.conv = None);
        self.st(|s| s.key = new_key());
        self.msgs.set(Vec::new());
        self.quick.set(Vec::new());
        self.emergency.set(false);
        self.handoff.set(false);
        self.card.set(None);
        self.st(|s| s.before_yes = None);
        self.phase.set(Phase::Chat);
        self.st(|s| s.pending = None);
        self.done.set(None);
        self.error.set(None);
        self.st(|s| s.contact = false);
        self.st(|s| s.abandoned = false);
        self.windows.set(Vec::new());
        self.pick.set(None);
        self.sms.set(false);
        self.start();
        self.save();
        self.focus_input();
    }

    /// The other language, offered until the homeowner has said anything.
    fn switch_locale(self) {
        let Some(cfg) = self.cfg.get_untracked() else { return };
        let next = if self.l() == Locale::Es { Locale::En } else { Locale::Es };
        if !cfg.locales.contains(&next) {
            return;
        }
        self.locale.set(next);
        self.st(|s| s.conv = None);
        self.msgs.set(Vec::new());
        self.start();
        self.focus_input();
    }
}

/// Mounts the widget into the shadow root `loader.js` drew the bubble in.
///
/// - `root`: the open shadow root (its content is replaced).
/// - `site`: the site id (`data-site`).
/// - `api`: the worker's base URL (`data-api`), no trailing slash needed.
/// - `open`: open the panel at once (the homeowner clicked the bubble).
/// - `options`: a plain object: `frame` (bool, full-frame inside the iframe fallback),
///   `pageUrl` (the page the homeowner is on; the parent page in frame mode).
#[wasm_bindgen]
pub fn mount(root: ShadowRoot, site: String, api: String, open: bool, options: JsValue) {
    let frame = js_sys::Reflect::get(&options, &"frame".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    let page_url = opt_str(&options, "pageUrl")
        .filter(|u| !u.is_empty())
        .or_else(|| web_sys::window().and_then(|w| w.location().href().ok()))
        .unwrap_or_default();
    style::install(&root, "#0b5cab");
    // The loader starts loading when its bubble gets focus (Tab): keep that focus on our
    // bubble, or a keyboard user would be dropped to the top of the page.
    let had_focus = root.active_element().is_some();
    while let Some(c) = root.first_child() {
        let _ = root.remove_child(&c);
    }
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(div) = doc.create_element("div") else { return };
    let _ = root.append_child(&div);
    HOST.with(|h| *h.borrow_mut() = Some(root.host()));
    ROOT.with(|r| *r.borrow_mut() = Some(root.clone()));
    let api = api.trim_end_matches('/').to_string();
    let Ok(div) = div.dyn_into::<web_sys::HtmlElement>() else { return };
    leptos::mount::mount_to(div, move || app(site, api, page_url, frame, open)).forget();
    if had_focus && !open {
        if let Some(b) = root.get_element_by_id("bw-bubble").and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = b.focus();
        }
    }
}

/// The conversation the widget had after these turns (booking-core is deterministic).
fn rebuild(cfg: &PublicSiteConfig, locale: Locale, turns: &[UserTurn]) -> Conversation {
    let mut c = Conversation::new(cfg.clone(), Channel::Chat, Some(locale));
    c.handle(Event::Start, turns.first().map_or_else(now, |t| t.at));
    for t in turns {
        c.handle(Event::User { text: t.text.clone() }, t.at);
    }
    c
}

fn initial_locale() -> Locale {
    let lang = web_sys::window()
        .and_then(|w| {
            let doc_lang = w.document().and_then(|d| d.document_element()).and_then(|e| e.get_attribute("lang"));
            doc_lang.filter(|l| !l.is_empty()).or_else(|| w.navigator().language())
        })
        .unwrap_or_default();
    if lang.to_ascii_lowercase().starts_with("es") {
        Locale::Es
    } else {
        Locale::En
    }
}

fn app(site: String, api: String, page_url: String, frame: bool, open: bool) -> impl IntoView {
    PLAIN.with(|p| {
        *p.borrow_mut() = Some(Plain {
            site,
            api,
            page_url,
            key: new_key(),
            conv: None,
            before_yes: None,
            pending: None,
            inflight: false,
            attempts: 0,
            contact: false,
            abandoned: false,
        })
    });
    let ui = Ui {
        frame,
        cfg: RwSignal::new(None),
        cfg_failed: RwSignal::new(false),
        locale: RwSignal::new(initial_locale()),
        msgs: RwSignal::new(Vec::new()),
        quick: RwSignal::new(Vec::new()),
        typing: RwSignal::new(false),
        open: RwSignal::new(false),
        emergency: RwSignal::new(false),
        handoff: RwSignal::new(false),
        card: RwSignal::new(None),
        phase: RwSignal::new(Phase::Chat),
        done: RwSignal::new(None),
        error: RwSignal::new(None),
        windows: RwSignal::new(Vec::new()),
        pick: RwSignal::new(None),
        sms: RwSignal::new(false),
        draft: RwSignal::new(String::new()),
        input: NodeRef::new(),
        bubble: NodeRef::new(),
    };
    let restored = ui.restore();
    if !restored {
        // Keep the site's locale choice if the page's language is not offered.
        ui.locale.set(initial_locale());
    }
    net::load_config(ui);
    if open || frame {
        ui.open_panel();
    } else if ui.open.get_untracked() {
        ui.focus_input();
    }
    if ui.st(|s| s.pending.clone()).is_some() && matches!(ui.phase.get_untracked(), Phase::Queued | Phase::Sending) {
        net::post_booking(ui);
    }
    // Brand colour follows the config.
    leptos::prelude::Effect::new(move |_| {
        if let Some(c) = ui.cfg.get() {
            ROOT.with(|r| {
                if let Some(r) = r.borrow().as_ref() {
                    style::install(r, &c.brand_color);
                }
            });
        }
    });
    // Keep the newest message in view.
    let log = NodeRef::<leptos::html::Div>::new();
    leptos::prelude::Effect::new(move |_| {
        ui.msgs.track();
        ui.typing.track();
        ui.phase.track();
        request_animation_frame(move || {
            if let Some(l) = log.get_untracked() {
                l.set_scroll_top(l.scroll_height());
            }
        });
    });
    let _ = window_event_listener(leptos::ev::online, move |_| {
        if ui.phase.get_untracked() == Phase::Queued {
            net::post_booking(ui);
        }
    });
    let _ = window_event_listener(leptos::ev::pagehide, move |_| ui.abandon());
    let _ = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if document().visibility_state() == web_sys::VisibilityState::Hidden {
            ui.abandon();
        }
    });

    let l = move || ui.locale.get();
    let tel = move || ui.cfg.get().map(|c| format!("tel:+1{}", c.office_phone)).unwrap_or_default();
    let phone_text = move || ui.cfg.get().map(|c| format_phone(&c.office_phone)).unwrap_or_default();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            ui.close_panel();
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ui.send(ui.draft.get_untracked());
    };

    view! {
        <div class="w" class:frame=frame>
            {(!frame).then(|| view! {
                <button
                    type="button"
                    class="bubble"
                    id="bw-bubble"
                    data-testid="bw-bubble"
                    node_ref=ui.bubble
                    aria-label=move || t(l(), if ui.open.get() { K::Close } else { K::OpenChat })
                    aria-expanded=move || ui.open.get().to_string()
                    aria-controls="bw-panel"
                    on:click=move |_| if ui.open.get_untracked() { ui.close_panel() } else { ui.open_panel() }
                >
                    <svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
                        <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/>
                    </svg>
                </button>
            })}
            {move || ui.open.get().then(|| view! {
                <div class="panel" id="bw-panel" data-testid="bw-panel" role="dialog" aria-labelledby="bw-title" on:keydown=on_key>
                    <header>
                        <div class="hd">
                            <h2 id="bw-title">{move || ui.cfg.get().map(|c| c.business_name).unwrap_or_default()}</h2>
                            <p data-testid="bw-hours">
                                {move || ui.cfg.get().map(|c| format!("{}: {}", t(l(), K::Hours), c.office_hours)).unwrap_or_default()}
                            </p>
                            <p>
                                <a href=tel id="bw-handoff" data-testid="bw-handoff" class:strong=move || ui.handoff.get()>
                                    {tx(ui, K::Talk)} " · " {phone_text}
                                </a>
                            </p>
                        </div>
                        {move || (
                            ui.cfg.get().is_some_and(|c| c.locales.len() > 1)
                                && ui.st(|s| s.conv.as_ref().is_none_or(|c| c.user_turns().is_empty()))
                                && ui.msgs.with(|m| !m.iter().any(|m| m.from == "user"))
                        ).then(|| view! {
                            <button type="button" class="hb" data-testid="bw-lang"
                                lang=move || if l() == Locale::Es { "en" } else { "es" }
                                on:click=move |_| ui.switch_locale()>
                                {tx(ui, K::OtherLang)}
                            </button>
                        })}
                        <button type="button" class="hb" data-testid="bw-close" aria-label=tx(ui, K::Close)
                            on:click=move |_| ui.close_panel()>
                            "✕"
                        </button>
                    </header>
                    {move || ui.emergency.get().then(|| view! {
                        <div class="alert" role="alert" data-testid="bw-emergency">
                            {tx(ui, K::Emergency)} " " <a href=tel>{phone_text}</a>
                        </div>
                    })}
                    <div class="log" id="bw-messages" data-testid="bw-messages" role="log" aria-live="polite"
                        aria-relevant="additions" node_ref=log tabindex="0" aria-label=move || ui.cfg.get().map(|c| c.business_name).unwrap_or_default()>
                        <For each=move || ui.msgs.get() key=|m| m.id let:m>
                            <div
                                class=format!("m {}", match m.from.as_str() { "user" => "me", "bot" => "bot", _ => "note" })
                                data-testid="bw-msg"
                                data-from=m.from.clone()
                            >
                                {m.text}
                            </div>
                        </For>
                        {move || (ui.cfg.get().is_none() && ui.msgs.with(Vec::is_empty)).then(|| view! {
                            <div class="m note" data-testid="bw-connecting">
                                {move || if ui.cfg_failed.get() { t(l(), K::NoConfig) } else { t(l(), K::Connecting) }}
                            </div>
                        })}
                        {move || ui.card.get().map(|r| card(ui, r))}
                        {move || status(ui)}
                        {move || ui.typing.get().then(|| view! {
                            <div class="typing" data-testid="bw-typing" role="status">
                                <span class="sr">{tx(ui, K::Typing)}</span>
                                <i></i><i></i><i></i>
                            </div>
                        })}
                    </div>
                    // Rebuilt whole when the chips change (a few buttons): no keyed list needed.
                    {move || (ui.phase.get() == Phase::Chat).then(|| ui.quick.get()).filter(|q| !q.is_empty()).map(|q| view! {
                        <div class="qr" data-testid="bw-quick-replies" role="group" aria-label=tx(ui, K::Suggestions)>
                            {q.into_iter().map(|q| {
                                let label = q.clone();
                                view! {
                                    <button type="button" class="chip" data-testid="bw-quick-reply"
                                        on:click=move |_| { ui.send(q.clone()); ui.focus_input(); }>
                                        {label}
                                    </button>
                                }
                            }).collect_view()}
                        </div>
                    })}
                    <form on:submit=on_submit data-testid="bw-form">
                        <label class="sr" for="bw-input">{tx(ui, K::InputLabel)}</label>
                        <input
                            type="text"
                            id="bw-input"
                            data-testid="bw-input"
                            node_ref=ui.input
                            autocomplete="off"
                            maxlength="2000"
                            placeholder=tx(ui, K::Placeholder)
                            prop:value=move || ui.draft.get()
                            on:input=move |ev| ui.draft.set(event_target_value(&ev))
                            disabled=move || ui.phase.get() != Phase::Chat || ui.cfg.get().is_none()
                        />
                        <button type="submit" class="pri" id="bw-send" data-testid="bw-send"
                            disabled=move || ui.phase.get() != Phase::Chat || ui.cfg.get().is_none()>
                            {tx(ui, K::Send)}
                        </button>
                    </form>
                </div>
            })}
        </div>
    }
}

/// A label that follows the language. One closure type for every label, so the view
/// code for it is generated once rather than once per label (wasm size).
fn tx(ui: Ui, k: K) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || t(ui.locale.get(), k)
}

fn format_phone(d: &str) -> String {
    if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    } else {
        d.to_string()
    }
}

/// The confirmation card: a summary to check, SMS consent, optional arrival windows.
fn card(ui: Ui, r: BookingRequest) -> impl IntoView {
    let l = move || ui.locale.get();
    let name = format!("{} {}", r.name.first, r.name.last).trim().to_string();
    let a = &r.address;
    let unit = a.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
    let address = format!("{}{unit}, {}, {} {}", a.street, a.city, a.state, a.zip);
    let phone = format_phone(&r.phone.digits);
    let sending = move || ui.phase.get() != Phase::Card;
    view! {
        <div class="card" data-testid="bw-confirm-card" role="group" aria-labelledby="bw-card-title">
            <h3 id="bw-card-title">{tx(ui, K::CardTitle)}</h3>
            <dl>
                <dt>{tx(ui, K::Issue)}</dt><dd data-testid="bw-card-issue">{r.issue.clone()}</dd>
                <dt>{tx(ui, K::Name)}</dt><dd data-testid="bw-card-name">{name}</dd>
                <dt>{tx(ui, K::Phone)}</dt><dd data-testid="bw-card-phone">{phone}</dd>
                <dt>{tx(ui, K::Address)}</dt><dd data-testid="bw-card-address">{address}</dd>
            </dl>
            {move || Some(ui.windows.get()).filter(|w| !w.is_empty()).map(|ws| view! {
                <fieldset data-testid="bw-window-picker">
                    <legend>{tx(ui, K::Windows)}</legend>
                    <div class="wins">
                        {ws.into_iter().enumerate().take(6).map(|iw| view! {
                            <button type="button" class="chip" data-testid="bw-window"
                                aria-pressed=move || (ui.pick.get() == Some(iw.0)).to_string()
                                on:click=move |_| ui.pick.set(if ui.pick.get_untracked() == Some(iw.0) { None } else { Some(iw.0) })>
                                {move || {
                                    let off = ui.cfg.get().map_or(0, |c| c.utc_offset_minutes);
                                    i18n::window_label(l(), iw.1.start, iw.1.end, off)
                                }}
                            </button>
                        }).collect_view()}
                    </div>
                </fieldset>
            })}
            <label>
                <input type="checkbox" data-testid="bw-sms-consent" prop:checked=move || ui.sms.get()
                    on:change=move |ev| ui.sms.set(event_target_checked(&ev)) />
                <span>{tx(ui, K::Sms)}</span>
            </label>
            <div class="row">
                <button type="button" class="pri" id="bw-confirm" data-testid="bw-confirm" disabled=sending
                    on:click=move |_| ui.confirm()>
                    {move || if sending() { t(l(), K::Sending) } else { t(l(), K::Book) }}
                </button>
                <button type="button" class="sec" data-testid="bw-edit" disabled=sending on:click=move |_| ui.edit()>
                    {tx(ui, K::Edit)}
                </button>
            </div>
        </div>
    }
}

/// Queued / done / failed (plain optional views: no type-erased `AnyView` code).
fn status(ui: Ui) -> impl IntoView {
    let is = move |p: Phase| ui.phase.get() == p;
    (
        move || is(Phase::Queued).then(|| view! {
            <div class="m note" data-testid="bw-queued" role="status">{tx(ui, K::Queued)}</div>
        }),
        move || is(Phase::Done).then(|| {
            let d = ui.done.get();
            let booked = d.as_ref().is_some_and(|d| d.status == "booked");
            let job = d.as_ref().and_then(|d| d.job_number.clone());
            let message = d.map(|d| d.message).unwrap_or_default();
            view! {
                <div class="card ok" data-testid="bw-success" data-status=if booked { "booked" } else { "received" } role="status">
                    <h3>{tx(ui, if booked { K::Booked } else { K::Received })}</h3>
                    {job.map(|j| view! {
                        <p>{tx(ui, K::JobNumber)} ": " <span class="job" data-testid="bw-job-number">{j}</span></p>
                    })}
                    <p>{message}</p>
                    {restart_button(ui)}
                </div>
            }
        }),
        move || is(Phase::Failed).then(|| view! {
            <div class="card" data-testid="bw-error" role="alert">
                <p>{move || ui.error.get().unwrap_or_else(|| t(ui.locale.get(), K::Failed).into())}</p>
                {restart_button(ui)}
            </div>
        }),
    )
}

fn restart_button(ui: Ui) -> impl IntoView {
    view! {
        <button type="button" class="sec" data-testid="bw-restart" on:click=move |_| ui.restart()>
            {tx(ui, K::Restart)}
        </button>
    }
}
