//! Cluster tests: each runs against a real local control plane (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes) started
//! once for this test binary by `support/cluster.rs`, and asserts on what the API
//! server returns. Every test works in its own namespace, except `platforms`, which creates the
//! namespaces and CRDs a Kubeflow render brings (deleting afterwards, on a reused cluster, those it
//! created).

#[path = "../support/cluster.rs"]
mod cluster;
#[path = "../support/json_schema.rs"]
mod json_schema;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

mod admission;
mod apply;
mod catalog;
mod cluster_client;
mod crd;
mod delete;
mod deployment;
mod drift;
mod gpu;
mod gpu_manifests;
mod health;
mod interrupted;
mod lock;
mod platforms;
mod preflight;
mod progress;
mod prune;
mod server_side_apply;
mod upgrade;
mod webhook;
