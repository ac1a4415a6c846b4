//! `images`: rewrites image names, tags and digests.
//!
//! kustomize's `ImageTagTransformer` makes two passes per entry: every `containers` and
//! `initContainers` list anywhere in an object, then the `images` field specs (which also reach
//! image volumes and any custom fields from `configurations`). CustomResourceDefinitions are
//! left alone. The entry's `name` is a regular expression, matched against the image with an
//! optional `:tag` and `@sha256:digest` after it.

use regex::Regex;
use serde_json::Value;

use super::Ctx;
use crate::render::RenderError;
use crate::render::fieldspec::{Create, visit_in_transform};
use crate::render::kustomization::Image;
use crate::resource::ResourceSet;

pub fn apply(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for image in &ctx.target.k.images {
        let rule = Rule::new(image);
        for res in set.iter_mut() {
            if res.kind() == "CustomResourceDefinition" {
                continue;
            }
            containers_anywhere(&mut res.body, &rule).map_err(|message| {
                RenderError::Transform {
                    id: res.id(),
                    origin: res.origin.clone(),
                    message,
                }
            })?;
            for spec in &ctx.config.images {
                let mut update = |v: &mut Value| rule.update(v);
                visit_in_transform(res, spec, Create::Nothing, &mut update, |e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// kustomize's legacy pass: depth first, the `image` of each element of every `containers` or
/// `initContainers` list.
fn containers_anywhere(node: &mut Value, rule: &Rule) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                containers_anywhere(value, rule)?;
                if key != "containers" && key != "initContainers" {
                    continue;
                }
                if let Value::Array(items) = value {
                    for item in items {
                        if let Some(image) = item.get_mut("image") {
                            rule.update(image)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| containers_anywhere(i, rule)),
        _ => Ok(()),
    }
}

struct Rule<'a> {
    image: &'a Image,
    /// `None` when `name` is not a valid expression: kustomize then matches nothing.
    pattern: Option<Regex>,
}

impl<'a> Rule<'a> {
    fn new(image: &'a Image) -> Self {
        let pattern = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            image.name
        ))
        .ok();
        Rule { image, pattern }
    }

    fn update(&self, v: &mut Value) -> Result<(), String> {
        let current = match v {
            Value::Null => return Ok(()),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("an image is not a scalar: `{other}`")),
        };
        if !self.pattern.as_ref().is_some_and(|p| p.is_match(&current)) {
            return Ok(());
        }
        *v = Value::String(self.rewrite(&current));
        Ok(())
    }

    fn rewrite(&self, current: &str) -> String {
        let (name, tag, digest) = split_image(current);
        let img = self.image;
        let mut name = name.to_owned();
        let (mut tag, mut digest) = (tag.to_owned(), digest.to_owned());
        if !img.new_name.is_empty() {
            name = img.new_name.clone();
        }
        // A new tag or digest replaces both the old tag and the old digest.
        if !img.new_tag.is_empty() && !img.digest.is_empty() {
            tag = img.new_tag.clone();
            digest = img.digest.clone();
        } else if !img.new_tag.is_empty() {
            tag = img.new_tag.clone();
            digest.clear();
        } else if !img.digest.is_empty() {
            tag.clear();
            digest = img.digest.clone();
        } else if !img.tag_suffix.is_empty() {
            tag.push_str(&img.tag_suffix);
            digest.clear();
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        name
    }
}

/// Splits `[host[:port]/]path[:tag][@digest]` into name, tag and digest. A `:` before the first
/// `/` is a registry port, not a tag.
fn split_image(image: &str) -> (&str, &str, &str) {
    let start = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[start..];
    let at = search.find('@').map(|i| i + start);
    let colon = search.find(':').map(|i| i + start);
    match (colon, at) {
        (None, None) => (image, "", ""),
        (Some(c), Some(a)) if c < a => (&image[..c], &image[c + 1..a], &image[a + 1..]),
        (_, Some(a)) => (&image[..a], "", &image[a + 1..]),
        (Some(c), None) => (&image[..c], &image[c + 1..], ""),
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;
    use crate::render::testing::{bodies, build_in, docs};

    #[test]
    fn splits_names_tags_digests_and_ports() {
        assert_eq!(split_image("nginx"), ("nginx", "", ""));
        assert_eq!(split_image("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(
            split_image("reg:5000/a/b:v1@sha256:ab"),
            ("reg:5000/a/b", "v1", "sha256:ab")
        );
        assert_eq!(split_image("reg:5000/a/b"), ("reg:5000/a/b", "", ""));
        assert_eq!(split_image("a/b@sha256:ab"), ("a/b", "", "sha256:ab"));
    }

    const OBJECTS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: busybox:1.0
      containers:
      - name: a
        image: nginx:1.19@sha256:0123
      - name: b
        image: reg.io:5000/team/app:v1
      - name: c
        image: nginx-extra:2
      - name: d
        image: docker.io/library/redis
      ephemeralContainers:
      - name: e
        image: busybox
---
apiVersion: example.com/v1
kind: Runner
metadata:
  name: r
spec:
  deep:
    containers:
    - image: nginx
  runnerImage: busybox
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: runners.example.com
spec:
  containers:
  - image: nginx
";

    const KUSTOMIZATION: &str = "resources: [o.yaml]
configurations: [images.yaml]
images:
- name: nginx
  newName: mirror.io/nginx
  newTag: \"1.25\"
- name: busybox
  digest: sha256:feed
- name: reg.io:5000/team/app
  newTag: v2
  digest: sha256:beef
- name: docker.io/library/redis
  newName: redis
- name: nginx-extra
  tagSuffix: -debug
";

    // `kubectl kustomize` (v5.5.0) on the same input: `tagSuffix` is applied twice to a
    // pod template's containers, once per pass, and `ephemeralContainers` are not touched.
    const EXPECTED: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: runners.example.com
spec:
  containers:
  - image: nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - image: mirror.io/nginx:1.25
        name: a
      - image: reg.io:5000/team/app:v2@sha256:beef
        name: b
      - image: nginx-extra:2-debug-debug
        name: c
      - image: redis
        name: d
      ephemeralContainers:
      - image: busybox
        name: e
      initContainers:
      - image: busybox@sha256:feed
        name: init
---
apiVersion: example.com/v1
kind: Runner
metadata:
  name: r
spec:
  deep:
    containers:
    - image: mirror.io/nginx:1.25
  runnerImage: busybox@sha256:feed
";

    #[test]
    fn images_in_containers_anywhere_and_configured_fields() {
        let got = build_in(
            "k",
            &[
                ("kustomization.yaml", KUSTOMIZATION),
                ("o.yaml", OBJECTS),
                (
                    "images.yaml",
                    "images:\n- path: spec/runnerImage\n  kind: Runner\n",
                ),
            ],
        )
        .unwrap();
        assert_eq!(bodies(&got), docs(EXPECTED));
    }
}
