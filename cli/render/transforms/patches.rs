//! `patchesStrategicMerge`, `patches` and `patchesJson6902`, as kustomize's builtin patch
//! transformers apply them.
//!
//! A strategic-merge patch without a `target` picks its object by its own id, matched against
//! every id the object has had (kustomize's `GetById`); finding none is an error. With a
//! `target`, the patch goes to every object the selector matches, and to none without error. A
//! patch never renames or re-kinds its object unless `options.allowNameChange` /
//! `allowKindChange` say so: kustomize quietly puts the old name, kind and namespace back.

use serde_json::Value;

use super::Ctx;
use crate::render::kustomization::{Patch, PatchOptions, Selector};
use crate::render::load::parse_resources;
use crate::render::patch::{json6902, strategic};
use crate::render::select::Matcher;
use crate::render::{Loc, RenderError};
use crate::resource::{Resource, ResourceSet};

pub fn strategic_merge_field(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for entry in &ctx.target.k.patches_strategic_merge {
        let at = entry_loc(ctx, "patchesStrategicMerge", entry);
        // kustomize first reads the entry as inline YAML, then as a file name.
        let patches = match parse_resources(entry, &ctx.target.file) {
            Ok(p) if !p.is_empty() => p,
            _ => {
                let text = ctx.target.read_file(ctx.fs, entry)?;
                let path = ctx.target.resolve_in_root(entry)?;
                parse_resources(&text, &path)?
            }
        };
        if patches.is_empty() {
            return Err(RenderError::InvalidKustomization {
                message: format!("patch `{entry}` is empty"),
                at,
            });
        }
        for patch in &patches {
            apply_by_id(set, patch, &PatchOptions::default(), &at)?;
        }
    }
    Ok(())
}

pub fn patches_field(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for entry in &ctx.target.k.patches {
        let (text, at, path) = patch_text(ctx, entry, "patches")?;
        let options = entry.options.clone().unwrap_or_default();
        if json6902::looks_like_json_patch(&text) {
            let Some(target) = &entry.target else {
                return Err(RenderError::InvalidKustomization {
                    message: "a JSON 6902 patch needs a `target`".to_owned(),
                    at,
                });
            };
            apply_json6902(set, &text, target, &at, true)?;
            continue;
        }
        let patches = parse_resources(&text, &path).map_err(|e| match path == ctx.target.file {
            // Lines of an inline patch do not count from the top of the kustomization.
            true => RenderError::InvalidKustomization {
                message: format!(
                    "patch is neither a strategic merge nor a JSON patch: {}",
                    match e {
                        RenderError::InvalidObject { message, .. } => message,
                        RenderError::Yaml { source, .. } => source.message,
                        other => other.to_string(),
                    }
                ),
                at: at.clone(),
            },
            false => e,
        })?;
        if patches.is_empty() {
            return Err(RenderError::InvalidKustomization {
                message: "patch is empty".to_owned(),
                at,
            });
        }
        match &entry.target {
            None => {
                for patch in &patches {
                    apply_by_id(set, patch, &options, &at)?;
                }
            }
            Some(target) => {
                if patches.len() > 1 {
                    return Err(RenderError::InvalidKustomization {
                        message: "a `patches` entry with a `target` may hold only one strategic merge patch".to_owned(),
                        at,
                    });
                }
                let matcher = matcher(target, &at)?;
                let selected: Vec<usize> = (0..set.len())
                    .filter(|&i| matcher.matches(set.at(i)))
                    .collect();
                apply_to(set, &selected, &patches[0], &options, &at)?;
            }
        }
    }
    Ok(())
}

pub fn json6902_field(ctx: &Ctx, set: &mut ResourceSet) -> Result<(), RenderError> {
    for entry in &ctx.target.k.patches_json6902 {
        let (text, at, _) = patch_text(ctx, entry, "patchesJson6902")?;
        let Some(target) = entry.target.as_ref().filter(|t| !t.name.is_empty()) else {
            return Err(RenderError::InvalidKustomization {
                message: "a `patchesJson6902` entry needs a `target` with a `name`".to_owned(),
                at,
            });
        };
        apply_json6902(set, &text, target, &at, false)?;
    }
    Ok(())
}

/// The patch text of an entry (`path` or inline `patch`), where to point errors, and the file it
/// came from (the kustomization itself for inline patches).
fn patch_text(
    ctx: &Ctx,
    entry: &Patch,
    field: &str,
) -> Result<(String, Loc, std::path::PathBuf), RenderError> {
    let inline = entry.patch.trim();
    match (inline.is_empty(), entry.path.is_empty()) {
        (true, true) => Err(RenderError::InvalidKustomization {
            message: format!("a `{field}` entry needs `path` or `patch`"),
            at: ctx.target.loc(field),
        }),
        (false, false) => Err(RenderError::InvalidKustomization {
            message: format!("a `{field}` entry may not set both `path` and `patch`"),
            at: ctx.target.loc_of(&entry.path),
        }),
        (false, true) => Ok((
            inline.to_owned(),
            entry_loc(ctx, field, inline),
            ctx.target.file.clone(),
        )),
        (true, false) => {
            let text = ctx.target.read_file(ctx.fs, &entry.path)?;
            let path = ctx.target.resolve_in_root(&entry.path)?;
            Ok((text, ctx.target.loc_of(&entry.path), path))
        }
    }
}

