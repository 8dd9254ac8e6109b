//! The ready-to-import voice configurations in `examples/voice/` say what booking-core
//! reads. Each platform's tool definitions are turned into a request in that platform's
//! own shape, through `parse_tool_request` and `tool_action`: every tool must be one of
//! ours, and every parameter it declares must change what the tool does (a parameter
//! the code does not read changes nothing, and fails here). `site-voice.json` must be
//! a `VoiceSettings` with no field serde would drop.

use std::fs;
use std::path::PathBuf;

use booking_core::site::SiteConfig;
use booking_core::voice::{e164, parse_tool_request, tool_action, Platform, ToolAction, VoiceSettings};
use serde_json::{json, Map, Value};

/// 2025-11-24 16:00 UTC, a Monday, 10:00 at the demo site (UTC-6).
const T0: i64 = 1_764_000_000;

/// Where every tool points, as the examples write it.
const TOOLS_URL: &str = "https://<YOUR_WORKER_HOST>/v1/voice/tools/<SITE_ID>";

/// The caller ID the synthetic requests carry.
const CALLER: &str = "+16125550143";

/// Our tools: `tool_action`'s names.
const TOOLS: [&str; 5] = ["converse", "check_service_area", "check_availability", "book", "transfer"];

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/voice").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_of(name: &str) -> Value {
    serde_json::from_str(&example(name)).unwrap_or_else(|e| panic!("examples/voice/{name} is not JSON: {e}"))
}

/// The demo site with the example's voice section.
fn site() -> SiteConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/sites/northstar.json");
    let mut site: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    site["voice"] = json_of("site-voice.json")["voice"].clone();
    SiteConfig::from_json(&site.to_string()).unwrap_or_else(|e| panic!("northstar + site-voice.json: {e}"))
}

/// A value a caller could give for each parameter the examples may declare. A parameter
/// with no sample here is one nobody checked booking-core reads.
fn sample(param: &str) -> Option<Value> {
    // Tomorrow 08:00-12:00 at the site: the "morning" arrival window.
    let window = format!("{}-{}", T0 + 22 * 3600, T0 + 26 * 3600);
    Some(match param {
        "text" => json!("my water heater is leaking"),
        "zip" => json!("55416"),
        // A trade other than the problem's, so a given trade visibly wins.
        "trade" => json!("plumbing"),
        "problem" => json!("my AC stopped cooling"),
        "name" => json!("Maria Gonzalez"),
        // Not the caller ID, so a given phone visibly wins.
        "phone" => json!("612 555 0199"),
        "street" => json!("4417 West Lake Street"),
        "unit" => json!("Apt 2"),
        // Not the ZIP's city in the site's table, so a given city visibly wins.
        "city" => json!("Saint Louis Park"),
        "when" => json!("tomorrow morning"),
        "window" => json!(window),
        "email" => json!("maria@example.com"),
        "business" => json!("Gonzalez Bakery"),
        "language" => json!("es"),
        "smsConsent" => json!(true),
        "reason" => json!("gas leak emergency"),
        _ => return None,
    })
}

/// One tool as an example declares it.
#[derive(Debug)]
struct Declared {
    name: String,
    /// Parameter name → its JSON schema.
    params: Map<String, Value>,
    required: Vec<String>,
}

impl Declared {
    fn from_schema(name: &str, schema: &Value) -> Declared {
        assert_eq!(schema["type"], "object", "{name}: parameters must be a JSON-schema object");
        let params = schema["properties"].as_object().cloned().unwrap_or_default();
        let required: Vec<String> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        for r in &required {
            assert!(params.contains_key(r), "{name}: required {r:?} is not a property");
        }
        Declared { name: name.to_string(), params, required }
    }

