//! `resolve`: catalog + platform profile + `kfctl.yaml` + command-line values → one
//! `ResolvedProfile`. Parameters merge as `--set` > `kfctl.yaml` > the profile's default.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::catalog::{Catalog, Release, UserCatalog};
use super::config::{KfctlConfig, SecretRef, SourceLocation};
use super::platform::{ParameterSpec, PlatformProfile};
use super::{ProfileError, Where};
use crate::render::fs::clean;
use crate::render::{Fs, Loc};

/// What to resolve: the values settings merged (flag > `KFCTL_*` > `kfctl.yaml`) and the rest
/// of the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// kfctl's root directory (holding `manifests/`, `platforms/`, `overlays/`); absolute.
    pub root: PathBuf,
    /// A user's catalog laid over the built-in one (`--catalog`); absolute.
    pub catalog: Option<PathBuf>,
    /// The directory relative `--source` paths start from; absolute.
    pub cwd: PathBuf,
    pub platform: Option<(String, Where)>,
    pub release: Option<(String, Where)>,
    pub config: Option<KfctlConfig>,
    /// `--set NAME=VALUE` arguments, as written.
    pub sets: Vec<String>,
    /// `--source NAME=PATH` arguments, as written.
    pub sources: Vec<String>,
}

/// A platform, a release and the components to render, with everything located on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProfile {
    pub platform: String,
    pub release: String,
    pub source_name: String,
    pub source_version: String,
    pub source_dir: PathBuf,
    /// In dependency order.
    pub components: Vec<ResolvedComponent>,
    /// Every platform parameter and every parameter of an enabled component (as
    /// `<component>.<name>`), as strings; optional ones without a value are empty.
    pub parameters: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, SecretRef>,
    /// Components enabled because another needs them: (component, needed by).
    pub added: Vec<(String, String)>,
    /// The platform's `admissionWebhooks.failurePolicy`, applied to every webhook rendered.
    pub webhook_failure_policy: Option<String>,
    /// The user's catalog read (`--catalog`), with its digest.
    pub user_catalog: Option<UserCatalog>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedComponent {
    pub name: String,
    /// Absolute upstream kustomization directories.
    pub paths: Vec<PathBuf>,
    /// Absolute project directories under `manifests/`.
    pub manifests: Vec<PathBuf>,
    /// Absolute `overlays/common/<c>` and `overlays/<platform>/<c>`, those that exist.
    pub overlays: Vec<PathBuf>,
}

