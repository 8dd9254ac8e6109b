//! LLM voice platforms (Vapi, Retell, ElevenLabs Agents): their tool calls to
//! `POST /v1/voice/tools/{site}` in, our results out. The platform's LLM talks; our tools
//! decide: `converse` (our engine as the dialogue manager: one caller utterance in, the
//! next line out), `check_service_area`, `check_availability`, `book` (structured fields
//! normalised and validated here, a bad one answered with a sentence the LLM can ask
//! again with), `transfer`.
//!
//! Request shapes (`../shared/voice-and-followups.md` §4; samples in
//! `tests/data/voice/tools/`):
//! - Vapi: `{"message": {"type": "tool-calls", "call": {"id", "customer": {"number"}},
//!   "toolCallList": [{"id", "name", "arguments"}]}}` (older: `function: {name,
//!   arguments}`, arguments as a JSON string) → `{"results": [{"toolCallId", "result"}]}`.
//! - Retell custom function: `{"name", "call": {"call_id", "from_number", …}, "args"}` →
//!   any body; we answer `{"result": "…"}`.
//! - ElevenLabs server tool: the body is the object its `request_body_schema` defines;
//!   ours (`examples/voice/elevenlabs`) is `{"tool", "conversation_id", "caller_id",
//!   …arguments}` → `{"result": "…"}`.
//! - Anything else of ours: `{"tool", "callId", "caller", "args"}`.

use serde_json::{json, Map, Value};

use crate::booking::{
    Address, ArrivalWindow, BookingRequest, Channel, Locale, PersonName, Phone, PreferredTime, Priority, Speaker,
    Trade, TranscriptLine, UnixSeconds, VisitKind,
};
use crate::conversation::{window_allowed, window_label};
use crate::extract::{self, Expecting, PhoneProblem, Urgency};
use crate::site::SiteConfig;
use crate::submission::{BookingReply, ReplyStatus};

use super::call::{Call, CallEvent, CallTurn, Next};
use super::{e164, VoiceError};

/// Which platform sent a tool request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Vapi (`message.type = tool-calls`).
    Vapi,
    /// Retell AI custom functions.
    Retell,
    /// ElevenLabs Agents server tools.
    ElevenLabs,
    /// Our own flat shape.
    Generic,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The platform's id for this call (Vapi's `toolCallId`); the call id elsewhere.
    pub id: String,
    /// `converse`, `check_service_area`, `check_availability`, `book`, `transfer`.
    pub name: String,
    /// The arguments object.
    pub args: Value,
}

/// A platform's request: which phone call, from whom, which tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRequest {
    /// Which platform.
    pub platform: Platform,
    /// The platform's id of the phone call (one [`Call`] per id).
    pub call_id: String,
    /// The caller's number, when the platform sends it.
    pub caller: Option<String>,
    /// The tools to run, in order; empty for a platform message that is not a tool call
    /// (Vapi's status updates): answer it with an empty result.
    pub calls: Vec<ToolCall>,
    /// The call so far as the platform transcribed it (Retell's `call.transcript`, Vapi's
    /// `artifact.transcript`: "Agent: …" / "User: …" lines), for the booking's note.
    pub transcript: Vec<TranscriptLine>,
    /// The platform says the phone call is over (Vapi's `end-of-call-report` or an
    /// `ended` status, Retell's `call_ended` webhook): hand the call
    /// [`crate::voice::CallEvent::HungUp`], so a call that ended before booking is
    /// called back.
    pub ended: bool,
}

/// Longest accepted tool body: no booking needs more.
pub const MAX_TOOL_BODY: usize = 64 * 1024;

