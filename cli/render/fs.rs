//! The filesystem the renderer reads: the real one, or an in-memory one for tests.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Read access to files and directories. Paths are absolute or relative to the process's
/// working directory, and already cleaned by `clean`.
pub trait Fs: Sync {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;

    /// Where `path` really is: absolute, every symbolic link followed. kustomize's load
    /// restrictor compares this with the kustomization's own real directory. A loop of links is
    /// an error of kind [`io::ErrorKind::Other`] that [`is_link_loop`] recognises. Filesystems
    /// without links answer the cleaned path.
    fn real_path(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(clean(path))
    }

    /// The local copy of a remote kustomize resource (`github.com/org/repo/dir?ref=TAG`,
    /// `https://host/file.yaml`): a directory or a file. `None` when this filesystem has no
    /// resolver, which the render reports as an unsupported remote resource. The render itself
    /// never fetches; a resolver outside it (`crate::source`) does.
    fn remote(&self, _url: &str) -> Option<Result<PathBuf, RemoteFailure>> {
        None
    }
}

/// Why a remote resource has no local copy, as the resolver explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFailure {
    /// The reference as errors may show it: without the credentials a URL was written with.
    pub shown: String,
    /// The cause chain, already formatted.
    pub message: String,
    pub hint: Option<String>,
}

/// The machine's filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn real_path(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// Whether `e` says that following links went round in a loop (`ELOOP`).
pub fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Files held in memory; directories exist where files are below them.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(clean(path.as_ref()), content.into());
        self
    }
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(&clean(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let dir = clean(path);
        self.files.keys().any(|p| p != &dir && p.starts_with(&dir))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&clean(path))
    }
}

/// Files held in memory laid over another filesystem: a path in `upper` hides the same path
/// below, and directories of both are visible. Profiles render in-memory kustomizations that
/// name real directories this way.
pub struct LayeredFs<'a> {
    pub upper: MemFs,
    pub lower: &'a dyn Fs,
}

impl Fs for LayeredFs<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if self.upper.is_file(path) {
            self.upper.read(path)
        } else {
            self.lower.read(path)
        }
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.upper.is_dir(path) || self.lower.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.upper.is_file(path) || self.lower.is_file(path)
    }
    /// A path below has its real place; one only in memory is where its real parent is.
    fn real_path(&self, path: &Path) -> io::Result<PathBuf> {
        let path = clean(path);
        let in_memory_only =
            self.upper.is_file(&path) || (self.upper.is_dir(&path) && !self.lower.is_dir(&path));
        match (in_memory_only, path.parent(), path.file_name()) {
            (true, Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
                Ok(self.real_path(parent)?.join(name))
            }
            (true, ..) => Ok(path),
            (false, ..) => self.lower.real_path(&path),
        }
    }
    fn remote(&self, url: &str) -> Option<Result<PathBuf, RemoteFailure>> {
        self.lower.remote(url)
    }
}

/// Removes `.` and resolves `..` lexically, as kustomize's loader does before its root checks.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_resolves_dots() {
        assert_eq!(clean(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("../a/..")), PathBuf::from(".."));
        assert_eq!(clean(Path::new("/a/../..")), PathBuf::from("/"));
        assert_eq!(clean(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn memfs_dirs() {
        let mut fs = MemFs::new();
        fs.add("base/kustomization.yaml", "x");
        assert!(fs.is_dir(Path::new("base")));
        assert!(fs.is_file(Path::new("./base/kustomization.yaml")));
        assert!(!fs.is_dir(Path::new("base/kustomization.yaml")));
    }

    #[test]
    fn layered_fs_reads_the_upper_layer_first() {
        let mut lower = MemFs::new();
        lower.add("a/x.yaml", "lower").add("b/y.yaml", "lower");
        let mut upper = MemFs::new();
        upper.add("a/x.yaml", "upper");
        let fs = LayeredFs {
            upper,
            lower: &lower,
        };
        assert_eq!(fs.read(Path::new("a/x.yaml")).unwrap(), b"upper");
        assert_eq!(fs.read(Path::new("b/y.yaml")).unwrap(), b"lower");
        assert!(fs.is_dir(Path::new("b")) && fs.is_file(Path::new("b/y.yaml")));
    }
}