pub fn resolve(fs: &dyn Fs, req: &Request) -> Result<ResolvedProfile, ProfileError> {
    let catalog = Catalog::load_with(fs, &req.root, req.catalog.as_deref())?;
    let (platform_name, platform_from) = req.platform.clone().ok_or(ProfileError::NoPlatform)?;
    if !catalog.platforms.contains(&platform_name) {
        return Err(ProfileError::UnknownPlatform {
            name: platform_name,
            known: catalog.platforms.clone(),
            from: platform_from,
        });
    }
    let profile = PlatformProfile::load(fs, &req.root, &platform_name)?;
    for c in &profile.components {
        if catalog.component(c).is_none() {
            return Err(ProfileError::UnknownComponent {
                name: c.clone(),
                known: catalog.component_names(),
                from: Where::File(Loc::new(
                    &profile.file.path,
                    super::doc::line_of(
                        &profile.file.text,
                        &[
                            super::doc::Seg::Key("spec".into()),
                            super::doc::Seg::Key("components".into()),
                        ],
                    ),
                )),
            });
        }
    }
    let release = catalog.release_or_default(req.release.clone())?;

    let (enabled, added) = enabled_components(&catalog, release, &profile, req.config.as_ref())?;
    let order = catalog.dependency_order(&enabled)?;
    let sets = parse_sets(&req.sets)?;
    let parameters = merge_parameters(&catalog, &profile, &order, req.config.as_ref(), &sets)?;

    let (source_dir, source_from) = source_dir(fs, req, release)?;
    if !fs.is_dir(&source_dir) {
        return Err(ProfileError::MissingSource {
            name: release.source.name.clone(),
            release: release.name.clone(),
            dir: source_dir,
            from: source_from,
        });
    }
    let components = order
        .iter()
        .map(|name| {
            resolve_component(
                fs,
                req,
                &catalog,
                release,
                &source_dir,
                &platform_name,
                name,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let secrets = req
        .config
        .iter()
        .flat_map(|c| c.secrets.iter())
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    Ok(ResolvedProfile {
        platform: platform_name,
        release: release.name.clone(),
        source_name: release.source.name.clone(),
        source_version: release.source.version.clone(),
        source_dir,
        components,
        parameters,
        secrets,
        added,
        webhook_failure_policy: profile.webhook_failure_policy.clone(),
        user_catalog: catalog.user.clone(),
    })
}

/// Where component `name` renders from: the release's paths under `source_dir`, its project
/// manifests, and the overlays of its platform that exist.
fn resolve_component(
    fs: &dyn Fs,
    req: &Request,
    catalog: &Catalog,
    release: &Release,
    source_dir: &Path,
    platform_name: &str,
    name: &String,
) -> Result<ResolvedComponent, ProfileError> {
    let def = catalog
        .component(name)
        .ok_or_else(|| ProfileError::UnknownComponent {
            name: name.clone(),
            known: catalog.component_names(),
            from: Where::Default,
        })?;
    let mut paths = Vec::new();
    for p in release.paths.get(name).into_iter().flatten() {
        let dir = clean(&source_dir.join(p));
        if !fs.is_dir(&dir) {
            return Err(ProfileError::MissingPath {
                component: name.clone(),
                release: release.name.clone(),
                path: p.clone(),
                source_dir: source_dir.to_path_buf(),
            });
        }
        if !leads_inside(fs, &dir, source_dir) {
            return Err(ProfileError::Invalid {
                message: format!(
                    "component `{name}` of release `{}` names `{p}`, which leads outside the release's source `{}`",
                    release.name,
                    source_dir.display()
                ),
                at: release.at.clone(),
                hint: Some("a component's directories must be inside its release's source; remove the symbolic link that leads out, or point the release's `source.path` at the tree that holds them".to_owned()),
            });
        }
        paths.push(dir);
    }
    let mut manifests = Vec::new();
    let manifests_dir = def
        .manifests_dir
        .clone()
        .unwrap_or_else(|| req.root.join("manifests"));
    for m in &def.manifests {
        let dir = clean(&manifests_dir.join(m));
        if !fs.is_dir(&dir) {
            return Err(ProfileError::Invalid {
                message: format!(
                    "component `{name}` names manifests `{m}`, which is not a directory under `{}`",
                    manifests_dir.display()
                ),
                at: def.at.clone(),
                hint: None,
            });
        }
        if !leads_inside(fs, &dir, &manifests_dir) {
            return Err(ProfileError::Invalid {
                message: format!(
                    "component `{name}` names manifests `{m}`, which lead outside `{}`",
                    manifests_dir.display()
                ),
                at: def.at.clone(),
                hint: Some("remove the symbolic link that leads out".to_owned()),
            });
        }
        manifests.push(dir);
    }
    let mut overlays: Vec<PathBuf> = ["common", platform_name]
        .iter()
        .map(|p| clean(&req.root.join("overlays").join(p).join(name)))
        .filter(|d| fs.is_dir(d))
        .collect();
    // The admin's password hash from `kfctl.yaml` replaces upstream's default one; the
    // overlay that writes it is included only when there is a hash to read.
    let has_password_hash = req
        .config
        .as_ref()
        .and_then(|c| c.admin.as_ref())
        .is_some_and(|a| a.password_hash.is_some());
    let password_overlay = clean(
        &req.root
            .join("overlays/common")
            .join(format!("{name}-admin-password")),
    );
    if has_password_hash && fs.is_dir(&password_overlay) {
        overlays.push(password_overlay);
    }
    Ok(ResolvedComponent {
        name: name.clone(),
        paths,
        manifests,
        overlays,
    })
}

/// A component enabled because another needs it: (component, needed by).
type Added = (String, String);

/// The platform's defaults with `kfctl.yaml`'s choices applied, closed under dependencies.
fn enabled_components(
    catalog: &Catalog,
    release: &Release,
    profile: &PlatformProfile,
    config: Option<&KfctlConfig>,
) -> Result<(Vec<String>, Vec<Added>), ProfileError> {
    let mut enabled: BTreeSet<String> = profile.components.iter().cloned().collect();
    let mut disabled: BTreeMap<String, Loc> = BTreeMap::new();
    let mut chosen_at: BTreeMap<String, Loc> = BTreeMap::new();
    for choice in config.iter().flat_map(|c| c.components.iter()) {
        if catalog.component(&choice.name).is_none() {
            return Err(ProfileError::UnknownComponent {
                name: choice.name.clone(),
                known: catalog.component_names(),
                from: Where::File(choice.at.clone()),
            });
        }
        chosen_at.insert(choice.name.clone(), choice.at.clone());
        // Writing a component down (with parameters, say) means wanting it, unless it says not.
        if choice.enabled.unwrap_or(true) {
            enabled.insert(choice.name.clone());
        } else {
            enabled.remove(&choice.name);
            disabled.insert(choice.name.clone(), choice.at.clone());
        }
    }
    let mut added = Vec::new();
    catalog.close_dependencies(&mut enabled, |dep, needed_by| {
        if let Some(at) = disabled.get(dep) {
            return Err(ProfileError::DisabledDependency {
                component: dep.to_owned(),
                needed_by: needed_by.to_owned(),
                at: at.clone(),
            });
        }
        added.push((dep.to_owned(), needed_by.to_owned()));
        Ok(())
    })?;
    for name in &enabled {
        if !release.paths.contains_key(name) {
            return Err(ProfileError::ComponentNotInRelease {
                name: name.clone(),
                release: release.name.clone(),
                from: chosen_at
                    .get(name)
                    .map_or(Where::File(Loc::new(&profile.file.path, None)), |l| {
                        Where::File(l.clone())
                    }),
            });
        }
    }
    Ok((enabled.into_iter().collect(), added))
}

/// Whether `dir`, every link followed, is inside `base`: a link inside a tree may point
/// anywhere, and what renders is where it leads.
fn leads_inside(fs: &dyn Fs, dir: &Path, base: &Path) -> bool {
    match (fs.real_path(dir), fs.real_path(base)) {
        (Ok(real), Ok(base)) => real.starts_with(base),
        _ => false,
    }
}

/// `--set NAME=VALUE` split into (name, value, the argument as written).
fn parse_sets(sets: &[String]) -> Result<Vec<(String, String, Where)>, ProfileError> {
    sets.iter()
        .map(|arg| {
            let from = Where::Flag(format!("--set {arg}"));
            match arg.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_owned(), v.to_owned(), from))
                }
                _ => Err(ProfileError::BadArgument {
                    expected: "NAME=VALUE",
                    from,
                }),
            }
        })
        .collect()
}

