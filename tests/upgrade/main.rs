//! Upgrades of the whole platform, on a control plane of this binary's own (the platform is
//! cluster-wide, so it cannot share one with `tests/install`).
//!
//! With `KFCTL_TEST_KUBECONFIG` this installs and upgrades Kubeflow on that cluster: use a
//! throwaway one.

#[path = "../support/cluster.rs"]
mod cluster;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

mod platform;
