//! Server-side apply of a render, wave by wave ([`plan::stages`]), with field manager `kfctl`.
//!
//! The live objects of each kind are listed once (when the kind's first object is applied): an
//! object the list shows absent is created at once; one that exists is applied as a server-side
//! dry run and written only when the result differs from what is live, so applying the same
//! render twice makes no write the second time (Flux's `ssa` does the same). Inside a wave,
//! objects go with bounded concurrency; after Definitions, kfctl waits until every Namespace is
//! active. A custom resource of a kind the render's CRDs define waits, on its own, until
//! discovery serves its kind (its CRD Established, [`Served`]); everything else goes while the
//! server establishes the CRDs. An object an admission webhook intercepts waits until that
//! webhook admits ([`admission`]); the others go at once. Requests that fail for a reason that
//! passes (an optimistic concurrency conflict, throttling, a server error, a webhook not
//! answering yet, a dropped connection) are retried with backoff until the deadline; requests
//! the server refuses (an invalid object, a field another manager owns) are not, and end in the
//! report with the server's message. A change to an immutable field is refused too, unless
//! `force` asks for the object to be deleted and created again. After the last wave, every
//! applied object is watched until it is healthy ([`health`]) or the deadline passes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::admission::{Gatekeeper, WebhookDown};
use super::client::{Cluster, ClusterError, Request};
use super::health::{Health, health};
use crate::plan::{self, Wave, WaveWait};
use crate::resource::{Gvk, Origin, ResId, Resource, ResourceSet};
use crate::shell;

/// The field manager of every write kfctl makes.
pub const FIELD_MANAGER: &str = "kfctl";

/// How many requests of one wave are in flight at once.
pub const CONCURRENCY: usize = 16;

/// The first pause after a transient failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A connection error is retried this many times: a server that stays unreachable is named
/// rather than waited on until the deadline.
const CONNECTION_ATTEMPTS: u32 = 6;
/// How often objects that are not ready yet are read again.
const HEALTH_POLL: Duration = Duration::from_secs(1);

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Every write is a server-side dry run; nothing is stored, nothing is waited on.
    pub dry_run: bool,
    /// Take over fields another field manager owns.
    pub force_conflicts: bool,
    /// Delete and create again an object whose change touches an immutable field.
    pub force: bool,
    pub concurrency: usize,
    /// When waiting and retrying stop.
    pub deadline: Instant,
    /// The whole budget, for messages.
    pub timeout: Duration,
    /// Labels added to every object (the ApplySet membership label).
    pub labels: BTreeMap<String, String>,
    /// What the install's record says the last successful apply sent: object (with the
    /// namespace it went to) → digest of its rendered body. An object whose digest is the same
    /// now, and whose live copy (listed once per kind) still holds every field of it, is known
    /// unchanged without a request of its own.
    pub recorded: BTreeMap<ResId, String>,
    /// What the record says of each CRD's `metadata.generation` after the last successful
    /// apply. The server bumps a CRD's generation on every change to its spec, so a CRD whose
    /// digest and generation are both as recorded is known unchanged from its metadata alone:
    /// CRDs are listed without their bodies (the upstream example's 74 weigh 5 MB as JSON).
    pub generations: BTreeMap<ResId, i64>,
    /// The digest of each rendered object ([`inventory::digest`](super::inventory::digest)),
    /// by its rendered id, when the caller has them; the others are made when needed.
    pub digests: std::sync::Arc<HashMap<ResId, String>>,
}

impl ApplyOptions {
    fn digest(&self, res: &Resource) -> String {
        self.digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| super::inventory::digest(res))
    }
}

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again, for a change to an immutable field (`--force`).
    Recreated,
    /// Deleted after the apply: the install's, and not in the render any more.
    Pruned,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Recreated => "recreated",
            Action::Pruned => "pruned",
        })
    }
}

/// One object applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub id: ResId,
    pub wave: Wave,
    pub action: Action,
    /// The namespace the object went to; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub duration: Duration,
    /// Transient failures retried before it went through.
    pub retries: u32,
    /// Under `--dry-run`, the server could not check it: its namespace or its CRD comes with
    /// this apply and does not exist yet.
    pub unchecked: bool,
    /// `metadata.generation` of the object as written or found, when the server keeps one.
    pub generation: Option<i64>,
    /// The digest of its kfctl-owned fields (`drift::owned_digest`) as written or read during
    /// the apply; `None` when the apply did not see the object whole.
    pub owned: Option<String>,
}

/// One object that could not be applied.
#[derive(Debug)]
pub struct Failed {
    pub id: ResId,
    pub origin: Origin,
    pub wave: Wave,
    pub error: ObjectError,
}

