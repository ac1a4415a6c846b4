//! Unpacking tar.gz and zip archives without trusting them: entries with absolute paths or
//! `..`, links that leave the root, and device files are refused, and sizes are bounded.

use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::{Component, Path, PathBuf};

use super::SourceError;

/// Bounds on what one archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 200_000,
            max_file_bytes: 512 << 20,
            max_total_bytes: 4 << 30,
        }
    }
}

/// A link, created after every file so that no file is ever written through one.
enum Link {
    Symlink { at: PathBuf, target: PathBuf },
    Hard { at: PathBuf, target: PathBuf },
}

struct Unpacker<'a> {
    root: &'a Path,
    archive: &'a str,
    limits: Limits,
    entries: usize,
    total: u64,
    links: Vec<Link>,
}

impl Unpacker<'_> {
    fn refuse(&self, entry: &str, why: &str) -> SourceError {
        SourceError::UnsafeArchive {
            url: self.archive.to_owned(),
            entry: entry.to_owned(),
            why: why.to_owned(),
        }
    }

    fn io(&self, source: io::Error) -> SourceError {
        SourceError::Extract {
            url: self.archive.to_owned(),
            source,
        }
    }

    /// The entry's path below the root: relative, no `..`, no root or drive prefix.
    fn safe_path(&mut self, name: &str) -> Result<PathBuf, SourceError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(self.refuse(
                name,
                &format!("more than {} entries", self.limits.max_entries),
            ));
        }
        let mut out = PathBuf::new();
        for c in Path::new(name).components() {
            match c {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                Component::ParentDir => return Err(self.refuse(name, "its path contains `..`")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.refuse(name, "its path is absolute"));
                }
            }
        }
        Ok(out)
    }

    fn write_file(
        &mut self,
        name: &str,
        rel: &Path,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), SourceError> {
        if size > self.limits.max_file_bytes {
            return Err(self.refuse(
                name,
                &format!("it is larger than {} bytes", self.limits.max_file_bytes),
            ));
        }
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| self.io(e))?;
        }
        let mut file = File::create(&path).map_err(|e| self.io(e))?;
        // The header's size may lie; never read more than the bound allows.
        let written = io::copy(&mut content.take(self.limits.max_file_bytes + 1), &mut file)
            .map_err(|e| self.io(e))?;
        if written > self.limits.max_file_bytes {
            return Err(self.refuse(
                name,
                &format!("it is larger than {} bytes", self.limits.max_file_bytes),
            ));
        }
        self.total += written;
        if self.total > self.limits.max_total_bytes {
            return Err(self.refuse(
                name,
                &format!(
                    "the archive unpacks to more than {} bytes",
                    self.limits.max_total_bytes
                ),
            ));
        }
        Ok(())
    }

    /// A symbolic link at `rel` pointing to `target` must land inside the root.
    fn symlink(&mut self, name: &str, rel: PathBuf, target: &Path) -> Result<(), SourceError> {
        if target.has_root() {
            return Err(self.refuse(name, "it is a link to an absolute path"));
        }
        let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
        let parent = rel.parent().unwrap_or(Path::new(""));
        for c in parent.components().chain(target.components()) {
            match c {
                Component::Normal(p) => depth.push(p),
                Component::CurDir => {}
                Component::ParentDir => {
                    if depth.pop().is_none() {
                        return Err(self.refuse(name, "it is a link that leaves the archive"));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.refuse(name, "it is a link to an absolute path"));
                }
            }
        }
        self.links.push(Link::Symlink {
            at: rel,
            target: target.to_path_buf(),
        });
        Ok(())
    }

    fn finish(self) -> Result<(), SourceError> {
        for link in &self.links {
            match link {
                Link::Symlink { at, target } => {
                    let at = self.root.join(at);
                    if let Some(parent) = at.parent() {
                        fs::create_dir_all(parent).map_err(|e| self.io(e))?;
                    }
                    std::os::unix::fs::symlink(target, &at).map_err(|e| self.io(e))?;
                }
                Link::Hard { at, target } => {
                    let at = self.root.join(at);
                    if let Some(parent) = at.parent() {
                        fs::create_dir_all(parent).map_err(|e| self.io(e))?;
                    }
                    // A copy: the cache never shares inodes with anything else.
                    fs::copy(self.root.join(target), &at).map_err(|e| self.io(e))?;
                }
            }
        }
        Ok(())
    }
}

