//! `kfctl delete`: remove an install by its inventory. Its members (`cluster::prune`) are deleted
//! in the reverse of the apply's waves; PVCs, CRDs and namespaces in use are kept and released
//! unless `--purge`; the parent goes last. When something could not be deleted, the parent stays
//! and lists exactly what is left, so running the command again continues.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Outcome;
use super::apply::{check_name, default_name_of, seconds, wave_name};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::inventory::{self, Inventory, Parent, Record};
use crate::cluster::lock::{self, Lock};
use crate::cluster::prune::{
    self, Event, Member, Members, RemoveError, RemoveOptions, RemoveReport, Scan,
};
use crate::errors::UserError;
use crate::output::Printer;
use crate::resource::ResId;
use crate::settings::{DeleteSettings, InstallTarget};

pub async fn run(settings: &DeleteSettings, printer: Printer) -> Result<Outcome> {
    let name = settings.target.name(default_name_of);
    check_name(&name)?;
    delete_install(settings, &name, printer).await
}

async fn delete_install(
    settings: &DeleteSettings,
    name: &str,
    printer: Printer,
) -> Result<Outcome> {
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let cluster = Cluster::connect(settings.kubeconfig.as_deref(), settings.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    let version = cluster
        .server_version()
        .await
        .context("cannot reach the cluster")?;
    let inventory = Inventory::new(name);
    printer.info(&format!(
        "target: context `{}`, server {} (Kubernetes {version})",
        cluster.context(),
        cluster.server()
    ));
    // Nothing is written under `--dry-run`, so only a real delete holds the install's lock.
    let guard = if settings.dry_run {
        None
    } else {
        let guard = Lock::acquire(
            &cluster,
            name,
            &lock::holder_identity("kfctl delete"),
            settings.lock_timeout,
            |holder| {
                printer.info(&format!(
                    "waiting up to {}s for the lock of install `{name}`, held by `{}` since {}",
                    settings.lock_timeout.as_secs(),
                    holder.identity,
                    holder.since
                ))
            },
        )
        .await?;
        if let Some(stale) = &guard.took_over {
            printer.warn(&format!(
                "took over the lock of install `{name}`: it was stale, held by `{}` since {} and last renewed {}",
                stale.holder.identity, stale.holder.since, stale.renewed
            ));
        }
        Some(guard)
    };
    let result = delete_members(settings, name, printer, &cluster, &inventory, deadline).await;
    if let Some(guard) = guard {
        super::apply::release(guard, printer).await;
    }
    result
}

/// Everything after the target is named: read the inventory, confirm, delete, record.
async fn delete_members(
    settings: &DeleteSettings,
    name: &str,
    printer: Printer,
    cluster: &Cluster,
    inventory: &Inventory,
    deadline: Instant,
) -> Result<Outcome> {
    let parent = inventory
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?;
    let Some(parent) = parent else {
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
    printer.info(&format!(
        "install: `{name}` ({}last applied {}), inventory {}",
        if parent.record.platform.is_empty() {
            String::new()
        } else {
            format!(
                "platform `{}`, release `{}`, ",
                parent.record.platform, parent.record.release
            )
        },
        parent.record.applied_at,
        inventory.parent_id()
    ));

    let no_kinds = BTreeSet::new();
    let Members {
        mut members,
        disowned,
    } = prune::find_members(
        cluster,
        inventory,
        &Scan {
            parent: Some(&parent),
            group_kinds: &no_kinds,
            namespaces: &no_kinds,
            listed: None,
        },
    )
    .await
    .context("cannot find the install's objects")?;
    for d in &disowned {
        printer.warn(&format!(
            "not deleting {}: it is no longer labelled as part of install `{name}`",
            d.id
        ));
    }
    prune::mark_kept(cluster, inventory, &mut members, settings.purge)
        .await
        .context("cannot check which objects to keep")?;
    let kept = members.iter().filter(|m| m.keep.is_some()).count();
    let going = members.len() - kept;

    if !settings.dry_run && !settings.yes {
        confirm(settings, name, going, kept, cluster.context(), printer)?;
    }

    let dry_run = settings.dry_run;
    let on_event = |event: Event<'_>| match event {
        Event::WaveStarted { wave, objects: n } => {
            printer.info(&format!("deleting {wave} ({})", objects(n)))
        }
        Event::Removed(r) if dry_run => printer.info(&format!("  would delete {}", r.id)),
        Event::Removed(r) => printer.info(&format!("  deleted {}", r.id)),
        Event::Failed(f) => printer.info(&format!("  not deleted {}: {}", f.id, f.error)),
        Event::Waiting { pending, .. } => {
            printer.info(&format!("  waiting for {} to be gone", objects(pending)))
        }
    };
    let options = RemoveOptions {
        dry_run,
        deadline,
        timeout: settings.timeout,
    };
    let report = prune::remove(cluster, members, &options, &on_event).await;
    for k in &report.kept {
        if let Some(reason) = &k.keep {
            printer.info(&format!("  kept {} ({reason})", k.id));
        }
    }

    let parent_removed = if report.succeeded() {
        let unreleased = prune::release(cluster, &report.kept, dry_run).await;
        if let Some((id, error)) = unreleased.into_iter().next() {
            return Err(anyhow::Error::new(error).context(format!(
                "cannot release {id} from install `{name}`; the inventory is kept"
            )));
        }
        inventory
            .delete(cluster, dry_run)
            .await
            .context("cannot delete the install's inventory")?;
        true
    } else {
        record_remaining(cluster, inventory, &parent, &report, dry_run)
            .await
            .context("cannot record what is left of the install")?;
        false
    };

    printer.info(&summary(&report, name, parent_removed, dry_run));
    if settings.output == ListFormat::Json {
        let value = json_report(&report, cluster, name, inventory, dry_run);
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        printer.data(&text)?;
    }
    match RemoveError::from_report(&report, settings.timeout) {
        None => Ok(Outcome::Success),
        Some(err) => Err(anyhow::Error::new(err).context(format!(
            "cannot delete install `{name}` from context `{}`",
            cluster.context()
        ))),
    }
}

fn confirm(
    settings: &DeleteSettings,
    name: &str,
    going: usize,
    kept: usize,
    context: &str,
    printer: Printer,
) -> Result<()> {
    if let Some(reason) = &settings.no_prompt_reason {
        return Err(
            UserError::new(format!("will not delete without confirmation: {reason}"))
                .with_hint(
                    "pass `--yes` to delete without asking, or `--dry-run` to list what would go",
                )
                .into(),
        );
    }
    let question =
        format!("Delete install `{name}` ({going} objects, {kept} kept) from context `{context}`?");
    let term = dialoguer::console::Term::stderr();
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on_opt(&term)
        .context("cannot read the answer")?;
    if answer == Some(true) && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        printer.info("nothing deleted");
        Err(UserError::new("delete not confirmed").into())
    }
}

