//! Arguments of the commands that act on an install: `apply`, `delete`, `diff` and `status`.

use super::shared::{ClusterArgs, InputArgs, ListFormat, SourceArgs, TargetArgs, parse_duration};

/// An install to render and the cluster it is on, as `apply`, `diff`, `status` and `upgrade`
/// take it.
#[derive(Debug, clap::Args)]
pub struct InstallInputArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub sources: SourceArgs,

    /// The install's name
    ///
    /// Names the inventory, ConfigMap `kfctl-<name>` in `kube-system`: applies with the same
    /// name update one install. Lower-case letters, digits and `-`. Default: `kubeflow` for a
    /// platform or `kfctl.yaml`, the directory's name for `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// How an apply runs, as `apply`, `upgrade` and `rollback` take it.
#[derive(Debug, clap::Args)]
pub struct ApplyRunArgs {
    /// Let the API server check every object without storing anything
    ///
    /// A server-side dry run: admission and validation run, nothing is written and nothing is
    /// waited on. Objects whose namespace or CRD this run would create cannot be checked and
    /// are reported as such. No confirmation is asked.
    #[arg(long)]
    pub dry_run: bool,

    /// Go ahead without asking for confirmation
    ///
    /// Required when stdin is not a terminal.
    #[arg(short, long)]
    pub yes: bool,

    /// How long the whole run may take, waiting included
    ///
    /// `90s`, `10m`, `1h30m`. When it passes, kfctl names each object that is not ready and
    /// why, and exits with 1. Default: `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Take over fields another field manager owns
    ///
    /// Without it, an object whose fields another manager (`kubectl`, a controller) set to other
    /// values is not applied, and the manager is named.
    #[arg(long)]
    pub force_conflicts: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl apply -p local --yes                        install the local platform's components
  kfctl apply -f kfctl.yaml                         install what kfctl.yaml describes
  kfctl apply -k DIR --name demo                    install a kustomization as install `demo`
  kfctl apply -f kfctl.yaml --dry-run               let the server check everything, change nothing")]
pub struct ApplyArgs {
    #[command(flatten)]
    pub install: InstallInputArgs,

    #[command(flatten)]
    pub run: ApplyRunArgs,

    /// Apply over an install recorded from another platform or a kustomization
    ///
    /// Without it, kfctl refuses to apply platform `a` to an install last applied from platform
    /// `b` (or from `-k`), naming both: the same `--name` on one cluster is one install.
    #[arg(long)]
    pub take_over: bool,

    /// How long to wait while another run holds the install's lock
    ///
    /// Apply holds Lease `kfctl-<name>` in `kube-system` while it runs. When another run holds
    /// it, kfctl waits this long, then names the holder and exits with 1. A run that was killed
    /// stops renewing its lease, which expires after 15s and is then taken over. `0` does not
    /// wait. Default: `20s`.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,

    /// Delete and create again objects whose change touches an immutable field
    ///
    /// Without it, a change the server refuses because a field cannot change once set (a
    /// Deployment's `spec.selector`, a Job's `spec.template`, a Service's `clusterIP`) is
    /// reported and nothing is written for that object.
    #[arg(long)]
    pub force: bool,

    /// Output format
    ///
    /// `text` prints progress and a summary on stderr; `json` also prints one report on stdout
    /// (each object's action, wave and duration, and totals). Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,

    /// Do not delete the install's objects this render no longer has
    ///
    /// By default, once everything applied is healthy, objects of the install that are not in
    /// this render (recorded in its inventory, or labelled as its members) are deleted, in the
    /// reverse of the apply's waves; PersistentVolumeClaims, CRDs and namespaces holding user
    /// work that is not the install's are kept unless `--purge`.
    #[arg(long)]
    pub no_prune: bool,

