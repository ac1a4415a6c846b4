//! Strategic merge patch, as `kubectl kustomize` applies it: kyaml's `merge2` walker with the
//! "prepend" list direction kustomize asks for.
//!
//! The walk follows kyaml step by step rather than the Kubernetes apimachinery algorithm, because
//! the two disagree and kustomize's output is the reference:
//! - a list merges by key only where the schema gives it a `merge` strategy; other lists, and
//!   every list of a kind without a schema (custom resources), are replaced;
//! - merged lists put the patch's elements first, then the original's other elements; with
//!   composite keys (`ports`: `containerPort` + `protocol`) the original's elements move to the
//!   end instead;
//! - `$patch: delete|replace|merge` works on maps and on whole lists (an element holding only
//!   `$patch`); on a list element `replace` has no effect, as in kyaml;
//! - `$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...` mean nothing to
//!   kyaml and are kept as ordinary fields;
//! - `null` deletes a field; a `null` in the original survives when the patch does not touch it.

use serde_json::{Map, Value};

use super::schema::Schema;

use crate::errors::{Diagnostic, ErrorClass};

/// A patch that cannot be merged: a `$patch` value kyaml does not know, or a field that is a
/// map in one document and a list or scalar in the other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

impl Diagnostic for MergeError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

const DIRECTIVE: &str = "$patch";

/// Merges `patch` into `original`. `None` means the patch deletes the object.
pub fn merge(original: &Value, patch: &Value) -> Result<Option<Value>, MergeError> {
    let out = walk(
        Some(original.clone()),
        Some(patch.clone()),
        Schema::None,
        &mut Vec::new(),
    )?;
    Ok(match out {
        Walked::Value { value, .. } if !is_nil_or_empty(&value) => Some(value),
        _ => None,
    })
}

/// The result of walking one node: removed, or a value (possibly `null`).
#[derive(Debug)]
enum Walked {
    Clear,
    Value {
        value: Value,
        /// The value is the original's node, merged in place (kyaml returns the same node).
        from_dest: bool,
        /// A `null` of the original that the patch did not touch, kept in the output.
        keep_null: bool,
    },
}

impl Walked {
    fn of(value: Value) -> Self {
        Walked::Value {
            value,
            from_dest: false,
            keep_null: false,
        }
    }
}

fn is_missing_or_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A scalar's text as the YAML node holds it; maps, lists and nulls have none.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Map,
    List,
    Scalar,
}

fn node_kind(v: &Value) -> Node {
    match v {
        Value::Object(_) => Node::Map,
        Value::Array(_) => Node::List,
        _ => Node::Scalar,
    }
}

fn kind_name(k: Node) -> &'static str {
    match k {
        Node::Map => "a map",
        Node::List => "a list",
        Node::Scalar => "a scalar",
    }
}

