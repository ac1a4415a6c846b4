//! kfctl's cluster client (`kfctl::cluster::Cluster`): it connects through a kubeconfig context,
//! resolves kinds from discovery (cached, refreshed after a CRD is created), and names what went
//! wrong when the context is missing, the server is down, or the server refuses the credentials
//! or the request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kfctl::cluster::{Cluster, ClusterError, Scope};
use kfctl::errors::{ErrorClass, classify, render_chain};
use kfctl::resource::{Gvk, ResId};
use kube::api::{Api, PostParams};
use kube::config::Kubeconfig;

use crate::cluster::{cluster, eventually};

async fn connect() -> Cluster {
    Cluster::connect(Some(cluster().kubeconfig()), None)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with the harness kubeconfig: {e}"))
}

/// A kubeconfig with one context, `context`, for `server`, trusting the harness cluster's CA and
/// authenticating with `token`.
fn kubeconfig_with(dir: &Path, context: &str, server: &str, token: &str) -> PathBuf {
    let harness = Kubeconfig::read_from(cluster().kubeconfig()).expect("the harness kubeconfig");
    let ca = harness
        .clusters
        .iter()
        .find_map(|c| c.cluster.as_ref()?.certificate_authority_data.clone())
        .expect("the harness kubeconfig embeds its CA");
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    });
    let path = dir.join(format!("{context}.kubeconfig"));
    std::fs::write(&path, config.to_string()).expect("write a kubeconfig");
    path
}

fn harness_server() -> String {
    let harness = Kubeconfig::read_from(cluster().kubeconfig()).expect("the harness kubeconfig");
    harness
        .clusters
        .iter()
        .find_map(|c| c.cluster.as_ref()?.server.clone())
        .expect("the harness kubeconfig names its server")
}

/// How `kfctl` would print the error, and the exit class it gets.
fn as_printed(err: ClusterError) -> (Vec<String>, Vec<String>, ErrorClass) {
    let err = anyhow::Error::new(err);
    let (chain, hints) = render_chain(err.as_ref());
    (chain, hints, classify(err.as_ref()))
}

#[tokio::test]
async fn resolves_core_apps_and_custom_kinds() {
    let ns = cluster().namespace("resolve").await;
    let kfctl = connect().await;
    let version = kfctl.server_version().await.expect("the server version");
    assert!(version.starts_with("v1."), "server version {version}");

    let config_map = kfctl
        .resolve(&Gvk::new("", "v1", "ConfigMap"))
        .await
        .expect("v1 ConfigMap is served");
    assert_eq!(config_map.resource.plural, "configmaps");
    assert_eq!(config_map.scope, Scope::Namespaced);
    let deployment = kfctl
        .resolve(&Gvk::new("apps", "v1", "Deployment"))
        .await
        .expect("apps/v1 Deployment is served");
    assert_eq!(deployment.resource.plural, "deployments");
    assert_eq!(deployment.resource.api_version, "apps/v1");
    assert_eq!(deployment.scope, Scope::Namespaced);
    let role = kfctl
        .resolve(&Gvk::new("rbac.authorization.k8s.io", "v1", "ClusterRole"))
        .await
        .expect("ClusterRole is served");
    assert_eq!(role.scope, Scope::Cluster);

    // A version the group does not serve: the error names the one it does.
    let err = kfctl
        .resolve(&Gvk::new("apps", "v1beta9", "Deployment"))
        .await
        .expect_err("apps/v1beta9 is not served");
    let (chain, hints, class) = as_printed(err);
    assert_eq!(chain, ["no API serves apps/v1beta9 Deployment"]);
    assert_eq!(
        hints,
        ["the cluster serves `Deployment` as `apps/v1`; change the object's `apiVersion`"]
    );
    assert_eq!(class, ErrorClass::User);

    // A kind whose CRD does not exist yet, then does.
    let group = format!("{}.kfctl.test", ns.name());
    let gvk = Gvk::new(&group, "v1", "Gizmo");
    let err = kfctl.resolve(&gvk).await.expect_err("no CRD yet");
    let (chain, hints, _) = as_printed(err);
    assert_eq!(chain, [format!("no API serves {group}/v1 Gizmo")]);
    assert!(hints[0].contains("CustomResourceDefinition"), "{hints:?}");

    let crd_name = format!("gizmos.{group}");
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client());
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    }))
    .expect("a valid CRD");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("create the CRD");
    ns.delete_later(&format!("customresourcedefinition/{crd_name}"));
    eventually(
        &format!("CRD {crd_name} to be served"),
        Duration::from_secs(60),
        || async {
            let live = kfctl
                .get(&ResId::new(
                    Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
                    &crd_name,
                    "",
                ))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("not found")?;
            match kfctl::cluster::health(&live) {
                kfctl::cluster::Health::Current => Ok(()),
                other => Err(other.to_string()),
            }
        },
    )
    .await;

    // Discovery is cached: the new kind shows only after a refresh.
    assert!(
        matches!(kfctl.resolve(&gvk).await, Err(ClusterError::NoApi { .. })),
        "discovery was fetched again without a refresh"
    );
    let gizmo = eventually(
        "discovery to list the Gizmo kind",
        Duration::from_secs(30),
        || async {
            kfctl.refresh_discovery().await.map_err(|e| e.to_string())?;
            kfctl.resolve(&gvk).await.map_err(|e| e.to_string())
        },
    )
    .await;
    assert_eq!(gizmo.resource.plural, "gizmos");
    assert_eq!(gizmo.resource.api_version, format!("{group}/v1"));
    assert_eq!(gizmo.scope, Scope::Cluster);
}

