//! Server-side apply of a render, wave by wave ([`plan::stages`]), with field manager `kfctl`.
//!
//! The live objects of each kind are listed once (when the kind's first object is applied): an
//! object the list shows absent is created at once; one that exists is applied as a server-side
//! dry run and written only when the result differs from what is live, so applying the same
//! render twice makes no write the second time (Flux's `ssa` does the same). Inside a wave,
//! objects go with bounded concurrency; after Definitions, kfctl waits until every Namespace is
//! active. A custom resource of a kind the render's CRDs define waits, on its own, until
//! discovery serves its kind (its CRD Established, [`Served`]); everything else goes while the
//! server establishes the CRDs. An object an admission webhook intercepts waits until that
//! webhook admits ([`admission`]); the others go at once. Requests that fail for a reason that
//! passes (an optimistic concurrency conflict, throttling, a server error, a webhook not
//! answering yet, a dropped connection) are retried with backoff until the deadline; requests
//! the server refuses (an invalid object, a field another manager owns) are not, and end in the
//! report with the server's message. A change to an immutable field is refused too, unless
//! `force` asks for the object to be deleted and created again. After the last wave, every
//! applied object is watched until it is healthy ([`health`]) or the deadline passes.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use super::admission::{Gatekeeper, Gates};
use super::client::Cluster;
use crate::plan::{self, Wave, WaveWait};
use crate::resource::{Gvk, ResId, Resource, ResourceSet};
use healthy::wait_healthy;
use known::Known;
use object::apply_one;
use served::Brought;

mod body;
mod healthy;
mod known;
mod object;
mod report;
mod retry;
mod served;

pub use body::{desired, unchanged};
pub use report::{
    Action, Applied, ApplyError, ApplyReport, Event, Failed, NotReady, ObjectError, human,
};
pub use served::{Defined, Served};

/// The field manager of every write kfctl makes.
pub const FIELD_MANAGER: &str = "kfctl";

/// How many requests of one wave are in flight at once.
pub const CONCURRENCY: usize = 16;

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Every write is a server-side dry run; nothing is stored, nothing is waited on.
    pub dry_run: bool,
    /// Take over fields another field manager owns.
    pub force_conflicts: bool,
    /// Delete and create again an object whose change touches an immutable field.
    pub force: bool,
    pub concurrency: usize,
    /// When waiting and retrying stop.
    pub deadline: Instant,
    /// The whole budget, for messages.
    pub timeout: Duration,
    /// Labels added to every object (the ApplySet membership label).
    pub labels: BTreeMap<String, String>,
    /// What the install's record says the last successful apply sent: object (with the
    /// namespace it went to) → digest of its rendered body. An object whose digest is the same
    /// now, and whose live copy (listed once per kind) still holds every field of it, is known
    /// unchanged without a request of its own.
    pub recorded: BTreeMap<ResId, String>,
    /// What the record says of each CRD's `metadata.generation` after the last successful
    /// apply. The server bumps a CRD's generation on every change to its spec, so a CRD whose
    /// digest and generation are both as recorded is known unchanged from its metadata alone:
    /// CRDs are listed without their bodies (the upstream example's 74 weigh 5 MB as JSON).
    pub generations: BTreeMap<ResId, i64>,
    /// The digest of each rendered object ([`object_digest`](crate::resource::digest::object_digest)),
    /// by its rendered id, when the caller has them; the others are made when needed.
    pub digests: std::sync::Arc<HashMap<ResId, String>>,
}

impl ApplyOptions {
    /// The label selector of the install's members (the ApplySet membership label), if any.
    fn selector(&self) -> Option<String> {
        self.labels
            .iter()
            .next()
            .map(|(label, id)| format!("{label}={id}"))
    }

    fn digest(&self, res: &Resource) -> String {
        self.digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| crate::resource::digest::object_digest(res))
    }
}

/// Whether `gvk` is the CustomResourceDefinition kind.
pub fn is_crd_kind(gvk: &Gvk) -> bool {
    gvk.group == "apiextensions.k8s.io" && gvk.kind == "CustomResourceDefinition"
}

