//! Applying one object: read, dry run, write when something changes, recreate on `--force`.

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::Value;
use tokio::time::Instant;

use super::{
    ApplyOptions, FIELD_MANAGER,
    body::{desired, generation_of, holds, unchanged},
    healthy::HEALTH_POLL,
    known::Known,
    report::{Action, Applied, Event, ObjectError, listing},
    retry::with_retries,
    served::Brought,
};
use crate::cluster::client::{Cluster, ClusterError, Request};
use crate::cluster::wait::{self, Poll};
use crate::plan::Wave;
use crate::resource::{ResId, Resource};

/// Applies one object: read, dry run when it exists, write only when something changes.
pub(super) async fn apply_one(
    cluster: &Cluster,
    res: &Resource,
    wave: Wave,
    options: &ApplyOptions,
    brought: &Brought,
    known: &Known,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Applied, ObjectError> {
    let started = Instant::now();
    let id = res.id();
    let mut retries = 0;
    let done = |action, namespace, retries, unchecked| Applied {
        id: id.clone(),
        wave,
        action,
        namespace,
        duration: started.elapsed(),
        retries,
        unchecked,
        generation: None,
        owned: None,
    };
    // What a write answered, or a read found: its generation, and what kfctl owns of it.
    let seen = |applied: Applied, obj: &Value| Applied {
        generation: generation_of(obj),
        owned: (!options.dry_run).then(|| crate::cluster::drift::owned_digest(obj)),
        ..applied
    };
    let (api, request) = match cluster.api_for(&id, "patch").await {
        Ok(found) => found,
        Err(ClusterError::NoApi { .. }) if options.dry_run && brought.defines(&id) => {
            return Ok(done(
                Action::Created,
                Some(id.namespace.clone()).filter(|n| !n.is_empty()),
                0,
                true,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let namespace = request.namespace.clone();
    let recorded_id = ResId::new(id.gvk.clone(), &id.name, namespace.as_deref().unwrap_or(""));
    let listed = known.listed(cluster, &id.gvk).await;
    let key = (namespace.clone().unwrap_or_default(), id.name.clone());
    if !options.force_conflicts
        && let Some(recorded) = options.recorded.get(&recorded_id)
        && let Some(listed) = listed
        && let Some(live) = listed.members.get(&key)
        && *recorded == options.digest(res)
    {
        let same = match listed.metadata_only {
            true => {
                options.generations.get(&recorded_id).copied() == generation_of(live)
                    && live.pointer("/metadata/deletionTimestamp").is_none()
                    && holds(live, res, &options.labels, namespace.is_none(), true)
            }
            false => holds(live, res, &options.labels, namespace.is_none(), false),
        };
        if same {
            return Ok(Applied {
                generation: generation_of(live),
                ..done(Action::Unchanged, namespace, retries, false)
            });
        }
    }
    let body = desired(res, &options.labels);
    // Listed as absent: created at once, with no read first.
    let absent = listed.is_some_and(|l| {
        !l.members.contains_key(&key) && l.names.as_ref().is_some_and(|n| !n.contains(&key))
    });
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if options.force_conflicts {
        params = params.force();
    }
    let mut dry = params.clone();
    dry.dry_run = true;

    let get_request = Request {
        verb: "get",
        ..request.clone()
    };
    let live = match absent {
        true => None,
        false => {
            with_retries(cluster, &get_request, options, &mut retries, || {
                api.get_opt(&id.name)
            })
            .await?
        }
    };
    let patch = Patch::Apply(&body);
    let Some(live) = live else {
        let params = if options.dry_run { &dry } else { &params };
        let created = with_retries(cluster, &request, options, &mut retries, || {
            api.patch(&id.name, params, &patch)
        })
        .await;
        return match created {
            Ok(obj) => Ok(seen(
                done(Action::Created, namespace, retries, false),
                &serde_json::to_value(&obj).unwrap_or(Value::Null),
            )),
            // The namespace comes with this apply, which under `--dry-run` stored nothing.
            Err(ObjectError::Refused { code: 404, .. })
                if options.dry_run
                    && namespace
                        .as_ref()
                        .is_some_and(|ns| brought.namespaces.contains(ns)) =>
            {
                Ok(done(Action::Created, namespace, retries, true))
            }
            Err(e) => Err(e),
        };
    };
    let would_be = match with_retries(cluster, &request, options, &mut retries, || {
        api.patch(&id.name, &dry, &patch)
    })
    .await
    {
        Ok(would_be) => would_be,
        Err(ObjectError::Immutable { fields, .. }) if options.force => {
            if !options.dry_run {
                on_event(Event::Recreating {
                    id: &id,
                    fields: &fields,
                });
                let uid = live.metadata.uid.clone();
                let delete = Request {
                    verb: "delete",
                    ..request.clone()
                };
                let background = DeleteParams::background();
                with_retries(cluster, &delete, options, &mut retries, || {
                    api.delete(&id.name, &background)
                })
                .await?;
                wait_gone(cluster, &api, &get_request, &id.name, uid, options).await?;
                let obj = with_retries(cluster, &request, options, &mut retries, || {
                    api.patch(&id.name, &params, &patch)
                })
                .await?;
                return Ok(seen(
                    done(Action::Recreated, namespace, retries, false),
                    &serde_json::to_value(&obj).unwrap_or(Value::Null),
                ));
            }
            return Ok(done(Action::Recreated, namespace, retries, false));
        }
        Err(e) => return Err(e),
    };
    let live = serde_json::to_value(&live).unwrap_or(Value::Null);
    let would_be = serde_json::to_value(&would_be).unwrap_or(Value::Null);
    if unchanged(&live, &would_be) {
        return Ok(seen(
            done(Action::Unchanged, namespace, retries, false),
            &live,
        ));
    }
    if !options.dry_run {
        let obj = with_retries(cluster, &request, options, &mut retries, || {
            api.patch(&id.name, &params, &patch)
        })
        .await?;
        return Ok(seen(
            done(Action::Configured, namespace, retries, false),
            &serde_json::to_value(&obj).unwrap_or(Value::Null),
        ));
    }
    Ok(done(Action::Configured, namespace, retries, false))
}

/// Waits until the object `name` with `uid` is gone (its finalizers done), so that it can be
/// created again.
pub(super) async fn wait_gone(
    cluster: &Cluster,
    api: &kube::Api<kube::api::DynamicObject>,
    request: &Request,
    name: &str,
    uid: Option<String>,
    options: &ApplyOptions,
) -> Result<(), ObjectError> {
    let waited = wait::until(options.deadline, HEALTH_POLL, async |attempt| {
        match api.get_opt(name).await {
            Err(e) => Poll::Ready(Err(ObjectError::Cluster(cluster.error(e, request.clone())))),
            Ok(None) => Poll::Ready(Ok(())),
            Ok(Some(obj)) if obj.metadata.uid != uid => Poll::Ready(Ok(())),
            Ok(Some(obj)) => Poll::Pending((attempt, obj.metadata.finalizers.unwrap_or_default())),
        }
    })
    .await;
    waited.unwrap_or_else(|(attempts, finalizers)| {
        Err(ObjectError::GaveUp {
            attempts,
            timeout: options.timeout,
            last: format!(
                "deleted to be created again, but still there (finalizers: {})",
                listing(&finalizers)
            ),
        })
    })
}
