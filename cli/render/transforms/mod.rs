//! The transforms a kustomization level runs over what it accumulated, one file each, in the
//! order kustomize runs its builtin transformers. `ORDER` is the only copy of that order.

mod affix;
mod images;
mod metadata;
mod namespace;
mod patches;
mod replicas;

use super::fieldspec::TransformerConfig;
use super::load::Target;
use super::{Fs, RenderError};
use crate::resource::{ResourceSet, yaml};

/// What every transform gets: the kustomization it belongs to, the filesystem for files it
/// names, and the field specs in force at this level.
pub struct Ctx<'a> {
    pub fs: &'a dyn Fs,
    pub target: &'a Target,
    pub config: &'a TransformerConfig,
}

pub type Step = fn(&Ctx, &mut ResourceSet) -> Result<(), RenderError>;

/// kustomize's `configureBuiltinTransformers` order.
pub const ORDER: &[(&str, Step)] = &[
    ("patchesStrategicMerge", patches::strategic_merge_field),
    ("patches", patches::patches_field),
    ("namespace", namespace::apply),
    ("namePrefix", affix::prefix),
    ("nameSuffix", affix::suffix),
    ("labels", metadata::labels),
    ("commonAnnotations", metadata::annotations),
    ("patchesJson6902", patches::json6902_field),
    ("replicas", replicas::apply),
    ("images", images::apply),
    ("replacements", replacements),
];

fn replacements(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    super::replacements::apply(ctx.fs, ctx.target, set)
}

/// Runs every transform of `target` over `set`.
pub fn run(
    fs: &dyn Fs,
    target: &Target,
    set: &mut ResourceSet,
    config: &TransformerConfig,
) -> Result<(), RenderError> {
    let ctx = Ctx { fs, target, config };
    for (_, step) in ORDER {
        step(&ctx, set)?;
    }
    // Each step keeps objects within the parser's depth (paths and copied values are checked
    // where they are applied); whatever walks the objects after this relies on it.
    for res in set.iter() {
        let (depth, _) = yaml::measure(&res.body);
        if depth > yaml::MAX_DEPTH {
            return Err(RenderError::Transform {
                id: res.id(),
                origin: res.origin.clone(),
                message: too_deep(),
            });
        }
    }
    Ok(())
}

/// The message for an object a transform would nest past [`yaml::MAX_DEPTH`].
pub fn too_deep() -> String {
    format!(
        "the transforms nest the object deeper than {} levels",
        yaml::MAX_DEPTH
    )
}
