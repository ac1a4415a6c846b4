//! An install's revision history: [`History`] records a revision around each apply, upgrade and
//! rollback (pending before the first write, then how it ended).

use anyhow::{Context, Result};

use super::render::Install;
use crate::cluster::Cluster;
use crate::cluster::apply::{Action, ApplyReport};
use crate::cluster::identity;
use crate::cluster::inventory::{self, Inventory, Record};
use crate::errors::UserError;
use crate::upgrade::revision::{self, Revision, RevisionAction, RevisionResult};

/// The install's parent and its revisions; an error when the install is not recorded.
pub async fn read_revisions(
    cluster: &Cluster,
    name: &str,
) -> Result<(inventory::Parent, Vec<Revision>)> {
    let inventory = Inventory::new(name);
    let parent = inventory
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?
        .ok_or_else(|| {
            UserError::new(format!(
                "no install `{name}` is recorded in context `{}` (no ConfigMap `{}` in `{}`)",
                cluster.context(),
                inventory.parent,
                inventory::NAMESPACE
            ))
            .with_hint("install it with `kfctl apply` first, or name another with `--name`")
        })?;
    let revisions = parent.record.revisions.clone();
    Ok((parent, revisions))
}

/// The revision one apply, upgrade or rollback records: pending before the first write, then
/// how it ended. An apply that finds the record already describing its render writes no
/// pending revision, and records one only if it changed something: a no-op apply writes
/// nothing.
pub struct History {
    revisions: Vec<Revision>,
    /// The revision of this run, once written as pending (or ready to write).
    revision: Revision,
    pending_written: bool,
    dry_run: bool,
}

impl History {
    pub async fn begin(
        cluster: &Cluster,
        inventory: &Inventory,
        install: &Install,
        action: RevisionAction,
        source_revision: Option<u32>,
        started: String,
        dry_run: bool,
    ) -> Result<History> {
        let parent = inventory
            .read(cluster)
            .await
            .context("cannot read the install's inventory")?;
        let revisions = parent
            .as_ref()
            .map(|p| p.record.revisions.clone())
            .unwrap_or_default();
        let revision = Revision {
            number: revision::next_number(&revisions),
            action,
            release: install.release.clone(),
            platform: install.platform.clone(),
            config_digest: install.config_digest.clone(),
            pin: install.pin.clone(),
            result: RevisionResult::Pending,
            message: None,
            started,
            ended: None,
            who: String::new(),
            objects: install.resources.len(),
            source_revision,
        };
        let already_recorded = action == RevisionAction::Apply
            && parent
                .as_ref()
                .is_some_and(|p| describes(&p.record, &revisions, install));
        let mut history = History {
            revisions,
            revision,
            pending_written: false,
            dry_run,
        };
        if !dry_run
            && !already_recorded
            && let Some(parent) = &parent
        {
            history.revision.who = identity::who(cluster).await;
            let with_pending = revision::push(&history.revisions, history.revision.clone());
            inventory
                .put_revisions(cluster, parent, &with_pending, false)
                .await
                .context("cannot record the revision in the install's inventory")?;
            history.pending_written = true;
        }
        Ok(history)
    }

    /// The record to write after a run that succeeded, with its revisions; and the revision,
    /// when one is recorded.
    pub async fn succeeded(
        self,
        cluster: &Cluster,
        mut record: Record,
        report: &ApplyReport,
    ) -> (Record, Option<Revision>) {
        let wrote = report.count(Action::Created) + report.count(Action::Configured) > 0;
        if self.dry_run || (!self.pending_written && !wrote && !self.revisions.is_empty()) {
            record.revisions = self.revisions;
            return (record, None);
        }
        let revision = ended(self.revision, cluster, RevisionResult::Succeeded, report).await;
        record.revisions = revision::push(&self.revisions, revision.clone());
        (record, Some(revision))
    }

    /// Records that the run failed, with the first reason.
    pub async fn failed(
        self,
        cluster: &Cluster,
        inventory: &Inventory,
        report: &ApplyReport,
        timeout: std::time::Duration,
    ) -> Result<Option<Revision>> {
        if self.dry_run {
            return Ok(None);
        }
        let mut revision = ended(self.revision, cluster, RevisionResult::Failed, report).await;
        revision.message = Some(failure_line(report, timeout));
        finish(cluster, inventory, &self.revisions, revision).await
    }
}

/// A run's revision, ended now with `result` after applying what `report` says; by whom, when
/// that was not known at the start.
async fn ended(
    mut revision: Revision,
    cluster: &Cluster,
    result: RevisionResult,
    report: &ApplyReport,
) -> Revision {
    if revision.who.is_empty() {
        revision.who = identity::who(cluster).await;
    }
    revision.result = result;
    revision.ended = Some(inventory::now_rfc3339());
    revision.objects = report.applied.len();
    revision
}

/// Writes `revision` into the stored history (replacing the revision of its number).
pub async fn finish(
    cluster: &Cluster,
    inventory: &Inventory,
    revisions: &[Revision],
    revision: Revision,
) -> Result<Option<Revision>> {
    let Some(parent) = inventory
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?
    else {
        return Ok(None);
    };
    let stored = if parent.record.revisions.is_empty() {
        revisions.to_vec()
    } else {
        parent.record.revisions.clone()
    };
    inventory
        .put_revisions(
            cluster,
            &parent,
            &revision::push(&stored, revision.clone()),
            false,
        )
        .await
        .context("cannot record the revision in the install's inventory")?;
    Ok(Some(revision))
}

/// Whether the record already describes this render: the same config digest and, object for
/// object, the same digests.
fn describes(record: &Record, revisions: &[Revision], install: &Install) -> bool {
    if revisions.is_empty() || record.config_digest != install.config_digest {
        return false;
    }
    let mut recorded: Vec<&String> = record.objects.values().collect();
    let mut rendered: Vec<&String> = install.digests.values().collect();
    recorded.sort();
    rendered.sort();
    recorded.len() == rendered.len() && recorded.iter().zip(&rendered).all(|(a, b)| a == b)
}

/// ` (and N more)` when there are more than the one named.
fn and_more(more: usize) -> String {
    match more {
        0 => String::new(),
        more => format!(" (and {more} more)"),
    }
}

/// Why a run failed, in a line.
pub fn failure_line(report: &ApplyReport, timeout: std::time::Duration) -> String {
    if let Some(f) = report.failed.first() {
        let tail = and_more(report.failed.len() - 1);
        return format!("{} was not applied: {}{tail}", f.id, f.error);
    }
    if let Some(n) = report.not_ready.first() {
        let tail = and_more(report.not_ready.len() - 1);
        return format!(
            "{} was not ready when the {timeout:?} timeout passed: {}{tail}",
            n.id, n.health
        );
    }
    "the run did not finish".to_owned()
}
