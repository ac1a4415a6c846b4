//! Writing a `kfctl.yaml`: the one model `kfctl init` and `kfctl import` fill, written by a YAML
//! serializer, so no value given to them (a KfDef's name, a parameter) can change the file's
//! structure. Comments, which a serializer does not write, are added around the YAML from
//! [`comment`], which keeps any text on its comment lines.

use serde::Serialize;
use serde::ser::SerializeMap;

/// A `kfctl.yaml`, field for field as the config schema names them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KfctlConfig {
    pub api_version: String,
    pub kind: String,
    pub metadata: ConfigMetadata,
    pub spec: ConfigSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigMetadata {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSpec {
    pub platform: String,
    pub release: String,
    pub components: Components,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub parameters: Ordered<Parameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<Admin>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub secrets: Ordered<SecretRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentEntry {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub parameters: Ordered<String>,
}

/// A component without parameters is written on one line, `{enabled: true}`.
#[derive(Debug, Clone)]
pub struct Components(pub Ordered<ComponentEntry>);

impl Serialize for Components {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Enabled {
            enabled: bool,
        }
        let mut map = serializer.serialize_map(Some(self.0.0.len()))?;
        for (name, entry) in &self.0.0 {
            if entry.parameters.is_empty() {
                map.serialize_entry(
                    name,
                    &serde_saphyr::FlowMap(Enabled {
                        enabled: entry.enabled,
                    }),
                )?;
            } else {
                map.serialize_entry(name, entry)?;
            }
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    pub email: String,
    pub password_hash: String,
}

/// A platform parameter's value, with a comment at the end of its line (where it came from),
/// which the serializer keeps on that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub value: String,
    pub comment: Option<String>,
}

impl From<String> for Parameter {
    fn from(value: String) -> Self {
        Parameter {
            value,
            comment: None,
        }
    }
}

impl Serialize for Parameter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.comment {
            Some(c) => serde_saphyr::Commented(&self.value, c.clone()).serialize(serializer),
            None => self.value.serialize(serializer),
        }
    }
}

/// Where a secret's value is read from when kfctl renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretRef {
    Env(String),
    File(String),
}

/// A map written in the order its entries were added (the profile's and catalog's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T> Ordered<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, keeping its place if it is there already.
    pub fn insert(&mut self, key: &str, value: T) {
        match self.get_mut(key) {
            Some(slot) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl KfctlConfig {
    /// The file's text as `kfctl init` writes it: a comment saying where it came from, then the
    /// YAML.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        Ok(format!(
            "# Written by `kfctl init`. Secrets are given by reference (`env:` or `file:`);\n\
             # the admin password is stored only as a bcrypt hash.\n{}",
            self.body()?
        ))
    }

    /// The YAML alone, ending with a line break.
    pub fn body(&self) -> Result<String, serde_saphyr::ser::Error> {
        let mut body = serde_saphyr::to_string(self)?;
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Ok(body)
    }
}

/// `text` as one comment line, `indent` then `# ` then `text`: a line break or any other
/// character a YAML reader could take for one (`\r`, NEL, U+2028, U+2029), or a terminal could
/// act on (control characters), is written escaped, as `\n` or `\u{85}`, so nothing in `text`
/// leaves the comment.
pub fn comment(indent: &str, text: &str) -> String {
    let space = if text.is_empty() { "" } else { " " };
    format!("{indent}#{space}{}\n", escape_control(text))
}

/// `text` with every control character (line breaks, terminal escapes), U+2028, U+2029 and a
/// byte-order mark written escaped (`\n`, `\u{1b}`): text from a file that goes on one line of
/// a comment or of a terminal.
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn no_text_leaves_its_comment() {
        for text in [
            "a\nkind: Evil",
            "a\r\nb: c",
            "x\u{85}y: z",
            "x\u{2028}y: z\u{2029}",
            "\u{1b}]0;title\u{7}",
        ] {
            let doc = format!("{}a: 1\n", comment("  ", text));
            let parsed: Value = serde_saphyr::from_str(&doc).unwrap();
            assert_eq!(parsed, serde_json::json!({"a": 1}), "{doc:?}");
            assert!(!doc.contains('\r') && !doc.contains('\u{1b}'), "{doc:?}");
            assert_eq!(doc.lines().count(), 2, "{doc:?}");
        }
        assert_eq!(comment("  ", "one\ntwo"), "  # one\\ntwo\n");
    }

    #[test]
    fn values_that_look_like_yaml_are_written_as_strings() {
        let mut parameters = Ordered::default();
        let values = [
            "true",
            "no",
            "~",
            "null",
            "0123",
            "1e3",
            "0x1F",
            "1.10",
            "- a",
            "# x",
            "a: b",
            "{{ x }}",
            "[a]",
            "'q'",
            "\"d\"",
            "a\nb",
            " lead",
            "trail ",
            "back\\slash",
            "ü",
            "\u{85}\u{2028}\t",
            "",
        ];
        for (i, v) in values.iter().enumerate() {
            parameters.insert(
                &format!("p{i}"),
                Parameter {
                    value: (*v).to_owned(),
                    comment: Some(format!("from\n{v}")),
                },
            );
        }
        let config = KfctlConfig {
            api_version: "kfctl.dev/v1alpha1".to_owned(),
            kind: "KfctlConfig".to_owned(),
            metadata: ConfigMetadata {
                name: "a\nkind: Evil # x".to_owned(),
            },
            spec: ConfigSpec {
                platform: "local".to_owned(),
                release: "1.10".to_owned(),
                components: Components(Ordered::default()),
                parameters,
                admin: None,
                secrets: Ordered::default(),
            },
        };
        let text = config.body().unwrap();
        let parsed: Value = serde_saphyr::from_str(&text).unwrap();
        let ours = crate::resource::yaml::parse_documents(&text).unwrap();
        assert_eq!(ours.len(), 1);
        assert_eq!(
            ours[0].value, parsed,
            "kfctl's reader and serde-saphyr's agree"
        );
        assert_eq!(parsed["metadata"]["name"], "a\nkind: Evil # x", "{text}");
        assert_eq!(parsed["kind"], "KfctlConfig");
        assert_eq!(parsed["spec"]["release"], "1.10");
        for (i, v) in values.iter().enumerate() {
            assert_eq!(parsed["spec"]["parameters"][format!("p{i}")], *v, "{text}");
        }
    }
}
