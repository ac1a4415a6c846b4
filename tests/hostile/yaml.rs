//! YAML that expands, nests or grows without bound (alias bombs, deep nesting, transforms that
//! copy or nest), and input files too large to read: each refused with exit 1 and a message
//! naming the file, under an address-space limit, with nothing on stdout.

use std::path::Path;

use crate::support::{MEMORY_LIMIT_KIB, Run, kfctl, kfctl_limited, run};

/// Nine levels of nine aliases ("billion laughs"): 387 million strings once expanded.
fn laughs(indent: &str) -> String {
    let mut text = format!("{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("{indent}a{i}: &a{i} [{refs}]\n"));
    }
    text
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n";

/// `kfctl ARGS` in `dir`, under the memory limit.
fn limited(home: &Path, dir: &Path, args: &[&str]) -> Run {
    run(kfctl_limited(home, MEMORY_LIMIT_KIB, args).current_dir(dir))
}

#[track_caller]
fn refused_quietly(out: &Run, needles: &[&str]) {
    for needle in needles {
        out.refused(needle);
    }
    assert_eq!(
        out.stdout, "",
        "nothing is printed before the failure is known"
    );
}

/// The limit the other tests run under leaves room for a real render: a 6 MiB resource file of
/// 3,000 objects, generators, patches and a few honest aliases.
#[test]
fn a_normal_render_fits_under_the_memory_limit() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    let mut many = String::new();
    for i in 0..3000 {
        many.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  labels: &l{i}\n    app: a\ndata:\n  text: \"{}\"\n  labels: *l{i}\n",
            "x".repeat(2000)
        ));
    }
    write(&dir, "many.yaml", &many);
    write(
        &dir,
        "kustomization.yaml",
        "resources: [many.yaml]\nnamePrefix: p-\nsecretGenerator:\n- name: s\n  literals: [a=b]\npatches:\n- patch: '[{\"op\": \"add\", \"path\": \"/data/x\", \"value\": \"y\"}]'\n  target: {kind: ConfigMap}\n",
    );
    let out = limited(home.path(), &dir, &["build", "."]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("name: p-c2999\n"));
}

#[test]
fn alias_bomb_in_a_kustomization_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(
        &dir,
        "kustomization.yaml",
        &format!("resources: []\nbomb:\n{}", laughs("  ")),
    );
    let out = limited(home.path(), &dir, &["build", "."]);
    refused_quietly(&out, &["kustomization.yaml:", "excessive aliasing"]);
}

#[test]
fn alias_bomb_in_a_resource_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "kustomization.yaml", "resources: [bomb.yaml]\n");
    write(
        &dir,
        "bomb.yaml",
        &format!("{CONFIG_MAP}data:\n{}", laughs("  ")),
    );
    for format in ["yaml", "json"] {
        let out = limited(home.path(), &dir, &["build", ".", "-o", format]);
        refused_quietly(&out, &["bomb.yaml:11:", "excessive aliasing", "hint:"]);
    }
}

#[test]
fn alias_bomb_in_kfctl_yaml_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(
        &dir,
        "kfctl.yaml",
        &format!(
            "apiVersion: kfctl.kubeflow.org/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: local\n  bomb:\n{}",
            laughs("    ")
        ),
    );
    let out = limited(home.path(), &dir, &["build", "-f", "kfctl.yaml"]);
    refused_quietly(&out, &["kfctl.yaml:", "excessive aliasing"]);
}

#[test]
fn alias_bomb_in_a_kfdef_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(
        &dir,
        "kfdef.yaml",
        &format!(
            "apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata:\n  name: kf\nspec:\n  bomb:\n{}",
            laughs("    ")
        ),
    );
    let out = limited(home.path(), &dir, &["import", "kfdef.yaml", "-o", "-"]);
    refused_quietly(&out, &["kfdef.yaml:", "excessive aliasing"]);
    assert!(!dir.join("kfctl.yaml").exists());
}

/// `kfctl.lock` is read with serde-saphyr, under the same limits (a budget of events); its strict
/// schema refuses a bomb before anything expands.
#[test]
fn alias_bomb_in_kfctl_lock_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "kustomization.yaml", "resources: [cm.yaml]\n");
    write(&dir, "cm.yaml", CONFIG_MAP);
    write(
        &dir,
        "kfctl.lock",
        &format!("version: 1\nsources: {{}}\nbomb:\n{}", laughs("  ")),
    );
    let out = limited(home.path(), &dir, &["build", "."]);
    refused_quietly(&out, &["kfctl.lock", "not a valid lock file"]);
}

