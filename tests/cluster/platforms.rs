//! Every object each platform renders (its default components plus `gpu` and the serving,
//! tuning and training components; for `local` on every catalog release) is accepted by the API server in a server-side dry run, so no
//! platform ships an invalid object.
//!
//! The render's CustomResourceDefinitions and Namespaces are created for real (a custom resource
//! needs its CRD served, and a namespaced dry run needs its namespace to exist); every other
//! object, the admission webhook configurations included, is only applied with `dryRun=All`.
//! The webhooks are therefore never registered: their servers cannot run on the simulated
//! nodes, and would otherwise be called for the dry runs of the objects they intercept.
//! Kinds whose CRDs the cloud provides are declared in the profile's `preflight.crds` and get
//! stand-in CRDs here.
//!
//! All cases run in one test, each release after those whose CRDs it can replace: they share the
//! cluster's CRDs, and applying a newer CRD over an older one is the direction an upgrade takes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kfctl::profile::{self, KfctlConfig, Request, Where};
use kfctl::render::RealFs;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::{Client, Resource};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cluster::{TestNamespace, cluster, within};
use crate::kfctl_bin;
use crate::kubeflow_corpus;

const MANAGER: &str = "kfctl-test";

/// How many dry runs are in flight at once.
const CONCURRENCY: usize = 8;

/// The deadline of one API call.
const CALL: Duration = Duration::from_secs(30);

struct Case {
    platform: &'static str,
    release: &'static str,
    /// `--set` values for the platform's required parameters.
    sets: &'static [&'static str],
}

/// In the order the module comment gives.
const CASES: &[Case] = &[
    Case {
        platform: "local",
        release: "1.10.2",
        sets: &[],
    },
    Case {
        platform: "local",
        release: "1.11.0",
        sets: &[],
    },
    Case {
        platform: "local",
        release: "latest",
        sets: &[],
    },
    Case {
        platform: "gcp",
        release: "latest",
        sets: &[
            "project=kf-test-project",
            "domain=kubeflow.example.com",
            "gcsBucket=kf-test-artifacts",
            "workloadIdentityServiceAccount=kubeflow@kf-test-project.iam.gserviceaccount.com",
        ],
    },
    Case {
        platform: "aws",
        release: "latest",
        sets: &[
            "accountId=123456789012",
            "region=us-east-1",
            "clusterName=kf-test",
            "s3Bucket=kf-test-artifacts",
            "pipelineRoleArn=arn:aws:iam::123456789012:role/kf-pipelines",
            "notebookRoleArn=arn:aws:iam::123456789012:role/kf-notebooks",
            "domain=kubeflow.example.com",
            "certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        ],
    },
    Case {
        platform: "azure",
        release: "latest",
        sets: &[
            "subscriptionId=00000000-1111-2222-3333-444444444444",
            "tenantId=55555555-6666-7777-8888-999999999999",
            "clientId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "domain=kubeflow.example.com",
            "acmeEmail=acme@example.com",
        ],
    },
    Case {
        platform: "onprem",
        release: "latest",
        sets: &["domain=kubeflow.example.com", "storageClass=local-path"],
    },
    // Last: 26.03 and its release candidate store KServe's LLM inference CRDs in `v1alpha2`,
    // which master as copied (2026-04) does not serve, so master cannot follow them.
    Case {
        platform: "local",
        release: "26.03",
        sets: &[],
    },
    Case {
        platform: "local",
        release: "26.03.1-rc.2",
        sets: &[],
    },
];

/// A CRD a cloud installs on its clusters, as its vendor documents it.
struct CloudCrd {
    /// The CRD's name, as a profile's `preflight.crds` lists it.
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    scope: &'static str,
}

/// Stand-ins for the CRDs GKE provides: the right names and scope, and a schema that accepts
/// anything (the real schemas are GKE's, and the render is not checked against them here).
const CLOUD_CRDS: &[CloudCrd] = &[
    // https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration
    CloudCrd {
        name: "backendconfigs.cloud.google.com",
        group: "cloud.google.com",
        version: "v1",
        kind: "BackendConfig",
        plural: "backendconfigs",
        scope: "Namespaced",
    },
    // https://cloud.google.com/kubernetes-engine/docs/how-to/managed-certs
    CloudCrd {
        name: "managedcertificates.networking.gke.io",
        group: "networking.gke.io",
        version: "v1",
        kind: "ManagedCertificate",
        plural: "managedcertificates",
        scope: "Namespaced",
    },
];

impl CloudCrd {
    fn body(&self) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": self.name},
            "spec": {
                "group": self.group,
                "scope": self.scope,
                "names": {
                    "kind": self.kind,
                    "plural": self.plural,
                    "singular": self.kind.to_lowercase(),
                    "listKind": format!("{}List", self.kind),
                },
                "versions": [{
                    "name": self.version,
                    "served": true,
                    "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                    }},
                }],
            },
        })
    }
}

