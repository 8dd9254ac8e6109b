//! Where the worker finds site configs and ServiceTitan settings.

use std::cell::RefCell;
use std::rc::Rc;

use booking_core::servicetitan::tenant::Hosts;
use booking_core::site::SiteConfig;
use worker::Env;

/// Site configs compiled in from `examples/sites/*.json` (see build.rs).
const EMBEDDED_SITES: &str = include_str!(concat!(env!("OUT_DIR"), "/sites.json"));

thread_local! {
    /// The sites as last parsed, with the text they were parsed from: parsing every
    /// site's JSON on every request was a third of a voice greeting's time (issue 14
    /// item 9). Keyed by the text, so a changed `SITES_JSON` is parsed again.
    static PARSED: RefCell<Option<(String, Rc<Sites>)>> = const { RefCell::new(None) };
}

/// The sites of one config text: those that passed `booking_core::site::parse_config`,
/// and why each other one was refused (issue 16 item 4).
pub(crate) struct Sites {
    ok: Vec<SiteConfig>,
    /// (the site's id if it has one, "site id or SITES_JSON[i]: path: reason").
    refused: Vec<(Option<String>, String)>,
}

/// The parsed sites of this isolate, parsed again when `SITES_JSON` changes.
fn sites(env: &Env) -> Rc<Sites> {
    let text = env.var("SITES_JSON").map(|v| v.to_string()).unwrap_or_else(|_| EMBEDDED_SITES.to_string());
    PARSED.with(|cell| {
        if let Some((_, sites)) = cell.borrow().as_ref().filter(|(key, _)| *key == text) {
            return sites.clone();
        }
        let sites = Rc::new(parse_sites(&text, env.var("SITES_JSON").is_ok()));
        for (_, why) in &sites.refused {
            worker::console_error!("site config refused (never booked against): {why}");
        }
        *cell.borrow_mut() = Some((text, sites.clone()));
        sites
    })
}

/// The site with this id. A `SITES_JSON` var (a JSON array) replaces the embedded set,
/// so a deployment can carry its own sites without a rebuild. A site that does not
/// parse is no site (see [`refusal`] for why).
pub(crate) fn site(env: &Env, id: &str) -> Option<SiteConfig> {
    sites(env).ok.iter().find(|s| s.id == id).cloned()
}

/// Every site that parsed, for the owner page.
pub(crate) fn all(env: &Env) -> Vec<SiteConfig> {
    sites(env).ok.clone()
}

/// Why the config of site `id` was refused (its JSON path and the reason), when it was;
/// a `SITES_JSON` that is no JSON array refuses every site.
pub(crate) fn refusal(env: &Env, id: &str) -> Option<String> {
    let sites = sites(env);
    sites.refused.iter().find(|(site, _)| site.as_deref().is_none_or(|s| s == id)).map(|(_, why)| why.clone())
}

/// Every refused site config, for `GET /health` and the owner.
pub(crate) fn refusals(env: &Env) -> Vec<String> {
    sites(env).refused.iter().map(|(_, why)| why.clone()).collect()
}

/// Every site of a JSON array, each checked against the site config contract.
fn parse_sites(text: &str, from_var: bool) -> Sites {
    let source = if from_var { "SITES_JSON" } else { "examples/sites" };
    let sites = match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Ok(sites) => sites,
        Err(e) => {
            return Sites { ok: vec![], refused: vec![(None, format!("{source}: not a JSON array of sites: {e}"))] }
        }
    };
    let mut parsed = Sites { ok: vec![], refused: vec![] };
    for (i, value) in sites.into_iter().enumerate() {
        let id = value["id"].as_str().map(str::to_string);
        match booking_core::site::parse_config(&value.to_string()) {
            Ok(site) => parsed.ok.push(site),
            Err(e) => {
                let name = id.clone().map_or_else(|| format!("{source}[{i}]"), |id| format!("site {id:?}"));
                parsed.refused.push((id, format!("{name}: {e}")));
            }
        }
    }
    parsed
}

/// A secret the site's config names itself (`serviceTitan.webhookKeySecret`,
/// `twilioAuthTokenSecret`), else the site's entry of the deployment's JSON map secret
/// (`ST_WEBHOOK_KEYS`, `TWILIO_AUTH_TOKENS`). Empty counts as unset: an empty key
/// signs anything.
pub(crate) fn site_secret(env: &Env, named: Option<&str>, map: &str, site_id: &str) -> Option<String> {
    let value = match named {
        Some(name) => secret(env, name).ok()?,
        None => {
            let text = secret(env, map).ok()?;
            let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).ok()?;
            entries.get(site_id)?.as_str()?.to_string()
        }
    };
    let value = value.trim().to_string();
    (!value.is_empty()).then_some(value)
}

