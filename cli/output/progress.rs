//! What a command shows while the lifecycle engine runs, from its events: on a terminal, a
//! progress bar per wave of an apply (objects done of the wave's total, elapsed time, what it
//! waits on) and a spinner while objects become healthy; otherwise plain log lines: one per
//! wave and one per object changed or failed (unchanged ones only with `-v`), with the list of
//! objects not ready printed again only when it changes. Notes and warnings of the engine go
//! above the bar.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Printer;
use crate::cluster::apply::{Action, Event, NotReady, human};
use crate::cluster::prune;
use crate::lifecycle::{self, Removal};

pub struct Progress {
    printer: Printer,
    dry_run: bool,
    /// Bars are drawn: stderr is a terminal and not silenced.
    interactive: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    bar: Option<ProgressBar>,
    /// The objects last reported as not ready, to say it again only when it changes.
    pending: BTreeSet<String>,
}

impl State {
    /// Whether the objects not ready differ from those last reported; remembers them.
    fn pending_changed(&mut self, pending: &[NotReady]) -> bool {
        let now: BTreeSet<String> = pending.iter().map(|n| n.id.to_string()).collect();
        let changed = now != self.pending;
        self.pending = now;
        changed
    }
}

const TICK: Duration = Duration::from_millis(120);

impl Progress {
    /// Shows progress on stderr, with bars when `terminal`.
    pub fn new(printer: Printer, dry_run: bool, terminal: bool) -> Progress {
        Progress {
            printer,
            dry_run,
            interactive: terminal && !printer.quiet,
            state: Mutex::new(State::default()),
        }
    }

