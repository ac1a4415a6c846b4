//! The component catalog (`manifests/catalog.yaml`): the platforms, the components with their
//! dependencies, and per release the upstream source and the kustomization paths of each
//! component.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::doc::{Node, SourceFile};
use super::migrations::{Migration, ProtectedCrd, parse_migrations, parse_protected};
use super::platform::{ParameterSpec, parse_parameters};
use super::{API_VERSION, ProfileError, Where};
use crate::render::{Fs, Loc};

/// Where the catalog lives, relative to kfctl's root directory.
pub const CATALOG_PATH: &str = "manifests/catalog.yaml";

#[derive(Debug, Clone)]
pub struct Catalog {
    pub file: PathBuf,
    /// Platform names, in the catalog's order; each has `platforms/<name>.yaml`.
    pub platforms: Vec<String>,
    pub default_release: String,
    /// Components in catalog order (also the tie-break of the dependency order).
    pub components: Vec<ComponentDef>,
    pub releases: Vec<Release>,
    /// CRDs no prune or upgrade deletes, `--purge` or not.
    pub protected_crds: Vec<ProtectedCrd>,
}

#[derive(Debug, Clone)]
pub struct ComponentDef {
    pub name: String,
    pub description: String,
    pub depends: Vec<String>,
    /// Project directories under `manifests/`.
    pub manifests: Vec<String>,
    /// Per-component parameters, set in `kfctl.yaml` or as `--set <component>.<name>=...`.
    pub parameters: Vec<ParameterSpec>,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    pub description: String,
    /// A release candidate: listed and installable by name, never the default.
    pub prerelease: bool,
    pub source: SourceDef,
    /// Upstream kustomization directories per component, relative to the source root.
    pub paths: BTreeMap<String, Vec<String>>,
    /// What applying this release over an earlier one needs first, in order.
    pub migrations: Vec<Migration>,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct SourceDef {
    pub name: String,
    pub version: String,
    /// The default location, relative to kfctl's root directory.
    pub path: String,
    /// Where to fetch the source when `path` is not a directory: an archive URL with its
    /// digest (`URL#sha256=HEX`), fetched and cached like a remote kustomize base.
    pub url: Option<String>,
}

impl Catalog {
    /// Adds to `enabled` every component an enabled one needs: catalog order, repeated until
    /// nothing changes, so the closure is deterministic. `adding(dependency, needed_by)` hears
    /// of each before it is added, and may refuse it.
    pub fn close_dependencies<E>(
        &self,
        enabled: &mut BTreeSet<String>,
        mut adding: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            let mut grew = false;
            for def in &self.components {
                if !enabled.contains(&def.name) {
                    continue;
                }
                for dep in &def.depends {
                    if enabled.contains(dep) {
                        continue;
                    }
                    adding(dep, &def.name)?;
                    enabled.insert(dep.clone());
                    grew = true;
                }
            }
            if !grew {
                return Ok(());
            }
        }
    }

    /// Reads `<root>/manifests/catalog.yaml`.
    pub fn load(fs: &dyn Fs, root: &Path) -> Result<Catalog, ProfileError> {
        let file = SourceFile::read(fs, &root.join(CATALOG_PATH))?;
        Self::parse(&file)
    }

    pub fn parse(file: &SourceFile) -> Result<Catalog, ProfileError> {
        let root = file.root();
        root.fields(&[
            "apiVersion",
            "kind",
            "platforms",
            "defaultRelease",
            "components",
            "releases",
            "protectedCrds",
        ])?;
        root.expect_kind(API_VERSION, "Catalog")?;
        let platforms = root.require("platforms")?.strings()?;
        let mut components = Vec::new();
        for node in root.require("components")?.list()? {
            components.push(parse_component(&node)?);
        }
        for c in &components {
            for d in &c.depends {
                if !components.iter().any(|o| &o.name == d) {
                    return Err(ProfileError::Invalid {
                        message: format!(
                            "component `{}` depends on unknown component `{d}`",
                            c.name
                        ),
                        at: c.at.clone(),
                        hint: None,
                    });
                }
            }
        }
        let mut releases = Vec::new();
        for node in root.require("releases")?.list()? {
            releases.push(parse_release(&node, &components)?);
        }
        let default_node = root.require("defaultRelease")?;
        let default_release = default_node.str()?.to_owned();
        match releases.iter().find(|r| r.name == default_release) {
            None => {
                return Err(ProfileError::Invalid {
                    message: format!("`defaultRelease` names unknown release `{default_release}`"),
                    at: default_node.loc(),
                    hint: None,
                });
            }
            Some(r) if r.prerelease => {
                return Err(ProfileError::Invalid {
                    message: format!("`defaultRelease` names the pre-release `{default_release}`"),
                    at: default_node.loc(),
                    hint: Some("name a stable release; a pre-release is installed only when asked for with `--release`".to_owned()),
                });
            }
            Some(_) => {}
        }
        let catalog = Catalog {
            file: file.path.clone(),
            platforms,
            default_release,
            components,
            releases,
            protected_crds: root.get_list("protectedCrds", parse_protected)?,
        };
        catalog.dependency_order(&catalog.component_names())?;
        Ok(catalog)
    }

