//! Field specs: which field of which kind a transform touches, and the walk that finds them.
//!
//! The built-in tables (`builtin_fieldspecs.yaml`) are kustomize's; a kustomization's
//! `configurations` files add to them, level by level, as kustomize merges them.

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::errors::{Diagnostic, ErrorClass};
use crate::render::RenderError;
use crate::resource::{Gvk, Resource};

/// One field of the objects of some kinds. Empty group, version or kind match anything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    #[serde(alias = "create")]
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> Self {
        FieldSpec {
            path: path.to_owned(),
            create,
            ..Default::default()
        }
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::new(&self.group, &self.version, &self.kind)
    }

    pub fn matches(&self, res: &Resource) -> bool {
        (self.kind.is_empty() || self.kind == res.kind()) && {
            let (group, version) = crate::resource::split_api_version(res.api_version());
            (self.group.is_empty() || self.group == group)
                && (self.version.is_empty() || self.version == version)
        }
    }

    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a field path on `/`; `\/` escapes a slash inside a field name.
pub fn split_path(path: &str) -> Vec<String> {
    split_escaped(path, '/')
}

/// Splits `path` on `sep`, dropping one leading empty field; a backslash before `sep` escapes
/// it inside a field name.
pub fn split_escaped(path: &str, sep: char) -> Vec<String> {
    let mut parts: Vec<&str> = path.split(sep).collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    for part in parts {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push(sep);
                last.push_str(part);
            }
            _ => out.push(part.to_owned()),
        }
    }
    out
}

/// The kinds whose objects hold references to objects of `gvk` by name, and where.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct NameBackRef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub field_specs: Vec<FieldSpec>,
}

impl NameBackRef {
    pub fn gvk(&self) -> Gvk {
        Gvk::new(&self.group, &self.version, &self.kind)
    }
}

/// Every field-spec table a transform may use (kustomize's `TransformerConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub volume_claim_template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

static BUILTIN: LazyLock<TransformerConfig> = LazyLock::new(|| {
    // The table ships inside the binary and is checked by a unit test, so failing here would
    // mean a broken build rather than bad input.
    let docs = crate::resource::yaml::parse_documents(include_str!("builtin_fieldspecs.yaml"))
        .unwrap_or_default();
    let mut config = TransformerConfig::default();
    for doc in docs {
        if let Ok(part) = serde_json::from_value::<TransformerConfig>(doc.value) {
            config.merge(part);
        }
    }
    config
});

impl TransformerConfig {
    /// kustomize's default field specs.
    pub fn builtin() -> &'static TransformerConfig {
        &BUILTIN
    }

    /// Adds `other`'s specs that are not already here; name references merge per kind.
    pub fn merge(&mut self, other: TransformerConfig) {
        fn add(into: &mut Vec<FieldSpec>, from: Vec<FieldSpec>) {
            for fs in from {
                if !into
                    .iter()
                    .any(|e| e.path == fs.path && e.gvk() == fs.gvk())
                {
                    into.push(fs);
                }
            }
        }
        add(&mut self.name_prefix, other.name_prefix);
        add(&mut self.name_suffix, other.name_suffix);
        add(&mut self.namespace, other.namespace);
        add(&mut self.common_labels, other.common_labels);
        add(&mut self.template_labels, other.template_labels);
        add(&mut self.labels, other.labels);
        add(
            &mut self.volume_claim_template_labels,
            other.volume_claim_template_labels,
        );
        add(&mut self.common_annotations, other.common_annotations);
        add(&mut self.var_reference, other.var_reference);
        add(&mut self.images, other.images);
        add(&mut self.replicas, other.replicas);
        for backref in other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|b| b.gvk() == backref.gvk())
            {
                Some(existing) => add(&mut existing.field_specs, backref.field_specs),
                None => self.name_reference.push(backref),
            }
        }
    }
}

/// What to create when a field on the path is missing and the spec says `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Map,
    Scalar,
}

/// A field on the path is neither a map nor a list, so the path cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{path}` crosses a value that is neither a map nor a list (at `{at}`)")]
pub struct PathError {
    pub path: String,
    pub at: String,
}

