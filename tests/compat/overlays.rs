//! The per-platform overlays (`overlays/<platform>/<component>/`) over the upstream components of
//! the corpus, included the way a platform render includes them: one kustomization per
//! (platform, component) whose resources are the component's upstream paths (or its project
//! manifests) and a local-config `kfctl-parameters` ConfigMap, and whose components are
//! `overlays/common/<component>` then `overlays/<platform>/<component>`, where they exist.
//! Each render must equal `kubectl kustomize`'s, and must show the platform's facts.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diff::first_difference;
use crate::kubeflow_corpus;
use crate::run;

/// The catalog releases the overlays must work with: name, corpus directory (beside the newest
/// corpus) and each component's upstream kustomization directories relative to it, as the
/// release's `example/kustomization.yaml` installs them. The catalog holds the same lists; this
/// table stands in for it here.
type Release = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static [&'static str])],
);

const RELEASES: &[Release] = &[
    (
        "latest",
        "kubeflow-manifests",
        &[
            ("cert-manager", &["common/cert-manager/overlays/kubeflow"]),
            ("istio", ISTIO),
            ("dex", &["common/dex/overlays/oauth2-proxy"]),
            ("notebooks", NOTEBOOKS),
            ("pipelines", &["applications/pipeline/overlays"]),
            ("model-registry", MODEL_REGISTRY),
        ],
    ),
    ("1.11.0", "kubeflow-manifests-v1.11.0", BEFORE_1_12),
    ("1.10.2", "kubeflow-manifests-v1.10.2", BEFORE_1_12),
];

const BEFORE_1_12: &[(&str, &[&str])] = &[
    (
        "cert-manager",
        &[
            "common/cert-manager/base",
            "common/cert-manager/kubeflow-issuer/base",
        ],
    ),
    ("istio", ISTIO),
    ("dex", &["common/dex/overlays/oauth2-proxy"]),
    ("notebooks", NOTEBOOKS),
    (
        "pipelines",
        &["applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user"],
    ),
    ("model-registry", MODEL_REGISTRY),
];

const MODEL_REGISTRY: &[&str] = &[
    "applications/model-registry/upstream/overlays/db",
    "applications/model-registry/upstream/options/istio",
    "applications/model-registry/upstream/options/ui/overlays/istio",
];

const ISTIO: &[&str] = &[
    "common/istio/istio-crds/base",
    "common/istio/istio-namespace/base",
    "common/istio/istio-install/overlays/oauth2-proxy",
];

const NOTEBOOKS: &[&str] = &[
    "applications/jupyter/notebook-controller/upstream/overlays/kubeflow",
    "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
    "applications/profiles/pss",
    "applications/centraldashboard/overlays/oauth2-proxy",
    "applications/admission-webhook/upstream/overlays/cert-manager",
    "applications/volumes-web-app/upstream/overlays/istio",
    "common/user-namespace/base",
];

/// Project manifests (under `manifests/`) of a component on a platform.
fn project_manifests(platform: &str, component: &str) -> Vec<&'static str> {
    match (component, platform) {
        ("gpu", "gcp") => vec!["gpu/gke-driver-installer"],
        ("gpu", "aws") => vec!["gpu/eks"],
        ("gpu", "azure") => vec!["gpu/aks"],
        ("gpu", "onprem") => vec!["gpu/onprem"],
        ("gpu", _) => vec!["gpu/nvidia-device-plugin"],
        _ => vec![],
    }
}

