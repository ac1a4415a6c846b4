//! Arguments of the commands that list what can be installed and write `kfctl.yaml`:
//! `platforms`, `components`, `releases`, `completions` and `init`.

use std::path::PathBuf;

use super::shared::{ListFormat, ReleaseArg, RootArg, WriteConfigArgs};

/// What `platforms` and `releases` take, and `components` besides its release.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
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

    #[command(flatten)]
    pub list: ListArgs,
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

    #[command(flatten)]
    pub write: WriteConfigArgs,
}
