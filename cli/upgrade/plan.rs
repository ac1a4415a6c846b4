//! What an upgrade (or a rollback) will do, from the render installed now, the render to
//! install, the install's record and a few facts read from the cluster: the objects created,
//! changed (with the field paths) and pruned, the images that change, the CRD versions that
//! come and go (a version removed while objects are stored in it blocks the plan), the changes
//! of fields the API server will not change in place, and the components that come, go or are
//! made of something else. Pure: the same inputs give the same plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::migrate::{Kept, MigrationStep};
use crate::profile::migrations::StepAction;
use crate::resource::{ResId, Resource, ResourceSet};

/// At most this many changed field paths are listed per object.
const MAX_PATHS: usize = 20;

/// Facts read from the cluster that the plan depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveFacts {
    /// CRD name → its `status.storedVersions`.
    pub stored_versions: BTreeMap<String, Vec<String>>,
}

/// One object that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
    /// The field paths that differ (`spec.template.spec.containers[name=app].image`); empty
    /// when only the digest in the record says it changed.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    /// `Deployment/kubeflow/app` container `app`.
    pub object: String,
    pub container: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdChange {
    pub name: String,
    pub added_versions: Vec<String>,
    pub removed_versions: Vec<String>,
    /// The CRD leaves the render: pruning it would delete every custom resource of it.
    pub removed: bool,
    /// Why the plan cannot be carried out, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImmutableChange {
    pub id: String,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentChange {
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub detail: Vec<String>,
}

/// What going from the installed render to the new one does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePlan {
    pub created: Vec<String>,
    pub changed: Vec<Changed>,
    pub pruned: Vec<String>,
    pub unchanged: usize,
    pub images: Vec<ImageChange>,
    pub crds: Vec<CrdChange>,
    pub immutable: Vec<ImmutableChange>,
    pub components: Vec<ComponentChange>,
    /// The catalog's migration steps between the two releases, in the order they are done,
    /// before anything is applied.
    #[serde(default)]
    pub migrations: Vec<MigrationStep>,
    /// Objects the new render lacks that are kept rather than pruned, and why.
    #[serde(default)]
    pub kept: Vec<Kept>,
}

impl UpgradePlan {
    /// Nothing would be written, deleted or pruned.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
            && self.changed.is_empty()
            && self.pruned.is_empty()
            && self.migrations.is_empty()
    }

    /// The changes of immutable fields no migration step recreates: `--force` must.
    pub fn unhandled_immutable(&self) -> Vec<&ImmutableChange> {
        self.immutable
            .iter()
            .filter(|c| {
                !self
                    .migrations
                    .iter()
                    .any(|m| m.id == c.id && m.action == StepAction::Recreate.as_str())
            })
            .collect()
    }

    /// The CRD changes that stop the plan.
    pub fn blocked(&self) -> Vec<&CrdChange> {
        self.crds.iter().filter(|c| c.blocked.is_some()).collect()
    }
}

/// An object's identity across versions of its kind: group, kind, namespace, name.
type Key = (String, String, String, String);

/// Keys objects as the API server places them: a kind is cluster-scoped when it is built in as
/// such or a CRD in either render declares `scope: Cluster`, and then the namespace a render may
/// give it (kustomize's `namespace:` sets one on kinds it does not know) is dropped.
struct Keys {
    cluster_scoped: BTreeSet<(String, String)>,
}

impl Keys {
    fn of(sets: &[&ResourceSet]) -> Self {
        let cluster_scoped = sets
            .iter()
            .flat_map(|s| s.iter())
            .filter(|r| is_crd(&r.id()))
            .filter(|r| r.body.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster"))
            .filter_map(|r| {
                let group = r.body.pointer("/spec/group")?.as_str()?;
                let kind = r.body.pointer("/spec/names/kind")?.as_str()?;
                Some((group.to_owned(), kind.to_owned()))
            })
            .collect();
        Keys { cluster_scoped }
    }

    fn key(&self, id: &ResId) -> Key {
        let scoped = id.gvk.is_cluster_scoped()
            || self
                .cluster_scoped
                .contains(&(id.gvk.group.clone(), id.gvk.kind.clone()));
        (
            id.gvk.group.clone(),
            id.gvk.kind.clone(),
            if scoped {
                String::new()
            } else {
                id.namespace.clone()
            },
            id.name.clone(),
        )
    }

    fn index<'a>(&self, set: &'a ResourceSet) -> BTreeMap<Key, &'a Resource> {
        set.iter().map(|r| (self.key(&r.id()), r)).collect()
    }
}

