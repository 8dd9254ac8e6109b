//! Export feeds (`.../export/jobs`, `estimates/export`, ...): every record in
//! (`modifiedOn`, `id`) order, read in batches by passing each answer's `continueFrom`
//! back as `from`. A changed record gets a later `modifiedOn`, so it comes again after
//! the token a client holds: that is how a poller sees changes. The 2022 OpenAPI files
//! have no export paths; the shape is ServiceTitan's documented one,
//! `{hasMore, continueFrom, data}` (developer.servicetitan.io/docs/transactional-and-export-apis).
//!
//! * `from`: absent (from the start), a date (records modified at or after it), or a token.
//! * `includeRecentChanges`: accepted; the emulator has no indexing delay, so every
//!   change is visible at once either way.
//! * `pageSize` (1–5000, default 500) is the emulator's own knob for the batch size, so
//!   a test can make the feed page; ServiceTitan picks its own.

use super::ApiResult;
use crate::error::ApiError;
use crate::paging::Query;
use crate::state::{lock, Shared};
use crate::time::parse_ms;
use axum::Json;
use serde_json::{json, Value};

/// Tokens look like this; anything else in `from` must be a date.
const TOKEN_PREFIX: &str = "st1-";

/// Where a record sits in the feed.
fn position(r: &Value) -> (i64, i64) {
    let ms = r.get("modifiedOn").and_then(Value::as_str).and_then(parse_ms).unwrap_or(0);
    (ms, r.get("id").and_then(Value::as_i64).unwrap_or(0))
}

fn token((ms, id): (i64, i64)) -> String {
    format!("{TOKEN_PREFIX}{ms}.{id}")
}

/// Records strictly after this position are returned.
fn start(from: Option<&str>) -> Result<(i64, i64), ApiError> {
    let bad = |v: &str| ApiError::field("from", format!("The value '{v}' is not a date or a continuation token."));
    match from {
        None => Ok((i64::MIN, i64::MIN)),
        Some(v) => match v.strip_prefix(TOKEN_PREFIX) {
            Some(t) => {
                let (ms, id) = t.split_once('.').ok_or_else(|| bad(v))?;
                Ok((ms.parse().map_err(|_| bad(v))?, id.parse().map_err(|_| bad(v))?))
            }
            // A date: everything modified at or after it.
            None => parse_ms(v).map(|ms| (ms, i64::MIN)).ok_or_else(|| bad(v)),
        },
    }
}

/// One batch of `coll`'s feed.
pub fn feed(state: &Shared, coll: &str, raw: Option<String>) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let after = start(q.get("from"))?;
    let _ = q.bool("includeRecentChanges")?;
    let size = q.int("pageSize")?.unwrap_or(500);
    if !(1..=5000).contains(&size) {
        return Err(ApiError::field("pageSize", "pageSize must be between 1 and 5000."));
    }
    let mut rows: Vec<Value> = lock(&state.db).all(coll).iter().filter(|r| position(r) > after).cloned().collect();
    rows.sort_by_key(position);
    let has_more = rows.len() > size as usize;
    rows.truncate(size as usize);
    // Nothing new: the same place again, so the client can keep polling from it.
    let next = rows.last().map(position).unwrap_or(after);
    let continue_from = if next.0 == i64::MIN { q.get("from").unwrap_or("").to_string() } else { token(next) };
    Ok(Json(json!({"hasMore": has_more, "continueFrom": continue_from, "data": rows})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_dates_and_tokens() {
        assert_eq!(start(Some("st1-5.7")).unwrap(), (5, 7));
        assert_eq!(start(Some("1970-01-01T00:00:01Z")).unwrap(), (1000, i64::MIN));
        assert!(start(Some("st1-x")).is_err());
        assert!(start(Some("yesterday")).is_err());
        assert_eq!(token((5, 7)), "st1-5.7");
    }
}