/// Test values of each platform's parameters, as the `kfctl-parameters` ConfigMap holds them.
fn parameters(platform: &str) -> Vec<(&'static str, &'static str)> {
    let mut params = vec![("adminEmail", "admin@example.org")];
    params.extend(match platform {
        "gcp" => vec![
            ("project", "kf-test-project"),
            ("zone", "europe-west4-a"),
            ("domain", "kf.example.org"),
            ("gcsBucket", "kf-test-artifacts"),
            (
                "workloadIdentityServiceAccount",
                "kubeflow@kf-test-project.iam.gserviceaccount.com",
            ),
            ("storageClass", "standard-rwo"),
            ("gpuDriverVersion", "latest"),
        ],
        "aws" => vec![
            ("accountId", "123456789012"),
            ("region", "eu-west-1"),
            ("clusterName", "kf-test"),
            ("s3Bucket", "kf-test-artifacts"),
            (
                "pipelineRoleArn",
                "arn:aws:iam::123456789012:role/kf-test-pipelines",
            ),
            (
                "notebookRoleArn",
                "arn:aws:iam::123456789012:role/kf-test-notebooks",
            ),
            ("storageClass", "gp3"),
            ("domain", "kf.example.org"),
            (
                "certificateArn",
                "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            ),
        ],
        "azure" => vec![
            ("subscriptionId", "00000000-1111-2222-3333-444444444444"),
            ("tenantId", "55555555-6666-7777-8888-999999999999"),
            ("clientId", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("storageClass", "managed-csi"),
            ("domain", "kf.example.org"),
            ("acmeEmail", "acme@example.org"),
        ],
        "onprem" => vec![
            ("domain", "kf.example.org"),
            ("ldapHost", "ldap.example.org:636"),
            ("ldapBindDN", "cn=dex,ou=services,dc=example,dc=org"),
            ("ldapUserBaseDN", "ou=people,dc=example,dc=org"),
            ("storageClass", "ceph-rbd"),
            ("gatewayServiceType", "NodePort"),
        ],
        "local" => vec![("storageClass", "standard")],
        _ => panic!("no test parameters for platform `{platform}`"),
    });
    params
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A YAML double-quoted scalar (JSON's string syntax is one).
fn quoted(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// `to` relative to `from`, both absolute: kustomize refuses absolute resource and component
/// directories.
fn relative(from: &Path, to: &Path) -> String {
    let canonical = |p: &Path| {
        p.canonicalize()
            .unwrap_or_else(|e| panic!("cannot resolve `{}`: {e}", p.display()))
    };
    let (from, to) = (canonical(from), canonical(to));
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in from.components().skip(common) {
        rel.push("..");
    }
    rel.extend(to.components().skip(common));
    rel.to_string_lossy().into_owned()
}

/// Writes the kustomization that includes `component` of `release` on `platform` into `dir`,
/// with the optional overlay `overlays/<platform>/<component>-<variant>` last.
fn write_kustomization(
    dir: &Path,
    upstream: Vec<PathBuf>,
    platform: &str,
    component: &str,
    variant: Option<&str>,
) {
    let mut resources = upstream;
    resources.extend(
        project_manifests(platform, component)
            .into_iter()
            .map(|p| repo().join("manifests").join(p)),
    );
    assert!(
        !resources.is_empty(),
        "component `{component}` has no upstream paths and no project manifests"
    );
    let mut components: Vec<PathBuf> = ["common", platform]
        .iter()
        .map(|p| repo().join("overlays").join(p).join(component))
        .filter(|d| d.is_dir())
        .collect();
    if let Some(variant) = variant {
        let dir = repo()
            .join("overlays")
            .join(platform)
            .join(format!("{component}-{variant}"));
        assert!(dir.is_dir(), "no overlay `{}`", dir.display());
        components.push(dir);
    }

    let mut text = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for r in &resources {
        text += &format!("- {}\n", quoted(&relative(dir, r)));
    }
    text += "- kfctl-parameters.yaml\n";
    if !components.is_empty() {
        text += "components:\n";
    }
    for c in &components {
        text += &format!("- {}\n", quoted(&relative(dir, c)));
    }
    std::fs::write(dir.join("kustomization.yaml"), text).expect("write kustomization");

    let mut params = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kfctl-parameters\n  \
         namespace: kubeflow\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n\
         data:\n",
    );
    let given: std::collections::BTreeMap<String, String> = parameters(platform)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    // The values overlays splice into other documents' text, encoded as kfctl gives them.
    for (k, v) in given.iter().chain(&kfctl::profile::embed::encoded(&given)) {
        params += &format!("  {k}: {}\n", quoted(v));
    }
    std::fs::write(dir.join("kfctl-parameters.yaml"), params).expect("write parameters");
}

/// `component` on `platform` rendered by kfctl for every release, each render equal to
/// kubectl's; `check` is run on each.
#[track_caller]
fn check_render(platform: &str, component: &str, check: impl Fn(&[Value])) {
    for release in RELEASES {
        check(&render(release, platform, component, None));
    }
}

/// [`check_render`] with the optional overlay `<component>-<variant>` of `platform`.
#[track_caller]
fn check_render_variant(platform: &str, component: &str, variant: &str, check: impl Fn(&[Value])) {
    for release in RELEASES {
        check(&render(release, platform, component, Some(variant)));
    }
}

#[track_caller]
fn render(release: &Release, platform: &str, component: &str, variant: Option<&str>) -> Vec<Value> {
    let (name, corpus_dir, components) = release;
    let upstream = components
        .iter()
        .filter(|(c, _)| *c == component)
        .flat_map(|(_, paths)| {
            paths
                .iter()
                .map(|p| kubeflow_corpus::dir(corpus_dir).join(p))
        })
        .collect();
    render_paths(name, upstream, platform, component, variant)
}

/// The catalog releases the overlays of the serving, tuning and training components must work
/// with; their upstream paths are the catalog's.
const CATALOG_RELEASES: &[&str] = &["1.10.2", "1.11.0", "26.03", "26.03.1-rc.2", "latest"];

/// `component` (one of the catalog's optional components) on `platform`, rendered by kfctl for
/// every release in [`CATALOG_RELEASES`] from the catalog's paths, each render equal to
/// kubectl's; `check` is given the release and the objects.
#[track_caller]
fn check_catalog_render(platform: &str, component: &str, check: impl Fn(&str, &[Value])) {
    let catalog =
        kfctl::profile::Catalog::load(&kfctl::render::RealFs, &repo()).expect("the catalog loads");
    for name in CATALOG_RELEASES {
        let release = catalog
            .releases
            .iter()
            .find(|r| r.name == *name)
            .unwrap_or_else(|| panic!("release {name} is in the catalog"));
        let corpus = kubeflow_corpus::release(name);
        let upstream = release.paths[component]
            .iter()
            .map(|p| corpus.join(p))
            .collect();
        check(
            name,
            &render_paths(name, upstream, platform, component, None),
        );
    }
}

#[track_caller]
fn render_paths(
    release: &str,
    upstream: Vec<PathBuf>,
    platform: &str,
    component: &str,
    variant: Option<&str>,
) -> Vec<Value> {
    let what = match variant {
        Some(v) => format!("`{component}` (`{v}`) of release `{release}` on `{platform}`"),
        None => format!("`{component}` of release `{release}` on `{platform}`"),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    write_kustomization(dir.path(), upstream, platform, component, variant);
    let text =
        run::kubectl(dir.path()).unwrap_or_else(|e| panic!("kubectl cannot build {what}:\n{e}"));
    let want = run::parse_stream(&text).expect("kubectl's output parses");
    assert!(!want.is_empty(), "kubectl rendered nothing for {what}");
    let got = run::kfctl(dir.path()).unwrap_or_else(|e| panic!("kfctl cannot build {what}:\n{e}"));
    if let Some(d) = first_difference(&want, &got) {
        panic!("{what} renders differently from kubectl: {d}");
    }
    assert!(
        !got.iter().any(|o| name(o) == "kfctl-parameters"),
        "the local-config parameters ConfigMap reached the output of {what}"
    );
    got
}

fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object of `kind` named `name`; the test fails when the render has none.
#[track_caller]
fn object<'a>(objects: &'a [Value], kind: &str, object_name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && name(o) == object_name)
        .unwrap_or_else(|| panic!("the render has no {kind} `{object_name}`"))
}

fn all<'a>(objects: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| o["kind"] == kind)
}

/// A string field by JSON pointer, `""` when absent.
fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj["metadata"]["annotations"][key].as_str().unwrap_or("")
}

fn param(platform: &str, key: &str) -> &'static str {
    parameters(platform)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no test parameter `{key}` for `{platform}`"))
}