/// Reads a tool request of any of the platforms.
pub fn parse_tool_request(body: &[u8]) -> Result<ToolRequest, VoiceError> {
    if body.len() > MAX_TOOL_BODY {
        return Err(VoiceError::Shape("tool request body over 64 KB"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| VoiceError::Json(e.to_string()))?;
    if !v.is_object() {
        return Err(VoiceError::Shape("tool request must be a JSON object"));
    }
    if let Some(m) = v.get("message").filter(|m| m.get("type").is_some()) {
        return vapi(m);
    }
    if v.get("args").is_some() && v.get("call").is_some() && v.get("name").is_some() {
        return retell(&v);
    }
    if let (Some(event), Some(_)) = (str_at(&v, &["event"]), v.get("call")) {
        // Retell's call webhooks (call_started, call_ended, call_analyzed).
        return Ok(ToolRequest {
            platform: Platform::Retell,
            call_id: str_at(&v, &["call", "call_id"]).unwrap_or_default(),
            caller: str_at(&v, &["call", "from_number"]),
            calls: Vec::new(),
            transcript: transcript_of(str_at(&v, &["call", "transcript"]).as_deref()),
            ended: event == "call_ended",
        });
    }
    if let Some(tool) = str_at(&v, &["tool"]) {
        return Ok(flat(&v, tool));
    }
    Err(VoiceError::Shape("not a Vapi, Retell or ElevenLabs tool request"))
}

fn vapi(m: &Value) -> Result<ToolRequest, VoiceError> {
    let call_id = str_at(m, &["call", "id"]).unwrap_or_default();
    let caller = str_at(m, &["call", "customer", "number"]).or_else(|| str_at(m, &["customer", "number"]));
    let mut calls = Vec::new();
    let kind = m.get("type").and_then(Value::as_str);
    let ended = kind == Some("end-of-call-report")
        || (kind == Some("status-update") && m.get("status").and_then(Value::as_str) == Some("ended"));
    if kind == Some("tool-calls") {
        let list = m.get("toolCallList").or_else(|| m.get("toolCalls")).and_then(Value::as_array);
        for c in list.into_iter().flatten() {
            let id = str_at(c, &["id"]).unwrap_or_default();
            let name = str_at(c, &["name"]).or_else(|| str_at(c, &["function", "name"]));
            let args = c.get("arguments").or_else(|| c.pointer("/function/arguments")).cloned().unwrap_or(Value::Null);
            let Some(name) = name else { return Err(VoiceError::Shape("a Vapi tool call needs a name")) };
            calls.push(ToolCall { id, name, args: object(args) });
        }
    }
    let transcript = transcript_of(str_at(m, &["artifact", "transcript"]).as_deref());
    Ok(ToolRequest { platform: Platform::Vapi, call_id, caller, calls, transcript, ended })
}

fn retell(v: &Value) -> Result<ToolRequest, VoiceError> {
    let call_id = str_at(v, &["call", "call_id"]).unwrap_or_default();
    let caller = str_at(v, &["call", "from_number"]);
    let name = str_at(v, &["name"]).ok_or(VoiceError::Shape("a Retell function needs a name"))?;
    let args = object(v.get("args").cloned().unwrap_or(Value::Null));
    Ok(ToolRequest {
        platform: Platform::Retell,
        calls: vec![ToolCall { id: call_id.clone(), name, args }],
        call_id,
        caller,
        transcript: transcript_of(str_at(v, &["call", "transcript"]).as_deref()),
        ended: false,
    })
}

/// ElevenLabs (our body schema: `conversation_id`, `caller_id`, arguments beside them)
/// and our own shape (`callId`, `caller`, `args`).
fn flat(v: &Value, tool: String) -> ToolRequest {
    let eleven = v.get("conversation_id").is_some();
    let call_id = str_at(v, &["conversation_id"]).or_else(|| str_at(v, &["callId"])).unwrap_or_default();
    let caller = str_at(v, &["caller_id"]).or_else(|| str_at(v, &["caller"]));
    let args = match v.get("args") {
        Some(a) => object(a.clone()),
        None => {
            let mut m = v.as_object().cloned().unwrap_or_default();
            for k in ["tool", "conversation_id", "caller_id", "callId", "caller"] {
                m.remove(k);
            }
            Value::Object(m)
        }
    };
    ToolRequest {
        platform: if eleven { Platform::ElevenLabs } else { Platform::Generic },
        calls: vec![ToolCall { id: call_id.clone(), name: tool, args }],
        call_id,
        caller,
        transcript: Vec::new(),
        ended: false,
    }
}

/// The platform's answer body for the results, `(tool call id, result sentence)`.
pub fn tool_response(platform: Platform, results: &[(String, String)]) -> String {
    match platform {
        Platform::Vapi | Platform::Generic => {
            let r: Vec<Value> =
                results.iter().map(|(id, result)| json!({"toolCallId": id, "result": result})).collect();
            json!({ "results": r }).to_string()
        }
        Platform::Retell | Platform::ElevenLabs => {
            let text: Vec<&str> = results.iter().map(|(_, r)| r.as_str()).collect();
            json!({ "result": text.join(" ") }).to_string()
        }
    }
}

/// What a tool call needs from the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolAction {
    /// The result is this sentence; nothing else to do.
    Say(String),
    /// One caller utterance for the call's [`Call`]: run [`converse`] and answer with its
    /// result.
    Converse {
        /// What the caller said.
        text: String,
    },
    /// Fetch arrival windows (the worker's availability path, shared cache and budget),
    /// then answer with [`availability_result`].
    CheckAvailability {
        /// The trade asked about, if said.
        trade: Option<Trade>,
        /// The ZIP, if said.
        zip: Option<String>,
    },
    /// Submit this booking as a voice booking, then answer with [`booked_result`].
    Book {
        /// Normalised and validated by [`book_fields`].
        request: Box<BookingRequest>,
    },
    /// Transfer the call (platforms do it with their own transfer tool): the result
    /// tells the LLM the number.
    Transfer {
        /// E.164.
        number: String,
        /// The result sentence for the LLM.
        say: String,
    },
}

/// What to do for one tool call of a request.
pub fn tool_action(req: &ToolRequest, call: &ToolCall, site: &SiteConfig, now: UnixSeconds) -> ToolAction {
    let args = &call.args;
    match call.name.as_str() {
        "converse" => match arg(args, &["text", "utterance", "said", "message"]) {
            Some(text) => ToolAction::Converse { text },
            None => ToolAction::Say("Pass what the caller said as text.".into()),
        },
        "check_service_area" => ToolAction::Say(service_area(site, arg(args, &["zip", "zipCode", "zip_code"]).as_deref())),
        "check_availability" => match arg(args, &["zip", "zipCode", "zip_code"]).and_then(|z| zip5(&z)) {
            None => ToolAction::Say(
                "Ask the caller for the five-digit ZIP code of the service address, then call check_availability again."
                    .into(),
            ),
            zip => ToolAction::CheckAvailability {
                trade: arg(args, &["trade"]).and_then(|t| trade_named(&t)).or_else(|| {
                    arg(args, &["problem", "issue"]).and_then(|p| extract::extract(&p, Expecting::Problem).trade)
                }),
                zip,
            },
        },
        "book" => {
            let mut args = args.clone();
            if arg(&args, &["phone", "phoneNumber", "phone_number"]).is_none() {
                if let (Some(c), Some(o)) = (req.caller.as_deref(), args.as_object_mut()) {
                    o.insert("phone".into(), Value::String(c.to_string()));
                }
            }
            match book_fields(&args, site, now) {
                Ok(mut request) => {
                    request.transcript = req.transcript.clone();
                    ToolAction::Book { request: Box::new(request) }
                }
                Err(p) => ToolAction::Say(p.sentence()),
            }
        }
        "transfer" => {
            // An emergency goes to the on-call line, anything else to the office.
            let emergency = arg(args, &["reason"]).is_some_and(|r| {
                crate::text::lowercase(&r).contains("emergenc")
                    || matches!(extract::extract(&r, Expecting::Problem).urgency, Some(Urgency::Emergency(_)))
            });
            let v = &site.voice;
            let on_call = v.on_call_number.as_deref().filter(|_| emergency).and_then(e164);
            let number = on_call
                .or_else(|| v.transfer_number.as_deref().and_then(e164))
                .or_else(|| e164(&site.office_phone))
                .unwrap_or_default();
            let say = format!("Transfer the call to {number} now.");
            ToolAction::Transfer { number, say }
        }
        other => ToolAction::Say(format!(
            "There is no tool named {}. The tools are converse, check_service_area, check_availability, book and transfer.",
            extract::cap(other).chars().take(40).collect::<String>()
        )),
    }
}

/// One utterance through the call's own engine. The first one greets silently (the
/// platform said its own first message). The result is what to say next, with an
/// instruction when the call should transfer or end.
pub fn converse(call: &mut Call, text: &str, now: UnixSeconds) -> (String, CallTurn) {
    if call.ended() {
        let turn = call.handle(CallEvent::Heard { text: text.to_string() }, now);
        return ("[This call is finished: say goodbye and end the call.]".into(), turn);
    }
    if call.transcript().is_empty() {
        call.handle(CallEvent::Answered, now);
    }
    let turn = call.handle(CallEvent::Heard { text: text.to_string() }, now);
    let mut result = turn.say.join(" ");
    match &turn.next {
        Next::Dial { number } => result.push_str(&format!(" [Now transfer the call to {number}.]")),
        Next::Hangup => result.push_str(" [Now end the call.]"),
        Next::Listen(_) => {}
    }
    (result, turn)
}

/// Retell's `X-Retell-Signature`: `v=<unix ms>,d=<hex HMAC-SHA256(key, body ++ ms)>`,
/// refused when more than five minutes from `now_ms`. Checked over the raw body.
pub fn verify_retell(key: &[u8], body: &[u8], header: &str, now_ms: i64) -> bool {
    use hmac::{Hmac, Mac};
    let mut ts = None;
    let mut digest = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("v", v)) => ts = Some(v.trim()),
            Some(("d", d)) => digest = Some(d.trim()),
            _ => {}
        }
    }
    let (Some(ts), Some(digest)) = (ts, digest) else { return false };
    let Ok(ms) = ts.parse::<i64>() else { return false };
    if key.is_empty() || (now_ms - ms).abs() > 5 * 60 * 1000 {
        return false;
    }
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else { return false };
    mac.update(body);
    mac.update(ts.as_bytes());
    let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    verify_secret(&want, &digest.to_ascii_lowercase())
}