/// `--source kubeflow-manifests=...` for a catalog release.
fn source_arg(release: &str) -> String {
    format!(
        "kubeflow-manifests={}",
        kubeflow_corpus::release(release).display()
    )
}

fn kfctl(args: &[String]) -> Vec<u8> {
    let out = kfctl_bin::command()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kfctl: {e}"));
    assert!(
        out.status.success(),
        "kfctl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A directory holding the `kfctl.yaml` that enables `gpu` and the optional components
/// (components are chosen there; flags give the rest).
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let components: String = ["gpu"]
        .iter()
        .chain(&kubeflow_corpus::OPTIONAL_COMPONENTS)
        .map(|c| format!("    {c}:\n      enabled: true\n"))
        .collect();
    std::fs::write(
        dir.path().join("kfctl.yaml"),
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\n\
             spec:\n  components:\n{components}"
        ),
    )
    .expect("cannot write kfctl.yaml");
    dir
}

/// The case's objects as `kfctl build -o json` renders them.
fn render(case: &Case) -> Vec<Value> {
    let dir = config_dir();
    let config = dir.path().join("kfctl.yaml");
    let mut args: Vec<String> = [
        "build",
        "-f",
        &config.display().to_string(),
        "-p",
        case.platform,
        "--release",
        case.release,
        "--source",
        &source_arg(case.release),
        "-o",
        "json",
    ]
    .map(str::to_owned)
    .to_vec();
    for set in case.sets {
        args.extend(["--set".to_owned(), (*set).to_owned()]);
    }
    let list: Value = serde_json::from_slice(&kfctl(&args)).expect("`-o json` prints JSON");
    let items = list["items"].as_array().expect("a List has items").clone();
    assert!(
        items.iter().any(|o| o["kind"] == "DaemonSet"
            && o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("nvidia-"))),
        "{} {}: the render has no GPU DaemonSet, so `gpu` is not enabled",
        case.platform,
        case.release
    );
    for (kind, what) in [
        ("InferenceService", "kserve"),
        ("Experiment", "katib"),
        ("SparkApplication", "spark"),
    ] {
        assert!(
            items
                .iter()
                .any(|o| o["kind"] == "CustomResourceDefinition"
                    && o["spec"]["names"]["kind"] == kind),
            "{} {}: the render has no {kind} CRD, so `{what}` is not enabled",
            case.platform,
            case.release
        );
    }
    items
}

