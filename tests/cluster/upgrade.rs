//! `kfctl upgrade`, `rollback` and `history`, the real binary against the control plane, with
//! kustomizations in the test's namespace as the "releases": each step is recorded as a
//! revision, a user's label survives, a rollback restores the revision's objects, `--atomic`
//! goes back by itself when the new revision cannot become healthy, a saved plan is carried out
//! exactly and a stale one refused, fields other managers own are named before anything is
//! written, and a CRD version objects are stored in cannot be dropped.

use std::process::{Command, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::apply::{json_of, kfctl, kustomization, path, text};
use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;

/// A "release" of a small app: a Deployment of `image`, a ConfigMap saying `mode`, and a
/// ConfigMap only this release has (`only`). `extra` is appended.
fn release(ns: &str, image: &str, mode: &str, only: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: "{image}", resources: {{requests: {{cpu: 10m}}}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {ns}}}
data: {{mode: {mode}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {only}, namespace: {ns}}}
data: {{release: {only}}}
{extra}"#
    )
}

/// A Deployment no node can run: it never becomes available.
fn unschedulable(ns: &str) -> String {
    format!(
        r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: stuck, namespace: {ns}}}
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  selector: {{matchLabels: {{app: stuck}}}}
  template:
    metadata: {{labels: {{app: stuck}}}}
    spec:
      nodeSelector: {{kfctl.test/no-such-node: "true"}}
      containers:
      - {{name: stuck, image: registry.k8s.io/pause:3.10}}
"#
    )
}

async fn mode(ns: &TestNamespace) -> String {
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), ns.name());
    cms.get("settings")
        .await
        .expect("read settings")
        .data
        .and_then(|d| d.get("mode").cloned())
        .unwrap_or_default()
}

async fn image(ns: &TestNamespace) -> String {
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), ns.name());
    let d = deployments.get("web").await.expect("read web");
    d.spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()))
        .unwrap_or_default()
}

