//! Remote archives that try to write outside the cache or to read outside it: chained links,
//! links made through links, hard links through symbolic links, links that a later link turns
//! outward, sub-paths that leave the archive, and metadata bombs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::http::Server;
use crate::support::{MEMORY_LIMIT_KIB, kfctl, kfctl_limited, run};

/// One tar entry: its name, type, link target and content, written raw so that names and
/// targets the tar crate would refuse to write reach the archive as an attacker writes them.
pub struct Entry<'a>(pub &'a str, pub tar::EntryType, pub &'a str, pub &'a [u8]);

pub fn raw_tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut tar = Vec::new();
    for Entry(name, kind, link, content) in entries {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(*kind);
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(content);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A zip of files and symbolic links (`Some(target)`).
fn zip(entries: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, link, content) in entries {
        match link {
            Some(target) => writer.add_symlink(*name, *target, opts).unwrap(),
            None => {
                writer.start_file(*name, opts).unwrap();
                writer.write_all(content.as_bytes()).unwrap();
            }
        }
    }
    writer.finish().unwrap().into_inner()
}

pub const KUSTOMIZATION: &[u8] = b"resources:\n- cm.yaml\n";
pub const CM: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-remote\n";

/// A home with a sentinel file and an app whose kustomization names `resource`.
pub fn home_with_app(resource: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("sentinel.txt"), "untouched").unwrap();
    std::fs::create_dir(home.path().join("app")).unwrap();
    std::fs::write(
        home.path().join("app/kustomization.yaml"),
        format!("resources:\n- {resource}\n"),
    )
    .unwrap();
    home
}

/// Every path under `dir` with its content (links as `-> target`), the cache left out.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path == dir.join("cache") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_owned()
            } else {
                std::fs::read_to_string(&path).unwrap_or_default()
            };
            out.insert(path, what);
        }
    }
    out
}

