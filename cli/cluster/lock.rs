//! One run at a time per install: a `coordination.k8s.io/v1` Lease `kfctl-<install>` in
//! `kube-system`, held while a run changes the install and renewed in the background.
//!
//! Every write of the Lease carries the `resourceVersion` it was read at (or is a create, which
//! fails when the Lease exists), so of two runs racing for a free or stale Lease the API server
//! lets exactly one win; the other reads it again and finds it held. A run that ends releases
//! the Lease by deleting it (again under its `resourceVersion`); a run that is killed stops
//! renewing, and once `renewTime + leaseDurationSeconds` has passed the next run takes it over
//! and says whose it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::client::{Cluster, ClusterError, Request};
use super::inventory::NAMESPACE;
use super::wait::{self, Poll};

use crate::errors::{Diagnostic, ErrorClass};

/// How long a Lease stays valid without renewal: how long the next run waits for a killed one.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

/// How often a held Lease is renewed: three chances before it would expire.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// How often a held Lease is looked at again while waiting for it.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Who holds a Lease, as it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `holderIdentity`: `kfctl apply on host (pid 123)`.
    pub identity: String,
    /// `acquireTime`, RFC 3339.
    pub since: String,
    /// When the Lease expires unless renewed, RFC 3339.
    pub expires: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "install `{install}` is locked by `{}` since {} (Lease {NAMESPACE}/{lease}); waited {}s", .holder.identity, .holder.since, .waited.as_secs()
    )]
    Held {
        install: String,
        lease: String,
        holder: Holder,
        waited: Duration,
    },

    #[error(
        "lost the lock of install `{install}`: another run took Lease {NAMESPACE}/{lease} over"
    )]
    Lost { install: String, lease: String },

    #[error("cannot lock install `{install}`")]
    Cluster {
        install: String,
        #[source]
        source: ClusterError,
    },
}

impl Diagnostic for LockError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        match self {
            LockError::Held { holder, .. } => Some(format!(
                "another run is changing this install: wait for it to finish, or give it longer with `--lock-timeout`; if that run is gone, its lease expires at {} and is then taken over",
                holder.expires
            )),
            LockError::Lost { .. } => Some(
                "this run stopped renewing its lease for longer than it lasts (a paused process or a lost connection); check the install with another apply".to_owned(),
            ),
            // The cluster error below in the chain gives its own.
            LockError::Cluster { .. } => None,
        }
    }
}

/// `kfctl apply on host (pid 123)`: enough for a person to find the other run.
pub fn holder_identity(command: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "an unknown host".to_owned());
    format!("{command} on {host} (pid {})", std::process::id())
}

/// The name of an install's Lease.
pub fn lease_name(install: &str) -> String {
    format!("kfctl-{install}")
}

/// A Lease that held on to someone else's name after it expired, now ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub holder: Holder,
    /// `renewTime`, RFC 3339: when its holder last showed life.
    pub renewed: String,
}

/// Acquires install locks.
pub struct Lock;

impl Lock {
    /// Takes install `install`'s Lease for `holder`, waiting up to `wait` while another run holds
    /// it (`on_wait` is told once, with who). A Lease past its expiry is taken over.
    pub async fn acquire(
        cluster: &Cluster,
        install: &str,
        holder: &str,
        wait: Duration,
        on_wait: impl FnOnce(&Holder),
    ) -> Result<LockGuard, LockError> {
        let lease = lease_name(install);
        let api: Api<Lease> = Api::namespaced(cluster.client().clone(), NAMESPACE);
        let cluster_error = |e: kube::Error, verb: &'static str| LockError::Cluster {
            install: install.to_owned(),
            source: cluster.error(e, lease_request(&lease, verb)),
        };
        let started = tokio::time::Instant::now();
        let mut on_wait = Some(on_wait);
        let waited = wait::until(started + wait, POLL_EVERY, async |_| {
            // A conflict means someone else wrote the Lease since we read it: look again at once.
            loop {
                let now = Timestamp::now();
                match api.get_opt(&lease).await {
                    Err(e) => return Poll::Ready(Err(cluster_error(e, "get"))),
                    Ok(None) => {
                        let fresh = new_lease(&lease, holder, now, None);
                        match api.create(&PostParams::default(), &fresh).await {
                            Ok(created) => return Poll::Ready(Ok((created, None))),
                            Err(e) if is_conflict(&e) => {}
                            Err(e) => return Poll::Ready(Err(cluster_error(e, "create"))),
                        }
                    }
                    Ok(Some(live)) => {
                        let current = holder_of(&live);
                        if !current.as_ref().is_none_or(|_| expired(&live, now)) {
                            if let (Some(h), Some(tell)) = (&current, on_wait.take()) {
                                tell(h);
                            }
                            return Poll::Pending(current);
                        }
                        let stale = current.map(|h| Stale {
                            holder: h,
                            renewed: live
                                .spec
                                .as_ref()
                                .and_then(|s| s.renew_time.as_ref())
                                .map(|t| rfc3339(t.0))
                                .unwrap_or_default(),
                        });
                        let taken = new_lease(&lease, holder, now, Some(&live));
                        match api.replace(&lease, &PostParams::default(), &taken).await {
                            Ok(replaced) => return Poll::Ready(Ok((replaced, stale))),
                            Err(e) if is_conflict(&e) => {}
                            Err(e) => return Poll::Ready(Err(cluster_error(e, "update"))),
                        }
                    }
                }
            }
        })
        .await;
        match waited {
            Ok(Ok((held, stale))) => Ok(LockGuard::start(
                api,
                install.to_owned(),
                lease,
                holder.to_owned(),
                held,
                stale,
                cluster.context().to_owned(),
            )),
            Ok(Err(e)) => Err(e),
            Err(current) => Err(LockError::Held {
                install: install.to_owned(),
                lease,
                holder: current.unwrap_or_else(|| Holder {
                    identity: String::new(),
                    since: String::new(),
                    expires: String::new(),
                }),
                waited: started.elapsed(),
            }),
        }
    }
}

