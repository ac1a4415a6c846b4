//! `kfctl delete`: an install goes by its inventory, keeping volumes, CRDs (and so users' custom
//! resources) and namespaces in use unless `--purge`; a dry run changes nothing; an object held
//! by a finalizer is named with it.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim};
use kfctl::cluster::inventory::LABEL_PART_OF;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::apply::{kfctl, kustomization, path, stderr, text};
use crate::cluster::{TestNamespace, cluster};
use crate::prune::{claim, recorded, volume_for_claim};

fn crd_resource() -> ApiResource {
    ApiResource {
        group: "apiextensions.k8s.io".into(),
        version: "v1".into(),
        api_version: "apiextensions.k8s.io/v1".into(),
        kind: "CustomResourceDefinition".into(),
        plural: "customresourcedefinitions".into(),
    }
}

fn widget_resource(name: &str) -> ApiResource {
    ApiResource {
        group: format!("{name}.kfctl.test"),
        version: "v1".into(),
        api_version: format!("{name}.kfctl.test/v1"),
        kind: "Widget".into(),
        plural: "widgets".into(),
    }
}

/// A CRD and a Widget of it, namespaces `-app` (which gets a user's ConfigMap) and `-empty`, a
/// Deployment, a ConfigMap, a ClusterRole and a PVC.
fn render(ns: &TestNamespace) -> String {
    let name = ns.name();
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{name}.kfctl.test}}
spec:
  group: {name}.kfctl.test
  names: {{kind: Widget, plural: widgets, singular: widget}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{size: {{type: integer}}}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {name}-app}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {name}-empty}}
---
apiVersion: {name}.kfctl.test/v1
kind: Widget
metadata: {{name: small, namespace: {name}-app}}
spec: {{size: 3}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}-app}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {name}-app}}
data: {{mode: fast}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}-reader}}
rules: []
---
{claim}"#,
        claim = claim(name)
    )
}