/// A shared secret compared in constant time (Vapi's `x-vapi-secret`, a bearer token);
/// an empty expected secret never matches.
pub fn verify_secret(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The sentence for the windows the worker found.
pub fn availability_result(windows: &[ArrivalWindow], site: &SiteConfig, locale: Locale) -> String {
    if windows.is_empty() {
        return "No arrival windows are open online right now. Offer to book the request so the office calls back to schedule.".into();
    }
    let list: Vec<String> = windows
        .iter()
        .take(3)
        .map(|w| format!("{} (window {}-{})", window_label(locale, *w, site.utc_offset_minutes), w.start, w.end))
        .collect();
    format!(
        "Open arrival windows: {}. To book one, pass its window value (start-end) to book as window.",
        list.join("; ")
    )
}

/// The sentence after a booking: the window or the office's call, and the reference.
pub fn booked_result(reply: &BookingReply) -> String {
    match reply.status {
        ReplyStatus::Booked => format!("Booked. Tell the caller: {}", reply.message),
        ReplyStatus::Received => format!("Request received. Tell the caller: {}", reply.message),
    }
}

fn service_area(site: &SiteConfig, zip: Option<&str>) -> String {
    let Some(zip) = zip.and_then(zip5) else {
        return "Ask the caller for the five-digit ZIP code of the service address.".into();
    };
    let served = site.service_area_zips.is_empty() || site.service_area_zips.iter().any(|z| z.trim() == zip);
    match (served, site.zip_cities.get(&zip)) {
        (true, Some(city)) => format!("Yes, ZIP {zip} ({city}) is in the service area."),
        (true, None) => format!("Yes, ZIP {zip} is in the service area."),
        (false, _) => format!(
            "ZIP {zip} is outside the service area. Tell the caller we can't send a technician there, and that the office at {} can point them to someone.",
            e164(&site.office_phone).unwrap_or_default()
        ),
    }
}

/// Why a `book` field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// A required field is missing.
    Missing(&'static str),
    /// The name is not a person's name.
    Name,
    /// The phone is not a US number.
    Phone(Option<PhoneProblem>),
    /// No house number and street.
    Street,
    /// No five-digit ZIP.
    Zip,
    /// No city, and the ZIP is not one the site knows.
    City,
    /// The ZIP is outside the service area.
    OutOfArea(String),
    /// The problem belongs to a trade the site does not do.
    TradeNotOffered(Trade),
    /// The problem says no trade and none was given.
    Trade,
    /// The window is not one the site offers (or passed).
    Window,
}

impl FieldProblem {
    /// A sentence for the LLM: what is wrong, and what to ask the caller.
    pub fn sentence(&self) -> String {
        match self {
            FieldProblem::Missing(f) => format!("Not booked yet: {f} is missing. Ask the caller for it, then call book again."),
            FieldProblem::Name => "Not booked yet: the name doesn't look like a person's name. Ask the caller for their first and last name.".into(),
            FieldProblem::Phone(Some(PhoneProblem::MissingAreaCode)) => "Not booked yet: the phone number is missing the area code. Ask for the full ten-digit number.".into(),
            FieldProblem::Phone(Some(PhoneProblem::NotAUsNumber)) => "Not booked yet: that isn't a valid US phone number (area codes and exchanges don't start with 0 or 1). Ask for the number again.".into(),
            FieldProblem::Phone(_) => "Not booked yet: the phone number should be ten digits with the area code. Ask for it again.".into(),
            FieldProblem::Street => "Not booked yet: the address needs a house number and a street name. Ask the caller for the street address.".into(),
            FieldProblem::Zip => "Not booked yet: the address needs a five-digit ZIP code. Ask the caller for the ZIP code.".into(),
            FieldProblem::City => "Not booked yet: the address needs a city. Ask the caller which city.".into(),
            FieldProblem::OutOfArea(zip) => format!("Not booked: ZIP {zip} is outside the service area. Tell the caller we can't send a technician there; if the service address is somewhere else, ask for that address."),
            FieldProblem::TradeNotOffered(t) => format!("Not booked: this business doesn't do {} work. Tell the caller, and ask if there's anything else we can help with.", t.label()),
            FieldProblem::Trade => "Not booked yet: say which kind of work this is: heating and cooling, plumbing, electrical or roofing. Ask the caller if it isn't clear.".into(),
            FieldProblem::Window => "That arrival window isn't available. Call check_availability for open windows, or book without a window and the office will schedule.".into(),
        }
    }
}

/// The `book` tool's fields as a [`BookingRequest`], normalised by booking-core's readers
/// (the same ones that read a chat), or the first problem.
///
/// Fields: `name` (or `firstName`+`lastName`), `phone`, `street` or `address`, `city`,
/// `state`, `zip`, `problem` (or `issue`), `trade`, `when` ("tomorrow morning"),
/// `window` ("start-end" from [`availability_result`]), `email`, `business`, `language`
/// (`en`/`es`), `smsConsent` (the caller agreed to texts, asked by the LLM).
pub fn book_fields(args: &Value, site: &SiteConfig, now: UnixSeconds) -> Result<BookingRequest, FieldProblem> {
    let a = |keys: &[&str]| arg(args, keys);
    let name = person_name(args)?;
    let phone = a(&["phone", "phoneNumber", "phone_number"]).ok_or(FieldProblem::Missing("the phone number"))?;
    let phone = phone_of(&phone)?;
    let address = address_of(args, site)?;
    let problem = a(&["problem", "issue", "description"]).ok_or(FieldProblem::Missing("the problem"))?;
    let need = extract::extract(&problem, Expecting::Problem);
    let trade = a(&["trade"]).and_then(|t| trade_named(&t)).or(need.trade).ok_or(FieldProblem::Trade)?;
    if site.route(trade).is_none() {
        return Err(FieldProblem::TradeNotOffered(trade));
    }
    let priority = match need.urgency {
        Some(Urgency::Emergency(_)) => Priority::Urgent,
        Some(Urgency::High) => Priority::High,
        None => Priority::Normal,
    };
    let preferred_time = a(&["when", "preferredTime", "preferred_time"])
        .and_then(|w| extract::extract(&w, Expecting::Time).preferred_time)
        .unwrap_or_default();
    let arrival_window = match a(&["window", "arrivalWindow"]) {
        Some(w) => {
            let w = window_of(&w).ok_or(FieldProblem::Window)?;
            window_allowed(&site.public(), w, now).then_some(w).ok_or(FieldProblem::Window)?;
            Some(w)
        }
        None => None,
    };
    let locale = a(&["language", "locale"])
        .and_then(|l| Locale::from_code(l.get(..2).unwrap_or("")))
        .filter(|l| site.locales.contains(l))
        .or(site.locales.first().copied())
        .unwrap_or_default();
    let issue = need.issue.unwrap_or_else(|| one_line_cut(&problem, 120));
    Ok(BookingRequest {
        name,
        business: a(&["business", "businessName"]).map(|b| one_line_cut(&b, 100)),
        phone,
        email: a(&["email"]).and_then(|e| extract::extract(&e, Expecting::Anything).email),
        address,
        trade,
        kind: need.kind.unwrap_or(VisitKind::Service),
        issue,
        priority,
        preferred_time: if priority == Priority::Urgent && preferred_time == PreferredTime::default() {
            PreferredTime { day: Some(crate::booking::DayPreference::Asap), part: None }
        } else {
            preferred_time
        },
        arrival_window,
        unconfirmed_window: None,
        referral_code: None,
        sms_consent: args.get("smsConsent").and_then(Value::as_bool).unwrap_or(false),
        voice_consent: false,
        locale,
        channel: Channel::Voice,
        transcript: Vec::new(),
    })
}

fn person_name(args: &Value) -> Result<PersonName, FieldProblem> {
    let full = match (arg(args, &["firstName", "first_name"]), arg(args, &["lastName", "last_name"])) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f,
        _ => arg(args, &["name", "fullName", "full_name"]).ok_or(FieldProblem::Missing("the caller's name"))?,
    };
    let full = one_line_cut(&full, 80);
    if full.chars().any(|c| c.is_ascii_digit() || matches!(c, '@' | '<' | '>' | '{' | '}')) {
        return Err(FieldProblem::Name);
    }
    if let Some(n) = extract::extract(&full, Expecting::Name).name {
        return Ok(n);
    }
    let mut words = full.split_whitespace();
    let first = words.next().ok_or(FieldProblem::Name)?.to_string();
    Ok(PersonName { first, last: words.collect::<Vec<_>>().join(" ") })
}

