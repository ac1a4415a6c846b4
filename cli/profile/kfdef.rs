//! `kfctl import`: a kfctl v1 `KfDef` (`kfdef.apps.kubeflow.org/v1`) turned into a `kfctl.yaml`.
//!
//! A KfDef lists kustomize applications of the v1 manifests repository by name and path, and a
//! platform plugin (`KfGcpPlugin`, `KfAwsPlugin`) holding the cloud settings. Applications map to
//! catalog components through a table of the v1 names; plugin fields map to the platform's
//! parameters. Everything without a counterpart is returned as a note saying why, so nothing is
//! dropped silently. Pure: the command reads the files and prints.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::catalog::Catalog;
use super::doc::{Node, SourceFile};
use super::platform::PlatformProfile;
use super::write::{
    ComponentEntry, Components, ConfigMetadata, ConfigSpec, KfctlConfig, Ordered, Parameter,
    comment,
};
use super::{API_VERSION, ProfileError, Where};
use crate::render::Loc;
use crate::shell;

/// The `apiVersion` of the KfDefs kfctl v1.0 to v1.2 wrote.
pub const KFDEF_API_VERSION: &str = "kfdef.apps.kubeflow.org/v1";

/// A parsed KfDef: what the import reads of it.
#[derive(Debug, Clone)]
pub struct KfDef {
    pub name: Option<String>,
    pub cluster_name: Option<String>,
    pub version: Option<String>,
    pub applications: Vec<Application>,
    pub repos: Vec<(String, String, Loc)>,
    pub plugin: Option<Plugin>,
    /// Fields read but not carried over: (field, value as written, where).
    pub unread: Vec<(String, String, Loc)>,
}

#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    pub path: Option<String>,
    pub overlays: Vec<String>,
    /// (name, value); v1 left some values unset for `kfctl build` to fill.
    pub parameters: Vec<(String, Option<String>)>,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct Plugin {
    /// `KfGcpPlugin` or `KfAwsPlugin`.
    pub kind: String,
    pub spec: Value,
    pub at: Loc,
}

/// Something of the KfDef that the new config does not hold, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What it is: `application `katib``, `spec.repos[0]`, `KfGcpPlugin spec.iap`.
    pub what: String,
    pub line: Option<usize>,
    pub why: String,
}

/// The import's result: the config and what it could not carry over.
#[derive(Debug, Clone)]
pub struct Imported {
    pub platform: String,
    pub release: String,
    pub config: KfctlConfig,
    /// Comment lines above the YAML.
    header: Vec<String>,
    /// Comment lines for the required parameters still to set.
    missing_comments: Vec<String>,
    /// Each v1 application and the components it became (empty: none).
    pub mapped: Vec<(String, Vec<String>)>,
    /// Required platform parameters the KfDef gives no value for.
    pub missing: Vec<String>,
    pub notes: Vec<Note>,
}

