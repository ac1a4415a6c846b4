//! `kfctl init`: the answers that make a `kfctl.yaml`, asked on the terminal or taken from flags.
//!
//! What can be chosen (platforms and their parameters, releases, components and what they need)
//! comes in as data, [`Choices`]; the answers go out as a [`KfctlConfig`], the `kfctl.yaml`
//! schema. Prompts are drawn on stderr by `dialoguer`; everything else a person reads goes
//! through the `Printer`. When nothing may be asked (stdin is not a terminal, or `--yes`), an
//! answer not given takes its default, and the answers with no default are reported together,
//! each with the flag that gives it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::errors::{Diagnostic, ErrorClass};
use crate::output::Printer;
pub use crate::profile::write::{
    Admin, ComponentEntry, Components, ConfigMetadata, ConfigSpec, KfctlConfig, Ordered, SecretRef,
};
use dialoguer::console::{Key, Term};
use dialoguer::theme::{ColorfulTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Select};
use regex::Regex;

/// The component that the GPU question turns on or off.
pub const GPU_COMPONENT: &str = "gpu";
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
    /// Oldest first; the last one is the newest and the default.
    pub releases: Vec<String>,
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

/// The answers the flags give, each checked against the choices.
fn from_flags(choices: &Choices, given: &Given) -> Result<Answers, WizardError> {
    let mut answers = Answers::default();
    if let Some(name) = &given.platform {
        let index = choices
            .platforms
            .iter()
            .position(|p| &p.name == name)
            .ok_or_else(|| WizardError::Unknown {
                what: "platform",
                name: name.clone(),
                flag: "--platform",
                known: choices.platforms.iter().map(|p| p.name.clone()).collect(),
            })?;
        answers.platform = Some(index);
    }
    if let Some(name) = &given.release {
        if !choices.releases.contains(name) {
            return Err(WizardError::Unknown {
                what: "release",
                name: name.clone(),
                flag: "--release",
                known: choices.releases.clone(),
            });
        }
        answers.release = Some(name.clone());
    }
    answers.gpu = given.gpu;
    if let Some(list) = &given.components {
        let mut chosen = Vec::new();
        for name in list {
            if !choices.components.iter().any(|c| &c.name == name) {
                return Err(WizardError::Unknown {
                    what: "component",
                    name: name.clone(),
                    flag: "--components",
                    known: choices.components.iter().map(|c| c.name.clone()).collect(),
                });
            }
            if name == GPU_COMPONENT {
                if given.gpu == Some(false) {
                    return Err(WizardError::InvalidFlag {
                        flag: "--components".to_owned(),
                        reason: format!("it lists `{GPU_COMPONENT}`, and `--no-gpu` is given"),
                    });
                }
                answers.gpu = Some(true);
            } else if !chosen.contains(name) {
                chosen.push(name.clone());
            }
        }
        answers.components = Some(chosen);
    }
    if let Some(email) = &given.admin_email {
        check_email(email).map_err(|reason| WizardError::InvalidFlag {
            flag: "--admin-email".to_owned(),
            reason,
        })?;
        answers.admin_email = Some(email.clone());
    }
    if let Some(password) = &given.admin_password {
        check_password(password).map_err(|reason| WizardError::InvalidFlag {
            flag: "--admin-password-env/--admin-password-file".to_owned(),
            reason,
        })?;
        answers.admin_password = Some(password.clone());
    }

    Ok(answers)
}

