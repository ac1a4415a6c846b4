//! `kfctl apply`'s preflight and bad inputs, the real binary against the control plane: a user
//! with a narrow Role sees every permission it lacks, an unreachable server, a rejected token
//! and an unknown context are each named, a platform whose storage class and CRDs the cluster
//! lacks is refused; each exits 1 having written nothing. Also: an install recorded from
//! another platform is refused unless `--take-over`.

use std::path::{Path, PathBuf};
use std::process::Output;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use kube::config::Kubeconfig;
use serde_json::{Value, json};

use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;
use crate::kubeflow_corpus;

use crate::apply::{kfctl, text};

/// `kfctl ARGS --kubeconfig KUBECONFIG`, hermetic, stdin closed (not a terminal).
pub fn kfctl_with(kubeconfig: &Path, args: &[&str]) -> Output {
    kfctl_bin::kfctl_on(kubeconfig, args)
        .output()
        .expect("kfctl runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A kustomization directory holding `objects` (a YAML stream).
pub fn kustomization(objects: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [objects.yaml]\n",
    )
    .expect("write the kustomization");
    std::fs::write(dir.path().join("objects.yaml"), objects).expect("write the objects");
    dir
}

pub fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("a UTF-8 temp path")
}

/// Whether ConfigMap `name` exists in `namespace`.
pub async fn config_map_exists(ns: &TestNamespace, namespace: &str, name: &str) -> bool {
    let api: Api<ConfigMap> = Api::namespaced(ns.client(), namespace);
    api.get_opt(name).await.expect("a read").is_some()
}

/// Whether the install's Lease exists.
pub async fn lease_exists(ns: &TestNamespace, install: &str) -> bool {
    let api: Api<Lease> = Api::namespaced(ns.client(), "kube-system");
    api.get_opt(&format!("kfctl-{install}"))
        .await
        .expect("a read")
        .is_some()
}

/// The harness kubeconfig's cluster entry (server and CA) with `user` for credentials, as the
/// only context `test`, written to `dir`.
fn kubeconfig_as(dir: &Path, user: Value, server: Option<&str>) -> PathBuf {
    let harness = Kubeconfig::read_from(cluster().kubeconfig()).expect("the harness kubeconfig");
    let named = harness.clusters.first().expect("a cluster entry");
    let mut entry = serde_json::to_value(named).expect("a cluster entry as JSON");
    if let Some(server) = server {
        entry["cluster"] = json!({"server": server, "insecure-skip-tls-verify": true});
    }
    entry["name"] = json!("test");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [entry],
        "users": [{"name": "test", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
        "current-context": "test",
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, config.to_string()).expect("write a kubeconfig");
    path
}

/// A ServiceAccount `narrow` in the test's namespace that may only read ConfigMaps there.
async fn narrow_service_account_token(ns: &TestNamespace) -> String {
    let name = ns.name();
    let accounts: Api<ServiceAccount> = Api::namespaced(ns.client(), name);
    let account: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "narrow"}})).expect("an account");
    accounts
        .create(&PostParams::default(), &account)
        .await
        .expect("create the ServiceAccount");
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "narrow"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    }))
    .expect("a Role");
    Api::<Role>::namespaced(ns.client(), name)
        .create(&PostParams::default(), &role)
        .await
        .expect("create the Role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "narrow"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "narrow"},
        "subjects": [{"kind": "ServiceAccount", "name": "narrow", "namespace": name}],
    }))
    .expect("a RoleBinding");
    Api::<RoleBinding>::namespaced(ns.client(), name)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the RoleBinding");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let answer = accounts
        .create_token_request("narrow", &PostParams::default(), &request)
        .await
        .expect("a token for the ServiceAccount");
    answer.status.expect("the token request's status").token
}

