//! Starts the running system: ServiceTitan emulator, Twilio emulator, the worker under
//! `wrangler dev`, and the static contractor site. Dropping a [`Stack`] stops every child
//! process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools::node_bin;
use crate::{root, serve, Fail};

/// Which ServiceTitan the worker talks to.
pub(crate) enum Target {
    /// Our emulator with these generated credentials.
    Sandbox(Credentials),
    /// A real tenant's environment; credentials stay in `.dev.vars` or the environment.
    Real {
        /// "integration" or "production".
        env: String,
    },
}

/// ServiceTitan app credentials (the emulator's are generated per run).
#[derive(Clone)]
pub(crate) struct Credentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// ST-App-Key.
    pub app_key: String,
    /// Tenant id.
    pub tenant_id: String,
    /// The Twilio emulator's auth token (the worker checks every webhook's signature with it).
    pub twilio_auth_token: String,
    /// The Twilio emulator's account sid.
    pub twilio_account_sid: String,
    /// The secret LLM voice platforms send to `/v1/voice/tools/{site}`.
    pub voice_tool_secret: String,
    /// The HMAC key the emulator signs its webhooks with (the worker's `ST_WEBHOOK_KEYS`).
    pub st_webhook_key: String,
    /// The email sink's API key (the worker's `EMAIL_API_KEY`).
    pub email_api_key: String,
}

impl Credentials {
    /// Fresh random-looking values; they only need to differ per run and never be real.
    pub(crate) fn generate() -> Credentials {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
            ^ (std::process::id() as u128) << 64;
        let word = |salt: u128| {
            format!("{:032x}", seed.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835).wrapping_add(salt))
        };
        Credentials {
            client_id: format!("cid.{}", &word(1)[..16]),
            client_secret: format!("cs1.{}", word(2)),
            app_key: format!("ak1.{}", word(3)),
            tenant_id: "1044990".into(),
            twilio_auth_token: format!("tw1.{}", &word(4)[..32]),
            twilio_account_sid: format!("AC{}", word(5)),
            voice_tool_secret: format!("vts.{}", word(6)),
            st_webhook_key: format!("stw.{}", word(7)),
            email_api_key: format!("em1.{}", word(8)),
        }
    }
}

/// Ports to use; 0 picks a free one.
pub(crate) struct Ports {
    /// Static contractor site.
    pub site: u16,
    /// Worker.
    pub worker: u16,
    /// Emulator; the Twilio emulator takes the next port (8790 → 8791), or a free one for 0.
    pub sandbox: u16,
}

/// The running system.
pub(crate) struct Stack {
    /// Contractor site root URL.
    pub site_url: String,
    /// Worker root URL.
    pub worker_url: String,
    /// Emulator root URL, when the emulator runs.
    pub sandbox_url: Option<String>,
    /// Twilio emulator root URL (its page calls the agent from a browser).
    pub twilio_url: String,
    /// The emulator's credentials, when it runs (tests grep responses for them).
    pub credentials: Option<Credentials>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Each child leads its own process group: TERM reaches workerd under wrangler too.
            let _ = Command::new("kill").args(["-s", "TERM", "--", &format!("-{}", child.id())]).status();
        }
        // Graceful first; whatever still runs after 5 s is killed.
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", child.id())]).status();
                let _ = child.wait();
            }
        }
        // The worker's copy and its Durable Object state are this run's alone.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The environment variable naming the stack's worker entry for the processes this one
/// starts after the stack (the e2e test runner): a test that appends to that file
/// restarts this stack's worker (`wrangler dev` reloads on a change to its entry).
pub(crate) const WORKER_ENTRY_VAR: &str = "WORKER_ENTRY";

