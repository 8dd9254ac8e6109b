//! `cargo xtask <command>`: the project's own commands. See README.md.
//!
//! - `demo`: install what is missing, build, start emulator + worker + contractor site.
//! - `test`: tidy, native tests, wasm builds, browser end-to-end; ends with `N passed, N failed`.
//! - `tidy`: only the invariant checks (formatting, lints, booking-core's no-I/O rule, storage keys).
//! - `build`: only build the widget, the worker and the emulator.

mod bench;
mod bundle;
mod connect;
mod demo;
mod fuzz;
mod serve;
mod stack;
mod test;
mod test_booking;
mod tidy;
mod tools;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// A step failed; the message says which and why.
#[derive(Debug)]
pub struct Fail(pub String);

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// Runs a command, inheriting output; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<(), Fail> {
    let status = cmd.status().map_err(|e| Fail(format!("{:?}: {e}", cmd.get_program())))?;
    if status.success() {
        Ok(())
    } else {
        Err(Fail(format!("{:?} {:?} exited with {status}", cmd.get_program(), cmd.get_args().collect::<Vec<_>>())))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("tidy") => tidy::run(&args[1..]),
        Some("build") => bundle::all(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("connect") => connect::run(&args[1..]),
        Some("test-booking") => test_booking::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <demo|test|tidy|build|bench|fuzz [--minutes N]|connect|test-booking>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(m)) => {
            eprintln!("xtask: {m}");
            ExitCode::FAILURE
        }
    }
}