/// A held Lease, renewed in the background until [`LockGuard::release`]. Dropped without a
/// release (a panic), it stops renewing and the Lease expires.
pub struct LockGuard {
    api: Api<Lease>,
    install: String,
    lease: String,
    context: String,
    /// The Lease as last written by us.
    state: Arc<Mutex<Lease>>,
    lost: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    renewer: Option<JoinHandle<()>>,
    /// Set when the Lease was taken over from a run that stopped renewing it.
    pub took_over: Option<Stale>,
}

impl LockGuard {
    fn start(
        api: Api<Lease>,
        install: String,
        lease: String,
        holder: String,
        held: Lease,
        took_over: Option<Stale>,
        context: String,
    ) -> LockGuard {
        let state = Arc::new(Mutex::new(held));
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, mut stopped) = watch::channel(false);
        let renewer = {
            let api = api.clone();
            let state = state.clone();
            let lost = lost.clone();
            let lease = lease.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(RENEW_EVERY) => {}
                        _ = stopped.changed() => return,
                    }
                    let mut next = lock_state(&state).clone();
                    if let Some(spec) = next.spec.as_mut() {
                        spec.renew_time = Some(MicroTime(Timestamp::now()));
                    }
                    match api.replace(&lease, &PostParams::default(), &next).await {
                        Ok(renewed) => *lock_state(&state) = renewed,
                        Err(e) if is_conflict(&e) || is_not_found(&e) => {
                            // Written by someone else: ours no more unless it still names us.
                            match api.get_opt(&lease).await {
                                Ok(Some(live))
                                    if holder_of(&live).is_some_and(|h| h.identity == holder) =>
                                {
                                    *lock_state(&state) = live;
                                }
                                _ => {
                                    tracing::warn!("lost Lease {NAMESPACE}/{lease}");
                                    lost.store(true, Ordering::SeqCst);
                                    return;
                                }
                            }
                        }
                        Err(e) => tracing::warn!("cannot renew Lease {NAMESPACE}/{lease}: {e}"),
                    }
                }
            })
        };
        LockGuard {
            api,
            install,
            lease,
            context,
            state,
            lost,
            stop,
            renewer: Some(renewer),
            took_over,
        }
    }

    /// Stops renewing and deletes the Lease, if it is still ours.
    pub async fn release(mut self) -> Result<(), LockError> {
        let _ = self.stop.send(true);
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.await;
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(LockError::Lost {
                install: self.install.clone(),
                lease: self.lease.clone(),
            });
        }
        let held = lock_state(&self.state).clone();
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: held.metadata.resource_version.clone(),
                uid: held.metadata.uid.clone(),
            }),
            ..DeleteParams::default()
        };
        match self.api.delete(&self.lease, &params).await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) || is_not_found(&e) => Err(LockError::Lost {
                install: self.install.clone(),
                lease: self.lease.clone(),
            }),
            Err(e) => Err(LockError::Cluster {
                install: self.install.clone(),
                source: ClusterError::Request {
                    context: self.context.clone(),
                    request: lease_request(&self.lease, "delete"),
                    source: e,
                },
            }),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