/// Applies `set` wave by wave, then waits until everything applied is healthy. Never fails as a
/// whole: what went wrong is in the report, with everything that was applied.
pub async fn apply(
    cluster: &Cluster,
    set: &ResourceSet,
    options: &ApplyOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> ApplyReport {
    let started = Instant::now();
    let brought = Brought::of(set);
    let known = Known::new(set, options);
    // Unchanged objects whose listed copy is healthy need no second look.
    let settled =
        |a: &Applied| a.action == Action::Unchanged && known.settled(&a.id, a.namespace.as_deref());
    let mut report = ApplyReport::default();
    let stages = plan::stages(set);
    let mut gatekeeper = Gatekeeper::new(cluster, set, &brought.kinds).await;
    let slots = tokio::sync::Semaphore::new(options.concurrency.max(1));
    let served = Served::new(&brought);
    // The waves after the `index`th, with their sizes: not started when it does not finish.
    let later = |index: usize| -> Vec<(Wave, usize)> {
        stages[index + 1..]
            .iter()
            .map(|s| (s.wave, s.resources.len()))
            .collect()
    };
    for (index, stage) in stages.iter().enumerate() {
        let wave_started = Instant::now();
        on_event(Event::WaveStarted {
            wave: stage.wave,
            objects: stage.resources.len(),
            number: index + 1,
            of: stages.len(),
        });
        let gates = gatekeeper
            .gates(cluster, stage.wave, &stage.resources, options.dry_run)
            .await;
        // Every object starts at once and waits for its gates, then for a slot: an object
        // behind a webhook that does not admit yet holds no slot the others need.
        let wave = WaveRun {
            cluster,
            options,
            brought: &brought,
            known: &known,
            gates: &gates,
            slots: &slots,
            served: &served,
            on_event,
        };
        let results: Vec<Result<Applied, Failed>> = futures::future::join_all(
            stage
                .resources
                .iter()
                .copied()
                .enumerate()
                .map(|(index, res)| wave.apply_gated(index, res, stage.wave)),
        )
        .await;
        gatekeeper.passed(&gates);
        let mut wave_failed = false;
        for result in results {
            match result {
                Ok(applied) => report.applied.push(applied),
                Err(failed) => {
                    wave_failed = true;
                    report.failed.push(failed);
                }
            }
        }
        if wave_failed {
            report.skipped = later(index);
            break;
        }
        if stage.wave.wait() == WaveWait::Established && !options.dry_run {
            // Namespaces now; each custom resource waits for its own CRD ([`Served`]), so that
            // everything else goes while the server establishes them.
            let ids: Vec<_> = report
                .applied
                .iter()
                .filter(|a| a.wave == stage.wave && !settled(a) && !is_crd_kind(&a.id.gvk))
                .map(|a| (a.id.clone(), a.wave, a.namespace.clone()))
                .collect();
            if !ids.is_empty() {
                on_event(Event::Waiting {
                    wave: stage.wave,
                    what: "namespaces active".to_owned(),
                });
            }
            let not_ready = wait_healthy(cluster, ids, options, on_event).await;
            if !not_ready.is_empty() {
                report.not_ready = not_ready;
                report.skipped = later(index);
                break;
            }
        }
        on_event(Event::WaveDone {
            wave: stage.wave,
            elapsed: wave_started.elapsed(),
        });
    }
    if report.failed.is_empty() && report.not_ready.is_empty() && !options.dry_run {
        let ids: Vec<(ResId, Wave, Option<String>)> = report
            .applied
            .iter()
            .filter(|a| !settled(a))
            .map(|a| (a.id.clone(), a.wave, a.namespace.clone()))
            .collect();
        if !ids.is_empty() {
            on_event(Event::Waiting {
                wave: Wave::Workloads,
                what: format!("{} objects to become healthy", ids.len()),
            });
        }
        report.not_ready = wait_healthy(cluster, ids, options, on_event).await;
    }
    (report.listed, report.metadata_only) = known.unchanged_kinds(&report.applied);
    report.elapsed = started.elapsed();
    report
}

/// What the objects of one wave share while they are applied.
struct WaveRun<'a> {
    cluster: &'a Cluster,
    options: &'a ApplyOptions,
    brought: &'a Brought,
    known: &'a Known,
    gates: &'a Gates,
    slots: &'a tokio::sync::Semaphore,
    served: &'a Served<'a>,
    on_event: &'a (dyn Fn(Event<'_>) + Sync),
}

