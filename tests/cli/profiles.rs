//! `kfctl build -p PLATFORM` and `-f kfctl.yaml` on the Kubeflow corpus, `kfctl platforms`,
//! `components` and `releases`, and what they say about bad input.
//!
//! Every platform renders with its defaults (required parameters given with `--set`), and each
//! render is checked for named facts the catalog and the profiles produce. To cover another
//! platform fact, add a row to `PLATFORMS` or an entry to its `present`/`absent` lists.

use std::path::Path;

use serde_json::Value;

use crate::kubeflow_corpus;
use crate::support::{TestContext, kfctl, run};

/// `--source kubeflow-manifests=...` for a catalog release.
fn source_arg(release: &str) -> String {
    format!(
        "kubeflow-manifests={}",
        kubeflow_corpus::release(release).display()
    )
}

/// An object in a render: `Kind/namespace/name` (namespace empty for cluster objects).
type ObjectRef = (&'static str, &'static str, &'static str);

struct PlatformCase {
    name: &'static str,
    /// `--set` values for the required parameters.
    sets: &'static [&'static str],
    /// Objects the platform's default components bring.
    present: &'static [ObjectRef],
    /// Objects of components the platform does not enable by default.
    absent: &'static [ObjectRef],
}

/// One object of each default component (kubeflow-namespace, cert-manager, istio,
/// oauth2-proxy, dex, notebooks, pipelines).
const CORE: &[ObjectRef] = &[
    ("Namespace", "", "kubeflow"),
    ("ClusterRole", "", "kubeflow-admin"),
    ("Deployment", "cert-manager", "cert-manager-webhook"),
    ("ClusterIssuer", "", "kubeflow-self-signing-issuer"),
    ("Deployment", "istio-system", "istiod"),
    ("Gateway", "kubeflow", "kubeflow-gateway"),
    ("Deployment", "oauth2-proxy", "oauth2-proxy"),
    ("Deployment", "auth", "dex"),
    ("Deployment", "kubeflow", "notebook-controller-deployment"),
    ("Deployment", "kubeflow", "jupyter-web-app-deployment"),
    ("Deployment", "kubeflow", "profiles-deployment"),
    ("Deployment", "kubeflow", "centraldashboard"),
    ("Deployment", "kubeflow", "admission-webhook-deployment"),
    ("Deployment", "kubeflow", "volumes-web-app-deployment"),
    ("Deployment", "kubeflow", "ml-pipeline"),
    ("Deployment", "kubeflow", "workflow-controller"),
    ("Deployment", "kubeflow", "mysql"),
];

const GPU_PLUGIN: ObjectRef = ("DaemonSet", "kube-system", "nvidia-device-plugin");