fn history(name: &str) -> Vec<Value> {
    let out = kfctl(&["history", "--name", name, "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    json_of(&out)["revisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn summary(revisions: &[Value]) -> Vec<(u64, String, String)> {
    revisions
        .iter()
        .map(|r| {
            (
                r["number"].as_u64().unwrap_or(0),
                r["action"].as_str().unwrap_or("").to_owned(),
                r["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn upgrade_history_rollback_and_atomic_rollback() {
    let ns = cluster().namespace("upgrade").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));

    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert_eq!(
        summary(&history(name)),
        vec![(1, "apply".into(), "succeeded".into())]
    );
    // A second apply writes nothing, and records no revision.
    let again = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(history(name).len(), 1);

    // A user's own label on a managed Deployment.
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), name);
    deployments
        .patch(
            "web",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"team": "ml"}},
            })),
        )
        .await
        .expect("label the Deployment");

    let upgraded = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
        "-o",
        "json",
    ]);
    assert!(upgraded.status.success(), "{}", text(&upgraded));
    let report = json_of(&upgraded);
    assert_eq!(report["succeeded"], json!(true), "{report:#}");
    let plan = &report["plan"];
    assert_eq!(
        plan["created"],
        json!([format!("ConfigMap/{name}/only-v2")])
    );
    assert_eq!(plan["pruned"], json!([format!("ConfigMap/{name}/only-v1")]));
    let mut changed: Vec<&str> = plan["changed"]
        .as_array()
        .expect("changed")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        vec![
            format!("ConfigMap/{name}/settings"),
            format!("Deployment/{name}/web")
        ]
    );
    assert_eq!(
        plan["images"][0]["from"],
        json!("registry.k8s.io/pause:3.10")
    );
    assert_eq!(plan["images"][0]["to"], json!("registry.k8s.io/pause:3.9"));
    assert_eq!(mode(&ns).await, "two");
    assert_eq!(image(&ns).await, "registry.k8s.io/pause:3.9");
    let labels = deployments
        .get("web")
        .await
        .expect("read web")
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get("team").map(String::as_str),
        Some("ml"),
        "the user's label is gone"
    );

    // Back to revision 1: its objects as they were.
    let rolled = kfctl(&[
        "rollback",
        "--to-revision",
        "1",
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    assert_eq!(mode(&ns).await, "one");
    assert_eq!(image(&ns).await, "registry.k8s.io/pause:3.10");
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    assert!(cms.get_opt("only-v1").await.expect("read").is_some());
    let revisions = history(name);
    assert_eq!(
        summary(&revisions),
        vec![
            (1, "apply".into(), "succeeded".into()),
            (2, "upgrade".into(), "succeeded".into()),
            (3, "rollback".into(), "succeeded".into()),
        ]
    );
    assert_eq!(revisions[2]["sourceRevision"], json!(1));
    assert!(
        revisions[0]["who"].as_str().is_some_and(|w| !w.is_empty()),
        "{revisions:#?}"
    );

    // Nothing to do: exit 2 with `--exit-code`.
    let nothing = kfctl(&[
        "upgrade",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--exit-code",
        "-o",
        "json",
    ]);
    assert_eq!(nothing.status.code(), Some(2), "{}", text(&nothing));
    assert_eq!(json_of(&nothing)["nothingToDo"], json!(true));

    // A release that cannot become healthy, with `--atomic`: back to revision 3 by itself.
    let v3 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "three",
        "only-v1",
        &unschedulable(name),
    ));
    let atomic = kfctl(&[
        "upgrade",
        "-k",
        path(&v3),
        "--name",
        name,
        "--yes",
        "--atomic",
        "--timeout",
        "40s",
        "-o",
        "json",
    ]);
    assert_eq!(atomic.status.code(), Some(1), "{}", text(&atomic));
    let report = json_of(&atomic);
    assert_eq!(report["succeeded"], json!(false), "{report:#}");
    assert_eq!(report["rolledBack"], json!(true), "{report:#}");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("Deployment/{name}/stuck"))),
        "{report:#}"
    );
    assert!(
        String::from_utf8_lossy(&atomic.stderr).contains("rolled back to revision 3"),
        "{}",
        text(&atomic)
    );
    assert_eq!(mode(&ns).await, "one");
    assert_eq!(
        summary(&history(name))[3..],
        [
            (4, "upgrade".into(), "rolled-back".into()),
            (5, "rollback".into(), "succeeded".into()),
        ]
    );
}

#[tokio::test]
async fn a_saved_plan_is_carried_out_exactly_and_a_stale_one_refused() {
    let ns = cluster().namespace("plan").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    let dir = tempfile::tempdir().expect("a temp dir");
    let stale = dir.path().join("stale.json");
    let planned = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--plan-out",
        stale.to_str().expect("utf-8"),
    ]);
    assert!(planned.status.success(), "{}", text(&planned));
    assert_eq!(mode(&ns).await, "one", "--plan-out wrote something");

    // Someone changes an object the plan changes.
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), name);
    deployments
        .patch(
            "web",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "annotations": {"touched": "yes"}},
            })),
        )
        .await
        .expect("annotate the Deployment");
    let refused = kfctl(&["upgrade", "--plan", stale.to_str().expect("utf-8"), "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("the cluster changed since the plan was made")
            && err.contains(&format!("Deployment/{name}/web")),
        "{}",
        text(&refused)
    );
    assert_eq!(mode(&ns).await, "one");

    let fresh = dir.path().join("fresh.json");
    let planned = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--plan-out",
        fresh.to_str().expect("utf-8"),
    ]);
    assert!(planned.status.success(), "{}", text(&planned));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&fresh).expect("read the plan"))
            .expect("the plan is JSON");
    let carried = kfctl(&[
        "upgrade",
        "--plan",
        fresh.to_str().expect("utf-8"),
        "--yes",
        "-o",
        "json",
        "--timeout",
        "3m",
    ]);
    assert!(carried.status.success(), "{}", text(&carried));
    assert_eq!(
        json_of(&carried)["plan"],
        saved["plan"],
        "not the saved plan"
    );
    assert_eq!(mode(&ns).await, "two");
    // The plan is spent: the record changed, so it is refused now.
    let again = kfctl(&["upgrade", "--plan", fresh.to_str().expect("utf-8"), "--yes"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
}

#[tokio::test]
async fn fields_other_managers_own_are_named_before_anything_is_written() {
    let ns = cluster().namespace("conflict").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    cms.patch(
        "settings",
        &PatchParams::apply("other-tool").force(),
        &Patch::Apply(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"}, "data": {"mode": "theirs"},
        })),
    )
    .await
    .expect("take the field");

    let upgraded = kfctl(&["upgrade", "-k", path(&v2), "--name", name, "--yes"]);
    assert_eq!(upgraded.status.code(), Some(1), "{}", text(&upgraded));
    let err = String::from_utf8_lossy(&upgraded.stderr);
    assert!(
        err.contains("nothing was written")
            && err.contains(&format!("ConfigMap/{name}/settings"))
            && err.contains("`other-tool`"),
        "{}",
        text(&upgraded)
    );
    assert_eq!(image(&ns).await, "registry.k8s.io/pause:3.10");
    assert_eq!(mode(&ns).await, "theirs");
    assert_eq!(history(name).len(), 1);
}

