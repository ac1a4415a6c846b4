//! `kfctl apply` killed with SIGKILL in the middle: the next apply converges, and every object
//! labelled as the install's member is in its record; objects an interrupted run wrote but never
//! recorded are pruned when a later render does not have them.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::Api;
use kube::discovery::ApiResource;

use crate::apply::{kfctl, kustomization, path, text};
use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;
use crate::prune::{labelled, recorded};

fn kinds(name: &str) -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<Namespace>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            plural: "customresourcedefinitions".into(),
        },
        ApiResource {
            group: format!("{name}.kfctl.test"),
            version: "v1".into(),
            api_version: format!("{name}.kfctl.test/v1"),
            kind: "Widget".into(),
            plural: "widgets".into(),
        },
    ]
}

/// Three waves: a CRD and a namespace; ConfigMaps and a ServiceAccount; a Deployment and a
/// Widget. `extra` adds ConfigMaps `extra-N`; `small` leaves out the Deployment, the Widget and
/// ConfigMap `b`.
fn render(ns: &TestNamespace, extra: usize, small: bool) -> String {
    let name = ns.name();
    let app = format!("{name}-app");
    let mut docs = vec![
        format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{name}.kfctl.test}}
spec:
  group: {name}.kfctl.test
  names: {{kind: Widget, plural: widgets, singular: widget}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"#
        ),
        format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {app}}}\n"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: {app}}}\n"),
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: runner, namespace: {app}}}\n"
        ),
    ];
    for n in 0..extra {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: extra-{n}, namespace: {app}}}\n"
        ));
    }
    if !small {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b, namespace: {app}}}\n"
        ));
        docs.push(format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {app}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      serviceAccountName: runner
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
"#
        ));
        docs.push(format!(
            "apiVersion: {name}.kfctl.test/v1\nkind: Widget\nmetadata: {{name: small, namespace: {app}}}\nspec: {{size: 1}}\n"
        ));
    }
    docs.join("---\n")
}

/// Starts `kfctl apply` of `dir` and kills it with SIGKILL as soon as it prints `wave N/`.
fn apply_killed_at_wave(dir: &tempfile::TempDir, name: &str, wave: usize) {
    let mut child = kfctl_bin::command()
        .args([
            "apply",
            "-k",
            path(dir),
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
    let stderr = child.stderr.take().expect("piped stderr");
    let marker = format!("wave {wave}/");
    let mut seen = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("read stderr");
        let reached = line.contains(&marker);
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
        "kfctl ended ({status}) before it reached `{marker}`:\n{}",
        seen.join("\n")
    );
}

async fn assert_labelled_are_recorded(ns: &TestNamespace, what: &str) {
    let name = ns.name();
    let labelled = labelled(ns, name, &kinds(name)).await;
    let recorded = recorded(ns, name).await.expect("the parent exists");
    let orphans: BTreeSet<&String> = labelled.difference(&recorded).collect();
    assert!(
        orphans.is_empty(),
        "{what}: labelled as the install's but not recorded: {orphans:?}\nrecorded: {recorded:?}"
    );
}

#[tokio::test]
async fn an_apply_killed_midway_converges_and_leaves_nothing_orphaned() {
    let ns = cluster().namespace("killed").await;
    let name = ns.name();
    let app = format!("{name}-app");
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));
    ns.delete_later(&format!("namespace/{app}"));
    let dir = kustomization(&render(&ns, 0, false));

    // Killed once the Definitions wave is done: the namespace and CRD exist, labelled, and the
    // parent was widened but records nothing yet.
    apply_killed_at_wave(&dir, name, 2);
    let namespaces: Api<Namespace> = Api::all(ns.client());
    assert!(namespaces.get_opt(&app).await.expect("read").is_some());
    assert_eq!(
        recorded(&ns, name).await.map(|r| r.len()),
        Some(0),
        "the parent is widened before anything is written, and records only a finished apply"
    );

    let rerun = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(recorded(&ns, name).await.map(|r| r.len()), Some(7));
    assert_labelled_are_recorded(&ns, "after the rerun").await;

    // Killed again in the Workloads wave of a render with two more ConfigMaps: those were
    // written and labelled but never recorded.
    std::fs::write(dir.path().join("objects.yaml"), render(&ns, 2, false)).expect("rewrite");
    apply_killed_at_wave(&dir, name, 3);
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), &app);
    assert!(maps.get_opt("extra-1").await.expect("read").is_some());

    // A smaller render prunes what it lost, recorded or not.
    std::fs::write(dir.path().join("objects.yaml"), render(&ns, 0, true)).expect("rewrite");
    let smaller = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--timeout",
        "3m",
    ]);
    assert!(smaller.status.success(), "{}", text(&smaller));
    for gone in ["b", "extra-0", "extra-1"] {
        assert!(
            maps.get_opt(gone).await.expect("read").is_none(),
            "{gone} is left:\n{}",
            text(&smaller)
        );
    }
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), &app);
    assert!(deployments.get_opt("web").await.expect("read").is_none());
    assert_eq!(
        recorded(&ns, name).await,
        Some(BTreeSet::from([
            format!("Namespace/{app}"),
            format!("ConfigMap/{app}/a"),
            format!("ServiceAccount/{app}/runner"),
            format!("CustomResourceDefinition/widgets.{name}.kfctl.test"),
        ]))
    );
    assert_labelled_are_recorded(&ns, "after the smaller apply").await;
}
