//! A tiny static file server for the example contractor site and the widget bundle.
//! GET and HEAD only, loopback only, no directory listing, no path escapes.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;

/// URL prefix → directory.
pub(crate) type Mounts = Vec<(String, PathBuf)>;

/// Text replaced in served HTML: the example pages name the demo's worker URL, and a
/// test stack on other ports points them at its own worker.
pub(crate) type Rewrites = Vec<(String, String)>;

/// Binds `127.0.0.1:port` (0 = any free port) and serves in background threads.
/// Returns the bound port.
pub(crate) fn start(port: u16, mounts: Mounts, rewrites: Rewrites) -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mounts = mounts.clone();
            let rewrites = rewrites.clone();
            thread::spawn(move || {
                let _ = answer(stream, &mounts, &rewrites);
            });
        }
    });
    Ok(port)
}

fn rewrite(body: Vec<u8>, rewrites: &Rewrites) -> Vec<u8> {
    match String::from_utf8(body) {
        Ok(mut text) => {
            for (from, to) in rewrites {
                text = text.replace(from.as_str(), to);
            }
            text.into_bytes()
        }
        Err(e) => e.into_bytes(),
    }
}

fn answer(mut stream: TcpStream, mounts: &Mounts, rewrites: &Rewrites) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Drain headers; we need none of them.
    let mut h = String::new();
    while reader.read_line(&mut h)? > 2 {
        h.clear();
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"method not allowed", method == "HEAD");
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    match resolve(path, mounts).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
        Some((p, body)) => {
            let body = if p.extension().is_some_and(|e| e == "html") { rewrite(body, rewrites) } else { body };
            respond(&mut stream, 200, mime(&p), &body, method == "HEAD")
        }
        None => respond(&mut stream, 404, "text/plain", b"not found", method == "HEAD"),
    }
}

fn resolve(path: &str, mounts: &Mounts) -> Option<PathBuf> {
    let (prefix, dir) = mounts.iter().filter(|(p, _)| path.starts_with(p.as_str())).max_by_key(|(p, _)| p.len())?;
    let rest = &path[prefix.len()..];
    let rel = Path::new(rest.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut full = dir.join(rel);
    if full.is_dir() {
        full = full.join("index.html");
    }
    full.is_file().then_some(full)
}

fn mime(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn respond(stream: &mut TcpStream, status: u16, ctype: &str, body: &[u8], head: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    // The widget bundle may be loaded from another origin, like a CDN would serve it.
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\naccess-control-allow-origin: *\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()
}
