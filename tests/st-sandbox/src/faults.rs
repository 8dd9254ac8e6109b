//! Fault injection, switched per test through `POST /_admin/faults`.
//!
//! ```json
//! {"kind":"status","status":503,"count":2,"match":{"method":"POST","pathContains":"/jobs"}}
//! {"kind":"status","status":429,"retryAfter":2,"count":3}
//! {"kind":"rateLimit","perSecond":60}
//! {"kind":"latencyMs","ms":300,"match":{"pathContains":"/customers"}}
//! {"kind":"dropBeforeWrite","count":1,"match":{"pathContains":"/jobs"}}
//! {"kind":"dropAfterWrite","count":1,"match":{"pathContains":"/bookings"}}
//! ```
//! `count` = how many matching calls it affects (absent: all, until `DELETE /_admin/faults`);
//! `skip` = let this many matching calls through first. `match` fields are all optional:
//! `method`, `path` (exact), `pathContains`. The drop kinds match only non-GET calls unless
//! `match.method` says otherwise. Faults apply to the token endpoint too (a `match` keeps
//! them off it). Admin routes are never faulted.

use crate::error::ApiError;
use crate::journal::Seq;
use crate::server::Conn;
use crate::state::{lock, Shared};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which calls a fault applies to.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Match {
    /// HTTP method, case-insensitive.
    pub method: Option<String>,
    /// Exact path.
    pub path: Option<String>,
    /// Substring of the path.
    pub path_contains: Option<String>,
}

/// What a fault does.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Kind {
    /// Answer with this status (ServiceTitan error body); 429 gets `Retry-After`.
    Status {
        /// 4xx/5xx status.
        status: u16,
        /// Seconds for `Retry-After` (default 1 on 429 and 503).
        #[serde(rename = "retryAfter")]
        retry_after: Option<u64>,
    },
    /// A per-app rate limit: more than `perSecond` calls in a second get 429.
    RateLimit {
        /// Calls allowed per one-second window.
        #[serde(rename = "perSecond")]
        per_second: u32,
    },
    /// Delay the answer.
    LatencyMs {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection before the handler runs (nothing is written).
    DropBeforeWrite,
    /// Let the handler commit, then close the connection instead of answering.
    DropAfterWrite,
}

/// One fault as posted.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSpec {
    /// What it does.
    #[serde(flatten)]
    pub kind: Kind,
    /// Which calls.
    #[serde(default, rename = "match")]
    pub matcher: Match,
    /// How many matching calls it affects; `None` = all.
    pub count: Option<u32>,
    /// Matching calls let through before it starts.
    #[serde(default)]
    pub skip: u32,
}

/// An installed fault with its live counters.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Id for listing.
    pub id: u64,
    /// The spec.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Calls it has affected.
    pub hits: u32,
    #[serde(skip)]
    window: (i64, u32),
}

/// All installed faults.
#[derive(Debug, Default)]
pub struct Faults {
    list: Vec<Fault>,
    next: u64,
}

/// The decision for one request.
#[derive(Debug, Default)]
struct Plan {
    delay_ms: u64,
    fail: Option<ApiError>,
    drop_before: bool,
    drop_after: bool,
}

impl Faults {
    /// Installs a fault; returns its id.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, String> {
        if let Kind::Status { status, .. } = spec.kind {
            if !(400..=599).contains(&status) {
                return Err(format!("status must be 400..=599, got {status}"));
            }
        }
        self.next += 1;
        self.list.push(Fault { id: self.next, spec, hits: 0, window: (0, 0) });
        Ok(self.next)
    }

    /// Removes all faults.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Installed faults, for `GET /_admin/faults`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.list).unwrap_or_default()
    }

    /// Decides what happens to one request, consuming counts.
    fn plan(&mut self, method: &Method, path: &str, now_ms: i64) -> Plan {
        let mut plan = Plan::default();
        for f in &mut self.list {
            if plan.fail.is_some() || plan.drop_before {
                break; // the first terminal fault wins; later ones keep their counts
            }
            if !matches(&f.spec, method, path) {
                continue;
            }
            if let Kind::RateLimit { per_second } = f.spec.kind {
                // Fixed one-second windows, as the limit is "requests per second".
                let second = now_ms.div_euclid(1000);
                if f.window.0 != second {
                    f.window = (second, 0);
                }
                f.window.1 += 1;
                if f.window.1 > per_second {
                    f.hits += 1;
                    let wait = ((second + 1) * 1000 - now_ms).max(1) as u64;
                    plan.fail = Some(too_many(wait.div_ceil(1000)));
                }
                continue;
            }
            if f.spec.skip > 0 {
                f.spec.skip -= 1;
                continue;
            }
            if f.spec.count.is_some_and(|c| f.hits >= c) {
                continue;
            }
            f.hits += 1;
            match &f.spec.kind {
                Kind::Status { status, retry_after } => plan.fail = Some(status_error(*status, *retry_after)),
                Kind::LatencyMs { ms } => plan.delay_ms += ms,
                Kind::DropBeforeWrite => plan.drop_before = true,
                Kind::DropAfterWrite => plan.drop_after = true,
                Kind::RateLimit { .. } => {}
            }
        }
        // Spent faults are kept (with their hits) so tests can inspect them.
        plan
    }
}