fn walk(
    dest: Option<Value>,
    patch: Option<Value>,
    schema: Schema,
    path: &mut Vec<String>,
) -> Result<Walked, MergeError> {
    let schema = schema.infer(dest.as_ref().filter(|d| !d.is_null()));
    let schema = schema.infer(patch.as_ref().filter(|p| !p.is_null()));
    let kind = [&dest, &patch]
        .into_iter()
        .flatten()
        .find(|v| !v.is_null())
        .map(node_kind);
    if let Some(kind) = kind {
        for v in [&dest, &patch].into_iter().flatten() {
            if !v.is_null() && node_kind(v) != kind {
                return Err(MergeError(format!(
                    "`{}` is {} in one document and {} in the other",
                    path.join("."),
                    kind_name(kind),
                    kind_name(node_kind(v))
                )));
            }
        }
    }
    match kind {
        None | Some(Node::Map) => walk_map(dest, patch, schema, path),
        Some(Node::List) => match schema {
            Schema::List { keys, .. } => walk_associative(dest, patch, schema, keys, path),
            // Without a merge strategy the patch's list wins, as it is.
            _ => Ok(match patch.or(dest) {
                Some(v) => Walked::of(v),
                None => Walked::Clear,
            }),
        },
        Some(Node::Scalar) => Ok(match patch.or(dest) {
            Some(v) => Walked::of(v),
            None => Walked::Clear,
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn parse_directive(v: &Value) -> Result<Directive, MergeError> {
    match v.as_str() {
        Some("merge") => Ok(Directive::Merge),
        Some("replace") => Ok(Directive::Replace),
        Some("delete") => Ok(Directive::Delete),
        _ => Err(MergeError(format!(
            "unknown patch strategy `{}`",
            scalar_text(v)
        ))),
    }
}

/// Reads and removes a map's `$patch`.
fn map_directive(patch: &mut Option<Value>) -> Result<Directive, MergeError> {
    let Some(p) = patch else {
        return Ok(Directive::Merge);
    };
    let Some(m) = p.as_object_mut() else {
        return Err(MergeError(format!(
            "no strategic merge patch strategy for `{}`",
            scalar_text(p)
        )));
    };
    let Some(v) = m.get(DIRECTIVE) else {
        return Ok(Directive::Merge);
    };
    let d = parse_directive(v)?;
    m.remove(DIRECTIVE);
    Ok(d)
}

/// A list's directive: its first element holding `$patch`, when that is all it holds. The
/// element is removed.
fn list_directive(patch: &mut Option<Value>) -> Result<Directive, MergeError> {
    let Some(Value::Array(items)) = patch else {
        return Ok(Directive::Merge);
    };
    let Some(elem) = items
        .iter()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key(DIRECTIVE))
    else {
        return Ok(Directive::Merge);
    };
    if elem.len() > 1 {
        return Ok(Directive::Merge);
    }
    let value = elem.get(DIRECTIVE).cloned().unwrap_or(Value::Null);
    let d = parse_directive(&value)?;
    let text = scalar_text(&value);
    *items = element_set(
        std::mem::take(items),
        None,
        &[DIRECTIVE.to_owned()],
        &[text],
    );
    Ok(d)
}

fn walk_map(
    dest: Option<Value>,
    mut patch: Option<Value>,
    schema: Schema,
    path: &mut Vec<String>,
) -> Result<Walked, MergeError> {
    let (dest, from_dest) = if is_missing_or_null(dest.as_ref()) {
        // kyaml ignores a bad directive here: the patch simply becomes the value.
        if map_directive(&mut patch) == Ok(Directive::Delete) {
            return Ok(Walked::Clear);
        }
        if patch.is_none() && dest.is_some() {
            return Ok(Walked::Value {
                value: Value::Null,
                from_dest: true,
                keep_null: true,
            });
        }
        (patch.clone(), false)
    } else if matches!(patch, Some(Value::Null)) {
        return Ok(Walked::Clear);
    } else {
        match map_directive(&mut patch)? {
            Directive::Delete => return Ok(Walked::Clear),
            Directive::Replace => (patch.clone(), false),
            Directive::Merge => (dest, true),
        }
    };
    let Some(mut dest) = dest else {
        return Ok(Walked::Clear);
    };
    let Some(dest_map) = dest.as_object_mut() else {
        // A `null` patch over a missing field: nothing to keep.
        return Ok(Walked::of(dest));
    };
    let patch_map = patch.as_ref().and_then(Value::as_object);
    let mut names: Vec<String> = dest_map.keys().cloned().collect();
    if let Some(p) = patch_map {
        names.extend(p.keys().cloned());
    }
    names.sort();
    names.dedup();
    for name in names {
        let d = dest_map.get(&name).cloned();
        let p = patch_map.and_then(|p| p.get(&name)).cloned();
        path.push(name.clone());
        let out = walk(d, p, schema.field(&name), path)?;
        path.pop();
        match out {
            Walked::Value {
                value, keep_null, ..
            } if !value.is_null() || keep_null => {
                dest_map.insert(name, value);
            }
            _ => {
                dest_map.remove(&name);
            }
        }
    }
    Ok(Walked::Value {
        value: dest,
        from_dest,
        keep_null: false,
    })
}

fn walk_associative(
    dest: Option<Value>,
    mut patch: Option<Value>,
    schema: Schema,
    keys: &[String],
    path: &mut Vec<String>,
) -> Result<Walked, MergeError> {
    let dest = if is_missing_or_null(dest.as_ref()) {
        patch.clone()
    } else if matches!(patch, Some(Value::Null)) {
        return Ok(Walked::Clear);
    } else {
        match list_directive(&mut patch)? {
            Directive::Delete => return Ok(Walked::Clear),
            Directive::Replace => patch.clone(),
            Directive::Merge => dest,
        }
    };
    let Some(Value::Array(dest)) = dest else {
        return Ok(Walked::Clear);
    };
    let patch: Vec<Value> = match patch {
        Some(Value::Array(p)) => p,
        _ => Vec::new(),
    };
    let mut lists = Lists {
        dest,
        patch,
        elements: schema.elements(),
    };
    // kustomize merges with the "prepend" direction: the patch's elements are listed first.
    let keyed: Vec<Vec<String>> = if keys.is_empty() {
        Vec::new()
    } else {
        let mut seen: Vec<Vec<String>> = Vec::new();
        for elem in lists.patch.iter().chain(lists.dest.iter()) {
            let values: Vec<String> = keys
                .iter()
                .map(|k| elem.get(k).map(scalar_text).unwrap_or_default())
                .collect();
            if !seen.contains(&values) {
                seen.push(values);
            }
        }
        seen
    };
    let merged = if !keyed.is_empty() || !keys.is_empty() {
        lists.set_elements(keyed, keys, path)?
    } else {
        let mut seen: Vec<Vec<String>> = Vec::new();
        for elem in lists.patch.iter().chain(lists.dest.iter()) {
            let v = vec![scalar_text(elem)];
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        lists.set_elements(seen, &[String::new()], path)?
    };
    Ok(Walked::of(Value::Array(merged)))
}

/// The two lists of one associative merge: the original's (updated in place as kyaml does) and
/// the patch's.
struct Lists {
    dest: Vec<Value>,
    patch: Vec<Value>,
    elements: Schema,
}

impl Lists {
    fn set_elements(
        &mut self,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, MergeError> {
        let mut added: Vec<Value> = Vec::new();
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = keys.to_vec();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let (vk, vv) = validate_keys(&values_list, values, keys);
            valid_keys = vk.clone();
            let (mk, mv) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
            let dest_at = match_element(&self.dest, &mk, &mv);
            let patch_at = match_element(&self.patch, &mk, &mv);
            let d = dest_at.map(|i| self.dest[i].clone());
            let p = patch_at.map(|i| self.patch[i].clone());
            let out = walk(d, p, self.elements, path)?;
            let mut val = match out {
                Walked::Value {
                    value,
                    from_dest: true,
                    ..
                } => {
                    if let Some(i) = dest_at {
                        self.dest[i] = value.clone();
                    }
                    value
                }
                Walked::Value { value, .. } => value,
                Walked::Clear => Value::Null,
            };
            if val.is_null() || is_empty_map(&val) {
                self.dest = element_set(std::mem::take(&mut self.dest), None, &vk, &vv);
                continue;
            }
            if let Some(m) = val.as_object_mut() {
                for (k, v) in vk.iter().zip(&vv) {
                    if !m.contains_key(k) && !v.is_empty() {
                        m.insert(k.clone(), plain_scalar(v));
                    }
                }
            }
            added = element_set(added, Some(val), &vk, &vv);
        }
        if values_list.is_empty() {
            return Ok(std::mem::take(&mut self.dest));
        }
        Ok(append_list(added, &self.dest, &valid_keys))
    }
}

/// An untagged YAML scalar written from text: numbers and booleans read back as such.
fn plain_scalar(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text.to_owned()),
    }
}

/// Composite keys given only in part are completed from an entry agreeing on the rest.
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        let v1 = list[i].clone();
        for j in 0..list.len() {
            let v2 = list[j].clone();
            if let Some(res) = match_values(&v1, &v2) {
                list[i] = res.clone();
                list[j] = res;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut res = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            res.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            res.push(x.clone());
        } else {
            res.push(y.clone());
        }
    }
    common.then_some(res)
}

/// Keeps the keys some entry gives a value for (all of them when none does).
fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let valid: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            values_list
                .iter()
                .any(|vs| vs.get(*i).is_some_and(|v| !v.is_empty()))
        })
        .map(|(_, k)| k)
        .collect();
    if valid.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys.iter().filter(|k| valid.contains(k)).cloned().collect();
    let vv = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(|k| valid.contains(&k)))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// The first element whose key fields hold exactly these values (kyaml's `ElementMatcher`).
