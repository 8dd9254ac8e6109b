//! Request-body validation against ServiceTitan's OpenAPI files, loaded at startup, and
//! [`Spec::check_response`], which the tests use to hold answers to the operations' `200`
//! schemas (unknown properties allowed there: the API has grown since the files).
//!
//! Supported schema keywords are the ones those files use: `$ref` (local), single and
//! multiple `oneOf`/`anyOf`/`allOf`, `type`, `format` (int32/int64/double/decimal,
//! date-time, guid), `enum`, `nullable`, `required`, `properties`, `items`,
//! `additionalProperties` (false or a schema). Messages imitate ASP.NET / System.Text.Json,
//! which is what ServiceTitan runs, and field keys are ASP.NET model paths
//! (`Locations[0].Address.Zip`).

use crate::error::ApiError;
use crate::state::Shared;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Nesting beyond this is reported rather than followed (no stack blowups on hostile input).
const MAX_DEPTH: usize = 64;

/// One operation with a JSON request body.
#[derive(Debug, Clone)]
pub struct Op {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template segments (`{tenant}` etc. kept as written).
    pub segments: Vec<String>,
    /// `operationId`.
    pub operation_id: String,
    schema: Value,
    doc: usize,
}

/// The loaded specs.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    docs: Vec<Value>,
    ops: Vec<Op>,
    /// Operations' `200` JSON schemas, for [`Spec::check_response`].
    responses: Vec<Op>,
}

impl Spec {
    /// Loads every `*.yml` / `*.yaml` in `dir`.
    pub fn load(dir: &Path) -> Result<Spec, String> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("openapi dir {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        files.sort();
        let mut spec = Spec::default();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let doc: Value = serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
            spec.add_doc(doc);
        }
        if spec.ops.is_empty() {
            return Err(format!("no OpenAPI operations with request bodies found in {}", dir.display()));
        }
        Ok(spec)
    }

    /// Adds one parsed OpenAPI document.
    pub fn add_doc(&mut self, doc: Value) {
        let idx = self.docs.len();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some(item) = item.as_object() else { continue };
                for (method, op) in item {
                    let answer = op
                        .pointer("/responses/200/content")
                        .and_then(Value::as_object)
                        .and_then(|c| c.get("application/json").or_else(|| c.values().next()))
                        .and_then(|m| m.get("schema"));
                    if let Some(schema) = answer {
                        self.responses.push(Op {
                            method: method.to_ascii_uppercase(),
                            segments: path.trim_start_matches('/').split('/').map(String::from).collect(),
                            operation_id: op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string(),
                            schema: schema.clone(),
                            doc: idx,
                        });
                    }
                    let content = op.pointer("/requestBody/content").and_then(Value::as_object);
                    // Prefer application/json; some ops list several content types.
                    let schema = content
                        .and_then(|c| c.get("application/json").or_else(|| c.values().next()))
                        .and_then(|m| m.get("schema"));
                    let Some(schema) = schema else { continue };
                    self.ops.push(Op {
                        method: method.to_ascii_uppercase(),
                        segments: path.trim_start_matches('/').split('/').map(String::from).collect(),
                        operation_id: op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string(),
                        schema: schema.clone(),
                        doc: idx,
                    });
                }
            }
        }
        self.docs.push(doc);
    }

    /// Number of operations with bodies.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when no operations were loaded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operation for a request, preferring literal segments over `{params}`
    /// (`/customers/contacts` over `/customers/{id}`).
    pub fn find(&self, method: &str, path: &str) -> Option<&Op> {
        Self::find_in(&self.ops, method, path)
    }

    fn find_in<'s>(ops: &'s [Op], method: &str, path: &str) -> Option<&'s Op> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        ops.iter()
            .filter(|op| op.method == method && op.segments.len() == segs.len())
            .filter(|op| op.segments.iter().zip(&segs).all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty())))
            .max_by_key(|op| op.segments.iter().filter(|t| !t.starts_with('{')).count())
    }

    /// Checks an answer against the operation's `200` schema: `None` when the spec has
    /// none (export feeds, paths newer than the 2022 files), else the field errors (empty =
    /// the shape fits). Required fields, types, formats, enums and nullability are checked;
    /// properties the schema does not name are allowed, because ServiceTitan's answers have
    /// grown fields since these files were written (`customerId` on estimates, ...).
    pub fn check_response(&self, method: &str, path: &str, body: &Value) -> Option<Map<String, Value>> {
        let op = Self::find_in(&self.responses, method, path)?;
        let mut ctx = Ctx { doc: &self.docs[op.doc], errors: Map::new(), lenient: true };
        ctx.check(&op.schema, body, "", 0, false);
        Some(ctx.errors)
    }

    /// Field errors for `body` (empty = valid).
    pub fn validate(&self, op: &Op, body: &Value) -> Map<String, Value> {
        let mut ctx = Ctx { doc: &self.docs[op.doc], errors: Map::new(), lenient: false };
        ctx.check(&op.schema, body, "", 0, false);
        ctx.errors
    }
}

