//! One LIST per kind: which objects exist, and which are unchanged since the last apply.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::{
    ApplyOptions, is_crd_kind,
    report::{Action, Applied},
};
use crate::cluster::client::Cluster;
use crate::cluster::health::health;
use crate::resource::{Gvk, ResId, ResourceSet};

/// The live members of each kind, as listed.
pub type Listings = BTreeMap<Gvk, Vec<(ResId, Value)>>;

/// What one LIST of a kind showed, by (namespace, `""` when cluster-scoped; name).
#[derive(Default)]
pub(super) struct Listed {
    /// The install's labelled members, with their bodies: listed when the install's record
    /// lets an unchanged object be known without a request of its own.
    pub(super) members: HashMap<(String, String), Value>,
    /// Whether `members` holds the kind's members (it was asked for, and the list succeeded).
    pub(super) members_listed: bool,
    /// Every object of the kind, member or not (names only); `None` when not listed (every
    /// rendered object is a member, or the list failed): then an object is read before it is
    /// written. An object absent from it is created at once, with no read first.
    pub(super) names: Option<HashSet<(String, String)>>,
    /// `members` hold metadata alone (see [`ApplyOptions::generations`]).
    pub(super) metadata_only: bool,
}

/// The live objects of each kind of the render, listed once per kind when the first object of
/// the kind is applied (after its CRD is served), instead of one GET per object.
pub(super) struct Known {
    /// The install's membership label, `label=value`.
    selector: Option<String>,
    /// Whether to list the members with their bodies (the install has a record to compare to).
    members: bool,
    /// Per kind, the (namespace, name) of its rendered objects.
    rendered: HashMap<Gvk, Vec<(String, String)>>,
    kinds: HashMap<Gvk, tokio::sync::OnceCell<Listed>>,
    /// Kinds whose rendered objects all have a recorded generation: listed by metadata.
    by_metadata: HashSet<Gvk>,
}

impl Known {
    pub(super) fn new(set: &ResourceSet, options: &ApplyOptions) -> Known {
        let selector = options.selector();
        let mut rendered: HashMap<Gvk, Vec<(String, String)>> = HashMap::new();
        for res in set.iter() {
            rendered
                .entry(res.gvk())
                .or_default()
                .push((res.namespace().to_owned(), res.name().to_owned()));
        }
        let kinds = rendered
            .keys()
            .map(|gvk| (gvk.clone(), tokio::sync::OnceCell::new()))
            .collect();
        let by_metadata = rendered
            .iter()
            .filter(|(gvk, objects)| {
                is_crd_kind(gvk)
                    && objects.iter().all(|(_, name)| {
                        let id = ResId::new((*gvk).clone(), name, "");
                        options.generations.contains_key(&id) && options.recorded.contains_key(&id)
                    })
            })
            .map(|(gvk, _)| gvk.clone())
            .collect();
        Known {
            members: selector.is_some() && !options.recorded.is_empty(),
            selector,
            rendered,
            kinds,
            by_metadata,
        }
    }

