//! `cargo xtask bench`: measures the system and writes BENCHMARKS.md from the run.
//!
//! 1. the conversation engine natively (booking-core's `bench_turn` example),
//! 2. the release build (`bundle::all`), then the widget's and the worker's sizes and
//!    which crates the widget's wasm code comes from (tests/bench/sizes.mjs),
//! 3. a fresh stack (emulator + worker on workerd + contractor site, free ports), then
//!    the worker through it (tests/bench/worker.mjs) and the widget in headless
//!    Chromium (tests/bench/widget.mjs), and last the worker's time per voice turn,
//!    TwiML webhooks and ConversationRelay prompts (tests/bench/voice.mjs),
//! 4. the peers side by side (tests/bench/peers.mjs, versions in tests/bench/peers.json):
//!    the chat widgets fetched from the npm registry (cached under target/peers) and ours,
//!    on one local page in headless Chromium, same CPU throttle,
//! 5. the fault matrix (tests/bench/faults.mjs): every emulator fault at every pipeline
//!    step, one booking each, exactly one customer, location and job each.
//!
//! Every number in BENCHMARKS.md comes from this run. `--no-build` reuses the
//! existing build (for iterating on the bench itself); `--only peers` (or `faults`) starts
//! the stack and runs only tests/bench/<that>.mjs (JSON in target/bench), BENCHMARKS.md
//! untouched.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::stack::{self, Credentials, Ports, Target};
use crate::{bundle, root, tools, Fail};

/// Targets from the design; a row says whether the run met them.
const TURN_MEDIAN_US: f64 = 20.0;
const LOADER_GZIP: u64 = 1536; // 1.5 KB
const WIDGET_BROTLI: u64 = 120 * 1024;
/// Issue 14: a voice turn that needs no ServiceTitan call, p95 on loopback.
const VOICE_TURN_P95_MS: f64 = 25.0;

/// Runs the bench and writes BENCHMARKS.md at the workspace root.
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let build = !args.iter().any(|a| a == "--no-build");
    if let Some(i) = args.iter().position(|a| a == "--only") {
        return only(build, args.get(i + 1).map(String::as_str).unwrap_or(""));
    }
    let started = Instant::now();
    // Before our own builds load the CPUs: what else was running.
    let machine = machine();
    tools::ensure_build_tools()?;
    tools::ensure_chromium()?;
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| Fail(format!("{}: {e}", out.display())))?;

    println!("xtask bench: conversation engine (booking-core bench_turn, native release)");
    let engine = bench_turn(false)?;
    println!(
        "xtask bench: engine median {} µs, p99 {} µs over {} turns",
        engine.median_us, engine.p99_us, engine.turns
    );
    // The same at opt-level 3 (own target dir: the shared one stays at the real profile),
    // to tell the engine's cost from the size profile's.
    let engine_o3 = bench_turn(true)?;
    println!("xtask bench: engine at opt-level 3: median {} µs, p99 {} µs", engine_o3.median_us, engine_o3.p99_us);

    if build {
        bundle::all()?;
    }
    println!("xtask bench: sizes");
    let sizes = node_json("sizes.mjs", &out.join("sizes.json"), &[])?;

    println!("xtask bench: starting emulator, worker and contractor site");
    let vars = [("RATE_LIMIT_MULTIPLIER".to_string(), "1000".to_string())];
    let stack = stack::start(
        Target::Sandbox(Credentials::generate()),
        Ports { site: 0, worker: 0, sandbox: 0 },
        true,
        &vars,
        None,
    )?;
    let urls = [
        ("WORKER_URL", stack.worker_url.clone()),
        ("SANDBOX_URL", stack.sandbox_url.clone().unwrap_or_default()),
        ("SITE_URL", stack.site_url.clone()),
    ];
    // The worker first: its first booking is the token-cold one.
    println!("xtask bench: worker through the stack (scenarios, sequential bookings, burst)");
    let worker = node_json("worker.mjs", &out.join("worker.json"), &urls);
    println!("xtask bench: widget in headless Chromium");
    let widget = node_json("widget.mjs", &out.join("widget.json"), &urls);
    println!("xtask bench: peers side by side in headless Chromium (npm registry, cached in target/peers)");
    let peers = node_json("peers.mjs", &out.join("peers.json"), &urls);
    println!("xtask bench: fault matrix (every emulator fault at every ServiceTitan step)");
    let faults = node_json("faults.mjs", &out.join("faults.json"), &urls);
    // Last: its ConversationRelay calls end (call-backs for the office) as it finishes.
    println!("xtask bench: voice turns through the worker (TwiML webhooks, ConversationRelay)");
    let voice = node_json("voice.mjs", &out.join("voice.json"), &voice_env(&stack));
    drop(stack);
    let measured = Measured { sizes, worker: worker?, widget: widget?, voice: voice?, peers: peers?, faults: faults? };

    let md = render(&machine, &engine, &engine_o3, &measured, started.elapsed().as_secs());
    let path = root().join("BENCHMARKS.md");
    std::fs::write(&path, md).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
    summary(&engine, &measured.sizes, &measured.worker, &measured.widget);
    voice_summary(&measured.voice);
    peers_summary(&measured.peers);
    faults_summary(&measured.faults);
    println!("xtask bench: wrote BENCHMARKS.md in {} s", started.elapsed().as_secs());
    Ok(())
}

