//! Remote sources: archives and files named by URL, fetched once, verified against a sha256
//! (written into the reference or pinned in `kfctl.lock`), unpacked into a content-addressed
//! cache (`<cache>/sources/<sha256>/`), and handed to the render as local directories through
//! `SourceFs`. No kube here; the render never sees the network.

pub mod archive;
pub mod fetch;
pub mod lock;
pub mod reference;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::errors::{Diagnostic, ErrorClass};
use crate::render::{Fs, RealFs, RemoteFailure};
pub use fetch::FetchOptions;
pub use lock::{LOCK_FILE, LockFile};
use reference::{Kind, Reference};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{reference}` cannot be fetched: {why}")]
    Reference { reference: String, why: String },

    #[error("`{url}` is not in the source cache (`{cache}`), and `--offline` forbids fetching it")]
    Offline { url: String, cache: PathBuf },

    #[error("sha256 mismatch for `{url}`: expected sha256:{expected}, got sha256:{actual}")]
    Mismatch {
        url: String,
        expected: String,
        actual: String,
        /// Where the expected digest came from.
        pinned_in: String,
    },

    #[error("cannot download `{url}`: {message}")]
    Download { url: String, message: String },

    #[error("cannot download `{url}`: the server answered {status}")]
    Status { url: String, status: String },

    #[error("`{url}` is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },

    #[error("`{url}` is neither a gzip-compressed tar nor a zip archive")]
    NotAnArchive { url: String },

    #[error("archive `{url}` is refused: entry `{entry}`: {why}")]
    UnsafeArchive {
        url: String,
        entry: String,
        why: String,
    },

    #[error("cannot unpack `{url}`")]
    Extract {
        url: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{dir}` is not in archive `{url}`")]
    NoSubdir { url: String, dir: String },

    #[error("`{dir}` leads out of archive `{url}` through a link")]
    SubdirEscapes { url: String, dir: String },

    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` is not a valid lock file: {message}")]
    InvalidLock { path: PathBuf, message: String },

    #[error("`{path}` is not a valid lock file: {source}")]
    LockSyntax {
        path: PathBuf,
        #[source]
        source: serde_saphyr::Error,
    },
}

impl Diagnostic for SourceError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            SourceError::Offline { .. } => "run `kfctl sources pull` where the network is reachable, or `kfctl sources mirror DIR` there and point `KFCTL_CACHE_DIR` at DIR here".to_owned(),
            SourceError::Mismatch { pinned_in, .. } => format!(
                "the content changed since it was pinned in {pinned_in}; if that is expected, run `kfctl sources update`"
            ),
            SourceError::Reference { .. } => "write `https://HOST/ARCHIVE.tar.gz//DIR`, `https://HOST/FILE.yaml`, or `github.com/ORG/REPO/DIR?ref=TAG`".to_owned(),
            SourceError::Download { .. } => "check the URL and the network; `HTTPS_PROXY` and `NO_PROXY` are honoured".to_owned(),
            SourceError::InvalidLock { .. } | SourceError::LockSyntax { .. } => "delete it to pin every source again on the next fetch".to_owned(),
            _ => return None,
        })
    }
}

/// Where sources are cached and whether the network may be used.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// kfctl's cache directory; sources live in `<cache>/sources/`.
    pub cache_dir: PathBuf,
    pub offline: bool,
    /// Fetch again, ignoring (and then rewriting) the digests in the lock.
    pub update: bool,
    /// The base of GitHub archive URLs.
    pub github_url: String,
    pub fetch: FetchOptions,
    /// Bounds on what an archive may unpack to.
    pub limits: archive::Limits,
}

/// The cache directory: `KFCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/kfctl`, else `~/.cache/kfctl`.
pub fn default_cache_dir(env: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = env("KFCTL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = env("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Path::new(&dir).join("kfctl");
    }
    let home = env("HOME").unwrap_or_else(|| ".".to_owned());
    Path::new(&home).join(".cache/kfctl")
}

/// One source as it was resolved, for `kfctl sources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: String,
    pub sha256: String,
    pub fetched: bool,
}

/// The resolver: references in, cache directories out, the lock kept up to date.
pub struct Sources {
    opts: SourceOptions,
    state: Mutex<State>,
}

struct State {
    lock: LockFile,
    resolved: BTreeMap<String, Resolved>,
}

