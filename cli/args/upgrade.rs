//! Arguments of the commands that move an install between releases: `upgrade`, `rollback`,
//! `history` and `generate upgrade-job`.

use clap::Subcommand;

use super::install::{ApplyArgs, ApplyRunArgs};
use super::shared::{ClusterArgs, ListFormat, TargetArgs};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl upgrade --to 1.11.0                         upgrade the recorded install, asking first
  kfctl upgrade --to latest --plan-out plan.json    save the plan for review, change nothing
  kfctl upgrade --plan plan.json --yes              carry out exactly the saved plan
  kfctl upgrade --to latest --yes --atomic -o json  for pipelines: roll back if not healthy")]
pub struct UpgradeArgs {
    /// The release to upgrade to
    ///
    /// One of the releases `kfctl releases` lists. Required unless `--plan` or `-k` is given.
    #[arg(long, value_name = "RELEASE", conflicts_with = "release")]
    pub to: Option<String>,

    #[command(flatten)]
    pub apply: ApplyArgs,

    /// Save the plan to FILE and change nothing
    ///
    /// The plan holds the facts it was made from (the record's version, the resourceVersion of
    /// each object it changes), so `--plan FILE` can refuse it once the cluster changed.
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    pub plan_out: Option<std::path::PathBuf>,

    /// Carry out a plan saved with `--plan-out`
    ///
    /// Refused when the render or the cluster changed since the plan was made.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,

    /// Roll back by itself when the new revision is not healthy before `--timeout`
    ///
    /// The revision before is applied again; the output says what failed. Exits with 1.
    #[arg(long)]
    pub atomic: bool,

    /// Exit with 2 when there is nothing to upgrade
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl rollback                                    install `kubeflow` to its last good revision
  kfctl rollback --name demo --to-revision 2 --yes  install `demo` to revision 2
  kfctl rollback -k DIR --dry-run                   let the server check the rollback of `-k DIR`")]
pub struct RollbackArgs {
    /// The revision to go back to
    ///
    /// A revision `kfctl history` lists. Default: the last one that succeeded before the
    /// current one.
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u32>,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub run: ApplyRunArgs,

    /// Output format
    ///
    /// `json` also prints one report on stdout. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl history                                     the revisions of install `kubeflow`
  kfctl history -k DIR -o json                      those of the install `kfctl apply -k DIR` made")]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Output format
    ///
    /// `text` prints a table; `json` prints `{"revisions": [...]}`. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write a Job (or CronJob) that upgrades an install from inside the cluster
    ///
    /// Prints, as one YAML stream: a Namespace, a ServiceAccount, the least RBAC the upgrade
    /// needs (derived from the kinds the install's inventory lists, plus its Lease and its
    /// parent ConfigMap), the install's configuration as a ConfigMap, and a Job (a CronJob with
    /// `--schedule`, `concurrencyPolicy: Forbid`) running `kfctl upgrade` with the pod's
    /// service account. Reads the install's inventory, so it needs the cluster.
    UpgradeJob(UpgradeJobArgs),
}

#[derive(Debug, clap::Args)]
pub struct UpgradeJobArgs {
    /// The release the job upgrades to
    #[arg(long, value_name = "RELEASE")]
    pub to: String,

    /// Run on this cron schedule (a CronJob) instead of once (a Job)
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,

    /// The kfctl container image
    ///
    /// Built from the `Dockerfile` at the root of kfctl's sources.
    #[arg(long, value_name = "IMAGE", default_value = concat!("ghcr.io/kfctl/kfctl:v", env!("CARGO_PKG_VERSION")))]
    pub image: String,

    #[command(flatten)]
    pub target: TargetArgs,

    /// The namespace the job, its ServiceAccount and its configuration go to
    #[arg(long, value_name = "NAMESPACE", default_value = "kfctl-system")]
    pub namespace: String,

    /// How long the upgrade may take inside the job
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub timeout: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}
