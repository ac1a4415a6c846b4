//! Rendering an install: what `-p`, `-f` or `-k` name (or a revision's pin) made into objects,
//! with the install's name, its digests and what it is made from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Events;
use crate::errors::UserError;
use crate::profile::platform::Preflight;
use crate::profile::{self, KfctlConfig, PlatformProfile, Request, ResolvedProfile, Where};
use crate::render::{self, Fs, RealFs};
use crate::resource::{ResId, ResourceSet, images};
use crate::settings::{BuildInput, InstallSettings, SourceSettings, default_name_of};
use crate::source::archive::Limits;
use crate::source::{FetchOptions, LOCK_FILE, SourceFs, SourceOptions, Sources};
use crate::upgrade::revision::{CatalogPin, Pin, ProfilePin};

/// What is being installed, before it reaches the cluster.
pub struct Install {
    pub name: String,
    pub resources: ResourceSet,
    pub release: String,
    pub platform: String,
    pub config_digest: String,
    /// What the platform expects of the cluster; `None` for a kustomization.
    pub preflight: Option<Preflight>,
    /// What the render is made from, to make it again (history, rollback).
    pub pin: Pin,
    /// Each component and what it is made of (upstream paths, the components it needs).
    pub components: BTreeMap<String, Vec<String>>,
    /// Each object's digest (`resource::digest::object_digest`), by its id as rendered.
    pub digests: std::sync::Arc<std::collections::HashMap<ResId, String>>,
    /// The catalog component each object comes from, by its id as rendered; empty for a
    /// kustomization.
    pub object_components: std::collections::HashMap<ResId, String>,
}

impl Install {
    /// The digest of `res`, one of this install's objects (`resource::digest::object_digest`).
    pub fn digest(&self, res: &crate::resource::Resource) -> String {
        self.digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| crate::resource::digest::object_digest(res))
    }

    /// Each applied object, by its id as it is live (in the namespace it went to), with its
    /// digest as rendered: what the install's record keeps.
    pub fn recorded_digests(
        &self,
        applied: &[crate::cluster::apply::Applied],
    ) -> BTreeMap<ResId, String> {
        live_keyed(applied, &self.digests)
    }

    /// Each applied object, by its id as it is live, with the catalog component it comes from:
    /// what the install's record keeps for `kfctl status`.
    pub fn recorded_components(
        &self,
        applied: &[crate::cluster::apply::Applied],
    ) -> BTreeMap<ResId, String> {
        live_keyed(applied, &self.object_components)
    }

    /// The sha256 of the render: of its objects' digests, one a line, in order. A
    /// kustomization's revision pins it; a saved upgrade plan holds it to find a changed render.
    pub fn render_digest(&self) -> String {
        render_digest(&self.resources, &self.digests)
    }
}

/// `by_rendered_id`'s value of each applied object, by the object's id as it is live (in the
/// namespace it went to).
fn live_keyed(
    applied: &[crate::cluster::apply::Applied],
    by_rendered_id: &std::collections::HashMap<ResId, String>,
) -> BTreeMap<ResId, String> {
    applied
        .iter()
        .filter_map(|a| {
            let value = by_rendered_id.get(&a.id)?;
            let key = ResId::new(
                a.id.gvk.clone(),
                &a.id.name,
                a.namespace.as_deref().unwrap_or(""),
            );
            Some((key, value.clone()))
        })
        .collect()
}