    pub fn component_names(&self) -> Vec<String> {
        self.components.iter().map(|c| c.name.clone()).collect()
    }

    pub fn component(&self, name: &str) -> Option<&ComponentDef> {
        self.components.iter().find(|c| c.name == name)
    }

    pub fn release(&self, name: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.name == name)
    }

    /// The release asked for (with where it was asked), or the default one; an unknown name
    /// is an error listing the known ones.
    pub fn release_or_default(
        &self,
        asked: Option<(String, Where)>,
    ) -> Result<&Release, ProfileError> {
        let (name, from) = asked.unwrap_or_else(|| (self.default_release.clone(), Where::Default));
        match self.releases.iter().find(|r| r.name == name) {
            Some(release) => Ok(release),
            None => Err(ProfileError::UnknownRelease {
                name,
                known: self.releases.iter().map(|r| r.name.clone()).collect(),
                from,
            }),
        }
    }

    /// `names` sorted so that every component comes after what it depends on; ties keep the
    /// catalog's order. `names` must be closed under dependencies.
    pub fn dependency_order(&self, names: &[String]) -> Result<Vec<String>, ProfileError> {
        let mut out: Vec<String> = Vec::new();
        let mut left: Vec<&ComponentDef> = self
            .components
            .iter()
            .filter(|c| names.contains(&c.name))
            .collect();
        while !left.is_empty() {
            let ready = left.iter().position(|c| {
                c.depends
                    .iter()
                    .all(|d| out.contains(d) || !names.contains(d))
            });
            match ready {
                Some(i) => out.push(left.remove(i).name.clone()),
                None => {
                    return Err(ProfileError::Invalid {
                        message: format!(
                            "the dependencies of {} form a cycle",
                            left.iter()
                                .map(|c| format!("`{}`", c.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        at: Loc::new(&self.file, None),
                        hint: None,
                    });
                }
            }
        }
        Ok(out)
    }
}

fn parse_component(node: &Node<'_>) -> Result<ComponentDef, ProfileError> {
    node.fields(&["name", "description", "depends", "manifests", "parameters"])?;
    Ok(ComponentDef {
        name: node.require("name")?.str()?.to_owned(),
        description: node.require("description")?.str()?.to_owned(),
        depends: node.get_strings("depends")?,
        manifests: node.get_strings("manifests")?,
        parameters: node.get_list("parameters", parse_parameters)?,
        at: node.loc(),
    })
}

fn parse_release(node: &Node<'_>, components: &[ComponentDef]) -> Result<Release, ProfileError> {
    node.fields(&[
        "name",
        "description",
        "prerelease",
        "source",
        "components",
        "migrations",
    ])?;
    let source = node.require("source")?;
    source.fields(&["name", "version", "path", "url", "sha256"])?;
    let url = match (source.get("url"), source.get("sha256")) {
        (None, None) => None,
        (Some(url), Some(digest)) => Some(super::config::pinned_url(&url, &digest)?),
        (_, _) => {
            return Err(ProfileError::Invalid {
                message: "a release source needs both `url` and `sha256`, or neither".to_owned(),
                at: source.loc(),
                hint: Some(
                    "write the archive's digest as `sha256: HEX` (`sha256sum ARCHIVE` prints it)"
                        .to_owned(),
                ),
            });
        }
    };
    let paths: BTreeMap<String, Vec<String>> = node
        .require("components")?
        .named(|entry| {
            let name = entry.key();
            if !components.iter().any(|c| c.name == name) {
                return Err(ProfileError::Invalid {
                    message: format!("release lists unknown component `{name}`"),
                    at: entry.loc(),
                    hint: Some("declare it under the top-level `components` first".to_owned()),
                });
            }
            entry.strings()
        })?
        .into_iter()
        .collect();
    Ok(Release {
        name: node.require("name")?.str()?.to_owned(),
        description: node.require("description")?.str()?.to_owned(),
        prerelease: match node.get("prerelease") {
            Some(flag) => flag.bool()?,
            None => false,
        },
        source: SourceDef {
            name: source.require("name")?.str()?.to_owned(),
            version: source.require("version")?.str()?.to_owned(),
            path: source.require("path")?.str()?.to_owned(),
            url,
        },
        paths,
        migrations: node.get_list("migrations", parse_migrations)?,
        at: node.loc(),
    })
}
