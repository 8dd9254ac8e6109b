//! Query strings, ServiceTitan's list filters and the paging envelope
//! `{page, pageSize, hasMore, totalCount, data}`.
//!
//! Every list takes `page` (from 1), `pageSize` (1..=5000, default 50), `includeTotal`
//! (`totalCount` is null without it), `ids` (comma list, at most 50), `sort`
//! (`+Id`, `-ModifiedOn`, `CreatedOn`...), the created/modified date range filters and,
//! where ServiceTitan has it, `active` (`True` default, `False`, `Any`). Resource-specific
//! filters are [`Filter`] rows in each handler.

use crate::error::ApiError;
use crate::time::parse_ms;
use serde_json::{json, Value};

/// A parsed query string. Names match case-insensitively, as ASP.NET binds them.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// An integer parameter; 400 if present and not an integer.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::field(key, format!("The value '{v}' is not valid for {key}."))),
        }
    }

    /// A boolean parameter; 400 if present and not a boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::field(key, format!("The value '{v}' is not valid for {key}."))),
        }
    }

    /// A date-time parameter (ms since epoch); 400 if present and unparsable.
    pub fn time(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_ms(v)
                .map(Some)
                .ok_or_else(|| ApiError::field(key, format!("The value '{v}' is not valid for {key}."))),
        }
    }
}

/// A resource-specific filter: query parameter → test on a record.
#[derive(Clone, Copy)]
pub enum Filter {
    /// Integer field equals the parameter.
    IntEq(&'static str, &'static str),
    /// String at a JSON pointer contains the parameter, case-insensitively.
    Contains(&'static str, &'static str),
    /// String at a JSON pointer equals the parameter, case-insensitively.
    Eq(&'static str, &'static str),
}

/// Lowercase text without surrounding space, for comparisons.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Applies `filters` to `records`.
pub fn apply(records: Vec<Value>, q: &Query, filters: &[Filter]) -> Result<Vec<Value>, ApiError> {
    let mut out = records;
    for f in filters {
        match *f {
            Filter::IntEq(param, field) => {
                if let Some(want) = q.int(param)? {
                    out.retain(|r| r.get(field).and_then(Value::as_i64) == Some(want));
                }
            }
            Filter::Contains(param, ptr) => {
                if let Some(want) = q.get(param).map(fold) {
                    out.retain(|r| r.pointer(ptr).and_then(Value::as_str).is_some_and(|s| fold(s).contains(&want)));
                }
            }
            Filter::Eq(param, ptr) => {
                if let Some(want) = q.get(param).map(fold) {
                    out.retain(|r| r.pointer(ptr).and_then(Value::as_str).is_some_and(|s| fold(s) == want));
                }
            }
        }
    }
    Ok(out)
}

/// Options shared by every list.
#[derive(Clone, Copy, Default)]
pub struct ListOpts {
    /// The resource has an `active` flag and the `active` filter (default `True`).
    pub active: bool,
}

/// Common filters, sorting and paging; returns the envelope.
pub fn page(records: Vec<Value>, q: &Query, opts: ListOpts) -> Result<Value, ApiError> {
    let mut rows = records;
    if let Some(ids) = q.get("ids") {
        let parsed: Result<Vec<i64>, _> = ids.split(',').map(|s| s.trim().parse::<i64>()).collect();
        let ids = parsed.map_err(|_| ApiError::field("ids", "ids must be a comma-separated list of integers."))?;
        if ids.len() > 50 {
            return Err(ApiError::field("ids", "At most 50 ids may be requested."));
        }
        rows.retain(|r| r.get("id").and_then(Value::as_i64).is_some_and(|id| ids.contains(&id)));
    }
    if opts.active {
        let want = match q.get("active").map(str::to_ascii_lowercase).as_deref() {
            None | Some("true") => Some(true),
            Some("false") => Some(false),
            Some("any") => None,
            Some(v) => {
                return Err(ApiError::field(
                    "active",
                    format!("The value '{v}' is not valid for active (True, Any, False)."),
                ))
            }
        };
        if let Some(want) = want {
            rows.retain(|r| r.get("active").and_then(Value::as_bool).unwrap_or(true) == want);
        }
    }
    for (param, field, before) in [
        ("createdBefore", "createdOn", true),
        ("createdOnOrAfter", "createdOn", false),
        ("modifiedBefore", "modifiedOn", true),
        ("modifiedOnOrAfter", "modifiedOn", false),
    ] {
        if let Some(t) = q.time(param)? {
            rows.retain(|r| {
                let at = r.get(field).and_then(Value::as_str).and_then(parse_ms);
                at.is_some_and(|at| if before { at < t } else { at >= t })
            });
        }
    }
    sort(&mut rows, q)?;
    let page = q.int("page")?.unwrap_or(1);
    let page_size = q.int("pageSize")?.unwrap_or(50);
    if page < 1 {
        return Err(ApiError::field("page", "page must be 1 or more."));
    }
    if !(1..=5000).contains(&page_size) {
        return Err(ApiError::field("pageSize", "pageSize must be between 1 and 5000."));
    }
    let total = rows.len();
    let start = usize::try_from((page - 1).saturating_mul(page_size)).unwrap_or(usize::MAX).min(total);
    let end = start.saturating_add(page_size as usize).min(total);
    let include_total = q.bool("includeTotal")?.unwrap_or(false);
    Ok(json!({
        "page": page,
        "pageSize": page_size,
        "hasMore": end < total,
        "totalCount": if include_total { json!(total) } else { Value::Null },
        "data": rows[start..end].to_vec(),
    }))
}

