//! The tenant's records, kept as JSON in ServiceTitan's own response shapes, and the
//! seed file that fills them.
//!
//! Records are `serde_json::Value`s rather than Rust structs on purpose: the seed can be
//! an export of a real tenant (whatever fields its GET endpoints return), and what we
//! serve is exactly what we stored.
//!
//! Seed file sections (all optional, each a list of records as the named GET returns them):
//! `customers` (GET /crm/.../customers), `locations` (GET /crm/.../locations),
//! `customerContacts` (GET /crm/.../customers/contacts, items carry `customerId`),
//! `locationContacts` (GET /crm/.../locations/contacts, items carry `locationId`),
//! `businessUnits`, `jobTypes`, `campaigns`, `technicians`, `bookingProviders`
//! (`{id, name, active}`), `bookings`, `jobs`, `appointments`, `leads`, `notes`, `estimates`, `invoices`, `payments`,
//! `jobCancelReasons` (`{id, name, active}`; three defaults, "No show" first, when the seed has none);
//! plus `app` (`{tenantId, bookingProviderId, clientId?, clientSecret?, appKey?, userId?}`),
//! `tenant` (`{id, name}`) and `capacity` (see [`crate::api::dispatch`]).

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Collections served and shown by `GET /_admin/records`.
pub const COLLECTIONS: &[&str] = &[
    "customers",
    "locations",
    "contacts",
    "jobs",
    "appointments",
    "bookings",
    "notes",
    "leads",
    "estimates",
    "invoices",
    "payments",
    "jobCancelReasons",
    "jobCancellations",
    "businessUnits",
    "jobTypes",
    "campaigns",
    "technicians",
    "bookingProviders",
];

/// Seed sections that go into `contacts`.
const CONTACT_SECTIONS: &[&str] = &["customerContacts", "locationContacts", "bookingContacts", "contacts"];

/// Cancel reasons when the seed has none. ServiceTitan has no no-show job status; offices
/// cancel with a reason like this one, which is how a no-show is told apart.
pub const DEFAULT_CANCEL_REASONS: [(i64, &str); 3] =
    [(9101, "No show"), (9102, "Customer canceled"), (9103, "Duplicate job")];

/// The parsed seed file.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Initial collections.
    pub collections: BTreeMap<String, Vec<Value>>,
    /// The `app` section.
    pub app: Map<String, Value>,
    /// The `tenant` section.
    pub tenant: Map<String, Value>,
    /// The `capacity` section.
    pub capacity: Value,
}

impl Seed {
    /// Reads and checks a seed file.
    pub fn load(path: &Path) -> Result<Seed, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("seed {}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("seed {}: {e}", path.display()))?;
        Seed::from_value(v).map_err(|e| format!("seed {}: {e}", path.display()))
    }

    /// Builds a seed from its JSON.
    pub fn from_value(v: Value) -> Result<Seed, String> {
        let Value::Object(mut top) = v else { return Err("the seed must be a JSON object".into()) };
        let mut seed = Seed::default();
        for name in COLLECTIONS {
            seed.collections.insert((*name).to_string(), Vec::new());
        }
        let obj = |v: Option<Value>| match v {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        seed.app = obj(top.remove("app"));
        seed.tenant = obj(top.remove("tenant"));
        seed.capacity = top.remove("capacity").unwrap_or(Value::Null);
        for (key, value) in top {
            let target = if CONTACT_SECTIONS.contains(&key.as_str()) { "contacts".to_string() } else { key.clone() };
            if !COLLECTIONS.contains(&target.as_str()) {
                if key.starts_with('_') || key == "$comment" {
                    continue; // comments
                }
                return Err(format!("unknown section {key:?}"));
            }
            let Value::Array(items) = value else { return Err(format!("{key} must be an array")) };
            for (i, item) in items.iter().enumerate() {
                if item.get("id").and_then(Value::as_i64).is_none() {
                    return Err(format!("{key}[{i}] needs an integer id"));
                }
            }
            seed.collections.entry(target).or_default().extend(items);
        }
        let reasons = seed.collections.entry("jobCancelReasons".into()).or_default();
        if reasons.is_empty() {
            for (id, name) in DEFAULT_CANCEL_REASONS {
                reasons.push(serde_json::json!({"id": id, "name": name, "active": true}));
            }
        }
        Ok(seed)
    }
}

/// Mutable tenant state.
#[derive(Debug, Clone)]
pub struct Db {
    collections: BTreeMap<String, Vec<Value>>,
    next_id: i64,
    last_modified_ms: i64,
    /// Added to the real clock for record times (`POST /_admin/clock`): a test can have
    /// the office act "at 10 p.m." whatever the hour. Tokens keep the real clock.
    clock_offset_ms: i64,
}

impl Db {
    /// A database holding the seed's records; new ids start above every seeded id.
    pub fn from_seed(seed: &Seed) -> Db {
        let max =
            seed.collections.values().flatten().filter_map(|r| r.get("id").and_then(Value::as_i64)).max().unwrap_or(0);
        // Round up so created records are easy to tell from seeded ones.
        let next_id = (max / 10_000 + 1) * 10_000 + 1;
        Db { collections: seed.collections.clone(), next_id, last_modified_ms: 0, clock_offset_ms: 0 }
    }

