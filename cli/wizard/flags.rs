//! The answers flags give, checked against the choices, and the defaults taken when nothing
//! may be asked.

use super::checks::{
    check_email, check_param, check_password, check_storage_class, parse_secret_ref,
};
use super::*;

/// The answers the flags give, each checked against the choices.
pub(super) fn from_flags(choices: &Choices, given: &Given) -> Result<Answers, WizardError> {
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
        check_email(email).map_err(refused("--admin-email"))?;
        answers.admin_email = Some(email.clone());
    }
    if let Some(password) = &given.admin_password {
        check_password(password).map_err(refused("--admin-password-env/--admin-password-file"))?;
        answers.admin_password = Some(password.clone());
    }

    Ok(answers)
}

/// Applies `--set KEY=VALUE` and `--storage-class`, once the platform (whose parameters they
/// name) is known: before any prompt when `--platform` is given.
pub(super) fn apply_sets(
    choices: &Choices,
    given: &Given,
    answers: &mut Answers,
) -> Result<(), WizardError> {
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
        check_storage_class(class).map_err(refused("--storage-class"))?;
        answers
            .parameters
            .insert(STORAGE_CLASS_PARAM, class.to_owned());
    }
    Ok(())
}

/// Without prompts: defaults for what was not given; an error naming every answer with none.
pub(super) fn fill_defaults(
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
        answers.release = Some(choices.default_release.clone());
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

pub(super) fn platform_gpu_default(platform: &PlatformChoice) -> bool {
    platform
        .default_components
        .iter()
        .any(|c| c == GPU_COMPONENT)
}

/// The error for a value of `flag` refused for `reason`.
fn refused(flag: &str) -> impl FnOnce(String) -> WizardError + '_ {
    move |reason| WizardError::InvalidFlag {
        flag: flag.to_owned(),
        reason,
    }
}
