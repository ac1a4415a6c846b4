//! `kfctl delete`: remove an install by its inventory (`lifecycle::delete`). Its members are
//! deleted in the reverse of the apply's waves; PVCs, CRDs and namespaces in use are kept and
//! released unless `--purge`; the parent goes last. When something could not be deleted, the
//! parent stays and lists exactly what is left, so running the command again continues.

use anyhow::Result;
use tokio::time::Instant;

use super::Outcome;
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::inventory::{Inventory, Parent};
use crate::cluster::prune::{RemoveError, RemoveOptions};
use crate::errors::UserError;
use crate::lifecycle::delete::{self, Deleted};
use crate::lifecycle::render::check_name;
use crate::lifecycle::target;
use crate::output::{self, Printer, Progress, Question};
use crate::report;
use crate::settings::{DeleteSettings, InstallTarget};

pub async fn run(settings: &DeleteSettings, printer: Printer) -> Result<Outcome> {
    let name = settings.target.name();
    check_name(&name)?;
    let progress = Progress::on_stderr(printer, settings.dry_run);
    let events = progress.events();
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let cluster = target::connect(&settings.cluster).await?;
    let version = target::server_version(&cluster).await?;
    let inventory = Inventory::new(&name);
    printer.info(&report::target_lines(&cluster, &version, &inventory, None)[0]);
    // Nothing is written under `--dry-run`, so only a real delete holds the install's lock.
    let guard = target::lock(
        &cluster,
        &name,
        "kfctl delete",
        settings.dry_run,
        settings.lock_timeout,
        events,
    )
    .await?;
    let result = async {
        let parent = recorded(settings, &cluster, &inventory).await?;
        let [_, install] = report::target_lines(&cluster, &version, &inventory, Some(&parent));
        printer.info(&install);
        let members =
            delete::members(&cluster, &inventory, &parent, settings.purge, events).await?;
        let kept = members.iter().filter(|m| m.keep.is_some()).count();
        if !settings.dry_run && !settings.yes {
            confirm(
                settings,
                &name,
                members.len() - kept,
                kept,
                cluster.context(),
                printer,
            )?;
        }
        let options = RemoveOptions {
            dry_run: settings.dry_run,
            deadline,
            timeout: settings.timeout,
        };
        let deleted =
            delete::delete(&cluster, &inventory, &parent, members, &options, events).await?;
        let Deleted {
            report,
            parent_removed,
        } = deleted;
        let name = &inventory.install;
        printer.info(&report::remove::delete_summary(
            &report,
            name,
            parent_removed,
            settings.dry_run,
        ));
        if settings.output == ListFormat::Json {
            let value =
                report::remove::delete_json(&report, &cluster, &inventory, settings.dry_run);
            printer.json(&value)?;
        }
        match RemoveError::from_report(&report, settings.timeout) {
            None => Ok(Outcome::Success),
            Some(err) => Err(anyhow::Error::new(err).context(format!(
                "cannot delete install `{name}` from context `{}`",
                cluster.context()
            ))),
        }
    }
    .await;
    target::release(guard, events).await;
    result
}

/// The install's parent, which must be there and, with `-p PLATFORM`, of that platform.
async fn recorded(
    settings: &DeleteSettings,
    cluster: &Cluster,
    inventory: &Inventory,
) -> Result<Parent> {
    let name = &inventory.install;
    let Some(parent) = target::read_parent(cluster, inventory).await? else {
        return Err(UserError::new(format!(
            "no install `{name}` on context `{}`: {} does not exist",
            cluster.context(),
            inventory.parent_id()
        ))
        .with_hint("name the install with `--name` (`kubectl get configmaps -n kube-system -l app.kubernetes.io/managed-by=kfctl` lists them), or check `--context`")
        .into());
    };
    if let InstallTarget::Platform(Some(platform)) = &settings.target
        && !parent.record.platform.is_empty()
        && parent.record.platform != *platform
    {
        return Err(UserError::new(format!(
            "install `{name}` was applied with platform `{}`, not `{platform}`",
            parent.record.platform
        ))
        .with_hint("check `-p` and `--context`, or name the install with `--name`")
        .into());
    }
    Ok(parent)
}

fn confirm(
    settings: &DeleteSettings,
    name: &str,
    going: usize,
    kept: usize,
    context: &str,
    printer: Printer,
) -> Result<()> {
    let question = Question {
        prompt: format!(
            "Delete install `{name}` ({going} objects, {kept} kept) from context `{context}`?"
        ),
        verb: "delete",
        declined: "nothing deleted",
        hint: "pass `--yes` to delete without asking, or `--dry-run` to list what would go",
    };
    output::confirm(question, settings.no_prompt_reason.as_deref(), printer)
}
