//! Which ServiceTitan tenant a site books into (issue 16 item 1): the site config's
//! `serviceTitan` block names the environment and the *names* of the worker secrets
//! that hold the site's credentials, never their values. Two sites naming different
//! secrets book into two tenants from one deployment.
//!
//! Absent, the block is today's single-tenant deployment: the secrets `ST_CLIENT_ID`,
//! `ST_CLIENT_SECRET`, `ST_APP_KEY`, `ST_TENANT_ID` and the worker's `ST_ENV`, so every
//! config written before this block keeps its meaning.

use serde::{Deserialize, Serialize};

/// ServiceTitan's two environments (each its own auth host and API host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// `auth-integration.servicetitan.io`, `api-integration.servicetitan.io`.
    Integration,
    /// `auth.servicetitan.io`, `api.servicetitan.io`.
    Production,
}

impl Environment {
    /// The API root.
    pub fn api_url(self) -> &'static str {
        match self {
            Environment::Integration => "https://api-integration.servicetitan.io",
            Environment::Production => "https://api.servicetitan.io",
        }
    }

    /// The token endpoint.
    pub fn auth_url(self) -> &'static str {
        match self {
            Environment::Integration => "https://auth-integration.servicetitan.io/connect/token",
            Environment::Production => "https://auth.servicetitan.io/connect/token",
        }
    }
}

/// Where a site's calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosts {
    /// The emulator the deployment's `ST_API_URL` and `ST_AUTH_URL` name (tests, the demo).
    Emulator,
    /// One of ServiceTitan's environments.
    ServiceTitan(Environment),
}

/// A site's ServiceTitan connection, as names of worker secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTitanConnection {
    /// The environment; the worker's `ST_ENV` var when absent.
    #[serde(default)]
    pub environment: Option<Environment>,
    /// The secret holding the OAuth client id.
    #[serde(default = "names::client_id")]
    pub client_id_secret: String,
    /// The secret holding the OAuth client secret.
    #[serde(default = "names::client_secret")]
    pub client_secret_secret: String,
    /// The secret holding the `ST-App-Key`.
    #[serde(default = "names::app_key")]
    pub app_key_secret: String,
    /// The secret holding the tenant id.
    #[serde(default = "names::tenant_id")]
    pub tenant_id_secret: String,
    /// The secret holding the HMAC key of ServiceTitan's webhooks to this site; the
    /// site's entry of `ST_WEBHOOK_KEYS` when absent.
    #[serde(default)]
    pub webhook_key_secret: Option<String>,
    /// The secret holding the site's Twilio auth token; the site's entry of
    /// `TWILIO_AUTH_TOKENS` when absent.
    #[serde(default)]
    pub twilio_auth_token_secret: Option<String>,
}

/// Today's global secret names, the defaults.
mod names {
    pub(super) fn client_id() -> String {
        "ST_CLIENT_ID".into()
    }
    pub(super) fn client_secret() -> String {
        "ST_CLIENT_SECRET".into()
    }
    pub(super) fn app_key() -> String {
        "ST_APP_KEY".into()
    }
    pub(super) fn tenant_id() -> String {
        "ST_TENANT_ID".into()
    }
}

impl Default for ServiceTitanConnection {
    fn default() -> Self {
        ServiceTitanConnection {
            environment: None,
            client_id_secret: names::client_id(),
            client_secret_secret: names::client_secret(),
            app_key_secret: names::app_key(),
            tenant_id_secret: names::tenant_id(),
            webhook_key_secret: None,
            twilio_auth_token_secret: None,
        }
    }
}

impl ServiceTitanConnection {
    /// Where this site's calls go, given the deployment's `ST_ENV`: `sandbox` sends every
    /// site to the emulator (the emulator's URL is the deployment's, never a site's);
    /// otherwise the site's environment, else the deployment's, else integration (the
    /// safe one: a production tenant's records are real).
    pub fn hosts(&self, deployment: Option<&str>) -> Hosts {
        let fallback = match deployment {
            Some("sandbox") => return Hosts::Emulator,
            Some("production") => Environment::Production,
            _ => Environment::Integration,
        };
        Hosts::ServiceTitan(self.environment.unwrap_or(fallback))
    }

    /// The first secret name that Cloudflare (and a shell) would not take, with its
    /// field: letters, digits and `_`, not starting with a digit.
    pub fn bad_name(&self) -> Option<(&'static str, &str)> {
        let names = [
            ("clientIdSecret", Some(&self.client_id_secret)),
            ("clientSecretSecret", Some(&self.client_secret_secret)),
            ("appKeySecret", Some(&self.app_key_secret)),
            ("tenantIdSecret", Some(&self.tenant_id_secret)),
            ("webhookKeySecret", self.webhook_key_secret.as_ref()),
            ("twilioAuthTokenSecret", self.twilio_auth_token_secret.as_ref()),
        ];
        names.into_iter().find_map(|(field, name)| name.filter(|n| !is_secret_name(n)).map(|n| (field, n.as_str())))
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes (what `wrangler secret put` and `.dev.vars` take).
fn is_secret_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 64
}

/// The name of a tenant for logs, ids and caches: a hash of the app key and the tenant
/// id, so neither the key nor anything it could be recovered from is ever written. The
/// pacer's Durable Object is named by it: one per (app key, tenant), ServiceTitan's unit
/// of rate limiting.
pub fn tenant_key(app_key: &str, tenant_id: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"st-tenant\0");
    h.update(app_key.as_bytes());
    h.update(b"\0");
    h.update(tenant_id.to_string().as_bytes());
    h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_block_names_the_global_secrets() {
        let c: ServiceTitanConnection = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ServiceTitanConnection::default());
        assert_eq!(c.client_id_secret, "ST_CLIENT_ID");
        assert!(c.bad_name().is_none());
    }

    #[test]
    fn a_site_environment_wins_over_the_deployment_and_sandbox_over_both() {
        let prod = ServiceTitanConnection { environment: Some(Environment::Production), ..Default::default() };
        let unset = ServiceTitanConnection::default();
        assert_eq!(prod.hosts(Some("integration")), Hosts::ServiceTitan(Environment::Production));
        assert_eq!(prod.hosts(Some("sandbox")), Hosts::Emulator);
        assert_eq!(unset.hosts(Some("production")), Hosts::ServiceTitan(Environment::Production));
        assert_eq!(unset.hosts(None), Hosts::ServiceTitan(Environment::Integration));
        assert_eq!(unset.hosts(Some("prod")), Hosts::ServiceTitan(Environment::Integration));
        assert_eq!(Environment::Production.auth_url(), "https://auth.servicetitan.io/connect/token");
    }

    #[test]
    fn a_secret_name_a_shell_would_split_is_refused() {
        let c = ServiceTitanConnection { app_key_secret: "ACME APP KEY".into(), ..Default::default() };
        assert_eq!(c.bad_name(), Some(("appKeySecret", "ACME APP KEY")));
        let c = ServiceTitanConnection { twilio_auth_token_secret: Some("1TOKEN".into()), ..Default::default() };
        assert_eq!(c.bad_name(), Some(("twilioAuthTokenSecret", "1TOKEN")));
    }

    #[test]
    fn the_tenant_key_differs_per_app_key_and_tenant_and_hides_both() {
        let a = tenant_key("ak1.secret", 1044990);
        assert_eq!(a.len(), 24);
        assert_ne!(a, tenant_key("ak1.secret", 1044991));
        assert_ne!(a, tenant_key("ak2.secret", 1044990));
        assert!(!a.contains("secret") && !a.contains("1044990"));
    }
}