/// Reads a KfDef; any other document is an error naming the file and line.
pub fn parse(file: &SourceFile) -> Result<KfDef, ProfileError> {
    let root = file.root();
    let not_kfdef = |node: &Node<'_>, message: String| ProfileError::Invalid {
        message,
        at: node.loc(),
        hint: Some(format!(
            "`kfctl import` reads a kfctl v1 KfDef, which starts with `apiVersion: {KFDEF_API_VERSION}` and `kind: KfDef`"
        )),
    };
    if !root.value.is_object() {
        return Err(not_kfdef(
            &root,
            "not a KfDef: the file holds no YAML map".to_owned(),
        ));
    }
    let api = root
        .get("apiVersion")
        .ok_or_else(|| not_kfdef(&root, "not a KfDef: `apiVersion` is missing".to_owned()))?;
    let api_text = api.str()?;
    if api_text == API_VERSION {
        return Err(not_kfdef(
            &api,
            "this is already a kfctl config, not a KfDef".to_owned(),
        ));
    }
    if api_text != KFDEF_API_VERSION {
        return Err(not_kfdef(
            &api,
            format!("not a KfDef: `apiVersion` is `{api_text}`, expected `{KFDEF_API_VERSION}`"),
        ));
    }
    let kind = root
        .get("kind")
        .ok_or_else(|| not_kfdef(&root, "not a KfDef: `kind` is missing".to_owned()))?;
    if kind.str()? != "KfDef" {
        return Err(not_kfdef(
            &kind,
            format!("not a KfDef: `kind` is `{}`", kind.str()?),
        ));
    }
    let mut def = KfDef {
        name: None,
        cluster_name: None,
        version: None,
        applications: Vec::new(),
        repos: Vec::new(),
        plugin: None,
        unread: Vec::new(),
    };
    if let Some(meta) = root.get("metadata") {
        def.name = meta
            .get("name")
            .map(|n| n.str().map(str::to_owned))
            .transpose()?;
        def.cluster_name = meta
            .get("clusterName")
            .map(|n| n.str().map(str::to_owned))
            .transpose()?;
    }
    let spec = root.require("spec")?;
    for field in spec.entries()? {
        match field.key() {
            "applications" => {
                for app in field.list()? {
                    def.applications.push(parse_application(&app)?);
                }
            }
            "repos" => {
                for repo in field.list()? {
                    let name = repo.require("name")?.str()?.to_owned();
                    let uri = repo.get("uri").map(|u| u.str()).transpose()?.unwrap_or("");
                    def.repos.push((name, uri.to_owned(), repo.loc()));
                }
            }
            "plugins" => {
                for plugin in field.list()? {
                    let kind = plugin.require("kind")?.str()?.to_owned();
                    let spec = plugin.get("spec").map(|s| s.value.clone());
                    let parsed = Plugin {
                        kind,
                        spec: spec.unwrap_or(Value::Null),
                        at: plugin.loc(),
                    };
                    if def.plugin.is_some() {
                        def.unread.push((
                            format!("plugin `{}`", parsed.kind),
                            String::new(),
                            parsed.at.clone(),
                        ));
                    } else {
                        def.plugin = Some(parsed);
                    }
                }
            }
            "version" => def.version = Some(scalar(field.value)),
            _ => def
                .unread
                .push((field.name(), scalar(field.value), field.loc())),
        }
    }
    Ok(def)
}

fn parse_application(app: &Node<'_>) -> Result<Application, ProfileError> {
    let name = app.require("name")?.str()?.to_owned();
    let mut out = Application {
        name,
        path: None,
        overlays: Vec::new(),
        parameters: Vec::new(),
        at: app.loc(),
    };
    let Some(kc) = app.get("kustomizeConfig") else {
        return Ok(out);
    };
    if let Some(repo) = kc.get("repoRef") {
        out.path = repo
            .get("path")
            .map(|p| p.str().map(str::to_owned))
            .transpose()?;
    }
    if let Some(overlays) = kc.get("overlays") {
        out.overlays = overlays.strings()?;
    }
    if let Some(params) = kc.get("parameters") {
        for p in params.list()? {
            let name = p.require("name")?.str()?.to_owned();
            out.parameters
                .push((name, p.get("value").map(|v| scalar(v.value))));
        }
    }
    Ok(out)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The platform a KfDef was for: its plugin's cloud, else on-prem.
pub fn platform(def: &KfDef) -> &'static str {
    match def.plugin.as_ref().map(|p| p.kind.as_str()) {
        Some("KfGcpPlugin") => "gcp",
        Some("KfAwsPlugin") => "aws",
        // kfctl v1's other configs (k8s_istio, istio_dex, existing_arrikto, anthos) all ran
        // on a cluster kfctl did not create: what kfctl calls on-prem.
        _ => "onprem",
    }
}

/// Where a v1 application went.
enum Target {
    /// These catalog components hold it.
    Components(&'static [&'static str]),
    /// Nothing holds it; why.
    Dropped(&'static str),
}

