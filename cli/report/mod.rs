//! Reports, for a person and for a program: the text lines and JSON documents commands print
//! from what the lifecycle engine returns.

pub mod drift;
pub mod health;
pub mod remove;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::cluster::apply::{Action, ApplyReport};
use crate::cluster::inventory::{Inventory, Parent};
use crate::lifecycle::render::Install;
use crate::upgrade::plan::UpgradePlan;

/// The cluster and the install about to change, in two lines.
pub fn target_lines(
    cluster: &Cluster,
    version: &str,
    inventory: &Inventory,
    parent: Option<&Parent>,
) -> [String; 2] {
    let recorded = match parent {
        None => "new".to_owned(),
        Some(p) if p.record.platform.is_empty() => {
            format!("last applied {}", p.record.applied_at)
        }
        Some(p) => format!(
            "platform `{}`, release `{}`, last applied {}",
            p.record.platform, p.record.release, p.record.applied_at
        ),
    };
    [
        format!(
            "target: context `{}`, server {} (Kubernetes {version})",
            cluster.context(),
            cluster.server()
        ),
        format!(
            "install: `{}` ({recorded}), inventory {}",
            inventory.install,
            inventory.parent_id()
        ),
    ]
}

/// The plan, for a person: a line each.
pub fn plan_lines(plan: &UpgradePlan) -> Vec<String> {
    let mut lines = Vec::new();
    let mut head = format!(
        "plan: {} to create, {} to change, {} to prune, {} unchanged",
        plan.created.len(),
        plan.changed.len(),
        plan.pruned.len(),
        plan.unchanged
    );
    if !plan.kept.is_empty() {
        head.push_str(&format!(", {} kept", plan.kept.len()));
    }
    lines.push(head);
    if !plan.migrations.is_empty() {
        lines.push("migrations (done first, in this order):".to_owned());
        for m in &plan.migrations {
            lines.push(format!(
                "  {} {} ({}: {})",
                m.action, m.id, m.release, m.reason
            ));
        }
    }
    for id in &plan.created {
        lines.push(format!("  + {id}"));
    }
    for c in &plan.changed {
        if c.paths.is_empty() {
            lines.push(format!("  ~ {}", c.id));
        } else {
            lines.push(format!("  ~ {}: {}", c.id, c.paths.join(", ")));
        }
    }
    for id in &plan.pruned {
        lines.push(format!("  - {id}"));
    }
    for k in &plan.kept {
        lines.push(format!(
            "  = {} kept, no longer part of the install: {}",
            k.id, k.reason
        ));
    }
    if !plan.images.is_empty() {
        lines.push("images:".to_owned());
        for i in &plan.images {
            lines.push(format!(
                "  {} container `{}`: {} -> {}",
                i.object, i.container, i.from, i.to
            ));
        }
    }
    if !plan.crds.is_empty() {
        lines.push("CRDs:".to_owned());
        for c in &plan.crds {
            let mut line = format!("  {}", c.name);
            if c.removed {
                line.push_str(": leaves the render");
            }
            if !c.added_versions.is_empty() {
                line.push_str(&format!(" +{}", c.added_versions.join(",+")));
            }
            if !c.removed_versions.is_empty() {
                line.push_str(&format!(" -{}", c.removed_versions.join(",-")));
            }
            if let Some(b) = &c.blocked {
                line.push_str(&format!(": BLOCKED: {b}"));
            }
            lines.push(line);
        }
    }
    let unhandled = plan.unhandled_immutable();
    if !unhandled.is_empty() {
        lines.push(
            "needs a recreate with `--force` (the API server will not change these in place):"
                .to_owned(),
        );
        for c in unhandled {
            lines.push(format!("  {} `{}`: {}", c.id, c.field, c.reason));
        }
    }
    if !plan.components.is_empty() {
        lines.push("components:".to_owned());
        for c in &plan.components {
            lines.push(format!("  {} {}", c.change, c.name));
            for d in &c.detail {
                lines.push(format!("    {d}"));
            }
        }
    }
    lines
}

pub fn seconds(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

pub fn apply_summary(report: &ApplyReport, dry_run: bool) -> String {
    let mut counts = format!(
        "{} created, {} configured, {} unchanged",
        report.count(Action::Created),
        report.count(Action::Configured),
        report.count(Action::Unchanged)
    );
    if report.count(Action::Recreated) > 0 {
        counts.push_str(&format!(", {} recreated", report.count(Action::Recreated)));
    }
    if report.count(Action::Pruned) > 0 {
        counts.push_str(&format!(", {} pruned", report.count(Action::Pruned)));
    }
    let left = [
        (report.failed.len(), "failed"),
        (report.not_ready.len(), "not ready"),
    ];
    let mut line = summary_line(&counts, dry_run.then_some("written"), report.elapsed, &left);
    if report.succeeded() && !dry_run {
        line.push_str("; everything is healthy");
    }
    line
}

/// A run's summary line: its counts, as a dry run that `nothing_was` (written, changed) or
/// as a run that took `elapsed`, then each count of objects left in a state, when not zero.
fn summary_line(
    counts: &str,
    nothing_was: Option<&str>,
    elapsed: std::time::Duration,
    left: &[(usize, &str)],
) -> String {
    let mut line = match nothing_was {
        Some(what) => format!("dry run: {counts}; nothing was {what}"),
        None => format!("{counts} in {}", seconds(elapsed)),
    };
    for (count, state) in left.iter().filter(|(count, _)| *count > 0) {
        line.push_str(&format!(", {count} {state}"));
    }
    line
}

pub fn wave_name(wave: crate::plan::Wave) -> String {
    format!("{wave:?}").to_lowercase()
}

pub fn apply_json(
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
    let run = (dry_run, report.succeeded(), report.elapsed);
    let rest = json!({
        "totals": {
            "objects": install.resources.len(),
            "created": report.count(Action::Created),
            "configured": report.count(Action::Configured),
            "unchanged": report.count(Action::Unchanged),
            "recreated": report.count(Action::Recreated),
            "pruned": report.count(Action::Pruned),
            "failed": report.failed.len(),
            "notReady": report.not_ready.len(),
            "skipped": report.skipped.iter().map(|(_, n)| n).sum::<usize>(),
        },
        "objects": objects,
        "failed": failed,
        "notReady": not_ready,
    });
    run_json(cluster, inventory, run, rest)
}

/// The `-o json` report of a run on an install: where it ran; whether it was a dry run, whether
/// it succeeded and how long it took (`run`); then the fields of `rest`, an object.
fn run_json(
    cluster: &Cluster,
    inventory: &Inventory,
    (dry_run, succeeded, elapsed): (bool, bool, std::time::Duration),
    rest: Value,
) -> Value {
    let mut value = json!({
        "context": cluster.context(),
        "server": cluster.server(),
        "install": inventory.install,
        "inventory": inventory.parent_id().to_string(),
        "applysetId": inventory.id,
        "dryRun": dry_run,
        "succeeded": succeeded,
        "durationMs": elapsed.as_millis() as u64,
    });
    if let (Value::Object(head), Value::Object(rest)) = (&mut value, rest) {
        head.extend(rest);
    }
    value
}
