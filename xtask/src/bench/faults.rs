//! The fault matrix (tests/bench/faults.mjs) in BENCHMARKS.md.

use std::fmt::Write as _;

use serde_json::Value;

/// D2. The fault matrix (tests/bench/faults.mjs).
pub(super) fn render_faults(s: &mut String, f: &Value) {
    let _ = writeln!(s, "### Fault matrix: every emulator fault at every ServiceTitan step\n");
    let _ = writeln!(
        s,
        "`node tests/bench/faults.mjs` against the same stack. The steps are the ServiceTitan calls of a clean \
         booking ({}), plus the token: its faults are reached by rejecting the worker's cached token once (401 \
         on its first call), so it must fetch a new one from the faulted token endpoint. Each cell is one new \
         homeowner's booking with that one fault installed once (`POST /_admin/faults`, `count: 1`), posted \
         with the same idempotency key until \"booked\", then the emulator's records polled for the phone. \
         A cell reads `1/1/1` when it ended with exactly one customer, one location and one job, then the \
         retries: calls to the faulted step beyond the clean run's. Cells that did not book or end with \
         exactly one of each are listed below the table.\n",
        f["clean"]["calls"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
    );
    let faults: Vec<&str> = f["faults"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let _ = writeln!(s, "| step | {} |\n|---|{}", faults.join(" | "), "---|".repeat(faults.len()));
    let cells: Vec<&Value> = f["cells"].as_array().into_iter().flatten().collect();
    for step in f["steps"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let row: Vec<String> = faults
            .iter()
            .map(|fault| {
                cells
                    .iter()
                    .find(|c| c["step"] == step && c["fault"] == *fault)
                    .map(|c| fault_cell(c))
                    .unwrap_or_else(|| "not run".into())
            })
            .collect();
        let _ = writeln!(s, "| `{step}` | {} |", row.join(" | "));
    }
    let _ = writeln!(
        s,
        "\n{} cells: not booked {}, not exactly one customer, location and job {}, fault never reached {}.\n",
        cells.len(),
        f["notBooked"],
        f["notExactlyOne"],
        f["faultNotHit"]
    );
    for c in cells.iter().filter(|c| c["exactlyOne"] != true || c["booked"] != true || c["faultHits"] == 0) {
        let _ = writeln!(
            s,
            "- `{}` × {}: answers {}, records {}, fault hits {}{}",
            c["step"].as_str().unwrap_or("?"),
            c["fault"].as_str().unwrap_or("?"),
            c["answers"],
            c["records"],
            c["faultHits"],
            c["note"].as_str().map(|n| format!(": {n}")).unwrap_or_default()
        );
    }
    let _ =
        writeln!(s, "\n<details><summary>Every cell: time to records, the calls beyond the clean run's</summary>\n");
    let _ = writeln!(
        s,
        "| step | fault | booked | records in | retries | calls beyond the clean run's |\n|---|---|---|---:|---:|---|"
    );
    for c in &cells {
        let extra: Vec<&str> = c["extra"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} ms | {} | {} |",
            c["step"].as_str().unwrap_or("?"),
            c["fault"].as_str().unwrap_or("?"),
            if c["booked"] == true { "yes" } else { "**no**" },
            c["recordedMs"],
            c["retries"],
            if extra.is_empty() { "none".to_string() } else { extra.join(", ") }
        );
    }
    let _ = writeln!(s, "\n</details>\n");
}

/// "1/1/1, 2 retries" (customers/locations/jobs), bold when not exactly one each.
fn fault_cell(c: &Value) -> String {
    let r = &c["records"];
    let jobs = r["jobs"].as_u64().unwrap_or(0) + r["bookings"].as_u64().unwrap_or(0);
    let counts = format!("{}/{}/{jobs}", r["customers"], r["locations"]);
    let retries = match c["retries"].as_u64().unwrap_or(0) {
        1 => "1 retry".to_string(),
        n => format!("{n} retries"),
    };
    if c["exactlyOne"] == true && c["booked"] == true {
        format!("{counts}, {retries}")
    } else {
        format!("**{counts}**, {retries}")
    }
}

pub(super) fn faults_summary(f: &Value) {
    println!(
        "bench: fault matrix: {} cells, not booked {}, not exactly one record each {}, fault never reached {}",
        f["cells"].as_array().map_or(0, Vec::len),
        f["notBooked"],
        f["notExactlyOne"],
        f["faultNotHit"]
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_fault_cell_is_bold_unless_it_booked_exactly_one_of_each() {
        let one = json!({"records": {"customers": 1, "locations": 1, "jobs": 1, "bookings": 0}, "retries": 1,
                         "exactlyOne": true, "booked": true});
        assert_eq!(fault_cell(&one), "1/1/1, 1 retry");
        let two = json!({"records": {"customers": 2, "locations": 1, "jobs": 1, "bookings": 0}, "retries": 0,
                         "exactlyOne": false, "booked": true});
        assert_eq!(fault_cell(&two), "**2/1/1**, 0 retries");
    }
}
