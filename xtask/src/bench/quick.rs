//! `cargo xtask bench --quick`: the sizes and a small load (100 bookings, 20 at once,
//! ServiceTitan at 60 requests/s), in CI as the last step of `cargo xtask test`. It
//! measures what `cargo xtask build` last built (no build of its own, so it stays under
//! 3 minutes), writes target/bench/quick.json and prints a short table, never
//! BENCHMARKS.md, and fails on a size budget overrun or any lost or duplicated booking.

use std::fmt;
use std::time::Instant;

use serde_json::{json, Value};

use super::{bench_stack, load, node_json, num, urls, LOADER_GZIP, WIDGET_BROTLI};
use crate::{root, tools, Fail};

/// A reason `--quick` fails.
#[derive(Debug, PartialEq)]
pub(super) enum Overrun {
    LoaderOver {
        gzip: u64,
    },
    WidgetOver {
        brotli: u64,
    },
    Lost(u64),
    Duplicated(u64),
    /// A figure the scripts did not produce: the check cannot pass without it.
    Missing(&'static str),
}

impl fmt::Display for Overrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Overrun::LoaderOver { gzip } => {
                write!(f, "loader.js is {gzip} B gzip, over its budget of {LOADER_GZIP} B")
            }
            Overrun::WidgetOver { brotli } => {
                write!(f, "the whole widget is {brotli} B brotli, over its budget of {WIDGET_BROTLI} B")
            }
            Overrun::Lost(n) => write!(f, "{n} bookings were lost (never booked, or not in ServiceTitan)"),
            Overrun::Duplicated(n) => write!(f, "{n} bookings were duplicated in ServiceTitan's records"),
            Overrun::Missing(what) => write!(f, "the run did not measure {what}"),
        }
    }
}

/// Runs the quick bench; an error lists every overrun, one sentence each.
pub(crate) fn run() -> Result<(), Fail> {
    let started = Instant::now();
    tools::ensure_build_tools()?;
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| Fail(format!("{}: {e}", out.display())))?;
    if !root().join("widget/dist/widget_bg.wasm").exists() {
        return Err(Fail("bench --quick measures the last build, and there is none: run `cargo xtask build`".into()));
    }
    let sizes = node_json("sizes.mjs", &out.join("quick-sizes.json"), &[])?;
    println!("xtask bench --quick: {} bookings, {} at once", load::QUICK.bookings, load::QUICK.concurrency);
    let stack = bench_stack()?;
    let load = load::run(&urls(&stack), &out, load::Phase::Load(load::QUICK));
    drop(stack);
    let load = load?;
    let overruns = check(&sizes, &load);
    let json = json!({
        "seconds": started.elapsed().as_secs(),
        "sizes": {"widgetTotal": sizes["widgetTotal"], "loader": loader(&sizes)},
        "load": load,
        "overruns": overruns.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let path = out.join("quick.json");
    std::fs::write(&path, json.to_string()).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
    table(&sizes, &load, started.elapsed().as_secs());
    if overruns.is_empty() {
        println!("xtask bench --quick: nothing lost or duplicated, every size within its budget");
        return Ok(());
    }
    let list: Vec<String> = overruns.iter().map(ToString::to_string).collect();
    Err(Fail(format!("bench --quick failed: {}.", list.join("; "))))
}

fn loader(sizes: &Value) -> Value {
    sizes["widget"].as_array().into_iter().flatten().find(|f| f["name"] == "loader.js").cloned().unwrap_or(Value::Null)
}

/// Every budget and count the quick bench holds the build to.
pub(super) fn check(sizes: &Value, load: &Value) -> Vec<Overrun> {
    let mut over = Vec::new();
    match loader(sizes)["gzip"].as_u64() {
        Some(gzip) if gzip > LOADER_GZIP => over.push(Overrun::LoaderOver { gzip }),
        Some(_) => {}
        None => over.push(Overrun::Missing("loader.js's gzip size")),
    }
    match sizes["widgetTotal"]["brotli"].as_u64() {
        Some(brotli) if brotli > WIDGET_BROTLI => over.push(Overrun::WidgetOver { brotli }),
        Some(_) => {}
        None => over.push(Overrun::Missing("the whole widget's brotli size")),
    }
    for (key, what, make) in [
        ("lost", "lost bookings", Overrun::Lost as fn(u64) -> Overrun),
        ("duplicated", "duplicated bookings", Overrun::Duplicated),
    ] {
        match load[key].as_u64() {
            Some(0) => {}
            Some(n) => over.push(make(n)),
            None => over.push(Overrun::Missing(what)),
        }
    }
    over
}

fn table(sizes: &Value, load: &Value, secs: u64) {
    println!("| measured | value | budget |");
    println!("|---|---:|---:|");
    println!("| loader.js gzip | {} B | {LOADER_GZIP} B |", loader(sizes)["gzip"]);
    println!("| whole widget brotli | {} B | {WIDGET_BROTLI} B |", sizes["widgetTotal"]["brotli"]);
    println!("| bookings ({} at once) | {} | |", load["concurrency"], load["bookings"]);
    println!(
        "| booking p50 / p95 / p99 | {:.0} / {:.0} / {:.0} ms | |",
        num(&load["p50"]),
        num(&load["p95"]),
        num(&load["p99"])
    );
    println!(
        "| ServiceTitan 429s / calls | {} / {} | |",
        load["serviceTitan"]["tooMany"], load["serviceTitan"]["calls"]
    );
    println!("| lost | {} | 0 |", load["lost"]);
    println!("| duplicated | {} | 0 |", load["duplicated"]);
    println!("xtask bench --quick: {secs} s (JSON in target/bench/quick.json)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_fails_on_each_budget_and_on_any_lost_or_duplicated_booking() {
        let sizes = json!({"widget": [{"name": "loader.js", "gzip": 1600}], "widgetTotal": {"brotli": 140000}});
        let load = json!({"lost": 1, "duplicated": 0});
        assert_eq!(
            check(&sizes, &load),
            vec![Overrun::LoaderOver { gzip: 1600 }, Overrun::WidgetOver { brotli: 140000 }, Overrun::Lost(1)]
        );
        // One byte over the budget fails.
        let over_budget = json!({"widget": [{"name": "loader.js", "gzip": 1536}], "widgetTotal": {"brotli": 122881}});
        assert_eq!(
            check(&over_budget, &json!({"lost": 0, "duplicated": 0})),
            vec![Overrun::WidgetOver { brotli: 122881 }]
        );
        let ok = json!({"widget": [{"name": "loader.js", "gzip": 1500}], "widgetTotal": {"brotli": 100000}});
        assert_eq!(check(&ok, &json!({"lost": 0, "duplicated": 0})), vec![]);
        assert_eq!(check(&ok, &json!({"lost": 0})), vec![Overrun::Missing("duplicated bookings")]);
        assert_eq!(
            Overrun::WidgetOver { brotli: 122881 }.to_string(),
            "the whole widget is 122881 B brotli, over its budget of 122880 B"
        );
    }
}
