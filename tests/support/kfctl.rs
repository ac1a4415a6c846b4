//! The binary under test, run hermetically: what it does depends on the test's arguments and
//! files, never on the environment of whoever runs the tests.
//!
//! Every tier builds its `kfctl` command here. A test that needs a setting passes it after
//! [`kfctl`] (`--kubeconfig`, `KFCTL_ROOT`, ...), so the setting shows in the test itself.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `kfctl` binary Cargo built for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_kfctl");

/// `kfctl`, hermetic (see [`hermetic`]), stdin closed (not a terminal); the caller adds the
/// arguments.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    hermetic(&mut cmd).stdin(Stdio::null());
    cmd
}

/// `kfctl ARGS`, as [`command`].
pub fn kfctl<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut cmd = command();
    cmd.args(args);
    cmd
}

/// `kfctl ARGS --kubeconfig KUBECONFIG`, as [`kfctl`]: the one cluster a cluster test means.
pub fn kfctl_on<S: AsRef<std::ffi::OsStr>>(kubeconfig: &Path, args: &[S]) -> Command {
    let mut cmd = kfctl(args);
    cmd.arg("--kubeconfig").arg(kubeconfig);
    cmd
}

/// `kfctl ARGS`, as [`kfctl`], with `home` as its home directory and `home/cache` as its
/// cache, so nothing it downloads or reads lands in or comes from the caller's files.
pub fn kfctl_in<S: AsRef<std::ffi::OsStr>>(home: &Path, args: &[S]) -> Command {
    let mut cmd = kfctl(args);
    in_home(&mut cmd, home);
    cmd
}

/// Clears from `cmd`'s environment everything of the caller's that changes what kfctl does:
/// every `KFCTL_*` setting, `KUBECONFIG` (a cluster test names its cluster with `--kubeconfig`),
/// `XDG_CACHE_HOME` and `RUST_LOG`; and sets `NO_COLOR`. For a command that starts kfctl
/// indirectly (a shell, a pseudo-terminal) as well as for kfctl itself.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KFCTL_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("RUST_LOG")
}

/// Points `cmd`'s `HOME` at `home` and its cache (`KFCTL_CACHE_DIR`) at `home/cache`.
pub fn in_home<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env("HOME", home)
        .env("KFCTL_CACHE_DIR", home.join("cache"))
}

/// A run of kfctl as text for a failure message: its exit code, the start of its stdout (a
/// whole platform's render is long) and its stderr.
pub fn text(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown: String = stdout.chars().take(20_000).collect();
    format!(
        "exit {:?}\n--- stdout\n{shown}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}
