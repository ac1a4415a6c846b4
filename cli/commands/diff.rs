//! `kfctl diff -p PLATFORM | -f kfctl.yaml | -k DIR`: what an apply would change and what
//! drifted (`cluster::drift`), as unified diffs or one JSON report (`docs/schema/diff.json`);
//! `--fix` applies the objects that differ and takes strays out of the install.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Outcome, nothing_given};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::drift::{self, Action, Desired, DriftReport, ObjectReport};
use crate::cluster::inventory::Inventory;
use crate::lifecycle::drift::to_fix;
use crate::lifecycle::render::{Install, render_given};
use crate::lifecycle::{Events, target};
use crate::output::{self, Printer, Progress, Question};
use crate::report::drift::{SCHEMA_VERSION, describe, object_json, recorded_json};
use crate::settings::DiffSettings;

pub async fn run(settings: &DiffSettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let events = progress.events();
    let Some(install) = render_given(&settings.install, events)? else {
        return Err(nothing_given("compare", ", as to `kfctl apply`"));
    };
    diff_install(settings, install, printer, events).await
}

async fn diff_install(
    settings: &DiffSettings,
    install: Install,
    printer: Printer,
    events: Events<'_>,
) -> Result<Outcome> {
    let started = Instant::now();
    let cluster = target::connect(&settings.install.cluster).await?;
    let inventory = Inventory::new(&install.name);
    let desired = Desired {
        resources: &install.resources,
        labels: inventory.member_labels(),
    };
    let report = drift::check(
        &cluster,
        &inventory,
        Some(&desired),
        settings.install.drift_ignore(),
    )
    .await
    .with_context(|| format!("cannot compare install `{}` with the cluster", install.name))?;
    let elapsed = started.elapsed();
    if report.parent.is_none() {
        printer.warn(&format!(
            "install `{}` has no inventory in context `{}`: it was never applied there",
            install.name,
            cluster.context()
        ));
    }

    if settings.output == ListFormat::Text {
        print_text(&report, printer)?;
    }
    printer.info(&summary(&report, elapsed));

    let mut fixed: Vec<String> = Vec::new();
    if settings.fix && report.has_changes() {
        fixed = fix(
            settings, &cluster, &install, &inventory, &report, printer, events,
        )
        .await?;
    }
    if settings.output == ListFormat::Json {
        let mut value = json_report(&report, &cluster, &install.name, &inventory);
        if settings.fix {
            value["fixed"] = json!(fixed);
        }
        printer.json(&value)?;
    }
    if settings.fix {
        // What differed was restored (a failure returned an error above), except objects the
        // render no longer has: `--fix` deletes nothing.
        let left = report
            .objects
            .iter()
            .filter(|o| o.action == Some(Action::Prune) && o.drift != Some(drift::Drift::Stray))
            .count();
        if left > 0 {
            printer.warn(&format!(
                "{left} objects recorded in the install are no longer in the render; `--fix` leaves them in place"
            ));
        }
        return Ok(if settings.exit_code && left > 0 {
            Outcome::Changes
        } else {
            Outcome::Success
        });
    }
    Ok(if settings.exit_code && report.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}

fn print_text(report: &DriftReport, printer: Printer) -> Result<()> {
    let color = printer.color && std::io::stdout().is_terminal();
    let paint = |text: &str, sgr: &str| {
        if color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    for object in report.objects.iter().filter(|o| differs(o)) {
        printer.info(&format!("  {}", describe(object)));
        let Some(diff) = &object.diff else { continue };
        let mut text = String::new();
        for line in diff.lines() {
            let painted = if line.starts_with("+++") || line.starts_with("---") {
                paint(line, "1")
            } else if line.starts_with('+') {
                paint(line, "32")
            } else if line.starts_with('-') {
                paint(line, "31")
            } else if line.starts_with("@@") {
                paint(line, "36")
            } else {
                line.to_owned()
            };
            text.push_str(&painted);
            text.push('\n');
        }
        printer.data(&text)?;
    }
    Ok(())
}

fn differs(object: &ObjectReport) -> bool {
    object.drift.is_some() || object.action.is_some_and(|a| a != Action::Unchanged)
}

fn summary(report: &DriftReport, elapsed: std::time::Duration) -> String {
    let count = |a: Action| report.count(a);
    let drifted = report.drifted().count();
    format!(
        "{} to create, {} to change, {} to prune, {} unchanged; {drifted} drifted ({} kinds listed, {} requests, {} dry runs, {:.1}s)",
        count(Action::Create),
        count(Action::Change),
        count(Action::Prune),
        count(Action::Unchanged),
        report.kinds,
        report.requests,
        report.dry_runs,
        elapsed.as_secs_f64()
    )
}

fn json_report(
    report: &DriftReport,
    cluster: &Cluster,
    install: &str,
    inventory: &Inventory,
) -> Value {
    let count = |a: Action| report.count(a);
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "context": cluster.context(),
        "install": install,
        "inventory": inventory.parent_id().to_string(),
        "recorded": recorded_json(report),
        "changes": report.has_changes(),
        "totals": {
            "objects": report.objects.len(),
            "create": count(Action::Create),
            "change": count(Action::Change),
            "prune": count(Action::Prune),
            "unchanged": count(Action::Unchanged),
            "drifted": report.drifted().count(),
        },
        "cost": {
            "requests": report.requests,
            "kinds": report.kinds,
            "dryRuns": report.dry_runs,
        },
        "objects": report.objects.iter().map(|o| object_json(o, true)).collect::<Vec<_>>(),
    })
}

/// `--fix`: asks (unless `--yes`), then restores what drifted (`lifecycle::drift`). Returns the
/// ids it acted on.
async fn fix(
    settings: &DiffSettings,
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    report: &DriftReport,
    printer: Printer,
    events: Events<'_>,
) -> Result<Vec<String>> {
    let to_fix = to_fix(install, report, settings.install.drift_ignore())?;
    if to_fix.is_empty() {
        return Ok(Vec::new());
    }
    if !settings.yes {
        let question = Question {
            prompt: format!(
                "Apply {} objects and release {} strays in context `{}`?",
                to_fix.subset.len(),
                to_fix.strays.len(),
                cluster.context()
            ),
            verb: "fix",
            declined: "nothing fixed",
            hint: "pass `--yes` to apply what differs without asking",
        };
        output::confirm(question, settings.no_prompt_reason.as_deref(), printer)?;
    }
    let fixed = crate::lifecycle::drift::fix(
        cluster,
        install,
        inventory,
        report,
        to_fix,
        settings.timeout,
        events,
    )
    .await?;
    printer.info(&format!(
        "fixed {} object{}",
        fixed.len(),
        if fixed.len() == 1 { "" } else { "s" }
    ));
    Ok(fixed)
}
