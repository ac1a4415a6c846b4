//! The order objects are applied in: each object of a render is assigned a [`Wave`], derived from
//! the objects themselves, as Flux's staged server-side apply (`fluxcd/pkg/ssa`) does. A wave is
//! applied whole, then waited on ([`Wave::wait`]) before the next one starts, so a custom resource
//! never reaches the server before its CRD is served, and no object reaches an admission webhook
//! before the webhook's backend is up.
//!
//! Pure: no cluster, no I/O. Inside a wave, objects keep the render's order.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::resource::{ResId, Resource, ResourceSet};

/// One step of an apply, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wave {
    /// Namespaces and CustomResourceDefinitions: what every later object lives in or is a kind
    /// of.
    Definitions,
    /// RBAC, service accounts, `*Class` kinds, quotas, ConfigMaps and Secrets: what workloads
    /// and webhook servers read when they start.
    Foundations,
    /// The Services that admission webhook configurations call, and the workloads behind them.
    WebhookBackends,
    /// Validating and mutating webhook configurations and admission policies.
    Webhooks,
    /// Everything else: workloads and custom resources.
    Workloads,
}

/// What an apply waits for once a wave is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveWait {
    /// Before the next wave: every Namespace active. CRDs are no barrier: each custom resource
    /// of a kind they define waits until its own CRD is Established (its kind served).
    Established,
    /// Nothing: the server stores these objects as written.
    Nothing,
    /// Not a barrier but a gate per object: an object of a later wave that one of these
    /// webhooks intercepts ([`Webhook::intercepts`]) is sent only once that webhook admits (a
    /// server-side dry run of the object succeeds); other objects go at once. A barrier on the
    /// backends would deadlock: in the upstream example, the webhook servers of KServe, Katib,
    /// the admission webhook, the KFP cache server and the PVC viewer mount a Secret that a
    /// cert-manager `Certificate` of the last wave issues.
    WebhooksAdmit,
    /// Everything current (`cluster::health`), under the apply's deadline.
    Healthy,
}

impl Wave {
    pub const ALL: [Wave; 5] = [
        Wave::Definitions,
        Wave::Foundations,
        Wave::WebhookBackends,
        Wave::Webhooks,
        Wave::Workloads,
    ];

    /// Position in the apply, from 0.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn wait(self) -> WaveWait {
        match self {
            Wave::Definitions => WaveWait::Established,
            Wave::Foundations => WaveWait::Nothing,
            Wave::WebhookBackends => WaveWait::Nothing,
            Wave::Webhooks => WaveWait::WebhooksAdmit,
            Wave::Workloads => WaveWait::Healthy,
        }
    }
}

impl fmt::Display for Wave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wave::Definitions => "namespaces and CRDs",
            Wave::Foundations => "RBAC, classes and configuration",
            Wave::WebhookBackends => "webhook backends",
            Wave::Webhooks => "admission webhooks",
            Wave::Workloads => "workloads and custom resources",
        })
    }
}

/// The objects of one wave, in render order.
#[derive(Debug)]
pub struct Stage<'a> {
    pub wave: Wave,
    pub resources: Vec<&'a Resource>,
}

const WEBHOOK_CONFIGURATIONS: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// Kinds of `apps` that run the pods a webhook Service selects.
const BACKEND_WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet"];

fn is_admission(res: &Resource) -> bool {
    let gvk = res.gvk();
    gvk.group == "admissionregistration.k8s.io"
        && (WEBHOOK_CONFIGURATIONS.contains(&gvk.kind.as_str())
            || gvk.kind == "ValidatingAdmissionPolicy"
            || gvk.kind == "ValidatingAdmissionPolicyBinding"
            || gvk.kind == "MutatingAdmissionPolicy"
            || gvk.kind == "MutatingAdmissionPolicyBinding")
}

/// The wave of an object by its kind alone; webhook backends are found across objects.
fn wave_by_kind(res: &Resource) -> Wave {
    let gvk = res.gvk();
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "Namespace") | ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            Wave::Definitions
        }
        ("rbac.authorization.k8s.io", _)
        | ("", "ServiceAccount" | "ConfigMap" | "Secret")
        // Quotas and limits bind pods only when the pods are created, so they come first.
        | ("", "ResourceQuota" | "LimitRange") => Wave::Foundations,
        // Flux's rule: StorageClass, IngressClass, PriorityClass, RuntimeClass, GatewayClass...
        (_, kind) if kind.ends_with("Class") => Wave::Foundations,
        _ if is_admission(res) => Wave::Webhooks,
        _ => Wave::Workloads,
    }
}