const KFP_CLOUD_ACCOUNTS: &[&str] = &[
    "ml-pipeline",
    "ml-pipeline-ui",
    "ml-pipeline-visualizationserver",
    "pipeline-runner",
];

#[track_caller]
fn assert_storage_class(objects: &[Value], platform: &str) {
    let pvcs: Vec<&Value> = all(objects, "PersistentVolumeClaim").collect();
    assert!(
        pvcs.len() >= 2,
        "the pipelines render has no database and object store PVCs"
    );
    for pvc in pvcs {
        assert_eq!(
            text(pvc, "/spec/storageClassName"),
            param(platform, "storageClass"),
            "PVC `{}`",
            name(pvc)
        );
    }
}

#[test]
fn gcp_pipelines_use_workload_identity_and_gcs() {
    check_render("gcp", "pipelines", |objects| {
        let gsa = param("gcp", "workloadIdentityServiceAccount");
        for sa in KFP_CLOUD_ACCOUNTS {
            let sa = object(objects, "ServiceAccount", sa);
            assert_eq!(annotation(sa, "iam.gke.io/gcp-service-account"), gsa);
        }
        let install = object(objects, "ConfigMap", "pipeline-install-config");
        assert_eq!(text(install, "/data/bucketName"), "kf-test-artifacts");
        assert_eq!(text(install, "/data/gcsProjectId"), "kf-test-project");
        for cm in ["pipeline-install-config", "kfp-launcher"] {
            let cm = object(objects, "ConfigMap", cm);
            assert_eq!(
                text(cm, "/data/defaultPipelineRoot"),
                "gs://kf-test-artifacts/v2/artifacts"
            );
        }
        let argo = object(objects, "ConfigMap", "workflow-controller-configmap");
        let repo: serde_json::Value =
            serde_saphyr::from_str(text(argo, "/data/artifactRepository")).expect("artifact repo");
        assert_eq!(repo["gcs"]["bucket"], "kf-test-artifacts");
        assert!(
            repo.get("s3").is_none(),
            "Argo still uses the in-cluster S3"
        );
        let ui = object(objects, "Deployment", "ml-pipeline-ui");
        let env = &ui["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(
            env.as_array().is_some_and(|e| e
                .iter()
                .any(|v| v["name"] == "DISABLE_GKE_METADATA" && v["value"] == "false")),
            "the UI cannot read gs:// artifacts with the metadata server's credentials"
        );
        assert_storage_class(objects, "gcp");
    });
}

