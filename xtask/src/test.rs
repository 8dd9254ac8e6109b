//! `cargo xtask test`: every test, one summary line.
//!
//! 0. tidy (`cargo xtask tidy`: rustfmt, clippy, booking-core's no-I/O rule, storage keys),
//! 1. native tests of the whole workspace (`cargo test`),
//! 2. release wasm builds of the widget and the worker,
//! 3. browser end-to-end tests (tests/e2e, node's test runner driving Debian's Chromium)
//!    against the real worker on workerd and the ServiceTitan emulator,
//! 4. `cargo xtask bench --quick` (sizes and a small load; not with `--only`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::stack::{self, Credentials, Ports, Target};
use crate::{bench, bundle, fuzz, root, tidy, tools, Fail};

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    broken_steps: Vec<String>,
}

/// Runs a command, echoing its output, and returns the lines.
fn run_capture(cmd: &mut Command) -> Result<(bool, Vec<String>), Fail> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Fail(format!("{:?}: {e}", cmd.get_program())))?;
    let mut lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            lines.push(line);
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    Ok((ok, lines))
}

/// Sums `test result: ok. 3 passed; 1 failed; ...` lines.
fn count_cargo(lines: &[String], tally: &mut Tally) {
    for l in lines.iter().filter(|l| l.starts_with("test result:")) {
        let num = |word: &str| {
            l.split(';')
                .find(|p| p.trim_end().ends_with(word))
                .and_then(|p| p.split_whitespace().rev().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        tally.passed += num("passed");
        tally.failed += num("failed");
    }
}

/// Reads TAP's `# pass N` / `# fail N` from node's test runner.
fn count_tap(lines: &[String], tally: &mut Tally) {
    for l in lines {
        if let Some(n) = l.strip_prefix("# pass ").and_then(|n| n.trim().parse::<u64>().ok()) {
            tally.passed += n;
        }
        if let Some(n) = l.strip_prefix("# fail ").and_then(|n| n.trim().parse::<u64>().ok()) {
            tally.failed += n;
        }
    }
}

/// Runs the suite. `--no-e2e` skips the browser part, `--no-native` the cargo tests and
/// tidy, `--no-tidy` tidy alone, `--only NAME` runs only the browser test files whose name
/// contains NAME (handy while working on the widget or the worker; CI runs everything).
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let e2e = !args.iter().any(|a| a == "--no-e2e");
    let native = !args.iter().any(|a| a == "--no-native");
    let tidy = native && !args.iter().any(|a| a == "--no-tidy");
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let mut tally = Tally::default();
    tools::ensure_build_tools()?;
    if e2e {
        tools::ensure_chromium()?;
    }

    if tidy {
        println!("xtask: tidy");
        for p in tidy::problems() {
            println!("tidy: {p}");
            tally.broken_steps.push(format!("tidy: {p}"));
        }
    }

    if native {
        println!("xtask: native tests");
        let (ok, lines) =
            run_capture(Command::new("cargo").args(["test", "--workspace", "--no-fail-fast"]).current_dir(root()))?;
        count_cargo(&lines, &mut tally);
        if !ok {
            tally.broken_steps.push("native tests".into());
        }
    }

    if native {
        fuzz_briefly(&mut tally);
    }

    if e2e {
        match bundle::all() {
            Err(Fail(m)) => tally.broken_steps.push(format!("build: {m}")),
            Ok(()) => browser_tests(&mut tally, only.as_deref())?,
        }
    }

    // Last, on the build above: sizes and a small load (issue 17 item 7).
    if e2e && only.is_none() {
        quick_bench(&mut tally);
    }

    for s in &tally.broken_steps {
        println!("xtask: step failed: {s}");
    }
    let failed = tally.failed + tally.broken_steps.len() as u64;
    println!("{} passed, {} failed", tally.passed, failed);
    if failed > 0 {
        Err(Fail("tests failed".into()))
    } else {
        Ok(())
    }
}

/// CI's share of the fuzzing (issue 17): 30 seconds over every libFuzzer target, a
/// crash failing the suite like a failed test.
fn fuzz_briefly(tally: &mut Tally) {
    println!("xtask: fuzzing, 30 s");
    match fuzz::coverage(0.5) {
        Err(Fail(m)) => tally.broken_steps.push(format!("fuzz: {m}")),
        Ok(runs) => {
            for r in runs {
                if r.crashed {
                    tally.broken_steps.push(format!("fuzz {}: crashed, the input is in fuzz/artifacts/", r.target));
                } else {
                    tally.passed += 1;
                }
            }
        }
    }
}

/// `cargo xtask bench --quick`: fails the run on a size budget overrun or any lost or
/// duplicated booking.
fn quick_bench(tally: &mut Tally) {
    println!("xtask: bench --quick");
    match bench::quick() {
        Ok(()) => tally.passed += 1,
        Err(Fail(m)) => tally.broken_steps.push(m),
    }
}

fn browser_tests(tally: &mut Tally, only: Option<&str>) -> Result<(), Fail> {
    println!("xtask: starting emulator, worker and contractor site for the browser tests");
    // Per-run secrets for the admin route and webhook signatures; a receiver port for webhooks.
    let c = Credentials::generate();
    let admin_token = format!("adm-{}", c.client_secret);
    let webhook_secret = format!("whs-{}", c.app_key);
    let webhook_port = stack::free_port();
    // Every test books from one address: the per-IP limits are scaled ×10 so a fast run
    // stays under them (the rate-limit test still exceeds the scaled limit on purpose).
    let vars = [
        ("ADMIN_TOKEN".to_string(), admin_token.clone()),
        ("WEBHOOK_SECRET".to_string(), webhook_secret.clone()),
        ("RATE_LIMIT_MULTIPLIER".to_string(), "10".to_string()),
        // A chat's abandoned office booking waits 10 minutes in production (a reload is
        // not leaving); the tests that leave on purpose wait 2 seconds.
        ("ABANDONED_CHAT_GRACE_SECONDS".to_string(), "2".to_string()),
    ];
    let hook_url = format!("http://127.0.0.1:{webhook_port}/hooks");
    let stack = match stack::start(
        Target::Sandbox(c),
        Ports { site: 0, worker: 0, sandbox: 0 },
        true,
        &vars,
        Some(&hook_url),
    ) {
        Ok(s) => s,
        Err(Fail(m)) => {
            tally.broken_steps.push(format!("start stack: {m}"));
            return Ok(());
        }
    };
    let secrets = stack
        .credentials
        .as_ref()
        .map(|c| {
            [
                c.client_secret.as_str(),
                c.app_key.as_str(),
                c.client_id.as_str(),
                &admin_token,
                &webhook_secret,
                &c.twilio_auth_token,
                &c.voice_tool_secret,
                &c.st_webhook_key,
                &c.email_api_key,
            ]
            .join(",")
        })
        .unwrap_or_default();
    let out = root().join("target/e2e");
    let _ = std::fs::create_dir_all(&out);
    // The Twilio emulator's self-tests (no worker needed) run with the end-to-end files.
    let mut files = Vec::new();
    for dir in ["tests/e2e", "tests/twilio-sandbox"] {
        files.extend(
            std::fs::read_dir(root().join(dir)).map_err(|e| Fail(format!("{dir}: {e}")))?.flatten().map(|e| e.path()),
        );
    }
    let mut files: Vec<_> = files
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .filter(|p| only.is_none_or(|o| p.file_name().is_some_and(|n| n.to_string_lossy().contains(o))))
        .collect();
    files.sort();
    let (ok, lines) = run_capture(
        Command::new("node")
            .args(["--test", "--test-reporter=tap", "--test-concurrency=1"])
            .args(&files)
            .current_dir(root())
            .env("SITE_URL", &stack.site_url)
            .env("WORKER_URL", &stack.worker_url)
            .env("SANDBOX_URL", stack.sandbox_url.clone().unwrap_or_default())
            .env("TWILIO_URL", &stack.twilio_url)
            .env("TWILIO_NUMBER", stack::TWILIO_NUMBER)
            .env("TWILIO_AUTH_TOKEN", stack.credentials.as_ref().map(|c| c.twilio_auth_token.as_str()).unwrap_or(""))
            .env("TWILIO_ACCOUNT_SID", stack.credentials.as_ref().map(|c| c.twilio_account_sid.as_str()).unwrap_or(""))
            .env("VOICE_TOOL_SECRET", stack.credentials.as_ref().map(|c| c.voice_tool_secret.as_str()).unwrap_or(""))
            .env("SECRET_VALUES", secrets)
            .env("ADMIN_TOKEN", &admin_token)
            .env("WEBHOOK_SECRET", &webhook_secret)
            .env("WEBHOOK_PORT", webhook_port.to_string())
            .env("E2E_OUT", &out)
            // The site-owner commands' tests (connect, test-booking) run this very binary.
            .env("XTASK_BIN", std::env::current_exe().unwrap_or_default())
            .env("SANDBOX_CLIENT_ID", stack.credentials.as_ref().map(|c| c.client_id.as_str()).unwrap_or(""))
            .env("SANDBOX_CLIENT_SECRET", stack.credentials.as_ref().map(|c| c.client_secret.as_str()).unwrap_or(""))
            .env("SANDBOX_APP_KEY", stack.credentials.as_ref().map(|c| c.app_key.as_str()).unwrap_or(""))
            .env("SANDBOX_TENANT_ID", stack.credentials.as_ref().map(|c| c.tenant_id.as_str()).unwrap_or(""))
            .env("CHROMIUM", tools::CHROMIUM),
    )?;
    count_tap(&lines, tally);
    if !ok && !lines.iter().any(|l| l.starts_with("# fail ")) {
        tally.broken_steps.push("browser tests did not run".into());
    }
    drop(stack);
    Ok(())
}