/// Why one object was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The server refused the object (400, 404, 422...): retrying cannot help.
    #[error("the server refused it: {message} ({code} {reason})")]
    Refused {
        code: u16,
        reason: String,
        message: String,
    },

    /// Fields of the object are owned by another field manager.
    #[error("{} owned by {}: {message}", if .managers.len() == 1 { "a field is" } else { "fields are" }, listing(.managers))]
    Conflict {
        managers: Vec<String>,
        message: String,
    },

    /// The change touches fields the server does not let change.
    #[error("{} immutable: {message}", match .fields.as_slice() { [] => "a field is".to_owned(), [f] => format!("field `{f}` is"), fs => format!("fields {} are", listing(fs)) })]
    Immutable {
        fields: Vec<String>,
        message: String,
    },

    /// An admission webhook in front of the object never admitted.
    #[error(transparent)]
    WebhookDown(#[from] WebhookDown),

    /// The CRD of the object's kind, in the same render, was not Established in time.
    #[error("its kind is not served: CRD `{crd}` was not Established when the {} timeout passed ({status})", human(*.timeout))]
    NotServed {
        crd: String,
        status: String,
        timeout: Duration,
    },

    /// Failures that can pass kept failing until the deadline.
    #[error("still failing after {attempts} attempts, when the {} timeout passed: {last}", human(*.timeout))]
    GaveUp {
        attempts: u32,
        timeout: Duration,
        last: String,
    },

    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A duration as a person writes it: `300ms`, `45s`, `5m`, `1m30s`, `1h2m`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if s > 0 || text.is_empty() {
        text.push_str(&format!("{s}s"));
    }
    text
}

fn listing(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An object that did not become healthy in time.
#[derive(Debug, Clone)]
pub struct NotReady {
    pub id: ResId,
    pub wave: Wave,
    pub health: Health,
}

/// Everything an apply did, kept whether it succeeded or not.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<Applied>,
    pub failed: Vec<Failed>,
    pub not_ready: Vec<NotReady>,
    /// Waves not started because an earlier one failed.
    pub skipped: Vec<(Wave, usize)>,
    pub elapsed: Duration,
    /// The live members of each kind whose objects this apply left all unchanged, as listed
    /// before: still current, so what is recorded about them needs no second list.
    pub listed: Listings,
    /// Kinds of `listed` whose members hold metadata alone.
    pub metadata_only: BTreeSet<Gvk>,
}

impl ApplyReport {
    pub fn count(&self, action: Action) -> usize {
        self.applied.iter().filter(|a| a.action == action).count()
    }

    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_ready.is_empty() && self.skipped.is_empty()
    }
}

/// An apply that did not end with everything applied and healthy: each object that failed or
/// is not ready, with the server's message or the reason.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{}", describe_failures(.failed, *.skipped))]
    Objects { failed: Vec<Failed>, skipped: usize },

    #[error("{}", describe_not_ready(.not_ready, *.timeout))]
    NotReady {
        not_ready: Vec<NotReady>,
        timeout: Duration,
    },
}

fn describe_failures(failed: &[Failed], skipped: usize) -> String {
    let mut text = match failed.len() {
        1 => "1 object was not applied".to_owned(),
        n => format!("{n} objects were not applied"),
    };
    if skipped > 0 {
        text.push_str(&format!(
            " ({skipped} objects of later waves were not sent)"
        ));
    }
    for f in failed {
        text.push_str(&format!("\n    {} ({}): {}", f.id, f.origin, f.error));
    }
    // Once per webhook, however many objects wait behind it.
    let mut named: Vec<&str> = Vec::new();
    for f in failed {
        if let ObjectError::WebhookDown(down) = &f.error
            && !named.contains(&down.webhook.as_str())
        {
            named.push(&down.webhook);
            text.push_str(&format!(
                "\n    the last call to webhook `{}`: {}",
                down.webhook, down.last
            ));
        }
    }
    text
}

fn describe_not_ready(not_ready: &[NotReady], timeout: Duration) -> String {
    let mut text = format!(
        "{} not ready when the {} timeout passed",
        match not_ready.len() {
            1 => "1 object was".to_owned(),
            n => format!("{n} objects were"),
        },
        human(timeout)
    );
    for n in not_ready {
        text.push_str(&format!("\n    {}: {}", n.id, n.health));
    }
    text
}

