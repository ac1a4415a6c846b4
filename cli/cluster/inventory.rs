//! What an install owns, recorded on the cluster in a form kubectl reads: an ApplySet parent
//! (KEP-3659, `kubectl apply --applyset`). The parent is a ConfigMap `kfctl-<name>` in
//! `kube-system` (a namespace every cluster has, so it can be written before the install's own
//! namespaces exist), labelled `applyset.kubernetes.io/id`, annotated with the tooling and the
//! group-kinds and namespaces of its members; every member carries the label
//! `applyset.kubernetes.io/part-of=<id>`. kfctl's own record sits in the ConfigMap's data:
//! release, platform, config digest, one sha256 per object, and when it last changed.
//!
//! As the ApplySet spec asks, the parent is first widened to the union of what it listed and
//! what this apply brings (so a run cut short leaves every labelled object findable), and
//! narrowed to exactly this apply's set once it succeeded. A write that would change nothing
//! but the time is not made, so a no-op apply writes nothing here either.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::apply::FIELD_MANAGER;
use super::client::{Cluster, ClusterError, Request};
use crate::resource::{Gvk, ResId};
use crate::upgrade::revision::{self, Revision};

pub const LABEL_ID: &str = "applyset.kubernetes.io/id";
pub const LABEL_PART_OF: &str = "applyset.kubernetes.io/part-of";
pub const ANNOTATION_TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const ANNOTATION_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ANNOTATION_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// Where parents live.
pub const NAMESPACE: &str = "kube-system";

/// Data keys of the parent that hold kfctl's record.
const KEY_RELEASE: &str = "release";
const KEY_PLATFORM: &str = "platform";
const KEY_CONFIG_DIGEST: &str = "configDigest";
const KEY_OBJECTS: &str = "objects";
const KEY_OWNED: &str = "ownedDigests";
const KEY_GENERATIONS: &str = "generations";
const KEY_APPLIED_AT: &str = "appliedAt";
/// Each object's catalog component. Records written before it existed have none; readers of
/// those group objects otherwise, and kfctl versions before it ignore it.
const KEY_COMPONENTS: &str = "components";
const KEY_VERSION: &str = "kfctlVersion";
/// The layout of these keys. A record without it was written in format 1, before it existed.
const KEY_FORMAT: &str = "recordFormat";
/// The record format this kfctl writes and the newest it reads.
pub const RECORD_FORMAT: u32 = 1;
/// The install's revisions, JSON ([`crate::upgrade::revision`]).
const KEY_REVISIONS: &str = "revisions";

/// One install's parent object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The install's name (`kubeflow`).
    pub install: String,
    /// The parent ConfigMap's name (`kfctl-kubeflow`).
    pub parent: String,
    /// The ApplySet id, the value of every member's `part-of` label.
    pub id: String,
}

/// The ApplySet id of a parent, as kubectl computes it: `applyset-` + unpadded URL-safe base64
/// of sha256(`<name>.<namespace>.<Kind>.<group>`) + `-v1`. kubectl refuses a parent whose label
/// differs.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// `Kind.group`, or `Kind` for the core group: how the ApplySet annotation names a kind.
pub fn group_kind(gvk: &Gvk) -> String {
    if gvk.group.is_empty() {
        gvk.kind.clone()
    } else {
        format!("{}.{}", gvk.kind, gvk.group)
    }
}

/// kfctl's record of an install, kept in the parent's data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub release: String,
    pub platform: String,
    pub config_digest: String,
    /// Every object of the install (namespace as the API server sees it: none for cluster-scoped
    /// kinds) → sha256 of its rendered body.
    pub objects: BTreeMap<ResId, String>,
    /// Object → sha256 of its kfctl-owned projection right after the apply
    /// (`drift::owned_digest`), so drift shows without a dry run.
    pub owned: BTreeMap<ResId, String>,
    /// CRD → its `metadata.generation` right after the apply, so that the next apply knows it
    /// unchanged from its metadata alone (`apply::ApplyOptions::generations`).
    pub generations: BTreeMap<ResId, i64>,
    /// Object → the catalog component it comes from, for a platform install (`kfctl status`
    /// groups by it); empty for a kustomization, or a record written before kfctl kept it.
    pub components: BTreeMap<ResId, String>,
    /// RFC 3339, UTC: when an apply last changed the record.
    pub applied_at: String,
    /// Every apply, upgrade and rollback, oldest first, at most [`revision::KEEP`].
    pub revisions: Vec<Revision>,
}

