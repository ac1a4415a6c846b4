//! Removing what an install owns: the objects an apply no longer brings (prune) and a whole
//! install (`kfctl delete`).
//!
//! An install's members are found as kubectl's ApplySet prune finds them: every object labelled
//! `applyset.kubernetes.io/part-of=<id>` among the parent's contains-group-kinds (so objects an
//! interrupted apply wrote before recording them are found too; the parent is widened before
//! any write), plus
//! every object of kfctl's record whose live label still names this install. An object whose
//! live label names another install, or none, is never removed.
//!
//! Objects go in the reverse of the apply's waves ([`plan::waves`], computed on the live
//! objects): workloads and custom resources first, namespaces and CRDs last. Each deletion is a
//! foreground deletion, and a wave is waited on until every object of it is gone before the next
//! starts: foreground keeps an object until the garbage collector has removed its dependents
//! (a Deployment's ReplicaSets and pods), so when RBAC, webhooks and namespaces go, nothing that
//! ran under them is still running, and "gone" means gone. An object still there when the
//! deadline passes is named with the finalizers holding it.
//!
//! Kept unless purging: PersistentVolumeClaims (they hold data), CRDs (deleting one deletes
//! every custom resource of its kind, users' included) and namespaces that hold user work which
//! is not the install's (pods, volumes, workloads, custom resources: a user's notebooks). A kept object is released: its
//! part-of label is removed, so it no longer belongs to the install and a later prune or delete
//! does not find it again.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::{Cluster, ClusterError, Request, Resolved, Scope};
use super::inventory::{self, Inventory, LABEL_PART_OF, Parent};
use super::listing;
use super::wait::{self, Poll};
use crate::errors::{Diagnostic, ErrorClass};
use crate::plan::{self, Wave};
use crate::resource::{Gvk, Origin, ResId, Resource, ResourceSet};

/// How many requests are in flight at once.
const CONCURRENCY: usize = 8;
/// How often objects being deleted are read again.
const POLL: Duration = Duration::from_secs(1);

/// Identifies an object across versions of its kind: `(group, kind, namespace, name)`, the
/// namespace empty for cluster-scoped objects.
pub type Key = (String, String, String, String);

/// The key of an id whose namespace is the one the server uses.
pub fn key(id: &ResId) -> Key {
    (
        id.gvk.group.clone(),
        id.gvk.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

/// Why an object of the install is kept rather than removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    PersistentVolumeClaim,
    CustomResourceDefinition,
    /// A CRD the catalog protects: its deletion deletes user data.
    Protected {
        reason: String,
    },
    /// A namespace holding kept members, or user work that is not the install's; a few of them,
    /// as examples.
    HoldsOtherObjects {
        count: usize,
        examples: Vec<String>,
    },
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::PersistentVolumeClaim => f.write_str("a PersistentVolumeClaim holds data"),
            KeepReason::CustomResourceDefinition => {
                f.write_str("deleting a CRD deletes every custom resource of its kind")
            }
            KeepReason::Protected { reason } => write!(f, "{reason}; kept even with `--purge`"),
            KeepReason::HoldsOtherObjects { count, examples } => {
                write!(
                    f,
                    "it holds {count} object{} that {} not deleted with the install: {}",
                    if *count == 1 { "" } else { "s" },
                    if *count == 1 { "is" } else { "are" },
                    examples.join(", ")
                )?;
                if *count > examples.len() {
                    f.write_str(", ...")?;
                }
                Ok(())
            }
        }
    }
}

/// One live object of the install.
#[derive(Debug, Clone)]
pub struct Member {
    /// As the server serves it: the preferred (or recorded) version, the namespace it is in.
    pub id: ResId,
    pub wave: Wave,
    pub body: Value,
    /// `Some` when it is kept rather than removed.
    pub keep: Option<KeepReason>,
}

/// An object of the record that is not removed because it is no longer the install's.
#[derive(Debug, Clone)]
pub struct Disowned {
    pub id: ResId,
    /// The part-of label it carries now, if any.
    pub label: Option<String>,
}

/// What the cluster holds of an install.
#[derive(Debug, Default)]
pub struct Members {
    pub members: Vec<Member>,
    /// Recorded, but labelled for another install or not labelled at all.
    pub disowned: Vec<Disowned>,
}

