//! `kfctl apply`, the real binary against the control plane: one pass for a CRD and its custom
//! resource, no write on a re-apply, the server's refusals and field-manager conflicts named,
//! no write without confirmation, and an inventory kubectl reads.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kfctl::cluster::inventory::{Inventory, LABEL_ID, LABEL_PART_OF};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;

pub(crate) use crate::kfctl_bin::text;

/// `kfctl ARGS --kubeconfig <the harness's>`, hermetic, stdin closed (not a terminal).
pub(crate) fn kfctl(args: &[&str]) -> Output {
    kfctl_bin::kfctl_on(cluster().kubeconfig(), args)
        .output()
        .expect("kfctl runs")
}

/// Stdout as the JSON it must be, or a failure showing the whole run.
pub(crate) fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)))
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A kustomization directory holding `objects` (a YAML stream).
pub(crate) fn kustomization(objects: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [objects.yaml]\n",
    )
    .expect("write the kustomization");
    std::fs::write(dir.path().join("objects.yaml"), objects).expect("write the objects");
    dir
}

pub(crate) fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("a UTF-8 temp path")
}

/// A CRD, a custom resource of it, a Namespace, a Deployment and a ConfigMap, all named after
/// the test's namespace.
fn sample(ns: &TestNamespace) -> String {
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
apiVersion: {name}.kfctl.test/v1
kind: Widget
metadata: {{name: small, namespace: {name}-app}}
spec: {{size: 3}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}-app}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10, resources: {{requests: {{cpu: 10m}}}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {name}-app}}
data: {{mode: fast}}
"#
    )
}

/// On a reused cluster, what the sample made goes with the test's namespace. (Inventories in
/// `kube-system` stay: `delete_later` takes cluster-scoped objects only.)
fn cleanup(ns: &TestNamespace) {
    let name = ns.name();
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));
    ns.delete_later(&format!("namespace/{name}-app"));
}

/// `resourceVersion` of every object the sample made, and of the inventory.
async fn versions(ns: &TestNamespace) -> BTreeMap<String, String> {
    let name = ns.name();
    let app = format!("{name}-app");
    let client = ns.client();
    let mut out = BTreeMap::new();
    let widget = ApiResource {
        group: format!("{name}.kfctl.test"),
        version: "v1".into(),
        api_version: format!("{name}.kfctl.test/v1"),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let crd = ApiResource {
        group: "apiextensions.k8s.io".into(),
        version: "v1".into(),
        api_version: "apiextensions.k8s.io/v1".into(),
        kind: "CustomResourceDefinition".into(),
        plural: "customresourcedefinitions".into(),
    };
    let namespace = ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&());
    let deployment = ApiResource::erase::<Deployment>(&());
    let config_map = ApiResource::erase::<ConfigMap>(&());
    let objects: Vec<(Api<DynamicObject>, String)> = vec![
        (
            Api::all_with(client.clone(), &crd),
            format!("widgets.{name}.kfctl.test"),
        ),
        (Api::all_with(client.clone(), &namespace), app.clone()),
        (
            Api::namespaced_with(client.clone(), &app, &widget),
            "small".into(),
        ),
        (
            Api::namespaced_with(client.clone(), &app, &deployment),
            "web".into(),
        ),
        (
            Api::namespaced_with(client.clone(), &app, &config_map),
            "settings".into(),
        ),
        (
            Api::namespaced_with(client.clone(), "kube-system", &config_map),
            format!("kfctl-{name}"),
        ),
    ];
    for (api, object) in objects {
        let live = api
            .get(&object)
            .await
            .unwrap_or_else(|e| panic!("cannot read {object}: {e}"));
        out.insert(
            format!(
                "{}/{object}",
                live.types.map(|t| t.kind).unwrap_or_default()
            ),
            live.metadata.resource_version.unwrap_or_default(),
        );
    }
    out
}

