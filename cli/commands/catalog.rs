//! `kfctl platforms`, `kfctl components` and `kfctl releases`: what the catalog and the platform
//! profiles offer, as text for people or JSON for programs.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Outcome;
use crate::args::ListFormat;
use crate::output::Printer;
use crate::profile::{Catalog, PlatformProfile};
use crate::render::RealFs;
use crate::settings::CatalogSettings;

fn load_catalog(settings: &CatalogSettings) -> Result<Catalog> {
    Catalog::load_with(&RealFs, &settings.root, settings.catalog.as_deref())
        .context("cannot read the component catalog")
}

pub fn platforms(settings: &CatalogSettings, printer: Printer) -> Result<Outcome> {
    let catalog = load_catalog(settings)?;
    let mut profiles = Vec::new();
    for name in &catalog.platforms {
        profiles.push(
            PlatformProfile::load(&RealFs, &settings.root, name)
                .with_context(|| format!("cannot read platform `{name}`"))?,
        );
    }
    match settings.output {
        ListFormat::Json => {
            let items: Vec<Value> = profiles
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "description": p.description,
                        "components": p.components,
                        "parameters": p.parameters.iter().map(|s| json!({
                            "name": s.name,
                            "type": s.kind.as_str(),
                            "required": s.required,
                            "default": s.default,
                            "pattern": s.pattern.as_ref().map(|r| r.as_str()),
                            "secret": s.secret,
                            "description": s.description,
                        })).collect::<Vec<_>>(),
                        "preflight": {
                            "kubernetes": {
                                "min": p.preflight.kubernetes_min,
                                "max": p.preflight.kubernetes_max,
                            },
                            "storageClasses": p.preflight.storage_classes,
                            "crds": p.preflight.crds,
                            "gpuNodeLabels": p.preflight.gpu_node_labels,
                        },
                    })
                })
                .collect();
            printer.json(&Value::Array(items))?;
        }
        ListFormat::Text => {
            let width = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
            let mut out = String::new();
            for p in &profiles {
                out.push_str(&format!("{:width$}  {}\n", p.name, p.description));
                out.push_str(&format!(
                    "{:width$}  components: {}\n",
                    "",
                    p.components.join(", ")
                ));
                for s in &p.parameters {
                    let status = if s.required {
                        "required".to_owned()
                    } else if let Some(d) = &s.default {
                        format!("default `{d}`")
                    } else {
                        "optional".to_owned()
                    };
                    out.push_str(&format!(
                        "{:width$}  --set {}=... ({status}): {}\n",
                        "", s.name, s.description
                    ));
                }
            }
            printer.data(&out)?;
        }
    }
    Ok(Outcome::Success)
}

pub fn components(settings: &CatalogSettings, printer: Printer) -> Result<Outcome> {
    let catalog = load_catalog(settings)?;
    let release = catalog
        .release_or_default(settings.release.clone())
        .context("cannot list components")?;
    let available: Vec<_> = catalog
        .components
        .iter()
        .filter(|c| release.paths.contains_key(&c.name))
        .collect();
    match settings.output {
        ListFormat::Json => {
            let items: Vec<Value> = available
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "description": c.description,
                        "depends": c.depends,
                        "paths": release.paths.get(&c.name),
                        "manifests": c.manifests,
                    })
                })
                .collect();
            printer.json(&json!({"release": release.name, "components": items}))?;
        }
        ListFormat::Text => {
            let width = available.iter().map(|c| c.name.len()).max().unwrap_or(0);
            let mut out = format!("release {}\n", release.name);
            for c in &available {
                out.push_str(&format!("{:width$}  {}\n", c.name, c.description));
                if !c.depends.is_empty() {
                    out.push_str(&format!("{:width$}  needs: {}\n", "", c.depends.join(", ")));
                }
                let parts: Vec<String> = release
                    .paths
                    .get(&c.name)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .chain(c.manifests.iter().map(|m| match &c.manifests_dir {
                        Some(dir) => format!("(yours) {}", dir.join(m).display()),
                        None => format!("(kfctl) manifests/{m}"),
                    }))
                    .collect();
                out.push_str(&format!("{:width$}  from: {}\n", "", parts.join(", ")));
            }
            printer.data(&out)?;
        }
    }
    Ok(Outcome::Success)
}

pub fn releases(settings: &CatalogSettings, printer: Printer) -> Result<Outcome> {
    let catalog = load_catalog(settings)?;
    match settings.output {
        ListFormat::Json => {
            let items: Vec<Value> = catalog
                .releases
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "description": r.description,
                        "default": r.name == catalog.default_release,
                        "prerelease": r.prerelease,
                        "source": {
                            "name": r.source.name,
                            "version": r.source.version,
                            "path": r.source.path,
                        },
                    })
                })
                .collect();
            printer.json(&Value::Array(items))?;
        }
        ListFormat::Text => {
            let labels: Vec<String> = catalog
                .releases
                .iter()
                .map(|r| {
                    if r.name == catalog.default_release {
                        format!("{} (default)", r.name)
                    } else if r.prerelease {
                        format!("{} (pre-release)", r.name)
                    } else {
                        r.name.clone()
                    }
                })
                .collect();
            let width = labels.iter().map(String::len).max().unwrap_or(0);
            let mut out = String::new();
            for (r, label) in catalog.releases.iter().zip(&labels) {
                out.push_str(&format!("{label:width$}  {}\n", r.description));
                out.push_str(&format!(
                    "{:width$}  source: {} {} at `{}`\n",
                    "", r.source.name, r.source.version, r.source.path
                ));
            }
            printer.data(&out)?;
        }
    }
    Ok(Outcome::Success)
}