/// The kinds and namespaces to look in for members: the parent's, and what the caller adds
/// (an apply's own kinds and namespaces, which the parent lists once widened).
pub struct Scan<'a> {
    pub parent: Option<&'a Parent>,
    pub group_kinds: &'a BTreeSet<String>,
    pub namespaces: &'a BTreeSet<String>,
    /// Members already listed (by the same label, across the cluster), by kind: those kinds
    /// are not listed again.
    pub listed: Option<&'a BTreeMap<Gvk, Vec<(ResId, Value)>>>,
}

fn split_group_kind(group_kind: &str) -> (&str, &str) {
    match group_kind.split_once('.') {
        Some((kind, group)) => (group, kind),
        None => ("", group_kind),
    }
}

fn object_id(body: &Value, fallback: &Gvk) -> ResId {
    let text = |p: &str| body.pointer(p).and_then(Value::as_str).unwrap_or("");
    let gvk = match (text("/apiVersion"), text("/kind")) {
        ("", _) | (_, "") => fallback.clone(),
        (api_version, kind) => Gvk::from_api_version(api_version, kind),
    };
    ResId::new(gvk, text("/metadata/name"), text("/metadata/namespace"))
}

fn part_of(body: &Value) -> Option<&str> {
    body.pointer("/metadata/labels")
        .and_then(|l| l.get(LABEL_PART_OF))
        .and_then(Value::as_str)
}

fn to_json(
    cluster: &Cluster,
    obj: DynamicObject,
    resolved: &Resolved,
    request: &Request,
) -> Result<Value, ClusterError> {
    let mut body = serde_json::to_value(obj).map_err(|e| ClusterError::Request {
        context: cluster.context().to_owned(),
        request: request.clone(),
        source: kube::Error::SerdeError(e),
    })?;
    // Items of a list come without their type.
    if let Some(map) = body.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| json!(resolved.resource.api_version));
        map.entry("kind")
            .or_insert_with(|| json!(resolved.resource.kind));
    }
    Ok(body)
}

fn resource_name(resolved: &Resolved) -> String {
    if resolved.resource.group.is_empty() {
        resolved.resource.plural.clone()
    } else {
        format!("{}.{}", resolved.resource.plural, resolved.resource.group)
    }
}

/// Lists objects of one kind, in one namespace or cluster-wide, optionally by label.
async fn list(
    cluster: &Cluster,
    resolved: &Resolved,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Value>, ClusterError> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(cluster.client().clone(), ns, &resolved.resource),
        None => Api::all_with(cluster.client().clone(), &resolved.resource),
    };
    let request = Request {
        verb: "list",
        resource: resource_name(resolved),
        namespace: namespace.map(str::to_owned),
        target: format!("{} objects", resolved.resource.kind),
    };
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let listed = api
        .list(&params)
        .await
        .map_err(|e| cluster.error(e, request.clone()))?;
    listed
        .items
        .into_iter()
        .map(|obj| to_json(cluster, obj, resolved, &request))
        .collect()
}

