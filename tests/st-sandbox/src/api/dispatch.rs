//! Dispatch capacity: `POST /dispatch/v2/tenant/{tenant}/capacity`.
//!
//! ServiceTitan computes capacity from technician shifts; we compute it from the seed's
//! `capacity` section so it never goes stale:
//! ```json
//! {"utcOffsetMinutes": -360, "workdays": [1,2,3,4,5,6],
//!  "windows": [{"startHour": 8, "endHour": 12}, {"startHour": 12, "endHour": 16}],
//!  "idealBookingPercentage": 80}
//! ```
//! (`workdays`: 0 = Sunday.) For each working window inside the requested range we
//! answer one availability: the active technicians of the requested business units,
//! `totalAvailability` = technicians × window hours, `openAvailability` = that minus the
//! hours of appointments (of jobs in those business units) overlapping the window, and a
//! technician is `Unavailable` when one of their appointments overlaps it.

use super::{json_body, ApiResult};
use crate::error::ApiError;
use crate::state::{lock, Shared};
use crate::store::Rec;
use crate::time::{format_ms, parse_ms};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// Requests spanning more days than this are cut (keeps answers small).
const MAX_DAYS: i64 = 62;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Dispatch routes.
pub fn routes() -> Router<Shared> {
    Router::new().route("/dispatch/v2/tenant/{tenant}/capacity", post(capacity))
}

async fn capacity(State(s): State<Shared>, bytes: Bytes) -> ApiResult {
    let body = json_body(&bytes)?;
    let t = |k: &str| body.get(k).and_then(Value::as_str).and_then(parse_ms);
    let (Some(from), Some(to)) = (t("startsOnOrAfter"), t("endsOnOrBefore")) else {
        return Err(ApiError::field("StartsOnOrAfter", "StartsOnOrAfter and EndsOnOrBefore are required date-times."));
    };
    if to < from {
        return Err(ApiError::field("EndsOnOrBefore", "EndsOnOrBefore must not be before StartsOnOrAfter."));
    }
    let cfg = &s.seed.capacity;
    let offset = cfg.get("utcOffsetMinutes").and_then(Value::as_i64).unwrap_or(0) * 60_000;
    let workdays: Vec<i64> = match cfg.get("workdays").and_then(Value::as_array) {
        Some(d) => d.iter().filter_map(Value::as_i64).collect(),
        None => vec![1, 2, 3, 4, 5],
    };
    let windows: Vec<(i64, i64)> = match cfg.get("windows").and_then(Value::as_array) {
        Some(w) => w
            .iter()
            .filter_map(|w| Some((w.get("startHour")?.as_i64()?, w.get("endHour")?.as_i64()?)))
            .filter(|(a, b)| a < b)
            .collect(),
        None => vec![(8, 12), (12, 16)],
    };
    let ideal = cfg.get("idealBookingPercentage").and_then(Value::as_f64).unwrap_or(80.0);

    let db = lock(&s.db);
    let requested: Option<Vec<i64>> =
        body.get("businessUnitIds").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_i64).collect());
    let in_bus = |bu: Option<i64>| requested.as_ref().is_none_or(|r| bu.is_some_and(|b| r.contains(&b)));
    let techs: Vec<&Value> = db
        .all("technicians")
        .iter()
        .filter(|t| t.get("active") != Some(&json!(false)) && in_bus(t.int("businessUnitId")))
        .collect();
    let bus: Vec<i64> = match &requested {
        Some(r) => r.clone(),
        None => {
            let mut v: Vec<i64> = techs.iter().filter_map(|t| t.int("businessUnitId")).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    // (start, end, technicianIds, business unit) of every scheduled appointment.
    let appts: Vec<(i64, i64, Vec<i64>, Option<i64>)> = db
        .all("appointments")
        .iter()
        .filter(|a| a.str_("status") != Some("Canceled"))
        .filter_map(|a| {
            let (st, en) = (parse_ms(a.str_("start")?)?, parse_ms(a.str_("end")?)?);
            let techs = a
                .get("technicianIds")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let bu = a.int("jobId").and_then(|j| db.get("jobs", j)).and_then(|j| j.int("businessUnitId"));
            Some((st, en, techs, bu))
        })
        .collect();

    let mut out = Vec::new();
    let first_day = (from + offset).div_euclid(DAY);
    let last_day = ((to + offset).div_euclid(DAY)).min(first_day + MAX_DAYS);
    for day in first_day..=last_day {
        if !workdays.contains(&(day + 4).rem_euclid(7)) {
            continue; // 1970-01-01 was a Thursday
        }
        for &(sh, eh) in &windows {
            let (ws, we) = (day * DAY + sh * HOUR - offset, day * DAY + eh * HOUR - offset);
            if ws < from || we > to {
                continue;
            }
            let overlap = |a: &(i64, i64, Vec<i64>, Option<i64>)| (a.1.min(we) - a.0.max(ws)).max(0);
            let total = techs.len() as f64 * (eh - sh) as f64;
            let booked: i64 = appts.iter().filter(|a| in_bus(a.3)).map(overlap).sum();
            let open = (total - booked as f64 / HOUR as f64).max(0.0);
            let tech_list: Vec<Value> = techs
                .iter()
                .map(|t| {
                    let id = t.int("id").unwrap_or(0);
                    let busy = appts.iter().any(|a| a.2.contains(&id) && overlap(a) > 0);
                    json!({"id": id, "name": t.get("name"), "status": if busy { "Unavailable" } else { "Available" }})
                })
                .collect();
            out.push(json!({
                "start": format_ms(ws), "end": format_ms(we), "businessUnitIds": bus,
                "totalAvailability": total, "openAvailability": open, "technicians": tech_list,
                "isExceedingIdealBookingPercentage": total > 0.0 && (total - open) / total * 100.0 > ideal,
            }));
        }
    }
    Ok(Json(json!({"timeStamp": crate::time::now_rfc3339(), "availabilities": out})))
}