/// `(namespace, name)` of every Service a webhook configuration of the set calls. A webhook
/// reached by URL names none.
fn webhook_services(set: &ResourceSet) -> HashSet<(String, String)> {
    webhooks(set)
        .into_iter()
        .filter_map(|h| h.service)
        .collect()
}

fn string_map(v: Option<&Value>) -> Vec<(&str, &str)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a Service's selector picks the pods of `workload` (same namespace, every selector
/// label on its pod template). An empty selector selects nothing: such a Service has manual
/// endpoints.
fn selects(service: &Resource, workload: &Resource) -> bool {
    if service.id().effective_namespace() != workload.id().effective_namespace() {
        return false;
    }
    let selector = string_map(service.body.pointer("/spec/selector"));
    if selector.is_empty() {
        return false;
    }
    let labels = string_map(workload.body.pointer("/spec/template/metadata/labels"));
    selector.iter().all(|pair| labels.contains(pair))
}

/// One webhook of a Validating- or MutatingWebhookConfiguration of the render: what it calls
/// and which writes the API server sends it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub configuration: ResId,
    pub name: String,
    /// The Service it calls, `(namespace, name)`; `None` for a webhook reached by URL.
    pub service: Option<(String, String)>,
    /// `clientConfig.url` of a webhook reached by URL.
    pub url: Option<String>,
    /// `failurePolicy: Ignore`: the server admits when the webhook does not answer, so nothing
    /// needs to wait for it.
    pub ignores_failure: bool,
    rules: Vec<Value>,
    /// `matchPolicy: Exact`; the default (`Equivalent`) also sends other versions of a resource.
    exact: bool,
    namespace_selector: Option<Value>,
    object_selector: Option<Value>,
}

/// Every webhook of the set's webhook configurations, in render order.
pub fn webhooks(set: &ResourceSet) -> Vec<Webhook> {
    let mut found = Vec::new();
    for res in set.iter() {
        let gvk = res.gvk();
        if gvk.group != "admissionregistration.k8s.io"
            || !WEBHOOK_CONFIGURATIONS.contains(&gvk.kind.as_str())
        {
            continue;
        }
        let hooks = res.body.get("webhooks").and_then(Value::as_array);
        for hook in hooks.into_iter().flatten() {
            let text = |pointer: &str| hook.pointer(pointer).and_then(Value::as_str);
            let service = hook.pointer("/clientConfig/service").map(|_| {
                let namespace = match text("/clientConfig/service/namespace") {
                    None | Some("") => "default",
                    Some(ns) => ns,
                };
                let name = text("/clientConfig/service/name").unwrap_or("");
                (namespace.to_owned(), name.to_owned())
            });
            found.push(Webhook {
                configuration: res.id(),
                name: text("/name").unwrap_or("").to_owned(),
                service,
                url: text("/clientConfig/url").map(str::to_owned),
                ignores_failure: text("/failurePolicy") == Some("Ignore"),
                rules: hook
                    .get("rules")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                exact: text("/matchPolicy") == Some("Exact"),
                namespace_selector: hook.get("namespaceSelector").cloned(),
                object_selector: hook.get("objectSelector").cloned(),
            });
        }
    }
    found
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A label selector (`matchLabels`, `matchExpressions`) against a set of labels. An empty
/// selector matches everything.
fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_labels = string_map(selector.get("matchLabels"))
        .iter()
        .all(|(k, v)| label(k) == Some(v));
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    let by_expressions = expressions.into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values = strings(e.get("values"));
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            // An operator the API server would have refused: assume it matches, so a caller
            // waits rather than races.
            _ => true,
        }
    });
    by_labels && by_expressions
}

