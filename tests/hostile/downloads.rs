//! Downloads that stall, never answer, carry credentials or unpack to more than the disk
//! should take: each fails fast with exit 1 and leaves nothing behind.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::archives::{
    CM, Entry, KUSTOMIZATION, cache_sources, gzip, gzip_head_then_zeros, home_with_app, raw_tar,
};
use crate::http::Server;
use crate::support::{MEMORY_LIMIT_KIB, kfctl, kfctl_limited, run};

/// A safety net: the command's own timeouts must end it long before.
const NET: Duration = Duration::from_secs(120);

#[test]
fn a_server_that_accepts_and_never_answers_fails_within_the_read_timeout() {
    let server = Server::stalling(Vec::new(), None);
    let url = server.url("base.tar.gz");
    let home = home_with_app(&format!("{url}//base"));
    let app = home.path().join("app");
    let mut cmd = kfctl(home.path(), &["build", app.to_str().unwrap()]);
    cmd.env("KFCTL_READ_TIMEOUT", "1").timeout(NET);
    let out = run(&mut cmd);
    out.refused(&format!("cannot download `{url}`"));
    out.refused("no answer within 1s (`KFCTL_READ_TIMEOUT`)");
    assert_eq!(cache_sources(home.path()), Vec::<String>::new());
}

#[test]
fn a_download_that_stalls_midway_leaves_no_partial_file() {
    let body = vec![7u8; 256 << 10];
    let server = Server::stalling(body, Some(128 << 10));
    let url = server.url("base.tar.gz");
    let home = home_with_app(&format!("{url}//base"));
    let app = home.path().join("app");
    let mut cmd = kfctl(home.path(), &["build", app.to_str().unwrap()]);
    cmd.env("KFCTL_READ_TIMEOUT", "1").timeout(NET);
    run(&mut cmd).refused("no data for 1s");
    assert_eq!(server.requests().len(), 4, "every attempt stalls");
    assert_eq!(cache_sources(home.path()), Vec::<String>::new());
}

#[test]
fn a_decompression_bomb_is_refused_by_the_unpack_bound() {
    // Files of 512 KiB of zeros, against a bound of 1 MiB: the third is cut off.
    let zeros = vec![0u8; 512 << 10];
    let mut entries = vec![Entry(
        "base/kustomization.yaml",
        tar::EntryType::Regular,
        "",
        KUSTOMIZATION,
    )];
    let names: Vec<String> = (0..8).map(|i| format!("base/zeros-{i}")).collect();
    for name in &names {
        entries.push(Entry(name, tar::EntryType::Regular, "", &zeros));
    }
    let many = gzip(&raw_tar(&entries));
    // One file whose header announces 64 MiB: refused before a byte of it is written.
    let mut header = tar::Header::new_ustar();
    header.set_path("base/big").unwrap();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    let big = gzip_head_then_zeros(header.as_bytes(), 64);
    let server = Server::start(
        BTreeMap::from([
            ("many.tar.gz".to_owned(), many),
            ("big.tar.gz".to_owned(), big),
        ]),
        None,
    );
    for (name, why) in [
        (
            "many.tar.gz",
            "the archive unpacks to more than 1048576 bytes",
        ),
        ("big.tar.gz", "it is larger than 1048576 bytes"),
    ] {
        let home = home_with_app(&format!("{}//base", server.url(name)));
        let app = home.path().join("app");
        let mut cmd = kfctl(home.path(), &["build", app.to_str().unwrap()]);
        cmd.env("KFCTL_MAX_UNPACK_BYTES", "1048576").timeout(NET);
        run(&mut cmd).refused(why);
        assert_eq!(cache_sources(home.path()), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn credentials_in_a_url_never_reach_output_the_lock_or_the_cache() {
    let server = good_archive_server("base.tar.gz");
    let with_secret = server.url("base.tar.gz").replace("//", "//user:s3cr3t@");
    let home = home_with_app(&format!("{with_secret}//base"));
    let app = home.path().join("app");
    let ok = run(&mut kfctl_limited(
        home.path(),
        MEMORY_LIMIT_KIB,
        &["-v", "build", app.to_str().unwrap()],
    ));
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(ok.stdout.contains("name: from-remote"), "{}", ok.stdout);
    assert_eq!(server.requests(), ["GET /base.tar.gz (authorized)"]);
    let lock = std::fs::read_to_string(app.join("kfctl.lock")).unwrap();
    assert!(lock.contains(&server.url("base.tar.gz")), "{lock}");

    // A failure names the URL, without its password.
    std::fs::write(
        app.join("kustomization.yaml"),
        format!(
            "resources:\n- {}\n",
            with_secret.replace("base.tar.gz", "gone.tar.gz")
        ),
    )
    .unwrap();
    let failed = run(&mut kfctl(
        home.path(),
        &["-v", "build", app.to_str().unwrap()],
    ));
    failed.refused(&format!("`{}`", server.url("gone.tar.gz")));

    for text in [&ok.stdout, &ok.stderr, &failed.stderr, &lock] {
        assert!(!text.contains("s3cr3t"), "{text}");
    }
    let mut stack = vec![home.path().join("cache")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            assert!(!path.to_string_lossy().contains("s3cr3t"));
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains("s3cr3t"),
                    "{path:?}"
                );
            }
        }
    }
}

