//! Strict reading of kfctl's own YAML files (catalog, platform profiles, `kfctl.yaml`): a parsed
//! document walked field by field, so that an unknown key or a wrong type is reported with the
//! file, the line and the field's full name.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ProfileError;
use crate::render::fs::MAX_CONFIG_BYTES;
use crate::render::{Fs, Loc};
use crate::resource::yaml;

/// A YAML file read for strict parsing: its path, its text and its one document.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
}

impl SourceFile {
    /// Reads and parses `path`, which must hold exactly one YAML document.
    pub fn read(fs: &dyn Fs, path: &Path) -> Result<SourceFile, ProfileError> {
        let bytes =
            fs.read_at_most(path, MAX_CONFIG_BYTES)
                .map_err(|source| ProfileError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
        let text = String::from_utf8(bytes).map_err(|_| ProfileError::Invalid {
            message: "the file is not UTF-8 text".to_owned(),
            at: Loc::new(path, None),
            hint: None,
        })?;
        Self::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<SourceFile, ProfileError> {
        let mut docs = yaml::parse_documents(&text).map_err(|source| ProfileError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
        if docs.len() > 1 {
            return Err(ProfileError::Invalid {
                message: "the file holds more than one YAML document".to_owned(),
                at: Loc::new(path, docs.get(1).map(|d| d.line)),
                hint: Some("keep one document per file".to_owned()),
            });
        }
        let value = docs
            .pop()
            .map(|d| d.value)
            .unwrap_or(Value::Object(Map::new()));
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
            value,
        })
    }

    pub fn root(&self) -> Node<'_> {
        Node {
            file: self,
            path: Vec::new(),
            value: &self.value,
        }
    }
}

/// One step of a field path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A value in a `SourceFile` and the path that leads to it.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub file: &'a SourceFile,
    pub path: Vec<Seg>,
    pub value: &'a Value,
}

impl<'a> Node<'a> {
    fn child(&self, seg: Seg, value: &'a Value) -> Node<'a> {
        let mut path = self.path.clone();
        path.push(seg);
        Node {
            file: self.file,
            path,
            value,
        }
    }

    /// Where this value is written: its key's line, or its parent's when it cannot be found
    /// (flow style, aliases).
    pub fn loc(&self) -> Loc {
        Loc::new(&self.file.path, line_of(&self.file.text, &self.path))
    }

    /// The field's full name, as `spec.components.gpu.enabled` or `spec.parameters[2].name`.
    pub fn name(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("(top level)");
        }
        out
    }

    /// The key this node is the value of.
    pub fn key(&self) -> &str {
        match self.path.last() {
            Some(Seg::Key(k)) => k,
            _ => "",
        }
    }

    fn wrong_type(&self, expected: &'static str) -> ProfileError {
        ProfileError::WrongType {
            field: self.name(),
            expected,
            found: describe(self.value),
            at: self.loc(),
        }
    }

