//! The filesystem the renderer reads: the real one, or an in-memory one for tests.

use std::collections::BTreeMap;
use std::io::{self, Read as _};
use std::path::{Component, Path, PathBuf};

use crate::errors::{Diagnostic, ErrorClass};

/// Largest file a render reads: a kustomization, a resource, a patch, a generator's file. The
/// largest manifest of a Kubeflow release (KServe's CRDs in one file) is about 6 MiB.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Largest configuration file kfctl reads: `kfctl.yaml`, a KfDef, `kfctl.lock`, the catalog, a
/// platform profile, a password file.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// A file past the most kfctl reads from one file.
#[derive(Debug, thiserror::Error)]
#[error("the file is larger than {} MiB, the most kfctl reads from one {what} file", limit >> 20)]
pub struct TooLarge {
    pub limit: u64,
    pub what: &'static str,
}

impl Diagnostic for TooLarge {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

fn too_large(limit: u64) -> io::Error {
    let what = if limit <= MAX_CONFIG_BYTES {
        "configuration"
    } else {
        "input"
    };
    io::Error::new(io::ErrorKind::FileTooLarge, TooLarge { limit, what })
}

/// Reads at most `limit` bytes of `path`, refusing a larger file: a regular file by its size
/// before reading, anything else (`/dev/zero`, a pipe) once `limit` bytes have come.
pub fn read_at_most(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        usize::try_from(meta.len()).unwrap_or(0)
    } else {
        0
    });
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_at_most`] of a UTF-8 text file.
pub fn read_text_at_most(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_at_most(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// Read access to files and directories. Paths are absolute or relative to the process's
/// working directory, and already cleaned by `clean`.
pub trait Fs: Sync {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// [`Fs::read`] refusing a file past `limit` bytes (see [`read_at_most`]).
    fn read_at_most(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        let bytes = self.read(path)?;
        if bytes.len() as u64 > limit {
            return Err(too_large(limit));
        }
        Ok(bytes)
    }
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

/// The machine's filesystem. It reads no file past [`MAX_INPUT_BYTES`].
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_at_most(path, MAX_INPUT_BYTES)
    }
    fn read_at_most(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        read_at_most(path, limit.min(MAX_INPUT_BYTES))
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
    fn read_at_most(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        if self.upper.is_file(path) {
            self.upper.read_at_most(path, limit)
        } else {
            self.lower.read_at_most(path, limit)
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
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_at_most(&path, 5).unwrap(), b"12345");
        let err = read_at_most(&path, 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        // Not a regular file: read until the limit, then refused.
        let err = read_at_most(Path::new("/dev/zero"), MAX_CONFIG_BYTES).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "the file is larger than 4 MiB, the most kfctl reads from one configuration file"
        );
        let mut fs = MemFs::new();
        fs.add("a", "123");
        assert!(fs.read_at_most(Path::new("a"), 2).is_err());
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
