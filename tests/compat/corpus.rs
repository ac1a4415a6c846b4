//! The Kubeflow manifests corpus: every directory holding a kustomization that `kubectl kustomize`
//! builds offline must render the same with `kfctl build` (98% of them at least, and `example/`,
//! the whole platform, exactly).
//!
//! The corpus is `../shared/corpus/kubeflow-manifests` beside the repository, or `KFCTL_CORPUS`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::diff::first_difference;
use crate::kubeflow_corpus;
use crate::reference::Reference;
use crate::run;

const REQUIRED_RATE: f64 = 0.98;

enum Status {
    Equal,
    /// kfctl rendered something else: the first difference.
    Differs(String),
    /// kfctl failed where kubectl did not: its error.
    KfctlFailed(String),
    /// kubectl cannot build it offline (a component, a base needing a parent): not compared.
    Excluded(String),
}

struct Report {
    /// Directory relative to the corpus, and what became of it, in path order.
    dirs: Vec<(PathBuf, Status)>,
}

impl Report {
    fn compared(&self) -> usize {
        self.dirs
            .iter()
            .filter(|(_, s)| !matches!(s, Status::Excluded(_)))
            .count()
    }

    fn equal(&self) -> usize {
        self.dirs
            .iter()
            .filter(|(_, s)| matches!(s, Status::Equal))
            .count()
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        let (compared, equal) = (self.compared(), self.equal());
        let _ = writeln!(
            out,
            "{equal} of {compared} directories render as `kubectl kustomize` does ({:.1}%), {} excluded",
            100.0 * equal as f64 / compared.max(1) as f64,
            self.dirs.len() - compared,
        );
        for (title, pick) in [
            ("kfctl fails", 0),
            ("renders differ", 1),
            ("excluded: kubectl cannot build them", 2),
        ] {
            let rows: Vec<String> = self
                .dirs
                .iter()
                .filter_map(|(dir, s)| {
                    let text = match (s, pick) {
                        (Status::KfctlFailed(t), 0)
                        | (Status::Differs(t), 1)
                        | (Status::Excluded(t), 2) => t,
                        _ => return None,
                    };
                    Some(format!("  {}: {}", dir.display(), one_line(text)))
                })
                .collect();
            if !rows.is_empty() {
                let _ = writeln!(out, "\n{title} ({}):\n{}", rows.len(), rows.join("\n"));
            }
        }
        out
    }

    /// Why kfctl fails, most frequent first: the innermost cause without its file and line.
    fn failure_causes(&self) -> Vec<(usize, String)> {
        let place = regex::Regex::new(r"^\S+:\d+(:\d+)?: ").expect("valid regex");
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for (_, status) in &self.dirs {
            if let Status::KfctlFailed(text) = status {
                *counts
                    .entry(place.replace(&one_line(text), "").into_owned())
                    .or_default() += 1;
            }
        }
        let mut causes: Vec<(usize, String)> = counts.into_iter().map(|(c, n)| (n, c)).collect();
        causes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        causes
    }
}

/// The line of an error that says most: kfctl's innermost cause, or kubectl's error without its
/// log prefix and warnings.
fn one_line(text: &str) -> String {
    if let Some(cause) = text
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("caused by: "))
    {
        return cause.to_owned();
    }
    let log_prefix = regex::Regex::new(r"^[EWI]\d{4} [\d:.]+\s+\d+ \S+\] ").expect("valid regex");
    let joined = text
        .lines()
        .filter(|l| !l.starts_with("# Warning:"))
        .map(|l| log_prefix.replace(l.trim(), "").into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() > 300 {
        format!("{}…", joined.chars().take(300).collect::<String>())
    } else {
        joined
    }
}

/// Directories holding a kustomization file, sorted, hidden ones (vendored bases) included.
fn kustomization_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|f| dir.join(f).is_file())
    {
        found.push(dir.to_path_buf());
    }
    for path in entries {
        if path.is_dir() {
            kustomization_dirs(&path, found);
        }
    }
}

/// Renders the corpus once for every test of this module; both cores run kubectl and kfctl.
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let root = kubeflow_corpus::dir("kubeflow-manifests");
        let reference = Reference::new(&root);
        let mut dirs = Vec::new();
        kustomization_dirs(&root, &mut dirs);
        let dirs = dirs
            .par_iter()
            .map(|dir| {
                let rel = dir.strip_prefix(&root).unwrap_or(dir).to_path_buf();
                let status = match reference.get(dir) {
                    Err(e) => Status::Excluded(e),
                    Ok(text) => {
                        let want = run::parse_stream(&text).unwrap_or_else(|e| {
                            panic!(
                                "kubectl's output for `{}` does not parse: {e}",
                                rel.display()
                            )
                        });
                        match run::kfctl(dir) {
                            Err(e) => Status::KfctlFailed(e),
                            Ok(got) => match first_difference(&want, &got) {
                                None => Status::Equal,
                                Some(d) => Status::Differs(d),
                            },
                        }
                    }
                };
                (rel, status)
            })
            .collect();
        Report { dirs }
    })
}

#[test]
fn corpus_renders_as_kubectl_in_98_percent_of_directories() {
    let report = report();
    println!("{}", report.summary());
    let causes = report.failure_causes();
    if !causes.is_empty() {
        println!("kfctl failures by cause:");
        for (n, cause) in causes {
            println!("{n:>5}  {cause}");
        }
        println!();
    }
    let (compared, equal) = (report.compared(), report.equal());
    assert!(compared > 0, "kubectl built no directory of the corpus");
    assert!(
        equal as f64 >= REQUIRED_RATE * compared as f64,
        "only {equal} of {compared} corpus directories render as `kubectl kustomize` does; \
         at least {:.0}% must (the list is above)",
        REQUIRED_RATE * 100.0
    );
}

#[test]
fn example_renders_as_kubectl() {
    let report = report();
    let (_, status) = report
        .dirs
        .iter()
        .find(|(dir, _)| dir == Path::new("example"))
        .unwrap_or_else(|| panic!("the corpus has no `example/` kustomization"));
    match status {
        Status::Equal => {}
        Status::Differs(d) => panic!("`example/` renders differently from kubectl: {d}"),
        Status::KfctlFailed(e) => panic!("kfctl cannot build `example/`:\n{e}"),
        Status::Excluded(e) => panic!("kubectl cannot build `example/` offline:\n{e}"),
    }
}
