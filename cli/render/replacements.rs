//! `replacements`: copy a field of one object into fields of others, as kustomize's
//! `ReplacementTransformer` does.
//!
//! Sources and targets are selected by exact group, version, kind, name and namespace against
//! an object's current or any earlier id (unlike patch targets, these are not regexes). Field
//! paths are kyaml's dotted paths: `[a.b/c]` quotes a key holding dots, `[name=x]` picks list
//! elements (`x` is an unanchored regex in targets), `*` every element, `0` an index.

use serde_json::{Map, Value};

use super::kustomization::{
    FieldOptions, Replacement, ReplacementField, Selector, SourceSelector, TargetSelector,
};
use super::load::Target;
use super::select::Matcher;
use super::{Fs, Loc, RenderError, fs::clean};
use crate::resource::yaml::{parse_documents, resolve_plain};
use crate::resource::{Gvk, ResId, Resource, ResourceSet};

/// Runs the kustomization's replacements over `resources`, the last transform of a level.
pub fn apply(fs: &dyn Fs, target: &Target, resources: &mut ResourceSet) -> Result<(), RenderError> {
    for (replacement, at) in load(fs, target)? {
        let err = |message: String| RenderError::Replacement {
            message,
            at: at.clone(),
        };
        let (Some(source), Some(targets)) = (&replacement.source, &replacement.targets) else {
            return Err(err(
                "replacements must specify a source and at least one target".to_owned(),
            ));
        };
        let value = source_value(resources, source).map_err(err)?;
        for t in targets {
            apply_target(resources, &value, t).map_err(err)?;
        }
    }
    Ok(())
}

/// The replacements in order, inline or read from `path` files (one replacement or a list).
fn load(fs: &dyn Fs, target: &Target) -> Result<Vec<(Replacement, Loc)>, RenderError> {
    let mut out = Vec::new();
    for field in &target.k.replacements {
        let ReplacementField {
            path,
            source,
            targets,
        } = field;
        if path.is_empty() {
            out.push((
                Replacement {
                    source: source.clone(),
                    targets: targets.clone(),
                },
                target.loc("replacements"),
            ));
            continue;
        }
        let at = target.loc_of(path);
        if source.is_some() || targets.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(RenderError::Replacement {
                message: "cannot specify both path and inline replacement".to_owned(),
                at,
            });
        }
        let text = target.read_file(fs, path)?;
        let file = clean(&target.dir.join(path));
        let docs = parse_documents(&text).map_err(|source| RenderError::Yaml {
            path: file.clone(),
            source,
        })?;
        let Some(doc) = docs.into_iter().next() else {
            continue;
        };
        let invalid = |e: serde_json::Error| RenderError::Replacement {
            message: format!("`{path}`: {e}"),
            at: Loc::new(&file, Some(doc.line)),
        };
        match &doc.value {
            Value::Array(_) => {
                let list: Vec<Replacement> =
                    serde_json::from_value(doc.value.clone()).map_err(invalid)?;
                out.extend(
                    list.into_iter()
                        .map(|r| (r, Loc::new(&file, Some(doc.line)))),
                );
            }
            Value::Object(_) => {
                let one: Replacement =
                    serde_json::from_value(doc.value.clone()).map_err(invalid)?;
                out.push((one, Loc::new(&file, Some(doc.line))));
            }
            _ => {
                return Err(RenderError::Replacement {
                    message: format!(
                        "`{path}` holds neither a replacement nor a list of replacements"
                    ),
                    at,
                });
            }
        }
    }
    Ok(out)
}

/// kustomize's `ResId.String()`: `Kind.version.group/name.namespace` with placeholders.
fn go_id(gvk: &Gvk, name: &str, namespace: &str) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_owned()
        } else {
            s.to_owned()
        }
    };
    format!(
        "{}.{}.{}/{}.{}",
        or(&gvk.kind, "[noKind]"),
        or(&gvk.version, "[noVer]"),
        or(&gvk.group, "[noGrp]"),
        or(name, "[noName]"),
        or(namespace, "[noNs]")
    )
}

