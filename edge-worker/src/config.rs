//! Where the worker finds site configs and ServiceTitan settings.

use booking_core::site::SiteConfig;
use worker::Env;

/// Site configs compiled in from `examples/sites/*.json` (see build.rs).
const EMBEDDED_SITES: &str = include_str!(concat!(env!("OUT_DIR"), "/sites.json"));

/// The site with this id. A `SITES_JSON` var (a JSON array) replaces the embedded set,
/// so a deployment can carry its own sites without a rebuild.
pub(crate) fn site(env: &Env, id: &str) -> Option<SiteConfig> {
    let text = env.var("SITES_JSON").map(|v| v.to_string()).unwrap_or_else(|_| EMBEDDED_SITES.to_string());
    let sites: Vec<serde_json::Value> = serde_json::from_str(&text).ok()?;
    sites.into_iter().filter(|s| s["id"] == id).find_map(|s| SiteConfig::from_json(&s.to_string()).ok())
}

/// ServiceTitan hosts and credentials, from vars and secrets.
pub(crate) struct ServiceTitanSettings {
    /// API root, no trailing slash.
    pub api_url: String,
    /// Token endpoint.
    pub auth_url: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// ST-App-Key.
    pub app_key: String,
    /// Tenant id.
    pub tenant_id: i64,
}

impl ServiceTitanSettings {
    /// Reads the settings; the error names what is missing (for logs, not browsers).
    pub(crate) fn from_env(env: &Env) -> Result<ServiceTitanSettings, String> {
        let secret = |name: &str| {
            env.secret(name)
                .map(|s| s.to_string())
                .or_else(|_| env.var(name).map(|v| v.to_string()))
                .map_err(|_| format!("{name} is not set"))
        };
        let var = |name: &str| env.var(name).map(|v| v.to_string()).ok();
        let (api_url, auth_url) = match var("ST_ENV").as_deref().unwrap_or("integration") {
            "production" => {
                ("https://api.servicetitan.io".to_string(), "https://auth.servicetitan.io/connect/token".to_string())
            }
            "sandbox" => {
                (var("ST_API_URL").ok_or("ST_API_URL is not set")?, var("ST_AUTH_URL").ok_or("ST_AUTH_URL is not set")?)
            }
            _ => (
                "https://api-integration.servicetitan.io".to_string(),
                "https://auth-integration.servicetitan.io/connect/token".to_string(),
            ),
        };
        Ok(ServiceTitanSettings {
            api_url: api_url.trim_end_matches('/').to_string(),
            auth_url,
            client_id: secret("ST_CLIENT_ID")?,
            client_secret: secret("ST_CLIENT_SECRET")?,
            app_key: secret("ST_APP_KEY")?,
            tenant_id: secret("ST_TENANT_ID")?.trim().parse().map_err(|_| "ST_TENANT_ID is not a number")?,
        })
    }
}