impl Record {
    fn to_data(&self) -> BTreeMap<String, String> {
        let lines = |map: &BTreeMap<ResId, String>| -> String {
            map.iter()
                .map(|(id, digest)| format!("{} {digest}\n", object_line(id)))
                .collect()
        };
        let objects = lines(&self.objects);
        let mut data = BTreeMap::from([
            (KEY_RELEASE.to_owned(), self.release.clone()),
            (KEY_PLATFORM.to_owned(), self.platform.clone()),
            (KEY_CONFIG_DIGEST.to_owned(), self.config_digest.clone()),
            (KEY_OBJECTS.to_owned(), objects),
            (KEY_APPLIED_AT.to_owned(), self.applied_at.clone()),
            (KEY_VERSION.to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            (KEY_FORMAT.to_owned(), RECORD_FORMAT.to_string()),
        ]);
        if !self.owned.is_empty() {
            data.insert(KEY_OWNED.to_owned(), lines(&self.owned));
        }
        if !self.generations.is_empty() {
            let generations = self
                .generations
                .iter()
                .map(|(id, generation)| format!("{} {generation}\n", object_line(id)))
                .collect();
            data.insert(KEY_GENERATIONS.to_owned(), generations);
        }
        // Only the objects the record has (a prune or a delete narrows `objects` alone), and
        // names a line holds: an object of a component named otherwise goes unattributed.
        let components: String = self
            .components
            .iter()
            .filter(|(id, c)| self.objects.contains_key(*id) && is_component_name(c))
            .map(|(id, component)| format!("{} {component}\n", object_line(id)))
            .collect();
        if !components.is_empty() {
            data.insert(KEY_COMPONENTS.to_owned(), components);
        }
        if !self.revisions.is_empty() {
            data.insert(KEY_REVISIONS.to_owned(), revision::to_json(&self.revisions));
        }
        data
    }

    /// The record in a parent's data, read strictly: a line or value kfctl cannot read is an
    /// error naming its key, never skipped, or kfctl would forget objects it owns.
    fn from_data(data: &BTreeMap<String, String>) -> Result<Record, RecordError> {
        let get = |k: &str| data.get(k).cloned().unwrap_or_default();
        let bad = |key: &str, message: String| RecordError {
            key: key.to_owned(),
            message,
        };
        if let Some(format) = data.get(KEY_FORMAT) {
            match format.parse::<u32>() {
                Ok(n) if (1..=RECORD_FORMAT).contains(&n) => {}
                Ok(n) => {
                    return Err(bad(
                        KEY_FORMAT,
                        format!(
                            "it is in format {n}, newer than the format {RECORD_FORMAT} this kfctl reads (written by kfctl {})",
                            get(KEY_VERSION)
                        ),
                    ));
                }
                Err(_) => {
                    return Err(bad(
                        KEY_FORMAT,
                        format!("`{format}` is not a format number"),
                    ));
                }
            }
        }
        let lines = |key: &str| -> Result<BTreeMap<ResId, String>, RecordError> {
            get(key)
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    l.rsplit_once(' ')
                        .and_then(|(id, value)| Some((parse_object_line(id)?, value.to_owned())))
                        .ok_or_else(|| {
                            bad(
                                key,
                                format!(
                                    "line {} (`{l}`) is not `apiVersion kind namespace name value`",
                                    i + 1
                                ),
                            )
                        })
                })
                .collect()
        };
        let generations = lines(KEY_GENERATIONS)?
            .into_iter()
            .map(|(id, generation)| match generation.parse() {
                Ok(g) => Ok((id, g)),
                Err(_) => Err(bad(
                    KEY_GENERATIONS,
                    format!("`{generation}` of {id} is not a generation"),
                )),
            })
            .collect::<Result<_, _>>()?;
        let revisions = match data.get(KEY_REVISIONS) {
            Some(text) => {
                revision::from_json(text).map_err(|e| bad(KEY_REVISIONS, e.to_string()))?
            }
            None => Vec::new(),
        };
        let components = lines(KEY_COMPONENTS)?;
        if let Some((id, name)) = components.iter().find(|(_, c)| !is_component_name(c)) {
            return Err(bad(
                KEY_COMPONENTS,
                format!(
                    "the component of {id} (`{}`) holds control characters",
                    name.escape_debug()
                ),
            ));
        }
        Ok(Record {
            release: get(KEY_RELEASE),
            platform: get(KEY_PLATFORM),
            config_digest: get(KEY_CONFIG_DIGEST),
            objects: lines(KEY_OBJECTS)?,
            owned: lines(KEY_OWNED)?,
            generations,
            components,
            applied_at: get(KEY_APPLIED_AT),
            revisions,
        })
    }
}

