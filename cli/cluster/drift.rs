//! Drift: how the live objects of an install differ from what kfctl applied, judged only on the
//! fields kfctl's field manager owns.
//!
//! The API server records, per object, which fields each field manager set (`managedFields`,
//! a `fieldsV1` trie). kfctl's own entry (manager `kfctl`, operation `Apply`) names exactly the
//! fields it sent, so defaults the server filled in, fields controllers own (`status`, an HPA's
//! `replicas` once it took them) and what webhooks inject (a sidecar container, a `caBundle`)
//! are outside it and never drift.
//!
//! Cost grows with kinds, not objects: one LIST per kind, selected by the ApplySet label, gives
//! every member; each is reduced to its kfctl-owned projection (the owned paths and their live
//! values), whose sha256 is compared with the one recorded right after the apply. Only objects
//! whose projection or rendered body changed since are sent as a server-side dry run (as the
//! server would default and admit them), and the result is compared with live on kfctl's
//! fields: a different value is **modified**, a field now owned by another manager is
//! **foreign-owned**; a recorded object the LIST did not return is **missing**, a labelled one
//! the record does not name is **stray**.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::apply::{FIELD_MANAGER, desired};
use super::client::{Cluster, ClusterError, Request, Scope};
use super::inventory::{self, Inventory, LABEL_PART_OF, Parent};
use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::{Gvk, ResId, Resource, ResourceSet};

/// A per-object annotation: comma-separated JSON pointers whose changes are not drift.
pub const ANNOTATION_IGNORE: &str = "kfctl.dev/ignore-drift";

/// How many requests are in flight at once.
const CONCURRENCY: usize = 8;

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
}

/// A path to a field, printed as a JSON pointer; a keyed list element prints as its key fields
/// (`/spec/template/spec/containers/name=app/image`), a set element as its JSON value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Step>);

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

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

/// The value at `path` in `obj`, if there is one.
pub fn value_at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let mut here = obj;
    for step in &path.0 {
        here = match step {
            Step::Field(name) => here.get(name)?,
            Step::Index(i) => here.as_array()?.get(*i)?,
            Step::Value(text) => {
                let wanted: Value = serde_json::from_str(text).ok()?;
                here.as_array()?.iter().find(|v| **v == wanted)?
            }
            Step::Key(text) => {
                let keys: Map<String, Value> = serde_json::from_str(text).ok()?;
                here.as_array()?
                    .iter()
                    .find(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?
            }
        };
    }
    Some(here)
}

