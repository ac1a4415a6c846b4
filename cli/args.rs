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
    /// to the current directory. Wins over `spec.sources` in `kfctl.yaml`; default: the
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
