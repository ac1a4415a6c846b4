//! Turning an error chain into what a person reads, and into an exit code.
//!
//! Module errors are `thiserror` enums carrying the file or object they are about; commands wrap
//! them with `anyhow` context naming the step. Each of those enums implements [`Diagnostic`]: its
//! class (bad input of any kind is the user's to fix, exit 1; anything else is a bug in kfctl,
//! exit 3) and the hint it offers. A cluster that cannot be reached, refuses the credentials or a
//! request, or serves no API for a kind is the user's to fix too.
//!
//! An `&dyn Error` in a chain cannot be asked for a trait, only downcast to a type, so
//! [`diagnostic`] tries each error type kfctl has, listed once below; a unit test fails when an
//! error type in `cli/` is missing from that list.

use std::error::Error;

use crate::cluster::ClusterError;
use crate::cluster::admission::WebhookDown;
use crate::cluster::apply::ApplyError;
use crate::cluster::apply::ObjectError;
use crate::cluster::drift::DriftError;
use crate::cluster::lock::LockError;
use crate::cluster::preflight::PreflightError;
use crate::cluster::prune::RemoveError;
use crate::profile::ProfileError;
use crate::render::RenderError;
use crate::render::fieldspec::{PathError, VisitError};
use crate::render::fs::TooLarge;
use crate::render::patch::json6902::JsonPatchError;
use crate::render::patch::strategic::MergeError;
use crate::render::select::SelectorError;
use crate::resource::DuplicateId;
use crate::resource::yaml::YamlError;
use crate::source::SourceError;
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

/// What `main` needs to know of an error kfctl defines: whose it is to fix, and how.
pub trait Diagnostic: Error {
    fn class(&self) -> ErrorClass;

    /// What the user can do about it, when we know. A cause lower in the chain offers its own;
    /// this one need not repeat it.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Lists every error type `diagnostic` recognises, once.
macro_rules! diagnostics {
    ($($ty:ty),* $(,)?) => {
        /// `e` as a [`Diagnostic`], when it is one of kfctl's error types.
        pub fn diagnostic<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a dyn Diagnostic> {
            $(
                if let Some(d) = e.downcast_ref::<$ty>() {
                    return Some(d);
                }
            )*
            None
        }

        #[cfg(test)]
        const DIAGNOSTICS: &[&str] = &[$(stringify!($ty)),*];
    };
}

diagnostics![
    ApplyError,
    ClusterError,
    DriftError,
    DuplicateId,
    JsonPatchError,
    LockError,
    MergeError,
    ObjectError,
    PathError,
    PreflightError,
    ProfileError,
    RemoveError,
    RenderError,
    SelectorError,
    SourceError,
    TooLarge,
    UserError,
    VisitError,
    WebhookDown,
    WizardError,
    YamlError,
    std::io::Error,
];

// `resource` imports no other kfctl module, so its errors are described here.
impl Diagnostic for YamlError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        self.hint.map(str::to_owned)
    }
}