fn ids(report: &Value, action: &str) -> BTreeSet<String> {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["action"] == action)
        .map(|o| o["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn part_of(labels: Option<&std::collections::BTreeMap<String, String>>) -> Option<String> {
    labels.and_then(|l| l.get(LABEL_PART_OF).cloned())
}

#[tokio::test]
async fn delete_keeps_volumes_crds_and_namespaces_in_use_unless_purge() {
    let ns = cluster().namespace("delete").await;
    let name = ns.name();
    let app = format!("{name}-app");
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));
    ns.delete_later(&format!("namespace/{app}"));
    ns.delete_later(&format!("namespace/{name}-empty"));
    ns.delete_later(&format!("clusterrole/{name}-reader"));
    volume_for_claim(&ns).await;
    let dir = kustomization(&render(&ns));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    // A user's custom resource in one of the install's namespaces; in the other, a ConfigMap
    // with no label and no owner, as controllers leave (it does not keep the namespace).
    let widgets: Api<DynamicObject> =
        Api::namespaced_with(ns.client(), &app, &widget_resource(name));
    let mine: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{name}.kfctl.test/v1"), "kind": "Widget",
        "metadata": {"name": "users"}, "spec": {"size": 1},
    }))
    .expect("a Widget");
    widgets
        .create(&PostParams::default(), &mine)
        .await
        .expect("a user's Widget");
    let app_maps: Api<ConfigMap> = Api::namespaced(ns.client(), &app);
    let empty_maps: Api<ConfigMap> = Api::namespaced(ns.client(), &format!("{name}-empty"));
    let leftover: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "leftover"}, "data": {"a": "b"},
    }))
    .expect("a ConfigMap");
    empty_maps
        .create(&PostParams::default(), &leftover)
        .await
        .expect("a controller's ConfigMap");

    // Without a terminal and without `--yes`, nothing goes.
    let refused = kfctl(&["delete", "--name", name]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(stderr(&refused).contains("`--yes`"), "{}", text(&refused));

    let dry = kfctl(&["delete", "--name", name, "--dry-run", "-o", "json"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let report: Value = serde_json::from_slice(&dry.stdout).expect("a JSON report");
    assert_eq!(
        ids(&report, "deleted"),
        BTreeSet::from([
            format!("Widget/{app}/small"),
            format!("Deployment/{app}/web"),
            format!("ConfigMap/{app}/settings"),
            format!("ClusterRole/{name}-reader"),
            format!("Namespace/{name}-empty"),
        ]),
        "{report:#}"
    );
    assert_eq!(
        ids(&report, "kept"),
        BTreeSet::from([
            format!("CustomResourceDefinition/widgets.{name}.kfctl.test"),
            format!("PersistentVolumeClaim/{name}/data"),
            format!("Namespace/{app}"),
        ]),
        "{report:#}"
    );
    assert!(stderr(&dry).contains("Widget/users"), "{}", text(&dry));
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), &app);
    assert!(
        deployments.get_opt("web").await.expect("read").is_some(),
        "a dry run deleted"
    );
    assert_eq!(recorded(&ns, name).await.map(|r| r.len()), Some(8));

    let deleted = kfctl(&["delete", "--name", name, "--yes"]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    let err = stderr(&deleted);
    assert!(err.contains("5 deleted, 3 kept"), "{err}");
    assert!(err.contains(&format!("install `{name}` is gone")), "{err}");
    assert_eq!(recorded(&ns, name).await, None, "the parent is deleted");
    assert!(deployments.get_opt("web").await.expect("read").is_none());
    assert!(app_maps.get_opt("settings").await.expect("read").is_none());
    let namespaces: Api<Namespace> = Api::all(ns.client());
    assert!(
        namespaces
            .get_opt(&format!("{name}-empty"))
            .await
            .expect("read")
            .is_none()
    );
    let kept_ns = namespaces
        .get(&app)
        .await
        .expect("the namespace in use is kept");
    assert_eq!(part_of(kept_ns.metadata.labels.as_ref()), None);
    let crds: Api<DynamicObject> = Api::all_with(ns.client(), &crd_resource());
    let crd = crds
        .get(&format!("widgets.{name}.kfctl.test"))
        .await
        .expect("the CRD is kept");
    assert_eq!(part_of(crd.metadata.labels.as_ref()), None);
    assert!(widgets.get_opt("users").await.expect("read").is_some());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client(), name);
    let data = claims.get("data").await.expect("the claim is kept");
    assert_eq!(part_of(data.metadata.labels.as_ref()), None);

    // Applied again, the install adopts what was kept; `--purge` then takes everything.
    let again = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let purged = kfctl(&[
        "delete",
        "--name",
        name,
        "--yes",
        "--purge",
        "-o",
        "json",
        "--timeout",
        "3m",
    ]);
    assert!(purged.status.success(), "{}", text(&purged));
    let report: Value = serde_json::from_slice(&purged.stdout).expect("a JSON report");
    assert_eq!(report["totals"]["kept"], 0, "{report:#}");
    assert_eq!(report["totals"]["deleted"], 8, "{report:#}");
    assert!(claims.get_opt("data").await.expect("read").is_none());
    assert!(
        crds.get_opt(&format!("widgets.{name}.kfctl.test"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(namespaces.get_opt(&app).await.expect("read").is_none());
    assert_eq!(recorded(&ns, name).await, None);
}

#[tokio::test]
async fn an_object_held_by_a_finalizer_is_named_and_stays_in_the_inventory() {
    let ns = cluster().namespace("delete-stuck").await;
    let name = ns.name();
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: held, namespace: {name}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: free, namespace: {name}}}\n"
    ));
    let applied = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["kfctl.test/hold"]}})),
    )
    .await
    .expect("add a finalizer");

    let out = kfctl(&["delete", "--name", name, "--yes", "--timeout", "30s"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "ConfigMap/{name}/held: held by finalizer `kfctl.test/hold`"
        )),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(
        recorded(&ns, name).await,
        Some(BTreeSet::from([format!("ConfigMap/{name}/held")])),
        "what is left stays recorded"
    );

    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    let out = kfctl(&["delete", "--name", name, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(recorded(&ns, name).await, None);
    assert!(maps.get_opt("held").await.expect("read").is_none());
}
