//! The lifecycle engine: everything kfctl does to an install, each step a function from typed
//! inputs to a typed report. An install is rendered ([`render`]), its cluster named and checked
//! ([`target`]), locked ([`target::lock`]), applied and recorded as a revision ([`apply`],
//! [`history`]), pruned ([`prune`]), upgraded or rolled back ([`upgrade`]) and deleted
//! ([`delete`]).
//!
//! The engine never prints: what a person may want to see while it runs goes out as
//! [`Event`]s to the [`Events`] the command passes in, and what it did comes back as a report
//! the command turns into text or JSON. Only `cluster/` below it talks to the API server.

pub mod apply;
pub mod delete;
pub mod drift;
pub mod history;
pub mod migrate;
pub mod prune;
pub mod render;
pub mod target;
pub mod upgrade;

use crate::cluster;

/// Something that happened while the engine ran.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line a person may want to read (`pinned remote sources in ...`).
    Note(String),
    /// Something that did not stop the run but may matter.
    Warning(String),
    /// Progress of applying the install's objects, wave by wave.
    Apply(cluster::apply::Event<'a>),
    /// The waves of an apply are over; what follows is pruning and recording.
    ApplyDone,
    /// Progress of a removal: pruning after an apply, or a delete.
    Remove {
        event: cluster::prune::Event<'a>,
        removal: Removal,
        dry_run: bool,
    },
    /// An object a removal keeps (a PVC, a CRD, a namespace in use), and why.
    Kept {
        id: &'a crate::resource::ResId,
        reason: String,
        removal: Removal,
    },
}

/// What a removal is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Objects the render no longer has, after an apply.
    Prune,
    /// The whole install.
    Delete,
    /// A release's migration steps, before an upgrade or rollback applies anything.
    Migrate,
}

/// What receives the engine's [`Event`]s (the command's progress view).
pub trait Observer: Sync {
    fn event(&self, event: Event<'_>);
}

/// Reads no event.
struct Ignored;

impl Observer for Ignored {
    fn event(&self, _: Event<'_>) {}
}

/// Where the engine sends its [`Event`]s.
#[derive(Clone, Copy)]
pub struct Events<'a> {
    on_event: &'a dyn Observer,
    /// Whether downloads may draw their own progress bars on stderr.
    pub downloads: bool,
}

impl<'a> Events<'a> {
    pub fn new(on_event: &'a dyn Observer, downloads: bool) -> Self {
        Events {
            on_event,
            downloads,
        }
    }

    /// Events nobody reads (a render made only to compare with).
    pub fn ignored() -> Events<'static> {
        Events {
            on_event: &Ignored,
            downloads: false,
        }
    }

    pub fn send(&self, event: Event<'_>) {
        self.on_event.event(event)
    }

    pub fn note(&self, line: impl Into<String>) {
        self.send(Event::Note(line.into()))
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.send(Event::Warning(message.into()))
    }
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

/// `1 object`, `2 objects`.
pub fn objects(n: usize) -> String {
    if n == 1 {
        "1 object".to_owned()
    } else {
        format!("{n} objects")
    }
}
