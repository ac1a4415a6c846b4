//! Before an apply writes anything: is this cluster one the install can succeed on? The server's
//! version inside the platform's range, every permission the apply needs (asked with
//! SelfSubjectAccessReviews, a bounded number at a time), the storage classes the render's
//! volumes name (or a default one), GPU nodes when the platform expects them, and the CRDs the
//! platform says the cluster provides. Every problem is collected, so one run lists them all.
//!
//! Also here: whether the install recorded on the cluster is the one being applied
//! ([`check_owner`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;

use super::client::{Cluster, ClusterError, Request, Scope};
use super::inventory::{NAMESPACE, Record};
use super::listing;
use crate::errors::{Diagnostic, ErrorClass};
use crate::profile::platform::Preflight;
use crate::resource::{ResId, ResourceSet};
use crate::shell;

/// How many access reviews are in flight at once: a render asks a few hundred, and the API
/// server answers each quickly, so a handful in parallel keeps it short without a burst.
const REVIEW_CONCURRENCY: usize = 8;

/// The annotation that makes a StorageClass the default.
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// One thing found wrong (or worth a warning), with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Finding {
        Finding {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// What preflight found: problems stop the apply, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// What a request answered, or `None` when the user may not ask it: a warning then says which
/// check (`cannot {check}`) is left out, and preflight goes on without it.
fn unless_forbidden<T>(
    answer: Result<T, ClusterError>,
    check: &str,
    report: &mut Report,
) -> Result<Option<T>, ClusterError> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(e @ ClusterError::Forbidden { .. }) => {
            report.warnings.push(Finding {
                message: format!("cannot {check}: {e}"),
                hint: None,
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Every object of the cluster-scoped kind `K` (`resource` as RBAC names it, `target` as
/// messages do).
async fn list_all<K>(
    cluster: &Cluster,
    resource: &str,
    target: &str,
) -> Result<Vec<K>, ClusterError>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + fmt::Debug
        + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::all(cluster.client().clone());
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list.items),
        Err(e) => Err(cluster.error(
            e,
            Request {
                verb: "list",
                resource: resource.to_owned(),
                namespace: None,
                target: target.to_owned(),
            },
        )),
    }
}

/// What the apply is about to do, as preflight needs to know it.
pub struct Expectations<'a> {
    /// The platform profile's expectations; `None` for a kustomization (`-k`).
    pub profile: Option<&'a Preflight>,
    /// The platform's name, for messages (empty for `-k`).
    pub platform: &'a str,
    pub resources: &'a ResourceSet,
    /// A dry run neither takes the lock nor writes the inventory.
    pub dry_run: bool,
}

impl Expectations<'_> {
    /// The names of the rendered objects of `kind`: what the install brings itself.
    fn rendered(&self, kind: &str) -> BTreeSet<&str> {
        self.resources
            .iter()
            .filter(|r| r.kind() == kind)
            .map(|r| r.name())
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{}", failed(.context, .problems))]
    Failed {
        context: String,
        problems: Vec<Finding>,
    },

    #[error(
        "install `{install}` on context `{context}` was applied from {recorded}, not from {applying}"
    )]
    ForeignInstall {
        install: String,
        context: String,
        recorded: Source,
        applying: Source,
    },
}

impl Diagnostic for PreflightError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        match self {
            PreflightError::Failed { .. } => {
                Some("nothing was applied; fix the problems above and run again".to_owned())
            }
            PreflightError::ForeignInstall { install, .. } => Some(format!(
                "pick another install name with `--name`, or pass `--take-over` to make install `{install}` what this apply brings (objects only the old one had are left as they are)"
            )),
        }
    }
}

fn failed(context: &str, problems: &[Finding]) -> String {
    let count = problems.len();
    let mut text = format!(
        "preflight found {count} problem{} on context `{context}`",
        if count == 1 { "" } else { "s" }
    );
    for p in problems {
        text.push_str(&format!("\n  - {}", p.message.replace('\n', "\n    ")));
        if let Some(h) = &p.hint {
            text.push_str(&format!("\n    hint: {h}"));
        }
    }
    text
}

/// What an install is applied from: a platform, or a kustomization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Platform(String),
    Kustomization,
}