    /// The map's entries, in file order; any key outside `allowed` is an error.
    pub fn fields(&self, allowed: &[&str]) -> Result<Vec<Node<'a>>, ProfileError> {
        let map = self.map()?;
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            if !allowed.contains(&k.as_str()) {
                let node = self.child(Seg::Key(k.clone()), v);
                return Err(ProfileError::UnknownField {
                    field: node.name(),
                    allowed: allowed.iter().map(|s| s.to_string()).collect(),
                    at: node.loc(),
                });
            }
            out.push(self.child(Seg::Key(k.clone()), v));
        }
        Ok(out)
    }

    /// The map's entries with any key (a map keyed by names).
    pub fn entries(&self) -> Result<Vec<Node<'a>>, ProfileError> {
        Ok(self
            .map()?
            .iter()
            .map(|(k, v)| self.child(Seg::Key(k.clone()), v))
            .collect())
    }

    /// Each entry of a map keyed by names, as its name and what `parse` makes of it.
    pub fn named<T>(
        &self,
        mut parse: impl FnMut(&Node<'a>) -> Result<T, ProfileError>,
    ) -> Result<Vec<(String, T)>, ProfileError> {
        self.entries()?
            .iter()
            .map(|e| Ok((e.key().to_owned(), parse(e)?)))
            .collect()
    }

    fn map(&self) -> Result<&'a Map<String, Value>, ProfileError> {
        self.value
            .as_object()
            .ok_or_else(|| self.wrong_type("a map"))
    }

    /// The value of `key` in this map, if set and not null.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.value
            .as_object()
            .and_then(|m| m.get(key))
            .filter(|v| !v.is_null())
            .map(|v| self.child(Seg::Key(key.to_owned()), v))
    }

    /// The value of `key`, which must be present.
    pub fn require(&self, key: &str) -> Result<Node<'a>, ProfileError> {
        self.get(key).ok_or_else(|| ProfileError::MissingField {
            field: self.child(Seg::Key(key.to_owned()), &Value::Null).name(),
            at: self.loc(),
        })
    }

    /// The string at `key`, if set and not null.
    pub fn get_string(&self, key: &str) -> Result<Option<String>, ProfileError> {
        self.get(key)
            .map(|n| n.str().map(str::to_owned))
            .transpose()
    }

    /// The list of strings at `key`; none when it is not set.
    pub fn get_strings(&self, key: &str) -> Result<Vec<String>, ProfileError> {
        self.get_list(key, Node::strings)
    }

    /// What `parse` makes of the value at `key`; nothing when it is not set.
    pub fn get_list<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&Node<'a>) -> Result<Vec<T>, ProfileError>,
    ) -> Result<Vec<T>, ProfileError> {
        Ok(self
            .get(key)
            .map(|n| parse(&n))
            .transpose()?
            .unwrap_or_default())
    }

    pub fn str(&self) -> Result<&'a str, ProfileError> {
        self.value
            .as_str()
            .ok_or_else(|| self.wrong_type("a string"))
    }

    pub fn bool(&self) -> Result<bool, ProfileError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong_type("`true` or `false`"))
    }

    pub fn list(&self) -> Result<Vec<Node<'a>>, ProfileError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong_type("a list"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| self.child(Seg::Index(i), v))
            .collect())
    }

    pub fn strings(&self) -> Result<Vec<String>, ProfileError> {
        self.list()?
            .iter()
            .map(|n| n.str().map(str::to_owned))
            .collect()
    }

    /// Checks `apiVersion` and `kind`.
    pub fn expect_kind(&self, api_version: &str, kind: &str) -> Result<(), ProfileError> {
        for (key, want) in [("apiVersion", api_version), ("kind", kind)] {
            let node = self.require(key)?;
            let got = node.str()?;
            if got != want {
                return Err(ProfileError::Invalid {
                    message: format!("`{key}` is `{got}`, expected `{want}`"),
                    at: node.loc(),
                    hint: Some(format!(
                        "this file must start with `apiVersion: {api_version}` and `kind: {kind}`"
                    )),
                });
            }
        }
        Ok(())
    }
}

/// What a value is, for type errors: `a string ("x")`, `a number (3)`, `a list`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("a boolean ({b})"),
        // Whole numbers print without the `.0` a float-typed value would show.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                format!("a number ({})", f as i64)
            }
            _ => format!("a number ({n})"),
        },
        Value::String(s) => format!("a string ({s:?})"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}

/// One line of YAML, as far as finding keys needs: its indent and where its content starts
/// (after a `- ` list marker, if any).
struct Line<'t> {
    indent: usize,
    dash: bool,
    col: usize,
    content: &'t str,
}

fn split_line(raw: &str) -> Option<Line<'_>> {
    let trimmed = raw.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
        return None;
    }
    let indent = raw.len() - trimmed.len();
    if let Some(rest) = trimmed.strip_prefix("- ") {
        let content = rest.trim_start();
        let col = indent + 2 + (rest.len() - content.len());
        Some(Line {
            indent,
            dash: true,
            col,
            content,
        })
    } else {
        Some(Line {
            indent,
            dash: trimmed == "-",
            col: indent,
            content: trimmed,
        })
    }
}

