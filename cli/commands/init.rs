//! `kfctl init`: run the wizard and write its answers to `kfctl.yaml`, atomically.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

use super::Outcome;
use crate::errors::UserError;
use crate::output::Printer;
use crate::settings::{InitSettings, PasswordSource};
use crate::wizard::{
    self, Ask, Choices, ComponentChoice, Given, ParamSpec, PlatformChoice, WizardError,
};

pub fn run(settings: &InitSettings, printer: Printer) -> Result<Outcome> {
    let output = &settings.output;
    // Said before any question, so that no one answers them all for nothing.
    refuse_overwrite(output, settings.force)?;
    let given = Given {
        platform: settings.platform.clone(),
        release: settings.release.clone(),
        components: settings.components.clone(),
        set: settings.set.clone(),
        admin_email: settings.admin_email.clone(),
        admin_password: settings
            .admin_password
            .as_ref()
            .map(read_password)
            .transpose()?,
        gpu: settings.gpu,
        storage_class: settings.storage_class.clone(),
        output: output.display().to_string(),
    };
    let ask = match &settings.no_prompt_reason {
        None => Ask::Terminal,
        Some(reason) => Ask::Never {
            reason: reason.clone(),
        },
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    if ask == Ask::Terminal {
        wizard::catch_interrupts(&interrupted);
    }
    let config = wizard::run(&builtin_choices(), &given, &ask, &interrupted, printer)?;
    let text = config
        .to_yaml()
        .context("cannot write the config as YAML")?;
    // A Ctrl-C while the password was hashed is caught, not fatal: honour it here.
    if interrupted.load(Ordering::SeqCst) {
        return Err(WizardError::Interrupted.into());
    }
    // Checked again: the file may have appeared while the questions were answered.
    refuse_overwrite(output, settings.force)?;
    write_atomically(output, &text)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    printer.info(&format!("wrote `{}`", output.display()));
    printer.info(&format!(
        "next: kfctl apply -f {}",
        shell_word(&output.display().to_string())
    ));
    Ok(Outcome::Success)
}

fn refuse_overwrite(output: &Path, force: bool) -> Result<()> {
    if !force && output.exists() {
        return Err(
            UserError::new(format!("`{}` exists already", output.display()))
                .with_hint("pass `--force` to overwrite it, or `-o FILE` to write another file")
                .into(),
        );
    }
    Ok(())
}

fn read_password(source: &PasswordSource) -> Result<String> {
    let password = match source {
        PasswordSource::Env(var) => std::env::var(var).map_err(|_| {
            UserError::new(format!(
                "environment variable `{var}` (from `--admin-password-env`) is not set"
            ))
        })?,
        PasswordSource::File(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the admin password from `{}` (`--admin-password-file`)",
                    path.display()
                )
            })?;
            text.lines().next().unwrap_or_default().to_owned()
        }
    };
    Ok(password)
}

