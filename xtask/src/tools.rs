//! Every tool version, pinned here and only here, and their idempotent installs.
//!
//! A second run finds everything in place and prints nothing. Tools whose defaults
//! download binaries from hosts this machine cannot reach (worker-build's wasm-bindgen
//! and binaryen, Playwright's browsers) are pointed at the pinned local copies instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run, Fail};

/// wasm-bindgen-cli must equal the `wasm-bindgen` crate in Cargo.lock (checked).
pub(crate) const WASM_BINDGEN: &str = "0.2.130";
/// worker-build, the workers-rs bundler.
pub(crate) const WORKER_BUILD: &str = "0.8.7";
/// cargo-fuzz, libFuzzer's cargo front end (`cargo xtask fuzz`; `fuzz/Cargo.lock` pins
/// libfuzzer-sys).
pub(crate) const CARGO_FUZZ: &str = "0.13.2";
/// npm packages; package.json must list exactly these (checked), `npm ci` installs them.
pub(crate) const NPM: &[(&str, &str)] = &[
    ("axe-core", "4.11.0"),
    ("binaryen", "132.0.0"),
    ("esbuild", "0.28.2"),
    ("playwright-core", "1.65.1"),
    ("terser", "5.44.1"),
    ("wrangler", "4.86.0"),
    // The Twilio emulator's WebSockets (ConversationRelay).
    ("ws", "8.18.0"),
];
/// The wasm target.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Chromium, driven by playwright-core.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    home.join("bin").join(name)
}

/// Path of the pinned wasm-bindgen.
pub(crate) fn wasm_bindgen() -> PathBuf {
    cargo_bin("wasm-bindgen")
}

/// Path of the pinned worker-build.
pub(crate) fn worker_build() -> PathBuf {
    cargo_bin("worker-build")
}

/// Path of the pinned cargo-fuzz.
pub(crate) fn cargo_fuzz() -> PathBuf {
    cargo_bin("cargo-fuzz")
}

/// Installs the pinned cargo-fuzz if it is missing (a first `cargo xtask fuzz` or test).
pub(crate) fn ensure_cargo_fuzz() -> Result<(), Fail> {
    if version_of(&cargo_fuzz()).is_some_and(|v| v.ends_with(CARGO_FUZZ)) {
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz {CARGO_FUZZ} (a few minutes, once)");
    run(Command::new("cargo").args(["install", "--quiet", "--locked", "cargo-fuzz", "--version", CARGO_FUZZ]))
}

/// A binary from node_modules/.bin.
pub(crate) fn node_bin(name: &str) -> PathBuf {
    root().join("node_modules/.bin").join(name)
}

fn version_of(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn lockfile_wasm_bindgen() -> Result<String, Fail> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| Fail(format!("Cargo.lock: {e}")))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(Fail("Cargo.lock has no wasm-bindgen".into()))
}

/// Installs what is missing: wasm target, wasm-bindgen-cli, worker-build, node packages.
pub(crate) fn ensure_build_tools() -> Result<(), Fail> {
    let locked = lockfile_wasm_bindgen()?;
    if locked != WASM_BINDGEN {
        return Err(Fail(format!(
            "Cargo.lock has wasm-bindgen {locked} but xtask pins {WASM_BINDGEN}; change both together"
        )));
    }
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    let has_target = targets.map(|o| String::from_utf8_lossy(&o.stdout).contains(WASM_TARGET)).unwrap_or(false);
    if !has_target {
        println!("xtask: adding the {WASM_TARGET} target");
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    // The two cargo installs are the slow part of a first run; they overlap well
    // (each has long single-crate compile and link phases), so they run side by side.
    let mut installs = Vec::new();
    if !version_of(&wasm_bindgen()).is_some_and(|v| v.ends_with(WASM_BINDGEN)) {
        println!("xtask: installing wasm-bindgen-cli {WASM_BINDGEN} (several minutes, once)");
        // Without --locked: its lockfile pins a crate version the registry mirror lacks.
        installs.push(
            Command::new("cargo").args(["install", "--quiet", "wasm-bindgen-cli", "--version", WASM_BINDGEN]).spawn(),
        );
    }
    if !version_of(&worker_build()).is_some_and(|v| v.ends_with(WORKER_BUILD)) {
        println!("xtask: installing worker-build {WORKER_BUILD} (several minutes, once)");
        installs.push(
            Command::new("cargo")
                .args(["install", "--quiet", "--locked", "worker-build", "--version", WORKER_BUILD])
                .spawn(),
        );
    }
    for child in installs {
        let ok = child.and_then(|mut c| c.wait()).map(|s| s.success()).unwrap_or(false);
        if !ok {
            return Err(Fail("cargo install failed (see above)".into()));
        }
    }
    ensure_node_packages()
}

fn ensure_node_packages() -> Result<(), Fail> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("package.json")).map_err(|e| Fail(format!("package.json: {e}")))?,
    )
    .map_err(|e| Fail(format!("package.json: {e}")))?;
    for (name, version) in NPM {
        if manifest["devDependencies"][name] != *version {
            return Err(Fail(format!("package.json must pin {name} {version} (xtask/src/tools.rs is the source)")));
        }
    }
    let installed = root().join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&installed), std::fs::metadata(root().join("package-lock.json"))) {
        (Ok(i), Ok(l)) => i.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if !fresh || !node_bin("wrangler").exists() {
        println!("xtask: npm ci");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(root()))?;
    }
    Ok(())
}

/// Installs Debian's Chromium when absent (tests and bench only).
pub(crate) fn ensure_chromium() -> Result<(), Fail> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    println!("xtask: installing chromium with apt-get");
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run(Command::new("apt-get").args(["update", "-qq"]).envs(env))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq", "chromium"]).envs(env))
}
