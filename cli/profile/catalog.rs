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
    /// The user's catalog laid over this one (`--catalog`), if any.
    pub user: Option<UserCatalog>,
}

/// A user's catalog file, laid over the built-in one: its absolute path and the sha256 of its
/// text, which an install's record pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCatalog {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct ComponentDef {
    pub name: String,
    pub description: String,
    pub depends: Vec<String>,
    /// Project directories under `manifests/`, or for a user catalog's component under
    /// `manifests_dir`.
    pub manifests: Vec<String>,
    /// Where `manifests` are: `None` for kfctl's `manifests/`, else a user catalog's directory.
    pub manifests_dir: Option<PathBuf>,
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
    /// The default location, relative to kfctl's root directory (a user catalog's are made
    /// absolute as it is read).
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

    /// Reads `<root>/manifests/catalog.yaml` and lays the user's catalog `user` over it
    /// (`--catalog`, see [`Catalog::lay_over`]).
    pub fn load_with(
        fs: &dyn Fs,
        root: &Path,
        user: Option<&Path>,
    ) -> Result<Catalog, ProfileError> {
        let mut catalog = Self::load(fs, root)?;
        if let Some(path) = user {
            let bytes = fs
                .read_at_most(path, crate::render::fs::MAX_CONFIG_BYTES)
                .map_err(|source| ProfileError::UserCatalog {
                    path: path.to_path_buf(),
                    source,
                })?;
            let sha256 = crate::resource::digest::sha256_hex(&bytes);
            let text = String::from_utf8(bytes).map_err(|_| ProfileError::Invalid {
                message: "the file is not UTF-8 text".to_owned(),
                at: Loc::new(path, None),
                hint: None,
            })?;
            catalog.lay_over(&SourceFile::parse(path, text)?)?;
            catalog.user = Some(UserCatalog {
                path: path.to_path_buf(),
                sha256,
            });
        }
        Ok(catalog)
    }

    pub fn parse(file: &SourceFile) -> Result<Catalog, ProfileError> {
        let root = file.root();
        root.fields(CATALOG_FIELDS)?;
        root.expect_kind(API_VERSION, "Catalog")?;
        let platforms = root.require("platforms")?.strings()?;
        let mut components = Vec::new();
        for node in root.require("components")?.list()? {
            components.push(parse_component(&node)?);
        }
        check_dependencies(&components)?;
        let mut releases = Vec::new();
        for node in root.require("releases")?.list()? {
            releases.push(parse_release(&node, &components, None)?);
        }
        let default_node = root.require("defaultRelease")?;
        let catalog = Catalog {
            file: file.path.clone(),
            platforms,
            default_release: default_node.str()?.to_owned(),
            components,
            releases,
            protected_crds: root.get_list("protectedCrds", parse_protected)?,
            user: None,
        };
        catalog.check_default(default_node.loc())?;
        catalog.dependency_order(&catalog.component_names())?;
        Ok(catalog)
    }

    /// Lays a user's catalog over this one: a component or release it names replaces the one
    /// of that name, a new one is added (after the others, in the file's order); `platforms`
    /// and `defaultRelease`, when given, replace these; `protectedCrds` are added. A release may
    /// `extends` one already here. Its relative `source.path`s and its components' `manifests`
    /// start from its own directory, never kfctl's `manifests/`.
    pub fn lay_over(&mut self, file: &SourceFile) -> Result<(), ProfileError> {
        let root = file.root();
        root.fields(CATALOG_FIELDS)?;
        root.expect_kind(API_VERSION, "Catalog")?;
        if let Some(platforms) = root.get("platforms") {
            self.platforms = platforms.strings()?;
        }
        let base = file.path.parent().unwrap_or(Path::new("/"));
        for node in root
            .get("components")
            .map(|n| n.list())
            .transpose()?
            .unwrap_or_default()
        {
            let mut def = parse_component(&node)?;
            // A component's own manifests are directories beside the catalog, never kfctl's.
            if let Some(bad) = def.manifests.iter().find(|m| !inside_source(m)) {
                return Err(ProfileError::Invalid {
                    message: format!(
                        "component `{}` names manifests `{}`, which is not a path inside the catalog's directory",
                        def.name,
                        crate::profile::write::escape_control(bad)
                    ),
                    at: def.at.clone(),
                    hint: Some(
                        "write a directory relative to the catalog file, without `..`".to_owned(),
                    ),
                });
            }
            def.manifests_dir = Some(base.to_path_buf());
            match self.components.iter_mut().find(|c| c.name == def.name) {
                Some(old) => *old = def,
                None => self.components.push(def),
            }
        }
        check_dependencies(&self.components)?;
        for node in root
            .get("releases")
            .map(|n| n.list())
            .transpose()?
            .unwrap_or_default()
        {
            let extends =
                match node.get("extends") {
                    Some(name) => {
                        let wanted = name.str()?;
                        Some(self.release(wanted).cloned().ok_or_else(|| {
                            ProfileError::Invalid {
                                message: format!("`extends` names unknown release `{wanted}`"),
                                at: name.loc(),
                                hint: Some(format!(
                                    "name one of {}",
                                    self.releases
                                        .iter()
                                        .map(|r| format!("`{}`", r.name))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )),
                            }
                        })?)
                    }
                    None => None,
                };
            let mut release = parse_release(&node, &self.components, extends.as_ref())?;
            if node.get("source").is_some() {
                release.source.path = crate::render::fs::clean(&base.join(&release.source.path))
                    .to_string_lossy()
                    .into_owned();
            }
            match self.releases.iter_mut().find(|r| r.name == release.name) {
                Some(old) => *old = release,
                None => self.releases.push(release),
            }
        }
        let default_at = match root.get("defaultRelease") {
            Some(node) => {
                self.default_release = node.str()?.to_owned();
                node.loc()
            }
            None => self
                .release(&self.default_release)
                .map_or_else(|| Loc::new(&file.path, None), |r| r.at.clone()),
        };
        self.check_default(default_at)?;
        self.protected_crds
            .extend(root.get_list("protectedCrds", parse_protected)?);
        self.dependency_order(&self.component_names())?;
        Ok(())
    }

    /// The default release must be a stable release of the catalog.
    fn check_default(&self, at: Loc) -> Result<(), ProfileError> {
        let name = &self.default_release;
        match self.release(name) {
            None => Err(ProfileError::Invalid {
                message: format!("`defaultRelease` names unknown release `{name}`"),
                at,
                hint: None,
            }),
            Some(r) if r.prerelease => Err(ProfileError::Invalid {
                message: format!("`defaultRelease` names the pre-release `{name}`"),
                at,
                hint: Some("name a stable release; a pre-release is installed only when asked for with `--release`".to_owned()),
            }),
            Some(_) => Ok(()),
        }
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
                        at: left[0].at.clone(),
                        hint: Some("remove one of these `depends`".to_owned()),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The top-level fields of a catalog.
const CATALOG_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "platforms",
    "defaultRelease",
    "components",
    "releases",
    "protectedCrds",
];