/// Copies the worker build (`edge-worker/build`) into `dir/worker` and writes
/// `dir/wrangler.toml`, edge-worker's config with `main` on the copy and the static
/// assets' directory made absolute. Why a copy: every `wrangler dev` watches its entry
/// and reloads its worker when the file changes, so a test that restarts its worker on
/// purpose must touch a file no other stack (another engineer's run, the demo) watches.
/// `.dev.vars` is linked, so a real tenant's credentials stay in one place.
fn worker_copy(dir: &Path) -> Result<PathBuf, Fail> {
    let r = root();
    let build = r.join("edge-worker/build");
    if !build.join("index.js").is_file() {
        return Err(Fail(format!("{} is missing: run `cargo xtask build`", build.join("index.js").display())));
    }
    copy_dir(&build, &dir.join("worker"))?;
    let config_path = r.join("edge-worker/wrangler.toml");
    let config = std::fs::read_to_string(&config_path).map_err(|e| Fail(format!("{}: {e}", config_path.display())))?;
    let assets = r.join("target/worker-assets");
    let mut replaced = (false, false);
    let lines: Vec<String> = config
        .lines()
        .map(|line| match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("main", "\"build/index.js\"")) => {
                replaced.0 = true;
                "main = \"worker/index.js\"".to_string()
            }
            Some(("directory", "\"../target/worker-assets\"")) => {
                replaced.1 = true;
                format!("directory = {}", serde_json::Value::from(assets.to_string_lossy()))
            }
            _ => line.to_string(),
        })
        .collect();
    if replaced != (true, true) {
        return Err(Fail(format!(
            "{}: expected `main = \"build/index.js\"` and `directory = \"../target/worker-assets\"` to point the stack's copy at",
            config_path.display()
        )));
    }
    let generated = format!(
        "# Generated by xtask/src/stack.rs from edge-worker/wrangler.toml for one stack; removed with it.\n{}\n",
        lines.join("\n")
    );
    std::fs::write(dir.join("wrangler.toml"), generated).map_err(|e| Fail(format!("{}: {e}", dir.display())))?;
    let dev_vars = r.join("edge-worker/.dev.vars");
    if dev_vars.exists() {
        std::os::unix::fs::symlink(&dev_vars, dir.join(".dev.vars")).map_err(|e| Fail(format!(".dev.vars: {e}")))?;
    }
    Ok(dir.join("worker/index.js"))
}

/// `cp -r from to` (files and directories only: the build has nothing else).
fn copy_dir(from: &Path, to: &Path) -> Result<(), Fail> {
    std::fs::create_dir_all(to).map_err(|e| Fail(format!("{}: {e}", to.display())))?;
    for entry in std::fs::read_dir(from).map_err(|e| Fail(format!("{}: {e}", from.display())))?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| Fail(format!("{} → {}: {e}", src.display(), dst.display())))?;
        }
    }
    Ok(())
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// The worker URL the example pages are written with.
const DEMO_WORKER_URL: &str = "http://127.0.0.1:8787";

/// The example site configs with this stack's site origin allowed (CORS), as one JSON
/// array for the worker's `SITES_JSON` var.
fn sites_allowing(origin: &str, webhook_url: Option<&str>) -> Result<String, Fail> {
    let mut sites = Vec::new();
    let dir = root().join("examples/sites");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| Fail(format!("{}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    // schema.json is the configs' contract (issue 16), not a site.
    for p in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("schema.json")) {
        let text = std::fs::read_to_string(p).map_err(|e| Fail(format!("{}: {e}", p.display())))?;
        let mut site: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Fail(format!("{}: {e}", p.display())))?;
        if let Some(url) = webhook_url {
            site["webhookUrl"] = url.into();
        }
        if let Some(list) = site["allowedOrigins"].as_array_mut() {
            if !list.iter().any(|o| o == origin) {
                list.push(origin.into());
            }
        }
        sites.push(site);
    }
    Ok(serde_json::Value::from(sites).to_string())
}

