//! JSON 6902 patches, written as JSON or as YAML (a list of operations), applied with the
//! `json-patch` crate.

use json_patch::PatchOperation;
use serde_json::Value;

use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::yaml;

/// A JSON patch that does not parse or does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonPatchError(pub String);

impl Diagnostic for JsonPatchError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// Parses a patch: a JSON array, or YAML holding a list of operations.
pub fn parse(text: &str) -> Result<json_patch::Patch, JsonPatchError> {
    let docs = yaml::parse_documents(text)
        .map_err(|e| JsonPatchError(format!("invalid YAML at line {}: {}", e.line, e.message)))?;
    // kustomize converts only the first document of YAML text to JSON.
    let value = docs.into_iter().next().map(|d| d.value);
    let Some(value @ Value::Array(_)) = value else {
        return Err(JsonPatchError(
            "a JSON patch is a list of operations".to_owned(),
        ));
    };
    serde_json::from_value(value).map_err(|e| JsonPatchError(e.to_string()))
}

/// Whether `text` reads as a list of operations rather than as objects to merge.
pub fn looks_like_json_patch(text: &str) -> bool {
    matches!(
        yaml::parse_documents(text)
            .ok()
            .and_then(|d| d.into_iter().next()),
        Some(yaml::Document {
            value: Value::Array(_),
            ..
        })
    )
}

/// Applies `patch` to `doc`; on failure `doc` is left as it was.
///
/// kustomize applies patches with evanphx/json-patch v4, where `replace` of a missing key of an
/// existing map adds it (the Kubeflow manifests rely on this); every other operation follows
/// RFC 6902.
pub fn apply(doc: &mut Value, patch: &json_patch::Patch) -> Result<(), JsonPatchError> {
    let ops: Vec<PatchOperation> = patch
        .iter()
        .map(|op| match op {
            PatchOperation::Replace(r) if replaces_missing_key(doc, r) => {
                PatchOperation::Add(json_patch::AddOperation {
                    path: r.path.clone(),
                    value: r.value.clone(),
                })
            }
            other => other.clone(),
        })
        .collect();
    // Operation by operation on a copy, so that `copy` cannot nest an object past the parser's
    // depth or double it into a memory bomb before the check.
    let mut out = doc.clone();
    let (_, mut nodes) = yaml::measure(&out);
    let most = nodes.saturating_add(yaml::MAX_ALIAS_NODES);
    for op in &ops {
        json_patch::patch(&mut out, std::slice::from_ref(op))
            .map_err(|e| JsonPatchError(e.to_string()))?;
        let (depth, now) = yaml::measure(&out);
        if depth > yaml::MAX_DEPTH {
            return Err(JsonPatchError(format!(
                "`{}` would nest the object deeper than {} levels",
                op.path(),
                yaml::MAX_DEPTH
            )));
        }
        nodes = now;
        if nodes > most {
            return Err(JsonPatchError(format!(
                "`{}` would grow the object by more than {} nodes",
                op.path(),
                yaml::MAX_ALIAS_NODES
            )));
        }
    }
    *doc = out;
    Ok(())
}

fn replaces_missing_key(doc: &Value, op: &json_patch::ReplaceOperation) -> bool {
    let Some((parent, last)) = op.path.split_back() else {
        return false;
    };
    doc.pointer(parent.as_str())
        .and_then(Value::as_object)
        .is_some_and(|m| !m.contains_key(last.decoded().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: &str) -> Result<Value, JsonPatchError> {
        let mut doc = doc;
        apply(&mut doc, &parse(patch)?)?;
        Ok(doc)
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "a", "image": "a", "args": ["--x"]}]}}}})
    }

    #[test]
    fn yaml_operations_apply_in_order() {
        let out = run(
            deployment(),
            "- op: replace\n  path: /spec/replicas\n  value: 3\n\
             - op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --y\n\
             - op: remove\n  path: /metadata/labels/app.kubernetes.io~1name\n\
             - op: copy\n  from: /metadata/name\n  path: /metadata/labels/copied\n\
             - op: move\n  from: /metadata/labels/copied\n  path: /metadata/labels/moved\n\
             - op: test\n  path: /kind\n  value: Deployment\n",
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], json!(3));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["--x", "--y"])
        );
        assert_eq!(out["metadata"]["labels"], json!({"moved": "web"}));
    }

    #[test]
    fn copies_cannot_nest_or_grow_without_bound() {
        let nest = format!(
            "- op: add\n  path: /spec/template/x\n  value: {}{}\n",
            "[".repeat(98),
            "]".repeat(98)
        );
        let err = run(deployment(), &nest).unwrap_err();
        assert!(err.0.contains("deeper than"), "{err}");
        let grow = (0..40)
            .map(|i| format!("- op: copy\n  from: /spec\n  path: /spec/c{i}\n"))
            .collect::<String>();
        let err = run(deployment(), &grow).unwrap_err();
        assert!(err.0.contains("more than"), "{err}");
        let mut doc = deployment();
        assert!(apply(&mut doc, &parse(&grow).unwrap()).is_err());
        assert_eq!(doc, deployment());
    }

    #[test]
    fn replace_of_a_missing_key_adds_it() {
        let out = run(
            deployment(),
            r#"[{"op": "replace", "path": "/metadata/namespace", "value": "kubeflow"}]"#,
        )
        .unwrap();
        assert_eq!(out["metadata"]["namespace"], json!("kubeflow"));
    }

    #[test]
    fn json_text_parses_too() {
        let out = run(
            deployment(),
            r#"[{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]"#,
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"], json!({"a": "b"}));
    }

    #[test]
    fn failures_are_errors() {
        assert!(run(deployment(), "- op: remove\n  path: /spec/missing\n").is_err());
        assert!(run(deployment(), "- op: replace\n  path: /nope/x\n  value: 1\n").is_err());
        assert!(
            run(
                deployment(),
                "- op: replace\n  path: /spec/template/spec/containers/1\n  value: {}\n"
            )
            .is_err()
        );
        assert!(
            run(
                deployment(),
                "- op: test\n  path: /kind\n  value: Service\n"
            )
            .is_err()
        );
        assert!(run(deployment(), "- op: frobnicate\n  path: /kind\n").is_err());
        assert!(parse("kind: Deployment\n").is_err());
        assert!(looks_like_json_patch("- op: add\n  path: /a\n  value: 1\n"));
        assert!(!looks_like_json_patch(
            "kind: Deployment\nmetadata: {name: a}\n"
        ));
    }
}
