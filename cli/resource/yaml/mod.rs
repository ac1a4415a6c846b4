//! YAML in and out.
//!
//! Documents are read into `serde_json::Value` through the event parser so that every document
//! keeps the line it starts on. Plain scalars resolve as go-yaml v3 (what kustomize uses) resolves
//! them: only `true`/`false` are booleans (not YAML 1.1's `yes`/`on`), `0777` is octal, timestamps
//! stay strings. Output follows kustomize's layout: keys sorted, two-space indent, sequences
//! flush with their parent key, multi-line strings as literal blocks.

use saphyr_parser::Span;
use serde_json::Value;

use read::parse_stream;

mod read;
mod scalar;
mod write;

pub use scalar::resolve_plain;
pub use write::{to_yaml, to_yaml_stream};

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

/// One document of a YAML stream and the line its content starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    pub line: usize,
    /// JSON pointers of map values written as nothing at all (`key:`), as opposed to `null` or
    /// `~`. kustomize's strategic merge drops such fields from the object it patches.
    pub empty_nulls: Vec<String>,
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
