//! The kinds the render's CRDs define, and waiting until discovery serves them.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::{
    ApplyOptions, is_crd_kind,
    report::{Event, ObjectError},
};
use crate::cluster::client::Cluster;
use crate::cluster::health::health;
use crate::cluster::wait::{self, Poll};
use crate::plan::Wave;
use crate::resource::{Gvk, ResId, Resource, ResourceSet};

/// A kind a CRD of the render defines.
#[derive(Debug, Clone)]
pub struct Defined {
    pub group: String,
    pub kind: String,
    /// The resource's plural name, as URLs and webhook rules name it.
    pub plural: String,
    pub namespaced: bool,
    /// The versions the CRD serves.
    pub versions: Vec<String>,
    /// The CRD's name.
    pub crd: String,
}

impl Defined {
    /// The kind `res` defines, when it is a CRD.
    pub fn of(res: &Resource) -> Option<Defined> {
        if !is_crd_kind(&res.gvk()) {
            return None;
        }
        let text = |path: &[&str]| res.str_at(path).unwrap_or("").to_owned();
        let versions = res
            .body
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Some(Defined {
            group: text(&["spec", "group"]),
            kind: text(&["spec", "names", "kind"]),
            plural: text(&["spec", "names", "plural"]),
            namespaced: res.str_at(&["spec", "scope"]) != Some("Cluster"),
            versions,
            crd: res.name().to_owned(),
        })
    }

    pub fn defines(&self, gvk: &Gvk) -> bool {
        self.group == gvk.group && self.kind == gvk.kind
    }
}

/// What the caller knows about the objects this apply brings: a namespace or a kind that does
/// not exist yet cannot be checked by the server under `--dry-run`, and a custom resource of a
/// kind the render defines waits until its CRD is served ([`Served`]).
pub(super) struct Brought {
    pub(super) namespaces: Vec<String>,
    pub(super) kinds: Vec<Defined>,
}

impl Brought {
    pub(super) fn of(set: &ResourceSet) -> Brought {
        let mut namespaces = Vec::new();
        let mut kinds = Vec::new();
        for res in set.iter() {
            if res.api_version() == "v1" && res.kind() == "Namespace" {
                namespaces.push(res.name().to_owned());
            }
            kinds.extend(Defined::of(res));
        }
        Brought { namespaces, kinds }
    }

    pub(super) fn defined(&self, gvk: &Gvk) -> Option<&Defined> {
        self.kinds.iter().find(|d| d.defines(gvk))
    }

    pub(super) fn defines(&self, id: &ResId) -> bool {
        self.defined(&id.gvk).is_some()
    }
}

/// How often discovery is fetched again while objects wait for their kinds to be served.
pub(super) const SERVED_POLL: Duration = Duration::from_millis(500);

/// Custom resources of the kinds the render's CRDs define wait, each on its own, until
/// discovery serves their kind (which it does once the CRD is Established); every other object
/// goes at once, so the server establishes the CRDs while the rest of the render is written.
/// However many objects wait, discovery is fetched again at most once per [`SERVED_POLL`].
pub struct Served<'a> {
    brought: &'a Brought,
    /// When discovery was last fetched again; held while it is.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
    announced: std::sync::atomic::AtomicBool,
}

impl<'a> Served<'a> {
    pub(super) fn new(brought: &'a Brought) -> Served<'a> {
        Served {
            brought,
            refreshed: tokio::sync::Mutex::new(None),
            announced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Waits until the kind of `id` is served, when a CRD of the render defines it (at once for
    /// other kinds, under `--dry-run`, and for a version the CRD does not serve, which the
    /// write then names). Past the deadline, the error says what the CRD's status shows.
    pub async fn wait(
        &self,
        cluster: &Cluster,
        id: &ResId,
        wave: Wave,
        options: &ApplyOptions,
        on_event: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<(), ObjectError> {
        let Some(defined) = self.brought.defined(&id.gvk) else {
            return Ok(());
        };
        if options.dry_run || !defined.versions.contains(&id.gvk.version) {
            return Ok(());
        }
        let waited = wait::until(options.deadline, SERVED_POLL, async |_| {
            if cluster.resolve(&id.gvk).await.is_ok() {
                return Poll::Ready(Ok(()));
            }
            let mut last = self.refreshed.lock().await;
            // Another object's wait may have fetched it meanwhile.
            if cluster.resolve(&id.gvk).await.is_ok() {
                return Poll::Ready(Ok(()));
            }
            if !self
                .announced
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                on_event(Event::Waiting {
                    wave,
                    what: "CRDs Established".to_owned(),
                });
            }
            if last.is_none_or(|at| at.elapsed() >= SERVED_POLL) {
                let refreshed = cluster.refresh_discovery().await;
                *last = Some(Instant::now());
                if let Err(e) = refreshed {
                    return Poll::Ready(Err(e.into()));
                }
                if cluster.resolve(&id.gvk).await.is_ok() {
                    return Poll::Ready(Ok(()));
                }
            }
            Poll::Pending(())
        })
        .await;
        match waited {
            Ok(answer) => answer,
            Err(()) => Err(not_served(cluster, defined, options).await),
        }
    }
}

/// Why the kind of `defined` is not served, from its CRD's status.
pub(super) async fn not_served(
    cluster: &Cluster,
    defined: &Defined,
    options: &ApplyOptions,
) -> ObjectError {
    let id = ResId::new(
        Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        &defined.crd,
        "",
    );
    let status = match cluster.get(&id).await {
        Ok(Some(crd)) => health(&crd).to_string(),
        Ok(None) => "it is not on the server".to_owned(),
        Err(e) => format!("it cannot be read: {e}"),
    };
    ObjectError::NotServed {
        crd: defined.crd.clone(),
        status,
        timeout: options.timeout,
    }
}
