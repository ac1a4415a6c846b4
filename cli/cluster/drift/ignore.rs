//! Fields whose changes are not drift: the per-object annotation and `kfctl.yaml`'s rules, and
//! how a fix leaves them as they are live.

use std::collections::BTreeSet;

use serde_json::Value;

use super::fields::{FieldPath, Step, managed_entries, owned_paths, value_at, value_at_mut};
use crate::resource::ResId;

/// A per-object annotation: comma-separated JSON pointers whose changes are not drift.
pub const ANNOTATION_IGNORE: &str = "kfctl.dev/ignore-drift";

/// Paths whose changes are not drift: JSON pointers, matched as prefixes, `*` matching any one
/// segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignored(pub Vec<String>);

impl Ignored {
    /// The paths of an object's [`ANNOTATION_IGNORE`] annotation.
    pub fn from_annotation(obj: &Value) -> Ignored {
        let text = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION_IGNORE))
            .and_then(Value::as_str)
            .unwrap_or("");
        Ignored(
            text.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn covers(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().any(|rule| {
            let rule: Vec<&str> = rule.trim_end_matches('/').split('/').collect();
            rule.len() <= segments.len()
                && rule.iter().zip(&segments).all(|(r, s)| *r == "*" || r == s)
        })
    }
}

/// The paths ignored for the object `id`: its live annotation's and the rules selecting it.
pub fn ignored_for(id: &ResId, live: Option<&Value>, rules: &[IgnoreRule]) -> Ignored {
    let mut paths = live.map(Ignored::from_annotation).unwrap_or_default().0;
    for rule in rules.iter().filter(|r| r.selects(id)) {
        paths.extend(rule.paths.iter().cloned());
    }
    Ignored(paths)
}

/// Makes `body`, about to be applied over `live`, leave the ignored fields as they are live:
/// each ignored field some manager owns in `live` and `body` sets takes its live value, and an
/// ignored map field `body` sets that `live` no longer has is left out. Fields kfctl keeps
/// sending are fields it keeps owning, so nothing is removed from the object.
pub fn keep_ignored(body: &mut Value, live: &Value, ignored: &Ignored) {
    if ignored.0.is_empty() {
        return;
    }
    let mut owned: BTreeSet<FieldPath> = BTreeSet::new();
    for (_, _, fields) in managed_entries(live) {
        owned.extend(owned_paths(fields));
    }
    for path in owned {
        if !ignored.covers(&path.to_string()) {
            continue;
        }
        if let (Some(value), Some(slot)) = (value_at(live, &path), value_at_mut(body, &path)) {
            *slot = value.clone();
        }
    }
    // Map fields (no list in between) the body sets and live has not.
    fn prune(node: &mut Value, live: Option<&Value>, prefix: &mut Vec<Step>, ignored: &Ignored) {
        let Some(map) = node.as_object_mut() else {
            return;
        };
        map.retain(|key, child| {
            prefix.push(Step::Field(key.clone()));
            let live_child = live.and_then(|l| l.get(key));
            let keep =
                if live_child.is_none() && ignored.covers(&FieldPath(prefix.clone()).to_string()) {
                    false
                } else {
                    prune(child, live_child, prefix, ignored);
                    true
                };
            prefix.pop();
            keep
        });
    }
    prune(body, Some(live), &mut Vec::new(), ignored);
}

/// An ignore rule of `kfctl.yaml` (`spec.drift.ignore`): objects it selects (empty fields
/// select any) and paths.
pub type IgnoreRule = crate::profile::config::DriftIgnore;

impl IgnoreRule {
    pub fn selects(&self, id: &ResId) -> bool {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        matches(&self.group, &id.gvk.group)
            && matches(&self.kind, &id.gvk.kind)
            && matches(&self.namespace, &id.namespace)
            && matches(&self.name, &id.name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::drift::fixtures::deployment;
    use crate::resource::Gvk;

    #[test]
    fn ignore_rules_match_prefixes_and_wildcards() {
        let ignored = Ignored(vec![
            "/spec/replicas".into(),
            "/spec/template/spec/containers/*/image".into(),
        ]);
        assert!(ignored.covers("/spec/replicas"));
        assert!(ignored.covers("/spec/template/spec/containers/name=app/image"));
        assert!(!ignored.covers("/spec/template/spec/containers/name=app/name"));
        assert!(!ignored.covers("/spec/replicasx"));
        let annotated =
            json!({"metadata": {"annotations": {ANNOTATION_IGNORE: "/spec/replicas, /data/x"}}});
        assert_eq!(
            Ignored::from_annotation(&annotated),
            Ignored(vec!["/spec/replicas".into(), "/data/x".into()])
        );
        let rule = IgnoreRule {
            kind: Some("Deployment".into()),
            paths: vec!["/spec/replicas".into()],
            ..IgnoreRule::default()
        };
        assert!(rule.selects(&ResId::new(Gvk::new("apps", "v1", "Deployment"), "a", "n")));
        assert!(!rule.selects(&ResId::new(Gvk::new("", "v1", "ConfigMap"), "a", "n")));
    }

    #[test]
    fn a_fix_keeps_the_live_values_of_ignored_fields() {
        let live = deployment();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(4);
        scaled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
        let mut body = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "n",
              "labels": {"app.kubernetes.io/name": "a", "gone": "x"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1"}]}}}
        });
        let ignored = Ignored(vec![
            "/spec/replicas".into(),
            "/metadata/labels/gone".into(),
        ]);
        keep_ignored(&mut body, &scaled, &ignored);
        assert_eq!(body["spec"]["replicas"], json!(4), "the live value is sent");
        assert_eq!(
            body["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("app:1"),
            "what is not ignored is restored"
        );
        assert_eq!(
            body["metadata"]["labels"],
            json!({"app.kubernetes.io/name": "a"}),
            "an ignored field live no longer has is not sent"
        );

        // A keyed list element, through a wildcard.
        let mut body2 = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:1"}]}}}});
        keep_ignored(
            &mut body2,
            &scaled,
            &Ignored(vec!["/spec/template/spec/containers/*/image".into()]),
        );
        assert_eq!(
            body2["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("app:2")
        );
    }
}