/// kfctl v1 application names (as the v1.0 to v1.2 KfDefs wrote them) and what they became.
const APPLICATIONS: &[(&[&str], Target)] = &[
    (
        &["namespaces", "kubeflow-roles"],
        Target::Components(&["kubeflow-namespace"]),
    ),
    (
        &["istio-stack", "istio-crds", "istio-install", "istio"],
        Target::Components(&["istio"]),
    ),
    (
        &[
            "cert-manager",
            "cert-manager-crds",
            "cert-manager-kube-system-resources",
        ],
        Target::Components(&["cert-manager"]),
    ),
    (&["dex"], Target::Components(&["dex"])),
    // oidc-authservice was replaced upstream by oauth2-proxy (Kubeflow 1.9).
    (
        &["oidc-authservice", "authservice"],
        Target::Components(&["oauth2-proxy"]),
    ),
    (
        &[
            "centraldashboard",
            "jupyter-web-app",
            "notebook-controller",
            "admission-webhook",
            "webhook",
            "bootstrap",
            "profiles",
            "volumes-web-app",
            "notebooks",
        ],
        Target::Components(&["notebooks"]),
    ),
    (
        &[
            "pipeline",
            "pipelines",
            "kubeflow-pipelines",
            "api-service",
            "minio",
            "mysql",
            "persistent-agent",
            "pipelines-runner",
            "pipelines-ui",
            "pipelines-viewer",
            "scheduledworkflow",
            "pipeline-visualization-service",
            "argo",
            "metacontroller",
            "metadata",
        ],
        Target::Components(&["pipelines"]),
    ),
    // The v1.1 and v1.2 stacks (`stacks/gcp`, `stacks/aws`, `stacks/kubernetes`) bundled every
    // Kubeflow application in one kustomization.
    (
        &["kubeflow-apps"],
        Target::Components(&["notebooks", "pipelines"]),
    ),
    (
        &["nvidia-device-plugin", "gpu-driver"],
        Target::Components(&["gpu"]),
    ),
    (
        &["application", "application-crds"],
        Target::Dropped(
            "the Application CRD (kubernetes-sigs/application) left the Kubeflow manifests in 1.3; nothing replaces it",
        ),
    ),
    (
        &["spartakus"],
        Target::Dropped("usage reporting (spartakus) left the Kubeflow manifests in 1.3"),
    ),
    (
        &["add-anonymous-user-filter"],
        Target::Dropped(
            "kfctl always authenticates users (Dex behind oauth2-proxy); there is no anonymous user",
        ),
    ),
    (
        &["cluster-local-gateway"],
        Target::Dropped(
            "the cluster-local gateway serves KNative, which the catalog has no component for",
        ),
    ),
    (
        &[
            "katib",
            "katib-crds",
            "katib-controller",
            "katib-db",
            "katib-db-manager",
            "katib-ui",
        ],
        Target::Dropped("the catalog has no Katib component"),
    ),
    (
        &[
            "kfserving",
            "kfserving-crds",
            "kfserving-install",
            "kserve",
            "knative",
            "knative-crds",
            "knative-install",
        ],
        Target::Dropped("the catalog has no KServe (formerly KFServing) or KNative component"),
    ),
    (
        &[
            "tensorboard",
            "tensorboards-web-app",
            "tensorboard-controller",
        ],
        Target::Dropped("the catalog has no TensorBoard component"),
    ),
    (
        &[
            "tf-job-crds",
            "tf-job-operator",
            "pytorch-job-crds",
            "pytorch-operator",
            "mpi-operator",
            "mxnet-operator",
            "xgboost-operator",
            "training-operator",
        ],
        Target::Dropped("the catalog has no training operator component"),
    ),
    (
        &["seldon-core-operator", "seldon-core"],
        Target::Dropped("Seldon Core left the Kubeflow manifests; the catalog has no component"),
    ),
    (
        &["spark-operator"],
        Target::Dropped("the catalog has no Spark operator component"),
    ),
    (
        &["iap-ingress"],
        Target::Dropped(
            "the gcp platform's gateway is the IAP ingress (`overlays/gcp/istio`); its parameters are mapped below",
        ),
    ),
    (
        &["cloud-endpoints"],
        Target::Dropped(
            "kfctl does not manage Cloud Endpoints DNS; point `domain`'s DNS record at the ingress yourself",
        ),
    ),
    (
        &["istio-ingress", "aws-alb-ingress-controller"],
        Target::Dropped(
            "the aws platform's gateway sits behind an ALB Ingress (`domain`, `certificateArn`); install the AWS Load Balancer Controller with EKS",
        ),
    ),
    (
        &["aws-istio-authz-adaptor"],
        Target::Dropped("Cognito authentication is not supported; kfctl authenticates with Dex"),
    ),
    (
        &["default-install"],
        Target::Dropped(
            "kfctl creates no user profile; users create theirs on first login to the dashboard",
        ),
    ),
];