fn merge_parameters(
    catalog: &Catalog,
    profile: &PlatformProfile,
    components: &[String],
    config: Option<&KfctlConfig>,
    sets: &[(String, String, Where)],
) -> Result<BTreeMap<String, String>, ProfileError> {
    let known: Vec<String> = profile.parameters.iter().map(|p| p.name.clone()).collect();
    let mut given: BTreeMap<String, String> = BTreeMap::new();

    // kfctl.yaml first, so that `--set` overwrites it.
    if let Some(config) = config {
        if let Some(email) = config.admin.as_ref().and_then(|a| a.email.as_ref()) {
            let (_, spec) =
                platform_param(profile, &known, "adminEmail", Where::File(email.at.clone()))?;
            let value = spec.value_from_text(&email.value, Where::File(email.at.clone()))?;
            given.insert("adminEmail".to_owned(), value);
        }
        for (name, value) in &config.parameters {
            let from = Where::File(value.at.clone());
            if name == "adminEmail" && given.contains_key(name) {
                return Err(ProfileError::Invalid {
                    message: "`adminEmail` is given both here and as `spec.admin.email`".to_owned(),
                    at: value.at.clone(),
                    hint: Some("keep one of them".to_owned()),
                });
            }
            let (_, spec) = platform_param(profile, &known, name, from.clone())?;
            given.insert(name.clone(), spec.value_from_yaml(&value.value, from)?);
        }
        for choice in &config.components {
            let Some(def) = catalog.component(&choice.name) else {
                continue;
            };
            for (name, value) in &choice.parameters {
                let from = Where::File(value.at.clone());
                let spec = component_param(&def.parameters, &choice.name, name, from.clone())?;
                given.insert(
                    format!("{}.{name}", choice.name),
                    spec.value_from_yaml(&value.value, from)?,
                );
            }
        }
    }
    for (name, value, from) in sets {
        match name.split_once('.') {
            Some((component, param)) => {
                let def =
                    catalog
                        .component(component)
                        .ok_or_else(|| ProfileError::UnknownComponent {
                            name: component.to_owned(),
                            known: catalog.component_names(),
                            from: from.clone(),
                        })?;
                if !components.iter().any(|c| c == component) {
                    return Err(ProfileError::BadArgument {
                        expected: "a parameter of an enabled component",
                        from: from.clone(),
                    });
                }
                let spec = component_param(&def.parameters, component, param, from.clone())?;
                given.insert(name.clone(), spec.value_from_text(value, from.clone())?);
            }
            None => {
                let (_, spec) = platform_param(profile, &known, name, from.clone())?;
                given.insert(name.clone(), spec.value_from_text(value, from.clone())?);
            }
        }
    }

    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    let mut fill = |key: String, spec: &ParameterSpec| match given
        .remove(&key)
        .or_else(|| spec.default.clone())
    {
        Some(v) => {
            out.insert(key, v);
        }
        None if spec.required => missing.push(key),
        None => {
            out.insert(key, String::new());
        }
    };
    for spec in &profile.parameters {
        fill(spec.name.clone(), spec);
    }
    for c in components {
        if let Some(def) = catalog.component(c) {
            for spec in &def.parameters {
                fill(format!("{c}.{}", spec.name), spec);
            }
        }
    }
    if !missing.is_empty() {
        return Err(ProfileError::MissingParameters {
            names: missing,
            platform: profile.name.clone(),
            from: config.map(|c| c.parameters_at.clone()),
        });
    }
    if let Some(hash) = config
        .and_then(|c| c.admin.as_ref())
        .and_then(|a| a.password_hash.as_ref())
    {
        out.insert("adminPasswordHash".to_owned(), hash.value.clone());
    }
    Ok(out)
}

