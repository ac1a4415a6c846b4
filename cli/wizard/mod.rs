//! `kfctl init`: the answers that make a `kfctl.yaml`, asked on the terminal or taken from flags.
//!
//! What can be chosen (platforms and their parameters, releases, components and what they need)
//! comes in as data, [`Choices`]; the answers go out as a [`KfctlConfig`], the `kfctl.yaml`
//! schema. Prompts are drawn on stderr by `dialoguer`; everything else a person reads goes
//! through the `Printer`. When nothing may be asked (stdin is not a terminal, or `--yes`), an
//! answer not given takes its default, and the answers with no default are reported together,
//! each with the flag that gives it.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::Confirm;
use dialoguer::console::Term;
use dialoguer::theme::ColorfulTheme;

use crate::errors::{Diagnostic, ErrorClass};
use crate::output::Printer;
pub use crate::profile::write::{
    Admin, ComponentEntry, Components, ConfigMetadata, ConfigSpec, KfctlConfig, Ordered, SecretRef,
};
use ask::ask_missing;
use config::{build_config, close_dependencies, print_summary, suggest_gpu};
use flags::{fill_defaults, from_flags};

mod ask;
mod checks;
mod config;
#[cfg(test)]
mod fixtures;
mod flags;

/// The component that the GPU question turns on or off.
pub const GPU_COMPONENT: &str = "gpu";

/// Components whose workloads (training jobs, inference servers) can ask for GPUs: choosing
/// one without `gpu` is said in a note.
pub const GPU_USERS: [&str; 2] = ["trainer", "kserve"];
/// The platform parameter the storage-class question answers.
pub const STORAGE_CLASS_PARAM: &str = "storageClass";
/// The admin e-mail when none is given, as the platform profiles default `adminEmail`.
pub const DEFAULT_ADMIN_EMAIL: &str = "user@example.com";
/// Shortest admin password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

const EMAIL_PATTERN: &str = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$";

/// Everything the wizard offers.
#[derive(Debug, Clone)]
pub struct Choices {
    pub platforms: Vec<PlatformChoice>,
    /// In the catalog's order, oldest first.
    pub releases: Vec<String>,
    /// The release picked when none is given: the catalog's default.
    pub default_release: String,
    /// In dependency order, as the catalog lists them.
    pub components: Vec<ComponentChoice>,
    /// The platform picked when none is given.
    pub default_platform: String,
}

#[derive(Debug, Clone)]
pub struct PlatformChoice {
    pub name: String,
    pub description: String,
    pub parameters: Vec<ParamSpec>,
    pub default_components: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub default: Option<String>,
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
    /// Given only by reference (`env:VAR` or `file:PATH`), never stored in the file.
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct ComponentChoice {
    pub name: String,
    pub description: String,
    pub depends: Vec<String>,
}

/// Answers given as flags; `None` means not given.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub platform: Option<String>,
    pub release: Option<String>,
    pub components: Option<Vec<String>>,
    /// `KEY=VALUE` as typed after `--set`.
    pub set: Vec<String>,
    pub admin_email: Option<String>,
    /// The password itself, read from `--admin-password-env` or `--admin-password-file`.
    pub admin_password: Option<String>,
    pub gpu: Option<bool>,
    pub storage_class: Option<String>,
    /// The file the answers go to, named in the summary.
    pub output: String,
}