fn phone_of(said: &str) -> Result<Phone, FieldProblem> {
    let ex = extract::extract(&super::digits::normalize(said), Expecting::Phone);
    match (ex.phone, ex.phone_problem) {
        (Some(p), _) if extract::nanp_problem(&p.digits).is_none() => Ok(p),
        (Some(p), _) => Err(FieldProblem::Phone(extract::nanp_problem(&p.digits))),
        (None, problem) => Err(FieldProblem::Phone(problem)),
    }
}

fn address_of(args: &Value, site: &SiteConfig) -> Result<Address, FieldProblem> {
    let a = |keys: &[&str]| arg(args, keys);
    let mut line = a(&["street", "address", "streetAddress", "street_address"]).ok_or(FieldProblem::Street)?;
    for extra in [a(&["unit", "apartment"]), a(&["city"]), a(&["state"]), a(&["zip", "zipCode", "zip_code"])]
        .into_iter()
        .flatten()
    {
        line.push_str(", ");
        line.push_str(&extra);
    }
    let parts = extract::extract(&super::digits::normalize(&line), Expecting::Address).address;
    let (Some(number), Some(street)) = (parts.number.clone(), parts.street.clone()) else {
        return Err(FieldProblem::Street);
    };
    let zip = parts
        .zip
        .clone()
        .or_else(|| a(&["zip", "zipCode", "zip_code"]).and_then(|z| zip5(&z)))
        .ok_or(FieldProblem::Zip)?;
    if !site.service_area_zips.is_empty() && !site.service_area_zips.iter().any(|z| z.trim() == zip) {
        return Err(FieldProblem::OutOfArea(zip));
    }
    let city = parts
        .city
        .clone()
        .or_else(|| site.zip_cities.get(&zip).cloned())
        .or_else(|| a(&["city"]).map(|c| one_line_cut(&c, 60)))
        .ok_or(FieldProblem::City)?;
    let state =
        parts.state.clone().or_else(|| extract::state_for_zip(&zip).map(str::to_string)).ok_or(FieldProblem::Zip)?;
    Ok(Address { street: format!("{number} {street}"), unit: parts.unit_line(), city, state, zip })
}

