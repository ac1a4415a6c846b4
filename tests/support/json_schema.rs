//! A JSON Schema validator for the subset `docs/schema/*.json` use: `type` (one or a list),
//! `const`, `enum`, `minimum`, `properties`, `required`, `additionalProperties: false`, `items`,
//! and `$ref` to `#/$defs/...` or `<file>.json#/$defs/...` beside the schema.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The schema `docs/schema/<name>`.
pub fn schema_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schema")
        .join(name)
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every way `value` breaks the schema `docs/schema/<name>`, as `pointer: problem`.
pub fn validate(name: &str, value: &Value) -> Vec<String> {
    let path = schema_path(name);
    let schema = load(&path);
    let mut errors = Vec::new();
    check(&path, &schema, &schema, value, "", &mut errors);
    errors
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check(
    file: &Path,
    root: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let (doc, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        if doc.is_empty() {
            let target = root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("no {reference} in {}", file.display()));
            check(file, root, target, value, at, errors);
        } else {
            let other = file.with_file_name(doc);
            let other_root = load(&other);
            let target = other_root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("no {reference} in {}", other.display()))
                .clone();
            check(&other, &other_root, &target, value, at, errors);
        }
        return;
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.iter().any(|n| type_matches(n, value)) {
            errors.push(format!("{at}: {value} is not of type {names:?}"));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        errors.push(format!("{at}: {n} is below {min}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{at}: `{key}` is required"));
            }
        }
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check(file, root, sub, item, &format!("{at}/{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: `{key}` is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(file, root, items, item, &format!("{at}/{i}"), errors);
        }
    }
}
