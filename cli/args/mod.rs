//! Command-line arguments. Clap types and their help, nothing else: values are merged with the
//! environment and `kfctl.yaml` in `settings`.

use clap::{Parser, Subcommand, ValueEnum};

mod catalog;
mod install;
mod render;
mod shared;
mod upgrade;

pub use catalog::{CompletionsArgs, ComponentsArgs, InitArgs, ListArgs};
pub use install::{ApplyArgs, ApplyRunArgs, DeleteArgs, DiffArgs, InstallInputArgs, StatusArgs};
pub use render::{
    BuildArgs, ImagesArgs, ImportArgs, MirrorArgs, RenderArgs, SourcesArgs, SourcesCommand,
};
pub use shared::{
    ClusterArgs, InputArgs, ListFormat, OutputFormat, ReleaseArg, RootArg, SourceArgs, TargetArgs,
    WriteConfigArgs, parse_duration,
};
pub use upgrade::{GenerateCommand, HistoryArgs, RollbackArgs, UpgradeArgs, UpgradeJobArgs};

/// Install, upgrade and keep Kubeflow healthy on Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "kfctl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Args {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print more about what kfctl does (repeat for more)
    ///
    /// `-v` shows each step, `-vv` debug details, `-vvv` everything. Logs go to stderr.
    /// `RUST_LOG` overrides this with a `tracing` filter.
    #[arg(global = true, short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print only errors
    ///
    /// Warnings and progress are hidden; data written to stdout is unchanged.
    #[arg(global = true, short, long)]
    pub quiet: bool,

    /// When to color the output
    ///
    /// `auto` colors when stderr is a terminal and `NO_COLOR` is unset.
    /// Default: `auto`. Environment: `KFCTL_COLOR`.
    #[arg(
        global = true,
        long,
        value_enum,
        env = "KFCTL_COLOR",
        value_name = "WHEN"
    )]
    pub color: Option<ColorChoice>,

    /// Print the resolved settings and exit
    #[arg(global = true, long, hide = true)]
    pub show_settings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a kustomization to YAML, as `kubectl kustomize` does
    ///
    /// Prints the rendered objects as a multi-document YAML stream on stdout, in the same order
    /// as `kubectl kustomize DIR`. Nothing is sent to a cluster.
    Build(BuildArgs),

    /// Install a platform or a kustomization on a cluster, and wait until it is healthy
    ///
    /// Renders what `kfctl build` would print, then sends it with server-side apply (field
    /// manager `kfctl`) in waves: namespaces and CRDs (waiting until the CRDs are served), RBAC
    /// and configuration, webhook backends, webhook configurations, then workloads and custom
    /// resources. Objects that would not change are not written. Ends when everything applied
    /// is healthy, or names what is not when `--timeout` passes. What was applied is recorded
    /// in a kubectl ApplySet parent, ConfigMap `kfctl-<name>` in `kube-system`.
    Apply(ApplyArgs),

    /// Remove an install, keeping volumes, CRDs and namespaces still in use
    ///
    /// Reads the install's inventory (ConfigMap `kfctl-<name>` in `kube-system`), not a render:
    /// what it lists and every object labelled as its member are deleted in the reverse of
    /// apply's waves, each wave waited on until it is gone. PersistentVolumeClaims, CRDs (and so
    /// the custom resources of them) and namespaces holding user work that is not the install's
    /// (pods, volumes, workloads, custom resources) are kept, and released from the install,
    /// unless `--purge`. An object still there when `--timeout` passes is named with the
    /// finalizers holding it. The inventory goes last.
    Delete(DeleteArgs),
    /// Show what an apply would change, and what drifted since the last one
    ///
    /// Renders like `kfctl apply` and compares with the install's live objects on the fields
    /// kfctl's field manager owns: each object is created, changed, pruned or unchanged, with a
    /// unified diff (Secret values masked) and its drift: modified, missing, foreign-owned (another
    /// field manager took a field kfctl set) or stray (labelled as a member, not recorded). Server
    /// defaults, controllers' fields and injected sidecars are not drift. One LIST per kind; a
    /// server-side dry run only for objects that changed. Exit codes: 0 no changes, 2 changes
    /// (with `--exit-code`, the default when stdin is not a terminal), 1 error.
    Diff(DiffArgs),

    /// Show an install: what was applied, its health per component, and drift per object
    ///
    /// Reads the install's inventory (release, platform, when it was applied), lists its members
    /// (one request per kind), judges each with the readiness rules of `kfctl apply` and groups
    /// them by the catalog component the inventory records for each (`istio`, `pipelines`, …; a
    /// kustomization's by label or namespace), and reports each object that drifted, with its
    /// fields. The fields come from the render: the one `-p`, `-f` or `-k` gives, else the one
    /// the install's revision pins (its platform and `kfctl.yaml`, or its kustomization
    /// directory), made again. When that is not at hand (the files moved or changed), only the
    /// drifted objects are named.
    Status(StatusArgs),
    /// Upgrade an install to another release, after showing what will change
    ///
    /// Renders the install again at `--to RELEASE` (its platform, components and parameters as
    /// recorded, or as `-p`/`-f`/`-k` give them), shows the plan (objects created, changed and
    /// pruned, images, CRD versions, fields that need a recreate, components) and lists the
    /// fields other managers own that the upgrade would take, before anything is written.
    /// Applied like `kfctl apply`, recorded as a revision (`kfctl history`).
    Upgrade(UpgradeArgs),

    /// Go back to an earlier revision of an install
    ///
    /// Renders the revision again from what the record pins (platform, release, components,
    /// parameters; a `-k` install's directory must render as it did) and applies it. A CRD is
    /// not downgraded when that would drop a version objects are stored in: kfctl keeps the
    /// newer CRD and says so.
    Rollback(RollbackArgs),

    /// List the revisions of an install
    ///
    /// Each apply, upgrade and rollback: its number, action, release, result, when it started
    /// and ended, and who ran it. The record keeps the last 20.
    History(HistoryArgs),

    /// Write manifests that run kfctl in the cluster
    #[command(subcommand)]
    Generate(GenerateCommand),

    /// Write a `kfctl.yaml` by answering a few questions
    ///
    /// Asks for the platform, the Kubeflow release, the components (what they need is added),
    /// GPU support, the platform's required parameters, the storage class and the admin user,
    /// shows a summary and writes `kfctl.yaml` once confirmed. Every answer can be given as a
    /// flag instead. With `--yes`, or when stdin is not a terminal, nothing is asked: answers not
    /// given take their defaults, and if some have none, kfctl names the flags to pass and writes
    /// nothing. Ctrl-C writes nothing.
    Init(InitArgs),
    /// List the platforms kfctl has profiles for
    ///
    /// Each platform with its description, default components and parameters (which are
    /// required, and their defaults). Pick one with `kfctl build -p PLATFORM`.
    Platforms(ListArgs),

    /// List the components of a release
    ///
    /// Each component with its description, the components it needs (enabling it enables them),
    /// and the upstream kustomization directories it is made of in that release.
    Components(ComponentsArgs),

    /// List the Kubeflow releases kfctl can render
    ///
    /// Each release with its upstream source and that source's default location. The default
    /// release is marked; pick another with `--release`.
    Releases(ListArgs),

    /// List every container image a render uses, once each
    ///
    /// Renders what `kfctl build` would (same inputs) and prints the images of every workload's
    /// containers, init containers and ephemeral containers, sorted, one per line: the list
    /// to copy into a private registry for an air-gapped install.
    Images(ImagesArgs),

    /// Fetch, pin and mirror remote sources (archives and remote kustomize bases)
    ///
    /// Remote resources are verified against the sha256 pinned in `kfctl.lock` (written beside
    /// `kfctl.yaml` or the kustomization on first fetch) and cached in
    /// `~/.cache/kfctl/sources/<sha256>/` (`KFCTL_CACHE_DIR`, `XDG_CACHE_HOME`).
    #[command(subcommand)]
    Sources(SourcesCommand),

    /// Turn a kfctl v1 KfDef into a `kfctl.yaml`
    ///
    /// Reads a KfDef (`apiVersion: kfdef.apps.kubeflow.org/v1`), picks the platform from its
    /// plugin (`KfGcpPlugin` → `gcp`, `KfAwsPlugin` → `aws`, none → `onprem`), maps its
    /// applications to components and its plugin settings to platform parameters, on the
    /// catalog's newest release, and lists on stderr everything it could not carry over and
    /// why, with the required parameters still to set.
    Import(ImportArgs),

    /// Print a shell completion script
    ///
    /// For example: `kfctl completions bash > /etc/bash_completion.d/kfctl`.
    Completions(CompletionsArgs),
}
