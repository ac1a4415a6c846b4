//! The catalog's part in an upgrade or rollback: the migration steps of the releases crossed
//! (planned with `upgrade::migrate`, carried out here before anything is applied) and the CRDs
//! no prune deletes.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tokio::time::Instant;

use super::render::Install;
use super::{Events, Removal};
use crate::cluster::Cluster;
use crate::cluster::inventory::Parent;
use crate::cluster::prune::{Member, RemoveError, RemoveOptions};
use crate::plan as waves;
use crate::profile::Catalog;
use crate::profile::migrations::ProtectedCrd;
use crate::render::RealFs;
use crate::resource::{ResId, Resource, ResourceSet};
use crate::settings::ApplySettings;
use crate::upgrade::migrate::{self, MigrationStep};
use crate::upgrade::plan::UpgradePlan;
use crate::upgrade::revision::Pin;

/// The catalog an install's render reads: its profile's (with the user's catalog it pins laid
/// over it), or for a kustomization the built-in one (a kustomization of Kubeflow holds the same CRDs). `None` when it cannot be read.
pub fn catalog_of(pin: &Pin) -> Option<Catalog> {
    let (root, user) = match pin {
        Pin::Profile(p) => (
            p.root.as_path(),
            p.catalog.as_ref().map(|c| c.path.as_path()),
        ),
        Pin::Kustomize { .. } => (crate::profile::resolve::default_root(), None),
    };
    match Catalog::load_with(&RealFs, root, user) {
        Ok(catalog) => Some(catalog),
        Err(e) => {
            tracing::info!("no catalog for the install's migrations: {e}");
            None
        }
    }
}

/// The CRDs no prune of `install` deletes, `--purge` or not: name → why.
pub fn protected_crds(install: &Install) -> BTreeMap<String, String> {
    catalog_of(&install.pin)
        .map(|c| c.protected_crds)
        .unwrap_or_default()
        .into_iter()
        .map(|ProtectedCrd { name, reason }| (name, reason))
        .collect()
}

/// Adds what the catalog says to `plan`, going from release `from` to `new`: the migration
/// steps for objects `recorded` holds, and the objects pruning keeps.
pub fn add_to_plan(
    plan: &mut UpgradePlan,
    new: &Install,
    from: &str,
    recorded: &BTreeMap<ResId, String>,
    purge: bool,
) {
    let catalog = catalog_of(&new.pin);
    if let Some(catalog) = &catalog {
        plan.migrations = migrate::steps(&migrate::between(catalog, from, &new.release), recorded);
    }
    let protected = catalog.map(|c| c.protected_crds).unwrap_or_default();
    migrate::keep(plan, purge, &protected);
}

/// The migration steps from release `from` to `new`'s, for objects `recorded` holds.
pub fn steps_to(
    new: &Install,
    from: &str,
    recorded: &BTreeMap<ResId, String>,
) -> Vec<MigrationStep> {
    catalog_of(&new.pin)
        .map(|c| migrate::steps(&migrate::between(&c, from, &new.release), recorded))
        .unwrap_or_default()
}

/// Carries out `steps` before the apply: deletes each object still there (a `recreate` one is
/// created again by the apply), waiting until it is gone. Nothing is applied when one cannot
/// be deleted.
pub async fn run(
    cluster: &Cluster,
    parent: &Parent,
    steps: &[MigrationStep],
    settings: &ApplySettings,
    events: Events<'_>,
) -> Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    let mut set = ResourceSet::new();
    for step in steps {
        events.note(format!(
            "migration of {}: {} {} ({})",
            step.release, step.action, step.id, step.reason
        ));
        let Some(id) = parent
            .record
            .objects
            .keys()
            .find(|id| id.to_string() == step.id)
        else {
            continue;
        };
        let live = cluster
            .get(id)
            .await
            .with_context(|| format!("cannot read {id} for the migration"))?;
        if let Some(body) = live {
            let origin = crate::resource::Origin::file(std::path::Path::new("<cluster>"), 0);
            // Never duplicates: steps name distinct recorded objects.
            let _ = set.push(Resource::new(body, origin));
        }
    }
    let wave_of = waves::waves(&set);
    let members: Vec<Member> = set
        .into_vec()
        .into_iter()
        .zip(wave_of)
        .map(|(res, wave)| Member {
            id: res.id(),
            wave,
            body: res.body,
            keep: None,
        })
        .collect();
    let options = RemoveOptions {
        dry_run: settings.dry_run,
        deadline: Instant::now() + settings.timeout,
        timeout: settings.timeout,
    };
    let report = super::prune::remove(cluster, members, &options, Removal::Migrate, events).await;
    match RemoveError::from_report(&report, settings.timeout) {
        None => Ok(()),
        Some(err) => Err(anyhow::Error::new(err)
            .context("the release's migration did not finish, so nothing was applied")),
    }
}