impl Source {
    /// From a record's or an apply's platform (empty for `-k`).
    pub fn of(platform: &str) -> Source {
        if platform.is_empty() {
            Source::Kustomization
        } else {
            Source::Platform(platform.to_owned())
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Platform(p) => write!(f, "platform `{p}`"),
            Source::Kustomization => write!(f, "a kustomization (`-k`)"),
        }
    }
}

/// Refuses to apply `platform` (empty for `-k`) over an install recorded from something else.
/// An inventory that was never recorded (a first run cut short) belongs to nobody yet.
pub fn check_owner(
    cluster: &Cluster,
    install: &str,
    recorded: Option<&Record>,
    platform: &str,
) -> Result<(), PreflightError> {
    let Some(record) = recorded.filter(|r| !r.applied_at.is_empty()) else {
        return Ok(());
    };
    if record.platform == platform {
        return Ok(());
    }
    Err(PreflightError::ForeignInstall {
        install: install.to_owned(),
        context: cluster.context().to_owned(),
        recorded: Source::of(&record.platform),
        applying: Source::of(platform),
    })
}

/// Runs every check. `server_version` is what `/version` said (`v1.34.4`). Only a cluster that
/// cannot be asked at all is an error; everything it answers becomes a finding.
pub async fn check(
    cluster: &Cluster,
    server_version: &str,
    expect: &Expectations<'_>,
) -> Result<Report, ClusterError> {
    let mut report = Report::default();
    if let Some(profile) = expect.profile {
        check_version(server_version, profile, expect.platform, &mut report);
    }
    check_permissions(cluster, expect, &mut report).await?;
    check_storage(cluster, expect, &mut report).await?;
    if let Some(profile) = expect.profile {
        check_gpu_nodes(cluster, profile, expect, &mut report).await?;
        check_crds(cluster, profile, expect, &mut report).await?;
    }
    Ok(report)
}

/// `(major, minor)` of `v1.34.4`, `1.29`, `v1.30.2-gke.1000`.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_text = parts.next()?;
    let digits: String = minor_text
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, digits.parse().ok()?))
}

