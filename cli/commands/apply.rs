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
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::{
    self, Action, ApplyError, ApplyOptions, ApplyReport, CONCURRENCY, Event,
};
use crate::cluster::inventory::{self, Inventory, Record};
use crate::errors::UserError;
use crate::output::Printer;
use crate::render::{self, RealFs};
use crate::resource::{ResId, ResourceSet};
use crate::settings::{ApplySettings, BuildInput};
use crate::upgrade::revision::{Pin, Revision, RevisionAction};

/// What is being installed, before it reaches the cluster.
pub(crate) struct Install {
    pub name: String,
    pub resources: ResourceSet,
    pub release: String,
    pub platform: String,
    pub config_digest: String,
    /// What the render is made from, to make it again (history, rollback).
    pub pin: Pin,
    /// Each component and what it is made of (upstream paths, the components it needs).
    pub components: BTreeMap<String, Vec<String>>,
}

pub fn run(settings: &ApplySettings, printer: Printer) -> Result<Outcome> {
    let Some(input) = &settings.input else {
        return Err(UserError::new(
            "nothing to apply: no platform, `kfctl.yaml` or kustomization was given",
        )
        .with_hint("pass `-p PLATFORM`, `-f kfctl.yaml` or `-k DIR`")
        .into());
    };
    let install = render_install(input, settings.name.as_deref(), printer)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(apply_command(settings, install, printer))
}

