//! Upgrades and rollbacks, the pure part: the revisions an install's record keeps
//! ([`revision`]) and what going from one render to another does ([`plan`]). No cluster here:
//! the live facts a plan needs are passed in.

pub mod plan;
pub mod revision;
