//! `kfctl build` against `kubectl kustomize` on fixtures and the Kubeflow corpus.
//!
//! Both outputs are parsed into `serde_json::Value`s with the same YAML parser (not kfctl's own)
//! and compared object by object, in order: formatting may differ, data and order may not.
//! kubectl's outputs are cached (see `reference`), never written by hand.

mod corpus;
mod diff;
mod fixtures;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;
mod overlays;
mod profiles;
mod reference;
mod run;