struct Ctx<'a> {
    doc: &'a Value,
    errors: Map<String, Value>,
    /// Unknown properties allowed (answers, not requests).
    lenient: bool,
}

/// `name` as an ASP.NET model key: PascalCase.
fn pascal(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        pascal(name)
    } else {
        format!("{prefix}.{}", pascal(name))
    }
}

/// The field's own name from a model path: `Locations[0].Address` → `Address`.
fn field_label(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    match last.split('[').next() {
        Some("") | None => "body",
        Some(name) => name,
    }
}

impl<'a> Ctx<'a> {
    fn err(&mut self, path: &str, msg: String) {
        let key = if path.is_empty() { "$".to_string() } else { path.to_string() };
        if let Some(Value::Array(list)) = self.errors.get_mut(&key) {
            list.push(Value::String(msg));
        } else {
            self.errors.insert(key, json!([msg]));
        }
    }

    /// Follows `$ref`s and single-element compositions; returns the schema, its model
    /// name (from the last `$ref`) and whether anything on the way said `nullable`.
    fn resolve(&self, mut s: &'a Value) -> (&'a Value, Option<&'a str>, bool) {
        let mut name = None;
        let mut nullable = false;
        for _ in 0..MAX_DEPTH {
            nullable |= s.get("nullable").and_then(Value::as_bool).unwrap_or(false);
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let Some(n) = r.strip_prefix("#/components/schemas/") else { break };
                match self.doc.pointer(&format!("/components/schemas/{}", n.replace('~', "~0").replace('/', "~1"))) {
                    Some(t) => {
                        name = Some(n);
                        s = t;
                        continue;
                    }
                    None => break,
                }
            }
            let single = ["oneOf", "anyOf", "allOf"]
                .iter()
                .find_map(|k| s.get(*k).and_then(Value::as_array).filter(|a| a.len() == 1).map(|a| &a[0]));
            match single {
                Some(inner) if s.get("type").is_none() && s.get("properties").is_none() => s = inner,
                _ => break,
            }
        }
        (s, name, nullable)
    }

    fn check(&mut self, schema: &'a Value, v: &Value, path: &str, depth: usize, outer_nullable: bool) {
        if depth > MAX_DEPTH {
            self.err(path, "The JSON value is nested too deeply.".into());
            return;
        }
        let (s, model, nullable) = self.resolve(schema);
        if v.is_null() {
            if !(nullable || outer_nullable) {
                self.err(path, format!("The {} field is required.", field_label(path)));
            }
            return;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array).filter(|a| a.len() > 1) {
                let mut first = None;
                for alt in alts {
                    let mut sub = Ctx { doc: self.doc, errors: Map::new(), lenient: self.lenient };
                    sub.check(alt, v, path, depth + 1, false);
                    if sub.errors.is_empty() {
                        return;
                    }
                    first.get_or_insert(sub.errors);
                }
                self.errors.extend(first.unwrap_or_default());
                return;
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array).filter(|a| a.len() > 1) {
            for part in all {
                self.check(part, v, path, depth + 1, false);
            }
            return;
        }
        let format = s.get("format").and_then(Value::as_str).unwrap_or("");
        let ty =
            s.get("type").and_then(Value::as_str).unwrap_or(if s.get("properties").is_some() { "object" } else { "" });
        let cannot = |target: &str| format!("The JSON value could not be converted to {target}.");
        if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
            if !allowed.contains(v) {
                let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                let mut unique = names.clone();
                unique.dedup();
                self.err(
                    path,
                    format!("{} Allowed values: {}.", cannot(model.unwrap_or("the enum")), unique.join(", ")),
                );
                return;
            }
        }
        match ty {
            "integer" => {
                let (target, ok) = match format {
                    "int32" => ("System.Int32", v.as_i64().is_some_and(|n| i32::try_from(n).is_ok())),
                    _ => ("System.Int64", v.as_i64().is_some()),
                };
                if !ok {
                    self.err(path, cannot(target));
                }
            }
            "number" if !v.is_number() => {
                self.err(path, cannot(if format == "decimal" { "System.Decimal" } else { "System.Double" }))
            }
            "boolean" if !v.is_boolean() => self.err(path, cannot("System.Boolean")),
            "string" => match v.as_str() {
                None => self.err(path, cannot(if format == "date-time" { "System.DateTime" } else { "System.String" })),
                Some(text) if format == "date-time" && crate::time::parse_ms(text).is_none() => {
                    self.err(path, cannot("System.DateTime"))
                }
                Some(text) if (format == "guid" || format == "uuid") && !is_guid(text) => {
                    self.err(path, cannot("System.Guid"))
                }
                Some(_) => {}
            },
            "array" => match v.as_array() {
                None => self.err(path, cannot("System.Collections.Generic.List`1")),
                Some(items) => {
                    if let Some(item_schema) = s.get("items") {
                        for (i, item) in items.iter().enumerate() {
                            let p = if path.is_empty() { format!("[{i}]") } else { format!("{path}[{i}]") };
                            self.check(item_schema, item, &p, depth + 1, false);
                        }
                    }
                }
            },
            "object" => self.check_object(s, model, v, path, depth),
            _ => {}
        }
    }

    fn check_object(&mut self, s: &'a Value, model: Option<&str>, v: &Value, path: &str, depth: usize) {
        let Some(obj) = v.as_object() else {
            self.err(path, format!("The JSON value could not be converted to {}.", model.unwrap_or("an object")));
            return;
        };
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        let props: &'a Map<String, Value> = s.get("properties").and_then(Value::as_object).unwrap_or(&EMPTY);
        for req in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !obj.contains_key(req) {
                let p = join(path, req);
                self.err(&p, format!("The {} field is required.", pascal(req)));
            }
        }
        for (k, val) in obj {
            let p = join(path, k);
            if let Some(ps) = props.get(k) {
                self.check(ps, val, &p, depth + 1, false);
                continue;
            }
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) if !self.lenient => self.err(
                    &p,
                    format!(
                        "The JSON property '{k}' could not be mapped to any .NET member contained in type '{}'.",
                        model.unwrap_or("the request")
                    ),
                ),
                Some(extra @ Value::Object(_)) => self.check(extra, val, &p, depth + 1, false),
                _ => {}
            }
        }
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Middleware: validates JSON bodies of operations the spec describes.
pub async fn validate_layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(op) = state.spec.find(req.method().as_str(), req.uri().path()) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::journal::MAX_BODY).await else {
        return ApiError::field("", "The request body is too large.").into_response();
    };
    if let Err(e) = check_body(&state.spec, op, &bytes) {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Parses and validates one body.
pub fn check_body(spec: &Spec, op: &Op, bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field("", "A non-empty request body is required."));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::field("$", format!("The request body is not valid JSON: {e}")))?;
    let errors = spec.validate(op, &v);
    if errors.is_empty() {
        Ok(v)
    } else {
        Err(ApiError::validation(errors))
    }
}