/// Writes a temp file beside `path` and renames it over: a reader (or an interrupt) sees the
/// old file or the whole new one, never half of it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kfctl.yaml".to_owned());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Quotes a path for the printed command when a shell would split or expand it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// The catalog's data until `profile` provides it: platforms with their parameters (as
// `platforms/*.yaml` declare them), releases and components with their dependencies (as
// `manifests/catalog.yaml` lists them). Replaced by the catalog and profile loader.
fn builtin_choices() -> Choices {
    const PROJECT: &str = "[a-z][a-z0-9-]{4,28}[a-z0-9]";
    const DOMAIN: &str = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}";
    const GUID: &str =
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
    const EMAIL: &str = r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}";
    const ROLE_ARN: &str = r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}";
    const BUCKET: &str = "[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]";

    let param = |name: &str, description: &str, required: bool, default: Option<&str>| ParamSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        required,
        default: default.map(str::to_owned),
        pattern: None,
        secret: false,
    };
    let matching = |mut spec: ParamSpec, pattern: &str| {
        spec.pattern = Some(pattern.to_owned());
        spec
    };
    let storage =
        |default: Option<&str>| param("storageClass", "storage class for volumes", true, default);
    let domain = || {
        matching(
            param(
                "domain",
                "domain name Kubeflow is served at (e.g. kubeflow.example.com)",
                true,
                None,
            ),
            DOMAIN,
        )
    };
    let acme_email = |required: bool| {
        matching(
            param(
                "acmeEmail",
                "e-mail address for the ACME (Let's Encrypt) account",
                required,
                None,
            ),
            EMAIL,
        )
    };
    let all = |extra: &[&str]| -> Vec<String> {
        [
            "kubeflow-namespace",
            "cert-manager",
            "istio",
            "oauth2-proxy",
            "dex",
            "notebooks",
            "pipelines",
        ]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
    };
    let platform = |name: &str, description: &str, parameters, default_components| PlatformChoice {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
        default_components,
    };
    let platforms = vec![
        platform(
            "gcp",
            "Google Kubernetes Engine: Workload Identity, GCS artifacts, IAP-ready gateway",
            vec![
                matching(param("project", "GCP project id", true, None), PROJECT),
                matching(
                    param("region", "GCP region or zone", true, Some("us-central1")),
                    "[a-z]+-[a-z]+[0-9]+(-[a-z])?",
                ),
                domain(),
                matching(
                    param("gcsBucket", "GCS bucket for pipeline artifacts", true, None),
                    BUCKET,
                ),
                matching(
                    param(
                        "workloadIdentityServiceAccount",
                        "Google service account for Workload Identity (NAME@PROJECT.iam.gserviceaccount.com)",
                        true,
                        None,
                    ),
                    &format!(
                        r"[a-z][a-z0-9-]{{4,28}}[a-z0-9]@{PROJECT}\.iam\.gserviceaccount\.com"
                    ),
                ),
                storage(Some("standard-rwo")),
                matching(
                    param(
                        "gpuDriverVersion",
                        "GKE GPU driver version",
                        false,
                        Some("default"),
                    ),
                    "default|latest",
                ),
            ],
            all(&[]),
        ),
        platform(
            "aws",
            "Amazon EKS: IRSA roles, S3 artifacts, ALB ingress",
            vec![
                matching(
                    param("accountId", "AWS account id (12 digits)", true, None),
                    "[0-9]{12}",
                ),
                matching(
                    param("region", "AWS region", true, Some("us-east-1")),
                    "[a-z]{2}(-gov)?-[a-z]+-[0-9]",
                ),
                matching(
                    param("clusterName", "EKS cluster name", true, None),
                    "[A-Za-z0-9][A-Za-z0-9_-]{0,99}",
                ),
                matching(
                    param("s3Bucket", "S3 bucket for pipeline artifacts", true, None),
                    BUCKET,
                ),
                matching(
                    param(
                        "pipelineRoleArn",
                        "IAM role ARN for pipelines (IRSA)",
                        true,
                        None,
                    ),
                    ROLE_ARN,
                ),
                matching(
                    param(
                        "notebookRoleArn",
                        "IAM role ARN for notebooks (IRSA)",
                        true,
                        None,
                    ),
                    ROLE_ARN,
                ),
                storage(Some("gp3")),
                domain(),
                matching(
                    param(
                        "certificateArn",
                        "ACM certificate ARN for the ALB",
                        false,
                        None,
                    ),
                    r"arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}",
                ),
            ],
            all(&[]),
        ),
        platform(
            "azure",
            "Azure AKS: Azure Workload Identity, managed-csi storage",
            vec![
                matching(
                    param(
                        "subscriptionId",
                        "Azure subscription id (a GUID)",
                        true,
                        None,
                    ),
                    GUID,
                ),
                matching(
                    param("tenantId", "Azure tenant id (a GUID)", true, None),
                    GUID,
                ),
                matching(
                    param(
                        "clientId",
                        "Azure client id for Workload Identity (a GUID)",
                        true,
                        None,
                    ),
                    GUID,
                ),
                storage(Some("managed-csi")),
                domain(),
                acme_email(true),
            ],
            all(&[]),
        ),
        platform(
            "onprem",
            "Your own cluster: PVC-backed storage, dex users or LDAP, NodePort/LoadBalancer",
            vec![
                domain(),
                storage(None),
                matching(
                    param(
                        "gatewayServiceType",
                        "Service type of the ingress gateway (NodePort or LoadBalancer)",
                        true,
                        Some("NodePort"),
                    ),
                    "NodePort|LoadBalancer",
                ),
                matching(
                    param("ldapHost", "LDAP server (HOST[:PORT]) for dex", false, None),
                    r"[A-Za-z0-9.-]+(:[0-9]{1,5})?",
                ),
                acme_email(false),
            ],
            all(&[]),
        ),
        platform(
            "local",
            "The local (simulated) cluster: small requests, GPU plugin on simulated GPU nodes",
            vec![storage(Some("standard"))],
            all(&["gpu"]),
        ),
    ];
    let component = |name: &str, description: &str, depends: &[&str]| ComponentChoice {
        name: name.to_owned(),
        description: description.to_owned(),
        depends: depends.iter().map(|s| (*s).to_owned()).collect(),
    };
    Choices {
        platforms,
        releases: vec![
            "1.10.2".to_owned(),
            "1.11.0".to_owned(),
            "latest".to_owned(),
        ],
        components: vec![
            component(
                "kubeflow-namespace",
                "the kubeflow namespace and Kubeflow roles",
                &[],
            ),
            component("cert-manager", "certificates for webhooks", &[]),
            component(
                "istio",
                "Istio mesh, gateways and istio-resources",
                &["kubeflow-namespace"],
            ),
            component("oauth2-proxy", "authentication at the gateway", &["istio"]),
            component("dex", "identity provider", &["istio", "oauth2-proxy"]),
            component(
                "notebooks",
                "notebooks, dashboard, profiles and KFAM",
                &["kubeflow-namespace", "istio", "cert-manager", "dex"],
            ),
            component(
                "pipelines",
                "Kubeflow Pipelines, multi-user",
                &["kubeflow-namespace", "istio", "cert-manager", "dex"],
            ),
            component("gpu", "NVIDIA device plugin and driver setup", &[]),
        ],
        default_platform: "local".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param<'a>(choices: &'a Choices, platform: &str, name: &str) -> &'a ParamSpec {
        choices
            .platforms
            .iter()
            .find(|p| p.name == platform)
            .and_then(|p| p.parameters.iter().find(|s| s.name == name))
            .unwrap_or_else(|| panic!("{platform} has no parameter {name}"))
    }

    fn matches(spec: &ParamSpec, value: &str) -> bool {
        let pattern = spec.pattern.as_deref().expect("a pattern");
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .expect("the pattern compiles")
            .is_match(value)
    }

    #[test]
    fn builtin_choices_are_consistent() {
        let choices = builtin_choices();
        let components: Vec<&str> = choices.components.iter().map(|c| c.name.as_str()).collect();
        for (i, c) in choices.components.iter().enumerate() {
            for dep in &c.depends {
                let at = components.iter().position(|n| n == dep);
                assert!(
                    at.is_some_and(|at| at < i),
                    "`{}` needs `{dep}`, which is not listed before it",
                    c.name
                );
            }
        }
        assert!(
            choices
                .platforms
                .iter()
                .any(|p| p.name == choices.default_platform)
        );
        for p in &choices.platforms {
            for c in &p.default_components {
                assert!(components.contains(&c.as_str()), "{}: {c}", p.name);
            }
            assert!(
                p.parameters.iter().any(|s| s.name == "storageClass"),
                "{} has no storage class",
                p.name
            );
            for spec in &p.parameters {
                if let (Some(_), Some(default)) = (&spec.pattern, &spec.default) {
                    assert!(matches(spec, default), "{}.{} default", p.name, spec.name);
                }
            }
        }
    }

    #[test]
    fn builtin_patterns_accept_and_refuse() {
        let choices = builtin_choices();
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "gcp",
                "project",
                &["my-proj-1", "kubeflow-demo"],
                &["Bad_Project", "abc", "1project", "ends-with-"],
            ),
            (
                "gcp",
                "workloadIdentityServiceAccount",
                &["kubeflow@my-proj-1.iam.gserviceaccount.com"],
                &["kubeflow@my-proj-1.example.com", "kubeflow"],
            ),
            (
                "aws",
                "accountId",
                &["123456789012"],
                &["12345", "12345678901a"],
            ),
            (
                "aws",
                "pipelineRoleArn",
                &[
                    "arn:aws:iam::123456789012:role/kfp",
                    "arn:aws-us-gov:iam::123456789012:role/path/kfp",
                ],
                &["arn:aws:iam::123:role/kfp", "arn:aws:s3:::bucket"],
            ),
            (
                "azure",
                "clientId",
                &["12345678-90ab-cdef-1234-567890abcdef"],
                &["not-a-guid", "12345678-90ab-cdef-1234-567890abcde"],
            ),
            (
                "azure",
                "domain",
                &["kf.example.com", "a.b.example.org"],
                &["localhost", "-bad.example.com", "kf.example.com."],
            ),
            (
                "azure",
                "acmeEmail",
                &["acme@example.org"],
                &["me@", "@example.org", "me@example"],
            ),
        ];
        for (platform, name, good, bad) in cases {
            let spec = param(&choices, platform, name);
            for v in *good {
                assert!(matches(spec, v), "{platform}.{name} refuses {v}");
            }
            for v in *bad {
                assert!(!matches(spec, v), "{platform}.{name} accepts {v}");
            }
        }
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("kfctl.yaml"), "kfctl.yaml");
        assert_eq!(shell_word("my dir/kf.yaml"), "'my dir/kf.yaml'");
        assert_eq!(shell_word("it's.yaml"), r"'it'\''s.yaml'");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("kfctl.yaml");
        write_atomically(&path, "one\n").expect("first write");
        write_atomically(&path, "two\n").expect("second write");
        assert_eq!(std::fs::read_to_string(&path).expect("written"), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listable")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["kfctl.yaml"]);
    }
}