#[tokio::test]
async fn a_crd_version_objects_are_stored_in_cannot_be_dropped() {
    let ns = cluster().namespace("stored").await;
    let name = ns.name();
    ns.delete_later(&format!("crd/gadgets.{name}.kfctl.test"));
    let crd = |versions: &[(&str, bool)]| {
        let versions: String = versions
            .iter()
            .map(|(v, storage)| {
                format!(
                    "  - name: {v}\n    served: true\n    storage: {storage}\n    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n"
                )
            })
            .collect();
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: gadgets.{name}.kfctl.test}}\nspec:\n  group: {name}.kfctl.test\n  names: {{kind: Gadget, plural: gadgets}}\n  scope: Namespaced\n  versions:\n{versions}"
        )
    };
    let old = kustomization(&format!(
        "{}---\napiVersion: {name}.kfctl.test/v1alpha1\nkind: Gadget\nmetadata: {{name: g, namespace: {name}}}\nspec: {{size: 1}}\n",
        crd(&[("v1alpha1", true), ("v1", false)])
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&old),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    let new = kustomization(&crd(&[("v1", true)]));
    let blocked = kfctl(&["upgrade", "-k", path(&new), "--name", name, "--yes"]);
    assert_eq!(blocked.status.code(), Some(1), "{}", text(&blocked));
    let err = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        err.contains("the upgrade is blocked")
            && err.contains("`v1alpha1`")
            && err.contains("hint:"),
        "{}",
        text(&blocked)
    );
    assert_eq!(
        history(name).len(),
        1,
        "a blocked upgrade recorded a revision"
    );
}

/// The objects a release dropped are pruned once the new one is healthy, and a rollback prunes
/// what the newer revision added. Pruning comes with the inventory prune (`cluster/prune.rs`),
/// which the apply path these commands share runs after healthy.
#[tokio::test]
async fn objects_a_release_dropped_are_pruned() {
    let ns = cluster().namespace("prune").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let upgraded = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(upgraded.status.success(), "{}", text(&upgraded));
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    assert!(
        cms.get_opt("only-v1").await.expect("read").is_none(),
        "only-v1 was not pruned"
    );
    let rolled = kfctl(&["rollback", "--name", name, "--yes", "--timeout", "3m"]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    assert!(
        cms.get_opt("only-v2").await.expect("read").is_none(),
        "only-v2 was not pruned"
    );
    assert!(cms.get_opt("only-v1").await.expect("read").is_some());
}

/// A kill -9 in the middle of an upgrade leaves the revision pending in the record; the next
/// upgrade completes it.
#[tokio::test]
async fn an_interrupted_upgrade_is_recorded_and_completed_by_the_next() {
    use std::io::{BufRead, BufReader};

    let ns = cluster().namespace("interrupted").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    let mut child = kfctl_bin::command()
        .args([
            "upgrade",
            "-k",
            path(&v2),
            "--name",
            name,
            "--yes",
            "--timeout",
            "3m",
        ])
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kfctl starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line of stderr");
        let started = line.starts_with("wave 1/");
        seen.push(line);
        if started {
            break;
        }
    }
    // The revision is recorded as pending before the first wave starts.
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.starts_with("wave 1/")),
        "kfctl ended before its first wave:\n{}",
        seen.join("\n")
    );
    assert_eq!(
        summary(&history(name)),
        vec![
            (1, "apply".into(), "succeeded".into()),
            (2, "upgrade".into(), "pending".into()),
        ]
    );

    let rerun = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(mode(&ns).await, "two");
    assert_eq!(image(&ns).await, "registry.k8s.io/pause:3.9");
    assert_eq!(
        summary(&history(name)),
        vec![
            (1, "apply".into(), "succeeded".into()),
            (2, "upgrade".into(), "pending".into()),
            (3, "upgrade".into(), "succeeded".into()),
        ]
    );
}