/// Overlays every v1 application had that the component's render already covers.
const COVERED_OVERLAYS: &[&str] = &["application", "istio"];

fn target_of(app: &Application) -> Option<&'static Target> {
    let last = app
        .path
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
        .and_then(|p| {
            p.rsplit('/')
                .find(|s| !matches!(*s, "base" | "v3" | "overlays"))
        });
    APPLICATIONS
        .iter()
        .find(|(names, _)| names.contains(&app.name.as_str()))
        .or_else(|| {
            APPLICATIONS
                .iter()
                .find(|(names, _)| last.is_some_and(|l| names.contains(&l)))
        })
        .map(|(_, t)| t)
}

/// Turns `def` (read from `source`) into a config for `profile`, on the catalog's newest
/// release.
pub fn convert(
    def: &KfDef,
    source: &str,
    catalog: &Catalog,
    profile: &PlatformProfile,
) -> Result<Imported, ProfileError> {
    let mut notes = Vec::new();
    let note = |notes: &mut Vec<Note>, what: String, at: &Loc, why: String| {
        notes.push(Note {
            what,
            line: at.line,
            why,
        })
    };

    // Applications → components.
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut mapped = Vec::new();
    let mut app_params: Vec<(&Application, &str, &str)> = Vec::new();
    for app in &def.applications {
        match target_of(app) {
            Some(Target::Components(cs)) => {
                wanted.extend(cs.iter().copied());
                mapped.push((app.name.clone(), cs.iter().map(|c| c.to_string()).collect()));
                for o in &app.overlays {
                    if !COVERED_OVERLAYS.contains(&o.as_str()) {
                        note(
                            &mut notes,
                            format!("overlay `{o}` of application `{}`", app.name),
                            &app.at,
                            "kfctl renders its release's upstream manifests, where the v1 overlays no longer exist".to_owned(),
                        );
                    }
                }
                if app.name == "kubeflow-apps" {
                    note(
                        &mut notes,
                        format!(
                            "the rest of application `kubeflow-apps` ({})",
                            app.path.as_deref().unwrap_or("a stack")
                        ),
                        &app.at,
                        "the v1 stack also held Katib, KFServing, TensorBoard and the training operators, for which the catalog has no component".to_owned(),
                    );
                }
            }
            Some(Target::Dropped(why)) => {
                mapped.push((app.name.clone(), Vec::new()));
                note(
                    &mut notes,
                    format!("application `{}`", app.name),
                    &app.at,
                    (*why).to_owned(),
                );
            }
            None => {
                mapped.push((app.name.clone(), Vec::new()));
                note(
                    &mut notes,
                    format!("application `{}`", app.name),
                    &app.at,
                    format!(
                        "not a kfctl v1 application kfctl knows{}",
                        app.path
                            .as_deref()
                            .map(|p| format!(" (path `{p}`)"))
                            .unwrap_or_default()
                    ),
                );
            }
        }
        for (name, value) in &app.parameters {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                app_params.push((app, name, v));
            }
        }
    }

    // Plugin and application parameters → platform parameters, each checked against its spec.
    let mut params: Vec<(String, String, String)> = Vec::new();
    let mut set = |notes: &mut Vec<Note>, name: &str, value: String, from: String, at: &Loc| {
        if params.iter().any(|(n, _, _)| n == name) {
            return;
        }
        let Some(spec) = profile.parameters.iter().find(|p| p.name == name) else {
            return;
        };
        match spec.value_from_text(&value, Where::File(at.clone())) {
            Ok(v) => params.push((name.to_owned(), v, from)),
            Err(_) => notes.push(Note {
                what: format!("{from} (`{value}`)"),
                line: at.line,
                why: format!(
                    "not a valid `{name}`{}",
                    spec.pattern
                        .as_ref()
                        .map(|p| format!(" (it must match `{}`)", p.as_str()))
                        .unwrap_or_default()
                ),
            }),
        }
    };
    let name = def.name.clone().unwrap_or_else(|| "kubeflow".to_owned());
    let mut used_params: BTreeSet<(String, String)> = BTreeSet::new();
    for (app, pname, value) in &app_params {
        let target = match (app.name.as_str(), *pname) {
            ("profiles", "admin") => Some("adminEmail"),
            ("iap-ingress", "hostname") => Some("domain"),
            ("aws-alb-ingress-controller", "clusterName") => Some("clusterName"),
            _ => None,
        };
        match target {
            Some(t) => {
                used_params.insert((app.name.clone(), pname.to_string()));
                set(
                    &mut notes,
                    t,
                    value.to_string(),
                    format!("parameter `{pname}` of application `{}`", app.name),
                    &app.at,
                );
            }
            // Said once, for the plugin's `ipName`, when the plugin has one.
            None if *pname == "ipName"
                && def
                    .plugin
                    .as_ref()
                    .is_some_and(|p| p.spec.get("ipName").is_some()) => {}
            None if app.name == "iap-ingress" && *pname == "ipName" => note(
                &mut notes,
                format!("parameter `ipName` of application `{}` ({value})", app.name),
                &app.at,
                "the GKE Ingress gets an ephemeral address; to keep the reserved one, annotate the Ingress `kubeflow-iap` with `kubernetes.io/ingress.global-static-ip-name`".to_owned(),
            ),
            None if *pname == "namespace" => {}
            None => note(
                &mut notes,
                format!("parameter `{pname}` of application `{}` ({value})", app.name),
                &app.at,
                "no platform or component parameter of kfctl corresponds to it".to_owned(),
            ),
        }
    }
    if let Some(plugin) = &def.plugin {
        plugin_parameters(plugin, &name, &mut set, &mut notes);
    }
    if let Some(cluster) = &def.cluster_name {
        // kfctl v1 wrote the kubeconfig's cluster name, which eksctl makes
        // `<name>.<region>.eksctl.io`; EKS knows the cluster as `<name>`.
        let eks_name = match cluster.strip_suffix(".eksctl.io") {
            Some(rest) => rest.split('.').next().unwrap_or(rest),
            None => cluster,
        };
        set(
            &mut notes,
            "clusterName",
            eks_name.to_owned(),
            "metadata.clusterName".to_owned(),
            &Loc::new(Path::new(source), None),
        );
    }

    let missing: Vec<String> = profile
        .parameters
        .iter()
        .filter(|p| p.required && !params.iter().any(|(n, _, _)| n == &p.name))
        .map(|p| p.name.clone())
        .collect();

    // Repositories: kfctl renders its catalog's release, never the v1 manifests.
    for (repo, uri, at) in &def.repos {
        note(
            &mut notes,
            format!("repository `{repo}` ({uri})"),
            at,
            "kfctl renders the Kubeflow manifests of its catalog's release; give another copy with `--source kubeflow-manifests=PATH` or `spec.sources`".to_owned(),
        );
    }
    for (field, value, at) in &def.unread {
        note(
            &mut notes,
            if value.is_empty() {
                format!("`{field}`")
            } else {
                format!("`{field}` ({value})")
            },
            at,
            "kfctl has no setting for it".to_owned(),
        );
    }

    // Components: what the applications asked for, closed under dependencies; the platform's
    // defaults that no application asked for are turned off.
    let mut enabled: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
    loop {
        let mut grew = false;
        for c in &catalog.components {
            if !enabled.contains(&c.name) {
                continue;
            }
            for d in &c.depends {
                if enabled.insert(d.clone()) {
                    grew = true;
                    notes.push(Note {
                        what: format!("component `{d}`"),
                        line: None,
                        why: format!(
                            "enabled although no application of the KfDef maps to it: `{}` needs it",
                            c.name
                        ),
                    });
                }
            }
        }
        if !grew {
            break;
        }
    }

    let release = catalog
        .releases
        .last()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| catalog.default_release.clone());
    let (config, header, missing_comments) = config_of(&ConfigText {
        source,
        def,
        name: &name,
        platform: &profile.name,
        release: &release,
        catalog,
        enabled: &enabled,
        params: &params,
        missing: &missing,
        profile,
    });
    Ok(Imported {
        platform: profile.name.clone(),
        release,
        config,
        header,
        missing_comments,
        mapped,
        missing,
        notes,
    })
}

