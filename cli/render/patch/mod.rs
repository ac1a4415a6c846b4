//! Strategic merge patch and JSON 6902 patch.

pub mod json6902;
mod schema;
pub mod strategic;