const PLATFORMS: &[PlatformCase] = &[
    PlatformCase {
        name: "local",
        sets: &[],
        present: &[GPU_PLUGIN],
        absent: &[],
    },
    PlatformCase {
        name: "gcp",
        sets: &[
            "project=kf-test-project",
            "domain=kubeflow.example.com",
            "gcsBucket=kf-test-artifacts",
            "workloadIdentityServiceAccount=kubeflow@kf-test-project.iam.gserviceaccount.com",
        ],
        present: &[],
        absent: &[GPU_PLUGIN],
    },
    PlatformCase {
        name: "aws",
        sets: &[
            "accountId=123456789012",
            "region=us-east-1",
            "clusterName=kf-test",
            "s3Bucket=kf-test-artifacts",
            "pipelineRoleArn=arn:aws:iam::123456789012:role/kf-pipelines",
            "notebookRoleArn=arn:aws:iam::123456789012:role/kf-notebooks",
            "domain=kubeflow.example.com",
            "certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        ],
        present: &[],
        absent: &[GPU_PLUGIN],
    },
    PlatformCase {
        name: "azure",
        sets: &[
            "subscriptionId=00000000-1111-2222-3333-444444444444",
            "tenantId=55555555-6666-7777-8888-999999999999",
            "clientId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "domain=kubeflow.example.com",
            "acmeEmail=acme@example.com",
        ],
        present: &[],
        absent: &[GPU_PLUGIN],
    },
    PlatformCase {
        name: "onprem",
        sets: &["domain=kubeflow.example.com", "storageClass=local-path"],
        present: &[],
        absent: &[GPU_PLUGIN],
    },
];

fn build_args(case: &PlatformCase, release: &str, output: &str) -> Vec<String> {
    let mut args = vec![
        "build".to_owned(),
        "-p".to_owned(),
        case.name.to_owned(),
        "--release".to_owned(),
        release.to_owned(),
        "--source".to_owned(),
        source_arg(release),
        "-o".to_owned(),
        output.to_owned(),
    ];
    for s in case.sets {
        args.push("--set".to_owned());
        args.push(s.to_string());
    }
    args
}

/// Runs kfctl and returns its stdout, failing the test with stderr if it failed.
fn stdout_of(args: &[String]) -> Vec<u8> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kfctl(&args).output().expect("cannot run kfctl");
    assert!(
        out.status.success(),
        "kfctl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn objects(json: &[u8]) -> Vec<Value> {
    let list: Value = serde_json::from_slice(json).expect("`-o json` prints JSON");
    list["items"].as_array().expect("a List has items").clone()
}

fn find(objects: &[Value], (kind, namespace, name): ObjectRef) -> Option<&Value> {
    objects.iter().find(|o| {
        o["kind"] == kind
            && o["metadata"]["name"] == name
            && o["metadata"]["namespace"].as_str().unwrap_or("") == namespace
    })
}

#[test]
fn every_platform_renders_its_default_components() {
    for case in PLATFORMS {
        let objs = objects(&stdout_of(&build_args(case, "latest", "json")));
        for want in CORE.iter().chain(case.present) {
            assert!(
                find(&objs, *want).is_some(),
                "platform `{}`: no {want:?} in the render",
                case.name
            );
        }
        for unwanted in case.absent {
            assert!(
                find(&objs, *unwanted).is_none(),
                "platform `{}`: {unwanted:?} is rendered but its component is not a default",
                case.name
            );
        }
        assert!(
            find(&objs, ("ConfigMap", "kubeflow", "kfctl-parameters")).is_none(),
            "platform `{}`: the local-config parameters ConfigMap reached the output",
            case.name
        );
    }
}

#[test]
fn every_release_renders() {
    let local = &PLATFORMS[0];
    for release in ["1.10.2", "1.11.0", "latest"] {
        let objs = objects(&stdout_of(&build_args(local, release, "json")));
        for want in CORE {
            assert!(
                find(&objs, *want).is_some(),
                "release `{release}`: no {want:?} in the render"
            );
        }
    }
}

#[test]
fn the_same_input_renders_byte_identical_output() {
    for case in [&PLATFORMS[0], &PLATFORMS[1]] {
        let args = build_args(case, "latest", "yaml");
        let first = stdout_of(&args);
        assert!(first.len() > 100_000, "a suspiciously small render");
        assert!(
            first == stdout_of(&args),
            "platform `{}` renders differently twice",
            case.name
        );
    }
}

/// A root directory with the repository's catalog and project manifests, one platform profile
/// and one overlay written by the test, to see what reaches overlays.
fn test_root(ctx: &TestContext, platform_components: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(repo.join("manifests"), ctx.path().join("manifests"))
        .expect("cannot link manifests/");
    ctx.write(
        "platforms/local.yaml",
        &format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: PlatformProfile\nmetadata:\n  name: local\n  description: test\nspec:\n  components: {platform_components}\n  parameters:\n  - name: greeting\n    default: hello\n  - name: storageClass\n    required: true\n"
        ),
    );
}

#[test]
fn parameters_reach_overlays_through_the_configmap() {
    let ctx = TestContext::new();
    test_root(&ctx, "[kubeflow-namespace]");
    ctx.write(
        "overlays/local/kubeflow-namespace/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nreplacements:\n- source: {kind: ConfigMap, name: kfctl-parameters, fieldPath: data.storageClass}\n  targets:\n  - select: {kind: Namespace, name: kubeflow}\n    fieldPaths: [metadata.annotations.storage]\n    options: {create: true}\n- source: {kind: ConfigMap, name: kfctl-parameters, fieldPath: data.greeting}\n  targets:\n  - select: {kind: Namespace, name: kubeflow}\n    fieldPaths: [metadata.annotations.greeting]\n    options: {create: true}\n",
    );
    let root = ctx.path().display().to_string();
    let source = source_arg("latest");
    let json = stdout_of(
        &[
            "build",
            "-p",
            "local",
            "--root",
            &root,
            "--source",
            &source,
            "--set",
            "storageClass=fast",
            "-o",
            "json",
        ]
        .map(str::to_owned),
    );
    let objs = objects(&json);
    let ns = find(&objs, ("Namespace", "", "kubeflow")).expect("the kubeflow namespace");
    assert_eq!(
        ns["metadata"]["annotations"]["storage"], "fast",
        "the --set value"
    );
    assert_eq!(
        ns["metadata"]["annotations"]["greeting"], "hello",
        "the default"
    );
}

