//! No false drift on whole platforms, on a control plane of this test binary's own: right after
//! `kfctl apply -p local`, and then after `kfctl apply` of the upstream `example/` over it (its
//! webhooks set to `failurePolicy: Ignore`, since kwok pods never answer), `kfctl diff` and `kfctl status`
//! report nothing: no defaults, controller-owned fields or injected content show as changes, and
//! no object needs a dry run.
//!
//! With `KFCTL_TEST_KUBECONFIG` this installs Kubeflow on that cluster: use a throwaway one.

#[path = "../support/cluster.rs"]
mod cluster;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::cluster::cluster;
use crate::kfctl_bin::text;

fn kfctl(args: &[&str]) -> Output {
    kfctl_bin::command()
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .output()
        .expect("kfctl runs")
}

/// `kfctl diff` (with the render) and `kfctl status` (with it and from the record alone) of an
/// install report no drift.
fn assert_no_drift(input: &[&str], name: &str, objects_at_least: usize) {
    let mut args = vec!["diff", "-o", "json", "--name", name];
    args.extend_from_slice(input);
    let diff = kfctl(&args);
    let report: Value = serde_json::from_slice(&diff.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}", text(&diff)));
    let changed: Vec<&Value> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["action"] != "unchanged" || !o["drift"].is_null())
        .collect();
    let ids: Vec<String> = changed
        .iter()
        .map(|o| format!("{} {} {}", o["id"], o["action"], o["drift"]))
        .collect();
    assert!(
        changed.is_empty(),
        "false drift in {} objects: {ids:#?}\n{:#?}\n{}",
        ids.len(),
        changed.iter().take(3).collect::<Vec<_>>(),
        String::from_utf8_lossy(&diff.stderr)
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    assert!(
        report["totals"]["unchanged"].as_u64().unwrap_or(0) >= objects_at_least as u64,
        "{}",
        report["totals"]
    );
    assert_eq!(report["cost"]["dryRuns"], json!(0), "{}", report["cost"]);

    for with_render in [true, false] {
        let mut args = vec!["status", "-o", "json", "--exit-code", "--name", name];
        if with_render {
            args.extend_from_slice(input);
        }
        let status = kfctl(&args);
        assert_eq!(status.status.code(), Some(0), "{}", text(&status));
        let status: Value = serde_json::from_slice(&status.stdout).expect("a JSON report");
        assert_eq!(status["drifted"], json!(0), "{:#}", status["drift"]);
        assert_grouping(&status, input);
    }
}

/// A platform install's members are grouped by catalog component (the inventory names one for
/// each, in the order the catalog enables them); a kustomization's by label or namespace.
fn assert_grouping(status: &Value, input: &[&str]) {
    let names: Vec<&str> = status["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    if input.first() == Some(&"-k") {
        assert_eq!(status["groupedBy"], json!("label"), "{names:?}");
        return;
    }
    assert_eq!(status["groupedBy"], json!("component"), "{names:?}");
    assert_eq!(
        names.get(..3),
        Some(&["kubeflow-namespace", "cert-manager", "istio"][..]),
        "{names:?}"
    );
    assert!(names.contains(&"pipelines"), "{names:?}");
    assert!(!names.contains(&"(unattributed)"), "{names:?}");
}

/// `example/` rendered, with every admission webhook made to fail open and fast, as a
/// kustomization in a temp dir. It goes over the local platform's objects, whose PVCs name the
/// cluster's default StorageClass (`standard`) where example's name none: a PVC's spec is
/// immutable, so they name it here too (which the server would default them to anyway).
fn example_failing_open() -> tempfile::TempDir {
    let example = kubeflow_corpus::dir("kubeflow-manifests").join("example");
    let built = kfctl_bin::command()
        .args(["build", "-o", "json"])
        .arg(&example)
        .output()
        .expect("kfctl build runs");
    assert!(built.status.success(), "{}", text(&built));
    let list: Value = serde_json::from_slice(&built.stdout).expect("a JSON List");
    let mut docs = Vec::new();
    for mut item in list["items"].as_array().cloned().unwrap_or_default() {
        let kind = item["kind"].as_str().unwrap_or_default().to_owned();
        if kind == "MutatingWebhookConfiguration" || kind == "ValidatingWebhookConfiguration" {
            for webhook in item["webhooks"].as_array_mut().into_iter().flatten() {
                webhook["failurePolicy"] = json!("Ignore");
                webhook["timeoutSeconds"] = json!(1);
            }
        }
        if kind == "PersistentVolumeClaim" && item["spec"]["storageClassName"].is_null() {
            item["spec"]["storageClassName"] = json!("standard");
        }
        docs.push(serde_json::to_string(&item).expect("JSON"));
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [objects.yaml]\n",
    )
    .expect("write the kustomization");
    std::fs::write(dir.path().join("objects.yaml"), docs.join("\n---\n")).expect("write");
    dir
}

