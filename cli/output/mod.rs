//! The printer: data to stdout, everything a person reads to stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, Write};

mod confirm;
mod files;
mod progress;

pub use confirm::{Question, confirm, confirm_apply};
pub use files::{refuse_overwrite, write_atomically};
pub use progress::Progress;

/// Where commands write. Data goes to stdout (what a pipe wants); warnings, progress and
/// summaries go to stderr and are silenced by `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub color: bool,
    pub quiet: bool,
}

impl Printer {
    pub fn new(color: bool, quiet: bool) -> Self {
        Printer { color, quiet }
    }

    /// Writes data to stdout. A closed pipe surfaces as `io::ErrorKind::BrokenPipe`.
    pub fn data(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes `value` to stdout as indented JSON ending in a newline: an `-o json` report.
    pub fn json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.data(&text)?;
        Ok(())
    }

    /// A line for a person on stderr, hidden by `--quiet`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// `warning: ...` on stderr, hidden by `--quiet`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("{}: {message}", self.paint("warning", "1;33"));
        }
    }

    /// Wraps `text` in an ANSI style when color is on.
    pub fn paint(&self, text: &str, sgr: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Prints a final error: the chain of causes, then the hints. Never silenced.
    pub fn error(&self, chain: &[String], hints: &[String]) {
        let mut err = io::stderr().lock();
        let mut causes = chain.iter();
        if let Some(first) = causes.next() {
            let _ = writeln!(err, "{}: {first}", self.paint("error", "1;31"));
        }
        for cause in causes {
            let _ = writeln!(err, "  {}: {cause}", self.paint("caused by", "1"));
        }
        if !hints.is_empty() {
            let _ = writeln!(err);
        }
        for hint in hints {
            let _ = writeln!(err, "{}: {hint}", self.paint("hint", "1;36"));
        }
    }
}