type Setter<'a> = dyn FnMut(&mut Vec<Note>, &str, String, String, &Loc) + 'a;

fn plugin_parameters(plugin: &Plugin, name: &str, set: &mut Setter<'_>, notes: &mut Vec<Note>) {
    let spec = &plugin.spec;
    let at = &plugin.at;
    let field = |key: &str| spec.get(key).filter(|v| !v.is_null());
    let text = |key: &str| field(key).map(scalar).filter(|s| !s.is_empty());
    let kind = plugin.kind.as_str();
    let note = |notes: &mut Vec<Note>, what: String, why: &str| {
        notes.push(Note {
            what: format!("{kind} {what}"),
            line: at.line,
            why: why.to_owned(),
        })
    };
    let mut known: Vec<&str> = Vec::new();
    match kind {
        "KfGcpPlugin" => {
            known.extend([
                "project",
                "zone",
                "email",
                "hostname",
                "enableWorkloadIdentity",
                "iap",
                "ipName",
                "useBasicAuth",
                "skipInitProject",
                "createPipelinePersistentStorage",
                "deploymentManagerConfig",
            ]);
            let project = text("project");
            if let Some(p) = &project {
                set(
                    notes,
                    "project",
                    p.clone(),
                    format!("{kind} spec.project"),
                    at,
                );
            }
            if let Some(zone) = text("zone") {
                set(notes, "zone", zone.clone(), format!("{kind} spec.zone"), at);
                if let Some((region, _)) = zone.rsplit_once('-') {
                    set(
                        notes,
                        "region",
                        region.to_owned(),
                        format!("{kind} spec.zone (its region)"),
                        at,
                    );
                }
            }
            if let Some(email) = text("email") {
                set(notes, "adminEmail", email, format!("{kind} spec.email"), at);
            }
            match (text("hostname"), &project) {
                (Some(h), _) => set(notes, "domain", h, format!("{kind} spec.hostname"), at),
                // kfctl v1's default: a Cloud Endpoints name in the project.
                (None, Some(p)) => set(
                    notes,
                    "domain",
                    format!("{name}.endpoints.{p}.cloud.goog"),
                    format!("{kind} (kfctl v1's default hostname)"),
                    at,
                ),
                (None, None) => {}
            }
            if let (Some(true), Some(p)) = (
                field("enableWorkloadIdentity").and_then(Value::as_bool),
                &project,
            ) {
                // The Google service account kfctl v1 created and bound for user workloads.
                set(
                    notes,
                    "workloadIdentityServiceAccount",
                    format!("{name}-user@{p}.iam.gserviceaccount.com"),
                    format!(
                        "{kind} spec.enableWorkloadIdentity (kfctl v1's `{name}-user` account)"
                    ),
                    at,
                );
            }
            if let Some(iap) = field("iap") {
                // An id with control characters is not printed for pasting: a terminal would
                // act on them, and what the person copies would not be what the KfDef says.
                let given_id = iap.get("oAuthClientId").map(scalar);
                let id = given_id
                    .clone()
                    .filter(|id| !id.chars().any(char::is_control))
                    .unwrap_or_else(|| "CLIENT_ID".to_owned());
                let secret_name = iap
                    .pointer("/oAuthClientSecret/name")
                    .map(scalar)
                    .unwrap_or_else(|| "CLIENT_SECRET".to_owned());
                // Every word is quoted for the shell it is pasted into; the client secret is
                // read from the variable kfctl v1 read, when that is a name a shell expands.
                let variable = if shell::is_variable_name(&secret_name) {
                    secret_name.clone()
                } else {
                    "CLIENT_SECRET".to_owned()
                };
                let command = format!(
                    "kubectl -n istio-system create secret generic kubeflow-iap-oauth {} --from-literal=client_secret=\"${variable}\"",
                    shell::quote(&format!("--from-literal=client_id={id}"))
                );
                note(
                    notes,
                    "spec.iap (OAuth client)".to_owned(),
                    &format!(
                        "a secret never goes into `kfctl.yaml`; before applying, create the secret the gcp gateway's IAP reads: `{command}` (kfctl v1 read the client secret from the environment variable {}){}",
                        if variable == secret_name {
                            format!("`{secret_name}`")
                        } else {
                            format!("{secret_name:?}, which is no name a shell can expand")
                        },
                        match given_id {
                            Some(given) if given != id => format!(
                                "; the KfDef's client id {given:?} holds control characters: write the real one for `CLIENT_ID`"
                            ),
                            _ => String::new(),
                        }
                    ),
                );
            }
            if let Some(ip) = text("ipName") {
                note(
                    notes,
                    format!("spec.ipName ({ip})"),
                    "the GKE Ingress gets an ephemeral address; to keep the reserved one, annotate the Ingress `kubeflow-iap` with `kubernetes.io/ingress.global-static-ip-name`",
                );
            }
            if field("useBasicAuth").and_then(Value::as_bool) == Some(true) {
                note(
                    notes,
                    "spec.useBasicAuth".to_owned(),
                    "basic auth is gone; users sign in through IAP and Dex (set `spec.admin` for the first user)",
                );
            }
            if field("deploymentManagerConfig").is_some() {
                note(
                    notes,
                    "spec.deploymentManagerConfig".to_owned(),
                    "kfctl does not create GKE clusters or GCP resources; create the cluster, the GCS bucket (`gcsBucket`) and the service account first",
                );
            }
            if field("skipInitProject").and_then(Value::as_bool) == Some(false) {
                note(
                    notes,
                    "spec.skipInitProject".to_owned(),
                    "kfctl does not enable GCP APIs or set up the project",
                );
            }
            if field("createPipelinePersistentStorage").and_then(Value::as_bool) == Some(true) {
                note(
                    notes,
                    "spec.createPipelinePersistentStorage".to_owned(),
                    "on gcp, pipelines keep artifacts in the GCS bucket `gcsBucket` and their database on a `storageClass` volume kfctl declares",
                );
            }
        }
        "KfAwsPlugin" => {
            known.extend(["region", "roles", "enablePodIamPolicy", "auth"]);
            if let Some(r) = text("region") {
                set(notes, "region", r, format!("{kind} spec.region"), at);
            }
            if let Some(cert) = spec.pointer("/auth/cognito/certArn").map(scalar) {
                set(
                    notes,
                    "certificateArn",
                    cert.clone(),
                    format!("{kind} spec.auth.cognito.certArn"),
                    at,
                );
                if let Some(account) = cert.split(':').nth(4) {
                    set(
                        notes,
                        "accountId",
                        account.to_owned(),
                        format!("{kind} spec.auth.cognito.certArn (its account)"),
                        at,
                    );
                }
            }
            if let Some(roles) = field("roles") {
                note(
                    notes,
                    format!("spec.roles ({})", scalar(roles)),
                    "kfctl v1 attached policies to node instance roles; kfctl uses IRSA roles instead: set `pipelineRoleArn` and `notebookRoleArn`",
                );
            }
            if field("enablePodIamPolicy").is_some() {
                note(
                    notes,
                    "spec.enablePodIamPolicy".to_owned(),
                    "pod IAM roles are always IRSA roles on aws (`pipelineRoleArn`, `notebookRoleArn`)",
                );
            }
            if let Some(auth) = field("auth") {
                if auth.get("cognito").is_some() {
                    note(
                        notes,
                        "spec.auth.cognito".to_owned(),
                        "Cognito authentication is not supported; users sign in through Dex (set `spec.admin` for the first user, or connect Dex to an upstream identity provider)",
                    );
                }
                if let Some(basic) = auth.get("basicAuth") {
                    let user = basic.get("username").map(scalar).unwrap_or_default();
                    note(
                        notes,
                        format!("spec.auth.basicAuth (user `{user}`)"),
                        "basic auth is gone; the first user signs in through Dex: set `spec.admin.email` and `spec.admin.passwordHash` (`kfctl init` makes the hash)",
                    );
                }
            }
        }
        other => {
            note(
                notes,
                String::new(),
                &format!("kfctl knows no `{other}` plugin; the platform is `onprem`"),
            );
        }
    }
    if let Some(map) = spec.as_object() {
        for (k, v) in map {
            if !known.contains(&k.as_str()) && !v.is_null() {
                note(
                    notes,
                    format!("spec.{k} ({})", scalar(v)),
                    "kfctl has no setting for it",
                );
            }
        }
    }
}