#[test]
fn urls_of_other_schemes_are_refused() {
    for url in ["file:///etc/passwd", "ftp://127.0.0.1/a.tar.gz//base"] {
        let home = home_with_app(url);
        let app = home.path().join("app");
        run(&mut kfctl(home.path(), &["build", app.to_str().unwrap()]))
            .refused("only `https://` URLs");
    }
}

#[test]
fn what_a_killed_fetch_left_in_the_cache_is_removed_by_the_next_one() {
    let server = good_archive_server("base.tar.gz");
    let home = home_with_app(&format!("{}//base", server.url("base.tar.gz")));
    let sources = home.path().join("cache/sources");
    std::fs::create_dir_all(sources.join(".unpack-old/repo")).unwrap();
    // A download a killed run left: nobody holds it, however recent.
    std::fs::write(sources.join(".download-dead"), vec![0; 4096]).unwrap();
    // A download a running fetch holds locked, as kfctl does while it downloads.
    std::fs::write(sources.join(".download-live"), b"").unwrap();
    let live = std::fs::File::open(sources.join(".download-live")).unwrap();
    live.try_lock().unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::open(sources.join(".unpack-old"))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let app = home.path().join("app");
    let mut cmd = kfctl(home.path(), &["build", app.to_str().unwrap()]);
    let ok = run(cmd.timeout(NET));
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    let mut left: Vec<String> = cache_sources(home.path())
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    left.sort();
    assert_eq!(left, [".download-live"], "one a running fetch holds stays");
    drop(live);
}

#[test]
fn a_download_interrupted_by_ctrl_c_is_removed_by_the_next_fetch() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    // Half a megabyte announced, 256 KiB sent, then nothing: the run is still downloading.
    let server = Server::stalling(vec![7; 512 << 10], Some(256 << 10));
    let home = home_with_app(&format!("{}//base", server.url("base.tar.gz")));
    let app = home.path().join("app");
    let mut cmd = crate::kfctl_bin::kfctl_in(home.path(), &["build", app.to_str().unwrap()]);
    let mut child = cmd.env("NO_PROXY", "127.0.0.1").spawn().unwrap();
    let partial = |home: &std::path::Path| {
        cache_sources(home)
            .into_iter()
            .filter(|n| n.starts_with(".download-"))
            .map(|n| std::fs::metadata(home.join("cache/sources").join(n)).map_or(0, |m| m.len()))
            .max()
    };
    let started = std::time::Instant::now();
    while partial(home.path()).unwrap_or(0) == 0 {
        assert!(
            started.elapsed() < NET,
            "the download never started writing its temporary file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    // The next run that fetches, here of another source, removes it.
    let ok_server = good_archive_server("ok.tar.gz");
    std::fs::write(
        app.join("kustomization.yaml"),
        format!("resources:\n- {}//base\n", ok_server.url("ok.tar.gz")),
    )
    .unwrap();
    let again = run(kfctl(home.path(), &["build", app.to_str().unwrap()]).timeout(NET));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(
        partial(home.path()),
        None,
        "{:?}",
        cache_sources(home.path())
    );
}

/// A loopback server of one harmless archive, `name`, holding the kustomization `repo/base`.
fn good_archive_server(name: &str) -> Server {
    let tar = raw_tar(&[
        Entry(
            "repo/base/kustomization.yaml",
            tar::EntryType::Regular,
            "",
            KUSTOMIZATION,
        ),
        Entry("repo/base/cm.yaml", tar::EntryType::Regular, "", CM),
    ]);
    Server::start(BTreeMap::from([(name.to_owned(), gzip(&tar))]), None)
}