#[tokio::test]
async fn a_crd_and_its_resources_install_in_one_pass_and_a_reapply_writes_nothing() {
    let ns = cluster().namespace("apply").await;
    cleanup(&ns);
    let dir = kustomization(&sample(&ns));
    let name = ns.name();

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
    let err = stderr(&first);
    assert!(
        err.contains("5 created, 0 configured, 0 unchanged"),
        "{err}"
    );
    assert!(err.contains("everything is healthy"), "{err}");
    assert!(
        err.contains(&format!("created Widget/{name}-app/small")),
        "{err}"
    );

    // Healthy means what health.rs says; check the Deployment independently.
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), &format!("{name}-app"));
    let web = deployments.get("web").await.expect("the Deployment exists");
    let status = web.status.unwrap_or_default();
    assert_eq!(status.available_replicas, Some(2), "{status:?}");
    let labels = web.metadata.labels.unwrap_or_default();
    let inventory = Inventory::new(name);
    assert_eq!(labels.get(LABEL_PART_OF), Some(&inventory.id));

    let before = versions(&ns).await;
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
        err.contains("0 created, 0 configured, 5 unchanged"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&second.stdout).expect("a JSON report");
    assert_eq!(report["totals"]["unchanged"], 5, "{report:#}");
    let actions: Vec<&str> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["unchanged"; 5]);
    assert_eq!(report["objects"][0]["wave"], "definitions");
    let after = versions(&ns).await;
    assert_eq!(before, after, "a re-apply changed resourceVersions");

    // A change is a configure of exactly that object.
    let changed = sample(&ns).replace("mode: fast", "mode: safe");
    std::fs::write(dir.path().join("objects.yaml"), changed).expect("rewrite");
    let third = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert!(third.status.success(), "{}", text(&third));
    let err = stderr(&third);
    assert!(
        err.contains("0 created, 1 configured, 4 unchanged"),
        "{err}"
    );
    assert!(
        err.contains(&format!("configured ConfigMap/{name}-app/settings")),
        "{err}"
    );

    // A re-apply reads the install by listing each kind once and skips what is recorded and
    // still live as it was sent; what changed on the cluster since is still found.
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), &format!("{name}-app"));
    maps.delete("settings", &Default::default())
        .await
        .expect("delete the ConfigMap");
    let fourth = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert!(fourth.status.success(), "{}", text(&fourth));
    let err = stderr(&fourth);
    assert!(
        err.contains("1 created, 0 configured, 4 unchanged"),
        "{err}"
    );
    deployments
        .patch(
            "web",
            &PatchParams::apply("scaler").force(),
            &Patch::Apply(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web"}, "spec": {"replicas": 3},
            })),
        )
        .await
        .expect("another manager takes the replicas");
    let fifth = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert_eq!(fifth.status.code(), Some(1), "{}", text(&fifth));
    let err = stderr(&fifth);
    assert!(
        err.contains(&format!("Deployment/{name}-app/web")) && err.contains("`scaler`"),
        "{err}"
    );
}