    /// The engine's events, shown here; downloads draw bars unless `--quiet`.
    pub fn events(&self) -> lifecycle::Events<'_> {
        lifecycle::Events::new(self, !self.printer.quiet)
    }

    /// Progress for a command's run: bars when stderr is a terminal.
    pub fn on_stderr(printer: Printer, dry_run: bool) -> Progress {
        use std::io::IsTerminal;
        Progress::new(printer, dry_run, std::io::stderr().is_terminal())
    }

    /// A line for the log: above the bar on a terminal, on its own otherwise.
    fn line(&self, state: &State, text: &str) {
        match &state.bar {
            Some(bar) if self.interactive => bar.println(text),
            _ => self.printer.info(text),
        }
    }

    fn bar(&self, state: &mut State, bar: ProgressBar) {
        if let Some(old) = state.bar.take() {
            old.finish_and_clear();
        }
        bar.enable_steady_tick(TICK);
        state.bar = Some(bar);
    }

    /// Shows one event of the lifecycle engine.
    fn show(&self, event: lifecycle::Event<'_>) {
        match event {
            lifecycle::Event::Apply(event) => self.apply_event(event),
            lifecycle::Event::ApplyDone => self.finish(),
            lifecycle::Event::Note(line) => {
                let state = self.state();
                self.line(&state, &line);
            }
            lifecycle::Event::Warning(message) => {
                let state = self.state();
                match &state.bar {
                    Some(bar) if self.interactive => {
                        bar.suspend(|| self.printer.warn(&message))
                    }
                    _ => self.printer.warn(&message),
                }
            }
            lifecycle::Event::Remove {
                event,
                removal,
                dry_run,
            } => self.remove_event(event, removal, dry_run),
            lifecycle::Event::Kept {
                id,
                reason,
                removal,
            } => self.printer.info(&match removal {
                Removal::Prune => format!(
                    "  kept {id} ({reason}); it is no longer part of the install, `--purge` deletes it"
                ),
                Removal::Delete | Removal::Migrate => format!("  kept {id} ({reason})"),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A removal's progress: pruning after an apply, or a delete.
    fn remove_event(&self, event: prune::Event<'_>, removal: Removal, dry_run: bool) {
        let objects = lifecycle::objects;
        let line = match (event, removal) {
            (prune::Event::WaveStarted { .. }, Removal::Prune | Removal::Migrate) => return,
            (prune::Event::WaveStarted { wave, objects: n }, Removal::Delete) => {
                format!("deleting {wave} ({})", objects(n))
            }
            (prune::Event::Removed(r), Removal::Prune) if dry_run => {
                format!("  pruned (dry run) {}", r.id)
            }
            (prune::Event::Removed(r), Removal::Prune) => format!("  pruned {}", r.id),
            (prune::Event::Removed(r), Removal::Delete) if dry_run => {
                format!("  would delete {}", r.id)
            }
            (prune::Event::Removed(r), Removal::Delete) => format!("  deleted {}", r.id),
            (prune::Event::Removed(r), Removal::Migrate) if dry_run => {
                format!("  would delete {} (migration)", r.id)
            }
            (prune::Event::Removed(r), Removal::Migrate) => {
                format!("  deleted {} (migration)", r.id)
            }
            (prune::Event::Failed(f), Removal::Prune) => {
                format!("  not pruned {}: {}", f.id, f.error)
            }
            (prune::Event::Failed(f), Removal::Delete | Removal::Migrate) => {
                format!("  not deleted {}: {}", f.id, f.error)
            }
            (prune::Event::Waiting { pending, .. }, _) => {
                format!("  waiting for {} to be gone", objects(pending))
            }
        };
        self.printer.info(&line);
    }

    /// A wave begins: its header, and on a terminal a bar of its objects.
    fn wave_started(&self, state: &mut State, prefix: &str, objects: usize) {
        let header = format!("{prefix} ({objects} objects)");
        if self.interactive {
            let style = ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:25}] {pos}/{len} {elapsed} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = ProgressBar::new(objects as u64)
                .with_style(style)
                .with_prefix(prefix.to_owned());
            self.bar(state, bar);
            self.line(state, &header);
        } else {
            self.printer.info(&header);
        }
    }

    /// An apply's progress.
    fn apply_event(&self, event: Event<'_>) {
        let mut state = self.state();
        match event {
            Event::WaveStarted {
                wave,
                objects,
                number,
                of,
            } => self.wave_started(&mut state, &format!("wave {number}/{of}: {wave}"), objects),
            Event::Applied(a) => {
                if let Some(bar) = &state.bar {
                    bar.inc(1);
                }
                let note = if a.unchecked {
                    " (not checked: its namespace or CRD does not exist yet)"
                } else {
                    ""
                };
                let verb = if self.dry_run {
                    format!("{} (dry run)", a.action)
                } else {
                    a.action.to_string()
                };
                let line = format!("  {verb} {}{note}", a.id);
                if a.action == Action::Unchanged {
                    tracing::info!("{}", line.trim_start());
                } else {
                    self.line(&state, &line);
                }
            }
            Event::Failed(f) => {
                if let Some(bar) = &state.bar {
                    bar.inc(1);
                }
                self.line(&state, &format!("  failed {}: {}", f.id, f.error));
            }
            Event::Waiting { what, .. } => {
                let text = format!("waiting for {what}");
                match &state.bar {
                    Some(bar) if self.interactive => bar.set_message(text),
                    _ => self.printer.info(&format!("  {text}")),
                }
            }
            Event::WaitingForWebhook {
                webhook,
                backend,
                objects,
            } => {
                let text = format!(
                    "waiting for webhook `{webhook}` ({backend}) to admit {objects} object{}",
                    if objects == 1 { "" } else { "s" }
                );
                if let Some(bar) = &state.bar {
                    bar.set_message(text.clone());
                }
                self.line(&state, &format!("  {text}"));
            }
            Event::WebhookAdmits { webhook, waited } => {
                if let Some(bar) = &state.bar {
                    bar.set_message(String::new());
                }
                self.line(
                    &state,
                    &format!("  webhook `{webhook}` admits, after {}", human(waited)),
                );
            }
            Event::Recreating { id, fields } => {
                let why = if fields.is_empty() {
                    "an immutable field changed".to_owned()
                } else {
                    format!("immutable {} changed", fields.join(", "))
                };
                self.line(&state, &format!("  recreating {id}: {why}"));
            }
            Event::WaveDone { wave, elapsed } => {
                if let Some(bar) = state.bar.take() {
                    bar.finish_and_clear();
                }
                tracing::info!("wave `{wave}` done in {}", human(elapsed));
            }
            Event::NotHealthyYet { pending } => {
                let Some(first) = pending.first() else {
                    return;
                };
                let text = format!(
                    "{} not ready yet, e.g. {}: {}",
                    pending.len(),
                    first.id,
                    first.health
                );
                if self.interactive {
                    if state.bar.is_none() {
                        let style = ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner());
                        self.bar(&mut state, ProgressBar::new_spinner().with_style(style));
                    }
                    if let Some(bar) = &state.bar {
                        bar.set_message(text);
                    }
                    return;
                }
                if state.pending_changed(pending) {
                    self.printer.info(&format!("  {text}"));
                }
            }
        }
    }

    /// Clears what is drawn, before the summary.
    pub fn finish(&self) {
        let mut state = self.state();
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl lifecycle::Observer for Progress {
    fn event(&self, event: lifecycle::Event<'_>) {
        self.show(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::Health;
    use crate::plan::Wave;
    use crate::resource::{Gvk, ResId};

    fn not_ready(name: &str, why: &str) -> NotReady {
        NotReady {
            id: ResId::new(Gvk::new("apps", "v1", "Deployment"), name, "ns"),
            wave: Wave::Workloads,
            health: Health::InProgress(why.to_owned()),
        }
    }

    #[test]
    fn the_pending_line_repeats_only_when_the_objects_change() {
        let mut state = State::default();
        assert!(state.pending_changed(&[not_ready("a", "0/1"), not_ready("b", "0/1")]));
        assert!(!state.pending_changed(&[not_ready("a", "0/1"), not_ready("b", "0/1")]));
        assert!(
            !state.pending_changed(&[not_ready("a", "1/2"), not_ready("b", "0/1")]),
            "a new reason for the same objects is not a change"
        );
        assert!(state.pending_changed(&[not_ready("b", "0/1")]));
    }
}
