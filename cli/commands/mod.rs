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
    // The settings, then the command run with them, unless `--show-settings` shows them.
    macro_rules! with {
        ($settings:expr, |$s:ident| $run:expr) => {{
            let $s = $settings;
            unless_shown(global, &$s, printer, $run).await
        }};
    }
    match args.command {
        Command::Build(a) => with!(loaded(BuildSettings::resolve(&a, env))?, |s| async {
            build::run(&s, printer)
        }),
        Command::Apply(a) => with!(loaded(ApplySettings::resolve(&a, env))?, |s| apply::run(
            &s, printer
        )),
        Command::Delete(a) => with!(loaded(DeleteSettings::resolve(&a, env))?, |s| delete::run(
            &s, printer
        )),
        Command::Diff(a) => with!(loaded(DiffSettings::resolve(&a, env))?, |s| diff::run(
            &s, printer
        )),
        Command::Status(a) => with!(loaded(StatusSettings::resolve(&a, env))?, |s| status::run(
            &s, printer
        )),
        Command::Upgrade(a) => with!(loaded(UpgradeSettings::resolve(&a, env))?, |s| {
            upgrade::run(&s, printer)
        }),
        Command::Rollback(a) => with!(loaded(RollbackSettings::resolve(&a, env))?, |s| {
            rollback::run(&s, printer)
        }),
        Command::History(a) => with!(loaded(HistorySettings::resolve(&a, env))?, |s| {
            history::run(&s, printer)
        }),
        Command::Generate(crate::args::GenerateCommand::UpgradeJob(a)) => {
            with!(loaded(UpgradeJobSettings::resolve(&a, env))?, |s| {
                generate::upgrade_job(&s, printer)
            })
        }
        Command::Init(a) => with!(InitSettings::resolve(&a), |s| async {
            init::run(&s, printer)
        }),
        Command::Platforms(a) => with!(CatalogSettings::listing(&a, None, env), |s| async {
            catalog::platforms(&s, printer)
        }),
        Command::Components(a) => {
            let settings = CatalogSettings::listing(&a.list, Some(&a.release), env);
            with!(settings, |s| async { catalog::components(&s, printer) })
        }
        Command::Releases(a) => with!(CatalogSettings::listing(&a, None, env), |s| async {
            catalog::releases(&s, printer)
        }),
        Command::Images(a) => with!(loaded(ImagesSettings::resolve(&a, env))?, |s| async {
            images::run(&s, printer)
        }),
        Command::Sources(c) => with!(loaded(SourcesSettings::resolve(&c, env))?, |s| async {
            sources::run(&s, printer)
        }),
        Command::Import(a) => with!(CatalogSettings::resolve(&a.write.root, None, env), |s| {
            async { import::run(&a, &s, printer) }
        }),
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
