//! What a release needs beyond a plain apply, as catalog data: per release, `migrations`
//! (objects to delete, or to delete and create again, before the release is applied over an
//! earlier one), and for the whole catalog, `protectedCrds` (CRDs whose deletion deletes user
//! data, which no prune or upgrade deletes).
//!
//! ```yaml
//! protectedCrds:
//! - name: profiles.kubeflow.org
//!   reason: deleting it deletes every Profile, and with each its namespace
//! releases:
//! - name: "26.03.1-rc.2"
//!   migrations:
//!   - reason: the profiles controller's selector changed
//!     recreate: [Deployment/kubeflow/profiles-deployment]
//!     delete: [MutatingWebhookConfiguration/old-webhook]
//! ```

use super::ProfileError;
use super::doc::Node;
use crate::render::Loc;
use crate::resource::ResId;

/// One release's migration: why, and its steps in order (`delete` first, then `recreate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub reason: String,
    pub steps: Vec<Step>,
    pub at: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: StepAction,
    pub object: ObjectRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepAction {
    /// Deleted before the apply; the new release no longer has it, or wants it gone first.
    Delete,
    /// Deleted before the apply, which creates it again: a field the API server will not
    /// change in place (a selector, a binding's role) changed.
    Recreate,
}

impl StepAction {
    pub fn as_str(self) -> &'static str {
        match self {
            StepAction::Delete => "delete",
            StepAction::Recreate => "recreate",
        }
    }
}

/// An object as kfctl prints ids: `Kind/namespace/name`, or `Kind/name` when cluster-scoped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    fn parse(text: &str) -> Option<ObjectRef> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok = |s: &&str| !s.is_empty() && !s.chars().any(char::is_whitespace);
        match parts.as_slice() {
            [kind, name] if ok(kind) && ok(name) => Some(ObjectRef {
                kind: (*kind).to_owned(),
                namespace: String::new(),
                name: (*name).to_owned(),
            }),
            [kind, ns, name] if ok(kind) && ok(ns) && ok(name) => Some(ObjectRef {
                kind: (*kind).to_owned(),
                namespace: (*ns).to_owned(),
                name: (*name).to_owned(),
            }),
            _ => None,
        }
    }

    /// Whether `id` (namespace as the server placed it) is this object, in any group or version.
    pub fn matches(&self, id: &ResId) -> bool {
        id.gvk.kind == self.kind && id.name == self.name && id.namespace == self.namespace
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A CRD no prune or upgrade deletes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedCrd {
    pub name: String,
    pub reason: String,
}

/// Kinds a migration may never delete: they hold data, or everything in them.
const NEVER_DELETED: &[&str] = &[
    "Namespace",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "CustomResourceDefinition",
];

pub fn parse_protected(node: &Node<'_>) -> Result<Vec<ProtectedCrd>, ProfileError> {
    node.list()?
        .iter()
        .map(|item| {
            item.fields(&["name", "reason"])?;
            Ok(ProtectedCrd {
                name: item.require("name")?.str()?.to_owned(),
                reason: item.require("reason")?.str()?.to_owned(),
            })
        })
        .collect()
}

pub fn parse_migrations(node: &Node<'_>) -> Result<Vec<Migration>, ProfileError> {
    node.list()?.iter().map(parse_migration).collect()
}

fn parse_migration(node: &Node<'_>) -> Result<Migration, ProfileError> {
    node.fields(&["reason", "delete", "recreate"])?;
    let mut steps = Vec::new();
    for (key, action) in [
        ("delete", StepAction::Delete),
        ("recreate", StepAction::Recreate),
    ] {
        let Some(list) = node.get(key) else { continue };
        for item in list.list()? {
            let text = item.str()?;
            let object = ObjectRef::parse(text).ok_or_else(|| ProfileError::Invalid {
                message: format!("`{}` is not an object: `{text}`", item.name()),
                at: item.loc(),
                hint: Some(
                    "write it as kfctl prints objects: `Kind/namespace/name`, or `Kind/name` for a cluster-scoped one"
                        .to_owned(),
                ),
            })?;
            if NEVER_DELETED.contains(&object.kind.as_str()) {
                return Err(ProfileError::Invalid {
                    message: format!(
                        "`{}`: a migration never deletes a {}, which holds data",
                        item.name(),
                        object.kind
                    ),
                    at: item.loc(),
                    hint: Some(
                        "leave it to the apply and prune, which keep such objects".to_owned(),
                    ),
                });
            }
            steps.push(Step { action, object });
        }
    }
    if steps.is_empty() {
        return Err(ProfileError::Invalid {
            message: format!("`{}` has no step", node.name()),
            at: node.loc(),
            hint: Some("list objects under `delete` or `recreate`".to_owned()),
        });
    }
    Ok(Migration {
        reason: node.require("reason")?.str()?.to_owned(),
        steps,
        at: node.loc(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::doc::SourceFile;
    use crate::resource::Gvk;
    use std::path::Path;

    fn parse(yaml: &str) -> Result<Vec<Migration>, ProfileError> {
        let file = SourceFile::parse(Path::new("/c/catalog.yaml"), yaml.to_owned())?;
        parse_migrations(&file.root().require("migrations")?)
    }

    #[test]
    fn steps_keep_their_order_deletes_first() {
        let m = parse(
            "migrations:\n- reason: selectors changed\n  recreate: [Deployment/kubeflow/a, ClusterRoleBinding/b]\n  delete: [Service/kubeflow/c]\n",
        )
        .unwrap();
        let steps: Vec<String> = m[0]
            .steps
            .iter()
            .map(|s| format!("{} {}", s.action.as_str(), s.object))
            .collect();
        assert_eq!(
            steps,
            [
                "delete Service/kubeflow/c",
                "recreate Deployment/kubeflow/a",
                "recreate ClusterRoleBinding/b"
            ]
        );
        let id = ResId::new(Gvk::new("apps", "v1", "Deployment"), "a", "kubeflow");
        assert!(m[0].steps[1].object.matches(&id));
        assert!(!m[0].steps[0].object.matches(&id));
    }

    #[test]
    fn data_holding_kinds_and_bad_ids_are_refused_at_their_line() {
        let err = parse("migrations:\n- reason: x\n  delete:\n  - Namespace/kubeflow\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never deletes a Namespace"), "{err}");
        assert!(err.contains("/c/catalog.yaml:4"), "{err}");
        let err = parse("migrations:\n- reason: x\n  recreate: [Deployment]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not an object"), "{err}");
        let err = parse("migrations:\n- reason: x\n").unwrap_err().to_string();
        assert!(err.contains("has no step"), "{err}");
        assert!(parse("migrations:\n- reason: x\n  rename: [a]\n").is_err());
    }
}
