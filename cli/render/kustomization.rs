//! The `kustomization.yaml` schema, read strictly: an unknown field is an error with its line.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::fieldspec::FieldSpec;
use crate::resource::Gvk;

/// The file names kustomize looks for, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub metadata: Option<Value>,
    #[serde(rename = "openapi")]
    pub open_api: BTreeMap<String, String>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    #[serde(deserialize_with = "string_map")]
    pub common_labels: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    #[serde(deserialize_with = "string_map")]
    pub common_annotations: BTreeMap<String, String>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
    pub image_tags: Vec<Image>,
    pub replacements: Vec<ReplacementField>,
    pub replicas: Vec<Replica>,
    pub vars: Vec<Var>,
    pub sort_options: Option<SortOptions>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub bases: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub helm_globals: Option<Value>,
    pub helm_charts: Vec<Value>,
    pub helm_chart_inflation_generator: Vec<Value>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Label {
    #[serde(deserialize_with = "string_map")]
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub include_volume_claim_templates: bool,
    #[serde(rename = "fields")]
    pub field_specs: Vec<FieldSpec>,
}

/// A patch: a file or inline text, strategic merge or JSON 6902, and the objects it targets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub options: Option<PatchOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchOptions {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

/// Selects objects: empty fields match anything; `name` and `namespace` are anchored regexes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

impl Selector {
    pub fn gvk(&self) -> Gvk {
        Gvk::new(&self.group, &self.version, &self.kind)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub tag_suffix: String,
    pub digest: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// A `vars` entry: the value of `fieldref.fieldpath` in the object `objref`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Var {
    pub name: String,
    // kustomize matches field names without regard to case; these are the spellings in use.
    #[serde(alias = "objRef")]
    pub objref: VarTarget,
    #[serde(alias = "fieldRef")]
    pub fieldref: FieldRef,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct VarTarget {
    pub api_version: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl VarTarget {
    /// `apiVersion`, when given, overrides `group` and `version`.
    pub fn gvk(&self) -> Gvk {
        if self.api_version.is_empty() {
            Gvk::new(&self.group, &self.version, &self.kind)
        } else {
            Gvk::from_api_version(&self.api_version, &self.kind)
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FieldRef {
    #[serde(alias = "fieldPath")]
    pub fieldpath: String,
}

impl Default for FieldRef {
    fn default() -> Self {
        FieldRef {
            fieldpath: "metadata.name".to_owned(),
        }
    }
}

/// A `replacements` entry: inline, or `path` to a file holding one or more replacements.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplacementField {
    pub path: String,
    pub source: Option<SourceSelector>,
    pub targets: Option<Vec<TargetSelector>>,
}

/// A replacement read from a `path:` file; kustomize reads those leniently, unknown fields
/// ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Replacement {
    pub source: Option<SourceSelector>,
    pub targets: Option<Vec<TargetSelector>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceSelector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub field_path: String,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSelector {
    pub select: Option<Selector>,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldOptions {
    pub delimiter: String,
    pub index: i64,
    pub encoding: String,
    pub create: bool,
}

/// `configMapGenerator` and `secretGenerator` entries (`type` is for Secrets only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorArgs {
    pub namespace: String,
    pub name: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub env: String,
    pub options: Option<GeneratorOptions>,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    #[serde(deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "string_map")]
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SortOptions {
    pub order: String,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySortOptions {
    pub order_first: Vec<String>,
    pub order_last: Vec<String>,
}

/// Label and annotation maps take any scalar and keep it as text (`version: 1` means "1").
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

impl Kustomization {
    /// Fields kustomize still reads but has deprecated, with its warning for each.
    pub fn deprecation_warnings(&self) -> Vec<String> {
        // (field, whether it is unused, what replaces it, a note after the advice)
        let deprecated = [
            ("bases", self.bases.is_empty(), "resources", ""),
            ("imageTags", self.image_tags.is_empty(), "images", ""),
            (
                "patchesJson6902",
                self.patches_json6902.is_empty(),
                "patches",
                "",
            ),
            (
                "patchesStrategicMerge",
                self.patches_strategic_merge.is_empty(),
                "patches",
                "",
            ),
            (
                "vars",
                self.vars.is_empty(),
                "replacements",
                " [EXPERIMENTAL]",
            ),
            ("commonLabels", self.common_labels.is_empty(), "labels", ""),
        ];
        deprecated
            .into_iter()
            .filter(|(_, unused, _, _)| !unused)
            .map(|(field, _, instead, note)| {
                format!(
                    "# Warning: '{field}' is deprecated. Please use '{instead}' instead.{note} Run 'kustomize edit fix' to update your Kustomization automatically."
                )
            })
            .collect()
    }

    /// Folds deprecated spellings into their current fields, as kustomize does on load.
    pub fn fix(&mut self) {
        if self.kind.is_empty() {
            self.kind = "Kustomization".to_owned();
        }
        let bases = std::mem::take(&mut self.bases);
        self.resources.extend(bases);
        let tags = std::mem::take(&mut self.image_tags);
        self.images.extend(tags);
        for g in self
            .config_map_generator
            .iter_mut()
            .chain(self.secret_generator.iter_mut())
        {
            if !g.env.is_empty() {
                g.envs.push(std::mem::take(&mut g.env));
            }
        }
    }

    pub fn is_component(&self) -> bool {
        self.kind == "Component"
    }
}

/// The 1-based line where `key:` first appears at the start of a line (any indent), or where
/// `needle` appears, for pointing errors at the kustomization text.
pub fn find_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(key)
                && t[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
        })
        .map(|i| i + 1)
}

/// The 1-based line of the first line containing `needle`.
pub fn find_text(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_fixes_deprecated_ones() {
        let v = crate::resource::yaml::parse_documents(
            "bases: [../b]\nresources: [a.yaml]\ncommonLabels: {v: 1}\nimageTags: [{name: x, newTag: y}]\nconfigMapGenerator:\n- name: c\n  env: e.env\n",
        )
        .unwrap()
        .remove(0)
        .value;
        let mut k: Kustomization = serde_json::from_value(v).unwrap();
        let warnings = k.deprecation_warnings();
        assert_eq!(warnings.len(), 3);
        assert_eq!(
            warnings[0],
            "# Warning: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically."
        );
        let vars: Kustomization =
            serde_json::from_value(serde_json::json!({"vars": [{"name": "V"}]})).unwrap();
        assert_eq!(
            vars.deprecation_warnings(),
            vec![
                "# Warning: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization automatically."
            ]
        );
        k.fix();
        assert_eq!(k.resources, vec!["a.yaml", "../b"]);
        assert_eq!(k.images[0].new_tag, "y");
        assert_eq!(k.common_labels["v"], "1");
        assert_eq!(k.config_map_generator[0].envs, vec!["e.env"]);
        assert_eq!(k.kind, "Kustomization");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let v = serde_json::json!({"resources": [], "resourcez": []});
        let err = serde_json::from_value::<Kustomization>(v).unwrap_err();
        assert!(err.to_string().contains("resourcez"));
    }

    #[test]
    fn lines() {
        let text = "resources:\n- a.yaml\n- b.yaml\nnamespace: x\n";
        assert_eq!(find_line(text, "namespace"), Some(4));
        assert_eq!(find_text(text, "b.yaml"), Some(3));
    }
}
