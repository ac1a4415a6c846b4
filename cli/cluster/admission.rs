//! Admission webhooks as gates in front of the objects they intercept.
//!
//! A webhook with `failurePolicy: Fail` refuses every write it intercepts while its backend does
//! not answer. Rather than sending those objects and retrying their failures, an apply waits
//! until the webhook admits: it sends a server-side dry run of one object the webhook intercepts
//! (the first, in render order) until the failure is no longer the webhook's call, and only then
//! releases the objects behind it. Objects no failing webhook intercepts go at once.
//!
//! The gates are the webhooks already on the cluster when the apply starts (for every wave),
//! and the render's own once its webhook configurations are written (for the waves after).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::apply::{ApplyOptions, Defined, Event, FIELD_MANAGER, Served, desired};
use super::client::{Cluster, Scope};
use super::wait::{self, Poll};
use crate::errors::{Diagnostic, ErrorClass};
use crate::plan::{Wave, Webhook, webhooks};
use crate::resource::{Gvk, Origin, ResId, Resource, ResourceSet};
use crate::shell;

/// How often a webhook that does not admit yet is asked again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// What a webhook calls: a Service of the cluster, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Service { namespace: String, name: String },
    Url(String),
}

impl Backend {
    fn of(hook: &Webhook) -> Backend {
        match (&hook.service, &hook.url) {
            (Some((namespace, name)), _) => Backend::Service {
                namespace: namespace.clone(),
                name: name.clone(),
            },
            (None, Some(url)) => Backend::Url(url.clone()),
            (None, None) => Backend::Url(String::new()),
        }
    }

    /// What to look at when the webhook does not answer.
    pub fn hint(&self) -> String {
        match self {
            Backend::Service { namespace, name } => {
                let ns = shell::quote(namespace);
                let selector = shell::quote(&format!("kubernetes.io/service-name={name}"));
                format!(
                    "check that Service `{namespace}/{name}` has endpoints (`kubectl get endpointslices -n {ns} -l {selector}`) and that the pods it selects are running and ready (`kubectl get pods -n {ns}`)"
                )
            }
            Backend::Url(url) => format!(
                "check that the server at `{url}` is up and that its certificate matches the webhook's `caBundle`"
            ),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Service { namespace, name } => write!(f, "Service {namespace}/{name}"),
            Backend::Url(url) => write!(f, "URL {url}"),
        }
    }
}

/// A webhook that kept failing its calls until the deadline.
#[derive(Debug, Clone, thiserror::Error)]
#[error("behind webhook `{webhook}` ({backend}), which did not admit requests before the {} timeout passed", super::apply::human(*.timeout))]
pub struct WebhookDown {
    pub webhook: String,
    pub backend: Backend,
    pub timeout: Duration,
    /// The server's message from the last dry run.
    pub last: String,
}

