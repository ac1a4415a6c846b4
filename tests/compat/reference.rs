//! Reference renders by `kubectl kustomize`, cached on disk.
//!
//! A cache directory is keyed by the kubectl version and a content hash of the whole tree the
//! renders read (every file's path and bytes), so any edit to the tree or another kubectl makes
//! a fresh one. Entries are written by kubectl only: `<dir>.yaml` holds its output, `<dir>.err`
//! its error for a directory it cannot build.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::run;

pub struct Reference {
    tree: PathBuf,
    cache: PathBuf,
}

impl Reference {
    /// The reference for directories under `tree`, cached under
    /// `$KFCTL_CACHE/kustomize-ref/<key>` (`KFCTL_CACHE` defaults to `~/.cache/kfctl-test`).
    pub fn new(tree: &Path) -> Reference {
        let mut hasher = Sha256::new();
        hasher.update(run::kubectl_version().as_bytes());
        hash_tree(tree, tree, &mut hasher);
        let key: String = hasher
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache = cache_root().join("kustomize-ref").join(key);
        std::fs::create_dir_all(&cache)
            .unwrap_or_else(|e| panic!("cannot create `{}`: {e}", cache.display()));
        Reference {
            tree: tree.to_path_buf(),
            cache,
        }
    }

    /// `kubectl kustomize dir`: its output, or its error when it cannot build `dir`.
    pub fn get(&self, dir: &Path) -> Result<String, String> {
        let rel = dir.strip_prefix(&self.tree).unwrap_or(dir);
        let name = match rel.to_string_lossy().replace('/', "__") {
            n if n.is_empty() => "_root".to_owned(),
            n => n,
        };
        let ok = self.cache.join(format!("{name}.yaml"));
        let err = self.cache.join(format!("{name}.err"));
        if let Ok(text) = std::fs::read_to_string(&ok) {
            return Ok(text);
        }
        if let Ok(text) = std::fs::read_to_string(&err) {
            return Err(text);
        }
        let result = run::kubectl(dir);
        let (path, text) = match &result {
            Ok(out) => (ok, out),
            Err(msg) => (err, msg),
        };
        // Written aside and renamed, so a concurrent run never reads half an entry.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .unwrap_or_else(|e| panic!("cannot write `{}`: {e}", path.display()));
        result
    }
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("KFCTL_CACHE") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/kfctl-test"),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    }
}

/// Every file's path (relative to `root`) and bytes, in a fixed order.
fn hash_tree(root: &Path, dir: &Path, hasher: &mut Sha256) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
    entries.sort();
    for path in entries {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
        if path.is_dir() {
            hash_tree(root, &path, hasher);
        } else {
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
            hasher.update(rel.as_bytes());
            hasher.update([0]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
}
