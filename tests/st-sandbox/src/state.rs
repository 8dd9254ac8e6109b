//! Shared server state: configuration, records, tokens, faults, the request journal.

use crate::cli::Config;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::openapi::Spec;
use crate::store::{Db, Seed};
use crate::webhooks::Webhooks;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The app's connection to the tenant, resolved from flags and the seed's `app` section.
#[derive(Debug, Clone)]
pub struct AppIdentity {
    /// Tenant id.
    pub tenant_id: i64,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// ST-App-Key.
    pub app_key: String,
    /// Booking provider the app is restricted to.
    pub booking_provider_id: i64,
    /// The user id recorded as `createdById` on what the app creates.
    pub user_id: i64,
    /// Token lifetime.
    pub token_ttl: u64,
}

/// Everything handlers share.
pub struct AppState {
    /// Who may call.
    pub app: AppIdentity,
    /// The seed, for resets.
    pub seed: Seed,
    /// Records.
    pub db: Mutex<Db>,
    /// Issued tokens → expiry (ms since epoch).
    pub tokens: Mutex<HashMap<String, i64>>,
    /// Active faults.
    pub faults: Mutex<Faults>,
    /// Requests seen.
    pub journal: Mutex<Journal>,
    /// OpenAPI request schemas.
    pub spec: Spec,
    /// Outgoing webhook subscriptions and deliveries.
    pub webhooks: Mutex<Webhooks>,
    /// How much faster than real time the emulator's own waits run (at least 1).
    pub time_factor: f64,
}

/// `Arc<AppState>`, the axum state.
pub type Shared = Arc<AppState>;

/// Locks a mutex, recovering from poisoning (a panicked holder must not take the server down).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A throwaway credential for when neither flags nor seed give one.
fn generated(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(crate::time::now_ms());
    format!("{prefix}{:016x}", h.finish())
}

impl AppState {
    /// Loads seed and spec and resolves credentials: flag, else the seed's `app` section,
    /// else a generated value (printed to stderr so a human can use it).
    pub fn new(config: &Config) -> Result<AppState, String> {
        let seed = Seed::load(&config.seed)?;
        let spec = Spec::load(&config.openapi)?;
        Ok(Self::from_parts(config, seed, spec))
    }

    /// Builds state from already-loaded parts (tests use this).
    pub fn from_parts(config: &Config, seed: Seed, spec: Spec) -> AppState {
        let app_str = |key: &str| seed.app.get(key).and_then(|v| v.as_str()).map(String::from);
        let app_int = |key: &str| seed.app.get(key).and_then(|v| v.as_i64());
        let cred = |flag: &Option<String>, key: &str, prefix: &str| {
            flag.clone().or_else(|| app_str(key)).unwrap_or_else(|| {
                let v = generated(prefix);
                eprintln!("st-sandbox: no {key} given; using {v}");
                v
            })
        };
        let app = AppIdentity {
            client_id: cred(&config.client_id, "clientId", "cid."),
            client_secret: cred(&config.client_secret, "clientSecret", "cs."),
            app_key: cred(&config.app_key, "appKey", "ak."),
            tenant_id: config.tenant_id.or_else(|| app_int("tenantId")).unwrap_or(1),
            booking_provider_id: config.booking_provider_id.or_else(|| app_int("bookingProviderId")).unwrap_or(1),
            user_id: app_int("userId").unwrap_or(1),
            token_ttl: config.token_ttl,
        };
        AppState {
            app,
            db: Mutex::new(Db::from_seed(&seed)),
            seed,
            tokens: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            journal: Mutex::new(Journal::default()),
            spec,
            webhooks: Mutex::new(Webhooks::default()),
            time_factor: config.time_factor.max(1.0),
        }
    }

    /// Back to the seed: records, faults, journal, the webhook log and the clock (ids and
    /// `modifiedOn`s go on rising: see [`Db::carry_on_from`]). Tokens and webhook
    /// subscriptions survive, so a client that cached a token (as the worker does) or a
    /// harness that subscribed once keeps working across test resets.
    pub fn reset(&self) {
        lock(&self.webhooks).forget_deliveries();
        let mut db = lock(&self.db);
        let mut fresh = Db::from_seed(&self.seed);
        fresh.carry_on_from(&db);
        *db = fresh;
        drop(db);
        *lock(&self.faults) = Faults::default();
        *lock(&self.journal) = Journal::default();
    }
}