/// Whether the wizard may ask, and if not, why (said in the error naming missing flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Terminal,
    /// No prompt, no confirmation: `--yes`, or no terminal.
    Never {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    #[error("unknown {what} `{name}` given to `{flag}`")]
    Unknown {
        what: &'static str,
        name: String,
        flag: &'static str,
        known: Vec<String>,
    },
    #[error("invalid value for `{flag}`: {reason}")]
    InvalidFlag { flag: String, reason: String },
    #[error("{}", missing_message(reason, flags))]
    Missing {
        reason: String,
        /// The flag and what it gives, one pair per missing answer.
        flags: Vec<(String, String)>,
    },
    #[error("interrupted; nothing was written")]
    Interrupted,
    #[error("not confirmed; nothing was written")]
    Declined,
    #[error("cannot talk to the terminal")]
    Terminal(#[source] std::io::Error),
    #[error("parameter `{param}` of platform `{platform}` has an invalid pattern")]
    BadPattern {
        platform: String,
        param: String,
        #[source]
        source: regex::Error,
    },
    #[error("cannot hash the admin password")]
    Hash(#[source] bcrypt::BcryptError),
}

impl Diagnostic for WizardError {
    /// A bad pattern in a profile or a failing hash is a bug; the rest the user can fix.
    fn class(&self) -> ErrorClass {
        match self {
            Self::BadPattern { .. } | Self::Hash(_) => ErrorClass::Internal,
            _ => ErrorClass::User,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Unknown { known, .. } => Some(format!("choose one of: {}", known.join(", "))),
            Self::Missing { .. } => Some(
                "pass the flags above, or run `kfctl init` in a terminal without `--yes` to be asked"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

fn missing_message(reason: &str, flags: &[(String, String)]) -> String {
    let mut text = format!("missing answers ({reason}); pass:");
    let width = flags.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    for (flag, what) in flags {
        let _ = write!(text, "\n    {flag:width$}  {what}");
    }
    text
}

impl From<dialoguer::Error> for WizardError {
    fn from(err: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(io) = err;
        io.into()
    }
}

impl From<std::io::Error> for WizardError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::Interrupted {
            WizardError::Interrupted
        } else {
            WizardError::Terminal(err)
        }
    }
}

/// Answers collected so far; `None` is not yet answered.
#[derive(Debug, Default)]
struct Answers {
    platform: Option<usize>,
    release: Option<String>,
    /// Chosen (before dependencies are added).
    components: Option<Vec<String>>,
    gpu: Option<bool>,
    parameters: Ordered<String>,
    secrets: Ordered<SecretRef>,
    component_parameters: Ordered<Ordered<String>>,
    admin_email: Option<String>,
    admin_password: Option<String>,
}

/// Catches Ctrl-C (SIGINT) into `flag` for as long as the process runs; a second one ends the
/// process the default way.
///
/// A prompt turns Ctrl-C into SIGINT once it has restored the terminal; caught, the prompt
/// returns `Interrupted` and nothing is written. Between the last answer and the file's rename,
/// the caller checks `flag`. Registration failing only means Ctrl-C ends the process the default
/// way, which writes nothing either.
pub fn catch_interrupts(flag: &Arc<AtomicBool>) {
    use signal_hook::consts::SIGINT;
    let _ = signal_hook::flag::register_conditional_default(SIGINT, Arc::clone(flag));
    let _ = signal_hook::flag::register(SIGINT, Arc::clone(flag));
}

/// Runs the wizard: checks the flags, asks what is missing (or reports it), shows the summary,
/// asks to confirm and returns the config to write. With `Ask::Terminal`, `interrupted` is the
/// flag [`catch_interrupts`] sets.
pub fn run(
    choices: &Choices,
    given: &Given,
    ask: &Ask,
    interrupted: &AtomicBool,
    printer: Printer,
) -> Result<KfctlConfig, WizardError> {
    let mut answers = from_flags(choices, given)?;
    match ask {
        Ask::Never { reason } => fill_defaults(choices, given, &mut answers, reason)?,
        Ask::Terminal => {
            dialoguer::console::set_colors_enabled_stderr(printer.color);
            let term = Term::stderr();
            let theme = ColorfulTheme::default();
            let asked = ask_missing(choices, given, &mut answers, &term, &theme, printer);
            let asked = asked.and_then(|()| {
                if interrupted.load(Ordering::SeqCst) {
                    Err(WizardError::Interrupted)
                } else {
                    Ok(())
                }
            });
            if let Err(err) = asked {
                // A prompt cut short leaves the cursor hidden and the line unfinished.
                let _ = term.show_cursor();
                let _ = term.write_line("");
                return Err(err);
            }
        }
    }
    let platform = &choices.platforms[answers.platform.unwrap_or(0)];
    let mut chosen = answers.components.clone().unwrap_or_default();
    if answers.gpu == Some(true) && !chosen.iter().any(|c| c == GPU_COMPONENT) {
        chosen.push(GPU_COMPONENT.to_owned());
    }
    let enabled = close_dependencies(choices, &chosen, printer);
    suggest_gpu(choices, &enabled, printer);
    // In the order the profile declares them, however they were answered.
    answers.parameters.0.sort_by_key(|(name, _)| {
        platform
            .parameters
            .iter()
            .position(|p| &p.name == name)
            .unwrap_or(usize::MAX)
    });
    print_summary(platform, &answers, &enabled, given, printer);
    if *ask == Ask::Terminal {
        let term = Term::stderr();
        let confirmed = Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(format!("Write `{}`?", given.output))
            .default(true)
            .interact_on(&term)
            .inspect_err(|_| {
                let _ = term.show_cursor();
                let _ = term.write_line("");
            })?;
        if !confirmed {
            return Err(WizardError::Declined);
        }
    }
    build_config(choices, platform, answers, &enabled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{choices, cloud, never, quiet};

    fn run_never(given: &Given) -> Result<KfctlConfig, WizardError> {
        run(
            &choices(),
            given,
            &never(),
            &AtomicBool::new(false),
            quiet(),
        )
    }

    #[test]
    fn flags_fill_the_config_and_defaults_the_rest() {
        let config = run_never(&cloud()).expect("complete flags");
        let spec = &config.spec;
        assert_eq!(spec.platform, "cloud");
        assert_eq!(spec.release, "2.0", "the newest release by default");
        let on: Vec<&str> = spec
            .components
            .0
            .0
            .iter()
            .filter(|(_, c)| c.enabled)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(on, ["base", "mesh", "app"]);
        assert_eq!(
            spec.parameters.0,
            [
                ("project".to_owned(), "abc".to_owned().into()),
                ("zone".to_owned(), "z1".to_owned().into()),
                ("storageClass".to_owned(), "fast".to_owned().into()),
            ]
        );
        assert_eq!(
            spec.secrets.get("token"),
            Some(&SecretRef::Env("TOKEN".to_owned()))
        );
        let admin = spec.admin.as_ref().expect("an admin");
        assert_eq!(admin.email, DEFAULT_ADMIN_EMAIL);
        assert!(bcrypt::verify("long-enough", &admin.password_hash).unwrap_or(false));
    }

    #[test]
    fn the_yaml_holds_the_hash_and_never_the_password() {
        let config = run_never(&cloud()).expect("complete flags");
        let text = config.to_yaml().expect("serialisable");
        assert!(!text.contains("long-enough"), "{text}");
        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("valid YAML");
        assert_eq!(value["kind"], "KfctlConfig");
        assert_eq!(value["spec"]["release"], "2.0", "a string, not a number");
        assert_eq!(
            value["spec"]["admin"]["passwordHash"],
            config
                .spec
                .admin
                .as_ref()
                .expect("an admin")
                .password_hash
                .as_str()
        );
        assert_eq!(value["spec"]["secrets"]["token"]["env"], "TOKEN");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn every_missing_answer_is_named() {
        let given = Given {
            platform: Some("cloud".to_owned()),
            ..Given::default()
        };
        let err = run_never(&given).expect_err("answers are missing");
        let WizardError::Missing { flags, .. } = &err else {
            panic!("not a missing-answers error: {err}");
        };
        let names: Vec<&str> = flags.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "--set project=VALUE",
                "--set token=env:VAR|file:PATH",
                "--admin-password-env VAR"
            ]
        );
    }

    #[test]
    fn the_default_platform_and_its_gpu_default() {
        let given = Given {
            admin_password: Some("long-enough".to_owned()),
            ..Given::default()
        };
        let config = run_never(&given).expect("home needs nothing");
        assert_eq!(config.spec.platform, "home");
        assert_eq!(
            config
                .spec
                .components
                .0
                .get(GPU_COMPONENT)
                .map(|c| c.enabled),
            Some(true)
        );
        assert_eq!(
            config
                .spec
                .parameters
                .get("storageClass")
                .map(|p| p.value.as_str()),
            Some("slow")
        );
    }

    #[test]
    fn bad_flags_are_refused() {
        /// A change to good flags, and the error it brings.
        type Case<'a> = (&'a dyn Fn(&mut Given), &'a str);
        let cases: Vec<Case> = vec![
            (
                &|g| g.platform = Some("moon".to_owned()),
                "unknown platform `moon` given to `--platform`",
            ),
            (
                &|g| g.release = Some("9".to_owned()),
                "unknown release `9` given to `--release`",
            ),
            (
                &|g| g.components = Some(vec!["nope".to_owned()]),
                "unknown component `nope` given to `--components`",
            ),
            (
                &|g| {
                    g.components = Some(vec![GPU_COMPONENT.to_owned()]);
                    g.gpu = Some(false);
                },
                "invalid value for `--components`: it lists `gpu`, and `--no-gpu` is given",
            ),
            (
                &|g| g.set.push("zone".to_owned()),
                "invalid value for `--set zone`: expected `KEY=VALUE`",
            ),
            (
                &|g| g.set.push("zone=a1".to_owned()),
                "invalid value for `--set zone=a1`: `a1` does not fit `zone` (zone value): it must match `z[0-9]`",
            ),
            (
                &|g| g.set.push("nothing=1".to_owned()),
                "unknown parameter `nothing` given to `--set`",
            ),
            (
                &|g| g.set.push("token=plain".to_owned()),
                "invalid value for `--set token=plain`: a secret is given by reference: `env:VAR` or `file:PATH`",
            ),
            (
                &|g| g.set.push("other.size=1".to_owned()),
                "invalid value for `--set other.*`: component `other` is not enabled",
            ),
            (
                &|g| {
                    g.set.push("storageClass=fast".to_owned());
                    g.storage_class = Some("slow".to_owned());
                },
                "invalid value for `--storage-class`: `--set storageClass=fast` says otherwise",
            ),
            (
                &|g| g.storage_class = Some("Bad_Class".to_owned()),
                "invalid value for `--storage-class`: `Bad_Class` is not a storage class name (lower-case letters, digits, `-` and `.`)",
            ),
            (
                &|g| g.admin_email = Some("nobody".to_owned()),
                "invalid value for `--admin-email`: `nobody` is not an e-mail address",
            ),
            (
                &|g| g.admin_password = Some("short".to_owned()),
                "invalid value for `--admin-password-env/--admin-password-file`: the password is shorter than 8 characters",
            ),
        ];
        for (edit, expected) in cases {
            let mut given = cloud();
            edit(&mut given);
            let err = run_never(&given).expect_err("a bad flag");
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn component_parameters_go_under_their_component() {
        let mut given = cloud();
        given.set.push("app.replicas=2".to_owned());
        let config = run_never(&given).expect("complete flags");
        let app = config.spec.components.0.get("app").expect("app listed");
        assert_eq!(
            app.parameters.get("replicas").map(String::as_str),
            Some("2")
        );
    }
}
