//! `kfctl status`: the recorded install, the health of its members by catalog component, and
//! the objects that drifted (`cluster::drift`); `--watch` refreshes, `-o json` prints one report
//! per refresh (`docs/schema/status.json`).

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::Outcome;
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::drift::{self, Desired, DriftReport, IgnoreRule};
use crate::cluster::inventory::Inventory;
use crate::errors::UserError;
use crate::lifecycle::drift::pinned_render;
use crate::lifecycle::render::{Install, check_name, render_given};
use crate::lifecycle::target;
use crate::output::{Printer, Progress};
use crate::report::drift::{SCHEMA_VERSION, describe, object_json, recorded_json};
use crate::report::health::{self as component_health, InstallHealth};
use crate::settings::StatusSettings;

pub async fn run(settings: &StatusSettings, printer: Printer) -> Result<Outcome> {
    let given = &settings.install;
    let name = given.install_name();
    check_name(&name)?;
    let progress = Progress::on_stderr(printer, false);
    let events = progress.events();
    let install = render_given(given, events)?;
    let cluster = target::connect(&settings.install.cluster).await?;
    let inventory = Inventory::new(&name);
    let (install, ignore, unpinned) = match install {
        Some(install) => (Some(install), given.drift_ignore().to_vec(), None),
        None => match pinned_render(&cluster, &inventory).await {
            Ok((install, ignore)) => (Some(install), ignore, None),
            Err(why) => (None, Vec::new(), Some(format!("{why:#}"))),
        },
    };
    status(
        settings,
        &cluster,
        &inventory,
        (install.as_ref(), unpinned.as_deref()),
        &ignore,
        printer,
    )
    .await
}

async fn status(
    settings: &StatusSettings,
    cluster: &Cluster,
    inventory: &Inventory,
    (install, unpinned): (Option<&Install>, Option<&str>),
    rules: &[IgnoreRule],
    printer: Printer,
) -> Result<Outcome> {
    let name = inventory.install.as_str();
    let mut told_why = false;
    // With `--watch`, SIGINT and SIGTERM end the watch: the exit status is that of the last
    // report.
    let mut stop = if settings.watch {
        Some(Stop::new()?)
    } else {
        None
    };
    let mut outcome = Outcome::Success;
    let mut reports = 0usize;
    loop {
        let desired = install.map(|i| Desired {
            resources: &i.resources,
            labels: inventory.member_labels(),
        });
        let check = drift::check(cluster, inventory, desired.as_ref(), rules);
        let report = match &mut stop {
            None => check.await,
            Some(stop) => tokio::select! {
                report = check => report,
                () = stop.wait() => return Ok(outcome),
            },
        }
        .with_context(|| format!("cannot read the status of install `{name}`"))?;
        let Some(parent) = &report.parent else {
            let context = cluster.context();
            return Err(if reports > 0 {
                UserError::new(format!(
                    "install `{name}` is gone from context `{context}`: its inventory was deleted while watching"
                ))
            } else {
                UserError::new(format!(
                    "install `{name}` has no inventory in context `{context}`"
                ))
                .with_hint("name the install with `--name`, or install it with `kfctl apply`")
            }
            .into());
        };
        reports += 1;
        if let Some(why) = unpinned
            && !told_why
            && report.objects.iter().any(|o| o.fields_unknown)
        {
            told_why = true;
            printer.info(&format!(
                "the drifted fields are not named: the render of the install's revision is not at hand ({why}); pass `-p`, `-f` or `-k`"
            ));
        }
        let components = component_health::by_component(&report, &parent.record, install);
        match settings.output {
            ListFormat::Json => {
                printer.json(&json_report(&report, &components, cluster, name, inventory))?;
            }
            ListFormat::Text => {
                let text = text_report(&report, parent, &components, cluster, inventory);
                printer.data(&text)?;
            }
        }
        let drifted = report.drifted().next().is_some();
        outcome = if settings.exit_code && drifted {
            Outcome::Changes
        } else {
            Outcome::Success
        };
        let Some(stop) = &mut stop else {
            return Ok(outcome);
        };
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            () = stop.wait() => return Ok(outcome),
        }
        if settings.output == ListFormat::Text {
            printer.data("\n")?;
        }
    }
}

/// The status, for a person.
fn text_report(
    report: &DriftReport,
    parent: &crate::cluster::inventory::Parent,
    components: &InstallHealth,
    cluster: &Cluster,
    inventory: &Inventory,
) -> String {
    let name = inventory.install.as_str();
    let recorded = &parent.record;
    let mut text = format!(
        "install:   {name} (inventory {})\ncontext:   {}\n",
        inventory.parent_id(),
        cluster.context()
    );
    if !recorded.platform.is_empty() {
        text.push_str(&format!(
            "platform:  {}, release {}\n",
            recorded.platform, recorded.release
        ));
    }
    text.push_str(&format!(
        "applied:   {} ({} objects)\n\n",
        recorded.applied_at,
        recorded.objects.len()
    ));
    text.push_str(&component_health::text(components, recorded));
    let drifted: Vec<_> = report.drifted().collect();
    if drifted.is_empty() {
        text.push_str("\ndrift: none\n");
    } else {
        text.push_str(&format!("\ndrift: {} objects\n", drifted.len()));
        for object in drifted {
            text.push_str(&format!("  {}\n", describe(object)));
        }
    }
    text
}

/// SIGINT and SIGTERM, caught while watching.
struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    fn new() -> Result<Self> {
        let catch = |kind| signal(kind).context("cannot catch signals for `--watch`");
        Ok(Stop {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
        })
    }

    /// Until one of them arrives.
    async fn wait(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

fn json_report(
    report: &DriftReport,
    components: &InstallHealth,
    cluster: &Cluster,
    name: &str,
    inventory: &Inventory,
) -> Value {
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "context": cluster.context(),
        "install": name,
        "inventory": inventory.parent_id().to_string(),
        "recorded": recorded_json(report),
        "healthy": components.components.iter().all(|c| c.not_ready.is_empty()),
        "groupedBy": components.grouping.as_str(),
        "components": component_health::json(components),
        "drifted": report.drifted().count(),
        "drift": report.drifted().map(|o| object_json(o, false)).collect::<Vec<_>>(),
        "cost": {
            "requests": report.requests,
            "kinds": report.kinds,
            "dryRuns": report.dry_runs,
        },
    })
}