/// Applies `--set KEY=VALUE` and `--storage-class`, once the platform (whose parameters they
/// name) is known: before any prompt when `--platform` is given.
fn apply_sets(choices: &Choices, given: &Given, answers: &mut Answers) -> Result<(), WizardError> {
    let platform = &choices.platforms[answers.platform.unwrap_or(0)];
    for item in &given.set {
        let flag = format!("--set {item}");
        let Some((key, value)) = item.split_once('=') else {
            return Err(WizardError::InvalidFlag {
                flag,
                reason: "expected `KEY=VALUE`".to_owned(),
            });
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some((component, name)) = key.split_once('.')
            && choices.components.iter().any(|c| c.name == component)
        {
            if name.is_empty() {
                return Err(WizardError::InvalidFlag {
                    flag,
                    reason: "expected `COMPONENT.NAME=VALUE`".to_owned(),
                });
            }
            let mut params = answers
                .component_parameters
                .get(component)
                .cloned()
                .unwrap_or_default();
            params.insert(name, value.to_owned());
            answers.component_parameters.insert(component, params);
            continue;
        }
        let Some(spec) = platform.parameters.iter().find(|p| p.name == key) else {
            return Err(WizardError::Unknown {
                what: "parameter",
                name: key.to_owned(),
                flag: "--set",
                known: platform.parameters.iter().map(|p| p.name.clone()).collect(),
            });
        };
        if spec.secret {
            let reference = parse_secret_ref(value)
                .map_err(|reason| WizardError::InvalidFlag { flag, reason })?;
            answers.secrets.insert(key, reference);
        } else {
            check_param(&platform.name, spec, value)?
                .map_err(|reason| WizardError::InvalidFlag { flag, reason })?;
            answers.parameters.insert(key, value.to_owned());
        }
    }
    if let Some(class) = &given.storage_class {
        if let Some(set) = answers.parameters.get(STORAGE_CLASS_PARAM)
            && set != class
        {
            return Err(WizardError::InvalidFlag {
                flag: "--storage-class".to_owned(),
                reason: format!("`--set {STORAGE_CLASS_PARAM}={set}` says otherwise"),
            });
        }
        check_storage_class(class).map_err(|reason| WizardError::InvalidFlag {
            flag: "--storage-class".to_owned(),
            reason,
        })?;
        answers
            .parameters
            .insert(STORAGE_CLASS_PARAM, class.to_owned());
    }
    Ok(())
}

/// Without prompts: defaults for what was not given; an error naming every answer with none.
fn fill_defaults(
    choices: &Choices,
    given: &Given,
    answers: &mut Answers,
    reason: &str,
) -> Result<(), WizardError> {
    if answers.platform.is_none() {
        answers.platform = choices
            .platforms
            .iter()
            .position(|p| p.name == choices.default_platform)
            .or(Some(0));
    }
    apply_sets(choices, given, answers)?;
    let platform = &choices.platforms[answers.platform.unwrap_or(0)];
    if answers.release.is_none() {
        answers.release = choices.releases.last().cloned();
    }
    if answers.components.is_none() {
        answers.components = Some(
            platform
                .default_components
                .iter()
                .filter(|c| *c != GPU_COMPONENT)
                .cloned()
                .collect(),
        );
    }
    if answers.gpu.is_none() {
        answers.gpu = Some(platform_gpu_default(platform));
    }
    let mut missing = Vec::new();
    for spec in &platform.parameters {
        if answers.parameters.get(&spec.name).is_some() || answers.secrets.get(&spec.name).is_some()
        {
            continue;
        }
        match (
            &spec.default,
            spec.required || spec.name == STORAGE_CLASS_PARAM,
        ) {
            (Some(default), true) => answers.parameters.insert(&spec.name, default.clone()),
            (None, true) => {
                let value = if spec.secret {
                    "env:VAR|file:PATH"
                } else {
                    "VALUE"
                };
                missing.push((
                    format!("--set {}={value}", spec.name),
                    spec.description.clone(),
                ));
            }
            (_, false) => {}
        }
    }
    if answers.admin_email.is_none() {
        answers.admin_email = Some(DEFAULT_ADMIN_EMAIL.to_owned());
    }
    if answers.admin_password.is_none() {
        missing.push((
            "--admin-password-env VAR".to_owned(),
            "the admin user's password, from an environment variable (or --admin-password-file FILE)"
                .to_owned(),
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WizardError::Missing {
            reason: reason.to_owned(),
            flags: missing,
        })
    }
}

fn platform_gpu_default(platform: &PlatformChoice) -> bool {
    platform
        .default_components
        .iter()
        .any(|c| c == GPU_COMPONENT)
}

/// Asks, in order, for every answer the flags did not give.
fn ask_missing(
    choices: &Choices,
    given: &Given,
    answers: &mut Answers,
    term: &Term,
    theme: &ColorfulTheme,
    printer: Printer,
) -> Result<(), WizardError> {
    if answers.platform.is_none() {
        let items: Vec<String> = choices
            .platforms
            .iter()
            .map(|p| fit(term, &format!("{:8} {}", p.name, p.description)))
            .collect();
        let default = choices
            .platforms
            .iter()
            .position(|p| p.name == choices.default_platform)
            .unwrap_or(0);
        let picked = Select::with_theme(theme)
            .with_prompt("Platform")
            .report(false)
            .items(&items)
            .default(default)
            .interact_on(term)?;
        report(term, |f| {
            theme.format_select_prompt_selection(f, "Platform", &choices.platforms[picked].name)
        })?;
        answers.platform = Some(picked);
    }
    apply_sets(choices, given, answers)?;
    let platform = &choices.platforms[answers.platform.unwrap_or(0)];

    if answers.release.is_none() {
        let default = choices.releases.len().saturating_sub(1);
        let items: Vec<String> = choices
            .releases
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if i == default {
                    format!("{r} (newest)")
                } else {
                    r.clone()
                }
            })
            .collect();
        let picked = Select::with_theme(theme)
            .with_prompt("Kubeflow release")
            .items(&items)
            .default(default)
            .interact_on(term)?;
        answers.release = Some(choices.releases[picked].clone());
    }

    if answers.components.is_none() {
        let offered: Vec<&ComponentChoice> = choices
            .components
            .iter()
            .filter(|c| c.name != GPU_COMPONENT)
            .collect();
        let items: Vec<String> = offered
            .iter()
            .map(|c| {
                // What it needs first: a narrow terminal cuts the description, not that.
                let needs = if c.depends.is_empty() {
                    String::new()
                } else {
                    format!("(needs {}) ", c.depends.join(", "))
                };
                fit(term, &format!("{:19} {needs}{}", c.name, c.description))
            })
            .collect();
        let defaults: Vec<bool> = offered
            .iter()
            .map(|c| platform.default_components.contains(&c.name))
            .collect();
        loop {
            let picked = MultiSelect::with_theme(theme)
                .with_prompt("Components (space toggles, enter accepts; what they need is added)")
                .report(false)
                .items(&items)
                .defaults(&defaults)
                .interact_on(term)?;
            if picked.is_empty() {
                printer.warn("choose at least one component");
                continue;
            }
            let names: Vec<String> = picked.iter().map(|&i| offered[i].name.clone()).collect();
            report(term, |f| {
                theme.format_multi_select_prompt_selection(
                    f,
                    "Components",
                    &names.iter().map(String::as_str).collect::<Vec<_>>(),
                )
            })?;
            answers.components = Some(close_dependencies(choices, &names, printer));
            break;
        }
    }

    if answers.gpu.is_none() && choices.components.iter().any(|c| c.name == GPU_COMPONENT) {
        let gpu = Confirm::with_theme(theme)
            .with_prompt("Enable GPU support (device plugin and driver setup)?")
            .default(platform_gpu_default(platform))
            .interact_on(term)?;
        answers.gpu = Some(gpu);
    }

    for spec in &platform.parameters {
        let is_storage = spec.name == STORAGE_CLASS_PARAM;
        if !(spec.required || is_storage)
            || answers.parameters.get(&spec.name).is_some()
            || answers.secrets.get(&spec.name).is_some()
        {
            continue;
        }
        if spec.secret {
            let prompt = format!(
                "{} (secret: `env:VAR` or `file:PATH`, read when kfctl renders)",
                spec.description
            );
            let value: String = Input::with_theme(theme)
                .with_prompt(prompt)
                .validate_with(|v: &String| parse_secret_ref(v.trim()).map(|_| ()))
                .interact_text_on(term)?;
            let reference =
                parse_secret_ref(value.trim()).map_err(|reason| WizardError::InvalidFlag {
                    flag: spec.name.clone(),
                    reason,
                })?;
            answers.secrets.insert(&spec.name, reference);
            continue;
        }
        // Compiled once before prompting, so a bad pattern in the profile is an error, not a
        // question that can never be answered.
        let _ = check_param(&platform.name, spec, "")?;
        let prompt = if is_storage {
            "Storage class".to_owned()
        } else {
            spec.description.clone()
        };
        let mut input = Input::<String>::with_theme(theme)
            .with_prompt(prompt)
            .validate_with(|v: &String| -> Result<(), String> {
                let v = v.trim();
                if is_storage {
                    return check_storage_class(v);
                }
                check_param(&platform.name, spec, v).unwrap_or_else(|e| Err(e.to_string()))
            });
        if let Some(default) = &spec.default {
            input = input.default(default.clone());
        }
        let value = input.interact_text_on(term)?;
        answers
            .parameters
            .insert(&spec.name, value.trim().to_owned());
    }

    if answers.admin_email.is_none() {
        let email: String = Input::with_theme(theme)
            .with_prompt("Admin user e-mail (the first Kubeflow user, in dex)")
            .default(DEFAULT_ADMIN_EMAIL.to_owned())
            .validate_with(|v: &String| check_email(v.trim()))
            .interact_text_on(term)?;
        answers.admin_email = Some(email.trim().to_owned());
    }
    if answers.admin_password.is_none() {
        answers.admin_password = Some(ask_new_password(term, theme)?);
    }
    Ok(())
}

