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

#[derive(Clone, Copy)]
enum Side {
    Prefix,
    Suffix,
}

pub fn prefix(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    rename(ctx, set, Side::Prefix)
}

pub fn suffix(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    rename(ctx, set, Side::Suffix)
}

fn rename(ctx: &Ctx, set: &mut ResourceSet, side: Side) -> Result<(), RenderError> {
    let (affix, specs): (&String, &[FieldSpec]) = match side {
        Side::Prefix => (&ctx.target.k.name_prefix, &ctx.config.name_prefix),
        Side::Suffix => (&ctx.target.k.name_suffix, &ctx.config.name_suffix),
    };
    if affix.is_empty() {
        return Ok(());
    }
    let new_name = |name: &str| match side {
        Side::Prefix => format!("{affix}{name}"),
        Side::Suffix => format!("{name}{affix}"),
    };
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
                match side {
                    Side::Prefix => res.prefixes.push(affix.clone()),
                    Side::Suffix => res.suffixes.push(affix.clone()),
                }
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