/// Whether the record's `id` (namespace as the server placed it) is one of `set`'s objects
/// (namespace as rendered: empty when the render left it to the default).
fn rendered(keys: &Keys, set_keys: &BTreeMap<Key, &Resource>, id: &ResId) -> bool {
    let k = keys.key(id);
    set_keys.contains_key(&k) || set_keys.contains_key(&(k.0, k.1, String::new(), k.3))
}

/// The plan from `old` (the installed revision rendered again; `None` when it cannot be) and
/// `recorded` (the record's objects and digests) to `new`.
pub fn plan(
    old: Option<&ResourceSet>,
    recorded: &BTreeMap<ResId, String>,
    new: &ResourceSet,
    digest: &dyn Fn(&Resource) -> String,
    facts: &LiveFacts,
) -> UpgradePlan {
    let mut plan = UpgradePlan::default();
    let keys = Keys::of(&[Some(new), old].into_iter().flatten().collect::<Vec<_>>());
    let old_index = old.map(|o| keys.index(o)).unwrap_or_default();
    let new_index = keys.index(new);
    let recorded_by_key: BTreeMap<Key, &String> = recorded
        .iter()
        .flat_map(|(id, d)| {
            let k = keys.key(id);
            [(k.clone(), d), ((k.0, k.1, String::new(), k.3), d)]
        })
        .collect();
    for res in new.iter() {
        let id = res.id();
        let k = keys.key(&id);
        if let Some(before) = old_index.get(&k) {
            let mut paths = Vec::new();
            diff(&before.body, &res.body, "", &mut paths);
            if paths.is_empty() {
                plan.unchanged += 1;
                continue;
            }
            paths.truncate(MAX_PATHS);
            plan.images.extend(image_changes(&id, before, res));
            plan.immutable.extend(immutable_changes(&id, before, res));
            plan.changed.push(Changed {
                id: id.to_string(),
                paths,
            });
        } else if let Some(recorded_digest) = recorded_by_key.get(&k) {
            if **recorded_digest == digest(res) {
                plan.unchanged += 1;
            } else {
                plan.changed.push(Changed {
                    id: id.to_string(),
                    paths: Vec::new(),
                });
            }
        } else {
            plan.created.push(id.to_string());
        }
    }
    let mut pruned: BTreeSet<String> = recorded
        .keys()
        .filter(|id| !rendered(&keys, &new_index, id))
        .map(ResId::to_string)
        .collect();
    pruned.extend(
        old_index
            .iter()
            .filter(|(k, _)| !new_index.contains_key(*k))
            .filter(|(_, r)| !recorded.keys().any(|id| keys.key(id) == keys.key(&r.id())))
            .map(|(_, r)| r.id().to_string()),
    );
    plan.pruned = pruned.into_iter().collect();
    plan.crds = crd_changes(old, new, recorded, facts);
    plan
}

/// The differing leaves of two JSON values as dotted paths; list items with a `name` are
/// matched by it, others by position.
pub fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if out.len() > MAX_PATHS {
        return;
    }
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => diff(va, vb, &join(k), out),
                    _ => out.push(join(k)),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let named = |v: &Vec<Value>| {
                v.iter()
                    .map(|i| i.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
            };
            match (named(x), named(y)) {
                (Some(nx), Some(ny)) if x.len() == y.len() && nx == ny => {
                    for (i, name) in nx.iter().enumerate() {
                        diff(&x[i], &y[i], &format!("{at}[name={name}]"), out);
                    }
                }
                (Some(nx), Some(ny)) => {
                    for name in nx.iter().chain(ny.iter()).collect::<BTreeSet<_>>() {
                        let find = |v: &Vec<Value>| {
                            v.iter()
                                .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
                                .cloned()
                        };
                        match (find(x), find(y)) {
                            (Some(va), Some(vb)) => {
                                diff(&va, &vb, &format!("{at}[name={name}]"), out)
                            }
                            _ => out.push(format!("{at}[name={name}]")),
                        }
                    }
                }
                _ if x.len() == y.len() => {
                    for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                        diff(va, vb, &format!("{at}[{i}]"), out);
                    }
                }
                _ => out.push(at.to_owned()),
            }
        }
        _ if a != b => out.push(at.to_owned()),
        _ => {}
    }
}

