//! One kubeconfig context as a [`Cluster`]: a client, the API server it talks to, and the
//! server's discovery, fetched once and kept until [`Cluster::refresh_discovery`] (after CRDs are
//! created). Every failure becomes a [`ClusterError`] naming the context and what was asked.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Discovery};
use serde_json::Value;
use tokio::sync::Mutex;

use super::listing;
use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::{Gvk, ResId};
use crate::shell;

/// How long opening a connection may take: a server that is down or firewalled should be named
/// quickly, not after kube's default of 30 seconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a kind lives in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// A kind as the server serves it: the resource (plural, version) to address, and its scope.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub resource: ApiResource,
    pub scope: Scope,
}

/// Where the kubeconfig came from, as a person would name it in a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// `--kubeconfig PATH`.
    Path(PathBuf),
    /// `KUBECONFIG`, one or more paths.
    Env(OsString),
    /// `~/.kube/config`.
    Default(PathBuf),
    /// No kubeconfig, inside a pod: its service account's token and the cluster's CA.
    InCluster,
}

impl fmt::Display for KubeconfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KubeconfigSource::Path(p) | KubeconfigSource::Default(p) => {
                write!(f, "`{}`", p.display())
            }
            KubeconfigSource::Env(v) => write!(f, "`{}` (from `KUBECONFIG`)", v.to_string_lossy()),
            KubeconfigSource::InCluster => f.write_str("of the pod (in-cluster service account)"),
        }
    }
}

/// What a request was about, for the error it may end in.
#[derive(Debug, Clone)]
pub struct Request {
    /// The RBAC verb: `get`, `list`, `create`, `patch`, `delete`.
    pub verb: &'static str,
    /// The RBAC resource: `deployments.apps`, `namespaces`.
    pub resource: String,
    /// The namespace of a namespaced request.
    pub namespace: Option<String>,
    /// What a person calls the target: an object id, or `the API list`.
    pub target: String,
}

/// Everything that can go wrong reaching or asking a cluster. Each variant names the context (and
/// the object or request) it is about; `hint` says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no kubeconfig: `KUBECONFIG` is not set and {path} does not exist", path = format!("`{}`", .default.display()))]
    NoKubeconfig { default: PathBuf },

    #[error("no kubeconfig, and the in-cluster configuration of this pod cannot be read")]
    InCluster {
        #[source]
        source: kube::config::InClusterError,
    },

    #[error("kubeconfig {kubeconfig} does not exist")]
    KubeconfigMissing { kubeconfig: KubeconfigSource },

    #[error("cannot load kubeconfig {kubeconfig}")]
    Kubeconfig {
        kubeconfig: KubeconfigSource,
        #[source]
        source: KubeconfigError,
    },

    #[error("kubeconfig {kubeconfig} has no current context")]
    NoCurrentContext {
        kubeconfig: KubeconfigSource,
        available: Vec<String>,
    },

    #[error("context `{context}` is not in kubeconfig {kubeconfig}")]
    UnknownContext {
        context: String,
        kubeconfig: KubeconfigSource,
        available: Vec<String>,
    },

    #[error("cannot make a client for context `{context}` of kubeconfig {kubeconfig}")]
    Client {
        context: String,
        kubeconfig: KubeconfigSource,
        #[source]
        source: kube::Error,
    },

    #[error("cannot reach the API server {server} of context `{context}`")]
    Unreachable {
        context: String,
        server: String,
        kubeconfig: KubeconfigSource,
        #[source]
        source: kube::Error,
    },

    #[error(
        "the API server {server} rejected the credentials of context `{context}` (401 Unauthorized)"
    )]
    Unauthorized {
        context: String,
        server: String,
        kubeconfig: KubeconfigSource,
    },

    #[error("cannot get the credentials of context `{context}`")]
    Credentials {
        context: String,
        kubeconfig: KubeconfigSource,
        #[source]
        source: kube::Error,
    },

    #[error("the API server refused to {} {} (403 Forbidden): {message}", .request.verb, .request.target)]
    Forbidden {
        context: String,
        request: Request,
        message: String,
    },

    #[error("no API serves {gvk}")]
    NoApi {
        gvk: Gvk,
        context: String,
        /// Versions of the same group that do serve the kind.
        served_versions: Vec<String>,
    },

    #[error("cannot {} {}: {message} ({code} {reason})", .request.verb, .request.target)]
    Api {
        context: String,
        request: Request,
        code: u16,
        reason: String,
        message: String,
    },

    #[error(
        "the install record in ConfigMap `{namespace}/{configmap}` cannot be read: key `{key}`: {message}"
    )]
    Record {
        namespace: String,
        configmap: String,
        key: String,
        message: String,
    },

    #[error("cannot {} {}", .request.verb, .request.target)]
    Request {
        context: String,
        request: Request,
        #[source]
        source: kube::Error,
    },
}