/// Going back to a revision whose CRD lacks a version objects are now stored in keeps the newer
/// CRD, and says so.
#[tokio::test]
async fn a_rollback_keeps_a_newer_crd_that_holds_stored_versions() {
    let ns = cluster().namespace("keepcrd").await;
    let name = ns.name();
    ns.delete_later(&format!("crd/gizmos.{name}.kfctl.test"));
    let crd = |versions: &[(&str, bool)]| {
        let versions: String = versions
            .iter()
            .map(|(v, storage)| {
                format!(
                    "  - name: {v}\n    served: true\n    storage: {storage}\n    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n"
                )
            })
            .collect();
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: gizmos.{name}.kfctl.test}}\nspec:\n  group: {name}.kfctl.test\n  names: {{kind: Gizmo, plural: gizmos}}\n  scope: Namespaced\n  versions:\n{versions}"
        )
    };
    let old = kustomization(&crd(&[("v1alpha1", true)]));
    let new = kustomization(&format!(
        "{}---\napiVersion: {name}.kfctl.test/v1\nkind: Gizmo\nmetadata: {{name: g, namespace: {name}}}\nspec: {{size: 1}}\n",
        crd(&[("v1alpha1", false), ("v1", true)])
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&old),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let upgraded = kfctl(&[
        "upgrade",
        "-k",
        path(&new),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(upgraded.status.success(), "{}", text(&upgraded));

    let rolled = kfctl(&["rollback", "--name", name, "--yes", "--timeout", "3m"]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    let err = String::from_utf8_lossy(&rolled.stderr);
    assert!(
        err.contains(&format!(
            "keeping the newer CustomResourceDefinition `gizmos.{name}.kfctl.test`"
        )) && err.contains("`v1`"),
        "{}",
        text(&rolled)
    );
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(ns.client());
    let live = crds
        .get(&format!("gizmos.{name}.kfctl.test"))
        .await
        .expect("read the CRD");
    let served: Vec<String> = live.spec.versions.iter().map(|v| v.name.clone()).collect();
    assert_eq!(served, vec!["v1alpha1", "v1"]);
}

/// A "release" in three waves, `step` written into each: a CRD (Definitions); ConfigMaps
/// `c-0`..`c-3` and `only-<step>-0`..`only-<step>-2`, which the next step drops (Foundations); a
/// Deployment and a Widget (Workloads).
fn stepped(ns: &str, step: u32) -> String {
    let mut docs = vec![format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{ns}.kfctl.test, labels: {{step: "{step}"}}}}
spec:
  group: {ns}.kfctl.test
  names: {{kind: Widget, plural: widgets, singular: widget}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"#
    )];
    for n in 0..4 {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c-{n}, namespace: {ns}}}\ndata: {{step: \"{step}\"}}\n"
        ));
    }
    for n in 0..3 {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: only-{step}-{n}, namespace: {ns}}}\n"
        ));
    }
    docs.push(format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}, annotations: {{step: "{step}"}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
"#
    ));
    docs.push(format!(
        "apiVersion: {ns}.kfctl.test/v1\nkind: Widget\nmetadata: {{name: w, namespace: {ns}}}\nspec: {{step: {step}}}\n"
    ));
    docs.join("---\n")
}

