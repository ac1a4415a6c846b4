//! The binary run hermetically, optionally under an address-space limit, and its output.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

use crate::kfctl_bin;

/// `kfctl ARGS`, hermetic, with a home and a cache of its own under `home`, so nothing a test
/// does reaches the caller's files.
pub fn kfctl(home: &Path, args: &[&str]) -> Command {
    let mut cmd = kfctl_bin::kfctl_in(home, args);
    cmd.env("NO_PROXY", "127.0.0.1");
    Command::from_std(cmd)
}

/// Address space the binary may map when a test bounds its memory: enough for kfctl's own
/// threads and a real render, far below what an unbounded expansion would take.
pub const MEMORY_LIMIT_KIB: u64 = 1 << 20;

/// `kfctl ARGS` as [`kfctl`], started by a shell that first sets `ulimit -v` to `limit_kib`: a
/// run that tries to take more fails to allocate and aborts instead of filling the machine.
pub fn kfctl_limited(home: &Path, limit_kib: u64, args: &[&str]) -> Command {
    let mut cmd = std::process::Command::new("sh");
    kfctl_bin::in_home(kfctl_bin::hermetic(&mut cmd), home)
        .env("NO_PROXY", "127.0.0.1")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\""))
        .arg(kfctl_bin::BIN)
        .args(args);
    Command::from_std(cmd)
}

/// The exit code, stdout and stderr of a run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("cannot run kfctl");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

impl Run {
    /// Asserts a refusal: exit 1, nothing on stdout, and `needle` in the error.
    #[track_caller]
    pub fn refused(&self, needle: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit 1 with `{needle}`\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "expected `{needle}` in stderr:\n{}",
            self.stderr
        );
    }
}
