//! The resource model: object ids, objects with their origins, ordered sets of them, and YAML in
//! and out. Pure data; imports nothing else of kfctl and nothing that talks to a cluster.

pub mod compare;
mod id;
pub mod images;
mod set;
pub mod yaml;

pub use id::{Gvk, ResId, split_api_version};
pub use set::{Behavior, DuplicateId, Generated, Origin, Resource, ResourceSet, object_mut};
