//! `kfctl build DIR`: render a kustomization, print it (or write one file per object).
//! `kfctl build -p PLATFORM` / `-f kfctl.yaml`: resolve a profile and render its components.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::Outcome;
use crate::args::OutputFormat;
use crate::errors::UserError;
use crate::lifecycle::render::render_input;
use crate::output::{Printer, Progress};
use crate::resource::{Resource, yaml};
use crate::settings::BuildSettings;

pub fn run(settings: &BuildSettings, printer: Printer) -> Result<Outcome> {
    let progress = Progress::on_stderr(printer, false);
    let events = progress.events();
    let render = &settings.render;
    let (_, rendered, _) = render_input(&render.input, &render.sources, false, events)?;
    for warning in &rendered.warnings {
        printer.warn(warning);
    }
    let objects: Vec<&Value> = rendered.resources.iter().map(|r| &r.body).collect();
    match &settings.output_dir {
        Some(dir) => write_dir(dir, rendered.resources.as_slice(), settings.output, printer)?,
        None => printer.data(&format_objects(&objects, settings.output)?)?,
    }
    Ok(Outcome::Success)
}

fn format_objects(objects: &[&Value], output: OutputFormat) -> Result<String> {
    Ok(match output {
        OutputFormat::Yaml => yaml::to_yaml_stream(objects.iter().copied()),
        OutputFormat::Json => {
            let list = serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": objects,
            });
            let mut text = serde_json::to_string_pretty(&list)?;
            text.push('\n');
            text
        }
    })
}

/// One file per object, named as `kustomize build -o DIR` names them.
fn write_dir(
    dir: &Path,
    resources: &[Resource],
    output: OutputFormat,
    printer: Printer,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory `{}`", dir.display()))?;
    let ext = match output {
        OutputFormat::Yaml => "yaml",
        OutputFormat::Json => "json",
    };
    for res in resources {
        let gvk = res.gvk();
        let mut parts: Vec<&str> = Vec::new();
        if !gvk.group.is_empty() {
            parts.push(&gvk.group);
        }
        parts.push(&gvk.version);
        parts.push(&gvk.kind);
        let name = res.name();
        parts.push(name);
        let name = format!("{}.{ext}", parts.join("_").to_lowercase());
        // The name is the object's, which a kustomization chooses: it must stay one file name
        // inside `dir` (no `/`, no NUL).
        if name.contains(['/', '\0']) {
            return Err(UserError::new(format!(
                "object {} cannot be written to a file of its own: its kind or name holds a `/`",
                res.id()
            ))
            .with_hint(
                "a Kubernetes name never holds `/`; fix the object's name in the kustomization",
            )
            .into());
        }
        let file = dir.join(name);
        let text = match output {
            OutputFormat::Yaml => yaml::to_yaml(&res.body),
            OutputFormat::Json => {
                let mut t = serde_json::to_string_pretty(&res.body)?;
                t.push('\n');
                t
            }
        };
        std::fs::write(&file, text)
            .with_context(|| format!("cannot write `{}`", file.display()))?;
    }
    printer.info(&format!(
        "wrote {} objects to `{}`",
        resources.len(),
        dir.display()
    ));
    Ok(())
}