fn platform_param<'p>(
    profile: &'p PlatformProfile,
    known: &[String],
    name: &str,
    from: Where,
) -> Result<(String, &'p ParameterSpec), ProfileError> {
    profile
        .parameter(name)
        .map(|p| (name.to_owned(), p))
        .ok_or_else(|| ProfileError::UnknownParameter {
            name: name.to_owned(),
            owner: format!("platform `{}`", profile.name),
            known: known.to_vec(),
            from,
        })
}

fn component_param<'p>(
    specs: &'p [ParameterSpec],
    component: &str,
    name: &str,
    from: Where,
) -> Result<&'p ParameterSpec, ProfileError> {
    specs
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ProfileError::UnknownParameter {
            name: format!("{component}.{name}"),
            owner: format!("component `{component}`"),
            known: specs
                .iter()
                .map(|p| format!("{component}.{}", p.name))
                .collect(),
            from,
        })
}

/// `--source` > `spec.sources` > the catalog's default location (its `path`, else its `url`).
/// A URL is fetched through the filesystem's remote resolver, verified against its sha256.
fn source_dir(
    fs: &dyn Fs,
    req: &Request,
    release: &Release,
) -> Result<(PathBuf, Where), ProfileError> {
    let name = &release.source.name;
    let unknown = |n: &str, from| ProfileError::UnknownSource {
        name: n.to_owned(),
        release: release.name.clone(),
        known: name.clone(),
        from,
    };
    let mut found: Option<(SourceLocation, Where)> = None;
    if let Some(config) = &req.config {
        for (n, location) in &config.sources {
            let from = Where::File(location.at.clone());
            if n != name {
                return Err(unknown(n, from));
            }
            found = Some((location.value.clone(), from));
        }
    }
    for arg in &req.sources {
        let from = Where::Flag(format!("--source {arg}"));
        let Some((n, p)) = arg
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        else {
            return Err(ProfileError::BadArgument {
                expected: "NAME=PATH",
                from,
            });
        };
        if n != name {
            return Err(unknown(n, from));
        }
        let location = if ["https://", "http://", "github.com/"]
            .iter()
            .any(|s| p.starts_with(s))
        {
            if !p.contains("#sha256=") {
                return Err(ProfileError::BadArgument {
                    expected: "NAME=URL#sha256=HEX",
                    from,
                });
            }
            SourceLocation::Url(p.to_owned())
        } else {
            SourceLocation::Path(clean(&req.cwd.join(p)))
        };
        found = Some((location, from));
    }
    let (location, from) = found.unwrap_or_else(|| {
        let from = Where::File(release.at.clone());
        let path = clean(&req.root.join(&release.source.path));
        match &release.source.url {
            Some(url) if !fs.is_dir(&path) => (SourceLocation::Url(url.clone()), from),
            _ => (SourceLocation::Path(path), from),
        }
    });
    match location {
        SourceLocation::Path(path) => Ok((path, from)),
        SourceLocation::Url(url) => {
            let (message, hint) = match fs.remote(&url) {
                Some(Ok(dir)) => return Ok((dir, from)),
                Some(Err(failure)) => (failure.message, failure.hint),
                None => (
                    format!("`{url}` is remote, and nothing here can fetch it"),
                    None,
                ),
            };
            Err(ProfileError::RemoteSource {
                name: name.clone(),
                release: release.name.clone(),
                message,
                hint,
                from,
            })
        }
    }
}

