//! Name-reference fixing: after prefixes, suffixes, namespaces and content hashes have renamed
//! objects, every field that names one of them (a Deployment's ConfigMap volume, a binding's
//! role, a webhook's Service, ...) is updated to the new name. Which field of which kind names
//! which kind is data: the `nameReference` table in `builtin_fieldspecs.yaml`, plus what a
//! kustomization's `configurations` and `crds` add.

use std::path::Path;

use serde_json::{Map, Value};

use super::fieldspec::{Create, FieldSpec, NameBackRef, TransformerConfig, visit};
use super::{Loc, RenderError};
use crate::resource::{Gvk, ResId, Resource, ResourceSet};

/// One reference to fix: in `referrer`'s field `spec`, names of objects of kind `target`.
struct Job<'a> {
    spec: &'a FieldSpec,
    target: Gvk,
}

/// Rewrites every name reference in `set` to the current name of the object it refers to.
pub fn fix_references(
    set: &mut ResourceSet,
    config: &TransformerConfig,
) -> Result<(), RenderError> {
    // Only renamed objects can be referred to by an outdated name.
    let renamed: Vec<usize> = (0..set.len())
        .filter(|&i| !set.at(i).previous.is_empty())
        .collect();
    if renamed.is_empty() {
        return Ok(());
    }
    let snapshot: Vec<Candidate> = renamed.iter().map(|&i| Candidate::of(set.at(i))).collect();

    for i in 0..set.len() {
        let org = set.at(i).org_id();
        let mut jobs: Vec<Job> = Vec::new();
        for backref in &config.name_reference {
            for spec in &backref.field_specs {
                if org.gvk.is_selected_by(&spec.gvk()) {
                    jobs.push(Job {
                        spec,
                        target: backref.gvk(),
                    });
                }
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let referrer = Referrer::of(set.at(i));
        let candidates: Vec<&Candidate> = snapshot
            .iter()
            .filter(|c| referrer.could_reference(c))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let res = set.get_mut_at(i);
        for job in jobs {
            // The referrer's kind already matched; the walk must not re-check it against the
            // current kind, which a patch may have changed.
            let mut spec = job.spec.clone();
            spec.group.clear();
            spec.version.clear();
            spec.kind.clear();
            let lookup = Lookup {
                job: &job,
                referrer: &referrer,
                candidates: &candidates,
            };
            let mut failure: Option<String> = None;
            let result = visit(res, &spec, Create::Nothing, &mut |node| {
                lookup.update(node).inspect_err(|e| {
                    failure = Some(e.clone());
                })
            });
            if let Err(e) = result {
                return Err(RenderError::Transform {
                    id: referrer.id.clone(),
                    origin: res.origin.clone(),
                    message: format!(
                        "cannot update name reference in `{}`: {}",
                        job.spec.path,
                        failure.unwrap_or_else(|| e.to_string())
                    ),
                });
            }
        }
    }
    Ok(())
}

/// What the fix-up needs of a renamed object.
struct Candidate {
    id: ResId,
    previous: Vec<ResId>,
    org_namespace: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(r: &Resource) -> Self {
        Candidate {
            id: r.id(),
            previous: r.previous.clone(),
            org_namespace: r.org_id().effective_namespace().to_owned(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }
}

struct Referrer {
    id: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Namespaces of a RoleBinding's ServiceAccount subjects: it may name objects there.
    binding_namespaces: Vec<String>,
    /// For `roleRef/name`: the kind and group the roleRef names.
    role_ref: Option<Gvk>,
}

impl Referrer {
    fn of(r: &Resource) -> Self {
        let mut binding_namespaces = Vec::new();
        if r.kind() == "RoleBinding"
            && let Some(Value::Array(subjects)) = r.body.get("subjects")
        {
            for s in subjects {
                if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    && let Some(ns) = s.get("namespace").and_then(Value::as_str)
                {
                    binding_namespaces.push(ns.to_owned());
                }
            }
        }
        let role_ref = r.body.get("roleRef").and_then(|rr| {
            let group = rr.get("apiGroup")?.as_str()?;
            let kind = rr.get("kind")?.as_str()?;
            Some(Gvk::new(group, "", kind))
        });
        Referrer {
            id: r.id(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            binding_namespaces,
            role_ref,
        }
    }

    /// kustomize's `SubsetThatCouldBeReferencedByResource`.
    fn could_reference(&self, c: &Candidate) -> bool {
        if self.id.gvk.is_cluster_scoped() || c.id.gvk.is_cluster_scoped() {
            return true;
        }
        c.id.effective_namespace() == self.id.effective_namespace()
            || self.binding_namespaces.contains(&c.id.namespace)
    }

    /// Candidates must share the referrer's current namespace, unless either is cluster-scoped
    /// or the candidate is a ServiceAccount.
    fn same_namespace(&self, c: &Candidate) -> bool {
        self.id.gvk.is_cluster_scoped()
            || c.id.gvk.is_cluster_scoped()
            || c.id.gvk.kind == "ServiceAccount"
            || self.id.effective_namespace() == c.id.effective_namespace()
    }
}

/// One reference field of one referrer, and the renamed objects it may name.
struct Lookup<'a> {
    job: &'a Job<'a>,
    referrer: &'a Referrer,
    candidates: &'a [&'a Candidate],
}

impl Lookup<'_> {
    fn update(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.update_scalar(node),
            Value::Object(map) => self.update_map(map),
            // Only the strings and maps of a list name objects; anything else in it is left alone.
            Value::Array(items) => items
                .iter_mut()
                .filter(|item| item.is_string() || item.is_object())
                .try_for_each(|item| self.update(item)),
            _ => Err("a name reference must be a string, a list or a map".to_owned()),
        }
    }

    fn update_scalar(&self, node: &mut Value) -> Result<(), String> {
        let Some(old) = node.as_str() else {
            return Ok(());
        };
        let chosen = self.select(old, self.candidates.to_vec(), false)?;
        if let Some(c) = chosen
            && c.id.name != old
        {
            *node = Value::String(c.id.name.clone());
        }
        Ok(())
    }

    fn update_map(&self, map: &mut Map<String, Value>) -> Result<(), String> {
        let candidates = self.candidates;
        let Some(old) = map.get("name").and_then(Value::as_str).map(str::to_owned) else {
            return Err(format!(
                "no `name` field in the map at `{}`",
                self.job.spec.path
            ));
        };
        let pool: Vec<&Candidate> = match map.get("namespace").and_then(Value::as_str) {
            None => candidates.to_vec(),
            Some(ns) => {
                let by_org: Vec<&Candidate> = candidates
                    .iter()
                    .copied()
                    .filter(|c| !c.id.gvk.is_cluster_scoped() && c.org_namespace == ns)
                    .collect();
                if by_org.is_empty() {
                    candidates
                        .iter()
                        .copied()
                        .filter(|c| {
                            !c.id.gvk.is_cluster_scoped() && c.id.effective_namespace() == ns
                        })
                        .collect()
                } else {
                    by_org
                }
            }
        };
        let Some(c) = self.select(&old, pool, true)? else {
            return Ok(());
        };
        if c.id.name == old && c.id.namespace.is_empty() {
            return Ok(());
        }
        map.insert("name".into(), Value::String(c.id.name.clone()));
        if !c.id.namespace.is_empty() {
            map.insert("namespace".into(), Value::String(c.id.namespace.clone()));
        }
        Ok(())
    }

    /// kustomize's `selectReferral`: sieve the candidates down to the one object meant.
    fn select<'c>(
        &self,
        old: &str,
        mut pool: Vec<&'c Candidate>,
        compare_namespaces: bool,
    ) -> Result<Option<&'c Candidate>, String> {
        let (job, referrer) = (self.job, self.referrer);
        pool.retain(|c| c.previous.iter().any(|id| id.name == old));
        pool.retain(|c| {
            c.previous
                .iter()
                .any(|id| id.gvk.is_selected_by(&job.target))
        });
        if job.spec.path.ends_with("roleRef/name")
            && let Some(role_ref) = &referrer.role_ref
        {
            pool.retain(|c| c.previous.iter().any(|id| id.gvk.is_selected_by(role_ref)));
        }
        pool.retain(|c| referrer.same_namespace(c));
        if pool.len() == 1 {
            return Ok(pool.pop());
        }
        pool.retain(|c| affixes_match(c, referrer, true));
        if pool.len() > 1 {
            pool.retain(|c| affixes_match(c, referrer, false));
        }
        match pool.len() {
            0 => Ok(None),
            1 => Ok(pool.pop()),
            _ => {
                let first = pool[0];
                let identical = pool.iter().all(|c| {
                    c.id.name == first.id.name
                        && (!compare_namespaces || c.id.namespace == first.id.namespace)
                });
                if identical {
                    Ok(Some(first))
                } else {
                    let ids: Vec<String> = pool.iter().map(|c| format!("`{}`", c.id)).collect();
                    Err(format!("`{old}` could refer to any of {}", ids.join(", ")))
                }
            }
        }
    }
}

