//! `namespace`: moves every namespaced object into the kustomization's namespace, along with
//! the fields that name a namespace (an APIService's Service, a CRD's conversion webhook,
//! binding subjects named `default`).

use serde_json::Value;

use super::Ctx;
use crate::render::RenderError;
use crate::render::fieldspec::{Create, visit_in_transform};
use crate::resource::{ResourceSet, object_mut};

pub fn apply(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    let ns = &ctx.target.k.namespace;
    if ns.is_empty() {
        return Ok(());
    }
    for i in 0..set.len() {
        let res = set.get_mut_at(i);
        res.remember_id();
        let gvk = res.gvk();
        if !gvk.is_cluster_scoped() {
            res.set_namespace(ns);
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            // kustomize's default `setRoleBindingSubjects: defaultOnly`.
            if let Some(Value::Array(subjects)) = res.body.get_mut("subjects") {
                for s in subjects.iter_mut() {
                    if s.get("name").and_then(Value::as_str) == Some("default") {
                        object_mut(s).insert("namespace".into(), Value::String(ns.clone()));
                    }
                }
            }
        }
        for spec in &ctx.config.namespace {
            if spec.path == "metadata/namespace"
                || (spec.path == "metadata/name" && res.api_version() != "v1")
                || ((gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
                    && spec.path == "subjects/namespace")
            {
                continue;
            }
            let mut set_ns = |v: &mut Value| {
                *v = Value::String(ns.clone());
                Ok(())
            };
            visit_in_transform(res, spec, Create::Scalar, &mut set_ns, |e| {
                format!("namespace transformation failed: {e}")
            })?;
        }
        let id = set.at(i).id();
        let clashes = set.iter().filter(|r| r.id().same_as(&id)).count();
        if clashes != 1 {
            let first = set
                .iter()
                .find(|r| r.id().same_as(&id))
                .map(|r| r.origin.clone())
                .unwrap_or_else(|| set.at(i).origin.clone());
            return Err(RenderError::Duplicate(Box::new(
                crate::resource::DuplicateId {
                    id,
                    first,
                    second: set.at(i).origin.clone(),
                },
            )));
        }
    }
    Ok(())
}