/// Every component's `depends` must name a component of the catalog.
fn check_dependencies(components: &[ComponentDef]) -> Result<(), ProfileError> {
    for c in components {
        for d in &c.depends {
            if !components.iter().any(|o| &o.name == d) {
                return Err(ProfileError::Invalid {
                    message: format!("component `{}` depends on unknown component `{d}`", c.name),
                    at: c.at.clone(),
                    hint: Some(format!(
                        "declare `{d}` under the top-level `components`, or remove it from `depends`"
                    )),
                });
            }
        }
    }
    Ok(())
}

fn parse_component(node: &Node<'_>) -> Result<ComponentDef, ProfileError> {
    node.fields(&["name", "description", "depends", "manifests", "parameters"])?;
    let name = node.require("name")?;
    let name_text = name.str()?;
    // A component's name names its overlay directories (`overlays/<platform>/<name>`).
    if !is_plain_name(name_text) {
        return Err(ProfileError::Invalid {
            message: format!(
                "component name `{}` is not a plain name",
                crate::profile::write::escape_control(name_text)
            ),
            at: name.loc(),
            hint: Some("use lowercase letters, digits and `-`, starting with a letter".to_owned()),
        });
    }
    Ok(ComponentDef {
        name: name_text.to_owned(),
        description: node.require("description")?.str()?.to_owned(),
        depends: node.get_strings("depends")?,
        manifests: node.get_strings("manifests")?,
        manifests_dir: None,
        parameters: node.get_list("parameters", parse_parameters)?,
        at: node.loc(),
    })
}

