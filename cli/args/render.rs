//! Arguments of the commands that render without a cluster: `build`, `import`, `images` and
//! `sources`.

use std::path::PathBuf;

use clap::Subcommand;

use super::shared::{InputArgs, OutputFormat, SourceArgs, WriteConfigArgs};

/// What a command that renders without a cluster renders: a directory, given as `DIR` (as
/// `kubectl kustomize DIR` takes it) or `-k DIR`, a platform or a `kfctl.yaml`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The kustomization directory to render, as `-k DIR`
    ///
    /// A directory holding `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    /// Default: the current directory, unless a platform or `kfctl.yaml` is given.
    #[arg(value_name = "DIR", conflicts_with_all = ["kustomize", "platform", "config", "set", "release", "source"])]
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kfctl build DIR                                  render a kustomization directory (or -k DIR)
  kfctl build -p local                             render the local platform's components
  kfctl build -p gcp --set project=my-proj ...     render a platform with its parameters
  kfctl build -f kfctl.yaml                        render what kfctl.yaml describes")]
pub struct BuildArgs {
    #[command(flatten)]
    pub render: RenderArgs,

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

// Unlike `init`, `import` writes to stdout too.
#[derive(Debug, clap::Args)]
#[command(mut_arg("output", |a| a
    .help("Where to write the config, `-` for stdout")
    .long_help("Where to write the config, `-` for stdout\n\nDefault: `kfctl.yaml` in the current directory. An existing file is kept unless `--force` is given.")))]
pub struct ImportArgs {
    /// The KfDef file to read
    #[arg(value_name = "KFDEF")]
    pub kfdef: PathBuf,

    #[command(flatten)]
    pub write: WriteConfigArgs,
}

// `images`, `sources pull` and `sources update` took a positional DIR before they took `-k`;
// it still works, but `--help` shows only `-k`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("dir", |a| a.hide(true)),
    after_help = "Examples:
  kfctl images -p local                            the images of the local platform
  kfctl images -f kfctl.yaml -o json               the images kfctl.yaml needs, as JSON
  kfctl images -k DIR --registry-mirror reg:5000   a kustomization's images, as mirrored"
)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub render: RenderArgs,

    /// Output format
    ///
    /// `yaml` prints one image per line; `json` prints a JSON array of them.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,
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
#[command(
    mut_arg("dir", |a| a.hide(true)),
    after_help = "Examples:
  kfctl sources pull -f kfctl.yaml                 fetch and pin what kfctl.yaml renders
  kfctl sources update -k DIR                      fetch again and re-pin a kustomization's"
)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub render: RenderArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    mut_arg("dir", |a| a.hide(true)),
    after_help = "Examples:
  kfctl sources mirror /mnt/usb -f kfctl.yaml      copy what kfctl.yaml renders to a USB disk
  kfctl sources mirror /mnt/usb -k DIR             the same for a kustomization"
)]
pub struct MirrorArgs {
    /// The directory to write (created if missing)
    #[arg(value_name = "DIR")]
    pub to: PathBuf,

    #[command(flatten)]
    pub render: RenderArgs,
}
