//! `cargo xtask tidy`: the invariants ARCHITECTURE.md states, checked rather than kept by
//! hand (rust-analyzer's `xtask/src/tidy.rs`). `cargo xtask test` runs it first.
//!
//! 1. formatting: `cargo fmt --all --check` (settings in `rustfmt.toml`);
//! 2. lints: `cargo clippy --workspace --all-targets` with the workspace lints of the root
//!    `Cargo.toml`, then the two wasm crates for `wasm32-unknown-unknown`; any warning is a
//!    problem (as with `-D warnings`);
//! 3. booking-core does no I/O: `shared/src` names no `std::time`, `std::fs`, `std::net`,
//!    `web_sys` or `worker` in code (comments and string literals do not count);
//! 4. the loader and the widget use the same storage keys (`widget/loader.src.js` reads
//!    the conversation the widget saved; a different key silently loses every resume).
//!
//! Every problem is one sentence naming the file and the fix.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, tools, Fail};

/// Runs every check; fails with the list of problems.
pub(crate) fn run(_args: &[String]) -> Result<(), Fail> {
    let problems = problems();
    for p in &problems {
        println!("tidy: {p}");
    }
    if problems.is_empty() {
        println!("tidy: formatting, lints, booking-core's no-I/O rule and the storage keys are in order");
        Ok(())
    } else {
        Err(Fail(format!("tidy found {} problem(s) (listed above)", problems.len())))
    }
}

/// Every problem tidy finds, as sentences.
pub(crate) fn problems() -> Vec<String> {
    let root = root();
    let mut all = Vec::new();
    all.extend(formatting(&root));
    all.extend(clippy(&root));
    all.extend(core_does_no_io(&root));
    all.extend(storage_keys(&root));
    all
}

fn relative(root: &Path, path: &str) -> String {
    Path::new(path).strip_prefix(root).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
}

/// `cargo fmt --all --check`: one sentence per file that is not formatted.
fn formatting(root: &Path) -> Vec<String> {
    let out = match Command::new("cargo").args(["fmt", "--all", "--check"]).current_dir(root).output() {
        Ok(o) => o,
        Err(e) => {
            return vec![format!("could not run `cargo fmt` ({e}); install it with `rustup component add rustfmt`")]
        }
    };
    if out.status.success() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut files: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Diff in "))
        .map(|l| relative(root, l.trim_end_matches(':').rsplit_once(':').map_or(l, |(path, _line)| path)))
        .collect();
    files.sort();
    files.dedup();
    if files.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        return vec![format!("`cargo fmt --all --check` failed: {}; fix the file it names", err.trim())];
    }
    files
        .iter()
        .map(|f| format!("{f} is not formatted as rustfmt.toml says; run `cargo fmt --all` and commit it"))
        .collect()
}

/// Clippy findings in `scope`, as `file:line:col: level: message`. Run without `-D warnings`
/// so one run reaches every crate (a denied lint in booking-core would stop every crate
/// that depends on it), and every warning counts as a problem, as `-D warnings` would.
fn clippy_findings(root: &Path, scope: &[&str]) -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .arg("clippy")
        .args(scope)
        .args(["--message-format", "short"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run `cargo clippy` ({e}); install it with `rustup component add clippy`"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let mut findings: Vec<String> = text
        .lines()
        .filter(|l| l.contains(": error") || l.contains(": warning"))
        .filter(|l| !l.starts_with("error") && !l.starts_with("warning"))
        .map(str::to_string)
        .collect();
    findings.dedup();
    if findings.is_empty() && !out.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(format!("`cargo clippy {}` failed ({}); run it to see why", scope.join(" "), tail.join(" / ")));
    }
    Ok(findings)
}

/// Clippy natively over the workspace, then the two wasm crates for their real target
/// (code behind `cfg(target_arch = "wasm32")` is only linted there); a finding both runs
/// report is told once.
fn clippy(root: &Path) -> Vec<String> {
    let native = ["--workspace", "--all-targets"];
    let wasm = ["--target", tools::WASM_TARGET, "-p", "booking-widget", "-p", "booking-edge"];
    let mut seen: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for (what, scope) in [("native", &native[..]), ("wasm32", &wasm[..])] {
        match clippy_findings(root, scope) {
            Err(e) => problems.push(e),
            Ok(found) => {
                for f in found {
                    if !seen.contains(&f) {
                        problems.push(format!(
                            "clippy ({what}): {f}; fix it, or allow that lint on the item with a comment saying why"
                        ));
                        seen.push(f);
                    }
                }
            }
        }
    }
    problems
}