/// The `fieldsV1` of each field manager entry of `obj`, with the manager's name and operation;
/// entries for subresources (`status`, `scale`) included.
fn managed_entries(obj: &Value) -> Vec<(&str, &str, &Value)> {
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
fn kfctl_fields(obj: &Value) -> Option<&Value> {
    managed_entries(obj)
        .into_iter()
        .find(|(manager, operation, _)| *manager == FIELD_MANAGER && *operation == "Apply")
        .map(|(_, _, fields)| fields)
}

/// Whether a `fieldsV1` trie owns `path` (itself, or an ancestor owned as a whole).
fn trie_owns(fields: &Value, path: &FieldPath) -> bool {
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
fn other_owners(obj: &Value, path: &FieldPath) -> Vec<(String, bool)> {
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
    inventory::hex(&Sha256::digest(text.as_bytes()))
}

/// Paths whose changes are not drift: JSON pointers, matched as prefixes, `*` matching any one
/// segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignored(pub Vec<String>);

impl Ignored {
    /// The paths of an object's [`ANNOTATION_IGNORE`] annotation.
    pub fn from_annotation(obj: &Value) -> Ignored {
        let text = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION_IGNORE))
            .and_then(Value::as_str)
            .unwrap_or("");
        Ignored(
            text.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn covers(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().any(|rule| {
            let rule: Vec<&str> = rule.trim_end_matches('/').split('/').collect();
            rule.len() <= segments.len()
                && rule.iter().zip(&segments).all(|(r, s)| *r == "*" || r == s)
        })
    }
}

/// The paths ignored for the object `id`: its live annotation's and the rules selecting it.
pub fn ignored_for(id: &ResId, live: Option<&Value>, rules: &[IgnoreRule]) -> Ignored {
    let mut paths = live.map(Ignored::from_annotation).unwrap_or_default().0;
    for rule in rules.iter().filter(|r| r.selects(id)) {
        paths.extend(rule.paths.iter().cloned());
    }
    Ignored(paths)
}

/// Makes `body`, about to be applied over `live`, leave the ignored fields as they are live:
/// each ignored field some manager owns in `live` and `body` sets takes its live value, and an
/// ignored map field `body` sets that `live` no longer has is left out. Fields kfctl keeps
/// sending are fields it keeps owning, so nothing is removed from the object.
pub fn keep_ignored(body: &mut Value, live: &Value, ignored: &Ignored) {
    if ignored.0.is_empty() {
        return;
    }
    let mut owned: BTreeSet<FieldPath> = BTreeSet::new();
    for (_, _, fields) in managed_entries(live) {
        owned.extend(owned_paths(fields));
    }
    for path in owned {
        if !ignored.covers(&path.to_string()) {
            continue;
        }
        if let (Some(value), Some(slot)) = (value_at(live, &path), value_at_mut(body, &path)) {
            *slot = value.clone();
        }
    }
    // Map fields (no list in between) the body sets and live has not.
    fn prune(node: &mut Value, live: Option<&Value>, prefix: &mut Vec<Step>, ignored: &Ignored) {
        let Some(map) = node.as_object_mut() else {
            return;
        };
        map.retain(|key, child| {
            prefix.push(Step::Field(key.clone()));
            let live_child = live.and_then(|l| l.get(key));
            let keep =
                if live_child.is_none() && ignored.covers(&FieldPath(prefix.clone()).to_string()) {
                    false
                } else {
                    prune(child, live_child, prefix, ignored);
                    true
                };
            prefix.pop();
            keep
        });
    }
    prune(body, Some(live), &mut Vec::new(), ignored);
}

/// The value at `path` in `obj`, to change it.
fn value_at_mut<'a>(obj: &'a mut Value, path: &FieldPath) -> Option<&'a mut Value> {
    let mut here = obj;
    for step in &path.0 {
        here = match step {
            Step::Field(name) => here.get_mut(name)?,
            Step::Index(i) => here.as_array_mut()?.get_mut(*i)?,
            Step::Value(text) => {
                let wanted: Value = serde_json::from_str(text).ok()?;
                here.as_array_mut()?.iter_mut().find(|v| **v == wanted)?
            }
            Step::Key(text) => {
                let keys: Map<String, Value> = serde_json::from_str(text).ok()?;
                here.as_array_mut()?
                    .iter_mut()
                    .find(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?
            }
        };
    }
    Some(here)
}

/// An ignore rule of `kfctl.yaml`: objects it selects (empty fields select any) and paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub paths: Vec<String>,
}

impl IgnoreRule {
    pub fn selects(&self, id: &ResId) -> bool {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        matches(&self.group, &id.gvk.group)
            && matches(&self.kind, &id.gvk.kind)
            && matches(&self.namespace, &id.namespace)
            && matches(&self.name, &id.name)
    }
}

/// How one field of an object drifted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// JSON pointer to the field.
    pub path: String,
    pub state: FieldState,
    /// The other field managers that own it now.
    pub managers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldState {
    /// Its value is not the one kfctl applies.
    Modified,
    /// kfctl would set it and live has none.
    Missing,
    /// Its value is kfctl's, but another field manager took it over.
    ForeignOwned,
    /// kfctl owns it now and would remove it: the render no longer sets it.
    Removed,
}

impl fmt::Display for FieldState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldState::Modified => "modified",
            FieldState::Missing => "missing",
            FieldState::ForeignOwned => "foreign-owned",
            FieldState::Removed => "removed",
        })
    }
}

/// Compares the server's dry run of the desired object (`would`) with `live` on the fields
/// kfctl owns in either.
pub fn compare(would: &Value, live: &Value, ignored: &Ignored) -> Vec<FieldDrift> {
    let mut out = Vec::new();
    let wanted = kfctl_fields(would).map(owned_paths).unwrap_or_default();
    let live_fields = kfctl_fields(live);
    for path in &wanted {
        let text = path.to_string();
        if ignored.covers(&text) {
            continue;
        }
        let (w, l) = (value_at(would, path), value_at(live, path));
        let owners = other_owners(live, path);
        let lost = live_fields.is_none_or(|f| !trie_owns(f, path));
        // Every write takes ownership of what it changes: an update (`kubectl edit`, `scale`,
        // `set image`) is a modification; another manager's server-side apply is a takeover.
        let applied_by_other = lost && owners.iter().any(|(_, apply)| *apply);
        let state = if l.is_none() && w.is_some() {
            FieldState::Missing
        } else if applied_by_other || (w == l && lost) {
            FieldState::ForeignOwned
        } else if w != l {
            FieldState::Modified
        } else {
            continue;
        };
        out.push(FieldDrift {
            path: text,
            state,
            managers: owners.into_iter().map(|(m, _)| m).collect(),
        });
    }
    if let Some(fields) = live_fields {
        let would_fields = kfctl_fields(would);
        for path in owned_paths(fields) {
            let text = path.to_string();
            if ignored.covers(&text) || would_fields.is_some_and(|f| trie_owns(f, &path)) {
                continue;
            }
            if value_at(would, &path) != value_at(live, &path) {
                out.push(FieldDrift {
                    path: text,
                    state: FieldState::Removed,
                    managers: Vec::new(),
                });
            }
        }
    }
    out
}

