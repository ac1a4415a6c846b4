//! kfctl: render, install, upgrade and watch over Kubeflow on Kubernetes.
//!
//! Data flows one way: `args → Settings → profile → render → ResourceSet → plan → lifecycle
//! (over `cluster`) → report → output`. Only `commands` print (through `output::Printer`), and
//! only `main` turns the outcome into an exit code.

pub mod args;
pub mod cluster;
pub mod commands;
pub mod errors;
pub mod lifecycle;
pub mod output;
pub mod plan;
pub mod profile;
pub mod render;
pub mod report;
pub mod resource;
pub mod settings;
pub mod shell;
pub mod source;
pub mod upgrade;
pub mod wizard;

pub use commands::{Outcome, run};