#[test]
fn enabling_a_component_enables_what_it_needs_and_says_so() {
    let ctx = TestContext::new();
    test_root(&ctx, "[oauth2-proxy]");
    let root = ctx.path().display().to_string();
    let source = source_arg("latest");
    let out = kfctl(&[
        "build",
        "-p",
        "local",
        "--root",
        &root,
        "--source",
        &source,
        "--set",
        "storageClass=x",
        "-o",
        "json",
    ])
    .output()
    .expect("cannot run kfctl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr));
    let objs = objects(&out.stdout);
    for want in [
        ("Deployment", "oauth2-proxy", "oauth2-proxy"),
        ("Deployment", "istio-system", "istiod"),
        ("Namespace", "", "kubeflow"),
    ] {
        assert!(find(&objs, want).is_some(), "no {want:?}");
    }
    assert!(find(&objs, ("Deployment", "auth", "dex")).is_none());
}

#[test]
fn kfctl_yaml_renders_as_the_same_flags() {
    let ctx = TestContext::new();
    let gcp = &PLATFORMS[1];
    ctx.write(
        "kfctl.yaml",
        &format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  platform: gcp\n  release: \"1.11.0\"\n  sources:\n    kubeflow-manifests:\n      path: {}\n  parameters:\n{}",
            kubeflow_corpus::release("1.11.0").display(),
            gcp.sets
                .iter()
                .map(|s| {
                    let (k, v) = s.split_once('=').expect("name=value");
                    format!("    {k}: {v}\n")
                })
                .collect::<String>()
        ),
    );
    let file = ctx.path().join("kfctl.yaml").display().to_string();
    let from_file = stdout_of(&["build".to_owned(), "-f".to_owned(), file]);
    let from_flags = stdout_of(&build_args(gcp, "1.11.0", "yaml"));
    assert!(
        from_file == from_flags,
        "kfctl.yaml and flags render differently"
    );
}

/// The admin's bcrypt hash from `kfctl.yaml` is what dex reads; without one, upstream's stays.
#[test]
fn admin_password_hash_reaches_dex() {
    const HASH: &str = "$2b$12$abcdefghijklmnopqrstuu1234567890ABCDEFGHIJKLMNOPQRSTU";
    let ctx = TestContext::new();
    let config = |admin: &str| {
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  platform: local\n  release: \"1.11.0\"\n  sources:\n    kubeflow-manifests:\n      path: {}\n{admin}",
            kubeflow_corpus::release("1.11.0").display(),
        )
    };
    let dex_password = |file: &str| {
        let path = ctx.path().join(file).display().to_string();
        let objs = objects(&stdout_of(&[
            "build".to_owned(),
            "-f".to_owned(),
            path,
            "-o".to_owned(),
            "json".to_owned(),
        ]));
        let secret = find(&objs, ("Secret", "auth", "dex-passwords")).expect("dex-passwords");
        secret["stringData"]["DEX_USER_PASSWORD"]
            .as_str()
            .expect("a hash")
            .to_owned()
    };
    ctx.write(
        "with.yaml",
        &config(&format!(
            "  admin:\n    email: admin@example.com\n    passwordHash: \"{HASH}\"\n"
        )),
    );
    ctx.write("without.yaml", &config(""));
    assert_eq!(dex_password("with.yaml"), HASH);
    let upstream = dex_password("without.yaml");
    assert!(upstream.starts_with("$2") && upstream != HASH, "{upstream}");
}

/// `kfctl build -f kfctl.yaml` on a bad file: exit 1, the file and line, and a hint.
fn bad_config(spec: &str) -> String {
    let ctx = TestContext::new();
    ctx.write(
        "kfctl.yaml",
        &format!("apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n{spec}"),
    );
    let out = ctx.run(&mut ctx.kfctl(&["build", "-f", "kfctl.yaml"]));
    assert!(out.contains("exit_code: 1\n"), "not a user error:\n{out}");
    assert!(out.contains("hint: "), "no hint:\n{out}");
    out
}

