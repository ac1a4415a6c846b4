//! `patches`, `patchesStrategicMerge`, `patchesJson6902`: placeholder until the patch engine lands.
use super::Ctx;
use crate::render::RenderError;
use crate::resource::ResourceSet;

pub fn strategic_merge_field(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    unsupported(
        ctx.target.k.patches_strategic_merge.is_empty(),
        ctx,
        "patchesStrategicMerge",
    )
}

pub fn patches_field(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    unsupported(ctx.target.k.patches.is_empty(), ctx, "patches")
}

pub fn json6902_field(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    unsupported(
        ctx.target.k.patches_json6902.is_empty(),
        ctx,
        "patchesJson6902",
    )
}

fn unsupported(empty: bool, ctx: &Ctx, field: &str) -> Result<(), RenderError> {
    if empty {
        return Ok(());
    }
    Err(RenderError::Unsupported {
        field: field.into(),
        at: ctx.target.loc(field),
    })
}