impl Webhook {
    /// Whether the API server calls this webhook when `res` is created or updated. `plural` is
    /// the resource name of its kind (from discovery), `namespaced` its scope, and
    /// `namespace_labels` the labels of the namespace it goes to; when those are unknown
    /// (`None`), the namespace selector is taken to match.
    pub fn intercepts(
        &self,
        res: &Resource,
        plural: &str,
        namespaced: bool,
        namespace_labels: Option<&Map<String, Value>>,
    ) -> bool {
        let gvk = res.gvk();
        let rule_matches = |rule: &Value| {
            let any_or = |field: &str, wanted: &str| {
                strings(rule.get(field))
                    .iter()
                    .any(|v| *v == "*" || *v == wanted)
            };
            let operations = strings(rule.get("operations"));
            let writes = operations
                .iter()
                .any(|o| matches!(*o, "*" | "CREATE" | "UPDATE"));
            // `pods/*` names subresources only; `*` and `*/*` include the resource itself.
            let resource = strings(rule.get("resources"))
                .iter()
                .any(|r| *r == "*" || *r == "*/*" || *r == plural);
            let scope = match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
                "Cluster" => !namespaced,
                "Namespaced" => namespaced,
                _ => true,
            };
            writes
                && any_or("apiGroups", &gvk.group)
                && (!self.exact || any_or("apiVersions", &gvk.version))
                && resource
                && scope
        };
        if !self.rules.iter().any(rule_matches) {
            return false;
        }
        if let Some(selector) = &self.object_selector
            && !selector_matches(selector, &res.labels())
        {
            return false;
        }
        match &self.namespace_selector {
            None => true,
            // A Namespace is matched on its own labels; other cluster-scoped objects always.
            Some(selector) if gvk.group.is_empty() && gvk.kind == "Namespace" => {
                selector_matches(selector, &res.labels())
            }
            Some(_) if !namespaced => true,
            Some(selector) => namespace_labels.is_none_or(|l| selector_matches(selector, l)),
        }
    }
}

/// The wave of each object of `set`, in the set's order.
pub fn waves(set: &ResourceSet) -> Vec<Wave> {
    let called = webhook_services(set);
    let backend_services: Vec<&Resource> = set
        .iter()
        .filter(|r| {
            let gvk = r.gvk();
            let id = r.id();
            gvk.group.is_empty()
                && gvk.kind == "Service"
                && called.contains(&(id.effective_namespace().to_owned(), id.name.clone()))
        })
        .collect();
    set.iter()
        .map(|res| {
            let gvk = res.gvk();
            let is_backend_service = backend_services.iter().any(|s| std::ptr::eq(*s, res));
            let is_backend_workload = gvk.group == "apps"
                && BACKEND_WORKLOADS.contains(&gvk.kind.as_str())
                && backend_services.iter().any(|s| selects(s, res));
            if is_backend_service || is_backend_workload {
                Wave::WebhookBackends
            } else {
                wave_by_kind(res)
            }
        })
        .collect()
}

