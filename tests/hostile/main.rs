//! Hostile inputs, built by the tests themselves: archives with links out of their root, symlink
//! trees, YAML bombs, oversized and injecting values. Each test runs the real binary and asserts
//! exit 1 with a clear message, nothing written outside the root or the cache, and (for bombs) a
//! bounded peak memory, by running the binary under an address-space limit.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "../support/http.rs"]
mod http;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;

mod archives;
mod catalog;
mod downloads;
mod import;
mod output;
mod params;
mod symlinks;
mod yaml;