/// After a delete that did not finish, the parent lists exactly what is still the install's:
/// what was not deleted, and what would have been kept.
async fn record_remaining(
    cluster: &Cluster,
    inventory: &Inventory,
    parent: &Parent,
    report: &RemoveReport,
    dry_run: bool,
) -> Result<bool, crate::cluster::ClusterError> {
    let recorded: BTreeMap<prune::Key, (&ResId, &String)> = parent
        .record
        .objects
        .iter()
        .map(|(id, digest)| (prune::key(id), (id, digest)))
        .collect();
    let left = report
        .remaining()
        .into_iter()
        .chain(report.kept.iter().map(|m| m.id.clone()));
    let mut objects = BTreeMap::new();
    let mut group_kinds = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for id in left {
        let (id, digest) = match recorded.get(&prune::key(&id)) {
            Some((recorded_id, digest)) => ((*recorded_id).clone(), (*digest).clone()),
            None => (id, String::new()),
        };
        group_kinds.insert(inventory::group_kind(&id.gvk));
        if !id.namespace.is_empty() && id.namespace != inventory::NAMESPACE {
            namespaces.insert(id.namespace.clone());
        }
        objects.insert(id, digest);
    }
    let record = Record {
        objects,
        applied_at: inventory::now_rfc3339(),
        ..parent.record.clone()
    };
    inventory
        .record(
            cluster,
            Some(parent),
            &group_kinds,
            &namespaces,
            &record,
            dry_run,
        )
        .await
}

