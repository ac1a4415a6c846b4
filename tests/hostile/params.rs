//! Parameter values that land inside another document's text (dex's `config.yaml`, Argo's
//! `artifactRepository`, a pipeline root URL): each is rendered so that the document is valid and
//! says exactly the value given, or is refused naming the parameter and what it must match.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Run, kfctl, run};

/// The newest Kubeflow manifests corpus: `KFCTL_CORPUS`, else `shared/corpus/` beside the
/// repository.
pub fn corpus() -> PathBuf {
    let dir = match std::env::var_os("KFCTL_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/kubeflow-manifests"),
    };
    assert!(
        dir.join("example").is_dir(),
        "the Kubeflow manifests corpus is not at `{}`; set KFCTL_CORPUS",
        dir.display()
    );
    dir
}

/// `kfctl build ARGS --source kubeflow-manifests=CORPUS` in a fresh home.
pub fn build(home: &Path, args: &[&str]) -> Run {
    let source = format!("kubeflow-manifests={}", corpus().display());
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    all.extend(["--source", &source]);
    run(&mut kfctl(home, &all))
}

/// The rendered objects of a successful build.
pub fn objects(out: &Run) -> Vec<Value> {
    assert_eq!(out.code, Some(0), "the build failed:\n{}", out.stderr);
    kfctl::resource::yaml::parse_documents(&out.stdout)
        .expect("the render is YAML")
        .into_iter()
        .map(|d| d.value)
        .collect()
}

/// `data.<key>` of ConfigMap `name`, parsed as the YAML document it holds, by a parser that is not
/// kfctl's.
fn embedded(objects: &[Value], name: &str, key: &str) -> Value {
    let cm = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ConfigMap `{name}` in the render"));
    let text = cm["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap `{name}` has no `{key}`"));
    serde_saphyr::from_str(text)
        .unwrap_or_else(|e| panic!("`{key}` of ConfigMap `{name}` is not valid YAML: {e}\n{text}"))
}

/// The e-mail of dex's static user, read from the rendered `config.yaml`.
pub fn dex_admin_email(objects: &[Value]) -> String {
    let config = embedded(objects, "dex", "config.yaml");
    config["staticPasswords"][0]["email"]
        .as_str()
        .expect("dex's static user has an e-mail")
        .to_owned()
}

/// Values the `adminEmail` pattern (`^[^@\s]+@[^@\s]+$`) lets through, each with a character
/// that means something in YAML or in a template.
const HOSTILE_EMAILS: &[&str] = &[
    r#"a"b@c.d"#,
    r#"x"@"y"#,
    r"back\slash\@x.y",
    r#"\"@\n"#,
    "#:{{x}}@y.z",
    "it's,[a]&*b|>!%@example.com",
    "ünïcödé✓𝄞@例え.jp",
    "ctl\u{7f}\u{1b}[0m\u{feff}@x.y",
];

#[test]
fn set_admin_email_with_yaml_syntax_renders_a_dex_config_that_says_exactly_it() {
    let home = tempfile::tempdir().unwrap();
    for email in HOSTILE_EMAILS {
        let set = format!("adminEmail={email}");
        let objects = objects(&build(home.path(), &["-p", "local", "--set", &set]));
        assert_eq!(dex_admin_email(&objects), *email, "--set {set}");
    }
}

#[test]
fn admin_email_in_kfctl_yaml_with_yaml_syntax_reaches_dex_exactly() {
    let home = tempfile::tempdir().unwrap();
    let email = r#"q"uote\#:{{x}}'@b.c"#;
    let config = home.path().join("kfctl.yaml");
    for admin in [
        format!("  admin:\n    email: {}\n", Value::String(email.to_owned())),
        format!(
            "  parameters:\n    adminEmail: {}\n",
            Value::String(email.to_owned())
        ),
    ] {
        std::fs::write(
            &config,
            format!("apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: local\n{admin}"),
        )
        .unwrap();
        let objects = objects(&build(home.path(), &["-f", config.to_str().unwrap()]));
        assert_eq!(dex_admin_email(&objects), email, "{admin}");
    }
}

