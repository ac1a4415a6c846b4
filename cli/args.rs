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

    /// Print a shell completion script
    ///
    /// For example: `kfctl completions bash > /etc/bash_completion.d/kfctl`.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The kustomization directory to render
    ///
    /// A directory holding `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    /// Default: the current directory.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

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
