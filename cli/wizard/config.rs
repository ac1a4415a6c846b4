//! From answers to the `kfctl.yaml` written: the components with what they need, and the
//! summary shown before it is written.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::*;
use crate::output::Printer;

/// The components chosen and everything they need, in catalog order. Each one added for
/// another is said in a note.
pub(super) fn close_dependencies(
    choices: &Choices,
    chosen: &[String],
    printer: Printer,
) -> Vec<String> {
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

/// A note when a component that can run on GPU nodes is enabled and `gpu` is not.
pub(super) fn suggest_gpu(choices: &Choices, enabled: &[String], printer: Printer) {
    if enabled.iter().any(|c| c == GPU_COMPONENT)
        || !choices.components.iter().any(|c| c.name == GPU_COMPONENT)
    {
        return;
    }
    let users: Vec<String> = GPU_USERS
        .iter()
        .filter(|u| enabled.iter().any(|c| c == *u))
        .map(|u| format!("`{u}`"))
        .collect();
    if users.is_empty() {
        return;
    }
    printer.info(&format!(
        "{}: {} can run on GPU nodes; enable `{GPU_COMPONENT}` (`--gpu`) for the NVIDIA device plugin",
        printer.paint("note", "1"),
        users.join(", ")
    ));
}

pub(super) fn print_summary(
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

pub(super) fn build_config(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::fixtures::{choices, quiet};

    #[test]
    fn dependencies_are_closed_in_catalog_order() {
        let enabled = close_dependencies(&choices(), &["app".to_owned()], quiet());
        assert_eq!(enabled, ["base", "mesh", "app"]);
        let none = close_dependencies(&choices(), &[], quiet());
        assert!(none.is_empty());
    }
}
