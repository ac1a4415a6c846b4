//! `kfctl diff -p PLATFORM | -f kfctl.yaml | -k DIR`: what an apply would change and what
//! drifted (`cluster::drift`), as unified diffs or one JSON report (`docs/schema/diff.json`);
//! `--fix` applies the objects that differ and takes strays out of the install.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Outcome;
use super::apply::{Install, render_install};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::{self, ApplyError, ApplyOptions, CONCURRENCY};
use crate::cluster::drift::{self, Action, Desired, DriftReport, IgnoreRule, ObjectReport};
use crate::cluster::inventory::{self, Inventory, Record};
use crate::errors::UserError;
use crate::output::Printer;
use crate::profile::config::DriftIgnore;
use crate::resource::{ResId, ResourceSet};
use crate::settings::DiffSettings;

/// The version of the JSON reports of `diff` and `status`; bumped when a field changes meaning
/// or goes away (adding one does not).
pub(super) const SCHEMA_VERSION: u32 = 1;

pub async fn run(settings: &DiffSettings, printer: Printer) -> Result<Outcome> {
    if settings.input.is_none() {
        return Err(UserError::new(
            "nothing to compare: no platform, `kfctl.yaml` or kustomization was given",
        )
        .with_hint("pass `-p PLATFORM`, `-f kfctl.yaml` or `-k DIR`, as to `kfctl apply`")
        .into());
    }
    let install = render_install(
        settings.input.as_ref(),
        settings.name.as_deref(),
        &settings.sources,
        printer,
    )?;
    diff_install(settings, install, printer).await
}

pub(super) fn rules(ignore: &[DriftIgnore]) -> Vec<IgnoreRule> {
    ignore
        .iter()
        .map(|r| IgnoreRule {
            group: r.group.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            paths: r.paths.clone(),
        })
        .collect()
}

