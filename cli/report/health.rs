//! The health of an install by catalog component, as `kfctl status` shows it: which component
//! each member comes from (the install's record, else the render at hand), how many of each are
//! ready, and which are not. An install whose components are not known (a kustomization, or a
//! record an earlier kfctl wrote with no render at hand) is grouped by its members' labels or
//! namespaces instead, and says so.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::cluster::drift::{Drift, DriftReport};
use crate::cluster::health;
use crate::cluster::inventory::Record;
use crate::cluster::prune::{Key, key};
use crate::lifecycle::render::Install;
use crate::resource::ResId;
use crate::upgrade::revision::{self, Pin};

/// The row of members that no catalog component names (a member the record or render lacks).
pub const UNATTRIBUTED: &str = "(unattributed)";

/// How many not-ready members a row names in text; JSON names all.
const NAMED: usize = 3;

/// The labels that name the component an object belongs to, most specific first.
const COMPONENT_LABELS: [&str; 3] = [
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/name",
];

/// What the members were grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// The catalog component the install's record names for each member.
    Recorded,
    /// The catalog component the render at hand names: the record predates them.
    Rendered,
    /// Their component label, else their namespace: nothing names catalog components.
    Labels,
}

impl Grouping {
    /// As the JSON report says it (`groupedBy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Recorded | Grouping::Rendered => "component",
            Grouping::Labels => "label",
        }
    }
}

/// The health of one group's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    pub name: String,
    pub objects: usize,
    /// Each member that is not ready, by id, with why (its health, or `missing`).
    pub not_ready: Vec<(String, String)>,
}

impl ComponentHealth {
    pub fn ready(&self) -> usize {
        self.objects - self.not_ready.len()
    }
}

/// An install's health, group by group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallHealth {
    pub grouping: Grouping,
    pub components: Vec<ComponentHealth>,
}

/// Which catalog component each member comes from, by the member's id as it is live.
struct Attribution<'a> {
    by_key: HashMap<Key, &'a str>,
    /// Also by group, kind and name, for a cluster-scoped member the render named with a
    /// namespace.
    by_name: HashMap<(String, String, String), &'a str>,
}

impl<'a> Attribution<'a> {
    fn new(components: impl Iterator<Item = (&'a ResId, &'a String)>) -> Self {
        let mut by_key = HashMap::new();
        let mut by_name = HashMap::new();
        for (id, component) in components {
            by_key.entry(key(id)).or_insert(component.as_str());
            by_name
                .entry((id.gvk.group.clone(), id.gvk.kind.clone(), id.name.clone()))
                .or_insert(component.as_str());
        }
        Attribution { by_key, by_name }
    }

    fn of(&self, id: &ResId) -> &'a str {
        self.by_key
            .get(&key(id))
            .or_else(|| {
                id.namespace.is_empty().then(|| {
                    self.by_name
                        .get(&(id.gvk.group.clone(), id.gvk.kind.clone(), id.name.clone()))
                })?
            })
            .copied()
            .unwrap_or(UNATTRIBUTED)
    }
}

