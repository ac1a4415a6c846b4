//! Turning an error chain into what a person reads, and into an exit code.
//!
//! Module errors are `thiserror` enums carrying the file or object they are about; commands wrap
//! them with `anyhow` context naming the step. Bad input of any kind is the user's to fix (exit 1);
//! anything unrecognised is a bug in kfctl (exit 3). A cluster that cannot be reached, refuses the
//! credentials or a request, or serves no API for a kind is the user's to fix too.

use crate::cluster::ClusterError;
use crate::cluster::apply::ApplyError;
use crate::cluster::lock::LockError;
use crate::cluster::preflight::PreflightError;
use crate::cluster::prune::RemoveError;
use crate::profile::ProfileError;
use crate::render::RenderError;
use crate::resource::yaml::YamlError;
use crate::wizard::WizardError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    User,
    Internal,
}

impl ErrorClass {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::User => 1,
            ErrorClass::Internal => 3,
        }
    }
}

/// A user error if any cause in the chain is an error type that describes bad input.
pub fn classify(err: &anyhow::Error) -> ErrorClass {
    let user = err.chain().any(|cause| {
        cause.is::<RenderError>()
            || cause.is::<crate::source::SourceError>()
            || cause.is::<ProfileError>()
            || cause.is::<ClusterError>()
            || cause.is::<ApplyError>()
            || cause.is::<PreflightError>()
            || cause.is::<LockError>()
            || cause.is::<RemoveError>()
            || cause.is::<YamlError>()
            || cause.is::<UserError>()
            || cause
                .downcast_ref::<WizardError>()
                .is_some_and(WizardError::is_user)
            || cause.is::<std::io::Error>()
    });
    if user {
        ErrorClass::User
    } else {
        ErrorClass::Internal
    }
}

/// The causes, outermost first, and every hint a cause offers.
pub fn render_chain(err: &anyhow::Error) -> (Vec<String>, Vec<String>) {
    let mut chain = Vec::new();
    let mut hints = Vec::new();
    for cause in err.chain() {
        // `file:line:col: invalid YAML: message` already says what its source would.
        if let Some(yaml) = cause.downcast_ref::<YamlError>()
            && chain
                .last()
                .is_some_and(|l: &String| l.contains(&yaml.message))
        {
            continue;
        }
        let text = cause.to_string();
        // thiserror messages often repeat their source; print each text once.
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        if let Some(hint) = cause
            .downcast_ref::<RenderError>()
            .and_then(RenderError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<WizardError>()
            .and_then(WizardError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<ProfileError>()
            .and_then(ProfileError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<ClusterError>()
            .and_then(ClusterError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<ApplyError>()
            .and_then(ApplyError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<PreflightError>()
            .and_then(PreflightError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause.downcast_ref::<LockError>().and_then(LockError::hint) {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<crate::source::SourceError>()
            .and_then(crate::source::SourceError::hint)
        {
            hints.push(hint);
        }
        if let Some(hint) = cause
            .downcast_ref::<RemoveError>()
            .and_then(RemoveError::hint)
        {
            hints.push(hint);
        }
        if let Some(UserError { hint: Some(h), .. }) = cause.downcast_ref::<UserError>() {
            hints.push(h.clone());
        }
    }
    (chain, hints)
}

/// A plain user-facing error raised by a command: bad flags or input it checked itself.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
