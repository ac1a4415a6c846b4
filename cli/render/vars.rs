//! `vars`: values taken from objects after every transform, substituted for `$(NAME)` in the
//! fields kustomize's `varReference` table lists.

use super::fieldspec::TransformerConfig;
use super::kustomization::Var;
use super::{Loc, RenderError};
use crate::resource::ResourceSet;

/// Substitutes every var; returns the warnings kustomize prints (vars never used).
pub fn resolve(
    resources: &mut ResourceSet,
    vars: &[(Var, Loc)],
    config: &TransformerConfig,
) -> Result<Vec<String>, RenderError> {
    let _ = (resources, config);
    match vars.first() {
        None => Ok(Vec::new()),
        Some((var, at)) => Err(RenderError::Var {
            name: var.name.clone(),
            message: "vars are not implemented yet".to_owned(),
            at: at.clone(),
        }),
    }
}