/// The health of the install's members, by the catalog component the record names for each,
/// else the one `install` (the render at hand) names, else by label or namespace. Components
/// come in the order the install enabled them (the catalog's, dependencies first), members no
/// component names last; a member the record has and the cluster lacks is not ready.
pub fn by_component(
    report: &DriftReport,
    record: &Record,
    install: Option<&Install>,
) -> InstallHealth {
    let rendered = install.filter(|i| !i.object_components.is_empty());
    let (grouping, attribution) = if !record.components.is_empty() {
        (
            Grouping::Recorded,
            Attribution::new(record.components.iter()),
        )
    } else if let Some(install) = rendered {
        (
            Grouping::Rendered,
            Attribution::new(install.object_components.iter()),
        )
    } else {
        return InstallHealth {
            grouping: Grouping::Labels,
            components: by_label(report),
        };
    };
    let mut groups: BTreeMap<String, ComponentHealth> = BTreeMap::new();
    for (id, obj) in &report.live {
        let group = entry(&mut groups, attribution.of(id));
        group.objects += 1;
        let h = health(obj);
        if !h.is_current() {
            group.not_ready.push((id.to_string(), h.to_string()));
        }
    }
    for missing in report
        .objects
        .iter()
        .filter(|o| o.drift == Some(Drift::Missing))
    {
        let group = entry(&mut groups, attribution.of(&missing.id));
        group.objects += 1;
        group
            .not_ready
            .push((missing.id.to_string(), "missing".to_owned()));
    }
    let order = enabled_order(record, install);
    let rank = |name: &str| match order.iter().position(|c| c == name) {
        Some(i) => (0, i),
        None if name == UNATTRIBUTED => (2, 0),
        None => (1, 0),
    };
    let mut components: Vec<ComponentHealth> = groups.into_values().collect();
    // Stable: components no pin names stay in alphabetical order among themselves.
    components.sort_by_key(|c| rank(&c.name));
    InstallHealth {
        grouping,
        components,
    }
}

/// The group called `name`, made empty when it is new.
fn entry<'g>(
    groups: &'g mut BTreeMap<String, ComponentHealth>,
    name: &str,
) -> &'g mut ComponentHealth {
    groups
        .entry(name.to_owned())
        .or_insert_with(|| ComponentHealth {
            name: name.to_owned(),
            objects: 0,
            not_ready: Vec::new(),
        })
}

/// The components the install enabled, in the order it rendered them: those of the render at
/// hand, else of the install's current revision.
fn enabled_order(record: &Record, install: Option<&Install>) -> Vec<String> {
    let pin = install
        .map(|i| &i.pin)
        .or_else(|| revision::current(&record.revisions).map(|r| &r.pin));
    match pin {
        Some(Pin::Profile(p)) => p.components.clone(),
        _ => Vec::new(),
    }
}

/// The live members grouped by their component label, else their namespace, alphabetically.
fn by_label(report: &DriftReport) -> Vec<ComponentHealth> {
    let mut groups: BTreeMap<String, ComponentHealth> = BTreeMap::new();
    for (id, obj) in &report.live {
        let labels = obj.pointer("/metadata/labels");
        let name = COMPONENT_LABELS
            .iter()
            .find_map(|l| labels.and_then(|m| m.get(*l)).and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| match id.namespace.as_str() {
                "" => "(cluster-scoped)".to_owned(),
                ns => format!("namespace {ns}"),
            });
        let entry = entry(&mut groups, &name);
        entry.objects += 1;
        let h = health(obj);
        if !h.is_current() {
            entry.not_ready.push((id.to_string(), h.to_string()));
        }
    }
    groups.into_values().collect()
}

/// The `components:` section of the text report: a heading (saying what grouped the members
/// when it is not the catalog), then a row a group, naming the first members not ready.
pub fn text(health: &InstallHealth, record: &Record) -> String {
    let mut text = match health.grouping {
        Grouping::Recorded | Grouping::Rendered => "components:\n".to_owned(),
        Grouping::Labels if record.platform.is_empty() => {
            "components (by label or namespace: a kustomization names no catalog components):\n"
                .to_owned()
        }
        Grouping::Labels => "components (by label or namespace: the inventory, written by an earlier kfctl, names no catalog components; `kfctl apply` records them):\n".to_owned(),
    };
    for c in &health.components {
        let mark = if c.not_ready.is_empty() {
            "ok  "
        } else {
            "WAIT"
        };
        text.push_str(&format!(
            "  {mark} {:<40} {}/{} ready\n",
            c.name,
            c.ready(),
            c.objects
        ));
        for (id, why) in c.not_ready.iter().take(NAMED) {
            text.push_str(&format!("         {id}: {why}\n"));
        }
        if c.not_ready.len() > NAMED {
            text.push_str(&format!(
                "         and {} more not ready\n",
                c.not_ready.len() - NAMED
            ));
        }
    }
    text
}