/// The kustomization line that names an entry: its first non-empty line, or the field.
fn entry_loc(ctx: &Ctx, field: &str, entry: &str) -> Loc {
    let first = entry.lines().map(str::trim).find(|l| !l.is_empty());
    match first {
        Some(line) if ctx.target.loc_of(line).line.is_some() => ctx.target.loc_of(line),
        _ => ctx.target.loc(field),
    }
}

fn matcher(target: &Selector, at: &Loc) -> Result<Matcher, RenderError> {
    Matcher::new(target).map_err(|e| RenderError::InvalidKustomization {
        message: e.to_string(),
        at: at.clone(),
    })
}

/// Applies a strategic-merge patch to the one object whose current or earlier id is the patch's.
fn apply_by_id(
    set: &mut ResourceSet,
    patch: &Resource,
    options: &PatchOptions,
    at: &Loc,
) -> Result<(), RenderError> {
    let id = patch.id();
    let found: Vec<usize> = (0..set.len())
        .filter(|&i| set.at(i).all_ids().any(|other| other.same_as(&id)))
        .collect();
    match found.len() {
        0 => Err(RenderError::PatchTargetNotFound {
            what: format!("no `{}` object is `{id}`", id.gvk.api_version()),
            at: at.clone(),
        }),
        1 => apply_to(set, &found, patch, options, at),
        n => Err(RenderError::InvalidKustomization {
            message: format!("the patch for `{id}` matches {n} objects"),
            at: at.clone(),
        }),
    }
}

/// kustomize's `ApplySmPatch`: the patch takes each target's `apiVersion`, then the target's
/// name, kind and namespace are restored unless the options allow changing them. Objects the
/// patch deletes leave the set.
fn apply_to(
    set: &mut ResourceSet,
    selected: &[usize],
    patch: &Resource,
    options: &PatchOptions,
    at: &Loc,
) -> Result<(), RenderError> {
    let mut deleted = Vec::new();
    for &i in selected {
        let res = set.get_mut_at(i);
        let mut body = patch.body.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("apiVersion".into(), Value::String(res.api_version().into()));
        }
        let (name, namespace, kind) = (
            res.name().to_owned(),
            res.namespace().to_owned(),
            res.kind().to_owned(),
        );
        if options.allow_name_change || options.allow_kind_change {
            res.remember_id();
        }
        let merged = strategic::merge(&res.body, &body).map_err(|e| RenderError::Patch {
            id: res.id(),
            origin: res.origin.clone(),
            message: e.to_string(),
            at: at.clone(),
        })?;
        let Some(merged) = merged else {
            deleted.push(i);
            continue;
        };
        res.body = merged;
        drop_empty_nulls(res);
        if !options.allow_kind_change
            && let Some(obj) = res.body.as_object_mut()
        {
            obj.insert("kind".into(), Value::String(kind));
        }
        if !options.allow_name_change {
            res.set_name(&name);
        }
        if namespace.is_empty() {
            res.metadata_mut().remove("namespace");
        } else {
            res.set_namespace(&namespace);
        }
    }
    for &i in deleted.iter().rev() {
        set.remove_at(i);
    }
    if options.allow_name_change || options.allow_kind_change {
        set.check_unique()?;
    }
    Ok(())
}

/// Applies a JSON 6902 patch to every object `target` selects; none is not an error.
/// `remember` records the old id first, as the `patches` field does and `patchesJson6902` does
/// not.
fn apply_json6902(
    set: &mut ResourceSet,
    text: &str,
    target: &Selector,
    at: &Loc,
    remember: bool,
) -> Result<(), RenderError> {
    let ops = json6902::parse(text).map_err(|e| RenderError::InvalidKustomization {
        message: format!("invalid JSON patch: {e}"),
        at: at.clone(),
    })?;
    let matcher = matcher(target, at)?;
    for i in 0..set.len() {
        if !matcher.matches(set.at(i)) {
            continue;
        }
        let res = set.get_mut_at(i);
        if remember {
            res.remember_id();
        }
        json6902::apply(&mut res.body, &ops).map_err(|e| RenderError::Patch {
            id: res.id(),
            origin: res.origin.clone(),
            message: e.to_string(),
            at: at.clone(),
        })?;
    }
    set.check_unique()?;
    Ok(())
}

