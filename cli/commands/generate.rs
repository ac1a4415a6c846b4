//! `kfctl generate upgrade-job`: the manifests that run `kfctl upgrade` inside the cluster — a
//! Namespace, a ServiceAccount, the least RBAC the upgrade needs, the install's configuration
//! as a ConfigMap, and a Job (or a CronJob that never runs two at once).
//!
//! The RBAC is derived from the kinds the install's record lists and the kinds the target
//! release renders (an upgrade may bring new ones): every verb an apply and a prune use on
//! those, `bind` and `escalate` on roles (the install creates roles granting what the job does
//! not hold itself), and, in `kube-system`, the install's parent ConfigMap by name and the
//! Leases that lock a run.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Outcome;
use crate::cluster::inventory::{self, Inventory};
use crate::errors::UserError;
use crate::lifecycle::history::read_revisions;
use crate::lifecycle::render::pin_request_at;
use crate::lifecycle::target;
use crate::output::Printer;
use crate::profile::{self};
use crate::render::RealFs;
use crate::resource::Gvk;
use crate::resource::yaml::to_yaml_stream;
use crate::settings::UpgradeJobSettings;
use crate::upgrade::revision::{self, Pin, ProfilePin};

/// Where the configuration is mounted in the job's pod.
const CONFIG_DIR: &str = "/etc/kfctl";
/// Where the image keeps kfctl's root (catalog, platforms, overlays); see the `Dockerfile`.
const IMAGE_ROOT: &str = "/usr/share/kfctl";

/// Verbs an apply (read, create, server-side apply) and a prune (delete) use.
const VERBS: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];

pub async fn upgrade_job(settings: &UpgradeJobSettings, printer: Printer) -> Result<Outcome> {
    let text = generate(settings, printer).await?;
    printer.data(&text)?;
    Ok(Outcome::Success)
}

async fn generate(settings: &UpgradeJobSettings, printer: Printer) -> Result<String> {
    let cluster = target::connect(&settings.cluster).await?;
    let (parent, revisions) = read_revisions(&cluster, &settings.name).await?;
    let Some(Pin::Profile(pin)) = revision::current(&revisions).map(|r| r.pin.clone()) else {
        return Err(UserError::new(format!(
            "install `{}` has no platform revision to upgrade from",
            settings.name
        ))
        .with_hint("an upgrade job re-renders a platform install (`kfctl apply -p` or `-f`); a `-k` install has no releases")
        .into());
    };
    // The kinds of the target release too: an upgrade may bring kinds the install lacks yet.
    let request = pin_request_at(&pin, &settings.to, pin.sets.clone())?;
    let resolved = profile::resolve(&RealFs, &request)
        .with_context(|| format!("cannot resolve release `{}`", settings.to))?;
    let rendered = profile::render(&RealFs, &resolved)
        .with_context(|| format!("cannot render release `{}`", settings.to))?;
    let mut gvks: BTreeSet<Gvk> = parent
        .record
        .objects
        .keys()
        .map(|id| id.gvk.clone())
        .collect();
    gvks.extend(rendered.resources.iter().map(|r| r.gvk()));
    // Plurals of kinds the new release's CRDs define, which the server may not serve yet.
    let crd_plurals: BTreeMap<(String, String), String> = rendered
        .resources
        .iter()
        .filter(|r| r.kind() == "CustomResourceDefinition")
        .filter_map(|r| {
            Some((
                (
                    r.str_at(&["spec", "group"])?.to_owned(),
                    r.str_at(&["spec", "names", "kind"])?.to_owned(),
                ),
                r.str_at(&["spec", "names", "plural"])?.to_owned(),
            ))
        })
        .collect();
    let mut resources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for gvk in &gvks {
        let plural = match cluster.resolve(gvk).await {
            Ok(found) => found.resource.plural,
            Err(_) => match crd_plurals.get(&(gvk.group.clone(), gvk.kind.clone())) {
                Some(p) => p.clone(),
                None => {
                    printer.warn(&format!(
                        "no API serves {}, and no CRD of release `{}` defines it: the job gets no permission for it",
                        inventory::group_kind(gvk),
                        settings.to
                    ));
                    continue;
                }
            },
        };
        resources
            .entry(gvk.group.clone())
            .or_default()
            .insert(plural);
    }
    let objects = manifests(settings, &pin, &resources, &config_yaml(&pin, &settings.to))?;
    Ok(to_yaml_stream(objects.iter()))
}