    /// Arguments with the required parameters and the `extra` ones filled in.
    fn args(&self, extra: &[&str], without: Option<&str>) -> Map<String, Value> {
        let mut args = Map::new();
        for p in self.required.iter().map(String::as_str).chain(extra.iter().copied()) {
            if Some(p) == without {
                continue;
            }
            let value =
                sample(p).unwrap_or_else(|| panic!("{}: no sample for {p:?}; does booking-core read it?", self.name));
            let ty = self.params[p]["type"].as_str().unwrap_or("");
            let fits = match ty {
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                _ => false,
            };
            assert!(fits, "{}: {p:?} is declared {ty:?}, booking-core reads {value}", self.name);
            if let Some(choices) = self.params[p]["enum"].as_array() {
                assert!(choices.contains(&value), "{}: {p:?} enum {choices:?} lacks {value}", self.name);
            }
            args.insert(p.to_string(), value);
        }
        args
    }
}

/// Builds a platform request for one tool call.
type Shape = dyn Fn(&Declared, Map<String, Value>) -> Value;

/// What the tool does with these arguments, through the platform's request shape.
fn action(tool: &Declared, args: Map<String, Value>, shape: &Shape, platform: Platform) -> ToolAction {
    let body = shape(tool, args).to_string();
    let req = parse_tool_request(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}\n{body}", tool.name));
    assert_eq!(req.platform, platform, "{}: {body}", tool.name);
    assert_eq!(req.caller.as_deref(), Some(CALLER), "{}: the caller ID is lost", tool.name);
    assert_eq!(req.calls.len(), 1, "{}", tool.name);
    assert_eq!(req.calls[0].name, tool.name);
    tool_action(&req, &req.calls[0], &site(), T0)
}

/// The whole check for one platform's tools: exactly our five, each answered as that
/// tool, each parameter read.
fn check_tools(file: &str, tools: &[Declared], shape: &Shape, platform: Platform) {
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    let mut want = TOOLS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "{file}: the tools");
    for tool in tools {
        let all: Vec<&str> = tool.params.keys().map(String::as_str).collect();
        let full = action(tool, tool.args(&all, None), shape, platform);
        let as_named = match (tool.name.as_str(), &full) {
            ("converse", ToolAction::Converse { .. })
            | ("check_availability", ToolAction::CheckAvailability { .. }) => true,
            ("book", ToolAction::Book { .. }) | ("transfer", ToolAction::Transfer { .. }) => true,
            ("check_service_area", ToolAction::Say(s)) => s.starts_with("Yes, ZIP 55416"),
            _ => false,
        };
        assert!(as_named, "{file}: {} with every parameter gave {full:?}", tool.name);
        let base = action(tool, tool.args(&[], None), shape, platform);
        if let ToolAction::Say(s) = &base {
            assert!(!s.contains("no tool named"), "{file}: {s}");
        }
        for p in &all {
            let (with, without) = if tool.required.iter().any(|r| r == p) {
                (base.clone(), action(tool, tool.args(&[], Some(p)), shape, platform))
            } else {
                (action(tool, tool.args(&[p], None), shape, platform), base.clone())
            };
            assert_ne!(
                with, without,
                "{file}: {}'s parameter {p:?} changes nothing: booking-core does not read it",
                tool.name
            );
        }
    }
}

/// No value in an example is a secret: every header or secret field is a placeholder.
fn placeholder(file: &str, what: &str, value: &Value) {
    let s = value.as_str().unwrap_or_else(|| panic!("{file}: {what} is not a string"));
    assert!(s.contains('<') && s.contains('>'), "{file}: {what} = {s:?} must be a <PLACEHOLDER>, never a secret");
}

