//! The project's GPU manifests (`manifests/gpu/<variant>/`), rendered by `kfctl build`, are
//! accepted by the API server, and the device plugin variants land on exactly the simulated GPU
//! nodes (which carry `nvidia.com/gpu.present`, `k8s.amazonaws.com/accelerator` and
//! `kubernetes.azure.com/accelerator`, as GPU nodes of the platforms do). GKE's driver
//! installers select GKE node images (`cloud.google.com/gke-os-distribution`), which no simulated
//! node has, so they are accepted and scheduled nowhere.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};

use crate::cluster::{cluster, eventually};
use crate::kfctl_bin;

/// The DaemonSets of `manifests/gpu/<variant>` as `kfctl build` renders them.
fn daemonsets(variant: &str) -> Vec<DaemonSet> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("manifests/gpu")
        .join(variant);
    let out = kfctl_bin::command()
        .arg("build")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kfctl: {e}"));
    assert!(
        out.status.success(),
        "kfctl cannot build `{}`: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout))
            .unwrap_or_else(|e| panic!("kfctl's output for `{variant}` does not parse: {e}"));
    let sets: Vec<DaemonSet> = docs
        .into_iter()
        .filter(|d| d["kind"] == "DaemonSet")
        .map(|d| {
            serde_json::from_value(d)
                .unwrap_or_else(|e| panic!("a DaemonSet of `{variant}` is not one: {e}"))
        })
        .collect();
    assert!(!sets.is_empty(), "`{variant}` renders no DaemonSet");
    sets
}

async fn gpu_nodes(nodes: &Api<Node>) -> BTreeSet<String> {
    let gpu: BTreeSet<String> = nodes
        .list(&ListParams::default().labels("nvidia.com/gpu.present=true"))
        .await
        .unwrap_or_else(|e| panic!("cannot list nodes: {e}"))
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(
        gpu.len() >= 2,
        "expected at least 2 GPU nodes, found {gpu:?}"
    );
    gpu
}

/// Creates the variant's DaemonSets in a test namespace (the manifests name kube-system, which
/// tests must not touch) and returns the nodes each one's pods run on.
async fn run_variant(variant: &str) -> Vec<(String, BTreeSet<String>)> {
    let ns = cluster().namespace(&format!("gpu-{variant}")).await;
    let api: Api<DaemonSet> = Api::namespaced(ns.client(), ns.name());
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let mut placed = Vec::new();
    for mut ds in daemonsets(variant) {
        ds.metadata.namespace = Some(ns.name().to_owned());
        let name = ds.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &ds)
            .await
            .unwrap_or_else(|e| {
                panic!("the API server refuses DaemonSet `{name}` of `{variant}`: {e}")
            });
        let desired = eventually(
            &format!("DaemonSet {name} to be reconciled"),
            Duration::from_secs(90),
            || async {
                let ds = api.get(&name).await.map_err(|e| e.to_string())?;
                let status = ds.status.unwrap_or_default();
                if status.observed_generation.is_some()
                    && status.number_ready == status.desired_number_scheduled
                {
                    Ok(status.desired_number_scheduled)
                } else {
                    Err(format!("{status:?}"))
                }
            },
        )
        .await;
        let selector = ds
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let on: BTreeSet<String> = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap_or_else(|e| panic!("cannot list pods: {e}"))
            .items
            .into_iter()
            .filter_map(|p| p.spec?.node_name)
            .collect();
        assert_eq!(
            usize::try_from(desired).unwrap_or(usize::MAX),
            on.len(),
            "DaemonSet {name}: one pod per selected node"
        );
        placed.push((name, on));
    }
    placed
}

#[tokio::test]
async fn device_plugin_variants_run_exactly_on_the_gpu_nodes() {
    let gpu = gpu_nodes(&Api::all(cluster().client().await)).await;
    for variant in ["nvidia-device-plugin", "eks", "aks", "onprem"] {
        let placed = run_variant(variant).await;
        assert_eq!(placed.len(), 1, "`{variant}` has one DaemonSet");
        assert_eq!(
            placed[0].1, gpu,
            "nodes running the `{variant}` device plugin"
        );
    }
}

#[tokio::test]
async fn gke_driver_installers_are_accepted_and_select_only_gke_images() {
    let placed = run_variant("gke-driver-installer").await;
    let names: BTreeSet<&str> = placed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "nvidia-driver-installer-cos",
            "nvidia-driver-installer-ubuntu"
        ])
    );
    for (name, on) in &placed {
        assert!(
            on.is_empty(),
            "{name} runs on {on:?}, which are not GKE nodes"
        );
    }
}
