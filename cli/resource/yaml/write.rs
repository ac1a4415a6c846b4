//! Writing values as YAML in kustomize's layout.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::scalar::resolve_plain;

/// Writes one document (no `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(1024);
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_scalar(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

/// Writes documents separated by `---` lines, as `kubectl kustomize` prints them.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(out: &mut String, map: &Map<String, Value>, level: usize) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        write_key(out, k);
        out.push(':');
        write_value_after_key(out, v, level);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            indent(out, level + 2);
            write_map(out, m, level + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            indent(out, level);
            write_seq(out, items, level);
        }
        other => {
            out.push(' ');
            write_scalar(out, other, level + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, level + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, level + 2),
            other => {
                write_scalar(out, other, level + 2);
                out.push('\n');
            }
        }
    }
}

fn write_key(out: &mut String, k: &str) {
    if plain_safe(k) {
        out.push_str(k);
    } else {
        write_quoted(out, k);
    }
}

fn write_scalar(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s, level),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_string(out: &mut String, s: &str, level: usize) {
    let trimmed = s.trim_end_matches('\n');
    // A block of nothing but line breaks reads back as the empty string: quote those.
    if s.contains('\n') && !trimmed.is_empty() && literal_ok(s) {
        let trailing = s.len() - trimmed.len();
        out.push('|');
        // The reader takes the block's indentation from its first line that is not empty: when
        // that line starts with a blank, the indentation is given.
        if s.split('\n')
            .find(|l| !l.is_empty())
            .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
        {
            out.push('2');
        }
        match trailing {
            0 => out.push('-'),
            1 => {}
            _ => out.push('+'),
        }
        for line in s.split_inclusive('\n') {
            out.push('\n');
            let line = line.strip_suffix('\n').unwrap_or(line);
            if !line.is_empty() {
                indent(out, level);
                out.push_str(line);
            }
        }
        // Each piece's line break is written before the next piece; the caller ends the last.
        return;
    }
    if plain_safe(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// Literal blocks cannot carry trailing spaces on a line or non-printable characters faithfully.
fn literal_ok(s: &str) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
        && !s.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t'))
}

fn write_quoted(out: &mut String, s: &str) {
    let needs_double =
        reads_as_non_string(s) || s.chars().any(|c| c.is_control() || c == '\u{feff}');
    if !needs_double {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether another YAML reader would take `s`, written plain, for something other than this
/// string (YAML 1.1 booleans included). go-yaml writes those double-quoted, so we do too.
fn reads_as_non_string(s: &str) -> bool {
    if s.is_empty() || resolve_plain(s) != Value::String(s.to_owned()) {
        return true;
    }
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "<<"
    ) || s.starts_with(".inf")
        || s.starts_with(".nan")
        || s.starts_with("-.inf")
        || s.starts_with("+.inf")
        || s.eq_ignore_ascii_case(".nan")
        || s.eq_ignore_ascii_case(".inf")
}

/// Whether `s` reads back as the same string when written without quotes.
fn plain_safe(s: &str) -> bool {
    if s.trim() != s || reads_as_non_string(s) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if matches!(
        first,
        '-' | '?'
            | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
    ) {
        // `-foo`, `?foo` and `:foo` are plain: an indicator needs a space after it (go-yaml
        // writes `--flag=x` plain too).
        if !(matches!(first, '-' | '?' | ':') && s.len() > 1 && !s[1..].starts_with(' ')) {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\n') {
        return false;
    }
    !s.chars().any(|c| c.is_control() || c == '\u{feff}')
}
