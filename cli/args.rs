//! Command-line arguments. Clap types and their help, nothing else: values are merged with the
//! environment and `kfctl.yaml` in `settings`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// them by component, and reports each object that drifted, with its fields. The fields come
    /// from the render: the one `-p`, `-f` or `-k` gives, else the one the install's revision
    /// pins (its platform and `kfctl.yaml`, or its kustomization directory), made again. When
    /// that is not at hand (the files moved or changed), only the drifted objects are named.
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
    Platforms(PlatformsArgs),

    /// List the components of a release
    ///
    /// Each component with its description, the components it needs (enabling it enables them),
    /// and the upstream kustomization directories it is made of in that release.
    Components(ComponentsArgs),

    /// List the Kubeflow releases kfctl can render
    ///
    /// Each release with its upstream source and that source's default location. The default
    /// release is marked; pick another with `--release`.
    Releases(ReleasesArgs),

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

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl build DIR                                  render a kustomization directory
  kfctl build -p local                             render the local platform's components
  kfctl build -p gcp --set project=my-proj ...     render a platform with its parameters
  kfctl build -f kfctl.yaml                        render what kfctl.yaml describes")]
pub struct BuildArgs {
    /// The kustomization directory to render
    ///
    /// A directory holding `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    /// Default: the current directory, unless a platform or `kfctl.yaml` is given.
    #[arg(value_name = "DIR", conflicts_with_all = ["platform", "config", "set", "release", "source"])]
    pub dir: Option<PathBuf>,

    /// Render a platform's components instead of a directory
    ///
    /// One of the platforms `kfctl platforms` lists (`local`, `gcp`, `aws`, `azure`, `onprem`).
    /// Wins over `spec.platform` in `kfctl.yaml`. Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Render what a `kfctl.yaml` describes
    ///
    /// Its platform, release, components, sources and parameters; flags win over it.
    /// Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a platform parameter (repeatable)
    ///
    /// `--set project=my-proj`, or `--set <component>.<name>=VALUE` for a component's
    /// parameter. Wins over `kfctl.yaml` and the profile's defaults. The value is checked
    /// against the parameter's type and pattern. No environment variable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    #[command(flatten)]
    pub release: ReleaseArg,

    /// Use another location for an upstream source (repeatable)
    ///
    /// `--source kubeflow-manifests=PATH`: a directory holding the release's manifests, relative
    /// to the current directory; or `NAME=URL#sha256=HEX`, an archive fetched, verified and
    /// cached like a remote base. Wins over `spec.sources` in `kfctl.yaml`; default: the
    /// location the catalog names. No environment variable.
    #[arg(long, value_name = "NAME=PATH")]
    pub source: Vec<String>,

    #[command(flatten)]
    pub root: RootArg,

    /// Output format
    ///
    /// `yaml` prints a `---`-separated stream; `json` prints a JSON `List` object.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,

    /// Write one file per object into this directory instead of stdout
    ///
    /// Files are named `<group>_<version>_<kind>_<name>.yaml`, as `kustomize build -o DIR`
    /// names them. The directory is created if missing.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    #[command(flatten)]
    pub sources: SourceArgs,
}

/// How remote sources and images are reached.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Never use the network; fail naming any remote source missing from the cache
    ///
    /// Remote sources must already be in the cache (`kfctl sources pull`), or in a directory
    /// written by `kfctl sources mirror` that `KFCTL_CACHE_DIR` points at.
    /// Environment: `KFCTL_OFFLINE=1`.
    #[arg(long)]
    pub offline: bool,

    /// Rewrite every image reference to this registry prefix
    ///
    /// `--registry-mirror registry.local:5000/kf` turns `docker.io/library/mysql:8` and `mysql:8`
    /// into `registry.local:5000/kf/library/mysql:8`, and `gcr.io/ml-pipeline/api:2` into
    /// `registry.local:5000/kf/ml-pipeline/api:2`; tags and digests are kept.
    /// Environment: `KFCTL_REGISTRY_MIRROR`.
    #[arg(long, value_name = "PREFIX")]
    pub registry_mirror: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The KfDef file to read
    #[arg(value_name = "KFDEF")]
    pub kfdef: PathBuf,

    /// Where to write the config, `-` for stdout
    ///
    /// Default: `kfctl.yaml` in the current directory. An existing file is kept unless
    /// `--force` is given.
    #[arg(short, long, value_name = "FILE", default_value = "kfctl.yaml")]
    pub output: PathBuf,

    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Fetch every remote source of a render into the cache, pinning new ones in `kfctl.lock`
    Pull(SourcesArgs),
    /// Fetch every remote source again and rewrite `kfctl.lock` with what upstream serves now
    Update(SourcesArgs),
    /// Copy every remote source of a render and `kfctl.lock` into DIR, to carry to a machine
    /// without network
    ///
    /// Use it there with `KFCTL_CACHE_DIR=DIR kfctl build --offline ...`.
    Mirror(MirrorArgs),
}