fn match_element(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.is_empty() || keys[0].is_empty() {
        let want = values.first().map(String::as_str).unwrap_or("");
        return list.iter().position(|e| scalar_text(e) == want);
    }
    if keys.len() != values.len() {
        return None;
    }
    list.iter().position(|e| {
        e.as_object().is_some_and(|m| {
            keys.iter()
                .zip(values)
                .all(|(k, v)| m.get(k).is_some_and(|f| field_text(f) == *v))
        })
    })
}

/// A field's value as kyaml compares it: a scalar's text, `null` included.
fn field_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        other => scalar_text(other),
    }
}

/// kyaml's `ElementSetter`: replaces the elements matching `keys`/`values` with `element`
/// (removes them when `element` is `None`), appending it when none matches. Empty elements
/// are dropped on the way, as kyaml does.
fn element_set(
    list: Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
) -> Vec<Value> {
    let empty_key = [String::new()];
    let keys = if keys.is_empty() {
        &empty_key[..]
    } else {
        keys
    };
    let mapping = !keys[0].is_empty();
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut found_any = false;
    for elem in list {
        if elem.is_null() || is_empty_map(&elem) {
            continue;
        }
        if mapping && !elem.is_object() {
            out.push(elem);
            continue;
        }
        let mut found = true;
        let mut matched = false;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                matched = field_matches(&elem, key, v);
            }
            if !matched {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(elem);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = &element {
            out.push(e.clone());
        }
    }
    match element {
        None | Some(Value::Null) => out,
        Some(e) => {
            if !found_any {
                out.push(e);
            }
            out
        }
    }
}

