//! Platform builds against `kubectl kustomize`: for every platform and release, each
//! component's composed kustomization (upstream paths, project manifests, overlays and the
//! parameters ConfigMap) is written to disk and built by kubectl, and kfctl's in-memory render
//! of that component must be the same objects in the same order.

use std::path::PathBuf;

use kfctl::profile::{self, Request, ResolvedProfile, Where, compose};
use kfctl::render::RealFs;
use serde_json::Value;

use crate::diff::first_difference;
use crate::kubeflow_corpus;
use crate::run::{kubectl, parse_stream};

/// Required parameters of each platform, valid for its patterns.
const PLATFORMS: &[(&str, &[&str])] = &[
    ("local", &[]),
    (
        "gcp",
        &[
            "project=kf-test-project",
            "domain=kubeflow.example.com",
            "gcsBucket=kf-test-artifacts",
            "workloadIdentityServiceAccount=kubeflow@kf-test-project.iam.gserviceaccount.com",
        ],
    ),
    (
        "aws",
        &[
            "accountId=123456789012",
            "region=us-east-1",
            "clusterName=kf-test",
            "s3Bucket=kf-test-artifacts",
            "pipelineRoleArn=arn:aws:iam::123456789012:role/kf-pipelines",
            "notebookRoleArn=arn:aws:iam::123456789012:role/kf-notebooks",
            "domain=kubeflow.example.com",
            "certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        ],
    ),
    (
        "azure",
        &[
            "subscriptionId=00000000-1111-2222-3333-444444444444",
            "tenantId=55555555-6666-7777-8888-999999999999",
            "clientId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "domain=kubeflow.example.com",
            "acmeEmail=acme@example.com",
        ],
    ),
    (
        "onprem",
        &["domain=kubeflow.example.com", "storageClass=local-path"],
    ),
];

fn resolve(platform: &str, sets: &[&str], release: &str) -> ResolvedProfile {
    resolve_with(platform, sets, release, None)
}

/// As [`resolve`], with a `kfctl.yaml`.
fn resolve_with(
    platform: &str,
    sets: &[&str],
    release: &str,
    config: Option<profile::KfctlConfig>,
) -> ResolvedProfile {
    let request = Request {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        catalog: None,
        cwd: PathBuf::from("/"),
        platform: Some((platform.to_owned(), Where::Default)),
        release: Some((release.to_owned(), Where::Default)),
        config,
        sets: sets.iter().map(|s| s.to_string()).collect(),
        sources: vec![format!(
            "kubeflow-manifests={}",
            kubeflow_corpus::release(release).display()
        )],
    };
    profile::resolve(&RealFs, &request)
        .unwrap_or_else(|e| panic!("{platform} {release}: cannot resolve: {e}"))
}

/// Every component of `resolved`, rendered by kfctl alone and by kubectl from disk.
fn assert_components_render_as_kubectl(resolved: &ResolvedProfile) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let base = tmp.path().canonicalize().expect("a canonical temp dir");
    for (file, text) in compose::kustomization_files(resolved, &base) {
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, text).expect("write");
    }
    for component in &resolved.components {
        let want = kubectl(&base.join(&component.name))
            .and_then(|text| parse_stream(&text))
            .unwrap_or_else(|e| {
                panic!(
                    "{} {}: kubectl cannot build component `{}`: {e}",
                    resolved.platform, resolved.release, component.name
                )
            });
        let mut alone = resolved.clone();
        alone.components = vec![component.clone()];
        // The platform's webhook failure policy is kfctl's own step after kustomize's; kubectl
        // has no equivalent (`compose::tests` covers it).
        alone.webhook_failure_policy = None;
        let got: Vec<Value> = profile::render(&RealFs, &alone)
            .unwrap_or_else(|e| {
                panic!(
                    "{} {}: kfctl cannot render component `{}`: {e}",
                    resolved.platform, resolved.release, component.name
                )
            })
            .resources
            .iter()
            .map(|r| r.body.clone())
            .collect();
        // Through the same YAML parser as kubectl's output.
        let got = parse_stream(&kfctl::resource::yaml::to_yaml_stream(got.iter()))
            .expect("kfctl's YAML parses");
        if let Some(diff) = first_difference(&want, &got) {
            panic!(
                "{} {}: component `{}` renders differently: {diff}",
                resolved.platform, resolved.release, component.name
            );
        }
    }
}

#[test]
fn every_platform_renders_as_kubectl() {
    for (platform, sets) in PLATFORMS {
        assert_components_render_as_kubectl(&resolve(platform, sets, "latest"));
    }
}

/// Every component each release has, enabled, as a `kfctl.yaml` enables them.
fn everything_in(release: &str, dir: &std::path::Path) -> profile::KfctlConfig {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let catalog = profile::Catalog::load(&RealFs, &root).expect("the catalog loads");
    let paths = &catalog
        .releases
        .iter()
        .find(|r| r.name == release)
        .unwrap_or_else(|| panic!("release {release} is in the catalog"))
        .paths;
    let components: String = paths
        .keys()
        .map(|name| format!("    {name}: {{enabled: true}}\n"))
        .collect();
    let file = dir.join(format!("kfctl-{release}.yaml"));
    std::fs::write(
        &file,
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  components:\n{components}"
        ),
    )
    .expect("write kfctl.yaml");
    profile::KfctlConfig::load(&RealFs, &file).expect("the kfctl.yaml loads")
}

#[test]
fn every_component_of_every_release_renders_as_kubectl() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    for release in ["1.10.2", "1.11.0", "26.03", "26.03.1-rc.2"] {
        let config = everything_in(release, tmp.path());
        let resolved = resolve_with("local", &[], release, Some(config));
        for name in kubeflow_corpus::EXAMPLE_COMPONENTS
            .iter()
            .chain(&kubeflow_corpus::OPTIONAL_COMPONENTS)
        {
            assert!(
                resolved.components.iter().any(|c| c.name == *name),
                "{release}: component `{name}` is not enabled"
            );
        }
        assert_components_render_as_kubectl(&resolved);
    }
}