#[tokio::test]
async fn a_narrow_role_sees_every_missing_permission_and_nothing_is_written() {
    let ns = cluster().namespace("preflight-rbac").await;
    let name = ns.name();
    let token = narrow_service_account_token(&ns).await;
    let home = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = kubeconfig_as(home.path(), json!({"token": token}), None);
    let dir = kustomization(&format!(
        r#"apiVersion: v1
kind: Namespace
metadata: {{name: {name}-other}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {name}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: registry.k8s.io/pause:3.10}}]}}
"#
    ));

    let out = kfctl_with(
        &kubeconfig,
        &["apply", "-k", path(&dir), "--name", name, "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("preflight found 1 problem on context `test`"),
        "{err}"
    );
    // Every missing permission at once; `get` on ConfigMaps, which the Role grants, is not one.
    for line in [
        format!("`create`, `patch` `configmaps` in namespace `{name}`"),
        format!("`create`, `get`, `patch` `deployments.apps` in namespace `{name}`"),
        "`create`, `get`, `patch` `namespaces` cluster-wide".to_owned(),
        "`create`, `get`, `patch` `configmaps` in namespace `kube-system`".to_owned(),
        "`create`, `delete`, `get`, `update` `leases.coordination.k8s.io` in namespace `kube-system`".to_owned(),
    ] {
        assert!(err.contains(&line), "missing `{line}`:\n{err}");
    }
    assert!(err.contains("lacks 15 permissions"), "{err}");
    assert!(err.contains("kubectl auth can-i --list"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");

    assert!(
        !config_map_exists(&ns, name, "settings").await,
        "nothing applied"
    );
    assert!(
        !config_map_exists(&ns, "kube-system", &format!("kfctl-{name}")).await,
        "no inventory"
    );
    assert!(!lease_exists(&ns, name).await, "no lock taken");

    // A dry run needs no lock, so it is not asked for.
    let out = kfctl_with(
        &kubeconfig,
        &["apply", "-k", path(&dir), "--name", name, "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("lacks 11 permissions"), "{err}");
    assert!(!err.contains("leases"), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let home = tempfile::tempdir().expect("a temp dir");
    let server = format!("https://127.0.0.1:{port}");
    let kubeconfig = kubeconfig_as(home.path(), json!({"token": "t"}), Some(&server));
    let dir =
        kustomization("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n");
    let out = kfctl_with(&kubeconfig, &["apply", "-k", path(&dir), "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot reach the API server {server} of context `test`"
        )),
        "{err}"
    );
    assert!(err.contains("check that the cluster is running"), "{err}");
}

#[tokio::test]
async fn a_rejected_token_names_the_credentials() {
    let ns = cluster().namespace("preflight-token").await;
    let home = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = kubeconfig_as(home.path(), json!({"token": "not-a-valid-token"}), None);
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, namespace: {}}}\n",
        ns.name()
    ));
    let out = kfctl_with(&kubeconfig, &["apply", "-k", path(&dir), "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("rejected the credentials of context `test` (401 Unauthorized)"),
        "{err}"
    );
    assert!(
        err.contains(&format!("refresh kubeconfig `{}`", kubeconfig.display())),
        "{err}"
    );
    assert!(!config_map_exists(&ns, ns.name(), "x").await);
}

#[tokio::test]
async fn an_unknown_context_lists_the_ones_there() {
    let harness = Kubeconfig::read_from(cluster().kubeconfig()).expect("the harness kubeconfig");
    let dir =
        kustomization("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n");
    let out = kfctl(&["apply", "-k", path(&dir), "--yes", "--context", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("context `nope` is not in kubeconfig"), "{err}");
    for context in &harness.contexts {
        assert!(err.contains(&format!("`{}`", context.name)), "{err}");
    }
}

/// The gcp platform on a cluster that is not GKE: its storage class and the CRDs GKE provides
/// are missing, and both are listed before anything is written.
#[tokio::test]
async fn a_platform_whose_storage_class_and_crds_are_missing_is_refused() {
    let ns = cluster().namespace("preflight-gcp").await;
    let name = ns.name();
    let source = format!(
        "kubeflow-manifests={}",
        kubeflow_corpus::release("latest").display()
    );
    let out = kfctl(&[
        "apply",
        "-p",
        "gcp",
        "--source",
        &source,
        "--set",
        "project=kf-test-project",
        "--set",
        "domain=kubeflow.example.com",
        "--set",
        "gcsBucket=kf-test-artifacts",
        "--set",
        "workloadIdentityServiceAccount=kubeflow@kf-test-project.iam.gserviceaccount.com",
        "--name",
        name,
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("preflight found"), "{err}");
    assert!(
        err.contains("storage class `standard-rwo` does not exist (the cluster has `standard`)"),
        "{err}"
    );
    assert!(err.contains("`--set storageClass=NAME`"), "{err}");
    // The platforms test makes stand-ins of these CRDs on this shared cluster; while it has not
    // (or once it removed them), they are named.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(ns.client());
    let stand_ins = crds
        .get_opt("backendconfigs.cloud.google.com")
        .await
        .expect("read the CRD")
        .is_some();
    if !stand_ins {
        assert!(
            err.contains(
                "`backendconfigs.cloud.google.com`, `managedcertificates.networking.gke.io`"
            ),
            "{err}"
        );
    }
    assert!(
        !config_map_exists(&ns, "kube-system", &format!("kfctl-{name}")).await,
        "no inventory"
    );
    assert!(!lease_exists(&ns, name).await, "no lock taken");
}

/// An install recorded from a platform is not overwritten by a kustomization of the same name,
/// unless `--take-over`.
#[tokio::test]
async fn an_install_from_another_platform_is_refused_unless_taken_over() {
    let ns = cluster().namespace("preflight-foreign").await;
    let name = ns.name();
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    let parent: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": format!("kfctl-{name}")},
        "data": {"platform": "gcp", "release": "1.11.0", "appliedAt": "2026-01-01T00:00:00Z"},
    }))
    .expect("a ConfigMap");
    parents
        .create(&PostParams::default(), &parent)
        .await
        .expect("a recorded install");
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: mine, namespace: {name}}}\n"
    ));

    let out = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "install `{name}` on context `{}` was applied from platform `gcp`, not from a kustomization (`-k`)",
            context_name()
        )),
        "{err}"
    );
    assert!(err.contains("`--take-over`"), "{err}");
    assert!(!config_map_exists(&ns, name, "mine").await);

    let out = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--take-over",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(config_map_exists(&ns, name, "mine").await);
    let recorded = parents
        .get(&format!("kfctl-{name}"))
        .await
        .expect("the inventory");
    assert_eq!(recorded.data.unwrap_or_default()["platform"], "");
    // Now it is a kustomization's: applying it again needs nothing more.
    let out = kfctl(&["apply", "-k", path(&dir), "--name", name, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
}

fn context_name() -> String {
    Kubeconfig::read_from(cluster().kubeconfig())
        .expect("the harness kubeconfig")
        .current_context
        .expect("a current context")
}