/// kyaml's `FieldMatcher` with a string value: an empty value matches any value.
fn field_matches(elem: &Value, key: &str, value: &str) -> bool {
    if key.is_empty() {
        return !elem.is_object() && !elem.is_array() && scalar_text(elem) == value;
    }
    match elem.as_object().and_then(|m| m.get(key)) {
        None => false,
        Some(_) if value.is_empty() => true,
        Some(f) => field_text(f) == value,
    }
}

/// kyaml's `appendListNode`: each original element replaces its match among the merged ones
/// or is appended.
fn append_list(mut dst: Vec<Value>, src: &[Value], keys: &[String]) -> Vec<Value> {
    for elem in src {
        if keys.first().is_none_or(String::is_empty) {
            dst = element_set(
                dst,
                Some(elem.clone()),
                &[String::new()],
                &[scalar_text(elem)],
            );
            continue;
        }
        let mut values = Vec::new();
        for key in keys {
            match elem.as_object().and_then(|m| m.get(key)) {
                None => dst.push(elem.clone()),
                Some(v) => values.push(field_text(v)),
            }
        }
        if keys.len() > 1 {
            dst = element_set(dst, None, keys, &values);
        }
        dst = element_set(dst, Some(elem.clone()), keys, &values);
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (original, patch, expected) triples; each `expected` is what `kubectl kustomize`
    /// (kustomize v5.5.0) printed for a kustomization listing `original` under `resources` and
    /// `patch` under `patches`: `null` when it deleted the object, `"error"` when it refused
    /// the patch.
    const CASES: &str = include_str!("smp_cases.json");

    fn cases() -> Vec<(String, Value, Value, Value)> {
        let all: Vec<Value> = serde_json::from_str(CASES).unwrap();
        all.into_iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["original"].clone(),
                    c["patch"].clone(),
                    c["expected"].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn merges_as_kubectl_kustomize_does() {
        let cases = cases();
        assert!(cases.len() >= 10);
        for (name, original, patch, expected) in cases {
            let got = merge(&original, &patch);
            match expected {
                Value::String(s) if s == "error" => {
                    assert!(got.is_err(), "{name}: expected an error, got {got:?}")
                }
                Value::Null => assert_eq!(got, Ok(None), "{name}"),
                expected => assert_eq!(got, Ok(Some(expected)), "{name}"),
            }
        }
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        for (name, original, _, _) in cases() {
            let empty = json!({
                "apiVersion": original["apiVersion"],
                "kind": original["kind"],
                "metadata": {"name": original["metadata"]["name"]},
            });
            assert_eq!(
                merge(&original, &empty),
                Ok(Some(original.clone())),
                "{name}"
            );
        }
    }

    /// Whether a list of `v` holds a lone `$patch` element. kyaml leaves such an element in
    /// place when the list it names is missing, so a second application differs from the first
    /// (`list_delete_on_missing_list` shows kubectl doing so).
    fn has_list_directive(v: &Value) -> bool {
        match v {
            Value::Array(items) => items.iter().any(|i| {
                i.as_object()
                    .is_some_and(|m| m.len() == 1 && m.contains_key(DIRECTIVE))
                    || has_list_directive(i)
            }),
            Value::Object(m) => m.values().any(has_list_directive),
            _ => false,
        }
    }

    #[test]
    fn applying_a_patch_twice_equals_once() {
        for (name, original, patch, expected) in cases() {
            // A patch listing one key twice merges its first element into an existing list
            // but keeps its last when the list is new, so it is not idempotent either.
            let repeats_a_key = name == "new_subtrees_drop_nulls_and_dedupe";
            if !expected.is_object() || has_list_directive(&patch) || repeats_a_key {
                continue;
            }
            let once = merge(&original, &patch).unwrap().unwrap();
            let twice = merge(&once, &patch).unwrap().unwrap();
            assert_eq!(twice, once, "{name}");
        }
    }

    #[test]
    fn unknown_directives_are_errors() {
        let original = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"a": "1"}});
        let patch = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"$patch": "explode"}});
        let err = merge(&original, &patch).unwrap_err();
        assert!(err.0.contains("explode"), "{err}");
    }
}
