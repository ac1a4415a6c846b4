//! The live members of an install: listed by the ApplySet label, one LIST per kind, and
//! released when they are strays.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::fields::owned_digest;
use super::{CONCURRENCY, DriftError};
use crate::cluster::client::{Cluster, ClusterError, Request, Scope};
use crate::cluster::inventory::{Inventory, LABEL_PART_OF};
use crate::cluster::prune::key;
use crate::resource::{Gvk, ResId};

/// Lists every member of the install: one LIST per kind, all namespaces at once, selected by
/// the ApplySet label. Counts its requests in `requests`.
pub(super) async fn list_members(
    cluster: &Cluster,
    inventory: &Inventory,
    gvks: &BTreeSet<Gvk>,
    requests: &AtomicUsize,
) -> Result<BTreeMap<ResId, Value>, DriftError> {
    let selector = format!("{LABEL_PART_OF}={}", inventory.id);
    let lists = futures::stream::iter(gvks.iter())
        .map(|gvk| {
            let selector = &selector;
            async move {
                let fail = |source| DriftError::List {
                    install: inventory.install.clone(),
                    gvk: gvk.clone(),
                    source,
                };
                let resolved = match cluster.resolve(gvk).await {
                    Ok(r) => r,
                    // The kind is no longer served (its CRD is gone): its members are missing.
                    Err(ClusterError::NoApi { .. }) => return Ok(Vec::new()),
                    Err(e) => return Err(fail(e)),
                };
                let api: Api<DynamicObject> =
                    Api::all_with(cluster.client().clone(), &resolved.resource);
                requests.fetch_add(1, Ordering::Relaxed);
                let list = api
                    .list(&ListParams::default().labels(selector))
                    .await
                    .map_err(|e| {
                        fail(cluster.error(
                            e,
                            Request {
                                verb: "list",
                                resource: resolved.resource.plural.clone(),
                                namespace: None,
                                target: format!("{} labelled {selector}", gvk.kind),
                            },
                        ))
                    })?;
                let scope = resolved.scope;
                Ok(list
                    .items
                    .into_iter()
                    .filter_map(|item| {
                        let namespace = match scope {
                            Scope::Cluster => String::new(),
                            Scope::Namespaced => {
                                item.metadata.namespace.clone().unwrap_or_default()
                            }
                        };
                        let name = item.metadata.name.clone()?;
                        let mut value = serde_json::to_value(&item).ok()?;
                        // Items of a list do not always carry their type.
                        if let Some(map) = value.as_object_mut() {
                            map.insert("apiVersion".into(), Value::String(gvk.api_version()));
                            map.insert("kind".into(), Value::String(gvk.kind.clone()));
                        }
                        Some((ResId::new(gvk.clone(), &name, &namespace), value))
                    })
                    .collect::<Vec<_>>())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<Result<Vec<(ResId, Value)>, DriftError>>>()
        .await;
    let mut live = BTreeMap::new();
    for list in lists {
        live.extend(list?);
    }
    Ok(live)
}

/// The kfctl-owned digests of the members of an install, for the record, by id (namespace as
/// live). One LIST per kind of `gvks`.
pub async fn owned_digests(
    cluster: &Cluster,
    inventory: &Inventory,
    gvks: &BTreeSet<Gvk>,
) -> Result<BTreeMap<ResId, String>, DriftError> {
    let requests = AtomicUsize::new(0);
    let live = list_members(cluster, inventory, gvks, &requests).await?;
    Ok(live
        .iter()
        .map(|(id, obj)| (id.clone(), owned_digest(obj)))
        .collect())
}

/// A kind served in several versions (a CRD's `v1alpha1` and `v1beta1`) lists every object
/// under each: keeps each object under the version it is known by, and an unknown one (a
/// stray) once.
pub(super) fn one_version_each(
    listed: BTreeMap<ResId, Value>,
    known: &BTreeSet<ResId>,
) -> BTreeMap<ResId, Value> {
    let known_any: BTreeSet<_> = known.iter().map(key).collect();
    let mut strays_seen = BTreeSet::new();
    listed
        .into_iter()
        .filter(|(id, _)| {
            if known.contains(id) {
                return true;
            }
            let unversioned = key(id);
            // Known under another version, or a namespaced object whose render names none.
            let known_elsewhere = known_any.contains(&unversioned)
                || known
                    .iter()
                    .any(|k| k.gvk == id.gvk && k.name == id.name && k.namespace.is_empty());
            !known_elsewhere && strays_seen.insert(unversioned)
        })
        .collect()
}

/// Takes an object out of the install: removes its membership label. Used for strays, which
/// kfctl did not create and so does not delete.
pub async fn release_stray(cluster: &Cluster, id: &ResId) -> Result<(), DriftError> {
    let fail = |source| DriftError::Read {
        id: id.clone(),
        source,
    };
    let (api, request) = cluster.api_for(id, "patch").await.map_err(fail)?;
    let patch = serde_json::json!({"metadata": {"labels": {LABEL_PART_OF: null}}});
    api.patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| fail(cluster.error(e, request)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_kind_listed_in_two_versions_keeps_each_object_once() {
        // A `Thing` of version `v1` or `v2` in namespace `n`.
        let v1 = |name: &str| ResId::new(Gvk::new("x.io", "v1", "Thing"), name, "n");
        let v2 = |name: &str| ResId::new(Gvk::new("x.io", "v2", "Thing"), name, "n");
        let listed = BTreeMap::from([
            (v1("a"), json!(1)),
            (v2("a"), json!(2)),
            (v1("b"), json!(3)),
            (v2("b"), json!(4)),
            (v1("stray"), json!(5)),
            (v2("stray"), json!(6)),
        ]);
        let known = BTreeSet::from([v2("a"), v1("b")]);
        let kept: Vec<ResId> = one_version_each(listed, &known).into_keys().collect();
        assert_eq!(kept, [v1("b"), v1("stray"), v2("a")]);
    }
}
