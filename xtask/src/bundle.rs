//! Builds what the browser and workerd load: the widget bundle and the worker bundle.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::SystemTime;

use crate::tools::{self, node_bin, WASM_TARGET};
use crate::{root, run, Fail};

/// wasm-opt must be told the features rustc emits, or it rejects bulk-memory ops.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-sign-ext",
    "--enable-mutable-globals",
];

/// Newest modification time under these paths (files or directories, recursively).
fn newest(paths: &[PathBuf]) -> Option<SystemTime> {
    let mut best = None;
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(meta) = fs::metadata(&p) else { continue };
        if meta.is_dir() {
            stack.extend(fs::read_dir(&p).into_iter().flatten().flatten().map(|e| e.path()));
        } else if let Ok(m) = meta.modified() {
            best = best.max(Some(m));
        }
    }
    best
}

/// True when every output exists and is newer than every input: the demo's second run
/// skips bundling and starts in seconds.
fn up_to_date(outputs: &[PathBuf], inputs: &[PathBuf]) -> bool {
    let oldest_output = outputs.iter().map(|o| fs::metadata(o).and_then(|m| m.modified()).ok()).min().flatten();
    matches!((oldest_output, newest(inputs)), (Some(o), Some(i)) if o > i)
}

fn core_inputs() -> Vec<PathBuf> {
    let r = root();
    vec![r.join("shared/src"), r.join("shared/Cargo.toml"), r.join("Cargo.lock"), r.join("Cargo.toml")]
}

/// Release wasm build of the widget into `widget/dist/`.
pub(crate) fn widget() -> Result<(), Fail> {
    let r = root();
    let mut inputs = core_inputs();
    inputs.extend([
        r.join("widget/src"),
        r.join("widget/Cargo.toml"),
        r.join("widget/loader.src.js"),
        r.join("widget/frame.html"),
    ]);
    let outputs: Vec<PathBuf> = ["loader.js", "widget.js", "widget_bg.wasm", "frame.html"]
        .iter()
        .flat_map(|n| [r.join("widget/dist").join(n), r.join("target/worker-assets/widget").join(n)])
        .collect();
    if up_to_date(&outputs, &inputs) {
        return Ok(());
    }
    run(Command::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "booking-widget", "--target", WASM_TARGET])
        .current_dir(&r))?;
    let bg = r.join("target/widget-bg");
    let dist = r.join("widget/dist");
    fs::create_dir_all(&dist).map_err(|e| Fail(format!("widget/dist: {e}")))?;
    run(Command::new(tools::wasm_bindgen())
        .args(["--target", "web", "--no-typescript", "--out-name", "widget", "--out-dir"])
        .arg(&bg)
        .arg(r.join("target/wasm32-unknown-unknown/release/booking_widget.wasm")))?;
    run(Command::new(node_bin("wasm-opt"))
        .arg("-Oz")
        // Browsers ignore these custom sections; every visitor would download them.
        .args(["--strip-producers", "--strip-target-features"])
        .args(WASM_OPT_FEATURES)
        .arg(bg.join("widget_bg.wasm"))
        .arg("-o")
        .arg(dist.join("widget_bg.wasm")))?;
    run(Command::new(node_bin("terser"))
        .args(["-c", "-m", "--module", "-o"])
        .arg(dist.join("widget.js"))
        .arg(bg.join("widget.js")))?;
    run(Command::new(node_bin("terser"))
        .args(["-c", "-m", "-o"])
        .arg(dist.join("loader.js"))
        .arg(r.join("widget/loader.src.js")))?;
    fs::copy(r.join("widget/frame.html"), dist.join("frame.html")).map_err(|e| Fail(format!("frame.html: {e}")))?;
    // The worker serves the same bundle under /widget/ (its static assets).
    let assets = r.join("target/worker-assets/widget");
    fs::create_dir_all(&assets).map_err(|e| Fail(format!("{}: {e}", assets.display())))?;
    for name in ["loader.js", "widget.js", "widget_bg.wasm", "frame.html"] {
        fs::copy(dist.join(name), assets.join(name)).map_err(|e| Fail(format!("{name}: {e}")))?;
    }
    Ok(())
}

/// Release build of the worker into `edge-worker/build/` with the pinned tools.
pub(crate) fn worker() -> Result<(), Fail> {
    let r = root();
    let mut inputs = core_inputs();
    inputs.extend([
        r.join("edge-worker/src"),
        r.join("edge-worker/Cargo.toml"),
        r.join("edge-worker/build.rs"),
        r.join("examples/sites"),
    ]);
    if up_to_date(&[r.join("edge-worker/build/index.js"), r.join("edge-worker/build/index_bg.wasm")], &inputs) {
        return Ok(());
    }
    run(Command::new(tools::worker_build())
        .arg("--release")
        .current_dir(root().join("edge-worker"))
        // Without these worker-build downloads its own copies from hosts we cannot reach.
        .env("WASM_BINDGEN_BIN", tools::wasm_bindgen())
        .env("ESBUILD_BIN", node_bin("esbuild"))
        .env("WASM_OPT_BIN", node_bin("wasm-opt")))
}

/// Native release build of the ServiceTitan emulator.
pub(crate) fn sandbox() -> Result<(), Fail> {
    run(Command::new("cargo").args(["build", "--quiet", "--release", "-p", "st-sandbox"]).current_dir(root()))
}

/// Everything `demo` and the browser tests need.
pub(crate) fn all() -> Result<(), Fail> {
    tools::ensure_build_tools()?;
    println!("xtask: building the ServiceTitan emulator, the widget and the worker (release)");
    sandbox()?;
    widget()?;
    worker()
}
