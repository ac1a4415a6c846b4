//! `kfctl build DIR`: render a kustomization, print it (or write one file per object).
//! `kfctl build -p PLATFORM` / `-f kfctl.yaml`: resolve a profile and render its components.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::Outcome;
use crate::args::OutputFormat;
use crate::errors::UserError;
use crate::output::Printer;
use crate::profile::{self, Request};
use crate::render::{self, Fs};
use crate::resource::{Resource, images, yaml};
use crate::settings::{BuildInput, BuildSettings, SourceSettings};
use crate::source::archive::Limits;
use crate::source::{FetchOptions, LOCK_FILE, SourceFs, SourceOptions, Sources};

pub fn run(settings: &BuildSettings, printer: Printer) -> Result<Outcome> {
    let render = &settings.render;
    let (_, rendered, _) = render_input(&render.input, &render.sources, false, printer)?;
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

/// The resolver for an input's remote sources, its `kfctl.lock` beside the kustomization or
/// `kfctl.yaml`.
pub(super) fn sources_for(
    input: &BuildInput,
    settings: &SourceSettings,
    update: bool,
    printer: Printer,
) -> Result<Sources> {
    let lock_dir = match input {
        BuildInput::Dir(dir) => dir.clone(),
        BuildInput::Profile(request) => match &request.config {
            Some(config) => config
                .file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| request.cwd.clone()),
            None => request.cwd.clone(),
        },
    };
    let opts = SourceOptions {
        cache_dir: settings.cache_dir.clone(),
        offline: settings.offline,
        update,
        github_url: settings.github_url.clone(),
        fetch: FetchOptions {
            progress: !printer.quiet,
            connect_timeout: settings.connect_timeout,
            read_timeout: settings.read_timeout,
            ..FetchOptions::default()
        },
        limits: Limits::with_total(settings.max_unpack_bytes),
    };
    Ok(Sources::new(opts, &lock_dir.join(LOCK_FILE))?)
}

/// Renders a build input, fetching its remote sources, writing new pins to `kfctl.lock`, and
/// pointing its images at the registry mirror when one is set.
pub(super) fn render_input(
    input: &BuildInput,
    settings: &SourceSettings,
    update: bool,
    printer: Printer,
) -> Result<(Option<profile::ResolvedProfile>, render::Rendered, Sources)> {
    let sources = sources_for(input, settings, update, printer)?;
    let fs = SourceFs { sources: &sources };
    let (resolved, mut rendered) = match input {
        BuildInput::Dir(dir) => (
            None,
            render::build(&fs, dir).with_context(|| format!("cannot build `{}`", dir.display()))?,
        ),
        BuildInput::Profile(request) => {
            let (resolved, rendered) = build_profile(&fs, request, printer)?;
            (Some(resolved), rendered)
        }
    };
    if let Some(path) = sources.save_lock()? {
        printer.info(&format!("pinned remote sources in `{}`", path.display()));
    }
    if let Some(prefix) = &settings.registry_mirror {
        check_registry_mirror(prefix)?;
        images::rewrite(rendered.resources.iter_mut(), prefix);
    }
    Ok((resolved, rendered, sources))
}

/// A registry mirror is the start of every image reference: a registry host (with an optional
/// port) and repository path components, as an image reference spells them; anything else (a
/// space, a line break, `@` or `:` in the path) would make references no runtime can pull.
fn check_registry_mirror(prefix: &str) -> Result<()> {
    let valid = regex::Regex::new(
        r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*/?$",
    )
    .is_ok_and(|re| re.is_match(prefix));
    if valid {
        Ok(())
    } else {
        Err(UserError::new(format!(
            "`{}` is not a registry prefix (`--registry-mirror` or `KFCTL_REGISTRY_MIRROR`)",
            prefix.escape_debug()
        ))
        .with_hint("write a registry host and an optional path, such as `registry.local:5000/kf`")
        .into())
    }
}

pub(super) fn build_profile(
    fs: &dyn Fs,
    request: &Request,
    printer: Printer,
) -> Result<(profile::ResolvedProfile, render::Rendered)> {
    let what = match &request.platform {
        Some((p, _)) => format!("cannot build platform `{p}`"),
        None => "cannot build".to_owned(),
    };
    let resolved = profile::resolve(fs, request).context(what.clone())?;
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
    let mut rendered = profile::render(fs, &resolved).context(what)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_mirrors_are_registry_prefixes() {
        for ok in [
            "registry.local:5000/kf",
            "mirror.example.com",
            "localhost:5000/a/b-c_d/",
        ] {
            assert!(check_registry_mirror(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "reg istry",
            "reg\n/x",
            "reg/UPPER",
            "reg/a@sha256",
            "reg/a:tag",
            "-reg",
        ] {
            assert!(check_registry_mirror(bad).is_err(), "{bad:?}");
        }
    }
}
