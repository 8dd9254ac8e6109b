//! The peers side by side (tests/bench/peers.mjs) in BENCHMARKS.md.

use std::fmt::Write as _;

use serde_json::Value;

use super::{bytes, ms, num};

/// "12,345 / 4,567 / 3,210" (raw / gzip / brotli), or "n/a".
fn sizes3(v: &Value) -> String {
    if v.is_object() {
        format!("{} / {} / {}", bytes(&v["raw"]), bytes(&v["gzip"]), bytes(&v["brotli"]))
    } else {
        "n/a".into()
    }
}

/// C2. The peers beside ours (tests/bench/peers.mjs).
pub(super) fn render_peers(s: &mut String, p: &Value) {
    let _ = writeln!(s, "## Peers side by side\n");
    let _ = writeln!(
        s,
        "`node tests/bench/peers.mjs`: each embeddable chat widget that ships its client in its npm package, \
         fetched at the version pinned in tests/bench/peers.json (`npm pack`, and `npm install --prefix \
         target/peers/<name> --ignore-scripts` where its dependencies install; the tarballs are kept in \
         target/peers/cache, so later runs need no registry), shipped on the same local host page as a site \
         would ship it (a React component library is bundled and minified with esbuild), and ours \
         (loader.js, which loads the widget on interest). Headless Chromium, cache disabled, a fresh context \
         per run, CPU throttled ×{} (CDP `Emulation.setCPUThrottlingRate`), medians of {} runs. Requests to \
         other hosts are refused (the machine is offline), so a widget whose client lives in a hosted \
         service shows what its package does without it. Bytes are the files the widget fetched, as raw, \
         gzip -9 and brotli -q 11 of the served file (the host page excluded). *Before*: navigation to the \
         page settled (network idle + 1 s). *After*: what the click on the launcher added. Long tasks \
         (PerformanceObserver `longtask`, the page and its same-origin frames) and total blocking time \
         (Σ over long tasks of the time past 50 ms) before interaction, and the TBT the widget adds over the \
         page alone; then after the click. *Interest → interactive*: the first pointer event on the \
         launcher to the chat input visible, enabled and writable (checked every animation frame).\n",
        p["throttle"], p["runs"]
    );
    let _ = writeln!(
        s,
        "| widget | loads everything up front | files before | before interaction raw / gzip / brotli (B) | \
         after interaction raw / gzip / brotli (B) | long tasks before | TBT before (added over the page) | \
         long tasks / TBT after the click | interest → interactive |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let widgets: Vec<&Value> = p["widgets"].as_array().into_iter().flatten().collect();
    for w in &widgets {
        let none = w["name"] == "none";
        let up = match w["upFront"].as_bool() {
            Some(true) => "**yes**",
            Some(false) => "no",
            None => "",
        };
        let interactive = if none {
            String::new()
        } else if w["interactiveRuns"].as_u64().unwrap_or(0) > 0 {
            format!("{} ms", ms(&w["interestToInteractive"]))
        } else {
            "not reached (below)".into()
        };
        let _ = writeln!(
            s,
            "| {} | {up} | {} | {} | {} | {} | {} ms ({} ms) | {} | {interactive} |",
            w["label"].as_str().unwrap_or("?"),
            w["bytesBefore"]["files"],
            sizes3(&w["bytesBefore"]),
            if none { String::new() } else { sizes3(&w["bytesAfter"]) },
            w["longTasksBefore"],
            format_args!("{:.0}", num(&w["tbtBefore"])),
            format_args!("{:.0}", num(&w["tbtAddedBefore"])),
            if none { String::new() } else { format!("{} / {:.0} ms", w["longTasksAfter"], num(&w["tbtAfter"])) },
        );
    }
    let _ = writeln!(s);
    for w in widgets.iter().filter(|w| w["name"] != "none") {
        peer_notes(s, w);
    }
    let _ = writeln!(
        s,
        "\nPublished figures of hosted peers, cited as context (not measured here: their clients are not \
         published as packages): Chatwoot's widget about 170 KiB; Intercom's messenger about 600 KB gzip; \
         LiveChat's widget 610 ms of main-thread blocking. These are the figures stated in issue 17; no \
         source page for them is in the handbook (/work/shared/seeds), so they stay unverified.\n"
    );
}

/// One line per widget: how it is shipped, what it leaves to a hosted service, why the
/// input was not reached, and the hosts it tried to reach.
fn peer_notes(s: &mut String, w: &Value) {
    let mut parts = vec![w["ship"].as_str().unwrap_or("").to_string()];
    if let Some(h) = w["hosted"].as_str() {
        parts.push(h.to_string());
    }
    let list = |k: &str| -> Vec<String> {
        w[k].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    let why = list("notInteractive");
    if !why.is_empty() {
        parts.push(format!("input not reached: {}", why.join("; ")));
    }
    let ext = list("external");
    if !ext.is_empty() {
        parts.push(format!("refused requests to {}", ext.join(", ")));
    }
    let errors = list("pageErrors");
    if !errors.is_empty() {
        let first: Vec<String> = errors.iter().map(|e| e.lines().next().unwrap_or("").to_string()).collect();
        parts.push(format!("page errors: {}", first.join("; ")));
    }
    if w["failed"].as_u64().unwrap_or(0) > 0 {
        parts.push(format!("{} runs failed: {}", w["failed"], list("errors").join("; ")));
    }
    let text = parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("; ");
    let _ = writeln!(s, "- {}: {}.", w["label"].as_str().unwrap_or("?"), text.replace('|', "\\|"));
}

pub(super) fn peers_summary(p: &Value) {
    for w in p["widgets"].as_array().into_iter().flatten() {
        println!(
            "bench: peer {}: {} B gzip before interaction, TBT {:.0} ms, interest->interactive {}",
            w["label"].as_str().unwrap_or("?"),
            bytes(&w["bytesBefore"]["gzip"]),
            num(&w["tbtBefore"]),
            if w["interactiveRuns"].as_u64().unwrap_or(0) > 0 {
                format!("{} ms", ms(&w["interestToInteractive"]))
            } else {
                "n/a".into()
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_peers_table_says_which_load_up_front_and_why_an_input_was_not_reached() {
        let p = json!({"throttle": 4, "runs": 3, "widgets": [
            {"name": "none", "label": "host page alone (no widget)", "bytesBefore": {"raw": 0, "gzip": 0, "brotli": 0, "files": 0},
             "longTasksBefore": 0, "tbtBefore": 0, "tbtAddedBefore": 0},
            {"name": "ours", "label": "ours", "upFront": false, "interactiveRuns": 3, "interestToInteractive": 512.3,
             "bytesBefore": {"raw": 1200, "gzip": 800, "brotli": 600, "files": 1},
             "bytesAfter": {"raw": 300000, "gzip": 150000, "brotli": 120000, "files": 2},
             "longTasksBefore": 0, "tbtBefore": 0, "tbtAddedBefore": 0, "longTasksAfter": 2, "tbtAfter": 90},
            {"name": "x", "label": "@x/chat@1.0.0", "upFront": true, "interactiveRuns": 0, "ship": "the tarball",
             "notInteractive": ["no visible launcher"], "external": ["x.example"],
             "bytesBefore": {"raw": 2000000, "gzip": 500000, "brotli": 400000, "files": 3},
             "bytesAfter": {"raw": 0, "gzip": 0, "brotli": 0, "files": 0},
             "longTasksBefore": 9, "tbtBefore": 700, "tbtAddedBefore": 700, "longTasksAfter": 0, "tbtAfter": 0}]});
        let mut s = String::new();
        render_peers(&mut s, &p);
        assert!(s.contains("| ours | no | 1 | 1,200 / 800 / 600 | 300,000 / 150,000 / 120,000 | 0 | 0 ms (0 ms) | 2 / 90 ms | 512.3 ms |"), "{s}");
        assert!(s.contains("| @x/chat@1.0.0 | **yes** | 3 | 2,000,000 / 500,000 / 400,000 |"), "{s}");
        assert!(s.contains("not reached (below)"), "{s}");
        assert!(
            s.contains(
                "- @x/chat@1.0.0: the tarball; input not reached: no visible launcher; refused requests to x.example."
            ),
            "{s}"
        );
        assert!(s.contains("Chatwoot") && s.contains("Intercom") && s.contains("610 ms"), "{s}");
    }
}