fn affixes_match(c: &Candidate, r: &Referrer, allow_empty: bool) -> bool {
    let ok = |a: &[String], b: &[String]| {
        (allow_empty && (a.is_empty() || b.is_empty())) || same_ending(a, b)
    };
    ok(&c.prefixes, &r.prefixes) && ok(&c.suffixes, &r.suffixes)
}

/// Whether the shorter list is the tail of the longer one (both empty counts).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

/// Field specs that custom resource definitions listed under `crds` add: properties marked
/// `x-kubernetes-object-ref-api-version`/`-kind` name objects of that kind.
pub fn config_from_crds(text: &str, path: &Path) -> Result<TransformerConfig, RenderError> {
    let docs =
        crate::resource::yaml::parse_documents(text).map_err(|source| RenderError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
    let mut config = TransformerConfig::default();
    for doc in docs {
        // A CRD file may be an OpenAPI definitions map (kustomize's legacy format) or CRD
        // objects; both are walked for the object-ref markers.
        let Value::Object(map) = &doc.value else {
            return Err(RenderError::InvalidObject {
                message: "a CRD document is not a map".to_owned(),
                at: Loc::new(path, Some(doc.line)),
            });
        };
        if map.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") {
            let spec = &doc.value["spec"];
            let kind = spec["names"]["kind"].as_str().unwrap_or_default();
            let group = spec["group"].as_str().unwrap_or_default();
            if let Some(Value::Array(versions)) = spec.get("versions") {
                for v in versions {
                    let version = v["name"].as_str().unwrap_or_default();
                    let schema = &v["schema"]["openAPIV3Schema"];
                    collect_refs(schema, &Gvk::new(group, version, kind), "", &mut config);
                }
            }
        } else {
            for (_, def) in map {
                let Some(kind) = def
                    .get("x-kubernetes-group-version-kind")
                    .and_then(|g| g.get(0))
                    .or_else(|| def.get("x-kubernetes-group-version-kind"))
                else {
                    continue;
                };
                let gvk = Gvk::new(
                    kind["group"].as_str().unwrap_or_default(),
                    kind["version"].as_str().unwrap_or_default(),
                    kind["kind"].as_str().unwrap_or_default(),
                );
                collect_refs(def, &gvk, "", &mut config);
            }
        }
    }
    Ok(config)
}

