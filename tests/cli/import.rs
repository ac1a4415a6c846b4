//! `kfctl import`: the published kfctl v1.2.0 KfDefs (GCP with IAP, AWS, plain on-prem) become
//! configs that render; the config and the report are snapshots; anything else is refused.

use std::path::PathBuf;

use crate::kubeflow_corpus;
use crate::support::{TestContext, run};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/kfdef/{name}"))
}

/// The values a person sets for what the KfDef did not hold, so the config renders.
fn values_for(missing: &str) -> &'static str {
    match missing {
        "gcsBucket" => "gcsBucket=kf-gcp-artifacts",
        "accountId" => "accountId=123456789012",
        "clusterName" => "clusterName=kf-aws",
        "s3Bucket" => "s3Bucket=kf-aws-artifacts",
        "pipelineRoleArn" => "pipelineRoleArn=arn:aws:iam::123456789012:role/kf-pipelines",
        "notebookRoleArn" => "notebookRoleArn=arn:aws:iam::123456789012:role/kf-notebooks",
        "domain" => "domain=kubeflow.example.com",
        "certificateArn" => {
            "certificateArn=arn:aws:acm:us-west-2:123456789012:certificate/0f0e0d0c-1234-5678-9abc-def012345678"
        }
        "storageClass" => "storageClass=local-path",
        other => panic!("the import left `{other}` to set, and this test has no value for it"),
    }
}

/// Imports `name`, snapshots the config and the report, and renders the config with the
/// parameters the report says are still to be set.
fn imports_and_renders(name: &str, platform: &str) {
    let ctx = TestContext::new();
    let kfdef = fixture(name);
    let out = ctx.run(&mut ctx.kfctl(&["import", &kfdef.display().to_string()]));
    let report = out.replace(&kfdef.display().to_string(), "[FIXTURE]");
    insta::assert_snapshot!(format!("{name}.report"), report);
    let config =
        std::fs::read_to_string(ctx.path().join("kfctl.yaml")).expect("no kfctl.yaml written");
    insta::assert_snapshot!(format!("{name}.kfctl.yaml"), config);
    assert!(
        config.contains(&format!("platform: {platform}\n")),
        "{config}"
    );

    // What the report names as still to set, and only that, is given on the command line.
    let missing: Vec<&str> = config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# "))
        .filter_map(|l| l.split_once(": required, not in the KfDef"))
        .map(|(name, _)| name)
        .collect();
    for m in &missing {
        assert!(report.contains(&format!("`{m}`")), "{m} not in the report");
    }
    let source = format!(
        "kubeflow-manifests={}",
        kubeflow_corpus::release("latest").display()
    );
    let mut args = vec!["build", "-f", "kfctl.yaml", "--source", &source];
    let sets: Vec<&str> = missing.iter().map(|m| values_for(m)).collect();
    for s in &sets {
        args.extend(["--set", s]);
    }
    let rendered = ctx.kfctl(&args).output().expect("cannot run kfctl");
    assert!(
        rendered.status.success(),
        "the imported config does not render:\n{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    for object in [
        "name: kubeflow\n",
        "name: ml-pipeline\n",
        "name: jupyter-web-app",
    ] {
        assert!(text.contains(object), "`{object}` is not in the render");
    }
}

#[test]
fn gcp_with_iap() {
    imports_and_renders("kfctl_gcp_iap.v1.2.0.yaml", "gcp");
}

#[test]
fn aws() {
    imports_and_renders("kfctl_aws.v1.2.0.yaml", "aws");
}

#[test]
fn plain_k8s_istio_is_onprem() {
    imports_and_renders("kfctl_k8s_istio.v1.2.0.yaml", "onprem");
}

#[test]
fn a_file_that_is_not_a_kfdef() {
    let ctx = TestContext::new();
    ctx.write(
        "cm.yaml",
        "# a ConfigMap\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    insta::assert_snapshot!(ctx.run(&mut ctx.kfctl(&["import", "cm.yaml"])), @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: cannot import `cm.yaml`
      caused by: cm.yaml:2: not a KfDef: `apiVersion` is `v1`, expected `kfdef.apps.kubeflow.org/v1`

    hint: `kfctl import` reads a kfctl v1 KfDef, which starts with `apiVersion: kfdef.apps.kubeflow.org/v1` and `kind: KfDef`
    ");
    assert!(!ctx.path().join("kfctl.yaml").exists());
}

#[test]
fn an_existing_config_is_kept() {
    let ctx = TestContext::new();
    ctx.write("kfctl.yaml", "mine\n");
    let kfdef = fixture("kfctl_k8s_istio.v1.2.0.yaml").display().to_string();
    let out = run(&mut ctx.kfctl(&["import", &kfdef]));
    assert!(out.contains("exit_code: 1"), "{out}");
    assert!(out.contains("`kfctl.yaml` exists already"), "{out}");
    assert_eq!(
        std::fs::read_to_string(ctx.path().join("kfctl.yaml")).unwrap(),
        "mine\n"
    );
}
