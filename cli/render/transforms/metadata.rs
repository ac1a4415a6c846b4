//! `labels`, `commonLabels` and `commonAnnotations`: add entries to `metadata` maps and to the
//! selector and template maps the field-spec tables list.
//!
//! As kustomize's `LabelTransformer` does, each `labels` entry runs first, in order, then
//! `commonLabels`; keys are set in sorted order and missing maps are created where the spec
//! says `create`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Ctx;
use crate::render::RenderError;
use crate::render::fieldspec::{Create, FieldSpec, visit_in_transform};
use crate::render::kustomization::Label;
use crate::resource::ResourceSet;

pub fn labels(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for label in &ctx.target.k.labels {
        let specs =
            label_specs(ctx, label).map_err(|message| RenderError::InvalidKustomization {
                message,
                at: ctx.target.loc("labels"),
            })?;
        add_entries(set, &label.pairs, &specs)?;
    }
    add_entries(set, &ctx.target.k.common_labels, &ctx.config.common_labels)
}

pub fn annotations(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    add_entries(
        set,
        &ctx.target.k.common_annotations,
        &ctx.config.common_annotations,
    )
}

/// The specs one `labels` entry writes to: its own `fields`, the `labels` table of the
/// configurations, then the selector table (`includeSelectors`), or the template table
/// (`includeTemplates`) and `metadata/labels`.
fn label_specs(ctx: &Ctx, label: &Label) -> Result<Vec<FieldSpec>, String> {
    let mut specs = label.field_specs.clone();
    merge_all(&mut specs, &ctx.config.labels)?;
    if label.include_selectors {
        merge_all(&mut specs, &ctx.config.common_labels)?;
    } else {
        if label.include_templates {
            merge_all(&mut specs, &ctx.config.template_labels)?;
        }
        merge_all(&mut specs, &[FieldSpec::new("metadata/labels", true)])?;
    }
    Ok(specs)
}

/// kustomize's `FsSlice.MergeAll`: a spec already present is kept, unless the two disagree on
/// `create`.
fn merge_all(into: &mut Vec<FieldSpec>, from: &[FieldSpec]) -> Result<(), String> {
    for spec in from {
        match into
            .iter()
            .find(|e| e.path == spec.path && e.gvk() == spec.gvk())
        {
            Some(existing) if existing.create != spec.create => {
                return Err(format!(
                    "conflicting fieldspecs for `{}` (create: {} and {})",
                    spec.path, existing.create, spec.create
                ));
            }
            Some(_) => {}
            None => into.push(spec.clone()),
        }
    }
    Ok(())
}

fn add_entries(
    set: &mut ResourceSet,
    entries: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), RenderError> {
    if entries.is_empty() {
        return Ok(());
    }
    for res in set.iter_mut() {
        for spec in specs {
            let mut set = |v: &mut Value| set_entries(v, entries);
            visit_in_transform(res, spec, Create::Map, &mut set, |e| e.to_string())?;
        }
    }
    Ok(())
}

fn set_entries(v: &mut Value, entries: &BTreeMap<String, String>) -> Result<(), String> {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    let Value::Object(map) = v else {
        return Err(format!("expected a map, found `{v}`"));
    };
    for (k, val) in entries {
        map.insert(k.clone(), Value::String(val.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::render::RenderError;
    use crate::render::testing::{bodies, docs, over};

    /// The render of a kustomization of [`OBJECTS`] with `rest`.
    fn render(rest: &str) -> Result<Vec<serde_json::Value>, RenderError> {
        over(OBJECTS, rest).map(|out| bodies(&out))
    }

    const OBJECTS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: null
spec:
  ports:
  - port: 80
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cron
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: c
            image: busybox
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: t
spec:
  selector:
    matchLabels: {}
";

    // Expected outputs below are `kubectl kustomize` (v5.5.0) on the same input.

    #[test]
    fn common_labels_reach_selectors_and_templates() {
        let got = render("commonLabels:\n  team: a\n  version: \"1\"\n").unwrap();
        assert_eq!(got, docs(COMMON_LABELS_EXPECTED));
    }

    const COMMON_LABELS_EXPECTED: &str = "apiVersion: v1
kind: Service
metadata:
  labels:
    team: a
    version: \"1\"
  name: web
spec:
  ports:
  - port: 80
  selector:
    team: a
    version: \"1\"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    team: a
    version: \"1\"
  name: web
spec:
  selector:
    matchLabels:
      app: web
      team: a
      version: \"1\"
  template:
    metadata:
      labels:
        app: web
        team: a
        version: \"1\"
    spec:
      containers:
      - image: nginx
        name: c
---
apiVersion: batch/v1
kind: CronJob
metadata:
  labels:
    team: a
    version: \"1\"
  name: cron
spec:
  jobTemplate:
    metadata:
      labels:
        team: a
        version: \"1\"
    spec:
      template:
        metadata:
          labels:
            team: a
            version: \"1\"
        spec:
          containers:
          - image: busybox
            name: c
  schedule: '* * * * *'
---
apiVersion: example.com/v1
kind: Thing
metadata:
  labels:
    team: a
    version: \"1\"
  name: t
spec:
  selector:
    matchLabels: {}
";

    #[test]
    fn labels_entries_choose_their_fields() {
        let got = render(
            "labels:
- pairs: {plain: p}
- pairs: {tmpl: t}
  includeTemplates: true
- pairs: {sel: s}
  includeSelectors: true
- pairs: {custom: c}
  fields:
  - path: spec/selector/matchLabels
    kind: Thing
commonAnnotations:
  note: hi
",
        )
        .unwrap();
        assert_eq!(got, docs(LABELS_EXPECTED));
    }

    const LABELS_EXPECTED: &str = "apiVersion: v1
kind: Service
metadata:
  annotations:
    note: hi
  labels:
    custom: c
    plain: p
    sel: s
    tmpl: t
  name: web
spec:
  ports:
  - port: 80
  selector:
    sel: s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    note: hi
  labels:
    custom: c
    plain: p
    sel: s
    tmpl: t
  name: web
spec:
  selector:
    matchLabels:
      app: web
      sel: s
  template:
    metadata:
      annotations:
        note: hi
      labels:
        app: web
        sel: s
        tmpl: t
    spec:
      containers:
      - image: nginx
        name: c
---
apiVersion: batch/v1
kind: CronJob
metadata:
  annotations:
    note: hi
  labels:
    custom: c
    plain: p
    sel: s
    tmpl: t
  name: cron
spec:
  jobTemplate:
    metadata:
      annotations:
        note: hi
      labels:
        sel: s
        tmpl: t
    spec:
      template:
        metadata:
          annotations:
            note: hi
          labels:
            sel: s
            tmpl: t
        spec:
          containers:
          - image: busybox
            name: c
  schedule: '* * * * *'
---
apiVersion: example.com/v1
kind: Thing
metadata:
  annotations:
    note: hi
  labels:
    custom: c
    plain: p
    sel: s
    tmpl: t
  name: t
spec:
  selector:
    matchLabels:
      custom: c
";

    #[test]
    fn conflicting_field_specs_are_refused() {
        let err =
            render("labels:\n- pairs: {a: b}\n  fields:\n  - path: metadata/labels\n").unwrap_err();
        assert!(err.to_string().contains("conflicting fieldspecs"), "{err}");
    }
}
