//! `vars`: values taken from objects after every transform, substituted for `$(NAME)` in the
//! fields kustomize's `varReference` table lists.
//!
//! As in kustomize, a var is bound to its object at the level that declares it (by the object's
//! current or any earlier id), and its value is read from that object once the whole tree is
//! built, so later renames do not lose it.

use serde_json::Value;

use super::fieldspec::{Create, TransformerConfig, visit_in_transform};
use super::kustomization::Var;
use super::replacements::{lookup, split_field_path};
use super::{Loc, RenderError};
use crate::resource::{Gvk, ResId, ResourceSet};

/// Binds each var declared at one level to the one object its `objref` names, as kustomize's
/// `MergeVars`: with no namespace given (and a namespaced kind), any namespace matches.
pub fn bind(resources: &mut ResourceSet, vars: &[(Var, Loc)]) -> Result<(), RenderError> {
    for (var, at) in vars {
        let want = ResId::new(var.objref.gvk(), &var.objref.name, &var.objref.namespace);
        let strict_namespace = !want.namespace.is_empty() || want.gvk.is_cluster_scoped();
        let matched: Vec<usize> = (0..resources.len())
            .filter(|&i| {
                resources.at(i).all_ids().any(|id| {
                    id.gvk == want.gvk
                        && id.name == want.name
                        && (!strict_namespace
                            || id.effective_namespace() == want.effective_namespace())
                })
            })
            .collect();
        match matched.as_slice() {
            [] => {}
            [one] => resources.get_mut_at(*one).ref_vars.push(var.name.clone()),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|&i| format!("`{}`", resources.at(i).id()))
                    .collect();
                return Err(RenderError::Var {
                    name: var.name.clone(),
                    message: format!(
                        "its objref {} matches {} objects ({}) and cannot tell them apart",
                        describe(&want),
                        many.len(),
                        ids.join(", ")
                    ),
                    at: at.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Substitutes every var; returns the warnings kustomize prints (vars never used).
pub fn resolve(
    resources: &mut ResourceSet,
    vars: &[(Var, Loc)],
    config: &TransformerConfig,
) -> Result<Vec<String>, RenderError> {
    let mut values: Vec<(&str, Value)> = Vec::with_capacity(vars.len());
    for (var, at) in vars {
        let want = ResId::new(var.objref.gvk(), &var.objref.name, &var.objref.namespace);
        let Some(res) = resources.iter().find(|r| r.ref_vars.contains(&var.name)) else {
            return Err(RenderError::Var {
                name: var.name.clone(),
                message: format!(
                    "its objref {} matches no object in the set of known resources",
                    describe(&want)
                ),
                at: at.clone(),
            });
        };
        let path = var_field_path(&var.fieldref.fieldpath);
        let value = match lookup(&res.body, &path) {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v.clone(),
            Some(v @ (Value::Object(_) | Value::Array(_))) => v.clone(),
            Some(Value::Null) | None => {
                return Err(RenderError::Var {
                    name: var.name.clone(),
                    message: format!(
                        "field `{}` not found in `{}` ({})",
                        var.fieldref.fieldpath,
                        res.id(),
                        res.origin
                    ),
                    at: at.clone(),
                });
            }
        };
        values.push((&var.name, value));
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts = vec![0usize; values.len()];
    for res in resources.iter_mut() {
        for spec in &config.var_reference {
            let mut substitute = |v: &mut Value| substitute_field(v, &values, &mut counts);
            visit_in_transform(res, spec, Create::Nothing, &mut substitute, |e| {
                format!("substituting vars: {e}")
            })?;
        }
    }
    let mut unused: Vec<&str> = values
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n == 0)
        .map(|((name, _), _)| *name)
        .collect();
    if unused.is_empty() {
        return Ok(Vec::new());
    }
    // kustomize walks a Go map here, so its order varies from run to run; sorted is stable.
    unused.sort_unstable();
    Ok(vec![format!(
        "well-defined vars that were never replaced: {}",
        unused.join(",")
    )])
}

fn describe(id: &ResId) -> String {
    let Gvk {
        group,
        version,
        kind,
    } = &id.gvk;
    let mut out = format!("kind `{kind}`, name `{}`", id.name);
    if !group.is_empty() || !version.is_empty() {
        out = format!("apiVersion `{}`, {out}", id.gvk.api_version());
    }
    if !id.namespace.is_empty() {
        out.push_str(&format!(", namespace `{}`", id.namespace));
    }
    out
}

/// A var's `fieldpath` in kyaml's dotted syntax, where `containers[0]` also means element 0.
fn var_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in split_field_path(path) {
        if let Some(open) = seg.strip_suffix(']').and_then(|s| s.rfind('['))
            && seg[open + 1..seg.len() - 1]
                .chars()
                .all(|c| c.is_ascii_digit())
            && open + 2 < seg.len()
        {
            if open > 0 {
                out.push(seg[..open].to_owned());
            }
            out.push(seg[open + 1..seg.len() - 1].to_owned());
            continue;
        }
        out.push(seg);
    }
    out
}

/// kustomize's refvar filter: strings, the string values of a map, or a list of strings.
fn substitute_field(
    v: &mut Value,
    values: &[(&str, Value)],
    counts: &mut [usize],
) -> Result<(), String> {
    match v {
        Value::String(s) => {
            *v = expand(s, values, counts);
            Ok(())
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                if let Value::String(s) = item {
                    *item = expand(s, values, counts);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                let Value::String(s) = item else {
                    return Err(format!("a list item is not a string: `{item}`"));
                };
                *item = expand(s, values, counts);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Kubernetes' `$(VAR)` expansion as kustomize has it: `$$` is a literal `$`, an unknown or
/// non-scalar var stays as written, and a string that is exactly one reference takes the
/// var's type (a number stays a number).
fn expand(input: &str, values: &[(&str, Value)], counts: &mut [usize]) -> Value {
    let mut lookup_var = |name: &str| -> Option<Value> {
        let i = values.iter().position(|(n, _)| *n == name)?;
        match &values[i].1 {
            v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                counts[i] += 1;
                Some(v.clone())
            }
            _ => None,
        }
    };
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let mapped = lookup_var(name);
                        if input.len() == name.len() + 3 {
                            return mapped.unwrap_or_else(|| Value::String(input.to_owned()));
                        }
                        match mapped {
                            Some(Value::String(s)) => out.push_str(&s),
                            Some(other) => out.push_str(&other.to_string()),
                            None => out.push_str(&format!("$({name})")),
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // Go copies the `$` and the next byte; a multi-byte character is copied
                    // whole by the checkpoint that follows.
                    out.push('$');
                    0
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::{expand, var_field_path};
    use crate::render::testing::{bodies, docs, over, tree};
    use crate::render::{RenderError, Rendered, build};

    fn render(files: &[(&str, &str)]) -> Result<Rendered, RenderError> {
        build(&tree(files), Path::new("k"))
    }

    #[test]
    fn expansion_rules() {
        let values = [
            ("A", json!("x")),
            ("N", json!(8080)),
            ("M", json!({"a": 1})),
        ];
        let mut counts = [0; 3];
        let mut e = |s: &str| expand(s, &values, &mut counts);
        assert_eq!(e("http://$(A):$(N)/"), json!("http://x:8080/"));
        assert_eq!(e("$(N)"), json!(8080));
        assert_eq!(e("$(M)"), json!("$(M)"));
        assert_eq!(e("$$(A) $(B) $(A"), json!("$(A) $(B) $(A"));
        assert_eq!(e("a$b$"), json!("a$b$"));
        assert_eq!(e("é$é"), json!("é$é"));
        assert_eq!(counts, [1, 2, 0]);
    }

    #[test]
    fn field_paths() {
        assert_eq!(
            var_field_path("spec.template.spec.containers[0].image"),
            vec!["spec", "template", "spec", "containers", "0", "image"]
        );
        assert_eq!(
            var_field_path("metadata.annotations.[a.b/c]"),
            vec!["metadata", "annotations", "a.b/c"]
        );
    }

    const BASE: &str = "apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: ns
spec:
  ports:
  - port: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: c
        image: nginx:1.0
        args:
        - --upstream=http://$(SVC).$(SVC_NS):$(PORT)
        - $(PORT)
        - $(UNKNOWN)
        env:
        - name: IMAGE
          value: $(IMAGE)
        - name: PORT
          value: $(PORT)
";

    const KUSTOMIZATION: &str = "namePrefix: p-
resources: [../base]
vars:
- name: SVC
  objref: {apiVersion: v1, kind: Service, name: svc}
- name: SVC_NS
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldpath: metadata.namespace}
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: 'spec.ports[0].port'}
- name: IMAGE
  objref: {group: apps, version: v1, kind: Deployment, name: web}
  fieldref: {fieldpath: 'spec.template.spec.containers[0].image'}
- name: NEVER
  objref: {apiVersion: apps/v1, kind: Deployment, name: web}
";

    // `kubectl kustomize` (v5.5.0) on the same input; it also logs
    // `well-defined vars that were never replaced: NEVER`.
    const EXPECTED: &str = "apiVersion: v1
kind: Service
metadata:
  name: p-svc
  namespace: ns
spec:
  ports:
  - port: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: p-web
spec:
  template:
    spec:
      containers:
      - args:
        - --upstream=http://p-svc.ns:8080
        - 8080
        - $(UNKNOWN)
        env:
        - name: IMAGE
          value: nginx:1.0
        - name: PORT
          value: 8080
        image: nginx:1.0
        name: c
";

    #[test]
    fn vars_are_substituted_after_renames() {
        let out = render(&[
            ("k/kustomization.yaml", KUSTOMIZATION),
            ("base/kustomization.yaml", "resources: [o.yaml]\n"),
            ("base/o.yaml", BASE),
        ])
        .unwrap();
        assert_eq!(bodies(&out), docs(EXPECTED));
        assert!(
            out.warnings
                .contains(&"well-defined vars that were never replaced: NEVER".to_owned()),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn objref_matching_nothing_or_two_is_an_error() {
        let two = "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: b}\n";
        let err = over(
            two,
            "vars:\n- name: S\n  objref: {apiVersion: v1, kind: Service, name: svc}\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("k/kustomization.yaml:3: var `S` cannot be resolved: its objref"),
            "{err}"
        );
        assert!(err.to_string().contains("matches 2 objects"), "{err}");
        // Without a version the objref names no v1 Service: kustomize compares the whole
        // group/version/kind.
        let err = over(
            two,
            "vars:\n- name: S\n  objref: {kind: Service, name: svc, namespace: a}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("matches no object"), "{err}");
    }

    #[test]
    fn a_var_follows_its_object_through_a_generator_merge() {
        let out = render(&[
            (
                "base/kustomization.yaml",
                "resources: [o.yaml]\nvars:\n- name: APP\n  objref: {apiVersion: v1, kind: ConfigMap, name: params}\n  fieldref: {fieldpath: data.app}\n",
            ),
            (
                "base/o.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: params}\ndata: {app: one}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    command: [run, $(APP)]\n",
            ),
            (
                "k/kustomization.yaml",
                "resources: [../base]\nnamespace: ns\nconfigMapGenerator:\n- name: params\n  behavior: merge\n  literals: [app=two]\n",
            ),
        ])
        .unwrap();
        // `kubectl kustomize` (v5.5.0) on the same input.
        let expected = "apiVersion: v1\ndata:\n  app: two\nkind: ConfigMap\nmetadata:\n  name: params\n  namespace: ns\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n  - command:\n    - run\n    - two\n    image: x\n    name: c\n";
        assert_eq!(bodies(&out), docs(expected));
    }
}
