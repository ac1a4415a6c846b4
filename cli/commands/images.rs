//! `kfctl images`: every container image a render uses, once each.

use anyhow::Result;

use super::Outcome;
use crate::args::OutputFormat;
use crate::output::Printer;
use crate::resource::images;
use crate::settings::ImagesSettings;

pub fn run(settings: &ImagesSettings, printer: Printer) -> Result<Outcome> {
    let (_, rendered, _) = super::build::render_input(
        &settings.render.input,
        &settings.render.sources,
        false,
        printer,
    )?;
    let list = images::collect(rendered.resources.iter());
    let text = match settings.output {
        OutputFormat::Yaml => list.iter().map(|i| format!("{i}\n")).collect(),
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&list)?),
    };
    printer.data(&text)?;
    Ok(Outcome::Success)
}
