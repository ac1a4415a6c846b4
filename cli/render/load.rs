//! Loading a kustomization tree: resources, generators and components, level by level, with the
//! transforms of each level applied to what it accumulated (kustomize's `KustTarget`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fieldspec::TransformerConfig;
use super::fs::{clean, is_link_loop};
use super::kustomization::{self, FILE_NAMES, Kustomization, Var};
use super::{Fs, Loc, RenderError, Rendered};
use crate::render::{generators, names, order, transforms, vars};
use crate::resource::{Origin, Resource, ResourceSet, yaml};

/// One kustomization file, read and parsed.
#[derive(Debug, Clone)]
pub struct Target {
    /// The directory holding the kustomization; relative paths in it start here.
    pub dir: PathBuf,
    /// The kustomization file itself.
    pub file: PathBuf,
    pub text: String,
    pub k: Kustomization,
}

impl Target {
    /// The line where `key:` is written, for errors about a field.
    pub fn loc(&self, key: &str) -> Loc {
        Loc::new(&self.file, kustomization::find_line(&self.text, key))
    }

    /// The first line mentioning `needle`, for errors about one entry of a list.
    pub fn loc_of(&self, needle: &str) -> Loc {
        Loc::new(&self.file, kustomization::find_text(&self.text, needle))
    }

    /// Reads a file named in this kustomization, refusing paths that leave its directory.
    pub fn read_file(&self, fs: &dyn Fs, entry: &str) -> Result<String, RenderError> {
        let path = self.file_in_root(fs, entry)?;
        read_text(fs, &path)
    }

    /// The path of a file named in this kustomization: it must exist and stay inside the
    /// kustomization's directory, both as written and once every link is followed (kustomize's
    /// load restrictor). Directories (bases, components) may be anywhere and are not checked.
    pub fn file_in_root(&self, fs: &dyn Fs, entry: &str) -> Result<PathBuf, RenderError> {
        let path = self.resolve_in_root(entry)?;
        if !fs.is_file(&path) {
            return Err(self.missing(fs, entry, &path));
        }
        let real = fs
            .real_path(&path)
            .map_err(|e| self.unreadable(entry, &path, e))?;
        let root = fs
            .real_path(&self.dir)
            .map_err(|e| self.unreadable(entry, &self.dir, e))?;
        if !real.parent().is_some_and(|dir| dir.starts_with(&root)) {
            return Err(RenderError::LinkOutsideRoot {
                entry: entry.to_owned(),
                target: real,
                root,
                at: self.loc_of(entry),
            });
        }
        Ok(path)
    }

    /// The error for `entry`, which is neither a file nor a directory at `path`: a loop of
    /// links, or nothing there.
    pub fn missing(&self, fs: &dyn Fs, entry: &str, path: &Path) -> RenderError {
        match fs.real_path(path) {
            Err(e) if is_link_loop(&e) => RenderError::LinkLoop {
                entry: entry.to_owned(),
                at: self.loc_of(entry),
            },
            _ => RenderError::Missing {
                entry: entry.to_owned(),
                at: self.loc_of(entry),
            },
        }
    }

    fn unreadable(&self, entry: &str, path: &Path, source: std::io::Error) -> RenderError {
        if is_link_loop(&source) {
            return RenderError::LinkLoop {
                entry: entry.to_owned(),
                at: self.loc_of(entry),
            };
        }
        RenderError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// `entry` joined to the kustomization's directory; it must stay inside.
    pub fn resolve_in_root(&self, entry: &str) -> Result<PathBuf, RenderError> {
        let path = clean(&self.dir.join(entry));
        let inside = if self.dir == Path::new(".") {
            !path.starts_with("..") && !path.has_root()
        } else {
            path.starts_with(&self.dir)
        };
        if !inside {
            return Err(RenderError::OutsideRoot {
                entry: entry.to_owned(),
                root: self.dir.clone(),
                at: self.loc_of(entry),
            });
        }
        Ok(path)
    }
}

/// What a level hands to the level above: its objects, the field specs its configurations
/// added, and its vars.
#[derive(Debug, Default)]
pub struct Accumulator {
    pub resources: ResourceSet,
    pub config: TransformerConfig,
    pub vars: Vec<(Var, Loc)>,
}

impl Accumulator {
    fn new() -> Self {
        Accumulator {
            resources: ResourceSet::new(),
            config: TransformerConfig::builtin().clone(),
            vars: Vec::new(),
        }
    }

