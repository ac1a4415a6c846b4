//! A fresh directory per test, and the command output as a snapshot-ready text.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// A temp directory to write a kustomization into, and `kfctl` run from it.
pub struct TestContext {
    pub dir: TempDir,
}

impl TestContext {
    pub fn new() -> Self {
        TestContext {
            dir: tempfile::tempdir().expect("cannot create a temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel` under the temp dir, creating the parent directories.
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("cannot create a fixture directory");
        }
        std::fs::write(&path, text).expect("cannot write a fixture file");
        self
    }

    /// `kfctl ARGS`, hermetic, run in the temp dir.
    pub fn kfctl(&self, args: &[&str]) -> Command {
        let mut cmd = kfctl(args);
        cmd.current_dir(self.path());
        cmd
    }

    /// The command's exit code, stdout and stderr, with this test's temp dir filtered out.
    pub fn run(&self, cmd: &mut Command) -> String {
        let text = run(cmd);
        let mut roots = vec![self.path().display().to_string()];
        if let Ok(canonical) = self.path().canonicalize() {
            roots.push(canonical.display().to_string());
        }
        roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
        roots
            .iter()
            .fold(text, |text, root| text.replace(root.as_str(), "[TEMP_DIR]"))
    }
}

/// `kfctl ARGS`, hermetic: no color and nothing from the caller's environment.
pub fn kfctl(args: &[&str]) -> Command {
    Command::from_std(crate::kfctl_bin::kfctl(args))
}

/// Exit code, stdout and stderr in one text, the version filtered out.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("cannot run kfctl");
    let text = format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        out.status.success(),
        out.status
            .code()
            .map_or_else(|| "none (killed by a signal)".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}
