//! Selecting objects as kustomize's `target`/`select` fields do: group, version, kind, name and
//! namespace are anchored regular expressions matched against the original or the current id;
//! label and annotation selectors use the Kubernetes selector syntax.

use regex::Regex;
use serde_json::{Map, Value};

use super::kustomization::Selector;
use crate::errors::{Diagnostic, ErrorClass};
use crate::resource::Resource;

/// A selector with its expressions compiled.
#[derive(Debug)]
pub struct Matcher {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

/// A selector that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector `{text}`: {reason}")]
pub struct SelectorError {
    pub text: String,
    pub reason: String,
}

impl Diagnostic for SelectorError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

fn anchored(expr: &str) -> Result<Option<Regex>, SelectorError> {
    if expr.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{expr})$"))
        .map(Some)
        .map_err(|e| SelectorError {
            text: expr.to_owned(),
            reason: e.to_string(),
        })
}

impl Matcher {
    pub fn new(sel: &Selector) -> Result<Self, SelectorError> {
        Ok(Matcher {
            group: anchored(&sel.group)?,
            version: anchored(&sel.version)?,
            kind: anchored(&sel.kind)?,
            name: anchored(&sel.name)?,
            namespace: anchored(&sel.namespace)?,
            labels: parse_selector(&sel.label_selector)?,
            annotations: parse_selector(&sel.annotation_selector)?,
        })
    }

    pub fn matches(&self, res: &Resource) -> bool {
        let gvk = res.gvk();
        let ok = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        if !ok(&self.group, &gvk.group)
            || !ok(&self.version, &gvk.version)
            || !ok(&self.kind, &gvk.kind)
        {
            return false;
        }
        let cur = res.id();
        let org = res.org_id();
        if !ok(&self.namespace, org.effective_namespace())
            && !ok(&self.namespace, cur.effective_namespace())
        {
            return false;
        }
        if !ok(&self.name, &org.name) && !ok(&self.name, &cur.name) {
            return false;
        }
        if !self.labels.is_empty() && !matches_all(&self.labels, &res.labels()) {
            return false;
        }
        self.annotations.is_empty() || matches_all(&self.annotations, &res.annotations())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

fn matches_all(reqs: &[Requirement], map: &Map<String, Value>) -> bool {
    let get = |k: &str| map.get(k).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Requirement::Exists(k) => map.contains_key(k),
        Requirement::NotExists(k) => !map.contains_key(k),
        Requirement::In(k, vals) => get(k).is_some_and(|v| vals.iter().any(|x| x == v)),
        Requirement::NotIn(k, vals) => get(k).is_none_or(|v| !vals.iter().any(|x| x == v)),
    })
}

/// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
fn parse_selector(text: &str) -> Result<Vec<Requirement>, SelectorError> {
    let err = |reason: &str| SelectorError {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        // Split off one requirement: up to a comma outside parentheses.
        let mut depth = 0;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let req = rest[..end].trim();
        rest = rest[end..].trim_start_matches(',').trim();
        if req.is_empty() {
            return Err(err("empty requirement"));
        }
        if let Some(key) = req.strip_prefix('!') {
            out.push(Requirement::NotExists(key.trim().to_owned()));
        } else if let Some((k, v)) = req.split_once("!=") {
            out.push(Requirement::NotIn(
                k.trim().to_owned(),
                vec![v.trim().to_owned()],
            ));
        } else if let Some((k, v)) = req.split_once("==") {
            out.push(Requirement::In(
                k.trim().to_owned(),
                vec![v.trim().to_owned()],
            ));
        } else if let Some((k, v)) = req.split_once('=') {
            out.push(Requirement::In(
                k.trim().to_owned(),
                vec![v.trim().to_owned()],
            ));
        } else if let Some((k, set)) = split_set_op(req, " notin ") {
            out.push(Requirement::NotIn(
                k,
                parse_set(set).ok_or_else(|| err("bad value set"))?,
            ));
        } else if let Some((k, set)) = split_set_op(req, " in ") {
            out.push(Requirement::In(
                k,
                parse_set(set).ok_or_else(|| err("bad value set"))?,
            ));
        } else {
            out.push(Requirement::Exists(req.to_owned()));
        }
    }
    Ok(out)
}

fn split_set_op<'a>(req: &'a str, op: &str) -> Option<(String, &'a str)> {
    let i = req.find(op)?;
    Some((req[..i].trim().to_owned(), req[i + op.len()..].trim()))
}

fn parse_set(set: &str) -> Option<Vec<String>> {
    let inner = set.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Origin;
    use serde_json::json;
    use std::path::Path;

    fn res() -> Resource {
        let mut r = Resource::new(
            json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",
                   "labels":{"app":"a","tier":"x"},"annotations":{"n":"1"}}}),
            Origin::file(Path::new("d.yaml"), 1),
        );
        r.remember_id();
        r.set_name("pre-web");
        r
    }

    fn sel(v: Value) -> Selector {
        serde_json::from_value(v).unwrap()
    }

    /// Whether the selector written as `v` picks `r`.
    fn picks(v: Value, r: &Resource) -> bool {
        Matcher::new(&sel(v)).unwrap().matches(r)
    }

    #[test]
    fn regex_names_match_original_or_current() {
        let r = res();
        assert!(picks(json!({"name":"web"}), &r));
        assert!(picks(json!({"name":"pre-.*"}), &r));
        assert!(!picks(json!({"name":"we"}), &r));
        assert!(picks(json!({"kind":"Deploy.*","group":"apps"}), &r));
        assert!(!picks(json!({"kind":"Service"}), &r));
        assert!(picks(json!({"namespace":"default"}), &r));
    }

    #[test]
    fn label_selectors() {
        let r = res();
        let m = |s: &str| picks(json!({"labelSelector": s}), &r);
        assert!(m("app=a"));
        assert!(m("app=a,tier"));
        assert!(!m("app!=a"));
        assert!(m("app in (a, b)"));
        assert!(!m("app notin (a)"));
        assert!(m("!missing"));
        assert!(!m("tier,!app"));
        assert!(picks(json!({"annotationSelector": "n=1"}), &r));
    }
}
