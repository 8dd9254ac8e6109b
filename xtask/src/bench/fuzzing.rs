//! Fuzzing in the bench (issue 17 item 5: at least 10 minutes in total): `cargo xtask
//! fuzz`'s own run (xtask/src/fuzz.rs: cargo-fuzz, libFuzzer, `--sanitizer none` on
//! stable Rust), every target for an equal share, and its section of BENCHMARKS.md.

use std::fmt::Write as _;

use crate::{fuzz, root, Fail};

/// One target's run as the bench reports it.
pub(super) struct Target {
    name: &'static str,
    seconds: u64,
    runs: u64,
    /// Inputs in the corpus after the run: the seeds kept in the repo plus what the run found.
    seeds: usize,
    found: usize,
    crashed: bool,
}

/// Fuzzes every target for its share of `minutes`.
pub(super) fn run(minutes: f64) -> Result<Vec<Target>, Fail> {
    let seconds = ((minutes * 60.0) / fuzz::TARGETS.len() as f64).ceil() as u64;
    let runs = fuzz::coverage(minutes)?;
    Ok(runs
        .into_iter()
        .map(|r| Target {
            name: r.target,
            seconds,
            runs: r.runs,
            seeds: files_in(&format!("fuzz/corpus/{}", r.target)),
            found: files_in(&format!("target/fuzz-corpus/{}", r.target)),
            crashed: r.crashed,
        })
        .collect())
}

fn files_in(dir: &str) -> usize {
    std::fs::read_dir(root().join(dir)).map(|d| d.flatten().count()).unwrap_or(0)
}

pub(super) fn render(s: &mut String, targets: &[Target]) {
    let total: u64 = targets.iter().map(|t| t.seconds).sum();
    let _ = writeln!(s, "\n## Fuzzing\n");
    let _ = writeln!(
        s,
        "`cargo xtask fuzz --minutes {}` (xtask/src/fuzz.rs), run by the bench after the load's answers and before the soak: coverage-guided \
         fuzzing with libFuzzer through cargo-fuzz, built with `--sanitizer none` (this machine has stable Rust \
         only), every target for an equal share, {:.1} minutes in all. A target starts from its seeds in the repo \
         (fuzz/corpus/<target>/) and what earlier runs found (target/fuzz-corpus/<target>/, not in the repo); a \
         panic ends its run and leaves the input in fuzz/artifacts/.\n",
        super::FUZZ_MINUTES,
        total as f64 / 60.0
    );
    let _ = writeln!(
        s,
        "| target | seconds | runs | corpus: seeds in the repo + found | panics |\n|---|---:|---:|---:|---:|"
    );
    for t in targets {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} + {} | {} |",
            t.name,
            t.seconds,
            super::bytes(&t.runs.into()),
            t.seeds,
            t.found,
            if t.crashed { "**1**" } else { "0" }
        );
    }
}

pub(super) fn summary(targets: &[Target]) {
    for t in targets {
        println!(
            "bench: fuzz {}: {} runs in {} s, corpus {} + {}, {}",
            t.name,
            t.runs,
            t.seconds,
            t.seeds,
            t.found,
            if t.crashed { "PANICKED" } else { "0 panics" }
        );
    }
}