/// The groups as the JSON report has them (`components`).
pub fn json(health: &InstallHealth) -> Value {
    health
        .components
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "objects": c.objects,
                "ready": c.ready(),
                "notReady": c.not_ready.iter().map(|(id, why)| json!({"id": id, "health": why})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::drift::ObjectReport;
    use crate::resource::{Gvk, ResourceSet};
    use crate::upgrade::revision::RevisionResult;

    fn id(kind: &str, namespace: &str, name: &str) -> ResId {
        let gvk = match kind {
            "Deployment" => Gvk::new("apps", "v1", kind),
            "CustomResourceDefinition" => Gvk::new("apiextensions.k8s.io", "v1", kind),
            _ => Gvk::new("", "v1", kind),
        };
        ResId::new(gvk, name, namespace)
    }

    /// A live object of `id`: a ConfigMap, CRD or Namespace is ready; a Deployment with no status
    /// is not.
    fn live(id: &ResId, labels: Value) -> (ResId, Value) {
        let mut metadata = json!({"name": id.name, "labels": labels, "generation": 1});
        if !id.namespace.is_empty() {
            metadata["namespace"] = json!(id.namespace);
        }
        let mut body =
            json!({"apiVersion": id.gvk.api_version(), "kind": id.gvk.kind, "metadata": metadata});
        match id.gvk.kind.as_str() {
            "Deployment" => body["spec"] = json!({"replicas": 1}),
            "CustomResourceDefinition" => {
                body["status"] = json!({"conditions": [
                    {"type": "Established", "status": "True"},
                    {"type": "NamesAccepted", "status": "True"},
                ]});
            }
            "Namespace" => body["status"] = json!({"phase": "Active"}),
            _ => {}
        }
        (id.clone(), body)
    }

    fn missing(id: &ResId) -> ObjectReport {
        ObjectReport {
            id: id.clone(),
            action: None,
            drift: Some(Drift::Missing),
            fields: Vec::new(),
            diff: None,
            fields_unknown: true,
            rendered: None,
        }
    }

    /// The current revision pins the local platform's components, in their order.
    fn record(components: &[(&ResId, &str)]) -> Record {
        let mut current = revision::tests::sample(1);
        current.result = RevisionResult::Succeeded;
        Record {
            components: components
                .iter()
                .map(|(id, c)| ((*id).clone(), (*c).to_owned()))
                .collect(),
            platform: "local".into(),
            revisions: vec![current],
            ..Record::default()
        }
    }

    fn names(health: &InstallHealth) -> Vec<(&str, usize, usize)> {
        health
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.ready(), c.objects))
            .collect()
    }

    #[test]
    fn members_are_grouped_by_the_recorded_component_in_the_order_enabled() {
        let ml = id("Deployment", "kubeflow", "ml-pipeline");
        let settings = id("ConfigMap", "kubeflow", "pipeline-settings");
        let crd = id(
            "CustomResourceDefinition",
            "",
            "certificates.cert-manager.io",
        );
        let istiod = id("Deployment", "istio-system", "istiod");
        let stray = id("ConfigMap", "kubeflow", "left-behind");
        let report = DriftReport {
            live: BTreeMap::from([
                live(&ml, json!({"app.kubernetes.io/component": "ml-pipeline"})),
                live(&settings, json!({})),
                live(&crd, json!({})),
                live(&stray, json!({})),
            ]),
            objects: vec![missing(&istiod)],
            ..DriftReport::default()
        };
        let record = record(&[
            (&ml, "pipelines"),
            (&settings, "pipelines"),
            (&crd, "cert-manager"),
            (&istiod, "istio"),
        ]);
        let health = by_component(&report, &record, None);
        assert_eq!(health.grouping, Grouping::Recorded);
        assert_eq!(
            names(&health),
            [
                ("cert-manager", 1, 1),
                ("istio", 0, 1),
                ("pipelines", 1, 2),
                (UNATTRIBUTED, 1, 1),
            ]
        );
        assert_eq!(
            health.components[1].not_ready,
            [(istiod.to_string(), "missing".to_owned())]
        );
        assert_eq!(health.components[2].not_ready[0].0, ml.to_string());
        let text = text(&health, &record);
        assert!(text.starts_with("components:\n"), "{text}");
        assert!(
            text.contains(&format!(
                "  WAIT istio{} 0/1 ready\n         {istiod}: missing\n",
                " ".repeat(35)
            )),
            "{text}"
        );
        let json = json(&health);
        assert_eq!(json[2]["name"], "pipelines");
        assert_eq!(json[2]["ready"], 1);
        assert_eq!(json[2]["notReady"][0]["id"], ml.to_string());
    }

    #[test]
    fn an_earlier_record_is_grouped_by_the_render_at_hand() {
        // The render named the cluster-scoped CRD with a namespace; live it has none.
        let crd = id("CustomResourceDefinition", "", "profiles.kubeflow.org");
        let rendered_crd = id(
            "CustomResourceDefinition",
            "kubeflow",
            "profiles.kubeflow.org",
        );
        let ns = id("Namespace", "", "kubeflow");
        let report = DriftReport {
            live: BTreeMap::from([live(&crd, json!({})), live(&ns, json!({}))]),
            ..DriftReport::default()
        };
        let mut install = Install {
            name: "kubeflow".into(),
            resources: ResourceSet::new(),
            release: "1.11.0".into(),
            platform: "local".into(),
            config_digest: String::new(),
            preflight: None,
            pin: revision::tests::sample(1).pin,
            components: BTreeMap::new(),
            digests: Default::default(),
            object_components: HashMap::from([
                (rendered_crd, "central-dashboard".to_owned()),
                (ns.clone(), "kubeflow-namespace".to_owned()),
            ]),
        };
        let earlier = Record {
            platform: "local".into(),
            ..Record::default()
        };
        let health = by_component(&report, &earlier, Some(&install));
        assert_eq!(health.grouping, Grouping::Rendered);
        assert_eq!(
            names(&health),
            [("kubeflow-namespace", 1, 1), ("central-dashboard", 1, 1)]
        );

        // With no render at hand either: by label or namespace, as before, and said so.
        install.object_components.clear();
        for install in [Some(&install), None] {
            let health = by_component(&report, &earlier, install);
            assert_eq!(health.grouping, Grouping::Labels);
            assert_eq!(names(&health), [("(cluster-scoped)", 2, 2)]);
            let text = text(&health, &earlier);
            assert!(text.contains("written by an earlier kfctl"), "{text}");
        }
    }

    #[test]
    fn a_kustomization_is_grouped_by_label_or_namespace() {
        let web = id("Deployment", "demo", "web");
        let settings = id("ConfigMap", "demo", "settings");
        let report = DriftReport {
            live: BTreeMap::from([
                live(&web, json!({"app.kubernetes.io/name": "web"})),
                live(&settings, json!({})),
            ]),
            objects: vec![missing(&id("ConfigMap", "demo", "gone"))],
            ..DriftReport::default()
        };
        let health = by_component(&report, &Record::default(), None);
        assert_eq!(health.grouping.as_str(), "label");
        assert_eq!(names(&health), [("namespace demo", 1, 1), ("web", 0, 1)]);
        let text = text(&health, &Record::default());
        assert!(
            text.starts_with(
                "components (by label or namespace: a kustomization names no catalog components):\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_row_names_its_first_members_not_ready_and_counts_the_rest() {
        let health = InstallHealth {
            grouping: Grouping::Recorded,
            components: vec![ComponentHealth {
                name: "kserve".into(),
                objects: 6,
                not_ready: (0..5)
                    .map(|i| {
                        (
                            format!("Deployment/kserve/d{i}"),
                            "in progress: x".to_owned(),
                        )
                    })
                    .collect(),
            }],
        };
        let text = text(&health, &Record::default());
        assert!(
            text.contains("d2: in progress: x\n         and 2 more not ready\n"),
            "{text}"
        );
        assert!(!text.contains("d3"), "{text}");
        assert_eq!(
            json(&health)[0]["notReady"].as_array().map(Vec::len),
            Some(5)
        );
    }
}
