//! YAML in and out.
//!
//! Documents are read into `serde_json::Value` through the event parser so that every document
//! keeps the line it starts on. Plain scalars resolve as go-yaml v3 (what kustomize uses) resolves
//! them: only `true`/`false` are booleans (not YAML 1.1's `yes`/`on`), `0777` is octal, timestamps
//! stay strings. Output follows kustomize's layout: keys sorted, two-space indent, sequences
//! flush with their parent key, multi-line strings as literal blocks.

use std::collections::HashMap;
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// Deepest nesting of sequences and mappings a document may have; the top-level mapping is the
/// first level. The deepest Kubeflow manifest (a CRD's schema) nests 47 levels. serde_json, which
/// the Kubernetes client and saved plans read objects back with, stops at 128, so a deeper object
/// could be rendered but never read back; this limit leaves room below it for the wrappers (a
/// `List`, a plan) objects travel in. Everything that walks a value recursively (patches,
/// transforms, writers) is safe at this depth.
pub const MAX_DEPTH: usize = 100;

/// Most aliases (`*name`) one stream may use.
pub const MAX_ALIASES: usize = 100_000;

/// Most nodes (scalars, sequences, mappings) aliases may add to one stream, counting every copy:
/// a "billion laughs" of nested aliases stops here instead of filling memory. kustomize stops such
/// a document too ("excessive aliasing").
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// Most bytes of text (scalars and keys) aliases may add to one stream, counting every copy.
pub const MAX_ALIAS_BYTES: usize = 64 << 20;

/// The same limits for the documents read with `serde_saphyr` (kfctl's own small files): its
/// default budget, with our depth and alias bounds.
pub fn saphyr_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_aliases = MAX_ALIASES;
    budget.max_nodes = MAX_ALIAS_NODES;
    budget.max_events = MAX_ALIAS_NODES;
    budget.max_total_scalar_bytes = MAX_ALIAS_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// How deep `value` nests (a scalar is 0, a mapping of scalars 1) and how many nodes it holds,
/// counted without recursion, so any value can be measured.
pub fn measure(value: &Value) -> (usize, usize) {
    let mut deepest = 0;
    let mut nodes = 0;
    let mut todo = vec![(value, 0usize)];
    while let Some((v, depth)) = todo.pop() {
        nodes += 1;
        match v {
            Value::Array(items) => {
                deepest = deepest.max(depth + 1);
                todo.extend(items.iter().map(|i| (i, depth + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(depth + 1);
                todo.extend(map.values().map(|i| (i, depth + 1)));
            }
            _ => {}
        }
    }
    (deepest, nodes)
}

/// A syntax error at a 1-based line and column, or a document past one of the limits above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {col}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// Set when the document is well-formed but past a limit: what to tell the user instead of
    /// looking for a syntax mistake.
    pub hint: Option<&'static str>,
}

const LIMIT_HINT: &str = "kfctl refuses YAML nested or aliased this far (kustomize refuses such aliasing too); no real manifest comes close, so check where this file came from";

impl YamlError {
    fn at(span: &Span, message: impl Into<String>) -> Self {
        YamlError {
            line: span.start.line(),
            col: span.start.col() + 1,
            message: message.into(),
            hint: None,
        }
    }

    fn limit(span: &Span, message: String) -> Self {
        YamlError {
            hint: Some(LIMIT_HINT),
            ..YamlError::at(span, message)
        }
    }
}

/// The nodes and bytes of text a value holds, counted as it is built.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// What aliases, and the copies of anchored values kept for them, have added to a stream so far.
#[derive(Debug, Default)]
struct AliasBudget {
    aliases: usize,
    added: Size,
}

impl AliasBudget {
    /// Charges one copy of a value of `size` (an alias, or an anchor's kept value), or refuses it.
    fn charge(&mut self, size: Size, alias: bool, span: &Span) -> Result<(), YamlError> {
        self.aliases += usize::from(alias);
        self.added.add(size);
        let message = if self.aliases > MAX_ALIASES {
            format!("excessive aliasing: the document uses more than {MAX_ALIASES} aliases")
        } else if self.added.nodes > MAX_ALIAS_NODES {
            format!("excessive aliasing: aliases expand the document past {MAX_ALIAS_NODES} nodes")
        } else if self.added.bytes > MAX_ALIAS_BYTES {
            format!(
                "excessive aliasing: aliases expand the document past {} MiB of text",
                MAX_ALIAS_BYTES >> 20
            )
        } else {
            return Ok(());
        };
        Err(YamlError::limit(span, message))
    }
}

/// One document of a YAML stream and the line its content starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    pub line: usize,
    /// JSON pointers of map values written as nothing at all (`key:`), as opposed to `null` or
    /// `~`. kustomize's strategic merge drops such fields from the object it patches.
    pub empty_nulls: Vec<String>,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        size: Size,
    },
    Map {
        map: Map<String, Value>,
        key: Option<(String, Span)>,
        merges: Vec<Value>,
        anchor: usize,
        size: Size,
    },
}

