//! Remote sources against a loopback HTTP server started by each test: fetching, verifying,
//! caching, refusing unsafe archives, resuming dropped downloads, and `--offline`.

#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use sha2::Digest;

mod example;
#[path = "../support/http.rs"]
mod http;
#[path = "../support/kfctl.rs"]
mod kfctl_bin;
#[path = "../support/kubeflow_corpus.rs"]
mod kubeflow_corpus;

use http::Server;

/// A tar.gz from (path, content) pairs, under one top directory as git hosts write them.
fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("repo-1.0/{path}"), content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A tar.gz with one raw entry whose name (and link target) the tar crate would not allow.
fn raw_tar_gz(name: &str, kind: tar::EntryType, link: &str, content: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

const BASE_KUSTOMIZATION: &str = "resources:\n- cm.yaml\n";
const BASE_CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-remote\ndata:\n  a: b\n";

fn base_archive() -> Vec<u8> {
    tar_gz(&[
        ("base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("base/cm.yaml", BASE_CM),
    ])
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A kustomization naming `resource`, in a fresh directory.
fn app(resource: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!("resources:\n- {resource}\n"),
    )
    .unwrap();
    dir
}

/// `kfctl`, hermetic, with `cache` as its cache; the loopback server reached without a proxy.
fn kfctl(cache: &Path) -> Command {
    let mut cmd = kfctl_bin::command();
    cmd.env("KFCTL_CACHE_DIR", cache)
        .env("NO_PROXY", "127.0.0.1");
    Command::from_std(cmd)
}

fn cache_entries(cache: &Path) -> Vec<String> {
    match std::fs::read_dir(cache.join("sources")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_remote_archive_is_fetched_verified_cached_and_reused() {
    let archive = base_archive();
    let digest = sha256(&archive);
    let server = Server::start(BTreeMap::from([("base.tar.gz".to_owned(), archive)]), None);
    let app = app(&format!("{}//base", server.url("base.tar.gz")));
    let cache = tempfile::tempdir().unwrap();

    let out = kfctl(cache.path())
        .args(["build"])
        .arg(app.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("name: from-remote"), "{stdout}");
    assert_eq!(server.requests(), ["GET /base.tar.gz"]);
    assert_eq!(cache_entries(cache.path()), vec![digest.clone()]);
    let lock = std::fs::read_to_string(app.path().join("kfctl.lock")).unwrap();
    assert!(lock.contains(&format!("sha256:{digest}")), "{lock}");

    let again = kfctl(cache.path())
        .args(["build"])
        .arg(app.path())
        .assert()
        .success();
    assert_eq!(String::from_utf8_lossy(&again.get_output().stdout), stdout);
    assert_eq!(
        server.requests().len(),
        1,
        "the second build must not fetch"
    );

    // Offline with the entry cached works too.
    kfctl(cache.path())
        .args(["build", "--offline"])
        .arg(app.path())
        .assert()
        .success();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_wrong_sha256_is_refused_and_nothing_is_cached() {
    let archive = base_archive();
    let actual = sha256(&archive);
    let server = Server::start(BTreeMap::from([("base.tar.gz".to_owned(), archive)]), None);
    let url = server.url("base.tar.gz");
    let app = app(&format!("{url}//base"));
    let wrong = "0".repeat(64);
    std::fs::write(
        app.path().join("kfctl.lock"),
        format!("version: 1\nsources:\n  \"{url}\": sha256:{wrong}\n"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = kfctl(cache.path())
        .args(["build"])
        .arg(app.path())
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("expected sha256:{wrong}")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("got sha256:{actual}")), "{stderr}");
    assert!(stderr.contains("kfctl sources update"), "{stderr}");
    assert_eq!(cache_entries(cache.path()), Vec::<String>::new());

    // `sources update` re-pins on purpose.
    kfctl(cache.path())
        .args(["sources", "update"])
        .arg(app.path())
        .assert()
        .success();
    let lock = std::fs::read_to_string(app.path().join("kfctl.lock")).unwrap();
    assert!(lock.contains(&actual), "{lock}");
}

#[test]
fn traversal_and_link_escape_archives_are_refused() {
    let traversal = raw_tar_gz(
        "../evil.yaml",
        tar::EntryType::Regular,
        "",
        BASE_CM.as_bytes(),
    );
    let link = raw_tar_gz("base", tar::EntryType::Symlink, "../../..", b"");
    let absolute = raw_tar_gz("/etc/evil", tar::EntryType::Regular, "", b"x");
    let device = raw_tar_gz("dev", tar::EntryType::Char, "", b"");
    let server = Server::start(
        BTreeMap::from([
            ("traversal.tar.gz".to_owned(), traversal),
            ("link.tar.gz".to_owned(), link),
            ("absolute.tar.gz".to_owned(), absolute),
            ("device.tar.gz".to_owned(), device),
        ]),
        None,
    );
    for (name, why) in [
        ("traversal", "contains `..`"),
        ("link", "link that leaves the archive"),
        ("absolute", "is absolute"),
        ("device", "device or pipe"),
    ] {
        let app = app(&format!("{}//base", server.url(&format!("{name}.tar.gz"))));
        let cache = tempfile::tempdir().unwrap();
        let out = kfctl(cache.path())
            .args(["build"])
            .arg(app.path())
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains("is refused") && stderr.contains(why),
            "{name}: {stderr}"
        );
        assert_eq!(cache_entries(cache.path()), Vec::<String>::new(), "{name}");
        assert!(!cache.path().parent().unwrap().join("evil.yaml").exists());
    }
}

#[test]
fn a_dropped_download_is_resumed_and_verified() {
    let archive = base_archive();
    let digest = sha256(&archive);
    let half = archive.len() / 2;
    let server = Server::start(
        BTreeMap::from([("base.tar.gz".to_owned(), archive)]),
        Some(half),
    );
    let app = app(&format!("{}//base", server.url("base.tar.gz")));
    let cache = tempfile::tempdir().unwrap();
    let out = kfctl(cache.path())
        .args(["build"])
        .arg(app.path())
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("name: from-remote"));
    assert_eq!(
        server.requests(),
        [
            "GET /base.tar.gz".to_owned(),
            format!("GET /base.tar.gz from {half}")
        ]
    );
    assert_eq!(cache_entries(cache.path()), [digest]);
}

#[test]
fn offline_with_an_empty_cache_names_the_source() {
    let server = Server::start(BTreeMap::new(), None);
    let url = server.url("base.tar.gz");
    let app = app(&format!("{url}//base"));
    let cache = tempfile::tempdir().unwrap();
    let out = kfctl(cache.path())
        .env("KFCTL_OFFLINE", "1")
        .args(["build"])
        .arg(app.path())
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("`{url}` is not in the source cache")),
        "{stderr}"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_remote_file_and_a_mirror_work_offline() {
    let server = Server::start(
        BTreeMap::from([("cm.yaml".to_owned(), BASE_CM.as_bytes().to_vec())]),
        None,
    );
    let app = app(&server.url("cm.yaml"));
    let cache = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    kfctl(cache.path())
        .args(["sources", "mirror"])
        .arg(mirror.path())
        .arg(app.path())
        .assert()
        .success();
    assert!(mirror.path().join("kfctl.lock").is_file());
    let fresh = app.path().join("kfctl.lock");
    std::fs::remove_file(&fresh).ok();
    std::fs::copy(mirror.path().join("kfctl.lock"), &fresh).unwrap();
    let out = kfctl(mirror.path())
        .args(["build", "--offline"])
        .arg(app.path())
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("name: from-remote"));
    assert_eq!(server.requests().len(), 1);
}

/// A zip from (path, content) pairs, under one top directory as git hosts write them.
fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, content) in files {
        writer
            .start_file(
                format!("repo-1.0/{path}"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_zip_archive_is_unpacked_and_a_traversing_one_refused() {
    let good = zip(&[
        ("base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("base/cm.yaml", BASE_CM),
    ]);
    let evil = zip(&[
        ("base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("../../evil.yaml", BASE_CM),
    ]);
    let server = Server::start(
        BTreeMap::from([("base.zip".to_owned(), good), ("evil.zip".to_owned(), evil)]),
        None,
    );
    let cache = tempfile::tempdir().unwrap();
    let ok = app(&format!("{}//base", server.url("base.zip")));
    let out = kfctl(cache.path())
        .args(["build"])
        .arg(ok.path())
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("name: from-remote"));

    let bad = app(&format!("{}//base", server.url("evil.zip")));
    let fresh = tempfile::tempdir().unwrap();
    let out = kfctl(fresh.path())
        .args(["build"])
        .arg(bad.path())
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("is refused") && stderr.contains("contains `..`"),
        "{stderr}"
    );
    assert_eq!(cache_entries(fresh.path()), Vec::<String>::new());
}

#[test]
fn a_hard_link_inside_the_archive_is_a_copy_and_one_leaving_it_is_refused() {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, content) in [
        ("base/kustomization.yaml", "resources:\n- linked.yaml\n"),
        ("data/cm.yaml", BASE_CM),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("repo-1.0/{path}"), content.as_bytes())
            .unwrap();
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Link);
    link.set_size(0);
    link.set_mode(0o644);
    builder
        .append_link(
            &mut link,
            "repo-1.0/base/linked.yaml",
            "repo-1.0/data/cm.yaml",
        )
        .unwrap();
    let linked = builder.into_inner().unwrap().finish().unwrap();
    let escaping = raw_tar_gz("base", tar::EntryType::Link, "../../../etc/passwd", b"");
    let server = Server::start(
        BTreeMap::from([
            ("linked.tar.gz".to_owned(), linked),
            ("escaping.tar.gz".to_owned(), escaping),
        ]),
        None,
    );
    let cache = tempfile::tempdir().unwrap();
    let ok = app(&format!("{}//base", server.url("linked.tar.gz")));
    let out = kfctl(cache.path())
        .args(["build"])
        .arg(ok.path())
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("name: from-remote"));
    let entry = cache
        .path()
        .join("sources")
        .join(&cache_entries(cache.path())[0]);
    let copy = entry.join("repo-1.0/base/linked.yaml");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), BASE_CM);
    assert!(!std::fs::symlink_metadata(&copy).unwrap().is_symlink());

    let bad = app(&format!("{}//base", server.url("escaping.tar.gz")));
    let fresh = tempfile::tempdir().unwrap();
    let out = kfctl(fresh.path())
        .args(["build"])
        .arg(bad.path())
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("hard link that leaves the archive"),
        "{stderr}"
    );
    assert_eq!(cache_entries(fresh.path()), Vec::<String>::new());
}

