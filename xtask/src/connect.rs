//! `cargo xtask connect`: connect a contractor's ServiceTitan tenant in one go (issue 16
//! item 2). Takes the four values (flags' environment, `edge-worker/.dev.vars`, or a
//! prompt when stdin is a terminal), trims pasted whitespace, fetches a token (and tells
//! an integration/production mix-up from a wrong secret by asking the other environment's
//! auth host), checks every scope the product uses, lists business units, job types,
//! campaigns and booking providers, lets the owner pick (or takes flags), writes the site
//! config (checked by `booking_core::site::parse_config`) and prints the `wrangler secret
//! put` lines. `cargo xtask connect --check FILE` only checks a site config.
//!
//! HTTP goes through `curl` (HTTPS to ServiceTitan without a TLS stack in xtask); secrets
//! travel on curl's stdin, never on its command line.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use booking_core::servicetitan::connection::{self, SCOPES};
use serde_json::{json, Value};

use crate::{root, Fail};

/// The four credentials, by their worker secret names.
const NAMES: [(&str, &str); 4] = [
    ("ST_CLIENT_ID", "Client ID (Developer Portal → My Apps → App Connections)"),
    ("ST_CLIENT_SECRET", "Client Secret (App Connections → Client Secret → Generate; shown once)"),
    ("ST_APP_KEY", "Application Key (My Apps → Edit → Application Key)"),
    ("ST_TENANT_ID", "Tenant ID (App Connections)"),
];

/// One ServiceTitan environment's hosts.
#[derive(Clone, Debug)]
pub(crate) struct Hosts {
    name: String,
    auth_url: String,
    api_url: String,
}

fn hosts(name: &str) -> Option<Hosts> {
    let (auth, api) = match name {
        "integration" => ("https://auth-integration.servicetitan.io", "https://api-integration.servicetitan.io"),
        "production" => ("https://auth.servicetitan.io", "https://api.servicetitan.io"),
        _ => return None,
    };
    Some(Hosts { name: name.into(), auth_url: format!("{auth}/connect/token"), api_url: api.into() })
}

/// Parsed flags: `--name value` pairs and bare switches.
pub(crate) struct Flags(BTreeMap<String, String>);

impl Flags {
    pub(crate) fn parse(args: &[String]) -> Result<Flags, Fail> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(Fail(format!("connect: unexpected argument {a:?}; flags are --name value (see --help)")));
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None if ["yes", "help", "force"].contains(&name) => (name.to_string(), "true".into()),
                None => {
                    let v = it.next().ok_or_else(|| Fail(format!("connect: --{name} needs a value")))?;
                    (name.to_string(), v.clone())
                }
            };
            map.insert(name, value);
        }
        Ok(Flags(map))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn id(&self, name: &str) -> Result<Option<i64>, Fail> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Fail(format!("--{name} {v:?} is not a number; give the id ServiceTitan shows")))
            })
            .transpose()
    }
}

const USAGE: &str = "usage: cargo xtask connect [--env integration|production] [--site ID] [--business-name NAME]
       [--origin https://www.example.com] [--trade hvac] [--business-unit ID] [--job-type ID]
       [--estimate-job-type ID] [--campaign ID] [--booking-provider ID] [--out FILE] [--yes] [--force]
       [--dev-vars FILE (instead of edge-worker/.dev.vars)]
       [--secret-prefix ACME (this site's own secrets, ACME_ST_CLIENT_ID ...: one more tenant
        in a deployment that already serves others)]
       (sandbox: --auth-url URL --api-url URL [--other-auth-url URL])
   or: cargo xtask connect --check FILE
Credentials: ST_CLIENT_ID, ST_CLIENT_SECRET, ST_APP_KEY, ST_TENANT_ID from the environment,
else edge-worker/.dev.vars, else asked for (when stdin is a terminal).";

/// `cargo xtask connect ...`.
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let flags = Flags::parse(args)?;
    if flags.get("help").is_some() {
        println!("{USAGE}");
        return Ok(());
    }
    if let Some(path) = flags.get("check") {
        return check_file(path);
    }
    let (env, other) = environments(&flags)?;
    let creds = credentials(&flags)?;
    let tenant = tenant_id(&creds)?;
    let api = Api::connect(&env, other.as_ref(), &creds, tenant)?;
    check_scopes(&api)?;
    let found = Found::list(&api)?;
    let mut site = choose(&flags, &api, &found)?;
    let prefix = secret_prefix(&flags)?;
    if let Some(p) = &prefix {
        site["serviceTitan"] = service_titan_block(p, &env);
    }
    write_site(&flags, &site)?;
    print_secrets(&env, prefix.as_deref());
    Ok(())
}

