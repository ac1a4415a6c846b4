//! A catalog of the user's own (`--catalog`, `KFCTL_CATALOG`) adds releases and a component
//! without rebuilding kfctl: an install from it records the file and its digest, an upgrade
//! and a rollback render it again, and a render from a record refuses the file once it has
//! changed, until it is restored or named again with `--catalog`.

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::Value;

use crate::apply::{json_of, kfctl, text};
use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;

/// A command that reads no cluster (`platforms`, `releases`).
fn offline(args: &[&str]) -> std::process::Output {
    kfctl_bin::kfctl(args).output().expect("kfctl runs")
}

/// Two "releases" of a component `hello`, each a ConfigMap in `ns` saying which it is, and a
/// catalog naming them, with relative source paths.
fn catalog_dir(ns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for (release, says) in [("src-1", "one"), ("src-2", "two")] {
        let hello = dir.path().join(release).join("apps/hello");
        std::fs::create_dir_all(&hello).expect("create the component");
        std::fs::write(
            hello.join("hello.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: hello, namespace: {ns}}}\ndata: {{says: {says}}}\n"
            ),
        )
        .expect("write the objects");
        std::fs::write(
            hello.join("kustomization.yaml"),
            "resources: [hello.yaml]\n",
        )
        .expect("write the kustomization");
    }
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).expect("write the catalog");
    dir
}

const CATALOG: &str = r#"apiVersion: kfctl.dev/v1alpha1
kind: Catalog
components:
- name: hello
  description: a greeting of our own
releases:
- name: ours-1
  description: ours, first
  source: {name: ours, version: "1", path: src-1}
  components: {hello: [apps/hello]}
- name: ours-2
  description: ours, second
  source: {name: ours, version: "2", path: src-2}
  components: {hello: [apps/hello]}
"#;

/// A `kfctl.yaml` for release `ours-1` of platform `local` with only `hello`: every built-in
/// component the platform enables is disabled.
fn config(dir: &Path) -> String {
    let platforms = offline(&["platforms", "-o", "json"]);
    assert!(platforms.status.success(), "{}", text(&platforms));
    let local = json_of(&platforms)
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "local").cloned())
        .expect("the local platform");
    let mut text = "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  platform: local\n  release: ours-1\n  components:\n    hello: {}\n".to_owned();
    for c in local["components"].as_array().expect("components") {
        text.push_str(&format!(
            "    {}: {{enabled: false}}\n",
            c.as_str().expect("a name")
        ));
    }
    let file = dir.join("kfctl.yaml");
    std::fs::write(&file, text).expect("write the config");
    file.to_str().expect("utf-8").to_owned()
}

/// `kfctl ARGS --name NAME --yes --timeout 3m`: a step of the install's lifecycle.
fn step(name: &str, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--name", name, "--yes", "--timeout", "3m"]);
    kfctl(&all)
}

async fn says(ns: &TestNamespace) -> String {
    let cms: Api<ConfigMap> = Api::namespaced(ns.client(), ns.name());
    cms.get("hello")
        .await
        .expect("read hello")
        .data
        .and_then(|d| d.get("says").cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_user_catalog_installs_upgrades_and_rolls_back_and_a_changed_one_is_refused() {
    let ns = cluster().namespace("catalog").await;
    let name = ns.name();
    let dir = catalog_dir(name);
    let catalog = dir.path().join("catalog.yaml");
    let catalog = catalog.to_str().expect("utf-8");
    let config = config(dir.path());

    // The releases and the component are listed with the catalog, and unknown without it.
    let releases = offline(&["releases", "-o", "json", "--catalog", catalog]);
    assert!(releases.status.success(), "{}", text(&releases));
    let names: Vec<String> = json_of(&releases)
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        names.contains(&"ours-1".to_owned()) && names.contains(&"26.03".to_owned()),
        "{names:?}"
    );
    let without = kfctl(&["apply", "-f", &config, "--name", name, "--yes"]);
    assert_eq!(without.status.code(), Some(1), "{}", text(&without));

    let applied = step(name, &["apply", "-f", &config, "--catalog", catalog]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert_eq!(says(&ns).await, "one");

    // The record names the catalog: an upgrade needs no `--catalog`.
    let upgraded = step(name, &["upgrade", "--to", "ours-2"]);
    assert!(upgraded.status.success(), "{}", text(&upgraded));
    assert_eq!(says(&ns).await, "two");
    let history = kfctl(&["history", "--name", name, "-o", "json"]);
    assert!(history.status.success(), "{}", text(&history));
    let revisions = json_of(&history)["revisions"].clone();
    let pinned: Vec<&Value> = revisions
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| &r["pin"]["catalog"]["path"])
        .collect();
    assert!(
        pinned.iter().all(|p| p.as_str() == Some(catalog)),
        "{revisions:#}"
    );

    // Changed since: a rollback refuses to render it, and says what to do.
    let original = std::fs::read_to_string(catalog).expect("read the catalog");
    std::fs::write(catalog, format!("{original}# edited\n")).expect("edit the catalog");
    let refused = step(name, &["rollback", "--to-revision", "1"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("changed since the install was rendered") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(
        says(&ns).await,
        "two",
        "a refused rollback changed the cluster"
    );

    // Restored, the rollback renders what revision 1 pinned.
    std::fs::write(catalog, &original).expect("restore the catalog");
    let rolled = step(name, &["rollback", "--to-revision", "1"]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    assert_eq!(says(&ns).await, "one");

    // Named again, the catalog as it is now is the one an upgrade reads and records.
    std::fs::write(catalog, format!("{original}# edited\n")).expect("edit the catalog");
    let upgraded = step(name, &["upgrade", "--to", "ours-2", "--catalog", catalog]);
    assert!(upgraded.status.success(), "{}", text(&upgraded));
    assert_eq!(says(&ns).await, "two");
    let diff = kfctl(&["status", "--name", name, "--exit-code"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    let deleted = kfctl(&["delete", "--name", name, "--yes"]);
    assert!(deleted.status.success(), "{}", text(&deleted));
}
