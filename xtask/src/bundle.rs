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
    short_names(&bg.join("widget_bg.wasm"), &bg.join("widget.js"))?;
    run(Command::new(node_bin("wasm-opt"))
        // Each measured on the widget (brotli): --converge repeats -Oz while it shrinks
        // (-0.3 KB); --low-memory-unused lets it fold constant offsets into loads, since
        // the low 1 KB of memory is never used: rustc puts the stack in the first megabyte,
        // growing down from its top, and the data above it (-0.5 KB);
        // --reorder-functions-by-name puts each crate's and type's functions side by side,
        // which brotli compresses better (-0.7 KB).
        .args(["--low-memory-unused", "-Oz", "--converge", "--reorder-functions-by-name"])
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
        // Arrows for the callbacks (none uses `this` or `arguments`): every page pays
        // the loader, and ES2020 is what its `import()` needs anyway (-16 B gzip).
        .args(["--ecma", "2020", "-c", "passes=2,unsafe_arrows=true", "-m", "-o"])
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

/// The JavaScript module name wasm-bindgen gives the widget's imports.
const BINDGEN_MODULE: &str = "./widget_bg.js";

/// Exports of wasm-streams' `#[wasm_bindgen]` classes (`IntoUnderlyingSource`, `..Sink`,
/// `..ByteSource`): server_fn, which leptos always links, brings them for streaming
/// server functions, which the widget has none of. wasm-bindgen exports every
/// `#[wasm_bindgen]` type of every crate, so only dropping the exports lets wasm-opt
/// drop their code (about 1.3 KB brotli, and their JS classes 0.5 KB). Their JS classes
/// read them, so they are named here.
const UNUSED_EXPORT: &str = "intounderlying";

/// Renames the wasm's imports and exports to short names in both files (wasm-bindgen
/// names each import `__wbg_<method>_<16 hex digits>` and writes every name twice, in
/// the wasm and in the JS: about 3.5 KB brotli of names no one reads), and drops the
/// unused wasm-streams exports. The names change, nothing else: every import keeps its
/// function, every kept export its index; exports the JS never reads are dropped. Fails
/// when the JS does not name an import the way wasm-bindgen 0.2.130 writes it (`NAME:
/// function`, once), so a newer wasm-bindgen cannot silently break the bundle.
fn short_names(wasm_path: &std::path::Path, js_path: &std::path::Path) -> Result<(), Fail> {
    let fail = |what: &str| Fail(format!("{}: {what}", wasm_path.display()));
    let wasm = fs::read(wasm_path).map_err(|e| fail(&e.to_string()))?;
    let js = fs::read_to_string(js_path).map_err(|e| Fail(format!("{}: {e}", js_path.display())))?;
    let mut sections = wasm::sections(&wasm).ok_or_else(|| fail("not a wasm module"))?;
    // An export the JS never reads is for no one: the loader calls the JS.
    let read = js::exports_read(&js);
    let keep = |name: &str| read.contains(name) && !name.contains(UNUSED_EXPORT);
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for (id, body) in &mut sections {
        match *id {
            wasm::IMPORT => *body = wasm::rename_imports(body, &mut imports).ok_or_else(|| fail("import section"))?,
            wasm::EXPORT => {
                *body = wasm::rename_exports(body, keep, &mut exports).ok_or_else(|| fail("export section"))?
            }
            _ => {}
        }
    }
    if let Some((module, _)) = imports.iter().find(|(m, _)| m != BINDGEN_MODULE) {
        return Err(fail(&format!("an import from {module:?}, not {BINDGEN_MODULE:?}")));
    }
    let imports: std::collections::HashMap<String, String> = imports.into_iter().map(|(_, n)| n).collect();
    let exports: std::collections::HashMap<String, String> = exports.into_iter().collect();
    let js = js::rename(&js, &imports, &exports).map_err(|e| Fail(format!("{}: {e}", js_path.display())))?;
    fs::write(wasm_path, wasm::module(&sections)).map_err(|e| fail(&e.to_string()))?;
    fs::write(js_path, js).map_err(|e| Fail(format!("{}: {e}", js_path.display())))
}

/// The short name number `i`: `a`..`Z`, then `aa`.. (letters only: valid as JS object
/// keys and after `wasm.`, where even a reserved word such as `do` is allowed).
fn short_name(mut i: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = Vec::new();
    loop {
        name.push(LETTERS[i % LETTERS.len()]);
        i /= LETTERS.len();
        if i == 0 {
            break;
        }
        i -= 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// Just enough of the wasm binary format to rename imports and exports.
mod wasm {
    pub(super) const IMPORT: u8 = 2;
    pub(super) const EXPORT: u8 = 7;

    /// The short module name every import gets.
    pub(super) const MODULE: &str = "a";

    fn leb(b: &[u8], i: &mut usize) -> Option<u32> {
        let (mut n, mut shift) = (0u32, 0);
        loop {
            let byte = *b.get(*i)?;
            *i += 1;
            n |= u32::from(byte & 0x7f).checked_shl(shift)?;
            if byte < 0x80 {
                return Some(n);
            }
            shift += 7;
        }
    }

    fn put_leb(out: &mut Vec<u8>, mut n: u32) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn name(b: &[u8], i: &mut usize) -> Option<String> {
        let len = leb(b, i)? as usize;
        let s = std::str::from_utf8(b.get(*i..*i + len)?).ok()?.to_string();
        *i += len;
        Some(s)
    }

    fn put_name(out: &mut Vec<u8>, s: &str) {
        put_leb(out, s.len() as u32);
        out.extend_from_slice(s.as_bytes());
    }

    /// Section id and body, in order.
    pub(super) fn sections(b: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
        if b.get(..8)? != b"\0asm\x01\0\0\0" {
            return None;
        }
        let mut i = 8;
        let mut out = Vec::new();
        while i < b.len() {
            let id = *b.get(i)?;
            i += 1;
            let len = leb(b, &mut i)? as usize;
            out.push((id, b.get(i..i + len)?.to_vec()));
            i += len;
        }
        Some(out)
    }

    pub(super) fn module(sections: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        for (id, body) in sections {
            out.push(*id);
            put_leb(&mut out, body.len() as u32);
            out.extend_from_slice(body);
        }
        out
    }

    /// Skips a table's or memory's limits.
    fn limits(b: &[u8], i: &mut usize) -> Option<()> {
        let flags = *b.get(*i)?;
        *i += 1;
        leb(b, i)?;
        if flags & 1 != 0 {
            leb(b, i)?;
        }
        Some(())
    }

    /// Every import gets module [`MODULE`] and a short name; `renamed` gets
    /// (old module, (old name, new name)).
    pub(super) fn rename_imports(b: &[u8], renamed: &mut Vec<(String, (String, String))>) -> Option<Vec<u8>> {
        let mut i = 0;
        let count = leb(b, &mut i)?;
        let mut out = Vec::new();
        put_leb(&mut out, count);
        for n in 0..count as usize {
            let module = name(b, &mut i)?;
            let old = name(b, &mut i)?;
            let start = i;
            let kind = *b.get(i)?;
            i += 1;
            match kind {
                // A function: its type index.
                0 => {
                    leb(b, &mut i)?;
                }
                // A table: its reference type, then limits.
                1 => {
                    i += 1;
                    limits(b, &mut i)?;
                }
                2 => limits(b, &mut i)?,
                // A global: value type and mutability.
                3 => i += 2,
                _ => return None,
            }
            let new = super::short_name(n);
            put_name(&mut out, MODULE);
            put_name(&mut out, &new);
            out.extend_from_slice(b.get(start..i)?);
            renamed.push((module, (old, new)));
        }
        Some(out)
    }

    /// Every export `keep` keeps gets a short name, the others are dropped; `renamed`
    /// gets (old name, new name).
    pub(super) fn rename_exports(
        b: &[u8],
        keep: impl Fn(&str) -> bool,
        renamed: &mut Vec<(String, String)>,
    ) -> Option<Vec<u8>> {
        let mut i = 0;
        let count = leb(b, &mut i)?;
        let mut kept = Vec::new();
        for _ in 0..count {
            let old = name(b, &mut i)?;
            let start = i;
            i += 1; // kind
            leb(b, &mut i)?; // index
            if keep(&old) {
                kept.push((old, b.get(start..i)?.to_vec()));
            }
        }
        let mut out = Vec::new();
        put_leb(&mut out, kept.len() as u32);
        for (n, (old, rest)) in kept.into_iter().enumerate() {
            let new = super::short_name(n);
            put_name(&mut out, &new);
            out.extend_from_slice(&rest);
            renamed.push((old, new));
        }
        Some(out)
    }
}

/// The same renaming in wasm-bindgen's JS.
mod js {
    use std::collections::HashMap;

    fn ident_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
    }

    /// The names the JS reads as `wasm.NAME`.
    pub(super) fn exports_read(js: &str) -> std::collections::HashSet<&str> {
        js.match_indices("wasm.")
            .filter(|&(i, _)| i == 0 || !ident_char(js.as_bytes()[i - 1]))
            .map(|(i, _)| {
                let rest = &js[i + 5..];
                &rest[..rest.bytes().position(|c| !ident_char(c)).unwrap_or(rest.len())]
            })
            .collect()
    }

    /// Imports are the keys of the imports object (`NAME: function`), each once; exports
    /// are read as `wasm.NAME`. The module key becomes [`super::wasm::MODULE`]. The
    /// unused wasm-streams classes lose their `export`, so terser drops them.
    pub(super) fn rename(
        js: &str,
        imports: &HashMap<String, String>,
        exports: &HashMap<String, String>,
    ) -> Result<String, String> {
        let module_key = format!("\"{}\": import0", super::BINDGEN_MODULE);
        if js.matches(&module_key).count() != 1 {
            return Err(format!("expected {module_key:?} once"));
        }
        let js = js
            .replace(&module_key, &format!("\"{}\": import0", super::wasm::MODULE))
            .replace("export class IntoUnderlying", "class IntoUnderlying");
        let b = js.as_bytes();
        let mut out = String::with_capacity(js.len());
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let (mut i, mut copied) = (0, 0);
        while i < b.len() {
            if !ident_char(b[i]) || (i > 0 && ident_char(b[i - 1])) {
                i += 1;
                continue;
            }
            let end = (i..b.len()).find(|&j| !ident_char(b[j])).unwrap_or(b.len());
            let word = &js[i..end];
            let after_wasm = js[..i].ends_with("wasm.") && !js[..i - 5].ends_with(|c: char| ident_char(c as u8));
            let new = if after_wasm {
                exports.get(word)
            } else if b.get(end) == Some(&b':') {
                imports.get(word)
            } else {
                None
            };
            if let Some(new) = new {
                out.push_str(&js[copied..i]);
                out.push_str(new);
                copied = end;
                *seen.entry(&js[i..end]).or_default() += 1;
            }
            i = end;
        }
        out.push_str(&js[copied..]);
        if let Some(name) = imports.keys().find(|n| seen.get(n.as_str()) != Some(&1)) {
            return Err(format!("import {name:?} is not one key of the imports object"));
        }
        Ok(out)
    }
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
