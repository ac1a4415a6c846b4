//! Who may import whom, checked on the sources: only `cluster/` talks to the API server (kube,
//! k8s-openapi); the pure stages (render, resource, plan, profile, upgrade) never start an async
//! runtime; no command module imports another; the lifecycle engine never prints and `cluster/`
//! never reaches up to it. A failure names the file and the rule it breaks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

const FORBIDDEN: &[&str] = &["kube", "tokio", "reqwest", "k8s_openapi"];

/// The pure stages: none imports tokio, kube or k8s-openapi.
const PURE: &[&str] = &["render", "resource", "plan", "profile", "upgrade"];

fn cli_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cli")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
    {
        let path = entry.expect("cannot list a source directory").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every source file of the crate, as (path relative to `cli/`, text).
fn sources() -> Vec<(String, String)> {
    let root = cli_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {files:?} under cli/");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
            let rel = path
                .strip_prefix(&root)
                .expect("under cli/")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, text)
        })
        .collect()
}

/// `module`'s files: `cli/<module>.rs` and everything under `cli/<module>/`.
fn in_module(rel: &str, module: &str) -> bool {
    rel == format!("{module}.rs") || rel.starts_with(&format!("{module}/"))
}

/// The text with comment lines blanked (kept as empty lines, so line numbers hold): prose may
/// name a crate or a command without depending on it.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// `file:line: crate` for each use of one of `crates` as a path (`kube::`, `use tokio;`,
/// `#[tokio::test]`) in code.
fn crate_uses(rel: &str, text: &str, crates: &[&str]) -> Vec<String> {
    let alternatives = crates.join("|");
    let path = Regex::new(&format!(
        r"\b(?:({alternatives})::|use\s+({alternatives})\b|extern\s+crate\s+({alternatives})\b)"
    ))
    .expect("valid regex");
    let code = code(text);
    path.captures_iter(&code)
        .map(|c| {
            let name = c.iter().skip(1).flatten().next().expect("a crate").as_str();
            let at = c.get(0).expect("a match").start();
            format!("cli/{rel}:{}: `{name}`", line_of(&code, at))
        })
        .collect()
}

/// Byte ranges of the inline `mod name { ... }` blocks of `code` (test modules), in which
/// `super::` means the file's own module rather than `commands`.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let open = Regex::new(r"\bmod\s+\w+\s*\{").expect("valid regex");
    open.find_iter(code)
        .map(|m| {
            let mut depth = 0usize;
            let mut end = code.len();
            for (i, c) in code[m.end() - 1..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = m.end() - 1 + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            (m.start(), end)
        })
        .collect()
}

/// The first segment of each item of a `{...}` use group starting at `code[open]`, at its top
/// level only: `{Outcome, apply::{self, Install}}` gives `Outcome`, `apply`.
fn group_heads(code: &str, open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut item = String::new();
    for c in code[open..].chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    heads.push(std::mem::take(&mut item));
                    break;
                }
            }
            ',' if depth == 1 => {
                heads.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        if depth == 1 {
            item.push(c);
        }
    }
    heads
        .iter()
        .filter_map(|h| {
            let head = h.trim().split("::").next()?.split_whitespace().next()?;
            (!head.is_empty()).then(|| head.to_owned())
        })
        .collect()
}

/// The sibling modules of `commands/` that a file in it names, through `super::` (at the
/// file's own level) or `crate::commands::`, in paths and in use groups.
fn command_imports(code: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let modules = inline_modules(code);
    let path = Regex::new(r"\b((?:super::)+|crate::commands::)(\{|\w+)").expect("valid regex");
    let mut found = BTreeSet::new();
    for c in path.captures_iter(code) {
        let prefix = c.get(1).expect("a prefix");
        if prefix.as_str().starts_with("super") {
            let depth = modules
                .iter()
                .filter(|(start, end)| (*start..*end).contains(&prefix.start()))
                .count();
            if prefix.as_str().matches("super::").count() != depth + 1 {
                continue;
            }
        }
        let next = c.get(2).expect("a segment");
        let heads = if next.as_str() == "{" {
            group_heads(code, next.start())
        } else {
            vec![next.as_str().to_owned()]
        };
        found.extend(heads.into_iter().filter(|h| siblings.contains(h)));
    }
    found
}

