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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::render::MemFs;
    use crate::resource::yaml;

    /// Objects as deep as the parser allows go through patches, transforms and both writers on a
    /// thread with the 2 MiB stack of rayon's workers (profiles render components on them), in
    /// a debug build; one level more is refused by the parser, not by a stack overflow.
    #[test]
    fn objects_at_the_depth_limit_render_on_a_small_stack() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let mut fs = MemFs::new();
        fs.add(
            "/k/kustomization.yaml",
            "resources: [deep.yaml]\nnamespace: ns\ncommonLabels: {a: b}\npatches:\n- path: merge.yaml\n- path: json.yaml\n  target: {kind: ConfigMap}\nreplacements:\n- source: {kind: ConfigMap, name: deep, fieldPath: spec.x}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [spec.z]\n    options: {create: true}\n",
        )
        .add(
            "/k/deep.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nspec:\n  x: {}\n",
                nested(yaml::MAX_DEPTH - 2)
            ),
        )
        .add(
            "/k/merge.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nspec:\n  y: {}\n",
                nested(yaml::MAX_DEPTH - 2)
            ),
        )
        .add(
            "/k/json.yaml",
            format!(
                "- op: add\n  path: /spec/w\n  value: {}\n",
                nested(yaml::MAX_DEPTH - 2)
            ),
        );
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let rendered = crate::render::build(&fs, Path::new("/k")).unwrap();
                let body = &rendered.resources.as_slice()[0].body;
                assert_eq!(yaml::measure(body).0, yaml::MAX_DEPTH);
                let text = yaml::to_yaml(body);
                assert_eq!(&yaml::parse_documents(&text).unwrap()[0].value, body);
                serde_json::to_string_pretty(body).unwrap();
            });
        worker.unwrap().join().unwrap();
    }
}