impl Diagnostic for DuplicateId {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// A file that is missing, unreadable or unwritable is the user's to fix.
impl Diagnostic for std::io::Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// `err` and its causes, outermost first.
fn causes<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// A user error if any cause in the chain is one: a bug of kfctl's found while handling bad
/// input still needs the input fixed first.
pub fn classify(err: &(dyn Error + 'static)) -> ErrorClass {
    let user = causes(err)
        .filter_map(diagnostic)
        .any(|d| d.class() == ErrorClass::User);
    if user {
        ErrorClass::User
    } else {
        ErrorClass::Internal
    }
}

/// The causes, outermost first, and every hint a cause offers, each once.
pub fn render_chain(err: &(dyn Error + 'static)) -> (Vec<String>, Vec<String>) {
    let mut chain: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    for cause in causes(err) {
        if let Some(hint) = diagnostic(cause).and_then(|d| d.hint())
            && !hints.contains(&hint)
        {
            hints.push(hint);
        }
        // `file:line:col: invalid YAML: message` already says what its source would.
        if let Some(yaml) = cause.downcast_ref::<YamlError>()
            && chain.last().is_some_and(|l| l.contains(&yaml.message))
        {
            continue;
        }
        let text = cause.to_string();
        // thiserror messages often repeat their source (`"cannot X: {source}"`); print each text
        // once.
        if !chain.last().is_some_and(|l| l.ends_with(&text)) {
            chain.push(text);
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

impl Diagnostic for UserError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use anyhow::Context as _;

    use super::*;

    #[test]
    fn a_user_error_under_context_is_the_users_with_its_hint() {
        let err = Err::<(), _>(UserError::new("no such thing").with_hint("try another"))
            .context("cannot do the thing")
            .unwrap_err();
        assert_eq!(classify(err.as_ref()), ErrorClass::User);
        assert_eq!(
            render_chain(err.as_ref()),
            (
                vec!["cannot do the thing".to_owned(), "no such thing".to_owned()],
                vec!["try another".to_owned()]
            )
        );
    }

    #[test]
    fn an_unknown_error_is_internal() {
        let err = anyhow::anyhow!("something odd").context("cannot do the thing");
        assert_eq!(classify(err.as_ref()), ErrorClass::Internal);
        assert_eq!(render_chain(err.as_ref()).1, Vec::<String>::new());
    }

    #[test]
    fn an_internal_wizard_error_is_a_bug() {
        let err = anyhow::Error::new(WizardError::Hash(bcrypt::BcryptError::CostNotAllowed(1)));
        assert_eq!(classify(err.as_ref()), ErrorClass::Internal);
        let err = anyhow::Error::new(WizardError::Interrupted);
        assert_eq!(classify(err.as_ref()), ErrorClass::User);
    }

    #[test]
    fn a_cause_its_context_already_ends_with_is_printed_once() {
        let err = anyhow::Error::new(UserError::new("the inner reason"))
            .context("cannot do the thing: the inner reason");
        assert_eq!(
            render_chain(err.as_ref()).0,
            vec!["cannot do the thing: the inner reason".to_owned()]
        );
    }

    #[test]
    fn a_hint_given_twice_in_a_chain_is_shown_once() {
        let err = anyhow::Error::new(UserError::new("inner").with_hint("same"))
            .context(UserError::new("outer").with_hint("same"));
        assert_eq!(render_chain(err.as_ref()).1, vec!["same".to_owned()]);
    }

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("cannot list a source directory") {
            let path = entry.expect("cannot list a source directory").path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// Every `thiserror` type in `cli/` is one `diagnostic` recognises: one left out would exit 3
    /// and lose its hint.
    #[test]
    fn every_error_type_is_a_diagnostic() {
        let derive = regex::Regex::new(r"derive\([^)]*thiserror::Error").expect("valid regex");
        let item = regex::Regex::new(r"^\s*pub(?:\([a-z]+\))?\s+(?:struct|enum)\s+(\w+)")
            .expect("valid regex");
        let mut files = Vec::new();
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("cli"),
            &mut files,
        );
        let mut defined = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("cannot read a source file");
            let mut lines = text.lines();
            while let Some(line) = lines.next() {
                if !derive.is_match(line) {
                    continue;
                }
                let name = lines
                    .by_ref()
                    .find_map(|l| item.captures(l).map(|c| c[1].to_owned()));
                defined.push(name.unwrap_or_else(|| {
                    panic!("a `thiserror` derive in `{}` is on no type", file.display())
                }));
            }
        }
        assert!(defined.len() > 10, "found only {defined:?}");
        let missing: Vec<&String> = defined
            .iter()
            .filter(|name| !DIAGNOSTICS.contains(&name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "add these to `diagnostics!` in cli/errors.rs and implement `Diagnostic` for them: {missing:?}"
        );
    }
}
