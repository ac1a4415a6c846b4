//! Output order. `legacy` (kustomize's default) sorts by kind priority, then group/version/kind,
//! then namespace and name; `fifo` keeps the order objects were loaded in.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::kustomization::SortOptions;
use crate::resource::{Gvk, ResId, ResourceSet};

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts `set` as `kubectl kustomize` does for the given `sortOptions`.
pub fn sort(set: &mut ResourceSet, options: Option<&SortOptions>) {
    let (first, last): (Vec<String>, Vec<String>) = match options {
        Some(o) if o.order == "fifo" => return,
        Some(SortOptions {
            legacy_sort_options: Some(l),
            ..
        }) => (l.order_first.clone(), l.order_last.clone()),
        _ => (
            ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
            ORDER_LAST.iter().map(|s| s.to_string()).collect(),
        ),
    };
    let mut rank: HashMap<String, i64> = HashMap::new();
    let n = first.len() as i64;
    for (i, k) in first.into_iter().enumerate() {
        rank.insert(k, -n + i as i64);
    }
    for (i, k) in last.into_iter().enumerate() {
        rank.insert(k, 1 + i as i64);
    }
    set.sort_by(|a, b| compare(&a.id(), &b.id(), &rank));
}

fn compare(a: &ResId, b: &ResId, rank: &HashMap<String, i64>) -> Ordering {
    if a.gvk != b.gvk {
        let ra = rank.get(&a.gvk.kind).copied().unwrap_or(0);
        let rb = rank.get(&b.gvk.kind).copied().unwrap_or(0);
        if ra != rb {
            return ra.cmp(&rb);
        }
        let (sa, sb) = (gvk_key(&a.gvk), gvk_key(&b.gvk));
        // kustomize puts a core Namespace after a same-named kind of another group.
        if a.gvk.kind == "Namespace"
            && b.gvk.kind == "Namespace"
            && (a.gvk.group.is_empty() || b.gvk.group.is_empty())
        {
            return sb.cmp(&sa);
        }
        return sa.cmp(&sb);
    }
    id_key(a).cmp(&id_key(b))
}

fn or(s: &str, default: &'static str) -> String {
    if s.is_empty() {
        default.to_owned()
    } else {
        s.to_owned()
    }
}

fn gvk_key(g: &Gvk) -> String {
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

fn id_key(id: &ResId) -> String {
    format!(
        "{}.{}.{}|{}|{}",
        or(&id.gvk.kind, "~K"),
        or(&id.gvk.version, "~V"),
        or(&id.gvk.group, "~G"),
        or(&id.namespace, "~X"),
        or(&id.name, "~N")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{Origin, Resource};
    use serde_json::json;
    use std::path::Path;

    fn r(api: &str, kind: &str, name: &str, ns: &str) -> Resource {
        Resource::new(
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}}),
            Origin::file(Path::new("x"), 1),
        )
    }

    #[test]
    fn legacy_order() {
        let mut set: ResourceSet = vec![
            r(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "v",
                "",
            ),
            r("apps/v1", "Deployment", "b", "x"),
            r("example.com/v1", "Widget", "w", "x"),
            r("apps/v1", "Deployment", "a", "x"),
            r("v1", "Namespace", "x", ""),
            r("v1", "ConfigMap", "c", "x"),
        ]
        .into_iter()
        .collect();
        sort(&mut set, None);
        let names: Vec<_> = set.iter().map(|r| r.name().to_owned()).collect();
        assert_eq!(names, vec!["x", "c", "a", "b", "w", "v"]);
    }

    #[test]
    fn fifo_keeps_order() {
        let mut set: ResourceSet = vec![r("v1", "Service", "s", ""), r("v1", "Namespace", "n", "")]
            .into_iter()
            .collect();
        let opts = SortOptions {
            order: "fifo".into(),
            legacy_sort_options: None,
        };
        sort(&mut set, Some(&opts));
        assert_eq!(set.at(0).name(), "s");
    }
}
