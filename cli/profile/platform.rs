//! Platform profiles (`platforms/<name>.yaml`): the default components, the parameters a
//! platform takes (type, default, whether required, validation pattern, secret or not) and what
//! the cluster is expected to offer.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde_json::Value;

use super::doc::{Node, SourceFile, describe};
use super::{API_VERSION, ProfileError, Where, embed};
use crate::render::{Fs, Loc};

#[derive(Debug, Clone)]
pub struct PlatformProfile {
    pub name: String,
    pub description: String,
    /// Components enabled when `kfctl.yaml` says nothing about them.
    pub components: Vec<String>,
    pub parameters: Vec<ParameterSpec>,
    pub preflight: Preflight,
    /// `spec.admissionWebhooks.failurePolicy`: set on every webhook of the render's webhook
    /// configurations when given (`Ignore` on a simulated cluster, whose pods never answer).
    pub webhook_failure_policy: Option<String>,
    pub file: SourceFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Boolean,
    Integer,
}

impl ParamType {
    /// The type as a noun for messages: `a string`, `a boolean`, `an integer`.
    pub fn described(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Boolean => "a boolean (`true` or `false`)",
            ParamType::Integer => "an integer",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ParameterSpec {
    pub name: String,
    pub kind: ParamType,
    /// The default, as the string the parameters ConfigMap holds.
    pub default: Option<String>,
    pub required: bool,
    pub pattern: Option<Regex>,
    pub description: String,
    /// Never printed, and given in `kfctl.yaml` only by reference (`spec.secrets`).
    pub secret: bool,
    pub at: Loc,
}

/// What the cluster should offer; checked before an install.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    pub kubernetes_min: Option<String>,
    pub kubernetes_max: Option<String>,
    pub storage_classes: Vec<String>,
    pub crds: Vec<String>,
    pub gpu_node_labels: BTreeMap<String, String>,
}

impl PlatformProfile {
    pub fn load(fs: &dyn Fs, root: &Path, name: &str) -> Result<PlatformProfile, ProfileError> {
        let file = SourceFile::read(fs, &root.join("platforms").join(format!("{name}.yaml")))?;
        let profile = Self::parse(file)?;
        if profile.name != name {
            return Err(ProfileError::Invalid {
                message: format!(
                    "the profile in `platforms/{name}.yaml` is named `{}`",
                    profile.name
                ),
                at: Loc::new(&profile.file.path, None),
                hint: Some("`metadata.name` must match the file name".to_owned()),
            });
        }
        Ok(profile)
    }

    pub fn parse(file: SourceFile) -> Result<PlatformProfile, ProfileError> {
        let root = file.root();
        root.fields(&["apiVersion", "kind", "metadata", "spec"])?;
        root.expect_kind(API_VERSION, "PlatformProfile")?;
        let meta = root.require("metadata")?;
        meta.fields(&["name", "description"])?;
        let spec = root.require("spec")?;
        spec.fields(&["components", "parameters", "preflight", "admissionWebhooks"])?;
        let webhook_failure_policy = match spec.get("admissionWebhooks") {
            Some(n) => {
                n.fields(&["failurePolicy"])?;
                match n.get("failurePolicy") {
                    Some(p) => {
                        let policy = p.str()?.to_owned();
                        if policy != "Ignore" && policy != "Fail" {
                            return Err(ProfileError::Invalid {
                                message: format!("`admissionWebhooks.failurePolicy` is `{policy}`"),
                                at: Loc::new(&file.path, None),
                                hint: Some("use `Ignore` or `Fail`".to_owned()),
                            });
                        }
                        Some(policy)
                    }
                    None => None,
                }
            }
            None => None,
        };
        let parameters = spec.get_list("parameters", parse_parameters)?;
        let preflight = match spec.get("preflight") {
            Some(n) => parse_preflight(&n)?,
            None => Preflight::default(),
        };
        let profile = PlatformProfile {
            name: meta.require("name")?.str()?.to_owned(),
            description: meta.require("description")?.str()?.to_owned(),
            components: spec.require("components")?.strings()?,
            parameters,
            preflight,
            webhook_failure_policy,
            file: file.clone(),
        };
        Ok(profile)
    }