/// Whether `server` lies inside `[min, max]` (minor versions, both ends included). `Err` names
/// the bound it breaks or the version that does not parse.
pub fn version_in_range(
    server: &str,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<(), VersionProblem> {
    let Some(have) = major_minor(server) else {
        return Err(VersionProblem::Unparsed(server.to_owned()));
    };
    if let Some(min) = min
        && let Some(low) = major_minor(min)
        && have < low
    {
        return Err(VersionProblem::TooOld);
    }
    if let Some(max) = max
        && let Some(high) = major_minor(max)
        && have > high
    {
        return Err(VersionProblem::TooNew);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionProblem {
    TooOld,
    TooNew,
    Unparsed(String),
}

fn check_version(server: &str, profile: &Preflight, platform: &str, report: &mut Report) {
    let (min, max) = (
        profile.kubernetes_min.as_deref(),
        profile.kubernetes_max.as_deref(),
    );
    let range = match (min, max) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (Some(a), None) => format!("{a} or newer"),
        (None, Some(b)) => format!("up to {b}"),
        (None, None) => return,
    };
    match version_in_range(server, min, max) {
        Ok(()) => {}
        Err(VersionProblem::TooOld) => report.problems.push(Finding::new(
            format!("the server runs Kubernetes {server}, older than platform `{platform}` supports ({range})"),
            format!("upgrade the cluster to Kubernetes {range}"),
        )),
        Err(VersionProblem::TooNew) => report.problems.push(Finding::new(
            format!("the server runs Kubernetes {server}, newer than platform `{platform}` supports ({range})"),
            format!("use a cluster with Kubernetes {range}, or a kfctl release whose platform `{platform}` supports {server}"),
        )),
        Err(VersionProblem::Unparsed(v)) => report.warnings.push(Finding {
            message: format!(
                "cannot tell whether server version `{v}` is one platform `{platform}` supports ({range})"
            ),
            hint: None,
        }),
    }
}

/// One RBAC question: may the user `verb` `resource` of `group` in `namespace` (cluster-wide
/// when `None`)?
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub verb: &'static str,
}

/// The RBAC resource `kind` is served as: from discovery, or from a CRD in the render. `None`
/// when neither knows it (the apply's plan reports that kind itself).
async fn rbac_resource(
    cluster: &Cluster,
    id: &ResId,
    resources: &ResourceSet,
) -> Result<Option<(String, String, Scope)>, ClusterError> {
    match cluster.resolve(&id.gvk).await {
        Ok(r) => Ok(Some((r.resource.group, r.resource.plural, r.scope))),
        Err(ClusterError::NoApi { .. }) => Ok(resources.iter().find_map(|crd| {
            if crd.kind() != "CustomResourceDefinition"
                || crd.str_at(&["spec", "group"]) != Some(id.gvk.group.as_str())
                || crd.str_at(&["spec", "names", "kind"]) != Some(id.gvk.kind.as_str())
            {
                return None;
            }
            let plural = crd.str_at(&["spec", "names", "plural"])?.to_owned();
            let scope = match crd.str_at(&["spec", "scope"]) {
                Some("Cluster") => Scope::Cluster,
                _ => Scope::Namespaced,
            };
            Some((id.gvk.group.clone(), plural, scope))
        })),
        Err(e) => Err(e),
    }
}

/// Everything the apply asks of the API server: read, create and patch (server-side apply)
/// every object; the inventory ConfigMap; the Lease unless this is a dry run.
pub async fn needed_access(
    cluster: &Cluster,
    expect: &Expectations<'_>,
) -> Result<BTreeSet<Access>, ClusterError> {
    let mut kinds: BTreeMap<crate::resource::Gvk, Option<(String, String, Scope)>> =
        BTreeMap::new();
    let mut needed = BTreeSet::new();
    let mut add =
        |group: &str, resource: &str, namespace: Option<String>, verbs: &[&'static str]| {
            for verb in verbs {
                needed.insert(Access {
                    group: group.to_owned(),
                    resource: resource.to_owned(),
                    namespace: namespace.clone(),
                    verb,
                });
            }
        };
    for res in expect.resources.iter() {
        let id = ResId::new(res.gvk(), res.name(), res.namespace());
        let served = match kinds.get(&id.gvk) {
            Some(s) => s.clone(),
            None => {
                let s = rbac_resource(cluster, &id, expect.resources).await?;
                kinds.insert(id.gvk.clone(), s.clone());
                s
            }
        };
        if let Some((group, plural, scope)) = served {
            add(
                &group,
                &plural,
                cluster.namespace_of(&id, scope),
                &["get", "create", "patch"],
            );
        }
    }
    add(
        "",
        "configmaps",
        Some(NAMESPACE.to_owned()),
        &["get", "create", "patch"],
    );
    if !expect.dry_run {
        add(
            "coordination.k8s.io",
            "leases",
            Some(NAMESPACE.to_owned()),
            &["get", "create", "update", "delete"],
        );
    }
    Ok(needed)
}

/// Whether the user may do anything (a cluster admin, the common case): one question instead
/// of one per permission. A review that fails counts as no.
async fn may_do_anything(cluster: &Cluster) -> bool {
    let everything = Access {
        group: "*".to_owned(),
        resource: "*".to_owned(),
        namespace: None,
        verb: "*",
    };
    matches!(allowed(cluster, &everything).await, Ok(true))
}

async fn allowed(cluster: &Cluster, access: &Access) -> Result<bool, ClusterError> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(access.group.clone()),
                resource: Some(access.resource.clone()),
                namespace: access.namespace.clone(),
                verb: Some(access.verb.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client().clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| {
            cluster.error(
                e,
                Request {
                    verb: "create",
                    resource: "selfsubjectaccessreviews.authorization.k8s.io".to_owned(),
                    namespace: None,
                    target: "a SelfSubjectAccessReview".to_owned(),
                },
            )
        })?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

fn rbac_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

/// The missing permissions, one line per resource and namespace, verbs together.
pub fn describe_missing(missing: &[Access]) -> String {
    let mut by_target: BTreeMap<(String, Option<String>), Vec<&str>> = BTreeMap::new();
    for a in missing {
        by_target
            .entry((rbac_name(&a.group, &a.resource), a.namespace.clone()))
            .or_default()
            .push(a.verb);
    }
    by_target
        .iter()
        .map(|((resource, namespace), verbs)| {
            let verbs = listing(verbs);
            let scope = match namespace {
                Some(ns) => format!("in namespace `{ns}`"),
                None => "cluster-wide".to_owned(),
            };
            format!("{verbs} `{resource}` {scope}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn check_permissions(
    cluster: &Cluster,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<(), ClusterError> {
    if may_do_anything(cluster).await {
        return Ok(());
    }
    let needed = needed_access(cluster, expect).await?;
    let answers: Vec<(Access, Result<bool, ClusterError>)> = futures::stream::iter(needed)
        .map(|access| async move {
            let answer = allowed(cluster, &access).await;
            (access, answer)
        })
        .buffer_unordered(REVIEW_CONCURRENCY)
        .collect()
        .await;
    let mut missing = Vec::new();
    for (access, answer) in answers {
        // A server that refuses the review itself cannot be asked; say so once.
        match unless_forbidden(answer, "check permissions", report)? {
            Some(true) => {}
            Some(false) => missing.push(access),
            None => return Ok(()),
        }
    }
    missing.sort();
    if !missing.is_empty() {
        let context = cluster.context();
        report.problems.push(Finding::new(
            format!(
                "the user of context `{context}` lacks {} permission{} the apply needs:\n{}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                describe_missing(&missing)
            ),
            format!(
                "ask a cluster admin to grant them (a Role per namespace, a ClusterRole for cluster-wide ones); `kubectl auth can-i --list --context {}` shows what you may do",
                shell::quote(context)
            ),
        ));
    }
    Ok(())
}

/// Whether the user may delete `pruned` (what an upgrade or rollback prunes): a problem naming
/// each missing permission, or `None`. Kinds the server no longer serves are left to the prune.
pub async fn check_prune(
    cluster: &Cluster,
    pruned: &[ResId],
) -> Result<Option<Finding>, ClusterError> {
    if pruned.is_empty() || may_do_anything(cluster).await {
        return Ok(None);
    }
    let mut needed = BTreeSet::new();
    for id in pruned {
        let served = match cluster.resolve(&id.gvk).await {
            Ok(r) => r,
            Err(ClusterError::NoApi { .. }) => continue,
            Err(e) => return Err(e),
        };
        needed.insert(Access {
            group: served.resource.group,
            resource: served.resource.plural,
            namespace: cluster.namespace_of(id, served.scope),
            verb: "delete",
        });
    }
    let mut missing = Vec::new();
    for access in needed {
        match allowed(cluster, &access).await {
            Ok(true) => {}
            Ok(false) => missing.push(access),
            Err(ClusterError::Forbidden { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    if missing.is_empty() {
        return Ok(None);
    }
    let context = cluster.context();
    Ok(Some(Finding::new(
        format!(
            "the user of context `{context}` lacks {} permission{} pruning needs:\n{}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            describe_missing(&missing)
        ),
        "ask a cluster admin to grant them, or regenerate the job's RBAC with `kfctl generate upgrade-job`",
    )))
}

/// Classes the render's volumes name, and whether any volume names none (and needs a default).
fn storage_classes_used(resources: &ResourceSet) -> (BTreeSet<String>, bool) {
    let mut named = BTreeSet::new();
    let mut needs_default = false;
    let mut look = |spec: Option<&Value>| {
        if let Some(spec) = spec {
            match spec.get("storageClassName") {
                Some(Value::String(c)) if !c.is_empty() => {
                    named.insert(c.clone());
                }
                // `""` asks for no class at all: a pre-provisioned volume.
                Some(Value::String(_)) => {}
                _ => needs_default = true,
            }
        }
    };
    for res in resources.iter() {
        match res.kind() {
            "PersistentVolumeClaim" => look(res.body.get("spec")),
            "StatefulSet" => {
                let templates = res
                    .body
                    .pointer("/spec/volumeClaimTemplates")
                    .and_then(Value::as_array);
                for t in templates.into_iter().flatten() {
                    look(t.get("spec"));
                }
            }
            _ => {}
        }
    }
    (named, needs_default)
}

async fn check_storage(
    cluster: &Cluster,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<(), ClusterError> {
    let (mut wanted, needs_default) = storage_classes_used(expect.resources);
    if let Some(profile) = expect.profile {
        wanted.extend(profile.storage_classes.iter().cloned());
    }
    let rendered = expect.rendered("StorageClass");
    wanted.retain(|c| !rendered.contains(c.as_str()));
    if wanted.is_empty() && (!needs_default || !rendered.is_empty()) {
        return Ok(());
    }
    let listed =
        list_all::<StorageClass>(cluster, "storageclasses.storage.k8s.io", "storage classes").await;
    let Some(classes) = unless_forbidden(listed, "check the storage classes", report)? else {
        return Ok(());
    };
    let present: BTreeSet<String> = classes
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let has = if present.is_empty() {
        "the cluster has none".to_owned()
    } else {
        format!("the cluster has {}", listing(&present))
    };
    for class in wanted.difference(&present) {
        report.problems.push(Finding::new(
            format!("storage class `{class}` does not exist ({has})"),
            "create it, or pick an existing class with the platform's `storageClass` parameter (`--set storageClass=NAME`)",
        ));
    }
    let has_default = classes.iter().any(|c| {
        c.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DEFAULT_CLASS))
            .is_some_and(|v| v == "true")
    });
    if needs_default && rendered.is_empty() && !has_default {
        report.problems.push(Finding::new(
            format!("volumes of the render name no storage class, and the cluster has no default one ({has})"),
            format!("mark a class as the default (annotation `{DEFAULT_CLASS}: \"true\"`)"),
        ));
    }
    Ok(())
}

fn matches_labels(node: &Node, wanted: &BTreeMap<String, String>) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    wanted.iter().all(|(k, v)| match labels.get(k) {
        Some(have) => v.is_empty() || have == v,
        None => false,
    })
}

fn describe_labels(wanted: &BTreeMap<String, String>) -> String {
    wanted
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                format!("`{k}`")
            } else {
                format!("`{k}={v}`")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn check_gpu_nodes(
    cluster: &Cluster,
    profile: &Preflight,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<(), ClusterError> {
    if profile.gpu_node_labels.is_empty() {
        return Ok(());
    }
    let listed = list_all::<Node>(cluster, "nodes", "nodes").await;
    let Some(nodes) = unless_forbidden(listed, "look for GPU nodes", report)? else {
        return Ok(());
    };
    if nodes
        .iter()
        .any(|n| matches_labels(n, &profile.gpu_node_labels))
    {
        return Ok(());
    }
    let labels = describe_labels(&profile.gpu_node_labels);
    // The render targets GPU nodes when an object names one of their labels (a device plugin's
    // node selector or affinity).
    let targets_gpus = expect.resources.iter().any(|r| {
        let text = r.body.to_string();
        profile
            .gpu_node_labels
            .keys()
            .any(|k| text.contains(&format!("\"{k}\"")))
    });
    if targets_gpus {
        report.problems.push(Finding::new(
            format!("no node carries the GPU labels {labels}, which components of this render run on"),
            format!("add GPU nodes labelled {labels}, or leave the GPU components out (`kfctl.yaml` `spec.components`)"),
        ));
    } else {
        report.warnings.push(Finding::new(
            format!(
                "no node carries the GPU labels {labels} of platform `{}`: GPU workloads will not schedule",
                expect.platform
            ),
            format!("add GPU nodes labelled {labels} when you need them"),
        ));
    }
    Ok(())
}

async fn check_crds(
    cluster: &Cluster,
    profile: &Preflight,
    expect: &Expectations<'_>,
    report: &mut Report,
) -> Result<(), ClusterError> {
    let rendered = expect.rendered("CustomResourceDefinition");
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client().clone());
    let mut missing = Vec::new();
    for name in profile
        .crds
        .iter()
        .filter(|c| !rendered.contains(c.as_str()))
    {
        let request = Request {
            verb: "get",
            resource: "customresourcedefinitions.apiextensions.k8s.io".to_owned(),
            namespace: None,
            target: format!("CustomResourceDefinition/{name}"),
        };
        let answer = api
            .get_opt(name)
            .await
            .map_err(|e| cluster.error(e, request));
        match unless_forbidden(answer, "check the platform's CRDs", report)? {
            Some(Some(_)) => {}
            Some(None) => missing.push(name.as_str()),
            None => return Ok(()),
        }
    }
    if !missing.is_empty() {
        report.problems.push(Finding::new(
            format!(
                "platform `{}` expects the cluster to provide CRDs it does not have: {}",
                expect.platform,
                listing(&missing)
            ),
            "these come with the cluster's distribution (its add-ons or controllers): enable them, or pick the platform that matches this cluster",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(major_minor("v1.34.4"), Some((1, 34)));
        assert_eq!(major_minor("1.29"), Some((1, 29)));
        assert_eq!(major_minor("v1.30.2-gke.1000"), Some((1, 30)));
        assert_eq!(major_minor("v1.31+k3s1"), Some((1, 31)));
        assert_eq!(major_minor("nonsense"), None);
        let range = |v| version_in_range(v, Some("1.29"), Some("1.35"));
        assert_eq!(range("v1.29.0"), Ok(()));
        assert_eq!(range("v1.35.9"), Ok(()));
        assert_eq!(range("v1.28.15"), Err(VersionProblem::TooOld));
        assert_eq!(range("v1.36.0"), Err(VersionProblem::TooNew));
        assert_eq!(range("v2.0.0"), Err(VersionProblem::TooNew));
        assert_eq!(
            range("devel"),
            Err(VersionProblem::Unparsed("devel".into()))
        );
        assert_eq!(version_in_range("v1.10.0", None, None), Ok(()));
    }

    #[test]
    fn a_version_outside_the_range_is_a_problem_with_a_hint() {
        let profile = Preflight {
            kubernetes_min: Some("1.29".into()),
            kubernetes_max: Some("1.33".into()),
            ..Preflight::default()
        };
        let mut report = Report::default();
        check_version("v1.34.4", &profile, "gcp", &mut report);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert_eq!(
            report.problems[0].message,
            "the server runs Kubernetes v1.34.4, newer than platform `gcp` supports (1.29 to 1.33)"
        );
        let mut report = Report::default();
        check_version("v1.30.1", &profile, "gcp", &mut report);
        assert_eq!(report, Report::default());
    }

    #[test]
    fn missing_permissions_are_grouped_by_resource_and_namespace() {
        let access = |group: &str, resource: &str, ns: Option<&str>, verb| Access {
            group: group.into(),
            resource: resource.into(),
            namespace: ns.map(str::to_owned),
            verb,
        };
        let missing = vec![
            access("apps", "deployments", Some("kubeflow"), "create"),
            access("apps", "deployments", Some("kubeflow"), "patch"),
            access("", "namespaces", None, "create"),
        ];
        assert_eq!(
            describe_missing(&missing),
            "`create`, `patch` `deployments.apps` in namespace `kubeflow`\n`create` `namespaces` cluster-wide"
        );
    }

    #[test]
    fn volumes_name_their_classes_or_need_a_default() {
        let origin = crate::resource::Origin::file(std::path::Path::new("x.yaml"), 1);
        let set: ResourceSet = [
            serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "a", "namespace": "x"}, "spec": {"storageClassName": "fast"}}),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "b", "namespace": "x"},
                "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"]}}]}}),
        ]
        .into_iter()
        .map(|body| crate::resource::Resource::new(body, origin.clone()))
        .collect();
        let (named, needs_default) = storage_classes_used(&set);
        assert_eq!(named, BTreeSet::from(["fast".to_owned()]));
        assert!(needs_default);
    }

    #[test]
    fn the_failure_lists_every_problem_with_its_hint() {
        let err = PreflightError::Failed {
            context: "dev".into(),
            problems: vec![
                Finding::new("storage class `x` does not exist", "create it"),
                Finding::new("lacks 2 permissions:\na\nb", "ask"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "preflight found 2 problems on context `dev`\n  - storage class `x` does not exist\n    hint: create it\n  - lacks 2 permissions:\n    a\n    b\n    hint: ask"
        );
    }

    #[test]
    fn sources_name_the_platform_or_the_kustomization() {
        assert_eq!(Source::of("gcp").to_string(), "platform `gcp`");
        assert_eq!(Source::of("").to_string(), "a kustomization (`-k`)");
    }
}
