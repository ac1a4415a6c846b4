//! `Resource`, one object with its origin and identity history, and `ResourceSet`, an ordered
//! collection whose current ids are unique.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::id::{Gvk, ResId};

/// Where an object came from: the file and the line its document starts on, or the
/// kustomization whose generator made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
    pub generated: bool,
}

impl Origin {
    pub fn file(path: &Path, line: usize) -> Self {
        Origin {
            path: path.to_path_buf(),
            line,
            generated: false,
        }
    }

    pub fn generator(kustomization: &Path, line: usize) -> Self {
        Origin {
            path: kustomization.to_path_buf(),
            line,
            generated: true,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)?;
        if self.generated {
            write!(f, " (generated)")?;
        }
        Ok(())
    }
}

/// How a generated object combines with one of the same id from a base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// One Kubernetes object as the renderer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The object itself, always a JSON object.
    pub body: Value,
    pub origin: Origin,
    /// Ids this object had before transforms renamed, re-kinded or moved it, oldest first.
    pub previous: Vec<ResId>,
    /// Set on objects made by a generator.
    pub generated: Option<Generated>,
    /// Name prefixes and suffixes applied to this object, innermost level first; name references
    /// prefer objects renamed the same way as the referrer.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// The `vars` whose `objref` named this object at the level that declared them; the value
    /// is read from it after the last transform, whatever it is called by then.
    pub ref_vars: Vec<String>,
    /// Fields of the source document written as nothing (`key:`); see `yaml::Document`.
    pub empty_nulls: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Generated {
    pub behavior: Behavior,
    /// Whether the name gets kustomize's content-hash suffix at the end of the build.
    pub needs_hash: bool,
}

impl Resource {
    pub fn new(body: Value, origin: Origin) -> Self {
        Resource {
            body,
            origin,
            previous: Vec::new(),
            generated: None,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            ref_vars: Vec::new(),
            empty_nulls: Vec::new(),
        }
    }

    pub fn id(&self) -> ResId {
        ResId::new(
            Gvk::from_api_version(self.api_version(), self.kind()),
            self.name(),
            self.namespace(),
        )
    }

    /// The id the object had when it was read or generated.
    pub fn org_id(&self) -> ResId {
        self.previous.first().cloned().unwrap_or_else(|| self.id())
    }

    /// The current id and every earlier one.
    pub fn all_ids(&self) -> impl Iterator<Item = ResId> + '_ {
        std::iter::once(self.id()).chain(self.previous.iter().cloned())
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"]).unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"]).unwrap_or("")
    }

    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut cur = &self.body;
        for key in path {
            cur = cur.get(key)?;
        }
        cur.as_str()
    }

    /// `metadata.labels` or `metadata.annotations` as a map, empty when absent.
    pub fn meta_map(&self, field: &str) -> Map<String, Value> {
        self.body
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn labels(&self) -> Map<String, Value> {
        self.meta_map("labels")
    }

    pub fn annotations(&self) -> Map<String, Value> {
        self.meta_map("annotations")
    }

    /// The `metadata` object, created when absent.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = object_mut(&mut self.body);
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        object_mut(meta)
    }

    /// Remembers the current id before a transform changes it.
    pub fn remember_id(&mut self) {
        let id = self.id();
        self.previous.push(id);
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_owned()));
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(namespace.to_owned()));
    }
}

/// Turns `v` into an object if it is not one, and returns its map.
pub fn object_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Two objects claim the same id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{id}` is defined twice: in {first} and in {second}")]
pub struct DuplicateId {
    pub id: ResId,
    pub first: Origin,
    pub second: Origin,
}

/// An ordered set of objects with unique current ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceSet {
    items: Vec<Resource>,
}

impl ResourceSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.items.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Resource> {
        self.items.iter_mut()
    }

    pub fn as_slice(&self) -> &[Resource] {
        &self.items
    }

    pub fn into_vec(self) -> Vec<Resource> {
        self.items
    }

    /// Index of the object whose current id equals `id`.
    pub fn position(&self, id: &ResId) -> Option<usize> {
        // The name first: it tells most objects apart without building their ids.
        self.items
            .iter()
            .position(|r| r.name() == id.name && r.id().same_as(id))
    }

    pub fn get(&self, id: &ResId) -> Option<&Resource> {
        self.position(id).map(|i| &self.items[i])
    }

    pub fn get_mut_at(&mut self, index: usize) -> &mut Resource {
        &mut self.items[index]
    }

    pub fn at(&self, index: usize) -> &Resource {
        &self.items[index]
    }

    /// Appends `res`, refusing an id already present.
    pub fn push(&mut self, res: Resource) -> Result<(), Box<DuplicateId>> {
        let id = res.id();
        if let Some(existing) = self.get(&id) {
            return Err(Box::new(DuplicateId {
                id,
                first: existing.origin.clone(),
                second: res.origin,
            }));
        }
        self.items.push(res);
        Ok(())
    }

    /// Appends every object of `other`, in order.
    pub fn extend(&mut self, other: ResourceSet) -> Result<(), Box<DuplicateId>> {
        for r in other.items {
            self.push(r)?;
        }
        Ok(())
    }

    pub fn replace_at(&mut self, index: usize, res: Resource) {
        self.items[index] = res;
    }

    pub fn remove_at(&mut self, index: usize) -> Resource {
        self.items.remove(index)
    }

    pub fn retain(&mut self, f: impl FnMut(&Resource) -> bool) {
        self.items.retain(f);
    }

    /// Sorts in place; the sort is stable.
    pub fn sort_by(&mut self, f: impl FnMut(&Resource, &Resource) -> std::cmp::Ordering) {
        self.items.sort_by(f);
    }

    /// Ids that two objects share after transforms, reported with both origins.
    pub fn check_unique(&self) -> Result<(), Box<DuplicateId>> {
        let mut seen: std::collections::HashMap<(Gvk, String, String), usize> =
            std::collections::HashMap::with_capacity(self.items.len());
        for (i, r) in self.items.iter().enumerate() {
            let id = r.id();
            if let Some(&j) = seen.get(&id.key()) {
                return Err(Box::new(DuplicateId {
                    id,
                    first: self.items[j].origin.clone(),
                    second: r.origin.clone(),
                }));
            }
            seen.insert(id.key(), i);
        }
        Ok(())
    }
}

impl FromIterator<Resource> for ResourceSet {
    /// Collects without checking ids; call `check_unique` where that matters.
    fn from_iter<T: IntoIterator<Item = Resource>>(iter: T) -> Self {
        ResourceSet {
            items: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for ResourceSet {
    type Item = Resource;
    type IntoIter = std::vec::IntoIter<Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a ResourceSet {
    type Item = &'a Resource;
    type IntoIter = std::slice::Iter<'a, Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, ns: &str, line: usize) -> Resource {
        Resource::new(
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":ns}}),
            Origin::file(Path::new("a.yaml"), line),
        )
    }

    #[test]
    fn push_refuses_duplicates_with_both_origins() {
        let mut set = ResourceSet::new();
        set.push(cm("x", "", 1)).unwrap();
        set.push(cm("x", "other", 5)).unwrap();
        let err = set.push(cm("x", "default", 9)).unwrap_err();
        assert_eq!(err.first.line, 1);
        assert_eq!(err.second.line, 9);
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn org_id_survives_renames() {
        let mut r = cm("x", "", 1);
        r.remember_id();
        r.set_name("pre-x");
        assert_eq!(r.name(), "pre-x");
        assert_eq!(r.org_id().name, "x");
        assert_eq!(r.all_ids().count(), 2);
    }
}