impl Diagnostic for ClusterError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    /// What the user can do about it, when we know.
    fn hint(&self) -> Option<String> {
        Some(match self {
            ClusterError::NoKubeconfig { .. } | ClusterError::KubeconfigMissing { .. } => {
                "pass `--kubeconfig PATH`, set `KUBECONFIG`, or create `~/.kube/config` (your cluster's tooling writes one)".to_owned()
            }
            ClusterError::NoCurrentContext { available, .. } => {
                format!("pick a context with `--context`: {}", contexts(available))
            }
            ClusterError::UnknownContext { available, .. } => {
                format!("the contexts there are {}", contexts(available))
            }
            ClusterError::Unreachable {
                context,
                kubeconfig,
                ..
            } => format!(
                "check that the cluster is running and that context `{context}` in kubeconfig {kubeconfig} points to it (`kubectl --context {} cluster-info`)",
                shell::quote(context)
            ),
            ClusterError::Unauthorized { kubeconfig, .. }
            | ClusterError::Credentials { kubeconfig, .. } => format!(
                "the credentials have expired or were revoked: log in to the cluster again to refresh kubeconfig {kubeconfig}"
            ),
            ClusterError::Forbidden {
                context, request, ..
            } => {
                let (scope, flag) = match &request.namespace {
                    Some(ns) => (format!("in namespace `{ns}`"), format!(" -n {}", shell::quote(ns))),
                    None => ("cluster-wide".to_owned(), String::new()),
                };
                format!(
                    "the user of context `{context}` needs permission to `{verb}` `{resource}` {scope}; ask a cluster admin to grant it (`kubectl auth can-i {} {}{flag} --context {}` checks it)",
                    shell::quote(request.verb),
                    shell::quote(&request.resource),
                    shell::quote(context),
                    verb = request.verb,
                    resource = request.resource,
                )
            }
            ClusterError::NoApi {
                gvk,
                served_versions,
                ..
            } if !served_versions.is_empty() => format!(
                "the cluster serves `{}` as {}; change the object's `apiVersion`",
                gvk.kind,
                listing(
                    served_versions
                        .iter()
                        .map(|v| Gvk::new(&gvk.group, v, &gvk.kind).api_version())
                )
            ),
            ClusterError::NoApi { gvk, .. } => format!(
                "install the CustomResourceDefinition that defines `{}` first, or check the object's `apiVersion`",
                gvk.kind
            ),
            ClusterError::Record {
                namespace,
                configmap,
                key,
                ..
            } => format!(
                "kfctl reads only a record it can read whole, so that it never forgets an object it owns; if a newer kfctl wrote it (key `kfctlVersion`), use that one, else restore key `{key}` (`kubectl -n {namespace} get configmap {configmap} -o yaml` shows it)"
            ),
            _ => return None,
        })
    }
}

/// The contexts of a kubeconfig, for a hint.
fn contexts(available: &[String]) -> String {
    if available.is_empty() {
        "none".to_owned()
    } else {
        listing(available)
    }
}