fn lock_state(state: &Mutex<Lease>) -> std::sync::MutexGuard<'_, Lease> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn lease_request(lease: &str, verb: &'static str) -> Request {
    Request {
        verb,
        resource: "leases.coordination.k8s.io".to_owned(),
        namespace: Some(NAMESPACE.to_owned()),
        target: format!("Lease/{NAMESPACE}/{lease}"),
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn rfc3339(t: Timestamp) -> String {
    // Whole seconds: what a person compares with a clock.
    crate::resource::time::rfc3339(u64::try_from(t.as_second()).unwrap_or(0))
}

/// Our Lease: new, or `previous` (its resourceVersion kept, so the write fails if it changed)
/// with us as the holder.
fn new_lease(name: &str, holder: &str, now: Timestamp, previous: Option<&Lease>) -> Lease {
    let transitions = previous
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(NAMESPACE.to_owned()),
            resource_version: previous.and_then(|l| l.metadata.resource_version.clone()),
            labels: Some(
                [(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "kfctl".to_owned(),
                )]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if previous.is_some() {
                transitions + 1
            } else {
                0
            }),
            ..LeaseSpec::default()
        }),
    }
}

/// Who holds `lease`; `None` when nobody does.
fn holder_of(lease: &Lease) -> Option<Holder> {
    let spec = lease.spec.as_ref()?;
    let identity = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let since = spec
        .acquire_time
        .as_ref()
        .or(spec.renew_time.as_ref())
        .map(|t| rfc3339(t.0))
        .unwrap_or_else(|| "an unknown time".to_owned());
    let expires = expiry(lease)
        .map(rfc3339)
        .unwrap_or_else(|| "an unknown time".to_owned());
    Some(Holder {
        identity,
        since,
        expires,
    })
}

/// `renewTime + leaseDurationSeconds`, when both are set.
fn expiry(lease: &Lease) -> Option<Timestamp> {
    let spec = lease.spec.as_ref()?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds?));
    renewed.checked_add(duration).ok()
}

/// Whether `lease` has passed its expiry at `now`. A Lease that never says when it was renewed
/// or for how long cannot be judged alive: it counts as expired.
fn expired(lease: &Lease, now: Timestamp) -> bool {
    expiry(lease).is_none_or(|t| t < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, renewed: Timestamp, seconds: i32) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.to_owned()),
                lease_duration_seconds: Some(seconds),
                acquire_time: Some(MicroTime(renewed)),
                renew_time: Some(MicroTime(renewed)),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn a_lease_expires_after_its_duration_past_the_last_renewal() {
        let renewed: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
        let l = lease("a", renewed, 15);
        let at = |s: &str| s.parse::<Timestamp>().expect("a time");
        assert!(!expired(&l, at("2026-01-01T00:00:14Z")));
        assert!(expired(&l, at("2026-01-01T00:00:16Z")));
        let holder = holder_of(&l).expect("held");
        assert_eq!(holder.identity, "a");
        assert_eq!(holder.since, "2026-01-01T00:00:00Z");
        assert_eq!(holder.expires, "2026-01-01T00:00:15Z");
    }

    #[test]
    fn an_empty_holder_or_a_lease_without_times_is_free() {
        let now = Timestamp::now();
        assert_eq!(holder_of(&lease("", now, 15)), None);
        let mut no_times = lease("a", now, 15);
        if let Some(s) = no_times.spec.as_mut() {
            s.renew_time = None;
            s.acquire_time = None;
        }
        assert!(expired(&no_times, now));
    }

    #[test]
    fn taking_over_keeps_the_resource_version_and_counts_the_transition() {
        let now = Timestamp::now();
        let mut old = lease("a", now, 15);
        old.metadata.resource_version = Some("42".into());
        if let Some(s) = old.spec.as_mut() {
            s.lease_transitions = Some(3);
        }
        let ours = new_lease("kfctl-x", "b", now, Some(&old));
        assert_eq!(ours.metadata.resource_version.as_deref(), Some("42"));
        let spec = ours.spec.expect("a spec");
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        let fresh = new_lease("kfctl-x", "b", now, None);
        assert_eq!(fresh.metadata.resource_version, None);
    }

    #[test]
    fn the_holder_names_the_command_and_process() {
        let id = holder_identity("kfctl apply");
        assert!(id.starts_with("kfctl apply on "), "{id}");
        assert!(
            id.ends_with(&format!("(pid {})", std::process::id())),
            "{id}"
        );
    }
}
