//! `kfctl sources pull|update|mirror`: fill the cache, re-pin, or carry sources to an
//! air-gapped machine.

use anyhow::{Context, Result};

use super::Outcome;
use crate::args::SourcesCommand;
use crate::lifecycle::render::render_input;
use crate::lifecycle::{Event, Events};
use crate::output::{Printer, Progress};
use crate::settings::{BuildSettings, ProcessEnv};

pub fn run(command: SourcesCommand, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let on_event = |event: Event<'_>| progress.event(event);
    let events = Events::new(&on_event, !printer.quiet);
    let (build, update, mirror) = match command {
        SourcesCommand::Pull(a) => (a.build, false, None),
        SourcesCommand::Update(a) => (a.build, true, None),
        SourcesCommand::Mirror(a) => (a.build, false, Some(a.to)),
    };
    let settings =
        BuildSettings::resolve(&build, &ProcessEnv).context("cannot load the configuration")?;
    let (_, _, sources) = render_input(&settings.input, &settings.sources, update, events)?;
    let resolved = sources.resolved();
    let mut out = String::new();
    for r in &resolved {
        let how = if r.fetched { "fetched" } else { "cached" };
        out.push_str(&format!("{how} {} sha256:{}\n", r.url, r.sha256));
    }
    printer.data(&out)?;
    if let Some(dir) = mirror {
        let n = sources
            .mirror(&dir)
            .with_context(|| format!("cannot mirror sources into `{}`", dir.display()))?;
        printer.info(&format!(
            "wrote {n} sources and `kfctl.lock` to `{}`; use them with `KFCTL_CACHE_DIR={} kfctl build --offline`",
            dir.display(),
            dir.display()
        ));
    } else {
        printer.info(&format!(
            "{} remote sources in `{}`",
            resolved.len(),
            sources.sources_dir().display()
        ));
    }
    Ok(Outcome::Success)
}
