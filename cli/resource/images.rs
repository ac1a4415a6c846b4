//! Container images in rendered objects: listing them (for mirroring) and rewriting them to a
//! private registry.

use serde_json::Value;

use super::Resource;

/// Pod-spec locations by kind: where the pod template sits in each workload kind.
fn pod_specs(res: &mut Resource) -> Vec<&mut Value> {
    let kind = res.kind().to_owned();
    let body = &mut res.body;
    let path: &[&str] = match kind.as_str() {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        _ => return other_pod_specs(body),
    };
    let mut cur = body;
    for key in path {
        match cur.get_mut(*key) {
            Some(next) => cur = next,
            None => return Vec::new(),
        }
    }
    vec![cur]
}

/// Custom resources that embed pod templates (Argo Workflows, Kubeflow training jobs, JobSets,
/// LeaderWorkerSets, Knative services...): every object under the body that has `containers`
/// as a list of objects with an `image` is taken as a pod spec.
fn other_pod_specs(body: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    collect_specs(body, &mut out);
    out
}

fn collect_specs<'a>(v: &'a mut Value, out: &mut Vec<&'a mut Value>) {
    let is_spec = v
        .get("containers")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c.get("image").is_some()));
    if is_spec {
        out.push(v);
        return;
    }
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                collect_specs(child, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_specs(item, out);
            }
        }
        _ => {}
    }
}

fn for_each_image(res: &mut Resource, f: &mut dyn FnMut(&mut String)) {
    for spec in pod_specs(res) {
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
            ["debug:1", "init:1", "main:1", "step:1"]
        );
        rewrite(resources.iter_mut(), "m.io");
        assert_eq!(
            collect(&resources),
            [
                "m.io/library/debug:1",
                "m.io/library/init:1",
                "m.io/library/main:1",
                "m.io/library/step:1"
            ]
        );
    }
}
