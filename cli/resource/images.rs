//! Container images in rendered objects: listing them (for mirroring) and rewriting them to a
//! private registry.

use serde_json::Value;

use super::Resource;

/// Pod-spec locations by kind: where the pod template sits in each workload kind.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        _ => return None,
    })
}

/// A custom resource: its group has a dot and is not one of Kubernetes' own (`*.k8s.io`).
fn is_custom(body: &Value) -> bool {
    body.get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.split_once('/'))
        .is_some_and(|(group, _)| group.contains('.') && !group.ends_with(".k8s.io"))
}

/// Every string under a key named `image`. Custom resources put images in pod templates
/// (Argo Workflows, training jobs, JobSets, Knative services), in worker specs (KServe serving
/// runtimes), in single containers (KServe storage containers) or at the top (Knative's
/// `Image` cache entries); all of them must reach a mirror.
fn every_image_field(v: &mut Value, f: &mut dyn FnMut(&mut String)) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(image) if key == "image" => f(image),
                    _ => every_image_field(child, f),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                every_image_field(item, f);
            }
        }
        _ => {}
    }
}

fn for_each_image(res: &mut Resource, f: &mut dyn FnMut(&mut String)) {
    let kind = res.kind().to_owned();
    let body = &mut res.body;
    let Some(path) = pod_spec_path(&kind) else {
        if is_custom(body) {
            every_image_field(body, f);
        }
        return;
    };
    let mut spec = body;
    for key in path {
        match spec.get_mut(*key) {
            Some(next) => spec = next,
            None => return,
        }
    }
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(containers)) = spec.get_mut(field) else {
            continue;
        };
        for c in containers {
            if let Some(Value::String(image)) = c.get_mut("image") {
                f(image);
            }
        }
    }
}

/// Every image of every object, sorted, each once.
pub fn collect<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for res in resources {
        let mut copy = res.clone();
        for_each_image(&mut copy, &mut |image| {
            out.insert(image.clone());
        });
    }
    out.into_iter().collect()
}

/// Points every image at `prefix`, keeping its repository path, tag and digest.
pub fn rewrite<'a>(resources: impl IntoIterator<Item = &'a mut Resource>, prefix: &str) {
    for res in resources {
        for_each_image(res, &mut |image| *image = mirrored(image, prefix));
    }
}

/// `mysql:8` → `PREFIX/library/mysql:8`; `gcr.io/p/x@sha256:..` → `PREFIX/p/x@sha256:..`.
/// An image already under the prefix is left alone, so rewriting twice changes nothing.
pub fn mirrored(image: &str, prefix: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if image.starts_with(&format!("{prefix}/")) {
        return image.to_owned();
    }
    let (first, rest) = match image.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (image, None),
    };
    // A first component with a dot or a port, or `localhost`, is a registry host.
    let path = match rest {
        Some(rest) if first.contains('.') || first.contains(':') || first == "localhost" => {
            rest.to_owned()
        }
        Some(_) => image.to_owned(),
        None => format!("library/{image}"),
    };
    format!("{prefix}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Origin;
    use crate::resource::yaml::parse_documents;

    #[test]
    fn image_references_keep_path_tag_and_digest() {
        let p = "registry.local:5000/kf";
        assert_eq!(
            mirrored("mysql:8", p),
            "registry.local:5000/kf/library/mysql:8"
        );
        assert_eq!(
            mirrored("docker.io/library/x:1", p),
            "registry.local:5000/kf/library/x:1"
        );
        assert_eq!(
            mirrored("kubeflow/notebook:v1", p),
            "registry.local:5000/kf/kubeflow/notebook:v1"
        );
        let d = "gcr.io/ml-pipeline/api@sha256:0123";
        assert_eq!(
            mirrored(d, p),
            "registry.local:5000/kf/ml-pipeline/api@sha256:0123"
        );
        assert_eq!(mirrored("localhost:5000/a", p), "registry.local:5000/kf/a");
        let once = mirrored("quay.io/x/y:1", p);
        assert_eq!(mirrored(&once, p), once);
    }

    #[test]
    fn images_are_found_in_every_workload_kind() {
        let text = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{name: i, image: init:1}]
          containers: [{name: c, image: main:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: main:1}]
  ephemeralContainers: [{name: e, image: debug:1}]
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: w}
spec:
  templates:
  - name: t
    podSpecPatch: x
    containers: [{name: c, image: step:1}]
---
apiVersion: caching.internal.knative.dev/v1alpha1
kind: Image
metadata: {name: queue-proxy}
spec: {image: queue:1}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata: {name: r}
spec:
  containers: [{name: c, image: server:1}]
  workerSpec:
    containers: [{name: w, image: worker:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: m}
data: {image: not-an-image}
"#;
        let mut resources: Vec<Resource> = parse_documents(text)
            .unwrap()
            .into_iter()
            .map(|d| Resource::new(d.value, Origin::file(std::path::Path::new("t.yaml"), 1)))
            .collect();
        assert_eq!(
            collect(&resources),
            [
                "debug:1", "init:1", "main:1", "queue:1", "server:1", "step:1", "worker:1"
            ]
        );
        rewrite(resources.iter_mut(), "m.io");
        assert_eq!(
            collect(&resources),
            [
                "m.io/library/debug:1",
                "m.io/library/init:1",
                "m.io/library/main:1",
                "m.io/library/queue:1",
                "m.io/library/server:1",
                "m.io/library/step:1",
                "m.io/library/worker:1"
            ]
        );
    }
}