fn matches(spec: &FaultSpec, method: &Method, path: &str) -> bool {
    let m = &spec.matcher;
    let method_ok = match &m.method {
        Some(want) => want.eq_ignore_ascii_case(method.as_str()),
        None => !matches!(spec.kind, Kind::DropBeforeWrite | Kind::DropAfterWrite) || method != Method::GET,
    };
    method_ok
        && m.path.as_ref().is_none_or(|p| p == path)
        && m.path_contains.as_ref().is_none_or(|p| path.contains(p.as_str()))
}

fn too_many(retry_after: u64) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests.")
        .with_header(header::RETRY_AFTER, retry_after.to_string())
}

fn status_error(status: u16, retry_after: Option<u64>) -> ApiError {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == 429 {
        return too_many(retry_after.unwrap_or(1));
    }
    let e = ApiError::new(code, code.canonical_reason().unwrap_or("Injected fault"));
    match (status, retry_after) {
        (503, r) => e.with_header(header::RETRY_AFTER, r.unwrap_or(1).to_string()),
        (_, Some(r)) => e.with_header(header::RETRY_AFTER, r.to_string()),
        _ => e,
    }
}

/// Middleware: applies faults around the rest of the stack.
pub async fn fault_layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let plan = lock(&state.faults).plan(req.method(), req.uri().path(), crate::time::now_ms());
    if plan.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
    }
    let conn = req.extensions().get::<Conn>().cloned();
    let seq = req.extensions().get::<Seq>().copied();
    let drop_conn = |state: &Shared| {
        if let Some(Seq(s)) = seq {
            lock(&state.journal).mark_dropped(s);
        }
        if let Some(c) = &conn {
            c.drop_now();
        }
    };
    if let Some(e) = plan.fail {
        return e.into_response();
    }
    if plan.drop_before {
        drop_conn(&state);
        return pending_or_error(conn.is_some()).await;
    }
    let resp = next.run(req).await;
    if plan.drop_after && resp.status().is_success() {
        drop_conn(&state);
        return pending_or_error(conn.is_some()).await;
    }
    resp
}

/// After a drop, the connection task drops this future; without a connection (in-process
/// tests) there is nothing to drop, so answer 502 rather than hang.
async fn pending_or_error(has_conn: bool) -> Response {
    if has_conn {
        std::future::pending::<()>().await;
    }
    ApiError::new(StatusCode::BAD_GATEWAY, "Connection dropped (no socket to drop in-process).").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> FaultSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_skip_and_match() {
        let mut f = Faults::default();
        f.add(spec(serde_json::json!({"kind":"status","status":503,"count":2,"skip":1,"match":{"method":"POST","pathContains":"/jobs"}})))
            .unwrap();
        let post = |f: &mut Faults, p: &str| f.plan(&Method::POST, p, 0).fail.map(|e| e.status.as_u16());
        assert_eq!(f.plan(&Method::GET, "/jpm/v2/tenant/1/jobs", 0).fail.map(|e| e.status.as_u16()), None);
        assert_eq!(post(&mut f, "/jpm/v2/tenant/1/jobs"), None); // skipped
        assert_eq!(post(&mut f, "/crm/v2/tenant/1/customers"), None); // no match
        assert_eq!(post(&mut f, "/jpm/v2/tenant/1/jobs"), Some(503));
        assert_eq!(post(&mut f, "/jpm/v2/tenant/1/jobs"), Some(503));
        assert_eq!(post(&mut f, "/jpm/v2/tenant/1/jobs"), None); // spent
    }

    #[test]
    fn rate_limit_windows() {
        let mut f = Faults::default();
        f.add(spec(serde_json::json!({"kind":"rateLimit","perSecond":2}))).unwrap();
        let codes: Vec<_> =
            [1000, 1100, 1200, 1999, 2000].iter().map(|t| f.plan(&Method::GET, "/x", *t).fail.is_some()).collect();
        assert_eq!(codes, [false, false, true, true, false]);
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(Faults::default().add(spec(serde_json::json!({"kind":"status","status":200}))).is_err());
        assert!(serde_json::from_value::<FaultSpec>(serde_json::json!({"kind":"explode"})).is_err());
    }
}