fn describe_source(s: &SourceSelector) -> String {
    let mut out = vec![go_id(&source_gvk(s), &s.name, &s.namespace)];
    if !s.field_path.is_empty() {
        out.push(s.field_path.clone());
    }
    if let Some(o) = &s.options
        && (!o.delimiter.is_empty() || o.create)
    {
        out.push(format!("{}({}), create={}", o.delimiter, o.index, o.create));
    }
    out.join(":")
}

fn source_gvk(s: &SourceSelector) -> Gvk {
    Gvk::new(&s.group, &s.version, &s.kind)
}

/// kustomize's `ResId.IsSelectedBy`: empty fields match anything, the rest exactly.
fn id_selected(id: &ResId, gvk: &Gvk, name: &str, namespace: &str) -> bool {
    (name.is_empty() || name == id.name)
        && (namespace.is_empty()
            || ResId::new(gvk.clone(), name, namespace).effective_namespace()
                == id.effective_namespace())
        && id.gvk.is_selected_by(gvk)
}

fn res_selected(res: &Resource, gvk: &Gvk, name: &str, namespace: &str) -> bool {
    res.all_ids()
        .any(|id| id_selected(&id, gvk, name, namespace))
}

fn source_value(resources: &ResourceSet, source: &SourceSelector) -> Result<Value, String> {
    let gvk = source_gvk(source);
    let mut found: Option<&Resource> = None;
    for res in resources.iter() {
        if res_selected(res, &gvk, &source.name, &source.namespace) {
            if found.is_some() {
                return Err(format!(
                    "multiple matches for selector {}",
                    describe_source(source)
                ));
            }
            found = Some(res);
        }
    }
    let Some(res) = found else {
        return Err(format!("nothing selected by {}", describe_source(source)));
    };
    let field_path = if source.field_path.is_empty() {
        "metadata.name"
    } else {
        &source.field_path
    };
    let value = match lookup(&res.body, &split_field_path(field_path)) {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) if m.is_empty() => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(v) => Some(v.clone()),
    };
    let Some(value) = value else {
        return Err(format!(
            "fieldPath `{field_path}` is missing for replacement source {}",
            go_id(&gvk, &source.name, &source.namespace)
        ));
    };
    match &source.options {
        Some(o) if !o.delimiter.is_empty() => {
            let text =
                scalar_text(&value).ok_or("delimiter option can only be used with scalar nodes")?;
            let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
            let part = usize::try_from(o.index)
                .ok()
                .and_then(|i| parts.get(i))
                .ok_or_else(|| {
                    format!(
                        "options.index {} is out of bounds for value {text}",
                        o.index
                    )
                })?;
            // The copy keeps the source's type; only its text changes.
            Ok(match value {
                Value::String(_) => Value::String((*part).to_owned()),
                _ => resolve_plain(part),
            })
        }
        _ => Ok(value),
    }
}

fn apply_target(
    resources: &mut ResourceSet,
    value: &Value,
    target: &TargetSelector,
) -> Result<(), String> {
    let Some(select) = &target.select else {
        return Err("target must specify resources to select".to_owned());
    };
    let labels = |s: &Selector| {
        Matcher::new(&Selector {
            label_selector: s.label_selector.clone(),
            annotation_selector: s.annotation_selector.clone(),
            ..Selector::default()
        })
        .map_err(|e| e.to_string())
    };
    let select_meta = labels(select)?;
    let reject_meta = target
        .reject
        .iter()
        .filter(|r| !r.label_selector.is_empty() || !r.annotation_selector.is_empty())
        .map(labels)
        .collect::<Result<Vec<_>, _>>()?;
    let default_paths = ["metadata.name".to_owned()];
    let paths: &[String] = if target.field_paths.is_empty() {
        &default_paths
    } else {
        &target.field_paths
    };
    for res in resources.iter_mut() {
        if !select_meta.matches(res) || reject_meta.iter().any(|m| m.matches(res)) {
            continue;
        }
        if !res_selected(res, &select.gvk(), &select.name, &select.namespace) {
            continue;
        }
        let rejected = target.reject.iter().any(|r| {
            let empty = r.group.is_empty()
                && r.version.is_empty()
                && r.kind.is_empty()
                && r.name.is_empty()
                && r.namespace.is_empty();
            !empty && res_selected(res, &r.gvk(), &r.name, &r.namespace)
        });
        if rejected {
            continue;
        }
        for path in paths {
            copy_to_target(res, value, path, target.options.as_ref())?;
        }
    }
    Ok(())
}