#[test]
fn gcp_gateway_is_ready_for_gke_ingress_with_iap() {
    check_render("gcp", "istio", |objects| {
        let service = object(objects, "Service", "istio-ingressgateway");
        assert_eq!(
            annotation(service, "cloud.google.com/neg"),
            r#"{"ingress": true}"#
        );
        assert_eq!(
            annotation(service, "cloud.google.com/backend-config"),
            r#"{"default": "kubeflow-iap"}"#
        );
        let backend = object(objects, "BackendConfig", "kubeflow-iap");
        assert_eq!(backend["spec"]["iap"]["enabled"], true);
        assert_eq!(backend["spec"]["healthCheck"]["port"], 15021);
        let ingress = object(objects, "Ingress", "kubeflow-gateway");
        assert_eq!(text(ingress, "/spec/rules/0/host"), "kf.example.org");
        let cert = object(objects, "ManagedCertificate", "kubeflow-gateway");
        assert_eq!(text(cert, "/spec/domains/0"), "kf.example.org");
        let cni = object(objects, "DaemonSet", "istio-cni-node");
        let volumes = &cni["spec"]["template"]["spec"]["volumes"];
        assert!(
            volumes
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["name"] == "cni-bin-dir"
                    && v["hostPath"]["path"] == "/home/kubernetes/bin")),
            "istio-cni does not install into GKE's CNI directory: {volumes}"
        );
    });
}

#[test]
fn gcp_profiles_bind_default_editor_through_workload_identity() {
    check_render("gcp", "notebooks", |objects| {
        let gsa = param("gcp", "workloadIdentityServiceAccount");
        let profile = object(objects, "Profile", "kubeflow-user-example-com");
        assert_eq!(profile["spec"]["plugins"][0]["kind"], "WorkloadIdentity");
        assert_eq!(text(profile, "/spec/plugins/0/spec/gcpServiceAccount"), gsa);
        let controller = object(
            objects,
            "ServiceAccount",
            "profiles-controller-service-account",
        );
        assert_eq!(
            annotation(controller, "iam.gke.io/gcp-service-account"),
            gsa
        );
    });
}

#[test]
fn gcp_gpu_is_the_driver_installer_not_a_device_plugin() {
    check_render("gcp", "gpu", |objects| {
        let cos = object(objects, "DaemonSet", "nvidia-driver-installer-cos");
        assert_eq!(
            cos["spec"]["template"]["spec"]["initContainers"][0]["command"][2],
            "--version=latest"
        );
        object(objects, "DaemonSet", "nvidia-driver-installer-ubuntu");
        assert!(
            !objects.iter().any(|o| name(o) == "nvidia-device-plugin"),
            "GKE runs its own device plugin; kfctl must not add one"
        );
    });
}

#[test]
fn aws_pipelines_use_irsa_and_s3() {
    check_render("aws", "pipelines", |objects| {
        let role = param("aws", "pipelineRoleArn");
        for sa in KFP_CLOUD_ACCOUNTS {
            let sa = object(objects, "ServiceAccount", sa);
            assert_eq!(annotation(sa, "eks.amazonaws.com/role-arn"), role);
        }
        for cm in ["pipeline-install-config", "kfp-launcher"] {
            let cm = object(objects, "ConfigMap", cm);
            assert_eq!(
                text(cm, "/data/defaultPipelineRoot"),
                "s3://kf-test-artifacts/v2/artifacts"
            );
        }
        let argo = object(objects, "ConfigMap", "workflow-controller-configmap");
        let repo: serde_json::Value =
            serde_saphyr::from_str(text(argo, "/data/artifactRepository")).expect("artifact repo");
        assert_eq!(repo["s3"]["bucket"], "kf-test-artifacts");
        assert_eq!(repo["s3"]["region"], "eu-west-1");
        assert_eq!(repo["s3"]["endpoint"], "s3.amazonaws.com");
        assert_eq!(repo["s3"]["useSDKCreds"], true);
        assert_storage_class(objects, "aws");
    });
}