/// Lowercase letters, digits and `-`, starting with a letter: a name that is also a directory
/// name and nothing more.
fn is_plain_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A component's path in a release: relative, and inside the release's source.
fn inside_source(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.is_relative()
        && p.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// A release entry; `base` is the release it `extends` (a user catalog's), whose source,
/// description, components and migrations it keeps unless it gives its own (its components
/// per component).
fn parse_release(
    node: &Node<'_>,
    components: &[ComponentDef],
    base: Option<&Release>,
) -> Result<Release, ProfileError> {
    node.fields(&[
        "name",
        "description",
        "prerelease",
        "source",
        "components",
        "migrations",
        "extends",
    ])?;
    if let (None, Some(extends)) = (base, node.get("extends")) {
        return Err(ProfileError::Invalid {
            message: "only a user catalog's release can extend another".to_owned(),
            at: extends.loc(),
            hint: None,
        });
    }
    let source = match (node.get("source"), base) {
        (Some(source), _) => parse_source(&source)?,
        (None, Some(base)) => base.source.clone(),
        (None, None) => parse_source(&node.require("source")?)?,
    };
    let mut paths = base.map(|b| b.paths.clone()).unwrap_or_default();
    let listed = match (node.get("components"), base) {
        (Some(table), _) => Some(table),
        (None, Some(_)) => None,
        (None, None) => Some(node.require("components")?),
    };
    for (name, list) in listed
        .map(|t| t.named(|entry| release_paths(entry, components)))
        .transpose()?
        .unwrap_or_default()
    {
        paths.insert(name, list);
    }
    let migrations = match (node.get("migrations"), base) {
        (None, Some(base)) => base.migrations.clone(),
        _ => node.get_list("migrations", parse_migrations)?,
    };
    let description = match (node.get("description"), base) {
        (None, Some(base)) => base.description.clone(),
        _ => node.require("description")?.str()?.to_owned(),
    };
    Ok(Release {
        name: node.require("name")?.str()?.to_owned(),
        description,
        prerelease: match (node.get("prerelease"), base) {
            (Some(flag), _) => flag.bool()?,
            (None, Some(base)) => base.prerelease,
            (None, None) => false,
        },
        source,
        paths,
        migrations,
        at: node.loc(),
    })
}

fn parse_source(source: &Node<'_>) -> Result<SourceDef, ProfileError> {
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
    Ok(SourceDef {
        name: source.require("name")?.str()?.to_owned(),
        version: source.require("version")?.str()?.to_owned(),
        path: source.require("path")?.str()?.to_owned(),
        url,
    })
}

/// One entry of a release's `components`: a declared component, and paths inside the source.
fn release_paths(
    entry: &Node<'_>,
    components: &[ComponentDef],
) -> Result<Vec<String>, ProfileError> {
    let name = entry.key();
    if !components.iter().any(|c| c.name == name) {
        return Err(ProfileError::Invalid {
            message: format!("release lists unknown component `{name}`"),
            at: entry.loc(),
            hint: Some("declare it under the top-level `components` first".to_owned()),
        });
    }
    let paths = entry.strings()?;
    if let Some(bad) = paths.iter().find(|p| !inside_source(p)) {
        return Err(ProfileError::Invalid {
            message: format!(
                "component `{name}` names `{}`, which is not a path inside the release's source",
                crate::profile::write::escape_control(bad)
            ),
            at: entry.loc(),
            hint: Some("write a relative path without `..`, like `applications/katib/upstream/installs/katib-with-kubeflow`".to_owned()),
        });
    }
    Ok(paths)
}