fn is_key(content: &str, key: &str) -> bool {
    for quote in ["", "\"", "'"] {
        let Some(rest) = content
            .strip_prefix(quote)
            .and_then(|r| r.strip_prefix(key))
        else {
            continue;
        };
        if rest.strip_prefix(quote).is_some_and(|r| {
            r.starts_with(':') && (r.len() == 1 || r[1..].starts_with([' ', '\t']))
        }) {
            return true;
        }
    }
    false
}

/// The 1-based line where the value at `path` is written, found by indentation in block-style
/// YAML. When a step cannot be followed (flow style, aliases), the deepest line found.
pub fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    let lines: Vec<Option<Line<'_>>> = text.lines().map(split_line).collect();
    // The current node: the line its key or `- ` is on, and the column of that key or dash.
    // `item` is true when the node is a list item, whose map keys start on its own line.
    let mut node: Option<(usize, usize, bool)> = None;
    let mut found = None;
    for seg in path {
        let next = match seg {
            Seg::Key(key) => find_key(&lines, node, key),
            Seg::Index(i) => find_item(&lines, node, *i),
        };
        match next {
            Some(n) => {
                found = Some(n.0 + 1);
                node = Some(n);
            }
            None => break,
        }
    }
    found
}

fn find_key(
    lines: &[Option<Line<'_>>],
    node: Option<(usize, usize, bool)>,
    key: &str,
) -> Option<(usize, usize, bool)> {
    let (start, parent_col, item) = match node {
        None => (0, None, false),
        Some((l, c, item)) => (if item { l } else { l + 1 }, Some(c), item),
    };
    let mut child_col = None;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let Some(line) = line else { continue };
        // A list item's own line holds its first key; later lines must be indented past the dash.
        let col = if item && i == start {
            line.col
        } else {
            if let Some(pc) = parent_col
                && line.indent <= pc
            {
                break;
            }
            line.col
        };
        let want = *child_col.get_or_insert(col);
        if col == want && is_key(line.content, key) {
            return Some((i, col, false));
        }
    }
    None
}

fn find_item(
    lines: &[Option<Line<'_>>],
    node: Option<(usize, usize, bool)>,
    index: usize,
) -> Option<(usize, usize, bool)> {
    let (start, parent_col) = match node {
        Some((l, c, false)) => (l + 1, c),
        _ => return None,
    };
    let mut seq_col = None;
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let Some(line) = line else { continue };
        if line.indent < parent_col || (line.indent == parent_col && !line.dash) {
            break;
        }
        if !line.dash {
            continue;
        }
        let want = *seq_col.get_or_insert(line.indent);
        if line.indent == want {
            if seen == index {
                return Some((i, line.indent, true));
            }
            seen += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_owned())
    }

    const TEXT: &str = "\
apiVersion: v1
spec:
  components:
    pipelines:
      parameters:
        project: x
  parameters:
    project: y
  list:
  - name: a
    type: string
  - name: b
    type: int
";

    #[test]
    fn finds_nested_keys_in_their_own_block() {
        assert_eq!(line_of(TEXT, &[key("spec"), key("parameters")]), Some(7));
        assert_eq!(
            line_of(TEXT, &[key("spec"), key("parameters"), key("project")]),
            Some(8)
        );
        assert_eq!(
            line_of(
                TEXT,
                &[
                    key("spec"),
                    key("components"),
                    key("pipelines"),
                    key("parameters")
                ]
            ),
            Some(5)
        );
    }

    #[test]
    fn finds_list_items_and_their_keys() {
        assert_eq!(
            line_of(TEXT, &[key("spec"), key("list"), Seg::Index(1)]),
            Some(12)
        );
        assert_eq!(
            line_of(
                TEXT,
                &[key("spec"), key("list"), Seg::Index(1), key("type")]
            ),
            Some(13)
        );
        assert_eq!(
            line_of(
                TEXT,
                &[key("spec"), key("list"), Seg::Index(0), key("name")]
            ),
            Some(10)
        );
    }

    #[test]
    fn falls_back_to_the_deepest_line_found() {
        assert_eq!(line_of(TEXT, &[key("spec"), key("nothere")]), Some(2));
        assert_eq!(line_of("a: {b: 1}\n", &[key("a"), key("b")]), Some(1));
    }
}
