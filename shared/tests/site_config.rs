//! The site config contract (issue 16 item 4): `examples/sites/schema.json` and booking-core's
//! parser (`site::parse_config`) agree. Every example config is valid for both; every bad
//! one in `tests/data/sites/bad.json` is refused by both, the parser naming the expected
//! JSON path; the schema lists every field `SiteConfig` has; `docs/site-config.md` lists
//! every field of the schema (regenerate its table with `BLESS=1 cargo test -p
//! booking-core --test site_config`).

use std::fs;
use std::path::{Path, PathBuf};

use booking_core::site::{parse_config, SiteConfig};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schema() -> Value {
    read_json(&root().join("examples/sites/schema.json"))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("examples/sites/schema.json is a valid draft 2020-12 schema")
}

fn northstar() -> Value {
    read_json(&root().join("examples/sites/northstar.json"))
}

/// Every site config the repository ships or tests with: examples/sites/*.json, the good
/// ones in tests/data/sites/, and northstar with examples/voice/site-voice.json's section.
fn good_configs() -> Vec<(String, Value)> {
    let mut configs = vec![];
    for dir in ["examples/sites", "tests/data/sites"] {
        let mut paths: Vec<PathBuf> = fs::read_dir(root().join(dir)).unwrap().flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.extension().is_some_and(|e| e == "json") && name != "schema.json" && name != "bad.json" {
                configs.push((format!("{dir}/{name}"), read_json(&p)));
            }
        }
    }
    let mut voiced = northstar();
    voiced["voice"] = read_json(&root().join("examples/voice/site-voice.json"))["voice"].clone();
    configs.push(("northstar + examples/voice/site-voice.json".into(), voiced));
    assert!(configs.len() >= 3, "the example configs were not found");
    configs
}

#[test]
fn every_example_config_is_valid_for_the_schema_and_the_parser() {
    let v = validator();
    for (name, config) in good_configs() {
        let errors: Vec<String> = v.iter_errors(&config).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{name} is refused by schema.json: {errors:?}");
        if let Err(e) = parse_config(&config.to_string()) {
            panic!("{name} is refused by parse_config: {e}");
        }
    }
}

/// A bad case: northstar.json with `set` (JSON pointer → value) and `delete` applied.
fn bad_case(case: &Value) -> Value {
    let mut config = northstar();
    if let Some(pointer) = case["delete"].as_str() {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        config.pointer_mut(parent).and_then(Value::as_object_mut).unwrap().remove(key);
    }
    for (pointer, value) in case["set"].as_object().into_iter().flatten() {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = config.pointer_mut(parent).unwrap_or_else(|| panic!("{pointer}: no parent in northstar.json"));
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value.clone(),
            Value::Object(map) => {
                map.insert(key.to_string(), value.clone());
            }
            _ => panic!("{pointer}: parent is neither an array nor an object"),
        }
    }
    config
}

#[test]
fn bad_configs_are_refused_by_both_with_their_path() {
    let v = validator();
    let cases = read_json(&root().join("tests/data/sites/bad.json"));
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let why = case["why"].as_str().unwrap();
        let config = bad_case(case);
        if case.get("schemaCannot").is_none() {
            assert!(!v.is_valid(&config), "{why}: schema.json accepts it");
        }
        let Err(err) = parse_config(&config.to_string()) else { panic!("{why}: parse_config accepts it") };
        assert_eq!(err.path, case["path"].as_str().unwrap(), "{why}: the path of {err}");
        let reason = case["reason"].as_str().unwrap();
        assert!(err.reason.contains(reason), "{why}: {err:?} does not say {reason:?}");
    }
}

#[test]
fn text_that_is_not_one_json_object_is_refused_at_the_root() {
    for (text, reason) in [("", "EOF"), ("[]", "must be a JSON object")] {
        let err = parse_config(text).unwrap_err();
        assert!(err.reason.contains(reason), "{text:?}: {err:?}");
    }
    let northstar = northstar().to_string();
    let err = parse_config(&format!("{northstar} 1")).unwrap_err();
    assert_eq!(err.path, ".", "{err:?}");
}

