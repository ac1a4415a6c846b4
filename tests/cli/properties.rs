//! The algebra of the pure layer, on generated inputs: an empty strategic patch changes nothing,
//! a strategic patch applied twice equals once, and what kfctl's YAML writer prints its reader
//! reads back as the same value. Case counts stay small: these run with every `cargo test`.

use kfctl::render::patch::strategic::merge;
use kfctl::resource::yaml::{parse_documents, to_yaml_stream};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failing case is shrunk; a few hundred steps find a small one without taking minutes.
        max_shrink_iters: 512,
        // A case found failing becomes a named test beside these, not a file the run writes.
        failure_persistence: None,
        // Some generated patches do not apply (a map against a list); those cases are skipped.
        max_global_rejects: cases,
        ..ProptestConfig::default()
    }
}

/// Strings a YAML writer gets wrong: ones that read as another type, indicators, spaces and
/// line breaks at either end, quotes, escapes and other Unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,8}",
        2 => prop::sample::select(vec![
            "", " ", "true", "False", "NULL", "null", "~", "yes", "no", "on", "y", "0", "-1",
            "012", "08", "0x1F", "0o17", "0b101", "1e3", "1E-3", ".5", "+.5", "1.", "-.inf",
            ".NaN", "1_000", "2024-01-01", "12:30", "- a", "-", "---", "...", "? x", ": x",
            "a: b", "a #b", "#c", "[a]", "{a}", "*a", "&a", "!a", "%a", "@a", "`a", "|", ">",
            "'", "\"", "a'b", "a\"b", "\\", "\\n", "a\nb", "a\n", "\n", "a\n\n", " a", "a ",
            "\ta", "a\t", "a \nb", "\r", "a\rb", "\u{85}", "\u{2028}", "\u{feff}a", "\u{0}",
            "\u{7}", "é", "日本", "😀",
        ])
        .prop_map(str::to_owned),
        2 => "[ -~\n\t]{0,12}",
        1 => any::<String>(),
    ]
}

/// A map key. Not `<<`: kustomize reads it as a merge key, quoted or not, and never keeps it.
fn key() -> impl Strategy<Value = String> {
    tricky_string().prop_filter("not a merge key", |k| k != "<<")
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("a JSON number", |f| f.is_finite())
            .prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ]
}

/// A tree of maps, lists and scalars, at most `depth` levels deep.
fn tree(depth: u32) -> impl Strategy<Value = Value> {
    scalar().prop_recursive(depth, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A document as kfctl reads them: a map at the top (a null or empty document is dropped).
fn document() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), tree(3), 1..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn yaml_written_by_kfctl_reads_back_as_the_same_value(
        docs in prop::collection::vec(document(), 1..4)
    ) {
        let text = to_yaml_stream(&docs);
        let read = parse_documents(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- written\n{text}")))?;
        let values: Vec<Value> = read.into_iter().map(|d| d.value).collect();
        prop_assert_eq!(&values, &docs, "written:\n{}", text);
    }
}

/// Field names of the objects the strategic merge sees: some the schema gives a merge key
/// (`containers` by `name`, `env` by `name`), some it does not.
fn field() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "c",
        "name",
        "image",
        "value",
        "containers",
        "env",
        "args",
        "labels",
    ])
    .prop_map(str::to_owned)
}

fn small_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => (0i64..4).prop_map(Value::from),
        4 => prop::sample::select(vec!["x", "y", "z", "web", "db"]).prop_map(Value::from),
    ]
}

/// A body below the object's header: maps of known field names, lists of scalars or of maps
/// (the maps of one list named apart, as Kubernetes lists keyed by `name` are).
fn body(depth: u32) -> impl Strategy<Value = Value> {
    small_scalar().prop_recursive(depth, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(
                prop::collection::btree_map(field(), inner.clone(), 0..3),
                0..3
            )
            .prop_map(|items| {
                Value::Array(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, mut m)| {
                            m.insert("name".to_owned(), Value::from(format!("n{i}")));
                            Value::Object(m.into_iter().collect())
                        })
                        .collect(),
                )
            }),
            prop::collection::btree_map(field(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The identity of an object of `kind`: what a patch names to target it.
fn header(kind: &str) -> Value {
    let api_version = match kind {
        "Deployment" => "apps/v1",
        "ConfigMap" => "v1",
        _ => "example.com/v1",
    };
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "obj"}})
}

/// Whether every list under a field the schema merges by key (`containers`, `env`) holds only
/// maps with that key (`name`), as the API requires. kustomize drops an element without it
/// (`containers: [{}]` becomes `containers: []`), so an empty patch would change such a list.
fn keyed_lists_hold_named_maps(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, v)| {
            let keyed = k == "containers" || k == "env";
            let named = |item: &Value| item.get("name").is_some_and(Value::is_string);
            (!keyed || v.as_array().is_none_or(|items| items.iter().all(named)))
                && keyed_lists_hold_named_maps(v)
        }),
        Value::Array(items) => items.iter().all(keyed_lists_hold_named_maps),
        _ => true,
    }
}

/// An object of a kind with a schema (Deployment: `spec.template.spec.containers` merge by
/// name), one without merge keys in its data (ConfigMap) and a custom resource (no schema).
fn object() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["Deployment", "ConfigMap", "Widget"]),
        prop::collection::btree_map(field(), body(3), 0..4),
        prop::collection::btree_map(field(), body(3), 0..3),
    )
        .prop_map(|(kind, fields, pod)| {
            let mut object = header(kind);
            let top = object.as_object_mut().expect("a map");
            top.extend(fields);
            if kind == "Deployment" {
                let spec: Map<String, Value> = pod.into_iter().collect();
                top.insert("spec".to_owned(), json!({"template": {"spec": spec}}));
            }
            object
        })
        .prop_filter(
            "lists merged by key hold named maps",
            keyed_lists_hold_named_maps,
        )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn an_empty_strategic_patch_changes_nothing(original in object()) {
        let kind = original["kind"].as_str().expect("a kind").to_owned();
        let merged = merge(&original, &header(&kind));
        prop_assert_eq!(merged, Ok(Some(original)));
    }

    #[test]
    fn a_strategic_patch_applied_twice_equals_once(original in object(), patch in object()) {
        // The patch targets the original: same identity, its own fields.
        let mut patch = patch;
        let top = patch.as_object_mut().expect("a map");
        for (k, v) in header(original["kind"].as_str().expect("a kind"))
            .as_object()
            .expect("a map")
        {
            top.insert(k.clone(), v.clone());
        }
        // A field that is a map on one side and not on the other is refused; a patch that
        // deletes the object has nothing to apply twice.
        let Ok(Some(once)) = merge(&original, &patch) else {
            return Err(TestCaseError::reject("the patch does not apply once"));
        };
        let twice = merge(&once, &patch);
        prop_assert_eq!(twice, Ok(Some(once)), "patch: {}", patch);
    }
}