/// Whether a component's name can be recorded: one word, nothing a terminal would act on.
fn is_component_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Why a parent's data is not a record kfctl can read: the key, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub key: String,
    pub message: String,
}

/// How the record names an object: `apiVersion Kind namespace name`, the namespace being the one
/// the object went to (as discovery scoped it), `-` for a cluster-scoped object (no namespace is called `-`), so every field is there to find it
/// again with.
pub fn object_line(id: &ResId) -> String {
    let namespace = match id.namespace.as_str() {
        "" => "-",
        ns => ns,
    };
    format!(
        "{} {} {namespace} {}",
        id.gvk.api_version(),
        id.gvk.kind,
        id.name
    )
}

/// The id an [`object_line`] names; `None` for a line of another shape.
pub fn parse_object_line(line: &str) -> Option<ResId> {
    let mut fields = line.split(' ');
    let (api_version, kind, namespace, name) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if fields.next().is_some() || kind.is_empty() || name.is_empty() {
        return None;
    }
    let namespace = if namespace == "-" { "" } else { namespace };
    Some(ResId::new(
        Gvk::from_api_version(api_version, kind),
        name,
        namespace,
    ))
}

/// What the cluster holds for an install.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parent {
    pub group_kinds: BTreeSet<String>,
    pub namespaces: BTreeSet<String>,
    pub record: Record,
    /// The parent's `resourceVersion`: any write to the record changes it.
    pub resource_version: String,
    /// The parent's data as stored, written back unchanged when only widening.
    data: BTreeMap<String, String>,
}