/// The CRD names each platform's `preflight.crds` declares, from `kfctl platforms -o json`.
fn preflight_crds() -> BTreeMap<String, Vec<String>> {
    let list: Value = serde_json::from_slice(&kfctl(&[
        "platforms".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
    ]))
    .expect("`kfctl platforms -o json` prints JSON");
    list.as_array()
        .expect("a list of platforms")
        .iter()
        .map(|p| {
            let crds = p["preflight"]["crds"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (p["name"].as_str().unwrap_or_default().to_owned(), crds)
        })
        .collect()
}

/// Where each object of the case's render comes from (by [`id`]), from the library that
/// `kfctl build` runs, rendering in-process: `-o json` carries no origins.
fn origins(case: &Case) -> BTreeMap<String, String> {
    let dir = config_dir();
    let config = KfctlConfig::load(&RealFs, &dir.path().join("kfctl.yaml"))
        .unwrap_or_else(|e| panic!("the test's kfctl.yaml: {e}"));
    let request = Request {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        catalog: None,
        cwd: std::env::current_dir().expect("a current directory"),
        platform: Some((
            case.platform.to_owned(),
            Where::Flag(format!("-p {}", case.platform)),
        )),
        release: Some((
            case.release.to_owned(),
            Where::Flag(format!("--release {}", case.release)),
        )),
        config: Some(config),
        sets: case.sets.iter().map(|s| (*s).to_owned()).collect(),
        sources: vec![source_arg(case.release)],
    };
    let resolved = profile::resolve(&RealFs, &request)
        .unwrap_or_else(|e| panic!("{} {}: {e}", case.platform, case.release));
    let rendered = profile::render(&RealFs, &resolved)
        .unwrap_or_else(|e| panic!("{} {}: {e}", case.platform, case.release));
    rendered
        .resources
        .iter()
        .map(|r| (id(&r.body), r.origin.to_string()))
        .collect()
}

/// `Kind/namespace/name (apiVersion)`, the namespace left out for cluster objects.
fn id(obj: &Value) -> String {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or("<no name>");
    let kind = obj["kind"].as_str().unwrap_or("<no kind>");
    let api_version = obj["apiVersion"].as_str().unwrap_or("<no apiVersion>");
    match meta["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name} ({api_version})"),
        None => format!("{kind}/{name} ({api_version})"),
    }
}

fn gvk(obj: &Value) -> GroupVersionKind {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, obj["kind"].as_str().unwrap_or_default())
}

fn api_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}

/// Server-side applies `obj` (as a dry run when `dry_run`), with strict field validation as
/// `kubectl apply` uses: an unknown or duplicated field is an error, not a warning.
async fn apply(
    client: Client,
    discovery: Arc<Discovery>,
    obj: Value,
    dry_run: bool,
) -> Result<(), String> {
    let gvk = gvk(&obj);
    let (resource, caps) = discovery.resolve_gvk(&gvk).ok_or_else(|| {
        format!(
            "no API serves {}/{} {}, and the render has no CRD for it",
            gvk.group, gvk.version, gvk.kind
        )
    })?;
    let name = obj["metadata"]["name"]
        .as_str()
        .ok_or("no `metadata.name`")?
        .to_owned();
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Cluster => Api::all_with(client, &resource),
        // As `kubectl apply` does, an object without a namespace goes to `default`.
        Scope::Namespaced => Api::namespaced_with(
            client,
            obj["metadata"]["namespace"].as_str().unwrap_or("default"),
            &resource,
        ),
    };
    let mut params = PatchParams::apply(MANAGER).validation_strict();
    if dry_run {
        params = params.dry_run();
    }
    match tokio::time::timeout(CALL, api.patch(&name, &params, &Patch::Apply(&obj))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(api_error(e)),
        Err(_) => Err(format!("no answer within {CALL:?}")),
    }
}

/// Applies `objects`, at most [`CONCURRENCY`] at a time; returns `(id, message)` of each one
/// the server refused.
async fn apply_all(
    client: &Client,
    discovery: &Arc<Discovery>,
    objects: Vec<&Value>,
    dry_run: bool,
) -> Vec<(String, String)> {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for obj in objects {
        let (client, discovery, obj) = (client.clone(), discovery.clone(), obj.clone());
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is open");
            let id = id(&obj);
            apply(client, discovery, obj, dry_run)
                .await
                .err()
                .map(|message| (id, message))
        });
    }
    let mut refused = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Some(failure) = done.expect("an apply task panicked") {
            refused.push(failure);
        }
    }
    refused.sort();
    refused
}

