//! What an apply did: one action per object, what failed and what is not ready, and the
//! progress events a command prints.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::known::Listings;
use crate::cluster::admission::WebhookDown;
use crate::cluster::client::ClusterError;
use crate::cluster::health::Health;
use crate::cluster::listing;
use crate::errors::{Diagnostic, ErrorClass};
use crate::plan::Wave;
use crate::resource::{Gvk, Origin, ResId};
use crate::shell;

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again, for a change to an immutable field (`--force`).
    Recreated,
    /// Deleted after the apply: the install's, and not in the render any more.
    Pruned,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Recreated => "recreated",
            Action::Pruned => "pruned",
        })
    }
}

/// One object applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub id: ResId,
    pub wave: Wave,
    pub action: Action,
    /// The namespace the object went to; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub duration: Duration,
    /// Transient failures retried before it went through.
    pub retries: u32,
    /// Under `--dry-run`, the server could not check it: its namespace or its CRD comes with
    /// this apply and does not exist yet.
    pub unchecked: bool,
    /// `metadata.generation` of the object as written or found, when the server keeps one.
    pub generation: Option<i64>,
    /// The digest of its kfctl-owned fields (`drift::owned_digest`) as written or read during
    /// the apply; `None` when the apply did not see the object whole.
    pub owned: Option<String>,
}

/// One object that could not be applied.
#[derive(Debug)]
pub struct Failed {
    pub id: ResId,
    pub origin: Origin,
    pub wave: Wave,
    pub error: ObjectError,
}

/// Why one object was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The server refused the object (400, 404, 422...): retrying cannot help.
    #[error("the server refused it: {message} ({code} {reason})")]
    Refused {
        code: u16,
        reason: String,
        message: String,
    },

    /// Fields of the object are owned by another field manager.
    #[error("{} owned by {}: {message}", if .managers.len() == 1 { "a field is" } else { "fields are" }, listing(.managers))]
    Conflict {
        managers: Vec<String>,
        message: String,
    },

    /// The change touches fields the server does not let change.
    #[error("{} immutable: {message}", match .fields.as_slice() { [] => "a field is".to_owned(), [f] => format!("field `{f}` is"), fs => format!("fields {} are", listing(fs)) })]
    Immutable {
        fields: Vec<String>,
        message: String,
    },

    /// An admission webhook in front of the object never admitted.
    #[error(transparent)]
    WebhookDown(#[from] WebhookDown),

    /// The CRD of the object's kind, in the same render, was not Established in time.
    #[error("its kind is not served: CRD `{crd}` was not Established when the {} timeout passed ({status})", human(*.timeout))]
    NotServed {
        crd: String,
        status: String,
        timeout: Duration,
    },

    /// Failures that can pass kept failing until the deadline.
    #[error("still failing after {attempts} attempts, when the {} timeout passed: {last}", human(*.timeout))]
    GaveUp {
        attempts: u32,
        timeout: Duration,
        last: String,
    },

    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl Diagnostic for ObjectError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// A duration as a person writes it: `300ms`, `45s`, `5m`, `1m30s`, `1h2m`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}

/// An object that did not become healthy in time.
#[derive(Debug, Clone)]
pub struct NotReady {
    pub id: ResId,
    pub wave: Wave,
    pub health: Health,
}

/// Everything an apply did, kept whether it succeeded or not.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<Applied>,
    pub failed: Vec<Failed>,
    pub not_ready: Vec<NotReady>,
    /// Waves not started because an earlier one failed.
    pub skipped: Vec<(Wave, usize)>,
    pub elapsed: Duration,
    /// The live members of each kind whose objects this apply left all unchanged, as listed
    /// before: still current, so what is recorded about them needs no second list.
    pub listed: Listings,
    /// Kinds of `listed` whose members hold metadata alone.
    pub metadata_only: BTreeSet<Gvk>,
}

impl ApplyReport {
    pub fn count(&self, action: Action) -> usize {
        self.applied.iter().filter(|a| a.action == action).count()
    }

    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_ready.is_empty() && self.skipped.is_empty()
    }
}

/// An apply that did not end with everything applied and healthy: each object that failed or
/// is not ready, with the server's message or the reason.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{}", describe_failures(.failed, *.skipped))]
    Objects { failed: Vec<Failed>, skipped: usize },

    #[error("{}", describe_not_ready(.not_ready, *.timeout))]
    NotReady {
        not_ready: Vec<NotReady>,
        timeout: Duration,
    },
}