    fn absorb(&mut self, sub: Accumulator) -> Result<(), RenderError> {
        self.resources.extend(sub.resources)?;
        self.config.merge(sub.config);
        self.merge_vars(sub.vars)
    }

    fn merge_vars(&mut self, vars: Vec<(Var, Loc)>) -> Result<(), RenderError> {
        for (var, at) in vars {
            if let Some((_, first)) = self.vars.iter().find(|(v, _)| v.name == var.name) {
                return Err(RenderError::Var {
                    name: var.name.clone(),
                    message: format!("it is defined twice, first at {first}"),
                    at,
                });
            }
            self.vars.push((var, at));
        }
        Ok(())
    }
}

/// Renders the kustomization in `dir`.
pub fn build(fs: &dyn Fs, dir: &Path) -> Result<Rendered, RenderError> {
    let mut loader = Loader {
        fs,
        stack: Vec::new(),
        warnings: Vec::new(),
    };
    let dir = clean(dir);
    let top = loader.load_target(&dir)?;
    let mut acc = loader.accumulate(&top, Accumulator::new())?;

    generators::add_hash_suffixes(&mut acc.resources)?;
    names::fix_references(&mut acc.resources, &acc.config)?;
    let var_warnings = vars::resolve(&mut acc.resources, &acc.vars, &acc.config)?;
    loader.warnings.extend(var_warnings);
    acc.resources.retain(|r| {
        r.annotations()
            .get("config.kubernetes.io/local-config")
            .and_then(Value::as_str)
            .is_none_or(|v| v == "false")
    });
    for res in acc.resources.iter_mut() {
        normalize_annotations(res);
    }
    acc.resources.check_unique()?;
    order::sort(&mut acc.resources, top.k.sort_options.as_ref());
    Ok(Rendered {
        resources: acc.resources,
        warnings: loader.warnings,
        components: Default::default(),
    })
}

/// kustomize rewrites every object's annotations at the end of a build (dropping its own
/// bookkeeping ones) as a map of strings: an empty or null `annotations` disappears, and
/// non-string values become their text (`null` becomes `"null"`).
fn normalize_annotations(res: &mut Resource) {
    let Some(Value::Object(meta)) = res.body.get_mut("metadata") else {
        return;
    };
    match meta.get_mut("annotations") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for v in map.values_mut() {
                match v {
                    Value::String(_) => {}
                    Value::Null => *v = Value::String("null".to_owned()),
                    Value::Bool(b) => *v = Value::String(b.to_string()),
                    Value::Number(n) => *v = Value::String(n.to_string()),
                    Value::Array(_) | Value::Object(_) => {}
                }
            }
        }
        Some(Value::Object(_)) | Some(Value::Null) => {
            meta.remove("annotations");
        }
        _ => {}
    }
}

