//! `cargo xtask demo`: the whole product on this machine, one command.

use std::collections::BTreeMap;
use std::sync::mpsc;

use crate::stack::{self, Credentials, Ports, Target};
use crate::{bundle, root, Fail};

const REAL_KEYS: [&str; 4] = ["ST_CLIENT_ID", "ST_CLIENT_SECRET", "ST_APP_KEY", "ST_TENANT_ID"];

/// Reads `edge-worker/.dev.vars` (KEY=VALUE lines).
fn dev_vars() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("edge-worker/.dev.vars")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// Real credentials come from the environment or from a `.dev.vars` we did not write.
fn real_target() -> Option<Target> {
    let vars = dev_vars();
    let ours = vars.get("ST_ENV").is_some_and(|e| e == "sandbox");
    let env_has = REAL_KEYS.iter().all(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
    let file_has = !ours && REAL_KEYS.iter().all(|k| vars.contains_key(*k));
    if !(env_has || file_has) {
        return None;
    }
    let env = std::env::var("ST_ENV").ok().or_else(|| vars.get("ST_ENV").cloned()).unwrap_or("integration".into());
    Some(Target::Real { env })
}

fn write_sandbox_dev_vars(c: &Credentials) -> Result<(), Fail> {
    // Only the emulator's throwaway credentials; the file is git-ignored.
    let text = format!(
        "# Written by `cargo xtask demo` for the local ServiceTitan emulator. Replace with real\n# credentials (and ST_ENV=integration) to book into a real tenant.\nST_ENV=sandbox\nST_CLIENT_ID={}\nST_CLIENT_SECRET={}\nST_APP_KEY={}\nST_TENANT_ID={}\n",
        c.client_id, c.client_secret, c.app_key, c.tenant_id
    );
    std::fs::write(root().join("edge-worker/.dev.vars"), text).map_err(|e| Fail(format!(".dev.vars: {e}")))
}

/// Runs the demo until Ctrl-C.
pub(crate) fn run(_args: &[String]) -> Result<(), Fail> {
    bundle::all()?;
    let target = match real_target() {
        Some(t) => t,
        None => {
            let c = Credentials::generate();
            write_sandbox_dev_vars(&c)?;
            Target::Sandbox(c)
        }
    };
    let which = match &target {
        Target::Sandbox(_) => "the local ServiceTitan emulator".to_string(),
        Target::Real { env } => {
            format!("ServiceTitan's {env} environment (credentials from .dev.vars or the environment)")
        }
    };
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| Fail(format!("Ctrl-C handler: {e}")))?;
    let stack = stack::start(target, Ports { site: 8080, worker: 8787, sandbox: 8790 }, true, &[], None)?;
    println!();
    println!("  Booking demo is running. The worker books into {which}.");
    println!();
    println!("  Contractor site (open this):  {}/", stack.site_url);
    if let Some(s) = &stack.sandbox_url {
        println!("  ServiceTitan emulator records: {s}/");
    }
    println!("  Phone call (Twilio emulator):  {}/", stack.twilio_url);
    println!("  Worker:                        {}/health", stack.worker_url);
    println!("  Logs:                          target/logs/");
    println!();
    println!("  Ctrl-C (or SIGTERM) stops everything.");
    let _ = rx.recv();
    println!("\nxtask: stopping");
    drop(stack);
    Ok(())
}
