//! `replacements`: copy a field of one object into fields of others.

use super::load::Target;
use super::{Fs, RenderError};
use crate::resource::ResourceSet;

/// Runs the kustomization's replacements over `resources`, the last transform of a level.
pub fn apply(fs: &dyn Fs, target: &Target, resources: &mut ResourceSet) -> Result<(), RenderError> {
    let _ = (fs, resources);
    match target.k.replacements.first() {
        None => Ok(()),
        Some(_) => Err(RenderError::Replacement {
            message: "replacements are not implemented yet".to_owned(),
            at: target.loc("replacements"),
        }),
    }
}