struct ConfigText<'a> {
    source: &'a str,
    def: &'a KfDef,
    name: &'a str,
    platform: &'a str,
    release: &'a str,
    catalog: &'a Catalog,
    enabled: &'a BTreeSet<String>,
    params: &'a [(String, String, String)],
    missing: &'a [String],
    profile: &'a PlatformProfile,
}

/// The config to write, the comment lines above it and those for required parameters still to
/// set.
fn config_of(c: &ConfigText<'_>) -> (KfctlConfig, Vec<String>, Vec<String>) {
    let header = vec![
        format!(
            "Imported by `kfctl import` from `{}` (KfDef `{}`, kfctl v1 version {}).",
            c.source,
            c.def.name.as_deref().unwrap_or("(unnamed)"),
            c.def.version.as_deref().unwrap_or("unknown"),
        ),
        "`kfctl import` listed what it could not carry over; review before applying.".to_owned(),
    ];
    let mut components = Ordered::default();
    for comp in &c.catalog.components {
        components.insert(
            &comp.name,
            ComponentEntry {
                enabled: c.enabled.contains(&comp.name),
                parameters: Ordered::default(),
            },
        );
    }
    // In the profile's order, so the file reads like `kfctl platforms` lists them.
    let mut parameters = Ordered::default();
    let mut missing = Vec::new();
    for spec in &c.profile.parameters {
        if let Some((_, value, from)) = c.params.iter().find(|(n, _, _)| n == &spec.name) {
            parameters.insert(
                &spec.name,
                Parameter {
                    value: value.clone(),
                    comment: Some(format!("from {}", from.replace('`', ""))),
                },
            );
        } else if c.missing.contains(&spec.name) {
            missing.push(format!(
                "{}: required, not in the KfDef: {}",
                spec.name, spec.description
            ));
        }
    }
    let config = KfctlConfig {
        api_version: API_VERSION.to_owned(),
        kind: "KfctlConfig".to_owned(),
        metadata: ConfigMetadata {
            name: c.name.to_owned(),
        },
        spec: ConfigSpec {
            platform: c.platform.to_owned(),
            release: c.release.to_owned(),
            components: Components(components),
            parameters,
            admin: None,
            secrets: Ordered::default(),
        },
    };
    (config, header, missing)
}