/// `--secret-prefix`: upper-case letters, digits and `_`, as secret names take them.
fn secret_prefix(flags: &Flags) -> Result<Option<String>, Fail> {
    let Some(p) = flags.get("secret-prefix") else { return Ok(None) };
    let p = p.trim().trim_end_matches('_').to_ascii_uppercase();
    let ok = p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(Fail(format!(
            "--secret-prefix {p:?}: use letters, digits and _ starting with a letter (e.g. ACME), as worker secret names take them"
        )));
    }
    Ok(Some(p))
}

/// The site's `serviceTitan` block: its environment and its own secrets' names, so this
/// site books into its own tenant beside the deployment's others.
fn service_titan_block(prefix: &str, env: &Hosts) -> Value {
    let name = |n: &str| format!("{prefix}_{n}");
    let mut block = json!({
        "clientIdSecret": name("ST_CLIENT_ID"),
        "clientSecretSecret": name("ST_CLIENT_SECRET"),
        "appKeySecret": name("ST_APP_KEY"),
        "tenantIdSecret": name("ST_TENANT_ID"),
    });
    if env.name == "production" || env.name == "integration" {
        block["environment"] = json!(env.name);
    }
    block
}

/// The ServiceTitan emulator of `cargo xtask demo` (xtask/src/demo.rs's port).
const DEMO_EMULATOR: &str = "http://127.0.0.1:8790";

/// The chosen environment and, for the mix-up check, the other one.
pub(crate) fn environments(flags: &Flags) -> Result<(Hosts, Option<Hosts>), Fail> {
    // `cargo xtask demo` writes the emulator's hosts to .dev.vars as ST_ENV=sandbox.
    let file = dev_vars(flags);
    let var = |flag: &str, name: &str| {
        flags.get(flag).map(str::to_string).or_else(|| std::env::var(name).ok()).or_else(|| file.get(name).cloned())
    };
    let sandbox = var("env", "ST_ENV").is_some_and(|e| e.trim() == "sandbox") || flags.get("auth-url").is_some();
    if sandbox {
        // Without hosts: the emulator `cargo xtask demo` runs on its fixed port.
        let api = var("api-url", "ST_API_URL").unwrap_or_else(|| DEMO_EMULATOR.to_string());
        let auth = var("auth-url", "ST_AUTH_URL").unwrap_or_else(|| format!("{api}/connect/token"));
        let (auth, api) = (auth.as_str(), api.as_str());
        let env = Hosts { name: "sandbox".into(), auth_url: auth.into(), api_url: api.trim_end_matches('/').into() };
        let other = flags.get("other-auth-url").map(|u| Hosts {
            name: "the other environment".into(),
            auth_url: u.into(),
            api_url: String::new(),
        });
        return Ok((env, other));
    }
    let name = var("env", "ST_ENV");
    let name = name.unwrap_or_else(|| "integration".into());
    let env = hosts(name.trim()).ok_or_else(|| {
        Fail(format!(
            "--env {name:?} is neither integration nor production: pick the environment your four values come from"
        ))
    })?;
    let other = hosts(if env.name == "production" { "integration" } else { "production" });
    Ok((env, other))
}

/// The tenant id as a number.
pub(crate) fn tenant_id(creds: &BTreeMap<String, String>) -> Result<i64, Fail> {
    creds["ST_TENANT_ID"].parse().map_err(|_| {
        Fail(format!(
            "ST_TENANT_ID {:?} is not a number: copy the Tenant ID from Developer Portal → My Apps → App Connections",
            creds["ST_TENANT_ID"]
        ))
    })
}

