//! Unpacking tar.gz and zip archives without trusting them: entries with absolute paths or
//! `..`, links that leave the root, and device files are refused, and sizes are bounded.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::{Component, Path, PathBuf};

use super::SourceError;

/// Bounds on what one archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

/// The default bound on what one archive unpacks to; Kubeflow's manifests take about 100 MiB.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 1 << 30;
const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;
/// A pax header or GNU long name is read into memory whole by the tar reader; real ones are a
/// few hundred bytes.
const MAX_METADATA_BYTES: u64 = 1 << 20;
/// Symbolic links followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: usize = 40;

impl Default for Limits {
    fn default() -> Self {
        Limits::with_total(DEFAULT_MAX_TOTAL_BYTES)
    }
}

impl Limits {
    /// An archive may unpack to `total` bytes, and no file to more than 256 MiB or `total`.
    pub fn with_total(total: u64) -> Self {
        Limits {
            max_entries: 200_000,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES.min(total),
            max_total_bytes: total,
        }
    }
}

/// Why a path cannot be followed below a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// A `..`, written or reached through a link, goes above the root.
    Leaves,
    /// A link on the way points to an absolute path.
    Absolute,
    /// More than [`MAX_LINK_HOPS`] links on the way.
    Loop,
}

/// Follows `rel` below `root` as the kernel would, but on our terms: symbolic links met on the
/// way are followed (at most [`MAX_LINK_HOPS`] of them), `..` pops a component, and the walk
/// fails when it would leave `root` or meets a link to an absolute path. Components that do
/// not exist are taken as written. Returns the resolved path, relative to `root`.
pub fn resolve_below(root: &Path, rel: &Path) -> Result<PathBuf, Escape> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, rel)?;
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            if !resolved.pop() {
                return Err(Escape::Leaves);
            }
            continue;
        }
        let here = root.join(&resolved).join(&c);
        match fs::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(Escape::Loop);
                }
                let target = fs::read_link(&here).map_err(|_| Escape::Loop)?;
                push_components(&mut pending, &target)?;
            }
            _ => resolved.push(&c),
        }
    }
    Ok(resolved)
}

/// Pushes `path`'s components onto a stack to be walked, its first component on top.
fn push_components(stack: &mut Vec<OsString>, path: &Path) -> Result<(), Escape> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_os_string()),
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(Escape::Absolute),
        }
    }
    stack.extend(parts.into_iter().rev());
    Ok(())
}

/// A link, created after every file so that no file is ever written through one.
struct Link {
    /// The entry's name in the archive, for errors.
    name: String,
    at: PathBuf,
    target: PathBuf,
}