/// kube is built with rustls and only the `ring` provider; installing it before the first client
/// makes that choice explicit, so a dependency that enables another provider cannot leave rustls
/// unable to pick one (it panics then).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for one kubeconfig context, with the server's discovery cached.
pub struct Cluster {
    client: kube::Client,
    context: String,
    server: String,
    default_namespace: String,
    kubeconfig: KubeconfigSource,
    /// The kubeconfig user of the context (`in-cluster` inside a pod).
    user: String,
    discovery: Mutex<Option<Arc<Discovery>>>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

fn read_kubeconfig(path: Option<&Path>) -> Result<(Kubeconfig, KubeconfigSource), ClusterError> {
    let source = match path {
        Some(p) => KubeconfigSource::Path(p.to_path_buf()),
        None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(v) => KubeconfigSource::Env(v),
            None => {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                let default = home.join(".kube").join("config");
                if !default.is_file() {
                    return Err(ClusterError::NoKubeconfig { default });
                }
                KubeconfigSource::Default(default)
            }
        },
    };
    let loaded = match &source {
        KubeconfigSource::Path(p) | KubeconfigSource::Default(p) => Kubeconfig::read_from(p),
        KubeconfigSource::Env(value) => match read_kubeconfig_list(value) {
            Some(loaded) => loaded,
            None => return Err(ClusterError::KubeconfigMissing { kubeconfig: source }),
        },
        KubeconfigSource::InCluster => {
            return Err(ClusterError::KubeconfigMissing { kubeconfig: source });
        }
    };
    match loaded {
        Ok(k) => Ok((k, source)),
        Err(KubeconfigError::ReadConfig(e, _)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ClusterError::KubeconfigMissing { kubeconfig: source })
        }
        Err(e) => Err(ClusterError::Kubeconfig {
            kubeconfig: source,
            source: e,
        }),
    }
}

/// The files of a `KUBECONFIG` list merged, as kubectl does: files that do not exist are
/// skipped, the first to set a value wins. `None` when no file exists.
fn read_kubeconfig_list(list: &std::ffi::OsStr) -> Option<Result<Kubeconfig, KubeconfigError>> {
    let present: Vec<PathBuf> = std::env::split_paths(list)
        .filter(|p| p.is_file())
        .collect();
    if present.is_empty() {
        return None;
    }
    Some(present.iter().try_fold(Kubeconfig::default(), |merged, p| {
        Kubeconfig::read_from(p).and_then(|next| merged.merge(next))
    }))
}

/// The `User-Agent` of every request kfctl makes.
pub const USER_AGENT: &str = concat!("kfctl/", env!("CARGO_PKG_VERSION"));

