//! `namePrefix` and `nameSuffix`: rename objects, recording the old id for reference fixing.

use super::Ctx;
use crate::render::RenderError;
use crate::render::fieldspec::{Create, FieldSpec, visit_in_transform};
use crate::resource::{Gvk, ResourceSet};

/// Kinds whose names carry meaning elsewhere and are never prefixed or suffixed.
const SKIPPED: &[(&str, &str)] = &[
    ("", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("", "Namespace"),
];

pub fn prefix(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    let prefix = &ctx.target.k.name_prefix;
    if prefix.is_empty() {
        return Ok(());
    }
    rename(
        set,
        &ctx.config.name_prefix,
        |name| format!("{prefix}{name}"),
        |r| r.prefixes.push(prefix.clone()),
    )
}

pub fn suffix(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    let suffix = &ctx.target.k.name_suffix;
    if suffix.is_empty() {
        return Ok(());
    }
    rename(
        set,
        &ctx.config.name_suffix,
        |name| format!("{name}{suffix}"),
        |r| r.suffixes.push(suffix.clone()),
    )
}

fn rename(
    set: &mut ResourceSet,
    specs: &[FieldSpec],
    new_name: impl Fn(&str) -> String,
    record: impl Fn(&mut crate::resource::Resource),
) -> Result<(), RenderError> {
    for res in set.iter_mut() {
        let org = res.org_id();
        if SKIPPED
            .iter()
            .any(|(g, k)| org.gvk.is_selected_by(&Gvk::new(g, "", k)))
        {
            continue;
        }
        for spec in specs {
            if !org.gvk.is_selected_by(&spec.gvk()) {
                continue;
            }
            if spec.path == "metadata/name" {
                record(res);
                res.remember_id();
            }
            let mut rename = |v: &mut serde_json::Value| {
                let current = match &*v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                *v = serde_json::Value::String(new_name(&current));
                Ok(())
            };
            visit_in_transform(res, spec, Create::Scalar, &mut rename, |e| e.to_string())?;
        }
    }
    Ok(())
}
