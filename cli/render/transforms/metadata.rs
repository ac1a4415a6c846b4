//! `labels`, `commonLabels`, `commonAnnotations`: placeholder until the transform lands.
use super::Ctx;
use crate::render::RenderError;
use crate::resource::ResourceSet;

pub fn labels(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    if ctx.target.k.labels.is_empty() && ctx.target.k.common_labels.is_empty() {
        return Ok(());
    }
    Err(RenderError::Unsupported {
        field: "labels".into(),
        at: ctx.target.loc("labels"),
    })
}

pub fn annotations(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    if ctx.target.k.common_annotations.is_empty() {
        return Ok(());
    }
    Err(RenderError::Unsupported {
        field: "commonAnnotations".into(),
        at: ctx.target.loc("commonAnnotations"),
    })
}