/// The `kfctl.yaml` the job renders from: the one the install was made from when it can be
/// read, else one written from the record (platform, components, the `--set` values).
fn config_yaml(pin: &ProfilePin, to: &str) -> String {
    if let Some(text) = pin.config.as_ref().and_then(|p| {
        crate::render::fs::read_text_at_most(p, crate::render::fs::MAX_CONFIG_BYTES).ok()
    }) {
        return text;
    }
    let mut parameters = serde_json::Map::new();
    let mut components: BTreeMap<String, serde_json::Map<String, Value>> = pin
        .components
        .iter()
        .map(|c| (c.clone(), serde_json::Map::new()))
        .collect();
    for set in &pin.sets {
        let Some((key, value)) = set.split_once('=') else {
            continue;
        };
        match key.split_once('.') {
            Some((component, name)) if components.contains_key(component) => {
                if let Some(c) = components.get_mut(component) {
                    c.entry("parameters")
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .map(|p| p.insert(name.to_owned(), json!(value)));
                }
            }
            _ => {
                parameters.insert(key.to_owned(), json!(value));
            }
        }
    }
    let components: serde_json::Map<String, Value> = components
        .into_iter()
        .map(|(name, mut c)| {
            c.insert("enabled".to_owned(), json!(true));
            (name, Value::Object(c))
        })
        .collect();
    let mut spec = json!({
        "platform": pin.platform,
        "release": to,
        "components": components,
    });
    if !parameters.is_empty() {
        spec["parameters"] = Value::Object(parameters);
    }
    crate::resource::yaml::to_yaml(&json!({
        "apiVersion": profile::API_VERSION,
        "kind": "KfctlConfig",
        "metadata": {"name": "kubeflow"},
        "spec": spec,
    }))
}

/// The RBAC rules for the install's kinds: `group → plurals`.
pub(crate) fn cluster_rules(resources: &BTreeMap<String, BTreeSet<String>>) -> Vec<Value> {
    let mut rules: Vec<Value> = resources
        .iter()
        .map(|(group, plurals)| {
            json!({
                "apiGroups": [group],
                "resources": plurals.iter().collect::<Vec<_>>(),
                "verbs": VERBS,
            })
        })
        .collect();
    if let Some(plurals) = resources.get("rbac.authorization.k8s.io") {
        let roles: Vec<&String> = plurals
            .iter()
            .filter(|p| *p == "roles" || *p == "clusterroles")
            .collect();
        if !roles.is_empty() {
            rules.push(json!({
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": roles,
                "verbs": ["bind", "escalate"],
            }));
        }
    }
    // Who the server says the job is (recorded in the history), and what it may do (preflight).
    rules.push(json!({
        "apiGroups": ["authentication.k8s.io"],
        "resources": ["selfsubjectreviews"],
        "verbs": ["create"],
    }));
    rules.push(json!({
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        "verbs": ["create"],
    }));
    // The stored versions of CRDs, read by the plan.
    rules.push(json!({
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    }));
    rules
}

/// The Job (or, with `--schedule`, the CronJob) that runs `kfctl upgrade` in the cluster.
fn job(
    settings: &UpgradeJobSettings,
    base: &str,
    metadata: Value,
    labels: &Value,
) -> Result<Value> {
    let args = vec![
        "upgrade".to_owned(),
        "--to".to_owned(),
        settings.to.clone(),
        "--name".to_owned(),
        settings.name.clone(),
        "-f".to_owned(),
        format!("{CONFIG_DIR}/kfctl.yaml"),
        "--yes".to_owned(),
        "--atomic".to_owned(),
        "--timeout".to_owned(),
        settings.timeout.clone(),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    let pod = json!({
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": base,
            "restartPolicy": "Never",
            "containers": [{
                "name": "kfctl",
                "image": settings.image,
                "args": args,
                "env": [
                    {"name": "KFCTL_ROOT", "value": IMAGE_ROOT},
                    {"name": "NO_COLOR", "value": "1"},
                ],
                "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}],
                "securityContext": {
                    "runAsNonRoot": true,
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]},
                },
            }],
            "volumes": [{"name": "config", "configMap": {"name": format!("{base}-config")}}],
        },
    });
    let job_spec = json!({
        // The upgrade is atomic and recorded; retrying a failed one once is enough.
        "backoffLimit": 1,
        "activeDeadlineSeconds": crate::args::parse_duration(&settings.timeout)
            .map_err(|e| UserError::new(format!("`--timeout`: {e}")))?
            .as_secs() + 600,
        "template": pod,
    });
    Ok(match &settings.schedule {
        None => json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata,
            "spec": job_spec,
        }),
        Some(schedule) => json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": metadata,
            "spec": {
                "schedule": schedule,
                // Two upgrades never run at once; the Lease guards runs from elsewhere.
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": job_spec},
            },
        }),
    })
}