/// 100,000 nested lists, in flow and in block style, overflowed the stack (and with `-o json`
/// printed part of the output first).
#[test]
fn deeply_nested_resource_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "kustomization.yaml", "resources: [deep.yaml]\n");
    let flow = format!(
        "{CONFIG_MAP}data:\n  x: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let block = format!("{CONFIG_MAP}spec:\n{}x\n", "- ".repeat(100_000));
    for deep in [flow, block] {
        write(&dir, "deep.yaml", &deep);
        for format in ["yaml", "json"] {
            let out = limited(home.path(), &dir, &["build", ".", "-o", format]);
            refused_quietly(&out, &["deep.yaml:", "nesting too deep"]);
        }
    }
}

/// Nesting as deep as the parser allows renders in both formats: what the parser lets through,
/// the rest of kfctl can walk.
#[test]
fn nesting_at_the_limit_renders() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(
        &dir,
        "kustomization.yaml",
        "resources: [deep.yaml]\nnamespace: ns\ncommonLabels: {a: b}\npatches:\n- patch: '{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"plain\"}, \"spec\": {\"y\": 1}}'\n",
    );
    // The object is one level, `spec` the second.
    write(
        &dir,
        "deep.yaml",
        &format!(
            "{CONFIG_MAP}spec:\n  x: {}{}\n",
            "[".repeat(98),
            "]".repeat(98)
        ),
    );
    for format in ["yaml", "json"] {
        let out = limited(home.path(), &dir, &["build", ".", "-o", format]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let free = run(kfctl(home.path(), &["build", ".", "-o", format]).current_dir(&dir));
        assert_eq!(free.stdout, out.stdout);
    }
}

/// A replacement's target path creates one level per field: 100,000 of them overflowed the stack.
#[test]
fn replacement_to_a_deep_field_path_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "cm.yaml", &format!("{CONFIG_MAP}data:\n  x: y\n"));
    write(
        &dir,
        "kustomization.yaml",
        &format!(
            "resources: [cm.yaml]\nreplacements:\n- source: {{kind: ConfigMap, name: plain, fieldPath: data.x}}\n  targets:\n  - select: {{kind: ConfigMap}}\n    fieldPaths: [spec.{}]\n    options: {{create: true}}\n",
            vec!["a"; 100_000].join(".")
        ),
    );
    let out = limited(home.path(), &dir, &["build", "."]);
    refused_quietly(&out, &["kustomization.yaml:", "deeper than 100 levels"]);
}

/// JSON patch `copy` of an object into itself doubles it: forty of them are a memory bomb.
#[test]
fn json_patch_copies_cannot_grow_an_object_without_bound() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "cm.yaml", &format!("{CONFIG_MAP}data:\n  x: y\n"));
    let ops: String = (0..40)
        .map(|i| format!("- op: copy\n  from: /data\n  path: /data/c{i}\n"))
        .collect();
    write(&dir, "patch.yaml", &ops);
    write(
        &dir,
        "kustomization.yaml",
        "resources: [cm.yaml]\npatches:\n- path: patch.yaml\n  target: {kind: ConfigMap}\n",
    );
    let out = limited(home.path(), &dir, &["build", "."]);
    refused_quietly(&out, &["patch", "more than 1000000 nodes"]);
}

#[test]
fn dev_zero_as_kfctl_yaml_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = limited(home.path(), home.path(), &["build", "-f", "/dev/zero"]);
    refused_quietly(&out, &["`/dev/zero`", "larger than 4 MiB"]);
}

#[test]
fn dev_zero_as_a_kfdef_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = limited(
        home.path(),
        home.path(),
        &["import", "/dev/zero", "-o", "-"],
    );
    refused_quietly(&out, &["`/dev/zero`", "larger than 4 MiB"]);
}

/// A resource file past the input limit is refused by its size, before it is read (the file is
/// sparse: it takes no disk).
#[test]
fn oversized_resource_file_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("app");
    write(&dir, "kustomization.yaml", "resources: [huge.yaml]\n");
    let huge = std::fs::File::create(dir.join("huge.yaml")).unwrap();
    huge.set_len(65 << 20).unwrap();
    let out = limited(home.path(), &dir, &["build", "."]);
    refused_quietly(&out, &["huge.yaml", "larger than 64 MiB"]);
}