/// Every live object of the install: labelled members of the parent's kinds and namespaces, and
/// recorded objects whose label still names the install. Waves are assigned on the live objects.
pub async fn find_members(
    cluster: &Cluster,
    inventory: &Inventory,
    scan: &Scan<'_>,
) -> Result<Members, ClusterError> {
    let empty = Parent::default();
    let parent = scan.parent.unwrap_or(&empty);
    let group_kinds: BTreeSet<&String> =
        parent.group_kinds.iter().chain(scan.group_kinds).collect();
    let mut namespaces: BTreeSet<&str> = parent
        .namespaces
        .iter()
        .chain(scan.namespaces)
        .map(String::as_str)
        .collect();
    namespaces.insert(inventory::NAMESPACE);
    for id in parent.record.objects.keys() {
        if !id.namespace.is_empty() {
            namespaces.insert(&id.namespace);
        }
    }

    let served = cluster.listable_kinds().await?;
    let selector = format!("{LABEL_PART_OF}={}", inventory.id);
    let mut kinds = Vec::new();
    let mut found: BTreeMap<Key, Value> = BTreeMap::new();
    for group_kind in group_kinds {
        let (group, kind) = split_group_kind(group_kind);
        if let Some((gvk, members)) = scan
            .listed
            .into_iter()
            .flatten()
            .find(|(g, _)| g.group == group && g.kind == kind)
        {
            for (_, body) in members {
                found.insert(key(&object_id(body, gvk)), body.clone());
            }
            continue;
        }
        // A kind no longer served (its CRD is gone) has no objects left to find.
        if let Some(served) = served
            .iter()
            .find(|(g, _)| g.group == group && g.kind == kind)
        {
            kinds.push(served);
        }
    }
    // One list per kind across the cluster (the label names this install alone), rather than
    // kubectl's one per kind and namespace: an install of Kubeflow has about a hundred kinds in
    // a dozen namespaces, and a no-op apply should stay cheap. A user who may not list
    // cluster-wide gets the per-namespace lists.
    let listed: Vec<Result<Vec<(Gvk, Value)>, ClusterError>> = futures::stream::iter(kinds)
        .map(|(gvk, resolved)| {
            let selector = selector.as_str();
            let namespaces = &namespaces;
            async move {
                let items = match list(cluster, resolved, None, Some(selector)).await {
                    Err(ClusterError::Forbidden { .. }) if resolved.scope == Scope::Namespaced => {
                        let mut items = Vec::new();
                        for ns in namespaces {
                            items.extend(list(cluster, resolved, Some(ns), Some(selector)).await?);
                        }
                        items
                    }
                    other => other?,
                };
                Ok(items.into_iter().map(|b| (gvk.clone(), b)).collect())
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for items in listed {
        for (gvk, body) in items? {
            let id = object_id(&body, &gvk);
            found.insert(key(&id), body);
        }
    }

    let disowned = find_recorded(cluster, inventory, parent, &mut found).await?;

    let mut set = ResourceSet::new();
    for body in found.into_values() {
        // Never duplicates: the keys were unique, and a key names one object.
        let _ = set.push(Resource::new(body, Origin::file(Path::new("<cluster>"), 0)));
    }
    let waves = plan::waves(&set);
    let members = set
        .into_vec()
        .into_iter()
        .zip(waves)
        .map(|(res, wave)| Member {
            id: res.id(),
            wave,
            body: res.body,
            keep: None,
        })
        .collect();
    Ok(Members { members, disowned })
}

/// Reads the recorded objects the listing did not find (gone, moved out of the scanned kinds, or
/// relabelled): those still labelled for the install join `found`; those labelled otherwise are
/// returned as disowned.
async fn find_recorded(
    cluster: &Cluster,
    inventory: &Inventory,
    parent: &Parent,
    found: &mut BTreeMap<Key, Value>,
) -> Result<Vec<Disowned>, ClusterError> {
    let missing: Vec<&ResId> = parent
        .record
        .objects
        .keys()
        .filter(|id| !found.contains_key(&key(id)))
        .collect();
    let read: Vec<(ResId, Result<Option<Value>, ClusterError>)> = futures::stream::iter(missing)
        .map(|id| async move { (id.clone(), cluster.get(id).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut disowned = Vec::new();
    for (id, live) in read {
        match live {
            Ok(Some(body)) => match part_of(&body) {
                Some(label) if label == inventory.id => {
                    found.insert(key(&id), body);
                }
                label => disowned.push(Disowned {
                    id,
                    label: label.map(str::to_owned),
                }),
            },
            Ok(None) | Err(ClusterError::NoApi { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(disowned)
}

/// Kinds whose objects are someone's work: pods, volumes, workload controllers, and custom
/// resources (a user's Notebook, Experiment, PipelineRun). Other kinds are left out on purpose:
/// controllers of an install leave ConfigMaps, Secrets and Services in its namespaces without a
/// label or an owner (Istio's `istio-ca-root-cert`, cert-manager's certificate Secrets), and
/// those should not keep a namespace.
fn is_user_work(gvk: &Gvk) -> bool {
    const BUILT_IN: &[&str] = &["apps", "batch", "autoscaling", "policy", "extensions"];
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "Pod" | "PersistentVolumeClaim") => true,
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => true,
        ("batch", "Job" | "CronJob") => true,
        ("", _) => false,
        (group, _) => !group.ends_with(".k8s.io") && !BUILT_IN.contains(&group),
    }
}

/// User work ([`is_user_work`]) in `namespace` that is not the install's: not labelled for it,
/// and not owned by another object (a pod of a ReplicaSet: its owner is what counts).
async fn others_in(
    cluster: &Cluster,
    inventory: &Inventory,
    kinds: &[(Gvk, Resolved)],
    namespace: &str,
) -> Result<Vec<String>, ClusterError> {
    let namespaced = kinds
        .iter()
        .filter(|(g, r)| r.scope == Scope::Namespaced && is_user_work(g));
    let listed: Vec<(String, Result<Vec<Value>, ClusterError>)> = futures::stream::iter(namespaced)
        .map(|(gvk, resolved)| async move {
            (
                gvk.kind.clone(),
                list(cluster, resolved, Some(namespace), None).await,
            )
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut others = Vec::new();
    for (kind, items) in listed {
        let items = match items {
            Ok(items) => items,
            // An aggregated API whose server is down cannot be listed; what it would hold is
            // not knowable, and namespace deletion waits for it anyway.
            Err(ClusterError::Api { code: 503, .. } | ClusterError::NoApi { .. }) => continue,
            Err(e) => return Err(e),
        };
        for body in items {
            let id = object_id(&body, &Gvk::new("", "v1", &kind));
            let owned = body
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| !o.is_empty());
            if part_of(&body) == Some(inventory.id.as_str()) || owned {
                continue;
            }
            others.push(format!("{}/{}", id.gvk.kind, id.name));
        }
    }
    others.sort();
    Ok(others)
}

/// Marks the members that are kept: the `protected` CRDs (name → why) always; unless `purge`, PVCs, CRDs,
/// and namespaces holding kept members or user work that is not the install's.
pub async fn mark_kept(
    cluster: &Cluster,
    inventory: &Inventory,
    members: &mut [Member],
    purge: bool,
    protected: &BTreeMap<String, String>,
) -> Result<(), ClusterError> {
    for m in members.iter_mut() {
        let crd =
            m.id.gvk.group == "apiextensions.k8s.io" && m.id.gvk.kind == "CustomResourceDefinition";
        if let Some(reason) = protected.get(&m.id.name).filter(|_| crd) {
            m.keep = Some(KeepReason::Protected {
                reason: reason.clone(),
            });
        }
    }
    if purge {
        return Ok(());
    }
    for m in members.iter_mut().filter(|m| m.keep.is_none()) {
        m.keep = match (m.id.gvk.group.as_str(), m.id.gvk.kind.as_str()) {
            ("", "PersistentVolumeClaim") => Some(KeepReason::PersistentVolumeClaim),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                Some(KeepReason::CustomResourceDefinition)
            }
            _ => None,
        };
    }
    let namespaces: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.id.gvk.group.is_empty() && m.id.gvk.kind == "Namespace")
        .map(|(i, _)| i)
        .collect();
    if namespaces.is_empty() {
        return Ok(());
    }
    let kinds = cluster.listable_kinds().await?;
    for i in namespaces {
        let name = members[i].id.name.clone();
        let mut holding: Vec<String> = members
            .iter()
            .filter(|m| m.keep.is_some() && m.id.namespace == name)
            .map(|m| format!("{}/{}", m.id.gvk.kind, m.id.name))
            .collect();
        holding.extend(others_in(cluster, inventory, &kinds, &name).await?);
        if !holding.is_empty() {
            members[i].keep = Some(KeepReason::HoldsOtherObjects {
                count: holding.len(),
                examples: holding.into_iter().take(3).collect(),
            });
        }
    }
    Ok(())
}

/// How a removal runs.
#[derive(Debug, Clone)]
pub struct RemoveOptions {
    /// Deletions are server-side dry runs; nothing is waited on.
    pub dry_run: bool,
    pub deadline: Instant,
    /// The whole budget, for messages.
    pub timeout: Duration,
}

/// One object deleted (or, under `--dry-run`, that would be).
#[derive(Debug, Clone)]
pub struct Removed {
    pub id: ResId,
    pub wave: Wave,
    /// From the delete request until the object was gone.
    pub duration: Duration,
}

/// An object still there when the deadline passed.
#[derive(Debug, Clone)]
pub struct Stuck {
    pub id: ResId,
    pub wave: Wave,
    /// `metadata.finalizers` (and a namespace's `spec.finalizers`).
    pub finalizers: Vec<String>,
    /// What the server says it waits for (a terminating namespace's conditions).
    pub detail: Option<String>,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        match self.finalizers.as_slice() {
            [] => f.write_str(": still there, held by no finalizer")?,
            [one] => write!(f, ": held by finalizer `{one}`")?,
            many => write!(f, ": held by finalizers {}", listing(many))?,
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// An object the server would not delete.
#[derive(Debug)]
pub struct NotRemoved {
    pub id: ResId,
    pub wave: Wave,
    pub error: ClusterError,
}

/// Everything a removal did.
#[derive(Debug, Default)]
pub struct RemoveReport {
    pub removed: Vec<Removed>,
    pub kept: Vec<Member>,
    pub failed: Vec<NotRemoved>,
    pub stuck: Vec<Stuck>,
    /// Objects of later waves not started because a wave did not finish.
    pub not_started: Vec<ResId>,
    pub elapsed: Duration,
}

impl RemoveReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.stuck.is_empty() && self.not_started.is_empty()
    }

    /// Objects still the install's: they stay in its record.
    pub fn remaining(&self) -> Vec<ResId> {
        self.failed
            .iter()
            .map(|f| f.id.clone())
            .chain(self.stuck.iter().map(|s| s.id.clone()))
            .chain(self.not_started.iter().cloned())
            .collect()
    }

    /// `m` is gone, its delete sent at `sent`: told to `on_event` and kept.
    fn gone(&mut self, m: &Member, sent: Instant, on_event: &(dyn Fn(Event<'_>) + Sync)) {
        let removed = Removed {
            id: m.id.clone(),
            wave: m.wave,
            duration: sent.elapsed(),
        };
        on_event(Event::Removed(&removed));
        self.removed.push(removed);
    }
}

/// A removal that did not finish: each object not deleted, with why.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("{}", describe(.failed, .stuck, *.not_started, *.timeout))]
    Incomplete {
        failed: Vec<(ResId, String)>,
        stuck: Vec<Stuck>,
        not_started: usize,
        timeout: Duration,
    },
}

fn describe(
    failed: &[(ResId, String)],
    stuck: &[Stuck],
    not_started: usize,
    timeout: Duration,
) -> String {
    let mut parts = Vec::new();
    if !failed.is_empty() {
        let mut text = match failed.len() {
            1 => "1 object was not deleted".to_owned(),
            n => format!("{n} objects were not deleted"),
        };
        for (id, error) in failed {
            text.push_str(&format!("\n    {id}: {error}"));
        }
        parts.push(text);
    }
    if !stuck.is_empty() {
        let mut text = format!(
            "{} still there when the {timeout:?} timeout passed",
            match stuck.len() {
                1 => "1 object was".to_owned(),
                n => format!("{n} objects were"),
            }
        );
        for s in stuck {
            text.push_str(&format!("\n    {s}"));
        }
        parts.push(text);
    }
    let mut text = parts.join("\n  ");
    if not_started > 0 {
        text.push_str(&format!(
            "\n  ({not_started} objects due to go after them were not deleted, and stay in the inventory)"
        ));
    }
    text
}

impl RemoveError {
    /// `None` when the report is a success.
    pub fn from_report(report: &RemoveReport, timeout: Duration) -> Option<RemoveError> {
        if report.succeeded() {
            return None;
        }
        Some(RemoveError::Incomplete {
            failed: report
                .failed
                .iter()
                .map(|f| (f.id.clone(), f.error.to_string()))
                .collect(),
            stuck: report.stuck.clone(),
            not_started: report.not_started.len(),
            timeout,
        })
    }
}

impl Diagnostic for RemoveError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        let RemoveError::Incomplete { stuck, .. } = self;
        Some(if stuck.iter().any(|s| !s.finalizers.is_empty()) {
            "a finalizer is removed by the controller that set it: check that it is running; remove one by hand (`kubectl patch KIND NAME --type merge -p '{\"metadata\":{\"finalizers\":null}}'`) only once you know what it guards, then run the command again".to_owned()
        } else {
            "run the command again to retry (with a longer `--timeout` if objects were still going)"
                .to_owned()
        })
    }
}

/// Progress, for the command to print.
#[derive(Debug)]
pub enum Event<'a> {
    WaveStarted { wave: Wave, objects: usize },
    Removed(&'a Removed),
    Failed(&'a NotRemoved),
    Waiting { wave: Wave, pending: usize },
}

async fn delete_one(cluster: &Cluster, member: &Member, dry_run: bool) -> Result<(), ClusterError> {
    let (api, request) = match cluster.api_for(&member.id, "delete").await {
        Ok(found) => found,
        // The kind is not served any more: its CRD went, and its objects with it.
        Err(ClusterError::NoApi { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut params = DeleteParams::foreground();
    params.dry_run = dry_run;
    match api.delete(&member.id.name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(cluster.error(e, request)),
    }
}

fn stuck_of(id: &ResId, wave: Wave, live: &Value) -> Stuck {
    let strings = |p: &str| -> Vec<String> {
        live.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut finalizers = strings("/metadata/finalizers");
    finalizers.extend(strings("/spec/finalizers"));
    let detail = live
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|conditions| {
            conditions
                .iter()
                .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
                .filter_map(|c| c.get("message").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|d| !d.is_empty());
    Stuck {
        id: id.clone(),
        wave,
        finalizers,
        detail,
    }
}

/// A member being deleted, and when its deletion was sent.
type Pending = (Member, Instant);

/// Waits until every object of `pending` is gone, or the deadline passes; returns those still
/// there.
async fn wait_gone(
    cluster: &Cluster,
    mut pending: Vec<Pending>,
    options: &RemoveOptions,
    report: &mut RemoveReport,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<Stuck> {
    let mut last_live: BTreeMap<Key, Value> = BTreeMap::new();
    let waited = wait::until(options.deadline, POLL, async |attempt| {
        if attempt == 2 {
            on_event(Event::Waiting {
                wave: pending[0].0.wave,
                pending: pending.len(),
            });
        }
        let checked: Vec<(Pending, Result<Option<Value>, ClusterError>)> =
            futures::stream::iter(std::mem::take(&mut pending))
                .map(|(m, started)| async move {
                    let live = match cluster.get(&m.id).await {
                        Err(ClusterError::NoApi { .. }) => Ok(None),
                        other => other,
                    };
                    ((m, started), live)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        for ((m, started), live) in checked {
            let uid = |v: &Value| v.pointer("/metadata/uid").cloned();
            match live {
                // Gone, or gone and made again by someone else.
                Ok(None) => {}
                Ok(Some(obj)) if uid(&obj) != uid(&m.body) => {}
                Ok(Some(obj)) => {
                    last_live.insert(key(&m.id), obj);
                    pending.push((m, started));
                    continue;
                }
                Err(_) => {
                    pending.push((m, started));
                    continue;
                }
            }
            report.gone(&m, started, on_event);
        }
        Poll::when(pending.is_empty())
    })
    .await;
    match waited {
        Ok(()) => Vec::new(),
        Err(()) => pending
            .iter()
            .map(|(m, _)| {
                let live = last_live.get(&key(&m.id)).unwrap_or(&m.body);
                stuck_of(&m.id, m.wave, live)
            })
            .collect(),
    }
}

/// Deletes the members not kept, wave by wave in reverse apply order, each wave gone before the
/// next. Kept members are returned in the report, untouched.
pub async fn remove(
    cluster: &Cluster,
    members: Vec<Member>,
    options: &RemoveOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> RemoveReport {
    let started = Instant::now();
    let mut report = RemoveReport::default();
    let (kept, mut going): (Vec<Member>, Vec<Member>) =
        members.into_iter().partition(|m| m.keep.is_some());
    report.kept = kept;
    going.sort_by(|a, b| b.wave.cmp(&a.wave).then_with(|| a.id.cmp(&b.id)));
    let waves: Vec<Wave> = {
        let mut w: Vec<Wave> = going.iter().map(|m| m.wave).collect();
        w.dedup();
        w
    };
    for (index, wave) in waves.iter().enumerate() {
        let batch: Vec<Member> = going.iter().filter(|m| m.wave == *wave).cloned().collect();
        on_event(Event::WaveStarted {
            wave: *wave,
            objects: batch.len(),
        });
        let results: Vec<(Member, Instant, Result<(), ClusterError>)> =
            futures::stream::iter(batch)
                .map(|m| async move {
                    let at = Instant::now();
                    let result = delete_one(cluster, &m, options.dry_run).await;
                    (m, at, result)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let mut sent = Vec::new();
        for (m, at, result) in results {
            match result {
                Ok(()) if options.dry_run => report.gone(&m, at, on_event),
                Ok(()) => sent.push((m, at)),
                Err(error) => {
                    let failed = NotRemoved {
                        id: m.id.clone(),
                        wave: m.wave,
                        error,
                    };
                    on_event(Event::Failed(&failed));
                    report.failed.push(failed);
                }
            }
        }
        if !options.dry_run {
            let stuck = wait_gone(cluster, sent, options, &mut report, on_event).await;
            report.stuck.extend(stuck);
        }
        if !report.failed.is_empty() || !report.stuck.is_empty() {
            report.not_started = going
                .iter()
                .filter(|m| waves[index + 1..].contains(&m.wave))
                .map(|m| m.id.clone())
                .collect();
            break;
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Releases kept members from the install: removes their part-of label, so they are no longer
/// found as its members. Returns those that could not be released, with why.
pub async fn release(
    cluster: &Cluster,
    kept: &[Member],
    dry_run: bool,
) -> Vec<(ResId, ClusterError)> {
    let patch = json!({"metadata": {"labels": {LABEL_PART_OF: null}}});
    let results: Vec<(ResId, Result<(), ClusterError>)> = futures::stream::iter(kept)
        .map(|m| {
            let patch = &patch;
            async move {
                let result = async {
                    let (api, request) = cluster.api_for(&m.id, "patch").await?;
                    let params = PatchParams {
                        dry_run,
                        field_manager: Some(super::apply::FIELD_MANAGER.to_owned()),
                        ..PatchParams::default()
                    };
                    match api.patch(&m.id.name, &params, &Patch::Merge(patch)).await {
                        Ok(_) => Ok(()),
                        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                        Err(e) => Err(cluster.error(e, request)),
                    }
                }
                .await;
                (m.id.clone(), result)
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    results
        .into_iter()
        .filter_map(|(id, r)| r.err().map(|e| (id, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_kinds_split_at_the_first_dot() {
        assert_eq!(split_group_kind("Deployment.apps"), ("apps", "Deployment"));
        assert_eq!(split_group_kind("Namespace"), ("", "Namespace"));
        assert_eq!(
            split_group_kind("Widget.a.kfctl.test"),
            ("a.kfctl.test", "Widget")
        );
    }

    #[test]
    fn stuck_objects_name_their_finalizers() {
        let id = ResId::new(Gvk::new("", "v1", "ConfigMap"), "held", "ns");
        let live = json!({"metadata": {"finalizers": ["example.com/hold"]}});
        assert_eq!(
            stuck_of(&id, Wave::Foundations, &live).to_string(),
            "ConfigMap/ns/held: held by finalizer `example.com/hold`"
        );
        let ns = ResId::new(Gvk::new("", "v1", "Namespace"), "team", "");
        let live = json!({
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"conditions": [
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "message": "ok"},
                {"type": "NamespaceFinalizersRemaining", "status": "True",
                 "message": "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"}
            ]}
        });
        assert_eq!(
            stuck_of(&ns, Wave::Definitions, &live).to_string(),
            "Namespace/team: held by finalizer `kubernetes` (Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances)"
        );
    }

    #[test]
    fn only_user_work_keeps_a_namespace() {
        for (group, kind) in [
            ("", "Pod"),
            ("", "PersistentVolumeClaim"),
            ("apps", "StatefulSet"),
            ("batch", "Job"),
            ("kubeflow.org", "Notebook"),
        ] {
            assert!(is_user_work(&Gvk::new(group, "v1", kind)), "{kind}");
        }
        for (group, kind) in [
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "Event"),
            ("coordination.k8s.io", "Lease"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("apps", "ControllerRevision"),
            ("metrics.k8s.io", "PodMetrics"),
        ] {
            assert!(!is_user_work(&Gvk::new(group, "v1", kind)), "{kind}");
        }
    }

    #[test]
    fn keep_reasons_read_as_sentences() {
        let reason = KeepReason::HoldsOtherObjects {
            count: 4,
            examples: vec![
                "Pod/a".into(),
                "PersistentVolumeClaim/b".into(),
                "Pod/c".into(),
            ],
        };
        assert_eq!(
            reason.to_string(),
            "it holds 4 objects that are not deleted with the install: Pod/a, PersistentVolumeClaim/b, Pod/c, ..."
        );
    }
}