fn manifests(
    settings: &UpgradeJobSettings,
    pin: &ProfilePin,
    resources: &BTreeMap<String, BTreeSet<String>>,
    config: &str,
) -> Result<Vec<Value>> {
    let ns = settings.namespace.as_str();
    let base = format!("kfctl-upgrade-{}", settings.name);
    let parent = Inventory::new(&settings.name).parent;
    let labels = json!({"app.kubernetes.io/name": "kfctl-upgrade", "app.kubernetes.io/instance": settings.name});
    let meta = |name: &str, namespace: Option<&str>| {
        let mut m = json!({"name": name, "labels": labels});
        if let Some(n) = namespace {
            m["namespace"] = json!(n);
        }
        m
    };
    let subject = json!([{"kind": "ServiceAccount", "name": base, "namespace": ns}]);
    let job = job(settings, &base, meta(&base, Some(ns)), &labels)?;
    Ok(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None)}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&base, Some(ns))}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta(&base, None),
            "rules": cluster_rules(resources),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta(&base, None),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": base},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(&base, Some(inventory::NAMESPACE)),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [parent],
                 "verbs": ["get", "update", "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(&base, Some(inventory::NAMESPACE)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": base},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(&format!("{base}-config"), Some(ns)),
            "data": {
                "kfctl.yaml": config,
                "platform": pin.platform,
                "from-release": pin.release,
                "to-release": settings.to,
            },
        }),
        job,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_cover_the_kinds_and_role_escalation() {
        let resources = BTreeMap::from([
            ("".to_owned(), BTreeSet::from(["configmaps".to_owned()])),
            (
                "rbac.authorization.k8s.io".to_owned(),
                BTreeSet::from(["clusterroles".to_owned(), "rolebindings".to_owned()]),
            ),
        ]);
        let rules = cluster_rules(&resources);
        assert_eq!(rules[0]["apiGroups"], json!([""]));
        assert_eq!(rules[0]["resources"], json!(["configmaps"]));
        assert_eq!(rules[0]["verbs"], json!(VERBS));
        assert_eq!(rules[2]["resources"], json!(["clusterroles"]));
        assert_eq!(rules[2]["verbs"], json!(["bind", "escalate"]));
    }

    #[test]
    fn a_config_is_written_from_the_record_when_the_file_is_gone() {
        let pin = ProfilePin {
            root: "/r".into(),
            platform: "local".into(),
            release: "1.10.2".into(),
            source: "kubeflow-manifests".into(),
            source_version: "v1.10.2".into(),
            source_dir: "/s".into(),
            source_dir_digest: String::new(),
            components: vec!["istio".into(), "gpu".into()],
            parameters: BTreeMap::new(),
            config: Some("/does/not/exist.yaml".into()),
            sources: Vec::new(),
            sets: vec!["storageClass=fast".into(), "gpu.vendor=nvidia".into()],
            catalog: None,
        };
        let text = config_yaml(&pin, "1.11.0");
        let doc: Value = serde_json::to_value(
            crate::resource::yaml::parse_documents(&text).unwrap()[0]
                .value
                .clone(),
        )
        .unwrap();
        assert_eq!(doc["spec"]["release"], json!("1.11.0"));
        assert_eq!(doc["spec"]["parameters"], json!({"storageClass": "fast"}));
        assert_eq!(
            doc["spec"]["components"]["gpu"],
            json!({"enabled": true, "parameters": {"vendor": "nvidia"}})
        );
    }
}