/// The schema node of an object's property, following local `$ref`s.
fn property<'a>(schema: &'a Value, node: &'a Value, key: &str) -> Option<&'a Value> {
    let node = resolve(schema, node);
    node["properties"].get(key).map(|n| resolve(schema, n))
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => schema.pointer(pointer).expect("a local $ref resolves"),
        None => node.get("anyOf").and_then(|a| a.get(0)).map_or(node, |n| resolve(schema, n)),
    }
}

/// Every key path of `value` whose schema node has fixed `properties` (maps are not
/// descended into: their keys are data).
fn walk(schema: &Value, node: &Value, value: &Value, path: &str, found: &mut Vec<String>, missing: &mut Vec<String>) {
    let Value::Object(map) = value else { return };
    if resolve(schema, node).get("properties").is_none() {
        return;
    }
    for (k, v) in map {
        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        match property(schema, node, k) {
            Some(n) => {
                found.push(p.clone());
                let v = if let Value::Array(items) = v { items.first().unwrap_or(&Value::Null) } else { v };
                let n = n.get("items").map_or(n, |i| resolve(schema, i));
                walk(schema, n, v, &p, found, missing);
            }
            None => missing.push(p),
        }
    }
}

/// Every property path the schema declares (arrays' items flattened into their field).
fn schema_paths(schema: &Value, node: &Value, path: &str, out: &mut Vec<(String, String)>) {
    let node = resolve(schema, node);
    let node = node.get("items").map_or(node, |i| resolve(schema, i));
    for (k, n) in node["properties"].as_object().into_iter().flatten() {
        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        out.push((p.clone(), n["description"].as_str().unwrap_or_default().to_string()));
        schema_paths(schema, n, &p, out);
    }
}

#[test]
fn the_schema_lists_every_field_of_site_config() {
    let schema = schema();
    let every = read_json(&root().join("tests/data/sites/every-field.json"));
    let site: SiteConfig = parse_config(&every.to_string()).unwrap();
    // Serializing writes every field SiteConfig has (defaults and nulls too).
    let written = serde_json::to_value(&site).unwrap();
    let (mut found, mut missing) = (vec![], vec![]);
    walk(&schema, &schema, &written, "", &mut found, &mut missing);
    assert!(missing.is_empty(), "SiteConfig fields schema.json does not list: {missing:?}");
    // And every-field.json sets every field the schema lists, so the good-config test
    // checks the parser reads each one.
    let mut declared = vec![];
    schema_paths(&schema, &schema, "", &mut declared);
    let (mut set, mut unset) = (vec![], vec![]);
    walk(&schema, &schema, &every, "", &mut set, &mut unset);
    let not_set: Vec<&String> = declared.iter().map(|(p, _)| p).filter(|p| !set.contains(p)).collect();
    assert!(not_set.is_empty(), "tests/data/sites/every-field.json does not set {not_set:?}");
    let undescribed: Vec<&String> = declared.iter().filter(|(_, d)| d.is_empty()).map(|(p, _)| p).collect();
    assert!(undescribed.is_empty(), "schema.json fields without a description: {undescribed:?}");
}

/// The field table of docs/site-config.md, generated from the schema.
fn field_table(schema: &Value) -> String {
    let mut declared = vec![];
    schema_paths(schema, schema, "", &mut declared);
    let required: Vec<&str> = schema["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let mut table = String::from("| field | required | what |\n|---|---|---|\n");
    for (path, description) in declared {
        let req = if required.contains(&path.as_str()) { "yes" } else { "" };
        table.push_str(&format!("| `{path}` | {req} | {} |\n", description.replace('|', "\\|")));
    }
    table
}

#[test]
fn docs_list_every_field_of_the_schema() {
    const BEGIN: &str = "<!-- fields: generated from examples/sites/schema.json by shared/tests/site_config.rs -->\n";
    const END: &str = "<!-- end of fields -->";
    let path = root().join("docs/site-config.md");
    let doc = fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("docs/site-config.md has the fields marker");
    let (table, tail) = rest.split_once(END).expect("docs/site-config.md has the end-of-fields marker");
    let want = field_table(&schema());
    if table != want {
        if std::env::var_os("BLESS").is_some() {
            fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).unwrap();
        } else {
            panic!("docs/site-config.md's field table is not the schema's; run BLESS=1 cargo test -p booking-core --test site_config\n{want}");
        }
    }
}