#[test]
fn aws_gateway_is_an_alb_ingress_with_the_certificate() {
    check_render("aws", "istio", |objects| {
        let ingress = object(objects, "Ingress", "kubeflow-gateway");
        assert_eq!(text(ingress, "/spec/ingressClassName"), "alb");
        assert_eq!(
            annotation(ingress, "alb.ingress.kubernetes.io/certificate-arn"),
            param("aws", "certificateArn")
        );
        assert_eq!(text(ingress, "/spec/rules/0/host"), "kf.example.org");
        assert_eq!(
            text(ingress, "/spec/rules/0/http/paths/0/backend/service/name"),
            "istio-ingressgateway"
        );
    });
}

#[test]
fn aws_profiles_get_the_notebook_role() {
    check_render("aws", "notebooks", |objects| {
        let profile = object(objects, "Profile", "kubeflow-user-example-com");
        assert_eq!(
            profile["spec"]["plugins"][0]["kind"],
            "AwsIamForServiceAccount"
        );
        assert_eq!(
            text(profile, "/spec/plugins/0/spec/awsIamRole"),
            param("aws", "notebookRoleArn")
        );
    });
}

#[test]
fn aws_gpu_plugin_selects_eks_gpu_nodes() {
    check_render("aws", "gpu", |objects| {
        let plugin = object(objects, "DaemonSet", "nvidia-device-plugin");
        let terms = plugin.pointer("/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").expect("node affinity");
        assert!(
            terms.to_string().contains("k8s.amazonaws.com/accelerator"),
            "{terms}"
        );
    });
}

#[test]
fn azure_pipelines_use_workload_identity() {
    check_render("azure", "pipelines", |objects| {
        for sa in KFP_CLOUD_ACCOUNTS {
            let sa = object(objects, "ServiceAccount", sa);
            assert_eq!(
                annotation(sa, "azure.workload.identity/client-id"),
                param("azure", "clientId")
            );
            assert_eq!(
                annotation(sa, "azure.workload.identity/tenant-id"),
                param("azure", "tenantId")
            );
        }
        for deployment in [
            "ml-pipeline",
            "ml-pipeline-ui",
            "ml-pipeline-visualizationserver",
        ] {
            let d = object(objects, "Deployment", deployment);
            assert_eq!(
                d["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"], "true",
                "{deployment}"
            );
        }
        assert_storage_class(objects, "azure");
    });
}

#[test]
fn azure_gateway_certificate_comes_from_lets_encrypt() {
    check_render("azure", "istio", |objects| {
        let issuer = object(objects, "ClusterIssuer", "kubeflow-acme");
        assert_eq!(
            text(issuer, "/spec/acme/email"),
            param("azure", "acmeEmail")
        );
        let cert = object(objects, "Certificate", "kubeflow-gateway-tls");
        assert_eq!(text(cert, "/metadata/namespace"), "istio-system");
        assert_eq!(text(cert, "/spec/commonName"), param("azure", "domain"));
        assert_eq!(text(cert, "/spec/dnsNames/0"), param("azure", "domain"));
    });
}

#[test]
fn azure_gpu_plugin_tolerates_the_aks_gpu_taint() {
    check_render("azure", "gpu", |objects| {
        let plugin = object(objects, "DaemonSet", "nvidia-device-plugin");
        let tolerations = &plugin["spec"]["template"]["spec"]["tolerations"];
        assert!(
            tolerations.as_array().is_some_and(|t| t
                .iter()
                .any(|t| t["key"] == "sku" && t["value"] == "gpu" && t["effect"] == "NoSchedule")),
            "{tolerations}"
        );
    });
}

#[test]
fn onprem_gateway_type_and_storage_class_are_parameters() {
    check_render("onprem", "istio", |objects| {
        let service = object(objects, "Service", "istio-ingressgateway");
        assert_eq!(text(service, "/spec/type"), "NodePort");
    });
    check_render("onprem", "pipelines", |objects| {
        assert_storage_class(objects, "onprem")
    });
}