async fn diff_install(
    settings: &DiffSettings,
    install: Install,
    printer: Printer,
) -> Result<Outcome> {
    let started = Instant::now();
    let cluster = Cluster::connect(settings.kubeconfig.as_deref(), settings.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    let inventory = Inventory::new(&install.name);
    let desired = Desired {
        resources: &install.resources,
        labels: inventory.member_labels(),
    };
    let report = drift::check(
        &cluster,
        &inventory,
        Some(&desired),
        &rules(&settings.ignore),
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
        fixed = fix(settings, &cluster, &install, &inventory, &report, printer).await?;
    }
    if settings.output == ListFormat::Json {
        let mut value = json_report(&report, &cluster, &install.name, &inventory);
        if settings.fix {
            value["fixed"] = json!(fixed);
        }
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        printer.data(&text)?;
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

/// A line about one object, for a person: action, id, drift and the fields.
pub(super) fn describe(object: &ObjectReport) -> String {
    let mut line = match object.action {
        Some(action) => format!("{action} {}", object.id),
        None => object.id.to_string(),
    };
    if let Some(drift) = object.drift {
        line.push_str(&format!(" ({drift}"));
        if object.fields_unknown {
            line.push_str(": pass `-p`, `-f` or `-k` to see which fields");
        }
        line.push(')');
    }
    for field in &object.fields {
        line.push_str(&format!("\n      {} {}", field.state, field.path));
        if !field.managers.is_empty() {
            line.push_str(&format!(" (owned by {})", field.managers.join(", ")));
        }
    }
    line
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
    let count = |a: Action| {
        report
            .objects
            .iter()
            .filter(|o| o.action == Some(a))
            .count()
    };
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

pub(super) fn object_json(object: &ObjectReport, with_diff: bool) -> Value {
    let mut value = json!({
        "id": object.id.to_string(),
        "apiVersion": object.id.gvk.api_version(),
        "kind": object.id.gvk.kind,
        "namespace": (!object.id.namespace.is_empty()).then_some(&object.id.namespace),
        "name": object.id.name,
        "drift": object.drift,
        "fields": object.fields,
        "fieldsKnown": !object.fields_unknown,
    });
    if with_diff {
        value["action"] = json!(object.action);
        value["diff"] = json!(object.diff);
    }
    value
}

pub(super) fn recorded_json(report: &DriftReport) -> Value {
    match &report.parent {
        None => Value::Null,
        Some(p) => json!({
            "release": p.record.release,
            "platform": p.record.platform,
            "configDigest": p.record.config_digest,
            "appliedAt": p.record.applied_at,
            "objects": p.record.objects.len(),
        }),
    }
}

fn json_report(
    report: &DriftReport,
    cluster: &Cluster,
    install: &str,
    inventory: &Inventory,
) -> Value {
    let count = |a: Action| {
        report
            .objects
            .iter()
            .filter(|o| o.action == Some(a))
            .count()
    };
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

/// Applies the created and changed objects (taking fields back from other managers), takes
/// strays out of the install, and records the result. Returns the ids it acted on.
async fn fix(
    settings: &DiffSettings,
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    report: &DriftReport,
    printer: Printer,
) -> Result<Vec<String>> {
    let to_apply: BTreeSet<&ResId> = report
        .objects
        .iter()
        .filter(|o| matches!(o.action, Some(Action::Create | Action::Change)))
        .filter_map(|o| o.rendered.as_ref())
        .collect();
    let strays: Vec<&ResId> = report
        .objects
        .iter()
        .filter(|o| o.drift == Some(drift::Drift::Stray))
        .map(|o| &o.id)
        .collect();
    // Live ids of the objects to apply, by rendered id: ignored fields keep their live values.
    let live_ids: BTreeMap<&ResId, &ResId> = report
        .objects
        .iter()
        .filter_map(|o| Some((o.rendered.as_ref()?, &o.id)))
        .collect();
    let rules = rules(&settings.ignore);
    let mut subset = ResourceSet::new();
    for res in install
        .resources
        .iter()
        .filter(|r| to_apply.contains(&r.id()))
    {
        let mut res = res.clone();
        if let Some(id) = live_ids.get(&res.id())
            && let Some(live) = report.live.get(*id)
        {
            let ignored = drift::ignored_for(id, Some(live), &rules);
            drift::keep_ignored(&mut res.body, live, &ignored);
        }
        subset.push(res).map_err(|e| *e)?;
    }
    if subset.is_empty() && strays.is_empty() {
        return Ok(Vec::new());
    }
    if !settings.yes {
        if let Some(reason) = &settings.no_prompt_reason {
            return Err(
                UserError::new(format!("will not fix without confirmation: {reason}"))
                    .with_hint("pass `--yes` to apply what differs without asking")
                    .into(),
            );
        }
        let question = format!(
            "Apply {} objects and release {} strays in context `{}`?",
            subset.len(),
            strays.len(),
            cluster.context()
        );
        let answer = dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on_opt(&dialoguer::console::Term::stderr())
            .context("cannot read the answer")?;
        if answer != Some(true) {
            return Err(UserError::new("fix not confirmed").into());
        }
    }

    let mut fixed = Vec::new();
    let options = ApplyOptions {
        dry_run: false,
        force_conflicts: true,
        concurrency: CONCURRENCY,
        deadline: Instant::now() + settings.timeout,
        timeout: settings.timeout,
        labels: inventory.member_labels(),
        // Each object of the subset drifted: none is skipped as unchanged.
        recorded: Default::default(),
        generations: Default::default(),
        digests: Default::default(),
        force: false,
    };
    let applied = if subset.is_empty() {
        None
    } else {
        let on_event = |event: apply::Event<'_>| {
            if let apply::Event::Applied(a) = event {
                printer.info(&format!("  restored {} ({})", a.id, a.action));
            }
        };
        Some(apply::apply(cluster, &subset, &options, &on_event).await)
    };
    for id in strays {
        drift::release_stray(cluster, id)
            .await
            .with_context(|| format!("cannot take {id} out of install `{}`", install.name))?;
        printer.info(&format!(
            "  released stray {id} (its membership label removed)"
        ));
        fixed.push(id.to_string());
    }
    if let Some(applied) = applied {
        fixed.extend(applied.applied.iter().map(|a| a.id.to_string()));
        let namespaces: BTreeSet<String> = applied
            .applied
            .iter()
            .filter_map(|a| a.namespace.clone())
            .filter(|ns| ns != inventory::NAMESPACE)
            .collect();
        let applied_ids: Vec<(ResId, String)> = applied
            .applied
            .iter()
            .filter_map(|a| {
                // The render's digest, not that of what was sent (ignored fields as live).
                let digest = install.digests.get(&a.id)?;
                let key = ResId::new(
                    a.id.gvk.clone(),
                    &a.id.name,
                    a.namespace.as_deref().unwrap_or(""),
                );
                Some((key, digest.clone()))
            })
            .collect();
        if let Some(err) = ApplyError::from_report(applied, settings.timeout) {
            return Err(anyhow::Error::new(err).context(format!(
                "cannot restore install `{}` in context `{}`",
                install.name,
                cluster.context()
            )));
        }
        record_fix(cluster, inventory, install, report, applied_ids, namespaces).await?;
    }
    printer.info(&format!(
        "fixed {} object{}",
        fixed.len(),
        if fixed.len() == 1 { "" } else { "s" }
    ));
    Ok(fixed)
}

/// Writes the record again with the restored objects' digests.
async fn record_fix(
    cluster: &Cluster,
    inventory: &Inventory,
    install: &Install,
    report: &DriftReport,
    applied: Vec<(ResId, String)>,
    namespaces: BTreeSet<String>,
) -> Result<()> {
    let parent = report.parent.as_ref();
    let mut record = parent.map(|p| p.record.clone()).unwrap_or_else(|| Record {
        release: install.release.clone(),
        platform: install.platform.clone(),
        config_digest: install.config_digest.clone(),
        ..Record::default()
    });
    for (id, digest) in applied {
        record.objects.insert(id, digest);
    }
    let gvks = record.objects.keys().map(|id| id.gvk.clone()).collect();
    let mut owned = drift::owned_digests(cluster, inventory, &gvks)
        .await
        .context("cannot read what kfctl owns after the fix")?;
    owned.retain(|id, _| record.objects.contains_key(id));
    record.owned = owned;
    record.applied_at = inventory::now_rfc3339();
    let group_kinds: BTreeSet<String> = parent
        .map(|p| p.group_kinds.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(
            record
                .objects
                .keys()
                .map(|id| inventory::group_kind(&id.gvk)),
        )
        .collect();
    let all_namespaces: BTreeSet<String> = parent
        .map(|p| p.namespaces.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(namespaces)
        .collect();
    inventory
        .record(
            cluster,
            parent,
            &group_kinds,
            &all_namespaces,
            &record,
            false,
        )
        .await
        .context("cannot record the fix in the install's inventory")?;
    Ok(())
}
