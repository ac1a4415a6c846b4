//! Everything that talks to a Kubernetes API server. The only module of kfctl that imports `kube`
//! or `k8s-openapi`: the stages before it (`resource`, `render`, `plan`) stay pure, and commands
//! reach the cluster through the types here.
//!
//! `client` turns a kubeconfig context into a [`Cluster`] (a client with its discovery cached)
//! and classifies what the API server refuses into [`ClusterError`]; `health` judges whether an
//! object the server returned is ready, as pure functions over its JSON; `apply` sends a render
//! wave by wave with server-side apply and waits until it is healthy; `inventory` records what
//! an install owns as a kubectl ApplySet.

pub mod apply;
pub mod client;
pub mod health;
pub mod identity;
pub mod inventory;

pub use client::{Cluster, ClusterError, Resolved, Scope};
pub use health::{Health, health};
