//! Settings: the arguments merged with the environment (and, for commands that read one,
//! `kfctl.yaml`). Flags win over `KFCTL_*` variables, which win over the file and the defaults.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::args::{BuildArgs, ColorChoice, GlobalArgs, InitArgs, OutputFormat};

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

/// Where `kfctl init` reads the admin password from, when not asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Env(String),
    File(PathBuf),
}

/// The answers `kfctl init` was given, and whether it may ask for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSettings {
    pub platform: Option<String>,
    pub release: Option<String>,
    pub components: Option<Vec<String>>,
    pub set: Vec<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<PasswordSource>,
    pub gpu: Option<bool>,
    pub storage_class: Option<String>,
    pub output: PathBuf,
    pub force: bool,
    /// `None` when prompts may be shown; otherwise why not.
    pub no_prompt_reason: Option<String>,
}

impl InitSettings {
    pub fn resolve(args: &InitArgs) -> Self {
        let admin_password = match (&args.admin_password_env, &args.admin_password_file) {
            (Some(var), _) => Some(PasswordSource::Env(var.clone())),
            (None, Some(file)) => Some(PasswordSource::File(file.clone())),
            (None, None) => None,
        };
        let gpu = match (args.gpu, args.no_gpu) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        // Prompts read stdin and draw on stderr: both must be a terminal.
        let no_prompt_reason = if args.yes {
            Some("`--yes` asks nothing".to_owned())
        } else if !std::io::stdin().is_terminal() {
            Some("stdin is not a terminal".to_owned())
        } else if !std::io::stderr().is_terminal() {
            Some("stderr is not a terminal".to_owned())
        } else {
            None
        };
        InitSettings {
            platform: args.platform.clone(),
            release: args.release.clone(),
            components: args.components.clone(),
            set: args.set.clone(),
            admin_email: args.admin_email.clone(),
            admin_password,
            gpu,
            storage_class: args.storage_class.clone(),
            output: args.output.clone(),
            force: args.force,
            no_prompt_reason,
        }
    }
}