impl Frame {
    fn size_mut(&mut self) -> &mut Size {
        match self {
            Frame::Seq { size, .. } | Frame::Map { size, .. } => size,
        }
    }
}

/// Refuses to open a collection past [`MAX_DEPTH`].
fn check_depth(stack: &[Frame], span: &Span) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(YamlError::limit(
            span,
            format!("nesting too deep: more than {MAX_DEPTH} levels of sequences and mappings"),
        ));
    }
    Ok(())
}

/// Whether the scalar at `span` is a `|` or `>` block with clip chomping that runs to the end of
/// an input of `text_chars` characters.
fn clipped_block_at_end(text_chars: usize, span: &Span, style: ScalarStyle) -> bool {
    matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) && span.end.index() >= text_chars
}

/// Streams larger than this are split at a document marker and read on two threads.
const SPLIT_ABOVE: usize = 1 << 20;

/// Parses every document of `text`. Empty documents (only comments, or `null`) are dropped.
/// A large stream (a render of a whole platform is some 10 MB) is read as two halves at once,
/// cut at a `---` line: nothing but a document marker starts a line with `---` and a blank.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let Some(at) = split_point(text) else {
        return parse_stream(text);
    };
    let (first, second) = text.split_at(at);
    let lines_before = first.bytes().filter(|&b| b == b'\n').count();
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| parse_stream(second));
        let first = parse_stream(first);
        (first, other.join().unwrap_or_else(|_| parse_stream(second)))
    });
    let mut docs = first?;
    let second = second.map_err(|e| YamlError {
        line: e.line + lines_before,
        ..e
    })?;
    docs.extend(second.into_iter().map(|doc| Document {
        line: doc.line + lines_before,
        ..doc
    }));
    Ok(docs)
}

/// Where to cut a large stream in two: the start of the first `---` line past its middle. None
/// for a small stream, one with directives (`%YAML`, which belong to the document after them),
/// or one with no marker there.
fn split_point(text: &str) -> Option<usize> {
    if text.len() <= SPLIT_ABOVE || text.starts_with('%') || text.contains("\n%") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut from = text.len() / 2;
    while let Some(found) = text[from..].find("\n---") {
        let at = from + found + 1;
        match bytes.get(at + 3) {
            None | Some(b'\n' | b'\r' | b' ' | b'\t') => return Some(at),
            Some(_) => from = at,
        }
    }
    None
}

