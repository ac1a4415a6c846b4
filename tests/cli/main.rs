//! The real `kfctl` binary, run with `assert_cmd`; exit code, stdout and stderr snapshotted with
//! `insta` (files under `snapshots/`), temp dirs and versions filtered out.
//!
//! Each module holds one kind of test: `help` the `--help` of every command, `build` what
//! `kfctl build` prints for good input, `errors` what it says about bad input, `init` the setup
//! wizard on a pseudo-terminal and without one, `inputs` the input flags every command takes,
//! `layers` who may import whom,
//! `profiles` platform builds and the catalog listings, `properties` the algebra of strategic
//! merge and of the YAML round trip, on generated inputs (proptest).

#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;
mod support;

mod build;
mod errors;
mod help;
mod import;
mod init;
mod inputs;
mod layers;
mod profiles;
mod properties;
