//! Platform profiles, the component catalog and `kfctl.yaml`, resolved into one
//! `ResolvedProfile` (platform, release, ordered components with their upstream paths, project
//! manifests and overlays, merged parameters), and rendered through the kustomize engine.
//!
//! Pure: reads through `&dyn Fs`, never a cluster or the network.

pub mod catalog;
pub mod compose;
pub mod config;
pub mod doc;
pub mod embed;
pub mod kfdef;
pub mod migrations;
pub mod platform;
pub mod resolve;
pub mod write;

use std::fmt;
use std::path::PathBuf;

pub use catalog::Catalog;
pub use compose::render;
pub use config::{KfctlConfig, SecretRef};
pub use platform::{ParamType, PlatformProfile};
pub use resolve::{Request, ResolvedComponent, ResolvedProfile, resolve};

use crate::errors::{Diagnostic, ErrorClass};
use crate::render::{Loc, RenderError};
use crate::resource::ResId;
use crate::resource::yaml::YamlError;

/// The `apiVersion` of kfctl's own files.
pub const API_VERSION: &str = "kfctl.dev/v1alpha1";

/// Where a value came from, for errors about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// A command-line argument, as written (`--set project=x`).
    Flag(String),
    /// An environment variable.
    Env(&'static str),
    /// A line of a file.
    File(Loc),
    /// A built-in default.
    Default,
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Where::Flag(arg) => write!(f, "`{}`", write::escape_control(arg)),
            Where::Env(var) => write!(f, "`{var}`"),
            Where::File(loc) => write!(f, "{loc}"),
            Where::Default => write!(f, "default"),
        }
    }
}

/// Everything that can be wrong with a profile, the catalog or `kfctl.yaml`. Each variant names
/// the file and line, or the flag, it is about.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot read the catalog `{}`", path.display())]
    UserCatalog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}:{}:{}: invalid YAML: {}", source.line, source.col, source.message)]
    Yaml {
        path: PathBuf,
        #[source]
        source: YamlError,
    },

    #[error("{at}: unknown field `{field}`")]
    UnknownField {
        field: String,
        allowed: Vec<String>,
        at: Loc,
    },

    #[error("{at}: `{field}` is required")]
    MissingField { field: String, at: Loc },

    #[error("{at}: `{field}` must be {expected}, not {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: String,
        at: Loc,
    },

    #[error("{at}: {message}")]
    Invalid {
        message: String,
        at: Loc,
        hint: Option<String>,
    },

    #[error("no platform given")]
    NoPlatform,

    #[error("{from}: unknown platform `{name}`")]
    UnknownPlatform {
        name: String,
        known: Vec<String>,
        from: Where,
    },

    #[error("{from}: unknown release `{name}`")]
    UnknownRelease {
        name: String,
        known: Vec<String>,
        from: Where,
    },

    #[error("{from}: unknown component `{name}`")]
    UnknownComponent {
        name: String,
        known: Vec<String>,
        from: Where,
    },

    #[error("{from}: component `{name}` is not part of release `{release}`")]
    ComponentNotInRelease {
        name: String,
        release: String,
        from: Where,
    },

    #[error("{from}: {owner} has no parameter `{name}`")]
    UnknownParameter {
        name: String,
        /// `platform `gcp`` or `component `pipelines``.
        owner: String,
        known: Vec<String>,
        from: Where,
    },

    #[error("{}platform `{platform}` needs {}", from.as_ref().map(|l| format!("{l}: ")).unwrap_or_default(), quote_list(names))]
    MissingParameters {
        names: Vec<String>,
        platform: String,
        from: Option<Loc>,
    },

    #[error("{from}: parameter `{name}` must be {}, not {found}", expected.described())]
    ParameterType {
        name: String,
        expected: ParamType,
        found: String,
        from: Where,
    },

    #[error("{from}: invalid value {} for parameter `{name}`: it must match `{pattern}`", value.as_ref().map_or_else(|| "(secret)".to_owned(), |v| format!("`{}`", write::escape_control(v))))]
    InvalidValue {
        name: String,
        /// `None` for a secret parameter, whose value is never printed.
        value: Option<String>,
        pattern: String,
        description: String,
        from: Where,
    },

    #[error("{from}: parameter `{name}` cannot be written into {document}: {why}")]
    Unembeddable {
        name: String,
        document: &'static str,
        why: String,
        from: Where,
    },

    #[error("{at}: `{field}` holds a plaintext password")]
    PlaintextPassword { field: String, at: Loc },

    #[error("{at}: secret `{name}` is written in plaintext")]
    PlaintextSecret { name: String, at: Loc },

    #[error("{at}: component `{component}` is disabled, but `{needed_by}` needs it")]
    DisabledDependency {
        component: String,
        needed_by: String,
        at: Loc,
    },

    #[error("{from}: expected `{expected}`")]
    BadArgument { expected: &'static str, from: Where },

    #[error("{from}: release `{release}` has no source `{name}`")]
    UnknownSource {
        name: String,
        release: String,
        known: String,
        from: Where,
    },

    #[error("{from}: cannot fetch source `{name}` of release `{release}`: {message}")]
    RemoteSource {
        name: String,
        release: String,
        message: String,
        hint: Option<String>,
        from: Where,
    },

    #[error("source `{name}` of release `{release}` is not a directory: `{}` ({from})", dir.display())]
    MissingSource {
        name: String,
        release: String,
        dir: PathBuf,
        from: Where,
    },

    #[error("component `{component}` of release `{release}` needs `{path}`, which is not a directory in `{}`", source_dir.display())]
    MissingPath {
        component: String,
        release: String,
        path: String,
        source_dir: PathBuf,
    },

    #[error("cannot render component `{component}`")]
    Render {
        component: String,
        #[source]
        source: RenderError,
    },

    #[error("`{id}` is rendered by both component `{first}` and component `{second}`")]
    Duplicate {
        id: ResId,
        first: String,
        second: String,
    },
}