/// An object as shown in a diff: without what the server keeps for itself, Secret values
/// masked.
pub fn for_display(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
    }
    obj
}

/// Masks the values of a Secret's `data` and `stringData`, `live` and `desired` together: a
/// value that differs shows as `*** (live)` against `*** (desired)`, one that does not as `***`.
pub fn redact_pair(live: &mut Value, desired: &mut Value) {
    let is_secret = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("Secret");
    if !is_secret(live) && !is_secret(desired) {
        return;
    }
    for field in ["data", "stringData"] {
        let before = live.get(field).cloned().unwrap_or(Value::Null);
        let after = desired.get(field).cloned().unwrap_or(Value::Null);
        let mask = |own: &mut Value, other: &Value, marker: &str| {
            if let Some(map) = own.get_mut(field).and_then(Value::as_object_mut) {
                for (key, value) in map.iter_mut() {
                    let same = other.get(key) == Some(&*value);
                    *value = Value::String(if same {
                        "***".to_owned()
                    } else {
                        format!("*** ({marker})")
                    });
                }
            }
        };
        mask(live, &after, "live");
        mask(desired, &before, "desired");
    }
}

/// A unified diff of two objects as YAML, Secret values masked.
pub fn unified(live: Option<&Value>, desired: Option<&Value>, id: &ResId) -> String {
    let mut before = live.map(for_display).unwrap_or(Value::Null);
    let mut after = desired.map(for_display).unwrap_or(Value::Null);
    redact_pair(&mut before, &mut after);
    let text = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            crate::resource::yaml::to_yaml(v)
        }
    };
    let (before, after) = (text(&before), text(&after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{id}"), &format!("desired/{id}"))
        .to_string()
}

/// What an apply of the render would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Change,
    /// Recorded or labelled as a member, but not in the render.
    Prune,
    Unchanged,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "created",
            Action::Change => "changed",
            Action::Prune => "pruned",
            Action::Unchanged => "unchanged",
        })
    }
}

/// How an object differs from what kfctl last applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Drift {
    Modified,
    Missing,
    ForeignOwned,
    Stray,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Drift::Modified => "modified",
            Drift::Missing => "missing",
            Drift::ForeignOwned => "foreign-owned",
            Drift::Stray => "stray",
        })
    }
}

/// One object of the install, as checked.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    /// Its id, with the namespace it lives in.
    pub id: ResId,
    /// What an apply of the render would do; `None` when no render was given.
    pub action: Option<Action>,
    /// How it drifted since kfctl applied it; `None` when it did not.
    pub drift: Option<Drift>,
    pub fields: Vec<FieldDrift>,
    /// A unified diff of live against desired, Secret values masked, for changed objects.
    pub diff: Option<String>,
    /// Drifted, but the fields are not known without the render.
    pub fields_unknown: bool,
    /// Its id in the render, when the render has it.
    pub rendered: Option<ResId>,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct DriftReport {
    pub parent: Option<Parent>,
    pub objects: Vec<ObjectReport>,
    /// Every live member, by id.
    pub live: BTreeMap<ResId, Value>,
    /// Requests sent to the API server.
    pub requests: usize,
    /// Kinds listed.
    pub kinds: usize,
    /// Objects sent as a dry run.
    pub dry_runs: usize,
}

impl DriftReport {
    pub fn drifted(&self) -> impl Iterator<Item = &ObjectReport> {
        self.objects.iter().filter(|o| o.drift.is_some())
    }

