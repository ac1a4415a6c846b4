//! GPU nodes: a DaemonSet selecting `nvidia.com/gpu.present=true` runs exactly on
//! the GPU nodes, and pods asking for `nvidia.com/gpu` are scheduled only where
//! the extended resource is allocatable (and stay Pending when none has enough).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, ListParams, PostParams};

use crate::cluster::{cluster, eventually};

const GPU_SELECTOR: &str = "nvidia.com/gpu.present=true";

async fn gpu_nodes(nodes: &Api<Node>) -> BTreeSet<String> {
    let gpu: BTreeSet<String> = nodes
        .list(&ListParams::default().labels(GPU_SELECTOR))
        .await
        .unwrap_or_else(|e| panic!("cannot list the nodes labelled {GPU_SELECTOR}: {e}"))
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

fn gpu_pod(name: &str, gpus: u32) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{
            "name": "cuda",
            "image": "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04",
            "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}},
        }]},
    }))
    .expect("a valid Pod")
}

#[tokio::test]
async fn gpu_nodes_advertise_gpus() {
    let client = cluster().client().await;
    let nodes: Api<Node> = Api::all(client);
    let all = nodes.list(&ListParams::default()).await.unwrap().items;
    let gpu = gpu_nodes(&nodes).await;
    assert!(
        all.len() >= gpu.len() + 3,
        "expected 3 CPU nodes besides {gpu:?}"
    );
    for node in &all {
        let name = node.metadata.name.clone().unwrap_or_default();
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.clone())
            .unwrap_or_default();
        if gpu.contains(&name) {
            assert_eq!(
                allocatable.get("nvidia.com/gpu"),
                Some(&Quantity("4".into())),
                "allocatable GPUs of {name}"
            );
            for (key, value) in [
                ("cloud.google.com/gke-accelerator", "nvidia-tesla-t4"),
                ("k8s.amazonaws.com/accelerator", "nvidia-tesla-t4"),
                ("kubernetes.azure.com/accelerator", "nvidia"),
            ] {
                assert_eq!(
                    labels.get(key).map(String::as_str),
                    Some(value),
                    "{key} on {name}"
                );
            }
        } else {
            assert!(
                !allocatable.contains_key("nvidia.com/gpu"),
                "CPU node {name} advertises GPUs"
            );
        }
    }
}

#[tokio::test]
async fn daemonset_with_gpu_selector_runs_exactly_on_gpu_nodes() {
    let ns = cluster().namespace("gpu-daemonset").await;
    let gpu = gpu_nodes(&Api::all(ns.client())).await;
    let daemonsets: Api<DaemonSet> = Api::namespaced(ns.client(), ns.name());
    let ds: DaemonSet = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "device-plugin"},
        "spec": {
            "selector": {"matchLabels": {"app": "device-plugin"}},
            "template": {
                "metadata": {"labels": {"app": "device-plugin"}},
                "spec": {
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                    "containers": [{"name": "plugin", "image": "registry.k8s.io/pause:3.10"}],
                },
            },
        },
    }))
    .unwrap();
    daemonsets
        .create(&PostParams::default(), &ds)
        .await
        .unwrap();

    let want = i32::try_from(gpu.len()).unwrap();
    eventually(
        "daemonset device-plugin to be ready on every GPU node",
        Duration::from_secs(120),
        || async {
            let ds = daemonsets
                .get("device-plugin")
                .await
                .map_err(|e| e.to_string())?;
            let s = ds.status.unwrap_or_default();
            if s.desired_number_scheduled == want && s.number_ready == want {
                Ok(())
            } else {
                Err(format!("{s:?}"))
            }
        },
    )
    .await;

    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pods = pods
        .list(&ListParams::default().labels("app=device-plugin"))
        .await
        .unwrap()
        .items;
    let on: BTreeSet<String> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect();
    assert_eq!(pods.len(), gpu.len(), "one pod per GPU node");
    assert_eq!(on, gpu, "nodes running the daemonset");
    for pod in &pods {
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        assert_eq!(phase.as_deref(), Some("Running"));
    }
}

#[tokio::test]
async fn gpu_request_is_scheduled_only_on_a_gpu_node() {
    let ns = cluster().namespace("gpu-pod").await;
    let gpu = gpu_nodes(&Api::all(ns.client())).await;
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    for i in 0..3 {
        pods.create(&PostParams::default(), &gpu_pod(&format!("train-{i}"), 1))
            .await
            .unwrap();
    }
    // More than any node has: must stay Pending, unschedulable.
    pods.create(&PostParams::default(), &gpu_pod("too-big", 5))
        .await
        .unwrap();

    for i in 0..3 {
        let name = format!("train-{i}");
        let node = eventually(
            &format!("pod {name} (1 GPU) to run"),
            Duration::from_secs(90),
            || async {
                let pod = pods.get(&name).await.map_err(|e| e.to_string())?;
                let node = pod.spec.and_then(|s| s.node_name);
                let phase = pod.status.and_then(|s| s.phase);
                match (node, phase.as_deref()) {
                    (Some(node), Some("Running")) => Ok(node),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
        assert!(
            gpu.contains(&node),
            "pod {name} ran on {node}, not a GPU node {gpu:?}"
        );
    }

    let reason = eventually(
        "pod too-big (5 GPUs) to be reported unschedulable",
        Duration::from_secs(60),
        || async {
            let pod = pods.get("too-big").await.map_err(|e| e.to_string())?;
            let status = pod.status.unwrap_or_default();
            let scheduled = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled")
                .cloned();
            match scheduled {
                Some(c) if c.status == "False" && c.reason.as_deref() == Some("Unschedulable") => {
                    Ok(c.message.unwrap_or_default())
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert!(
        reason.contains("Insufficient nvidia.com/gpu"),
        "scheduler message: {reason}"
    );
    let pod = pods.get("too-big").await.unwrap();
    assert_eq!(pod.spec.and_then(|s| s.node_name), None);
}
