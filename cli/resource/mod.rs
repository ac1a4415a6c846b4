//! The resource model: object ids, objects with their origins, ordered sets of them, YAML in
//! and out, and the digests, JSON pointers and times every layer writes them with. Pure data;
//! imports nothing else of kfctl and nothing that talks to a cluster.

pub mod compare;
pub mod digest;
mod id;
pub mod images;
pub mod pointer;
mod set;
pub mod time;
pub mod yaml;

pub use id::{Gvk, ResId, split_api_version};
pub use set::{Behavior, DuplicateId, Generated, Origin, Resource, ResourceSet, object_mut};
