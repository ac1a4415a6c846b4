//! Applying one object: read, dry run, write when something changes, recreate on `--force`.

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::Value;
use tokio::time::Instant;

use super::{
    ApplyOptions, FIELD_MANAGER,
    body::{desired, generation_of, holds, unchanged},
    healthy::HEALTH_POLL,
    known::{Known, Listed},
    report::{Action, Applied, Event, ObjectError},
    retry::with_retries,
    served::Brought,
};
use crate::cluster::client::{Cluster, ClusterError, Request};
use crate::cluster::listing;
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
    let finish = Finish {
        id: &id,
        wave,
        started,
        dry_run: options.dry_run,
    };
    let done =
        |action, namespace, retries, unchecked| finish.done(action, namespace, retries, unchecked);
    let seen = |applied, obj: &Value| finish.seen(applied, obj);
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
    if let Some(live) = unchanged_as_recorded(
        res,
        options,
        &recorded_id,
        listed,
        &key,
        namespace.is_none(),
    ) {
        return Ok(Applied {
            generation: generation_of(live),
            ..done(Action::Unchanged, namespace, retries, false)
        });
    }
    let body = desired(res, &options.labels);
    // Listed as absent: created at once, with no read first.
    let absent = listed.is_some_and(|l| {
        !l.members.contains_key(&key) && l.names.as_ref().is_some_and(|n| !n.contains(&key))
    });
    let (params, dry) = patch_params(options);
    let get_request = Request {
        verb: "get",
        ..request.clone()
    };
    let write = Write {
        cluster,
        api: &api,
        request: &request,
        options,
    };
    let live = match absent {
        true => None,
        false => write.read(&get_request, &id.name, &mut retries).await?,
    };
    let patch = Patch::Apply(&body);
    let Some(live) = live else {
        let params = if options.dry_run { &dry } else { &params };
        return write
            .create(
                &id.name, params, &patch, retries, namespace, brought, &finish,
            )
            .await;
    };
    let would_be = match with_retries(cluster, &request, options, &mut retries, || {
        api.patch(&id.name, &dry, &patch)
    })
    .await
    {
        Ok(would_be) => would_be,
        Err(ObjectError::Immutable { fields, .. }) if options.force => {
            if options.dry_run {
                return Ok(done(Action::Recreated, namespace, retries, false));
            }
            on_event(Event::Recreating {
                id: &id,
                fields: &fields,
            });
            let obj = write
                .recreate(
                    &get_request,
                    &id.name,
                    live.metadata.uid.clone(),
                    &params,
                    &patch,
                    &mut retries,
                )
                .await?;
            return Ok(seen(
                done(Action::Recreated, namespace, retries, false),
                &obj,
            ));
        }
        Err(e) => return Err(e),
    };
    let live = serde_json::to_value(&live).unwrap_or(Value::Null);
    let would_be = serde_json::to_value(&would_be).unwrap_or(Value::Null);
    write
        .configure(
            &id.name, &live, &would_be, &params, &patch, retries, namespace, &finish,
        )
        .await
}

/// The parameters of kfctl's server-side apply, and of its dry run.
fn patch_params(options: &ApplyOptions) -> (PatchParams, PatchParams) {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if options.force_conflicts {
        params = params.force();
    }
    let mut dry = params.clone();
    dry.dry_run = true;
    (params, dry)
}

/// The live object, when the install's record and the kind's listing show it as kfctl last
/// applied it (same render, and what kfctl set still set): no request of its own is needed.
/// Never under `--force-conflicts`.
fn unchanged_as_recorded<'l>(
    res: &Resource,
    options: &ApplyOptions,
    recorded_id: &ResId,
    listed: Option<&'l Listed>,
    key: &(String, String),
    cluster_scoped: bool,
) -> Option<&'l Value> {
    if options.force_conflicts {
        return None;
    }
    let recorded = options.recorded.get(recorded_id)?;
    let listed = listed?;
    let live = listed.members.get(key)?;
    if *recorded != options.digest(res) {
        return None;
    }
    let same = match listed.metadata_only {
        true => {
            options.generations.get(recorded_id).copied() == generation_of(live)
                && live.pointer("/metadata/deletionTimestamp").is_none()
                && holds(live, res, &options.labels, cluster_scoped, true)
        }
        false => holds(live, res, &options.labels, cluster_scoped, false),
    };
    same.then_some(live)
}

/// What the apply of one object reports.
struct Finish<'a> {
    id: &'a ResId,
    wave: Wave,
    started: Instant,
    dry_run: bool,
}

