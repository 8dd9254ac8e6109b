//! Command-line flags. Hand-parsed: eleven `--flag value` pairs do not justify a parser
//! crate in a tool every test run builds.

use std::path::PathBuf;

/// Everything the server needs to start. Credentials that are `None` after flags are
/// filled from the seed's `"app"` section (see [`crate::state::AppState::new`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// Interface to bind.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Seed tenant JSON.
    pub seed: PathBuf,
    /// Directory of ServiceTitan OpenAPI YAML files.
    pub openapi: PathBuf,
    /// Tenant id the app is connected to.
    pub tenant_id: Option<i64>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// ST-App-Key.
    pub app_key: Option<String>,
    /// The booking provider the app is restricted to.
    pub booking_provider_id: Option<i64>,
    /// Access token lifetime in seconds (`expires_in`).
    pub token_ttl: u64,
    /// How many times faster than real time the emulator's own waits run (webhook
    /// retries at 10/30/60/300 s become 10/30/60/300 ms at 1000). Tests only.
    pub time_factor: f64,
}

/// The workspace root, from this crate's manifest dir (tests/st-sandbox → ../..).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

impl Default for Config {
    fn default() -> Self {
        let root = workspace_root();
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            seed: root.join("tests/data/st-tenant.json"),
            openapi: root.join("../shared/servicetitan-openapi"),
            tenant_id: None,
            client_id: None,
            client_secret: None,
            app_key: None,
            booking_provider_id: None,
            token_ttl: 900,
            time_factor: 1.0,
        }
    }
}

/// Usage text for `--help` and errors.
pub const USAGE: &str = "usage: st-sandbox [--port N] [--host 127.0.0.1] [--seed FILE] [--openapi DIR] \
[--tenant-id N] [--client-id S] [--client-secret S] [--app-key S] [--booking-provider-id N] [--token-ttl SECONDS] [--time-factor F]";

impl Config {
    /// Parses `args` (without the program name). `Err` carries a message for stderr.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Config, String> {
        let mut c = Config::default();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.into());
            }
            // Accept both `--flag value` and `--flag=value`.
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value\n{USAGE}"));
            let int = |v: String| v.parse::<i64>().map_err(|_| format!("{name}: not an integer: {v:?}"));
            match name.as_str() {
                "--port" => c.port = value()?.parse().map_err(|_| format!("--port: not a port number\n{USAGE}"))?,
                "--host" => c.host = value()?,
                "--seed" => c.seed = PathBuf::from(value()?),
                "--openapi" => c.openapi = PathBuf::from(value()?),
                "--tenant-id" => c.tenant_id = Some(int(value()?)?),
                "--client-id" => c.client_id = Some(value()?),
                "--client-secret" => c.client_secret = Some(value()?),
                "--app-key" => c.app_key = Some(value()?),
                "--booking-provider-id" => c.booking_provider_id = Some(int(value()?)?),
                "--token-ttl" => {
                    c.token_ttl =
                        value()?.parse().map_err(|_| format!("--token-ttl: not a number of seconds\n{USAGE}"))?
                }
                "--time-factor" => {
                    c.time_factor = value()?
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite() && *f >= 1.0)
                        .ok_or(format!("--time-factor: a number of at least 1\n{USAGE}"))?
                }
                other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, String> {
        Config::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn flags() {
        let c = parse("--time-factor 100 --port 8099 --tenant-id=42 --client-id a --client-secret b --app-key k --booking-provider-id 7 --token-ttl 5").unwrap();
        assert_eq!((c.port, c.tenant_id, c.booking_provider_id, c.token_ttl), (8099, Some(42), Some(7), 5));
        assert_eq!(c.client_secret.as_deref(), Some("b"));
        assert_eq!(c.time_factor, 100.0);
        assert_eq!(c.host, "127.0.0.1");
        assert!(c.seed.ends_with("tests/data/st-tenant.json"));
        for bad in ["--port", "--port x", "--nope 1", "--tenant-id abc", "--time-factor 0.5"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
