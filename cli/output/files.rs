//! Files a command writes for the user: never over one that exists unless asked, and never half.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use crate::errors::UserError;

/// Refuses to write `output` when it exists, unless `force`.
pub fn refuse_overwrite(output: &Path, force: bool) -> Result<()> {
    if !force && output.exists() {
        return Err(
            UserError::new(format!("`{}` exists already", output.display()))
                .with_hint("pass `--force` to overwrite it, or `-o FILE` to write another file")
                .into(),
        );
    }
    Ok(())
}

/// Writes a temp file beside `path` and renames it over: a reader (or an interrupt) sees the
/// old file or the whole new one, never half of it.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kfctl.yaml".to_owned());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