async fn discover(client: &Client) -> Arc<Discovery> {
    let discovery = within(
        "API discovery",
        CALL,
        Discovery::new(client.clone()).run_aggregated(),
    )
    .await
    .unwrap_or_else(|e| panic!("API discovery failed: {e}"));
    Arc::new(discovery)
}

/// Whether a cluster-scoped object named `name` exists; a test on a reused cluster deletes
/// afterwards only what it created.
async fn exists<K>(api: &Api<K>, name: &str) -> bool
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    within(format!("get {name}"), CALL, api.get_opt(name))
        .await
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
        .is_some()
}

/// How long a created CRD may take to be Established.
const ESTABLISHED: Duration = Duration::from_secs(60);

/// Waits until the CRD `crd` names is Established; the last conditions seen when it is not.
async fn established(api: &Api<CustomResourceDefinition>, crd: &Value) -> Result<(), String> {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let mut last = String::from("never read");
    let poll = async {
        loop {
            match api.get(name).await {
                Ok(crd) => {
                    let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
                    if conditions
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                    {
                        return;
                    }
                    last = conditions
                        .iter()
                        .map(|c| {
                            format!(
                                "{}={} ({})",
                                c.type_,
                                c.status,
                                c.message.as_deref().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                }
                Err(e) => last = api_error(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    match tokio::time::timeout(ESTABLISHED, poll).await {
        Ok(()) => Ok(()),
        Err(_) => Err(last),
    }
}

/// Dry-runs one case's render; returns its refusals as lines for the final message.
async fn check_case(
    case: &Case,
    cloud_crds: &[String],
    baseline: &Discovery,
    client: &Client,
    cleanup: &TestNamespace,
) -> Vec<String> {
    let objects = render(case);
    let mut refused: Vec<(String, String)> = Vec::new();

    // Earlier cases leave their CRDs on the cluster, so whether a kind is served now does not
    // say whether this case brings its CRD: a kind must be served before the test, defined by a
    // CRD of the render, or declared as the cloud's in the profile's preflight.
    let defined: BTreeSet<(String, String)> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .map(|c| {
            let spec = &c["spec"];
            (
                spec["group"].as_str().unwrap_or_default().to_owned(),
                spec["names"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .chain(
            CLOUD_CRDS
                .iter()
                .filter(|c| cloud_crds.iter().any(|d| d == c.name))
                .map(|c| (c.group.to_owned(), c.kind.to_owned())),
        )
        .collect();
    for obj in &objects {
        let gvk = gvk(obj);
        if baseline.resolve_gvk(&gvk).is_none()
            && !defined.contains(&(gvk.group.clone(), gvk.kind.clone()))
        {
            refused.push((
                id(obj),
                format!(
                    "no CRD for {} in the render, and platform `{}` does not declare one in \
                     `preflight.crds`",
                    gvk.kind, case.platform
                ),
            ));
        }
    }

    // CRDs first, for real: the render's, and stand-ins for the cloud's.
    let mut crds: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .cloned()
        .collect();
    for name in cloud_crds {
        match CLOUD_CRDS.iter().find(|c| c.name == name) {
            Some(crd) => crds.push(crd.body()),
            None => refused.push((
                format!("preflight CRD `{name}`"),
                "the test has no stand-in for it; add one to `CLOUD_CRDS`".to_owned(),
            )),
        }
    }
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in &crds {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        if !exists(&crd_api, name).await {
            cleanup.delete_later(&format!("customresourcedefinition/{name}"));
        }
    }
    let discovery = discover(client).await;
    let crd_refusals = apply_all(client, &discovery, crds.iter().collect(), false).await;
    let failed: BTreeSet<&str> = crd_refusals.iter().map(|(id, _)| id.as_str()).collect();
    for crd in crds.iter().filter(|c| !failed.contains(id(c).as_str())) {
        if let Err(conditions) = established(&crd_api, crd).await {
            refused.push((
                id(crd),
                format!("not Established within {ESTABLISHED:?}; conditions: {conditions}"),
            ));
        }
    }
    refused.extend(crd_refusals);

    // Namespaces for real: a namespaced dry run is refused when its namespace does not exist.
    let namespaces: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .collect();
    let ns_api: Api<Namespace> = Api::all(client.clone());
    for ns in &namespaces {
        let name = ns["metadata"]["name"].as_str().unwrap_or_default();
        if !exists(&ns_api, name).await {
            cleanup.delete_later(&format!("namespace/{name}"));
        }
    }
    refused.extend(apply_all(client, &discovery, namespaces, false).await);

    // Established CRDs reach discovery a moment later: wait until every kind the render
    // uses resolves (what never does is reported by its objects' dry runs).
    let kinds: BTreeSet<(String, String, String)> = objects
        .iter()
        .map(|o| {
            let g = gvk(o);
            (g.group, g.version, g.kind)
        })
        .collect();
    let discovery = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let discovery = discover(client).await;
            if kinds.iter().all(|(g, v, k)| {
                discovery
                    .resolve_gvk(&GroupVersionKind::gvk(g, v, k))
                    .is_some()
            }) {
                return discovery;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    let discovery = match discovery {
        Ok(d) => d,
        Err(_) => discover(client).await,
    };

    // A dry run stores nothing: had the webhook configurations been created, the API server
    // would call their (never running) servers for every later object they match. Those that
    // exist before the dry runs (on a reused cluster) are not this test's.
    let mut webhooks = Vec::new();
    for obj in objects.iter().filter(|o| {
        matches!(
            o["kind"].as_str(),
            Some("MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration")
        )
    }) {
        let Some((resource, _)) = discovery.resolve_gvk(&gvk(obj)) else {
            continue;
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if !exists(&api, name).await {
            webhooks.push((obj, api, name));
        }
    }

    // Everything else as a dry run; an object already refused above is not reported twice.
    let already: BTreeSet<String> = refused.iter().map(|(id, _)| id.clone()).collect();
    let rest: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] != "CustomResourceDefinition" && o["kind"] != "Namespace")
        .filter(|o| !already.contains(&id(o)))
        .collect();
    refused.extend(apply_all(client, &discovery, rest, true).await);

    for (obj, api, name) in webhooks {
        if exists(&api, name).await {
            refused.push((id(obj), "a dry run created it".to_owned()));
        }
    }

    let head = format!(
        "{} (release {}, {} objects)",
        case.platform,
        case.release,
        objects.len()
    );
    let origins = if refused.is_empty() {
        BTreeMap::new()
    } else {
        origins(case)
    };
    refused
        .into_iter()
        .map(|(id, message)| match origins.get(&id) {
            Some(origin) => format!("{head}: {id} from {origin}: {message}"),
            None => format!("{head}: {id}: {message}"),
        })
        .collect()
}

#[tokio::test]
async fn every_platform_render_passes_a_server_side_dry_run() {
    // Only for cleanup on a reused cluster: the render's namespaces and CRDs are its own.
    let cleanup = cluster().namespace("platforms").await;
    let client = cleanup.client();
    let declared = preflight_crds();
    let baseline = discover(&client).await;
    let mut refused = Vec::new();
    for case in CASES {
        let cloud_crds = declared.get(case.platform).cloned().unwrap_or_default();
        refused.extend(check_case(case, &cloud_crds, &baseline, &client, &cleanup).await);
    }
    assert!(
        refused.is_empty(),
        "the API server refused {} rendered object(s):\n{}",
        refused.len(),
        refused.join("\n")
    );
}