#[test]
fn admin_email_with_a_line_break_is_refused_naming_the_parameter_and_its_pattern() {
    let home = tempfile::tempdir().unwrap();
    for email in [
        "a@b.c\nstaticClients: []",
        "a@b.c\r",
        "a b@c.d",
        "a@b.c\u{2028}x",
    ] {
        let set = format!("adminEmail={email}");
        let out = build(home.path(), &["-p", "local", "--set", &set]);
        out.refused("parameter `adminEmail`: it must match `^[^@\\s]+@[^@\\s]+$`");
        assert!(out.stdout.is_empty());
    }
}

/// Values of every platform's required parameters that fit their patterns.
fn required(platform: &str) -> Vec<&'static str> {
    match platform {
        "gcp" => vec![
            "project=kf-test-project",
            "domain=kf.example.org",
            "gcsBucket=kf-test-artifacts",
            "workloadIdentityServiceAccount=kubeflow@kf-test-project.iam.gserviceaccount.com",
        ],
        "aws" => vec![
            "accountId=123456789012",
            "region=eu-west-1",
            "clusterName=kf-test",
            "s3Bucket=kf-test-artifacts",
            "pipelineRoleArn=arn:aws:iam::123456789012:role/kf-pipelines",
            "notebookRoleArn=arn:aws:iam::123456789012:role/kf-notebooks",
            "domain=kf.example.org",
            "certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a",
        ],
        "azure" => vec![
            "subscriptionId=00000000-1111-2222-3333-444444444444",
            "tenantId=55555555-6666-7777-8888-999999999999",
            "clientId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "domain=kf.example.org",
            "acmeEmail=acme@example.org",
        ],
        "onprem" => vec!["domain=kf.example.org", "storageClass=ceph-rbd"],
        _ => vec![],
    }
}

fn build_with(home: &Path, platform: &str, extra: &[&str]) -> Run {
    let mut args = vec!["-p", platform];
    for s in required(platform).iter().chain(extra) {
        args.extend(["--set", s]);
    }
    build(home, &args)
}

#[test]
fn every_platform_writes_a_hostile_admin_email_into_dex_exactly() {
    let home = tempfile::tempdir().unwrap();
    let email = r#"a"\#:{{x}}ü@b.c"#;
    let set = format!("adminEmail={email}");
    for platform in ["gcp", "aws", "azure", "onprem"] {
        let objects = objects(&build_with(home.path(), platform, &[&set]));
        assert_eq!(dex_admin_email(&objects), email, "platform {platform}");
    }
}

/// Argo's artifact repository holds two spliced values on aws (region, then bucket): both land
/// where they belong, and the pipeline root URL holds the bucket as its host.
#[test]
fn spliced_bucket_and_region_land_in_their_own_places() {
    let home = tempfile::tempdir().unwrap();
    let objects = objects(&build_with(home.path(), "aws", &[]));
    let repo = embedded(
        &objects,
        "workflow-controller-configmap",
        "artifactRepository",
    );
    assert_eq!(repo["s3"]["region"], "eu-west-1");
    assert_eq!(repo["s3"]["bucket"], "kf-test-artifacts");
    let objects = objects_of_gcp(home.path());
    let repo = embedded(
        &objects,
        "workflow-controller-configmap",
        "artifactRepository",
    );
    assert_eq!(repo["gcs"]["bucket"], "kf-test-artifacts");
    let root = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "kfp-launcher")
        .map(|o| o["data"]["defaultPipelineRoot"].clone());
    assert_eq!(
        root,
        Some(Value::String("gs://kf-test-artifacts/v2/artifacts".into()))
    );
}

fn objects_of_gcp(home: &Path) -> Vec<Value> {
    objects(&build_with(home, "gcp", &[]))
}