#[test]
fn the_model_registry_is_in_kubeflow_with_the_platform_storage_class() {
    for platform in ["local", "onprem", "gcp"] {
        check_render(platform, "model-registry", |objects| {
            let pvc = object(objects, "PersistentVolumeClaim", "metadata-mysql");
            assert_eq!(
                text(pvc, "/spec/storageClassName"),
                param(platform, "storageClass")
            );
            for obj in objects {
                let namespaced = obj["metadata"]["namespace"].as_str();
                let kind = obj["kind"].as_str().unwrap_or_default();
                if !kind.starts_with("Cluster") {
                    assert_eq!(namespaced, Some("kubeflow"), "{kind} `{}`", name(obj));
                }
            }
        });
    }
}

#[test]
fn onprem_gpu_plugin_requires_the_driver() {
    check_render("onprem", "gpu", |objects| {
        let plugin = object(objects, "DaemonSet", "nvidia-device-plugin");
        let volumes = &plugin["spec"]["template"]["spec"]["volumes"];
        assert!(
            volumes.as_array().is_some_and(|v| v
                .iter()
                .any(|v| v["hostPath"]["path"] == "/dev/nvidiactl"
                    && v["hostPath"]["type"] == "CharDevice")),
            "{volumes}"
        );
        let terms = plugin.pointer("/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").expect("node affinity");
        assert!(
            terms
                .to_string()
                .contains("feature.node.kubernetes.io/pci-10de.present"),
            "{terms}"
        );
    });
}

/// Containers the local overlays cannot reach, as (release, workload, container): a patch by
/// position that would reach them would fail on the releases without them. Upstream gives each
/// no requests. This list may only shrink.
const SMALL_REQUESTS_UNREACHED: &[(&str, &str, &str)] = &[
    // 1.10.2's Model Registry server has an ML Metadata sidecar; later releases do not.
    ("1.10.2", "model-registry-deployment", "grpc-container"),
];

/// Every container of every workload asks for at most 10m CPU and 32Mi, and sets no limits.
#[track_caller]
fn assert_small_requests(objects: &[Value]) {
    assert_small_requests_of(None, objects)
}

/// [`assert_small_requests`] on a render of `release`, which may hold a container of
/// [`SMALL_REQUESTS_UNREACHED`].
#[track_caller]
fn assert_small_requests_of(release: Option<&str>, objects: &[Value]) {
    let mut workloads = 0;
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        for w in all(objects, kind) {
            workloads += 1;
            for c in w["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let unreached = SMALL_REQUESTS_UNREACHED.iter().any(|(r, n, c_name)| {
                    release == Some(*r) && name(w) == *n && c["name"] == *c_name
                });
                if unreached {
                    assert!(
                        c["resources"]["requests"].is_null(),
                        "{kind} `{}`: `{}` now has requests; drop it from SMALL_REQUESTS_UNREACHED",
                        name(w),
                        c["name"]
                    );
                    continue;
                }
                let r = &c["resources"];
                assert_eq!(r["requests"]["cpu"], "10m", "{kind} `{}`", name(w));
                assert_eq!(r["requests"]["memory"], "32Mi", "{kind} `{}`", name(w));
                assert!(r.get("limits").is_none(), "{kind} `{}` has limits", name(w));
            }
        }
    }
    assert!(workloads > 0, "the render has no workloads");
}

#[test]
fn local_requests_are_small() {
    check_render("local", "pipelines", assert_small_requests);
    check_render("local", "istio", assert_small_requests);
    for component in kubeflow_corpus::OPTIONAL_COMPONENTS {
        check_catalog_render("local", component, |release, objects| {
            assert_small_requests_of(Some(release), objects)
        });
    }
}

#[test]
fn local_gpu_plugin_lands_on_simulated_gpu_nodes() {
    check_render("local", "gpu", |objects| {
        let plugin = object(objects, "DaemonSet", "nvidia-device-plugin");
        let expr = plugin.pointer("/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0").expect("node affinity");
        assert_eq!(expr["key"], "nvidia.com/gpu.present");
        assert_eq!(expr["values"][0], "true");
    });
}

/// The container `name` of a workload.
#[track_caller]
fn container<'a>(workload: &'a Value, container_name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container_name))
        .unwrap_or_else(|| panic!("`{}` has no container `{container_name}`", name(workload)))
}

/// dex's configuration file, parsed.
#[track_caller]
fn dex_config(objects: &[Value]) -> Value {
    let cm = object(objects, "ConfigMap", "dex");
    serde_saphyr::from_str(text(cm, "/data/config.yaml")).expect("dex config.yaml parses")
}