/// A re-apply knows a recorded CRD unchanged from its metadata and generation alone; a change
/// to its spec (which bumps the generation) or to its labels is still found.
#[tokio::test]
async fn a_crd_changed_on_the_cluster_is_found_by_a_reapply() {
    let ns = cluster().namespace("apply-crd-edit").await;
    cleanup(&ns);
    let dir = kustomization(&sample(&ns));
    let name = ns.name();
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "-k", path(&dir), "--name", name, "--yes"];
        args.extend_from_slice(extra);
        kfctl(&args)
    };
    let first = apply(&["--timeout", "3m"]);
    assert!(first.status.success(), "{}", text(&first));
    let second = apply(&[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        stderr(&second).contains("0 created, 0 configured, 5 unchanged"),
        "{}",
        text(&second)
    );

    let crds: Api<DynamicObject> = Api::all_with(
        ns.client(),
        &ApiResource {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            plural: "customresourcedefinitions".into(),
        },
    );
    let crd_name = format!("widgets.{name}.kfctl.test");
    let size = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/size/type";
    // A hand edit of the schema, by an Update (as `kubectl edit` makes): the field changes
    // hands, so the re-apply names the editor rather than silently undoing it.
    let mut crd = crds.get(&crd_name).await.expect("the CRD");
    let mut body = serde_json::to_value(&crd).expect("JSON");
    *body.pointer_mut(size).expect("the size field") = Value::from("number");
    crd = serde_json::from_value(body).expect("a CRD");
    let params = kube::api::PostParams {
        field_manager: Some("hand-edit".into()),
        ..Default::default()
    };
    crds.replace(&crd_name, &params, &crd)
        .await
        .expect("edit the CRD");
    let third = apply(&[]);
    assert_eq!(third.status.code(), Some(1), "{}", text(&third));
    let err = stderr(&third);
    assert!(
        err.contains(&format!("CustomResourceDefinition/{crd_name}"))
            && err.contains("`hand-edit`"),
        "{err}"
    );
    let fourth = apply(&["--force-conflicts"]);
    assert!(fourth.status.success(), "{}", text(&fourth));
    assert!(
        stderr(&fourth).contains("0 created, 1 configured, 4 unchanged"),
        "{}",
        text(&fourth)
    );
    let live = serde_json::to_value(crds.get(&crd_name).await.expect("the CRD")).expect("JSON");
    assert_eq!(
        live.pointer(size),
        Some(&Value::from("integer")),
        "{live:#}"
    );

    // The install's own label taken off: no generation bump, found in the metadata.
    crds.patch(
        &crd_name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {LABEL_PART_OF: null}}})),
    )
    .await
    .expect("unlabel the CRD");
    let fifth = apply(&[]);
    assert!(fifth.status.success(), "{}", text(&fifth));
    assert!(
        stderr(&fifth).contains(&format!("configured CustomResourceDefinition/{crd_name}")),
        "{}",
        text(&fifth)
    );
    let sixth = apply(&[]);
    assert!(
        stderr(&sixth).contains("0 created, 0 configured, 5 unchanged"),
        "{}",
        text(&sixth)
    );
}

/// A custom resource whose CRD, in the same render, is never Established (its names clash with
/// another CRD's) fails at the deadline naming the CRD and what its status says; the objects
/// of other kinds go in meanwhile.
#[tokio::test]
async fn a_custom_resource_whose_crd_is_never_established_names_the_crd() {
    let ns = cluster().namespace("apply-crd-clash").await;
    let name = ns.name();
    let group = format!("{name}.kfctl.test");
    ns.delete_later(&format!("crd/widgets.{group}"));
    ns.delete_later(&format!("crd/gadgets.{group}"));
    let crd = |plural: &str, kind: &str, singular: &str| {
        format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.{group}}}
spec:
  group: {group}
  names: {{kind: {kind}, plural: {plural}, singular: {singular}}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"#
        )
    };
    // The CRD already there, holding the singular `widget`.
    let first = kustomization(&crd("widgets", "Widget", "widget"));
    let out = kfctl(&[
        "apply",
        "-k",
        path(&first),
        "--name",
        &format!("{name}-a"),
        "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let dir = kustomization(&format!(
        r#"{}---
apiVersion: {group}/v1
kind: Gadget
metadata: {{name: g, namespace: {name}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: plain, namespace: {name}}}
data: {{a: b}}
"#,
        crd("gadgets", "Gadget", "widget")
    ));
    let out = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "8s",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("Gadget/{name}/g"))
            && err.contains(&format!("CRD `gadgets.{group}` was not Established"))
            && err.contains("SingularConflict"),
        "{err}"
    );
    assert!(
        err.contains(&format!("kubectl describe crd gadgets.{group}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("created ConfigMap/{name}/plain")),
        "{err}"
    );
}

#[tokio::test]
async fn an_invalid_object_is_named_with_the_servers_message() {
    let ns = cluster().namespace("apply-invalid").await;
    let name = ns.name();
    let dir = kustomization(&format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: fine, namespace: {name}}}
data: {{a: b}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: broken, namespace: {name}}}
spec:
  replicas: -1
  selector: {{matchLabels: {{app: broken}}}}
  template:
    metadata: {{labels: {{app: broken}}}}
    spec: {{containers: [{{name: c, image: registry.k8s.io/pause:3.10}}]}}