/// What the node scripts measured (their JSON).
struct Measured {
    sizes: Value,
    worker: Value,
    widget: Value,
    voice: Value,
    peers: Value,
    faults: Value,
}

/// The stack's worker, emulator and Twilio auth token for tests/bench/voice.mjs: it signs
/// its webhooks and the relay handshake as the Twilio emulator would.
fn voice_env(stack: &stack::Stack) -> Vec<(&'static str, String)> {
    let c = stack.credentials.as_ref();
    vec![
        ("WORKER_URL", stack.worker_url.clone()),
        ("SANDBOX_URL", stack.sandbox_url.clone().unwrap_or_default()),
        ("TWILIO_AUTH_TOKEN", c.map(|c| c.twilio_auth_token.clone()).unwrap_or_default()),
        ("TWILIO_ACCOUNT_SID", c.map(|c| c.twilio_account_sid.clone()).unwrap_or_default()),
        ("TWILIO_NUMBER", stack::TWILIO_NUMBER.to_string()),
    ]
}

struct Engine {
    median_us: f64,
    p99_us: f64,
    turns: u64,
}

/// `bench-turn: median_us=X p99_us=Y turns=N` from the example; `opt3` builds it at
/// opt-level 3 instead of the workspace's size-tuned release profile.
fn bench_turn(opt3: bool) -> Result<Engine, Fail> {
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--quiet", "--release", "-p", "booking-core", "--example", "bench_turn"]).current_dir(root());
    if opt3 {
        cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3").env("CARGO_TARGET_DIR", root().join("target/bench-o3"));
    }
    let out = cmd.stderr(Stdio::inherit()).output().map_err(|e| Fail(format!("cargo run bench_turn: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("bench-turn:"))
        .ok_or_else(|| Fail(format!("bench_turn printed no `bench-turn:` line ({}): {text}", out.status)))?;
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| Fail(format!("bench_turn: no {k} in {line:?}")))
    };
    Ok(Engine { median_us: field("median_us")?, p99_us: field("p99_us")?, turns: field("turns")? as u64 })
}

/// Runs `node tests/bench/<script>` with `BENCH_OUT=<json>` and returns the JSON it wrote.
fn node_json(script: &str, json: &Path, env: &[(&str, String)]) -> Result<Value, Fail> {
    let _ = std::fs::remove_file(json);
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/bench").join(script))
        .current_dir(root())
        .env("ROOT", root())
        .env("BENCH_OUT", json)
        .env("CHROMIUM", tools::CHROMIUM);
    for (k, v) in env {
        cmd.env(k, v);
    }
    crate::run(&mut cmd)?;
    let text = std::fs::read_to_string(json).map_err(|e| Fail(format!("{}: {e}", json.display())))?;
    serde_json::from_str(&text).map_err(|e| Fail(format!("{}: {e}", json.display())))
}

struct Machine {
    date: String,
    cpus: usize,
    cpu: String,
    rustc: String,
    node: String,
    chromium: String,
    load: String,
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine {
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu,
        rustc: command_line("rustc", &["--version"]),
        node: command_line("node", &["--version"]),
        chromium: command_line(tools::CHROMIUM, &["--version"]),
        load: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown".into()),
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// 12345 -> "12,345".
fn bytes(v: &Value) -> String {
    let n = v.as_f64().map(|f| f.round() as u64).unwrap_or(0).to_string();
    let mut out = String::new();
    for (i, c) in n.chars().enumerate() {
        if i > 0 && (n.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: &Value) -> String {
    if v.is_null() {
        "n/a".into()
    } else {
        format!("{:.1}", num(v))
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn render(m: &Machine, engine: &Engine, engine_o3: &Engine, measured: &Measured, secs: u64) -> String {
    let Measured { sizes, worker, widget, voice, peers, faults } = measured;
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Generated by `cargo xtask bench` on {}: every number below comes from that run \
         (nothing here is typed in). Reproduce with `cargo xtask bench` (about {} min here).\n",
        m.date,
        secs.div_ceil(60)
    );
    let _ = writeln!(s, "Machine: {} CPUs ({}), {}, node {}, {}.", m.cpus, m.cpu, m.rustc, m.node, m.chromium);
    let _ = writeln!(
        s,
        "The CPUs are shared with other work (load average {} when the run started), so timings vary \
         from run to run; sizes do not.\n",
        m.load
    );

    // A. Engine.
    let _ = writeln!(s, "## Conversation engine (booking-core, native)\n");
    let _ = writeln!(
        s,
        "`cargo run --release -p booking-core --example bench_turn`: every user turn of the \
         conversation corpus (tests/data/conversations), `Conversation::handle` timed per turn. \
         The release profile is the size-tuned one the widget and the worker ship (opt-level \"z\"); \
         the second row is the same code at opt-level 3, for comparison.\n"
    );
    let _ = writeln!(s, "| build | turns timed | median | p99 | target | |\n|---|---:|---:|---:|---|---|");
    for (build, run, end) in [("release (opt-level z)", &engine, ""), ("release at opt-level 3", &engine_o3, "\n")] {
        let _ = writeln!(
            s,
            "| {build} | {} | {:.1} µs | {:.1} µs | median ≤ {TURN_MEDIAN_US} µs | {} |{end}",
            bytes(&Value::from(run.turns)),
            run.median_us,
            run.p99_us,
            verdict(run.median_us <= TURN_MEDIAN_US)
        );
    }

    // B. Sizes.
    let _ = writeln!(s, "## Widget size\n");
    let _ = writeln!(
        s,
        "widget/dist after the release build; gzip -9 and brotli -q 11 by node's zlib. Only \
         loader.js loads with the page; the rest loads when the homeowner shows interest.\n"
    );
    let _ = writeln!(s, "| file | raw | gzip -9 | brotli -q 11 |\n|---|---:|---:|---:|");
    for f in sizes["widget"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            f["name"].as_str().unwrap_or("?"),
            bytes(&f["raw"]),
            bytes(&f["gzip"]),
            bytes(&f["brotli"])
        );
    }
    let t = &sizes["widgetTotal"];
    let _ =
        writeln!(s, "| **whole widget** | {} | {} | {} |", bytes(&t["raw"]), bytes(&t["gzip"]), bytes(&t["brotli"]));
    let c = &sizes["css"];
    if c.is_object() {
        let _ = writeln!(
            s,
            "| of which CSS (a string in the wasm, adopted as a constructed stylesheet) | {} | {} | {} |",
            bytes(&c["raw"]),
            bytes(&c["gzip"]),
            bytes(&c["brotli"])
        );
    }
    let _ = writeln!(s);
    let loader_gz = sizes["widget"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "loader.js")
        .map(|f| num(&f["gzip"]) as u64);
    let _ = writeln!(s, "| target | measured | |\n|---|---:|---|");
    let _ = writeln!(
        s,
        "| loader.js ≤ 1.5 KB gzip ({LOADER_GZIP} B) | {} B | {} |",
        loader_gz.map(|v| bytes(&Value::from(v))).unwrap_or_else(|| "n/a".into()),
        verdict(loader_gz.is_some_and(|v| v <= LOADER_GZIP))
    );
    let total_br = num(&t["brotli"]) as u64;
    let _ = writeln!(
        s,
        "| whole widget ≤ 120 KB brotli ({WIDGET_BROTLI} B) | {} B | {} |\n",
        bytes(&t["brotli"]),
        verdict(total_br <= WIDGET_BROTLI)
    );

    let b = &sizes["breakdown"];
    if b.is_object() {
        let _ = writeln!(s, "### Where the widget's wasm code comes from\n");
        let _ = writeln!(
            s,
            "From the wasm-bindgen output before wasm-opt ({}, {} B: code section {} B, data section {} B, \
             name section {} B; wasm-opt then drops the names and shrinks the code). Each of the {} function \
             bodies is attributed by the crate names in its symbol name, to the first group in table order \
             that appears (so drop glue and serde impls for booking-core's types count as booking-core). \
             Shares are of the code bytes; the data section (strings, tables) is not attributed.\n",
            b["file"].as_str().unwrap_or("?"),
            bytes(&b["raw"]),
            bytes(&b["codeSection"]),
            bytes(&b["dataSection"]),
            bytes(&b["nameSection"]),
            bytes(&b["functions"])
        );
        let _ = writeln!(s, "| group | code bytes | share |\n|---|---:|---:|");
        for g in b["groups"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} % |",
                g["group"].as_str().unwrap_or("?"),
                bytes(&g["bytes"]),
                100.0 * num(&g["share"])
            );
        }
        let _ = writeln!(s, "| **all code** | {} | 100 % |\n", bytes(&b["code"]));
        let sections: Vec<String> = sizes["shippedSections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| num(&x["size"]) >= 1024.0)
            .map(|x| format!("{} {} B", x["name"].as_str().unwrap_or("?"), bytes(&x["size"])))
            .collect();
        if !sections.is_empty() {
            let _ = writeln!(
                s,
                "The shipped widget/dist/widget_bg.wasm (after wasm-opt -Oz), sections over 1 KB: {}.\n",
                sections.join(", ")
            );
        }
    }

    // C. Widget timings.
    let _ = writeln!(s, "## Widget in the browser\n");
    let runs = widget["runs"].as_u64().unwrap_or(0);
    let _ = writeln!(
        s,
        "Headless Chromium on the stack's contractor site (examples/contractor-site), localhost, cache \
         disabled, a fresh browser context per run; medians of {runs} runs. *Loader → bubble*: \
         `window.__bw.shown` (loader start to the bubble in the page). *Interest → interactive*: the first \
         pointer event on the bubble (hovering starts the download) to the chat input visible and enabled \
         (checked every animation frame). *Interest → mounted*: the same start to the loader's `bw:mounted` point (`__bw.t0 + __bw.ms`: widget.js and the wasm fetched, compiled and mounted). Bytes are as transferred \
         (headers + body, CDP `encodedDataLength`; the local site server does not compress).\n"
    );
    let _ = writeln!(
        s,
        "| CPU | navigation → loader start | loader → bubble | interest → interactive (max) | interest → mounted | \
         bytes before interaction (page total / widget) | widget files before interaction | bytes on interaction |\n\
         |---|---:|---:|---:|---:|---:|---|---:|"
    );
    for mode in widget["modes"].as_array().into_iter().flatten() {
        let files: Vec<&str> =
            mode["widgetFilesBefore"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = writeln!(
            s,
            "| {} | {} ms | {} ms | {} ms ({} ms) | {} ms | {} / {} B | {} | {} B |",
            if mode["throttle"] == 1 { "normal".to_string() } else { format!("{}× throttled", mode["throttle"]) },
            ms(&mode["navToLoaderMs"]),
            ms(&mode["loaderToShownMs"]),
            ms(&mode["interestToInteractiveMs"]),
            ms(&mode["interestToInteractiveMaxMs"]),
            ms(&mode["interestToMountedMs"]),
            bytes(&mode["bytesBefore"]),
            bytes(&mode["widgetBytesBefore"]),
            if files.is_empty() { "none".to_string() } else { files.join(", ") },
            bytes(&mode["bytesAfter"]),
        );
    }
    let eager: u64 =
        widget["modes"].as_array().into_iter().flatten().map(|m| m["eagerMounts"].as_u64().unwrap_or(0)).sum();
    let failed: Vec<String> = widget["modes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| {
            m["runs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["failed"] == true)
                .map(move |r| (m["throttle"].clone(), r))
        })
        .map(|(t, r)| format!("CPU ×{t}: {} {}", r["error"].as_str().unwrap_or("?"), r["pageErrors"]))
        .collect();
    let _ = writeln!(
        s,
        "\nRuns where the widget mounted before any interaction: {eager} (expected 0: only the loader loads eagerly)."
    );
    let _ = writeln!(s, "Runs that failed (not in the medians): {}.\n", failed.len());
    for f in &failed {
        let _ = writeln!(s, "- {}", f.replace('|', "\\|"));
    }
    if !failed.is_empty() {
        s.push('\n');
    }

    render_peers(&mut s, peers);

    // D. Worker.
    let _ = writeln!(s, "## Worker through the real stack\n");
    let _ = writeln!(
        s,
        "`wrangler dev --local` (workerd) against the ServiceTitan emulator, all on 127.0.0.1, rate limits \
         scaled ×1000 (`RATE_LIMIT_MULTIPLIER`). A booking is `POST /v1/sites/northstar/bookings` with a \
         five-turn conversation (need with \"tomorrow morning\", name, phone, address, \"yes\"), re-posted with \
         the same idempotency key until the answer is \"booked\". ServiceTitan calls come from the emulator's \
         request journal (`GET /_admin/requests`), counted after the calls stop.\n"
    );
    let _ = writeln!(s, "### ServiceTitan calls per booking\n");
    let _ = writeln!(s, "| scenario | latency | API calls | token calls | calls |\n|---|---:|---:|---:|---|");
    for sc in worker["scenarios"].as_array().into_iter().flatten() {
        let calls: Vec<&str> = sc["calls"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = writeln!(
            s,
            "| {}{} | {} ms | {} | {} | {} |",
            sc["scenario"].as_str().unwrap_or("?"),
            if sc["booked"] == true { "" } else { " (NOT booked)" },
            format_args!("{:.0}", num(&sc["ms"])),
            sc["apiCalls"],
            sc["tokenCalls"],
            calls.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let l = &worker["latency"];
    let _ = writeln!(s, "\n### Booking latency (new customers, token warm, sequential)\n");
    let _ = writeln!(
        s,
        "| bookings | booked | p50 | p95 | max | mean | needed a re-post |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} |\n",
        l["count"],
        l["booked"],
        num(&l["p50"]),
        num(&l["p95"]),
        num(&l["max"]),
        num(&l["mean"]),
        l["repost"]
    );
    let bu = &worker["burst"];
    let _ = writeln!(s, "### Burst: {} concurrent bookings, distinct keys\n", bu["count"]);
    let _ = writeln!(
        s,
        "All posted at once; each re-posted (same key) until booked, for at most {} s. Lost = not booked in \
         time; the answer comes before ServiceTitan (the Durable Object books from its alarm), so the records \
         are polled until every phone has its customer and job (at most 120 s after the last answer): missing = \
         still without them then; duplicated = a phone with more than one customer or job in the emulator's \
         records.\n",
        num(&bu["limitMs"]) / 1000.0
    );
    let answers = bu["firstAnswers"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "| bookings | all booked after | all in ServiceTitan after | p50 | p95 | posts | first answers | lost | missing records | duplicated |\n\
         |---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    );
    let _ = writeln!(
        s,
        "| {} | {:.1} s | {:.1} s | {:.0} ms | {:.0} ms | {} | {} | {} {} | {} | {} {} |\n",
        bu["count"],
        num(&bu["wallMs"]) / 1000.0,
        num(&bu["recordedMs"]) / 1000.0,
        num(&bu["p50"]),
        num(&bu["p95"]),
        bu["posts"],
        answers,
        bu["lost"],
        if bu["lost"] == 0 { "(target 0: met)" } else { "(target 0: **missed**)" },
        bu["missingRecords"],
        bu["duplicated"],
        if bu["duplicated"] == 0 { "(target 0: met)" } else { "(target 0: **missed**)" },
    );
    let _ = writeln!(s, "### Worker bundle size\n");
    let _ = writeln!(s, "| file (edge-worker/build) | raw | gzip -9 | brotli -q 11 |\n|---|---:|---:|---:|");
    for f in sizes["worker"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            f["name"].as_str().unwrap_or("?"),
            bytes(&f["raw"]),
            bytes(&f["gzip"]),
            bytes(&f["brotli"])
        );
    }
    render_faults(&mut s, faults);
    render_voice(&mut s, voice);
    let _ = writeln!(s, "\n## Reproduce\n\n```\ncargo xtask bench\n```\n");
    let _ = writeln!(
        s,
        "It builds in release (`cargo xtask build`), starts its own emulator, worker and site on free \
         loopback ports, and rewrites this file. Raw results are in target/bench/*.json. The scripts are \
         tests/bench/*.mjs; `cargo xtask fuzz [N]` is the engine's robustness check."
    );
    s
}

fn summary(engine: &Engine, sizes: &Value, worker: &Value, widget: &Value) {
    println!("bench: engine turn median {:.1} µs, p99 {:.1} µs", engine.median_us, engine.p99_us);
    for f in sizes["widget"].as_array().into_iter().flatten() {
        println!(
            "bench: {} {} B gzip, {} B brotli",
            f["name"].as_str().unwrap_or("?"),
            bytes(&f["gzip"]),
            bytes(&f["brotli"])
        );
    }
    println!("bench: whole widget {} B brotli", bytes(&sizes["widgetTotal"]["brotli"]));
    for mode in widget["modes"].as_array().into_iter().flatten() {
        println!(
            "bench: widget cpu x{}: loader->bubble {} ms, interest->interactive {} ms",
            mode["throttle"],
            ms(&mode["loaderToShownMs"]),
            ms(&mode["interestToInteractiveMs"])
        );
    }
    for sc in worker["scenarios"].as_array().into_iter().flatten() {
        println!(
            "bench: {}: {} ServiceTitan calls (+{} token), {:.0} ms",
            sc["scenario"].as_str().unwrap_or("?"),
            sc["apiCalls"],
            sc["tokenCalls"],
            num(&sc["ms"])
        );
    }
    let l = &worker["latency"];
    println!(
        "bench: booking latency p50 {:.0} ms, p95 {:.0} ms ({} sequential)",
        num(&l["p50"]),
        num(&l["p95"]),
        l["count"]
    );
    let b = &worker["burst"];
    println!(
        "bench: burst of {}: lost {}, duplicated {}, {:.1} s",
        b["count"],
        b["lost"],
        b["duplicated"],
        num(&b["wallMs"]) / 1000.0
    );
}

/// E. The worker's time per voice turn (tests/bench/voice.mjs).
fn render_voice(s: &mut String, v: &Value) {
    let (tw, relay) = (&v["twiml"], &v["relay"]);
    let warmup = v["warmupCalls"].as_u64().unwrap_or(0);
    let _ = writeln!(s, "\n## Voice turns through the worker\n");
    let _ = writeln!(
        s,
        "`node tests/bench/voice.mjs`, run by `cargo xtask bench` against the same stack (the worker under \
         `wrangler dev --local`, 127.0.0.1). {calls} calls of each kind, one after another, each with a new CallSid \
         (so a new CallObject) and caller ID; the caller answers what the agent asks (the need, the name, yes to the \
         caller ID, the address, when) and stops at \"Shall I book it?\", so no timed turn needs ServiceTitan \
         (ServiceTitan requests during the timed turns, from the emulator's journal: {st_tw} for the webhooks, \
         {st_relay} for the relay). Requests are signed as Twilio signs them (tests/twilio-sandbox/sign.mjs, the \
         stack's auth token) and timed in the bench process, from sending the request to reading the whole answer \
         (TwiML), or from sending `prompt` to receiving the agent's `text` token with `last: true`. The first \
         {warmup} calls of each kind are warm-up: left out of n, p50 and p95, and shown in the last column. Load \
         average when this section started {load0}, when it ended {load1}.\n",
        calls = v["callsPerKind"],
        st_tw = tw["serviceTitanCalls"],
        st_relay = relay["serviceTitanCalls"],
        load0 = v["load"]["start"].as_str().unwrap_or("unknown"),
        load1 = v["load"]["end"].as_str().unwrap_or("unknown"),
    );
    let _ = writeln!(
        s,
        "| turn | request | n | p50 | p95 | max | target | | warm-up (first {warmup} calls): n, p50, max |\n\
         |---|---|---:|---:|---:|---:|---|---|---|"
    );
    let rows: [(&str, &str, &Value, bool); 5] = [
        ("a call connects (the greeting)", "`POST /v1/voice/twilio/northstar/incoming`", &tw["incoming"], true),
        (
            "a caller's turn, no ServiceTitan call",
            "`POST /v1/voice/twilio/northstar/gather` with a signed `SpeechResult`",
            &tw["gathers"],
            true,
        ),
        ("a ConversationRelay prompt", "WebSocket `prompt` → the agent's last `text` token", &relay["prompts"], true),
        (
            "ConversationRelay handshake",
            "signed WebSocket upgrade `GET /v1/voice/relay/northstar?callSid=…`",
            &relay["handshake"],
            false,
        ),
        ("ConversationRelay greeting", "`setup` → the agent's last `text` token", &relay["greeting"], false),
    ];
    for (turn, request, t, targeted) in rows {
        let n = t["n"].as_u64().unwrap_or(0);
        let (target, met) = if targeted {
            (format!("p95 ≤ {VOICE_TURN_P95_MS} ms"), verdict(n > 0 && num(&t["p95"]) <= VOICE_TURN_P95_MS))
        } else {
            ("none".to_string(), "")
        };
        let w = &t["warmup"];
        let _ = writeln!(
            s,
            "| {turn} | {request} | {n} | {} ms | {} ms | {} ms | {target} | {met} | {}, {} ms, {} ms |",
            ms(&t["p50"]),
            ms(&t["p95"]),
            ms(&t["max"]),
            w["n"],
            ms(&w["p50"]),
            ms(&w["max"]),
        );
    }
    let errors: Vec<&str> = [tw, relay]
        .iter()
        .flat_map(|k| k["errors"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let _ = writeln!(
        s,
        "\nCalls that reached \"Shall I book it?\": {} of {} (webhooks), {} of {} (relay). Turns that failed (not \
         timed): {}.",
        tw["reachedSummary"],
        tw["calls"],
        relay["reachedSummary"],
        relay["calls"],
        errors.len()
    );
    for e in errors.iter().take(5) {
        let _ = writeln!(s, "- {}", e.replace('|', "\\|"));
    }
}

fn voice_summary(v: &Value) {
    for (what, t) in [
        ("incoming", &v["twiml"]["incoming"]),
        ("gather", &v["twiml"]["gathers"]),
        ("relay prompt", &v["relay"]["prompts"]),
    ] {
        println!("bench: voice {what}: p50 {} ms, p95 {} ms (n {})", ms(&t["p50"]), ms(&t["p95"]), t["n"]);
    }
}

/// `cargo xtask bench --only peers|faults`: a fresh stack, then that one script.
fn only(build: bool, script: &str) -> Result<(), Fail> {
    if !["peers", "faults"].contains(&script) {
        return Err(Fail(format!("--only takes peers or faults, not {script:?}")));
    }
    tools::ensure_build_tools()?;
    tools::ensure_chromium()?;
    if build {
        bundle::all()?;
    }
    let vars = [("RATE_LIMIT_MULTIPLIER".to_string(), "1000".to_string())];
    let stack = stack::start(
        Target::Sandbox(Credentials::generate()),
        Ports { site: 0, worker: 0, sandbox: 0 },
        true,
        &vars,
        None,
    )?;
    let urls = [
        ("WORKER_URL", stack.worker_url.clone()),
        ("SANDBOX_URL", stack.sandbox_url.clone().unwrap_or_default()),
        ("SITE_URL", stack.site_url.clone()),
    ];
    let json = node_json(&format!("{script}.mjs"), &root().join(format!("target/bench/{script}.json")), &urls);
    drop(stack);
    if script == "peers" {
        peers_summary(&json?);
    } else {
        faults_summary(&json?);
    }
    Ok(())
}

/// "12,345 / 4,567 / 3,210" (raw / gzip / brotli), or "n/a".
fn sizes3(v: &Value) -> String {
    if v.is_object() {
        format!("{} / {} / {}", bytes(&v["raw"]), bytes(&v["gzip"]), bytes(&v["brotli"]))
    } else {
        "n/a".into()
    }
}

/// C2. The peers beside ours (tests/bench/peers.mjs).
fn render_peers(s: &mut String, p: &Value) {
    let _ = writeln!(s, "## Peers side by side\n");
    let _ = writeln!(
        s,
        "`node tests/bench/peers.mjs`: each embeddable chat widget that ships its client in its npm package, \
         fetched at the version pinned in tests/bench/peers.json (`npm pack`, and `npm install --prefix \
         target/peers/<name> --ignore-scripts` where its dependencies install; the tarballs are kept in \
         target/peers/cache, so later runs need no registry), shipped on the same local host page as a site \
         would ship it (a React component library is bundled and minified with esbuild), and ours \
         (loader.js, which loads the widget on interest). Headless Chromium, cache disabled, a fresh context \
         per run, CPU throttled ×{} (CDP `Emulation.setCPUThrottlingRate`), medians of {} runs. Requests to \
         other hosts are refused (the machine is offline), so a widget whose client lives in a hosted \
         service shows what its package does without it. Bytes are the files the widget fetched, as raw, \
         gzip -9 and brotli -q 11 of the served file (the host page excluded). *Before*: navigation to the \
         page settled (network idle + 1 s). *After*: what the click on the launcher added. Long tasks \
         (PerformanceObserver `longtask`, the page and its same-origin frames) and total blocking time \
         (Σ over long tasks of the time past 50 ms) before interaction, and the TBT the widget adds over the \
         page alone; then after the click. *Interest → interactive*: the first pointer event on the \
         launcher to the chat input visible, enabled and writable (checked every animation frame).\n",
        p["throttle"], p["runs"]
    );
    let _ = writeln!(
        s,
        "| widget | loads everything up front | files before | before interaction raw / gzip / brotli (B) | \
         after interaction raw / gzip / brotli (B) | long tasks before | TBT before (added over the page) | \
         long tasks / TBT after the click | interest → interactive |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let widgets: Vec<&Value> = p["widgets"].as_array().into_iter().flatten().collect();
    for w in &widgets {
        let none = w["name"] == "none";
        let up = match w["upFront"].as_bool() {
            Some(true) => "**yes**",
            Some(false) => "no",
            None => "",
        };
        let interactive = if none {
            String::new()
        } else if w["interactiveRuns"].as_u64().unwrap_or(0) > 0 {
            format!("{} ms", ms(&w["interestToInteractive"]))
        } else {
            "not reached (below)".into()
        };
        let _ = writeln!(
            s,
            "| {} | {up} | {} | {} | {} | {} | {} ms ({} ms) | {} | {interactive} |",
            w["label"].as_str().unwrap_or("?"),
            w["bytesBefore"]["files"],
            sizes3(&w["bytesBefore"]),
            if none { String::new() } else { sizes3(&w["bytesAfter"]) },
            w["longTasksBefore"],
            format_args!("{:.0}", num(&w["tbtBefore"])),
            format_args!("{:.0}", num(&w["tbtAddedBefore"])),
            if none { String::new() } else { format!("{} / {:.0} ms", w["longTasksAfter"], num(&w["tbtAfter"])) },
        );
    }
    let _ = writeln!(s);
    for w in widgets.iter().filter(|w| w["name"] != "none") {
        peer_notes(s, w);
    }
    let _ = writeln!(
        s,
        "\nPublished figures of hosted peers, cited as context (not measured here: their clients are not \
         published as packages): Chatwoot's widget about 170 KiB; Intercom's messenger about 600 KB gzip; \
         LiveChat's widget 610 ms of main-thread blocking. These are the figures stated in issue 17; no \
         source page for them is in the handbook (/work/shared/seeds), so they stay unverified.\n"
    );
}

/// One line per widget: how it is shipped, what it leaves to a hosted service, why the
/// input was not reached, and the hosts it tried to reach.
fn peer_notes(s: &mut String, w: &Value) {
    let mut parts = vec![w["ship"].as_str().unwrap_or("").to_string()];
    if let Some(h) = w["hosted"].as_str() {
        parts.push(h.to_string());
    }
    let list = |k: &str| -> Vec<String> {
        w[k].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    let why = list("notInteractive");
    if !why.is_empty() {
        parts.push(format!("input not reached: {}", why.join("; ")));
    }
    let ext = list("external");
    if !ext.is_empty() {
        parts.push(format!("refused requests to {}", ext.join(", ")));
    }
    let errors = list("pageErrors");
    if !errors.is_empty() {
        let first: Vec<String> = errors.iter().map(|e| e.lines().next().unwrap_or("").to_string()).collect();
        parts.push(format!("page errors: {}", first.join("; ")));
    }
    if w["failed"].as_u64().unwrap_or(0) > 0 {
        parts.push(format!("{} runs failed: {}", w["failed"], list("errors").join("; ")));
    }
    let text = parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("; ");
    let _ = writeln!(s, "- {}: {}.", w["label"].as_str().unwrap_or("?"), text.replace('|', "\\|"));
}

fn peers_summary(p: &Value) {
    for w in p["widgets"].as_array().into_iter().flatten() {
        println!(
            "bench: peer {}: {} B gzip before interaction, TBT {:.0} ms, interest->interactive {}",
            w["label"].as_str().unwrap_or("?"),
            bytes(&w["bytesBefore"]["gzip"]),
            num(&w["tbtBefore"]),
            if w["interactiveRuns"].as_u64().unwrap_or(0) > 0 {
                format!("{} ms", ms(&w["interestToInteractive"]))
            } else {
                "n/a".into()
            }
        );
    }
}

/// D2. The fault matrix (tests/bench/faults.mjs).
fn render_faults(s: &mut String, f: &Value) {
    let _ = writeln!(s, "### Fault matrix: every emulator fault at every ServiceTitan step\n");
    let _ = writeln!(
        s,
        "`node tests/bench/faults.mjs` against the same stack. The steps are the ServiceTitan calls of a clean \
         booking ({}), plus the token: its faults are reached by rejecting the worker's cached token once (401 \
         on its first call), so it must fetch a new one from the faulted token endpoint. Each cell is one new \
         homeowner's booking with that one fault installed once (`POST /_admin/faults`, `count: 1`), posted \
         with the same idempotency key until \"booked\", then the emulator's records polled for the phone. \
         A cell reads `1/1/1` when it ended with exactly one customer, one location and one job, then the \
         retries: calls to the faulted step beyond the clean run's. Cells that did not book or end with \
         exactly one of each are listed below the table.\n",
        f["clean"]["calls"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
    );
    let faults: Vec<&str> = f["faults"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let _ = writeln!(s, "| step | {} |\n|---|{}", faults.join(" | "), "---|".repeat(faults.len()));
    let cells: Vec<&Value> = f["cells"].as_array().into_iter().flatten().collect();
    for step in f["steps"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let row: Vec<String> = faults
            .iter()
            .map(|fault| {
                cells
                    .iter()
                    .find(|c| c["step"] == step && c["fault"] == *fault)
                    .map(|c| fault_cell(c))
                    .unwrap_or_else(|| "not run".into())
            })
            .collect();
        let _ = writeln!(s, "| `{step}` | {} |", row.join(" | "));
    }
    let _ = writeln!(
        s,
        "\n{} cells: not booked {}, not exactly one customer, location and job {}, fault never reached {}.\n",
        cells.len(),
        f["notBooked"],
        f["notExactlyOne"],
        f["faultNotHit"]
    );
    for c in cells.iter().filter(|c| c["exactlyOne"] != true || c["booked"] != true || c["faultHits"] == 0) {
        let _ = writeln!(
            s,
            "- `{}` × {}: answers {}, records {}, fault hits {}{}",
            c["step"].as_str().unwrap_or("?"),
            c["fault"].as_str().unwrap_or("?"),
            c["answers"],
            c["records"],
            c["faultHits"],
            c["note"].as_str().map(|n| format!(": {n}")).unwrap_or_default()
        );
    }
    let _ =
        writeln!(s, "\n<details><summary>Every cell: time to records, the calls beyond the clean run's</summary>\n");
    let _ = writeln!(
        s,
        "| step | fault | booked | records in | retries | calls beyond the clean run's |\n|---|---|---|---:|---:|---|"
    );
    for c in &cells {
        let extra: Vec<&str> = c["extra"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} ms | {} | {} |",
            c["step"].as_str().unwrap_or("?"),
            c["fault"].as_str().unwrap_or("?"),
            if c["booked"] == true { "yes" } else { "**no**" },
            c["recordedMs"],
            c["retries"],
            if extra.is_empty() { "none".to_string() } else { extra.join(", ") }
        );
    }
    let _ = writeln!(s, "\n</details>\n");
}

/// "1/1/1, 2 retries" (customers/locations/jobs), bold when not exactly one each.
fn fault_cell(c: &Value) -> String {
    let r = &c["records"];
    let jobs = r["jobs"].as_u64().unwrap_or(0) + r["bookings"].as_u64().unwrap_or(0);
    let counts = format!("{}/{}/{jobs}", r["customers"], r["locations"]);
    let retries = match c["retries"].as_u64().unwrap_or(0) {
        1 => "1 retry".to_string(),
        n => format!("{n} retries"),
    };
    if c["exactlyOne"] == true && c["booked"] == true {
        format!("{counts}, {retries}")
    } else {
        format!("**{counts}**, {retries}")
    }
}

fn faults_summary(f: &Value) {
    println!(
        "bench: fault matrix: {} cells, not booked {}, not exactly one record each {}, fault never reached {}",
        f["cells"].as_array().map_or(0, Vec::len),
        f["notBooked"],
        f["notExactlyOne"],
        f["faultNotHit"]
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_peers_table_says_which_load_up_front_and_why_an_input_was_not_reached() {
        let p = json!({"throttle": 4, "runs": 3, "widgets": [
            {"name": "none", "label": "host page alone (no widget)", "bytesBefore": {"raw": 0, "gzip": 0, "brotli": 0, "files": 0},
             "longTasksBefore": 0, "tbtBefore": 0, "tbtAddedBefore": 0},
            {"name": "ours", "label": "ours", "upFront": false, "interactiveRuns": 3, "interestToInteractive": 512.3,
             "bytesBefore": {"raw": 1200, "gzip": 800, "brotli": 600, "files": 1},
             "bytesAfter": {"raw": 300000, "gzip": 150000, "brotli": 120000, "files": 2},
             "longTasksBefore": 0, "tbtBefore": 0, "tbtAddedBefore": 0, "longTasksAfter": 2, "tbtAfter": 90},
            {"name": "x", "label": "@x/chat@1.0.0", "upFront": true, "interactiveRuns": 0, "ship": "the tarball",
             "notInteractive": ["no visible launcher"], "external": ["x.example"],
             "bytesBefore": {"raw": 2000000, "gzip": 500000, "brotli": 400000, "files": 3},
             "bytesAfter": {"raw": 0, "gzip": 0, "brotli": 0, "files": 0},
             "longTasksBefore": 9, "tbtBefore": 700, "tbtAddedBefore": 700, "longTasksAfter": 0, "tbtAfter": 0}]});
        let mut s = String::new();
        render_peers(&mut s, &p);
        assert!(s.contains("| ours | no | 1 | 1,200 / 800 / 600 | 300,000 / 150,000 / 120,000 | 0 | 0 ms (0 ms) | 2 / 90 ms | 512.3 ms |"), "{s}");
        assert!(s.contains("| @x/chat@1.0.0 | **yes** | 3 | 2,000,000 / 500,000 / 400,000 |"), "{s}");
        assert!(s.contains("not reached (below)"), "{s}");
        assert!(
            s.contains(
                "- @x/chat@1.0.0: the tarball; input not reached: no visible launcher; refused requests to x.example."
            ),
            "{s}"
        );
        assert!(s.contains("Chatwoot") && s.contains("Intercom") && s.contains("610 ms"), "{s}");
    }

    #[test]
    fn a_fault_cell_is_bold_unless_it_booked_exactly_one_of_each() {
        let one = json!({"records": {"customers": 1, "locations": 1, "jobs": 1, "bookings": 0}, "retries": 1,
                         "exactlyOne": true, "booked": true});
        assert_eq!(fault_cell(&one), "1/1/1, 1 retry");
        let two = json!({"records": {"customers": 2, "locations": 1, "jobs": 1, "bookings": 0}, "retries": 0,
                         "exactlyOne": false, "booked": true});
        assert_eq!(fault_cell(&two), "**2/1/1**, 0 retries");
    }
}
