//! Revisions: every apply, upgrade and rollback of an install, as the install's record keeps
//! them (JSON under the parent's `revisions` key). A revision holds digests and pins, never
//! objects, so the record stays small however many are kept: what an old revision installed is
//! rendered again from what it pins (platform, release, source, components, parameters, or a
//! kustomization directory and the digest of its render).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many revisions the record keeps: the oldest go first.
pub const KEEP: usize = 20;

/// What made a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionAction {
    Apply,
    Upgrade,
    Rollback,
}

impl fmt::Display for RevisionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RevisionAction::Apply => "apply",
            RevisionAction::Upgrade => "upgrade",
            RevisionAction::Rollback => "rollback",
        })
    }
}

/// How a revision ended. `pending` is written before the first object: a revision still
/// pending when no run is going on was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionResult {
    Pending,
    Succeeded,
    Failed,
    /// Failed, and `--atomic` went back to the revision before.
    RolledBack,
}

impl fmt::Display for RevisionResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RevisionResult::Pending => "pending",
            RevisionResult::Succeeded => "succeeded",
            RevisionResult::Failed => "failed",
            RevisionResult::RolledBack => "rolled-back",
        })
    }
}

/// What a render is made from, enough to make it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Pin {
    /// A platform profile.
    Profile(Box<ProfilePin>),
    /// A kustomization directory.
    #[serde(rename_all = "camelCase")]
    Kustomize {
        dir: PathBuf,
        /// The sha256 of the render: a directory whose render changed since is not the same
        /// revision any more.
        render_digest: String,
    },
}

/// What a platform render is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePin {
    /// kfctl's root (catalog, platforms, overlays).
    pub root: PathBuf,
    pub platform: String,
    pub release: String,
    /// The catalog's source name and version (`kubeflow-manifests`, `v1.11.0`).
    pub source: String,
    pub source_version: String,
    /// Where the source was read from, and the sha256 of that path.
    pub source_dir: PathBuf,
    pub source_dir_digest: String,
    /// The components rendered, in dependency order.
    pub components: Vec<String>,
    /// Every parameter as resolved (`name` or `component.name`), empty ones left out.
    pub parameters: BTreeMap<String, String>,
    /// The `kfctl.yaml` the install was made from, when there was one (for the secrets
    /// and admin settings it names, which are not copied into the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    /// `--source NAME=PATH` overrides, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// `--set NAME=VALUE` arguments, as given: an upgrade keeps them and takes the new
    /// release's defaults for the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
    /// The user's catalog laid over the built-in one (`--catalog`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<CatalogPin>,
}

/// A user's catalog a render read: its absolute path and the sha256 of its text. Rendering the
/// revision again reads the same file, and refuses one that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPin {
    pub path: PathBuf,
    pub sha256: String,
}

impl Pin {
    /// `1.11.0 (kubeflow-manifests v1.11.0)` or `-k DIR`.
    pub fn describe(&self) -> String {
        match self {
            Pin::Profile(p) => format!("{} ({} {})", p.release, p.source, p.source_version),
            Pin::Kustomize { dir, .. } => format!("-k {}", dir.display()),
        }
    }
}

/// One revision of an install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// From 1, never reused.
    pub number: u32,
    pub action: RevisionAction,
    pub release: String,
    pub platform: String,
    pub config_digest: String,
    pub pin: Pin,
    pub result: RevisionResult,
    /// Why it failed or was rolled back, in a line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339, UTC.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// The user the API server saw (`system:serviceaccount:ns:name`), or the kubeconfig's
    /// user when it could not say.
    pub who: String,
    /// How many objects it applied.
    pub objects: usize,
    /// For a rollback, the revision it went back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_revision: Option<u32>,
}

/// The revisions as stored: oldest first.
pub fn to_json(revisions: &[Revision]) -> String {
    serde_json::to_string(revisions).unwrap_or_default()
}