/// The ids `stepped(ns, step)` installs, as the record lists them.
fn stepped_ids(ns: &str, step: u32) -> std::collections::BTreeSet<String> {
    let mut ids: std::collections::BTreeSet<String> = (0..4)
        .map(|n| format!("ConfigMap/{ns}/c-{n}"))
        .chain((0..3).map(|n| format!("ConfigMap/{ns}/only-{step}-{n}")))
        .collect();
    ids.insert(format!("CustomResourceDefinition/widgets.{ns}.kfctl.test"));
    ids.insert(format!("Deployment/{ns}/web"));
    ids.insert(format!("Widget/{ns}/w"));
    ids
}

fn stepped_kinds(ns: &str) -> Vec<kube::discovery::ApiResource> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    vec![
        kube::discovery::ApiResource::erase::<ConfigMap>(&()),
        kube::discovery::ApiResource::erase::<Deployment>(&()),
        kube::discovery::ApiResource::erase::<CustomResourceDefinition>(&()),
        kube::discovery::ApiResource {
            group: format!("{ns}.kfctl.test"),
            version: "v1".into(),
            api_version: format!("{ns}.kfctl.test/v1"),
            kind: "Widget".into(),
            plural: "widgets".into(),
        },
    ]
}

/// Starts `kfctl args` and kills it with SIGKILL at the first line of stderr `at` accepts
/// (given the lines before it); returns what it printed.
fn killed_at(args: &[&str], at: &dyn Fn(&[String], &str) -> bool) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = kfctl_bin::command()
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kfctl starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut seen: Vec<String> = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("read stderr");
        let reached = at(&seen, &line);
        seen.push(line);
        if reached {
            child.kill().expect("SIGKILL kfctl");
            killed = true;
            break;
        }
    }
    let status = child.wait().expect("kfctl ends");
    assert!(
        killed && !status.success(),
        "kfctl ended ({status}) before the point to kill it:\n{}",
        seen.join("\n")
    );
    seen
}

/// After a run: the cluster holds exactly `step`'s objects, each labelled one is recorded, the
/// record lists exactly them, and `kfctl diff` finds nothing.
async fn assert_converged(ns: &TestNamespace, dir: &tempfile::TempDir, step: u32, what: &str) {
    let name = ns.name();
    let labelled = crate::prune::labelled(ns, name, &stepped_kinds(name)).await;
    let recorded = crate::prune::recorded(ns, name)
        .await
        .expect("the parent exists");
    assert_eq!(recorded, stepped_ids(name, step), "{what}: the record");
    assert_eq!(labelled, recorded, "{what}: labelled as the install's");
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    for earlier in 1..step {
        for n in 0..3 {
            let dropped = format!("only-{earlier}-{n}");
            assert!(
                cms.get_opt(&dropped).await.expect("read").is_none(),
                "{what}: {dropped} is left"
            );
        }
    }
    let c0 = cms.get("c-0").await.expect("read c-0");
    assert_eq!(
        c0.data.and_then(|d| d.get("step").cloned()),
        Some(step.to_string()),
        "{what}"
    );
    let diff = kfctl(&["diff", "-k", path(dir), "--name", name, "--exit-code"]);
    assert_eq!(diff.status.code(), Some(0), "{what}: {}", text(&diff));
}