/// kfctl's root when the binary runs from its source tree.
pub fn default_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Diagnostic as _;
    use crate::profile::doc::SourceFile;
    use crate::render::{MemFs, RealFs};

    const CATALOG: &str = "\
apiVersion: kfctl.dev/v1alpha1
kind: Catalog
platforms: [p]
defaultRelease: new
components:
- name: ns
  description: namespace
- name: mesh
  description: mesh
  depends: [ns]
- name: app
  description: app
  depends: [mesh]
  parameters:
  - {name: replicas, type: integer, default: 1}
- name: extra
  description: extra
releases:
- name: old
  description: old
  source: {name: m, version: v1, path: ../m-old}
  components: {ns: [ns], mesh: [mesh], app: [app]}
- name: new
  description: new
  source: {name: m, version: v2, path: ../m}
  components: {ns: [ns], mesh: [mesh], app: [app], extra: []}
";

    const PLATFORM: &str = "\
apiVersion: kfctl.dev/v1alpha1
kind: PlatformProfile
metadata: {name: p, description: test}
spec:
  components: [app]
  parameters:
  - {name: project, required: true, pattern: '^[a-z]+$', description: a project}
  - {name: size, default: small}
  - {name: note}
";

    fn fs() -> MemFs {
        let mut fs = MemFs::new();
        fs.add("/r/manifests/catalog.yaml", CATALOG)
            .add("/r/platforms/p.yaml", PLATFORM);
        for release in ["/m", "/m-old"] {
            for c in ["ns", "mesh", "app"] {
                fs.add(
                    format!("{release}/{c}/kustomization.yaml"),
                    "resources: []\n",
                );
            }
        }
        fs.add("/r/overlays/p/app/kustomization.yaml", "kind: Component\n");
        fs
    }

    fn request(config: Option<&str>, sets: &[&str]) -> Request {
        Request {
            root: PathBuf::from("/r"),
            catalog: None,
            cwd: PathBuf::from("/w"),
            platform: Some(("p".to_owned(), Where::Flag("--platform p".to_owned()))),
            release: None,
            config: config.map(|text| {
                KfctlConfig::parse(
                    &SourceFile::parse(Path::new("/c/kfctl.yaml"), text.to_owned()).unwrap(),
                )
                .unwrap()
            }),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            sources: Vec::new(),
        }
    }

    const CONFIG: &str = "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n";

    /// A user's catalog adding release `mine` (its source beside the file) and component
    /// `tool`, and replacing component `extra`.
    const USER_CATALOG: &str = "\
apiVersion: kfctl.dev/v1alpha1
kind: Catalog
components:
- name: extra
  description: extra, replaced
  depends: [ns]
