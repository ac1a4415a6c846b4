//! `kfctl apply -p PLATFORM | -f kfctl.yaml | -k DIR`: render, name the target cluster, confirm,
//! apply wave by wave (`cluster::apply`), wait until healthy, record the install
//! (`cluster::inventory`) and report.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::Outcome;
use super::progress::Progress;
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::{
    self, Action, ApplyError, ApplyOptions, ApplyReport, CONCURRENCY, Event,
};
use crate::cluster::inventory::{self, Inventory, Parent, Record};
use crate::cluster::lock::{self, Lock};
use crate::cluster::preflight::{self, Expectations, PreflightError};
use crate::cluster::prune::RemoveError;
use crate::errors::UserError;
use crate::output::Printer;
use crate::profile::PlatformProfile;
use crate::profile::platform::Preflight;
use crate::render::RealFs;
use crate::resource::{ResId, ResourceSet};
use crate::settings::{ApplySettings, BuildInput, SourceSettings};
use crate::upgrade::revision::{Pin, Revision, RevisionAction};

/// What is being installed, before it reaches the cluster.
pub(crate) struct Install {
    pub name: String,
    pub resources: ResourceSet,
    pub release: String,
    pub platform: String,
    pub config_digest: String,
    /// What the platform expects of the cluster; `None` for a kustomization.
    pub preflight: Option<Preflight>,
    /// What the render is made from, to make it again (history, rollback).
    pub pin: Pin,
    /// Each component and what it is made of (upstream paths, the components it needs).
    pub components: BTreeMap<String, Vec<String>>,
    /// Each object's digest (`resource::digest::object_digest`), by its id as rendered.
    pub digests: std::sync::Arc<std::collections::HashMap<ResId, String>>,
}

impl Install {
    /// The digest of `res`, one of this install's objects (`resource::digest::object_digest`).
    pub(crate) fn digest(&self, res: &crate::resource::Resource) -> String {
        self.digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| crate::resource::digest::object_digest(res))
    }
}

pub async fn run(settings: &ApplySettings, printer: Printer) -> Result<Outcome> {
    let install = render_install(
        settings.input.as_ref(),
        settings.name.as_deref(),
        &settings.sources,
        printer,
    )?;
    let outcome = apply_command(settings, &install, printer).await;
    // The render is the process's largest value (Kubeflow's is some 10 MB of JSON); the
    // process ends now, and freeing it value by value would only delay that.
    std::mem::forget(install);
    outcome
}

/// Renders what `-p`/`-f`/`-k` name, with the install's name (given, or the input's default).
pub(crate) fn render_install(
    input: Option<&BuildInput>,
    name: Option<&str>,
    sources: &SourceSettings,
    printer: Printer,
) -> Result<Install> {
    let Some(input) = input else {
        return Err(UserError::new(
            "nothing to apply: no platform, `kfctl.yaml` or kustomization was given",
        )
        .with_hint("pass `-p PLATFORM`, `-f kfctl.yaml` or `-k DIR`")
        .into());
    };
    let install = match input {
        BuildInput::Dir(dir) => {
            let (_, rendered, _) = super::build::render_input(input, sources, false, printer)?;
            for warning in &rendered.warnings {
                printer.warn(warning);
            }
            let digests = object_digests(&rendered.resources);
            let config_digest = render_digest(&rendered.resources, &digests);
            Install {
                name: name.map_or_else(|| default_name_of(dir), str::to_owned),
                resources: rendered.resources,
                release: String::new(),
                platform: String::new(),
                pin: Pin::Kustomize {
                    dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()),
                    render_digest: config_digest.clone(),
                },
                config_digest,
                preflight: None,
                components: BTreeMap::new(),
                digests: std::sync::Arc::new(digests),
            }
        }
        BuildInput::Profile(request) => {
            let (resolved, rendered, _) =
                super::build::render_input(input, sources, false, printer)?;
            let resolved = resolved.context("a profile render resolves its profile")?;
            let profile = PlatformProfile::load(&RealFs, &request.root, &resolved.platform)?;
            let config = json!({
                "platform": resolved.platform,
                "release": resolved.release,
                "source": [resolved.source_name, resolved.source_version],
                "components": resolved.components.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "parameters": resolved.parameters,
            });
            let pin = super::upgrade::profile_pin(request, &resolved);
            Install {
                name: name.unwrap_or("kubeflow").to_owned(),
                resources: rendered.resources,
                components: super::upgrade::component_parts(&resolved),
                release: resolved.release,
                platform: resolved.platform,
                config_digest: crate::resource::digest::sha256_hex(config.to_string().as_bytes()),
                preflight: Some(profile.preflight),
                pin,
                digests: Default::default(),
            }
        }
    };
    let install = match install.digests.is_empty() {
        true => Install {
            digests: std::sync::Arc::new(object_digests(&install.resources)),
            ..install
        },
        false => install,
    };
    check_name(&install.name)?;
    if install.resources.is_empty() {
        return Err(UserError::new("nothing to apply: the render has no objects").into());
    }
    Ok(install)
}