impl Sources {
    /// `lock_path` is where `kfctl.lock` is read and written.
    pub fn new(opts: SourceOptions, lock_path: &Path) -> Result<Sources, SourceError> {
        let lock = LockFile::load(lock_path)?;
        Ok(Sources {
            opts,
            state: Mutex::new(State {
                lock,
                resolved: BTreeMap::new(),
            }),
        })
    }

    pub fn sources_dir(&self) -> PathBuf {
        self.opts.cache_dir.join("sources")
    }

    /// Every source resolved so far.
    pub fn resolved(&self) -> Vec<Resolved> {
        self.state
            .lock()
            .map(|s| s.resolved.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes `kfctl.lock` if a source was pinned; returns its path when it did.
    pub fn save_lock(&self) -> Result<Option<PathBuf>, SourceError> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(None);
        };
        let path = state.lock.path.clone();
        Ok(state.lock.save()?.then_some(path))
    }

    pub fn lock_text(&self) -> String {
        self.state
            .lock()
            .map(|s| s.lock.to_text())
            .unwrap_or_default()
    }

    /// The local path of `entry`: a directory inside an unpacked archive, or a file.
    pub fn resolve(&self, entry: &str) -> Result<PathBuf, SourceError> {
        let r = reference::parse(entry, &self.opts.github_url)?;
        // One fetch at a time: the render may ask from several threads, and two references
        // often share one archive.
        let mut state = self.state.lock().map_err(|_| SourceError::Download {
            url: r.url.clone(),
            message: "another fetch failed while holding the source lock".to_owned(),
        })?;
        let (expected, pinned_in) = match (&r.pin, state.lock.get(&r.url)) {
            (Some(pin), _) => (Some(pin.clone()), format!("`{}`", r.original)),
            (None, Some(hex)) if !self.opts.update => (
                Some(hex.to_owned()),
                format!("`{}`", state.lock.path.display()),
            ),
            _ => (None, String::new()),
        };
        let (hex, fetched) = match expected.as_deref().filter(|h| self.entry(h).is_dir()) {
            Some(hex) => (hex.to_owned(), false),
            None => {
                if self.opts.offline {
                    return Err(SourceError::Offline {
                        url: r.url.clone(),
                        cache: self.sources_dir(),
                    });
                }
                (self.fetch(&r, expected.as_deref(), &pinned_in)?, true)
            }
        };
        if r.pin.is_none() {
            state.lock.set(&r.url, &hex);
        }
        state.resolved.insert(
            r.url.clone(),
            Resolved {
                url: r.url.clone(),
                sha256: hex.clone(),
                fetched,
            },
        );
        self.local_path(&r, &hex)
    }

    fn entry(&self, hex: &str) -> PathBuf {
        self.sources_dir().join(hex)
    }

    fn local_path(&self, r: &Reference, hex: &str) -> Result<PathBuf, SourceError> {
        let entry = self.entry(hex);
        match &r.kind {
            Kind::File { name } => {
                let named = entry.join(name);
                if named.is_file() {
                    return Ok(named);
                }
                // The same bytes cached under another name.
                std::fs::read_dir(&entry)
                    .ok()
                    .and_then(|mut rd| rd.find_map(|e| e.ok().map(|e| e.path())))
                    .filter(|p| p.is_file())
                    .ok_or_else(|| SourceError::NoSubdir {
                        url: r.url.clone(),
                        dir: name.clone(),
                    })
            }
            Kind::Archive { subdir } => {
                // The directory as the kernel would reach it, links inside the archive
                // followed: it must still be inside the archive.
                let content = archive::content_root(&entry);
                let top = content.strip_prefix(&entry).unwrap_or(Path::new(""));
                let dir = match archive::resolve_below(&entry, &top.join(subdir)) {
                    Ok(rel) => entry.join(rel),
                    Err(_) => {
                        return Err(SourceError::SubdirEscapes {
                            url: r.url.clone(),
                            dir: subdir.clone(),
                        });
                    }
                };
                if dir.exists() {
                    Ok(dir)
                } else {
                    Err(SourceError::NoSubdir {
                        url: r.url.clone(),
                        dir: subdir.clone(),
                    })
                }
            }
        }
    }

