//! `kfctl rollback [--to-revision N]`: render a recorded revision again from what the record
//! pins and apply it as a new revision (`lifecycle::upgrade`). CRDs that would lose stored data
//! are kept as they are.

use anyhow::{Context, Result};
use serde_json::json;

use super::Outcome;
use crate::args::ListFormat;
use crate::cluster::apply::ApplyError;
use crate::cluster::inventory::Inventory;
use crate::lifecycle::apply::apply_install;
use crate::lifecycle::history::{failure_line, read_revisions};
use crate::lifecycle::migrate;
use crate::lifecycle::render::{check_name, render_pin};
use crate::lifecycle::target::{self, Checks};
use crate::lifecycle::upgrade::{self, keep_newer_crds, pruned_ids, rollback_target};
use crate::output::{self, Printer, Progress};
use crate::report;
use crate::settings::RollbackSettings;
use crate::upgrade::revision::RevisionAction;

pub async fn run(settings: &RollbackSettings, printer: Printer) -> Result<Outcome> {
    check_name(&settings.name)?;
    let apply_settings = &settings.apply;
    let progress = Progress::on_stderr(printer, apply_settings.dry_run);
    let events = progress.events();
    let cluster = target::connect(&apply_settings.install.cluster).await?;
    let name = &settings.name;
    let inventory = Inventory::new(name);
    let found = target::describe(&cluster, &inventory).await?;
    for line in report::target_lines(&cluster, &found.version, &inventory, found.parent.as_ref()) {
        printer.info(&line);
    }
    let (parent, revisions) = read_revisions(&cluster, name).await?;
    let target = rollback_target(&revisions, settings.to_revision, name)?;
    printer.info(&format!(
        "rollback: install `{name}` to revision {} ({}, {})",
        target.number,
        target.action,
        target.pin.describe()
    ));
    let mut install = render_pin(&target.pin, name, events)
        .with_context(|| format!("cannot render revision {} again", target.number))?;
    let kept = keep_newer_crds(&cluster, &mut install, events).await?;
    let rollback_plan =
        upgrade::plan_rollback(&cluster, &parent, &install, apply_settings.purge).await?;
    for line in report::plan_lines(&rollback_plan) {
        printer.info(&line);
    }
    let pruned = pruned_ids(&parent, &rollback_plan);
    let checks = Checks {
        install: &install,
        version: &found.version,
        dry_run: apply_settings.dry_run,
        prune: apply_settings.prune,
        pruned: &pruned,
    };
    target::preflight(&cluster, &checks, events).await?;
    let objects = install.resources.len();
    output::confirm_apply(apply_settings, objects, cluster.context(), printer)?;
    let guard = target::lock(
        &cluster,
        name,
        "kfctl rollback",
        apply_settings.dry_run,
        apply_settings.lock_timeout,
        events,
    )
    .await?;
    let migrated = migrate::run(
        &cluster,
        &parent,
        &rollback_plan.migrations,
        apply_settings,
        events,
    )
    .await;
    if let Err(e) = migrated {
        target::release(guard, events).await;
        return Err(e);
    }
    let done = apply_install(
        apply_settings,
        &cluster,
        &install,
        Some(parent),
        RevisionAction::Rollback,
        Some(target.number),
        events,
    )
    .await;
    target::release(guard, events).await;
    let done = done?;
    printer.info(&report::apply_summary(&done.report, apply_settings.dry_run));
    if apply_settings.output == ListFormat::Json {
        let out = json!({
            "install": name,
            "context": cluster.context(),
            "toRevision": target.number,
            "release": target.release,
            "revision": done.revision.as_ref().map(|r| r.number),
            "keptCrds": kept,
            "plan": rollback_plan,
            "dryRun": apply_settings.dry_run,
            "succeeded": done.report.succeeded(),
            "reason": (!done.report.succeeded()).then(|| failure_line(&done.report, apply_settings.timeout)),
        });
        printer.json(&out)?;
    }
    match ApplyError::from_report(done.report, apply_settings.timeout) {
        None => Ok(Outcome::Success),
        Some(err) => Err(anyhow::Error::new(err).context(format!(
            "cannot roll install `{name}` back to revision {}",
            target.number
        ))),
    }
}
