//! What an upgrade does beyond a plain apply, from the catalog's data: the migration steps of
//! the releases it crosses (done in order, before anything is applied), and the objects the new
//! render lacks that are kept rather than pruned (CRDs, whose deletion deletes every custom
//! resource of their kind, and claims). Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::plan::UpgradePlan;
use crate::profile::Catalog;
use crate::profile::migrations::{Migration, ProtectedCrd, StepAction};
use crate::resource::ResId;

/// One step of a release's migration, for an object the install has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationStep {
    /// The release whose catalog entry declares it.
    pub release: String,
    pub reason: String,
    /// `delete`, or `recreate` (deleted here, created again by the apply).
    pub action: String,
    /// The object, as the install's record names it.
    pub id: String,
}

/// An object the new render lacks that the upgrade keeps, no longer part of the install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub id: String,
    pub reason: String,
}

/// The migrations from release `from` to `to`, in the order they are done. Going forward:
/// every step of each release after `from` up to `to`. Going back (a rollback, or an upgrade to
/// an older release): only the `recreate` steps, newest release first, since a field that
/// cannot change in place changed both ways. Releases the catalog does not know have none.
pub fn between<'a>(
    catalog: &'a Catalog,
    from: &str,
    to: &str,
) -> Vec<(&'a str, &'a Migration, bool)> {
    let index = |name: &str| catalog.releases.iter().position(|r| r.name == name);
    let (Some(from), Some(to)) = (index(from), index(to)) else {
        return Vec::new();
    };
    let forward = from < to;
    let crossed: Vec<_> = match forward {
        true => catalog.releases[from + 1..=to].iter().collect(),
        false => catalog.releases[to + 1..=from].iter().rev().collect(),
    };
    crossed
        .into_iter()
        .flat_map(|r| {
            r.migrations
                .iter()
                .map(move |m| (r.name.as_str(), m, !forward))
        })
        .collect()
}

/// The steps of `migrations` for objects `recorded` holds, in order; a step for an object the
/// install does not have is left out.
pub fn steps(
    migrations: &[(&str, &Migration, bool)],
    recorded: &BTreeMap<ResId, String>,
) -> Vec<MigrationStep> {
    let mut out = Vec::new();
    for (release, migration, recreate_only) in migrations {
        for step in &migration.steps {
            if *recreate_only && step.action != StepAction::Recreate {
                continue;
            }
            for id in recorded.keys().filter(|id| step.object.matches(id)) {
                let id = id.to_string();
                if out.iter().any(|s: &MigrationStep| s.id == id) {
                    continue;
                }
                out.push(MigrationStep {
                    release: (*release).to_owned(),
                    reason: migration.reason.clone(),
                    action: step.action.as_str().to_owned(),
                    id,
                });
            }
        }
    }
    out
}

/// Moves from `plan.pruned` to `plan.kept` what pruning keeps: every CRD and claim unless
/// `purge`, and the protected CRDs whatever is asked.
pub fn keep(plan: &mut UpgradePlan, purge: bool, protected: &[ProtectedCrd]) {
    let mut pruned = Vec::new();
    for id in std::mem::take(&mut plan.pruned) {
        match kept_reason(&id, purge, protected) {
            Some(reason) => plan.kept.push(Kept { id, reason }),
            None => pruned.push(id),
        }
    }
    plan.pruned = pruned;
}