/// The resolver for an input's remote sources, its `kfctl.lock` beside the kustomization or
/// `kfctl.yaml`.
pub fn sources_for(
    input: &BuildInput,
    settings: &SourceSettings,
    update: bool,
    events: Events<'_>,
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
            progress: events.downloads,
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
pub fn render_input(
    input: &BuildInput,
    settings: &SourceSettings,
    update: bool,
    events: Events<'_>,
) -> Result<(Option<profile::ResolvedProfile>, render::Rendered, Sources)> {
    let sources = sources_for(input, settings, update, events)?;
    let fs = SourceFs { sources: &sources };
    let (resolved, mut rendered) = match input {
        BuildInput::Dir(dir) => (
            None,
            render::build(&fs, dir).with_context(|| format!("cannot build `{}`", dir.display()))?,
        ),
        BuildInput::Profile(request) => {
            let (resolved, rendered) = build_profile(&fs, request, events)?;
            (Some(resolved), rendered)
        }
    };
    if let Some(path) = sources.save_lock()? {
        events.note(format!("pinned remote sources in `{}`", path.display()));
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

pub fn build_profile(
    fs: &dyn Fs,
    request: &Request,
    events: Events<'_>,
) -> Result<(profile::ResolvedProfile, render::Rendered)> {
    let what = match &request.platform {
        Some((p, _)) => format!("cannot build platform `{p}`"),
        None => "cannot build".to_owned(),
    };
    let resolved = profile::resolve(fs, request).context(what.clone())?;
    for (component, needed_by) in &resolved.added {
        events.note(format!(
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

/// Renders the install `-p`/`-f`/`-k` name, under its name; `None` when no input was given.
pub fn render_given(settings: &InstallSettings, events: Events<'_>) -> Result<Option<Install>> {
    let Some(input) = &settings.input else {
        return Ok(None);
    };
    let name = settings.name.as_deref();
    render_install(input, name, &settings.sources, events).map(Some)
}

/// Renders what `-p`/`-f`/`-k` name, with the install's name (given, or the input's default).
pub fn render_install(
    input: &BuildInput,
    name: Option<&str>,
    sources: &SourceSettings,
    events: Events<'_>,
) -> Result<Install> {
    let install = match input {
        BuildInput::Dir(dir) => {
            let (_, rendered, _) = render_input(input, sources, false, events)?;
            for warning in &rendered.warnings {
                events.warn(warning.clone());
            }
            let digests = object_digests(&rendered.resources);
            let config_digest = render_digest(&rendered.resources, &digests);
            Install {
                name: name.map_or_else(|| default_name_of(dir), str::to_owned),
                resources: rendered.resources,
                release: String::new(),
                platform: String::new(),
                pin: Pin::Kustomize {
                    dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()),
                    render_digest: config_digest.clone(),
                },
                config_digest,
                preflight: None,
                components: BTreeMap::new(),
                digests: std::sync::Arc::new(digests),
                object_components: Default::default(),
            }
        }
        BuildInput::Profile(request) => {
            let (resolved, rendered, _) = render_input(input, sources, false, events)?;
            let resolved = resolved.context("a profile render resolves its profile")?;
            let profile = PlatformProfile::load(&RealFs, &request.root, &resolved.platform)?;
            let config = json!({
                "platform": resolved.platform,
                "release": resolved.release,
                "source": [resolved.source_name, resolved.source_version],
                "components": resolved.components.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "parameters": resolved.parameters,
            });
            let pin = profile_pin(request, &resolved);
            Install {
                name: name.unwrap_or("kubeflow").to_owned(),
                resources: rendered.resources,
                object_components: rendered.components,
                components: component_parts(&resolved),
                release: resolved.release,
                platform: resolved.platform,
                config_digest: crate::resource::digest::sha256_hex(config.to_string().as_bytes()),
                preflight: Some(profile.preflight),
                pin,
                digests: Default::default(),
            }
        }
    };
    let install = match install.digests.is_empty() {
        true => Install {
            digests: std::sync::Arc::new(object_digests(&install.resources)),
            ..install
        },
        false => install,
    };
    check_name(&install.name)?;
    if install.resources.is_empty() {
        return Err(UserError::new("nothing to apply: the render has no objects").into());
    }
    Ok(install)
}

/// The digest of every object (`resource::digest::object_digest`), by id, made on two threads: a render of
/// Kubeflow is some 10 MB of JSON.
fn object_digests(resources: &ResourceSet) -> std::collections::HashMap<ResId, String> {
    let objects = resources.as_slice();
    let (first, second) = objects.split_at(objects.len() / 2);
    let digest_all = |part: &[crate::resource::Resource]| -> Vec<(ResId, String)> {
        part.iter()
            .map(|r| (r.id(), crate::resource::digest::object_digest(r)))
            .collect()
    };
    std::thread::scope(|scope| {
        let other = scope.spawn(|| digest_all(second));
        let mut digests = digest_all(first);
        digests.extend(other.join().unwrap_or_else(|_| digest_all(second)));
        digests.into_iter().collect()
    })
}

/// The sha256 of a render: of its objects' digests, one a line, in order.
fn render_digest(
    resources: &ResourceSet,
    digests: &std::collections::HashMap<ResId, String>,
) -> String {
    let mut hasher = Sha256::new();
    for res in resources.iter() {
        let digest = digests
            .get(&res.id())
            .cloned()
            .unwrap_or_else(|| crate::resource::digest::object_digest(res));
        hasher.update(digest.as_bytes());
        hasher.update(b"\n");
    }
    crate::resource::digest::hex(&hasher.finalize())
}

/// The digest earlier releases recorded for a kustomization's render: of its YAML stream.
pub fn yaml_render_digest(resources: &ResourceSet) -> String {
    let text = crate::resource::yaml::to_yaml_stream(resources.iter().map(|r| &r.body));
    crate::resource::digest::sha256_hex(text.as_bytes())
}

/// An install name must make a valid ConfigMap name `kfctl-<name>`.
pub fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(UserError::new(format!("`{name}` is not a valid install name"))
            .with_hint(
                "use at most 50 lower-case letters, digits and `-`, starting and ending with a letter or digit (`--name`)",
            )
            .into())
    }
}

/// What a platform render is made from, as the record pins it.
pub fn profile_pin(request: &profile::Request, resolved: &ResolvedProfile) -> Pin {
    let source_dir = resolved.source_dir.clone();
    Pin::Profile(Box::new(ProfilePin {
        root: request.root.clone(),
        platform: resolved.platform.clone(),
        release: resolved.release.clone(),
        source: resolved.source_name.clone(),
        source_version: resolved.source_version.clone(),
        source_dir_digest: crate::resource::digest::sha256_hex(
            source_dir.to_string_lossy().as_bytes(),
        ),
        source_dir,
        components: resolved.components.iter().map(|c| c.name.clone()).collect(),
        parameters: resolved
            .parameters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        config: request.config.as_ref().map(|c| c.file.clone()),
        sources: request.sources.clone(),
        sets: request.sets.clone(),
        catalog: resolved.user_catalog.as_ref().map(|c| CatalogPin {
            path: c.path.clone(),
            sha256: c.sha256.clone(),
        }),
    }))
}

/// Each component and what it is made of: its upstream paths (relative to the source), its
/// project manifests and overlays (relative to kfctl's root), and the components enabled for it.
pub fn component_parts(resolved: &ResolvedProfile) -> BTreeMap<String, Vec<String>> {
    let relative = |p: &Path, base: &Path| {
        p.strip_prefix(base)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    resolved
        .components
        .iter()
        .map(|c| {
            let root = c
                .manifests
                .first()
                .or(c.overlays.first())
                .and_then(|p| p.ancestors().nth(2))
                .unwrap_or(Path::new("/"));
            let mut parts: Vec<String> = c
                .paths
                .iter()
                .map(|p| relative(p, &resolved.source_dir))
                .collect();
            parts.extend(c.manifests.iter().map(|p| relative(p, root)));
            parts.extend(c.overlays.iter().map(|p| relative(p, root)));
            parts.extend(
                resolved
                    .added
                    .iter()
                    .filter(|(_, by)| *by == c.name)
                    .map(|(added, _)| format!("needs {added}")),
            );
            (c.name.clone(), parts)
        })
        .collect()
}

/// The request that renders a pinned profile again, at `release`, with `sets`.
pub fn pin_request_at(
    pin: &ProfilePin,
    release: &str,
    sets: Vec<String>,
) -> Result<profile::Request> {
    let config = match &pin.config {
        Some(path) if !path.is_file() => {
            return Err(UserError::new(format!(
                "the install was made from `{}`, which no longer exists",
                path.display()
            ))
            .with_hint("pass the install's `kfctl.yaml` with `-f`")
            .into());
        }
        Some(path) => Some(
            KfctlConfig::load(&RealFs, path)
                .with_context(|| format!("cannot load `{}`", path.display()))?,
        ),
        None => None,
    };
    let catalog = pin.catalog.as_ref().map(pinned_catalog).transpose()?;
    Ok(profile::Request {
        root: pin.root.clone(),
        catalog,
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        platform: Some((pin.platform.clone(), Where::Default)),
        release: Some((release.to_owned(), Where::Default)),
        config,
        sets,
        sources: pin.sources.clone(),
    })
}

/// The user's catalog a revision was rendered with, which must still hold what it held then.
fn pinned_catalog(pin: &CatalogPin) -> Result<PathBuf> {
    let path = pin.path.display();
    let hint = format!(
        "restore `{path}` as it was, or upgrade to the catalog as it is now with `kfctl upgrade --to RELEASE --catalog {path}`"
    );
    let text = match crate::render::fs::read_at_most(&pin.path, crate::render::fs::MAX_CONFIG_BYTES)
    {
        Ok(text) => text,
        Err(e) => {
            return Err(UserError::new(format!(
                "the install was rendered with the catalog `{path}`, which cannot be read: {e}"
            ))
            .with_hint(hint)
            .into());
        }
    };
    let now = crate::resource::digest::sha256_hex(&text);
    if now != pin.sha256 {
        return Err(UserError::new(format!(
            "the catalog `{path}` changed since the install was rendered with it (sha256 {} then, {} now)",
            &pin.sha256[..12.min(pin.sha256.len())],
            &now[..12]
        ))
        .with_hint(hint)
        .into());
    }
    Ok(pin.path.clone())
}

/// Renders what `pin` pins again, as install `name`. A kustomization must render as it did.
pub fn render_pin(pin: &Pin, name: &str, events: Events<'_>) -> Result<Install> {
    match pin {
        Pin::Kustomize { dir, render_digest } => {
            if !dir.is_dir() {
                return Err(UserError::new(format!(
                    "the kustomization `{}` the revision was rendered from no longer exists",
                    dir.display()
                ))
                .into());
            }
            let install = render_install(
                &BuildInput::Dir(dir.clone()),
                Some(name),
                &SourceSettings::from_env(),
                events,
            )?;
            if install.config_digest != *render_digest
                && yaml_render_digest(&install.resources) != *render_digest
            {
                return Err(UserError::new(format!(
                    "the kustomization `{}` no longer renders what the revision installed (sha256 {} then, {} now)",
                    dir.display(),
                    &render_digest[..12.min(render_digest.len())],
                    &install.config_digest[..12.min(install.config_digest.len())]
                ))
                .with_hint("restore the directory as it was (its version control has it), or apply the new render with `kfctl apply -k`")
                .into());
            }
            Ok(install)
        }
        Pin::Profile(p) => {
            let request = pin_request_at(p, &p.release, p.sets.clone())?;
            render_install(
                &BuildInput::Profile(Box::new(request)),
                Some(name),
                &SourceSettings::from_env(),
                events,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_catalog_must_hold_what_it_held() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("catalog.yaml");
        std::fs::write(&path, "kind: Catalog\n").expect("write");
        let pin = CatalogPin {
            path: path.clone(),
            sha256: crate::resource::digest::sha256_hex(b"kind: Catalog\n"),
        };
        assert_eq!(pinned_catalog(&pin).expect("unchanged"), path);
        std::fs::write(&path, "kind: Catalog\n# edited\n").expect("write");
        let err = format!("{:#}", pinned_catalog(&pin).unwrap_err());
        assert!(
            err.contains("changed since the install was rendered"),
            "{err}"
        );
        // A record pointing at an endless file is refused, not read to the end.
        let endless = CatalogPin {
            path: PathBuf::from("/dev/zero"),
            sha256: pin.sha256.clone(),
        };
        let err = format!("{:#}", pinned_catalog(&endless).unwrap_err());
        assert!(err.contains("cannot be read"), "{err}");
    }

    #[test]
    fn install_names() {
        assert!(check_name("kubeflow").is_ok());
        assert!(check_name("team-a2").is_ok());
        for bad in ["", "-a", "a-", "Upper", "a_b", &"x".repeat(51)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(default_name_of(Path::new("/tmp/My_App")), "my-app");
    }

    /// The record keys an object by the namespace it went to, which for a cluster-scoped kind
    /// is none whatever the render said.
    #[test]
    fn components_are_recorded_by_the_id_each_object_has_live() {
        let gvk = |kind: &str| crate::resource::Gvk::new("", "v1", kind);
        let applied = |id: &ResId, namespace: Option<&str>| crate::cluster::apply::Applied {
            id: id.clone(),
            wave: crate::plan::Wave::Workloads,
            action: crate::cluster::apply::Action::Created,
            namespace: namespace.map(str::to_owned),
            duration: std::time::Duration::ZERO,
            retries: 0,
            unchecked: false,
            generation: None,
            owned: None,
        };
        let pv = ResId::new(gvk("PersistentVolume"), "data", "kubeflow");
        let config = ResId::new(gvk("ConfigMap"), "settings", "");
        let unknown = ResId::new(gvk("ConfigMap"), "other", "kubeflow");
        let components = std::collections::HashMap::from([
            (pv.clone(), "pipelines".to_owned()),
            (config.clone(), "dex".to_owned()),
        ]);
        let recorded = live_keyed(
            &[
                applied(&pv, None),
                applied(&config, Some("auth")),
                applied(&unknown, Some("kubeflow")),
            ],
            &components,
        );
        assert_eq!(
            recorded,
            BTreeMap::from([
                (
                    ResId::new(gvk("PersistentVolume"), "data", ""),
                    "pipelines".to_owned()
                ),
                (
                    ResId::new(gvk("ConfigMap"), "settings", "auth"),
                    "dex".to_owned()
                ),
            ])
        );
    }

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