impl Diagnostic for PathError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// Calls `f` on every value at `spec`'s path in `res` (lists on the way are walked element by
/// element). With `spec.create`, missing fields are made: maps on the way, `create` at the end.
pub fn visit(
    res: &mut Resource,
    spec: &FieldSpec,
    create: Create,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), VisitError> {
    if !spec.matches(res) {
        return Ok(());
    }
    let segments = spec.segments();
    if segments.len() > crate::resource::yaml::MAX_DEPTH {
        return Err(VisitError::Set {
            path: spec.path.clone(),
            message: format!(
                "the path has more than {} fields",
                crate::resource::yaml::MAX_DEPTH
            ),
        });
    }
    let create = if spec.create { create } else { Create::Nothing };
    walk(&mut res.body, &segments, 0, create, f).map_err(|e| match e {
        WalkError::Path(at) => VisitError::Path(PathError {
            path: spec.path.clone(),
            at,
        }),
        WalkError::Set(message) => VisitError::Set {
            path: spec.path.clone(),
            message,
        },
    })
}

/// [`visit`] as a transform runs it: a failure is a [`RenderError::Transform`] on `res`, its
/// message made by `describe`.
pub fn visit_in_transform(
    res: &mut Resource,
    spec: &FieldSpec,
    create: Create,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
    describe: impl FnOnce(VisitError) -> String,
) -> Result<(), RenderError> {
    let (id, origin) = (res.id(), res.origin.clone());
    visit(res, spec, create, f).map_err(|e| RenderError::Transform {
        id,
        origin,
        message: describe(e),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitError {
    #[error(transparent)]
    Path(PathError),
    #[error("field `{path}`: {message}")]
    Set { path: String, message: String },
}

impl Diagnostic for VisitError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

enum WalkError {
    Path(String),
    Set(String),
}

fn walk(
    node: &mut Value,
    path: &[String],
    depth: usize,
    create: Create,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), WalkError> {
    if depth == path.len() {
        return f(node).map_err(WalkError::Set);
    }
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, path, depth, create, f)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let seg = &path[depth];
            let (name, is_seq) = match seg.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (seg.as_str(), false),
            };
            let last = depth + 1 == path.len();
            let make = if create == Create::Nothing || is_seq {
                None
            } else if last {
                Some(create)
            } else {
                Some(Create::Map)
            };
            if !map.contains_key(name) {
                match make {
                    None => return Ok(()),
                    Some(kind) => {
                        map.insert(name.to_owned(), empty(kind));
                    }
                }
            }
            let Some(child) = map.get_mut(name) else {
                return Ok(());
            };
            if child.is_null()
                && let Some(kind) = make
            {
                *child = empty(kind);
            }
            walk(child, path, depth + 1, create, f)
        }
        _ => Err(WalkError::Path(path[..depth].join("/"))),
    }
}

fn empty(kind: Create) -> Value {
    match kind {
        Create::Map => Value::Object(Map::new()),
        Create::Scalar | Create::Nothing => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Origin;
    use serde_json::json;
    use std::path::Path;

    fn res(body: Value) -> Resource {
        Resource::new(body, Origin::file(Path::new("x.yaml"), 1))
    }

    #[test]
    fn builtin_tables_load() {
        let c = TransformerConfig::builtin();
        assert!(
            c.name_prefix
                .iter()
                .any(|f| f.path == "metadata/name" && f.kind.is_empty())
        );
        assert!(c.common_labels.len() > 20);
        assert!(
            c.name_reference
                .iter()
                .any(|b| b.kind == "ConfigMap" && b.field_specs.len() > 20)
        );
        assert!(!c.images.is_empty() && !c.replicas.is_empty() && !c.var_reference.is_empty());
    }

    #[test]
    fn walks_lists_and_creates_maps() {
        let mut r = res(
            json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
            "spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x"}]}}}}),
        );
        let mut seen = vec![];
        let spec = FieldSpec::new("spec/template/spec/containers[]/image", true);
        visit(&mut r, &spec, Create::Scalar, &mut |v| {
            seen.push(v.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![Value::Null, json!("x")]);
        let spec = FieldSpec::new("spec/selector/matchLabels", true);
        visit(&mut r, &spec, Create::Map, &mut |v| {
            v.as_object_mut().unwrap().insert("a".into(), json!("b"));
            Ok(())
        })
        .unwrap();
        assert_eq!(r.body["spec"]["selector"]["matchLabels"], json!({"a":"b"}));
    }

    #[test]
    fn scalar_on_the_way_is_an_error() {
        let mut r = res(json!({"kind":"X","spec":"oops"}));
        let err = visit(
            &mut r,
            &FieldSpec::new("spec/a", true),
            Create::Map,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`spec`"), "{err}");
    }

    #[test]
    fn escaped_slash() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
    }
}