pub(super) fn describe_failures(failed: &[Failed], skipped: usize) -> String {
    let mut text = match failed.len() {
        1 => "1 object was not applied".to_owned(),
        n => format!("{n} objects were not applied"),
    };
    if skipped > 0 {
        text.push_str(&format!(
            " ({skipped} objects of later waves were not sent)"
        ));
    }
    for f in failed {
        text.push_str(&format!("\n    {} ({}): {}", f.id, f.origin, f.error));
    }
    // Once per webhook, however many objects wait behind it.
    let mut named: Vec<&str> = Vec::new();
    for f in failed {
        if let ObjectError::WebhookDown(down) = &f.error
            && !named.contains(&down.webhook.as_str())
        {
            named.push(&down.webhook);
            text.push_str(&format!(
                "\n    the last call to webhook `{}`: {}",
                down.webhook, down.last
            ));
        }
    }
    text
}

pub(super) fn describe_not_ready(not_ready: &[NotReady], timeout: Duration) -> String {
    let mut text = format!(
        "{} not ready when the {} timeout passed",
        match not_ready.len() {
            1 => "1 object was".to_owned(),
            n => format!("{n} objects were"),
        },
        human(timeout)
    );
    for n in not_ready {
        text.push_str(&format!("\n    {}: {}", n.id, n.health));
    }
    text
}

impl ApplyError {
    /// `None` when the report is a success.
    pub fn from_report(report: ApplyReport, timeout: Duration) -> Option<ApplyError> {
        let skipped = report.skipped.iter().map(|(_, n)| n).sum();
        if !report.failed.is_empty() {
            Some(ApplyError::Objects {
                failed: report.failed,
                skipped,
            })
        } else if !report.not_ready.is_empty() {
            Some(ApplyError::NotReady {
                not_ready: report.not_ready,
                timeout,
            })
        } else {
            None
        }
    }
}

impl Diagnostic for ApplyError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Objects { failed, .. } => {
                let mut managers: Vec<&String> = failed
                    .iter()
                    .filter_map(|f| match &f.error {
                        ObjectError::Conflict { managers, .. } => Some(managers),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                managers.sort();
                managers.dedup();
                if !managers.is_empty() {
                    return Some(format!(
                        "pass `--force-conflicts` to take the fields over from {}",
                        listing(managers)
                    ));
                }
                if let Some(down) = failed.iter().find_map(|f| match &f.error {
                    ObjectError::WebhookDown(down) => Some(down),
                    _ => None,
                }) {
                    return Some(down.backend.hint());
                }
                if failed
                    .iter()
                    .any(|f| matches!(f.error, ObjectError::Immutable { .. }))
                {
                    return Some(
                        "pass `--force` to delete these objects and create them again (their pods restart; data in them is lost)".to_owned(),
                    );
                }
                if let Some(crd) = failed.iter().find_map(|f| match &f.error {
                    ObjectError::NotServed { crd, .. } => Some(crd),
                    _ => None,
                }) {
                    return Some(format!(
                        "`kubectl describe crd {}` shows why it is not Established (a name another CRD holds, an invalid schema); rerun with a longer `--timeout` if the API server is only slow",
                        shell::quote(crd)
                    ));
                }
                if failed
                    .iter()
                    .any(|f| matches!(f.error, ObjectError::GaveUp { .. }))
                {
                    return Some("raise `--timeout`, or check the API server and the webhooks named above".to_owned());
                }
                failed.iter().find_map(|f| match &f.error {
                    ObjectError::Cluster(e) => e.hint(),
                    _ => None,
                })
            }
            ApplyError::NotReady { .. } => Some(
                "`kubectl describe` the objects named above; rerun `kfctl apply` (with a longer `--timeout`) to keep waiting".to_owned(),
            ),
        }
    }
}

/// Progress, for the command to print.
#[derive(Debug)]
pub enum Event<'a> {
    WaveStarted {
        wave: Wave,
        objects: usize,
        /// Its place among the waves this apply has, from 1.
        number: usize,
        of: usize,
    },
    Applied(&'a Applied),
    Failed(&'a Failed),
    /// Waiting for what the wave's objects need before the next wave.
    Waiting {
        wave: Wave,
        what: String,
    },
    WaveDone {
        wave: Wave,
        elapsed: Duration,
    },
    /// Objects waiting for an admission webhook that does not admit yet.
    WaitingForWebhook {
        webhook: &'a str,
        backend: &'a crate::cluster::admission::Backend,
        objects: usize,
    },
    /// The webhook admits now; the objects behind it go.
    WebhookAdmits {
        webhook: &'a str,
        waited: Duration,
    },
    /// Deleting an object to create it again (`force`, immutable fields).
    Recreating {
        id: &'a ResId,
        fields: &'a [String],
    },
    /// The objects still not healthy, after each read; the first is the example to show.
    NotHealthyYet {
        pending: &'a [NotReady],
    },
}