    pub fn parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

pub fn parse_parameters(node: &Node<'_>) -> Result<Vec<ParameterSpec>, ProfileError> {
    let mut out: Vec<ParameterSpec> = Vec::new();
    for item in node.list()? {
        item.fields(&[
            "name",
            "type",
            "default",
            "required",
            "pattern",
            "description",
            "secret",
        ])?;
        let name_node = item.require("name")?;
        let name = name_node.str()?.to_owned();
        if !is_camel_case(&name) {
            return Err(ProfileError::Invalid {
                message: format!("parameter name `{name}` is not camelCase"),
                at: name_node.loc(),
                hint: Some("parameter names start with a lower-case letter and hold only letters and digits".to_owned()),
            });
        }
        if out.iter().any(|p| p.name == name) {
            return Err(ProfileError::Invalid {
                message: format!("parameter `{name}` is declared twice"),
                at: name_node.loc(),
                hint: None,
            });
        }
        let kind = match item.get("type") {
            None => ParamType::String,
            Some(t) => match t.str()? {
                "string" => ParamType::String,
                "boolean" => ParamType::Boolean,
                "integer" => ParamType::Integer,
                other => {
                    return Err(ProfileError::Invalid {
                        message: format!("unknown parameter type `{other}`"),
                        at: t.loc(),
                        hint: Some("use `string`, `boolean` or `integer`".to_owned()),
                    });
                }
            },
        };
        let pattern = match item.get("pattern") {
            None => None,
            Some(p) => {
                let text = p.str()?;
                Some(Regex::new(text).map_err(|e| ProfileError::Invalid {
                    message: format!("invalid pattern: {e}"),
                    at: p.loc(),
                    hint: None,
                })?)
            }
        };
        let mut spec = ParameterSpec {
            name,
            kind,
            default: None,
            required: item.get("required").map_or(Ok(false), |n| n.bool())?,
            pattern,
            description: item
                .get("description")
                .map_or(Ok(""), |n| n.str())?
                .to_owned(),
            secret: item.get("secret").map_or(Ok(false), |n| n.bool())?,
            at: item.loc(),
        };
        if let Some(d) = item.get("default") {
            let value = spec.value_from_yaml(d.value, Where::File(d.loc()))?;
            spec.default = Some(value);
        }
        out.push(spec);
    }
    Ok(out)
}

fn parse_preflight(node: &Node<'_>) -> Result<Preflight, ProfileError> {
    node.fields(&["kubernetes", "storageClasses", "crds", "gpuNodeLabels"])?;
    let mut out = Preflight::default();
    if let Some(k) = node.get("kubernetes") {
        k.fields(&["min", "max"])?;
        out.kubernetes_min = k.get_string("min")?;
        out.kubernetes_max = k.get_string("max")?;
    }
    out.storage_classes = node.get_strings("storageClasses")?;
    out.crds = node.get_strings("crds")?;
    if let Some(n) = node.get("gpuNodeLabels") {
        out.gpu_node_labels = n.named(|e| Ok(e.str()?.to_owned()))?.into_iter().collect();
    }
    Ok(out)
}

fn is_camel_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

impl ParameterSpec {
    /// A value written in YAML, checked against the type and pattern; the string form kfctl keeps.
    pub fn value_from_yaml(&self, value: &Value, from: Where) -> Result<String, ProfileError> {
        let text = match (self.kind, value) {
            (ParamType::String, Value::String(s)) => s.clone(),
            (ParamType::Boolean, Value::Bool(b)) => b.to_string(),
            (ParamType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(self.type_error(|| describe(value), from)),
        };
        self.check(text, from)
    }

    /// A value given as text (`--set name=value`), checked against the type and pattern.
    pub fn value_from_text(&self, text: &str, from: Where) -> Result<String, ProfileError> {
        let ok = match self.kind {
            ParamType::String => true,
            ParamType::Boolean => text == "true" || text == "false",
            ParamType::Integer => text.parse::<i64>().is_ok(),
        };
        if !ok {
            return Err(self.type_error(|| format!("`{text}`"), from));
        }
        self.check(text.to_owned(), from)
    }

    /// A value of the wrong type, shown by `found` unless the parameter is secret.
    fn type_error(&self, found: impl FnOnce() -> String, from: Where) -> ProfileError {
        ProfileError::ParameterType {
            name: self.name.clone(),
            expected: self.kind,
            found: if self.secret {
                "a value".to_owned()
            } else {
                found()
            },
            from,
        }
    }

    /// Every value, given or default, passes here: its pattern, then what the documents it is
    /// spliced into can hold (see [`embed`]).
    fn check(&self, text: String, from: Where) -> Result<String, ProfileError> {
        if let Some(p) = &self.pattern
            && !p.is_match(&text)
        {
            return Err(ProfileError::InvalidValue {
                name: self.name.clone(),
                value: if self.secret { None } else { Some(text) },
                pattern: p.as_str().to_owned(),
                description: self.description.clone(),
                from,
            });
        }
        if let Some((splice, why)) = embed::SPLICES
            .iter()
            .filter(|s| s.parameter == self.name && !text.is_empty())
            .find_map(|s| embed::refusal(&text, s.syntax).map(|why| (s, why)))
        {
            return Err(ProfileError::Unembeddable {
                name: self.name.clone(),
                document: splice.document,
                why: if self.secret {
                    "it holds a character that is not allowed there".to_owned()
                } else {
                    why
                },
                from,
            });
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Result<PlatformProfile, ProfileError> {
        PlatformProfile::parse(SourceFile::parse(Path::new("p.yaml"), text.to_owned())?)
    }

    const HEAD: &str = "apiVersion: kfctl.dev/v1alpha1\nkind: PlatformProfile\nmetadata: {name: t, description: test}\nspec:\n  components: [istio]\n";

    #[test]
    fn reads_parameters_with_defaults_as_strings() {
        let p = profile(&format!(
            "{HEAD}  parameters:\n  - name: port\n    type: integer\n    default: 80\n  - name: on\n    type: boolean\n    default: true\n"
        ))
        .unwrap();
        assert_eq!(p.parameters[0].default.as_deref(), Some("80"));
        assert_eq!(p.parameters[1].default.as_deref(), Some("true"));
    }

    #[test]
    fn unknown_key_in_a_parameter_names_its_line() {
        let err = profile(&format!(
            "{HEAD}  parameters:\n  - name: port\n    requird: true\n"
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml:8: unknown field `spec.parameters[0].requird`"
        );
    }

    #[test]
    fn default_must_match_the_pattern() {
        let err = profile(&format!(
            "{HEAD}  parameters:\n  - name: mode\n    pattern: '^(a|b)$'\n    default: c\n"
        ))
        .unwrap_err();
        assert!(matches!(err, ProfileError::InvalidValue { .. }), "{err}");
    }

    /// Without a pattern, a value spliced into a URL segment is still refused when it holds what
    /// would move the splice; one spliced between YAML quotes is kept as given (it is encoded).
    #[test]
    fn a_value_spliced_into_a_url_is_checked_even_without_a_pattern() {
        let p = profile(&format!(
            "{HEAD}  parameters:\n  - name: gcsBucket\n  - name: adminEmail\n"
        ))
        .unwrap();
        let err = p.parameters[0]
            .value_from_text("kf/../x", Where::Default)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "default: parameter `gcsBucket` cannot be written into the pipeline root `gs://BUCKET/v2/artifacts`: it holds '/', and only letters, digits and `-._~` are allowed"
        );
        assert_eq!(
            p.parameters[1]
                .value_from_text("a\"\n@b", Where::Default)
                .unwrap(),
            "a\"\n@b"
        );
    }

    #[test]
    fn text_values_are_type_checked() {
        let p = profile(&format!(
            "{HEAD}  parameters:\n  - name: port\n    type: integer\n"
        ))
        .unwrap();
        let spec = &p.parameters[0];
        assert_eq!(
            spec.value_from_text("8080", Where::Default).unwrap(),
            "8080"
        );
        assert!(matches!(
            spec.value_from_text("eighty", Where::Default),
            Err(ProfileError::ParameterType { .. })
        ));
    }
}
