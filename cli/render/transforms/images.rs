//! `images`: placeholder until the images transform lands.
use super::Ctx;
use crate::render::RenderError;
use crate::resource::ResourceSet;

pub fn apply(ctx: &Ctx, _set: &mut ResourceSet) -> Result<(), RenderError> {
    if ctx.target.k.images.is_empty() {
        return Ok(());
    }
    Err(RenderError::Unsupported {
        field: "images".into(),
        at: ctx.target.loc("images"),
    })
}