#[test]
fn gcp_pipelines_can_use_a_key_file_instead_of_workload_identity() {
    check_render_variant("gcp", "pipelines", "gcs-key", |objects| {
        let argo = object(objects, "ConfigMap", "workflow-controller-configmap");
        let repo: Value =
            serde_saphyr::from_str(text(argo, "/data/artifactRepository")).expect("artifact repo");
        assert_eq!(repo["gcs"]["bucket"], "kf-test-artifacts");
        assert_eq!(
            repo["gcs"]["serviceAccountKeySecret"]["name"],
            "user-gcp-sa"
        );
        for (deployment, c) in [
            ("ml-pipeline", "ml-pipeline-api-server"),
            ("ml-pipeline-ui", "ml-pipeline-ui"),
            (
                "ml-pipeline-visualizationserver",
                "ml-pipeline-visualizationserver",
            ),
        ] {
            let d = object(objects, "Deployment", deployment);
            let c = container(d, c);
            assert!(
                c["env"].as_array().is_some_and(|e| e
                    .iter()
                    .any(|v| v["name"] == "GOOGLE_APPLICATION_CREDENTIALS"
                        && v["value"] == "/secret/gcp/user-gcp-sa.json")),
                "{deployment} has no key file credentials"
            );
            let volumes = &d["spec"]["template"]["spec"]["volumes"];
            assert!(
                volumes
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v["secret"]["secretName"] == "user-gcp-sa")),
                "{deployment} does not mount `user-gcp-sa`"
            );
        }
    });
}

#[test]
fn dex_static_user_and_profile_owner_are_the_admin() {
    for platform in ["gcp", "aws", "azure", "onprem", "local"] {
        check_render(platform, "dex", |objects| {
            let config = dex_config(objects);
            assert_eq!(config["staticPasswords"][0]["email"], "admin@example.org");
            assert_eq!(
                config["staticPasswords"][0]["hashFromEnv"],
                "DEX_USER_PASSWORD"
            );
            assert_eq!(config["staticClients"][0]["idEnv"], "OIDC_CLIENT_ID");
        });
    }
    check_render("local", "notebooks", |objects| {
        let profile = object(objects, "Profile", "kubeflow-user-example-com");
        assert_eq!(text(profile, "/spec/owner/name"), "admin@example.org");
    });
}

#[test]
fn onprem_dex_can_add_an_ldap_connector() {
    check_render_variant("onprem", "dex", "ldap", |objects| {
        let config = dex_config(objects);
        assert_eq!(config["staticPasswords"][0]["email"], "admin@example.org");
        let ldap = &config["connectors"][0];
        assert_eq!(ldap["type"], "ldap");
        assert_eq!(ldap["config"]["host"], "ldap.example.org:636");
        assert_eq!(
            ldap["config"]["bindDN"],
            "cn=dex,ou=services,dc=example,dc=org"
        );
        assert_eq!(ldap["config"]["bindPW"], "$LDAP_BIND_PASSWORD");
        assert_eq!(
            ldap["config"]["userSearch"]["baseDN"],
            "ou=people,dc=example,dc=org"
        );
        let dex = object(objects, "Deployment", "dex");
        let env_from = &container(dex, "dex")["envFrom"];
        for secret in ["dex-oidc-client", "dex-passwords", "dex-ldap"] {
            assert!(
                env_from
                    .as_array()
                    .is_some_and(|e| e.iter().any(|s| s["secretRef"]["name"] == secret)),
                "dex does not read the secret `{secret}`: {env_from}"
            );
        }
    });
}

#[test]
fn katib_database_uses_the_platform_storage_class() {
    for platform in ["gcp", "aws", "azure", "onprem", "local"] {
        check_catalog_render(platform, "katib", |release, objects| {
            let pvc = object(objects, "PersistentVolumeClaim", "katib-mysql");
            assert_eq!(
                text(pvc, "/spec/storageClassName"),
                param(platform, "storageClass"),
                "{release}"
            );
        });
    }
}

/// KServe's `ingress` settings, parsed.
#[track_caller]
fn kserve_settings(objects: &[Value], key: &str) -> Value {
    let cm = object(objects, "ConfigMap", "inferenceservice-config");
    serde_json::from_str(text(cm, &format!("/data/{key}")))
        .unwrap_or_else(|e| panic!("KServe's `{key}` is no longer JSON: {e}"))
}