/// Why pruning keeps the object printed as `id`, if it does.
fn kept_reason(id: &str, purge: bool, protected: &[ProtectedCrd]) -> Option<String> {
    if let Some(name) = id.strip_prefix("CustomResourceDefinition/") {
        if let Some(p) = protected.iter().find(|p| p.name == name) {
            return Some(format!("{}; kept even with `--purge`", p.reason));
        }
        if !purge {
            return Some(
                "deleting a CRD deletes every custom resource of its kind; `--purge` deletes it"
                    .to_owned(),
            );
        }
    }
    if id.starts_with("PersistentVolumeClaim/") && !purge {
        return Some("a PersistentVolumeClaim holds data; `--purge` deletes it".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::doc::SourceFile;
    use crate::resource::Gvk;
    use std::path::Path;

    const CATALOG: &str = r#"apiVersion: kfctl.dev/v1alpha1
kind: Catalog
platforms: [local]
defaultRelease: "2"
protectedCrds:
- name: profiles.kubeflow.org
  reason: deleting it deletes every profile namespace
components:
- name: app
  description: the app
releases:
- name: "1"
  description: one
  source: {name: s, version: v1, path: s1}
  components: {app: [a]}
- name: "2"
  description: two
  source: {name: s, version: v2, path: s2}
  components: {app: [a]}
  migrations:
  - reason: the selector changed
    recreate: [Deployment/kf/app]
    delete: [Service/kf/old]
- name: "3"
  description: three
  source: {name: s, version: v3, path: s3}
  components: {app: [a]}
  migrations:
  - reason: the binding's role changed
    recreate: [ClusterRoleBinding/app]
"#;

    fn catalog() -> Catalog {
        let file = SourceFile::parse(Path::new("/c/catalog.yaml"), CATALOG.to_owned()).unwrap();
        Catalog::parse(&file).unwrap()
    }

    fn recorded() -> BTreeMap<ResId, String> {
        [
            ResId::new(Gvk::new("apps", "v1", "Deployment"), "app", "kf"),
            ResId::new(Gvk::new("", "v1", "Service"), "old", "kf"),
            ResId::new(
                Gvk::new("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
                "app",
                "",
            ),
        ]
        .into_iter()
        .map(|id| (id, String::new()))
        .collect()
    }

    fn described(steps: &[MigrationStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{} {} {}", s.release, s.action, s.id))
            .collect()
    }

    #[test]
    fn forward_every_crossed_release_in_order() {
        let c = catalog();
        let steps = steps(&between(&c, "1", "3"), &recorded());
        assert_eq!(
            described(&steps),
            [
                "2 delete Service/kf/old",
                "2 recreate Deployment/kf/app",
                "3 recreate ClusterRoleBinding/app"
            ]
        );
        assert_eq!(
            described(&super::steps(&between(&c, "2", "3"), &recorded())),
            ["3 recreate ClusterRoleBinding/app"]
        );
        assert!(between(&c, "3", "3").is_empty());
        assert!(between(&c, "latest", "3").is_empty());
    }

    #[test]
    fn backward_only_recreates_newest_first() {
        let c = catalog();
        assert_eq!(
            described(&steps(&between(&c, "3", "1"), &recorded())),
            [
                "3 recreate ClusterRoleBinding/app",
                "2 recreate Deployment/kf/app"
            ]
        );
    }

    #[test]
    fn steps_for_objects_not_installed_are_left_out() {
        let c = catalog();
        let mut recorded = recorded();
        recorded.retain(|id, _| id.gvk.kind == "Service");
        assert_eq!(
            described(&steps(&between(&c, "1", "3"), &recorded)),
            ["2 delete Service/kf/old"]
        );
    }

    #[test]
    fn crds_and_claims_are_kept_and_protected_crds_even_with_purge() {
        let c = catalog();
        let plan = |purge| {
            let mut plan = UpgradePlan {
                pruned: vec![
                    "ConfigMap/kf/a".to_owned(),
                    "CustomResourceDefinition/profiles.kubeflow.org".to_owned(),
                    "CustomResourceDefinition/xs.x.io".to_owned(),
                    "PersistentVolumeClaim/kf/data".to_owned(),
                ],
                ..Default::default()
            };
            keep(&mut plan, purge, &c.protected_crds);
            plan
        };
        let kept = plan(false);
        assert_eq!(kept.pruned, ["ConfigMap/kf/a"]);
        assert_eq!(kept.kept.len(), 3);
        assert!(kept.kept[0].reason.contains("every profile namespace"));
        let purged = plan(true);
        assert_eq!(
            purged.pruned,
            [
                "ConfigMap/kf/a",
                "CustomResourceDefinition/xs.x.io",
                "PersistentVolumeClaim/kf/data"
            ]
        );
        assert_eq!(
            purged.kept,
            [Kept {
                id: "CustomResourceDefinition/profiles.kubeflow.org".to_owned(),
                reason: "deleting it deletes every profile namespace; kept even with `--purge`"
                    .to_owned()
            }]
        );
    }
}
