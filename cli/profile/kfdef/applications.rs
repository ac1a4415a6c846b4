//! kfctl v1 applications: which catalog components hold each, and what their parameters
//! became.

use std::collections::BTreeSet;

use super::convert::Params;
use super::{Application, KfDef, Note, note};

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

/// What the applications of a KfDef became.
pub(super) struct Mapped<'d> {
    /// The catalog components they ask for.
    pub(super) wanted: BTreeSet<&'static str>,
    /// Each application and the components it became (empty: none).
    pub(super) mapped: Vec<(String, Vec<String>)>,
    /// Their parameters with a value: (application, name, value).
    pub(super) parameters: Vec<(&'d Application, &'d str, &'d str)>,
}

/// Maps each application to catalog components, with a note for each overlay, application or
/// part of one that none holds.
pub(super) fn map_applications<'d>(def: &'d KfDef, notes: &mut Vec<Note>) -> Mapped<'d> {
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
                            notes,
                            format!("overlay `{o}` of application `{}`", app.name),
                            &app.at,
                            "kfctl renders its release's upstream manifests, where the v1 overlays no longer exist".to_owned(),
                        );
                    }
                }
                if app.name == "kubeflow-apps" {
                    note(
                        notes,
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
                    notes,
                    format!("application `{}`", app.name),
                    &app.at,
                    (*why).to_owned(),
                );
            }
            None => {
                mapped.push((app.name.clone(), Vec::new()));
                note(
                    notes,
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
    Mapped {
        wanted,
        mapped,
        parameters: app_params,
    }
}

/// Application parameters that name a platform parameter set it; the others become notes.
pub(super) fn application_parameters(
    def: &KfDef,
    app_params: &[(&Application, &str, &str)],
    params: &mut Params<'_>,
    notes: &mut Vec<Note>,
) {
    for (app, pname, value) in app_params {
        let target = match (app.name.as_str(), *pname) {
            ("profiles", "admin") => Some("adminEmail"),
            ("iap-ingress", "hostname") => Some("domain"),
            ("aws-alb-ingress-controller", "clusterName") => Some("clusterName"),
            _ => None,
        };
        match target {
            Some(t) => {
                params.set(
                    notes,
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
                notes,
                format!("parameter `ipName` of application `{}` ({value})", app.name),
                &app.at,
                "the GKE Ingress gets an ephemeral address; to keep the reserved one, annotate the Ingress `kubeflow-iap` with `kubernetes.io/ingress.global-static-ip-name`".to_owned(),
            ),
            None if *pname == "namespace" => {}
            None => note(
                notes,
                format!("parameter `{pname}` of application `{}` ({value})", app.name),
                &app.at,
                "no platform or component parameter of kfctl corresponds to it".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::render::Loc;

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