impl ApplyError {
    /// `None` when the report is a success.
    pub fn from_report(report: ApplyReport, timeout: Duration) -> Option<ApplyError> {
        let skipped = report.skipped.iter().map(|(_, n)| n).sum();
        if !report.failed.is_empty() {
            Some(ApplyError::Objects {
                failed: report.failed,
                skipped,
            })
        } else if !report.not_ready.is_empty() {
            Some(ApplyError::NotReady {
                not_ready: report.not_ready,
                timeout,
            })
        } else {
            None
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Objects { failed, .. } => {
                let mut managers: Vec<&String> = failed
                    .iter()
                    .filter_map(|f| match &f.error {
                        ObjectError::Conflict { managers, .. } => Some(managers),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                managers.sort();
                managers.dedup();
                if !managers.is_empty() {
                    let names: Vec<String> = managers.into_iter().cloned().collect();
                    return Some(format!(
                        "pass `--force-conflicts` to take the fields over from {}",
                        listing(&names)
                    ));
                }
                if let Some(down) = failed.iter().find_map(|f| match &f.error {
                    ObjectError::WebhookDown(down) => Some(down),
                    _ => None,
                }) {
                    return Some(down.backend.hint());
                }
                if failed
                    .iter()
                    .any(|f| matches!(f.error, ObjectError::Immutable { .. }))
                {
                    return Some(
                        "pass `--force` to delete these objects and create them again (their pods restart; data in them is lost)".to_owned(),
                    );
                }
                if let Some(crd) = failed.iter().find_map(|f| match &f.error {
                    ObjectError::NotServed { crd, .. } => Some(crd),
                    _ => None,
                }) {
                    return Some(format!(
                        "`kubectl describe crd {}` shows why it is not Established (a name another CRD holds, an invalid schema); rerun with a longer `--timeout` if the API server is only slow",
                        shell::quote(crd)
                    ));
                }
                if failed
                    .iter()
                    .any(|f| matches!(f.error, ObjectError::GaveUp { .. }))
                {
                    return Some("raise `--timeout`, or check the API server and the webhooks named above".to_owned());
                }
                failed.iter().find_map(|f| match &f.error {
                    ObjectError::Cluster(e) => e.hint(),
                    _ => None,
                })
            }
            ApplyError::NotReady { .. } => Some(
                "`kubectl describe` the objects named above; rerun `kfctl apply` (with a longer `--timeout`) to keep waiting".to_owned(),
            ),
        }
    }
}

/// Progress, for the command to print.
#[derive(Debug)]
pub enum Event<'a> {
    WaveStarted {
        wave: Wave,
        objects: usize,
        /// Its place among the waves this apply has, from 1.
        number: usize,
        of: usize,
    },
    Applied(&'a Applied),
    Failed(&'a Failed),
    /// Waiting for what the wave's objects need before the next wave.
    Waiting {
        wave: Wave,
        what: String,
    },
    WaveDone {
        wave: Wave,
        elapsed: Duration,
    },
    /// Objects waiting for an admission webhook that does not admit yet.
    WaitingForWebhook {
        webhook: &'a str,
        backend: &'a super::admission::Backend,
        objects: usize,
    },
    /// The webhook admits now; the objects behind it go.
    WebhookAdmits {
        webhook: &'a str,
        waited: Duration,
    },
    /// Deleting an object to create it again (`force`, immutable fields).
    Recreating {
        id: &'a ResId,
        fields: &'a [String],
    },
    /// The objects still not healthy, after each read; the first is the example to show.
    NotHealthyYet {
        pending: &'a [NotReady],
    },
}

/// A failed request, classified for the retry loop.
enum Failure {
    /// Worth another try; the text says what failed, the flag whether the connection did.
    Transient(String, bool),
    Fatal(ObjectError),
}

/// Whether a failed request can pass on its own, and how to report it if not.
fn classify(cluster: &Cluster, err: kube::Error, request: &Request) -> Failure {
    match err {
        kube::Error::Api(status) => {
            let status = *status;
            let conflict_causes: Vec<String> = status
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .filter(|c| c.reason == "FieldManagerConflict")
                        .map(|c| c.message.clone())
                        .collect()
                })
                .unwrap_or_default();
            if status.code == 409 && !conflict_causes.is_empty() {
                let mut managers: Vec<String> = conflict_causes
                    .iter()
                    .filter_map(|m| manager_of(m))
                    .collect();
                managers.sort();
                managers.dedup();
                return Failure::Fatal(ObjectError::Conflict {
                    managers,
                    message: status.message,
                });
            }
            if status.code == 422
                && let Some(fields) = immutable_fields(&status)
            {
                return Failure::Fatal(ObjectError::Immutable {
                    fields,
                    message: status.message,
                });
            }
            let webhook_down = super::admission::webhook_call_failed(&status.message)
                && !matches!(status.code, 400 | 422);
            let transient = matches!(status.code, 409 | 429 | 500..=599) || webhook_down;
            if transient {
                return Failure::Transient(
                    format!("{} ({} {})", status.message, status.code, status.reason),
                    false,
                );
            }
            match status.code {
                401 | 403 => Failure::Fatal(ObjectError::Cluster(
                    cluster.error(kube::Error::Api(Box::new(status)), request.clone()),
                )),
                code => Failure::Fatal(ObjectError::Refused {
                    code,
                    reason: status.reason,
                    message: status.message,
                }),
            }
        }
        err @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
            Failure::Transient(err.to_string(), true)
        }
        err => Failure::Fatal(ObjectError::Cluster(cluster.error(err, request.clone()))),
    }
}

