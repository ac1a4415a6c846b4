//! The one question kfctl asks before it changes a cluster.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use super::Printer;
use crate::errors::UserError;
use crate::settings::ApplySettings;

/// What to ask, and what to say when the answer is no or cannot be asked.
pub struct Question<'a> {
    /// `Apply 12 objects to context `kind`?`
    pub prompt: String,
    /// `apply`, `delete`: the verb of the refusal.
    pub verb: &'a str,
    /// What was not done, said when the answer is no: `nothing applied`.
    pub declined: &'a str,
    /// How to go on without a prompt.
    pub hint: &'a str,
}

/// Asks `question` on the terminal; `no_prompt` says why it cannot be asked (no terminal,
/// `CI`), which refuses at once.
pub fn confirm(question: Question<'_>, no_prompt: Option<&str>, printer: Printer) -> Result<()> {
    if let Some(reason) = no_prompt {
        return Err(UserError::new(format!(
            "will not {} without confirmation: {reason}",
            question.verb
        ))
        .with_hint(question.hint)
        .into());
    }
    let term = dialoguer::console::Term::stderr();
    let answer = dialoguer::Confirm::new()
        .with_prompt(question.prompt)
        .default(false)
        .interact_on_opt(&term)
        .context("cannot read the answer")?;
    if answer == Some(true) && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        printer.info(question.declined);
        Err(UserError::new(format!("{} not confirmed", question.verb)).into())
    }
}

/// Asks before applying `objects` objects to `context`, unless the apply is a dry run or was
/// given `--yes`.
pub fn confirm_apply(
    settings: &ApplySettings,
    objects: usize,
    context: &str,
    printer: Printer,
) -> Result<()> {
    if settings.dry_run || settings.yes {
        return Ok(());
    }
    let question = Question {
        prompt: format!("Apply {objects} objects to context `{context}`?"),
        verb: "apply",
        declined: "nothing applied",
        hint: "pass `--yes` to apply without asking, or `--dry-run` to change nothing",
    };
    confirm(question, settings.no_prompt_reason.as_deref(), printer)
}
