//! Everything that talks to a Kubernetes API server. The only module of kfctl that imports `kube`
//! or `k8s-openapi`: the stages before it (`resource`, `render`, `plan`) stay pure, and commands
//! reach the cluster through the types here.
//!
//! `client` turns a kubeconfig context into a [`Cluster`] (a client with its discovery cached)
//! and classifies what the API server refuses into [`ClusterError`]; `health` judges whether an
//! object the server returned is ready, as pure functions over its JSON; `apply` sends a render
//! wave by wave with server-side apply and waits until it is healthy, holding the objects an
//! admission webhook intercepts until it admits (`admission`); `inventory` records what an
//! install owns as a kubectl ApplySet; `drift` compares the live members with it; `preflight`
//! checks, before any write, that the cluster can take the install; `lock` holds a Lease per
//! install so two runs never interleave; `prune` removes what an install no longer brings, or
//! all of it.

pub mod admission;
pub mod apply;
pub mod client;
pub mod drift;
pub mod health;
pub mod identity;
pub mod inventory;
pub mod lock;
pub mod preflight;
pub mod prune;
pub mod wait;

pub use client::{Cluster, ClusterError, Resolved, Scope};
pub use health::{Health, health};

/// The items backquoted and joined by `, `, as messages name several things: `` `a`, `b` ``.
pub fn listing<I>(items: I) -> String
where
    I: IntoIterator,
    I::Item: std::fmt::Display,
{
    items
        .into_iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
