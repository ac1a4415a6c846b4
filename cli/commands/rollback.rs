//! `kfctl rollback [--to-revision N]`: render a recorded revision again from what the record
//! pins and apply it as a new revision. CRDs that would lose stored data are kept as they are.

use anyhow::{Context, Result};
use serde_json::json;

use super::Outcome;
use super::apply;
use super::history::{self, failure_line};
use super::upgrade::{keep_newer_crds, print_plan, render_pin};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::ApplyError;
use crate::cluster::inventory::Inventory;
use crate::errors::UserError;
use crate::output::Printer;
use crate::settings::RollbackSettings;
use crate::upgrade::plan;
use crate::upgrade::revision::{self, Revision, RevisionAction, RevisionResult};

pub async fn run(settings: &RollbackSettings, printer: Printer) -> Result<Outcome> {
    rollback(settings, printer).await
}

/// The revision to go back to: the one asked for, else the last that succeeded before the
/// current one.
fn target(revisions: &[Revision], asked: Option<u32>, name: &str) -> Result<Revision> {
    let kept = || {
        revisions
            .iter()
            .map(|r| r.number.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(n) = asked {
        return revisions
            .iter()
            .find(|r| r.number == n)
            .cloned()
            .ok_or_else(|| {
                UserError::new(format!("install `{name}` has no revision {n}"))
                    .with_hint(format!(
                        "the record keeps revisions {}; `kfctl history` lists them",
                        kept()
                    ))
                    .into()
            });
    }
    let current = revision::current(revisions).map(|r| r.number);
    revisions
        .iter()
        .rev()
        .filter(|r| r.result == RevisionResult::Succeeded)
        .find(|r| Some(r.number) != current)
        .cloned()
        .ok_or_else(|| {
            UserError::new(format!(
                "install `{name}` has no earlier revision that succeeded to go back to"
            ))
            .with_hint("`kfctl history` lists the revisions; pick one with `--to-revision N`")
            .into()
        })
}

async fn rollback(settings: &RollbackSettings, printer: Printer) -> Result<Outcome> {
    super::apply::check_name(&settings.name)?;
    let apply_settings = &settings.apply;
    let cluster = Cluster::connect(
        apply_settings.kubeconfig.as_deref(),
        apply_settings.context.as_deref(),
    )
    .await
    .context("cannot connect to the cluster")?;
    let name = &settings.name;
    let inventory = Inventory::new(name);
    apply::describe_target(&cluster, &inventory, printer).await?;
    let (parent, revisions) = history::read_revisions(&cluster, name).await?;
    let target = target(&revisions, settings.to_revision, name)?;
    printer.info(&format!(
        "rollback: install `{name}` to revision {} ({}, {})",
        target.number,
        target.action,
        target.pin.describe()
    ));
    let mut install = render_pin(&target.pin, name, printer)
        .with_context(|| format!("cannot render revision {} again", target.number))?;
    let kept = keep_newer_crds(&cluster, &mut install, printer).await?;
    let facts = super::upgrade::live_facts(&cluster, &install, &parent.record.objects).await?;
    let rollback_plan = plan::plan(
        None,
        &parent.record.objects,
        &install.resources,
        &|res| install.digest(res),
        &facts,
    );
    print_plan(&rollback_plan, printer);
    let version = cluster
        .server_version()
        .await
        .context("cannot reach the cluster")?;
    let pruned: Vec<crate::resource::ResId> = parent
        .record
        .objects
        .keys()
        .filter(|id| rollback_plan.pruned.contains(&id.to_string()))
        .cloned()
        .collect();
    apply::check_cluster_pruning(
        apply_settings,
        &install,
        &cluster,
        &version,
        &pruned,
        printer,
    )
    .await?;
    if !apply_settings.dry_run && !apply_settings.yes {
        apply::confirm(apply_settings, &install, cluster.context(), printer)?;
    }
    let guard =
        apply::acquire_lock(&cluster, name, apply_settings, "kfctl rollback", printer).await?;
    let done = apply::apply_install(
        apply_settings,
        &cluster,
        &install,
        Some(parent),
        RevisionAction::Rollback,
        Some(target.number),
        printer,
    )
    .await;
    if let Some(guard) = guard {
        apply::release(guard, printer).await;
    }
    let done = done?;
    printer.info(&apply::summary(&done.report, apply_settings.dry_run));
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
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    }
    match ApplyError::from_report(done.report, apply_settings.timeout) {
        None => Ok(Outcome::Success),
        Some(err) => Err(anyhow::Error::new(err).context(format!(
            "cannot roll install `{name}` back to revision {}",
            target.number
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upgrade::revision::tests::sample;

    fn revision(number: u32, result: RevisionResult) -> Revision {
        Revision {
            result,
            ..sample(number)
        }
    }

    #[test]
    fn the_default_target_is_the_last_success_before_the_current_one() {
        let revisions = vec![
            revision(1, RevisionResult::Succeeded),
            revision(2, RevisionResult::Failed),
            revision(3, RevisionResult::Succeeded),
            revision(4, RevisionResult::RolledBack),
        ];
        assert_eq!(target(&revisions, None, "kf").unwrap().number, 1);
        assert_eq!(target(&revisions, Some(2), "kf").unwrap().number, 2);
        let missing = target(&revisions, Some(9), "kf").unwrap_err();
        assert!(missing.to_string().contains("no revision 9"), "{missing}");
        assert!(target(&revisions[..1], None, "kf").is_err());
    }
}