    /// Downloads, verifies, and installs a cache entry; returns its digest.
    fn fetch(
        &self,
        r: &Reference,
        expected: Option<&str>,
        pinned_in: &str,
    ) -> Result<String, SourceError> {
        let dir = self.sources_dir();
        std::fs::create_dir_all(&dir).map_err(|source| SourceError::Write {
            path: dir.clone(),
            source,
        })?;
        let tmp = |source| SourceError::Write {
            path: dir.clone(),
            source,
        };
        remove_stale(&dir);
        // Temporary names start with `.` so no digest lookup can ever see them.
        let download = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&dir)
            .map_err(tmp)?;
        // Held while this run lives: a download nobody holds was left by a run that was killed
        // (Ctrl-C included), and the next fetch removes it whatever its age.
        download.as_file().try_lock().map_err(|e| tmp(e.into()))?;
        tracing::info!(url = %r.url, "fetching source");
        let hex = fetch::download(&r.fetch_url, &r.url, download.path(), &self.opts.fetch)?;
        if let Some(expected) = expected
            && expected != hex
        {
            return Err(SourceError::Mismatch {
                url: r.url.clone(),
                expected: expected.to_owned(),
                actual: hex,
                pinned_in: pinned_in.to_owned(),
            });
        }
        let final_dir = self.entry(&hex);
        if final_dir.is_dir() {
            return Ok(hex);
        }
        let staging = tempfile::Builder::new()
            .prefix(".unpack-")
            .tempdir_in(&dir)
            .map_err(tmp)?;
        match &r.kind {
            Kind::Archive { .. } => {
                archive::unpack(download.path(), staging.path(), &r.url, self.opts.limits)?
            }
            Kind::File { name } => {
                std::fs::copy(download.path(), staging.path().join(name)).map_err(tmp)?;
            }
        }
        // The rename is the commit: a crash before it leaves only a `.unpack-` directory.
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &final_dir) {
            let _ = std::fs::remove_dir_all(&staged);
            if !final_dir.is_dir() {
                return Err(SourceError::Write {
                    path: final_dir,
                    source: e,
                });
            }
        }
        Ok(hex)
    }

    /// Copies every resolved source and the lock into `dir` in the cache's layout, so that
    /// `KFCTL_CACHE_DIR=DIR kfctl build --offline` finds them on a machine without network.
    pub fn mirror(&self, dir: &Path) -> Result<usize, SourceError> {
        let write = |path: &Path, source| SourceError::Write {
            path: path.to_path_buf(),
            source,
        };
        let target = dir.join("sources");
        std::fs::create_dir_all(&target).map_err(|e| write(&target, e))?;
        let resolved = self.resolved();
        for r in &resolved {
            let to = target.join(&r.sha256);
            if to.is_dir() {
                continue;
            }
            let staging = tempfile::Builder::new()
                .prefix(".copy-")
                .tempdir_in(&target)
                .map_err(|e| write(&target, e))?;
            copy_tree(&self.entry(&r.sha256), staging.path()).map_err(|e| write(&to, e))?;
            let staged = staging.keep();
            std::fs::rename(&staged, &to).map_err(|e| write(&to, e))?;
        }
        let lock = dir.join(LOCK_FILE);
        std::fs::write(&lock, self.lock_text()).map_err(|e| write(&lock, e))?;
        Ok(resolved.len())
    }
}

/// Staging directories older than this were left by a run that was killed.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether what is at `path` was left by a run that was killed: a download no live run holds
/// locked, or a staging directory older than [`STALE_AFTER`].
fn is_stale(entry: &std::fs::DirEntry) -> bool {
    if entry.file_type().is_ok_and(|t| t.is_file()) {
        return std::fs::File::open(entry.path()).is_ok_and(|f| f.try_lock().is_ok());
    }
    entry
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_AFTER))
}

/// Removes what killed runs left in `dir`: `.download-*` files and `.unpack-*` directories.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".download-") || name.starts_with(".unpack-")) {
            continue;
        }
        if is_stale(&entry) {
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing what an interrupted fetch left");
            // `remove_dir_all` removes links, never what they point to.
            let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// The machine's filesystem, with remote resources resolved through `Sources`.
pub struct SourceFs<'a> {
    pub sources: &'a Sources,
}

impl Fs for SourceFs<'_> {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        RealFs.read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        RealFs.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        RealFs.is_file(path)
    }
    fn real_path(&self, path: &Path) -> std::io::Result<PathBuf> {
        RealFs.real_path(path)
    }
    fn remote(&self, url: &str) -> Option<Result<PathBuf, RemoteFailure>> {
        Some(self.sources.resolve(url).map_err(|e| {
            let mut message = e.to_string();
            let mut cur = std::error::Error::source(&e);
            while let Some(c) = cur {
                message.push_str(": ");
                message.push_str(&c.to_string());
                cur = c.source();
            }
            RemoteFailure {
                shown: reference::redact(url),
                message,
                hint: e.hint(),
            }
        }))
    }
}
