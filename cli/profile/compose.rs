//! Rendering a `ResolvedProfile`: one in-memory kustomization per component (its upstream
//! paths and project manifests as resources, its overlays as components, and the
//! `kfctl-parameters` ConfigMap that overlays read through `replacements`), each built by the
//! kustomize engine over the real files, then merged and sorted as `kubectl kustomize` sorts.
//!
//! Each component is its own build because every one of them holds the parameters ConfigMap:
//! kustomize drops local-config objects only at the end of a build, so one top kustomization
//! listing them all would see the ConfigMap once per component and refuse the duplicate id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Value, json};

use super::{ProfileError, ResolvedComponent, ResolvedProfile, embed};
use crate::render::{self, Fs, LayeredFs, MemFs, Rendered, order};
use crate::resource::{ResourceSet, yaml};

/// Where the in-memory kustomizations live. No real file is read from there.
pub const VIRTUAL_ROOT: &str = "/.kfctl-profile";

/// The parameters ConfigMap's name and namespace, which overlays' `replacements` select.
pub const PARAMETERS_NAME: &str = "kfctl-parameters";
pub const PARAMETERS_NAMESPACE: &str = "kubeflow";
const PARAMETERS_FILE: &str = "kfctl-parameters.yaml";

/// The `kfctl-parameters` ConfigMap: every parameter as a string, never part of the output;
/// beside each one an overlay splices into a document's text, its value encoded for that text
/// (see [`embed`]).
pub fn parameters_configmap(profile: &ResolvedProfile) -> Value {
    let mut data = profile.parameters.clone();
    data.extend(embed::encoded(&profile.parameters));
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": PARAMETERS_NAME,
            "namespace": PARAMETERS_NAMESPACE,
            "annotations": {"config.kubernetes.io/local-config": "true"},
        },
        "data": data,
    })
}

/// The kustomization of one component, to be written into `dir` (absolute) beside the
/// parameters file. Paths are relative to `dir`: kustomize refuses absolute resource paths.
pub fn component_kustomization(component: &ResolvedComponent, dir: &Path) -> Value {
    let mut resources: Vec<String> = component
        .paths
        .iter()
        .chain(&component.manifests)
        .map(|p| relative_to(p, dir))
        .collect();
    resources.push(PARAMETERS_FILE.to_owned());
    let mut k = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    if !component.overlays.is_empty() {
        k["components"] = json!(
            component
                .overlays
                .iter()
                .map(|p| relative_to(p, dir))
                .collect::<Vec<_>>()
        );
    }
    k
}

/// The files of every component kustomization, as (file, text), with component `c` in
/// `<base>/<c>/`. `base` is absolute.
pub fn kustomization_files(profile: &ResolvedProfile, base: &Path) -> Vec<(PathBuf, String)> {
    let params = yaml::to_yaml(&parameters_configmap(profile));
    let mut out = Vec::new();
    for c in &profile.components {
        let dir = base.join(&c.name);
        out.push((
            dir.join("kustomization.yaml"),
            yaml::to_yaml(&component_kustomization(c, &dir)),
        ));
        out.push((dir.join(PARAMETERS_FILE), params.clone()));
    }
    out
}

fn virtual_base(profile: &ResolvedProfile) -> PathBuf {
    Path::new(VIRTUAL_ROOT).join(&profile.platform)
}

/// `path` relative to `base`; both absolute and clean.
fn relative_to(path: &Path, base: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        out.display().to_string()
    }
}

/// Renders every component of `profile` and merges them, in `kubectl kustomize`'s order.
pub fn render(fs: &dyn Fs, profile: &ResolvedProfile) -> Result<Rendered, ProfileError> {
    let mut upper = MemFs::new();
    let base = virtual_base(profile);
    for (file, text) in kustomization_files(profile, &base) {
        upper.add(file, text);
    }
    let layered = LayeredFs { upper, lower: fs };
    let built: Vec<Result<Rendered, ProfileError>> = profile
        .components
        .par_iter()
        .map(|c| {
            render::build(&layered, &base.join(&c.name)).map_err(|source| ProfileError::Render {
                component: c.name.clone(),
                source,
            })
        })
        .collect();

    let mut resources = ResourceSet::new();
    let mut owner: HashMap<_, String> = HashMap::new();
    let mut components = HashMap::new();
    let mut warnings: Vec<String> = Vec::new();
    for (c, result) in profile.components.iter().zip(built) {
        let rendered = result?;
        for w in rendered.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        for res in rendered.resources.into_vec() {
            let key = res.id().key();
            if let Some(first) = owner.get(&key) {
                return Err(ProfileError::Duplicate {
                    id: res.id(),
                    first: first.clone(),
                    second: c.name.clone(),
                });
            }
            owner.insert(key, c.name.clone());
            components.insert(res.id(), c.name.clone());
            resources.push(res).map_err(|d| ProfileError::Render {
                component: c.name.clone(),
                source: render::RenderError::Duplicate(d),
            })?;
        }
    }
    order::sort(&mut resources, None);
    if let Some(policy) = &profile.webhook_failure_policy {
        set_webhook_failure_policy(&mut resources, policy);
    }
    Ok(Rendered {
        resources,
        warnings,
        components,
    })
}

