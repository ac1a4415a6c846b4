//! Reports of removals: `kfctl delete`, and what pruning kept.

use serde_json::{Value, json};

use super::{run_json, summary_line, wave_name};
use crate::cluster::Cluster;
use crate::cluster::inventory::Inventory;
use crate::cluster::prune::{Member, RemoveReport};
use crate::resource::ResId;

pub fn delete_summary(
    report: &RemoveReport,
    name: &str,
    parent_removed: bool,
    dry_run: bool,
) -> String {
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
    let left = [
        (report.failed.len(), "failed"),
        (report.stuck.len(), "still there"),
    ];
    let mut line = summary_line(&counts, dry_run.then_some("changed"), report.elapsed, &left);
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
pub fn kept_json(kept: &[Member]) -> Value {
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

pub fn delete_json(
    report: &RemoveReport,
    cluster: &Cluster,
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
    let run = (dry_run, report.succeeded(), report.elapsed);
    let rest = json!({
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
    });
    run_json(cluster, inventory, run, rest)
}