fn window_of(s: &str) -> Option<ArrivalWindow> {
    let t = s.trim().trim_start_matches("window").trim().trim_matches(|c| c == '(' || c == ')');
    let (a, b) = t.split_once('-')?;
    let (start, end) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (start < end).then_some(ArrivalWindow { start, end })
}

fn trade_named(t: &str) -> Option<Trade> {
    let t = crate::text::lowercase(t.trim());
    Trade::from_code(&t).or_else(|| extract::extract(&t, Expecting::Problem).trade).or(match t.as_str() {
        "heating" | "cooling" | "heating and cooling" | "ac" => Some(Trade::Hvac),
        "plumber" => Some(Trade::Plumbing),
        "electrician" | "electric" => Some(Trade::Electrical),
        "roof" | "roofer" => Some(Trade::Roofing),
        _ => None,
    })
}

fn zip5(z: &str) -> Option<String> {
    let d: String = super::digits::normalize(z).chars().filter(char::is_ascii_digit).collect();
    let d = if d.is_empty() {
        extract::extract(&super::digits::normalize(z), Expecting::Address).address.zip.unwrap_or_default()
    } else {
        d
    };
    (d.len() == 5 || (d.len() == 9)).then(|| d.get(..5).unwrap_or("").to_string()).filter(|d| d.len() == 5)
}