#[derive(Debug, clap::Args)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, clap::Args)]
pub struct MirrorArgs {
    /// The directory to write (created if missing)
    #[arg(value_name = "DIR")]
    pub to: PathBuf,

    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl apply -p local --yes                        install the local platform's components
  kfctl apply -f kfctl.yaml                         install what kfctl.yaml describes
  kfctl apply -k DIR --name demo                    install a kustomization as install `demo`
  kfctl apply -f kfctl.yaml --dry-run               let the server check everything, change nothing")]
pub struct ApplyArgs {
    /// Apply a kustomization directory instead of a platform
    ///
    /// A directory holding `kustomization.yaml`, rendered as `kfctl build DIR` renders it.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", conflicts_with_all = ["platform", "config", "set", "release", "source"])]
    pub kustomize: Option<PathBuf>,

    /// Apply a platform's components
    ///
    /// One of the platforms `kfctl platforms` lists. Wins over `spec.platform` in `kfctl.yaml`.
    /// Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Apply what a `kfctl.yaml` describes
    ///
    /// Its platform, release, components, sources and parameters; flags win over it.
    /// Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a platform parameter (repeatable)
    ///
    /// `--set project=my-proj`, or `--set <component>.<name>=VALUE`, as for `kfctl build`.
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    #[command(flatten)]
    pub release: ReleaseArg,

    /// Use another location for an upstream source (repeatable)
    ///
    /// `--source kubeflow-manifests=PATH` or `NAME=URL#sha256=HEX`, as for `kfctl build`.
    #[arg(long, value_name = "NAME=PATH")]
    pub source: Vec<String>,

    #[command(flatten)]
    pub root: RootArg,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// The install's name
    ///
    /// Names the inventory, ConfigMap `kfctl-<name>` in `kube-system`: applies with the same
    /// name update one install. Lower-case letters, digits and `-`. Default: `kubeflow` for a
    /// platform, the directory's name for `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Let the API server check every object without storing anything
    ///
    /// A server-side dry run: admission and validation run, nothing is written and nothing is
    /// waited on. Objects whose namespace or CRD this apply would create cannot be checked and
    /// are reported as such. No confirmation is asked.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply without asking for confirmation
    ///
    /// Required when stdin is not a terminal.
    #[arg(short, long)]
    pub yes: bool,

    /// How long the whole apply may take, waiting included
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
    #[command(flatten)]
    pub sources: SourceArgs,
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
    /// The install's name
    ///
    /// Names the inventory, ConfigMap `kfctl-<name>` in `kube-system`. Default: the name
    /// `kfctl apply` gives with the same `-p`, `-f` or `-k`: `kubeflow`, or the directory's name
    /// for `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Name the install by the kustomization directory it was applied from
    ///
    /// Only the directory's name is used; nothing is rendered.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", conflicts_with_all = ["platform", "config"])]
    pub kustomize: Option<PathBuf>,

    /// Name the install by its platform
    ///
    /// The install must have been recorded with this platform. Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Name the install by the `kfctl.yaml` it was applied from
    ///
    /// Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

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
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub sources: SourceArgs,

    /// The install's name
    ///
    /// As for `kfctl apply`. Default: `kubeflow` for a platform, the directory's name for `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

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
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub sources: SourceArgs,

    /// The install's name
    ///
    /// Default: `kubeflow`, or the directory's name with `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

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

/// What to render, as `kfctl apply` takes it.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Render a kustomization directory
    ///
    /// A directory holding `kustomization.yaml`, rendered as `kfctl build DIR` renders it.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", conflicts_with_all = ["platform", "config", "set", "release", "source"])]
    pub kustomize: Option<PathBuf>,

    /// Render a platform's components
    ///
    /// One of the platforms `kfctl platforms` lists. Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Render what a `kfctl.yaml` describes, and use its `spec.drift.ignore` rules
    ///
    /// Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a platform parameter (repeatable)
    ///
    /// `--set project=my-proj`, or `--set <component>.<name>=VALUE`, as for `kfctl build`.
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    #[command(flatten)]
    pub release: ReleaseArg,

    /// Use another location for an upstream source (repeatable)
    ///
    /// `--source kubeflow-manifests=PATH`, as for `kfctl build`.
    #[arg(long, value_name = "NAME=PATH")]
    pub source: Vec<String>,

    #[command(flatten)]
    pub root: RootArg,
}

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
pub struct RollbackArgs {
    /// The revision to go back to
    ///
    /// A revision `kfctl history` lists. Default: the last one that succeeded before the
    /// current one.
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u32>,

    /// The install's name
    ///
    /// Default: `kubeflow`.
    #[arg(long, value_name = "NAME", default_value = "kubeflow")]
    pub name: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Let the API server check every object without storing anything
    #[arg(long)]
    pub dry_run: bool,

    /// Roll back without asking for confirmation
    ///
    /// Required when stdin is not a terminal.
    #[arg(short, long)]
    pub yes: bool,