/// The digest of every object (`resource::digest::object_digest`), by id, made on two threads: a render of
/// Kubeflow is some 10 MB of JSON.
fn object_digests(resources: &ResourceSet) -> std::collections::HashMap<ResId, String> {
    let objects = resources.as_slice();
    let (first, second) = objects.split_at(objects.len() / 2);
    let digest_all = |part: &[crate::resource::Resource]| -> Vec<(ResId, String)> {
        part.iter()
            .map(|r| (r.id(), crate::resource::digest::object_digest(r)))
            .collect()
    };
    std::thread::scope(|scope| {
        let other = scope.spawn(|| digest_all(second));
        let mut digests = digest_all(first);
        digests.extend(other.join().unwrap_or_else(|_| digest_all(second)));
        digests.into_iter().collect()
    })
}

/// The sha256 of a render: of its objects' digests, one a line, in order.
fn render_digest(
    resources: &ResourceSet,
    digests: &std::collections::HashMap<ResId, String>,
) -> String {
    let mut hasher = Sha256::new();
    for res in resources.iter() {
        let digest = digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| crate::resource::digest::object_digest(res));
        hasher.update(digest.as_bytes());
        hasher.update(b"\n");
    }
    crate::resource::digest::hex(&hasher.finalize())
}

/// The digest earlier releases recorded for a kustomization's render: of its YAML stream.
pub(crate) fn yaml_render_digest(resources: &ResourceSet) -> String {
    let text = crate::resource::yaml::to_yaml_stream(resources.iter().map(|r| &r.body));
    crate::resource::digest::sha256_hex(text.as_bytes())
}

/// The directory's own name, made a valid install name.
pub(crate) fn default_name_of(dir: &Path) -> String {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let base = absolute
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "default".to_owned()
    } else {
        trimmed.chars().take(50).collect()
    }
}

/// An install name must make a valid ConfigMap name `kfctl-<name>`.
pub(super) fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(UserError::new(format!("`{name}` is not a valid install name"))
            .with_hint(
                "use at most 50 lower-case letters, digits and `-`, starting and ending with a letter or digit (`--name`)",
            )
            .into())
    }
}

