//! The questions asked on the terminal for every answer the flags did not give.

use dialoguer::console::{Key, Term};
use dialoguer::theme::{ColorfulTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Select};

use super::checks::{
    check_email, check_param, check_password, check_storage_class, parse_secret_ref,
};
use super::config::close_dependencies;
use super::flags::{apply_sets, platform_gpu_default};
use super::*;
use crate::output::Printer;

/// Asks, in order, for every answer the flags did not give.
pub(super) fn ask_missing(
    choices: &Choices,
    given: &Given,
    answers: &mut Answers,
    term: &Term,
    theme: &ColorfulTheme,
    printer: Printer,
) -> Result<(), WizardError> {
    if answers.platform.is_none() {
        answers.platform = Some(ask_platform(choices, term, theme)?);
    }
    apply_sets(choices, given, answers)?;
    let platform = &choices.platforms[answers.platform.unwrap_or(0)];
    if answers.release.is_none() {
        let default = choices
            .releases
            .iter()
            .position(|r| *r == choices.default_release)
            .unwrap_or(0);
        let items: Vec<String> = choices
            .releases
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if i == default {
                    format!("{r} (default)")
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
        answers.components = Some(ask_components(choices, platform, term, theme, printer)?);
    }
    if answers.gpu.is_none() && choices.components.iter().any(|c| c.name == GPU_COMPONENT) {
        let gpu = Confirm::with_theme(theme)
            .with_prompt("Enable GPU support (device plugin and driver setup)?")
            .default(platform_gpu_default(platform))
            .interact_on(term)?;
        answers.gpu = Some(gpu);
    }

    ask_parameters(platform, answers, term, theme)?;
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

/// Asks which platform, the profile's default first chosen.
fn ask_platform(
    choices: &Choices,
    term: &Term,
    theme: &ColorfulTheme,
) -> Result<usize, WizardError> {
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
    Ok(picked)
}

/// Asks which components, the platform's defaults first chosen, until at least one is; returns
/// them with what they need.
fn ask_components(
    choices: &Choices,
    platform: &PlatformChoice,
    term: &Term,
    theme: &ColorfulTheme,
    printer: Printer,
) -> Result<Vec<String>, WizardError> {
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
        return Ok(close_dependencies(choices, &names, printer));
    }
}

/// Asks for each parameter of the platform that is required (or the storage class) and not
/// given: a secret as a reference, the others checked against their pattern.
fn ask_parameters(
    platform: &PlatformChoice,
    answers: &mut Answers,
    term: &Term,
    theme: &ColorfulTheme,
) -> Result<(), WizardError> {
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

    Ok(())
}

/// Asks for a password twice, hidden, until both agree and it is long enough.
pub(super) fn ask_new_password(term: &Term, theme: &ColorfulTheme) -> Result<String, WizardError> {
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
pub(super) fn fit(term: &Term, item: &str) -> String {
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
pub(super) fn report(
    term: &Term,
    format: impl FnOnce(&mut String) -> std::fmt::Result,
) -> Result<(), WizardError> {
    let mut line = String::new();
    let _ = format(&mut line);
    term.write_line(&line)?;
    Ok(())
}

pub(super) fn write_error(
    term: &Term,
    theme: &ColorfulTheme,
    reason: &str,
) -> Result<(), WizardError> {
    let mut line = String::new();
    let _ = theme.format_error(&mut line, reason);
    term.write_line(&line)?;
    Ok(())
}

/// A line read with nothing echoed. Unlike a cooked-mode read, a raw read sees Ctrl-C as a key,
/// so it can be cancelled like every other prompt (a cooked read would retry after SIGINT).
pub(super) fn read_hidden(
    term: &Term,
    theme: &ColorfulTheme,
    prompt: &str,
) -> Result<String, WizardError> {
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