/// Messages of the API server's validation for a field that cannot change once set.
const IMMUTABLE: &[&str] = &["field is immutable", "may not change once set"];

/// The fields a 422 refuses to change, when that is why it refused; `None` for other
/// validation errors.
fn immutable_fields(status: &kube::core::Status) -> Option<Vec<String>> {
    let causes = status.details.as_ref().map(|d| d.causes.as_slice());
    let mut fields: Vec<String> = causes
        .into_iter()
        .flatten()
        .filter(|c| IMMUTABLE.iter().any(|m| c.message.contains(m)))
        .map(|c| c.field.clone())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() && !IMMUTABLE.iter().any(|m| status.message.contains(m)) {
        return None;
    }
    fields.dedup();
    Some(fields)
}

/// `conflict with "kubectl-client-side-apply" using v1` → the manager's name.
fn manager_of(message: &str) -> Option<String> {
    let rest = message.split_once("conflict with \"")?.1;
    Some(rest.split_once('"')?.0.to_owned())
}

/// Runs `call` until it succeeds, fails for good, or transient failures outlast the deadline.
async fn with_retries<T, F, Fut>(
    cluster: &Cluster,
    request: &Request,
    options: &ApplyOptions,
    retries: &mut u32,
    mut call: F,
) -> Result<T, ObjectError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut connection_failures = 0;
    loop {
        let err = match call().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        match classify(cluster, err, request) {
            Failure::Fatal(e) => return Err(e),
            Failure::Transient(last, connection) => {
                connection_failures += u32::from(connection);
                let attempts = *retries + 1;
                if connection_failures >= CONNECTION_ATTEMPTS
                    || Instant::now() + backoff > options.deadline
                {
                    return Err(ObjectError::GaveUp {
                        attempts,
                        timeout: options.timeout,
                        last,
                    });
                }
                tracing::debug!(target = %request.target, %last, "retrying");
                *retries += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The object as kfctl sends it: the render's body with the inventory labels added. An
/// aggregated ClusterRole (one with an `aggregationRule`) goes without `rules`: the API server's
/// clusterrole-aggregation-controller owns them, and sending any would conflict with it on every
/// apply after the first.
pub fn desired(res: &Resource, labels: &BTreeMap<String, String>) -> Value {
    let mut body = res.body.clone();
    if res.kind() == "ClusterRole"
        && res.api_version().starts_with("rbac.authorization.k8s.io/")
        && body.get("aggregationRule").is_some_and(|r| !r.is_null())
        && let Some(obj) = body.as_object_mut()
    {
        obj.remove("rules");
    }
    if labels.is_empty() {
        return body;
    }
    let meta = crate::resource::object_mut(&mut body)
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        let current = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(current) = current.as_object_mut() {
            for (k, v) in labels {
                current.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    body
}

/// An object as compared for "would this apply change anything": without the fields that
/// differ between two reads of an unchanged object (`resourceVersion`, and the times in
/// `managedFields`).
fn comparable(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(fields) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            for entry in fields {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
    }
    obj
}

/// Whether applying would leave `live` as it is, judged from the server's dry run.
pub fn unchanged(live: &Value, dry_run: &Value) -> bool {
    comparable(live) == comparable(dry_run)
}

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
struct Brought {
    namespaces: Vec<String>,
    kinds: Vec<Defined>,
}

impl Brought {
    fn of(set: &ResourceSet) -> Brought {
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

    fn defined(&self, gvk: &Gvk) -> Option<&Defined> {
        self.kinds.iter().find(|d| d.defines(gvk))
    }

    fn defines(&self, id: &ResId) -> bool {
        self.defined(&id.gvk).is_some()
    }
}

/// How often discovery is fetched again while objects wait for their kinds to be served.
const SERVED_POLL: Duration = Duration::from_millis(500);

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
    fn new(brought: &'a Brought) -> Served<'a> {
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
        loop {
            if cluster.resolve(&id.gvk).await.is_ok() {
                return Ok(());
            }
            let mut last = self.refreshed.lock().await;
            // Another object's wait may have fetched it meanwhile.
            if cluster.resolve(&id.gvk).await.is_ok() {
                return Ok(());
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
            let next = last.map_or_else(Instant::now, |at| at + SERVED_POLL);
            if next > options.deadline {
                return Err(not_served(cluster, defined, options).await);
            }
            tokio::time::sleep_until(next).await;
            let refreshed = cluster.refresh_discovery().await;
            *last = Some(Instant::now());
            refreshed?;
        }
    }
}

/// Why the kind of `defined` is not served, from its CRD's status.
async fn not_served(cluster: &Cluster, defined: &Defined, options: &ApplyOptions) -> ObjectError {
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

/// The live members of each kind, as listed.
pub type Listings = BTreeMap<Gvk, Vec<(ResId, Value)>>;

/// What one LIST of a kind showed, by (namespace, `""` when cluster-scoped; name).
#[derive(Default)]
struct Listed {
    /// The install's labelled members, with their bodies: listed when the install's record
    /// lets an unchanged object be known without a request of its own.
    members: HashMap<(String, String), Value>,
    /// Whether `members` holds the kind's members (it was asked for, and the list succeeded).
    members_listed: bool,
    /// Every object of the kind, member or not (names only); `None` when not listed (every
    /// rendered object is a member, or the list failed): then an object is read before it is
    /// written. An object absent from it is created at once, with no read first.
    names: Option<HashSet<(String, String)>>,
    /// `members` hold metadata alone (see [`ApplyOptions::generations`]).
    metadata_only: bool,
}

/// The live objects of each kind of the render, listed once per kind when the first object of
/// the kind is applied (after its CRD is served), instead of one GET per object.
struct Known {
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
    fn new(set: &ResourceSet, options: &ApplyOptions) -> Known {
        let selector = options
            .labels
            .iter()
            .next()
            .map(|(label, id)| format!("{label}={id}"));
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
    async fn list_metadata(
        &self,
        cluster: &Cluster,
        gvk: &Gvk,
        resolved: &super::client::Resolved,
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
    fn settled(&self, id: &ResId, namespace: Option<&str>) -> bool {
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
    async fn listed(&self, cluster: &Cluster, gvk: &Gvk) -> Option<&Listed> {
        let cell = self.kinds.get(gvk)?;
        Some(cell.get_or_init(|| self.list(cluster, gvk)).await)
    }

    async fn list(&self, cluster: &Cluster, gvk: &Gvk) -> Listed {
        let mut listed = Listed::default();
        let Ok(resolved) = cluster.resolve(gvk).await else {
            return listed;
        };
        let cluster_scoped = resolved.scope == super::client::Scope::Cluster;
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
    fn unchanged_kinds(&self, applied: &[Applied]) -> (Listings, BTreeSet<Gvk>) {
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

/// Applies one object: read, dry run when it exists, write only when something changes.
async fn apply_one(
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
        owned: (!options.dry_run).then(|| super::drift::owned_digest(obj)),
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

/// `metadata.generation`, when the server keeps one for the object.
fn generation_of(obj: &Value) -> Option<i64> {
    obj.pointer("/metadata/generation").and_then(Value::as_i64)
}

/// Whether `live` holds every field that applying `res` with `labels` sends ([`desired`]), as
/// [`compare::contains`](crate::resource::compare::contains) judges it, without copying the
/// body: a cluster-scoped object shows no namespace (the server drops the one a render names),
/// a CRD's status is the server's (it ignores the one sent), an aggregated ClusterRole's rules
/// are its aggregator's. With `metadata_only`, only the metadata is looked at.
fn holds(
    live: &Value,
    res: &Resource,
    labels: &BTreeMap<String, String>,
    cluster_scoped: bool,
    metadata_only: bool,
) -> bool {
    use crate::resource::compare::contains_field;
    let Some(want) = res.body.as_object() else {
        return false;
    };
    let live_meta = live.get("metadata");
    let live_labels = live_meta.and_then(|m| m.get("labels"));
    let labelled = labels.iter().all(|(k, v)| {
        live_labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str())
    });
    let crd = is_crd_kind(&res.gvk());
    let aggregated = res.kind() == "ClusterRole"
        && res.api_version().starts_with("rbac.authorization.k8s.io/")
        && want.get("aggregationRule").is_some_and(|r| !r.is_null());
    labelled
        && want.iter().all(|(key, w)| match key.as_str() {
            "metadata" => match w.as_object() {
                Some(meta) => meta.iter().all(|(field, w)| match field.as_str() {
                    "namespace" if cluster_scoped => true,
                    // The install's labels replace rendered ones of the same key.
                    "labels" => w.as_object().is_none_or(|rendered| {
                        rendered
                            .iter()
                            .filter(|(k, _)| !labels.contains_key(*k))
                            .all(|(k, w)| {
                                contains_field(live_labels.and_then(|l| l.get(k)), w, k, "labels")
                            })
                    }),
                    _ => contains_field(live_meta.and_then(|m| m.get(field)), w, field, "metadata"),
                }),
                None => contains_field(live_meta, w, key, ""),
            },
            _ if metadata_only => true,
            "status" if crd => true,
            "rules" if aggregated => true,
            _ => contains_field(live.get(key), w, key, ""),
        })
}

/// Waits until the object `name` with `uid` is gone (its finalizers done), so that it can be
/// created again.
async fn wait_gone(
    cluster: &Cluster,
    api: &kube::Api<kube::api::DynamicObject>,
    request: &Request,
    name: &str,
    uid: Option<String>,
    options: &ApplyOptions,
) -> Result<(), ObjectError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let live = api
            .get_opt(name)
            .await
            .map_err(|e| ObjectError::Cluster(cluster.error(e, request.clone())))?;
        match live {
            None => return Ok(()),
            Some(obj) if obj.metadata.uid != uid => return Ok(()),
            Some(obj) => {
                if Instant::now() + HEALTH_POLL > options.deadline {
                    let finalizers = obj.metadata.finalizers.unwrap_or_default();
                    return Err(ObjectError::GaveUp {
                        attempts,
                        timeout: options.timeout,
                        last: format!(
                            "deleted to be created again, but still there (finalizers: {})",
                            listing(&finalizers)
                        ),
                    });
                }
            }
        }
        tokio::time::sleep(HEALTH_POLL).await;
    }
}

/// Reads `ids` (each with the namespace it went to) again and again until each is healthy or
/// the deadline passes; returns those that are not, with why. Each read is one LIST per kind of
/// the install's members (by its label), or one GET per object without a label to select by.
async fn wait_healthy(
    cluster: &Cluster,
    ids: Vec<(ResId, Wave, Option<String>)>,
    options: &ApplyOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<NotReady> {
    let selector = options
        .labels
        .iter()
        .next()
        .map(|(label, id)| format!("{label}={id}"));
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
    loop {
        let mut by_kind: BTreeMap<Gvk, Vec<(NotReady, Option<String>)>> = BTreeMap::new();
        for item in pending {
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
        if pending.is_empty() || Instant::now() + HEALTH_POLL > options.deadline {
            return pending.into_iter().map(|(item, _)| item).collect();
        }
        let shown: Vec<NotReady> = pending.iter().map(|(item, _)| item.clone()).collect();
        on_event(Event::NotHealthyYet { pending: &shown });
        tokio::time::sleep(HEALTH_POLL).await;
    }
}

/// The health of `items`, all of kind `gvk`: from one LIST of the install's members when there
/// is a label to select them by and the kind can be listed, else from a GET of each.
async fn read_health(
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

/// Whether `gvk` is the CustomResourceDefinition kind.
pub fn is_crd_kind(gvk: &Gvk) -> bool {
    gvk.group == "apiextensions.k8s.io" && gvk.kind == "CustomResourceDefinition"
}

/// Applies `set` wave by wave, then waits until everything applied is healthy. Never fails as a
/// whole: what went wrong is in the report, with everything that was applied.
pub async fn apply(
    cluster: &Cluster,
    set: &ResourceSet,
    options: &ApplyOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> ApplyReport {
    let started = Instant::now();
    let brought = Brought::of(set);
    let known = Known::new(set, options);
    // Unchanged objects whose listed copy is healthy need no second look.
    let settled =
        |a: &Applied| a.action == Action::Unchanged && known.settled(&a.id, a.namespace.as_deref());
    let mut report = ApplyReport::default();
    let stages = plan::stages(set);
    let mut gatekeeper = Gatekeeper::new(cluster, set, &brought.kinds).await;
    let slots = tokio::sync::Semaphore::new(options.concurrency.max(1));
    let served = Served::new(&brought);
    for (index, stage) in stages.iter().enumerate() {
        let wave_started = Instant::now();
        on_event(Event::WaveStarted {
            wave: stage.wave,
            objects: stage.resources.len(),
            number: index + 1,
            of: stages.len(),
        });
        let gates = gatekeeper
            .gates(cluster, stage.wave, &stage.resources, options.dry_run)
            .await;
        // Every object starts at once and waits for its gates, then for a slot: an object
        // behind a webhook that does not admit yet holds no slot the others need.
        let results: Vec<Result<Applied, Failed>> =
            futures::future::join_all(stage.resources.iter().copied().enumerate().map(
                |(index, res)| {
                    let (brought, known, gates, slots, served) =
                        (&brought, &known, &gates, &slots, &served);
                    async move {
                        let id = res.id();
                        let ready = match served
                            .wait(cluster, &id, stage.wave, options, on_event)
                            .await
                        {
                            Ok(()) => gates
                                .wait(index, cluster, options, on_event, served)
                                .await
                                .map_err(ObjectError::from),
                            Err(e) => Err(e),
                        };
                        let result = match ready {
                            Err(e) => Err(e),
                            Ok(()) => {
                                // The semaphore is never closed; were it, the object would go anyway.
                                let _slot = slots.acquire().await.ok();
                                apply_one(
                                    cluster, res, stage.wave, options, brought, known, on_event,
                                )
                                .await
                            }
                        };
                        match result {
                            Ok(applied) => {
                                on_event(Event::Applied(&applied));
                                Ok(applied)
                            }
                            Err(error) => {
                                let failed = Failed {
                                    id: res.id(),
                                    origin: res.origin.clone(),
                                    wave: stage.wave,
                                    error,
                                };
                                on_event(Event::Failed(&failed));
                                Err(failed)
                            }
                        }
                    }
                },
            ))
            .await;
        gatekeeper.passed(&gates);
        let mut wave_failed = false;
        for result in results {
            match result {
                Ok(applied) => report.applied.push(applied),
                Err(failed) => {
                    wave_failed = true;
                    report.failed.push(failed);
                }
            }
        }
        if wave_failed {
            report.skipped = stages[index + 1..]
                .iter()
                .map(|s| (s.wave, s.resources.len()))
                .collect();
            break;
        }
        if stage.wave.wait() == WaveWait::Established && !options.dry_run {
            // Namespaces now; each custom resource waits for its own CRD ([`Served`]), so that
            // everything else goes while the server establishes them.
            let ids: Vec<_> = report
                .applied
                .iter()
                .filter(|a| a.wave == stage.wave && !settled(a) && !is_crd_kind(&a.id.gvk))
                .map(|a| (a.id.clone(), a.wave, a.namespace.clone()))
                .collect();
            if !ids.is_empty() {
                on_event(Event::Waiting {
                    wave: stage.wave,
                    what: "namespaces active".to_owned(),
                });
            }
            let not_ready = wait_healthy(cluster, ids, options, on_event).await;
            if !not_ready.is_empty() {
                report.not_ready = not_ready;
                report.skipped = stages[index + 1..]
                    .iter()
                    .map(|s| (s.wave, s.resources.len()))
                    .collect();
                break;
            }
        }
        on_event(Event::WaveDone {
            wave: stage.wave,
            elapsed: wave_started.elapsed(),
        });
    }
    if report.failed.is_empty() && report.not_ready.is_empty() && !options.dry_run {
        let ids: Vec<(ResId, Wave, Option<String>)> = report
            .applied
            .iter()
            .filter(|a| !settled(a))
            .map(|a| (a.id.clone(), a.wave, a.namespace.clone()))
            .collect();
        if !ids.is_empty() {
            on_event(Event::Waiting {
                wave: Wave::Workloads,
                what: format!("{} objects to become healthy", ids.len()),
            });
        }
        report.not_ready = wait_healthy(cluster, ids, options, on_event).await;
    }
    (report.listed, report.metadata_only) = known.unchanged_kinds(&report.applied);
    report.elapsed = started.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(3720)), "1h2m");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn immutable_fields_are_told_from_other_validation_errors() {
        let status = |message: &str, causes: Value| -> kube::core::Status {
            serde_json::from_value(json!({
                "status": "Failure", "code": 422, "reason": "Invalid", "message": message,
                "details": {"causes": causes},
            }))
            .expect("a Status")
        };
        let selector = status(
            "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: ...: field is immutable",
            json!([{"reason": "FieldValueInvalid", "field": "spec.selector",
                    "message": "Invalid value: ...: field is immutable"}]),
        );
        assert_eq!(
            immutable_fields(&selector),
            Some(vec!["spec.selector".to_owned()])
        );
        let cluster_ip = status(
            "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.9\"}: may not change once set",
            json!([{"reason": "FieldValueInvalid", "field": "spec.clusterIPs[0]",
                    "message": "Invalid value: []string{\"10.0.0.9\"}: may not change once set"}]),
        );
        assert_eq!(
            immutable_fields(&cluster_ip),
            Some(vec!["spec.clusterIPs[0]".to_owned()])
        );
        let replicas = status(
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1",
            json!([{"reason": "FieldValueInvalid", "field": "spec.replicas",
                    "message": "Invalid value: -1: must be greater than or equal to 0"}]),
        );
        assert_eq!(immutable_fields(&replicas), None);
    }

    #[test]
    fn managers_are_read_from_conflict_causes() {
        assert_eq!(
            manager_of("conflict with \"kubectl-client-side-apply\" using v1").as_deref(),
            Some("kubectl-client-side-apply")
        );
        assert_eq!(manager_of("something else"), None);
    }

    #[test]
    fn only_volatile_fields_are_ignored_when_comparing() {
        let live = json!({
            "metadata": {"name": "a", "resourceVersion": "7", "managedFields": [
                {"manager": "kfctl", "operation": "Apply", "time": "2025-01-01T00:00:00Z"}
            ]},
            "data": {"k": "v"}
        });
        let mut same = live.clone();
        same["metadata"]["resourceVersion"] = json!("8");
        same["metadata"]["managedFields"][0]["time"] = json!("2025-02-02T00:00:00Z");
        assert!(unchanged(&live, &same));
        let mut data = live.clone();
        data["data"]["k"] = json!("w");
        assert!(!unchanged(&live, &data));
        let mut owners = live.clone();
        owners["metadata"]["managedFields"][0]["manager"] = json!("other");
        assert!(
            !unchanged(&live, &owners),
            "a change of ownership is a write"
        );
    }

    fn resource(body: Value) -> Resource {
        Resource::new(body, Origin::file(std::path::Path::new("a.yaml"), 1))
    }

    #[test]
    fn a_live_object_holds_what_would_be_sent() {
        let labels = BTreeMap::from([("part-of".to_owned(), "set".to_owned())]);
        let map = resource(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
            "data": {"k": "v", "empty": ""}}));
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u",
                         "labels": {"x": "1", "part-of": "set", "other": "y"}},
            "data": {"k": "v", "empty": ""}});
        assert!(holds(&live, &map, &labels, false, false));
        let mut unlabelled = live.clone();
        unlabelled["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("part-of");
        assert!(!holds(&unlabelled, &map, &labels, false, false));
        let mut edited = live.clone();
        edited["data"]["k"] = json!("w");
        assert!(!holds(&edited, &map, &labels, false, false));
        assert!(
            holds(&edited, &map, &labels, false, true),
            "by metadata alone, the data is not looked at"
        );
        // A key of a string map the server keeps, even empty.
        let mut dropped = live.clone();
        dropped["data"].as_object_mut().unwrap().remove("empty");
        assert!(!holds(&dropped, &map, &labels, false, false));

        // A cluster-scoped object loses the namespace a render names; a CRD's status and an
        // aggregated ClusterRole's rules are the server's.
        let crd = resource(json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com", "namespace": "ns"},
            "spec": {"group": "example.com"}, "status": {"storedVersions": []}}));
        let live_crd = json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com", "labels": {"part-of": "set"}},
            "spec": {"group": "example.com", "scope": "Namespaced"},
            "status": {"storedVersions": ["v1"]}});
        assert!(holds(&live_crd, &crd, &labels, true, false));
        assert!(!holds(&live_crd, &crd, &labels, false, false));
        let role = resource(json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole", "metadata": {"name": "r"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
            "rules": []}));
        let live_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole", "metadata": {"name": "r", "labels": {"part-of": "set"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
            "rules": [{"verbs": ["get"]}]});
        assert!(holds(&live_role, &role, &labels, true, false));
        // The same as comparing with the whole body that would be sent.
        for (live, res, scoped) in [(&live, &map, false), (&live_crd, &crd, true)] {
            let body = desired(res, &labels);
            let mut wanted = body.clone();
            if scoped {
                wanted["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("namespace");
            }
            wanted.as_object_mut().unwrap().remove("status");
            assert_eq!(
                holds(live, res, &labels, scoped, false),
                crate::resource::compare::contains(live, &wanted)
            );
        }
    }

    #[test]
    fn crds_define_their_kind_versions_and_scope() {
        let crd = resource(json!({"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false},
                                  {"name": "v2"}]}}));
        let defined = Defined::of(&crd).expect("a CRD defines a kind");
        assert_eq!(defined.crd, "widgets.example.com");
        assert_eq!(defined.plural, "widgets");
        assert!(!defined.namespaced);
        assert_eq!(defined.versions, ["v1", "v2"]);
        assert!(defined.defines(&Gvk::new("example.com", "v9", "Widget")));
        assert!(!defined.defines(&Gvk::new("other.com", "v1", "Widget")));
        let map =
            resource(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        assert!(Defined::of(&map).is_none());
    }

    #[test]
    fn aggregated_cluster_roles_are_sent_without_rules() {
        let aggregated = Resource::new(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "a"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "1"}}]},
                   "rules": []}),
            Origin::file(std::path::Path::new("a.yaml"), 1),
        );
        assert!(
            desired(&aggregated, &BTreeMap::new())
                .get("rules")
                .is_none()
        );
        let plain = Resource::new(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "b"}, "rules": [{"verbs": ["get"]}]}),
            Origin::file(std::path::Path::new("b.yaml"), 1),
        );
        assert_eq!(
            desired(&plain, &BTreeMap::new())["rules"],
            json!([{"verbs": ["get"]}])
        );
    }

    #[test]
    fn inventory_labels_are_added_to_the_body() {
        let res = Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}}}),
            Origin::file(std::path::Path::new("a.yaml"), 1),
        );
        let labels = BTreeMap::from([("part-of".to_owned(), "set".to_owned())]);
        let body = desired(&res, &labels);
        assert_eq!(
            body["metadata"]["labels"],
            json!({"x": "1", "part-of": "set"})
        );
        assert_eq!(res.body["metadata"]["labels"], json!({"x": "1"}));
    }
}
