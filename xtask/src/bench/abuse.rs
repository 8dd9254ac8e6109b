//! Abuse while serving (issue 17 item 4): tests/bench/abuse.mjs on a stack of its own at
//! the real rate limits (`RATE_LIMIT_MULTIPLIER` 1: its floods must pass the limits the
//! worker ships with, which the bench's main stack scales ×1000 for the load), signed
//! with that stack's secrets (Twilio token, account and number, the ServiceTitan webhook
//! key, the voice tool secret, a per-run admin token). The script writes abuse.json and
//! the BENCHMARKS.md section abuse.md beside it; the report includes that section as
//! written and the history line takes its headline (cases as expected, normal bookings
//! in ServiceTitan exactly once).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::node_json;
use crate::stack::{self, Credentials, Ports, Target};
use crate::Fail;

/// What the run produced.
pub(super) struct Abuse {
    pub(super) json: Value,
    /// abuse.md as the script wrote it (its own `## Abuse while serving` heading).
    pub(super) markdown: String,
}

/// Starts the abuse stack, runs the script, drops the stack.
pub(super) fn run(out: &Path) -> Result<Abuse, Fail> {
    let c = Credentials::generate();
    let admin_token = format!("adm-{}", c.client_secret);
    let vars =
        [("RATE_LIMIT_MULTIPLIER".to_string(), "1".to_string()), ("ADMIN_TOKEN".to_string(), admin_token.clone())];
    let env = vec![
        ("TWILIO_AUTH_TOKEN", c.twilio_auth_token.clone()),
        ("TWILIO_ACCOUNT_SID", c.twilio_account_sid.clone()),
        ("TWILIO_NUMBER", stack::TWILIO_NUMBER.to_string()),
        ("ST_WEBHOOK_KEY", c.st_webhook_key.clone()),
        ("VOICE_TOOL_SECRET", c.voice_tool_secret.clone()),
        ("ADMIN_TOKEN", admin_token),
        ("RATE_LIMIT_MULTIPLIER", "1".to_string()),
    ];
    let md_path = out.join("abuse.md");
    let _ = std::fs::remove_file(&md_path);
    let stack = stack::start(Target::Sandbox(c), Ports { site: 0, worker: 0, sandbox: 0 }, true, &vars, None)?;
    let mut env = [super::urls(&stack), env].concat();
    env.push(("ABUSE_MD", md_path.display().to_string()));
    let json = node_json("abuse.mjs", &out.join("abuse.json"), &env);
    drop(stack);
    let json = json?;
    let markdown = std::fs::read_to_string(&md_path)
        .map_err(|e| Fail(format!("{}: {e} (abuse.mjs wrote no markdown)", md_path.display())))?;
    Ok(Abuse { json, markdown })
}

/// The section for BENCHMARKS.md: the script's, or why there is none.
pub(super) fn render(s: &mut String, abuse: &Result<Abuse, Fail>) {
    match abuse {
        Ok(a) => {
            s.push_str(a.markdown.trim_end());
            s.push_str("\n\n");
        }
        Err(Fail(why)) => {
            let _ = writeln!(s, "## Abuse while serving\n\nNot measured in this run: {why}.\n");
        }
    }
}

/// `cases as expected/cases` and `normal bookings in ServiceTitan exactly once/sent`, or
/// "n/a" for a part the run did not measure.
pub(super) fn headline(abuse: &Result<Abuse, Fail>) -> (String, String) {
    let Ok(a) = abuse else { return ("n/a".into(), "n/a".into()) };
    let rows = a.json["rows"].as_array();
    let cases = rows.map_or_else(
        || "n/a".into(),
        |rows| format!("{}/{}", rows.iter().filter(|r| r["met"] == true).count(), rows.len()),
    );
    let n = &a.json["normal"];
    let normal = match (n["inRecordsOnce"].as_u64(), n["sent"].as_u64()) {
        (Some(once), Some(sent)) => format!("{once}/{sent}"),
        _ => "n/a".into(),
    };
    (cases, normal)
}

/// One line on the console.
pub(super) fn summary(abuse: &Result<Abuse, Fail>) {
    match abuse {
        Ok(a) => {
            let (cases, normal) = headline(abuse);
            let missed: Vec<&str> =
                a.json["missed"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            println!(
                "bench: abuse: {cases} cases as expected ({} requests), normal bookings exactly once {normal}, lost {}, duplicated {}; not as expected: {}",
                a.json["requests"],
                a.json["normal"]["lost"],
                a.json["normal"]["duplicated"],
                if missed.is_empty() { "none".to_string() } else { missed.join("; ") }
            );
        }
        Err(Fail(why)) => println!("bench: abuse: not measured: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_counts_cases_met_and_normal_bookings_once() {
        let json = serde_json::json!({
            "rows": [{"met": true}, {"met": false}, {"met": true}],
            "normal": {"inRecordsOnce": 40, "sent": 41},
        });
        let a = Ok(Abuse { json, markdown: "## Abuse while serving\n\nx\n".into() });
        assert_eq!(headline(&a), ("2/3".to_string(), "40/41".to_string()));
        let mut s = String::new();
        render(&mut s, &a);
        assert_eq!(s, "## Abuse while serving\n\nx\n\n");
        let failed: Result<Abuse, Fail> = Err(Fail("the stack did not start".into()));
        assert_eq!(headline(&failed), ("n/a".to_string(), "n/a".to_string()));
        let mut s = String::new();
        render(&mut s, &failed);
        assert!(s.contains("Not measured in this run: the stack did not start."), "{s}");
    }
}
