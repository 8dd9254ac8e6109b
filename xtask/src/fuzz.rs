//! `cargo xtask fuzz [N]`: booking-core's fuzz example over N generated inputs
//! (default 1,000,000); fails on any panic or replay/resume mismatch.
//!
//! The release profile aborts on panic, so the example runs in the dev profile at
//! opt-level 3 (panics unwind and are counted; debug assertions and overflow checks
//! stay on). It builds into its own target directory so the shared `target/debug`
//! is not rebuilt at another optimisation level under other people's feet.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{root, Fail};

/// Runs the fuzzer and prints its summary line.
pub(crate) fn run(args: &[String]) -> Result<(), Fail> {
    let n: u64 = match args.first() {
        None => 1_000_000,
        Some(a) => {
            a.replace(['_', ','], "").parse().map_err(|_| Fail(format!("fuzz: {a:?} is not a count of inputs")))?
        }
    };
    println!("xtask fuzz: {n} inputs through extract, Conversation, replay and JSON resume");
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
    // "fuzz: N inputs, P panics (C conversations, M replay/resume mismatches)"
    let count_before = |word: &str| {
        let words: Vec<&str> =
            line.split(|c: char| c.is_whitespace() || c == '(' || c == ',').filter(|w| !w.is_empty()).collect();
        words.windows(2).find(|w| w[1] == word).and_then(|w| w[0].parse::<u64>().ok())
    };
    let panics =
        count_before("panics").ok_or_else(|| Fail(format!("fuzz: cannot read the panic count in {line:?}")))?;
    println!("xtask fuzz: {} s", started.elapsed().as_secs());
    if panics > 0 {
        return Err(Fail(format!("fuzz found {panics} panic(s): {line}")));
    }
    if !status.success() {
        return Err(Fail(format!("fuzz failed ({status}): {line}")));
    }
    Ok(())
}
