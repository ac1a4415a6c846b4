//! From a parsed KfDef to the config `kfctl import` writes: components, platform parameters
//! checked against their specs, and a note for everything left behind.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;

use super::applications::{application_parameters, map_applications};
use super::plugins::plugin_parameters;
use super::{Imported, KfDef, Note, note};
use crate::profile::catalog::Catalog;
use crate::profile::platform::PlatformProfile;
use crate::profile::write::{
    ComponentEntry, Components, ConfigMetadata, ConfigSpec, KfctlConfig, Ordered, Parameter,
};
use crate::profile::{API_VERSION, ProfileError, Where};
use crate::render::Loc;

/// Turns `def` (read from `source`) into a config for `profile`, on the catalog's newest
/// release.
pub fn convert(
    def: &KfDef,
    source: &str,
    catalog: &Catalog,
    profile: &PlatformProfile,
) -> Result<Imported, ProfileError> {
    let mut notes = Vec::new();
    let apps = map_applications(def, &mut notes);

    // Plugin and application parameters → platform parameters, each checked against its spec.
    let mut params = Params {
        profile,
        found: Vec::new(),
    };
    let name = def.name.clone().unwrap_or_else(|| "kubeflow".to_owned());
    application_parameters(def, &apps.parameters, &mut params, &mut notes);
    if let Some(plugin) = &def.plugin {
        plugin_parameters(plugin, &name, &mut params, &mut notes);
    }
    if let Some(cluster) = &def.cluster_name {
        // kfctl v1 wrote the kubeconfig's cluster name, which eksctl makes
        // `<name>.<region>.eksctl.io`; EKS knows the cluster as `<name>`.
        let eks_name = match cluster.strip_suffix(".eksctl.io") {
            Some(rest) => rest.split('.').next().unwrap_or(rest),
            None => cluster,
        };
        params.set(
            &mut notes,
            "clusterName",
            eks_name.to_owned(),
            "metadata.clusterName".to_owned(),
            &Loc::new(Path::new(source), None),
        );
    }
    let params = params.found;

    let missing: Vec<String> = profile
        .parameters
        .iter()
        .filter(|p| p.required && !params.iter().any(|(n, _, _)| n == &p.name))
        .map(|p| p.name.clone())
        .collect();
    unsupported_fields(def, &mut notes);
    let enabled = close_components(catalog, &apps.wanted, &mut notes);

    let release = catalog
        .releases
        .last()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| catalog.default_release.clone());
    let (config, header, missing_comments) = config_of(&ConfigText {
        source,
        def,
        name: &name,
        platform: &profile.name,
        release: &release,
        catalog,
        enabled: &enabled,
        params: &params,
        missing: &missing,
        profile,
    });
    Ok(Imported {
        platform: profile.name.clone(),
        release,
        config,
        header,
        missing_comments,
        mapped: apps.mapped,
        missing,
        notes,
    })
}

/// The platform parameters found so far: (name, value, where from), the first value of each
/// kept.
pub(super) struct Params<'p> {
    profile: &'p PlatformProfile,
    found: Vec<(String, String, String)>,
}

impl Params<'_> {
    /// Sets parameter `name` from `from` unless it is set already or the platform has no such
    /// parameter; a value its spec refuses becomes a note.
    pub(super) fn set(
        &mut self,
        notes: &mut Vec<Note>,
        name: &str,
        value: String,
        from: String,
        at: &Loc,
    ) {
        if self.found.iter().any(|(n, _, _)| n == name) {
            return;
        }
        let Some(spec) = self.profile.parameters.iter().find(|p| p.name == name) else {
            return;
        };
        match spec.value_from_text(&value, Where::File(at.clone())) {
            Ok(v) => self.found.push((name.to_owned(), v, from)),
            Err(_) => notes.push(Note {
                what: format!("{from} (`{value}`)"),
                line: at.line,
                why: format!(
                    "not a valid `{name}`{}",
                    spec.pattern
                        .as_ref()
                        .map(|p| format!(" (it must match `{}`)", p.as_str()))
                        .unwrap_or_default()
                ),
            }),
        }
    }
}