/// What booking-core must not name: the shells' platforms and std's I/O.
const FORBIDDEN_WORDS: [&str; 2] = ["web_sys", "worker"];
const FORBIDDEN_STD: [&str; 3] = ["time", "fs", "net"];

/// booking-core (`shared/src`) names no clock, file system, network, DOM or Workers API.
fn core_does_no_io(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for path in rust_files(&root.join("shared/src")) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{} could not be read", relative(root, &path.display().to_string())));
            continue;
        };
        let file = relative(root, &path.display().to_string());
        for (line, name) in io_names(&code_only(&text)) {
            problems.push(format!(
                "{file}:{line}: booking-core names `{name}`; it does no I/O (ARCHITECTURE.md, Invariants): take the time, \
                 bytes or result as an argument and let the widget or the worker do the I/O"
            ));
        }
    }
    problems
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `text` with comments and the contents of string and char literals replaced by spaces
/// (line breaks kept, so line numbers still hold).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while let Some(&ch) = c.get(i) {
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while let Some(&x) = c.get(i).filter(|x| **x != '\n') {
                blank(&mut out, x);
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while let Some(&x) = c.get(i) {
                if x == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                } else if x == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                    continue;
                }
                blank(&mut out, x);
                i += 1;
            }
        } else if ch == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !c.get(i.wrapping_sub(1)).is_some_and(|p| is_ident(*p))
        {
            // Raw string: r"..." or r#"..."#.
            let hashes = c[i + 1..].iter().take_while(|x| **x == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                out.push(ch);
                i += 1;
                continue;
            }
            out.push_str(&" ".repeat(hashes + 2));
            i += hashes + 2;
            while let Some(&x) = c.get(i) {
                if x == '"' && c[i + 1..].iter().take(hashes).filter(|h| **h == '#').count() == hashes {
                    out.push_str(&" ".repeat(hashes + 1));
                    i += hashes + 1;
                    break;
                }
                blank(&mut out, x);
                i += 1;
            }
        } else if ch == '"' {
            out.push(' ');
            i += 1;
            while let Some(&x) = c.get(i) {
                i += 1;
                if x == '\\' {
                    out.push(' ');
                    if let Some(&y) = c.get(i) {
                        blank(&mut out, y);
                        i += 1;
                    }
                    continue;
                }
                blank(&mut out, x);
                if x == '"' {
                    break;
                }
            }
        } else if ch == '\'' && char_literal_len(&c[i..]) > 0 {
            let n = char_literal_len(&c[i..]);
            out.push_str(&" ".repeat(n));
            i += n;
        } else {
            out.push(ch);
            i += 1;
        }
    }
    out
}

