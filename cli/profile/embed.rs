//! Parameters spliced into the text of another document.
//!
//! Most overlays set a parameter as a whole field of an object (an annotation, `spec.owner.name`),
//! where the YAML writer quotes it. A few cannot: dex's `config.yaml` and Argo's
//! `artifactRepository` are YAML documents held in one string field, and a kustomize replacement
//! can only set a delimited part of a string (`options.delimiter`, `options.index`). There the
//! value is spliced into the text as it is, so it must be written in that document's own syntax.
//!
//! [`SPLICES`] is every such place, by parameter. A value spliced between the double quotes of a
//! YAML scalar is encoded for it and given to overlays under its own key of `kfctl-parameters`
//! ([`encoded_key`]), beside the value as given; a value spliced where nothing can encode it (a
//! segment of a URL) is refused unless it is plain text ([`refusal`], which every parameter value
//! passes through as its pattern is checked). A unit test reads every
//! overlay and fails on a delimited replacement this table does not know.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How a document reads the text spliced into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Between the double quotes of a YAML scalar (the replacement's delimiter is `"`): any
    /// value, written with YAML's escapes and never with a `"`, which would move the delimited
    /// parts a later replacement of the same field counts.
    YamlDoubleQuoted,
    /// A segment of a URL between `/`s (`gs://BUCKET/...`): letters, digits and `-._~` only.
    UrlSegment,
    /// Between the double quotes of a JSON string (the replacement's delimiter is `"`): any
    /// value, written with JSON's escapes and never with a `"` (`\u0022` instead).
    JsonDoubleQuoted,
    /// The text after `=` of one command-line argument, an element of a container's `command`
    /// (no shell reads it): any value.
    ArgumentValue,
}

impl Syntax {
    /// The document kind, for messages.
    pub fn described(self) -> &'static str {
        match self {
            Syntax::YamlDoubleQuoted => "a double-quoted YAML string",
            Syntax::JsonDoubleQuoted => "a JSON string",
            Syntax::UrlSegment => "a segment of a URL",
            Syntax::ArgumentValue => "a command-line argument",
        }
    }
}

/// One parameter spliced into one kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splice {
    pub parameter: &'static str,
    pub syntax: Syntax,
    /// Where, for messages and readers: `dex's `config.yaml``.
    pub document: &'static str,
}

/// Every parameter an overlay splices into the text of another document.
pub const SPLICES: &[Splice] = &[
    Splice {
        parameter: "adminEmail",
        syntax: Syntax::YamlDoubleQuoted,
        document: "dex's `config.yaml`",
    },
    Splice {
        parameter: "ldapHost",
        syntax: Syntax::YamlDoubleQuoted,
        document: "dex's `config.yaml`",
    },
    Splice {
        parameter: "ldapBindDN",
        syntax: Syntax::YamlDoubleQuoted,
        document: "dex's `config.yaml`",
    },
    Splice {
        parameter: "ldapUserBaseDN",
        syntax: Syntax::YamlDoubleQuoted,
        document: "dex's `config.yaml`",
    },
    Splice {
        parameter: "gcsBucket",
        syntax: Syntax::YamlDoubleQuoted,
        document: "Argo's `artifactRepository`",
    },
    Splice {
        parameter: "gcsBucket",
        syntax: Syntax::UrlSegment,
        document: "the pipeline root `gs://BUCKET/v2/artifacts`",
    },
    Splice {
        parameter: "s3Bucket",
        syntax: Syntax::YamlDoubleQuoted,
        document: "Argo's `artifactRepository`",
    },
    Splice {
        parameter: "s3Bucket",
        syntax: Syntax::UrlSegment,
        document: "the pipeline root `s3://BUCKET/v2/artifacts`",
    },
    Splice {
        parameter: "region",
        syntax: Syntax::YamlDoubleQuoted,
        document: "Argo's `artifactRepository`",
    },
    Splice {
        parameter: "domain",
        syntax: Syntax::JsonDoubleQuoted,
        document: "KServe's `ingress` settings",
    },
    Splice {
        parameter: "region",
        syntax: Syntax::JsonDoubleQuoted,
        document: "KServe's `credentials` settings",
    },
    Splice {
        parameter: "gpuDriverVersion",
        syntax: Syntax::ArgumentValue,
        document: "the GKE driver installer's `--version=`",
    },
];

/// The key of `kfctl-parameters` holding `parameter` encoded for `syntax`, when it needs one.
/// `_` is in no parameter or component name, so the key never names a parameter.
pub fn encoded_key(parameter: &str, syntax: Syntax) -> Option<String> {
    match syntax {
        Syntax::YamlDoubleQuoted => Some(format!("{parameter}_yamlQuoted")),
        Syntax::JsonDoubleQuoted => Some(format!("{parameter}_jsonQuoted")),
        Syntax::UrlSegment | Syntax::ArgumentValue => None,
    }
}

/// `value` encoded for `syntax`: what is spliced, so that the document reads `value`.
pub fn encode(value: &str, syntax: Syntax) -> String {
    match syntax {
        Syntax::YamlDoubleQuoted => yaml_double_quoted(value),
        Syntax::JsonDoubleQuoted => json_double_quoted(value),
        Syntax::UrlSegment | Syntax::ArgumentValue => value.to_owned(),
    }
}

