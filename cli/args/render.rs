//! Arguments of the commands that render without a cluster: `build`, `import`, `images` and
//! `sources`.

use std::path::PathBuf;

use clap::Subcommand;

use super::shared::{OutputFormat, ReleaseArg, RootArg, SourceArgs};

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