- name: tool
  description: a tool of our own
  depends: [app]
releases:
- name: mine
  description: ours
  source: {name: m, version: ours, path: src}
  components: {ns: [ns], mesh: [mesh], app: [app], tool: [tools/tool]}
";

    fn with_user_catalog(text: &str) -> (MemFs, Request) {
        let mut fs = fs();
        fs.add("/u/catalog.yaml", text);
        for c in ["ns", "mesh", "app", "tools/tool"] {
            fs.add(format!("/u/src/{c}/kustomization.yaml"), "resources: []\n");
        }
        let mut req = request(None, &["project=abc"]);
        req.catalog = Some(PathBuf::from("/u/catalog.yaml"));
        (fs, req)
    }

    #[test]
    fn a_user_catalog_adds_and_replaces_by_name() {
        let (fs, _) = with_user_catalog(USER_CATALOG);
        let catalog =
            Catalog::load_with(&fs, Path::new("/r"), Some(Path::new("/u/catalog.yaml"))).unwrap();
        assert_eq!(
            catalog.component_names(),
            ["ns", "mesh", "app", "extra", "tool"]
        );
        assert_eq!(
            catalog.component("extra").unwrap().description,
            "extra, replaced"
        );
        let mine = catalog.release("mine").unwrap();
        assert_eq!(mine.source.path, "/u/src");
        // The built-in releases stay, and stay the default.
        assert!(catalog.release("old").is_some());
        assert_eq!(catalog.default_release, "new");
        let user = catalog.user.as_ref().unwrap();
        assert_eq!(user.path, PathBuf::from("/u/catalog.yaml"));
        assert_eq!(
            user.sha256,
            crate::resource::digest::sha256_hex(USER_CATALOG.as_bytes())
        );
    }

    #[test]
    fn a_user_release_renders_from_beside_its_catalog() {
        let (fs, mut req) = with_user_catalog(USER_CATALOG);
        req.release = Some(("mine".to_owned(), Where::Flag("--release mine".to_owned())));
        let config = format!("{CONFIG}  components:\n    tool: {{enabled: true}}\n");
        req.config = Some(
            KfctlConfig::parse(&SourceFile::parse(Path::new("/c/kfctl.yaml"), config).unwrap())
                .unwrap(),
        );
        let p = resolve(&fs, &req).unwrap();
        assert_eq!(p.release, "mine");
        assert_eq!(p.source_dir, PathBuf::from("/u/src"));
        let tool = p.components.iter().find(|c| c.name == "tool").unwrap();
        assert_eq!(tool.paths, [PathBuf::from("/u/src/tools/tool")]);
        assert!(p.user_catalog.is_some());
    }

    #[test]
    fn a_user_release_extends_a_built_in_one_with_a_component_of_its_own() {
        let text = "\
apiVersion: kfctl.dev/v1alpha1
kind: Catalog
components:
- {name: tool, description: ours, depends: [app], manifests: [tool]}
releases:
- name: new-plus
  extends: new
  components: {tool: []}
";
        let (mut fs, mut req) = with_user_catalog(text);
        fs.add("/u/tool/kustomization.yaml", "resources: []\n");
        req.release = Some((
            "new-plus".to_owned(),
            Where::Flag("--release new-plus".to_owned()),
        ));
        req.config = Some(
            KfctlConfig::parse(
                &SourceFile::parse(
                    Path::new("/c/kfctl.yaml"),
                    format!("{CONFIG}  components:\n    tool: {{}}\n"),
                )
                .unwrap(),
            )
            .unwrap(),
        );
        let p = resolve(&fs, &req).unwrap();
        // The built-in release's source and components, and the user's component.
        assert_eq!(p.source_dir, PathBuf::from("/m"));
        let names: Vec<&str> = p.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ns", "mesh", "app", "tool"]);
        let tool = p.components.iter().find(|c| c.name == "tool").unwrap();
        assert_eq!(tool.manifests, [PathBuf::from("/u/tool")]);
        assert!(tool.paths.is_empty());
        let catalog = Catalog::load_with(&fs, Path::new("/r"), req.catalog.as_deref()).unwrap();
        let release = catalog.release("new-plus").unwrap();
        assert_eq!(release.description, "new");
        assert_eq!(release.paths["app"], ["app"]);
    }

    #[test]
    fn a_user_catalog_is_checked_like_the_built_in_one() {
        let cases: &[(&str, &str)] = &[
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\ncomponents:\n- {name: ../../etc, description: x}\n",
                "is not a plain name",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\ncomponents:\n- {name: x, description: x, manifests: [../r/manifests/gpu]}\n",
                "not a path inside the catalog's directory",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nreleases:\n- {name: r, extends: gone}\n",
                "`extends` names unknown release `gone`",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nreleases:\n- {name: r, description: r}\n",
                "source",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nreleases:\n- {name: r, description: r, source: {name: m, version: v, path: s}, components: {ns: [../../etc]}}\n",
                "not a path inside the release's source",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nreleases:\n- {name: r, description: r, source: {name: m, version: v, path: s}, components: {ns: [/etc]}}\n",
                "not a path inside the release's source",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\ncomponents:\n- {name: x, description: x, depends: [nope]}\n",
                "depends on unknown component `nope`",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\ndefaultRelease: gone\n",
                "names unknown release `gone`",
            ),
            (
                "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nrelease: []\n",
                "release",
            ),
            ("apiVersion: v1\nkind: ConfigMap\n", "Catalog"),
        ];
        for (text, expected) in cases {
            let (fs, req) = with_user_catalog(text);
            let err = resolve(&fs, &req).unwrap_err();
            let shown = format!("{err} {}", err.hint().unwrap_or_default());
            assert!(shown.contains(expected), "{text}: {shown}");
        }
        let (fs, mut req) = with_user_catalog(USER_CATALOG);
        req.catalog = Some(PathBuf::from("/u/missing.yaml"));
        let err = resolve(&fs, &req).unwrap_err();
        assert!(matches!(err, ProfileError::UserCatalog { .. }), "{err}");
    }

    #[test]
    fn dependencies_are_enabled_and_ordered_first() {
        let p = resolve(&fs(), &request(None, &["project=abc"])).unwrap();
        let names: Vec<&str> = p.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ns", "mesh", "app"]);
        assert_eq!(
            p.added,
            [
                ("mesh".to_owned(), "app".to_owned()),
                ("ns".to_owned(), "mesh".to_owned())
            ]
        );
        assert_eq!(p.components[2].paths, [PathBuf::from("/m/app")]);
        assert_eq!(
            p.components[2].overlays,
            [PathBuf::from("/r/overlays/p/app")]
        );
        assert_eq!(p.release, "new");
        assert_eq!(p.source_dir, PathBuf::from("/m"));
    }

    #[test]
    fn parameters_merge_set_over_file_over_default() {
        let config = format!(
            "{CONFIG}  parameters:\n    project: fromfile\n    size: large\n  components:\n    app:\n      parameters: {{replicas: 3}}\n"
        );
        let p = resolve(&fs(), &request(Some(&config), &["size=huge"])).unwrap();
        assert_eq!(p.parameters["project"], "fromfile");
        assert_eq!(p.parameters["size"], "huge");
        assert_eq!(p.parameters["note"], "");
        assert_eq!(p.parameters["app.replicas"], "3");
        let p = resolve(&fs(), &request(Some(&config), &["app.replicas=5"])).unwrap();
        assert_eq!(p.parameters["app.replicas"], "5");
        assert_eq!(p.parameters["size"], "large");
    }

    #[test]
    fn missing_and_invalid_parameters_are_errors() {
        let err = resolve(&fs(), &request(None, &[])).unwrap_err();
        assert_eq!(err.to_string(), "platform `p` needs parameter `project`");
        let err = resolve(&fs(), &request(None, &["project=ABC"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--set project=ABC`: invalid value `ABC` for parameter `project`: it must match `^[a-z]+$`"
        );
        assert_eq!(err.hint().unwrap(), "`project` is a project");
        let err = resolve(&fs(), &request(None, &["projekt=abc"])).unwrap_err();
        assert!(
            err.hint().unwrap().starts_with("did you mean `project`?"),
            "{err}"
        );
        let err = resolve(&fs(), &request(None, &["app.size=1"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--set app.size=1`: component `app` has no parameter `app.size`"
        );
        let err = resolve(&fs(), &request(None, &["project"])).unwrap_err();
        assert!(matches!(err, ProfileError::BadArgument { .. }), "{err}");
    }

    #[test]
    fn disabling_a_needed_component_is_an_error() {
        let config = format!("{CONFIG}  components:\n    mesh: {{enabled: false}}\n");
        let err = resolve(&fs(), &request(Some(&config), &["project=abc"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c/kfctl.yaml:5: component `mesh` is disabled, but `app` needs it"
        );
    }

    #[test]
    fn releases_and_sources_are_checked() {
        let mut req = request(None, &["project=abc"]);
        req.release = Some(("old".to_owned(), Where::Flag("--release old".to_owned())));
        let p = resolve(&fs(), &req).unwrap();
        assert_eq!(p.source_dir, PathBuf::from("/m-old"));

        let config = format!("{CONFIG}  components:\n    extra: {{}}\n");
        let mut req = request(Some(&config), &["project=abc"]);
        req.release = Some(("old".to_owned(), Where::Flag("--release old".to_owned())));
        let err = resolve(&fs(), &req).unwrap_err();
        assert!(
            matches!(err, ProfileError::ComponentNotInRelease { .. }),
            "{err}"
        );

        let mut req = request(None, &["project=abc"]);
        req.sources = vec!["m=../elsewhere".to_owned()];
        let err = resolve(&fs(), &req).unwrap_err();
        assert_eq!(
            err.to_string(),
            "source `m` of release `new` is not a directory: `/elsewhere` (`--source m=../elsewhere`)"
        );
        req.sources = vec!["x=/m".to_owned()];
        assert!(matches!(
            resolve(&fs(), &req).unwrap_err(),
            ProfileError::UnknownSource { .. }
        ));
    }

    #[test]
    fn unknown_platform_suggests_the_closest() {
        let mut req = request(None, &[]);
        req.platform = Some(("q".to_owned(), Where::Flag("--platform q".to_owned())));
        let err = resolve(&fs(), &req).unwrap_err();
        assert_eq!(err.to_string(), "`--platform q`: unknown platform `q`");
        assert!(err.hint().unwrap().contains("did you mean `p`?"));
    }

    /// The repository's own catalog and profiles parse, and every profile's components exist.
    #[test]
    fn repository_catalog_and_platforms_parse() {
        let root = default_root();
        let catalog = Catalog::load(&RealFs, root).unwrap();
        assert_eq!(
            catalog
                .releases
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["1.10.2", "1.11.0", "26.03", "26.03.1-rc.2", "latest"]
        );
        for name in &catalog.platforms {
            let p = PlatformProfile::load(&RealFs, root, name).unwrap();
            for c in &p.components {
                assert!(
                    catalog.component(c).is_some(),
                    "{name}: unknown component {c}"
                );
            }
            assert!(
                p.parameter("adminEmail").is_some(),
                "{name} has no adminEmail"
            );
        }
    }
}