impl Diagnostic for WebhookDown {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// Whether the server refused a write because calling an admission webhook failed (rather than
/// because a webhook, or the server, judged the object).
pub fn webhook_call_failed(message: &str) -> bool {
    const CALL_FAILURES: &[&str] = &[
        "failed calling webhook",
        "connection refused",
        "no endpoints available",
        "context deadline exceeded",
    ];
    CALL_FAILURES.iter().any(|m| message.contains(m))
}

fn key(hook: &Webhook) -> (ResId, String) {
    (hook.configuration.clone(), hook.name.clone())
}

/// The webhooks an apply gates on, and what it learnt about them.
pub struct Gatekeeper {
    live: Vec<Webhook>,
    render: Vec<Webhook>,
    /// Webhooks that admitted once: not asked again.
    admitted: HashSet<(ResId, String)>,
    namespace_labels: HashMap<String, Option<Map<String, Value>>>,
    /// The kinds the render's CRDs define, matched against webhook rules before discovery
    /// serves them.
    defined: Vec<Defined>,
}

/// One webhook in front of some objects of a wave.
pub struct Gate {
    pub webhook: String,
    pub backend: Backend,
    key: (ResId, String),
    /// The object whose dry run tells whether the webhook admits.
    probe: Resource,
    objects: usize,
    opened: OnceCell<Result<(), WebhookDown>>,
}

/// The gates of one wave, and which stand in front of each of its objects.
pub struct Gates {
    gates: Vec<Gate>,
    /// For each object of the wave, in order, the indices of its gates.
    behind: Vec<Vec<usize>>,
}

impl Gatekeeper {
    /// Reads the webhook configurations on the cluster. One that cannot be read gates nothing:
    /// the objects it intercepts then go through the retries of a plain apply. `defined` are
    /// the kinds the render's CRDs define, matched before discovery serves them.
    pub async fn new(cluster: &Cluster, set: &ResourceSet, defined: &[Defined]) -> Gatekeeper {
        let mut live_set = ResourceSet::new();
        for kind in [
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ] {
            let resource = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
                "admissionregistration.k8s.io",
                "v1",
                kind,
            ));
            let api: Api<DynamicObject> = Api::all_with(cluster.client().clone(), &resource);
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    for item in list.items {
                        let Ok(mut body) = serde_json::to_value(&item) else {
                            continue;
                        };
                        body["apiVersion"] = Value::from("admissionregistration.k8s.io/v1");
                        body["kind"] = Value::from(kind);
                        let origin = Origin::file(Path::new("(cluster)"), 0);
                        // A duplicate id cannot happen in one list; skip it if it does.
                        let _ = live_set.push(Resource::new(body, origin));
                    }
                }
                Err(e) => tracing::debug!(%kind, error = %e, "cannot list webhook configurations"),
            }
        }
        // `failurePolicy: Ignore` is dropped only when the gates are made: the render's own
        // definition of a webhook replaces the live one once written.
        Gatekeeper {
            live: webhooks(&live_set),
            render: webhooks(set),
            admitted: HashSet::new(),
            namespace_labels: HashMap::new(),
            defined: defined.to_vec(),
        }
    }

    /// The gates in front of the objects of `wave`. The render's webhooks count once the wave
    /// that writes them is done (never under `--dry-run`, which stores nothing).
    pub async fn gates(
        &mut self,
        cluster: &Cluster,
        wave: Wave,
        objects: &[&Resource],
        dry_run: bool,
    ) -> Gates {
        let render_active = !dry_run && wave > Wave::Webhooks;
        let mut hooks: BTreeMap<(ResId, String), Webhook> = BTreeMap::new();
        for hook in &self.live {
            hooks.insert(key(hook), hook.clone());
        }
        if render_active {
            for hook in &self.render {
                hooks.insert(key(hook), hook.clone());
            }
        }
        hooks.retain(|k, h| !h.ignores_failure && !self.admitted.contains(k));

        let mut gates: Vec<Gate> = Vec::new();
        let mut behind = vec![Vec::new(); objects.len()];
        if hooks.is_empty() {
            return Gates { gates, behind };
        }
        for (index, res) in objects.iter().enumerate() {
            let gvk = res.gvk();
            let (plural, scope) = match cluster.resolve(&gvk).await {
                Ok(resolved) => (resolved.resource.plural, resolved.scope),
                Err(_) => match self.defined.iter().find(|d| d.defines(&gvk)) {
                    Some(d) if d.namespaced => (d.plural.clone(), Scope::Namespaced),
                    Some(d) => (d.plural.clone(), Scope::Cluster),
                    None => continue,
                },
            };
            let namespaced = scope == Scope::Namespaced;
            let labels = match cluster.namespace_of(&res.id(), scope) {
                Some(ns) => self.labels_of(cluster, &ns).await,
                None => None,
            };
            for (k, hook) in &hooks {
                if !hook.intercepts(res, &plural, namespaced, labels.as_ref()) {
                    continue;
                }
                let at = match gates.iter().position(|g| g.key == *k) {
                    Some(at) => at,
                    None => {
                        gates.push(Gate {
                            webhook: hook.name.clone(),
                            backend: Backend::of(hook),
                            key: k.clone(),
                            probe: (*res).clone(),
                            objects: 0,
                            opened: OnceCell::new(),
                        });
                        gates.len() - 1
                    }
                };
                gates[at].objects += 1;
                behind[index].push(at);
            }
        }
        Gates { gates, behind }
    }

    /// Labels of a namespace as the API server matches `namespaceSelector`s against; `None`
    /// when it cannot be read (the selector is then taken to match).
    async fn labels_of(
        &mut self,
        cluster: &Cluster,
        namespace: &str,
    ) -> Option<Map<String, Value>> {
        if let Some(known) = self.namespace_labels.get(namespace) {
            return known.clone();
        }
        let id = ResId::new(Gvk::new("", "v1", "Namespace"), namespace, "");
        let labels = match cluster.get(&id).await {
            Ok(Some(ns)) => ns
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .or_else(|| Some(Map::new())),
            _ => None,
        };
        // A namespace this apply has yet to create is read again in a later wave.
        if labels.is_some() {
            self.namespace_labels
                .insert(namespace.to_owned(), labels.clone());
        }
        labels
    }

    /// Remembers the webhooks that admitted, so later waves do not ask them again.
    pub fn passed(&mut self, gates: &Gates) {
        for gate in &gates.gates {
            if matches!(gate.opened.get(), Some(Ok(()))) {
                self.admitted.insert(gate.key.clone());
            }
        }
    }
}