#[test]
fn kserve_inference_hosts_are_under_the_kubeflow_domain() {
    for platform in ["gcp", "aws", "azure", "onprem"] {
        check_catalog_render(platform, "kserve", |release, objects| {
            let ingress = kserve_settings(objects, "ingress");
            assert_eq!(
                ingress["ingressDomain"],
                param(platform, "domain"),
                "{release} on {platform}"
            );
            assert_eq!(ingress["ingressGateway"], "kubeflow/kubeflow-gateway");
        });
    }
}

#[test]
fn aws_kserve_reads_models_from_s3_in_the_region() {
    check_catalog_render("aws", "kserve", |release, objects| {
        let credentials = kserve_settings(objects, "credentials");
        assert_eq!(
            credentials["s3"]["s3Region"],
            param("aws", "region"),
            "{release}"
        );
        assert_eq!(credentials["s3"]["s3Endpoint"], "", "{release}");
    });
}

fn tolerates(tolerations: &Value, key: &str, value: Option<&str>) -> bool {
    tolerations.as_array().is_some_and(|t| {
        t.iter().any(|t| {
            t["key"] == key
                && t["effect"] == "NoSchedule"
                && match value {
                    Some(v) => t["operator"] == "Equal" && t["value"] == v,
                    None => t["operator"] == "Exists",
                }
        })
    })
}

const GPU_SERVING_RUNTIMES: &[&str] = &[
    "kserve-huggingfaceserver",
    "kserve-huggingfaceserver-multinode",
    "kserve-tritonserver",
    "kserve-torchserve",
    "kserve-tensorflow-serving",
];

/// The GPU serving runtimes tolerate the GPU taint (and AKS's `sku=gpu` when `aks`), the others
/// do not, none selects nodes, and Knative passes tolerations on.
#[track_caller]
fn assert_gpu_serving_runtimes(release: &str, objects: &[Value], aks: bool) {
    for runtime in all(objects, "ClusterServingRuntime") {
        let spec = &runtime["spec"];
        let gpu = GPU_SERVING_RUNTIMES.contains(&name(runtime));
        let what = format!("{release}: runtime `{}`", name(runtime));
        assert_eq!(
            tolerates(&spec["tolerations"], "nvidia.com/gpu", None),
            gpu,
            "{what}"
        );
        assert_eq!(
            tolerates(&spec["tolerations"], "sku", Some("gpu")),
            gpu && aks,
            "{what}"
        );
        assert!(spec.get("nodeSelector").is_none(), "{what}");
        if spec.get("workerSpec").is_some() {
            assert!(
                tolerates(&spec["workerSpec"]["tolerations"], "nvidia.com/gpu", None),
                "{what}: workers"
            );
        }
    }
    object(objects, "ClusterServingRuntime", "kserve-tritonserver");
    let features = object(objects, "ConfigMap", "config-features");
    assert_eq!(
        text(features, "/data/kubernetes.podspec-tolerations"),
        "enabled",
        "{release}"
    );
}

/// The training nodes of every Trainer runtime tolerate the GPU taint (and AKS's `sku=gpu` when
/// `aks`); launchers and initializers do not.
#[track_caller]
fn assert_gpu_training_runtimes(release: &str, objects: &[Value], aks: bool) {
    let runtimes: Vec<&Value> = all(objects, "ClusterTrainingRuntime").collect();
    if release == "1.10.2" {
        // The Training Operator: no runtimes to change.
        assert!(runtimes.is_empty());
        return;
    }
    assert!(
        runtimes.len() >= 6,
        "{release}: {} runtimes",
        runtimes.len()
    );
    for runtime in runtimes {
        for job in runtime["spec"]["template"]["spec"]["replicatedJobs"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let pod = &job["template"]["spec"]["template"]["spec"];
            let node = job["name"] == "node";
            let what = format!(
                "{release}: runtime `{}`, job {}",
                name(runtime),
                job["name"]
            );
            assert_eq!(
                tolerates(&pod["tolerations"], "nvidia.com/gpu", None),
                node,
                "{what}"
            );
            assert_eq!(
                tolerates(&pod["tolerations"], "sku", Some("gpu")),
                node && aks,
                "{what}"
            );
            assert!(pod.get("nodeSelector").is_none(), "{what}");
        }
    }
}

#[test]
fn gpu_runtimes_can_land_on_gpu_nodes() {
    for platform in ["local", "gcp", "azure"] {
        let aks = platform == "azure";
        check_catalog_render(platform, "kserve", |release, objects| {
            assert_gpu_serving_runtimes(release, objects, aks)
        });
        check_catalog_render(platform, "trainer", |release, objects| {
            assert_gpu_training_runtimes(release, objects, aks)
        });
    }
}