/// Sets `failurePolicy` on every webhook of the Validating- and MutatingWebhookConfigurations
/// of `resources`. On a simulated cluster (the `local` platform) no pod runs a webhook server, so
/// with the upstream `Fail` every request a webhook intercepts would be refused for good;
/// with `Ignore` the API server admits them when the webhook does not answer, which it finds out
/// at once (no endpoint accepts the connection).
fn set_webhook_failure_policy(resources: &mut ResourceSet, policy: &str) {
    for res in resources.iter_mut() {
        let gvk = res.gvk();
        if gvk.group != "admissionregistration.k8s.io"
            || !matches!(
                gvk.kind.as_str(),
                "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
            )
        {
            continue;
        }
        if let Some(hooks) = res.body.get_mut("webhooks").and_then(Value::as_array_mut) {
            for hook in hooks.iter_mut().filter_map(Value::as_object_mut) {
                hook.insert("failurePolicy".to_owned(), Value::String(policy.to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn profile(components: Vec<ResolvedComponent>) -> ResolvedProfile {
        ResolvedProfile {
            platform: "local".to_owned(),
            release: "r".to_owned(),
            source_name: "m".to_owned(),
            source_version: "v".to_owned(),
            source_dir: PathBuf::from("/src"),
            components,
            parameters: BTreeMap::from([("domain".to_owned(), "kf.example.com".to_owned())]),
            secrets: BTreeMap::new(),
            added: Vec::new(),
            webhook_failure_policy: None,
            user_catalog: None,
        }
    }

    fn component(name: &str, paths: &[&str], overlays: &[&str]) -> ResolvedComponent {
        ResolvedComponent {
            name: name.to_owned(),
            paths: paths.iter().map(PathBuf::from).collect(),
            manifests: Vec::new(),
            overlays: overlays.iter().map(PathBuf::from).collect(),
        }
    }

    const SVC: &str =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: NAME\n  namespace: kubeflow\n";

    #[test]
    fn overlays_read_parameters_and_the_configmap_is_dropped() {
        let mut fs = MemFs::new();
        fs.add("/src/a/kustomization.yaml", "resources: [svc.yaml]\n")
            .add("/src/a/svc.yaml", SVC.replace("NAME", "a"))
            .add("/src/b/kustomization.yaml", "resources: [svc.yaml]\n")
            .add("/src/b/svc.yaml", SVC.replace("NAME", "b"))
            .add(
                "/repo/overlays/local/one/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nreplacements:\n- source: {kind: ConfigMap, name: kfctl-parameters, fieldPath: data.domain}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [metadata.annotations.domain]\n    options: {create: true}\n",
            );
        let p = profile(vec![
            component("one", &["/src/a"], &["/repo/overlays/local/one"]),
            component("two", &["/src/b"], &[]),
        ]);
        let out = render(&fs, &p).unwrap();
        let names: Vec<&str> = out.resources.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            out.resources.at(0).annotations()["domain"],
            Value::String("kf.example.com".to_owned())
        );
        assert!(out.resources.at(1).annotations().is_empty());
        // Each object is attributed to the component that rendered it.
        let owners: Vec<(&str, &str)> = out
            .resources
            .iter()
            .map(|r| (r.name(), out.components[&r.id()].as_str()))
            .collect();
        assert_eq!(owners, [("a", "one"), ("b", "two")]);
    }

    #[test]
    fn paths_are_relative_to_the_kustomization() {
        assert_eq!(
            relative_to(
                Path::new("/src/a/b"),
                Path::new("/.kfctl-profile/local/one")
            ),
            "../../../src/a/b"
        );
        assert_eq!(relative_to(Path::new("/x/y"), Path::new("/x")), "y");
    }

    #[test]
    fn an_object_in_two_components_is_an_error_naming_both() {
        let mut fs = MemFs::new();
        fs.add("/src/a/kustomization.yaml", "resources: [svc.yaml]\n")
            .add("/src/a/svc.yaml", SVC.replace("NAME", "a"));
        let p = profile(vec![
            component("one", &["/src/a"], &[]),
            component("two", &["/src/a"], &[]),
        ]);
        let err = render(&fs, &p).unwrap_err();
        assert!(
            matches!(&err, ProfileError::Duplicate { first, second, .. } if first == "one" && second == "two"),
            "{err}"
        );
    }

    #[test]
    fn the_platform_webhook_failure_policy_is_set_on_every_webhook() {
        let mut set = ResourceSet::new();
        for (kind, name) in [
            ("ValidatingWebhookConfiguration", "v"),
            ("MutatingWebhookConfiguration", "m"),
        ] {
            set.push(crate::resource::Resource::new(
                json!({
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": kind,
                    "metadata": {"name": name},
                    "webhooks": [{"name": "a", "failurePolicy": "Fail"}, {"name": "b"}],
                }),
                crate::resource::Origin::file(Path::new("w.yaml"), 1),
            ))
            .unwrap();
        }
        set_webhook_failure_policy(&mut set, "Ignore");
        for res in set.iter() {
            let policies: Vec<&Value> = res.body["webhooks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| &h["failurePolicy"])
                .collect();
            assert_eq!(policies, [&json!("Ignore"), &json!("Ignore")]);
        }
    }
}