#[test]
fn config_unknown_platform() {
    let out = bad_config("  platform: gke\n");
    assert!(
        out.contains("kfctl.yaml:6: unknown platform `gke`"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn config_missing_required_parameter() {
    let out = bad_config("  platform: gcp\n  parameters:\n    project: kf-test-project\n");
    assert!(
        out.contains("kfctl.yaml:7: platform `gcp` needs parameters `domain`"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn config_invalid_value() {
    let out = bad_config("  platform: aws\n  parameters:\n    accountId: \"1234\"\n");
    assert!(
        out.contains("kfctl.yaml:8: invalid value `1234` for parameter `accountId`"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn config_number_for_a_string_parameter() {
    let out = bad_config("  platform: aws\n  parameters:\n    accountId: 012345678901\n");
    assert!(
        out.contains("kfctl.yaml:8: parameter `accountId` must be a string"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn config_plaintext_password() {
    let out = bad_config(
        "  platform: local\n  admin:\n    email: user@example.com\n    password: 12341234\n",
    );
    assert!(
        out.contains("kfctl.yaml:9: `spec.admin.password` holds a plaintext password"),
        "{out}"
    );
    assert!(!out.contains("12341234"), "the password is printed:\n{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn config_unknown_key() {
    let out =
        bad_config("  platform: local\n  components:\n    pipelines:\n      enabeld: false\n");
    assert!(
        out.contains("kfctl.yaml:9: unknown field `spec.components.pipelines.enabeld`"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn config_wrong_type() {
    let out = bad_config("  platform: local\n  components:\n    gpu:\n      enabled: \"no\"\n");
    assert!(
        out.contains("kfctl.yaml:9: `spec.components.gpu.enabled` must be"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_release_flag() {
    let out = run(&mut kfctl(&["build", "-p", "local", "--release", "1.9"]));
    assert!(out.contains("exit_code: 1\n"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn dir_and_platform_conflict() {
    let out = run(&mut kfctl(&["build", ".", "-p", "local"]));
    assert!(
        out.contains("exit_code: 1\n") || out.contains("exit_code: 2\n"),
        "{out}"
    );
    assert!(out.contains("cannot be used with"), "{out}");
}

#[test]
fn releases() {
    insta::assert_snapshot!(run(&mut kfctl(&["releases"])));
}

#[test]
fn components_of_a_release() {
    insta::assert_snapshot!(run(&mut kfctl(&["components", "--release", "1.10.2"])));
}

#[test]
fn platforms() {
    insta::assert_snapshot!(run(&mut kfctl(&["platforms"])));
}

#[test]
fn listings_as_json() {
    let json = |args: &[&str]| -> Value {
        let out = kfctl(args).output().expect("cannot run kfctl");
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let releases = json(&["releases", "-o", "json"]);
    let names: Vec<&str> = releases
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["1.10.2", "1.11.0", "26.03", "26.03.1-rc.2", "latest"]
    );
    let flags: Vec<(&str, bool, bool)> = releases
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default(),
                r["default"] == true,
                r["prerelease"] == true,
            )
        })
        .collect();
    assert!(
        flags.contains(&("26.03.1-rc.2", false, true)) && flags.contains(&("26.03", true, false)),
        "{flags:?}"
    );
    let serving_and_training = json(&["components", "-o", "json", "--release", "26.03"]);
    assert_eq!(serving_and_training["release"], "26.03");
    let names: Vec<&str> = serving_and_training["components"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for name in kubeflow_corpus::EXAMPLE_COMPONENTS
        .iter()
        .chain(&kubeflow_corpus::OPTIONAL_COMPONENTS)
    {
        assert!(names.contains(name), "26.03 offers `{name}`: {names:?}");
    }
    let components = json(&["components", "-o", "json", "--release", "1.11.0"]);
    assert_eq!(components["release"], "1.11.0");
    let pipelines = components["components"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|c| c["name"] == "pipelines")
        .expect("pipelines");
    assert!(
        pipelines["depends"]
            .as_array()
            .is_some_and(|d| d.contains(&Value::from("istio")))
    );
    let platforms = json(&["platforms", "-o", "json"]);
    let gcp = platforms
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["name"] == "gcp")
        .expect("gcp");
    let project = gcp["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "project")
        .expect("project");
    assert_eq!(project["required"], true);
}