/// A value spliced into a URL or between quotes that its pattern does not allow is refused
/// before anything is rendered, naming the parameter and the pattern.
#[test]
fn bucket_and_region_that_would_move_a_splice_are_refused() {
    let home = tempfile::tempdir().unwrap();
    for (platform, set, name) in [
        ("gcp", "gcsBucket=kf/../../x", "gcsBucket"),
        ("gcp", "gcsBucket=kf\"x", "gcsBucket"),
        ("aws", "s3Bucket=kf#x", "s3Bucket"),
        ("aws", "region=eu-west-1\"", "region"),
        ("onprem", "ldapHost=ldap\"x", "ldapHost"),
        (
            "onprem",
            "gatewayServiceType=NodePort\n",
            "gatewayServiceType",
        ),
    ] {
        let out = build_with(home.path(), platform, &[set]);
        out.refused(&format!("parameter `{name}`: it must match `"));
    }
}

/// A kfctl.yaml parameter given as a YAML value that is not a plain string (a map, a list, an
/// alias to one) is refused by type, never turned into text spliced elsewhere.
#[test]
fn a_parameter_that_is_not_a_string_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("kfctl.yaml");
    for value in ["{a: b}", "[x, y]", "123", "true"] {
        std::fs::write(
            &config,
            format!("apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: local\n  parameters:\n    adminEmail: {value}\n"),
        )
        .unwrap();
        let out = build(home.path(), &["-f", config.to_str().unwrap()]);
        out.refused("adminEmail` must be");
    }
}

/// An install name becomes the names of a ConfigMap and a Lease and a path of the API: every
/// command that reads one refuses a name that is not a DNS label, before reaching a cluster.
#[test]
fn install_names_that_are_not_dns_labels_are_refused_by_every_command() {
    let home = tempfile::tempdir().unwrap();
    for name in ["../../secrets/x", "a\nb", "UPPER", "a b", "$(touch x)"] {
        for args in [
            vec!["status", "--name", name],
            vec!["history", "--name", name],
            vec!["rollback", "--name", name],
            vec!["delete", "--name", name, "--yes"],
        ] {
            let out = run(&mut kfctl(home.path(), &args));
            out.refused("is not a valid install name");
        }
    }
}

/// A registry mirror is spliced into every image reference: one that is not a registry prefix
/// is refused, naming the flag.
#[test]
fn a_registry_mirror_that_is_not_a_registry_prefix_is_refused() {
    let home = tempfile::tempdir().unwrap();
    for mirror in ["reg.local/x\n  command: [sh]", "reg local", "reg/a:tag"] {
        let out = build(home.path(), &["-p", "local", "--registry-mirror", mirror]);
        out.refused("is not a registry prefix (`--registry-mirror`");
    }
}

/// Encoding a value costs no more than the value: a render with a long hostile e-mail runs
/// under the address-space limit of the hostile tests.
#[test]
fn a_long_hostile_admin_email_renders_under_the_memory_limit() {
    let home = tempfile::tempdir().unwrap();
    let email = format!("{}@b.c", "\"\\#:{{x}}ü".repeat(4096));
    let set = format!("adminEmail={email}");
    let source = format!("kubeflow-manifests={}", corpus().display());
    let out = run(&mut crate::support::kfctl_limited(
        home.path(),
        crate::support::MEMORY_LIMIT_KIB,
        &["build", "-p", "local", "--set", &set, "--source", &source],
    ));
    assert_eq!(dex_admin_email(&objects(&out)), email);
}

/// A refused value is named in the error with its control characters escaped, so a value from
/// someone else's kfctl.yaml cannot drive the terminal the error is printed on.
#[test]
fn a_refused_value_reaches_the_terminal_without_control_characters() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("kfctl.yaml");
    std::fs::write(
        &config,
        "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: local\n  parameters:\n    adminEmail: \"a\\e]0;pwned\\a\\e[2J\\rb\\nc\"\n",
    )
    .unwrap();
    for args in [
        vec!["-f", config.to_str().unwrap()],
        vec!["-p", "local", "--set", "adminEmail=\u{1b}[2J\r@\n"],
    ] {
        let out = build(home.path(), &args);
        out.refused("for parameter `adminEmail`: it must match");
        assert!(
            !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            out.stderr
        );
        assert!(out.stderr.contains("\\u{1b}"), "{}", out.stderr);
    }
}
