//! Whether a live object already holds everything a desired one says, without asking the
//! server: the cheap check that lets a re-apply skip objects nobody touched.

use serde_json::Value;

/// Whether every field `want` sets has the same value in `live`. Maps may hold more keys in
/// `live` (defaults, status, fields of other managers); lists must have the same length, item by
/// item (an item added by someone else is a change to look at). Numbers compare by value. A
/// `false` is no verdict that something changed, only that the server must be asked: it also
/// normalises some values (quantities, for one), which this does not know.
pub fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (_, Value::Null) => true,
        (Value::Object(live), Value::Object(want)) => want.iter().all(|(k, w)| match live.get(k) {
            Some(l) => contains(l, w),
            None => empty(w),
        }),
        (Value::Array(live), Value::Array(want)) => {
            live.len() == want.len() && live.iter().zip(want).all(|(l, w)| contains(l, w))
        }
        (Value::Number(l), Value::Number(w)) => l.as_f64() == w.as_f64(),
        (l, w) => l == w,
    }
}

/// Null, an empty map or an empty list, which the server drops on its way in.
fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
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
