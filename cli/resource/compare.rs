//! Whether a live object already holds everything a desired one says, without asking the
//! server: the cheap check that lets a re-apply skip objects nobody touched.

use serde_json::Value;

/// Whether every field `want` sets has the same value in `live`. Maps may hold more keys in
/// `live` (defaults, status, fields of other managers); lists must have the same length, item by
/// item (an item added by someone else is a change to look at). Numbers compare by value, and
/// so do the quantities of resources (`cpu: 1` and `cpu: 1000m`, as the server writes them). A field set to its zero value
/// (`""`, `false`, `0`) may be absent live, as the server omits it, except in maps of strings
/// (labels, annotations, data), whose keys it keeps. A `false` is no verdict that something
/// changed, only that the server must be asked: it also normalises values this does not know.
pub fn contains(live: &Value, want: &Value) -> bool {
    contains_in(live, want, "")
}

/// [`contains`] for field `key` of a map that is itself field `parent` (`""` at the top of an
/// object): whether `live` (the field's live value, if it has one) holds `want`.
pub fn contains_field(live: Option<&Value>, want: &Value, key: &str, parent: &str) -> bool {
    match live {
        Some(l) => contains_in(l, want, key),
        None => empty(want) || (!STRING_MAPS.contains(&parent) && zero(want)),
    }
}

/// [`contains`], for the value of field `key`.
fn contains_in(live: &Value, want: &Value, key: &str) -> bool {
    match (live, want) {
        (_, Value::Null) => true,
        (Value::Object(live), Value::Object(want)) => want.iter().all(|(k, w)| match live.get(k) {
            Some(l) => contains_in(l, w, k),
            None => empty(w) || (!STRING_MAPS.contains(&key) && zero(w)),
        }),
        (Value::Array(live), Value::Array(want)) => {
            live.len() == want.len() && live.iter().zip(want).all(|(l, w)| contains_in(l, w, key))
        }
        (Value::Number(l), Value::Number(w)) => l.as_f64() == w.as_f64(),
        (Value::String(l), Value::String(w)) => {
            l == w
                || (QUANTITIES.contains(&key)
                    && quantity(l).is_some_and(|l| quantity(w).is_some_and(|w| same(l, w))))
        }
        (l, w) => l == w,
    }
}

/// Fields whose values are quantities, which the server writes in a canonical form.
const QUANTITIES: &[&str] = &["cpu", "memory", "storage", "ephemeral-storage", "sizeLimit"];

/// Fields whose values are maps of free keys, which keep a key whatever its value.
const STRING_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "stringData",
    "binaryData",
    "matchLabels",
    "nodeSelector",
];

/// Null, an empty map or an empty list, which the server drops on its way in.
fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A zero value, which the server omits from a field declared `omitempty`.
fn zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// The value of a Kubernetes quantity (`100m`, `1.5Gi`, `2e3`), or `None` for other text.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+' || c == '-') {
        return None;
    }
    let (number, scale) = SUFFIXES
        .iter()
        .find_map(|(suffix, scale)| Some((text.strip_suffix(suffix)?, *scale)))
        .unwrap_or((text, 1.0));
    // Digits, a point and an exponent only: not `inf`, `NaN` or hex.
    if !number
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'))
    {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Two quantities equal up to the rounding of their decimal scales.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_live_fields_are_fine() {
        let live =
            json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate"}}, "status": {}});
        assert!(contains(&live, &json!({"spec": {"replicas": 2}})));
        assert!(contains(&live, &json!({"spec": {"replicas": 2.0}})));
    }

    #[test]
    fn a_changed_or_missing_value_is_not_contained() {
        let live = json!({"spec": {"replicas": 3}, "data": {"a": "1"}});
        assert!(!contains(&live, &json!({"spec": {"replicas": 2}})));
        assert!(!contains(&live, &json!({"data": {"a": "1", "b": "2"}})));
        assert!(!contains(&live, &json!({"data": {"a": 1}})));
    }

    #[test]
    fn lists_match_item_by_item() {
        let live =
            json!({"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]});
        assert!(contains(
            &live,
            &json!({"containers": [{"name": "a", "image": "x"}]})
        ));
        assert!(!contains(
            &live,
            &json!({"containers": [{"name": "a", "image": "y"}]})
        ));
        let injected = json!({"containers": [{"name": "a"}, {"name": "sidecar"}]});
        assert!(!contains(
            &injected,
            &json!({"containers": [{"name": "a"}]})
        ));
    }

    #[test]
    fn quantities_compare_by_value() {
        let live = json!({"limits": {"cpu": "1", "memory": "1Gi"}});
        assert!(contains(
            &live,
            &json!({"limits": {"cpu": "1000m", "memory": "1024Mi"}})
        ));
        assert!(!contains(&live, &json!({"limits": {"cpu": "1500m"}})));
        assert!(!contains(&json!({"cpu": "1e3x"}), &json!({"cpu": "1000x"})));
        assert!(!contains(
            &json!({"cpu": "inf"}),
            &json!({"cpu": "infinity"})
        ));
        let version = json!({"annotations": {"version": "1.1"}});
        assert!(!contains(
            &version,
            &json!({"annotations": {"version": "1.10"}})
        ));
    }

    #[test]
    fn zero_values_may_be_omitted_live_except_in_string_maps() {
        let live = json!({"env": [{"name": "A"}], "mount": {"name": "v"},
                          "metadata": {"labels": {}}, "data": {}});
        assert!(contains(
            &live,
            &json!({"env": [{"name": "A", "value": ""}]})
        ));
        assert!(contains(
            &live,
            &json!({"mount": {"name": "v", "readOnly": false, "delay": 0}})
        ));
        assert!(!contains(&live, &json!({"mount": {"readOnly": true}})));
        assert!(!contains(
            &live,
            &json!({"metadata": {"labels": {"a": ""}}})
        ));
        assert!(!contains(&live, &json!({"data": {"a": ""}})));
    }

    #[test]
    fn empty_maps_and_nulls_need_nothing_live() {
        let live = json!({"metadata": {"name": "x"}});
        assert!(contains(
            &live,
            &json!({"metadata": {"name": "x", "annotations": {}}, "spec": null})
        ));
        assert!(!contains(
            &live,
            &json!({"metadata": {"labels": {"a": "b"}}})
        ));
    }
}
