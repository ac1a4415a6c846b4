//! What `kfctl build` says about bad input: exit code 1, what failed, where, and a hint.

use crate::support::TestContext;

const SERVICE: &str =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n";

fn build(ctx: &TestContext, dir: &str) -> String {
    ctx.run(&mut ctx.kfctl(&["build", dir]))
}

/// The parts of an error every message must have, checked before its snapshot so that a
/// feature not written yet fails with a reason.
#[track_caller]
fn assert_user_error(out: &str, must_name: &[&str]) {
    assert!(
        out.contains("exit_code: 1\n"),
        "not a user error (exit 1):\n{out}"
    );
    for part in must_name {
        assert!(
            out.contains(part),
            "the error does not name {part:?}:\n{out}"
        );
    }
    assert!(
        !out.contains("not supported") && !out.contains("not implemented"),
        "the feature this error is about is not implemented:\n{out}"
    );
}

#[test]
fn missing_resource_file() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "resources:\n  - service.yaml\n  - deployment.yaml\n",
    )
    .write("service.yaml", SERVICE);
    insta::assert_snapshot!(build(&ctx, "."));
}

#[test]
fn missing_resource_directory() {
    let ctx = TestContext::new();
    ctx.write("overlay/kustomization.yaml", "resources:\n  - ../base\n");
    insta::assert_snapshot!(build(&ctx, "overlay"));
}

#[test]
fn missing_build_directory() {
    let ctx = TestContext::new();
    let dir = ctx.path().join("nowhere");
    insta::assert_snapshot!(build(&ctx, &dir.display().to_string()));
}

#[test]
fn yaml_syntax_error() {
    let ctx = TestContext::new();
    ctx.write("kustomization.yaml", "resources:\n  - broken.yaml\n")
        .write(
            "broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [settings\ndata:\n  a: b\n",
        );
    insta::assert_snapshot!(build(&ctx, "."));
}

#[test]
fn unknown_kustomization_field() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "resources:\n  - service.yaml\nnamePrefx: demo-\n",
    )
    .write("service.yaml", SERVICE);
    insta::assert_snapshot!(build(&ctx, "."));
}

#[test]
fn cycle_in_resources() {
    let ctx = TestContext::new();
    ctx.write("a/kustomization.yaml", "resources:\n  - ../b\n")
        .write("b/kustomization.yaml", "resources:\n  - ../a\n");
    insta::assert_snapshot!(build(&ctx, "a"));
}

#[test]
fn duplicate_object_id() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "resources:\n  - service.yaml\n  - more/service.yaml\n",
    )
    .write("service.yaml", SERVICE)
    .write(
        "more/service.yaml",
        &format!("# the same Service again\n{SERVICE}"),
    );
    let out = build(&ctx, ".");
    assert_user_error(&out, &["service.yaml:1", "more/service.yaml:2"]);
    insta::assert_snapshot!(out);
}

#[test]
fn patch_target_not_found() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "resources:\n  - service.yaml\npatches:\n  - path: scale.yaml\n",
    )
    .write("service.yaml", SERVICE)
    .write(
        "scale.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
    );
    let out = build(&ctx, ".");
    assert_user_error(
        &out,
        &["kustomization.yaml:4", "Deployment", "web", "hint: "],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn var_not_resolvable() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "resources:\n  - service.yaml\n  - deployment.yaml\nvars:\n  - name: DB_HOST\n    objref:\n      apiVersion: v1\n      kind: Service\n      name: database\n    fieldref:\n      fieldpath: metadata.name\n",
    )
    .write("service.yaml", SERVICE)
    .write(
        "deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx\n          args: [\"--db=$(DB_HOST)\"]\n",
    );
    let out = build(&ctx, ".");
    assert_user_error(&out, &["kustomization.yaml:5", "DB_HOST", "database"]);
    insta::assert_snapshot!(out);
}

#[test]
fn conflicting_generator_behavior() {
    let ctx = TestContext::new();
    ctx.write(
        "base/kustomization.yaml",
        "configMapGenerator:\n  - name: settings\n    literals:\n      - color=blue\n",
    )
    .write(
        "kustomization.yaml",
        "resources:\n  - base\nconfigMapGenerator:\n  - name: settings\n    literals:\n      - size=large\n",
    );
    insta::assert_snapshot!(build(&ctx, "."));
}

#[test]
fn helm_charts_not_supported() {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "helmCharts:\n  - name: minecraft\n    repo: https://itzg.github.io/minecraft-server-charts\n    version: 3.1.3\n",
    );
    insta::assert_snapshot!(build(&ctx, "."));
}