impl Finish<'_> {
    fn done(
        &self,
        action: Action,
        namespace: Option<String>,
        retries: u32,
        unchecked: bool,
    ) -> Applied {
        Applied {
            id: self.id.clone(),
            wave: self.wave,
            action,
            namespace,
            duration: self.started.elapsed(),
            retries,
            unchecked,
            generation: None,
            owned: None,
        }
    }

    /// What a write answered, or a read found: its generation, and what kfctl owns of it.
    fn seen(&self, applied: Applied, obj: &Value) -> Applied {
        Applied {
            generation: generation_of(obj),
            owned: (!self.dry_run).then(|| crate::cluster::drift::owned_digest(obj)),
            ..applied
        }
    }
}

/// Where a write of one object goes.
struct Write<'a> {
    cluster: &'a Cluster,
    api: &'a kube::Api<kube::api::DynamicObject>,
    request: &'a Request,
    options: &'a ApplyOptions,
}

impl Write<'_> {
    /// Reads the object `name`; `None` when there is none.
    async fn read(
        &self,
        get_request: &Request,
        name: &str,
        retries: &mut u32,
    ) -> Result<Option<kube::api::DynamicObject>, ObjectError> {
        let api = self.api;
        with_retries(self.cluster, get_request, self.options, retries, || {
            api.get_opt(name)
        })
        .await
    }

    /// Writes the object `name` unless the server's dry run of it (`would_be`) leaves `live`
    /// unchanged; under `--dry-run`, only says it would change.
    #[allow(clippy::too_many_arguments)]
    async fn configure(
        &self,
        name: &str,
        live: &Value,
        would_be: &Value,
        params: &PatchParams,
        patch: &Patch<&Value>,
        mut retries: u32,
        namespace: Option<String>,
        finish: &Finish<'_>,
    ) -> Result<Applied, ObjectError> {
        if unchanged(live, would_be) {
            return Ok(finish.seen(
                finish.done(Action::Unchanged, namespace, retries, false),
                live,
            ));
        }
        if self.options.dry_run {
            return Ok(finish.done(Action::Configured, namespace, retries, false));
        }
        let api = self.api;
        let obj = with_retries(
            self.cluster,
            self.request,
            self.options,
            &mut retries,
            || api.patch(name, params, patch),
        )
        .await?;
        Ok(finish.seen(
            finish.done(Action::Configured, namespace, retries, false),
            &serde_json::to_value(&obj).unwrap_or(Value::Null),
        ))
    }

    /// Creates the object `name`, listed or read as absent.
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<&Value>,
        mut retries: u32,
        namespace: Option<String>,
        brought: &Brought,
        finish: &Finish<'_>,
    ) -> Result<Applied, ObjectError> {
        let (cluster, api, options) = (self.cluster, self.api, self.options);
        let created = with_retries(cluster, self.request, options, &mut retries, || {
            api.patch(name, params, patch)
        })
        .await;
        match created {
            Ok(obj) => Ok(finish.seen(
                finish.done(Action::Created, namespace, retries, false),
                &serde_json::to_value(&obj).unwrap_or(Value::Null),
            )),
            // The namespace comes with this apply, which under `--dry-run` stored nothing.
            Err(ObjectError::Refused { code: 404, .. })
                if options.dry_run
                    && namespace
                        .as_ref()
                        .is_some_and(|ns| brought.namespaces.contains(ns)) =>
            {
                Ok(finish.done(Action::Created, namespace, retries, true))
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the object `name` (with `uid`), waits until it is gone and applies `patch` again:
    /// what the server answered.
    async fn recreate(
        &self,
        get_request: &Request,
        name: &str,
        uid: Option<String>,
        params: &PatchParams,
        patch: &Patch<&Value>,
        retries: &mut u32,
    ) -> Result<Value, ObjectError> {
        let (cluster, api, options) = (self.cluster, self.api, self.options);
        let delete = Request {
            verb: "delete",
            ..self.request.clone()
        };
        let background = DeleteParams::background();
        with_retries(cluster, &delete, options, retries, || {
            api.delete(name, &background)
        })
        .await?;
        wait_gone(cluster, api, get_request, name, uid, options).await?;
        let obj = with_retries(cluster, self.request, options, retries, || {
            api.patch(name, params, patch)
        })
        .await?;
        Ok(serde_json::to_value(&obj).unwrap_or(Value::Null))
    }
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