    /// Whether an apply would change something, or something drifted.
    pub fn has_changes(&self) -> bool {
        self.objects
            .iter()
            .any(|o| o.drift.is_some() || o.action.is_some_and(|a| a != Action::Unchanged))
    }
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("cannot list the members of install `{install}` of kind {gvk}")]
    List {
        install: String,
        gvk: Gvk,
        #[source]
        source: ClusterError,
    },

    #[error("cannot read install `{install}`'s inventory")]
    Inventory {
        install: String,
        #[source]
        source: ClusterError,
    },

    #[error("the server refused a dry run of {id}")]
    DryRun {
        id: ResId,
        #[source]
        source: ClusterError,
    },

    #[error("cannot read {id}")]
    Read {
        id: ResId,
        #[source]
        source: ClusterError,
    },
}

impl Diagnostic for DriftError {
    // The hint is the cluster error's, below in the chain.
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// What a check compares live with.
pub struct Desired<'a> {
    pub resources: &'a ResourceSet,
    /// The labels apply adds to every object.
    pub labels: BTreeMap<String, String>,
}

/// Lists every member of the install: one LIST per kind, all namespaces at once, selected by
/// the ApplySet label. Counts its requests in `requests`.
async fn list_members(
    cluster: &Cluster,
    inventory: &Inventory,
    gvks: &BTreeSet<Gvk>,
    requests: &AtomicUsize,
) -> Result<BTreeMap<ResId, Value>, DriftError> {
    let selector = format!("{LABEL_PART_OF}={}", inventory.id);
    let lists = futures::stream::iter(gvks.iter())
        .map(|gvk| {
            let selector = &selector;
            async move {
                let fail = |source| DriftError::List {
                    install: inventory.install.clone(),
                    gvk: gvk.clone(),
                    source,
                };
                let resolved = match cluster.resolve(gvk).await {
                    Ok(r) => r,
                    // The kind is no longer served (its CRD is gone): its members are missing.
                    Err(ClusterError::NoApi { .. }) => return Ok(Vec::new()),
                    Err(e) => return Err(fail(e)),
                };
                let api: Api<DynamicObject> =
                    Api::all_with(cluster.client().clone(), &resolved.resource);
                requests.fetch_add(1, Ordering::Relaxed);
                let list = api
                    .list(&ListParams::default().labels(selector))
                    .await
                    .map_err(|e| {
                        fail(cluster.error(
                            e,
                            Request {
                                verb: "list",
                                resource: resolved.resource.plural.clone(),
                                namespace: None,
                                target: format!("{} labelled {selector}", gvk.kind),
                            },
                        ))
                    })?;
                let scope = resolved.scope;
                Ok(list
                    .items
                    .into_iter()
                    .filter_map(|item| {
                        let namespace = match scope {
                            Scope::Cluster => String::new(),
                            Scope::Namespaced => {
                                item.metadata.namespace.clone().unwrap_or_default()
                            }
                        };
                        let name = item.metadata.name.clone()?;
                        let mut value = serde_json::to_value(&item).ok()?;
                        // Items of a list do not always carry their type.
                        if let Some(map) = value.as_object_mut() {
                            map.insert("apiVersion".into(), Value::String(gvk.api_version()));
                            map.insert("kind".into(), Value::String(gvk.kind.clone()));
                        }
                        Some((ResId::new(gvk.clone(), &name, &namespace), value))
                    })
                    .collect::<Vec<_>>())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<Result<Vec<(ResId, Value)>, DriftError>>>()
        .await;
    let mut live = BTreeMap::new();
    for list in lists {
        live.extend(list?);
    }
    Ok(live)
}

/// The kfctl-owned digests of the members of an install, for the record, by id (namespace as
/// live). One LIST per kind of `gvks`.
pub async fn owned_digests(
    cluster: &Cluster,
    inventory: &Inventory,
    gvks: &BTreeSet<Gvk>,
) -> Result<BTreeMap<ResId, String>, DriftError> {
    let requests = AtomicUsize::new(0);
    let live = list_members(cluster, inventory, gvks, &requests).await?;
    Ok(live
        .iter()
        .map(|(id, obj)| (id.clone(), owned_digest(obj)))
        .collect())
}

/// The recorded id a rendered object is kept under: the same kind and name, and its namespace;
/// none for a cluster-scoped object (whose render may still name one, which the server drops);
/// for one that names none, the namespace it went to.
fn recorded_id<'a>(id: &ResId, record: &'a BTreeMap<ResId, String>) -> Option<&'a ResId> {
    let candidates: Vec<&ResId> = record
        .range(ResId::new(id.gvk.clone(), &id.name, "")..)
        .take_while(|(k, _)| k.gvk == id.gvk && k.name == id.name)
        .map(|(k, _)| k)
        .collect();
    candidates
        .iter()
        .find(|k| k.namespace == id.namespace)
        .or_else(|| candidates.iter().find(|k| k.namespace.is_empty()))
        .or_else(|| candidates.first().filter(|_| id.namespace.is_empty()))
        .copied()
}

/// Checks an install: its inventory, its live members, and (when given) the render.
pub async fn check(
    cluster: &Cluster,
    inventory: &Inventory,
    desired_set: Option<&Desired<'_>>,
    rules: &[IgnoreRule],
) -> Result<DriftReport, DriftError> {
    let requests = AtomicUsize::new(1);
    let parent = inventory
        .read(cluster)
        .await
        .map_err(|source| DriftError::Inventory {
            install: inventory.install.clone(),
            source,
        })?;
    let record = parent
        .as_ref()
        .map(|p| p.record.clone())
        .unwrap_or_default();
    let mut gvks: BTreeSet<Gvk> = record.objects.keys().map(|id| id.gvk.clone()).collect();
    if let Some(d) = desired_set {
        gvks.extend(d.resources.iter().map(Resource::gvk));
    }
    // Resolving kinds fetches discovery once: two requests with aggregated discovery.
    requests.fetch_add(2, Ordering::Relaxed);
    let listed = list_members(cluster, inventory, &gvks, &requests).await?;
    let mut known: BTreeSet<ResId> = record.objects.keys().cloned().collect();
    if let Some(d) = desired_set {
        known.extend(d.resources.iter().map(Resource::id));
    }
    let live = one_version_each(listed, &known);

    let mut objects = Vec::new();
    let mut seen: BTreeSet<ResId> = BTreeSet::new();
    // Objects to send as a dry run: (report index, resource, live).
    let mut to_check: Vec<(usize, &Resource, Option<Value>, bool)> = Vec::new();

    if let Some(d) = desired_set {
        for res in d.resources.iter() {
            let key = recorded_id(&res.id(), &record.objects).cloned();
            let live_id = key.clone().unwrap_or_else(|| res.id());
            let live_obj = live.get(&live_id).cloned();
            seen.insert(live_id.clone());
            let recorded_render = key.as_ref().and_then(|k| record.objects.get(k));
            let recorded_owned = key.as_ref().and_then(|k| record.owned.get(k));
            let mut report = ObjectReport {
                id: live_id.clone(),
                action: None,
                drift: None,
                fields: Vec::new(),
                diff: None,
                fields_unknown: false,
                rendered: Some(res.id()),
            };
            match &live_obj {
                None if key.is_some() => {
                    report.action = Some(Action::Create);
                    report.drift = Some(Drift::Missing);
                    report.diff = Some(unified(None, Some(&desired(res, &d.labels)), &live_id));
                }
                None => {
                    // Not a member yet: it may exist unlabelled, which an apply adopts.
                    requests.fetch_add(1, Ordering::Relaxed);
                    let existing =
                        cluster
                            .get(&live_id)
                            .await
                            .map_err(|source| DriftError::Read {
                                id: live_id.clone(),
                                source,
                            })?;
                    if existing.is_some() {
                        to_check.push((objects.len(), res, existing, false));
                    } else {
                        report.action = Some(Action::Create);
                        report.diff = Some(unified(None, Some(&desired(res, &d.labels)), &live_id));
                    }
                }
                Some(obj) => {
                    let render_same = recorded_render == Some(&inventory::digest(res));
                    let owned_same = recorded_owned == Some(&owned_digest(obj));
                    if render_same && owned_same {
                        report.action = Some(Action::Unchanged);
                    } else {
                        to_check.push((objects.len(), res, live_obj.clone(), !owned_same));
                    }
                }
            }
            objects.push(report);
        }
        let dry_runs = futures::stream::iter(to_check.iter())
            .map(|(index, res, live_obj, _)| {
                let labels = &d.labels;
                let requests = &requests;
                async move {
                    let id = objects_id(res, live_obj.as_ref());
                    let body = desired(res, labels);
                    let fail = |source| DriftError::DryRun {
                        id: id.clone(),
                        source,
                    };
                    let (api, request) = cluster.api_for(&id, "patch").await.map_err(fail)?;
                    let mut params = PatchParams::apply(FIELD_MANAGER).force();
                    params.dry_run = true;
                    requests.fetch_add(1, Ordering::Relaxed);
                    let would = api
                        .patch(&id.name, &params, &Patch::Apply(&body))
                        .await
                        .map_err(|e| fail(cluster.error(e, request.clone())))?;
                    let would = serde_json::to_value(&would).unwrap_or(Value::Null);
                    Ok::<_, DriftError>((*index, would))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut report_dry_runs = 0;
        let mut results: BTreeMap<usize, Value> = BTreeMap::new();
        for result in dry_runs {
            let (index, would) = result?;
            report_dry_runs += 1;
            results.insert(index, would);
        }
        for (index, _res, live_obj, owned_changed) in &to_check {
            let Some(would) = results.get(index) else {
                continue;
            };
            let Some(live_obj) = live_obj else {
                continue;
            };
            let report = &mut objects[*index];
            let ignored = ignored_for(&report.id, Some(live_obj), rules);
            report.fields = compare(would, live_obj, &ignored);
            if report.fields.is_empty() {
                report.action = Some(Action::Unchanged);
                continue;
            }
            report.action = Some(Action::Change);
            if *owned_changed
                || report
                    .fields
                    .iter()
                    .any(|f| f.state == FieldState::ForeignOwned)
            {
                report.drift = Some(
                    if report
                        .fields
                        .iter()
                        .all(|f| f.state == FieldState::ForeignOwned)
                    {
                        Drift::ForeignOwned
                    } else {
                        Drift::Modified
                    },
                );
            }
            report.diff = Some(unified(Some(live_obj), Some(would), &report.id));
        }
        // Recorded objects the render no longer has.
        for id in record.objects.keys() {
            if seen.contains(id) {
                continue;
            }
            seen.insert(id.clone());
            objects.push(ObjectReport {
                id: id.clone(),
                action: Some(Action::Prune),
                drift: (!live.contains_key(id)).then_some(Drift::Missing),
                fields: Vec::new(),
                diff: live.get(id).map(|obj| unified(Some(obj), None, id)),
                fields_unknown: false,
                rendered: None,
            });
        }
        let mut report = DriftReport {
            dry_runs: report_dry_runs,
            ..DriftReport::default()
        };
        finish(&mut objects, &live, &mut seen, true);
        report.parent = parent;
        report.objects = objects;
        report.kinds = gvks.len();
        report.live = live;
        report.requests = requests.load(Ordering::Relaxed);
        return Ok(report);
    }

    // No render: judge each recorded object by its projection alone.
    for (id, _) in record.objects.iter() {
        seen.insert(id.clone());
        let (drift, unknown) = match live.get(id) {
            None => (Some(Drift::Missing), false),
            Some(obj) if record.owned.get(id) != Some(&owned_digest(obj)) => {
                (Some(Drift::Modified), true)
            }
            Some(_) => (None, false),
        };
        objects.push(ObjectReport {
            id: id.clone(),
            action: None,
            drift,
            fields: Vec::new(),
            diff: None,
            fields_unknown: unknown,
            rendered: None,
        });
    }
    finish(&mut objects, &live, &mut seen, false);
    Ok(DriftReport {
        parent,
        objects,
        kinds: gvks.len(),
        live,
        requests: requests.load(Ordering::Relaxed),
        dry_runs: 0,
    })
}

/// A kind served in several versions (a CRD's `v1alpha1` and `v1beta1`) lists every object
/// under each: keeps each object under the version it is known by, and an unknown one (a
/// stray) once.
fn one_version_each(
    listed: BTreeMap<ResId, Value>,
    known: &BTreeSet<ResId>,
) -> BTreeMap<ResId, Value> {
    let unversioned = |id: &ResId| {
        (
            id.gvk.group.clone(),
            id.gvk.kind.clone(),
            id.namespace.clone(),
            id.name.clone(),
        )
    };
    let known_any: BTreeSet<_> = known.iter().map(unversioned).collect();
    let mut strays_seen = BTreeSet::new();
    listed
        .into_iter()
        .filter(|(id, _)| {
            if known.contains(id) {
                return true;
            }
            let key = unversioned(id);
            // Known under another version, or a namespaced object whose render names none.
            let known_elsewhere = known_any.contains(&key)
                || known
                    .iter()
                    .any(|k| k.gvk == id.gvk && k.name == id.name && k.namespace.is_empty());
            !known_elsewhere && strays_seen.insert(key)
        })
        .collect()
}

/// The id a dry run goes to: the live object's namespace when there is one.
fn objects_id(res: &Resource, live: Option<&Value>) -> ResId {
    let id = res.id();
    let namespace = live
        .and_then(|l| l.pointer("/metadata/namespace"))
        .and_then(Value::as_str)
        .unwrap_or(&id.namespace)
        .to_owned();
    ResId::new(id.gvk, &id.name, &namespace)
}

/// Adds the strays: labelled members neither recorded nor rendered.
fn finish(
    objects: &mut Vec<ObjectReport>,
    live: &BTreeMap<ResId, Value>,
    seen: &mut BTreeSet<ResId>,
    with_render: bool,
) {
    for (id, obj) in live {
        if seen.contains(id) {
            continue;
        }
        objects.push(ObjectReport {
            id: id.clone(),
            action: with_render.then_some(Action::Prune),
            drift: Some(Drift::Stray),
            fields: Vec::new(),
            diff: with_render.then(|| unified(Some(obj), None, id)),
            fields_unknown: false,
            rendered: None,
        });
    }
}

/// Takes an object out of the install: removes its membership label. Used for strays, which
/// kfctl did not create and so does not delete.
pub async fn release_stray(cluster: &Cluster, id: &ResId) -> Result<(), DriftError> {
    let fail = |source| DriftError::Read {
        id: id.clone(),
        source,
    };
    let (api, request) = cluster.api_for(id, "patch").await.map_err(fail)?;
    let patch = serde_json::json!({"metadata": {"labels": {LABEL_PART_OF: null}}});
    api.patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| fail(cluster.error(e, request)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "n", "labels": {"app.kubernetes.io/name": "a"},
              "managedFields": [
                {"manager": "kfctl", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                     "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
                {"manager": "injector", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                     "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}}
              ]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent"},
                {"name": "sidecar", "image": "proxy:1"}]}}},
            "status": {"replicas": 1}
        })
    }

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

    #[test]
    fn compare_names_modified_and_foreign_owned_fields() {
        let would = deployment();
        assert!(compare(&would, &would, &Ignored::default()).is_empty());

        let mut scaled = would.clone();
        scaled["spec"]["replicas"] = json!(5);
        let drift = compare(&would, &scaled, &Ignored::default());
        assert_eq!(
            drift,
            [FieldDrift {
                path: "/spec/replicas".into(),
                state: FieldState::Modified,
                managers: vec![]
            }]
        );
        assert!(
            compare(&would, &scaled, &Ignored(vec!["/spec/replicas".into()])).is_empty(),
            "an ignored path is not drift"
        );
        assert!(compare(&would, &scaled, &Ignored(vec!["/spec".into()])).is_empty());

        // Another manager took the label over: same value, no longer kfctl's.
        let mut taken = would.clone();
        taken["metadata"]["managedFields"][0]["fieldsV1"]
            .as_object_mut()
            .expect("fieldsV1")
            .remove("f:metadata");
        taken["metadata"]["managedFields"][1]["fieldsV1"]["f:metadata"] =
            json!({"f:labels": {"f:app.kubernetes.io/name": {}}});
        let drift = compare(&would, &taken, &Ignored::default());
        assert_eq!(
            drift,
            [FieldDrift {
                path: "/metadata/labels/app.kubernetes.io~1name".into(),
                state: FieldState::ForeignOwned,
                managers: vec!["injector".into()]
            }]
        );
    }

    #[test]
    fn an_update_that_took_a_field_is_a_modification() {
        let would = deployment();
        let mut scaled = would.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
            .as_object_mut()
            .expect("f:spec")
            .remove("f:replicas");
        scaled["metadata"]["managedFields"]
            .as_array_mut()
            .expect("managedFields")
            .push(
                json!({"manager": "kubectl", "operation": "Update", "subresource": "scale",
                         "fieldsV1": {"f:spec": {"f:replicas": {}}}}),
            );
        assert_eq!(
            compare(&would, &scaled, &Ignored::default()),
            [FieldDrift {
                path: "/spec/replicas".into(),
                state: FieldState::Modified,
                managers: vec!["kubectl".into()]
            }]
        );
    }

    #[test]
    fn rendered_objects_find_their_record() {
        let role = Gvk::new("rbac.authorization.k8s.io", "v1", "ClusterRole");
        let cm = Gvk::new("", "v1", "ConfigMap");
        let record = BTreeMap::from([
            (ResId::new(role.clone(), "r", ""), "1".to_owned()),
            (ResId::new(cm.clone(), "c", "default"), "2".to_owned()),
            (ResId::new(cm.clone(), "d", "team"), "3".to_owned()),
        ]);
        let find = |id: ResId| recorded_id(&id, &record).cloned();
        // A cluster-scoped object whose render names a namespace.
        assert_eq!(
            find(ResId::new(role.clone(), "r", "kubeflow")),
            Some(ResId::new(role, "r", ""))
        );
        // A namespaced object that names none went to the context's namespace.
        assert_eq!(
            find(ResId::new(cm.clone(), "c", "")),
            Some(ResId::new(cm.clone(), "c", "default"))
        );
        assert_eq!(find(ResId::new(cm.clone(), "d", "other")), None);
        assert_eq!(
            find(ResId::new(cm.clone(), "d", "team")),
            Some(ResId::new(cm, "d", "team"))
        );
    }

    #[test]
    fn a_kind_listed_in_two_versions_keeps_each_object_once() {
        let v1 = Gvk::new("x.io", "v1", "Thing");
        let v2 = Gvk::new("x.io", "v2", "Thing");
        let listed = BTreeMap::from([
            (ResId::new(v1.clone(), "a", "n"), json!(1)),
            (ResId::new(v2.clone(), "a", "n"), json!(2)),
            (ResId::new(v1.clone(), "b", "n"), json!(3)),
            (ResId::new(v2.clone(), "b", "n"), json!(4)),
            (ResId::new(v1.clone(), "stray", "n"), json!(5)),
            (ResId::new(v2.clone(), "stray", "n"), json!(6)),
        ]);
        let known = BTreeSet::from([
            ResId::new(v2.clone(), "a", "n"),
            ResId::new(v1.clone(), "b", "n"),
        ]);
        let kept: Vec<ResId> = one_version_each(listed, &known).into_keys().collect();
        assert_eq!(
            kept,
            [
                ResId::new(v1.clone(), "b", "n"),
                ResId::new(v1, "stray", "n"),
                ResId::new(v2, "a", "n"),
            ]
        );
    }

    #[test]
    fn ignore_rules_match_prefixes_and_wildcards() {
        let ignored = Ignored(vec![
            "/spec/replicas".into(),
            "/spec/template/spec/containers/*/image".into(),
        ]);
        assert!(ignored.covers("/spec/replicas"));
        assert!(ignored.covers("/spec/template/spec/containers/name=app/image"));
        assert!(!ignored.covers("/spec/template/spec/containers/name=app/name"));
        assert!(!ignored.covers("/spec/replicasx"));
        let annotated =
            json!({"metadata": {"annotations": {ANNOTATION_IGNORE: "/spec/replicas, /data/x"}}});
        assert_eq!(
            Ignored::from_annotation(&annotated),
            Ignored(vec!["/spec/replicas".into(), "/data/x".into()])
        );
        let rule = IgnoreRule {
            kind: Some("Deployment".into()),
            paths: vec!["/spec/replicas".into()],
            ..IgnoreRule::default()
        };
        assert!(rule.selects(&ResId::new(Gvk::new("apps", "v1", "Deployment"), "a", "n")));
        assert!(!rule.selects(&ResId::new(Gvk::new("", "v1", "ConfigMap"), "a", "n")));
    }

    #[test]
    fn a_fix_keeps_the_live_values_of_ignored_fields() {
        let live = deployment();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(4);
        scaled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
        let mut body = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "n",
              "labels": {"app.kubernetes.io/name": "a", "gone": "x"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1"}]}}}
        });
        let ignored = Ignored(vec![
            "/spec/replicas".into(),
            "/metadata/labels/gone".into(),
        ]);
        keep_ignored(&mut body, &scaled, &ignored);
        assert_eq!(body["spec"]["replicas"], json!(4), "the live value is sent");
        assert_eq!(
            body["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("app:1"),
            "what is not ignored is restored"
        );
        assert_eq!(
            body["metadata"]["labels"],
            json!({"app.kubernetes.io/name": "a"}),
            "an ignored field live no longer has is not sent"
        );

        // A keyed list element, through a wildcard.
        let mut body2 = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:1"}]}}}});
        keep_ignored(
            &mut body2,
            &scaled,
            &Ignored(vec!["/spec/template/spec/containers/*/image".into()]),
        );
        assert_eq!(
            body2["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("app:2")
        );
    }

    #[test]
    fn secret_values_never_reach_a_diff() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "c2VjcmV0", "same": "eA=="}});
        let mut desired = live.clone();
        desired["data"]["password"] = json!("b3RoZXI=");
        let id = ResId::new(Gvk::new("", "v1", "Secret"), "s", "n");
        let diff = unified(Some(&live), Some(&desired), &id);
        assert!(
            !diff.contains("c2VjcmV0") && !diff.contains("b3RoZXI="),
            "{diff}"
        );
        assert!(diff.contains("-  password: '*** (live)'") || diff.contains("*** (live)"));
        assert!(diff.contains("*** (desired)"), "{diff}");
    }
}
