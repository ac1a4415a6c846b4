//! The `fieldsV1` trie of `managedFields`: the paths a field manager owns, the values at them,
//! and the digest of kfctl's owned projection.

use std::fmt;

use serde_json::{Map, Value};

use crate::cluster::apply::FIELD_MANAGER;
use crate::resource::digest::sha256_hex;
use crate::resource::pointer::escape;

/// One step into an object, as `fieldsV1` names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// `f:name`: a field of a map.
    Field(String),
    /// `k:{"name":"app"}`: the list element whose key fields have these values (the JSON text
    /// as the server wrote it).
    Key(String),
    /// `v:"x"`: the element of a set-list equal to this JSON value.
    Value(String),
    /// `i:3`: a list element by position.
    Index(usize),
}

impl Step {
    fn parse(key: &str) -> Option<Step> {
        let (tag, rest) = key.split_at_checked(2)?;
        match tag {
            "f:" => Some(Step::Field(rest.to_owned())),
            "k:" => Some(Step::Key(rest.to_owned())),
            "v:" => Some(Step::Value(rest.to_owned())),
            "i:" => rest.parse().ok().map(Step::Index),
            _ => None,
        }
    }

    fn trie_key(&self) -> String {
        match self {
            Step::Field(n) => format!("f:{n}"),
            Step::Key(k) => format!("k:{k}"),
            Step::Value(v) => format!("v:{v}"),
            Step::Index(i) => format!("i:{i}"),
        }
    }

    /// Where the step leads from `here`: the field it names, or the position of the list
    /// element it selects.
    fn slot(&self, here: &Value) -> Option<Slot<'_>> {
        let position = |selects: &dyn Fn(&Value) -> bool| here.as_array()?.iter().position(selects);
        Some(match self {
            Step::Field(name) => Slot::Field(name),
            Step::Index(i) => Slot::Item(*i),
            Step::Value(text) => {
                let wanted: Value = serde_json::from_str(text).ok()?;
                Slot::Item(position(&|v| *v == wanted)?)
            }
            Step::Key(text) => {
                let keys: Map<String, Value> = serde_json::from_str(text).ok()?;
                Slot::Item(position(&|item| {
                    keys.iter().all(|(k, v)| item.get(k) == Some(v))
                })?)
            }
        })
    }
}

/// A field of a map, or an element of a list by position.
enum Slot<'a> {
    Field(&'a str),
    Item(usize),
}

/// A path to a field, printed as a JSON pointer; a keyed list element prints as its key fields
/// (`/spec/template/spec/containers/name=app/image`), a set element as its JSON value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Step>);

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.0 {
            f.write_str("/")?;
            match step {
                Step::Field(n) => f.write_str(&escape(n))?,
                Step::Index(i) => write!(f, "{i}")?,
                Step::Value(v) => f.write_str(&escape(v))?,
                Step::Key(k) => {
                    let fields: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                    let text: Vec<String> = fields
                        .iter()
                        .map(|(name, value)| match value {
                            Value::String(s) => format!("{name}={s}"),
                            other => format!("{name}={other}"),
                        })
                        .collect();
                    f.write_str(&escape(&text.join(",")))?;
                }
            }
        }
        Ok(())
    }
}

