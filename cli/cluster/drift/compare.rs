//! Comparing a dry run of the desired object with live on kfctl's fields, and the diff shown
//! for it, Secret values masked.

use std::fmt;

use serde_json::Value;

use super::fields::{kfctl_fields, other_owners, owned_paths, trie_owns, value_at};
use super::ignore::Ignored;
use crate::resource::ResId;

/// How one field of an object drifted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// JSON pointer to the field.
    pub path: String,
    pub state: FieldState,
    /// The other field managers that own it now.
    pub managers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldState {
    /// Its value is not the one kfctl applies.
    Modified,
    /// kfctl would set it and live has none.
    Missing,
    /// Its value is kfctl's, but another field manager took it over.
    ForeignOwned,
    /// kfctl owns it now and would remove it: the render no longer sets it.
    Removed,
}

impl fmt::Display for FieldState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldState::Modified => "modified",
            FieldState::Missing => "missing",
            FieldState::ForeignOwned => "foreign-owned",
            FieldState::Removed => "removed",
        })
    }
}

/// Compares the server's dry run of the desired object (`would`) with `live` on the fields
/// kfctl owns in either.
pub fn compare(would: &Value, live: &Value, ignored: &Ignored) -> Vec<FieldDrift> {
    let mut out = Vec::new();
    let wanted = kfctl_fields(would).map(owned_paths).unwrap_or_default();
    let live_fields = kfctl_fields(live);
    for path in &wanted {
        let text = path.to_string();
        if ignored.covers(&text) {
            continue;
        }
        let (w, l) = (value_at(would, path), value_at(live, path));
        let owners = other_owners(live, path);
        let lost = live_fields.is_none_or(|f| !trie_owns(f, path));
        // Every write takes ownership of what it changes: an update (`kubectl edit`, `scale`,
        // `set image`) is a modification; another manager's server-side apply is a takeover.
        let applied_by_other = lost && owners.iter().any(|(_, apply)| *apply);
        let state = if l.is_none() && w.is_some() {
            FieldState::Missing
        } else if applied_by_other || (w == l && lost) {
            FieldState::ForeignOwned
        } else if w != l {
            FieldState::Modified
        } else {
            continue;
        };
        out.push(FieldDrift {
            path: text,
            state,
            managers: owners.into_iter().map(|(m, _)| m).collect(),
        });
    }
    if let Some(fields) = live_fields {
        let would_fields = kfctl_fields(would);
        for path in owned_paths(fields) {
            let text = path.to_string();
            if ignored.covers(&text) || would_fields.is_some_and(|f| trie_owns(f, &path)) {
                continue;
            }
            if value_at(would, &path) != value_at(live, &path) {
                out.push(FieldDrift {
                    path: text,
                    state: FieldState::Removed,
                    managers: Vec::new(),
                });
            }
        }
    }
    out
}

/// An object as shown in a diff: without what the server keeps for itself, Secret values
/// masked.
pub fn for_display(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
    }
    obj
}

/// Masks the values of a Secret's `data` and `stringData`, `live` and `desired` together: a
/// value that differs shows as `*** (live)` against `*** (desired)`, one that does not as `***`.
pub fn redact_pair(live: &mut Value, desired: &mut Value) {
    let is_secret = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("Secret");
    if !is_secret(live) && !is_secret(desired) {
        return;
    }
    for field in ["data", "stringData"] {
        let before = live.get(field).cloned().unwrap_or(Value::Null);
        let after = desired.get(field).cloned().unwrap_or(Value::Null);
        let mask = |own: &mut Value, other: &Value, marker: &str| {
            if let Some(map) = own.get_mut(field).and_then(Value::as_object_mut) {
                for (key, value) in map.iter_mut() {
                    let same = other.get(key) == Some(&*value);
                    *value = Value::String(if same {
                        "***".to_owned()
                    } else {
                        format!("*** ({marker})")
                    });
                }
            }
        };
        mask(live, &after, "live");
        mask(desired, &before, "desired");
    }
}

/// A unified diff of two objects as YAML, Secret values masked.
pub fn unified(live: Option<&Value>, desired: Option<&Value>, id: &ResId) -> String {
    let mut before = live.map(for_display).unwrap_or(Value::Null);
    let mut after = desired.map(for_display).unwrap_or(Value::Null);
    redact_pair(&mut before, &mut after);
    let text = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            crate::resource::yaml::to_yaml(v)
        }
    };
    let (before, after) = (text(&before), text(&after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{id}"), &format!("desired/{id}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::drift::fixtures::deployment;
    use crate::resource::Gvk;

    #[test]
    fn compare_names_modified_and_foreign_owned_fields() {
        let would = deployment();
        assert!(compare(&would, &would, &Ignored::default()).is_empty());

        let mut scaled = would.clone();
        scaled["spec"]["replicas"] = json!(5);
        let drift = compare(&would, &scaled, &Ignored::default());
        assert_eq!(
            drift,
            [FieldDrift {
                path: "/spec/replicas".into(),
                state: FieldState::Modified,
                managers: vec![]
            }]
        );
        assert!(
            compare(&would, &scaled, &Ignored(vec!["/spec/replicas".into()])).is_empty(),
            "an ignored path is not drift"
        );
        assert!(compare(&would, &scaled, &Ignored(vec!["/spec".into()])).is_empty());

        // Another manager took the label over: same value, no longer kfctl's.
        let mut taken = would.clone();
        taken["metadata"]["managedFields"][0]["fieldsV1"]
            .as_object_mut()
            .expect("fieldsV1")
            .remove("f:metadata");
        taken["metadata"]["managedFields"][1]["fieldsV1"]["f:metadata"] =
            json!({"f:labels": {"f:app.kubernetes.io/name": {}}});
        let drift = compare(&would, &taken, &Ignored::default());
        assert_eq!(
            drift,
            [FieldDrift {
                path: "/metadata/labels/app.kubernetes.io~1name".into(),
                state: FieldState::ForeignOwned,
                managers: vec!["injector".into()]
            }]
        );
    }

    #[test]
    fn an_update_that_took_a_field_is_a_modification() {
        let would = deployment();
        let mut scaled = would.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
            .as_object_mut()
            .expect("f:spec")
            .remove("f:replicas");
        scaled["metadata"]["managedFields"]
            .as_array_mut()
            .expect("managedFields")
            .push(
                json!({"manager": "kubectl", "operation": "Update", "subresource": "scale",
                         "fieldsV1": {"f:spec": {"f:replicas": {}}}}),
            );
        assert_eq!(
            compare(&would, &scaled, &Ignored::default()),
            [FieldDrift {
                path: "/spec/replicas".into(),
                state: FieldState::Modified,
                managers: vec!["kubectl".into()]
            }]
        );
    }

    #[test]
    fn secret_values_never_reach_a_diff() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "c2VjcmV0", "same": "eA=="}});
        let mut desired = live.clone();
        desired["data"]["password"] = json!("b3RoZXI=");
        let id = ResId::new(Gvk::new("", "v1", "Secret"), "s", "n");
        let diff = unified(Some(&live), Some(&desired), &id);
        assert!(
            !diff.contains("c2VjcmV0") && !diff.contains("b3RoZXI="),
            "{diff}"
        );
        assert!(diff.contains("-  password: '*** (live)'") || diff.contains("*** (live)"));
        assert!(diff.contains("*** (desired)"), "{diff}");
    }
}