fn copy_to_target(
    res: &mut Resource,
    value: &Value,
    path: &str,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let create = options
        .is_some_and(|o| o.create)
        .then(|| NodeKind::of(value));
    let segments = split_field_path(path);
    // The copy lands `segments` levels down: the object must stay within the parser's depth.
    let (depth, _) = crate::resource::yaml::measure(value);
    if segments.len() + depth > crate::resource::yaml::MAX_DEPTH {
        return Err(format!(
            "copying a value {depth} levels deep to a field path of {} fields would nest `{}` deeper than {} levels",
            segments.len(),
            res.id(),
            crate::resource::yaml::MAX_DEPTH
        ));
    }
    let mut found = 0usize;
    // kustomize finds every field before writing any, so a failed write is reported as itself,
    // not as a failure to find the field.
    let mut write_error = None;
    let mut set = |field: &mut Value, created: bool| {
        found += 1;
        set_field(field, created, value, options).map_err(|e| {
            write_error = Some(e);
            String::new()
        })
    };
    let id = res.id();
    let walked = match_path(&mut res.body, &segments, create, &mut set);
    if let Some(e) = write_error {
        return Err(e);
    }
    walked.map_err(|e| format!("{}: {e}", retrieval_error(path, create.is_some())))?;
    if found == 0 {
        return Err(format!(
            "{} (in `{id}`)",
            retrieval_error(path, create.is_some())
        ));
    }
    Ok(())
}

fn retrieval_error(path: &str, create: bool) -> String {
    if create {
        format!("unable to find or create field \"{path}\" in replacement target")
    } else {
        format!("unable to find field \"{path}\" in replacement target")
    }
}

fn set_field(
    field: &mut Value,
    created: bool,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let mut text = scalar_text(value).unwrap_or_default();
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty()) {
        let Some(current) = scalar_text(field) else {
            return Err("delimiter option can only be used with scalar nodes".to_owned());
        };
        let mut parts: Vec<String> = current
            .split(o.delimiter.as_str())
            .map(str::to_owned)
            .collect();
        match usize::try_from(o.index) {
            Err(_) => parts.insert(0, text),
            Ok(i) if i >= parts.len() => parts.push(text),
            Ok(i) => parts[i] = text,
        }
        text = parts.join(&o.delimiter);
        if !is_scalar(value) {
            // kustomize writes the joined text into a copy of the (non-scalar) value.
            *field = Value::String(text);
            return Ok(());
        }
    } else if !is_scalar(field) {
        *field = value.clone();
        return Ok(());
    }
    // A scalar target keeps its own YAML tag and only its text changes, so text that does not
    // read as the target's type fails as it does when kustomize decodes the result. A field
    // just created has no tag yet: its text decides.
    if created {
        *field = resolve_plain(&text);
        return Ok(());
    }
    if field.is_string() {
        *field = Value::String(text);
        return Ok(());
    }
    let new = resolve_plain(&text);
    let fits = match (&*field, &new) {
        (Value::Null, Value::Null) | (Value::Bool(_), Value::Bool(_)) => true,
        (Value::Number(old), Value::Number(n)) => old.is_f64() || !n.is_f64(),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "cannot decode !!{} `{text}` as a !!{}",
            yaml_tag(&new),
            yaml_tag(field)
        ));
    }
    *field = match (&*field, new) {
        (Value::Number(old), Value::Number(n)) if old.is_f64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        (_, new) => new,
    };
    Ok(())
}

fn yaml_tag(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Object(_) => "map",
        Value::Array(_) => "seq",
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

/// The text of a scalar as YAML holds it; `None` for maps and lists.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Object(_) | Value::Array(_) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Scalar,
    Map,
    Seq,
}

impl NodeKind {
    fn of(v: &Value) -> Self {
        match v {
            Value::Object(_) => NodeKind::Map,
            Value::Array(_) => NodeKind::Seq,
            _ => NodeKind::Scalar,
        }
    }

