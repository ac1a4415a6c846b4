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
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use kube::api::{Patch, PatchParams};
use serde_json::Value;

use super::apply::{FIELD_MANAGER, desired};
use super::client::{Cluster, ClusterError};
use super::inventory::{Inventory, Record};
use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::{Gvk, ResId, Resource, ResourceSet};
use members::{list_members, one_version_each};

mod compare;
mod fields;
#[cfg(test)]
mod fixtures;
mod ignore;
mod members;
mod report;

pub use compare::{FieldDrift, FieldState, compare, for_display, redact_pair, unified};
pub use fields::{FieldPath, Step, owned_digest, owned_paths, value_at};
pub use ignore::{ANNOTATION_IGNORE, IgnoreRule, Ignored, ignored_for, keep_ignored};
pub use members::{owned_digests, release_stray};
pub use report::{Action, Drift, DriftReport, ObjectReport};

/// How many requests are in flight at once.
const CONCURRENCY: usize = 8;

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

    let mut seen: BTreeSet<ResId> = BTreeSet::new();
    let (mut objects, dry_runs) = match desired_set {
        Some(d) => {
            let checked = Checked {
                cluster,
                record: &record,
                live: &live,
                requests: &requests,
            };
            checked.with_render(d, rules, &mut seen).await?
        }
        None => (without_render(&record, &live, &mut seen), 0),
    };
    finish(&mut objects, &live, &mut seen, desired_set.is_some());
    Ok(DriftReport {
        parent,
        objects,
        kinds: gvks.len(),
        live,
        requests: requests.load(Ordering::Relaxed),
        dry_runs,
    })
}

/// An object of the render whose live state needs a dry run to judge: its report's index, the
/// resource, the live object, and whether its kfctl-owned projection changed since the apply.
struct ToCheck<'r> {
    index: usize,
    res: &'r Resource,
    live: Option<Value>,
    owned_changed: bool,
}

/// What a check against the render reads from.
struct Checked<'a> {
    cluster: &'a Cluster,
    record: &'a Record,
    live: &'a BTreeMap<ResId, Value>,
    requests: &'a AtomicUsize,
}

impl Checked<'_> {
    /// Reports every rendered object and every recorded one the render no longer has, with the
    /// number of dry runs sent.
    async fn with_render(
        &self,
        d: &Desired<'_>,
        rules: &[IgnoreRule],
        seen: &mut BTreeSet<ResId>,
    ) -> Result<(Vec<ObjectReport>, usize), DriftError> {
        let mut objects = Vec::new();
        let mut to_check = Vec::new();
        for res in d.resources.iter() {
            let report = self
                .rendered(res, d, seen, &mut to_check, objects.len())
                .await?;
            objects.push(report);
        }
        let results = self.dry_run(&to_check, &d.labels).await?;
        for check in &to_check {
            let (Some(would), Some(live_obj)) = (results.get(&check.index), &check.live) else {
                continue;
            };
            judge(
                &mut objects[check.index],
                would,
                live_obj,
                check.owned_changed,
                rules,
            );
        }
        // Recorded objects the render no longer has.
        for id in self.record.objects.keys() {
            if !seen.insert(id.clone()) {
                continue;
            }
            objects.push(ObjectReport {
                id: id.clone(),
                action: Some(Action::Prune),
                drift: (!self.live.contains_key(id)).then_some(Drift::Missing),
                fields: Vec::new(),
                diff: self.live.get(id).map(|obj| unified(Some(obj), None, id)),
                fields_unknown: false,
                rendered: None,
            });
        }
        Ok((objects, results.len()))
    }

    /// The report of one rendered object, as far as the record tells; an object it cannot
    /// judge goes to `to_check` for a dry run.
    async fn rendered<'r>(
        &self,
        res: &'r Resource,
        d: &Desired<'_>,
        seen: &mut BTreeSet<ResId>,
        to_check: &mut Vec<ToCheck<'r>>,
        index: usize,
    ) -> Result<ObjectReport, DriftError> {
        let record = self.record;
        let key = recorded_id(&res.id(), &record.objects).cloned();
        let live_id = key.clone().unwrap_or_else(|| res.id());
        let live_obj = self.live.get(&live_id).cloned();
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
                self.requests.fetch_add(1, Ordering::Relaxed);
                let existing =
                    self.cluster
                        .get(&live_id)
                        .await
                        .map_err(|source| DriftError::Read {
                            id: live_id.clone(),
                            source,
                        })?;
                if existing.is_some() {
                    to_check.push(ToCheck {
                        index,
                        res,
                        live: existing,
                        owned_changed: false,
                    });
                } else {
                    report.action = Some(Action::Create);
                    report.diff = Some(unified(None, Some(&desired(res, &d.labels)), &live_id));
                }
            }
            Some(obj) => {
                let render_same =
                    recorded_render == Some(&crate::resource::digest::object_digest(res));
                let owned_same = recorded_owned == Some(&owned_digest(obj));
                if render_same && owned_same {
                    report.action = Some(Action::Unchanged);
                } else {
                    to_check.push(ToCheck {
                        index,
                        res,
                        live: live_obj.clone(),
                        owned_changed: !owned_same,
                    });
                }
            }
        }
        Ok(report)
    }

    /// Sends each object of `to_check` as a server-side dry run: what it would be, by report
    /// index.
    async fn dry_run(
        &self,
        to_check: &[ToCheck<'_>],
        labels: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<usize, Value>, DriftError> {
        let cluster = self.cluster;
        let dry_runs = futures::stream::iter(to_check.iter())
            .map(|check| {
                let requests = self.requests;
                async move {
                    let id = objects_id(check.res, check.live.as_ref());
                    let body = desired(check.res, labels);
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
                    Ok::<_, DriftError>((check.index, would))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        dry_runs.into_iter().collect()
    }
}

/// Fills in a report from the dry run of its object (`would`) against `live`.
fn judge(
    report: &mut ObjectReport,
    would: &Value,
    live: &Value,
    owned_changed: bool,
    rules: &[IgnoreRule],
) {
    let ignored = ignored_for(&report.id, Some(live), rules);
    report.fields = compare(would, live, &ignored);
    if report.fields.is_empty() {
        report.action = Some(Action::Unchanged);
        return;
    }
    report.action = Some(Action::Change);
    let foreign = |f: &FieldDrift| f.state == FieldState::ForeignOwned;
    if owned_changed || report.fields.iter().any(foreign) {
        report.drift = Some(if report.fields.iter().all(foreign) {
            Drift::ForeignOwned
        } else {
            Drift::Modified
        });
    }
    report.diff = Some(unified(Some(live), Some(would), &report.id));
}

/// Judges each recorded object by its projection alone, when there is no render.
fn without_render(
    record: &Record,
    live: &BTreeMap<ResId, Value>,
    seen: &mut BTreeSet<ResId>,
) -> Vec<ObjectReport> {
    let mut objects = Vec::new();
    for id in record.objects.keys() {
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
    objects
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
#[cfg(test)]
mod tests {
    use super::*;

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
}