/// One site's ServiceTitan hosts and credentials (issue 16 item 1): the secrets its
/// config names (`serviceTitan`, the global `ST_*` names when absent), its environment.
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
    /// The tenant's name for logs, caches and its pacer: a hash of app key and tenant.
    pub tenant_key: String,
    /// The bindings, for the tenant's pacer (`TENANT_PACERS`).
    pub env: Env,
}

/// Why a site has no ServiceTitan settings; says which secret, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettingsError {
    /// A secret (or var) the site names is not set.
    Missing(String),
    /// The tenant id secret is not a number.
    TenantIdNotANumber(String),
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsError::Missing(name) => write!(f, "{name} is not set"),
            SettingsError::TenantIdNotANumber(name) => write!(f, "{name} is not a number"),
        }
    }
}

impl From<SettingsError> for worker::Error {
    fn from(e: SettingsError) -> worker::Error {
        worker::Error::from(e.to_string())
    }
}

/// A secret, or a var of that name (`wrangler dev --var` in tests, `.dev.vars`).
fn secret(env: &Env, name: &str) -> Result<String, SettingsError> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .map_err(|_| SettingsError::Missing(name.to_string()))
}

impl ServiceTitanSettings {
    /// The settings of the site with this id (the objects keep ids, not configs).
    pub(crate) fn for_site_id(env: &Env, site_id: &str) -> worker::Result<ServiceTitanSettings> {
        let site = site(env, site_id).ok_or_else(|| worker::Error::from(format!("unknown site {site_id:?}")))?;
        Ok(ServiceTitanSettings::for_site(env, &site)?)
    }

    /// Reads the settings of `site`; its hosts as `ServiceTitanConnection::hosts` decides
    /// from `ST_ENV` (`sandbox`: the emulator at `ST_API_URL`, `ST_AUTH_URL`).
    pub(crate) fn for_site(env: &Env, site: &SiteConfig) -> Result<ServiceTitanSettings, SettingsError> {
        let names = &site.service_titan;
        let var = |name: &str| env.var(name).map(|v| v.to_string()).ok();
        let (api_url, auth_url) = match names.hosts(var("ST_ENV").as_deref()) {
            Hosts::Emulator => {
                let need = |name: &str| var(name).ok_or_else(|| SettingsError::Missing(name.to_string()));
                (need("ST_API_URL")?, need("ST_AUTH_URL")?)
            }
            Hosts::ServiceTitan(environment) => (environment.api_url().into(), environment.auth_url().into()),
        };
        let app_key = secret(env, &names.app_key_secret)?;
        let tenant_id = secret(env, &names.tenant_id_secret)?
            .trim()
            .parse()
            .map_err(|_| SettingsError::TenantIdNotANumber(names.tenant_id_secret.clone()))?;
        Ok(ServiceTitanSettings {
            api_url: api_url.trim_end_matches('/').to_string(),
            auth_url,
            client_id: secret(env, &names.client_id_secret)?,
            client_secret: secret(env, &names.client_secret_secret)?,
            tenant_key: booking_core::servicetitan::tenant::tenant_key(&app_key, tenant_id),
            app_key,
            tenant_id,
            env: env.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_sites;

    fn northstar() -> serde_json::Value {
        serde_json::from_str(include_str!("../../examples/sites/northstar.json")).unwrap()
    }

    #[test]
    fn a_refused_site_is_no_site_and_says_its_path_the_others_serve() {
        let mut bad = northstar();
        bad["id"] = "broken".into();
        bad["trades"][0]["jobTypeId"] = "2001".into();
        let sites = parse_sites(&serde_json::json!([northstar(), bad]).to_string(), true);
        assert_eq!(sites.ok.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["northstar"]);
        assert_eq!(sites.refused.len(), 1);
        let (id, why) = &sites.refused[0];
        assert_eq!(id.as_deref(), Some("broken"));
        assert!(why.starts_with("site \"broken\": trades[0].jobTypeId: invalid type"), "{why}");
    }

    #[test]
    fn sites_json_that_is_no_array_refuses_every_site() {
        let sites = parse_sites("{\"id\": \"northstar\"}", true);
        assert!(sites.ok.is_empty());
        assert!(sites.refused[0].0.is_none() && sites.refused[0].1.starts_with("SITES_JSON: not a JSON array"));
        let no_id = parse_sites("[{\"businessName\": \"x\"}]", false);
        assert!(no_id.refused[0].1.starts_with("examples/sites[0]: .: missing field"), "{:?}", no_id.refused);
    }
}