/// Notes for the repositories and the other fields kfctl has no setting for.
fn unsupported_fields(def: &KfDef, notes: &mut Vec<Note>) {
    // Repositories: kfctl renders its catalog's release, never the v1 manifests.
    for (repo, uri, at) in &def.repos {
        note(
            notes,
            format!("repository `{repo}` ({uri})"),
            at,
            "kfctl renders the Kubeflow manifests of its catalog's release; give another copy with `--source kubeflow-manifests=PATH` or `spec.sources`".to_owned(),
        );
    }
    for (field, value, at) in &def.unread {
        note(
            notes,
            if value.is_empty() {
                format!("`{field}`")
            } else {
                format!("`{field}` ({value})")
            },
            at,
            "kfctl has no setting for it".to_owned(),
        );
    }
}

/// Components: what the applications asked for, closed under dependencies, each one added
/// said in a note; the platform's defaults that no application asked for are turned off.
fn close_components(
    catalog: &Catalog,
    wanted: &BTreeSet<&str>,
    notes: &mut Vec<Note>,
) -> BTreeSet<String> {
    let mut enabled: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
    let closed = catalog.close_dependencies(&mut enabled, |dep, needed_by| {
        notes.push(Note {
            what: format!("component `{dep}`"),
            line: None,
            why: format!(
                "enabled although no application of the KfDef maps to it: `{needed_by}` needs it"
            ),
        });
        Ok::<(), Infallible>(())
    });
    let Ok(()) = closed;
    enabled
}

struct ConfigText<'a> {
    source: &'a str,
    def: &'a KfDef,
    name: &'a str,
    platform: &'a str,
    release: &'a str,
    catalog: &'a Catalog,
    enabled: &'a BTreeSet<String>,
    params: &'a [(String, String, String)],
    missing: &'a [String],
    profile: &'a PlatformProfile,
}

/// The config to write, the comment lines above it and those for required parameters still to
/// set.
fn config_of(c: &ConfigText<'_>) -> (KfctlConfig, Vec<String>, Vec<String>) {
    let header = vec![
        format!(
            "Imported by `kfctl import` from `{}` (KfDef `{}`, kfctl v1 version {}).",
            c.source,
            c.def.name.as_deref().unwrap_or("(unnamed)"),
            c.def.version.as_deref().unwrap_or("unknown"),
        ),
        "`kfctl import` listed what it could not carry over; review before applying.".to_owned(),
    ];
    let mut components = Ordered::default();
    for comp in &c.catalog.components {
        components.insert(
            &comp.name,
            ComponentEntry {
                enabled: c.enabled.contains(&comp.name),
                parameters: Ordered::default(),
            },
        );
    }
    // In the profile's order, so the file reads like `kfctl platforms` lists them.
    let mut parameters = Ordered::default();
    let mut missing = Vec::new();
    for spec in &c.profile.parameters {
        if let Some((_, value, from)) = c.params.iter().find(|(n, _, _)| n == &spec.name) {
            parameters.insert(
                &spec.name,
                Parameter {
                    value: value.clone(),
                    comment: Some(format!("from {}", from.replace('`', ""))),
                },
            );
        } else if c.missing.contains(&spec.name) {
            missing.push(format!(
                "{}: required, not in the KfDef: {}",
                spec.name, spec.description
            ));
        }
    }
    let config = KfctlConfig {
        api_version: API_VERSION.to_owned(),
        kind: "KfctlConfig".to_owned(),
        metadata: ConfigMetadata {
            name: c.name.to_owned(),
        },
        spec: ConfigSpec {
            platform: c.platform.to_owned(),
            release: c.release.to_owned(),
            components: Components(components),
            parameters,
            admin: None,
            secrets: Ordered::default(),
        },
    };
    (config, header, missing)
}