struct Unpacker<'a> {
    root: &'a Path,
    archive: &'a str,
    limits: Limits,
    entries: usize,
    total: u64,
    symlinks: Vec<Link>,
    hard_links: Vec<Link>,
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

    fn count(&mut self, name: &str) -> Result<(), SourceError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(self.refuse(
                name,
                &format!("more than {} entries", self.limits.max_entries),
            ));
        }
        Ok(())
    }

    /// The entry's path below the root: relative, no `..`, no root or drive prefix.
    fn safe_path(&self, name: &str) -> Result<PathBuf, SourceError> {
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
        if out.as_os_str().is_empty() {
            return Err(self.refuse(name, "its path is empty"));
        }
        Ok(out)
    }

    /// Creates the directories of `rel` below the root, one at a time, refusing to pass
    /// through a link: nothing is ever created where a link points.
    fn make_dirs(&self, name: &str, rel: &Path) -> Result<(), SourceError> {
        let mut here = self.root.to_path_buf();
        let mut walked = PathBuf::new();
        for c in rel.components() {
            here.push(c);
            walked.push(c);
            match fs::symlink_metadata(&here) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(self.refuse(
                        name,
                        &format!("its path passes through the link `{}`", walked.display()),
                    ));
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(self.refuse(
                        name,
                        &format!("its path passes through the file `{}`", walked.display()),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&here).map_err(|e| self.io(e))?;
                }
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(())
    }

    fn make_parent(&self, name: &str, rel: &Path) -> Result<(), SourceError> {
        self.make_dirs(name, rel.parent().unwrap_or(Path::new("")))
    }

    /// Opens `rel` for writing, replacing a file an earlier entry wrote there, never a link.
    fn create(&self, name: &str, rel: &Path) -> Result<File, SourceError> {
        self.make_parent(name, rel)?;
        let path = self.root.join(rel);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(self.refuse(name, "it would be written through a link"));
        }
        File::create(&path).map_err(|e| self.io(e))
    }

    fn add_total(&mut self, name: &str, bytes: u64) -> Result<(), SourceError> {
        self.total += bytes;
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

    fn write_file(
        &mut self,
        name: &str,
        rel: &Path,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), SourceError> {
        let too_large = |u: &Self| {
            u.refuse(
                name,
                &format!("it is larger than {} bytes", u.limits.max_file_bytes),
            )
        };
        if size > self.limits.max_file_bytes {
            return Err(too_large(self));
        }
        let mut file = self.create(name, rel)?;
        // The header's size may lie; never read more than the bounds allow.
        let room = self
            .limits
            .max_file_bytes
            .min(self.limits.max_total_bytes - self.total);
        let written = io::copy(&mut content.take(room + 1), &mut file).map_err(|e| self.io(e))?;
        if written > self.limits.max_file_bytes {
            return Err(too_large(self));
        }
        self.add_total(name, written)
    }

    /// A symbolic link at `rel` pointing to `target`, created once every file is written. A
    /// target that leaves the root as written is refused here; where it leads through other
    /// links is checked once they all exist.
    fn symlink(&mut self, name: &str, rel: PathBuf, target: &Path) -> Result<(), SourceError> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        match resolve_lexically(&parent.join(target)) {
            Err(Escape::Absolute) => Err(self.refuse(name, "it is a link to an absolute path")),
            Err(_) => Err(self.refuse(name, "it is a link that leaves the archive")),
            Ok(_) => {
                self.symlinks.push(Link {
                    name: name.to_owned(),
                    at: rel,
                    target: target.to_path_buf(),
                });
                Ok(())
            }
        }
    }

    /// A hard link at `rel` to the entry `target`, unpacked as a copy once every file is
    /// written.
    fn hard_link(&mut self, name: &str, rel: PathBuf, target: &str) -> Result<(), SourceError> {
        let target = self
            .safe_path(target)
            .map_err(|_| self.refuse(name, "it is a hard link that leaves the archive"))?;
        self.hard_links.push(Link {
            name: name.to_owned(),
            at: rel,
            target,
        });
        Ok(())
    }

    fn finish(mut self) -> Result<(), SourceError> {
        // Copies first, while no symbolic link exists: a hard link's target is then a regular
        // file of the archive or nothing.
        for link in std::mem::take(&mut self.hard_links) {
            let from = self.root.join(&link.target);
            let is_file = self.is_plain(&link.target)
                && fs::symlink_metadata(&from).is_ok_and(|m| m.file_type().is_file());
            if !is_file {
                return Err(self.refuse(
                    &link.name,
                    &format!(
                        "it is a hard link to `{}`, which is not a file of the archive",
                        link.target.display()
                    ),
                ));
            }
            let size = fs::symlink_metadata(&from).map_err(|e| self.io(e))?.len();
            // A copy, so the cache never shares inodes with anything else; it counts, or one
            // large file linked many times would fill the disk.
            self.add_total(&link.name, size)?;
            let mut src = File::open(&from).map_err(|e| self.io(e))?;
            let mut dst = self.create(&link.name, &link.at)?;
            io::copy(&mut src.by_ref().take(size), &mut dst).map_err(|e| self.io(e))?;
        }
        for link in &self.symlinks {
            self.make_parent(&link.name, &link.at)?;
            if fs::symlink_metadata(self.root.join(&link.at)).is_ok() {
                return Err(self.refuse(
                    &link.name,
                    "it is a link where the archive already has another entry",
                ));
            }
            std::os::unix::fs::symlink(&link.target, self.root.join(&link.at))
                .map_err(|e| self.io(e))?;
        }
        // A later link can change where an earlier one leads (`m -> l/..`, then `l -> .`):
        // every link is resolved again once all exist.
        for link in &self.symlinks {
            let why = match resolve_below(self.root, &link.at) {
                Ok(_) => continue,
                Err(Escape::Leaves) => {
                    "it is a link that leads, through other links, out of the archive"
                }
                Err(Escape::Absolute) => {
                    "it is a link that leads, through other links, to an absolute path"
                }
                Err(Escape::Loop) => "it is a link in a loop of links",
            };
            return Err(self.refuse(&link.name, why));
        }
        Ok(())
    }

    /// Whether every directory on the way to `rel` is a directory, not a link.
    fn is_plain(&self, rel: &Path) -> bool {
        let mut here = self.root.to_path_buf();
        rel.parent().unwrap_or(Path::new("")).components().all(|c| {
            here.push(c);
            fs::symlink_metadata(&here).is_ok_and(|m| m.is_dir())
        })
    }
}

