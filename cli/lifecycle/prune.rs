//! Pruning after `kfctl apply`: the install's objects the render no longer has are deleted once
//! everything applied is healthy (`cluster::prune`), with the same keep rules as `kfctl delete`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;

use super::{Event, Events, Removal};
use crate::cluster::Cluster;
use crate::cluster::apply::{Action, Applied, ApplyReport};
use crate::cluster::inventory::{Inventory, Parent};
use crate::cluster::prune::{self, Members, RemoveOptions, RemoveReport, Scan};
use crate::resource::ResId;

/// What pruning needs from the apply.
pub struct PruneRequest<'a> {
    pub parent: Option<&'a Parent>,
    pub group_kinds: &'a BTreeSet<String>,
    pub namespaces: &'a BTreeSet<String>,
    pub dry_run: bool,
    pub purge: bool,
    /// CRDs kept even with `purge`.
    pub protected: &'a BTreeMap<String, String>,
    pub deadline: Instant,
    pub timeout: Duration,
}

/// Deletes the install's members that `applied` does not hold, and releases those kept. The
/// report's `remaining` stay in the record.
pub async fn prune(
    cluster: &Cluster,
    inventory: &Inventory,
    applied: &ApplyReport,
    request: &PruneRequest<'_>,
    events: Events<'_>,
) -> Result<RemoveReport> {
    let applied_keys: BTreeSet<prune::Key> = applied
        .applied
        .iter()
        .map(|a| {
            prune::key(&ResId::new(
                a.id.gvk.clone(),
                &a.id.name,
                a.namespace.as_deref().unwrap_or(""),
            ))
        })
        .collect();
    let Members { members, disowned } = prune::find_members(
        cluster,
        inventory,
        &Scan {
            parent: request.parent,
            group_kinds: request.group_kinds,
            namespaces: request.namespaces,
            listed: Some(&applied.listed),
        },
    )
    .await
    .context("cannot find the install's objects to prune")?;
    for d in &disowned {
        if !applied_keys.contains(&prune::key(&d.id)) {
            events.warn(format!(
                "not pruning {}: it is no longer labelled as part of install `{}`",
                d.id, inventory.install
            ));
        }
    }
    let mut candidates: Vec<_> = members
        .into_iter()
        .filter(|m| !applied_keys.contains(&prune::key(&m.id)))
        .collect();
    if candidates.is_empty() {
        return Ok(RemoveReport::default());
    }
    prune::mark_kept(
        cluster,
        inventory,
        &mut candidates,
        request.purge,
        request.protected,
    )
    .await
    .context("cannot check what pruning would keep")?;
    events.note(format!(
        "pruning {} the render no longer has",
        super::objects(candidates.len())
    ));
    let dry_run = request.dry_run;
    let options = RemoveOptions {
        dry_run,
        deadline: request.deadline,
        timeout: request.timeout,
    };
    let report = remove(cluster, candidates, &options, Removal::Prune, events).await;
    for (id, error) in prune::release(cluster, &report.kept, dry_run).await {
        events.warn(format!("cannot release {id} from the install: {error}"));
    }
    Ok(report)
}

/// Removes `members` wave by wave (`cluster::prune::remove`), sending its progress and what it
/// keeps as events.
pub async fn remove(
    cluster: &Cluster,
    members: Vec<prune::Member>,
    options: &RemoveOptions,
    removal: Removal,
    events: Events<'_>,
) -> RemoveReport {
    let dry_run = options.dry_run;
    let on_event = |event: prune::Event<'_>| {
        events.send(Event::Remove {
            event,
            removal,
            dry_run,
        })
    };
    let report = prune::remove(cluster, members, options, &on_event).await;
    for k in &report.kept {
        if let Some(reason) = &k.keep {
            events.send(Event::Kept {
                id: &k.id,
                reason: reason.to_string(),
                removal,
            });
        }
    }
    report
}

/// The record lines of objects that pruning did not delete, with their recorded digests.
pub fn remaining(report: &RemoveReport, parent: Option<&Parent>) -> BTreeMap<ResId, String> {
    let recorded: BTreeMap<prune::Key, (&ResId, &String)> = parent
        .map(|p| {
            p.record
                .objects
                .iter()
                .map(|(id, digest)| (prune::key(id), (id, digest)))
                .collect()
        })
        .unwrap_or_default();
    report
        .remaining()
        .into_iter()
        .map(|id| match recorded.get(&prune::key(&id)) {
            Some((recorded_id, digest)) => ((*recorded_id).clone(), (*digest).clone()),
            None => (id, String::new()),
        })
        .collect()
}

/// Pruned objects as entries of the apply's report.
pub fn as_applied(report: &RemoveReport) -> Vec<Applied> {
    report
        .removed
        .iter()
        .map(|r| Applied {
            id: r.id.clone(),
            wave: r.wave,
            action: Action::Pruned,
            namespace: Some(r.id.namespace.clone()).filter(|n| !n.is_empty()),
            duration: r.duration,
            retries: 0,
            unchecked: false,
            generation: None,
            owned: None,
        })
        .collect()
}