/// Unpacks the archive in `file` (tar.gz or zip, told by its first bytes) into `root`, which
/// exists and is empty. `url` names it in errors.
pub fn unpack(file: &Path, root: &Path, url: &str, limits: Limits) -> Result<(), SourceError> {
    let io_err = |source| SourceError::Extract {
        url: url.to_owned(),
        source,
    };
    let mut f = File::open(file).map_err(io_err)?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(io_err)?;
    f.rewind().map_err(io_err)?;
    let mut u = Unpacker {
        root,
        archive: url,
        limits,
        entries: 0,
        total: 0,
        links: Vec::new(),
    };
    match &magic[..n] {
        [0x1f, 0x8b, ..] => unpack_tar(&mut u, f)?,
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => unpack_zip(&mut u, f)?,
        _ => {
            return Err(SourceError::NotAnArchive {
                url: url.to_owned(),
            });
        }
    }
    u.finish()
}

fn unpack_tar(u: &mut Unpacker<'_>, f: File) -> Result<(), SourceError> {
    use tar::EntryType;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for entry in archive.entries().map_err(|e| u.io(e))? {
        let mut entry = entry.map_err(|e| u.io(e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        match kind {
            // pax headers of git hosts' archives carry the commit id; nothing to unpack.
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(u.refuse(&name, "it is a device or pipe"));
            }
            _ => {}
        }
        let rel = u.safe_path(&name)?;
        match kind {
            EntryType::Directory => {
                fs::create_dir_all(u.root.join(&rel)).map_err(|e| u.io(e))?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let size = entry.header().size().map_err(|e| u.io(e))?;
                u.write_file(&name, &rel, size, &mut entry)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| u.io(e))?
                    .ok_or_else(|| u.refuse(&name, "it is a link with no target"))?
                    .into_owned();
                u.symlink(&name, rel, &target)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| u.io(e))?
                    .ok_or_else(|| u.refuse(&name, "it is a link with no target"))?
                    .into_owned();
                let target_name = target.to_string_lossy().into_owned();
                let target = u
                    .safe_path(&target_name)
                    .map_err(|_| u.refuse(&name, "it is a hard link that leaves the archive"))?;
                u.links.push(Link::Hard { at: rel, target });
            }
            other => {
                return Err(u.refuse(
                    &name,
                    &format!("its type ({other:?}) is not a file, directory or link"),
                ));
            }
        }
    }
    Ok(())
}

fn unpack_zip(u: &mut Unpacker<'_>, f: File) -> Result<(), SourceError> {
    let zip_err = |u: &Unpacker<'_>, e: zip::result::ZipError| {
        u.io(io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    };
    let mut archive = zip::ZipArchive::new(f).map_err(|e| zip_err(u, e))?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| zip_err(u, e))?;
        let name = entry.name().map_err(|e| zip_err(u, e))?.into_owned();
        let rel = u.safe_path(&name)?;
        const S_IFMT: u32 = 0o170000;
        let file_type = entry.unix_mode().map(|m| m & S_IFMT);
        match file_type {
            Some(0o120000) => {
                let mut target = String::new();
                entry
                    .by_ref()
                    .take(4096)
                    .read_to_string(&mut target)
                    .map_err(|e| u.io(e))?;
                u.symlink(&name, rel, Path::new(&target))?;
            }
            Some(0o020000 | 0o060000 | 0o010000 | 0o140000) => {
                return Err(u.refuse(&name, "it is a device, pipe or socket"));
            }
            _ if entry.is_dir() => {
                fs::create_dir_all(u.root.join(&rel)).map_err(|e| u.io(e))?;
            }
            _ => {
                let size = entry.size();
                u.write_file(&name, &rel, size, &mut entry)?;
            }
        }
    }
    Ok(())
}

/// The directory an archive's content starts in: its single top directory when it has exactly
/// one entry and that is a directory (`repo-1.2.3/` in a git host's tag archive), else `root`.
pub fn content_root(root: &Path) -> PathBuf {
    let entries: Vec<_> = match fs::read_dir(root) {
        Ok(rd) => rd.filter_map(Result::ok).collect(),
        Err(_) => return root.to_path_buf(),
    };
    match entries.as_slice() {
        [one] if one.file_type().is_ok_and(|t| t.is_dir()) => one.path(),
        _ => root.to_path_buf(),
    }
}