    /// After a reset: ids and `modifiedOn`s go on from where `old` was, as ServiceTitan never
    /// hands out an id twice (a client that kept state about record 10001 before the reset
    /// must not take a new record for it).
    pub fn carry_on_from(&mut self, old: &Db) {
        self.next_id = self.next_id.max(old.next_id);
        self.last_modified_ms = self.last_modified_ms.max(old.last_modified_ms);
    }

    /// The tenant's clock for record times: real time plus the admin's offset.
    pub fn now_ms(&self) -> i64 {
        crate::time::now_ms() + self.clock_offset_ms
    }

    /// Sets the offset of [`Db::now_ms`] from real time. Moving it back lets `modifiedOn`s
    /// go back with it (else every change would still be stamped after the latest one), so
    /// a record changed both before and after the move may look older to a client that
    /// deduplicates: move the clock before making the records a test needs.
    pub fn set_clock_offset(&mut self, offset_ms: i64) {
        self.clock_offset_ms = offset_ms;
        self.last_modified_ms = self.last_modified_ms.min(self.now_ms());
    }

    /// A fresh id (one sequence for all record kinds, as ids are unique per tenant).
    pub fn next_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A `modifiedOn` for a change now, later than every one handed out before: two changes
    /// within one millisecond must not look alike to a client deduplicating on
    /// (entity, id, modifiedOn), nor tie in an export feed's order.
    pub fn tick(&mut self) -> String {
        self.last_modified_ms = self.now_ms().max(self.last_modified_ms + 1);
        crate::time::format_ms(self.last_modified_ms)
    }

    /// All records of a collection.
    pub fn all(&self, coll: &str) -> &[Value] {
        self.collections.get(coll).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The record with this id.
    pub fn get(&self, coll: &str, id: i64) -> Option<&Value> {
        self.all(coll).iter().find(|r| r.get("id").and_then(Value::as_i64) == Some(id))
    }

    /// The record with this id, mutably.
    pub fn get_mut(&mut self, coll: &str, id: i64) -> Option<&mut Value> {
        self.collections.get_mut(coll)?.iter_mut().find(|r| r.get("id").and_then(Value::as_i64) == Some(id))
    }

    /// Appends a record.
    pub fn insert(&mut self, coll: &str, record: Value) {
        self.collections.entry(coll.to_string()).or_default().push(record);
    }

    /// Removes a record by id; true if it existed.
    pub fn remove(&mut self, coll: &str, id: i64) -> bool {
        let Some(v) = self.collections.get_mut(coll) else { return false };
        let before = v.len();
        v.retain(|r| r.get("id").and_then(Value::as_i64) != Some(id));
        v.len() != before
    }

    /// Every collection, for `GET /_admin/records`.
    pub fn to_json(&self) -> Value {
        Value::Object(self.collections.iter().map(|(k, v)| (k.clone(), Value::Array(v.clone()))).collect())
    }
}

/// Small accessors used across handlers.
pub trait Rec {
    /// Integer field.
    fn int(&self, key: &str) -> Option<i64>;
    /// String field.
    fn str_(&self, key: &str) -> Option<&str>;
}

impl Rec for Value {
    fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_i64)
    }
    fn str_(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_sections() {
        let s = Seed::from_value(json!({
            "app": {"tenantId": 1},
            "customers": [{"id": 5, "name": "A"}],
            "customerContacts": [{"id": 6, "customerId": 5}],
            "locationContacts": [{"id": 7, "locationId": 9}],
        }))
        .unwrap();
        let mut db = Db::from_seed(&s);
        assert_eq!(db.all("contacts").len(), 2);
        assert_eq!(db.next_id(), 10_001);
        assert!(Seed::from_value(json!({"customers": [{"name": "no id"}]})).is_err());
        assert!(Seed::from_value(json!({"widgets": []})).is_err());
        assert!(Seed::from_value(json!([])).is_err());
    }
}