    /// How long the rollback may take, waiting included
    ///
    /// `90s`, `10m`, `1h30m`. Default: `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Take over fields another field manager owns
    #[arg(long)]
    pub force_conflicts: bool,

    /// Output format
    ///
    /// `json` also prints one report on stdout. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The install's name
    ///
    /// Default: `kubeflow`.
    #[arg(long, value_name = "NAME", default_value = "kubeflow")]
    pub name: String,

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

    /// The install's name
    #[arg(long, value_name = "NAME", default_value = "kubeflow")]
    pub name: String,

    /// The namespace the job, its ServiceAccount and its configuration go to
    #[arg(long, value_name = "NAMESPACE", default_value = "kfctl-system")]
    pub namespace: String,

    /// How long the upgrade may take inside the job
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub timeout: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Which cluster to talk to.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig file to use
    ///
    /// Default: `KUBECONFIG`, else `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    ///
    /// Default: the kubeconfig's current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// `90s`, `10m`, `2h`, `1h30m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not a duration: write it as `90s`, `10m` or `1h30m`");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[derive(Debug, clap::Args)]
pub struct ReleaseArg {
    /// The Kubeflow release to use
    ///
    /// One of the releases `kfctl releases` lists (`1.10.2`, `1.11.0`, `latest`). Wins over
    /// `spec.release` in `kfctl.yaml`. Default: the newest (`latest`).
    /// Environment: `KFCTL_RELEASE`.
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RootArg {
    /// The directory holding kfctl's catalog, platform profiles and overlays
    ///
    /// It holds `manifests/catalog.yaml`, `platforms/` and `overlays/`. Default: the source
    /// tree kfctl was built from. Environment: `KFCTL_ROOT`.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PlatformsArgs {
    /// Output format
    ///
    /// `text` for people, `json` for programs. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,

    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, clap::Args)]
pub struct ComponentsArgs {
    #[command(flatten)]
    pub release: ReleaseArg,

    /// Output format
    ///
    /// `text` for people, `json` for programs. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,

    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, clap::Args)]
pub struct ReleasesArgs {
    /// Output format
    ///
    /// `text` for people, `json` for programs. Default: `text`.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,

    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The platform to install on
    ///
    /// One of the platforms `kfctl platforms` lists: `gcp`, `aws`, `azure`, `onprem`, `local`.
    /// Default: asked; `local` when nothing is asked.
    #[arg(long, value_name = "NAME")]
    pub platform: Option<String>,

    /// The Kubeflow release to install
    ///
    /// A release of the catalog (`kfctl releases` lists them). Default: asked; the newest when
    /// nothing is asked.
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,

    /// The components to enable, comma-separated
    ///
    /// What they need is enabled too, with a note saying so. Listing `gpu` is the same as
    /// `--gpu`. Default: asked; the platform's default components when nothing is asked.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub components: Option<Vec<String>>,

    /// Set a platform parameter (`NAME=VALUE`) or a component parameter (`COMPONENT.NAME=VALUE`)
    ///
    /// Repeat for each parameter. Values are checked as the prompts check them; a secret
    /// parameter takes a reference, `env:VAR` or `file:PATH`, never the value itself.
    /// Default: required parameters are asked; their defaults are used when nothing is asked.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// The admin user's e-mail address (the first Kubeflow user)
    ///
    /// Default: asked; `user@example.com` when nothing is asked.
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: Option<String>,

    /// Read the admin user's password from this environment variable
    ///
    /// The password is stored in `kfctl.yaml` only as a bcrypt hash. Default: asked, hidden and
    /// confirmed; required when nothing is asked (or `--admin-password-file`).
    #[arg(long, value_name = "VAR", conflicts_with = "admin_password_file")]
    pub admin_password_env: Option<String>,

    /// Read the admin user's password from this file
    ///
    /// The file's first line is the password; it is stored in `kfctl.yaml` only as a bcrypt
    /// hash. Default: asked, hidden and confirmed.
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,

    /// Enable GPU support (the `gpu` component)
    ///
    /// Default: asked; the platform's default when nothing is asked.
    #[arg(long, overrides_with = "no_gpu")]
    pub gpu: bool,

    /// Disable GPU support
    #[arg(long, overrides_with = "gpu")]
    pub no_gpu: bool,

    /// The storage class for volumes (the `storageClass` parameter)
    ///
    /// Default: asked; the platform's default (`standard-rwo` on gcp, `gp3` on aws,
    /// `managed-csi` on azure, `standard` locally) when nothing is asked.
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,

    /// Ask nothing: take defaults for answers not given, and write without confirming
    ///
    /// Answers that have no default must then be given as flags; kfctl names those missing.
    #[arg(short, long)]
    pub yes: bool,

    /// Where to write the config
    ///
    /// Default: `kfctl.yaml` in the current directory.
    #[arg(short, long, value_name = "FILE", default_value = "kfctl.yaml")]
    pub output: PathBuf,

    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub root: RootArg,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
