//! Drift: comparing an install with the cluster (`cluster::drift`) under the user's ignore rules,
//! and restoring what drifted (`--fix`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use tokio::time::Instant;

use super::Events;
use super::render::{Install, pin_request_at, render_install, render_pin};
use crate::cluster::Cluster;
use crate::cluster::apply::{self, ApplyError, ApplyOptions, CONCURRENCY};
use crate::cluster::drift::{self, Action, DriftReport};
use crate::cluster::inventory::{self, Inventory, Record};
use crate::profile::config::DriftIgnore;
use crate::resource::{ResId, ResourceSet};
use crate::settings::{BuildInput, SourceSettings};
use crate::upgrade::revision::{self, Pin};

/// The render the install's current revision pins (its platform, release, components and
/// parameters, or its kustomization directory), with its `kfctl.yaml`'s ignore rules: what
/// names the drifted fields when no `-p`/`-f`/`-k` is given. An error says why there is none
/// (no revision, the files it was made from gone or changed, a render that no longer matches
/// the record); drift is then judged from the record alone.
pub async fn pinned_render(
    cluster: &Cluster,
    inventory: &Inventory,
) -> Result<(Install, Vec<DriftIgnore>)> {
    let parent = inventory.read(cluster).await?.context("no inventory")?;
    let pin = revision::current(&parent.record.revisions)
        .map(|r| r.pin.clone())
        .context("no revision succeeded")?;
    // Rendering again must not warn twice about what the apply warned about.
    let quiet = Events::ignored();
    let (install, ignore) = match &pin {
        Pin::Profile(p) => {
            let request = pin_request_at(p, &p.release, p.sets.clone())?;
            let ignore = request
                .config
                .as_ref()
                .map(|c| c.drift_ignore.clone())
                .unwrap_or_default();
            let install = render_install(
                &BuildInput::Profile(Box::new(request)),
                Some(&inventory.install),
                &SourceSettings::from_env(),
                quiet,
            )?;
            (install, ignore)
        }
        Pin::Kustomize { .. } => (render_pin(&pin, &inventory.install, quiet)?, Vec::new()),
    };
    anyhow::ensure!(
        install.config_digest == parent.record.config_digest,
        "the pinned render is not the one recorded"
    );
    Ok((install, ignore))
}

/// What `--fix` would act on: the created and changed objects of the render (with the ignored
/// fields as they are live), and the strays to take out of the install.
pub struct Fix<'a> {
    pub subset: ResourceSet,
    pub strays: Vec<&'a ResId>,
}

impl Fix<'_> {
    pub fn is_empty(&self) -> bool {
        self.subset.is_empty() && self.strays.is_empty()
    }
}

/// What restoring `report` takes.
pub fn to_fix<'a>(
    install: &Install,
    report: &'a DriftReport,
    ignore: &[DriftIgnore],
) -> Result<Fix<'a>> {
    let to_apply: BTreeSet<&ResId> = report
        .objects
        .iter()
        .filter(|o| matches!(o.action, Some(Action::Create | Action::Change)))
        .filter_map(|o| o.rendered.as_ref())
        .collect();
    let strays: Vec<&ResId> = report
        .objects
        .iter()
        .filter(|o| o.drift == Some(drift::Drift::Stray))
        .map(|o| &o.id)
        .collect();
    // Live ids of the objects to apply, by rendered id: ignored fields keep their live values.
    let live_ids: BTreeMap<&ResId, &ResId> = report
        .objects
        .iter()
        .filter_map(|o| Some((o.rendered.as_ref()?, &o.id)))
        .collect();
    let mut subset = ResourceSet::new();
    for res in install
        .resources
        .iter()
        .filter(|r| to_apply.contains(&r.id()))
    {
        let mut res = res.clone();
        if let Some(id) = live_ids.get(&res.id())
            && let Some(live) = report.live.get(*id)
        {
            let ignored = drift::ignored_for(id, Some(live), ignore);
            drift::keep_ignored(&mut res.body, live, &ignored);
        }
        subset.push(res).map_err(|e| *e)?;
    }
    Ok(Fix { subset, strays })
}