impl Cluster {
    /// A client for `context` (or the current context) of the kubeconfig at `kubeconfig` (or
    /// `KUBECONFIG`, or `~/.kube/config`). Makes no request: a server that is down shows on the
    /// first call.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        install_crypto_provider();
        let (config, source) = match read_kubeconfig(kubeconfig) {
            // Inside a pod with no kubeconfig, as kubectl does: the pod's service account.
            Err(ClusterError::NoKubeconfig { .. })
                if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() =>
            {
                return Self::in_cluster();
            }
            other => other?,
        };
        let user = config
            .contexts
            .iter()
            .find(|c| Some(c.name.as_str()) == context.or(config.current_context.as_deref()))
            .and_then(|c| c.context.as_ref())
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let available: Vec<String> = config.contexts.iter().map(|c| c.name.clone()).collect();
        let context = match context
            .map(str::to_owned)
            .or(config.current_context.clone())
        {
            Some(c) if !c.is_empty() => c,
            _ => {
                return Err(ClusterError::NoCurrentContext {
                    kubeconfig: source,
                    available,
                });
            }
        };
        if !available.contains(&context) {
            return Err(ClusterError::UnknownContext {
                context,
                kubeconfig: source,
                available,
            });
        }
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let client_config = kube::Config::from_custom_kubeconfig(config, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                kubeconfig: source.clone(),
                source: e,
            })?;
        Self::with_config(client_config, context, source, user)
    }

    /// A client from the pod's service account (`KUBERNETES_SERVICE_HOST` and the token and CA
    /// mounted under `/var/run/secrets/kubernetes.io/serviceaccount`).
    fn in_cluster() -> Result<Cluster, ClusterError> {
        let client_config =
            kube::Config::incluster().map_err(|source| ClusterError::InCluster { source })?;
        Self::with_config(
            client_config,
            "in-cluster".to_owned(),
            KubeconfigSource::InCluster,
            "in-cluster".to_owned(),
        )
    }

    /// A client for `config`, which `context` of `kubeconfig` (as `user`) gave.
    fn with_config(
        mut config: kube::Config,
        context: String,
        kubeconfig: KubeconfigSource,
        user: String,
    ) -> Result<Cluster, ClusterError> {
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        // The API server's audit log and metrics name the tool by its user agent.
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        ));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Client {
            context: context.clone(),
            kubeconfig: kubeconfig.clone(),
            source: e,
        })?;
        Ok(Cluster {
            client,
            context,
            server,
            default_namespace,
            kubeconfig,
            user,
            discovery: Mutex::new(None),
        })
    }

    /// The kubeconfig user of the context.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The context's name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The API server's URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Where objects that name no namespace go: the context's namespace, or `default`.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    pub fn kubeconfig(&self) -> &KubeconfigSource {
        &self.kubeconfig
    }

    /// The underlying client, for the other `cluster` modules.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The server's version (`v1.34.4`): the cheapest request that proves the server is reachable
    /// and accepts the credentials.
    pub async fn server_version(&self) -> Result<String, ClusterError> {
        let request = Request {
            verb: "get",
            resource: "/version".to_owned(),
            namespace: None,
            target: "the server version".to_owned(),
        };
        self.client
            .apiserver_version()
            .await
            .map(|info| info.git_version)
            .map_err(|e| self.error(e, request))
    }

    /// Classifies a failed request: unreachable, 401, 403, or the API's own refusal.
    pub fn error(&self, err: kube::Error, request: Request) -> ClusterError {
        let context = self.context.clone();
        match err {
            kube::Error::Api(status) if status.code == 401 => ClusterError::Unauthorized {
                context,
                server: self.server.clone(),
                kubeconfig: self.kubeconfig.clone(),
            },
            kube::Error::Api(status) if status.code == 403 => ClusterError::Forbidden {
                context,
                request,
                message: status.message,
            },
            kube::Error::Api(status) => ClusterError::Api {
                context,
                request,
                code: status.code,
                reason: status.reason,
                message: status.message,
            },
            err @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
                ClusterError::Unreachable {
                    context,
                    server: self.server.clone(),
                    kubeconfig: self.kubeconfig.clone(),
                    source: err,
                }
            }
            err @ kube::Error::Auth(_) => ClusterError::Credentials {
                context,
                kubeconfig: self.kubeconfig.clone(),
                source: err,
            },
            err => ClusterError::Request {
                context,
                request,
                source: err,
            },
        }
    }

    async fn run_discovery(&self) -> Result<Discovery, ClusterError> {
        let request = || Request {
            verb: "get",
            resource: "/api, /apis".to_owned(),
            namespace: None,
            target: "the APIs the server serves".to_owned(),
        };
        // Aggregated discovery takes two requests instead of one per group; servers before 1.26
        // do not offer it, and then only the group-by-group walk works.
        match Discovery::new(self.client.clone()).run_aggregated().await {
            Ok(d) => Ok(d),
            Err(e) => match self.error(e, request()) {
                ClusterError::Api { .. } | ClusterError::Request { .. } => {
                    Discovery::new(self.client.clone())
                        .run()
                        .await
                        .map_err(|e| self.error(e, request()))
                }
                refused => Err(refused),
            },
        }
    }

    async fn discovery(&self) -> Result<Arc<Discovery>, ClusterError> {
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(self.run_discovery().await?);
        *cached = Some(d.clone());
        Ok(d)
    }

    /// Fetches discovery again, so kinds that CRDs created since are resolved.
    pub async fn refresh_discovery(&self) -> Result<(), ClusterError> {
        let mut cached = self.discovery.lock().await;
        *cached = Some(Arc::new(self.run_discovery().await?));
        Ok(())
    }

    /// The resource and scope serving `gvk`, from the cached discovery (fetched on first use).
    pub async fn resolve(&self, gvk: &Gvk) -> Result<Resolved, ClusterError> {
        let found = self.discovery().await?;
        let wanted = GroupVersionKind::gvk(&gvk.group, &gvk.version, &gvk.kind);
        if let Some((resource, caps)) = found.resolve_gvk(&wanted) {
            let scope = match caps.scope {
                discovery::Scope::Cluster => Scope::Cluster,
                discovery::Scope::Namespaced => Scope::Namespaced,
            };
            return Ok(Resolved { resource, scope });
        }
        let served_versions = found
            .get(&gvk.group)
            .map(|group| {
                group
                    .versions()
                    .filter(|v| {
                        group
                            .versioned_resources(v)
                            .iter()
                            .any(|(r, _)| r.kind == gvk.kind)
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Err(ClusterError::NoApi {
            gvk: gvk.clone(),
            context: self.context.clone(),
            served_versions,
        })
    }

    /// Every kind the server serves that can be listed, each in its group's preferred version:
    /// what finding an install's members by label (and a namespace's other objects) walks.
    pub async fn listable_kinds(&self) -> Result<Vec<(Gvk, Resolved)>, ClusterError> {
        let found = self.discovery().await?;
        let mut kinds = Vec::new();
        for group in found.groups() {
            for (resource, caps) in group.recommended_resources() {
                if !caps.supports_operation(discovery::verbs::LIST) {
                    continue;
                }
                let scope = match caps.scope {
                    discovery::Scope::Cluster => Scope::Cluster,
                    discovery::Scope::Namespaced => Scope::Namespaced,
                };
                let gvk = Gvk::new(&resource.group, &resource.version, &resource.kind);
                kinds.push((gvk, Resolved { resource, scope }));
            }
        }
        Ok(kinds)
    }

    /// The namespace a request for `id` goes to: none for cluster-scoped kinds, the context's
    /// default for namespaced objects that name none.
    pub fn namespace_of(&self, id: &ResId, scope: Scope) -> Option<String> {
        match scope {
            Scope::Cluster => None,
            Scope::Namespaced if id.namespace.is_empty() => Some(self.default_namespace.clone()),
            Scope::Namespaced => Some(id.namespace.clone()),
        }
    }

    /// A dynamic API for `id`'s kind, in its namespace, with what a request through it is about.
    pub async fn api_for(
        &self,
        id: &ResId,
        verb: &'static str,
    ) -> Result<(Api<DynamicObject>, Request), ClusterError> {
        let resolved = self.resolve(&id.gvk).await?;
        let namespace = self.namespace_of(id, resolved.scope);
        let api = match &namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resolved.resource),
            None => Api::all_with(self.client.clone(), &resolved.resource),
        };
        let resource = if resolved.resource.group.is_empty() {
            resolved.resource.plural.clone()
        } else {
            format!("{}.{}", resolved.resource.plural, resolved.resource.group)
        };
        let request = Request {
            verb,
            resource,
            namespace,
            target: id.to_string(),
        };
        Ok((api, request))
    }

    /// The live object `id` names, as JSON, or `None` when the server has none.
    pub async fn get(&self, id: &ResId) -> Result<Option<Value>, ClusterError> {
        let (api, request) = self.api_for(id, "get").await?;
        let object = api
            .get_opt(&id.name)
            .await
            .map_err(|e| self.error(e, request.clone()))?;
        object
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ClusterError::Request {
                context: self.context.clone(),
                request,
                source: kube::Error::SerdeError(e),
            })
    }

    /// Every object of kind `gvk`, in every namespace, that `label_selector` selects, as JSON:
    /// one LIST request (paged by the server when long).
    pub async fn list(&self, gvk: &Gvk, label_selector: &str) -> Result<Vec<Value>, ClusterError> {
        let resolved = self.resolve(gvk).await?;
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resolved.resource);
        let request = Request {
            verb: "list",
            resource: if resolved.resource.group.is_empty() {
                resolved.resource.plural.clone()
            } else {
                format!("{}.{}", resolved.resource.plural, resolved.resource.group)
            },
            namespace: None,
            target: format!("{} ({label_selector})", gvk.kind),
        };
        let mut objects = Vec::new();
        let mut params = kube::api::ListParams::default()
            .labels(label_selector)
            .limit(500);
        loop {
            let page = api
                .list(&params)
                .await
                .map_err(|e| self.error(e, request.clone()))?;
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            for item in page.items {
                let mut value = serde_json::to_value(&item).map_err(|e| ClusterError::Request {
                    context: self.context.clone(),
                    request: request.clone(),
                    source: kube::Error::SerdeError(e),
                })?;
                // Items of a list carry no type; put it back, as a GET returns it.
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("apiVersion".into(), Value::String(gvk.api_version()));
                    obj.insert("kind".into(), Value::String(gvk.kind.clone()));
                }
                objects.push(value);
            }
            match next {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(objects),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kubeconfig with contexts `a` (namespace `team-a`) and `b`, both for one server.
    fn write_kubeconfig(dir: &Path, current: Option<&str>) -> PathBuf {
        let mut config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:6443/"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [
                {"name": "a", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}},
                {"name": "b", "context": {"cluster": "c", "user": "u"}},
            ],
        });
        if let Some(c) = current {
            config["current-context"] = Value::String(c.to_owned());
        }
        let path = dir.join("config");
        std::fs::write(&path, config.to_string()).expect("write the kubeconfig");
        path
    }

    #[tokio::test]
    async fn connect_picks_the_context_without_a_request() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = write_kubeconfig(dir.path(), Some("b"));
        let current = Cluster::connect(Some(&path), None).await.expect("connect");
        assert_eq!(current.context(), "b");
        assert_eq!(current.server(), "https://192.0.2.1:6443");
        assert_eq!(current.default_namespace(), "default");
        let chosen = Cluster::connect(Some(&path), Some("a"))
            .await
            .expect("connect");
        assert_eq!(chosen.context(), "a");
        assert_eq!(chosen.default_namespace(), "team-a");
        let id = ResId::new(Gvk::new("", "v1", "ConfigMap"), "x", "");
        assert_eq!(
            chosen.namespace_of(&id, Scope::Namespaced).as_deref(),
            Some("team-a")
        );
        assert_eq!(chosen.namespace_of(&id, Scope::Cluster), None);
    }

    #[tokio::test]
    async fn missing_or_unknown_contexts_list_the_ones_there() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = write_kubeconfig(dir.path(), None);
        let refused = async |context: Option<&str>| {
            let err = Cluster::connect(Some(&path), context)
                .await
                .expect_err("the context is not there");
            (err.to_string(), err.hint())
        };
        assert_eq!(
            refused(None).await,
            (
                format!("kubeconfig `{}` has no current context", path.display()),
                Some("pick a context with `--context`: `a`, `b`".to_owned())
            )
        );
        assert_eq!(
            refused(Some("prod")).await,
            (
                format!("context `prod` is not in kubeconfig `{}`", path.display()),
                Some("the contexts there are `a`, `b`".to_owned())
            )
        );
    }

    #[tokio::test]
    async fn a_kubeconfig_that_does_not_parse_is_named() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("config");
        std::fs::write(&path, "clusters: [unclosed").expect("write");
        let err = Cluster::connect(Some(&path), None)
            .await
            .expect_err("bad YAML");
        assert_eq!(
            err.to_string(),
            format!("cannot load kubeconfig `{}`", path.display())
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "the parser's message is kept"
        );
    }

    #[test]
    fn kubeconfig_lists_skip_missing_files() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = write_kubeconfig(dir.path(), Some("a"));
        let missing = dir.path().join("absent");
        let list = std::env::join_paths([&missing, &path]).expect("a path list");
        let merged = read_kubeconfig_list(&list)
            .expect("one file exists")
            .expect("it parses");
        assert_eq!(merged.current_context.as_deref(), Some("a"));
        assert_eq!(merged.contexts.len(), 2);
        let none = std::env::join_paths([&missing]).expect("a path list");
        assert!(read_kubeconfig_list(&none).is_none());
    }

    #[test]
    fn hints_name_the_fix() {
        let no_version = ClusterError::NoApi {
            gvk: Gvk::new("cert-manager.io", "v1", "Certificate"),
            context: "kind-dev".into(),
            served_versions: vec![],
        };
        assert_eq!(
            no_version.to_string(),
            "no API serves cert-manager.io/v1 Certificate"
        );
        assert_eq!(
            no_version.hint().as_deref(),
            Some(
                "install the CustomResourceDefinition that defines `Certificate` first, or check the object's `apiVersion`"
            )
        );
        let forbidden = ClusterError::Forbidden {
            context: "kind-dev".into(),
            request: Request {
                verb: "list",
                resource: "namespaces".into(),
                namespace: None,
                target: "namespaces".into(),
            },
            message: "namespaces is forbidden".into(),
        };
        assert_eq!(
            forbidden.hint().as_deref(),
            Some(
                "the user of context `kind-dev` needs permission to `list` `namespaces` cluster-wide; ask a cluster admin to grant it (`kubectl auth can-i list namespaces --context kind-dev` checks it)"
            )
        );
        assert_eq!(
            KubeconfigSource::Env("/a:/b".into()).to_string(),
            "`/a:/b` (from `KUBECONFIG`)"
        );
    }
}