"#
    ));
    let out = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("Deployment/{name}/broken")), "{err}");
    assert!(err.contains("objects.yaml:"), "the origin is named: {err}");
    assert!(
        err.contains("spec.replicas: Invalid value: -1"),
        "the server's message: {err}"
    );
    assert!(err.contains("422"), "{err}");
}

#[tokio::test]
async fn a_field_owned_by_another_manager_is_taken_only_with_force_conflicts() {
    let ns = cluster().namespace("apply-conflict").await;
    let name = ns.name();
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    maps.patch(
        "settings",
        &PatchParams::apply("other-tool"),
        &Patch::Apply(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"}, "data": {"mode": "fast"},
        })),
    )
    .await
    .expect("another manager applies first");
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {name}}}\ndata: {{mode: safe}}\n"
    ));

    let out = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("ConfigMap/{name}/settings")), "{err}");
    assert!(err.contains("owned by `other-tool`"), "{err}");
    assert!(err.contains("`--force-conflicts`"), "{err}");
    let live = maps.get("settings").await.expect("still there");
    assert_eq!(live.data.unwrap_or_default()["mode"], "fast");

    let out = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--force-conflicts",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let live = maps.get("settings").await.expect("still there");
    assert_eq!(live.data.unwrap_or_default()["mode"], "safe");
}

#[tokio::test]
async fn without_a_terminal_nothing_is_applied_unless_yes() {
    let ns = cluster().namespace("apply-confirm").await;
    let name = ns.name();
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: untouched, namespace: {name}}}\n"
    ));
    let out = kfctl(&["apply", "-k", path(&dir), "--name", name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("stdin is not a terminal"), "{err}");
    assert!(err.contains("`--yes`"), "{err}");
    // The target is named before anything else.
    assert!(err.contains("target: context `"), "{err}");
    assert!(err.contains("server https://"), "{err}");
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    assert!(maps.get_opt("untouched").await.expect("a read").is_none());
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    assert!(
        parents
            .get_opt(&format!("kfctl-{name}"))
            .await
            .expect("a read")
            .is_none(),
        "no inventory without confirmation"
    );
}

/// kubectl computes the same ApplySet id for the parent kfctl writes, so `kubectl apply
/// --applyset` recognises the parent (and refuses it, as made by other tooling).
#[tokio::test]
async fn kubectl_computes_the_same_applyset_id() {
    let ns = cluster().namespace("apply-applyset").await;
    let name = ns.name();
    let probe = format!("{name}-probe");
    // kubectl wants the members of a namespaced parent in the parent's namespace.
    let member = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-member, namespace: kube-system}}\n"
    ));
    let kubectl = |args: &[&str]| {
        Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(cluster().kubeconfig())
            .args(args)
            .env("KUBECTL_APPLYSET", "true")
            .stdin(Stdio::null())
            .output()
            .expect("kubectl runs")
    };
    let out = kubectl(&[
        "apply",
        "--server-side",
        "--prune",
        &format!("--applyset=configmap/kfctl-{probe}"),
        "-n",
        "kube-system",
        "-f",
        &member.path().join("objects.yaml").display().to_string(),
    ]);
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    let parent = parents
        .get_opt(&format!("kfctl-{probe}"))
        .await
        .expect("a read");
    let labels = parent
        .unwrap_or_else(|| panic!("kubectl made no parent: {}", text(&out)))
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get(LABEL_ID),
        Some(&Inventory::new(&probe).id),
        "{}",
        text(&out)
    );

    // And kubectl reads kfctl's parent: it names kfctl as its tooling.
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-mine, namespace: kube-system}}\n"
    ));
    let applied = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let out = kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "--prune",
        &format!("--applyset=configmap/kfctl-{name}"),
        "-n",
        "kube-system",
        "-f",
        &dir.path().join("objects.yaml").display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("managed by tooling \"kfctl\""),
        "{}",
        text(&out)
    );
}

fn kubectl_path() -> &'static Path {
    Path::new("/usr/bin/kubectl")
}
