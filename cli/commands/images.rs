//! `kfctl images`: every container image a render uses, once each.

use anyhow::Result;

use super::Outcome;
use crate::args::OutputFormat;
use crate::lifecycle::render::render_input;
use crate::lifecycle::{Event, Events};
use crate::output::{Printer, Progress};
use crate::resource::images;
use crate::settings::BuildSettings;

pub fn run(settings: &BuildSettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let on_event = |event: Event<'_>| progress.event(event);
    let events = Events::new(&on_event, !printer.quiet);
    let (_, rendered, _) = render_input(&settings.input, &settings.sources, false, events)?;
    let list = images::collect(rendered.resources.iter());
    let text = match settings.output {
        OutputFormat::Yaml => list.iter().map(|i| format!("{i}\n")).collect(),
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&list)?),
    };
    printer.data(&text)?;
    Ok(Outcome::Success)
}
