//! kfctl's health rules (`kfctl::cluster::health`) on objects as the API server returns them:
//! in progress when just created, current once the controllers are done, failed when a rollout
//! cannot finish, with the reason a person needs.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kfctl::cluster::{Cluster, Health, health};
use kfctl::resource::{Gvk, ResId};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::{cluster, eventually};

async fn connect() -> Cluster {
    Cluster::connect(Some(cluster().kubeconfig()), None)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with the harness kubeconfig: {e}"))
}

/// Polls `id` until its health satisfies `done`, returning that health.
async fn health_until(
    kfctl: &Cluster,
    id: &ResId,
    what: &str,
    done: impl Fn(&Health) -> bool,
) -> Health {
    eventually(what, Duration::from_secs(120), || async {
        let live = kfctl
            .get(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{id} not found"))?;
        let h = health(&live);
        if done(&h) { Ok(h) } else { Err(h.to_string()) }
    })
    .await
}

/// Two replicas of a pod asking for `gpus` GPUs; a deadline of 2s when they cannot all fit.
fn deployment(name: &str, gpus: u32) -> Value {
    let deadline = if gpus > 4 { 2 } else { 600 };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": name,
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}},
                }]},
            },
        },
    })
}

#[tokio::test]
async fn deployment_is_in_progress_then_current() {
    let ns = cluster().namespace("health-rollout").await;
    let kfctl = connect().await;
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), ns.name());
    let created = deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("web", 0)).expect("a valid Deployment"),
        )
        .await
        .expect("create the Deployment");
    let created = serde_json::to_value(created).expect("the created Deployment as JSON");
    assert_eq!(
        health(&created),
        Health::InProgress("0 of 2 replicas created".to_owned()),
        "as the server returned it on create"
    );

    let id = ResId::new(Gvk::new("apps", "v1", "Deployment"), "web", ns.name());
    let done = health_until(&kfctl, &id, "Deployment web to be current", |h| {
        h.is_current()
    })
    .await;
    assert_eq!(done, Health::Current);
    let live = kfctl.get(&id).await.expect("get").expect("the Deployment");
    assert_eq!(live["status"]["availableReplicas"], 2, "{live:#}");
}

#[tokio::test]
async fn unschedulable_rollout_fails_and_its_pod_says_why() {
    let ns = cluster().namespace("health-stuck").await;
    let kfctl = connect().await;
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), ns.name());
    // More GPUs than any node has: the pods stay Pending, the rollout passes its deadline.
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("greedy", 64)).expect("a valid Deployment"),
        )
        .await
        .expect("create the Deployment");
    let id = ResId::new(Gvk::new("apps", "v1", "Deployment"), "greedy", ns.name());
    let failed = health_until(&kfctl, &id, "Deployment greedy to fail", |h| {
        matches!(h, Health::Failed(_))
    })
    .await;
    let Health::Failed(reason) = failed else {
        unreachable!("health_until returned a failure")
    };
    assert!(
        reason.starts_with("the rollout stalled: ProgressDeadlineExceeded: ")
            && reason.contains("has timed out progressing"),
        "{reason}"
    );

    let pods = kube::Api::<k8s_openapi::api::core::v1::Pod>::namespaced(ns.client(), ns.name())
        .list(&ListParams::default().labels("app=greedy"))
        .await
        .expect("list the pods");
    let pod = pods.items.first().expect("a pod of Deployment greedy");
    let pod = serde_json::to_value(pod).expect("the pod as JSON");
    match health(&pod) {
        Health::InProgress(reason) => assert!(
            reason.starts_with("not scheduled: Unschedulable: ")
                && reason.contains("Insufficient nvidia.com/gpu"),
            "{reason}"
        ),
        other => panic!("an unschedulable pod is {other:?}"),
    }
}

#[tokio::test]
async fn crd_is_in_progress_until_established() {
    let ns = cluster().namespace("health-crd").await;
    let kfctl = connect().await;
    let group = format!("{}.kfctl.test", ns.name());
    let name = format!("sprockets.{group}");
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "sprockets", "singular": "sprocket", "kind": "Sprocket"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    }))
    .expect("a valid CRD");
    let created = crds
        .create(&PostParams::default(), &crd)
        .await
        .expect("create the CRD");
    ns.delete_later(&format!("customresourcedefinition/{name}"));
    let created = serde_json::to_value(created).expect("the created CRD as JSON");
    assert_eq!(
        health(&created),
        Health::InProgress("not established yet".to_owned()),
        "as the server returned it on create: {:#}",
        created["status"]
    );

    let id = ResId::new(
        Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        &name,
        "",
    );
    health_until(&kfctl, &id, "the CRD to be Established", Health::is_current).await;
    let live = kfctl.get(&id).await.expect("get").expect("the CRD");
    let established = live["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{:#}", live["status"]);
}
