//! What a check found, object by object.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::compare::FieldDrift;
use crate::cluster::inventory::Parent;
use crate::resource::ResId;

/// What an apply of the render would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Change,
    /// Recorded or labelled as a member, but not in the render.
    Prune,
    Unchanged,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "created",
            Action::Change => "changed",
            Action::Prune => "pruned",
            Action::Unchanged => "unchanged",
        })
    }
}

/// How an object differs from what kfctl last applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Drift {
    Modified,
    Missing,
    ForeignOwned,
    Stray,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Drift::Modified => "modified",
            Drift::Missing => "missing",
            Drift::ForeignOwned => "foreign-owned",
            Drift::Stray => "stray",
        })
    }
}

/// One object of the install, as checked.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    /// Its id, with the namespace it lives in.
    pub id: ResId,
    /// What an apply of the render would do; `None` when no render was given.
    pub action: Option<Action>,
    /// How it drifted since kfctl applied it; `None` when it did not.
    pub drift: Option<Drift>,
    pub fields: Vec<FieldDrift>,
    /// A unified diff of live against desired, Secret values masked, for changed objects.
    pub diff: Option<String>,
    /// Drifted, but the fields are not known without the render.
    pub fields_unknown: bool,
    /// Its id in the render, when the render has it.
    pub rendered: Option<ResId>,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct DriftReport {
    pub parent: Option<Parent>,
    pub objects: Vec<ObjectReport>,
    /// Every live member, by id.
    pub live: BTreeMap<ResId, Value>,
    /// Requests sent to the API server.
    pub requests: usize,
    /// Kinds listed.
    pub kinds: usize,
    /// Objects sent as a dry run.
    pub dry_runs: usize,
}

impl DriftReport {
    /// How many objects `action` would act on.
    pub fn count(&self, action: Action) -> usize {
        self.objects
            .iter()
            .filter(|o| o.action == Some(action))
            .count()
    }

    pub fn drifted(&self) -> impl Iterator<Item = &ObjectReport> {
        self.objects.iter().filter(|o| o.drift.is_some())
    }

    /// Whether an apply would change something, or something drifted.
    pub fn has_changes(&self) -> bool {
        self.objects
            .iter()
            .any(|o| o.drift.is_some() || o.action.is_some_and(|a| a != Action::Unchanged))
    }
}
