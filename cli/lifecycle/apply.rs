//! Applying an install as one revision: widen the inventory, record the revision as pending,
//! apply wave by wave until healthy (`cluster::apply`), prune what the render no longer has,
//! and record the install.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use tokio::time::Instant;

use super::history::History;
use super::prune::{self, PruneRequest};
use super::render::Install;
use super::{Event, Events};
use crate::cluster::Cluster;
use crate::cluster::apply::{self, Action, ApplyOptions, ApplyReport, CONCURRENCY};
use crate::cluster::inventory::{self, Inventory, Parent, Record};
use crate::resource::ResId;
use crate::settings::ApplySettings;
use crate::upgrade::revision::{Revision, RevisionAction};

/// What [`apply_install`] did.
pub struct Installed {
    pub report: ApplyReport,
    /// The revision it recorded; `None` for a dry run or an apply that changed nothing.
    pub revision: Option<Revision>,
    /// What pruning did, when it ran.
    pub pruned: Option<crate::cluster::prune::RemoveReport>,
}

/// Applies a rendered install to `cluster` as one revision: widens the inventory, records the
/// revision as pending, applies wave by wave until healthy, prunes what the install no longer
/// brings, and records the install (or how the revision failed). Failures of objects are in the
/// report; errors are for what stops the run. The caller holds the install's lock.
pub async fn apply_install(
    settings: &ApplySettings,
    cluster: &Cluster,
    install: &Install,
    live_parent: Option<Parent>,
    action: RevisionAction,
    source_revision: Option<u32>,
    events: Events<'_>,
) -> Result<Installed> {
    let deadline = Instant::now() + settings.timeout;
    let inventory = &Inventory::new(&install.name);
    let started_at = inventory::now_rfc3339();
    let group_kinds: BTreeSet<String> = install
        .resources
        .iter()
        .map(|r| inventory::group_kind(&r.gvk()))
        .collect();
    let planned_namespaces: BTreeSet<String> = install
        .resources
        .iter()
        .map(|r| r.namespace().to_owned())
        .filter(|ns| !ns.is_empty() && ns != inventory::NAMESPACE)
        .collect();
    inventory
        .widen(
            cluster,
            live_parent.as_ref(),
            &group_kinds,
            &planned_namespaces,
            settings.dry_run,
        )
        .await
        .context("cannot update the install's inventory")?;

    let options = apply_options(settings, install, live_parent.as_ref(), inventory, deadline);
    let history = History::begin(
        cluster,
        inventory,
        install,
        action,
        source_revision,
        started_at,
        settings.dry_run,
    )
    .await?;
    let on_event = |event: apply::Event<'_>| events.send(Event::Apply(event));
    let mut report = apply::apply(cluster, &install.resources, &options, &on_event).await;
    events.send(Event::ApplyDone);

    let mut prune_report = None;
    if report.succeeded() {
        let mut namespaces: BTreeSet<String> = report
            .applied
            .iter()
            .filter_map(|a| a.namespace.clone())
            .filter(|ns| ns != inventory::NAMESPACE)
            .collect();
        let mut record = record_of(install, &report);
        let mut group_kinds = group_kinds.clone();
        if settings.prune {
            let protected = super::migrate::protected_crds(install);
            let request = PruneRequest {
                parent: live_parent.as_ref(),
                group_kinds: &group_kinds,
                namespaces: &planned_namespaces,
                dry_run: settings.dry_run,
                purge: settings.purge,
                protected: &protected,
                deadline,
                timeout: settings.timeout,
            };
            let pruned = prune::prune(cluster, inventory, &report, &request, events).await?;
            keep_remaining(
                &pruned,
                live_parent.as_ref(),
                &mut record,
                &mut group_kinds,
                &mut namespaces,
            );
            report.applied.extend(prune::as_applied(&pruned));
            prune_report = Some(pruned);
        }
        if !settings.dry_run {
            let recorded = live_parent.as_ref().map(|p| &p.record.owned);
            let mut owned = owned_digests(cluster, inventory, &report, recorded, events).await;
            owned.retain(|id, _| record.objects.contains_key(id));
            record.owned = owned;
        }
        let (record, revision) = history.succeeded(cluster, record, &report).await;
        inventory
            .record(
                cluster,
                live_parent.as_ref(),
                &group_kinds,
                &namespaces,
                &record,
                settings.dry_run,
            )
            .await
            .context("cannot record the install in its inventory")?;
        return Ok(Installed {
            report,
            revision,
            pruned: prune_report,
        });
    }
    let revision = history
        .failed(cluster, inventory, &report, settings.timeout)
        .await?;
    Ok(Installed {
        report,
        revision,
        pruned: prune_report,
    })
}

