//! `kfctl apply -p local`, the real binary, on a control plane of its own (started by
//! `support/cluster.rs` for this test binary alone, since the platform is cluster-wide): the whole
//! local platform installs in one invocation, every workload becomes available, the GPU device
//! plugin runs on exactly the GPU nodes, and a second apply writes nothing. Then each current
//! release with every component enabled: installed in one pass, all healthy, no drift.
//!
//! With `KFCTL_TEST_KUBECONFIG` this installs Kubeflow on that cluster: use a throwaway one.

#[path = "../support/cluster.rs"]
mod cluster;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};

use crate::cluster::cluster;
use crate::kfctl_bin::text;

fn apply_local() -> Output {
    on_cluster(&["apply", "-p", "local", "--yes", "--timeout", "5m"])
}

/// `kfctl ARGS` on the test's cluster.
fn on_cluster(args: &[&str]) -> Output {
    kfctl_bin::command()
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .output()
        .expect("kfctl runs")
}

/// Every Deployment, StatefulSet and DaemonSet that the API server does not report available.
async fn not_available(client: &kube::Client) -> Vec<String> {
    let mut not_ready = Vec::new();
    for d in Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list Deployments")
    {
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = d
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0);
        if have < want {
            not_ready.push(format!("Deployment {:?}: {have}/{want}", d.metadata.name));
        }
    }
    for s in Api::<StatefulSet>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list StatefulSets")
    {
        let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = s
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0);
        if have < want {
            not_ready.push(format!("StatefulSet {:?}: {have}/{want}", s.metadata.name));
        }
    }
    for d in Api::<DaemonSet>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list DaemonSets")
    {
        let status = d.status.clone().unwrap_or_default();
        let have = status.number_available.unwrap_or(0);
        if status.desired_number_scheduled == 0 || have < status.desired_number_scheduled {
            not_ready.push(format!(
                "DaemonSet {:?}: {have}/{}",
                d.metadata.name, status.desired_number_scheduled
            ));
        }
    }
    not_ready
}

/// `namespace/name` → resourceVersion of every Deployment, StatefulSet and DaemonSet.
async fn workload_versions(client: &kube::Client) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let key = |m: &kube::api::ObjectMeta| {
        (
            format!(
                "{}/{}",
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default()
            ),
            m.resource_version.clone().unwrap_or_default(),
        )
    };
    for d in Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list Deployments")
    {
        let (k, v) = key(&d.metadata);
        out.insert(format!("Deployment/{k}"), v);
    }
    for s in Api::<StatefulSet>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list StatefulSets")
    {
        let (k, v) = key(&s.metadata);
        out.insert(format!("StatefulSet/{k}"), v);
    }
    for d in Api::<DaemonSet>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list DaemonSets")
    {
        let (k, v) = key(&d.metadata);
        out.insert(format!("DaemonSet/{k}"), v);
    }
    out
}

#[tokio::test]
async fn the_local_platform_installs_in_one_pass_and_a_reapply_writes_nothing() {
    let first = apply_local();
    assert!(first.status.success(), "{}", text(&first));
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("everything is healthy"), "{err}");
    assert!(err.contains(" created, 0 configured, 0 unchanged"), "{err}");

    // Available as the API server reports it, independently of kfctl's health rules.
    let client = cluster().client().await;
    let deployments = Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list Deployments");
    assert!(
        deployments.items.len() > 20,
        "{} Deployments",
        deployments.items.len()
    );
    let not_ready = not_available(&client).await;
    assert!(not_ready.is_empty(), "not available: {not_ready:#?}");

    // The device plugin runs on exactly the GPU nodes.
    let gpu_nodes: BTreeSet<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default().labels("nvidia.com/gpu.present=true"))
        .await
        .expect("list GPU nodes")
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(gpu_nodes.len(), 2, "{gpu_nodes:?}");
    let plugin_nodes: BTreeSet<String> = Api::<Pod>::namespaced(client.clone(), "kube-system")
        .list(&ListParams::default().labels("name=nvidia-device-plugin"))
        .await
        .expect("list device plugin pods")
        .into_iter()
        .filter_map(|p| p.spec.and_then(|s| s.node_name))
        .collect();
    assert_eq!(plugin_nodes, gpu_nodes);

    // A second apply of the same render writes nothing.
    let before = workload_versions(&client).await;
    let second = apply_local();
    assert!(second.status.success(), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("0 created, 0 configured, "), "{err}");
    assert_eq!(
        before,
        workload_versions(&client).await,
        "a re-apply changed workloads"
    );
    let diff = on_cluster(&["diff", "-p", "local", "--exit-code"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    // Each current release with every component: a fresh install in one pass, every workload
    // available, no drift right after. The release before goes first, claims and CRDs too.
    let work = tempfile::tempdir().expect("a temp dir");
    let mut installed: Vec<String> = vec!["-p".into(), "local".into()];
    for release in ["26.03", "26.03.1-rc.2"] {
        let delete: Vec<&str> = ["delete", "--purge", "--yes"]
            .into_iter()
            .chain(installed.iter().map(String::as_str))
            .collect();
        let deleted = on_cluster(&delete);
        assert!(deleted.status.success(), "{}", text(&deleted));
        let config = work.path().join(format!("{release}.yaml"));
        std::fs::write(&config, kubeflow_corpus::every_component_config(release))
            .expect("write the config");
        let config = config.to_str().expect("utf-8").to_owned();
        let applied = on_cluster(&["apply", "-f", &config, "--yes", "--timeout", "10m"]);
        assert!(applied.status.success(), "{release}: {}", text(&applied));
        let err = String::from_utf8_lossy(&applied.stderr);
        assert!(
            // Nothing was left by the delete (a create retried under load may count as
            // configured).
            err.contains(", 0 unchanged in ") && err.contains("everything is healthy"),
            "{release}: {err}"
        );
        let not_ready = not_available(&client).await;
        assert!(
            not_ready.is_empty(),
            "{release}: not available: {not_ready:#?}"
        );
        let diff = on_cluster(&["diff", "-f", &config, "--exit-code"]);
        assert_eq!(diff.status.code(), Some(0), "{release}: {}", text(&diff));
        let status = on_cluster(&["status", "-f", &config, "-o", "json"]);
        assert!(status.status.success(), "{release}: {}", text(&status));
        installed = vec!["-f".into(), config];
    }
}
