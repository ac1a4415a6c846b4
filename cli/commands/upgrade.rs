//! `kfctl upgrade`: render the recorded install again at another release, show the plan
//! (`upgrade::plan`), list the fields other managers own that it would take, and carry it out
//! through the apply path as a new revision (`lifecycle::upgrade`); with `--atomic`, go back to
//! the revision before when the new one does not become healthy. `--plan-out` saves the plan
//! with the facts it was made from; `--plan` carries out exactly that plan, or refuses when the
//! cluster changed.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Outcome;
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::{Action, ApplyError, ApplyReport};
use crate::cluster::inventory::Inventory;
use crate::errors::UserError;
use crate::lifecycle::Events;
use crate::lifecycle::history::failure_line;
use crate::lifecycle::render::check_name;
use crate::lifecycle::target::{self, Checks};
use crate::lifecycle::upgrade::{self, Planned, SavedPlan, Upgraded};
use crate::output::{self, Printer, Progress};
use crate::report;
use crate::settings::UpgradeSettings;
use crate::upgrade::revision;

pub async fn run(settings: &UpgradeSettings, printer: Printer) -> Result<Outcome> {
    let apply_settings = &settings.apply;
    let progress = Progress::on_stderr(printer, apply_settings.dry_run);
    let events = progress.events();
    let saved = settings.plan.as_deref().map(SavedPlan::load).transpose()?;
    let name = upgrade::install_name(settings, saved.as_ref());
    // A saved plan is a file that may come from elsewhere: its install name is checked as
    // `--name` is.
    check_name(&name)?;
    let cluster = target::connect(&apply_settings.install.cluster).await?;
    let inventory = Inventory::new(&name);
    let found = target::describe(&cluster, &inventory).await?;
    for line in report::target_lines(&cluster, &found.version, &inventory, found.parent.as_ref()) {
        printer.info(&line);
    }
    let Some(parent) = found.parent else {
        return Err(UserError::new(format!(
            "no install `{name}` is recorded in context `{}`",
            cluster.context()
        ))
        .with_hint("install it with `kfctl apply` first, or name another with `--name`")
        .into());
    };
    let current = revision::current(&parent.record.revisions).cloned();
    let new = upgrade::new_render(settings, saved.as_ref(), &name, current.as_ref(), events)?;
    let planned = upgrade::plan_upgrade(&cluster, parent, new, apply_settings.purge).await?;
    printer.info(&format!(
        "upgrade: install `{name}` from {} (revision {}) to {}",
        if planned.from_release.is_empty() {
            "-"
        } else {
            &planned.from_release
        },
        planned
            .current
            .as_ref()
            .map_or_else(|| "none".to_owned(), |r| r.number.to_string()),
        planned.to
    ));
    for line in report::plan_lines(&planned.plan) {
        printer.info(&line);
    }
    if let Some(saved) = &saved {
        upgrade::check_still_holds(saved, &planned, &inventory)?;
        printer.info("the saved plan still holds: the cluster has not changed since it was made");
    }
    upgrade::check_not_blocked(&planned.plan)?;
    if let Some(path) = &settings.plan_out {
        return save_plan(&planned, &cluster, path, printer);
    }
    if planned.nothing_to_do() {
        return nothing_to_do(settings, &planned, printer);
    }
    if !apply_settings.force && !apply_settings.dry_run {
        upgrade::check_immutable(&planned.plan)?;
    }
    check_cluster(settings, &cluster, &inventory, &planned, printer, events).await?;

    let guard = target::lock(
        &cluster,
        &name,
        "kfctl upgrade",
        apply_settings.dry_run,
        apply_settings.lock_timeout,
        events,
    )
    .await?;
    let result = upgrade::carry_out(apply_settings, &cluster, &planned, settings.atomic, events)
        .await
        .and_then(|upgraded| print_report(settings, &cluster, &planned, upgraded, printer));
    target::release(guard, events).await;
    result
}

/// Everything before the first write: preflight (as `kfctl apply` runs it: a missing permission
/// or a cluster the new render cannot go on stops the upgrade), fields other managers own, and
/// the user's yes.
async fn check_cluster(
    settings: &UpgradeSettings,
    cluster: &Cluster,
    inventory: &Inventory,
    planned: &Planned,
    printer: Printer,
    events: Events<'_>,
) -> Result<()> {
    let apply_settings = &settings.apply;
    let version = target::server_version(cluster).await?;
    let pruned = planned.pruned();
    let checks = Checks {
        install: &planned.new,
        version: &version,
        dry_run: apply_settings.dry_run,
        prune: apply_settings.prune,
        pruned: &pruned,
    };
    target::preflight(cluster, &checks, events).await?;
    if !apply_settings.dry_run && !apply_settings.force_conflicts {
        upgrade::check_no_conflicts(cluster, &planned.new, inventory, apply_settings.timeout)
            .await?;
    }
    let objects = planned.new.resources.len();
    output::confirm_apply(apply_settings, objects, cluster.context(), printer)
}