fn collect_refs(schema: &Value, owner: &Gvk, path: &str, config: &mut TransformerConfig) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        if let Some(items) = schema.get("items") {
            collect_refs(items, owner, path, config);
        }
        return;
    };
    for (name, prop) in props {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}/{name}")
        };
        if let Some(kind) = prop
            .get("x-kubernetes-object-ref-kind")
            .and_then(Value::as_str)
        {
            let api = prop
                .get("x-kubernetes-object-ref-api-version")
                .and_then(Value::as_str)
                .unwrap_or("v1");
            let target = Gvk::from_api_version(api, kind);
            let spec = FieldSpec {
                group: owner.group.clone(),
                version: owner.version.clone(),
                kind: owner.kind.clone(),
                path: here.clone(),
                create: false,
            };
            config.merge(TransformerConfig {
                name_reference: vec![NameBackRef {
                    group: target.group,
                    version: target.version,
                    kind: target.kind,
                    field_specs: vec![spec],
                }],
                ..Default::default()
            });
        }
        collect_refs(prop, owner, &here, config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Origin;
    use serde_json::json;

    fn res(v: Value) -> Resource {
        Resource::new(v, Origin::file(Path::new("x.yaml"), 1))
    }

    fn renamed(mut r: Resource, name: &str, prefix: &str) -> Resource {
        r.remember_id();
        r.set_name(name);
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_owned());
        }
        r
    }

    #[test]
    fn deployment_follows_renamed_configmap_and_sa() {
        let cm = renamed(
            res(json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"}})),
            "cfg-abc",
            "",
        );
        let dep = res(
            json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
            "spec":{"template":{"spec":{"serviceAccountName":"sa",
              "volumes":[{"name":"v","configMap":{"name":"cfg"}},{"name":"w","configMap":{"name":"other"}}]}}}}),
        );
        let sa = renamed(
            res(json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa"}})),
            "p-sa",
            "p-",
        );
        let mut set: ResourceSet = vec![cm, dep, sa].into_iter().collect();
        fix_references(&mut set, TransformerConfig::builtin()).unwrap();
        let d = &set.at(1).body["spec"]["template"]["spec"];
        assert_eq!(d["volumes"][0]["configMap"]["name"], "cfg-abc");
        assert_eq!(d["volumes"][1]["configMap"]["name"], "other");
        assert_eq!(d["serviceAccountName"], "p-sa");
    }

    #[test]
    fn binding_subject_gets_namespace() {
        let mut sa = res(
            json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa","namespace":"old"}}),
        );
        sa.remember_id();
        sa.set_namespace("new");
        let crb = res(
            json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
            "metadata":{"name":"b"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"r"},
            "subjects":[{"kind":"ServiceAccount","name":"sa","namespace":"old"}]}),
        );
        let mut set: ResourceSet = vec![sa, crb].into_iter().collect();
        fix_references(&mut set, TransformerConfig::builtin()).unwrap();
        assert_eq!(set.at(1).body["subjects"][0]["namespace"], "new");
    }

    #[test]
    fn same_ending() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(super::same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!super::same_ending(&s(&["a", "b"]), &s(&["a"])));
        assert!(super::same_ending(&s(&[]), &s(&[])));
        assert!(!super::same_ending(&s(&[]), &s(&["a"])));
    }
}