#[test]
fn vapi_assistant_tools_are_ours() {
    let file = "vapi-assistant.json";
    let a = json_of(file);
    let mut ours = Vec::new();
    for t in a["model"]["tools"].as_array().unwrap_or_else(|| panic!("{file}: model.tools")) {
        match t["type"].as_str() {
            Some("function") => {
                let f = &t["function"];
                let name = f["name"].as_str().unwrap();
                assert_eq!(t["server"]["url"], TOOLS_URL, "{file}: {name}'s server.url");
                placeholder(file, &format!("{name}'s x-vapi-secret"), &t["server"]["headers"]["x-vapi-secret"]);
                ours.push(Declared::from_schema(name, &f["parameters"]));
            }
            // Vapi's own call control: the LLM transfers or hangs up with them.
            Some("transferCall" | "endCall") => {}
            other => panic!("{file}: a tool of type {other:?}"),
        }
    }
    let shape = |t: &Declared, args: Map<String, Value>| {
        json!({"message": {
            "type": "tool-calls",
            "call": {"id": "call-example", "customer": {"number": CALLER}},
            "toolCallList": [{"id": "toolu_example", "name": t.name, "arguments": args}],
        }})
    };
    check_tools(file, &ours, &shape, Platform::Vapi);

    // The end-of-call report goes to the same URL, so a caller who hung up is called back.
    assert_eq!(a["server"]["url"], TOOLS_URL, "{file}: server.url");
    placeholder(file, "server x-vapi-secret", &a["server"]["headers"]["x-vapi-secret"]);
    let messages: Vec<&str> = a["serverMessages"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(messages.contains(&"end-of-call-report"), "{file}: serverMessages {messages:?}");
    for m in messages {
        let body = json!({"message": {"type": m, "call": {"id": "call-example", "customer": {"number": CALLER}}}});
        let req = parse_tool_request(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{file}: {m}: {e}"));
        assert!(req.calls.is_empty(), "{file}: {m}");
        assert_eq!(req.ended, m == "end-of-call-report", "{file}: {m}");
    }
    let prompt = a["model"]["messages"][0]["content"].as_str().unwrap();
    for word in ["converse", "automated assistant", "transfer"] {
        assert!(prompt.contains(word), "{file}: the system prompt should mention {word:?}");
    }
    assert!(a["firstMessage"].as_str().unwrap().contains("automated assistant"), "{file}: firstMessage disclosure");
}

#[test]
fn retell_agent_functions_are_ours() {
    let file = "retell-agent.json";
    let r = json_of(file);
    let llm = &r["retell_llm"];
    let mut ours = Vec::new();
    for t in llm["general_tools"].as_array().unwrap_or_else(|| panic!("{file}: retell_llm.general_tools")) {
        match t["type"].as_str() {
            Some("custom") => {
                let name = t["name"].as_str().unwrap();
                assert_eq!(t["url"], TOOLS_URL, "{file}: {name}'s url");
                // Our parser reads {name, call, args}: never the args alone at the root.
                assert_ne!(t["args_at_root"], true, "{file}: {name}: args_at_root");
                assert!(t.get("headers").is_none(), "{file}: {name}: Retell signs; no secret in a header");
                ours.push(Declared::from_schema(name, &t["parameters"]));
            }
            Some("transfer_call" | "end_call") => {}
            other => panic!("{file}: a tool of type {other:?}"),
        }
    }
    let shape = |t: &Declared, args: Map<String, Value>| json!({"name": t.name, "call": {"call_id": "call_example", "from_number": CALLER}, "args": args});
    check_tools(file, &ours, &shape, Platform::Retell);

    assert_eq!(r["agent"]["webhook_url"], TOOLS_URL, "{file}: agent.webhook_url");
    let ended = json!({"event": "call_ended", "call": {"call_id": "call_example", "from_number": CALLER}});
    assert!(parse_tool_request(ended.to_string().as_bytes()).unwrap().ended);
    let prompt = llm["general_prompt"].as_str().unwrap();
    assert!(prompt.contains("converse") && prompt.contains("automated assistant"), "{file}: general_prompt");
    assert!(llm["begin_message"].as_str().unwrap().contains("automated assistant"), "{file}: begin_message");
}

#[test]
fn elevenlabs_agent_webhook_tools_are_ours() {
    let file = "elevenlabs-agent.json";
    let e = json_of(file);
    let prompt = &e["conversation_config"]["agent"]["prompt"];
    let mut ours = Vec::new();
    for t in prompt["tools"].as_array().unwrap_or_else(|| panic!("{file}: conversation_config.agent.prompt.tools")) {
        assert_eq!(t["type"], "webhook", "{file}: prompt.tools");
        let name = t["name"].as_str().unwrap();
        let api = &t["api_schema"];
        assert_eq!(api["url"], TOOLS_URL, "{file}: {name}'s url");
        assert_eq!(api["method"], "POST", "{file}: {name}");
        placeholder(file, &format!("{name}'s Authorization"), &api["request_headers"]["Authorization"]);
        let body = &api["request_body_schema"];
        // Our envelope: which tool (a constant), which conversation and caller (the
        // platform's system variables); the rest are the tool's parameters.
        assert_eq!(body["properties"]["tool"]["constant_value"], name, "{file}: {name}: tool");
        assert_eq!(body["properties"]["conversation_id"]["dynamic_variable"], "system__conversation_id", "{file}");
        assert_eq!(body["properties"]["caller_id"]["dynamic_variable"], "system__caller_id", "{file}");
        let mut schema = body.clone();
        let props = schema["properties"].as_object_mut().unwrap();
        for envelope in ["tool", "conversation_id", "caller_id"] {
            props.remove(envelope);
        }
        if let Some(req) = schema["required"].as_array_mut() {
            req.retain(|r| !["tool", "conversation_id", "caller_id"].contains(&r.as_str().unwrap_or("")));
        }
        ours.push(Declared::from_schema(name, &schema));
    }
    for (key, t) in prompt["built_in_tools"].as_object().into_iter().flatten() {
        assert_eq!(t["type"], "system", "{file}: built_in_tools.{key}");
    }
    let shape = |t: &Declared, args: Map<String, Value>| {
        let mut body = args;
        body.insert("tool".into(), json!(t.name));
        body.insert("conversation_id".into(), json!("conv_example"));
        body.insert("caller_id".into(), json!(CALLER));
        Value::Object(body)
    };
    check_tools(file, &ours, &shape, Platform::ElevenLabs);
    let text = prompt["prompt"].as_str().unwrap();
    assert!(text.contains("converse") && text.contains("automated assistant"), "{file}: prompt");
    let first = e["conversation_config"]["agent"]["first_message"].as_str().unwrap();
    assert!(first.contains("automated assistant"), "{file}: first_message");
}

#[test]
fn site_voice_json_is_voice_settings() {
    let file = "site-voice.json";
    let given = json_of(file)["voice"].clone();
    let settings: VoiceSettings = serde_json::from_value(given.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    // serde ignores a field it does not know: every given field must come back out.
    let back = serde_json::to_value(&settings).unwrap();
    for (k, v) in given.as_object().unwrap_or_else(|| panic!("{file}: voice is not an object")) {
        assert_eq!(back.get(k), Some(v), "{file}: voice.{k} is not a VoiceSettings field (or not its type)");
    }
    for n in [&settings.transfer_number, &settings.on_call_number] {
        let n = n.as_deref().unwrap_or_else(|| panic!("{file}: both transfer numbers are shown"));
        assert!(e164(n).is_some(), "{file}: {n} is not a US number");
    }
    assert!(settings.booking_page_url.as_deref().is_some_and(|u| u.starts_with("https://")), "{file}: bookingPageUrl");
    // The whole site still loads with it.
    assert_eq!(site().voice, settings);
}

#[test]
fn the_twilio_guide_names_every_route_the_worker_serves() {
    let guide = example("twilio.md");
    for hook in ["incoming", "gather", "dial", "status", "recording", "handoff"] {
        let route = format!("/v1/voice/twilio/<SITE_ID>/{hook}");
        assert!(guide.contains(&route), "twilio.md: {route}");
    }
    for name in [
        "TWILIO_AUTH_TOKENS",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_FROM_NUMBER",
        "TWILIO_API_URL",
        "conversationRelay",
        "bookingPageUrl",
        "transferNumber",
        "onCallNumber",
        "record",
        "10DLC",
        "/v1/voice/relay/<SITE_ID>",
    ] {
        assert!(guide.contains(name), "twilio.md: {name}");
    }
    let readme = example("README.md");
    for f in ["vapi-assistant.json", "retell-agent.json", "elevenlabs-agent.json", "twilio.md", "site-voice.json"] {
        assert!(readme.contains(f), "README.md: {f}");
    }
    assert!(readme.contains("VOICE_TOOL_SECRETS"), "README.md: VOICE_TOOL_SECRETS");
}