/// `--plan-out FILE`: the plan with the facts it was made from.
fn save_plan(
    planned: &Planned,
    cluster: &Cluster,
    path: &std::path::Path,
    printer: Printer,
) -> Result<Outcome> {
    let mut text = serde_json::to_string_pretty(&planned.saved(cluster))?;
    text.push('\n');
    std::fs::write(path, text)
        .with_context(|| format!("cannot write the plan to `{}`", path.display()))?;
    printer.info(&format!(
        "plan saved to `{}`; carry it out with `kfctl upgrade --plan {}`",
        path.display(),
        crate::shell::quote(&path.display().to_string())
    ));
    Ok(Outcome::Success)
}

fn nothing_to_do(
    settings: &UpgradeSettings,
    planned: &Planned,
    printer: Printer,
) -> Result<Outcome> {
    printer.info("nothing to upgrade: the install is already at this render");
    if settings.apply.output == ListFormat::Json {
        printer.json(&json!({
            "install": planned.name,
            "from": planned.from_release,
            "to": planned.new.release,
            "nothingToDo": true,
            "succeeded": true,
            "rolledBack": false,
            "plan": planned.plan,
        }))?;
    }
    Ok(if settings.exit_code {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}

fn short(report: &ApplyReport) -> Value {
    json!({
        "created": report.count(Action::Created),
        "configured": report.count(Action::Configured),
        "unchanged": report.count(Action::Unchanged),
        "failed": report.failed.len(),
        "notReady": report.not_ready.len(),
        "durationMs": report.elapsed.as_millis() as u64,
    })
}

/// The summary, the JSON report with `-o json`, and the error when the upgrade failed: what
/// failed, object by object, with the hint for it, under a line saying whether kfctl went back.
fn print_report(
    settings: &UpgradeSettings,
    cluster: &Cluster,
    planned: &Planned,
    upgraded: Upgraded,
    printer: Printer,
) -> Result<Outcome> {
    let apply_settings = &settings.apply;
    let Upgraded { done, rollback } = upgraded;
    let name = &planned.name;
    printer.info(&report::apply_summary(&done.report, apply_settings.dry_run));
    let mut out = json!({
        "install": name,
        "context": cluster.context(),
        "from": planned.from_release,
        "to": planned.new.release,
        "nothingToDo": false,
        "dryRun": apply_settings.dry_run,
        "plan": planned.plan,
        "revision": done.revision.as_ref().map(|r| r.number),
        "totals": short(&done.report),
        "succeeded": done.report.succeeded(),
        "rolledBack": false,
    });
    if done.report.succeeded() {
        if apply_settings.output == ListFormat::Json {
            printer.json(&out)?;
        }
        return Ok(Outcome::Success);
    }
    let reason = failure_line(&done.report, apply_settings.timeout);
    out["reason"] = json!(reason);
    let mut message = format!("the upgrade of install `{name}` to {} failed", planned.to);
    match rollback {
        None => {}
        Some((number, Ok(back))) if back.report.succeeded() => {
            out["rolledBack"] = json!(true);
            out["rollbackRevision"] = json!(back.revision.as_ref().map(|r| r.number));
            message.push_str(&format!("; rolled back to revision {number}"));
        }
        Some((number, Ok(back))) => {
            let why = failure_line(&back.report, apply_settings.timeout);
            out["rollbackError"] = json!(why);
            message.push_str(&format!(
                "; the rollback to revision {number} failed too: {why}"
            ));
        }
        Some((number, Err(e))) => {
            out["rollbackError"] = json!(format!("{e:#}"));
            message.push_str(&format!(
                "; the rollback to revision {number} failed too: {e:#}"
            ));
        }
    }
    if apply_settings.output == ListFormat::Json {
        printer.json(&out)?;
    }
    match ApplyError::from_report(done.report, apply_settings.timeout) {
        Some(err) => Err(anyhow::Error::new(err).context(message)),
        None => Err(UserError::new(format!("{message}: {reason}")).into()),
    }
}
