//! The body kfctl sends for an object, and whether a live object already holds it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::is_crd_kind;
use crate::resource::Resource;

/// The object as kfctl sends it: the render's body with the inventory labels added. An
/// aggregated ClusterRole (one with an `aggregationRule`) goes without `rules`: the API server's
/// clusterrole-aggregation-controller owns them, and sending any would conflict with it on every
/// apply after the first.
pub fn desired(res: &Resource, labels: &BTreeMap<String, String>) -> Value {
    let mut body = res.body.clone();
    if res.kind() == "ClusterRole"
        && res.api_version().starts_with("rbac.authorization.k8s.io/")
        && body.get("aggregationRule").is_some_and(|r| !r.is_null())
        && let Some(obj) = body.as_object_mut()
    {
        obj.remove("rules");
    }
    if labels.is_empty() {
        return body;
    }
    let meta = crate::resource::object_mut(&mut body)
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        let current = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(current) = current.as_object_mut() {
            for (k, v) in labels {
                current.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    body
}

/// An object as compared for "would this apply change anything": without the fields that
/// differ between two reads of an unchanged object (`resourceVersion`, and the times in
/// `managedFields`).
pub(super) fn comparable(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(fields) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            for entry in fields {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
    }
    obj
}

/// Whether applying would leave `live` as it is, judged from the server's dry run.
pub fn unchanged(live: &Value, dry_run: &Value) -> bool {
    comparable(live) == comparable(dry_run)
}

/// `metadata.generation`, when the server keeps one for the object.
pub(super) fn generation_of(obj: &Value) -> Option<i64> {
    obj.pointer("/metadata/generation").and_then(Value::as_i64)
}

/// Whether `live` holds every field that applying `res` with `labels` sends ([`desired`]), as
/// [`compare::contains`](crate::resource::compare::contains) judges it, without copying the
/// body: a cluster-scoped object shows no namespace (the server drops the one a render names),
/// a CRD's status is the server's (it ignores the one sent), an aggregated ClusterRole's rules
/// are its aggregator's. With `metadata_only`, only the metadata is looked at.
pub(super) fn holds(
    live: &Value,
    res: &Resource,
    labels: &BTreeMap<String, String>,
    cluster_scoped: bool,
    metadata_only: bool,
) -> bool {
    use crate::resource::compare::contains_field;
    let Some(want) = res.body.as_object() else {
        return false;
    };
    let live_meta = live.get("metadata");
    let live_labels = live_meta.and_then(|m| m.get("labels"));
    let labelled = labels.iter().all(|(k, v)| {
        live_labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str())
    });
    let crd = is_crd_kind(&res.gvk());
    let aggregated = res.kind() == "ClusterRole"
        && res.api_version().starts_with("rbac.authorization.k8s.io/")
        && want.get("aggregationRule").is_some_and(|r| !r.is_null());
    labelled
        && want.iter().all(|(key, w)| match key.as_str() {
            "metadata" => match w.as_object() {
                Some(meta) => meta.iter().all(|(field, w)| match field.as_str() {
                    "namespace" if cluster_scoped => true,
                    // The install's labels replace rendered ones of the same key.
                    "labels" => w.as_object().is_none_or(|rendered| {
                        rendered
                            .iter()
                            .filter(|(k, _)| !labels.contains_key(*k))
                            .all(|(k, w)| {
                                contains_field(live_labels.and_then(|l| l.get(k)), w, k, "labels")
                            })
                    }),
                    _ => contains_field(live_meta.and_then(|m| m.get(field)), w, field, "metadata"),
                }),
                None => contains_field(live_meta, w, key, ""),
            },
            _ if metadata_only => true,
            "status" if crd => true,
            "rules" if aggregated => true,
            _ => contains_field(live.get(key), w, key, ""),
        })
}