#[tokio::test]
async fn wrong_context_names_the_contexts_there() {
    let kubeconfig = cluster().kubeconfig();
    let real = connect().await.context().to_owned();
    let err = Cluster::connect(Some(kubeconfig), Some("no-such-context"))
        .await
        .expect_err("an unknown context");
    let (chain, hints, class) = as_printed(err);
    assert_eq!(
        chain,
        [format!(
            "context `no-such-context` is not in kubeconfig `{}`",
            kubeconfig.display()
        )]
    );
    assert_eq!(hints, [format!("the contexts there are `{real}`")]);
    assert_eq!(class, ErrorClass::User);

    let missing = Path::new("/nonexistent/kubeconfig");
    let err = Cluster::connect(Some(missing), None)
        .await
        .expect_err("a missing kubeconfig");
    let (chain, _, class) = as_printed(err);
    assert_eq!(
        chain,
        ["kubeconfig `/nonexistent/kubeconfig` does not exist"]
    );
    assert_eq!(class, ErrorClass::User);
}

#[tokio::test]
async fn unreachable_server_names_the_context() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = format!("https://127.0.0.1:{port}");
    let kubeconfig = kubeconfig_with(dir.path(), "elsewhere", &server, "unused");
    let kfctl = Cluster::connect(Some(&kubeconfig), None)
        .await
        .expect("connect makes no request");
    let err = kfctl
        .resolve(&Gvk::new("apps", "v1", "Deployment"))
        .await
        .expect_err("nothing answers");
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
    let (chain, hints, class) = as_printed(err);
    assert_eq!(
        chain[0],
        format!("cannot reach the API server {server} of context `elsewhere`")
    );
    assert!(
        chain.iter().any(|c| c.contains("Connection refused")),
        "the cause is kept: {chain:?}"
    );
    assert_eq!(
        hints,
        [format!(
            "check that the cluster is running and that context `elsewhere` in kubeconfig `{}` points to it (`kubectl --context elsewhere cluster-info`)",
            kubeconfig.display()
        )]
    );
    assert_eq!(class, ErrorClass::User);
}

#[tokio::test]
async fn rejected_credentials_and_missing_permissions_are_named() {
    let ns = cluster().namespace("refused").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = harness_server();

    let bogus = kubeconfig_with(dir.path(), "expired", &server, "not-a-valid-token");
    let kfctl = Cluster::connect(Some(&bogus), None).await.expect("connect");
    let err = kfctl.server_version().await.expect_err("a bogus token");
    let (chain, hints, class) = as_printed(err);
    assert_eq!(
        chain,
        [format!(
            "the API server {server} rejected the credentials of context `expired` (401 Unauthorized)"
        )]
    );
    assert!(
        hints[0].starts_with("the credentials have expired"),
        "{hints:?}"
    );
    assert_eq!(class, ErrorClass::User);

    // A service account with no role: authenticated, allowed discovery, refused the rest.
    let accounts: Api<ServiceAccount> = Api::namespaced(ns.client(), ns.name());
    let account: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "nobody"}}))
            .expect("a valid ServiceAccount");
    accounts
        .create(&PostParams::default(), &account)
        .await
        .expect("create the service account");
    let request: TokenRequest =
        serde_json::from_value(serde_json::json!({"spec": {"audiences": []}}))
            .expect("a valid TokenRequest");
    let token = accounts
        .create_token_request("nobody", &PostParams::default(), &request)
        .await
        .expect("a token for the service account")
        .status
        .expect("the token request's status")
        .token;
    let limited = kubeconfig_with(dir.path(), "limited", &server, &token);
    let kfctl = Cluster::connect(Some(&limited), None)
        .await
        .expect("connect");
    let id = ResId::new(Gvk::new("apps", "v1", "Deployment"), "web", ns.name());
    let err = kfctl.get(&id).await.expect_err("no permission to get");
    let (chain, hints, class) = as_printed(err);
    assert!(
        chain[0].starts_with(&format!(
            "the API server refused to get Deployment/{}/web (403 Forbidden): ",
            ns.name()
        )),
        "{chain:?}"
    );
    assert!(
        chain[0].contains(&format!(
            "User \"system:serviceaccount:{}:nobody\" cannot get resource \"deployments\"",
            ns.name()
        )),
        "the server's own words are kept: {chain:?}"
    );
    assert_eq!(
        hints,
        [format!(
            "the user of context `limited` needs permission to `get` `deployments.apps` in namespace `{ns}`; ask a cluster admin to grant it (`kubectl auth can-i get deployments.apps -n {ns} --context limited` checks it)",
            ns = ns.name()
        )]
    );
    assert_eq!(class, ErrorClass::User);
}
