//! `kfctl apply -p PLATFORM | -f kfctl.yaml | -k DIR`: render, name the target cluster, confirm,
//! apply wave by wave until healthy and record the install (`lifecycle::apply`), and report.

use anyhow::Result;
use serde_json::json;

use super::{Outcome, nothing_given};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::ApplyError;
use crate::cluster::inventory::{Inventory, Parent};
use crate::cluster::preflight;
use crate::cluster::prune::RemoveError;
use crate::lifecycle::apply::{Installed, apply_install};
use crate::lifecycle::render::{Install, render_given};
use crate::lifecycle::target::{self, Checks};
use crate::output::{self, Printer, Progress};
use crate::report;
use crate::settings::ApplySettings;
use crate::upgrade::revision::RevisionAction;

pub async fn run(settings: &ApplySettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, settings.dry_run);
    let events = progress.events();
    let Some(install) = render_given(&settings.install, events)? else {
        return Err(nothing_given("apply", ""));
    };
    let outcome = async {
        let cluster = target::connect(&settings.install.cluster).await?;
        let inventory = Inventory::new(&install.name);
        let version = target::server_version(&cluster).await?;
        let checks = Checks {
            install: &install,
            version: &version,
            dry_run: settings.dry_run,
            prune: settings.prune,
            pruned: &[],
        };
        target::preflight(&cluster, &checks, events).await?;
        let parent = target::read_parent(&cluster, &inventory).await?;
        for line in report::target_lines(&cluster, &version, &inventory, parent.as_ref()) {
            printer.info(&line);
        }
        check_owner(settings, &cluster, &install, parent.as_ref())?;
        output::confirm_apply(
            settings,
            install.resources.len(),
            cluster.context(),
            printer,
        )?;

        let guard = target::lock(
            &cluster,
            &install.name,
            "kfctl apply",
            settings.dry_run,
            settings.lock_timeout,
            events,
        )
        .await?;
        let result = async {
            // Read again under the lock: another run may have recorded the install meanwhile.
            let parent = match &guard {
                None => parent,
                Some(_) => {
                    let parent = target::read_parent(&cluster, &inventory).await?;
                    check_owner(settings, &cluster, &install, parent.as_ref())?;
                    parent
                }
            };
            let done = apply_install(
                settings,
                &cluster,
                &install,
                parent,
                RevisionAction::Apply,
                None,
                events,
            )
            .await?;
            print_report(settings, &cluster, &install, &inventory, done, printer)
        }
        .await;
        target::release(guard, events).await;
        result
    }
    .await;
    // The render is the process's largest value (Kubeflow's is some 10 MB of JSON); the
    // process ends now, and freeing it value by value would only delay that.
    std::mem::forget(install);
    outcome
}

/// Refuses to take over an install another platform or tool made, unless `--take-over`.
fn check_owner(
    settings: &ApplySettings,
    cluster: &Cluster,
    install: &Install,
    parent: Option<&Parent>,
) -> Result<()> {
    if settings.take_over {
        return Ok(());
    }
    preflight::check_owner(
        cluster,
        &install.name,
        parent.map(|p| &p.record),
        &install.platform,
    )?;
    Ok(())
}

/// The summary line, the JSON report with `-o json`, and the error when something failed.
fn print_report(
    settings: &ApplySettings,
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    done: Installed,
    printer: Printer,
) -> Result<Outcome> {
    let Installed {
        report,
        pruned: prune_report,
        ..
    } = done;
    printer.info(&report::apply_summary(&report, settings.dry_run));
    if settings.output == ListFormat::Json {
        let mut value = report::apply_json(&report, cluster, install, inventory, settings.dry_run);
        if let Some(pruned) = &prune_report {
            value["totals"]["kept"] = json!(pruned.kept.len());
            value["kept"] = report::remove::kept_json(&pruned.kept);
        }
        printer.json(&value)?;
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
