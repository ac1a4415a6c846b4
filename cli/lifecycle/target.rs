//! The cluster an install lives on: connecting, naming it and the install's record, checking
//! it before anything is written (preflight), and holding the install's lock.

use std::time::Duration;

use anyhow::{Context, Result};

use super::Events;
use super::render::Install;
use crate::cluster::Cluster;
use crate::cluster::inventory::{Inventory, Parent};
use crate::cluster::lock::{self, Lock, LockGuard};
use crate::cluster::preflight::{self, Expectations, PreflightError};
use crate::resource::ResId;
use crate::settings::ClusterSettings;

/// Connects to the cluster a kubeconfig (and context) names.
pub async fn connect(settings: &ClusterSettings) -> Result<Cluster> {
    Cluster::connect(settings.kubeconfig.as_deref(), settings.context.as_deref())
        .await
        .context("cannot connect to the cluster")
}

/// The cluster and the install about to change, as found.
#[derive(Debug)]
pub struct Target {
    /// The server's Kubernetes version.
    pub version: String,
    /// The install's parent as stored; `None` for a new install.
    pub parent: Option<Parent>,
}

/// Reads the server's version and the install's record.
pub async fn describe(cluster: &Cluster, inventory: &Inventory) -> Result<Target> {
    let version = server_version(cluster).await?;
    let parent = read_parent(cluster, inventory).await?;
    Ok(Target { version, parent })
}

/// The server's Kubernetes version; the first request of a run, so its failure says the
/// cluster cannot be reached.
pub async fn server_version(cluster: &Cluster) -> Result<String> {
    cluster
        .server_version()
        .await
        .context("cannot reach the cluster")
}

/// The install's parent as stored.
pub async fn read_parent(cluster: &Cluster, inventory: &Inventory) -> Result<Option<Parent>> {
    inventory
        .read(cluster)
        .await
        .context("cannot read the install's inventory")
}

/// What the preflight checks look at.
pub struct Checks<'a> {
    pub install: &'a Install,
    pub version: &'a str,
    pub dry_run: bool,
    /// Whether the run prunes; then the user must be allowed to delete `pruned`.
    pub prune: bool,
    /// The objects an upgrade's or rollback's plan prunes, known before it runs.
    pub pruned: &'a [ResId],
}

/// Preflight: everything the run needs of the cluster, every problem listed at once;
/// warnings go out as events.
pub async fn preflight(cluster: &Cluster, checks: &Checks<'_>, events: Events<'_>) -> Result<()> {
    let expect = Expectations {
        profile: checks.install.preflight.as_ref(),
        platform: &checks.install.platform,
        resources: &checks.install.resources,
        dry_run: checks.dry_run,
    };
    let mut report = preflight::check(cluster, checks.version, &expect)
        .await
        .context("cannot run the preflight checks")?;
    if !checks.dry_run && checks.prune {
        report.problems.extend(
            preflight::check_prune(cluster, checks.pruned)
                .await
                .context("cannot run the preflight checks")?,
        );
    }
    for warning in &report.warnings {
        match &warning.hint {
            Some(hint) => events.warn(format!("{}\n  hint: {hint}", warning.message)),
            None => events.warn(warning.message.clone()),
        }
    }
    if report.problems.is_empty() {
        return Ok(());
    }
    Err(PreflightError::Failed {
        context: cluster.context().to_owned(),
        problems: report.problems,
    }
    .into())
}

/// Takes the install's lock for `command` (waiting up to `timeout`), saying so when a stale
/// one is taken over; `None` for a dry run, which writes nothing and takes no lock.
pub async fn lock(
    cluster: &Cluster,
    install: &str,
    command: &str,
    dry_run: bool,
    timeout: Duration,
    events: Events<'_>,
) -> Result<Option<LockGuard>> {
    if dry_run {
        return Ok(None);
    }
    let guard = Lock::acquire(
        cluster,
        install,
        &lock::holder_identity(command),
        timeout,
        |holder| {
            events.note(format!(
                "waiting up to {}s for the lock of install `{install}`, held by `{}` since {}",
                timeout.as_secs(),
                holder.identity,
                holder.since
            ))
        },
    )
    .await?;
    if let Some(stale) = &guard.took_over {
        events.warn(format!(
            "took over the lock of install `{install}`: it was stale, held by `{}` since {} and last renewed {}",
            stale.holder.identity, stale.holder.since, stale.renewed
        ));
    }
    Ok(Some(guard))
}

/// Ends a run's hold on the install's lock; a failure only warns, the run's outcome stands.
pub async fn release(guard: Option<LockGuard>, events: Events<'_>) {
    let Some(guard) = guard else {
        return;
    };
    if let Err(e) = guard.release().await {
        let (_, hints) = crate::errors::render_chain(&e);
        let hints: String = hints.iter().map(|h| format!("\n  hint: {h}")).collect();
        events.warn(format!("{e}{hints}"));
    }
}