/// The leaf paths a `fieldsV1` trie owns. A node owned only as a whole (`{".": {}}` or `{}`)
/// is a leaf: its whole value is owned.
pub fn owned_paths(fields: &Value) -> Vec<FieldPath> {
    fn walk(node: &Map<String, Value>, prefix: &mut Vec<Step>, out: &mut Vec<FieldPath>) {
        for (key, child) in node {
            let Some(step) = Step::parse(key) else {
                continue;
            };
            prefix.push(step);
            match child.as_object() {
                Some(children) if children.keys().any(|k| k != ".") => walk(children, prefix, out),
                _ => out.push(FieldPath(prefix.clone())),
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    if let Some(node) = fields.as_object() {
        walk(node, &mut Vec::new(), &mut out);
    }
    out
}

/// The JSON pointer to the value at `path` in `obj`, if there is one: each keyed or set-list
/// step becomes the position of the element it selects.
fn pointer_to(obj: &Value, path: &FieldPath) -> Option<String> {
    let mut here = obj;
    let mut pointer = String::new();
    for step in &path.0 {
        pointer.push('/');
        here = match step.slot(here)? {
            Slot::Field(name) => {
                pointer.push_str(&escape(name));
                here.get(name)?
            }
            Slot::Item(i) => {
                pointer.push_str(&i.to_string());
                here.get(i)?
            }
        };
    }
    Some(pointer)
}

/// The value at `path` in `obj`, if there is one.
pub fn value_at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    obj.pointer(&pointer_to(obj, path)?)
}

/// The `fieldsV1` of each field manager entry of `obj`, with the manager's name and operation;
/// entries for subresources (`status`, `scale`) included.
pub(super) fn managed_entries(obj: &Value) -> Vec<(&str, &str, &Value)> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    Some((
                        e.get("manager")?.as_str()?,
                        e.get("operation")?.as_str()?,
                        e.get("fieldsV1")?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// kfctl's own entry: what it sent with server-side apply.
pub(super) fn kfctl_fields(obj: &Value) -> Option<&Value> {
    managed_entries(obj)
        .into_iter()
        .find(|(manager, operation, _)| *manager == FIELD_MANAGER && *operation == "Apply")
        .map(|(_, _, fields)| fields)
}

/// Whether a `fieldsV1` trie owns `path` (itself, or an ancestor owned as a whole).
pub(super) fn trie_owns(fields: &Value, path: &FieldPath) -> bool {
    let mut node = fields;
    for step in &path.0 {
        match node.as_object() {
            Some(children) if children.keys().any(|k| k != ".") => {
                match children.get(&step.trie_key()) {
                    Some(child) => node = child,
                    None => return false,
                }
            }
            // An owned leaf above the path: the whole value is owned.
            _ => return !std::ptr::eq(node, fields),
        }
    }
    true
}

/// The managers other than kfctl's `Apply` that own `path` in `obj`, each with whether it
/// took the field with server-side apply (rather than an update such as `kubectl edit`).
pub(super) fn other_owners(obj: &Value, path: &FieldPath) -> Vec<(String, bool)> {
    let mut owners: Vec<(String, bool)> = managed_entries(obj)
        .into_iter()
        .filter(|(m, op, _)| !(*m == FIELD_MANAGER && *op == "Apply"))
        .filter(|(_, _, fields)| trie_owns(fields, path))
        .map(|(m, op, _)| (m.to_owned(), op == "Apply"))
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// The sha256 of an object's kfctl-owned projection: each path kfctl's field manager owns with
/// its value. Equal projections mean every field kfctl set still holds what it held.
pub fn owned_digest(obj: &Value) -> String {
    let pairs: Vec<(String, Value)> = kfctl_fields(obj)
        .map(|fields| {
            owned_paths(fields)
                .into_iter()
                .map(|p| {
                    let value = value_at(obj, &p).cloned().unwrap_or(Value::Null);
                    (p.to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    let text = serde_json::to_string(&pairs).unwrap_or_default();
    sha256_hex(text.as_bytes())
}

/// The value at `path` in `obj`, to change it.
pub(super) fn value_at_mut<'a>(obj: &'a mut Value, path: &FieldPath) -> Option<&'a mut Value> {
    let pointer = pointer_to(obj, path)?;
    obj.pointer_mut(&pointer)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::drift::fixtures::deployment;

    #[test]
    fn owned_paths_follow_the_trie() {
        let d = deployment();
        let paths: Vec<String> = owned_paths(kfctl_fields(&d).expect("kfctl's entry"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            paths,
            [
                "/metadata/labels/app.kubernetes.io~1name",
                "/spec/replicas",
                "/spec/template/spec/containers/name=app/image",
                "/spec/template/spec/containers/name=app/name",
            ]
        );
    }

    #[test]
    fn values_are_found_by_list_keys() {
        let d = deployment();
        let fields = kfctl_fields(&d).expect("kfctl's entry");
        let image = owned_paths(fields)
            .into_iter()
            .find(|p| p.to_string().ends_with("/image"))
            .expect("an image path");
        assert_eq!(value_at(&d, &image), Some(&json!("app:1")));
    }

    #[test]
    fn the_projection_ignores_fields_other_managers_own() {
        let d = deployment();
        let mut injected = d.clone();
        injected["spec"]["template"]["spec"]["containers"][1]["image"] = json!("proxy:2");
        injected["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        injected["status"]["replicas"] = json!(3);
        assert_eq!(owned_digest(&d), owned_digest(&injected));
        let mut scaled = d.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert_ne!(owned_digest(&d), owned_digest(&scaled));
    }
}
