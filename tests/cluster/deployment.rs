//! The controller-manager, the scheduler and kwok really work: a Deployment's
//! pods are created, bound to simulated nodes and reported Running and Ready.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};

use crate::cluster::{cluster, eventually};

#[tokio::test]
async fn deployment_reaches_two_ready_replicas() {
    let ns = cluster().namespace("deployment").await;
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), ns.name());
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }]},
            },
        },
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let status = eventually(
        "deployment web to report 2 ready replicas",
        Duration::from_secs(120),
        || async {
            let d = deployments.get("web").await.map_err(|e| e.to_string())?;
            let status = d.status.unwrap_or_default();
            if status.ready_replicas == Some(2) && status.available_replicas == Some(2) {
                Ok(status)
            } else {
                Err(format!("{status:?}"))
            }
        },
    )
    .await;
    assert_eq!(status.replicas, Some(2));
    assert_eq!(status.updated_replicas, Some(2));

    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pods = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 2, "pods of deployment web");
    let nodes: Api<Node> = Api::all(ns.client());
    let node_names: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    for pod in &pods.items {
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        let node = node.unwrap_or_else(|| panic!("pod {name} is not bound to a node"));
        assert!(
            node_names.contains(&node),
            "pod {name} on unknown node {node}"
        );
        let status = pod.status.as_ref().unwrap();
        assert_eq!(
            status.phase.as_deref(),
            Some("Running"),
            "phase of pod {name}"
        );
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        assert!(ready, "pod {name} is not Ready: {:?}", status.conditions);
    }
}
