//! `cargo xtask fuzz [--minutes N] [--generated N]`.
//!
//! `--minutes N` (default 10): coverage-guided fuzzing with libFuzzer through cargo-fuzz
//! (pinned in tools.rs), every target in `fuzz/fuzz_targets/` for an equal share of N
//! minutes. This machine has stable Rust only, so cargo-fuzz runs with `--sanitizer
//! none`: libFuzzer's coverage instrumentation and its crash detection (a panic aborts
//! the run and leaves the input in `fuzz/artifacts/<target>/`), without AddressSanitizer,
//! which the crate's `#![forbid(unsafe_code)]` makes moot for our code. Each target reads
//! the seeds kept in the repo (`fuzz/corpus/<target>/`) and writes what it finds to
//! `target/fuzz-corpus/<target>/`, so a run never dirties the checkout; copy an input
//! worth keeping into the seeds by hand.
//!
//! `--generated N`: the older generator (booking-core's `fuzz` example), N spliced corpus
//! messages through extract, Conversation, replay and JSON resume.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{root, tools, Fail};

/// The libFuzzer targets, one per entry point a visitor, a caller or a webhook reaches.
pub(crate) const TARGETS: &[&str] = &["conversation", "submission", "twilio_request", "webhooks"];
/// No booking input needs more; longer inputs only slow the search.
const MAX_LEN: &str = "-max_len=4096";

/// What one target's run did.
pub(crate) struct Run {
    pub(crate) target: &'static str,
    pub(crate) runs: u64,
    pub(crate) crashed: bool,
}

/// Runs the fuzzer and prints its summary line.
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    if let Some(n) = value("--generated") {
        let n = n.replace(['_', ','], "").parse().map_err(|_| Fail(format!("fuzz: {n:?} is not a count of inputs")))?;
        return generated(n);
    }
    let minutes = match value("--minutes") {
        None => 10.0,
        Some(m) => m
            .parse::<f64>()
            .ok()
            .filter(|m| *m > 0.0)
            .ok_or_else(|| Fail(format!("fuzz: --minutes takes a number of minutes above 0, not {m:?}")))?,
    };
    let runs = coverage(minutes)?;
    let crashed: Vec<&str> = runs.iter().filter(|r| r.crashed).map(|r| r.target).collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(Fail(format!("fuzzing crashed {}: the inputs are in fuzz/artifacts/", crashed.join(", "))))
    }
}

/// Builds the targets and fuzzes each for its share of `minutes`.
pub(crate) fn coverage(minutes: f64) -> Result<Vec<Run>, Fail> {
    tools::ensure_cargo_fuzz()?;
    let seconds = ((minutes * 60.0) / TARGETS.len() as f64).ceil().max(1.0) as u64;
    println!("xtask fuzz: {} targets, {seconds} s each (libFuzzer, coverage-guided)", TARGETS.len());
    crate::run(cargo_fuzz().args(["build", "--sanitizer", "none", "-O"]))?;
    TARGETS.iter().map(|t| one(t, seconds)).collect()
}

fn cargo_fuzz() -> Command {
    let mut cmd = Command::new(tools::cargo_fuzz());
    // Its own target directory: the instrumented booking-core must not replace the
    // shared `target/release` one under other builds' feet.
    cmd.current_dir(root()).env("CARGO_TARGET_DIR", root().join("target/fuzz-libfuzzer"));
    cmd
}

fn one(target: &'static str, seconds: u64) -> Result<Run, Fail> {
    let found = root().join("target/fuzz-corpus").join(target);
    std::fs::create_dir_all(&found).map_err(|e| Fail(format!("{}: {e}", found.display())))?;
    let out = cargo_fuzz()
        .args(["run", "--sanitizer", "none", "-O", target])
        .arg(&found)
        .arg(root().join("fuzz/corpus").join(target))
        .args(["--", MAX_LEN, &format!("-max_total_time={seconds}"), "-print_final_stats=1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Fail(format!("cargo fuzz run {target}: {e}")))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let runs =
        log.lines().find_map(|l| l.strip_prefix("stat::number_of_executed_units:")).and_then(|n| n.trim().parse().ok());
    let crashed = !out.status.success();
    if crashed {
        // The panic message and libFuzzer's account of the input, for whoever reads CI.
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    let run = Run { target, runs: runs.unwrap_or(0), crashed };
    println!(
        "fuzz {target}: {} runs in {seconds} s, {}",
        run.runs,
        if crashed { "CRASHED (input in fuzz/artifacts/)" } else { "0 crashes" }
    );
    Ok(run)
}

/// The generated-input fuzzer: booking-core's `fuzz` example over `n` inputs.
///
/// The release profile aborts on panic, so the example runs in the dev profile at
/// opt-level 3 (panics unwind and are counted; debug assertions and overflow checks
/// stay on), in its own target directory.
fn generated(n: u64) -> Result<(), Fail> {
    println!("xtask fuzz: {n} generated inputs through extract, Conversation, replay and JSON resume");
    let started = Instant::now();
    let mut child = Command::new("cargo")
        .args(["run", "--quiet", "-p", "booking-core", "--example", "fuzz", "--"])
        .arg(n.to_string())
        .current_dir(root())
        .env("CARGO_PROFILE_DEV_OPT_LEVEL", "3")
        .env("CARGO_TARGET_DIR", root().join("target/fuzz"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Fail(format!("cargo run fuzz: {e}")))?;
    let mut summary = None;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if line.starts_with("fuzz: ") {
                summary = Some(line);
            }
        }
    }
    let status = child.wait().map_err(|e| Fail(format!("fuzz: {e}")))?;
    let line = summary.ok_or_else(|| Fail(format!("the fuzz example printed no summary ({status})")))?;
    println!("xtask fuzz: {} s", started.elapsed().as_secs());
    if !status.success() {
        return Err(Fail(format!("fuzz failed ({status}): {line}")));
    }
    Ok(())
}
