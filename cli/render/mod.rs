//! The kustomize-compatible render engine: a kustomization directory in, a `ResourceSet` out,
//! the same objects in the same order as `kubectl kustomize`.
//!
//! Pure: reads through an `Fs`, never the network or a cluster. Each kustomization level loads
//! its resources, generators and components, then runs its transforms in kustomize's order
//! (`transforms::ORDER`); the top level then adds content hashes to generated names, fixes name
//! references (`names`), resolves vars and sorts (`order`).

pub mod fieldspec;
pub mod fs;
pub mod generators;
pub mod kustomization;
pub mod load;
pub mod names;
pub mod order;
pub mod patch;
pub mod replacements;
pub mod select;
#[cfg(test)]
pub mod testing;
pub mod transforms;
pub mod vars;

use std::fmt;
use std::path::{Path, PathBuf};

pub use fs::{Fs, LayeredFs, MemFs, RealFs, RemoteFailure};
pub use load::{Target, build};

use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::{DuplicateId, Origin, ResId, ResourceSet, yaml::YamlError};

/// A finished render: the objects and the warnings kustomize would print.
#[derive(Debug, Default)]
pub struct Rendered {
    pub resources: ResourceSet,
    pub warnings: Vec<String>,
    /// The catalog component each object of a platform render comes from, by id; empty for a
    /// kustomization, which has no components.
    pub components: std::collections::HashMap<ResId, String>,
}

/// A place in a file: a kustomization line, or a document's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl Loc {
    pub fn new(path: &Path, line: Option<usize>) -> Self {
        Loc {
            path: path.to_path_buf(),
            line,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// Everything that can go wrong in a render. Each variant names the file (and line) or the
/// object it is about.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no kustomization file in `{dir}`")]
    NoKustomization { dir: PathBuf },

    #[error("`{dir}` has more than one kustomization file ({})", names.join(", "))]
    ManyKustomizations { dir: PathBuf, names: Vec<String> },

    #[error("`{entry}` named at {at} does not exist")]
    Missing { entry: String, at: Loc },

    #[error("{path}:{}:{}: invalid YAML: {}", source.line, source.col, source.message)]
    Yaml {
        path: PathBuf,
        #[source]
        source: YamlError,
    },

    #[error("{at}: unknown field `{field}` in kustomization")]
    UnknownField { field: String, at: Loc },

    #[error("{at}: invalid kustomization: {message}")]
    InvalidKustomization { message: String, at: Loc },

    #[error("{at}: invalid object: {message}")]
    InvalidObject { message: String, at: Loc },

    #[error("cycle in resources: {}", chain.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(" -> "))]
    Cycle { chain: Vec<PathBuf> },

    #[error(
        "{at}: `{entry}` is outside `{root}`, and kustomize loads files only from within a kustomization's directory"
    )]
    OutsideRoot {
        entry: String,
        root: PathBuf,
        at: Loc,
    },

    #[error(
        "{at}: `{entry}` is a link to `{}`, outside the kustomization's directory `{}`",
        target.display(),
        root.display()
    )]
    LinkOutsideRoot {
        entry: String,
        /// Where the link leads, every link followed.
        target: PathBuf,
        /// The kustomization's real directory.
        root: PathBuf,
        at: Loc,
    },

    #[error("`{entry}` named at {at} is a loop of symbolic links")]
    LinkLoop { entry: String, at: Loc },

    #[error("{at}: `{field}` is not supported")]
    Unsupported { field: String, at: Loc },

    #[error("{at}: remote resource `{url}` is not supported by `kfctl build`")]
    Remote { url: String, at: Loc },

    #[error("{at}: cannot fetch remote resource `{url}`: {}", failure.message)]
    RemoteFetch {
        url: String,
        failure: RemoteFailure,
        at: Loc,
    },

    #[error("{0}")]
    Duplicate(Box<DuplicateId>),

    #[error("{at}: patch matches no object: {what}")]
    PatchTargetNotFound { what: String, at: Loc },

    #[error("{at}: cannot apply patch to `{id}` ({origin}): {message}")]
    Patch {
        id: ResId,
        origin: Origin,
        message: String,
        at: Loc,
    },

    #[error("`{id}` ({origin}): {message}")]
    Transform {
        id: ResId,
        origin: Origin,
        message: String,
    },

    #[error("{at}: {message}")]
    Generator { message: String, at: Loc },

    #[error("{at}: var `{name}` cannot be resolved: {message}")]
    Var {
        name: String,
        message: String,
        at: Loc,
    },

    #[error("{at}: replacement failed: {message}")]
    Replacement { message: String, at: Loc },
}

impl Diagnostic for RenderError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    /// What the user can do about it, when we know.
    fn hint(&self) -> Option<String> {
        Some(match self {
            RenderError::NoKustomization { .. } => format!(
                "a kustomization directory holds one of {}",
                kustomization::FILE_NAMES.map(|n| format!("`{n}`")).join(", ")
            ),
            RenderError::Missing { .. } => {
                "paths in a kustomization are relative to the directory that holds it".to_owned()
            }
            // The YAML error below in the chain says why instead.
            RenderError::Yaml { source, .. } if source.hint.is_some() => return None,
            RenderError::Yaml { .. } => {
                "the parser stops where it notices the mistake, which is often just after it (an unclosed `[`, `{` or quote, or a wrong indent)".to_owned()
            }
            RenderError::UnknownField { .. } => {
                "check the spelling against the kustomization reference; kustomize refuses unknown fields too".to_owned()
            }
            RenderError::Cycle { .. } => {
                "a kustomization may not include itself, directly or through other directories"
                    .to_owned()
            }
            RenderError::Duplicate(_) => {
                "give one of them another name or namespace, or merge them with a patch".to_owned()
            }
            RenderError::Var { .. } => {
                "check the var's `objref` and `fieldref.fieldPath` against the objects this kustomization loads".to_owned()
            }
            RenderError::PatchTargetNotFound { .. } => {
                "check the patch's kind, name and namespace against the objects this kustomization loads".to_owned()
            }
            RenderError::Unsupported { field, .. } if field.starts_with("helm") => {
                "render the chart with `helm template` and list its output under `resources`"
                    .to_owned()
            }
            RenderError::Unsupported { .. } => {
                "render that part with its own tool and list the output under `resources`"
                    .to_owned()
            }
            RenderError::Remote { .. } => {
                "vendor the remote base into a local directory and list that under `resources`"
                    .to_owned()
            }
            RenderError::RemoteFetch { failure, .. } => return failure.hint.clone(),
            RenderError::LinkOutsideRoot { .. } => {
                "like kustomize, kfctl reads a kustomization's files only from its own directory, after following links; copy the file in, or list the directory it is in under `resources` as a base".to_owned()
            }
            RenderError::LinkLoop { .. } => {
                "each link in the loop points to the next; make one of them point to a file or directory".to_owned()
            }
            RenderError::OutsideRoot { .. } => {
                "move the file under the kustomization's directory, or make the other directory a kustomization and list it under `resources`".to_owned()
            }
            _ => return None,
        })
    }
}

impl From<Box<DuplicateId>> for RenderError {
    fn from(d: Box<DuplicateId>) -> Self {
        RenderError::Duplicate(d)
    }
}