impl WaveRun<'_> {
    /// Applies the object `res`, the `index`th of its wave, once its kind is served and its
    /// gates pass, holding a slot while it is applied.
    async fn apply_gated(
        &self,
        index: usize,
        res: &Resource,
        wave: Wave,
    ) -> Result<Applied, Failed> {
        let (cluster, options, on_event) = (self.cluster, self.options, self.on_event);
        let id = res.id();
        let ready = match self
            .served
            .wait(cluster, &id, wave, options, on_event)
            .await
        {
            Ok(()) => self
                .gates
                .wait(index, cluster, options, on_event, self.served)
                .await
                .map_err(ObjectError::from),
            Err(e) => Err(e),
        };
        let result = match ready {
            Err(e) => Err(e),
            Ok(()) => {
                // The semaphore is never closed; were it, the object would go anyway.
                let _slot = self.slots.acquire().await.ok();
                apply_one(
                    cluster,
                    res,
                    wave,
                    options,
                    self.brought,
                    self.known,
                    on_event,
                )
                .await
            }
        };
        match result {
            Ok(applied) => {
                on_event(Event::Applied(&applied));
                Ok(applied)
            }
            Err(error) => {
                let failed = Failed {
                    id: res.id(),
                    origin: res.origin.clone(),
                    wave,
                    error,
                };
                on_event(Event::Failed(&failed));
                Err(failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::body::holds;
    use super::retry::{immutable_fields, manager_of};
    use super::*;
    use crate::resource::Origin;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(3720)), "1h2m");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn immutable_fields_are_told_from_other_validation_errors() {
        // (the server's message, the field of its one cause, the cause's message, immutable)
        for (message, field, cause, immutable) in [
            (
                "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: ...: field is immutable",
                "spec.selector",
                "Invalid value: ...: field is immutable",
                true,
            ),
            (
                "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.9\"}: may not change once set",
                "spec.clusterIPs[0]",
                "Invalid value: []string{\"10.0.0.9\"}: may not change once set",
                true,
            ),
            (
                "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1",
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
                false,
            ),
        ] {
            let status: kube::core::Status = serde_json::from_value(json!({
                "status": "Failure", "code": 422, "reason": "Invalid", "message": message,
                "details": {"causes": [
                    {"reason": "FieldValueInvalid", "field": field, "message": cause},
                ]},
            }))
            .expect("a Status");
            assert_eq!(
                immutable_fields(&status),
                immutable.then(|| vec![field.to_owned()]),
                "{message}"
            );
        }
    }

    #[test]
    fn managers_are_read_from_conflict_causes() {
        assert_eq!(
            manager_of("conflict with \"kubectl-client-side-apply\" using v1").as_deref(),
            Some("kubectl-client-side-apply")
        );
        assert_eq!(manager_of("something else"), None);
    }

    #[test]
    fn only_volatile_fields_are_ignored_when_comparing() {
        let live = json!({
            "metadata": {"name": "a", "resourceVersion": "7", "managedFields": [
                {"manager": "kfctl", "operation": "Apply", "time": "2025-01-01T00:00:00Z"}
            ]},
            "data": {"k": "v"}
        });
        let mut same = live.clone();
        same["metadata"]["resourceVersion"] = json!("8");
        same["metadata"]["managedFields"][0]["time"] = json!("2025-02-02T00:00:00Z");
        assert!(unchanged(&live, &same));
        let mut data = live.clone();
        data["data"]["k"] = json!("w");
        assert!(!unchanged(&live, &data));
        let mut owners = live.clone();
        owners["metadata"]["managedFields"][0]["manager"] = json!("other");
        assert!(
            !unchanged(&live, &owners),
            "a change of ownership is a write"
        );
    }

    fn resource(body: Value) -> Resource {
        Resource::new(body, Origin::file(std::path::Path::new("a.yaml"), 1))
    }

    #[test]
    fn a_live_object_holds_what_would_be_sent() {
        let labels = BTreeMap::from([("part-of".to_owned(), "set".to_owned())]);
        let map = resource(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
            "data": {"k": "v", "empty": ""}}));
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u",
                         "labels": {"x": "1", "part-of": "set", "other": "y"}},
            "data": {"k": "v", "empty": ""}});
        assert!(holds(&live, &map, &labels, false, false));
        let mut unlabelled = live.clone();
        unlabelled["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("part-of");
        assert!(!holds(&unlabelled, &map, &labels, false, false));
        let mut edited = live.clone();
        edited["data"]["k"] = json!("w");
        assert!(!holds(&edited, &map, &labels, false, false));
        assert!(
            holds(&edited, &map, &labels, false, true),
            "by metadata alone, the data is not looked at"
        );
        // A key of a string map the server keeps, even empty.
        let mut dropped = live.clone();
        dropped["data"].as_object_mut().unwrap().remove("empty");
        assert!(!holds(&dropped, &map, &labels, false, false));

        // A cluster-scoped object loses the namespace a render names; a CRD's status and an
        // aggregated ClusterRole's rules are the server's.
        let crd = resource(json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com", "namespace": "ns"},
            "spec": {"group": "example.com"}, "status": {"storedVersions": []}}));
        let live_crd = json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com", "labels": {"part-of": "set"}},
            "spec": {"group": "example.com", "scope": "Namespaced"},
            "status": {"storedVersions": ["v1"]}});
        assert!(holds(&live_crd, &crd, &labels, true, false));
        assert!(!holds(&live_crd, &crd, &labels, false, false));
        let role = resource(json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole", "metadata": {"name": "r"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
            "rules": []}));
        let live_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole", "metadata": {"name": "r", "labels": {"part-of": "set"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
            "rules": [{"verbs": ["get"]}]});
        assert!(holds(&live_role, &role, &labels, true, false));
        // The same as comparing with the whole body that would be sent.
        for (live, res, scoped) in [(&live, &map, false), (&live_crd, &crd, true)] {
            let body = desired(res, &labels);
            let mut wanted = body.clone();
            if scoped {
                wanted["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("namespace");
            }
            wanted.as_object_mut().unwrap().remove("status");
            assert_eq!(
                holds(live, res, &labels, scoped, false),
                crate::resource::compare::contains(live, &wanted)
            );
        }
    }

    #[test]
    fn crds_define_their_kind_versions_and_scope() {
        let crd = resource(json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false},
                                  {"name": "v2"}]}}));
        let defined = Defined::of(&crd).expect("a CRD defines a kind");
        assert_eq!(defined.crd, "widgets.example.com");
        assert_eq!(defined.plural, "widgets");
        assert!(!defined.namespaced);
        assert_eq!(defined.versions, ["v1", "v2"]);
        assert!(defined.defines(&Gvk::new("example.com", "v9", "Widget")));
        assert!(!defined.defines(&Gvk::new("other.com", "v1", "Widget")));
        let map =
            resource(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        assert!(Defined::of(&map).is_none());
    }

    #[test]
    fn aggregated_cluster_roles_are_sent_without_rules() {
        let aggregated = Resource::new(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "a"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
                   "rules": []}),
            Origin::file(std::path::Path::new("a.yaml"), 1),
        );
        assert!(
            desired(&aggregated, &BTreeMap::new())
                .get("rules")
                .is_none()
        );
        let plain = Resource::new(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "b"}, "rules": [{"verbs": ["get"]}]}),
            Origin::file(std::path::Path::new("b.yaml"), 1),
        );
        assert_eq!(
            desired(&plain, &BTreeMap::new())["rules"],
            json!([{"verbs": ["get"]}])
        );
    }

    #[test]
    fn inventory_labels_are_added_to_the_body() {
        let res = Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}}}),
            Origin::file(std::path::Path::new("a.yaml"), 1),
        );
        let labels = BTreeMap::from([("part-of".to_owned(), "set".to_owned())]);
        let body = desired(&res, &labels);
        assert_eq!(
            body["metadata"]["labels"],
            json!({"x": "1", "part-of": "set"})
        );
        assert_eq!(res.body["metadata"]["labels"], json!({"x": "1"}));
    }
}