struct Loader<'a> {
    fs: &'a dyn Fs,
    /// Directories being loaded, outermost first, to catch cycles.
    stack: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl Loader<'_> {
    fn load_target(&mut self, dir: &Path) -> Result<Target, RenderError> {
        let found: Vec<&str> = FILE_NAMES
            .iter()
            .copied()
            .filter(|n| self.fs.is_file(&dir.join(n)))
            .collect();
        let name = match found.as_slice() {
            [] if !self.fs.is_dir(dir) => {
                return Err(RenderError::Read {
                    path: dir.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                });
            }
            [] => {
                return Err(RenderError::NoKustomization {
                    dir: dir.to_path_buf(),
                });
            }
            [one] => *one,
            many => {
                return Err(RenderError::ManyKustomizations {
                    dir: dir.to_path_buf(),
                    names: many.iter().map(|s| s.to_string()).collect(),
                });
            }
        };
        let file = dir.join(name);
        self.check_kustomization_file(dir, &file, name)?;
        let text = read_text(self.fs, &file)?;
        let docs = yaml::parse_documents(&text).map_err(|source| RenderError::Yaml {
            path: file.clone(),
            source,
        })?;
        let value = match docs.len() {
            0 => Value::Object(Default::default()),
            1 => docs.into_iter().next().map(|d| d.value).unwrap_or_default(),
            _ => {
                return Err(RenderError::InvalidKustomization {
                    message: "a kustomization file holds one YAML document".to_owned(),
                    at: Loc::new(&file, None),
                });
            }
        };
        let mut value = value;
        if let Value::Object(fields) = &mut value {
            // A key with nothing after it (`vars:` with every entry commented out) is null;
            // kustomize reads that as the field's empty value.
            fields.retain(|_, v| !v.is_null());
        }
        let mut k: Kustomization = serde_json::from_value(value).map_err(|e| {
            let message = e.to_string();
            match unknown_field(&message) {
                Some(field) => RenderError::UnknownField {
                    at: Loc::new(&file, kustomization::find_line(&text, &field)),
                    field,
                },
                None => RenderError::InvalidKustomization {
                    message,
                    at: Loc::new(&file, None),
                },
            }
        })?;
        for w in k.deprecation_warnings() {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        k.fix();
        let target = Target {
            dir: dir.to_path_buf(),
            file,
            text,
            k,
        };
        check_supported(self.fs, &target)?;
        Ok(target)
    }

    /// The kustomization file, like every file kustomize loads, must really be in its directory.
    fn check_kustomization_file(
        &self,
        dir: &Path,
        file: &Path,
        name: &str,
    ) -> Result<(), RenderError> {
        let real = |path: &Path| {
            self.fs.real_path(path).map_err(|source| RenderError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let (target, root) = (real(file)?, real(dir)?);
        if target.parent().is_some_and(|d| d.starts_with(&root)) {
            return Ok(());
        }
        Err(RenderError::LinkOutsideRoot {
            entry: name.to_owned(),
            target,
            root,
            at: Loc::new(file, None),
        })
    }

    /// Loads `dir` as a nested kustomization (or component), guarding against cycles.
    fn accumulate_dir(
        &mut self,
        dir: &Path,
        component: bool,
        acc: Accumulator,
        parent: &Target,
        entry: &str,
    ) -> Result<Accumulator, RenderError> {
        if let Some(i) = self.stack.iter().position(|d| d == dir) {
            let mut chain = self.stack[i..].to_vec();
            chain.push(dir.to_path_buf());
            return Err(RenderError::Cycle { chain });
        }
        let target = self.load_target(dir)?;
        if component && !target.k.is_component() {
            return Err(RenderError::InvalidKustomization {
                message: format!(
                    "`{entry}` is listed under `components` but its kind is `{}`, not `Component`",
                    target.k.kind
                ),
                at: parent.loc_of(entry),
            });
        }
        if !component && target.k.is_component() {
            return Err(RenderError::InvalidKustomization {
                message: format!(
                    "`{entry}` is a `Component`; list it under `components`, not `resources`"
                ),
                at: parent.loc_of(entry),
            });
        }
        self.accumulate(&target, acc)
    }

    /// kustomize's `accumulateTarget`: resources, configurations, generators, components,
    /// transforms, vars, in that order.
    fn accumulate(
        &mut self,
        target: &Target,
        mut acc: Accumulator,
    ) -> Result<Accumulator, RenderError> {
        self.stack.push(target.dir.clone());
        for entry in &target.k.resources {
            self.accumulate_resource(target, entry, &mut acc)?;
        }
        for entry in &target.k.configurations {
            let text = target.read_file(self.fs, entry)?;
            let path = clean(&target.dir.join(entry));
            for doc in yaml::parse_documents(&text).map_err(|source| RenderError::Yaml {
                path: path.clone(),
                source,
            })? {
                let config: TransformerConfig = serde_json::from_value(doc.value).map_err(|e| {
                    RenderError::InvalidKustomization {
                        message: format!("configuration `{entry}`: {e}"),
                        at: target.loc_of(entry),
                    }
                })?;
                acc.config.merge(config);
            }
        }
        for entry in &target.k.crds {
            let text = target.read_file(self.fs, entry)?;
            let path = clean(&target.dir.join(entry));
            let config = names::config_from_crds(&text, &path)?;
            acc.config.merge(config);
        }
        let generated = generators::generate(self.fs, target)?;
        generators::absorb(&mut acc.resources, generated, target)?;
        for entry in &target.k.components {
            let dir = if is_remote(entry) {
                self.remote_copy(target, entry)?
            } else {
                clean(&target.dir.join(entry))
            };
            if !self.fs.is_dir(&dir) {
                return Err(target.missing(self.fs, entry, &dir));
            }
            acc = self.accumulate_dir(&dir, true, acc, target, entry)?;
        }
        transforms::run(self.fs, target, &mut acc.resources, &acc.config)?;
        let level_vars: Vec<(Var, Loc)> = target
            .k
            .vars
            .iter()
            .map(|v| (v.clone(), target.loc_of(&format!("name: {}", v.name))))
            .collect();
        vars::bind(&mut acc.resources, &level_vars)?;
        acc.merge_vars(level_vars)?;
        self.stack.pop();
        Ok(acc)
    }

    fn accumulate_resource(
        &mut self,
        target: &Target,
        entry: &str,
        acc: &mut Accumulator,
    ) -> Result<(), RenderError> {
        let remote = is_remote(entry);
        let path = if remote {
            self.remote_copy(target, entry)?
        } else {
            clean(&target.dir.join(entry))
        };
        if self.fs.is_file(&path) {
            // A remote file is its own root; a local one must stay inside the kustomization's.
            let path = if remote {
                path
            } else {
                target.file_in_root(self.fs, entry)?
            };
            let text = read_text(self.fs, &path)?;
            for res in parse_resources(&text, &path)? {
                acc.resources.push(res)?;
            }
            return Ok(());
        }
        if self.fs.is_dir(&path) {
            let sub = self.accumulate_dir(&path, false, Accumulator::new(), target, entry)?;
            return acc.absorb(sub);
        }
        Err(target.missing(self.fs, entry, &path))
    }

    /// The local copy of a remote resource, from the filesystem's resolver.
    fn remote_copy(&self, target: &Target, entry: &str) -> Result<PathBuf, RenderError> {
        match self.fs.remote(entry) {
            None => Err(RenderError::Remote {
                url: entry.to_owned(),
                at: target.loc_of(entry),
            }),
            Some(Err(failure)) => Err(RenderError::RemoteFetch {
                url: failure.shown.clone(),
                failure,
                at: target.loc_of(entry),
            }),
            Some(Ok(path)) => Ok(clean(&path)),
        }
    }
}

/// Remote bases (`github.com/...`, `https://...`, `git::...`) are fetched by `kfctl sources`.
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.starts_with("git@")
        || entry.starts_with("git::")
        || entry.contains("?ref=")
}

pub fn read_text(fs: &dyn Fs, path: &Path) -> Result<String, RenderError> {
    let bytes = fs.read(path).map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| RenderError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Parses a resource file: every document is an object; `*List` kinds are unpacked into their
/// items, as kustomize does.
pub fn parse_resources(text: &str, path: &Path) -> Result<Vec<Resource>, RenderError> {
    let docs = yaml::parse_documents(text).map_err(|source| RenderError::Yaml {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::with_capacity(docs.len());
    let mut queue: std::collections::VecDeque<(Value, usize, Vec<String>)> = docs
        .into_iter()
        .map(|d| (d.value, d.line, d.empty_nulls))
        .collect();
    while let Some((value, line, empty_nulls)) = queue.pop_front() {
        let at = Loc::new(path, Some(line));
        let Value::Object(map) = &value else {
            return Err(RenderError::InvalidObject {
                message: "a document is not a map".to_owned(),
                at,
            });
        };
        if map.is_empty() {
            continue;
        }
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(RenderError::InvalidObject {
                message: "missing `kind`".to_owned(),
                at,
            });
        }
        if kind.ends_with("List") {
            match map.get("items") {
                None => {}
                Some(Value::Null) => continue,
                Some(Value::Array(items)) => {
                    for item in items.iter().rev() {
                        queue.push_front((item.clone(), line, Vec::new()));
                    }
                    continue;
                }
                Some(_) => {
                    return Err(RenderError::InvalidObject {
                        message: format!("`items` of a {kind} is not a list"),
                        at,
                    });
                }
            }
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if name.is_empty() && !kind.ends_with("List") {
            return Err(RenderError::InvalidObject {
                message: format!("missing `metadata.name` in a {kind}"),
                at,
            });
        }
        let mut res = Resource::new(value, Origin::file(path, line));
        res.empty_nulls = empty_nulls;
        out.push(res);
    }
    Ok(out)
}

/// The field serde names in an "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn check_supported(fs: &dyn Fs, target: &Target) -> Result<(), RenderError> {
    let k = &target.k;
    let unsupported = [
        ("helmCharts", !k.helm_charts.is_empty()),
        ("helmGlobals", k.helm_globals.is_some()),
        (
            "helmChartInflationGenerator",
            !k.helm_chart_inflation_generator.is_empty(),
        ),
        ("generators", !k.generators.is_empty()),
        ("transformers", !k.transformers.is_empty()),
        ("validators", !k.validators.is_empty()),
    ];
    for (field, used) in unsupported {
        if used {
            return Err(RenderError::Unsupported {
                field: field.to_owned(),
                at: target.loc(field),
            });
        }
    }
    if let Some(path) = k.open_api.get("path") {
        // The schema only changes how patches merge lists of custom resources; kfctl applies its
        // built-in rules instead, which agree for every schema in the Kubeflow manifests.
        let _ = target.file_in_root(fs, path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::MemFs;

    #[test]
    fn lists_are_unpacked() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
        let res = parse_resources(text, Path::new("l.yaml")).unwrap();
        let names: Vec<_> = res.iter().map(|r| r.name().to_owned()).collect();
        assert_eq!(names, vec!["a", "b", "s"]);
        assert_eq!(res[2].origin.line, 7);
    }

    #[test]
    fn missing_name_is_an_error() {
        let err =
            parse_resources("kind: ConfigMap\nmetadata: {}\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.to_string().contains("x.yaml:1"), "{err}");
    }

    #[test]
    fn cycles_are_found() {
        let mut fs = MemFs::new();
        fs.add("a/kustomization.yaml", "resources: [../b]\n");
        fs.add("b/kustomization.yaml", "resources: [../a]\n");
        let err = build(&fs, Path::new("a")).unwrap_err();
        assert!(matches!(err, RenderError::Cycle { .. }), "{err}");
        assert_eq!(err.to_string(), "cycle in resources: `a` -> `b` -> `a`");
    }

    #[test]
    fn empty_fields_are_empty() {
        let mut fs = MemFs::new();
        fs.add(
            "k/kustomization.yaml",
            "resources:\n- o.yaml\nvars:\n# - name: X\nimages:\n",
        );
        fs.add(
            "k/o.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        );
        assert_eq!(build(&fs, Path::new("k")).unwrap().resources.len(), 1);
    }

    #[test]
    fn unknown_field_names_its_line() {
        let mut fs = MemFs::new();
        fs.add("k/kustomization.yaml", "resources: []\nnamePrefx: x\n");
        let err = build(&fs, Path::new("k")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k/kustomization.yaml:2: unknown field `namePrefx` in kustomization"
        );
    }
}
