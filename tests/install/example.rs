//! `kfctl apply -k` with the upstream `example/` kustomization of the Kubeflow manifests, the
//! real binary, on a control plane of its own (a test binary of its own, because the install is
//! cluster-wide and must not meet the `local` platform's): one invocation installs it, every
//! Deployment, StatefulSet and DaemonSet becomes available, and a second apply writes nothing.
//!
//! No pod of the simulated cluster runs a webhook server, so the test's overlay sets
//! `failurePolicy: Ignore` on every webhook of the render, as the `local` platform does.
//!
//! With `KFCTL_TEST_KUBECONFIG` this installs Kubeflow on that cluster: use a throwaway one.

#[path = "../support/cluster.rs"]
mod cluster;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kfctl::render::{self, RealFs};
use kube::api::{Api, ListParams};

use crate::cluster::cluster;
use crate::kfctl_bin::text;

/// A kustomization that takes `example` whole and patches `failurePolicy: Ignore` into each
/// webhook of each webhook configuration, found by rendering `example` with kfctl's engine.
fn overlay(example: &Path) -> tempfile::TempDir {
    let rendered = render::build(&RealFs, example).expect("the example renders");
    let mut patches = String::new();
    for res in rendered.resources.iter() {
        if !matches!(
            res.kind(),
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
        ) {
            continue;
        }
        let hooks = res.body["webhooks"].as_array().map_or(0, Vec::len);
        let ops: Vec<String> = (0..hooks)
            .map(|i| {
                format!(
                    r#"{{"op": "add", "path": "/webhooks/{i}/failurePolicy", "value": "Ignore"}}"#
                )
            })
            .collect();
        write!(
            patches,
            "- target: {{kind: {}, name: {}}}\n  patch: '[{}]'\n",
            res.kind(),
            res.name(),
            ops.join(", ")
        )
        .expect("write to a string");
    }
    assert!(!patches.is_empty(), "the example has no webhooks to patch");
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- {}\npatches:\n{patches}",
            example.display()
        ),
    )
    .expect("write the overlay");
    dir
}

fn apply(dir: &Path) -> Output {
    kfctl_bin::command()
        .args(["apply", "-k"])
        .arg(dir)
        .args(["--name", "example", "--yes", "--timeout", "15m"])
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .output()
        .expect("kfctl runs")
}

/// `Kind/namespace/name` → (resourceVersion, available as the API server reports it) of every
/// Deployment, StatefulSet and DaemonSet.
async fn workloads(client: &kube::Client) -> BTreeMap<String, (String, bool)> {
    let mut out = BTreeMap::new();
    let key = |kind: &str, m: &kube::api::ObjectMeta| {
        format!(
            "{kind}/{}/{}",
            m.namespace.clone().unwrap_or_default(),
            m.name.clone().unwrap_or_default()
        )
    };
    let version = |m: &kube::api::ObjectMeta| m.resource_version.clone().unwrap_or_default();
    let all = ListParams::default();
    for d in Api::<Deployment>::all(client.clone())
        .list(&all)
        .await
        .expect("list Deployments")
    {
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = d.status.as_ref().and_then(|s| s.available_replicas);
        let available = have.unwrap_or(0) >= want;
        out.insert(
            key("Deployment", &d.metadata),
            (version(&d.metadata), available),
        );
    }
    for s in Api::<StatefulSet>::all(client.clone())
        .list(&all)
        .await
        .expect("list StatefulSets")
    {
        let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = s.status.as_ref().and_then(|s| s.available_replicas);
        let available = have.unwrap_or(0) >= want;
        out.insert(
            key("StatefulSet", &s.metadata),
            (version(&s.metadata), available),
        );
    }
    for d in Api::<DaemonSet>::all(client.clone())
        .list(&all)
        .await
        .expect("list DaemonSets")
    {
        let status = d.status.clone().unwrap_or_default();
        let available = status.desired_number_scheduled > 0
            && status.number_available.unwrap_or(0) >= status.desired_number_scheduled;
        out.insert(
            key("DaemonSet", &d.metadata),
            (version(&d.metadata), available),
        );
    }
    out
}

#[tokio::test]
async fn the_upstream_example_installs_in_one_pass_and_a_reapply_writes_nothing() {
    let example = kubeflow_corpus::dir("kubeflow-manifests").join("example");
    let overlay = overlay(&example);

    let first = apply(overlay.path());
    assert!(first.status.success(), "{}", text(&first));
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("everything is healthy"), "{err}");
    assert!(err.contains(" created, 0 configured, 0 unchanged"), "{err}");

    let client = cluster().client().await;
    let before = workloads(&client).await;
    assert!(before.len() > 20, "{} workloads: {before:#?}", before.len());
    let not_available: Vec<&String> = before
        .iter()
        .filter(|(_, (_, available))| !available)
        .map(|(k, _)| k)
        .collect();
    assert!(
        not_available.is_empty(),
        "not available: {not_available:#?}"
    );

    let second = apply(overlay.path());
    assert!(second.status.success(), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("0 created, 0 configured, "), "{err}");
    let versions = |w: &BTreeMap<String, (String, bool)>| -> BTreeMap<String, String> {
        w.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect()
    };
    assert_eq!(
        versions(&before),
        versions(&workloads(&client).await),
        "a re-apply changed workloads"
    );
}