/// [`parse_documents`] of one stream, in order.
fn parse_stream(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Value, Size)> = HashMap::new();
    let mut budget = AliasBudget::default();
    let mut doc_line = 0;
    let mut root: Option<Value> = None;
    let mut empty_nulls: Vec<String> = Vec::new();
    // A clipped block scalar that ends the input without a line break has no final newline
    // (go-yaml, and so kustomize, read it so); the event parser adds one.
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    let text_chars = if unterminated {
        text.chars().count()
    } else {
        0
    };

    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let mut err = YamlError {
                line: e.marker().line(),
                col: e.marker().col() + 1,
                message: e.info().to_owned(),
                hint: None,
            };
            // The scanner's own bound on flow nesting (`[[[[…`), which it may meet first.
            if err.message == "recursion limit exceeded" {
                err.message = format!("nesting too deep: {}", err.message);
                err.hint = Some(LIMIT_HINT);
            }
            err
        })?;
        let (value, anchor, size) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                anchors.clear();
                empty_nulls.clear();
                doc_line = 0;
                root = None;
                continue;
            }
            Event::DocumentEnd => {
                if let Some(value) = root.take()
                    && !value.is_null()
                {
                    docs.push(Document {
                        value,
                        line: doc_line.max(1),
                        empty_nulls: std::mem::take(&mut empty_nulls),
                    });
                }
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if doc_line == 0 {
                    doc_line = span.start.line();
                }
                check_depth(&stack, &span)?;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    size: Size::default(),
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if doc_line == 0 {
                    doc_line = span.start.line();
                }
                check_depth(&stack, &span)?;
                stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    merges: Vec::new(),
                    anchor,
                    size: Size::default(),
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    mut size,
                }) => {
                    size.nodes += 1;
                    (Value::Array(items), anchor, size)
                }
                _ => return Err(YamlError::at(&span, "unbalanced sequence end")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    mut map,
                    merges,
                    anchor,
                    mut size,
                    ..
                }) => {
                    size.nodes += 1;
                    // `<<` merge keys: explicit keys win, then earlier merged maps win.
                    for merged in merges {
                        let sources = match merged {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        for source in sources {
                            if let Value::Object(src) = source {
                                for (k, v) in src {
                                    map.entry(k).or_insert(v);
                                }
                            }
                        }
                    }
                    (Value::Object(map), anchor, size)
                }
                _ => return Err(YamlError::at(&span, "unbalanced mapping end")),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some((v, size)) => {
                    // Charged before the copy is made, so a bomb stops before it takes memory.
                    budget.charge(*size, true, &span)?;
                    (v.clone(), 0, *size)
                }
                None => return Err(YamlError::at(&span, "unknown alias")),
            },
            Event::Scalar(text, style, anchor, tag) => {
                if doc_line == 0 {
                    doc_line = span.start.line();
                }
                let size = Size {
                    nodes: 1,
                    bytes: text.len(),
                };
                // Map keys are always strings, whatever they look like.
                if let Some(Frame::Map { key: None, .. }) = stack.last() {
                    (Value::String(text.into_owned()), anchor, size)
                } else {
                    if text.is_empty()
                        && style == ScalarStyle::Plain
                        && tag.is_none()
                        && let Some(Frame::Map { key: Some(_), .. }) = stack.last()
                    {
                        empty_nulls.push(pointer_of(&stack));
                    }
                    let tag = tag.as_ref().map(|t| t.suffix.as_str());
                    let mut value = resolve_scalar(&text, style, tag);
                    if unterminated
                        && clipped_block_at_end(text_chars, &span, style)
                        && let Value::String(s) = &mut value
                        && s.ends_with('\n')
                    {
                        s.pop();
                    }
                    (value, anchor, size)
                }
            }
        };
        if anchor != 0 {
            budget.charge(size, false, &span)?;
            anchors.insert(anchor, (value.clone(), size));
        }
        if let Some(frame) = stack.last_mut() {
            frame.size_mut().add(size);
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, key, merges, ..
            }) => match key.take() {
                None => match value {
                    Value::String(s) => *key = Some((s, span)),
                    other => {
                        *key = Some((compact_json(&other), span));
                    }
                },
                Some((k, key_span)) => {
                    if k == "<<" {
                        merges.push(value);
                    } else if map.contains_key(&k) {
                        return Err(YamlError::at(
                            &key_span,
                            format!("mapping key `{k}` already defined"),
                        ));
                    } else {
                        map.insert(k, value);
                    }
                }
            },
        }
    }
    Ok(docs)
}

/// The JSON pointer of the value the parser is about to place.
fn pointer_of(stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        out.push('/');
        match frame {
            Frame::Seq { items, .. } => {
                let _ = write!(out, "{}", items.len());
            }
            Frame::Map { key, .. } => {
                if let Some((k, _)) = key {
                    out.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
            }
        }
    }
    out
}

fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Resolves a scalar to a JSON value the way go-yaml v3 does for untyped decoding.
/// The value a plain (unquoted, untagged) scalar with this text has, as go-yaml resolves it.
pub fn resolve_plain(text: &str) -> Value {
    resolve_scalar(text, ScalarStyle::Plain, None)
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::String(text.to_owned()),
        Some("int") | Some("float") => {
            return resolve_number(text).unwrap_or_else(|| Value::String(text.to_owned()));
        }
        Some("bool") => {
            return match text {
                "true" | "True" | "TRUE" => Value::Bool(true),
                "false" | "False" | "FALSE" => Value::Bool(false),
                _ => Value::String(text.to_owned()),
            };
        }
        Some("null") => return Value::Null,
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => resolve_number(text).unwrap_or_else(|| Value::String(text.to_owned())),
    }
}