/// `rel` with `.` and `..` applied as written, without looking at the filesystem.
fn resolve_lexically(rel: &Path) -> Result<PathBuf, Escape> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(Escape::Leaves);
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(Escape::Absolute),
        }
    }
    Ok(out)
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
        symlinks: Vec::new(),
        hard_links: Vec::new(),
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

/// The decompressed tar stream, cut off where no archive within the limits could still be
/// going: file bytes plus a generous allowance for headers.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the tar stream is longer than {} bytes, more than the limits allow",
                    self.limit
                ),
            ));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn tar_stream(
    f: &File,
    limits: Limits,
) -> io::Result<tar::Archive<Bounded<flate2::read::GzDecoder<File>>>> {
    let mut f = f.try_clone()?;
    f.rewind()?;
    let limit = limits
        .max_total_bytes
        .saturating_mul(2)
        .saturating_add(limits.max_entries as u64 * 2048);
    Ok(tar::Archive::new(Bounded {
        inner: flate2::read::GzDecoder::new(f),
        left: limit,
        limit,
    }))
}

fn unpack_tar(u: &mut Unpacker<'_>, f: File) -> Result<(), SourceError> {
    use tar::EntryType;
    // The tar reader holds a pax header or a GNU long name in memory whole, whatever size its
    // header claims: a first pass over the raw entries refuses large ones before it reads any.
    for entry in tar_stream(&f, u.limits)
        .map_err(|e| u.io(e))?
        .entries()
        .map_err(|e| u.io(e))?
        .raw(true)
    {
        // A broken stream is reported by the second pass, which stops at the same place.
        let Ok(entry) = entry else { break };
        let header = entry.header();
        let metadata = matches!(
            header.entry_type(),
            EntryType::XHeader
                | EntryType::XGlobalHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        );
        if metadata && header.size().map_err(|e| u.io(e))? > MAX_METADATA_BYTES {
            let name = String::from_utf8_lossy(&header.path_bytes()).into_owned();
            return Err(u.refuse(
                &name,
                &format!("it is a tar metadata entry larger than {MAX_METADATA_BYTES} bytes"),
            ));
        }
    }
    let mut archive = tar_stream(&f, u.limits).map_err(|e| u.io(e))?;
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
        u.count(&name)?;
        if name.contains('\0') {
            return Err(u.refuse(&name, "its name contains a NUL byte"));
        }
        let rel = u.safe_path(&name)?;
        match kind {
            EntryType::Directory => u.make_dirs(&name, &rel)?,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let size = entry.header().size().map_err(|e| u.io(e))?;
                u.write_file(&name, &rel, size, &mut entry)?;
            }
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| u.io(e))?
                    .ok_or_else(|| u.refuse(&name, "it is a link with no target"))?
                    .into_owned();
                if target.as_os_str().as_encoded_bytes().contains(&0) {
                    return Err(u.refuse(&name, "its link target contains a NUL byte"));
                }
                if kind == EntryType::Symlink {
                    u.symlink(&name, rel, &target)?;
                } else {
                    u.hard_link(&name, rel, &target.to_string_lossy())?;
                }
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
        u.count(&name)?;
        if name.contains('\0') {
            return Err(u.refuse(&name, "its name contains a NUL byte"));
        }
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
                if target.contains('\0') {
                    return Err(u.refuse(&name, "its link target contains a NUL byte"));
                }
                u.symlink(&name, rel, Path::new(&target))?;
            }
            Some(0o020000 | 0o060000 | 0o010000 | 0o140000) => {
                return Err(u.refuse(&name, "it is a device, pipe or socket"));
            }
            _ if entry.is_dir() => u.make_dirs(&name, &rel)?,
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn resolving_follows_links_and_stays_below_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        symlink("b", root.join("a/l")).unwrap();
        symlink("..", root.join("a/up")).unwrap();
        symlink(".", root.join("here")).unwrap();
        symlink("here/..", root.join("out")).unwrap();
        symlink("/etc", root.join("abs")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        assert_eq!(resolve_below(root, Path::new("a/l/c")), Ok("a/b/c".into()));
        assert_eq!(resolve_below(root, Path::new("a/up/a/l")), Ok("a/b".into()));
        assert_eq!(
            resolve_below(root, Path::new("here/here/a")),
            Ok("a".into())
        );
        assert_eq!(
            resolve_below(root, Path::new("missing/../a")),
            Ok("a".into())
        );
        assert_eq!(resolve_below(root, Path::new("out")), Err(Escape::Leaves));
        assert_eq!(
            resolve_below(root, Path::new("a/up/..")),
            Err(Escape::Leaves)
        );
        assert_eq!(
            resolve_below(root, Path::new("abs/passwd")),
            Err(Escape::Absolute)
        );
        assert_eq!(resolve_below(root, Path::new("/a")), Err(Escape::Absolute));
        assert_eq!(resolve_below(root, Path::new("loop1")), Err(Escape::Loop));
    }

    fn tar_gz(entries: &[(&str, tar::EntryType, &str)]) -> tempfile::NamedTempFile {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            if kind.is_file() {
                header.set_size(content.len() as u64);
                builder
                    .append_data(&mut header, name, content.as_bytes())
                    .unwrap();
            } else {
                header.set_size(0);
                builder.append_link(&mut header, name, content).unwrap();
            }
        }
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), bytes).unwrap();
        file
    }

    fn unpack_err(entries: &[(&str, tar::EntryType, &str)], limits: Limits) -> String {
        let archive = tar_gz(entries);
        let root = tempfile::tempdir().unwrap();
        unpack(archive.path(), root.path(), "u", limits)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn links_cannot_be_created_or_followed_through_links() {
        use tar::EntryType::{Link, Regular, Symlink};
        let d = Limits::default();
        let e = unpack_err(&[("x/l", Symlink, ".."), ("x/l/f", Regular, "a")], d);
        assert!(e.contains("already has another entry"), "{e}");
        let e = unpack_err(&[("x/l", Symlink, ".."), ("x/l/x/up", Symlink, "..")], d);
        assert!(e.contains("passes through the link `x/l`"), "{e}");
        let e = unpack_err(&[("l", Symlink, "."), ("m", Symlink, "l/..")], d);
        assert!(e.contains("out of the archive"), "{e}");
        let e = unpack_err(&[("l", Symlink, "f"), ("h", Link, "l")], d);
        assert!(e.contains("not a file of the archive"), "{e}");
        let e = unpack_err(&[("a", Symlink, "b"), ("b", Symlink, "a")], d);
        assert!(e.contains("loop"), "{e}");
    }

    #[test]
    fn sizes_and_counts_are_bounded_hard_link_copies_included() {
        use tar::EntryType::{Link, Regular};
        let limits = Limits {
            max_entries: 2,
            ..Limits::with_total(10)
        };
        let e = unpack_err(
            &[("a", Regular, ""), ("b", Regular, ""), ("c", Regular, "")],
            limits,
        );
        assert!(e.contains("more than 2 entries"), "{e}");
        let e = unpack_err(&[("a", Regular, "123456"), ("b", Link, "a")], limits);
        assert!(e.contains("unpacks to more than 10 bytes"), "{e}");
        let e = unpack_err(&[("a", Regular, "12345678901")], limits);
        assert!(e.contains("larger than 10 bytes"), "{e}");
    }
}
