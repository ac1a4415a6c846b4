//! What the render tests share: an in-memory tree of files, and objects to compare whole.

use std::path::Path;

use serde_json::Value;

use super::{MemFs, RenderError, Rendered, build};
use crate::resource::yaml::parse_documents;

/// A tree holding `files`, each `(path, text)`.
pub fn tree(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(*path, *text);
    }
    fs
}

/// Builds the kustomization in `root` from `files`, whose paths are relative to `root`.
pub fn build_in(root: &str, files: &[(&str, &str)]) -> Result<Rendered, RenderError> {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(Path::new(root).join(path), *text);
    }
    build(&fs, Path::new(root))
}

/// Builds a kustomization in `k` of `o.yaml`, which holds `objects`; `rest` follows its
/// `resources` line.
pub fn over(objects: &str, rest: &str) -> Result<Rendered, RenderError> {
    let kustomization = format!("resources: [o.yaml]\n{rest}");
    build_in(
        "k",
        &[("kustomization.yaml", &kustomization), ("o.yaml", objects)],
    )
}

/// The objects of a render, in its order.
pub fn bodies(rendered: &Rendered) -> Vec<Value> {
    rendered.resources.iter().map(|r| r.body.clone()).collect()
}

/// The documents of a YAML stream.
pub fn docs(text: &str) -> Vec<Value> {
    parse_documents(text)
        .expect("the expected YAML parses")
        .into_iter()
        .map(|d| d.value)
        .collect()
}
