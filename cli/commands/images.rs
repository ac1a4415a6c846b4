//! `kfctl images`: every container image a render uses, once each.

use anyhow::Result;

use super::Outcome;
use crate::args::OutputFormat;
use crate::lifecycle::render::render_input;
use crate::output::{Printer, Progress};
use crate::resource::images;
use crate::settings::ImagesSettings;

pub fn run(settings: &ImagesSettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let events = progress.events();
    let (_, rendered, _) = render_input(
        &settings.render.input,
        &settings.render.sources,
        false,
        events,
    )?;
    let list = images::collect(rendered.resources.iter());
    let text = match settings.output {
        OutputFormat::Yaml => list.iter().map(|i| format!("{i}\n")).collect(),
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&list)?),
    };
    printer.data(&text)?;
    Ok(Outcome::Success)
}