/// The pod template of a workload, wherever its kind keeps it.
fn pod_spec(body: &Value) -> Option<&Value> {
    let kind = body.get("kind").and_then(Value::as_str)?;
    match kind {
        "Pod" => body.get("spec"),
        "CronJob" => body.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => body.pointer("/spec/template/spec"),
    }
}

/// `(container, image)` of every container and init container.
fn images(body: &Value) -> BTreeMap<String, String> {
    let Some(spec) = pod_spec(body) else {
        return BTreeMap::new();
    };
    ["initContainers", "containers"]
        .iter()
        .filter_map(|f| spec.get(*f).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("name")?.as_str()?.to_owned(),
                c.get("image")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn image_changes(id: &ResId, before: &Resource, after: &Resource) -> Vec<ImageChange> {
    let old = images(&before.body);
    images(&after.body)
        .into_iter()
        .filter_map(|(container, to)| {
            let from = old.get(&container)?;
            (*from != to).then(|| ImageChange {
                object: id.to_string(),
                container,
                from: from.clone(),
                to,
            })
        })
        .collect()
}

/// Changes the API server refuses to make in place: the object must be deleted and created
/// again.
pub fn immutable_changes(id: &ResId, before: &Resource, after: &Resource) -> Vec<ImmutableChange> {
    let at = |r: &Resource, p: &str| r.body.pointer(p).cloned();
    let mut out = Vec::new();
    let mut check = |pointer: &str, field: &str, reason: &str| {
        let (a, b) = (at(before, pointer), at(after, pointer));
        if a != b {
            out.push(ImmutableChange {
                id: id.to_string(),
                field: field.to_owned(),
                reason: reason.to_owned(),
            });
        }
    };
    let kind = id.gvk.kind.as_str();
    match (id.gvk.group.as_str(), kind) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            check(
                "/spec/selector",
                "spec.selector",
                "a workload's selector cannot change",
            );
            if kind == "StatefulSet" {
                check(
                    "/spec/volumeClaimTemplates",
                    "spec.volumeClaimTemplates",
                    "a StatefulSet's volume claim templates cannot change",
                );
                check(
                    "/spec/serviceName",
                    "spec.serviceName",
                    "a StatefulSet's service name cannot change",
                );
                check(
                    "/spec/podManagementPolicy",
                    "spec.podManagementPolicy",
                    "a StatefulSet's pod management policy cannot change",
                );
            }
        }
        ("batch", "Job") => {
            check(
                "/spec/template",
                "spec.template",
                "a Job's pod template cannot change",
            );
            check(
                "/spec/selector",
                "spec.selector",
                "a Job's selector cannot change",
            );
        }
        ("", "Service") => {
            let (a, b) = (at(before, "/spec/clusterIP"), at(after, "/spec/clusterIP"));
            // An address left to the server is not a change; a set one, or `None`, is.
            if a.is_some() && b.is_some() && a != b {
                out.push(ImmutableChange {
                    id: id.to_string(),
                    field: "spec.clusterIP".to_owned(),
                    reason: "a Service's cluster IP cannot change".to_owned(),
                });
            }
            let ty = |r: &Resource| {
                at(r, "/spec/type")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "ClusterIP".to_owned())
            };
            let (ta, tb) = (ty(before), ty(after));
            if ta != tb && (ta == "ExternalName" || tb == "ExternalName") {
                out.push(ImmutableChange {
                    id: id.to_string(),
                    field: "spec.type".to_owned(),
                    reason: format!("a Service cannot change from `{ta}` to `{tb}` in place"),
                });
            }
        }
        ("", "PersistentVolumeClaim") => {
            for (pointer, field) in [
                ("/spec/storageClassName", "spec.storageClassName"),
                ("/spec/accessModes", "spec.accessModes"),
                ("/spec/volumeName", "spec.volumeName"),
            ] {
                check(pointer, field, "a claim's storage cannot change");
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            check("/roleRef", "roleRef", "a binding's role cannot change");
        }
        ("", "ConfigMap" | "Secret")
            if before.body.get("immutable") == Some(&Value::Bool(true)) =>
        {
            for (pointer, field) in [("/data", "data"), ("/binaryData", "binaryData")] {
                check(pointer, field, "the object is marked `immutable`");
            }
        }
        _ => {}
    }
    out
}