/// kill -9 of an upgrade once the CRDs are applied, in the middle of a wave, and while it
/// prunes: each time the record keeps the interrupted revision as pending, and running the
/// upgrade (or a rollback) again converges with nothing orphaned and no drift.
#[tokio::test]
async fn an_upgrade_killed_at_any_point_converges_when_run_again() {
    let ns = cluster().namespace("killed-upgrade").await;
    let name = ns.name();
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));
    let steps: Vec<tempfile::TempDir> = (1..=4).map(|s| kustomization(&stepped(name, s))).collect();
    let dir = |step: u32| &steps[step as usize - 1];
    let upgrade = |step: u32| {
        vec![
            "upgrade".to_owned(),
            "-k".to_owned(),
            path(dir(step)).to_owned(),
            "--name".to_owned(),
            name.to_owned(),
            "--yes".to_owned(),
            "--timeout".to_owned(),
            "3m".to_owned(),
        ]
    };
    let run = |args: &[String]| kfctl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let kill = |args: &[String], at: &dyn Fn(&[String], &str) -> bool| {
        killed_at(&args.iter().map(String::as_str).collect::<Vec<_>>(), at)
    };

    let applied = kfctl(&[
        "apply",
        "-k",
        path(dir(1)),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert_converged(&ns, dir(1), 1, "after the install").await;

    // Once the Definitions wave is done.
    kill(&upgrade(2), &|_, line| line.starts_with("wave 2/"));
    let pending = |number: u64| (number, "upgrade".to_owned(), "pending".to_owned());
    assert_eq!(summary(&history(name)).last(), Some(&pending(2)));
    let rerun = run(&upgrade(2));
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_converged(&ns, dir(2), 2, "after the CRDs").await;

    // In the middle of the ConfigMaps' wave: some written, some not.
    kill(&upgrade(3), &|seen, line| {
        seen.iter().any(|l| l.starts_with("wave 2/"))
            && (line.starts_with("  configured ConfigMap/")
                || line.starts_with("  created ConfigMap/"))
    });
    assert_eq!(summary(&history(name)).last(), Some(&pending(4)));
    let rerun = run(&upgrade(3));
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_converged(&ns, dir(3), 3, "mid-wave").await;

    // While pruning what step 3 had; a rollback to step 3 then completes the work.
    kill(&upgrade(4), &|_, line| line.starts_with("  pruned "));
    assert_eq!(summary(&history(name)).last(), Some(&pending(6)));
    let rolled = kfctl(&[
        "rollback",
        "--name",
        name,
        "--to-revision",
        "5",
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    assert_converged(&ns, dir(3), 3, "rolled back after a kill while pruning").await;
    let rerun = run(&upgrade(4));
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_converged(&ns, dir(4), 4, "upgraded after the rollback").await;

    let revisions = summary(&history(name));
    let results: Vec<(u64, &str, &str)> = revisions
        .iter()
        .map(|(n, a, r)| (*n, a.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        results,
        vec![
            (1, "apply", "succeeded"),
            (2, "upgrade", "pending"),
            (3, "upgrade", "succeeded"),
            (4, "upgrade", "pending"),
            (5, "upgrade", "succeeded"),
            (6, "upgrade", "pending"),
            (7, "rollback", "succeeded"),
            (8, "upgrade", "succeeded"),
        ]
    );
}

/// A Deployment `web` whose selector carries `track`: a selector cannot change in place.
fn tracked(ns: &str, track: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web, track: {track}}}}}
  template:
    metadata: {{labels: {{app: web, track: {track}}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {ns}}}
data: {{track: {track}}}
"#
    )
}

async fn selector_track(ns: &TestNamespace) -> Option<String> {
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), ns.name());
    let d = deployments.get("web").await.expect("read web");
    d.spec
        .and_then(|s| s.selector.match_labels)
        .and_then(|l| l.get("track").cloned())
}

/// A plan with an immutable field changed says it needs `--force` and, without it, writes
/// nothing; with `--force` the object is deleted and created again.
#[tokio::test]
async fn an_immutable_field_change_is_recreated_only_with_force() {
    let ns = cluster().namespace("upgrade-force").await;
    let name = ns.name();
    let v1 = kustomization(&tracked(name, "one"));
    let v2 = kustomization(&tracked(name, "two"));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    let refused = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("needs a recreate with `--force`")
            && err.contains(&format!("Deployment/{name}/web `spec.selector`"))
            && err.contains("nothing was written")
            && err.contains("hint: pass `--force`"),
        "{}",
        text(&refused)
    );
    assert_eq!(selector_track(&ns).await.as_deref(), Some("one"));
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    let settings = cms.get("settings").await.expect("read settings");
    assert_eq!(
        settings
            .data
            .and_then(|d| d.get("track").cloned())
            .as_deref(),
        Some("one"),
        "nothing was written"
    );
    assert_eq!(history(name).len(), 1);

    let forced = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--force",
        "--exit-code",
        "--timeout",
        "3m",
        "-o",
        "json",
    ]);
    // Done: exit 0, even with `--exit-code`.
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    let report = json_of(&forced);
    assert_eq!(report["succeeded"], json!(true), "{report:#}");
    assert_eq!(report["rolledBack"], json!(false), "{report:#}");
    assert_eq!(
        report["plan"]["immutable"][0]["field"],
        json!("spec.selector"),
        "{report:#}"
    );
    assert!(
        String::from_utf8_lossy(&forced.stderr)
            .contains(&format!("recreating Deployment/{name}/web")),
        "{}",
        text(&forced)
    );
    assert_eq!(selector_track(&ns).await.as_deref(), Some("two"));
    assert_eq!(
        summary(&history(name)),
        vec![
            (1, "apply".into(), "succeeded".into()),
            (2, "upgrade".into(), "succeeded".into()),
        ]
    );
}

