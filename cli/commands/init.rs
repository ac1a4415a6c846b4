//! `kfctl init`: run the wizard and write its answers to `kfctl.yaml`, atomically.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

use super::Outcome;
use crate::errors::UserError;
use crate::output::{Printer, refuse_overwrite, write_atomically};
use crate::profile::{Catalog, PlatformProfile};
use crate::render::RealFs;
use crate::settings::{InitSettings, PasswordSource};
use crate::wizard::{
    self, Ask, Choices, ComponentChoice, Given, ParamSpec, PlatformChoice, WizardError,
};

/// The platform chosen when nothing is asked: the local simulated cluster.
const DEFAULT_PLATFORM: &str = "local";
/// The profile parameter that the wizard's admin e-mail question answers.
const ADMIN_EMAIL_PARAM: &str = "adminEmail";

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
    let config = wizard::run(
        &catalog_choices(
            &settings.root,
            settings.catalog.as_deref(),
            settings.release.as_deref(),
        )?,
        &given,
        &ask,
        &interrupted,
        printer,
    )?;
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
        "next: kfctl build -f {} (renders the platform it describes)",
        crate::shell::quote(&output.display().to_string())
    ));
    Ok(Outcome::Success)
}

fn read_password(source: &PasswordSource) -> Result<String> {
    let password = match source {
        PasswordSource::Env(var) => std::env::var(var).map_err(|_| {
            UserError::new(format!(
                "environment variable `{var}` (from `--admin-password-env`) is not set"
            ))
        })?,
        PasswordSource::File(path) => {
            let text =
                crate::render::fs::read_text_at_most(path, crate::render::fs::MAX_CONFIG_BYTES)
                    .with_context(|| {
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

// The catalog's data until `profile` provides it: platforms with their parameters (as
// `platforms/*.yaml` declare them), releases and components with their dependencies (as
// `manifests/catalog.yaml` lists them). Replaced by the catalog and profile loader.
/// What the wizard offers: the catalog's releases and components, and each platform profile
/// with its parameters (`adminEmail` is the wizard's own admin question).
fn catalog_choices(root: &Path, user: Option<&Path>, asked: Option<&str>) -> Result<Choices> {
    let catalog = Catalog::load_with(&RealFs, root, user)?;
    let mut platforms = Vec::with_capacity(catalog.platforms.len());
    for name in &catalog.platforms {
        let profile = PlatformProfile::load(&RealFs, root, name)?;
        platforms.push(PlatformChoice {
            name: profile.name.clone(),
            description: profile.description.clone(),
            parameters: profile
                .parameters
                .iter()
                .filter(|p| p.name != ADMIN_EMAIL_PARAM)
                .map(|p| ParamSpec {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    required: p.required,
                    default: p.default.clone(),
                    pattern: p.pattern.as_ref().map(|re| re.as_str().to_owned()),
                    secret: p.secret,
                })
                .collect(),
            default_components: profile.components.clone(),
        });
    }
    // A pre-release is offered only when `--release` names it.
    let releases: Vec<String> = catalog
        .releases
        .iter()
        .filter(|r| !r.prerelease || asked == Some(r.name.as_str()))
        .map(|r| r.name.clone())
        .collect();
    let components = catalog
        .components
        .iter()
        .map(|c| ComponentChoice {
            name: c.name.clone(),
            description: c.description.clone(),
            depends: c.depends.clone(),
        })
        .collect();
    let default_platform = if catalog.platforms.iter().any(|p| p == DEFAULT_PLATFORM) {
        DEFAULT_PLATFORM.to_owned()
    } else {
        catalog.platforms.first().cloned().unwrap_or_default()
    };
    Ok(Choices {
        platforms,
        releases,
        default_release: catalog.default_release.clone(),
        components,
        default_platform,
    })
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

    fn choices() -> Choices {
        catalog_choices(Path::new(env!("CARGO_MANIFEST_DIR")), None, None)
            .expect("the catalog loads")
    }

    #[test]
    fn a_release_candidate_is_offered_only_when_named() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let rc = "26.03.1-rc.2".to_owned();
        let offered = catalog_choices(root, None, None).expect("the catalog loads");
        assert!(!offered.releases.contains(&rc), "{:?}", offered.releases);
        let named = catalog_choices(root, None, Some(&rc)).expect("the catalog loads");
        assert!(named.releases.contains(&rc), "{:?}", named.releases);
        assert_eq!(
            named.default_release, "26.03",
            "the default stays the stable one"
        );
    }

    #[test]
    fn catalog_choices_are_consistent() {
        let choices = choices();
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
    fn profile_patterns_accept_and_refuse() {
        let choices = choices();
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