/// Starts everything. `quiet` sends child output to log files under target/.
/// `extra_vars` are more worker vars (e.g. a higher rate limit for the bench).
/// `webhook_url` replaces every site's webhook URL (tests point it at a receiver).
pub(crate) fn start(
    target: Target,
    ports: Ports,
    quiet: bool,
    extra_vars: &[(String, String)],
    webhook_url: Option<&str>,
) -> Result<Stack, Fail> {
    let r = root();
    let logs = r.join("target/logs");
    std::fs::create_dir_all(&logs).map_err(|e| Fail(format!("target/logs: {e}")))?;
    // Everything of this stack's worker: its build copy, config and Durable Object state
    // (a process may start more than one stack: the bench).
    static STACKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = STACKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = r.join(format!("target/stack-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Fail(format!("{}: {e}", dir.display())))?;
    let worker_entry = worker_copy(&dir)?;
    let state_dir = dir.join("state");
    let mut children = Vec::new();

    // Test runs (the only callers with a webhook receiver) compress follow-up time.
    let time_factor = webhook_url.map(|_| FOLLOWUP_TIME_FACTOR);
    let (sandbox_url, vars, credentials) = match &target {
        Target::Sandbox(c) => {
            let (child, url) = start_sandbox(c, ports.sandbox, &logs, time_factor)?;
            children.push(child);
            let vars = vec![
                ("ST_ENV".to_string(), "sandbox".to_string()),
                ("ST_API_URL".into(), url.clone()),
                ("ST_AUTH_URL".into(), format!("{url}/connect/token")),
                ("ST_CLIENT_ID".into(), c.client_id.clone()),
                ("ST_CLIENT_SECRET".into(), c.client_secret.clone()),
                ("ST_APP_KEY".into(), c.app_key.clone()),
                ("ST_TENANT_ID".into(), c.tenant_id.clone()),
                ("ST_WEBHOOK_KEYS".into(), per_site(&c.st_webhook_key)?),
            ];
            (Some(url), vars, Some(c.clone()))
        }
        Target::Real { env } => {
            // Credentials in the environment reach the worker as vars; otherwise wrangler
            // reads them from .dev.vars itself.
            let mut vars = vec![("ST_ENV".to_string(), env.clone())];
            for k in ["ST_CLIENT_ID", "ST_CLIENT_SECRET", "ST_APP_KEY", "ST_TENANT_ID"] {
                if let Ok(v) = std::env::var(k) {
                    vars.push((k.to_string(), v));
                }
            }
            (None, vars, None)
        }
    };

    let worker_port = if ports.worker == 0 { free_port() } else { ports.worker };
    let worker_url = format!("http://127.0.0.1:{worker_port}");
    // The phone side is always the emulator (no real Twilio from this machine): its
    // throwaway token, account and tool secret come with the ServiceTitan ones.
    let phone = match &credentials {
        Some(c) => c.clone(),
        None => Credentials::generate(),
    };
    let (child, twilio_url) =
        start_twilio(&phone, twilio_port(ports.sandbox), &worker_url, sandbox_url.as_deref(), &logs)?;
    children.push(child);
    let mut vars = vars;
    vars.extend(voice_vars(&phone, &twilio_url)?);
    vars.extend(follow_up_provider_vars(&phone, &twilio_url, &worker_url));
    let site_port = serve::start(
        ports.site,
        vec![("/widget".to_string(), r.join("widget/dist")), ("/".to_string(), r.join("examples/contractor-site"))],
        vec![(DEMO_WORKER_URL.to_string(), worker_url.clone())],
    )
    .map_err(|e| Fail(format!("site server on port {}: {e}", ports.site)))?;
    let site_url = format!("http://127.0.0.1:{site_port}");

    let mut wrangler = Command::new(node_bin("wrangler"));
    wrangler
        .args(["dev", "--local", "--ip", "127.0.0.1", "--port", &worker_port.to_string()])
        .args(["--inspector-port", &free_port().to_string(), "--persist-to"])
        .arg(&state_dir)
        .arg("--config")
        .arg(dir.join("wrangler.toml"))
        .arg("--show-interactive-dev-session=false")
        // `GET /__scheduled?cron=...` fires the cron trigger (the follow-ups' export
        // poller), so a test need not wait for the minute.
        .arg("--test-scheduled")
        .current_dir(&dir)
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(Stdio::null())
        .process_group(0);
    if let Some(f) = time_factor {
        wrangler.arg("--var").arg(format!("FOLLOWUP_TIME_FACTOR:{f}"));
    }
    for (k, v) in vars.iter().chain(extra_vars) {
        wrangler.arg("--var").arg(format!("{k}:{v}"));
    }
    wrangler.arg("--var").arg(format!("SITES_JSON:{}", sites_allowing(&site_url, webhook_url)?));
    let log = std::fs::File::create(logs.join("wrangler.log")).map_err(|e| Fail(e.to_string()))?;
    if quiet {
        wrangler.stdout(log.try_clone().map_err(|e| Fail(e.to_string()))?).stderr(log);
    }
    children.push(wrangler.spawn().map_err(|e| Fail(format!("wrangler: {e}")))?);
    // The test runner is started by this process after the stack, so it inherits this.
    std::env::set_var(WORKER_ENTRY_VAR, &worker_entry);

    let stack = Stack { site_url, worker_url, sandbox_url, twilio_url, credentials, children, dir };
    wait_healthy(&format!("127.0.0.1:{worker_port}"), Duration::from_secs(90))
        .map_err(|Fail(e)| Fail(format!("{e}; see target/logs/wrangler.log")))?;
    if let (Some(st), Some(c)) = (&stack.sandbox_url, &stack.credentials) {
        subscribe_webhooks(st, &stack.worker_url, c)?;
    }
    Ok(stack)
}

/// The Twilio emulator's port: beside the ServiceTitan emulator's fixed one, free otherwise.
fn twilio_port(sandbox: u16) -> u16 {
    if sandbox == 0 {
        0
    } else {
        sandbox.saturating_add(1)
    }
}

/// The number callers dial (the site's Twilio number in the emulator); not the office's,
/// which is where the agent transfers to.
pub(crate) const TWILIO_NUMBER: &str = "+16125550170";

/// What the worker reads for the voice agent (see edge-worker/wrangler.toml): one auth
/// token and one tool secret for every example site, the account, the number, and the
/// emulator as Twilio's API host (for SMS).
fn voice_vars(c: &Credentials, twilio_url: &str) -> Result<Vec<(String, String)>, Fail> {
    Ok(vec![
        ("TWILIO_AUTH_TOKENS".to_string(), per_site(&c.twilio_auth_token)?),
        ("TWILIO_ACCOUNT_SID".into(), c.twilio_account_sid.clone()),
        ("TWILIO_FROM_NUMBER".into(), TWILIO_NUMBER.into()),
        ("TWILIO_API_URL".into(), twilio_url.into()),
        ("VOICE_TOOL_SECRETS".into(), per_site(&c.voice_tool_secret)?),
    ])
}

/// Follow-up providers (edge-worker/src/followups/send.rs): the emulator's email sink as
/// the email API, and the worker's own address for the call's TwiML URL.
fn follow_up_provider_vars(c: &Credentials, twilio_url: &str, worker_url: &str) -> Vec<(String, String)> {
    vec![
        ("EMAIL_API_URL".to_string(), format!("{twilio_url}/email/emails")),
        ("EMAIL_API_KEY".into(), c.email_api_key.clone()),
        ("WORKER_PUBLIC_URL".into(), worker_url.into()),
    ]
}

/// `{"<site id>": secret}` for every example site.
fn per_site(secret: &str) -> Result<String, Fail> {
    let ids = site_ids()?;
    Ok(serde_json::Value::Object(ids.into_iter().map(|id| (id, secret.into())).collect()).to_string())
}

/// How much faster follow-up time runs in tests (`FOLLOWUP_TIME_FACTOR`, the emulator's
/// `--time-factor`): an hour a second, so the estimate's 24 h text comes after 24 s.
pub(crate) const FOLLOWUP_TIME_FACTOR: u32 = 3600;

/// The site the emulator's tenant sends its webhooks to (the emulator keeps one
/// subscription per tenant).
pub(crate) const WEBHOOK_SITE: &str = "northstar";

/// Subscribes the worker to the emulator's webhooks, signed with the run's key (hex
/// HMAC-SHA256 in `x-servicetitan-signature`, the site's default signature settings).
fn subscribe_webhooks(st_url: &str, worker_url: &str, c: &Credentials) -> Result<(), Fail> {
    let addr = st_url.trim_start_matches("http://").trim_end_matches('/');
    let body = serde_json::json!({
        "url": format!("{worker_url}/v1/webhooks/servicetitan/{WEBHOOK_SITE}"),
        "hmacKey": c.st_webhook_key,
        "header": "x-servicetitan-signature",
        "encoding": "hex",
    })
    .to_string();
    match http_post(addr, "/_admin/webhooks", &body) {
        Some((s, _)) if (200..300).contains(&s) => Ok(()),
        other => Err(Fail(format!("subscribing the worker to the emulator's webhooks: {other:?}"))),
    }
}

/// A minimal HTTP/1.1 POST of a JSON body: (status, body).
fn http_post(addr: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The ids of the example sites.
fn site_ids() -> Result<Vec<String>, Fail> {
    let sites: serde_json::Value =
        serde_json::from_str(&sites_allowing("", None)?).map_err(|e| Fail(format!("examples/sites: {e}")))?;
    Ok(sites.as_array().into_iter().flatten().filter_map(|s| s["id"].as_str().map(str::to_string)).collect())
}

/// Starts `tests/twilio-sandbox/server.mjs` and reads the URL it prints.
fn start_twilio(
    c: &Credentials,
    port: u16,
    worker_url: &str,
    st_url: Option<&str>,
    logs: &Path,
) -> Result<(Child, String), Fail> {
    let r = root();
    let mut cmd = Command::new("node");
    cmd.arg(r.join("tests/twilio-sandbox/server.mjs"))
        .args(["--port", &port.to_string(), "--auth-token", &c.twilio_auth_token])
        .args(["--account-sid", &c.twilio_account_sid, "--from-number", TWILIO_NUMBER])
        .args(["--worker-url", worker_url, "--site", "northstar"])
        .args(["--email-api-key", &c.email_api_key]);
    if let Some(st) = st_url {
        cmd.args(["--st-url", st]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(logs.join("twilio-sandbox.log")).map_err(|e| Fail(e.to_string()))?)
        .process_group(0)
        .spawn()
        .map_err(|e| Fail(format!("twilio-sandbox: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| Fail("twilio-sandbox has no stdout".into()))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| Fail(format!("twilio-sandbox: {e}")))?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| Fail(format!("twilio-sandbox did not start: {line:?}; see target/logs/twilio-sandbox.log")))?
        .to_string();
    Ok((child, url))
}

fn start_sandbox(c: &Credentials, port: u16, logs: &Path, time_factor: Option<u32>) -> Result<(Child, String), Fail> {
    let r = root();
    let mut cmd = Command::new(r.join("target/release/st-sandbox"));
    if let Some(f) = time_factor {
        cmd.args(["--time-factor", &f.to_string()]);
    }
    // A shorter token life (`ST_TOKEN_TTL` seconds), to watch the worker's token refresh
    // within a short bench run; unset, the emulator's 900 s.
    if let Ok(ttl) = std::env::var("ST_TOKEN_TTL") {
        cmd.args(["--token-ttl", &ttl]);
    }
    let mut child = cmd
        .args(["--port", &port.to_string(), "--seed"])
        .arg(r.join("tests/data/st-tenant.json"))
        .args(["--tenant-id", &c.tenant_id, "--client-id", &c.client_id])
        .args(["--client-secret", &c.client_secret, "--app-key", &c.app_key])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(logs.join("st-sandbox.log")).map_err(|e| Fail(e.to_string()))?)
        .process_group(0)
        .spawn()
        .map_err(|e| Fail(format!("st-sandbox: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| Fail("st-sandbox has no stdout".into()))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| Fail(format!("st-sandbox: {e}")))?;
    let url = line
        .trim()
        .strip_prefix("st-sandbox listening on ")
        .ok_or_else(|| Fail(format!("st-sandbox did not start: {line:?}; see target/logs/st-sandbox.log")))?
        .to_string();
    Ok((child, url))
}

/// Polls `GET /health` until 200, bounded.
fn wait_healthy(addr: &str, limit: Duration) -> Result<(), Fail> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if http_get(addr, "/health").is_some_and(|(s, _)| s == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(Fail(format!("the worker at {addr} did not answer /health within {} s", limit.as_secs())))
}

/// A minimal HTTP/1.1 GET for health checks: (status, body).
pub(crate) fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}