/// The version names a CRD serves.
fn crd_versions(body: &Value) -> BTreeSet<String> {
    body.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn is_crd(id: &ResId) -> bool {
    id.gvk.group == "apiextensions.k8s.io" && id.gvk.kind == "CustomResourceDefinition"
}

/// The stored versions `new` drops, for a CRD of the render: `None` when none.
pub fn dropped_stored_versions(new: &Resource, facts: &LiveFacts) -> Option<Vec<String>> {
    let versions = crd_versions(&new.body);
    let stored = facts.stored_versions.get(new.name())?;
    let dropped: Vec<String> = stored
        .iter()
        .filter(|v| !versions.contains(*v))
        .cloned()
        .collect();
    (!dropped.is_empty()).then_some(dropped)
}

fn crd_changes(
    old: Option<&ResourceSet>,
    new: &ResourceSet,
    recorded: &BTreeMap<ResId, String>,
    facts: &LiveFacts,
) -> Vec<CrdChange> {
    let old_crds: BTreeMap<String, BTreeSet<String>> = old
        .into_iter()
        .flat_map(ResourceSet::iter)
        .filter(|r| is_crd(&r.id()))
        .map(|r| (r.name().to_owned(), crd_versions(&r.body)))
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for res in new.iter().filter(|r| is_crd(&r.id())) {
        seen.insert(res.name().to_owned());
        let versions = crd_versions(&res.body);
        let before = old_crds.get(res.name()).cloned().unwrap_or_default();
        let blocked = dropped_stored_versions(res, facts).map(|dropped| {
            format!(
                "the new CRD no longer serves {}, in which objects are stored (`status.storedVersions`): the API server would refuse it, and the objects would become unreadable",
                dropped
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let added: Vec<String> = if old.is_some() {
            versions.difference(&before).cloned().collect()
        } else {
            Vec::new()
        };
        let removed: Vec<String> = before.difference(&versions).cloned().collect();
        if added.is_empty() && removed.is_empty() && blocked.is_none() {
            continue;
        }
        out.push(CrdChange {
            name: res.name().to_owned(),
            added_versions: added,
            removed_versions: removed,
            removed: false,
            blocked,
        });
    }
    for id in recorded.keys().filter(|id| is_crd(id)) {
        if !seen.contains(&id.name) {
            out.push(CrdChange {
                name: id.name.clone(),
                added_versions: Vec::new(),
                removed_versions: Vec::new(),
                removed: true,
                blocked: None,
            });
        }
    }
    out
}

/// Components that come, go, or are made of other upstream paths or need other components:
/// `old` and `new` map each component to what it is made of.
pub fn component_changes(
    old: &BTreeMap<String, Vec<String>>,
    new: &BTreeMap<String, Vec<String>>,
) -> Vec<ComponentChange> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (change, detail) = match (old.get(name), new.get(name)) {
                (None, Some(parts)) => ("added", parts.clone()),
                (Some(parts), None) => ("removed", parts.clone()),
                (Some(a), Some(b)) if a != b => {
                    let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
                        (a.iter().collect(), b.iter().collect());
                    let mut detail: Vec<String> =
                        a.difference(&b).map(|p| format!("- {p}")).collect();
                    detail.extend(b.difference(&a).map(|p| format!("+ {p}")));
                    ("changed", detail)
                }
                _ => return None,
            };
            Some(ComponentChange {
                name: name.clone(),
                change: change.to_owned(),
                detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resource::{Gvk, Origin};

    fn set(objects: Vec<Value>) -> ResourceSet {
        let mut s = ResourceSet::new();
        for (i, o) in objects.into_iter().enumerate() {
            s.push(Resource::new(
                o,
                Origin::file(std::path::Path::new("t.yaml"), i + 1),
            ))
            .unwrap();
        }
        s
    }

    fn deployment(name: &str, image: &str, selector: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": "kf"},
               "spec": {"selector": {"matchLabels": {"app": selector}},
                        "template": {"metadata": {"labels": {"app": selector}},
                                     "spec": {"containers": [{"name": "main", "image": image}]}}}})
    }

    fn config_map(name: &str, value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "kf"}, "data": {"k": value}})
    }

    fn crd(name: &str, versions: &[&str]) -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": name},
               "spec": {"group": "x.io", "names": {"kind": "X", "plural": "xs"}, "scope": "Namespaced",
                        "versions": versions.iter().map(|v| json!({"name": v, "served": true, "storage": false})).collect::<Vec<_>>()}})
    }

    fn digest(r: &Resource) -> String {
        crate::resource::digest::object_digest(r)
    }

    fn record(s: &ResourceSet) -> BTreeMap<ResId, String> {
        s.iter().map(|r| (r.id(), digest(r))).collect()
    }

    /// The plan from the `old` render, recorded as it was, to `new`, with no facts from a cluster.
    fn upgrade(old: &ResourceSet, new: &ResourceSet) -> UpgradePlan {
        super::plan(Some(old), &record(old), new, &digest, &LiveFacts::default())
    }

    #[test]
    fn objects_are_created_changed_pruned_or_unchanged() {
        let old = set(vec![
            deployment("app", "app:1", "app"),
            config_map("same", "v"),
            config_map("dropped", "v"),
        ]);
        let new = set(vec![
            deployment("app", "app:2", "app"),
            config_map("same", "v"),
            config_map("added", "v"),
        ]);
        let plan = upgrade(&old, &new);
        assert_eq!(plan.created, vec!["ConfigMap/kf/added"]);
        assert_eq!(plan.pruned, vec!["ConfigMap/kf/dropped"]);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.changed,
            vec![Changed {
                id: "Deployment/kf/app".into(),
                paths: vec!["spec.template.spec.containers[name=main].image".into()],
            }]
        );
        assert_eq!(
            plan.images,
            vec![ImageChange {
                object: "Deployment/kf/app".into(),
                container: "main".into(),
                from: "app:1".into(),
                to: "app:2".into(),
            }]
        );
        assert!(plan.immutable.is_empty());
        assert!(!plan.is_empty());
    }

    #[test]
    fn without_the_old_render_the_record_digests_decide() {
        let old = set(vec![config_map("a", "1"), config_map("b", "1")]);
        let new = set(vec![config_map("a", "1"), config_map("b", "2")]);
        let plan = super::plan(None, &record(&old), &new, &digest, &LiveFacts::default());
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.changed.len(), 1);
        assert!(plan.changed[0].paths.is_empty());
        assert!(plan.created.is_empty() && plan.pruned.is_empty());
    }

    #[test]
    fn the_same_render_is_an_empty_plan() {
        let s = set(vec![
            deployment("app", "app:1", "app"),
            crd("xs.x.io", &["v1"]),
        ]);
        let plan = upgrade(&s, &s);
        assert!(plan.is_empty());
        assert_eq!(plan.unchanged, 2);
        assert!(plan.crds.is_empty());
    }

    #[test]
    fn a_record_namespace_matches_a_render_that_left_it_to_the_default() {
        let new = set(vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "a"}, "data": {"k": "v"}})]);
        let recorded = BTreeMap::from([(
            ResId::new(Gvk::new("", "v1", "ConfigMap"), "a", "default"),
            digest(new.at(0)),
        )]);
        let plan = super::plan(None, &recorded, &new, &digest, &LiveFacts::default());
        assert!(plan.pruned.is_empty() && plan.created.is_empty());
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn a_custom_cluster_scoped_kind_is_keyed_without_the_namespace_a_render_gave_it() {
        let runtime = |ns: Option<&str>| {
            let mut v = json!({"apiVersion": "x.io/v1", "kind": "Runtime",
                               "metadata": {"name": "torch"}, "spec": {"image": "t:1"}});
            if let Some(ns) = ns {
                v["metadata"]["namespace"] = json!(ns);
            }
            v
        };
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                         "metadata": {"name": "runtimes.x.io"},
                         "spec": {"group": "x.io", "names": {"kind": "Runtime", "plural": "runtimes"},
                                  "scope": "Cluster", "versions": [{"name": "v1", "served": true, "storage": true}]}});
        let old = set(vec![crd.clone(), runtime(None)]);
        let new = set(vec![crd, runtime(Some("kubeflow-system"))]);
        // The record holds the object where the server placed it: no namespace.
        let recorded = record(&old);
        let plan = super::plan(Some(&old), &recorded, &new, &digest, &LiveFacts::default());
        assert!(plan.pruned.is_empty(), "{:?}", plan.pruned);
        assert!(plan.created.is_empty(), "{:?}", plan.created);
        let plan = super::plan(None, &recorded, &new, &digest, &LiveFacts::default());
        assert!(
            plan.pruned.is_empty() && plan.created.is_empty(),
            "{plan:?}"
        );
    }

    #[test]
    fn selector_changes_need_a_recreate() {
        let old = set(vec![deployment("app", "app:1", "app")]);
        let new = set(vec![deployment("app", "app:1", "app-v2")]);
        let plan = upgrade(&old, &new);
        assert_eq!(
            plan.immutable,
            vec![ImmutableChange {
                id: "Deployment/kf/app".into(),
                field: "spec.selector".into(),
                reason: "a workload's selector cannot change".into(),
            }]
        );
    }

    #[test]
    fn service_and_job_changes_that_need_a_recreate() {
        let svc = |ip: Option<&str>, ty: &str| {
            let mut s = json!({"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": "s", "namespace": "kf"},
                               "spec": {"type": ty, "ports": [{"port": 80}]}});
            if let Some(ip) = ip {
                s["spec"]["clusterIP"] = json!(ip);
            }
            s
        };
        let job = |image: &str| {
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "j", "namespace": "kf"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never",
                            "containers": [{"name": "j", "image": image}]}}}})
        };
        let old = set(vec![svc(Some("10.0.0.1"), "ClusterIP"), job("j:1")]);
        let new = set(vec![svc(Some("10.0.0.2"), "ExternalName"), job("j:2")]);
        let plan = upgrade(&old, &new);
        let fields: Vec<(&str, &str)> = plan
            .immutable
            .iter()
            .map(|c| (c.id.as_str(), c.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("Service/kf/s", "spec.clusterIP"),
                ("Service/kf/s", "spec.type"),
                ("Job/kf/j", "spec.template"),
            ]
        );
        // A cluster IP left to the server, and a type change within ClusterIP/NodePort, are
        // not recreates.
        let old = set(vec![svc(None, "ClusterIP")]);
        let new = set(vec![svc(Some("10.0.0.3"), "NodePort")]);
        let plan = upgrade(&old, &new);
        assert!(plan.immutable.is_empty(), "{:?}", plan.immutable);
    }

    #[test]
    fn a_stored_version_removed_blocks_the_plan() {
        let old = set(vec![crd("xs.x.io", &["v1alpha1", "v1"])]);
        let new = set(vec![crd("xs.x.io", &["v1", "v2"])]);
        let stored = |v: &[&str]| LiveFacts {
            stored_versions: BTreeMap::from([(
                "xs.x.io".to_owned(),
                v.iter().map(|s| s.to_string()).collect(),
            )]),
        };
        let plan = super::plan(
            Some(&old),
            &record(&old),
            &new,
            &digest,
            &stored(&["v1alpha1", "v1"]),
        );
        assert_eq!(plan.crds.len(), 1);
        let change = &plan.crds[0];
        assert_eq!(change.added_versions, vec!["v2"]);
        assert_eq!(change.removed_versions, vec!["v1alpha1"]);
        assert!(
            change
                .blocked
                .as_deref()
                .is_some_and(|b| b.contains("`v1alpha1`")),
            "{change:?}"
        );
        assert_eq!(plan.blocked().len(), 1);

        // Once nothing is stored in `v1alpha1` any more, the version may go.
        let plan = super::plan(Some(&old), &record(&old), &new, &digest, &stored(&["v1"]));
        assert!(plan.blocked().is_empty());
        assert_eq!(plan.crds[0].removed_versions, vec!["v1alpha1"]);
    }

    #[test]
    fn a_crd_leaving_the_render_is_named() {
        let old = set(vec![crd("xs.x.io", &["v1"]), config_map("a", "1")]);
        let new = set(vec![config_map("a", "1")]);
        let plan = upgrade(&old, &new);
        assert_eq!(plan.crds.len(), 1);
        assert!(plan.crds[0].removed);
        assert_eq!(
            plan.pruned,
            vec!["CustomResourceDefinition/xs.x.io".to_owned()]
        );
    }

    #[test]
    fn component_changes_name_what_came_and_went() {
        let old = BTreeMap::from([
            ("a".to_owned(), vec!["apps/a/v1".to_owned()]),
            ("b".to_owned(), vec!["apps/b".to_owned()]),
        ]);
        let new = BTreeMap::from([
            (
                "a".to_owned(),
                vec!["apps/a/v2".to_owned(), "needs b".to_owned()],
            ),
            ("c".to_owned(), vec!["apps/c".to_owned()]),
        ]);
        let changes = component_changes(&old, &new);
        let summary: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.change.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![("a", "changed"), ("b", "removed"), ("c", "added")]
        );
        assert_eq!(
            changes[0].detail,
            vec!["- apps/a/v1", "+ apps/a/v2", "+ needs b"]
        );
    }

    #[test]
    fn plans_round_trip_as_json() {
        let old = set(vec![deployment("app", "app:1", "app")]);
        let new = set(vec![deployment("app", "app:2", "x")]);
        let plan = upgrade(&old, &new);
        let text = serde_json::to_string(&plan).unwrap();
        assert_eq!(serde_json::from_str::<UpgradePlan>(&text).unwrap(), plan);
    }
}
