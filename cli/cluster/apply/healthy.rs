//! Waiting until what was applied is healthy.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::{
    ApplyOptions,
    report::{Event, NotReady},
};
use crate::cluster::client::Cluster;
use crate::cluster::health::{Health, health};
use crate::cluster::wait::{self, Poll};
use crate::plan::Wave;
use crate::resource::{Gvk, ResId};

/// How often objects that are not ready yet are read again.
pub(super) const HEALTH_POLL: Duration = Duration::from_secs(1);

/// Reads `ids` (each with the namespace it went to) again and again until each is healthy or
/// the deadline passes; returns those that are not, with why. Each read is one LIST per kind of
/// the install's members (by its label), or one GET per object without a label to select by.
pub(super) async fn wait_healthy(
    cluster: &Cluster,
    ids: Vec<(ResId, Wave, Option<String>)>,
    options: &ApplyOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<NotReady> {
    let selector = options.selector();
    let mut pending: Vec<(NotReady, Option<String>)> = ids
        .into_iter()
        .map(|(id, wave, namespace)| {
            let item = NotReady {
                id,
                wave,
                health: Health::InProgress("not read yet".to_owned()),
            };
            (item, namespace)
        })
        .collect();
    let waited = wait::until(options.deadline, HEALTH_POLL, async |attempt| {
        if attempt > 1 {
            let shown: Vec<NotReady> = pending.iter().map(|(item, _)| item.clone()).collect();
            on_event(Event::NotHealthyYet { pending: &shown });
        }
        let mut by_kind: BTreeMap<Gvk, Vec<(NotReady, Option<String>)>> = BTreeMap::new();
        for item in std::mem::take(&mut pending) {
            by_kind.entry(item.0.id.gvk.clone()).or_default().push(item);
        }
        let checked: Vec<Vec<(NotReady, Option<String>)>> = futures::stream::iter(by_kind)
            .map(|(gvk, items)| {
                let selector = selector.as_deref();
                async move { read_health(cluster, &gvk, items, selector, options).await }
            })
            .buffered(options.concurrency)
            .collect()
            .await;
        pending = checked
            .into_iter()
            .flatten()
            .filter(|n| !n.0.health.is_current())
            .collect();
        Poll::when(pending.is_empty())
    })
    .await;
    match waited {
        Ok(()) => Vec::new(),
        Err(()) => pending.into_iter().map(|(item, _)| item).collect(),
    }
}

/// The health of `items`, all of kind `gvk`: from one LIST of the install's members when there
/// is a label to select them by and the kind can be listed, else from a GET of each.
pub(super) async fn read_health(
    cluster: &Cluster,
    gvk: &Gvk,
    mut items: Vec<(NotReady, Option<String>)>,
    selector: Option<&str>,
    options: &ApplyOptions,
) -> Vec<(NotReady, Option<String>)> {
    let listed = match selector {
        Some(selector) => cluster.list(gvk, selector).await.ok(),
        None => None,
    };
    if let Some(objects) = listed {
        let mut live: HashMap<(&str, &str), &Value> = HashMap::new();
        for obj in &objects {
            let text = |field: &str| {
                obj.get("metadata")
                    .and_then(|m| m.get(field))
                    .and_then(Value::as_str)
                    .unwrap_or("")
            };
            live.insert((text("namespace"), text("name")), obj);
        }
        for (item, namespace) in &mut items {
            let key = (namespace.as_deref().unwrap_or(""), item.id.name.as_str());
            item.health = match live.get(&key) {
                Some(obj) => health(obj),
                None => Health::InProgress("not found on the server".to_owned()),
            };
        }
        return items;
    }
    futures::stream::iter(items)
        .map(|(mut item, namespace)| async move {
            item.health = match cluster.get(&item.id).await {
                Ok(Some(obj)) => health(&obj),
                Ok(None) => Health::InProgress("not found on the server".to_owned()),
                Err(e) => Health::InProgress(format!("cannot read it: {e}")),
            };
            (item, namespace)
        })
        .buffered(options.concurrency)
        .collect()
        .await
}