/// `kfctl upgrade --yes -o json` that fails without `--atomic`: exit 1, and the JSON says it
/// failed, why, and that nothing was rolled back.
#[tokio::test]
async fn a_failed_upgrade_without_atomic_says_it_was_not_rolled_back() {
    let ns = cluster().namespace("upgrade-failed").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "two",
        "only-v2",
        &unschedulable(name),
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let failed = kfctl(&[
        "upgrade",
        "-k",
        path(&v2),
        "--name",
        name,
        "--yes",
        "--exit-code",
        "--timeout",
        "40s",
        "-o",
        "json",
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let report = json_of(&failed);
    assert_eq!(report["succeeded"], json!(false), "{report:#}");
    assert_eq!(report["rolledBack"], json!(false), "{report:#}");
    assert_eq!(report["nothingToDo"], json!(false), "{report:#}");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("Deployment/{name}/stuck"))),
        "{report:#}"
    );
    assert_eq!(mode(&ns).await, "two", "not rolled back");
    assert_eq!(
        summary(&history(name)),
        vec![
            (1, "apply".into(), "succeeded".into()),
            (2, "upgrade".into(), "failed".into()),
        ]
    );
}

/// A kubeconfig in `home` for ServiceAccount `reader` of the test's namespace, bound cluster-wide
/// to a ClusterRole of `rules` (YAML list items).
fn service_account_kubeconfig(
    ns: &TestNamespace,
    rules: &str,
    home: &std::path::Path,
) -> std::path::PathBuf {
    let name = ns.name();
    let reader = format!("{name}-reader");
    ns.delete_later(&format!("clusterrole/{reader}"));
    ns.delete_later(&format!("clusterrolebinding/{reader}"));
    let rbac = format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: reader, namespace: {name}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {reader}}}
rules:
{rules}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {reader}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {reader}}}
subjects: [{{kind: ServiceAccount, name: reader, namespace: {name}}}]
"#
    );
    let kubectl = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("kubectl ends");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let admin = cluster().kubeconfig().to_str().expect("UTF-8").to_owned();
    kubectl(&["--kubeconfig", &admin, "apply", "-f", "-"], Some(&rbac));
    let token = kubectl(
        &[
            "--kubeconfig",
            &admin,
            "create",
            "token",
            "reader",
            "-n",
            name,
        ],
        None,
    );
    let config = home.join("kubeconfig");
    std::fs::copy(&admin, &config).expect("copy the kubeconfig");
    let path = config.clone();
    let config = config.to_str().expect("UTF-8");
    let cluster_name = kubectl(
        &[
            "--kubeconfig",
            config,
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.contexts[0].context.cluster}",
        ],
        None,
    );
    kubectl(
        &[
            "--kubeconfig",
            config,
            "config",
            "set-credentials",
            "reader",
            &format!("--token={token}"),
        ],
        None,
    );
    kubectl(
        &[
            "--kubeconfig",
            config,
            "config",
            "set-context",
            "reader",
            &format!("--cluster={cluster_name}"),
            "--user=reader",
        ],
        None,
    );
    kubectl(
        &["--kubeconfig", config, "config", "use-context", "reader"],
        None,
    );
    path
}

