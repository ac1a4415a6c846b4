//! The render engine and the resource model stay pure: no cluster client, async runtime or HTTP.

use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &["kube", "tokio", "reqwest", "k8s_openapi"];

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

#[test]
fn render_and_resource_never_mention_cluster_crates() {
    // A whole word: `kubectl` and `kubernetes` in prose are fine, `kube::` or `kube-rs` are not.
    let word = regex::Regex::new(&format!(r"\b({})\b", FORBIDDEN.join("|"))).expect("valid regex");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("cli");
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
