//! Upgrades and rollbacks, the pure part: the revisions an install's record keeps
//! ([`revision`]), what going from one render to another does ([`plan`]) and what the
//! catalog adds to it ([`migrate`]). No cluster here:
//! the live facts a plan needs are passed in.

pub mod migrate;
pub mod plan;
pub mod revision;
