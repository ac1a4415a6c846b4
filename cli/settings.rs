//! Settings: the arguments merged with the environment (and, for commands that read one,
//! `kfctl.yaml`). Flags win over `KFCTL_*` variables, which win over the file and the defaults.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::args::{BuildArgs, ColorChoice, GlobalArgs, OutputFormat};

/// Settings every command shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSettings {
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub show_settings: bool,
}

impl GlobalSettings {
    pub fn resolve(args: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match args.color.unwrap_or(ColorChoice::Auto) {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        GlobalSettings {
            color,
            quiet: args.quiet,
            verbose: args.verbose,
            show_settings: args.show_settings,
        }
    }
}

/// What `kfctl build` renders and where it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    pub dir: PathBuf,
    pub output: OutputFormat,
    pub output_dir: Option<PathBuf>,
}

impl BuildSettings {
    pub fn resolve(args: &BuildArgs) -> Self {
        BuildSettings {
            dir: args.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            output: args.output,
            output_dir: args.output_dir.clone(),
        }
    }
}