impl Imported {
    /// The `kfctl.yaml` text: the header comment, then the YAML, whose last map is
    /// `spec.parameters` (each value's source a comment at the end of its line), then a
    /// comment line in that map for each required parameter still to set.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        let mut out: String = self.header.iter().map(|h| comment("", h)).collect();
        out.push_str(&self.config.body()?);
        if !self.missing_comments.is_empty() && self.config.spec.parameters.is_empty() {
            out.push_str("  parameters: {}\n");
        }
        for text in &self.missing_comments {
            out.push_str(&comment("    ", text));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kfdef(text: &str) -> Result<KfDef, ProfileError> {
        parse(&SourceFile::parse(
            Path::new("/k/kfdef.yaml"),
            text.to_owned(),
        )?)
    }

    #[test]
    fn other_documents_are_refused_with_their_line() {
        let err = kfdef("apiVersion: v1\nkind: ConfigMap\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/k/kfdef.yaml:1: not a KfDef: `apiVersion` is `v1`, expected `kfdef.apps.kubeflow.org/v1`"
        );
        let err = kfdef("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfUpgrade\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/k/kfdef.yaml:2: not a KfDef: `kind` is `KfUpgrade`"
        );
        assert!(kfdef("- a\n").is_err());
    }

    #[test]
    fn applications_map_by_name_then_by_path() {
        let app = |name: &str, path: &str| Application {
            name: name.to_owned(),
            path: Some(path.to_owned()),
            overlays: Vec::new(),
            parameters: Vec::new(),
            at: Loc::new(Path::new("/k"), None),
        };
        let components = |a: &Application| match target_of(a) {
            Some(Target::Components(cs)) => cs.to_vec(),
            _ => Vec::new(),
        };
        assert_eq!(
            components(&app("api-service", "pipeline/api-service")),
            ["pipelines"]
        );
        assert_eq!(
            components(&app("my-jupyter", "jupyter/jupyter-web-app/base")),
            ["notebooks"]
        );
        assert!(matches!(
            target_of(&app("katib", "katib/installs/katib-standalone")),
            Some(Target::Dropped(_))
        ));
        assert!(target_of(&app("mine", "my/own")).is_none());
    }
}
