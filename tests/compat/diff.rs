//! Comparing two renders: the first object that differs, and where in it.

use serde_json::Value;

/// `None` when `got` holds the same objects in the same order as `want`; otherwise what differs
/// first: the object's position and id, and the JSON path of the first differing field.
pub fn first_difference(want: &[Value], got: &[Value]) -> Option<String> {
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w == g {
            continue;
        }
        let (wid, gid) = (object_id(w), object_id(g));
        if wid != gid {
            let hint = match got.iter().position(|o| object_id(o) == wid) {
                Some(j) => format!("kfctl prints it at #{j}"),
                None => "kfctl does not print it".to_owned(),
            };
            return Some(format!(
                "object #{i}: kubectl has `{wid}`, kfctl has `{gid}` ({hint})"
            ));
        }
        let (path, wv, gv) = first_field_difference(w, g, String::new())
            .unwrap_or_else(|| (String::new(), w.clone(), g.clone()));
        return Some(format!(
            "object #{i} `{wid}` at `{}`: kubectl has {}, kfctl has {}",
            if path.is_empty() { "." } else { &path },
            brief(&wv),
            brief(&gv),
        ));
    }
    match want.len().cmp(&got.len()) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(format!(
            "kubectl has {} objects, kfctl {}; first missing: #{} `{}`",
            want.len(),
            got.len(),
            got.len(),
            object_id(&want[got.len()])
        )),
        std::cmp::Ordering::Less => Some(format!(
            "kubectl has {} objects, kfctl {}; first extra: #{} `{}`",
            want.len(),
            got.len(),
            want.len(),
            object_id(&got[want.len()])
        )),
    }
}

/// `apiVersion/Kind/namespace/name`, the way a person finds the object in the output.
pub fn object_id(obj: &Value) -> String {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(obj, |v, key| v.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let ns = field(&["metadata", "namespace"]);
    let name = field(&["metadata", "name"]);
    let kind = format!("{} {}", field(&["apiVersion"]), field(&["kind"]));
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

/// The path (`.spec.containers[0].image`) of the first field that differs, and both values there
/// (`null` where a side lacks the field).
fn first_field_difference(
    want: &Value,
    got: &Value,
    path: String,
) -> Option<(String, Value, Value)> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let mut keys: Vec<&String> = w.keys().chain(g.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let (wv, gv) = (
                    w.get(k).unwrap_or(&Value::Null),
                    g.get(k).unwrap_or(&Value::Null),
                );
                let sub = format!("{path}.{k}");
                match (w.contains_key(k), g.contains_key(k)) {
                    (true, true) => first_field_difference(wv, gv, sub),
                    _ => Some((sub, wv.clone(), gv.clone())),
                }
            })
        }
        (Value::Array(w), Value::Array(g)) => {
            let found =
                w.iter().zip(g).enumerate().find_map(|(i, (wv, gv))| {
                    first_field_difference(wv, gv, format!("{path}[{i}]"))
                });
            match found {
                Some(d) => Some(d),
                None if w.len() != g.len() => Some((
                    format!("{path} (length)"),
                    Value::from(w.len()),
                    Value::from(g.len()),
                )),
                None => None,
            }
        }
        (w, g) if w == g => None,
        (w, g) => Some((path, w.clone(), g.clone())),
    }
}

/// A value shortened to one line.
fn brief(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

#[test]
fn names_the_first_differing_field() {
    let want = vec![serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "x"},
        "data": {"k": ["1", "2"]}
    })];
    let mut got = want.clone();
    assert_eq!(first_difference(&want, &got), None);
    got[0]["data"]["k"][1] = Value::from("3");
    assert_eq!(
        first_difference(&want, &got).as_deref(),
        Some("object #0 `v1 ConfigMap x/a` at `.data.k[1]`: kubectl has \"2\", kfctl has \"3\"")
    );
    got.push(want[0].clone());
    got[0] = want[0].clone();
    assert!(first_difference(&want, &got).is_some_and(|d| d.contains("first extra: #1")));
}