    /// When pruning, also delete PersistentVolumeClaims, CRDs and namespaces in use
    ///
    /// Their data goes with them: a CRD takes every custom resource of its kind.
    #[arg(long, conflicts_with = "no_prune")]
    pub purge: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl delete --dry-run                            list what install `kubeflow` would lose
  kfctl delete -k DIR --yes                         delete the install `kfctl apply -k DIR` made
  kfctl delete --name demo --purge --yes            delete install `demo`, volumes and CRDs too")]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Also delete PersistentVolumeClaims, CRDs and namespaces holding user work
    ///
    /// Their data goes with them: a CRD takes every custom resource of its kind, a namespace
    /// everything in it.
    #[arg(long)]
    pub purge: bool,

    /// List what would be deleted and what kept, and change nothing
    ///
    /// Deletions are sent as server-side dry runs. No confirmation is asked.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete without asking for confirmation
    ///
    /// Required when stdin is not a terminal.
    #[arg(short, long)]
    pub yes: bool,

    /// How long deleting may take, waiting for objects to go included
    ///
    /// `90s`, `10m`, `1h30m`. When it passes, kfctl names each object still there and the
    /// finalizers holding it, and exits with 1. Default: `5m`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// How long to wait while another run holds the install's lock
    ///
    /// Delete holds Lease `kfctl-<name>` in `kube-system` as apply does; when another run holds
    /// it, kfctl waits this long, then names the holder and exits with 1. Default: `20s`.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,

    /// Output format
    ///
    /// `text` prints progress and a summary on stderr; `json` also prints one report on stdout
    /// (each object deleted or kept, and totals). Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl diff -p local                               what `kfctl apply -p local` would change
  kfctl diff -k DIR --exit-code                     exit 2 when something changed or drifted
  kfctl diff -f kfctl.yaml --fix --yes              apply what drifted, and report it
  kfctl diff -p local -o json                       one JSON report (docs/schema/diff.json)")]
pub struct DiffArgs {
    #[command(flatten)]
    pub install: InstallInputArgs,

    /// Exit with 2 when something would change or drifted
    ///
    /// `--exit-code=false` exits 0 whatever was found. Default: on when stdin is not a
    /// terminal (pipelines), off otherwise. Errors exit 1 either way.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub exit_code: Option<bool>,

    /// Apply the objects that differ, then report what was restored
    ///
    /// Runs `kfctl apply` for the created and changed objects only, taking back fields other
    /// field managers took (`--force-conflicts`), and takes stray objects out of the install
    /// (removes their membership label; they are not deleted). Ignored fields keep their live
    /// values. Asks for confirmation unless `--yes`.
    #[arg(long)]
    pub fix: bool,

    /// With `--fix`, apply without asking for confirmation
    ///
    /// Required for `--fix` when stdin is not a terminal.
    #[arg(short, long)]
    pub yes: bool,

    /// With `--fix`, how long the apply may take, waiting included
    ///
    /// Default: `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Output format
    ///
    /// `text` prints a coloured unified diff per changed object on stdout and a summary on stderr;
    /// `json` prints one report whose schema is `docs/schema/diff.json`. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl status                                      the install `kubeflow`
  kfctl status --name demo --watch                  refresh every 5 seconds
  kfctl status -p local -o json                     with the drifted fields, as JSON")]
pub struct StatusArgs {
    #[command(flatten)]
    pub install: InstallInputArgs,

    /// Refresh until interrupted
    ///
    /// Prints the status again every `--interval`; with `-o json`, one report per refresh.
    /// Ctrl-C or SIGTERM ends it, with the exit status of the last report.
    #[arg(short, long)]
    pub watch: bool,

    /// With `--watch`, how often to refresh
    ///
    /// Default: `5s`.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: std::time::Duration,

    /// Exit with 2 when something drifted
    ///
    /// Without it, `status` exits 0 whatever drifted; errors exit 1.
    #[arg(long)]
    pub exit_code: bool,

    /// Output format
    ///
    /// `text` prints a table on stdout; `json` one report (`docs/schema/status.json`).
    /// Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}