fn split_list(text: Option<&String>) -> BTreeSet<String> {
    text.map(|t| {
        t.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Now, as RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::resource::time::rfc3339(secs)
}

impl Inventory {
    /// The inventory of install `install`.
    pub fn new(install: &str) -> Inventory {
        let parent = format!("kfctl-{install}");
        let id = applyset_id(&parent, NAMESPACE, "ConfigMap", "");
        Inventory {
            install: install.to_owned(),
            parent,
            id,
        }
    }

    /// The parent as an object id.
    pub fn parent_id(&self) -> ResId {
        ResId::new(Gvk::new("", "v1", "ConfigMap"), &self.parent, NAMESPACE)
    }

    /// The label every member carries.
    pub fn member_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_PART_OF.to_owned(), self.id.clone())])
    }

    fn api(&self, cluster: &Cluster) -> Api<ConfigMap> {
        Api::namespaced(cluster.client().clone(), NAMESPACE)
    }

    fn request(&self, verb: &'static str) -> Request {
        Request {
            verb,
            resource: "configmaps".to_owned(),
            namespace: Some(NAMESPACE.to_owned()),
            target: self.parent_id().to_string(),
        }
    }

    /// The parent as stored, or `None` before the first apply.
    pub async fn read(&self, cluster: &Cluster) -> Result<Option<Parent>, ClusterError> {
        let live = self
            .api(cluster)
            .get_opt(&self.parent)
            .await
            .map_err(|e| cluster.error(e, self.request("get")))?;
        let Some(cm) = live else { return Ok(None) };
        let annotations = cm.metadata.annotations.unwrap_or_default();
        let data = cm.data.unwrap_or_default();
        let record = Record::from_data(&data).map_err(|e| ClusterError::Record {
            namespace: NAMESPACE.to_owned(),
            configmap: self.parent.clone(),
            key: e.key,
            message: e.message,
        })?;
        Ok(Some(Parent {
            group_kinds: split_list(annotations.get(ANNOTATION_GROUP_KINDS)),
            namespaces: split_list(annotations.get(ANNOTATION_NAMESPACES)),
            record,
            resource_version: cm.metadata.resource_version.unwrap_or_default(),
            data,
        }))
    }

    fn body(
        &self,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        data: &BTreeMap<String, String>,
    ) -> Value {
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.parent,
                "namespace": NAMESPACE,
                "labels": {LABEL_ID: self.id, "app.kubernetes.io/managed-by": "kfctl"},
                "annotations": {
                    ANNOTATION_TOOLING: format!("kfctl/v{}", env!("CARGO_PKG_VERSION")),
                    ANNOTATION_GROUP_KINDS: join(group_kinds),
                    ANNOTATION_NAMESPACES: join(namespaces),
                },
            },
            "data": data,
        })
    }

    async fn write(
        &self,
        cluster: &Cluster,
        body: &Value,
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = dry_run;
        self.api(cluster)
            .patch(&self.parent, &params, &Patch::Apply(body))
            .await
            .map_err(|e| cluster.error(e, self.request("patch")))?;
        Ok(())
    }

    /// Before an apply: the parent lists what it listed and what comes now. Returns whether it
    /// was written.
    pub async fn widen(
        &self,
        cluster: &Cluster,
        live: Option<&Parent>,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        dry_run: bool,
    ) -> Result<bool, ClusterError> {
        let empty = Parent::default();
        let live_or_empty = live.unwrap_or(&empty);
        let kinds: BTreeSet<String> = live_or_empty
            .group_kinds
            .union(group_kinds)
            .cloned()
            .collect();
        let spaces: BTreeSet<String> = live_or_empty
            .namespaces
            .union(namespaces)
            .cloned()
            .collect();
        if live.is_some()
            && kinds == live_or_empty.group_kinds
            && spaces == live_or_empty.namespaces
        {
            return Ok(false);
        }
        let body = self.body(&kinds, &spaces, &live_or_empty.data);
        self.write(cluster, &body, dry_run).await?;
        Ok(true)
    }

    /// Deletes the parent: the install is gone.
    pub async fn delete(&self, cluster: &Cluster, dry_run: bool) -> Result<(), ClusterError> {
        let params = kube::api::DeleteParams {
            dry_run,
            ..kube::api::DeleteParams::default()
        };
        match self.api(cluster).delete(&self.parent, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(cluster.error(e, self.request("delete"))),
        }
    }

    /// Writes `revisions` into the stored record and leaves the rest as it is: the revision a run
    /// starts (pending), or how a failed one ended. The parent must exist ([`Self::widen`]).
    pub async fn put_revisions(
        &self,
        cluster: &Cluster,
        live: &Parent,
        revisions: &[Revision],
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        let mut data = live.data.clone();
        data.insert(KEY_REVISIONS.to_owned(), revision::to_json(revisions));
        let body = self.body(&live.group_kinds, &live.namespaces, &data);
        self.write(cluster, &body, dry_run).await
    }

    /// After a successful apply: the parent lists exactly this apply's set, with its record.
    /// A record that differs from the stored one only in its time is not written.
    pub async fn record(
        &self,
        cluster: &Cluster,
        live: Option<&Parent>,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        record: &Record,
        dry_run: bool,
    ) -> Result<bool, ClusterError> {
        if let Some(live) = live {
            let same_record = Record {
                applied_at: live.record.applied_at.clone(),
                ..record.clone()
            } == live.record
                && live.data.get(KEY_VERSION).map(String::as_str)
                    == Some(env!("CARGO_PKG_VERSION"));
            if same_record && live.group_kinds == *group_kinds && live.namespaces == *namespaces {
                return Ok(false);
            }
        }
        let body = self.body(group_kinds, namespaces, &record.to_data());
        self.write(cluster, &body, dry_run).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_applyset_formula() {
        let inv = Inventory::new("kubeflow");
        assert_eq!(inv.parent, "kfctl-kubeflow");
        assert!(inv.id.starts_with("applyset-") && inv.id.ends_with("-v1"));
        // 32 bytes in unpadded base64 are 43 characters; a label value holds at most 63.
        assert_eq!(inv.id.len(), "applyset-".len() + 43 + "-v1".len());
        assert_ne!(Inventory::new("other").id, inv.id);
    }

    #[test]
    fn group_kinds_name_the_core_group_by_kind_alone() {
        assert_eq!(group_kind(&Gvk::new("", "v1", "Namespace")), "Namespace");
        assert_eq!(
            group_kind(&Gvk::new("apps", "v1", "Deployment")),
            "Deployment.apps"
        );
    }

    #[test]
    fn records_round_trip_through_the_data() {
        let record = Record {
            release: "1.11.0".into(),
            platform: "local".into(),
            config_digest: "abc".into(),
            objects: BTreeMap::from([
                (
                    ResId::new(Gvk::new("", "v1", "Namespace"), "kubeflow", ""),
                    "00ff".to_owned(),
                ),
                (
                    ResId::new(Gvk::new("apps", "v1", "Deployment"), "a", "kubeflow"),
                    "11ee".to_owned(),
                ),
            ]),
            owned: BTreeMap::from([(
                ResId::new(Gvk::new("", "v1", "Namespace"), "kubeflow", ""),
                "22dd".to_owned(),
            )]),
            generations: BTreeMap::from([(
                ResId::new(
                    Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
                    "profiles.kubeflow.org",
                    "",
                ),
                3,
            )]),
            components: BTreeMap::from([
                (
                    ResId::new(Gvk::new("", "v1", "Namespace"), "kubeflow", ""),
                    "kubeflow-namespace".to_owned(),
                ),
                (
                    ResId::new(Gvk::new("apps", "v1", "Deployment"), "a", "kubeflow"),
                    "pipelines".to_owned(),
                ),
            ]),
            applied_at: "2025-01-02T03:04:05Z".into(),
            revisions: vec![crate::upgrade::revision::tests::sample(1)],
        };
        assert_eq!(Record::from_data(&record.to_data()).unwrap(), record);
    }

    #[test]
    fn components_are_kept_for_the_recorded_objects_only() {
        let namespace = ResId::new(Gvk::new("", "v1", "Namespace"), "kubeflow", "");
        let gone = ResId::new(Gvk::new("apps", "v1", "Deployment"), "gone", "kubeflow");
        let record = Record {
            objects: BTreeMap::from([(namespace.clone(), "00ff".to_owned())]),
            components: BTreeMap::from([
                (namespace.clone(), "kubeflow-namespace".to_owned()),
                (gone, "pipelines".to_owned()),
            ]),
            ..Record::default()
        };
        let data = record.to_data();
        assert_eq!(
            data[KEY_COMPONENTS],
            "v1 Namespace - kubeflow kubeflow-namespace\n"
        );
        let read = Record::from_data(&data).unwrap();
        assert_eq!(
            read.components,
            BTreeMap::from([(namespace.clone(), "kubeflow-namespace".to_owned())])
        );
        // A name no line can hold is not recorded; one a line holds with a control character
        // is not read.
        let spaced = Record {
            components: BTreeMap::from([(namespace.clone(), "two words".to_owned())]),
            ..record.clone()
        };
        assert!(!spaced.to_data().contains_key(KEY_COMPONENTS));
        let mut hostile = data.clone();
        hostile.insert(
            KEY_COMPONENTS.to_owned(),
            "v1 Namespace - kubeflow \u{1b}[2Jistio\n".to_owned(),
        );
        let e = Record::from_data(&hostile).unwrap_err();
        assert_eq!(e.key, KEY_COMPONENTS);
        assert!(e.message.contains("`\\u{1b}[2Jistio`"), "{}", e.message);
        // A kustomization's record has none, and writes no key.
        let plain = Record {
            components: BTreeMap::new(),
            ..record
        };
        assert!(!plain.to_data().contains_key(KEY_COMPONENTS));
    }

    #[test]
    fn a_record_kfctl_cannot_read_is_an_error_naming_the_key() {
        let good = BTreeMap::from([
            (KEY_RELEASE.to_owned(), "1.11.0".to_owned()),
            (
                KEY_OBJECTS.to_owned(),
                "v1 Namespace - kubeflow 00ff\napps/v1 Deployment kubeflow a 11ee\n".to_owned(),
            ),
        ]);
        // Records written before the format key existed are format 1; those written before
        // components were kept have none.
        let old = Record::from_data(&good).unwrap();
        assert_eq!(old.objects.len(), 2);
        assert!(old.components.is_empty());
        let broken = |key: &str, value: &str| {
            let mut data = good.clone();
            data.insert(key.to_owned(), value.to_owned());
            Record::from_data(&data).unwrap_err()
        };
        let e = broken(KEY_OBJECTS, "v1 Namespace - kubeflow 00ff\ngarbage\n");
        assert_eq!(e.key, KEY_OBJECTS);
        assert!(e.message.contains("line 2 (`garbage`)"), "{}", e.message);
        assert_eq!(broken(KEY_OWNED, "v1 Namespace\n").key, KEY_OWNED);
        let e = broken(KEY_GENERATIONS, "v1 Namespace - kubeflow many\n");
        assert!(e.message.contains("`many`"), "{}", e.message);
        assert_eq!(broken(KEY_REVISIONS, "[{").key, KEY_REVISIONS);
        assert_eq!(
            broken(KEY_COMPONENTS, "v1 Namespace kubeflow\n").key,
            KEY_COMPONENTS
        );
        let e = broken(KEY_FORMAT, "2");
        assert!(
            e.message.contains("format 2, newer than the format 1"),
            "{}",
            e.message
        );
        assert_eq!(broken(KEY_FORMAT, "one").key, KEY_FORMAT);
    }

    /// The whole platform is about 683 objects; with the most revisions kept, the record stays
    /// far below the 1 MiB an object may hold (Helm's release Secrets hit it).
    #[test]
    fn a_full_record_stays_small() {
        let objects: BTreeMap<ResId, String> = (0..683)
            .map(|i| {
                (
                    ResId::new(
                        Gvk::new("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
                        &format!("kubeflow-pipelines-some-long-object-name-{i:04}"),
                        "",
                    ),
                    "f".repeat(64),
                )
            })
            .collect();
        let mut revisions = Vec::new();
        for n in 1..=40 {
            revisions = revision::push(&revisions, crate::upgrade::revision::tests::sample(n));
        }
        assert_eq!(revisions.len(), revision::KEEP);
        let record = Record {
            release: "1.11.0".into(),
            platform: "local".into(),
            config_digest: "a".repeat(64),
            // A digest of the owned fields of each object too, as apply records them, and
            // its component.
            owned: objects.clone(),
            components: objects
                .keys()
                .map(|id| (id.clone(), "kubeflow-pipelines-and-more".to_owned()))
                .collect(),
            objects,
            generations: BTreeMap::new(),
            applied_at: "2025-01-02T03:04:05Z".into(),
            revisions,
        };
        let size: usize = record
            .to_data()
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        assert!(size < 512 * 1024, "the record is {size} bytes");
    }

    #[test]
    fn object_lines_name_group_version_and_scope() {
        let crd = ResId::new(
            Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "a.b.c",
            "",
        );
        assert_eq!(
            object_line(&crd),
            "apiextensions.k8s.io/v1 CustomResourceDefinition - a.b.c"
        );
        assert_eq!(parse_object_line(&object_line(&crd)), Some(crd));
        let cm = ResId::new(Gvk::new("", "v1", "ConfigMap"), "x", "default");
        assert_eq!(object_line(&cm), "v1 ConfigMap default x");
        assert_eq!(parse_object_line("ConfigMap/x"), None);
    }
}
