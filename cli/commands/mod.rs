//! One function per command, given its settings and a `Printer`, returning an `Outcome`.

mod apply;
mod build;
mod catalog;
mod delete;
mod diff;
mod generate;
mod history;
mod images;
mod import;
mod init;
mod progress;
mod prune;
mod rollback;
mod sources;
mod status;
mod upgrade;

use anyhow::{Context, Result};

use crate::args::{Args, Command};
use crate::output::Printer;
use crate::settings::{
    ApplySettings, BuildSettings, CatalogSettings, DeleteSettings, DiffSettings, GlobalSettings,
    HistorySettings, ImagesSettings, InitSettings, ProcessEnv, RollbackSettings, SourcesSettings,
    StatusSettings, UpgradeJobSettings, UpgradeSettings,
};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Changes or drift were found and `--exit-code` asked to say so.
    Changes,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Changes => 2,
        }
    }
}

/// With the hidden `--show-settings`, prints the resolved settings instead of running the
/// command (tests read them); says whether it did.
fn shown(
    global: &GlobalSettings,
    settings: &impl std::fmt::Debug,
    printer: Printer,
) -> Result<bool> {
    if global.show_settings {
        printer.data(&format!("{global:#?}\n{settings:#?}\n"))?;
    }
    Ok(global.show_settings)
}

pub async fn run(args: Args, global: &GlobalSettings, printer: Printer) -> Result<Outcome> {
    match args.command {
        Command::Build(build_args) => {
            let settings = BuildSettings::resolve(&build_args, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            build::run(&settings, printer)
        }
        Command::Apply(apply_args) => {
            let settings = ApplySettings::resolve(&apply_args, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            apply::run(&settings, printer).await
        }
        Command::Delete(delete_args) => {
            let settings = DeleteSettings::resolve(&delete_args, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            delete::run(&settings, printer).await
        }
        Command::Diff(diff_args) => {
            let settings = DiffSettings::resolve(&diff_args, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            diff::run(&settings, printer).await
        }
        Command::Status(status_args) => {
            let settings = StatusSettings::resolve(&status_args, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            status::run(&settings, printer).await
        }
        Command::Upgrade(a) => {
            let settings = UpgradeSettings::resolve(&a, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            upgrade::run(&settings, printer).await
        }
        Command::Rollback(a) => {
            let settings = RollbackSettings::resolve(&a, &ProcessEnv, apply::default_name_of)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            rollback::run(&settings, printer).await
        }
        Command::History(a) => {
            let settings = HistorySettings::resolve(&a, &ProcessEnv, apply::default_name_of)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            history::run(&settings, printer).await
        }
        Command::Generate(crate::args::GenerateCommand::UpgradeJob(a)) => {
            let settings = UpgradeJobSettings::resolve(&a, &ProcessEnv, apply::default_name_of)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            generate::upgrade_job(&settings, printer).await
        }
        Command::Init(init_args) => {
            let settings = InitSettings::resolve(&init_args);
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            init::run(&settings, printer)
        }
        Command::Platforms(a) => {
            let settings = CatalogSettings::resolve(&a.root, None, &ProcessEnv);
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            catalog::platforms(&settings, a.output, printer)
        }
        Command::Components(a) => {
            let settings = CatalogSettings::resolve(&a.root, Some(&a.release), &ProcessEnv);
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            catalog::components(&settings, a.output, printer)
        }
        Command::Releases(a) => {
            let settings = CatalogSettings::resolve(&a.root, None, &ProcessEnv);
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            catalog::releases(&settings, a.output, printer)
        }
        Command::Images(a) => {
            let settings = ImagesSettings::resolve(&a, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            images::run(&settings, printer)
        }
        Command::Sources(command) => {
            let settings = SourcesSettings::resolve(&command, &ProcessEnv)
                .context("cannot load the configuration")?;
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            sources::run(&settings, printer)
        }
        Command::Import(a) => {
            let settings = CatalogSettings::resolve(&a.root, None, &ProcessEnv);
            if shown(global, &settings, printer)? {
                return Ok(Outcome::Success);
            }
            import::run(&a, &settings, printer)
        }
        Command::Completions(c) => {
            use clap::CommandFactory;
            let mut cmd = Args::command();
            let mut buf = Vec::new();
            clap_complete::generate(c.shell, &mut cmd, "kfctl", &mut buf);
            printer.data(&String::from_utf8_lossy(&buf))?;
            Ok(Outcome::Success)
        }
    }
}