/// The objects of `set` grouped by wave, waves in apply order, objects in render order; waves
/// with no object are left out.
pub fn stages(set: &ResourceSet) -> Vec<Stage<'_>> {
    let assigned = waves(set);
    Wave::ALL
        .iter()
        .map(|&wave| Stage {
            wave,
            resources: set
                .iter()
                .zip(&assigned)
                .filter(|(_, w)| **w == wave)
                .map(|(r, _)| r)
                .collect(),
        })
        .filter(|stage| !stage.resources.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::render::{self, RealFs};

    /// `KFCTL_CORPUS`, or `shared/corpus/kubeflow-manifests` beside the repository or beside
    /// one of its parents (a git worktree sits deeper than the checkout it belongs to).
    fn corpus() -> PathBuf {
        if let Some(dir) = std::env::var_os("KFCTL_CORPUS") {
            return PathBuf::from(dir);
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        repo.ancestors()
            .skip(1)
            .map(|dir| dir.join("shared/corpus/kubeflow-manifests"))
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| repo.join("../shared/corpus/kubeflow-manifests"))
    }

    fn wave_of(set: &ResourceSet, waves: &[Wave], kind: &str, name: &str) -> Wave {
        let at = set
            .iter()
            .position(|r| r.kind() == kind && r.name() == name)
            .unwrap_or_else(|| panic!("no {kind}/{name} in the render"));
        waves[at]
    }

    /// cert-manager with Kubeflow's ClusterIssuer, rendered by the engine from the corpus.
    #[test]
    fn cert_manager_waves() {
        let dir = corpus().join("common/cert-manager/overlays/kubeflow");
        assert!(
            dir.is_dir(),
            "the Kubeflow manifests corpus is not at `{}`; set KFCTL_CORPUS",
            dir.display()
        );
        let rendered = render::build(&RealFs, &dir).expect("cert-manager renders");
        let set = &rendered.resources;
        let w = waves(set);
        assert_eq!(w.len(), set.len());

        // The webhook configurations call Service cert-manager-webhook, whose selector picks the
        // pods of Deployment cert-manager-webhook; the controller and cainjector are not behind it.
        let expected = [
            (
                "CustomResourceDefinition",
                "certificates.cert-manager.io",
                Wave::Definitions,
            ),
            (
                "CustomResourceDefinition",
                "issuers.cert-manager.io",
                Wave::Definitions,
            ),
            ("Namespace", "cert-manager", Wave::Definitions),
            ("ServiceAccount", "cert-manager-webhook", Wave::Foundations),
            (
                "ClusterRole",
                "cert-manager-controller-issuers",
                Wave::Foundations,
            ),
            ("Service", "cert-manager-webhook", Wave::WebhookBackends),
            ("Deployment", "cert-manager-webhook", Wave::WebhookBackends),
            ("Deployment", "cert-manager", Wave::Workloads),
            ("Deployment", "cert-manager-cainjector", Wave::Workloads),
            (
                "ValidatingWebhookConfiguration",
                "cert-manager-webhook",
                Wave::Webhooks,
            ),
            (
                "MutatingWebhookConfiguration",
                "cert-manager-webhook",
                Wave::Webhooks,
            ),
            (
                "ClusterIssuer",
                "kubeflow-self-signing-issuer",
                Wave::Workloads,
            ),
        ];
        for (kind, name, wave) in expected {
            assert_eq!(wave_of(set, &w, kind, name), wave, "wave of {kind}/{name}");
        }

        // Stages: apply order, every object once, render order inside each.
        let staged = stages(set);
        let order: Vec<Wave> = staged.iter().map(|s| s.wave).collect();
        assert_eq!(order, Wave::ALL.to_vec());
        let total: usize = staged.iter().map(|s| s.resources.len()).sum();
        assert_eq!(total, set.len());
        for stage in &staged {
            let positions: Vec<usize> = stage
                .resources
                .iter()
                .map(|r| {
                    set.iter()
                        .position(|s| std::ptr::eq(s, *r))
                        .expect("a staged object is in the set")
                })
                .collect();
            assert!(
                positions.windows(2).all(|p| p[0] < p[1]),
                "wave {} is out of render order: {positions:?}",
                stage.wave
            );
        }
    }

    fn render_inline(yaml: &str) -> ResourceSet {
        let files = [
            ("kustomization.yaml", "resources:\n- all.yaml\n"),
            ("all.yaml", yaml),
        ];
        render::testing::build_in("/app", &files)
            .expect("the sample renders")
            .resources
    }

    #[test]
    fn backends_are_matched_by_namespace_and_selector() {
        let set = render_inline(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: guard}
webhooks:
- name: guard.example.com
  clientConfig: {service: {namespace: sys, name: guard}}
- name: remote.example.com
  clientConfig: {url: "https://guard.example.com/validate"}
---
apiVersion: v1
kind: Service
metadata: {name: guard, namespace: sys}
spec: {selector: {app: guard}}
---
apiVersion: v1
kind: Service
metadata: {name: guard, namespace: other}
spec: {selector: {app: guard}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guard, namespace: sys}
spec:
  template: {metadata: {labels: {app: guard, tier: admission}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guard, namespace: other}
spec:
  template: {metadata: {labels: {app: guard}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: sys}
spec:
  template: {metadata: {labels: {app: web}}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: critical}
value: 1000
---
apiVersion: v1
kind: Namespace
metadata: {name: sys}
"#,
        );
        let w = waves(&set);
        let by_id: Vec<(String, Wave)> = set.iter().map(|r| r.id().to_string()).zip(w).collect();
        let expected = [
            ("Namespace/sys", Wave::Definitions),
            ("PriorityClass/critical", Wave::Foundations),
            ("Service/other/guard", Wave::Workloads),
            ("Service/sys/guard", Wave::WebhookBackends),
            ("Deployment/other/guard", Wave::Workloads),
            ("Deployment/sys/guard", Wave::WebhookBackends),
            ("Deployment/sys/web", Wave::Workloads),
            ("ValidatingWebhookConfiguration/guard", Wave::Webhooks),
        ];
        for (id, wave) in expected {
            let got = by_id
                .iter()
                .find(|(i, _)| i == id)
                .unwrap_or_else(|| panic!("{id} not rendered: {by_id:?}"));
            assert_eq!(got.1, wave, "wave of {id}");
        }
    }

    #[test]
    fn cert_manager_webhook_intercepts_its_own_kinds() {
        let dir = corpus().join("common/cert-manager/overlays/kubeflow");
        let set = render::build(&RealFs, &dir)
            .expect("cert-manager renders")
            .resources;
        let hooks = webhooks(&set);
        let validating = hooks
            .iter()
            .find(|h| {
                h.configuration.gvk.kind == "ValidatingWebhookConfiguration"
                    && h.name == "webhook.cert-manager.io"
            })
            .expect("cert-manager's validating webhook");
        assert_eq!(
            validating.service,
            Some(("cert-manager".to_owned(), "cert-manager-webhook".to_owned()))
        );
        assert!(!validating.ignores_failure);

        let issuer = set
            .iter()
            .find(|r| r.kind() == "ClusterIssuer")
            .expect("Kubeflow's ClusterIssuer");
        assert!(validating.intercepts(issuer, "clusterissuers", false, None));

        let certificate = render_inline(
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: kubeflow}\n",
        );
        let certificate = certificate.at(0);
        let plain = Map::new();
        assert!(validating.intercepts(certificate, "certificates", true, Some(&plain)));
        // The selector is `cert-manager.io/disable-validation NotIn [true]`.
        let mut disabled = Map::new();
        disabled.insert(
            "cert-manager.io/disable-validation".into(),
            Value::String("true".into()),
        );
        assert!(!validating.intercepts(certificate, "certificates", true, Some(&disabled)));
        // Unknown namespace labels: assume it is called.
        assert!(validating.intercepts(certificate, "certificates", true, None));

        let account = set
            .iter()
            .find(|r| r.kind() == "ServiceAccount")
            .expect("a ServiceAccount of cert-manager");
        assert!(!validating.intercepts(account, "serviceaccounts", true, Some(&plain)));
    }

    #[test]
    fn webhook_rules_scope_subresources_and_selectors() {
        let set = render_inline(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: inject}
webhooks:
- name: pods.inject.example.com
  clientConfig: {url: "https://inject.example.com/mutate"}
  failurePolicy: Ignore
  matchPolicy: Exact
  objectSelector: {matchExpressions: [{key: inject, operator: Exists}]}
  rules:
  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods, "deployments/*"], scope: Namespaced}