#[test]
fn render_and_resource_never_mention_cluster_crates() {
    // A whole word: `kubectl` and `kubernetes` in prose are fine, `kube::` or `kube-rs` are not.
    let word = Regex::new(&format!(r"\b({})\b", FORBIDDEN.join("|"))).expect("valid regex");
    let root = cli_root();
    let mut files = Vec::new();
    for module in ["render", "resource"] {
        rust_files(&root.join(module), &mut files);
    }
    assert!(
        files.len() > 5,
        "found only {files:?} under cli/render and cli/resource"
    );
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            if let Some(m) = word.find(line) {
                offences.push(format!("{}:{}: `{}`", file.display(), n + 1, m.as_str()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "cli/render and cli/resource must not use kube, tokio, reqwest or k8s_openapi:\n{}",
        offences.join("\n")
    );
}

#[test]
fn only_cluster_imports_kube() {
    let offences: Vec<String> = sources()
        .iter()
        .filter(|(rel, _)| !in_module(rel, "cluster"))
        .flat_map(|(rel, text)| crate_uses(rel, text, &["kube", "k8s_openapi"]))
        .collect();
    assert!(
        offences.is_empty(),
        "only cli/cluster/ may import kube or k8s_openapi; these files do:\n{}\n\n\
         hint: put what talks to the API server in cli/cluster/ and call it from there",
        offences.join("\n")
    );
}

#[test]
fn pure_stages_never_import_tokio_or_kube() {
    let sources = sources();
    for module in PURE {
        assert!(
            sources.iter().any(|(rel, _)| in_module(rel, module)),
            "no source of `{module}` found under cli/; update PURE"
        );
    }
    let offences: Vec<String> = sources
        .iter()
        .filter(|(rel, _)| PURE.iter().any(|m| in_module(rel, m)))
        .flat_map(|(rel, text)| crate_uses(rel, text, &["tokio", "kube", "k8s_openapi"]))
        .collect();
    assert!(
        offences.is_empty(),
        "{} are pure: no tokio, kube or k8s_openapi; these files import them:\n{}",
        PURE.join(", "),
        offences.join("\n")
    );
}

#[test]
fn no_command_imports_another() {
    let sources = sources();
    let siblings: BTreeSet<String> = sources
        .iter()
        .filter_map(|(rel, _)| rel.strip_prefix("commands/")?.strip_suffix(".rs"))
        .filter(|stem| !stem.contains('/') && *stem != "mod")
        .map(str::to_owned)
        .collect();
    assert!(
        siblings.contains("apply") && siblings.contains("build"),
        "no command modules found: {siblings:?}"
    );
    let found: BTreeSet<(String, String)> = sources
        .iter()
        .filter(|(rel, _)| rel.starts_with("commands/") && rel != "commands/mod.rs")
        .flat_map(|(rel, text)| {
            command_imports(&code(text), &siblings)
                .into_iter()
                .map(move |m| (rel.clone(), m))
        })
        .collect();
    let new: Vec<String> = found
        .iter()
        .map(|(f, m)| format!("cli/{f} imports the command module `{m}`"))
        .collect();
    assert!(
        new.is_empty(),
        "no command module may import another:\n{}\n\n\
         hint: move what both need out of cli/commands/ (into cli/lifecycle/, cli/report/, \
         cli/output/, cluster/ or a pure stage) and import it from there",
        new.join("\n")
    );
}

/// `file:line: crate::MODULE` for each use of one of `modules` of this crate in code.
fn module_uses(rel: &str, text: &str, modules: &[&str]) -> Vec<String> {
    let code = code(text);
    let pattern = format!(r"\bcrate::({})\b", modules.join("|"));
    let re = Regex::new(&pattern).expect("a valid pattern");
    re.captures_iter(&code)
        .filter_map(|c| c.get(0))
        .map(|m| format!("cli/{rel}:{}: {}", line_of(&code, m.start()), m.as_str()))
        .collect()
}

#[test]
fn the_engine_never_prints_and_nothing_below_it_reaches_up() {
    let sources = sources();
    // The engine reports through events and return values; `cluster/` below it knows nothing
    // of installs' commands, reports or output.
    let rules: [(&str, &[&str]); 2] = [
        ("lifecycle", &["commands", "report", "output", "wizard"]),
        (
            "cluster",
            &["commands", "report", "output", "wizard", "lifecycle"],
        ),
    ];
    let mut broken = Vec::new();
    for (layer, forbidden) in rules {
        let found: Vec<String> = sources
            .iter()
            .filter(|(rel, _)| in_module(rel, layer))
            .flat_map(|(rel, text)| module_uses(rel, text, forbidden))
            .collect();
        assert!(
            sources.iter().any(|(rel, _)| in_module(rel, layer)),
            "no sources found under cli/{layer}/"
        );
        if !found.is_empty() {
            broken.push(format!(
                "cli/{layer}/ may not use {}:\n{}",
                forbidden.join(", "),
                found.join("\n")
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "{}\n\nhint: the engine sends `lifecycle::Event`s and returns reports; commands print them",
        broken.join("\n\n")
    );
}

#[test]
fn the_module_scanner_finds_uses_in_code_only() {
    let text = "use crate::output::Printer;\n// crate::commands in a comment\nfn f() { crate::report::x(); }\n";
    let found = module_uses("lifecycle/x.rs", text, &["output", "commands", "report"]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].ends_with(":1: crate::output"), "{found:?}");
}

#[test]
fn the_scanner_finds_command_imports_in_every_form() {
    let siblings: BTreeSet<String> = ["apply", "delete", "history", "upgrade", "build"]
        .map(str::to_owned)
        .into();
    let code = r#"
use super::Outcome;
use super::apply::{check_name, seconds};
use super::{
    history::{self, failure_line},
    Outcome as O,
};
use crate::commands::upgrade;
fn f() { super::delete::objects(1); }
#[cfg(test)]
mod tests {
    use super::*;
    use super::super::build;
}
"#;
    let found: Vec<String> = command_imports(code, &siblings).into_iter().collect();
    assert_eq!(found, ["apply", "build", "delete", "history", "upgrade"]);
}

/// The most lines a file of `cli/` may have, and a function outside tests.
const MAX_FILE_LINES: usize = 1000;
const MAX_FUNCTION_LINES: usize = 120;

/// `(name, first line, lines)` of each function of `code` outside `#[cfg(test)]` modules, as
/// rustfmt lays them out: the closing brace at the indent of the `fn`.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let head = Regex::new(r"^(\s*)(?:pub(?:\([\w:]+\))?\s+)?(?:const\s+)?(?:async\s+)?fn\s+(\w+)")
        .expect("valid regex");
    let lines: Vec<&str> = code.lines().collect();
    let tests_from = lines
        .iter()
        .position(|l| l.trim() == "#[cfg(test)]")
        .unwrap_or(lines.len());
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate().take(tests_from) {
        let Some(c) = head.captures(line) else {
            continue;
        };
        let indent = &c[1];
        // The signature ends at the body's `{`, or at `;` for a declaration without one.
        let Some(sig_end) = lines[at..tests_from]
            .iter()
            .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'))
        else {
            continue;
        };
        if lines[at + sig_end].trim_end().ends_with(';') {
            continue;
        }
        let close = format!("{indent}}}");
        let Some(len) = lines[at..tests_from]
            .iter()
            .position(|l| l.trim_end() == close || l.trim_end() == format!("{indent}{{}}"))
        else {
            continue;
        };
        found.push((c[2].to_owned(), at + 1, len + 1));
    }
    found
}

#[test]
fn no_file_or_function_outgrows_one_head() {
    let mut too_long = Vec::new();
    for (rel, text) in sources() {
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            too_long.push(format!(
                "cli/{rel}: {lines} lines (at most {MAX_FILE_LINES})"
            ));
        }
        for (name, at, len) in functions(&code(&text)) {
            if len > MAX_FUNCTION_LINES {
                too_long.push(format!(
                    "cli/{rel}:{at}: fn {name} has {len} lines (at most {MAX_FUNCTION_LINES})"
                ));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "{}\n\nhint: split it by concern (see docs/ARCHITECTURE.md) before adding to it",
        too_long.join("\n")
    );
}

#[test]
fn the_function_scanner_measures_bodies() {
    let code = "pub async fn a() {\n    x();\n}\n\ntrait U {\n    fn d(&self);\n}\nimpl T {\n    fn b(\n        y: u8,\n    ) {\n        z();\n    }\n}\n#[cfg(test)]\nmod tests {\n    fn c() {}\n}\n";
    let found = functions(code);
    assert_eq!(
        found,
        vec![("a".to_owned(), 1, 3), ("b".to_owned(), 9, 5)],
        "{found:?}"
    );
}
