//! BENCHMARKS.md's `## History`: one line per full run with its headline figures, the
//! earlier lines read back from the file the run replaces, so a regression shows at a
//! glance. Newest first, at most [`KEEP`] lines.

use std::fmt::Write as _;

use serde_json::Value;

use super::{bytes, command_line, num, Engines, Machine, Measured};

const KEEP: usize = 30;
const HEADING: &str = "## History";
const HEADER: &str = "| date | commit | whole widget (brotli) | loader.js (gzip) | engine median (chat) | \
                      booking p95 under load | lost | duplicated | abuse cases as expected | \
                      bookings during abuse exactly once |";
const RULE: &str = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|";

/// One run's headline figures.
pub(super) struct Headline {
    date: String,
    commit: String,
    widget_brotli: String,
    loader_gzip: String,
    engine_median_us: f64,
    booking_p95_ms: f64,
    lost: String,
    duplicated: String,
    abuse_cases: String,
    abuse_normal: String,
}

impl Headline {
    pub(super) fn of(m: &Machine, engine: &Engines, measured: &Measured) -> Headline {
        let loader = measured.sizes["widget"].as_array().into_iter().flatten().find(|f| f["name"] == "loader.js");
        let load = &measured.load;
        // The load's bookings as re-read at the soak's end, when the soak made that check.
        let again = &measured.soak["loadRecheck"];
        let (load_lost, load_duplicated) = if again.is_object() {
            (&again["missing"], &again["duplicated"])
        } else {
            (&load["lost"], &load["duplicated"])
        };
        let (abuse_cases, abuse_normal) = super::abuse::headline(&measured.abuse);
        Headline {
            abuse_cases,
            abuse_normal,
            date: m.date.clone(),
            commit: commit(),
            widget_brotli: format!("{} B", bytes(&measured.sizes["widgetTotal"]["brotli"])),
            loader_gzip: loader.map(|f| format!("{} B", bytes(&f["gzip"]))).unwrap_or_else(|| "n/a".into()),
            engine_median_us: engine.chat.median_us,
            booking_p95_ms: num(&load["p95"]),
            // Lost and duplicated over every booking of the run: the burst, the load and the soak.
            lost: sum(&[&measured.worker["burst"]["lost"], load_lost, &measured.soak["lost"]]),
            duplicated: sum(&[&measured.worker["burst"]["duplicated"], load_duplicated, &measured.soak["duplicated"]]),
        }
    }

    pub(super) fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {:.1} µs | {:.0} ms | {} | {} | {} | {} |",
            self.date,
            self.commit,
            self.widget_brotli,
            self.loader_gzip,
            self.engine_median_us,
            self.booking_p95_ms,
            self.lost,
            self.duplicated,
            self.abuse_cases,
            self.abuse_normal
        )
    }
}

/// The sum, or "n/a" when a part is missing (a count never reads as 0 by accident).
fn sum(parts: &[&Value]) -> String {
    let counts: Option<Vec<u64>> = parts.iter().map(|v| v.as_u64()).collect();
    counts.map(|c| c.iter().sum::<u64>().to_string()).unwrap_or_else(|| "n/a".into())
}

/// The commit measured, with "+changes" when the work tree differs from it.
fn commit() -> String {
    let hash = command_line("git", &["-C", &super::root().to_string_lossy(), "rev-parse", "--short", "HEAD"]);
    let dirty = command_line("git", &["-C", &super::root().to_string_lossy(), "status", "--porcelain", "-uno"]);
    if dirty == "unknown" {
        hash
    } else {
        format!("{hash}+changes")
    }
}

/// The run lines of the `## History` section of an earlier BENCHMARKS.md, newest first.
pub(super) fn previous(md: &str) -> Vec<String> {
    md.lines()
        .skip_while(|l| l.trim() != HEADING)
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| date |"))
        .map(str::to_string)
        .collect()
}

/// The section: this run's line, then the earlier ones, at most [`KEEP`].
pub(super) fn render(line: &str, previous: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{HEADING}\n\nOne line per `cargo xtask bench` run, newest first (the last {KEEP} kept); each run reads \
         the earlier lines from the file it replaces. Lost and duplicated count every booking of the run (burst, \
         load and soak); the booking p95 is the load's; the abuse columns are abuse.mjs's (its cases answered \
         as expected, and the normal bookings sent meanwhile that are in ServiceTitan exactly once; lines before \
         2026-12-02 have none).\n\n{HEADER}\n{RULE}"
    );
    for l in std::iter::once(line).chain(previous.iter().map(String::as_str)).take(KEEP) {
        let _ = writeln!(s, "{l}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_keeps_the_earlier_lines_newest_first_and_at_most_thirty() {
        let first = render("| 2026-12-01 | aaa |", &[]);
        let md = format!("# Benchmarks\n\nbody\n{first}");
        assert_eq!(previous(&md), vec!["| 2026-12-01 | aaa |".to_string()]);
        let second = render("| 2026-12-02 | bbb |", &previous(&md));
        let lines = previous(&format!("# Benchmarks\n{second}\n## After\n| not | history |\n"));
        assert_eq!(lines, vec!["| 2026-12-02 | bbb |".to_string(), "| 2026-12-01 | aaa |".to_string()]);
        let many: Vec<String> = (0..40).map(|i| format!("| {i} |")).collect();
        assert_eq!(previous(&render("| new |", &many)).len(), KEEP);
    }

    #[test]
    fn a_missing_count_is_not_read_as_zero() {
        assert_eq!(sum(&[&Value::from(1), &Value::from(2)]), "3");
        assert_eq!(sum(&[&Value::from(1), &Value::Null]), "n/a");
    }
}