async fn apply_command(
    settings: &ApplySettings,
    install: &Install,
    printer: Printer,
) -> Result<Outcome> {
    let cluster = Cluster::connect(settings.kubeconfig.as_deref(), settings.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    let version = cluster
        .server_version()
        .await
        .context("cannot reach the cluster")?;
    check_cluster(settings, install, &cluster, &version, printer).await?;
    let inventory = Inventory::new(&install.name);
    let live_parent = inventory
        .read(&cluster)
        .await
        .context("cannot read the install's inventory")?;

    printer.info(&format!(
        "target: context `{}`, server {} (Kubernetes {version})",
        cluster.context(),
        cluster.server()
    ));
    let recorded = match &live_parent {
        None => "new".to_owned(),
        Some(p) if p.record.platform.is_empty() => {
            format!("last applied {}", p.record.applied_at)
        }
        Some(p) => format!(
            "platform `{}`, release `{}`, last applied {}",
            p.record.platform, p.record.release, p.record.applied_at
        ),
    };
    printer.info(&format!(
        "install: `{}` ({recorded}), inventory {}",
        install.name,
        inventory.parent_id()
    ));

    if !settings.take_over {
        preflight::check_owner(
            &cluster,
            &install.name,
            live_parent.as_ref().map(|p| &p.record),
            &install.platform,
        )?;
    }

    if !settings.dry_run && !settings.yes {
        confirm(settings, install, cluster.context(), printer)?;
    }

    let Some(guard) =
        acquire_lock(&cluster, &install.name, settings, "kfctl apply", printer).await?
    else {
        // A dry run changes nothing, so it takes no lock.
        return apply_and_record(
            settings,
            install,
            &cluster,
            &inventory,
            live_parent,
            printer,
        )
        .await;
    };
    // Read again under the lock: another run may have recorded the install meanwhile.
    let live_parent = match inventory.read(&cluster).await {
        Ok(parent) => parent,
        Err(e) => {
            release(guard, printer).await;
            return Err(anyhow::Error::new(e).context("cannot read the install's inventory"));
        }
    };
    let owned = match settings.take_over {
        true => Ok(()),
        false => preflight::check_owner(
            &cluster,
            &install.name,
            live_parent.as_ref().map(|p| &p.record),
            &install.platform,
        ),
    };
    let result = match owned {
        Ok(()) => {
            apply_and_record(
                settings,
                install,
                &cluster,
                &inventory,
                live_parent,
                printer,
            )
            .await
        }
        Err(e) => Err(e.into()),
    };
    release(guard, printer).await;
    result
}

/// Names the cluster and the install about to change; returns the install's parent as stored.
pub(crate) async fn describe_target(
    cluster: &Cluster,
    inventory: &Inventory,
    printer: Printer,
) -> Result<Option<inventory::Parent>> {
    let version = cluster
        .server_version()
        .await
        .context("cannot reach the cluster")?;
    let live_parent = inventory
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?;
    printer.info(&format!(
        "target: context `{}`, server {} (Kubernetes {version})",
        cluster.context(),
        cluster.server()
    ));
    let recorded = match &live_parent {
        None => "new".to_owned(),
        Some(p) if p.record.platform.is_empty() => {
            format!("last applied {}", p.record.applied_at)
        }
        Some(p) => format!(
            "platform `{}`, release `{}`, last applied {}",
            p.record.platform, p.record.release, p.record.applied_at
        ),
    };
    printer.info(&format!(
        "install: `{}` ({recorded}), inventory {}",
        inventory.install,
        inventory.parent_id()
    ));
    Ok(live_parent)
}

/// Preflight: everything the apply needs of the cluster, every problem listed at once.
pub(crate) async fn check_cluster(
    settings: &ApplySettings,
    install: &Install,
    cluster: &Cluster,
    version: &str,
    printer: Printer,
) -> Result<()> {
    check_cluster_pruning(settings, install, cluster, version, &[], printer).await
}

/// [`check_cluster`], and whether the user may delete `pruned` (an upgrade's or rollback's
/// prunes, known from its plan).
pub(crate) async fn check_cluster_pruning(
    settings: &ApplySettings,
    install: &Install,
    cluster: &Cluster,
    version: &str,
    pruned: &[ResId],
    printer: Printer,
) -> Result<()> {
    let expect = Expectations {
        profile: install.preflight.as_ref(),
        platform: &install.platform,
        resources: &install.resources,
        dry_run: settings.dry_run,
    };
    let mut report = preflight::check(cluster, version, &expect)
        .await
        .context("cannot run the preflight checks")?;
    if !settings.dry_run && settings.prune {
        report.problems.extend(
            preflight::check_prune(cluster, pruned)
                .await
                .context("cannot run the preflight checks")?,
        );
    }
    for warning in &report.warnings {
        match &warning.hint {
            Some(hint) => printer.warn(&format!("{}\n  hint: {hint}", warning.message)),
            None => printer.warn(&warning.message),
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

/// Takes the install's lock for `command` (waiting up to `--lock-timeout`), saying so when a
/// stale one is taken over; `None` under `--dry-run`, which writes nothing and takes no lock.
pub(crate) async fn acquire_lock(
    cluster: &Cluster,
    install: &str,
    settings: &ApplySettings,
    command: &str,
    printer: Printer,
) -> Result<Option<lock::LockGuard>> {
    if settings.dry_run {
        return Ok(None);
    }
    let guard = Lock::acquire(
        cluster,
        install,
        &lock::holder_identity(command),
        settings.lock_timeout,
        |holder| {
            printer.info(&format!(
                "waiting up to {}s for the lock of install `{install}`, held by `{}` since {}",
                settings.lock_timeout.as_secs(),
                holder.identity,
                holder.since
            ))
        },
    )
    .await?;
    if let Some(stale) = &guard.took_over {
        printer.warn(&format!(
            "took over the lock of install `{install}`: it was stale, held by `{}` since {} and last renewed {}",
            stale.holder.identity, stale.holder.since, stale.renewed
        ));
    }
    Ok(Some(guard))
}

/// Ends a run's hold on the install's lock; a failure only warns, the run's outcome stands.
pub(super) async fn release(guard: lock::LockGuard, printer: Printer) {
    if let Err(e) = guard.release().await {
        let (_, hints) = crate::errors::render_chain(&e);
        let hints: String = hints.iter().map(|h| format!("\n  hint: {h}")).collect();
        printer.warn(&format!("{e}{hints}"));
    }
}

/// What [`apply_install`] did.
pub(crate) struct Installed {
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
pub(crate) async fn apply_install(
    settings: &ApplySettings,
    cluster: &Cluster,
    install: &Install,
    live_parent: Option<Parent>,
    action: RevisionAction,
    source_revision: Option<u32>,
    printer: Printer,
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

    let options = ApplyOptions {
        dry_run: settings.dry_run,
        force_conflicts: settings.force_conflicts,
        force: settings.force,
        concurrency: CONCURRENCY,
        deadline,
        timeout: settings.timeout,
        labels: inventory.member_labels(),
        recorded: live_parent
            .as_ref()
            .map(|p| p.record.objects.clone())
            .unwrap_or_default(),
        generations: live_parent
            .as_ref()
            .map(|p| p.record.generations.clone())
            .unwrap_or_default(),
        digests: install.digests.clone(),
    };
    let history = super::history::History::begin(
        cluster,
        inventory,
        install,
        action,
        source_revision,
        started_at,
        settings.dry_run,
    )
    .await?;
    let progress = Progress::new(printer, settings.dry_run, std::io::stderr().is_terminal());
    let on_event = |event: Event<'_>| progress.event(event);
    let mut report = apply::apply(cluster, &install.resources, &options, &on_event).await;
    progress.finish();

    let mut prune_report = None;
    if report.succeeded() {
        let mut namespaces: BTreeSet<String> = report
            .applied
            .iter()
            .filter_map(|a| a.namespace.clone())
            .filter(|ns| ns != inventory::NAMESPACE)
            .collect();
        let mut record = Record {
            release: install.release.clone(),
            platform: install.platform.clone(),
            config_digest: install.config_digest.clone(),
            objects: report
                .applied
                .iter()
                .filter_map(|a| {
                    let digest = install.digests.get(&a.id)?;
                    let key = ResId::new(
                        a.id.gvk.clone(),
                        &a.id.name,
                        a.namespace.as_deref().unwrap_or(""),
                    );
                    Some((key, digest.clone()))
                })
                .collect(),
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
        };
        let mut group_kinds = group_kinds.clone();
        if settings.prune {
            let request = super::prune::PruneRequest {
                parent: live_parent.as_ref(),
                group_kinds: &group_kinds,
                namespaces: &planned_namespaces,
                dry_run: settings.dry_run,
                purge: settings.purge,
                deadline,
                timeout: settings.timeout,
            };
            let pruned =
                super::prune::prune(cluster, inventory, &report, &request, printer).await?;
            // What could not be pruned stays the install's, findable from the parent.
            for (id, digest) in super::prune::remaining(&pruned, live_parent.as_ref()) {
                group_kinds.insert(inventory::group_kind(&id.gvk));
                if !id.namespace.is_empty() && id.namespace != inventory::NAMESPACE {
                    namespaces.insert(id.namespace.clone());
                }
                record.objects.insert(id, digest);
            }
            report.applied.extend(super::prune::as_applied(&pruned));
            prune_report = Some(pruned);
        }
        if !settings.dry_run {
            let recorded = live_parent.as_ref().map(|p| &p.record.owned);
            let mut owned = owned_digests(cluster, inventory, &report, recorded, printer).await;
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

/// `kfctl apply` under the lock: apply, then report.
async fn apply_and_record(
    settings: &ApplySettings,
    install: &Install,
    cluster: &Cluster,
    inventory: &Inventory,
    live_parent: Option<Parent>,
    printer: Printer,
) -> Result<Outcome> {
    let Installed {
        report,
        pruned: prune_report,
        ..
    } = apply_install(
        settings,
        cluster,
        install,
        live_parent,
        RevisionAction::Apply,
        None,
        printer,
    )
    .await?;
    printer.info(&summary(&report, settings.dry_run));
    if settings.output == ListFormat::Json {
        let mut value = json_report(&report, cluster, install, inventory, settings.dry_run);
        if let Some(pruned) = &prune_report {
            value["totals"]["kept"] = json!(pruned.kept.len());
            value["kept"] = super::delete::kept_json(&pruned.kept);
        }
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        printer.data(&text)?;
    }
    if let Some(pruned) = &prune_report
        && let Some(err) = RemoveError::from_report(pruned, settings.timeout)
    {
        return Err(anyhow::Error::new(err).context(format!(
            "cannot prune install `{}` on context `{}`",
            install.name,
            cluster.context()
        )));
    }
    match ApplyError::from_report(report, settings.timeout) {
        None => Ok(Outcome::Success),
        Some(err) => Err(anyhow::Error::new(err).context(format!(
            "cannot apply install `{}` to context `{}`",
            install.name,
            cluster.context()
        ))),
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
    printer: Printer,
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
            printer.warn(&format!(
                "cannot record what kfctl owns, for drift checks: {e}"
            ));
            Default::default()
        }
    }
}

pub(crate) fn confirm(
    settings: &ApplySettings,
    install: &Install,
    context: &str,
    printer: Printer,
) -> Result<()> {
    if let Some(reason) = &settings.no_prompt_reason {
        return Err(
            UserError::new(format!("will not apply without confirmation: {reason}"))
                .with_hint("pass `--yes` to apply without asking, or `--dry-run` to change nothing")
                .into(),
        );
    }
    let question = format!(
        "Apply {} objects to context `{context}`?",
        install.resources.len()
    );
    let term = dialoguer::console::Term::stderr();
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on_opt(&term)
        .context("cannot read the answer")?;
    if answer == Some(true) && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        printer.info("nothing applied");
        Err(UserError::new("apply not confirmed").into())
    }
}

pub(super) fn seconds(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

pub(crate) fn summary(report: &ApplyReport, dry_run: bool) -> String {
    let mut counts = format!(
        "{} created, {} configured, {} unchanged",
        report.count(Action::Created),
        report.count(Action::Configured),
        report.count(Action::Unchanged)
    );
    if report.count(Action::Recreated) > 0 {
        counts.push_str(&format!(", {} recreated", report.count(Action::Recreated)));
    }
    if report.count(Action::Pruned) > 0 {
        counts.push_str(&format!(", {} pruned", report.count(Action::Pruned)));
    }
    let mut line = if dry_run {
        format!("dry run: {counts}; nothing was written")
    } else {
        format!("{counts} in {}", seconds(report.elapsed))
    };
    if !report.failed.is_empty() {
        line.push_str(&format!(", {} failed", report.failed.len()));
    }
    if !report.not_ready.is_empty() {
        line.push_str(&format!(", {} not ready", report.not_ready.len()));
    }
    if report.succeeded() && !dry_run {
        line.push_str("; everything is healthy");
    }
    line
}

pub(super) fn wave_name(wave: crate::plan::Wave) -> String {
    format!("{wave:?}").to_lowercase()
}

fn json_report(
    report: &ApplyReport,
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    dry_run: bool,
) -> Value {
    let objects: Vec<Value> = report
        .applied
        .iter()
        .map(|a| {
            json!({
                "id": a.id.to_string(),
                "apiVersion": a.id.gvk.api_version(),
                "kind": a.id.gvk.kind,
                "namespace": a.namespace,
                "name": a.id.name,
                "action": a.action,
                "wave": wave_name(a.wave),
                "durationMs": a.duration.as_millis() as u64,
                "retries": a.retries,
                "checked": !a.unchecked,
            })
        })
        .collect();
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| {
            json!({
                "id": f.id.to_string(),
                "origin": f.origin.to_string(),
                "wave": wave_name(f.wave),
                "error": f.error.to_string(),
            })
        })
        .collect();
    let not_ready: Vec<Value> = report
        .not_ready
        .iter()
        .map(|n| json!({"id": n.id.to_string(), "wave": wave_name(n.wave), "health": n.health.to_string()}))
        .collect();
    json!({
        "context": cluster.context(),
        "server": cluster.server(),
        "install": install.name,
        "inventory": inventory.parent_id().to_string(),
        "applysetId": inventory.id,
        "dryRun": dry_run,
        "succeeded": report.succeeded(),
        "durationMs": report.elapsed.as_millis() as u64,
        "totals": {
            "objects": install.resources.len(),
            "created": report.count(Action::Created),
            "configured": report.count(Action::Configured),
            "unchanged": report.count(Action::Unchanged),
            "recreated": report.count(Action::Recreated),
            "pruned": report.count(Action::Pruned),
            "failed": report.failed.len(),
            "notReady": report.not_ready.len(),
            "skipped": report.skipped.iter().map(|(_, n)| n).sum::<usize>(),
        },
        "objects": objects,
        "failed": failed,
        "notReady": not_ready,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_names() {
        assert!(check_name("kubeflow").is_ok());
        assert!(check_name("team-a2").is_ok());
        for bad in ["", "-a", "a-", "Upper", "a_b", &"x".repeat(51)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(default_name_of(Path::new("/tmp/My_App")), "my-app");
    }
}