---
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {inject: "yes"}}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
"#,
        );
        let hooks = webhooks(&set);
        assert_eq!(hooks.len(), 1);
        let hook = &hooks[0];
        assert_eq!(hook.service, None);
        assert!(hook.ignores_failure);
        let labelled = set.iter().find(|r| r.name() == "a").expect("pod a");
        let plain = set.iter().find(|r| r.name() == "b").expect("pod b");
        assert!(hook.intercepts(labelled, "pods", true, None));
        assert!(
            !hook.intercepts(plain, "pods", true, None),
            "objectSelector"
        );
        assert!(
            !hook.intercepts(labelled, "pods", false, None),
            "scope Namespaced"
        );
        let mut other_version = labelled.clone();
        other_version.body["apiVersion"] = Value::String("v2".into());
        assert!(
            !hook.intercepts(&other_version, "pods", true, None),
            "matchPolicy Exact"
        );
        let deployment = render_inline(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, labels: {inject: x}}\n",
        );
        assert!(
            !hook.intercepts(deployment.at(0), "deployments", true, None),
            "`deployments/*` names subresources, and the group differs"
        );
    }

    #[test]
    fn waits_follow_the_waves() {
        assert_eq!(Wave::Definitions.wait(), WaveWait::Established);
        assert_eq!(Wave::Webhooks.wait(), WaveWait::WebhooksAdmit);
        assert_eq!(
            Wave::ALL.map(Wave::index).to_vec(),
            (0..5).collect::<Vec<_>>()
        );
    }
}