/// Asks for a password twice, hidden, until both agree and it is long enough.
fn ask_new_password(term: &Term, theme: &ColorfulTheme) -> Result<String, WizardError> {
    loop {
        let first = read_hidden(term, theme, "Admin user password")?;
        if let Err(reason) = check_password(&first) {
            write_error(term, theme, &reason)?;
            continue;
        }
        let second = read_hidden(term, theme, "Admin user password (again)")?;
        if first == second {
            return Ok(first);
        }
        write_error(term, theme, "the passwords differ; type them again")?;
    }
}

/// Cuts an item to one terminal line: a prompt redraws by counting lines, and a wrapped item
/// would leave a stale line behind.
fn fit(term: &Term, item: &str) -> String {
    // Room for the theme's checkbox or cursor before the item.
    let width = usize::from(term.size().1).saturating_sub(6).max(20);
    if item.chars().count() <= width {
        return item.to_owned();
    }
    let mut cut: String = item.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// The line a prompt leaves once answered, for prompts whose items are longer than the answer.
fn report(
    term: &Term,
    format: impl FnOnce(&mut String) -> std::fmt::Result,
) -> Result<(), WizardError> {
    let mut line = String::new();
    let _ = format(&mut line);
    term.write_line(&line)?;
    Ok(())
}

fn write_error(term: &Term, theme: &ColorfulTheme, reason: &str) -> Result<(), WizardError> {
    let mut line = String::new();
    let _ = theme.format_error(&mut line, reason);
    term.write_line(&line)?;
    Ok(())
}

/// A line read with nothing echoed. Unlike a cooked-mode read, a raw read sees Ctrl-C as a key,
/// so it can be cancelled like every other prompt (a cooked read would retry after SIGINT).
fn read_hidden(term: &Term, theme: &ColorfulTheme, prompt: &str) -> Result<String, WizardError> {
    let mut line = String::new();
    let _ = theme.format_input_prompt(&mut line, prompt, None);
    term.write_str(&line)?;
    term.flush()?;
    let mut text = String::new();
    loop {
        match term.read_key_raw()? {
            Key::Enter => break,
            Key::CtrlC => return Err(WizardError::Interrupted),
            Key::Backspace => {
                text.pop();
            }
            Key::Char(c) if !c.is_control() => text.push(c),
            _ => {}
        }
    }
    term.clear_line()?;
    let mut done = String::new();
    let _ = theme.format_input_prompt_selection(&mut done, prompt, "********");
    term.write_line(&done)?;
    Ok(text)
}

/// The components chosen and everything they need, in catalog order. Each one added for
/// another is said in a note.
fn close_dependencies(choices: &Choices, chosen: &[String], printer: Printer) -> Vec<String> {
    let mut enabled: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = chosen.to_vec();
    while let Some(name) = stack.pop() {
        if !enabled.insert(name.clone()) {
            continue;
        }
        if let Some(c) = choices.components.iter().find(|c| c.name == name) {
            stack.extend(c.depends.iter().cloned());
        }
    }
    let ordered: Vec<String> = choices
        .components
        .iter()
        .filter(|c| enabled.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    for added in ordered.iter().filter(|c| !chosen.contains(c)) {
        let needed_by: Vec<String> = choices
            .components
            .iter()
            .filter(|c| enabled.contains(&c.name) && c.depends.contains(added))
            .map(|c| format!("`{}`", c.name))
            .collect();
        let verb = if needed_by.len() == 1 {
            "needs"
        } else {
            "need"
        };
        printer.info(&format!(
            "{}: enabled `{added}` too: {} {verb} it",
            printer.paint("note", "1"),
            needed_by.join(", ")
        ));
    }
    ordered
}

fn print_summary(
    platform: &PlatformChoice,
    answers: &Answers,
    enabled: &[String],
    given: &Given,
    printer: Printer,
) {
    let mut text = String::new();
    let _ = writeln!(text, "{}", printer.paint("Summary", "1"));
    let row = |text: &mut String, label: &str, value: &str| {
        let _ = writeln!(text, "  {label:15} {value}");
    };
    row(&mut text, "platform", &platform.name);
    row(
        &mut text,
        "release",
        answers.release.as_deref().unwrap_or(""),
    );
    row(&mut text, "components", &enabled.join(", "));
    let gpu = if enabled.iter().any(|c| c == GPU_COMPONENT) {
        "yes"
    } else {
        "no"
    };
    row(&mut text, "gpu", gpu);
    let mut label = "parameters";
    for (name, value) in &answers.parameters.0 {
        row(&mut text, label, &format!("{name}={value}"));
        label = "";
    }
    for (name, reference) in &answers.secrets.0 {
        let shown = match reference {
            SecretRef::Env(var) => format!("{name} from env `{var}`"),
            SecretRef::File(path) => format!("{name} from file `{path}`"),
        };
        row(&mut text, label, &shown);
        label = "";
    }
    for (component, params) in &answers.component_parameters.0 {
        for (name, value) in &params.0 {
            row(&mut text, label, &format!("{component}.{name}={value}"));
            label = "";
        }
    }
    row(
        &mut text,
        "admin",
        &format!(
            "{} (password stored as a bcrypt hash)",
            answers.admin_email.as_deref().unwrap_or("")
        ),
    );
    row(&mut text, "file", &given.output);
    printer.info(text.trim_end());
}

fn build_config(
    choices: &Choices,
    platform: &PlatformChoice,
    answers: Answers,
    enabled: &[String],
) -> Result<KfctlConfig, WizardError> {
    let password = answers.admin_password.unwrap_or_default();
    let password_hash = bcrypt::hash(&password, bcrypt::DEFAULT_COST).map_err(WizardError::Hash)?;
    let mut components = Ordered::default();
    for c in &choices.components {
        let on = enabled.contains(&c.name);
        let parameters = answers
            .component_parameters
            .get(&c.name)
            .cloned()
            .unwrap_or_default();
        if !on && !parameters.is_empty() {
            return Err(WizardError::InvalidFlag {
                flag: format!("--set {}.*", c.name),
                reason: format!("component `{}` is not enabled", c.name),
            });
        }
        components.insert(
            &c.name,
            ComponentEntry {
                enabled: on,
                parameters,
            },
        );
    }
    Ok(KfctlConfig {
        api_version: "kfctl.dev/v1alpha1".to_owned(),
        kind: "KfctlConfig".to_owned(),
        metadata: ConfigMetadata {
            name: "kubeflow".to_owned(),
        },
        spec: ConfigSpec {
            platform: platform.name.clone(),
            release: answers.release.unwrap_or_default(),
            components: Components(components),
            parameters: Ordered(
                answers
                    .parameters
                    .0
                    .into_iter()
                    .map(|(k, v)| (k, v.into()))
                    .collect(),
            ),
            admin: Some(Admin {
                email: answers.admin_email.unwrap_or_default(),
                password_hash,
            }),
            secrets: answers.secrets,
        },
    })
}

/// Checks a parameter's value: `Err` for a pattern that does not compile, `Ok(Err(reason))`
/// for a value that does not fit. An empty value only compiles the pattern.
fn check_param(
    platform: &str,
    spec: &ParamSpec,
    value: &str,
) -> Result<Result<(), String>, WizardError> {
    let pattern =
        match &spec.pattern {
            Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|source| {
                WizardError::BadPattern {
                    platform: platform.to_owned(),
                    param: spec.name.clone(),
                    source,
                }
            })?),
            None => None,
        };
    if value.is_empty() {
        return Ok(if spec.required {
            Err(format!("`{}` is required", spec.name))
        } else {
            Ok(())
        });
    }
    if let (Some(re), Some(p)) = (pattern, &spec.pattern)
        && !re.is_match(value)
    {
        return Ok(Err(format!(
            "`{value}` does not fit `{}` ({}): it must match `{p}`",
            spec.name, spec.description
        )));
    }
    Ok(Ok(()))
}