#[tokio::test]
async fn no_false_drift_after_installing_the_local_platform_and_the_upstream_example() {
    let source = format!(
        "kubeflow-manifests={}",
        kubeflow_corpus::dir("kubeflow-manifests").display()
    );
    // The source is the master copy: render the release that names it, not the default.
    let local_input = ["-p", "local", "--release", "latest", "--source", &source];
    let mut args = vec!["apply", "--yes", "--timeout", "8m"];
    args.extend_from_slice(&local_input);
    let local = kfctl(&args);
    assert!(local.status.success(), "{}", text(&local));
    assert_no_drift(&local_input, "kubeflow", 100);
    ignored_drift_on_the_local_platform(&source);

    let example = example_failing_open();
    let path = example.path().to_str().expect("a UTF-8 path");
    let applied = kfctl(&[
        "apply",
        "-k",
        path,
        "--name",
        "example",
        "--yes",
        "--timeout",
        "15m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert_no_drift(&["-k", path], "example", 600);
}

fn kubectl(args: &[&str]) -> Output {
    let out = Command::new("kubectl")
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdin(Stdio::null())
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "kubectl {args:?}: {}", text(&out));
    out
}

/// The local platform through a `kfctl.yaml` whose `spec.drift.ignore` leaves the replicas of
/// Kubeflow's Deployments to their users: scaling one is not drift, changing its image is, and
/// `--fix` restores the image and keeps the replicas.
fn ignored_drift_on_the_local_platform(source: &str) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("kfctl.yaml");
    std::fs::write(
        &config,
        "apiVersion: kfctl.dev/v1alpha1
kind: KfctlConfig
metadata: {name: kubeflow}
spec:
  platform: local
  drift:
    ignore:
    - target: {kind: Deployment, namespace: kubeflow}
      paths: [/spec/replicas]
",
    )
    .expect("write kfctl.yaml");
    let config = config.to_str().expect("a UTF-8 path");
    let input = ["-f", config, "--source", source];
    let run = |command: &[&str]| {
        let mut args = command.to_vec();
        args.extend_from_slice(&input);
        kfctl(&args)
    };
    // The same render as `-p local`: nothing differs.
    let clean = run(&["diff", "-o", "json"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));

    kubectl(&[
        "scale",
        "-n",
        "kubeflow",
        "deployment/centraldashboard",
        "--replicas=2",
    ]);
    kubectl(&[
        "set",
        "image",
        "-n",
        "kubeflow",
        "deployment/centraldashboard",
        "centraldashboard=registry.k8s.io/pause:3.10",
    ]);
    let drifted = run(&["diff", "-o", "json"]);
    assert_eq!(drifted.status.code(), Some(2), "{}", text(&drifted));
    let report: Value = serde_json::from_slice(&drifted.stdout).expect("a JSON report");
    let changed: Vec<(String, Vec<String>)> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| !o["drift"].is_null())
        .map(|o| {
            let paths = o["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["path"].as_str().unwrap_or_default().to_owned())
                .collect();
            (o["id"].as_str().unwrap_or_default().to_owned(), paths)
        })
        .collect();
    assert_eq!(
        changed,
        [(
            "Deployment/kubeflow/centraldashboard".to_owned(),
            vec!["/spec/template/spec/containers/name=centraldashboard/image".to_owned()]
        )],
        "only the image drifted, the replicas are ignored"
    );

    let fixed = run(&["diff", "--fix", "--yes", "--timeout", "5m"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let live = kubectl(&[
        "get",
        "-n",
        "kubeflow",
        "deployment/centraldashboard",
        "-o",
        "json",
    ]);
    let live: Value = serde_json::from_slice(&live.stdout).expect("JSON");
    assert_eq!(
        live["spec"]["replicas"],
        json!(2),
        "the ignored replicas stay"
    );
    let image = live["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    assert!(
        image.contains("central-dashboard"),
        "the image is restored: {image}"
    );
    let after = run(&["diff", "-o", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    // `kubectl` still shares the replicas: scaled back to the render's value, the next apply
    // over this install (`example/`'s) does not conflict with it.
    kubectl(&[
        "scale",
        "-n",
        "kubeflow",
        "deployment/centraldashboard",
        "--replicas=1",
    ]);
}
