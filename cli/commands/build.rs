//! `kfctl build DIR`: render a kustomization, print it (or write one file per object).
//! `kfctl build -p PLATFORM` / `-f kfctl.yaml`: resolve a profile and render its components.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::Outcome;
use crate::args::OutputFormat;
use crate::output::Printer;
use crate::profile::{self, Request};
use crate::render::{self, RealFs};
use crate::resource::{Resource, yaml};
use crate::settings::{BuildInput, BuildSettings};

pub fn run(settings: &BuildSettings, printer: Printer) -> Result<Outcome> {
    let rendered = match &settings.input {
        BuildInput::Dir(dir) => render::build(&RealFs, dir)
            .with_context(|| format!("cannot build `{}`", dir.display()))?,
        BuildInput::Profile(request) => build_profile(request, printer)?.1,
    };
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

pub(super) fn build_profile(
    request: &Request,
    printer: Printer,
) -> Result<(profile::ResolvedProfile, render::Rendered)> {
    let what = match &request.platform {
        Some((p, _)) => format!("cannot build platform `{p}`"),
        None => "cannot build".to_owned(),
    };
    let resolved = profile::resolve(&RealFs, request).context(what.clone())?;
    for (component, needed_by) in &resolved.added {
        printer.info(&format!(
            "enabling component `{component}`, which `{needed_by}` needs"
        ));
    }
    tracing::info!(
        platform = %resolved.platform,
        release = %resolved.release,
        source = %resolved.source_dir.display(),
        components = resolved.components.len(),
        "rendering profile"
    );
    let mut rendered = profile::render(&RealFs, &resolved).context(what)?;
    // Deprecated fields and unused vars in the upstream manifests are upstream's to fix; a
    // profile build shows them only with `-v`.
    for warning in rendered.warnings.drain(..) {
        tracing::info!("upstream manifests: {warning}");
    }
    Ok((resolved, rendered))
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
        let file = dir.join(format!("{}.{ext}", parts.join("_").to_lowercase()));
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