fn check_email(value: &str) -> Result<(), String> {
    let valid = Regex::new(EMAIL_PATTERN).is_ok_and(|re| re.is_match(value));
    if valid {
        Ok(())
    } else {
        Err(format!("`{value}` is not an e-mail address"))
    }
}

fn check_password(value: &str) -> Result<(), String> {
    if value.chars().count() < MIN_PASSWORD_LEN {
        Err(format!(
            "the password is shorter than {MIN_PASSWORD_LEN} characters"
        ))
    } else {
        Ok(())
    }
}

/// A Kubernetes object name (DNS-1123 subdomain), as a StorageClass name must be.
fn check_storage_class(value: &str) -> Result<(), String> {
    let valid = value.len() <= 253
        && Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .is_ok_and(|re| re.is_match(value));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a storage class name (lower-case letters, digits, `-` and `.`)"
        ))
    }
}

fn parse_secret_ref(value: &str) -> Result<SecretRef, String> {
    match value.split_once(':') {
        Some(("env", var)) if !var.is_empty() => Ok(SecretRef::Env(var.to_owned())),
        Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.to_owned())),
        _ => Err("a secret is given by reference: `env:VAR` or `file:PATH`".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Printer {
        Printer::new(false, true)
    }

    fn spec(name: &str, required: bool, default: Option<&str>, pattern: Option<&str>) -> ParamSpec {
        ParamSpec {
            name: name.to_owned(),
            description: format!("{name} value"),
            required,
            default: default.map(str::to_owned),
            pattern: pattern.map(str::to_owned),
            secret: false,
        }
    }

    fn choices() -> Choices {
        let component = |name: &str, depends: &[&str]| ComponentChoice {
            name: name.to_owned(),
            description: String::new(),
            depends: depends.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut token = spec("token", true, None, None);
        token.secret = true;
        Choices {
            platforms: vec![
                PlatformChoice {
                    name: "cloud".to_owned(),
                    description: String::new(),
                    parameters: vec![
                        spec("project", true, None, Some("[a-z]{3,8}")),
                        spec("zone", true, Some("z1"), Some("z[0-9]")),
                        spec("storageClass", true, Some("fast"), None),
                        spec("extra", false, None, None),
                        token,
                    ],
                    default_components: vec!["app".to_owned()],
                },
                PlatformChoice {
                    name: "home".to_owned(),
                    description: String::new(),
                    parameters: vec![spec("storageClass", true, Some("slow"), None)],
                    default_components: vec!["base".to_owned(), GPU_COMPONENT.to_owned()],
                },
            ],
            releases: vec!["1.0".to_owned(), "2.0".to_owned()],
            components: vec![
                component("base", &[]),
                component("mesh", &["base"]),
                component("app", &["mesh"]),
                component("other", &[]),
                component(GPU_COMPONENT, &[]),
            ],
            default_platform: "home".to_owned(),
        }
    }

    fn never() -> Ask {
        Ask::Never {
            reason: "test".to_owned(),
        }
    }

    fn run_never(given: &Given) -> Result<KfctlConfig, WizardError> {
        run(
            &choices(),
            given,
            &never(),
            &AtomicBool::new(false),
            quiet(),
        )
    }

    fn cloud() -> Given {
        Given {
            platform: Some("cloud".to_owned()),
            set: vec!["project=abc".to_owned(), "token=env:TOKEN".to_owned()],
            admin_password: Some("long-enough".to_owned()),
            output: "kfctl.yaml".to_owned(),
            ..Given::default()
        }
    }

    #[test]
    fn patterns_match_the_whole_value() {
        let s = spec("project", true, None, Some("[a-z]{3,8}"));
        assert_eq!(check_param("p", &s, "abc").ok(), Some(Ok(())));
        let reason = check_param("p", &s, "abc1").ok().and_then(Result::err);
        assert_eq!(
            reason.as_deref(),
            Some("`abc1` does not fit `project` (project value): it must match `[a-z]{3,8}`")
        );
        let empty = check_param("p", &s, "").ok().and_then(Result::err);
        assert_eq!(empty.as_deref(), Some("`project` is required"));
        let bad = spec("x", true, None, Some("(unclosed"));
        assert!(matches!(
            check_param("p", &bad, "v"),
            Err(WizardError::BadPattern { .. })
        ));
    }

    #[test]
    fn dependencies_are_closed_in_catalog_order() {
        let enabled = close_dependencies(&choices(), &["app".to_owned()], quiet());
        assert_eq!(enabled, ["base", "mesh", "app"]);
        let none = close_dependencies(&choices(), &[], quiet());
        assert!(none.is_empty());
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
        let with = |edit: &dyn Fn(&mut Given)| {
            let mut given = cloud();
            edit(&mut given);
            run_never(&given).expect_err("a bad flag").to_string()
        };
        assert_eq!(
            with(&|g| g.platform = Some("moon".to_owned())),
            "unknown platform `moon` given to `--platform`"
        );
        assert_eq!(
            with(&|g| g.release = Some("9".to_owned())),
            "unknown release `9` given to `--release`"
        );
        assert_eq!(
            with(&|g| g.components = Some(vec!["nope".to_owned()])),
            "unknown component `nope` given to `--components`"
        );
        assert_eq!(
            with(&|g| {
                g.components = Some(vec![GPU_COMPONENT.to_owned()]);
                g.gpu = Some(false);
            }),
            "invalid value for `--components`: it lists `gpu`, and `--no-gpu` is given"
        );
        assert_eq!(
            with(&|g| g.set.push("zone".to_owned())),
            "invalid value for `--set zone`: expected `KEY=VALUE`"
        );
        assert_eq!(
            with(&|g| g.set.push("zone=a1".to_owned())),
            "invalid value for `--set zone=a1`: `a1` does not fit `zone` (zone value): it must match `z[0-9]`"
        );
        assert_eq!(
            with(&|g| g.set.push("nothing=1".to_owned())),
            "unknown parameter `nothing` given to `--set`"
        );
        assert_eq!(
            with(&|g| g.set.push("token=plain".to_owned())),
            "invalid value for `--set token=plain`: a secret is given by reference: `env:VAR` or `file:PATH`"
        );
        assert_eq!(
            with(&|g| g.set.push("other.size=1".to_owned())),
            "invalid value for `--set other.*`: component `other` is not enabled"
        );
        assert_eq!(
            with(&|g| {
                g.set.push("storageClass=fast".to_owned());
                g.storage_class = Some("slow".to_owned());
            }),
            "invalid value for `--storage-class`: `--set storageClass=fast` says otherwise"
        );
        assert_eq!(
            with(&|g| g.storage_class = Some("Bad_Class".to_owned())),
            "invalid value for `--storage-class`: `Bad_Class` is not a storage class name (lower-case letters, digits, `-` and `.`)"
        );
        assert_eq!(
            with(&|g| g.admin_email = Some("nobody".to_owned())),
            "invalid value for `--admin-email`: `nobody` is not an e-mail address"
        );
        assert_eq!(
            with(&|g| g.admin_password = Some("short".to_owned())),
            "invalid value for `--admin-password-env/--admin-password-file`: the password is shorter than 8 characters"
        );
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