    /// The install's members of `gvk` with their metadata alone, when every one of them is
    /// rendered (a member to prune is listed whole, as pruning reads it).
    pub(super) async fn list_metadata(
        &self,
        cluster: &Cluster,
        gvk: &Gvk,
        resolved: &crate::cluster::client::Resolved,
        selector: &str,
    ) -> Option<HashMap<(String, String), Value>> {
        let api: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(cluster.client().clone(), &resolved.resource);
        let page = match api
            .list_metadata(&kube::api::ListParams::default().labels(selector))
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::debug!(%gvk, error = %e, "metadata not listed; listing the members whole");
                return None;
            }
        };
        let rendered: HashSet<&str> = self
            .rendered
            .get(gvk)
            .map(|objects| objects.iter().map(|(_, name)| name.as_str()).collect())
            .unwrap_or_default();
        let mut members = HashMap::new();
        for item in page.items {
            let name = item.metadata.name.clone().unwrap_or_default();
            if !rendered.contains(name.as_str()) {
                return None;
            }
            let metadata = serde_json::to_value(&item.metadata).ok()?;
            let body = serde_json::json!({
                "apiVersion": resolved.resource.api_version,
                "kind": resolved.resource.kind,
                "metadata": metadata,
            });
            members.insert((String::new(), name), body);
        }
        Some(members)
    }

    /// Whether the unchanged object `id` (gone to `namespace`) is known healthy from its
    /// listing: a CRD listed by metadata is, its spec being what the last successful apply
    /// left Established.
    pub(super) fn settled(&self, id: &ResId, namespace: Option<&str>) -> bool {
        let Some(listed) = self.kinds.get(&id.gvk).and_then(|cell| cell.get()) else {
            return false;
        };
        let key = (namespace.unwrap_or("").to_owned(), id.name.clone());
        match listed.members.get(&key) {
            Some(_) if listed.metadata_only => true,
            Some(live) => health(live).is_current(),
            None => false,
        }
    }

    /// The listing of `gvk`, made on the first call; `None` for a kind not in the render.
    pub(super) async fn listed(&self, cluster: &Cluster, gvk: &Gvk) -> Option<&Listed> {
        let cell = self.kinds.get(gvk)?;
        Some(cell.get_or_init(|| self.list(cluster, gvk)).await)
    }

    pub(super) async fn list(&self, cluster: &Cluster, gvk: &Gvk) -> Listed {
        let mut listed = Listed::default();
        let Ok(resolved) = cluster.resolve(gvk).await else {
            return listed;
        };
        let cluster_scoped = resolved.scope == crate::cluster::client::Scope::Cluster;
        let key = |namespace: Option<&str>, name: &str| {
            let namespace = if cluster_scoped {
                ""
            } else {
                namespace.unwrap_or("")
            };
            (namespace.to_owned(), name.to_owned())
        };
        if self.members
            && let Some(selector) = &self.selector
            && self.by_metadata.contains(gvk)
            && let Some(members) = self.list_metadata(cluster, gvk, &resolved, selector).await
        {
            listed.members = members;
            listed.members_listed = true;
            listed.metadata_only = true;
        } else if self.members
            && let Some(selector) = &self.selector
        {
            match cluster.list(gvk, selector).await {
                Ok(objects) => {
                    listed.members_listed = true;
                    for obj in objects {
                        let meta = obj.get("metadata");
                        let text =
                            |field: &str| meta.and_then(|m| m.get(field)).and_then(Value::as_str);
                        let k = key(text("namespace"), text("name").unwrap_or(""));
                        listed.members.insert(k, obj);
                    }
                }
                Err(e) => {
                    tracing::debug!(%gvk, error = %e, "members not listed; its objects are read one by one");
                }
            }
        }
        let all_members = self.rendered.get(gvk).is_some_and(|objects| {
            objects
                .iter()
                .all(|(ns, name)| listed.members.contains_key(&key(Some(ns), name)))
        });
        if !all_members {
            let api: kube::Api<kube::api::DynamicObject> =
                kube::Api::all_with(cluster.client().clone(), &resolved.resource);
            let mut names = HashSet::new();
            let mut params = kube::api::ListParams::default().limit(500);
            loop {
                match api.list_metadata(&params).await {
                    Ok(page) => {
                        for item in &page.items {
                            names.insert(key(
                                item.metadata.namespace.as_deref(),
                                item.metadata.name.as_deref().unwrap_or(""),
                            ));
                        }
                        match page.metadata.continue_.filter(|c| !c.is_empty()) {
                            Some(next) => params = params.continue_token(&next),
                            None => {
                                listed.names = Some(names);
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(%gvk, error = %e, "not listed; its objects are read one by one");
                        break;
                    }
                }
            }
        }
        listed
    }

    /// The members of each kind listed whose applied objects are all unchanged, and the kinds
    /// of those listed by metadata alone.
    pub(super) fn unchanged_kinds(&self, applied: &[Applied]) -> (Listings, BTreeSet<Gvk>) {
        let mut kinds = BTreeMap::new();
        let mut metadata_only = BTreeSet::new();
        for (gvk, cell) in &self.kinds {
            let Some(listed) = cell.get().filter(|l| l.members_listed) else {
                continue;
            };
            if listed.metadata_only {
                metadata_only.insert(gvk.clone());
            }
            let mut of_kind = applied.iter().filter(|a| a.id.gvk == *gvk);
            if of_kind.clone().next().is_none() || of_kind.any(|a| a.action != Action::Unchanged) {
                continue;
            }
            let members = listed
                .members
                .iter()
                .map(|((ns, name), obj)| (ResId::new(gvk.clone(), name, ns), obj.clone()))
                .collect();
            kinds.insert(gvk.clone(), members);
        }
        (kinds, metadata_only)
    }
}
