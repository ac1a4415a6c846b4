//! Deleting an install by its inventory: its members (`cluster::prune`) go in the reverse of
//! the apply's waves; PVCs, CRDs and namespaces in use are kept and released unless purged; the
//! parent goes last. When something could not be deleted, the parent stays and lists exactly
//! what is left, so running the delete again continues.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};

use super::{Events, Removal};
use crate::cluster::Cluster;
use crate::cluster::inventory::{self, Inventory, Parent, Record};
use crate::cluster::prune::{self, Member, Members, RemoveOptions, RemoveReport, Scan};
use crate::resource::ResId;

/// The install's members, each marked with why it is kept (unless `purge`); members no longer
/// labelled as the install's are left alone, with a warning.
pub async fn members(
    cluster: &Cluster,
    inventory: &Inventory,
    parent: &Parent,
    purge: bool,
    events: Events<'_>,
) -> Result<Vec<Member>> {
    let no_kinds = BTreeSet::new();
    let Members {
        mut members,
        disowned,
    } = prune::find_members(
        cluster,
        inventory,
        &Scan {
            parent: Some(parent),
            group_kinds: &no_kinds,
            namespaces: &no_kinds,
            listed: None,
        },
    )
    .await
    .context("cannot find the install's objects")?;
    for d in &disowned {
        events.warn(format!(
            "not deleting {}: it is no longer labelled as part of install `{}`",
            d.id, inventory.install
        ));
    }
    prune::mark_kept(cluster, inventory, &mut members, purge, &Default::default())
        .await
        .context("cannot check which objects to keep")?;
    Ok(members)
}

/// What a delete did.
pub struct Deleted {
    pub report: RemoveReport,
    /// Whether the install's parent went too: everything else did.
    pub parent_removed: bool,
}

/// Deletes `members` wave by wave, then the parent when nothing is left; otherwise records
/// in the parent what is left. The caller holds the install's lock.
pub async fn delete(
    cluster: &Cluster,
    inventory: &Inventory,
    parent: &Parent,
    members: Vec<Member>,
    options: &RemoveOptions,
    events: Events<'_>,
) -> Result<Deleted> {
    let dry_run = options.dry_run;
    let report = super::prune::remove(cluster, members, options, Removal::Delete, events).await;
    let parent_removed = if report.succeeded() {
        let unreleased = prune::release(cluster, &report.kept, dry_run).await;
        if let Some((id, error)) = unreleased.into_iter().next() {
            return Err(anyhow::Error::new(error).context(format!(
                "cannot release {id} from install `{}`; the inventory is kept",
                inventory.install
            )));
        }
        inventory
            .delete(cluster, dry_run)
            .await
            .context("cannot delete the install's inventory")?;
        true
    } else {
        record_remaining(cluster, inventory, parent, &report, dry_run)
            .await
            .context("cannot record what is left of the install")?;
        false
    };
    Ok(Deleted {
        report,
        parent_removed,
    })
}

/// After a delete that did not finish, the parent lists exactly what is still the install's:
/// what was not deleted, and what would have been kept.
async fn record_remaining(
    cluster: &Cluster,
    inventory: &Inventory,
    parent: &Parent,
    report: &RemoveReport,
    dry_run: bool,
) -> Result<bool, crate::cluster::ClusterError> {
    let recorded: BTreeMap<prune::Key, (&ResId, &String)> = parent
        .record
        .objects
        .iter()
        .map(|(id, digest)| (prune::key(id), (id, digest)))
        .collect();
    let left = report
        .remaining()
        .into_iter()
        .chain(report.kept.iter().map(|m| m.id.clone()));
    let mut objects = BTreeMap::new();
    let mut group_kinds = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for id in left {
        let (id, digest) = match recorded.get(&prune::key(&id)) {
            Some((recorded_id, digest)) => ((*recorded_id).clone(), (*digest).clone()),
            None => (id, String::new()),
        };
        group_kinds.insert(inventory::group_kind(&id.gvk));
        if !id.namespace.is_empty() && id.namespace != inventory::NAMESPACE {
            namespaces.insert(id.namespace.clone());
        }
        objects.insert(id, digest);
    }
    let record = Record {
        objects,
        applied_at: inventory::now_rfc3339(),
        ..parent.record.clone()
    };
    inventory
        .record(
            cluster,
            Some(parent),
            &group_kinds,
            &namespaces,
            &record,
            dry_run,
        )
        .await
}
