//! Reading a YAML stream through the event parser: nesting and alias limits, merge keys,
//! duplicate keys, and the line each document starts on.

use std::collections::HashMap;
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Value};

use super::scalar::resolve_scalar;
use super::{
    Document, LIMIT_HINT, MAX_ALIAS_BYTES, MAX_ALIAS_NODES, MAX_ALIASES, MAX_DEPTH, YamlError,
};

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
    fn seq(anchor: usize) -> Frame {
        Frame::Seq {
            items: Vec::new(),
            anchor,
            size: Size::default(),
        }
    }

    fn map(anchor: usize) -> Frame {
        Frame::Map {
            map: Map::new(),
            key: None,
            merges: Vec::new(),
            anchor,
            size: Size::default(),
        }
    }

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

/// [`parse_documents`] of one stream, in order.
pub(super) fn parse_stream(text: &str) -> Result<Vec<Document>, YamlError> {
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
    let text_chars = unterminated.then(|| text.chars().count());

    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| syntax_error(&e))?;
        // A document starts on the line of its first node.
        if doc_line == 0
            && matches!(
                event,
                Event::SequenceStart(..) | Event::MappingStart(..) | Event::Scalar(..)
            )
        {
            doc_line = span.start.line();
        }
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
                check_depth(&stack, &span)?;
                stack.push(Frame::seq(anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                check_depth(&stack, &span)?;
                stack.push(Frame::map(anchor));
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
                    merge_keys(&mut map, merges);
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
                let size = Size {
                    nodes: 1,
                    bytes: text.len(),
                };
                let value = scalar_value(
                    &text,
                    style,
                    tag.as_deref(),
                    &span,
                    &stack,
                    &mut empty_nulls,
                    text_chars,
                );
                (value, anchor, size)
            }
        };
        if anchor != 0 {
            budget.charge(size, false, &span)?;
            anchors.insert(anchor, (value.clone(), size));
        }
        if let Some(frame) = stack.last_mut() {
            frame.size_mut().add(size);
        }
        place(&mut stack, &mut root, value, span)?;
    }
    Ok(docs)
}

/// A syntax error of the scanner, at its position.
fn syntax_error(e: &saphyr_parser::ScanError) -> YamlError {
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
}

/// Applies a mapping's `<<` merge keys: explicit keys win, then earlier merged maps win.
fn merge_keys(map: &mut Map<String, Value>, merges: Vec<Value>) {
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
}

/// The value of a scalar read at `span`: a map key is always a string; a value is resolved,
/// recorded when written as nothing, and loses the final newline the parser adds to a clipped
/// block ending an input of `text_chars` characters without a line break (go-yaml, and so
/// kustomize, read it so).
fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    span: &Span,
    stack: &[Frame],
    empty_nulls: &mut Vec<String>,
    text_chars: Option<usize>,
) -> Value {
    if let Some(Frame::Map { key: None, .. }) = stack.last() {
        return Value::String(text.to_owned());
    }
    if text.is_empty()
        && style == ScalarStyle::Plain
        && tag.is_none()
        && let Some(Frame::Map { key: Some(_), .. }) = stack.last()
    {
        empty_nulls.push(pointer_of(stack));
    }
    let tag = tag.map(|t| t.suffix.as_str());
    let mut value = resolve_scalar(text, style, tag);
    if let Some(text_chars) = text_chars
        && clipped_block_at_end(text_chars, span, style)
        && let Value::String(s) = &mut value
        && s.ends_with('\n')
    {
        s.pop();
    }
    value
}

/// Places a finished value: as the document's root, a sequence's next item, a mapping's next
/// key or the value of its key (a duplicate key is an error, `<<` a merge).
fn place(
    stack: &mut [Frame],
    root: &mut Option<Value>,
    value: Value,
    span: Span,
) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => *root = Some(value),
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
    Ok(())
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
                    out.push_str(&crate::resource::pointer::escape(k));
                }
            }
        }
    }
    out
}

fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