/// Why `value` cannot be spliced as `syntax`, if it cannot.
pub fn refusal(value: &str, syntax: Syntax) -> Option<String> {
    match syntax {
        Syntax::YamlDoubleQuoted | Syntax::JsonDoubleQuoted | Syntax::ArgumentValue => None,
        Syntax::UrlSegment => value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
            .map(|c| format!("it holds {c:?}, and only letters, digits and `-._~` are allowed")),
    }
}

/// The encoded values overlays read, by key, for the parameters in `parameters`.
pub fn encoded(parameters: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    SPLICES
        .iter()
        .filter_map(|s| {
            let key = encoded_key(s.parameter, s.syntax)?;
            let value = parameters.get(s.parameter)?;
            Some((key, encode(value, s.syntax)))
        })
        .collect()
}

/// The inside of a YAML double-quoted scalar that reads `value`: printable characters as they
/// are, `\` and `"` and everything else escaped (control characters, line breaks including
/// YAML 1.1's NEL and U+2028/U+2029, a byte-order mark), never a `"`.
pub fn yaml_double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let code = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\x22"),
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..
                if !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.push(c)
            }
            _ if code <= 0xff => {
                let _ = write!(out, "\\x{code:02x}");
            }
            _ if code <= 0xffff => {
                let _ = write!(out, "\\u{code:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{code:08x}");
            }
        }
    }
    out
}

/// The inside of a JSON string that reads `value`: `\\`, `"` and control characters escaped
/// (`"` as `\u0022`, so that no `"` moves the delimited parts), everything else as it is.
pub fn json_double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' | '\u{0}'..='\u{1f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::profile::resolve::default_root;

    const HOSTILE: &[&str] = &[
        "a\"b",
        "back\\slash\\",
        "new\nline\r\n",
        "tab\tand # hash: colon {{ braces }}",
        "'single' and `back`",
        "ünïcödé ✓ 𝄞",
        "\u{7f}\u{85}\u{2028}\u{2029}\u{feff}\u{0}\u{1b}[31m",
        "",
    ];

    #[test]
    fn a_double_quoted_yaml_value_reads_back_exactly() {
        for value in HOSTILE {
            let encoded = yaml_double_quoted(value);
            assert!(!encoded.contains('"'), "{encoded}");
            let doc = format!("email: \"{encoded}\"\nafter: 1\n");
            let parsed: Value = serde_saphyr::from_str(&doc)
                .unwrap_or_else(|e| panic!("{value:?} gives invalid YAML {doc:?}: {e}"));
            assert_eq!(parsed["email"], Value::String((*value).to_owned()), "{doc}");
            assert_eq!(parsed["after"], 1);
        }
    }

    #[test]
    fn a_json_string_value_reads_back_exactly() {
        for value in HOSTILE {
            let encoded = json_double_quoted(value);
            assert!(!encoded.contains('"'), "{encoded}");
            let doc = format!("{{\"domain\": \"{encoded}\", \"after\": 1}}");
            let parsed: Value = serde_json::from_str(&doc)
                .unwrap_or_else(|e| panic!("{value:?} gives invalid JSON {doc:?}: {e}"));
            assert_eq!(
                parsed["domain"],
                Value::String((*value).to_owned()),
                "{doc}"
            );
            assert_eq!(parsed["after"], 1);
        }
    }

    #[test]
    fn a_url_segment_refuses_what_would_move_it() {
        assert_eq!(refusal("kf-artifacts.v2", Syntax::UrlSegment), None);
        for bad in ["a/b", "a?b", "a#b", "a b", "a%2f", "ü"] {
            assert!(refusal(bad, Syntax::UrlSegment).is_some(), "{bad}");
        }
    }

    /// Every replacement of an overlay that sets a delimited part of a string reads a parameter
    /// this module knows, as the syntax its delimiter is: a new one fails here until it is added
    /// to `SPLICES` (and so encoded or checked).
    #[test]
    fn every_delimited_replacement_of_every_overlay_is_a_known_splice() {
        let mut files = Vec::new();
        collect(&default_root().join("overlays"), &mut files);
        assert!(files.len() > 10, "{files:?}");
        let mut used = BTreeSet::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let doc: Value = serde_saphyr::from_str(&text).unwrap();
            for r in doc["replacements"].as_array().into_iter().flatten() {
                let source = r["source"]["fieldPath"].as_str().unwrap_or_default();
                let key = source.strip_prefix("data.").unwrap_or(source);
                for t in r["targets"].as_array().into_iter().flatten() {
                    let Some(delimiter) = t["options"]["delimiter"].as_str() else {
                        continue;
                    };
                    let splice = SPLICES
                        .iter()
                        .find(|s| {
                            encoded_key(s.parameter, s.syntax).as_deref().unwrap_or(s.parameter)
                                == key
                                && match s.syntax {
                                    Syntax::YamlDoubleQuoted | Syntax::JsonDoubleQuoted => {
                                        delimiter == "\""
                                    }
                                    Syntax::UrlSegment => delimiter == "/",
                                    Syntax::ArgumentValue => delimiter == "=",
                                }
                        })
                        .unwrap_or_else(|| {
                            panic!(
                                "{}: `{source}` is spliced with delimiter {delimiter:?}, and `SPLICES` has no such splice",
                                file.display()
                            )
                        });
                    used.insert((splice.parameter, splice.syntax.described()));
                }
            }
        }
        for s in SPLICES {
            assert!(
                used.contains(&(s.parameter, s.syntax.described())),
                "no overlay splices `{}` as {}",
                s.parameter,
                s.syntax.described()
            );
        }
    }

    fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, files);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
                files.push(path);
            }
        }
    }
}