fn resolve_number(text: &str) -> Option<Value> {
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let radix_int = |digits: &str, radix: u32| -> Option<Value> {
        if digits.is_empty() {
            return None;
        }
        let n = i64::from_str_radix(digits, radix).ok()?;
        Some(Value::Number(Number::from(if neg { -n } else { n })))
    };
    if let Some(hex) = body.strip_prefix("0x") {
        return radix_int(hex, 16);
    }
    if let Some(oct) = body.strip_prefix("0o") {
        return radix_int(oct, 8);
    }
    if let Some(bin) = body.strip_prefix("0b") {
        return radix_int(bin, 2);
    }
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        // Go's base-0 parsing reads a leading zero as octal.
        if body.len() > 1
            && body.starts_with('0')
            && body.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return radix_int(&body[1..], 8);
        }
        if body.len() == 1 || !body.starts_with('0') {
            if let Ok(n) = text.parse::<i64>() {
                return Some(Value::Number(Number::from(n)));
            }
            if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
                return Some(Value::Number(Number::from(n)));
            }
        }
    }
    if is_yaml_float(body) {
        let f: f64 = text.parse().ok()?;
        return Number::from_f64(f).map(Value::Number);
    }
    None
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, without the sign.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

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
    if s.is_empty() || resolve_scalar(s, ScalarStyle::Plain, None) != Value::String(s.to_owned()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.into_iter().next().unwrap().value
    }

    /// A stream past [`SPLIT_ABOVE`], read in two halves, reads as it does in one piece: the
    /// same documents, on the same lines, and an error in the second half at its own line.
    #[test]
    fn large_streams_read_in_halves_read_as_one() {
        let mut text = String::new();
        let mut n = 0;
        while text.len() <= SPLIT_ABOVE {
            // Lines starting with `---` that are not markers, and block scalars, around the cut.
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{n}\ndata:\n  a: |\n    ---x\n    text\n  b: \"---\"\n"
            ));
            n += 1;
        }
        assert!(split_point(&text).is_some());
        let halves = parse_documents(&text).unwrap();
        let whole = parse_stream(&text).unwrap();
        assert_eq!(halves.len(), n);
        assert_eq!(halves, whole);
        assert_eq!(halves[n - 1].line, (n - 1) * 10 + 2);

        let broken = format!("{text}---\nkey: [unclosed\n");
        let lines = broken.lines().count();
        let err = parse_documents(&broken).unwrap_err();
        assert_eq!(err, parse_stream(&broken).unwrap_err());
        assert!(err.line >= lines - 1, "{err}");
        // Directives keep a stream whole.
        assert!(split_point(&format!("%YAML 1.2\n{text}")).is_none());
    }

    #[test]
    fn scalars_resolve_like_go_yaml_v3() {
        let v = one(
            "a: on\nb: yes\nc: 0777\nd: 1e3\ne: 0x1F\nf: '123'\ng: 1.0\nh: ~\ni: True\nj: 2024-01-01\nk: !!str 5\nl: 08\nm: -3\nn: .5\n",
        );
        assert_eq!(
            v,
            json!({"a":"on","b":"yes","c":511,"d":1000.0,"e":31,"f":"123","g":1.0,"h":null,
                   "i":true,"j":"2024-01-01","k":"5","l":8.0,"m":-3,"n":0.5})
        );
    }

    #[test]
    fn a_block_scalar_at_the_end_of_an_unterminated_file_has_no_final_newline() {
        assert_eq!(one("a: |\n  x\n  y"), json!({"a": "x\ny"}));
        assert_eq!(one("a: |\n  x\n  y\n"), json!({"a": "x\ny\n"}));
        assert_eq!(one("a: |\n  x\nb: 1"), json!({"a": "x\n", "b": 1}));
        assert_eq!(one("a: >\n  x\n  y"), json!({"a": "x y"}));
    }

    #[test]
    fn values_written_as_nothing_are_recorded() {
        let docs = parse_documents("a:\nb: null\nc:\n  d:\n  e: [1, {f: }]\n  g/h~:\n").unwrap();
        assert_eq!(docs[0].empty_nulls, ["/a", "/c/d", "/c/e/1/f", "/c/g~1h~0"]);
    }

    #[test]
    fn documents_keep_their_start_line() {
        let docs = parse_documents("# c\n---\na: 1\n---\n\n---\nb: 2\nc: 3\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 3);
        assert_eq!(docs[1].line, 7);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("a: b\n  c: [\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.col > 0);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("`a`"));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let v = one("x: &base {a: 1, b: 2}\ny:\n  <<: *base\n  b: 3\n");
        assert_eq!(v, json!({"x":{"a":1,"b":2},"y":{"a":1,"b":3}}));
    }

    /// Nine levels of nine aliases each ("billion laughs") would be 387 million strings.
    fn laughs(levels: usize) -> String {
        let mut text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n".to_owned();
        for i in 1..levels {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn alias_bombs_are_refused_before_they_expand() {
        let err = parse_documents(&laughs(9)).unwrap_err();
        assert!(err.message.starts_with("excessive aliasing"), "{err}");
        assert!(err.hint.is_some());
        assert_eq!(err.line, 6, "{err}");
        // A few levels are an ordinary document.
        let v = one(&laughs(3));
        assert_eq!(v["a2"][8][8][8], "lol");

        // Long strings copied by aliases count by their bytes.
        let long = "x".repeat(1 << 20);
        let refs = vec!["*s"; 100].join(", ");
        let err = parse_documents(&format!("s: &s {long}\nl: [{refs}]\n")).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err}");

        // So do the copies kept for anchors nested in each other.
        let mut nested = long.clone();
        for i in 0..70 {
            nested = format!("&n{i} [{nested}]");
        }
        let err = parse_documents(&format!("a: {nested}\n")).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err}");
    }

    #[test]
    fn nesting_stops_at_the_depth_limit() {
        let flow = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        // The top-level mapping is one level.
        assert!(parse_documents(&flow(MAX_DEPTH - 1)).is_ok());
        let err = parse_documents(&flow(MAX_DEPTH)).unwrap_err();
        assert!(err.message.starts_with("nesting too deep"), "{err}");
        let err = parse_documents(&flow(100_000)).unwrap_err();
        assert!(err.message.starts_with("nesting too deep"), "{err}");
        let block = format!("a:\n{}x\n", "- ".repeat(100_000));
        let err = parse_documents(&block).unwrap_err();
        assert_eq!((err.line, err.message.contains("too deep")), (2, true));
        // At the limit, the writer takes it back.
        let v = one(&flow(MAX_DEPTH - 1));
        assert_eq!(one(&to_yaml(&v)), v);
    }

    #[test]
    fn measure_counts_depth_and_nodes() {
        assert_eq!(measure(&json!("x")), (0, 1));
        assert_eq!(measure(&json!({"a": [1, {"b": 2}], "c": {}})), (3, 6));
        let v = one(&format!("a: {}{}\n", "[".repeat(99), "]".repeat(99)));
        assert_eq!(measure(&v).0, MAX_DEPTH);
    }

    #[test]
    fn serde_saphyr_reads_with_the_same_limits() {
        let read = |text: &str| {
            serde_saphyr::from_str_with_options::<serde_json::Value>(text, saphyr_options())
        };
        // On a stack the size of the main thread's, where kfctl reads its files: serde-saphyr
        // takes some 20 KiB of stack a level in a debug build.
        let checks = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || {
                let err = read(&format!("a: {}{}", "[".repeat(200), "]".repeat(200)));
                assert!(err.unwrap_err().to_string().contains("budget breached"));
                assert!(read(&format!("a: {}{}", "[".repeat(50), "]".repeat(50))).is_ok());
                assert!(read(&laughs(3)).is_ok());
            })
            .unwrap();
        checks.join().unwrap();
        // A bomb stops at the event budget (checked on `kfctl.lock` by the hostile-input tests:
        // a million events take seconds in a debug build).
        let budget = saphyr_options().budget.unwrap();
        assert_eq!(budget.max_events, MAX_ALIAS_NODES);
        assert_eq!(budget.max_aliases, MAX_ALIASES);
    }

    #[test]
    fn round_trip_keeps_values() {
        let v = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "y"}},
            "data": {
                "multi": "line one\nline two\n", "nonl": "a\nb", "keep": "a\n\n\n",
                "indented": "  lead\nx\n", "quoted": "it's", "num": "123", "bool": "on",
                "empty": "", "colon": "a: b", "dash": "- x", "star": "*", "tilde": "~",
                "ctrl": "a\u{1}b", "trail": "x \ny\n", "hash": "a #b", "url": "http://x:80/y",
                "neg": "-1", "dot": ".5", "breaks": "\n", "late_indent": "\n  lead"
            },
            "list": [[1, 2], [], {}, {"a": [ {"b": null} ]}, "s"],
            "n": 1.5, "big": 12345678901234567890u64, "t": true
        });
        let text = to_yaml(&v);
        assert_eq!(one(&text), v, "{text}");
    }

    #[test]
    fn layout_matches_kustomize() {
        let v = json!({"kind":"Pod","spec":{"containers":[{"name":"a","args":["x","y"]}]}});
        assert_eq!(
            to_yaml(&v),
            "kind: Pod\nspec:\n  containers:\n  - args:\n    - x\n    - \"y\"\n    name: a\n"
        );
    }
}