/// kustomize's merge walker drops the fields of the patched object that were written as nothing
/// (`key:`), while an explicit `null` stays.
fn drop_empty_nulls(res: &mut crate::resource::Resource) {
    for pointer in std::mem::take(&mut res.empty_nulls) {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            continue;
        };
        let key = crate::resource::pointer::unescape(key);
        if let Some(Value::Object(map)) = res.body.pointer_mut(parent)
            && map.get(&key).is_some_and(Value::is_null)
        {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::render::RenderError;
    use crate::render::testing::build_in;
    use crate::resource::yaml::to_yaml_stream;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n";

    fn render(files: &[(&str, &str)]) -> Result<String, RenderError> {
        let out = build_in("/k", files)?;
        Ok(to_yaml_stream(out.resources.iter().map(|r| &r.body)))
    }

    /// The render of a kustomization of `d.yaml`, which holds [`DEPLOYMENT`], and `rest`.
    fn with_deployment(rest: &str) -> Result<String, RenderError> {
        with_deployment_and(&[], rest)
    }

    /// [`with_deployment`] with `files` (its patches) beside the kustomization.
    fn with_deployment_and(files: &[(&str, &str)], rest: &str) -> Result<String, RenderError> {
        let kustomization = format!("resources: [d.yaml]\n{rest}");
        let mut all = vec![
            ("d.yaml", DEPLOYMENT),
            ("kustomization.yaml", kustomization.as_str()),
        ];
        all.extend_from_slice(files);
        render(&all)
    }

    #[test]
    fn strategic_merge_by_id_and_by_target() {
        let out = with_deployment_and(
            &[(
                "p.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        image: side:1\n",
            )],
            "patchesStrategicMerge: [p.yaml]\npatches:\n- target: {kind: Deployment, labelSelector: app=web}\n  patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: anything}\n    spec: {replicas: 2}\n",
        )
        .unwrap();
        assert!(out.contains("replicas: 2"), "{out}");
        assert!(out.contains("name: web\n"), "{out}");
        let side = out.find("name: side").unwrap();
        let app = out.find("name: app").unwrap();
        assert!(side < app, "the patch's containers come first: {out}");
    }

    #[test]
    fn json6902_in_patches_and_patches_json6902() {
        let out = with_deployment_and(
            &[(
                "ops.yaml",
                "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: app:2\n",
            )],
            "patches:\n- target: {kind: Deployment, name: web}\n  patch: '[{\"op\": \"add\", \"path\": \"/metadata/labels/app.kubernetes.io~1name\", \"value\": \"web\"}]'\npatchesJson6902:\n- target: {group: apps, version: v1, kind: Deployment, name: web}\n  path: ops.yaml\n",
        )
        .unwrap();
        assert!(out.contains("app.kubernetes.io/name: web"), "{out}");
        assert!(out.contains("image: app:2"), "{out}");
    }

    #[test]
    fn a_patch_finds_its_object_by_an_earlier_name() {
        let out = render(&[
            ("base/d.yaml", DEPLOYMENT),
            (
                "base/kustomization.yaml",
                "resources: [d.yaml]\nnamePrefix: pre-\n",
            ),
            (
                "kustomization.yaml",
                "resources: [base]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec: {replicas: 3}\n",
            ),
        ])
        .unwrap();
        assert!(out.contains("name: pre-web\n"), "{out}");
        assert!(out.contains("replicas: 3"), "{out}");
    }

    #[test]
    fn a_patch_for_a_missing_object_names_its_line() {
        let k = "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: nope}\n";
        let err = with_deployment(k).unwrap_err();
        assert!(
            matches!(&err, RenderError::PatchTargetNotFound { at, .. } if at.line == Some(4)),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_json_patch_names_the_object() {
        let k = "patches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: remove\n      path: /spec/missing\n";
        let err = with_deployment(k).unwrap_err();
        let RenderError::Patch { id, origin, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(id.name, "web");
        assert_eq!(origin.path, Path::new("/k/d.yaml"));
    }

    #[test]
    fn names_change_only_when_allowed() {
        let patch = "  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: renamed}\n";
        let kept = with_deployment(&format!("patches:\n- target: {{name: web}}\n{patch}")).unwrap();
        assert!(kept.contains("name: web\n"), "{kept}");
        let allowed = format!(
            "patches:\n- target: {{name: web}}\n  options: {{allowNameChange: true}}\n{patch}"
        );
        let renamed = with_deployment(&allowed).unwrap();
        assert!(renamed.contains("name: renamed\n"), "{renamed}");
    }

    #[test]
    fn a_delete_patch_removes_the_object() {
        let k = "patchesStrategicMerge:\n- |-\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web}\n  $patch: delete\n";
        let out = with_deployment(k).unwrap();
        assert_eq!(out.trim(), "", "{out}");
    }
}