#[test]
fn a_github_ref_is_fetched_as_a_tag_archive_from_the_mirror() {
    let server = Server::start(
        BTreeMap::from([("org/repo/archive/v1.0.tar.gz".to_owned(), base_archive())]),
        None,
    );
    let app = app("github.com/org/repo/base?ref=v1.0");
    let cache = tempfile::tempdir().unwrap();
    let github = server.url("");
    let out = kfctl(cache.path())
        .env("KFCTL_GITHUB_URL", github.trim_end_matches('/'))
        .args(["build"])
        .arg(app.path())
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("name: from-remote"));
    assert_eq!(server.requests(), ["GET /org/repo/archive/v1.0.tar.gz"]);
    let lock = std::fs::read_to_string(app.path().join("kfctl.lock")).unwrap();
    assert!(lock.contains("/org/repo/archive/v1.0.tar.gz"), "{lock}");
}

/// A kfctl root with one platform and one component whose release is only a URL.
fn release_root(url: &str, sha256: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("manifests")).unwrap();
    std::fs::create_dir_all(root.path().join("platforms")).unwrap();
    std::fs::write(
        root.path().join("manifests/catalog.yaml"),
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: Catalog\nplatforms: [p]\ndefaultRelease: r\n\
             components:\n- name: app\n  description: app\n\
             releases:\n- name: r\n  description: r\n  source:\n    name: m\n    version: v1\n\
             \x20   path: no-local-copy\n    url: {url}\n    sha256: {sha256}\n  components:\n    app: [base]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.path().join("platforms/p.yaml"),
        "apiVersion: kfctl.dev/v1alpha1\nkind: PlatformProfile\nmetadata: {name: p, description: p}\nspec:\n  components: [app]\n",
    )
    .unwrap();
    root
}