fn sort(rows: &mut [Value], q: &Query) -> Result<(), ApiError> {
    // job-types spell it orderBy + orderByDirection; the rest use sort=+Field / -Field.
    let (field, desc) = match (q.get("sort"), q.get("orderBy")) {
        (Some(s), _) => {
            let desc = s.starts_with('-');
            (s.trim_start_matches(['+', '-', ' ']).to_string(), desc)
        }
        (None, Some(o)) => (o.to_string(), q.get("orderByDirection").is_some_and(|d| d.eq_ignore_ascii_case("desc"))),
        (None, None) => ("id".to_string(), false),
    };
    let key = match field.to_ascii_lowercase().as_str() {
        "id" => "id",
        "modifiedon" => "modifiedOn",
        "createdon" => "createdOn",
        "name" => "name",
        _ => {
            return Err(ApiError::field("sort", format!("Cannot sort by '{field}'; use Id, ModifiedOn or CreatedOn.")))
        }
    };
    rows.sort_by(|a, b| {
        let ord = match (a.get(key), b.get(key)) {
            (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_i64().cmp(&y.as_i64()),
            (Some(Value::String(x)), Some(Value::String(y))) => match (parse_ms(x), parse_ms(y)) {
                (Some(p), Some(r)) => p.cmp(&r),
                _ => x.to_lowercase().cmp(&y.to_lowercase()),
            },
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Value> {
        (1..=7).map(|i| json!({"id": i, "active": i != 3, "name": format!("N{i}"), "createdOn": format!("2025-01-0{i}T00:00:00Z")})).collect()
    }

    fn ids(v: &Value) -> Vec<i64> {
        v["data"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
    }

    #[test]
    fn envelope_table() {
        let a = ListOpts { active: true };
        for (query, want, has_more, total) in [
            ("", vec![1, 2, 4, 5, 6, 7], false, json!(null)),
            ("pageSize=2&includeTotal=true", vec![1, 2], true, json!(6)),
            ("pageSize=2&page=3", vec![6, 7], false, json!(null)),
            ("pageSize=2&page=9", vec![], false, json!(null)),
            ("active=Any&sort=-Id&pageSize=3", vec![7, 6, 5], true, json!(null)),
            ("active=False", vec![3], false, json!(null)),
            ("ids=2,3,4", vec![2, 4], false, json!(null)),
            ("createdOnOrAfter=2025-01-05T00:00:00Z", vec![5, 6, 7], false, json!(null)),
            ("createdBefore=2025-01-02", vec![1], false, json!(null)),
        ] {
            let v = page(rows(), &Query::parse(Some(query)), a).unwrap();
            assert_eq!(ids(&v), want, "{query}");
            assert_eq!(v["hasMore"], has_more, "{query}");
            assert_eq!(v["totalCount"], total, "{query}");
        }
        for bad in [
            "page=0",
            "pageSize=0",
            "pageSize=5001",
            "page=x",
            "ids=a",
            "active=maybe",
            "sort=+Color",
            "createdBefore=soon",
        ] {
            let e = page(rows(), &Query::parse(Some(bad)), a).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn filters() {
        let q = Query::parse(Some("name=n1"));
        assert_eq!(apply(rows(), &q, &[Filter::Contains("name", "/name")]).unwrap().len(), 1);
        let q = Query::parse(Some("NAME=n"));
        assert_eq!(apply(rows(), &q, &[Filter::Contains("name", "/name")]).unwrap().len(), 7);
        let q = Query::parse(Some("id=4"));
        assert_eq!(apply(rows(), &q, &[Filter::IntEq("id", "id")]).unwrap().len(), 1);
    }
}