/// The stored revisions. A value kfctl cannot read is an error: reading it as none would let the
/// next write drop the history.
pub fn from_json(text: &str) -> Result<Vec<Revision>, serde_json::Error> {
    serde_json::from_str(text)
}

/// `revisions` with `next` added (or replacing the revision of the same number), at most
/// [`KEEP`] of them.
pub fn push(revisions: &[Revision], next: Revision) -> Vec<Revision> {
    let mut out: Vec<Revision> = revisions
        .iter()
        .filter(|r| r.number != next.number)
        .cloned()
        .collect();
    out.push(next);
    out.sort_by_key(|r| r.number);
    let excess = out.len().saturating_sub(KEEP);
    out.drain(..excess);
    out
}

/// The number the next revision takes.
pub fn next_number(revisions: &[Revision]) -> u32 {
    revisions.iter().map(|r| r.number).max().unwrap_or(0) + 1
}

/// The revision the cluster is at: the newest that succeeded (a failed or interrupted one left
/// a mix, which the next run completes).
pub fn current(revisions: &[Revision]) -> Option<&Revision> {
    revisions
        .iter()
        .rev()
        .find(|r| r.result == RevisionResult::Succeeded)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(number: u32) -> Revision {
        Revision {
            number,
            action: RevisionAction::Upgrade,
            release: "1.11.0".into(),
            platform: "local".into(),
            config_digest: "a".repeat(64),
            pin: Pin::Profile(Box::new(ProfilePin {
                root: "/opt/kfctl".into(),
                platform: "local".into(),
                release: "1.11.0".into(),
                source: "kubeflow-manifests".into(),
                source_version: "v1.11.0".into(),
                source_dir: "/work/shared/corpus/kubeflow-manifests-v1.11.0".into(),
                source_dir_digest: "b".repeat(64),
                components: [
                    "kubeflow-namespace",
                    "cert-manager",
                    "istio",
                    "oauth2-proxy",
                    "dex",
                    "notebooks",
                    "pipelines",
                    "gpu",
                ]
                .map(String::from)
                .to_vec(),
                parameters: (0..20)
                    .map(|i| (format!("component.parameter{i}"), "a-value".repeat(4)))
                    .collect(),
                config: Some("/home/someone/kfctl.yaml".into()),
                sources: Vec::new(),
                sets: vec!["gpu.enabled=true".into()],
                catalog: None,
            })),
            result: RevisionResult::Failed,
            message: Some("x".repeat(300)),
            started: "2026-01-01T00:00:00Z".into(),
            ended: Some("2026-01-01T00:10:00Z".into()),
            who: "system:serviceaccount:kfctl-system:kfctl-upgrade".into(),
            objects: 683,
            source_revision: Some(3),
        }
    }

    #[test]
    fn revisions_round_trip_as_json() {
        let revisions = vec![sample(1), sample(2)];
        assert_eq!(from_json(&to_json(&revisions)).unwrap(), revisions);
        assert!(from_json("not json").is_err());
        assert!(from_json(r#"[{"number": "one"}]"#).is_err());
    }

    #[test]
    fn only_the_newest_are_kept() {
        let mut revisions = Vec::new();
        for n in 1..=30 {
            revisions = push(&revisions, sample(n));
        }
        assert_eq!(revisions.len(), KEEP);
        assert_eq!(revisions[0].number, 11);
        assert_eq!(next_number(&revisions), 31);
        // A revision written again (pending, then its result) replaces itself.
        let mut done = sample(30);
        done.result = RevisionResult::Succeeded;
        let revisions = push(&revisions, done);
        assert_eq!(revisions.len(), KEEP);
        assert_eq!(current(&revisions).map(|r| r.number), Some(30));
    }

    #[test]
    fn the_current_revision_is_the_newest_that_succeeded() {
        let mut ok = sample(1);
        ok.result = RevisionResult::Succeeded;
        let mut pending = sample(2);
        pending.result = RevisionResult::Pending;
        assert_eq!(current(&[ok, pending]).map(|r| r.number), Some(1));
        assert_eq!(current(&[]), None);
    }
}