fn quote_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        1 => format!("parameter {}", quoted[0]),
        _ => format!("parameters {}", quoted.join(", ")),
    }
}

/// `, `-joined backquoted names.
fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The known name closest to `name`, if it is a plausible typo.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn did_you_mean(name: &str, known: &[String], what: &str) -> String {
    match closest(name, known) {
        Some(k) => format!("did you mean `{k}`? known {what}: {}", list(known)),
        None => format!("known {what}: {}", list(known)),
    }
}

impl Diagnostic for ProfileError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    /// What the user can do about it, when we know.
    fn hint(&self) -> Option<String> {
        Some(match self {
            // The YAML error below in the chain says why instead.
            ProfileError::Yaml { source, .. } if source.hint.is_some() => return None,
            ProfileError::Yaml { .. } => {
                "the parser stops where it notices the mistake, which is often just after it (an unclosed `[`, `{` or quote, or a wrong indent)".to_owned()
            }
            ProfileError::UnknownField { field, allowed, .. } => {
                let last = field.rsplit('.').next().unwrap_or(field);
                did_you_mean(last, allowed, "fields here")
            }
            ProfileError::MissingField { field, .. } => format!("add `{field}`"),
            ProfileError::UserCatalog { .. } => {
                "pass an existing file with `--catalog` or `KFCTL_CATALOG`: a `kind: Catalog` laid over the built-in one".to_owned()
            }
            ProfileError::WrongType { expected, .. } if *expected == "a string" => {
                "quote the value to make it a string (`\"0123\"`), so YAML does not read it as a number or boolean".to_owned()
            }
            ProfileError::WrongType { expected, .. } if expected.contains("true") => {
                "write `true` or `false`, without quotes".to_owned()
            }
            ProfileError::WrongType { field, .. } => format!(
                "check `{field}` against the example `kfctl.yaml` in README.md"
            ),
            ProfileError::Invalid { hint, .. } => return hint.clone(),
            ProfileError::NoPlatform => {
                "pass `-p PLATFORM`, set `KFCTL_PLATFORM`, or write `spec.platform` in `kfctl.yaml`; `kfctl platforms` lists them".to_owned()
            }
            ProfileError::UnknownPlatform { name, known, .. } => {
                format!("{}; `kfctl platforms` describes them", did_you_mean(name, known, "platforms"))
            }
            ProfileError::UnknownRelease { name, known, .. } => {
                format!("{}; `kfctl releases` describes them", did_you_mean(name, known, "releases"))
            }
            ProfileError::UnknownComponent { name, known, .. } => {
                format!("{}; `kfctl components` describes them", did_you_mean(name, known, "components"))
            }
            ProfileError::ComponentNotInRelease { .. } => {
                "pick another release with `--release`, or disable the component; `kfctl components --release R` lists what a release has".to_owned()
            }
            ProfileError::UnknownParameter { name, owner, known, .. } => {
                if known.is_empty() {
                    format!("{owner} takes no parameters")
                } else {
                    format!("{}; `kfctl platforms` lists them", did_you_mean(name, known, "parameters"))
                }
            }
            ProfileError::MissingParameters { names, .. } => format!(
                "give {} with `--set NAME=VALUE` or under `spec.parameters` in `kfctl.yaml`",
                if names.len() == 1 { "it" } else { "them" }
            ),
            ProfileError::ParameterType { expected: ParamType::String, .. } => {
                "quote the value to make it a string (`\"0123\"`), so YAML does not read it as a number or boolean".to_owned()
            }
            ProfileError::InvalidValue {
                name, description, ..
            } if !description.is_empty() => format!("`{name}` is {description}"),
            ProfileError::Unembeddable { name, .. } => format!(
                "`{name}` is spliced into that text as it is; give a value without the character"
            ),
            ProfileError::PlaintextPassword { .. } => {
                "store only a bcrypt hash, in `spec.admin.passwordHash` (`kfctl init` makes one); other secrets go under `spec.secrets` as `{env: VARIABLE}` or `{file: path}`".to_owned()
            }
            ProfileError::PlaintextSecret { name, .. } => format!(
                "give it by reference: `{name}: {{env: VARIABLE}}` or `{name}: {{file: path}}`"
            ),
            ProfileError::DisabledDependency { component, needed_by, .. } => {
                format!("enable `{component}`, or disable `{needed_by}` too")
            }
            ProfileError::UnknownSource { known, .. } => format!("this release's source is `{known}`"),
            ProfileError::RemoteSource { hint, .. } => return hint.clone(),
            ProfileError::BadArgument { expected, .. } if expected.contains("sha256") => {
                "a source URL is pinned: append `#sha256=` and the archive's 64-digit digest (`sha256sum ARCHIVE` prints it)".to_owned()
            }
            ProfileError::MissingSource { name, .. } => format!(
                "point kfctl at a copy of the manifests with `--source {name}=PATH` or `spec.sources.{name}.path` in `kfctl.yaml`"
            ),
            ProfileError::MissingPath { .. } => {
                "the source may hold another release than the one asked for; check `--release` and `--source`".to_owned()
            }
            ProfileError::Duplicate { first, second, .. } => {
                format!("disable one of `{first}` and `{second}`, or remove the object from one component's overlay")
            }
            _ => return None,
        })
    }
}