/// An argument as text: a string, or a number written out; empty strings are absent.
fn arg(args: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match args.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(extract::cap(s.trim()).to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().map(|s| extract::cap(s).to_string())
}

/// A platform's transcript text ("Agent: Hi…\nUser: My AC…", "AI: …" / "bot: …") as
/// lines; a line without a speaker is the previous speaker's. At most 200 lines.
fn transcript_of(text: Option<&str>) -> Vec<TranscriptLine> {
    let mut out: Vec<TranscriptLine> = Vec::new();
    for line in text.unwrap_or("").lines().map(str::trim).filter(|l| !l.is_empty()).take(200) {
        let labelled = line.split_once(':').and_then(|(w, rest)| {
            let speaker = match crate::text::lowercase(w.trim()).as_str() {
                "agent" | "ai" | "bot" | "assistant" => Speaker::Assistant,
                "user" | "customer" | "caller" | "human" => Speaker::Homeowner,
                _ => return None,
            };
            Some((speaker, rest.trim()))
        });
        let (speaker, said) = labelled.unwrap_or((out.last().map_or(Speaker::Homeowner, |l| l.speaker), line));
        out.push(TranscriptLine { speaker, text: crate::transcript::one_line(said) });
    }
    out
}

/// Arguments as an object: Vapi's older shape sends them as a JSON string.
fn object(v: Value) -> Value {
    match v {
        Value::String(s) => {
            serde_json::from_str::<Value>(&s).ok().filter(Value::is_object).unwrap_or(Value::Object(Map::new()))
        }
        Value::Object(_) => v,
        _ => Value::Object(Map::new()),
    }
}

fn one_line_cut(s: &str, max: usize) -> String {
    crate::transcript::one_line(s).chars().take(max).collect::<String>().trim().to_string()
}
