//! Reports of drift, shared by `kfctl diff` and `kfctl status`.

use serde_json::{Value, json};

use crate::cluster::drift::{DriftReport, ObjectReport};

/// The version of the JSON reports of `diff` and `status`; bumped when a field changes meaning
/// or goes away (adding one does not).
pub const SCHEMA_VERSION: u32 = 1;

/// A line about one object, for a person: action, id, drift and the fields.
pub fn describe(object: &ObjectReport) -> String {
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

pub fn object_json(object: &ObjectReport, with_diff: bool) -> Value {
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

pub fn recorded_json(report: &DriftReport) -> Value {
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