impl Gates {
    /// Waits until every gate in front of the `index`th object is open; the first that stays
    /// shut until the deadline is the error. A gate is asked once, however many objects wait.
    pub async fn wait(
        &self,
        index: usize,
        cluster: &Cluster,
        options: &ApplyOptions,
        on_event: &(dyn Fn(Event<'_>) + Sync),
        served: &Served<'_>,
    ) -> Result<(), WebhookDown> {
        for &at in self.behind.get(index).into_iter().flatten() {
            let gate = &self.gates[at];
            gate.opened
                .get_or_init(|| open(gate, cluster, options, on_event, served))
                .await
                .clone()?;
        }
        Ok(())
    }
}

/// Dry-runs the gate's probe object until the webhook's call no longer fails.
async fn open(
    gate: &Gate,
    cluster: &Cluster,
    options: &ApplyOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    served: &Served<'_>,
) -> Result<(), WebhookDown> {
    let id = gate.probe.id();
    // A probe of a kind the render defines is sent once the kind is served. An object that
    // cannot be addressed fails on its own in the apply, with its own error.
    let addressed = match served
        .wait(cluster, &id, Wave::Webhooks, options, on_event)
        .await
    {
        Ok(()) => cluster.api_for(&id, "patch").await.ok(),
        Err(_) => None,
    };
    let Some((api, _)) = addressed else {
        return Ok(());
    };
    let body = desired(&gate.probe, &options.labels);
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = true;
    let started = Instant::now();
    let waited = wait::until(options.deadline, PROBE_EVERY, async |attempt| {
        let last = match api.patch(&id.name, &params, &Patch::Apply(&body)).await {
            Ok(_) => None,
            Err(kube::Error::Api(status)) if webhook_call_failed(&status.message) => {
                Some(status.message)
            }
            // A dropped connection says nothing about the webhook: ask again.
            Err(e @ (kube::Error::HyperError(_) | kube::Error::Service(_))) => Some(e.to_string()),
            // Anything else (admitted, or refused by the server or by the webhook itself) means
            // the webhook answers.
            Err(_) => None,
        };
        let Some(last) = last else {
            if attempt > 1 {
                on_event(Event::WebhookAdmits {
                    webhook: &gate.webhook,
                    waited: started.elapsed(),
                });
            }
            return Poll::Ready(());
        };
        if attempt == 1 {
            on_event(Event::WaitingForWebhook {
                webhook: &gate.webhook,
                backend: &gate.backend,
                objects: gate.objects,
            });
        }
        tracing::debug!(webhook = %gate.webhook, %last, "webhook does not admit yet");
        Poll::Pending(last)
    })
    .await;
    waited.map_err(|last| WebhookDown {
        webhook: gate.webhook.clone(),
        backend: gate.backend.clone(),
        timeout: options.timeout,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands a hint prints read the Service's names as single words, whatever they hold.
    #[test]
    fn the_hint_quotes_what_a_render_named() {
        let backend = Backend::Service {
            namespace: "ns $(touch x)".to_owned(),
            name: "svc`id`".to_owned(),
        };
        let hint = backend.hint();
        assert!(
            hint.contains("-n 'ns $(touch x)' -l 'kubernetes.io/service-name=svc`id`'"),
            "{hint}"
        );
    }

    #[test]
    fn webhook_call_failures_are_told_from_refusals() {
        assert!(webhook_call_failed(
            "Internal error occurred: failed calling webhook \"v.example.com\": failed to call webhook: Post \"https://guard.sys.svc:443/validate?timeout=5s\": no endpoints available for service \"guard\""
        ));
        assert!(webhook_call_failed(
            "Post \"https://127.0.0.1:9443/\": dial tcp 127.0.0.1:9443: connect: connection refused"
        ));
        assert!(!webhook_call_failed(
            "admission webhook \"v.example.com\" denied the request: size must be positive"
        ));
        assert!(!webhook_call_failed(
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1"
        ));
    }

    #[test]
    fn backends_name_what_to_check() {
        let service = Backend::Service {
            namespace: "sys".to_owned(),
            name: "guard".to_owned(),
        };
        assert_eq!(service.to_string(), "Service sys/guard");
        assert!(service.hint().contains("kubernetes.io/service-name=guard"));
        let url = Backend::Url("https://127.0.0.1:9443/validate".to_owned());
        assert_eq!(url.to_string(), "URL https://127.0.0.1:9443/validate");
        assert!(url.hint().contains("caBundle"));
    }
}