    /// kyaml's `getPathPartKind`: what to create for the field before `next`.
    fn before(next: Option<&String>, last: NodeKind) -> Self {
        match next {
            None => last,
            Some(n) if is_index(n) || is_list_match(n) => NodeKind::Seq,
            Some(_) => NodeKind::Map,
        }
    }

    fn empty(self) -> Value {
        match self {
            // A created scalar has no tag yet: the text written into it decides its type.
            NodeKind::Scalar => Value::Null,
            NodeKind::Map => Value::Object(Map::new()),
            NodeKind::Seq => Value::Array(Vec::new()),
        }
    }
}

fn is_index(seg: &str) -> bool {
    seg.parse::<i64>().is_ok_and(|i| i >= 0)
}

fn is_list_match(seg: &str) -> bool {
    seg.starts_with('[') && seg.ends_with(']')
}

fn split_match(seg: &str) -> Result<(&str, &str), String> {
    seg[1..seg.len() - 1].split_once('=').ok_or_else(|| {
        "list path element must contain fieldName=fieldValue for element to match".to_owned()
    })
}

/// kyaml's `PathMatcher`: calls `f` on every field `path` reaches, creating what is missing
/// when `create` gives the kind of the value to be written.
fn match_path(
    node: &mut Value,
    path: &[String],
    create: Option<NodeKind>,
    f: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<(), String> {
    walk_path(node, path, create, false, f)
}

fn walk_path(
    node: &mut Value,
    path: &[String],
    create: Option<NodeKind>,
    created: bool,
    f: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<(), String> {
    let Some(seg) = path.first() else {
        return f(node, created);
    };
    let rest = &path[1..];
    let wrong_kind = |want: &str| format!("wrong node kind: expected {want} at `{seg}`");
    if is_index(seg) {
        let idx: usize = seg.parse().map_err(|_| wrong_kind("an index"))?;
        if node.is_null() {
            *node = Value::Array(Vec::new());
        }
        let Value::Array(items) = node else {
            return Err(wrong_kind("a list"));
        };
        let mut made = false;
        if let Some(kind) = create
            && items.len() == idx
        {
            items.push(NodeKind::before(rest.first(), kind).empty());
            made = true;
        }
        let len = items.len();
        let item = items
            .get_mut(idx)
            .ok_or_else(|| format!("index {idx} specified but only {len} elements found"))?;
        return walk_path(item, rest, create, made, f);
    }
    if is_list_match(seg) {
        let (key, pattern) = split_match(seg)?;
        let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
        let mut matched = false;
        if let Value::Array(items) = node {
            for item in items.iter_mut() {
                if key.is_empty() {
                    if scalar_text(item).is_some_and(|t| re.is_match(t.trim())) {
                        matched = true;
                        // kyaml stops at a matched list item, whatever follows in the path.
                        f(item, false)?;
                    }
                    continue;
                }
                let text = item.get(key).and_then(|v| match v {
                    Value::Null => None,
                    v => Some(scalar_text(v).unwrap_or_else(|| v.to_string())),
                });
                if text.is_some_and(|t| re.is_match(t.trim())) {
                    matched = true;
                    walk_path(item, rest, create, false, f)?;
                }
            }
        } else if !node.is_null() {
            return Err(wrong_kind("a list"));
        }
        if matched || create.is_none() {
            return Ok(());
        }
        let element = if key.is_empty() {
            resolve_plain(pattern)
        } else {
            let mut m = Map::new();
            m.insert(key.to_owned(), resolve_plain(pattern));
            Value::Object(m)
        };
        if node.is_null() {
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(items) = node {
            items.push(element);
        }
        return walk_path(node, path, create, false, f);
    }
    if seg == "*" {
        return match node {
            Value::Array(items) => items
                .iter_mut()
                .try_for_each(|item| walk_path(item, rest, create, false, f)),
            Value::Null => Ok(()),
            _ => Err(wrong_kind("a list")),
        };
    }
    if node.is_null() && create.is_some() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else {
        return Ok(());
    };
    let mut made = false;
    if !map.contains_key(seg.as_str()) {
        let Some(kind) = create else {
            return Ok(());
        };
        map.insert(seg.clone(), NodeKind::before(rest.first(), kind).empty());
        made = true;
    }
    match map.get_mut(seg.as_str()) {
        Some(child) => walk_path(child, rest, create, made, f),
        None => Ok(()),
    }
}

/// kyaml's `SmarterPathSplitter` on `.`: `\.` escapes a dot, and a bracketed run spanning
/// dots is one segment (kept with its brackets when it holds `=`, unwrapped otherwise).
pub fn split_field_path(path: &str) -> Vec<String> {
    let plain = super::fieldspec::split_escaped(path, '.');
    let mut out = Vec::with_capacity(plain.len());
    let mut i = 0;
    while i < plain.len() {
        let elem = &plain[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut joined = vec![elem.clone()];
            while i + 1 < plain.len() {
                i += 1;
                joined.push(plain[i].clone());
                if plain[i].ends_with(']') {
                    break;
                }
            }
            let s = joined.join(".");
            if s.contains('=') {
                out.push(s);
            } else {
                out.push(s.trim_matches(['[', ']']).to_owned());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

/// kyaml's `PathGetter` without creation: a field of a map, an element by index (`-` is the
/// last), or the first element whose `key` equals `value` (`[key=value]`).
pub fn lookup<'a>(mut node: &'a Value, path: &[String]) -> Option<&'a Value> {
    for seg in path {
        node = if let Ok(i) = seg.parse::<usize>() {
            node.as_array()?.get(i)?
        } else if seg == "-" {
            node.as_array()?.last()?
        } else if is_list_match(seg) {
            let (key, want) = split_match(seg).ok()?;
            node.as_array()?.iter().find(|item| {
                let v = if key.is_empty() {
                    Some(*item)
                } else {
                    item.get(key)
                };
                v.and_then(scalar_text).is_some_and(|t| t == want)
            })?
        } else {
            node.as_object()?.get(seg.as_str())?
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{lookup, split_field_path};
    use crate::render::RenderError;
    use crate::render::testing::{bodies, build_in, docs, over};

    fn render(files: &[(&str, &str)]) -> Result<Vec<Value>, RenderError> {
        build_in("k", files).map(|out| bodies(&out))
    }

    /// The render of a kustomization of [`OBJECTS`] with `rest`.
    fn of_objects(rest: &str) -> Result<Vec<Value>, RenderError> {
        over(OBJECTS, rest).map(|out| bodies(&out))
    }

    #[test]
    fn paths_split_like_kyaml() {
        assert_eq!(
            split_field_path("metadata.annotations.[a.b/c]"),
            vec!["metadata", "annotations", "a.b/c"]
        );
        assert_eq!(
            split_field_path("spec.containers.[name=a.b].image"),
            vec!["spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(split_field_path("a\\.b.c"), vec!["a.b", "c"]);
        let v = json!({"c": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]});
        let p = |s: &str| split_field_path(s);
        assert_eq!(lookup(&v, &p("c.[name=y].v")), Some(&json!(2)));
        assert_eq!(lookup(&v, &p("c.0.name")), Some(&json!("x")));
        assert_eq!(lookup(&v, &p("c.-.v")), Some(&json!(2)));
        assert_eq!(lookup(&v, &p("c.[name=z].v")), None);
    }

    const OBJECTS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: params
  namespace: ns
data:
  host: db.example.com:5432
  port: \"5432\"
  replicas: \"3\"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ns
  labels:
    tier: front
spec:
  replicas: 1
  template:
    metadata:
      annotations:
        a.b/c: old
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - name: DB
          value: x
      - name: app-sidecar
        image: side:1
        env:
        - name: DB
          value: y
      - name: other
        image: o:1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: job
  namespace: ns
  labels:
    tier: back
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1
";

    const KUSTOMIZATION: &str = "resources: [o.yaml]
replacements:
- source:
    kind: ConfigMap
    name: params
    fieldPath: data.host
    options: {delimiter: ':', index: 0}
  targets:
  - select: {kind: Deployment}
    reject: [{labelSelector: tier=back}]
    fieldPaths:
    - spec.template.spec.containers.[name=app].env.[name=DB].value
    - spec.template.metadata.annotations.[a.b/c]
  - select: {kind: Deployment, name: job}
    fieldPaths: [spec.template.spec.containers.*.image]
    options: {delimiter: ':', index: 0}
- path: more.yaml
";

    const MORE: &str = "- source: {kind: ConfigMap, name: params, fieldPath: data.replicas}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [spec.replicas]
    options: {create: true}
- source: {kind: ConfigMap, name: params, fieldPath: data.port}
  targets:
  - select: {kind: Deployment, name: job}
    fieldPaths: [spec.template.spec.containers.0.ports.0.containerPort]
    options: {create: true}
";

    // `kubectl kustomize` (v5.5.0) on the same input. `[name=app]` is an unanchored regex, so
    // `app-sidecar` is replaced too; a number written into a string field stays a string and
    // a created field takes the type its text reads as.
    const EXPECTED: &str = "apiVersion: v1
data:
  host: db.example.com:5432
  port: \"5432\"
  replicas: \"3\"
kind: ConfigMap
metadata:
  name: params
  namespace: ns
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    tier: back
  name: job
  namespace: ns
spec:
  replicas: 3
  template:
    spec:
      containers:
      - image: db.example.com:1
        name: app
        ports:
        - containerPort: 5432
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    tier: front
  name: web
  namespace: ns
spec:
  replicas: 3
  template:
    metadata:
      annotations:
        a.b/c: db.example.com
    spec:
      containers:
      - env:
        - name: DB
          value: db.example.com
        image: app:1
        name: app
      - env:
        - name: DB
          value: db.example.com
        image: side:1
        name: app-sidecar
      - image: o:1
        name: other
";

    #[test]
    fn replacements_inline_and_from_files() {
        let got = render(&[
            ("kustomization.yaml", KUSTOMIZATION),
            ("more.yaml", MORE),
            ("o.yaml", OBJECTS),
        ])
        .unwrap();
        assert_eq!(got, docs(EXPECTED));
    }

    #[test]
    fn source_errors_name_the_selector() {
        let refusal = |src: &str| {
            of_objects(&format!(
                "replacements:\n- source: {src}\n  targets:\n  - select: {{kind: ConfigMap}}\n"
            ))
            .unwrap_err()
        };
        let err = refusal("{kind: Secret, name: s}");
        assert_eq!(
            err.to_string(),
            "k/kustomization.yaml:2: replacement failed: nothing selected by Secret.[noVer].[noGrp]/s.[noNs]"
        );
        let err = refusal("{kind: Deployment}");
        assert!(
            err.to_string().ends_with(
                "multiple matches for selector Deployment.[noVer].[noGrp]/[noName].[noNs]"
            ),
            "{err}"
        );
        let err = refusal("{kind: ConfigMap, fieldPath: data.nope}");
        assert!(
            err.to_string().ends_with(
                "fieldPath `data.nope` is missing for replacement source ConfigMap.[noVer].[noGrp]/[noName].[noNs]"
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_target_field_is_an_error() {
        let err = of_objects(
            "replacements:\n- source: {kind: ConfigMap}\n  targets:\n  - select: {name: web}\n    fieldPaths: [spec.nope]\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("unable to find field \"spec.nope\" in replacement target"),
            "{err}"
        );
    }

    #[test]
    fn scalar_targets_keep_their_type() {
        let k = |src: &str, path: &str| {
            format!(
                "replacements:\n- source: {{kind: ConfigMap, name: params, fieldPath: {src}}}\n  targets:\n  - select: {{kind: Deployment, name: web}}\n    fieldPaths: [{path}]\n"
            )
        };
        // The message is the one `kubectl kustomize` (v5.5.0) gives.
        let err = of_objects(&k("data.host", "spec.replicas")).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("cannot decode !!str `db.example.com:5432` as a !!int"),
            "{err}"
        );
        let got = of_objects(&k("data.replicas", "spec.replicas")).unwrap();
        assert_eq!(got[2]["spec"]["replicas"], json!(3));
    }
}