/// Renders `input` as install `name` (default: by input).
pub(crate) fn render_install(
    input: &BuildInput,
    name: Option<&str>,
    printer: Printer,
) -> Result<Install> {
    let install = match input {
        BuildInput::Dir(dir) => {
            let rendered = render::build(&RealFs, dir)
                .with_context(|| format!("cannot build `{}`", dir.display()))?;
            for warning in &rendered.warnings {
                printer.warn(warning);
            }
            let digest = Sha256::digest(
                crate::resource::yaml::to_yaml_stream(rendered.resources.iter().map(|r| &r.body))
                    .as_bytes(),
            );
            let config_digest = inventory::hex(&digest);
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
                components: BTreeMap::new(),
            }
        }
        BuildInput::Profile(request) => {
            let (resolved, rendered) = super::build::build_profile(request, printer)?;
            let config = json!({
                "platform": resolved.platform,
                "release": resolved.release,
                "source": [resolved.source_name, resolved.source_version],
                "components": resolved.components.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "parameters": resolved.parameters,
            });
            let pin = super::upgrade::profile_pin(request, &resolved);
            Install {
                name: name.map_or_else(|| "kubeflow".to_owned(), str::to_owned),
                resources: rendered.resources,
                components: super::upgrade::component_parts(&resolved),
                release: resolved.release,
                platform: resolved.platform,
                config_digest: inventory::hex(&Sha256::digest(config.to_string().as_bytes())),
                pin,
            }
        }
    };
    check_name(&install.name)?;
    if install.resources.is_empty() {
        return Err(UserError::new("nothing to apply: the render has no objects").into());
    }
    Ok(install)
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
fn check_name(name: &str) -> Result<()> {
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
    install: Install,
    printer: Printer,
) -> Result<Outcome> {
    let cluster = Cluster::connect(settings.kubeconfig.as_deref(), settings.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    let inventory = Inventory::new(&install.name);
    let live_parent = describe_target(&cluster, &inventory, printer).await?;
    if !settings.dry_run && !settings.yes {
        confirm(settings, &install, cluster.context(), printer)?;
    }
    let done = apply_install(
        settings,
        &cluster,
        &install,
        live_parent,
        RevisionAction::Apply,
        None,
        printer,
    )
    .await?;
    let report = done.report;
    printer.info(&summary(&report, settings.dry_run));
    if settings.output == ListFormat::Json {
        let mut text = serde_json::to_string_pretty(&json_report(
            &report,
            &cluster,
            &install,
            &inventory,
            settings.dry_run,
        ))?;
        text.push('\n');
        printer.data(&text)?;
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

/// What [`apply_install`] did.
pub(crate) struct Installed {
    pub report: ApplyReport,
    /// The revision it recorded; `None` for a dry run or an apply that changed nothing.
    pub revision: Option<Revision>,
}

/// Applies a rendered install to `cluster` as one revision: widens the inventory, records the
/// revision as pending, applies wave by wave until healthy, and records the install (or how the
/// revision failed). Failures of objects are in the report; errors are for what stops the run.
pub(crate) async fn apply_install(
    settings: &ApplySettings,
    cluster: &Cluster,
    install: &Install,
    live_parent: Option<inventory::Parent>,
    action: RevisionAction,
    source_revision: Option<u32>,
    printer: Printer,
) -> Result<Installed> {
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let inventory = Inventory::new(&install.name);
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
        concurrency: CONCURRENCY,
        deadline,
        timeout: settings.timeout,
        labels: inventory.member_labels(),
    };
    let history = super::history::History::begin(
        cluster,
        &inventory,
        install,
        action,
        source_revision,
        started_at,
        settings.dry_run,
    )
    .await?;
    let on_event = |event: Event<'_>| print_event(printer, settings.dry_run, event);
    let report = apply::apply(cluster, &install.resources, &options, &on_event).await;

    if report.succeeded() {
        let namespaces: BTreeSet<String> = report
            .applied
            .iter()
            .filter_map(|a| a.namespace.clone())
            .filter(|ns| ns != inventory::NAMESPACE)
            .collect();
        let record = Record {
            release: install.release.clone(),
            platform: install.platform.clone(),
            config_digest: install.config_digest.clone(),
            objects: report
                .applied
                .iter()
                .filter_map(|a| {
                    let res = install.resources.get(&a.id)?;
                    let key = ResId::new(
                        a.id.gvk.clone(),
                        &a.id.name,
                        a.namespace.as_deref().unwrap_or(""),
                    );
                    Some((key, inventory::digest(res)))
                })
                .collect(),
            applied_at: inventory::now_rfc3339(),
            revisions: Vec::new(),
        };
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
        return Ok(Installed { report, revision });
    }
    let revision = history
        .failed(cluster, &inventory, &report, settings.timeout)
        .await?;
    Ok(Installed { report, revision })
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

fn seconds(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn print_event(printer: Printer, dry_run: bool, event: Event<'_>) {
    match event {
        Event::WaveStarted {
            wave,
            objects,
            number,
            of,
        } => printer.info(&format!("wave {number}/{of}: {wave} ({objects} objects)")),
        Event::Applied(a) => {
            let note = if a.unchecked {
                " (not checked: its namespace or CRD does not exist yet)"
            } else {
                ""
            };
            let verb = if dry_run {
                format!("{} (dry run)", a.action)
            } else {
                a.action.to_string()
            };
            let line = format!("  {verb} {}{note}", a.id);
            if a.action == Action::Unchanged {
                tracing::info!("{}", line.trim_start());
            } else {
                printer.info(&line);
            }
        }
        Event::Failed(f) => printer.info(&format!("  failed {}: {}", f.id, f.error)),
        Event::Waiting { what, .. } => printer.info(&format!("  waiting for {what}")),
        Event::WaveDone { wave, elapsed } => {
            tracing::info!("wave `{wave}` done in {}", seconds(elapsed))
        }
        Event::NotHealthyYet { pending, example } => {
            printer.info(&format!("  {pending} not ready yet, e.g. {example}"))
        }
    }
}

pub(crate) fn summary(report: &ApplyReport, dry_run: bool) -> String {
    let counts = format!(
        "{} created, {} configured, {} unchanged",
        report.count(Action::Created),
        report.count(Action::Configured),
        report.count(Action::Unchanged)
    );
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

fn wave_name(wave: crate::plan::Wave) -> String {
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