/// `1 object`, `2 objects`.
pub(super) fn objects(n: usize) -> String {
    if n == 1 {
        "1 object".to_owned()
    } else {
        format!("{n} objects")
    }
}

fn summary(report: &RemoveReport, name: &str, parent_removed: bool, dry_run: bool) -> String {
    let counts = format!(
        "{} {}, {} kept",
        report.removed.len(),
        if dry_run {
            "would be deleted"
        } else {
            "deleted"
        },
        report.kept.len()
    );
    let mut line = if dry_run {
        format!("dry run: {counts}; nothing was changed")
    } else {
        format!("{counts} in {}", seconds(report.elapsed))
    };
    if !report.failed.is_empty() {
        line.push_str(&format!(", {} failed", report.failed.len()));
    }
    if !report.stuck.is_empty() {
        line.push_str(&format!(", {} still there", report.stuck.len()));
    }
    if parent_removed && !dry_run {
        line.push_str(&format!("; install `{name}` is gone"));
        if !report.kept.is_empty() {
            line.push_str(" (what was kept is no longer part of it; `--purge` deletes it too)");
        }
    }
    line
}

fn object_json(id: &ResId) -> Value {
    json!({
        "id": id.to_string(),
        "apiVersion": id.gvk.api_version(),
        "kind": id.gvk.kind,
        "namespace": Some(id.namespace.as_str()).filter(|n| !n.is_empty()),
        "name": id.name,
    })
}

/// Kept objects with why, for `-o json` reports.
pub(super) fn kept_json(kept: &[Member]) -> Value {
    Value::Array(
        kept.iter()
            .map(|m| {
                let mut v = object_json(&m.id);
                v["action"] = json!("kept");
                v["wave"] = json!(wave_name(m.wave));
                v["reason"] = json!(m.keep.as_ref().map(ToString::to_string));
                v
            })
            .collect(),
    )
}

fn json_report(
    report: &RemoveReport,
    cluster: &Cluster,
    name: &str,
    inventory: &Inventory,
    dry_run: bool,
) -> Value {
    let mut objects: Vec<Value> = report
        .removed
        .iter()
        .map(|r| {
            let mut v = object_json(&r.id);
            v["action"] = json!("deleted");
            v["wave"] = json!(wave_name(r.wave));
            v["durationMs"] = json!(r.duration.as_millis() as u64);
            v
        })
        .collect();
    if let Value::Array(kept) = kept_json(&report.kept) {
        objects.extend(kept);
    }
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| json!({"id": f.id.to_string(), "wave": wave_name(f.wave), "error": f.error.to_string()}))
        .collect();
    let stuck: Vec<Value> = report
        .stuck
        .iter()
        .map(|s| {
            json!({"id": s.id.to_string(), "wave": wave_name(s.wave), "finalizers": s.finalizers, "detail": s.detail})
        })
        .collect();
    json!({
        "context": cluster.context(),
        "server": cluster.server(),
        "install": name,
        "inventory": inventory.parent_id().to_string(),
        "applysetId": inventory.id,
        "dryRun": dry_run,
        "succeeded": report.succeeded(),
        "durationMs": report.elapsed.as_millis() as u64,
        "totals": {
            "deleted": report.removed.len(),
            "kept": report.kept.len(),
            "failed": report.failed.len(),
            "stuck": report.stuck.len(),
            "notStarted": report.not_started.len(),
        },
        "objects": objects,
        "failed": failed,
        "stuck": stuck,
    })
}