/// `edge-worker/.dev.vars` (or `--dev-vars FILE`) as `NAME=value` lines (quotes removed).
fn dev_vars(flags: &Flags) -> BTreeMap<String, String> {
    let path =
        flags.get("dev-vars").map(std::path::PathBuf::from).unwrap_or_else(|| root().join("edge-worker/.dev.vars"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// The four values, each trimmed; says which ones had pasted whitespace.
pub(crate) fn credentials(flags: &Flags) -> Result<BTreeMap<String, String>, Fail> {
    let file = dev_vars(flags);
    let terminal = std::io::stdin().is_terminal();
    let mut out = BTreeMap::new();
    for (name, what) in NAMES {
        let raw = match std::env::var(name).ok().or_else(|| file.get(name).cloned()) {
            Some(v) => v,
            None if terminal => prompt(&format!("{what}: "))?,
            None => {
                return Err(Fail(format!(
                    "{name} is not set: put it in the environment or in edge-worker/.dev.vars ({what}), or run this in a terminal to be asked"
                )))
            }
        };
        let value = raw.trim().to_string();
        if value != raw {
            println!("connect: {name} had spaces or a line break around it (pasted?); trimmed them");
        }
        if value.is_empty() {
            return Err(Fail(format!("{name} is empty: paste the {what}")));
        }
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

fn prompt(question: &str) -> Result<String, Fail> {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| Fail(format!("reading the answer: {e}")))?;
    Ok(line)
}

/// One HTTP exchange through curl: (status, body). The config (with any secret) goes on
/// curl's stdin.
pub(crate) fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<(u16, String), Fail> {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
    let mut config = format!("url = {}\nrequest = {}\nwrite-out = \"\\n%{{http_code}}\"\n", quote(url), quote(method));
    for (k, v) in headers {
        config.push_str(&format!("header = {}\n", quote(&format!("{k}: {v}"))));
    }
    if let Some(b) = body {
        config.push_str(&format!("data-raw = {}\n", quote(b)));
    }
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-K", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Fail(format!("could not run curl ({e}): install it (apt-get install curl) and try again")))?;
    child.stdin.take().map(|mut s| s.write_all(config.as_bytes()));
    let out = child.wait_with_output().map_err(|e| Fail(format!("curl: {e}")))?;
    if !out.status.success() {
        let host = url.split('/').take(3).collect::<Vec<_>>().join("/");
        return Err(Fail(format!(
            "could not reach {host} ({}): check the network and the environment's host",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    Ok((code.trim().parse().unwrap_or(0), body.to_string()))
}

/// Asks `hosts`' identity server for a token: Ok(Some(token)), Ok(None) when it refuses
/// the client, Err when it cannot be asked.
fn token_at(hosts: &Hosts, creds: &BTreeMap<String, String>) -> Result<Option<String>, Fail> {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(&creds["ST_CLIENT_ID"]),
        form_encode(&creds["ST_CLIENT_SECRET"])
    );
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let (status, body) = http("POST", &hosts.auth_url, &headers, Some(&form))?;
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match (status, json["access_token"].as_str()) {
        (200, Some(t)) => Ok(Some(t.to_string())),
        (400 | 401, _) => Ok(None),
        _ => Err(Fail(format!(
            "{}'s auth host answered {status} ({}): ServiceTitan may be down; try again in a few minutes",
            hosts.name,
            body.chars().take(200).collect::<String>()
        ))),
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A token, or the sentence that says whether the values are the other environment's
/// or simply wrong.
pub(crate) fn fetch_token(
    env: &Hosts,
    other: Option<&Hosts>,
    creds: &BTreeMap<String, String>,
) -> Result<String, Fail> {
    if let Some(t) = token_at(env, creds)? {
        return Ok(t);
    }
    if let Some(other) = other {
        if token_at(other, creds)?.is_some() {
            let flag = if other.name == "production" || other.name == "integration" {
                format!("re-run with --env {} (and put ST_ENV={} in .dev.vars)", other.name, other.name)
            } else {
                "re-run against the other environment".to_string()
            };
            return Err(Fail(format!(
                "the Client ID and Secret belong to {}, not {}: {flag}, or copy the {} pair from the Developer Portal (each environment has its own values)",
                other.name, env.name, env.name
            )));
        }
    }
    Err(Fail(format!(
        "ServiceTitan ({}) refused the Client ID and Client Secret (and so did the other environment): the secret is wrong or was regenerated; generate a new one in Developer Portal → My Apps → App Connections → Client Secret → Generate and paste it",
        env.name
    )))
}

/// Authenticated calls to one tenant.
pub(crate) struct Api {
    base: String,
    token: String,
    app_key: String,
    tenant: i64,
}

impl Api {
    /// A token for this tenant, or the sentence that says what is wrong.
    pub(crate) fn connect(
        env: &Hosts,
        other: Option<&Hosts>,
        creds: &BTreeMap<String, String>,
        tenant: i64,
    ) -> Result<Api, Fail> {
        let token = fetch_token(env, other, creds)?;
        println!("connect: token from {} ({}): ok", env.name, env.auth_url);
        Ok(Api { base: env.api_url.clone(), token, app_key: creds["ST_APP_KEY"].clone(), tenant })
    }

    /// `path` with `{t}` replaced by the tenant id.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), Fail> {
        let url = format!("{}{}", self.base, path.replace("{t}", &self.tenant.to_string()));
        let auth = format!("Bearer {}", self.token);
        let headers =
            [("authorization", auth.as_str()), ("st-app-key", &self.app_key), ("content-type", "application/json")];
        http(method, &url, &headers, body)
    }

    fn list(&self, path: &str) -> Result<Vec<Value>, Fail> {
        let (status, body) = self.call("GET", &format!("{path}?pageSize=200&active=True"), None)?;
        if status != 200 {
            return Err(Fail(format!("listing {path} answered {status}: check the scopes above and try again")));
        }
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        Ok(json["data"].as_array().cloned().unwrap_or_default())
    }
}

/// Probes every scope; names the missing ones in the portal's words.
fn check_scopes(api: &Api) -> Result<(), Fail> {
    let mut missing = vec![];
    let mut unauthorized = 0;
    // booking-core's list, the one the owner page probes too: one place to add a scope.
    for scope in SCOPES {
        let probe = connection::probe(scope, api.tenant);
        let query: Vec<String> = probe.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let path = if query.is_empty() { probe.path } else { format!("{}?{}", probe.path, query.join("&")) };
        let body = probe.body.map(|b| b.to_string());
        let (status, _) = api.call(probe.method.as_str(), &path, body.as_deref())?;
        match status {
            401 => unauthorized += 1,
            403 => missing.push(scope.name),
            _ => {}
        }
    }
    if unauthorized > 0 {
        return Err(Fail("ServiceTitan refused the App Key (401 with a fresh token): copy the Application Key from Developer Portal → My Apps → Edit, from the same environment as the Client ID".into()));
    }
    if missing.len() == SCOPES.len() {
        return Err(Fail(format!("every call was refused (403): the app is not connected to tenant {} — check the Tenant ID, and in ServiceTitan Settings → Integrations → API Application Access connect the app (Connect New App) with a green \"Allowed by Tenant\"", api.tenant)));
    }
    if !missing.is_empty() {
        return Err(Fail(format!("the app lacks these API scopes: {}. Scopes cannot be changed on an existing app: in the Developer Portal create the app again with them (My Apps → + New App → API Scopes), connect it, and use its new values", missing.join(", "))));
    }
    println!("connect: all {} scopes the product uses are granted", SCOPES.len());
    Ok(())
}

/// What the tenant has.
struct Found {
    business_units: Vec<Value>,
    job_types: Vec<Value>,
    campaigns: Vec<Value>,
    booking_providers: Vec<i64>,
}

impl Found {
    fn list(api: &Api) -> Result<Found, Fail> {
        let found = Found {
            business_units: api.list("/settings/v2/tenant/{t}/business-units")?,
            job_types: api.list("/jpm/v2/tenant/{t}/job-types")?,
            campaigns: api.list("/marketing/v2/tenant/{t}/campaigns")?,
            booking_providers: booking_providers(api)?,
        };
        show("business units", &found.business_units);
        show("job types", &found.job_types);
        show("campaigns", &found.campaigns);
        println!("booking providers seen on the tenant's bookings: {:?}", found.booking_providers);
        Ok(found)
    }
}

fn show(what: &str, items: &[Value]) {
    println!("{what}:");
    for i in items {
        println!("  {:>8}  {}", i["id"], i["name"].as_str().unwrap_or(""));
    }
}

/// ServiceTitan has no call listing booking provider tags; the tenant's bookings name
/// the ones in use.
fn booking_providers(api: &Api) -> Result<Vec<i64>, Fail> {
    let (_, body) = api.call("GET", "/crm/v2/tenant/{t}/bookings?pageSize=200", None)?;
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut ids: Vec<i64> =
        json["data"].as_array().into_iter().flatten().filter_map(|b| b["bookingProviderId"].as_i64()).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The value of a pick: the flag, else the owner's answer (terminal, no --yes), else
/// the first candidate.
fn pick(flags: &Flags, flag: &str, what: &str, candidates: &[i64]) -> Result<i64, Fail> {
    if let Some(v) = flags.id(flag)? {
        return Ok(v);
    }
    let first = candidates.first().copied();
    if std::io::stdin().is_terminal() && flags.get("yes").is_none() {
        let default = first.map(|f| format!(" [{f}]")).unwrap_or_default();
        let answer = prompt(&format!("{what}{default}: "))?;
        if !answer.trim().is_empty() {
            return answer
                .trim()
                .parse()
                .map_err(|_| Fail(format!("{:?} is not an id; give one of the numbers listed", answer.trim())));
        }
    }
    first.ok_or_else(|| Fail(format!("no {what} found in the tenant: create one in ServiceTitan, or give --{flag} ID")))
}

fn ids(items: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<i64> {
    items.iter().filter(|i| keep(i)).filter_map(|i| i["id"].as_i64()).collect()
}

/// The site config from the picks.
fn choose(flags: &Flags, api: &Api, found: &Found) -> Result<Value, Fail> {
    let bu = pick(flags, "business-unit", "business unit for chat jobs", &ids(&found.business_units, |_| true))?;
    let of_bu = |j: &Value| j["businessUnitIds"].as_array().is_none_or(|b| b.is_empty() || b.iter().any(|x| x == bu));
    let estimate = |j: &Value| j["name"].as_str().unwrap_or("").to_lowercase().contains("estimate");
    let job_type =
        pick(flags, "job-type", "job type for repair visits", &ids(&found.job_types, |j| of_bu(j) && !estimate(j)))?;
    let est =
        pick(flags, "estimate-job-type", "job type for estimates", &ids(&found.job_types, |j| of_bu(j) && estimate(j)))
            .unwrap_or(job_type);
    let campaign = pick(flags, "campaign", "campaign for chat jobs", &ids(&found.campaigns, |_| true))?;
    let provider = booking_provider(flags, api, &found.booking_providers)?;
    let unit = found.business_units.iter().find(|b| b["id"] == bu).cloned().unwrap_or(Value::Null);
    let name =
        flags.get("business-name").map(str::to_string).or_else(|| unit["tenant"]["name"].as_str().map(str::to_string));
    let name = name.or_else(|| unit["name"].as_str().map(str::to_string)).unwrap_or_else(|| "Our office".into());
    let id = flags.get("site").map(str::to_string).unwrap_or_else(|| slug(&name));
    Ok(json!({
        "$schema": "./schema.json",
        "id": id,
        "businessName": name,
        "brandColor": flags.get("brand-color").unwrap_or("#0b5cab"),
        "locales": ["en", "es"],
        "officePhone": unit["phoneNumber"].as_str().unwrap_or(""),
        "officeHours": flags.get("office-hours").unwrap_or("Mon-Fri 8am-5pm"),
        "utcOffsetMinutes": flags.id("utc-offset-minutes")?.unwrap_or(-360),
        "allowedOrigins": flags.get("origin").map(|o| vec![o.to_string()]).unwrap_or_default(),
        "mode": "job",
        "bookingProviderId": provider,
        "trades": [{"trade": flags.get("trade").unwrap_or("hvac"), "businessUnitId": bu, "jobTypeId": job_type, "estimateJobTypeId": est}],
        "defaultCampaignId": campaign,
        "arrivalWindows": [
            {"name": "morning", "startHour": 8, "endHour": 12},
            {"name": "afternoon", "startHour": 12, "endHour": 16}
        ],
        "offerAvailability": true
    }))
}

/// The booking provider: the flag's (checked against the app's restriction), else one
/// seen on the tenant's bookings; none: how to create the tag.
fn booking_provider(flags: &Flags, api: &Api, seen: &[i64]) -> Result<i64, Fail> {
    let id = match flags.id("booking-provider")? {
        Some(id) => id,
        None => pick(flags, "booking-provider", "booking provider id", seen).map_err(|_| {
            Fail("no booking provider found: in ServiceTitan go to Settings → Integrations → Booking Providers → Add Tag, name it after this integration, note its ID; then in Settings → Integrations → API Application Access pick that tag under \"Restriction by booking_provider for Bookings\", and re-run with --booking-provider ID".into())
        })?,
    };
    // An empty body is refused (400) after the scope and restriction checks (403).
    let (status, _) = api.call("POST", &format!("/crm/v2/tenant/{{t}}/booking-provider/{id}/bookings"), Some("{}"))?;
    if status == 403 {
        return Err(Fail(format!("the app may not book as booking provider {id}: in ServiceTitan Settings → Integrations → API Application Access, choose this tag under \"Restriction by booking_provider for Bookings\" (or give --booking-provider with the tag the app is restricted to); if it is chosen, the app lacks the scope CRM › Bookings: Write")));
    }
    Ok(id)
}

fn slug(name: &str) -> String {
    let s: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let s = s.split('-').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-");
    if s.is_empty() {
        "site".into()
    } else {
        s
    }
}

/// Checks the config with the worker's own parser, then writes it.
fn write_site(flags: &Flags, site: &Value) -> Result<(), Fail> {
    let text = serde_json::to_string_pretty(site).map_err(|e| Fail(e.to_string()))? + "\n";
    booking_core::site::parse_config(&text)
        .map_err(|e| Fail(format!("the config connect built is refused ({e}); fix the flag that set it")))?;
    let id = site["id"].as_str().unwrap_or("site");
    let out = flags
        .get("out")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join(format!("examples/sites/{id}.json")));
    if out.exists() && flags.get("force").is_none() {
        return Err(Fail(format!("{} exists: give --out another file, or --force to replace it", out.display())));
    }
    std::fs::write(&out, text).map_err(|e| Fail(format!("writing {}: {e}", out.display())))?;
    println!("connect: wrote {} (valid against examples/sites/schema.json)", out.display());
    if site["allowedOrigins"].as_array().is_none_or(|a| a.is_empty()) {
        println!("connect: add your website's origin to allowedOrigins (or re-run with --origin https://www.example.com), or the widget is refused (CORS)");
    }
    Ok(())
}

fn print_secrets(env: &Hosts, prefix: Option<&str>) {
    println!("\nNow store the values as worker secrets (each command asks for the value; paste it):\n");
    println!("cd edge-worker");
    for (name, _) in NAMES {
        match prefix {
            Some(p) => println!("npx wrangler secret put {p}_{name}"),
            None => println!("npx wrangler secret put {name}"),
        }
    }
    // A site with its own block names its environment; the deployment's ST_ENV is for the rest.
    if prefix.is_none() && (env.name == "production" || env.name == "integration") {
        println!("# and in wrangler.toml [vars]: ST_ENV = \"{}\"", env.name);
    }
    println!("npx wrangler deploy\ncargo xtask test-booking --worker https://YOUR-WORKER");
}

/// `--check FILE`: the worker's parser on one site config.
fn check_file(path: &str) -> Result<(), Fail> {
    let text = std::fs::read_to_string(path).map_err(|e| Fail(format!("{path}: {e}")))?;
    match booking_core::site::parse_config(&text) {
        Ok(site) => {
            println!("{path}: site {:?} is valid", site.id);
            Ok(())
        }
        Err(e) => Err(Fail(format!("{path}: {e}"))),
    }
}
