//! A catalog someone else wrote (`--catalog`): its component names and paths cannot reach
//! outside the release's source or kfctl's overlays, a link in its source cannot lead a
//! component out, and a YAML bomb or an oversized file is refused like any input file.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::support::{MEMORY_LIMIT_KIB, kfctl, kfctl_limited, run};

const HEAD: &str = "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\n";

/// A release `ours` whose component `hello` is `paths` under `src/`, beside a secret directory
/// `outside/` holding a kustomization.
fn tree(component: &str, paths: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("outside/kustomization.yaml", "resources: [cm.yaml]\n");
    write(
        "outside/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret-looking}\n",
    );
    write("src/apps/hello/kustomization.yaml", "resources: []\n");
    write(
        "catalog.yaml",
        &format!(
            "{HEAD}components:\n- {{name: {component}, description: x}}\nreleases:\n- name: ours\n  description: ours\n  source: {{name: ours, version: '1', path: src}}\n  components: {{{component}: {paths}}}\n"
        ),
    );
    dir
}

/// `kfctl.yaml` lines disabling every component the `local` platform enables.
fn local_defaults_disabled(home: &Path) -> String {
    let out = run(&mut kfctl(home, &["platforms", "-o", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let platforms: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let local = platforms
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "local")
        .unwrap();
    local["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("    {}: {{enabled: false}}\n", c.as_str().unwrap()))
        .collect()
}

fn build(home: &Path, dir: &Path, component: &str) -> crate::support::Run {
    let config = dir.join("kfctl.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: local\n  release: ours\n  components:\n    {component}: {{}}\n{}",
            local_defaults_disabled(home)
        ),
    )
    .unwrap();
    let catalog = dir.join("catalog.yaml");
    run(&mut kfctl(
        home,
        &[
            "build",
            "-f",
            config.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ],
    ))
}

#[test]
fn component_paths_stay_inside_the_release_source() {
    let home = tempfile::tempdir().unwrap();
    for paths in ["[../outside]", "['/etc']", "[apps/../../outside]"] {
        let dir = tree("hello", paths);
        build(home.path(), dir.path(), "hello")
            .refused("which is not a path inside the release's source");
    }
}

#[test]
fn a_link_in_the_source_cannot_lead_a_component_out() {
    let home = tempfile::tempdir().unwrap();
    // The same tree without the link renders.
    let dir = tree("hello", "[apps/hello]");
    let out = build(home.path(), dir.path(), "hello");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let dir = tree("hello", "[apps/linked]");
    symlink("../../outside", dir.path().join("src/apps/linked")).unwrap();
    build(home.path(), dir.path(), "hello").refused("which leads outside the release's source");
}

#[test]
fn component_names_are_plain_names() {
    let home = tempfile::tempdir().unwrap();
    for name in ["'../../outside'", "'a/b'", "'x\\ny'"] {
        let dir = tree(name, "[apps/hello]");
        let out = build(home.path(), dir.path(), name);
        assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("is not a plain name") && !out.stderr.contains("secret-looking"),
            "{name}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_catalog_bomb_or_an_oversized_catalog_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = format!("{HEAD}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let file = dir.path().join("bomb.yaml");
    std::fs::write(&file, bomb).unwrap();
    let out = run(&mut kfctl_limited(
        home.path(),
        MEMORY_LIMIT_KIB,
        &["releases", "--catalog", file.to_str().unwrap()],
    ));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("bomb.yaml"), "{}", out.stderr);

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("{HEAD}#{}\n", "x".repeat(5 << 20))).unwrap();
    let out = run(&mut kfctl(
        home.path(),
        &["releases", "--catalog", big.to_str().unwrap()],
    ));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("big.yaml"), "{}", out.stderr);

    let out = run(&mut kfctl(
        home.path(),
        &[
            "releases",
            "--catalog",
            dir.path().join("none.yaml").to_str().unwrap(),
        ],
    ));
    out.refused("cannot read the catalog");
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn a_component_of_its_own_stays_beside_the_catalog() {
    let home = tempfile::tempdir().unwrap();
    let with_manifests = |manifests: &str| {
        let dir = tree("hello", "[]");
        let catalog = dir.path().join("catalog.yaml");
        let text = std::fs::read_to_string(&catalog).unwrap().replace(
            "{name: hello, description: x}",
            &format!("{{name: hello, description: x, manifests: {manifests}}}"),
        );
        std::fs::write(&catalog, text).unwrap();
        std::fs::create_dir_all(dir.path().join("mine")).unwrap();
        std::fs::write(
            dir.path().join("mine/kustomization.yaml"),
            "resources: []\n",
        )
        .unwrap();
        dir
    };
    let dir = with_manifests("[mine]");
    let out = build(home.path(), dir.path(), "hello");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let dir = with_manifests("[../outside]");
    build(home.path(), dir.path(), "hello")
        .refused("which is not a path inside the catalog's directory");
    // `outside/` is beside the catalog; a directory elsewhere is not.
    let elsewhere = tree("x", "[]");
    let dir = with_manifests("[linked]");
    symlink(elsewhere.path().join("outside"), dir.path().join("linked")).unwrap();
    build(home.path(), dir.path(), "hello").refused("which lead outside");
}