/// Length of the char literal starting at `c[0] == '\''`, or 0 for a lifetime.
fn char_literal_len(c: &[char]) -> usize {
    match (c.get(1), c.get(2)) {
        (Some('\\'), _) => c.iter().skip(3).position(|x| *x == '\'').map_or(0, |p| p + 4),
        (Some(_), Some('\'')) => 3,
        _ => 0,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Forbidden names in code: (line, name). `std::fs`, `std::{fs, ..}` and the bare words
/// `web_sys` and `worker` (a path, a crate or a binding: booking-core has no business
/// with any of them).
fn io_names(code: &str) -> Vec<(usize, String)> {
    // Tokens with their line: identifiers, `::`, braces; everything else separates.
    let mut tokens: Vec<(usize, String)> = Vec::new();
    let mut line = 1;
    let mut word = String::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while let Some(&ch) = chars.get(i) {
        if is_ident(ch) {
            word.push(ch);
            i += 1;
            continue;
        }
        if !word.is_empty() {
            tokens.push((line, std::mem::take(&mut word)));
        }
        if ch == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((line, "::".into()));
            i += 2;
            continue;
        }
        if matches!(ch, '{' | '}' | ',') {
            tokens.push((line, ch.to_string()));
        } else if !ch.is_whitespace() {
            tokens.push((line, String::new()));
        }
        if ch == '\n' {
            line += 1;
        }
        i += 1;
    }
    if !word.is_empty() {
        tokens.push((line, word));
    }
    let mut found = Vec::new();
    for (k, (line, t)) in tokens.iter().enumerate() {
        if FORBIDDEN_WORDS.contains(&t.as_str()) {
            found.push((*line, t.clone()));
        }
        let after = |n: usize| tokens.get(k + n).map(|(_, s)| s.as_str());
        if t != "std" || after(1) != Some("::") {
            continue;
        }
        match after(2) {
            Some("{") => {
                // std::{fs, io::Write, time::Duration}: the first name of each item at depth 1.
                let mut depth = 0;
                let mut item_start = true;
                for (l, s) in tokens.iter().skip(k + 2) {
                    match s.as_str() {
                        "{" => {
                            depth += 1;
                            item_start = depth == 1;
                        }
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        "," => item_start = depth == 1,
                        name if item_start && depth == 1 => {
                            if FORBIDDEN_STD.contains(&name) {
                                found.push((*l, format!("std::{name}")));
                            }
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            }
            Some(name) if FORBIDDEN_STD.contains(&name) => found.push((*line, format!("std::{name}"))),
            _ => {}
        }
    }
    found
}

/// The loader reads what the widget saved, under the same keys: the localStorage key of
/// the saved conversation and the sessionStorage key of the landing URL.
fn storage_keys(root: &Path) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("{p} could not be read ({e})"));
    let (loader, saved, widget) =
        match (read("widget/loader.src.js"), read("widget/src/saved.rs"), widget_sources(root)) {
            (Ok(l), Ok(s), Ok(w)) => (l, s, w),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return vec![e],
        };
    let mut problems = Vec::new();
    match (loader_keys(&loader, "localStorage").first(), widget_saved_key(&saved)) {
        (Some(l), Some(w)) if *l == w => {}
        (Some(l), Some(w)) => problems.push(format!(
            "widget/loader.src.js reads the saved conversation under \"{l}\" + site but widget/src/saved.rs saves it \
             under \"{w}\" + site; change the loader's key to \"{w}\" (the widget's SAVE_VERSION is the truth)"
        )),
        (None, _) => problems.push(
            "widget/loader.src.js: no localStorage key found (expected `<localStorage var>[\"bw:vN:\" + site]`); \
             update tidy.rs if the loader changed how it reads the saved conversation"
                .into(),
        ),
        (_, None) => problems.push(
            "widget/src/saved.rs: no storage key found (expected `const SAVE_VERSION: u32 = N;` and \
             `format!(\"bw:v{SAVE_VERSION}:{}\", ..)`); update tidy.rs if the widget changed how it names it"
                .into(),
        ),
    }
    for key in loader_keys(&loader, "sessionStorage") {
        if !widget.contains(&format!("\"{key}\"")) {
            problems.push(format!(
                "widget/loader.src.js keeps \"{key}\" in sessionStorage but no widget/src file reads that key; \
                 use the same key on both sides (or drop it from the loader)"
            ));
        }
    }
    problems
}

fn widget_sources(root: &Path) -> Result<String, String> {
    let files = rust_files(&root.join("widget/src"));
    if files.is_empty() {
        return Err("widget/src has no Rust files".into());
    }
    Ok(files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect::<Vec<_>>().join("\n"))
}

/// The string keys the loader indexes a storage with: it binds `w.localStorage` (or
/// `sessionStorage`) to a short variable and reads `var["key" ...]`.
fn loader_keys(js: &str, storage: &str) -> Vec<String> {
    let vars: Vec<String> = js
        .match_indices(&format!(".{storage}"))
        .filter_map(|(at, _)| {
            // `st = w.localStorage`: past the object (`w`), the `=`, then the name.
            let lhs = js[..at].trim_end_matches(is_ident).trim_end().strip_suffix('=')?.trim_end();
            let name = &lhs[lhs.trim_end_matches(is_ident).len()..];
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect();
    let mut keys = Vec::new();
    for v in vars {
        for (at, _) in js.match_indices(&format!("{v}[\"")) {
            if js[..at].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let rest = &js[at + v.len() + 2..];
            if let Some(end) = rest.find('"') {
                let key = rest[..end].to_string();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys
}

/// The widget's saved-conversation key prefix, e.g. "bw:v3:", from saved.rs.
fn widget_saved_key(saved: &str) -> Option<String> {
    let version = saved.split("const SAVE_VERSION: u32 = ").nth(1)?.split(';').next()?.trim().to_string();
    let start = saved.find("\"bw:v{SAVE_VERSION}:")?;
    let template = saved[start + 1..].split('"').next()?;
    Some(template.replace("{SAVE_VERSION}", &version).replace("{}", ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_do_not_count() {
        let src = "// std::fs in a comment\n/* worker /* nested */ web_sys */\nlet s = \"std::time worker\";\nlet r = r#\"std::net\"#;\nlet c = '\"'; let q = '\\''; fn f<'a>(x: &'a str) {}\n";
        assert_eq!(io_names(&code_only(src)), vec![]);
        assert_eq!(code_only(src).lines().count(), src.lines().count());
    }

    #[test]
    fn std_io_paths_and_words_are_found_with_their_line() {
        let src = "use std::fs;\nuse std::{cell::RefCell, time::Instant};\nlet x = worker::Env;\nuse std::collections::BTreeMap;\nlet d = core::time::Duration::ZERO;\n";
        let found = io_names(&code_only(src));
        assert_eq!(found, vec![(1, "std::fs".to_string()), (2, "std::time".to_string()), (3, "worker".to_string())]);
        assert_eq!(io_names("let workers = 2; let my_worker = 1;"), vec![]);
    }

    #[test]
    fn storage_keys_are_read_from_both_sides() {
        let js = "var w = window, st = w.localStorage, x;\ntry { var ss = w.sessionStorage; ss[\"bw:landing\"] = 1; saved = st[\"bw:v3:\" + site]; } catch (e) {}";
        assert_eq!(loader_keys(js, "localStorage"), vec!["bw:v3:".to_string()]);
        assert_eq!(loader_keys(js, "sessionStorage"), vec!["bw:landing".to_string()]);
        let rs = "const SAVE_VERSION: u32 = 3;\nfn k(s: &str) -> String { format!(\"bw:v{SAVE_VERSION}:{}\", s) }";
        assert_eq!(widget_saved_key(rs).as_deref(), Some("bw:v3:"));
    }

    #[test]
    fn a_tree_that_breaks_the_rules_is_told_where_and_how_to_fix_it() {
        let root = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        let write = |p: &str, text: &str| {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("shared/src/clock.rs", "//! Clock.\n\npub fn now() -> u64 {\n    std::time::SystemTime::now(); 0\n}\n");
        write("widget/loader.src.js", "var w = window, st = w.localStorage; saved = st[\"bw:v2:\" + site]; var ss = w.sessionStorage; ss[\"bw:from\"] = 1;");
        write(
            "widget/src/saved.rs",
            "const SAVE_VERSION: u32 = 3;\nfn key() -> String { format!(\"bw:v{SAVE_VERSION}:{}\", 1) }\n",
        );
        let io = core_does_no_io(&root);
        let keys = storage_keys(&root);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(io.len(), 1, "{io:?}");
        assert!(io[0].starts_with("shared/src/clock.rs:4: booking-core names `std::time`"), "{io:?}");
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(
            keys[0].contains("\"bw:v2:\"") && keys[0].contains("change the loader's key to \"bw:v3:\""),
            "{keys:?}"
        );
        assert!(keys[1].contains("\"bw:from\""), "{keys:?}");
    }

    #[test]
    fn this_repository_keeps_the_no_io_rule_and_the_storage_keys() {
        let root = root();
        assert_eq!(core_does_no_io(&root), Vec::<String>::new());
        assert_eq!(storage_keys(&root), Vec::<String>::new());
    }
}
