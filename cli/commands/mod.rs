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
mod rollback;
mod sources;
mod status;
mod upgrade;

use anyhow::{Context, Result};

use crate::args::{Args, Command};
use crate::errors::UserError;
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
/// command (tests read them); otherwise runs it. `run` is not started when the settings are shown.
async fn unless_shown(
    global: &GlobalSettings,
    settings: &impl std::fmt::Debug,
    printer: Printer,
    run: impl Future<Output = Result<Outcome>>,
) -> Result<Outcome> {
    if global.show_settings {
        printer.data(&format!("{global:#?}\n{settings:#?}\n"))?;
        return Ok(Outcome::Success);
    }
    run.await
}

/// The error of a command that renders an install when neither `-p`, `-f` nor `-k` says what:
/// "nothing to `verb`", and a hint ending in `hint_tail`.
fn nothing_given(verb: &str, hint_tail: &str) -> anyhow::Error {
    UserError::new(format!(
        "nothing to {verb}: no platform, `kfctl.yaml` or kustomization was given"
    ))
    .with_hint(format!(
        "pass `-p PLATFORM`, `-f kfctl.yaml` or `-k DIR`{hint_tail}"
    ))
    .into()
}

/// A command's settings, or why the configuration cannot be loaded.
fn loaded<S, E>(settings: Result<S, E>) -> Result<S>
where
    E: std::error::Error + Send + Sync + 'static,
{
    settings.context("cannot load the configuration")
}

pub async fn run(args: Args, global: &GlobalSettings, printer: Printer) -> Result<Outcome> {
    let env = &ProcessEnv;
    match args.command {
        Command::Build(a) => {
            let s = loaded(BuildSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, async { build::run(&s, printer) }).await
        }
        Command::Apply(a) => {
            let s = loaded(ApplySettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, apply::run(&s, printer)).await
        }
        Command::Delete(a) => {
            let s = loaded(DeleteSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, delete::run(&s, printer)).await
        }
        Command::Diff(a) => {
            let s = loaded(DiffSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, diff::run(&s, printer)).await
        }
        Command::Status(a) => {
            let s = loaded(StatusSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, status::run(&s, printer)).await
        }
        Command::Upgrade(a) => {
            let s = loaded(UpgradeSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, upgrade::run(&s, printer)).await
        }
        Command::Rollback(a) => {
            let s = loaded(RollbackSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, rollback::run(&s, printer)).await
        }
        Command::History(a) => {
            let s = loaded(HistorySettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, history::run(&s, printer)).await
        }
        Command::Generate(crate::args::GenerateCommand::UpgradeJob(a)) => {
            let s = loaded(UpgradeJobSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, generate::upgrade_job(&s, printer)).await
        }
        Command::Init(a) => {
            let s = InitSettings::resolve(&a);
            unless_shown(global, &s, printer, async { init::run(&s, printer) }).await
        }
        Command::Platforms(a) => {
            let s = CatalogSettings::resolve(&a.root, None, env);
            let run = async { catalog::platforms(&s, a.output, printer) };
            unless_shown(global, &s, printer, run).await
        }
        Command::Components(a) => {
            let s = CatalogSettings::resolve(&a.list.root, Some(&a.release), env);
            let run = async { catalog::components(&s, a.list.output, printer) };
            unless_shown(global, &s, printer, run).await
        }
        Command::Releases(a) => {
            let s = CatalogSettings::resolve(&a.root, None, env);
            let run = async { catalog::releases(&s, a.output, printer) };
            unless_shown(global, &s, printer, run).await
        }
        Command::Images(a) => {
            let s = loaded(ImagesSettings::resolve(&a, env))?;
            unless_shown(global, &s, printer, async { images::run(&s, printer) }).await
        }
        Command::Sources(command) => {
            let s = loaded(SourcesSettings::resolve(&command, env))?;
            unless_shown(global, &s, printer, async { sources::run(&s, printer) }).await
        }
        Command::Import(a) => {
            let s = CatalogSettings::resolve(&a.write.root, None, env);
            unless_shown(global, &s, printer, async { import::run(&a, &s, printer) }).await
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