/// An identity that may read the install's record but not write its objects: the upgrade stops
/// in preflight, naming what is missing, before anything is written or locked.
#[tokio::test]
async fn an_upgrade_without_the_permissions_it_needs_stops_in_preflight() {
    let ns = cluster().namespace("upgrade-preflight").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    // A ServiceAccount that may read ConfigMaps everywhere (the record among them), and no more.
    let home = tempfile::tempdir().expect("a temp dir");
    let config = service_account_kubeconfig(
        &ns,
        "- {apiGroups: [\"\"], resources: [configmaps], verbs: [get, list]}\n",
        home.path(),
    );
    let config = config.to_str().expect("UTF-8");
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    let version = |parent: ConfigMap| parent.metadata.resource_version;
    let before = version(parents.get(&format!("kfctl-{name}")).await.expect("read"));

    for args in [
        vec!["upgrade", "-k", path(&v2)],
        vec!["rollback", "--to-revision", "1"],
    ] {
        let out = kfctl_bin::command()
            .args(&args)
            .args([
                "--name",
                name,
                "--yes",
                "--timeout",
                "1m",
                "--kubeconfig",
                config,
            ])
            .output()
            .expect("kfctl runs");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("preflight found")
                && err.contains(&format!(
                    "`create`, `get`, `patch` `deployments.apps` in namespace `{name}`"
                ))
                && err.contains("nothing was applied"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!err.contains("wave 1/"), "{args:?}: {}", text(&out));
    }
    let after = version(parents.get(&format!("kfctl-{name}")).await.expect("read"));
    assert_eq!(before, after, "the record was not written");
    assert_eq!(mode(&ns).await, "one");
    assert_eq!(history(name).len(), 1);
}

/// An identity that may write everything the new release brings but not delete what it drops:
/// the upgrade stops in preflight, naming the `delete` it lacks, before anything is written.
#[tokio::test]
async fn an_upgrade_that_may_not_delete_what_it_prunes_stops_in_preflight() {
    let ns = cluster().namespace("upgrade-prune-rbac").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let v2 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.9",
        "two",
        "only-v2",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));

    let home = tempfile::tempdir().expect("a temp dir");
    let config = service_account_kubeconfig(
        &ns,
        "- {apiGroups: [\"\"], resources: [configmaps], verbs: [get, list, watch, create, patch, update]}
- {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch, create, patch, update, delete]}
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, list, create, update, delete]}
",
        home.path(),
    );
    let out = kfctl_bin::command()
        .args(["upgrade", "-k", path(&v2), "--name", name, "--yes"])
        .arg("--kubeconfig")
        .arg(&config)
        .output()
        .expect("kfctl runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("preflight found 1 problem")
            && err.contains("lacks 1 permission pruning needs")
            && err.contains(&format!("`delete` `configmaps` in namespace `{name}`")),
        "{}",
        text(&out)
    );
    assert!(!err.contains("wave 1/"), "{}", text(&out));
    assert_eq!(mode(&ns).await, "one");
    assert_eq!(history(name).len(), 1);
}

#[tokio::test]
async fn a_record_kfctl_cannot_read_is_an_error_and_is_never_overwritten() {
    let ns = cluster().namespace("record").await;
    let name = ns.name();
    let v1 = kustomization(&release(
        name,
        "registry.k8s.io/pause:3.10",
        "one",
        "only-v1",
        "",
    ));
    let applied = kfctl(&[
        "apply",
        "-k",
        path(&v1),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let parents: Api<ConfigMap> = Api::namespaced(ns.client(), "kube-system");
    let parent = format!("kfctl-{name}");
    parents
        .patch(
            &parent,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"revisions": "[{\"number\": \"one\""}})),
        )
        .await
        .expect("break the revisions");

    for args in [
        vec!["history", "--name", name],
        vec!["apply", "-k", path(&v1), "--name", name, "--yes"],
    ] {
        let out = kfctl(&args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("ConfigMap `kube-system/{parent}`"))
                && err.contains("key `revisions`")
                && err.contains("hint:"),
            "{}",
            text(&out)
        );
    }
    let kept = parents.get(&parent).await.expect("the parent");
    assert_eq!(
        kept.data
            .unwrap_or_default()
            .get("revisions")
            .map(String::as_str),
        Some("[{\"number\": \"one\"")
    );
}
