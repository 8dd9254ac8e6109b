//! The binary as xtask runs it: one stdout line, then a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_one_line_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_st-sandbox"))
        .args(["--port", "0", "--client-id", "c", "--client-secret", "s", "--app-key", "k"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("st-sandbox listening on http://127.0.0.1:").map(str::to_string);
    let port: Option<u16> = url.and_then(|p| p.parse().ok());
    assert!(port.is_some_and(|p| p > 0), "{line:?}");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_flags_fail_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_st-sandbox")).args(["--port", "nope"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    assert!(out.stdout.is_empty());
}