/// How the install's objects are applied: by the settings, skipping objects the record shows
/// unchanged.
fn apply_options(
    settings: &ApplySettings,
    install: &Install,
    live_parent: Option<&Parent>,
    inventory: &Inventory,
    deadline: Instant,
) -> ApplyOptions {
    ApplyOptions {
        dry_run: settings.dry_run,
        force_conflicts: settings.force_conflicts,
        force: settings.force,
        concurrency: CONCURRENCY,
        deadline,
        timeout: settings.timeout,
        labels: inventory.member_labels(),
        recorded: live_parent
            .map(|p| p.record.objects.clone())
            .unwrap_or_default(),
        generations: live_parent
            .map(|p| p.record.generations.clone())
            .unwrap_or_default(),
        digests: install.digests.clone(),
    }
}

/// What could not be pruned stays the install's: in the record, and findable from the parent.
fn keep_remaining(
    pruned: &crate::cluster::prune::RemoveReport,
    parent: Option<&Parent>,
    record: &mut Record,
    group_kinds: &mut BTreeSet<String>,
    namespaces: &mut BTreeSet<String>,
) {
    for (id, digest) in prune::remaining(pruned, parent) {
        group_kinds.insert(inventory::group_kind(&id.gvk));
        if !id.namespace.is_empty() && id.namespace != inventory::NAMESPACE {
            namespaces.insert(id.namespace.clone());
        }
        if let Some(component) = parent.and_then(|p| p.record.components.get(&id)) {
            record.components.insert(id.clone(), component.clone());
        }
        record.objects.insert(id, digest);
    }
}

/// The record of an apply that succeeded: each applied object with its rendered digest and its
/// catalog component, and the generation of each CRD; what kfctl owns and the revisions are
/// added after.
fn record_of(install: &Install, report: &ApplyReport) -> Record {
    Record {
        release: install.release.clone(),
        platform: install.platform.clone(),
        config_digest: install.config_digest.clone(),
        objects: install.recorded_digests(&report.applied),
        components: install.recorded_components(&report.applied),
        owned: Default::default(),
        generations: report
            .applied
            .iter()
            .filter(|a| crate::cluster::apply::is_crd_kind(&a.id.gvk))
            .filter_map(|a| {
                let id = ResId::new(a.id.gvk.clone(), &a.id.name, "");
                Some((id, a.generation?))
            })
            .collect(),
        applied_at: inventory::now_rfc3339(),
        revisions: Vec::new(),
    }
}

/// The kfctl-owned projection digest of every member, so `kfctl diff` and `kfctl status` see
/// drift without a dry run. Without them they still work, with a dry run per object. An object
/// written or read whole during the apply has its digest from then; one left unchanged keeps
/// the recorded digest, or is digested from the apply's listing; kinds with objects still
/// unknown are listed again.
async fn owned_digests(
    cluster: &Cluster,
    inventory: &Inventory,
    report: &ApplyReport,
    recorded: Option<&std::collections::BTreeMap<ResId, String>>,
    events: Events<'_>,
) -> std::collections::BTreeMap<ResId, String> {
    let mut digests = std::collections::BTreeMap::new();
    let mut unknown: BTreeMap<crate::resource::Gvk, Vec<ResId>> = BTreeMap::new();
    for a in report.applied.iter().filter(|a| a.action != Action::Pruned) {
        let id = ResId::new(
            a.id.gvk.clone(),
            &a.id.name,
            a.namespace.as_deref().unwrap_or(""),
        );
        let known = a.owned.clone().or_else(|| {
            (a.action == Action::Unchanged)
                .then(|| recorded.and_then(|r| r.get(&id)).cloned())
                .flatten()
        });
        match known {
            Some(digest) => {
                digests.insert(id, digest);
            }
            None => unknown.entry(a.id.gvk.clone()).or_default().push(id),
        }
    }
    unknown.retain(|gvk, ids| {
        let Some(members) = report
            .listed
            .get(gvk)
            .filter(|_| !report.metadata_only.contains(gvk))
        else {
            return true;
        };
        let listed: BTreeMap<&ResId, &serde_json::Value> =
            members.iter().map(|(id, obj)| (id, obj)).collect();
        ids.retain(|id| match listed.get(id) {
            Some(obj) => {
                digests.insert(id.clone(), crate::cluster::drift::owned_digest(obj));
                false
            }
            None => true,
        });
        !ids.is_empty()
    });
    if unknown.is_empty() {
        return digests;
    }
    let gvks: BTreeSet<_> = unknown.into_keys().collect();
    match crate::cluster::drift::owned_digests(cluster, inventory, &gvks).await {
        Ok(listed) => {
            for (id, digest) in listed {
                digests.entry(id).or_insert(digest);
            }
            digests
        }
        Err(e) => {
            events.warn(format!(
                "cannot record what kfctl owns, for drift checks: {e}"
            ));
            Default::default()
        }
    }
}