/// Applies the created and changed objects (taking fields back from other managers), takes
/// strays out of the install, and records the result. Returns the ids it acted on.
pub async fn fix(
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    report: &DriftReport,
    fix: Fix<'_>,
    timeout: std::time::Duration,
    events: Events<'_>,
) -> Result<Vec<String>> {
    let Fix { subset, strays } = fix;
    let mut fixed = Vec::new();
    let options = ApplyOptions {
        dry_run: false,
        force_conflicts: true,
        concurrency: CONCURRENCY,
        deadline: Instant::now() + timeout,
        timeout,
        labels: inventory.member_labels(),
        // Each object of the subset drifted: none is skipped as unchanged.
        recorded: Default::default(),
        generations: Default::default(),
        digests: Default::default(),
        force: false,
    };
    let applied = if subset.is_empty() {
        None
    } else {
        let on_event = |event: apply::Event<'_>| {
            if let apply::Event::Applied(a) = event {
                events.note(format!("  restored {} ({})", a.id, a.action));
            }
        };
        Some(apply::apply(cluster, &subset, &options, &on_event).await)
    };
    for id in strays {
        drift::release_stray(cluster, id)
            .await
            .with_context(|| format!("cannot take {id} out of install `{}`", install.name))?;
        events.note(format!(
            "  released stray {id} (its membership label removed)"
        ));
        fixed.push(id.to_string());
    }
    if let Some(applied) = applied {
        fixed.extend(applied.applied.iter().map(|a| a.id.to_string()));
        let namespaces: BTreeSet<String> = applied
            .applied
            .iter()
            .filter_map(|a| a.namespace.clone())
            .filter(|ns| ns != inventory::NAMESPACE)
            .collect();
        // The render's digests, not those of what was sent (ignored fields as live).
        let applied_ids = install.recorded_digests(&applied.applied);
        if let Some(err) = ApplyError::from_report(applied, timeout) {
            return Err(anyhow::Error::new(err).context(format!(
                "cannot restore install `{}` in context `{}`",
                install.name,
                cluster.context()
            )));
        }
        record_fix(cluster, inventory, install, report, applied_ids, namespaces).await?;
    }
    Ok(fixed)
}

/// Writes the record again with the restored objects' digests.
async fn record_fix(
    cluster: &Cluster,
    inventory: &Inventory,
    install: &Install,
    report: &DriftReport,
    applied: BTreeMap<ResId, String>,
    namespaces: BTreeSet<String>,
) -> Result<()> {
    let parent = report.parent.as_ref();
    let mut record = parent.map(|p| p.record.clone()).unwrap_or_else(|| Record {
        release: install.release.clone(),
        platform: install.platform.clone(),
        config_digest: install.config_digest.clone(),
        ..Record::default()
    });
    for (id, digest) in applied {
        record.objects.insert(id, digest);
    }
    let gvks = record.objects.keys().map(|id| id.gvk.clone()).collect();
    let mut owned = drift::owned_digests(cluster, inventory, &gvks)
        .await
        .context("cannot read what kfctl owns after the fix")?;
    owned.retain(|id, _| record.objects.contains_key(id));
    record.owned = owned;
    record.applied_at = inventory::now_rfc3339();
    let group_kinds: BTreeSet<String> = parent
        .map(|p| p.group_kinds.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(
            record
                .objects
                .keys()
                .map(|id| inventory::group_kind(&id.gvk)),
        )
        .collect();
    let all_namespaces: BTreeSet<String> = parent
        .map(|p| p.namespaces.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(namespaces)
        .collect();
    inventory
        .record(
            cluster,
            parent,
            &group_kinds,
            &all_namespaces,
            &record,
            false,
        )
        .await
        .context("cannot record the fix in the install's inventory")?;
    Ok(())
}