/// What `<cache>/sources` holds: nothing after a refusal, not even a temporary file.
pub fn cache_sources(home: &Path) -> Vec<String> {
    match std::fs::read_dir(home.join("cache/sources")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Builds the app against `archive` served as `name`, expecting a refusal naming `why`, and
/// checks that nothing outside the cache changed and nothing stayed in it.
fn refused(name: &str, archive: Vec<u8>, subdir: &str, why: &str) {
    let server = Server::start(BTreeMap::from([(name.to_owned(), archive)]), None);
    let home = home_with_app(&format!("{}//{subdir}", server.url(name)));
    let before = snapshot(home.path());
    let app = home.path().join("app");
    run(&mut kfctl(home.path(), &["build", app.to_str().unwrap()])).refused(why);
    assert_eq!(
        snapshot(home.path()),
        before,
        "{name}: files outside the cache changed"
    );
    assert_eq!(cache_sources(home.path()), Vec::<String>::new(), "{name}");
}

// The cache root is `<home>/cache/sources/.unpack-X`: `x/l -> ..` makes `x/l/x/l` the root
// itself, and `up` there, three levels up, is `<home>`.
const UP: Entry<'static> = Entry("x/l/x/l/up", tar::EntryType::Symlink, "../../..", b"");
const LOOP: Entry<'static> = Entry("x/l", tar::EntryType::Symlink, "..", b"");

#[test]
fn archive_chained_symlinks_cannot_write_outside_the_cache() {
    use tar::EntryType::{Link, Regular, Symlink};
    let tar = raw_tar(&[
        Entry("base/kustomization.yaml", Regular, "", KUSTOMIZATION),
        Entry("base/cm.yaml", Regular, "", CM),
        Entry("payload", Regular, "", b"overwritten"),
        LOOP,
        UP,
        Entry("x/l/x/l/up/sentinel.txt", Link, "payload", b""),
        Entry("x/l/x/l/up/planted", Symlink, "payload", b""),
    ]);
    // Files and hard-link copies come first, so `x/l` is a directory by the time the link is
    // made; without them, `up` is refused for passing through `x/l` (as in the zip below).
    refused("chain.tar.gz", gzip(&tar), "base", "entry `x/l`");
    let tar = raw_tar(&[
        Entry("base/kustomization.yaml", Regular, "", KUSTOMIZATION),
        LOOP,
        UP,
        Entry("x/l/x/l/up/planted", Symlink, "../payload", b""),
    ]);
    refused(
        "links.tar.gz",
        gzip(&tar),
        "base",
        "passes through the link `x/l`",
    );
}

#[test]
fn archive_hard_link_through_a_symlink_cannot_copy_a_local_file_into_the_cache() {
    use tar::EntryType::{Link, Regular};
    let tar = raw_tar(&[
        Entry("base/kustomization.yaml", Regular, "", KUSTOMIZATION),
        LOOP,
        UP,
        Entry("base/cm.yaml", Link, "x/l/x/l/up/sentinel.txt", b""),
    ]);
    refused(
        "copy.tar.gz",
        gzip(&tar),
        "base",
        "not a file of the archive",
    );
}

#[test]
fn archive_symlink_turned_outward_by_a_later_link_is_refused() {
    use tar::EntryType::{Regular, Symlink};
    let tar = raw_tar(&[
        Entry("base/kustomization.yaml", Regular, "", KUSTOMIZATION),
        Entry("base/cm.yaml", Regular, "", CM),
        Entry("m", Symlink, "l/..", b""),
        Entry("l", Symlink, ".", b""),
    ]);
    refused("later.tar.gz", gzip(&tar), "base", "out of the archive");
    let zip = zip(&[
        ("base/kustomization.yaml", None, "resources:\n- cm.yaml\n"),
        ("m", Some("l/.."), ""),
        ("l", Some("."), ""),
    ]);
    refused("later.zip", zip, "base", "out of the archive");
}

#[test]
fn zip_chained_symlinks_cannot_write_outside_the_cache() {
    let zip = zip(&[
        ("base/kustomization.yaml", None, "resources:\n- cm.yaml\n"),
        ("x/l", Some(".."), ""),
        ("x/l/x/l/up", Some("../../.."), ""),
        ("x/l/x/l/up/planted", Some("base"), ""),
    ]);
    refused("chain.zip", zip, "base", "passes through the link `x/l`");
}

#[test]
fn archive_links_to_absolute_paths_are_refused() {
    let tar = raw_tar(&[Entry("base", tar::EntryType::Symlink, "/etc", b"")]);
    refused("abs.tar.gz", gzip(&tar), "base", "link to an absolute path");
    let zip = zip(&[("base", Some("/etc"), "")]);
    refused("abs.zip", zip, "base", "link to an absolute path");
}

#[test]
fn archive_sub_path_cannot_leave_the_archive() {
    let home = home_with_app("http://127.0.0.1:9/a.tar.gz//../../../app");
    let app = home.path().join("app");
    run(&mut kfctl(home.path(), &["build", app.to_str().unwrap()]))
        .refused("must stay inside the archive");

    // A cache entry someone else filled (a mirror handed over for an air-gapped install) whose
    // directory is a link out of it.
    let hex = "a".repeat(64);
    let entry = home.path().join(format!("cache/sources/{hex}"));
    std::fs::create_dir_all(&entry).unwrap();
    std::os::unix::fs::symlink("../../..", entry.join("base")).unwrap();
    let home_app = home.path().join("app");
    std::fs::write(
        home_app.join("kustomization.yaml"),
        format!("resources:\n- http://127.0.0.1:9/a.tar.gz//base#sha256={hex}\n"),
    )
    .unwrap();
    run(&mut kfctl(
        home.path(),
        &["build", "--offline", app.to_str().unwrap()],
    ))
    .refused("leads out of archive");
}

#[test]
fn archive_with_a_very_long_entry_name_is_refused_cleanly() {
    let mut builder = tar::Builder::new(Vec::new());
    let long = format!("{}/f", "d".repeat(300));
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    builder.append_data(&mut header, &long, &b"x"[..]).unwrap();
    let tar = builder.into_inner().unwrap();
    refused("long.tar.gz", gzip(&tar), "base", "cannot unpack");
}

/// A gzip stream of `head` then `zeros_mib` MiB of zeros, a few KiB per GiB: one compressed
/// MiB of zeros, sync-flushed, repeated. The trailer is never reached, so it is left wrong.
pub fn gzip_head_then_zeros(head: &[u8], zeros_mib: usize) -> Vec<u8> {
    fn deflate(input: &[u8]) -> Vec<u8> {
        let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
        let mut out = Vec::with_capacity(input.len() / 8 + 4096);
        c.compress_vec(input, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        assert_eq!(c.total_in(), input.len() as u64);
        out
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate(head));
    let zeros = deflate(&vec![0; 1 << 20]);
    for _ in 0..zeros_mib {
        out.extend_from_slice(&zeros);
    }
    out.extend([0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    out
}

#[test]
fn archive_pax_header_bomb_is_refused_before_it_is_read() {
    let mut header = tar::Header::new_ustar();
    header.set_path("pax").unwrap();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(1536 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    let bomb = gzip_head_then_zeros(header.as_bytes(), 1536);
    let server = Server::start(BTreeMap::from([("pax.tar.gz".to_owned(), bomb)]), None);
    let home = home_with_app(&format!("{}//base", server.url("pax.tar.gz")));
    let app = home.path().join("app");
    run(&mut kfctl_limited(
        home.path(),
        MEMORY_LIMIT_KIB,
        &["build", app.to_str().unwrap()],
    ))
    .refused("tar metadata entry larger than");
    assert_eq!(cache_sources(home.path()), Vec::<String>::new());
}
