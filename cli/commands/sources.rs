//! `kfctl sources pull|update|mirror`: fill the cache, re-pin, or carry sources to an
//! air-gapped machine.

use anyhow::{Context, Result};

use super::Outcome;
use crate::lifecycle::render::render_input;
use crate::output::{Printer, Progress};
use crate::settings::SourcesSettings;

pub fn run(settings: &SourcesSettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let events = progress.events();
    let render = &settings.render;
    let (_, _, sources) = render_input(&render.input, &render.sources, settings.update, events)?;
    let resolved = sources.resolved();
    let mut out = String::new();
    for r in &resolved {
        let how = if r.fetched { "fetched" } else { "cached" };
        out.push_str(&format!("{how} {} sha256:{}\n", r.url, r.sha256));
    }
    printer.data(&out)?;
    if let Some(dir) = &settings.mirror {
        let n = sources
            .mirror(dir)
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
