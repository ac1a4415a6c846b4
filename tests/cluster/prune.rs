//! Pruning after `kfctl apply`: objects of the install that the render no longer has are
//! deleted, and nothing else: not an unlabelled look-alike, not an object of another install; a
//! PVC is kept and released from the install.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kfctl::cluster::inventory::{Inventory, LABEL_PART_OF, parse_object_line};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::apply::{kfctl, kustomization, path, stderr, text};
use crate::cluster::{TestNamespace, cluster};

/// The objects the install's record lists, as `Kind/namespace/name` (`Kind/name` when
/// cluster-scoped), or `None` when there is no parent.
pub(crate) async fn recorded(ns: &TestNamespace, install: &str) -> Option<BTreeSet<String>> {
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    let parent = parents
        .get_opt(&format!("kfctl-{install}"))
        .await
        .expect("read the parent")?;
    let data = parent.data.unwrap_or_default();
    let lines = data.get("objects").cloned().unwrap_or_default();
    Some(
        lines
            .lines()
            .filter_map(|l| l.rsplit_once(' ').and_then(|(id, _)| parse_object_line(id)))
            .map(|id| id.to_string())
            .collect(),
    )
}

/// Every object of `kinds` (cluster-wide) labelled as a member of `install`, as
/// `Kind/namespace/name`.
pub(crate) async fn labelled(
    ns: &TestNamespace,
    install: &str,
    kinds: &[ApiResource],
) -> BTreeSet<String> {
    let selector = format!("{LABEL_PART_OF}={}", Inventory::new(install).id);
    let mut found = BTreeSet::new();
    for kind in kinds {
        let api: Api<DynamicObject> = Api::all_with(ns.client(), kind);
        let listed = api
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap_or_else(|e| panic!("list {}: {e}", kind.kind));
        for obj in listed {
            let name = obj.metadata.name.unwrap_or_default();
            found.insert(match obj.metadata.namespace {
                Some(namespace) => format!("{}/{namespace}/{name}", kind.kind),
                None => format!("{}/{name}", kind.kind),
            });
        }
    }
    found
}

/// A PersistentVolume bound in advance to claim `data` of the test's namespace: made by the
/// test, not by the install, so the claim binds without a provisioner.
pub(crate) async fn volume_for_claim(ns: &TestNamespace) {
    let name = ns.name();
    ns.delete_later(&format!("persistentvolume/{name}-pv"));
    let volumes: Api<PersistentVolume> = Api::all(ns.client());
    let pv: PersistentVolume = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": format!("{name}-pv")},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "hostPath": {"path": format!("/tmp/{name}")},
            "claimRef": {"namespace": name, "name": "data"},
        },
    }))
    .expect("a valid PersistentVolume");
    volumes
        .create(&PostParams::default(), &pv)
        .await
        .expect("create the volume");
}

/// Claim `data`, bound to [`volume_for_claim`]'s volume.
pub(crate) fn claim(namespace: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {namespace}}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: {namespace}-pv
  resources: {{requests: {{storage: 1Gi}}}}
"#
    )
}

fn config_map(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\ndata: {{a: b}}\n"
    )
}

#[tokio::test]
async fn removing_objects_from_a_render_prunes_exactly_those() {
    let ns = cluster().namespace("prune").await;
    let name = ns.name();
    ns.delete_later(&format!("clusterrole/{name}-gone"));
    volume_for_claim(&ns).await;

    // Look-alikes made by others: one without the label, one labelled for another install.
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    let other = Inventory::new(&format!("other-{name}"));
    for (cm, labels) in [
        ("lookalike", json!({})),
        ("foreign", json!({LABEL_PART_OF: other.id})),
    ] {
        let body: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": cm, "labels": labels}, "data": {"a": "b"},
        }))
        .expect("a ConfigMap");
        maps.create(&PostParams::default(), &body)
            .await
            .expect("create a look-alike");
    }

    let kept = config_map(name, "kept");
    let gone = [
        config_map(name, "gone"),
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: gone-web, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: gone-web}}}}
  template:
    metadata: {{labels: {{app: gone-web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
"#
        ),
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}-gone}}\nrules: []\n"
        ),
        claim(name),
    ];
    let dir = kustomization(
        &[kept.as_str()]
            .into_iter()
            .chain(gone.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("---\n"),
    );
    let first = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(first.status.success(), "{}", text(&first));

    // A dry run lists what would go and changes nothing.
    std::fs::write(dir.path().join("objects.yaml"), &kept).expect("rewrite");
    let dry = kfctl(&["apply", "-k", path(&dir), "--name", name, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let err = stderr(&dry);
    assert!(
        err.contains(&format!("pruned (dry run) ConfigMap/{name}/gone")),
        "{err}"
    );
    assert!(
        maps.get_opt("gone").await.expect("read").is_some(),
        "a dry run deleted: {err}"
    );
    assert_eq!(recorded(&ns, name).await.map(|r| r.len()), Some(5));

    let second = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "-o",
        "json",
    ]);
    assert!(second.status.success(), "{}", text(&second));
    let err = stderr(&second);
    assert!(
        err.contains("0 created, 0 configured, 1 unchanged, 3 pruned"),
        "{err}"
    );
    assert!(
        err.contains(&format!("pruned Deployment/{name}/gone-web")),
        "{err}"
    );
    assert!(
        err.contains(&format!("kept PersistentVolumeClaim/{name}/data")),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&second.stdout).expect("a JSON report");
    assert_eq!(report["totals"]["pruned"], 3, "{report:#}");
    assert_eq!(report["totals"]["kept"], 1, "{report:#}");
    let pruned: BTreeSet<String> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["action"] == "pruned")
        .map(|o| o["id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        pruned,
        BTreeSet::from([
            format!("ConfigMap/{name}/gone"),
            format!("Deployment/{name}/gone-web"),
            format!("ClusterRole/{name}-gone"),
        ]),
        "{report:#}"
    );

    assert!(maps.get_opt("gone").await.expect("read").is_none());
    let roles: Api<ClusterRole> = Api::all(ns.client());
    assert!(
        roles
            .get_opt(&format!("{name}-gone"))
            .await
            .expect("read")
            .is_none()
    );
    for survivor in ["kept", "lookalike", "foreign"] {
        assert!(
            maps.get_opt(survivor).await.expect("read").is_some(),
            "{survivor} was deleted: {err}"
        );
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client(), name);
    let data = claims.get("data").await.expect("the claim is kept");
    assert_eq!(
        data.metadata.labels.unwrap_or_default().get(LABEL_PART_OF),
        None,
        "a kept claim is released from the install"
    );
    assert_eq!(
        recorded(&ns, name).await,
        Some(BTreeSet::from([format!("ConfigMap/{name}/kept")]))
    );
}
