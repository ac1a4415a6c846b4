//! `replicas`: sets the replica count of the named workloads.

use serde_json::Value;

use super::Ctx;
use crate::render::RenderError;
use crate::render::fieldspec::{Create, visit_in_transform};
use crate::resource::ResourceSet;

pub fn apply(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for replica in &ctx.target.k.replicas {
        let mut matched = false;
        for res in set.iter_mut() {
            if !res.all_ids().any(|id| id.name == replica.name) {
                continue;
            }
            for spec in &ctx.config.replicas {
                if !spec.matches(res) {
                    continue;
                }
                matched = true;
                let mut set_count = |v: &mut Value| {
                    *v = Value::from(replica.count);
                    Ok(())
                };
                visit_in_transform(res, spec, Create::Scalar, &mut set_count, |e| e.to_string())?;
            }
        }
        if !matched {
            return Err(RenderError::PatchTargetNotFound {
                what: format!("no workload named `{}` for `replicas`", replica.name),
                at: ctx.target.loc_of(&replica.name),
            });
        }
    }
    Ok(())
}