#[test]
fn a_release_source_by_url_is_fetched_verified_and_cached() {
    let archive = base_archive();
    let digest = sha256(&archive);
    let server = Server::start(
        BTreeMap::from([("release.tar.gz".to_owned(), archive)]),
        None,
    );
    let url = server.url("release.tar.gz");
    let root = release_root(&url, &digest);
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let build = |extra: &[&str]| {
        let mut cmd = kfctl(cache.path());
        cmd.current_dir(work.path())
            .args(["build", "-p", "p", "--root"])
            .arg(root.path())
            .args(extra);
        cmd
    };

    // The catalog's URL, used because its `path` is not there.
    let out = build(&[]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("name: from-remote"), "{stdout}");
    assert_eq!(server.requests(), ["GET /release.tar.gz"]);
    assert_eq!(cache_entries(cache.path()), vec![digest.clone()]);

    // `--source NAME=URL#sha256=HEX` and `spec.sources` by URL go through the same cache.
    let flag = format!("m={url}#sha256={digest}");
    build(&["--source", &flag]).assert().success();
    std::fs::write(
        work.path().join("kfctl.yaml"),
        format!(
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: p\n  sources:\n    m:\n      url: {url}\n      sha256: {digest}\n"
        ),
    )
    .unwrap();
    let from_config = kfctl(cache.path())
        .current_dir(work.path())
        .args(["build", "-f", "kfctl.yaml", "--root"])
        .arg(root.path())
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&from_config.get_output().stdout),
        stdout
    );
    assert_eq!(server.requests().len(), 1, "the cache serves the rest");

    // A wrong digest is refused, naming both, and nothing is cached.
    let fresh = tempfile::tempdir().unwrap();
    let wrong = format!("m={url}#sha256={}", "1".repeat(64));
    let out = kfctl(fresh.path())
        .current_dir(work.path())
        .args(["build", "-p", "p", "--root"])
        .arg(root.path())
        .args(["--source", &wrong])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("cannot fetch source `m`")
            && stderr.contains(&format!("got sha256:{digest}")),
        "{stderr}"
    );
    assert_eq!(cache_entries(fresh.path()), Vec::<String>::new());

    // A URL without a digest is refused before anything is fetched.
    let unpinned = format!("m={url}");
    let out = build(&["--source", &unpinned]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("NAME=URL#sha256=HEX"), "{stderr}");
    assert_eq!(server.requests().len(), 2);
}
