//! `kfctl.lock`: the sha256 of every remote source, written the first time it is fetched and
//! checked on every fetch after, so a changed upstream is noticed instead of installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{SourceError, reference::check_digest};
use crate::render::fs::MAX_CONFIG_BYTES;
use crate::resource::yaml;

pub const LOCK_FILE: &str = "kfctl.lock";

#[derive(Debug, Clone, Default)]
pub struct LockFile {
    pub path: PathBuf,
    /// URL → sha256 (hex).
    pub sources: BTreeMap<String, String>,
    changed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    version: u32,
    #[serde(default)]
    sources: BTreeMap<String, String>,
}

impl LockFile {
    /// Reads `path`; a missing file is an empty lock.
    pub fn load(path: &Path) -> Result<LockFile, SourceError> {
        let text = match crate::render::fs::read_text_at_most(path, MAX_CONFIG_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LockFile {
                    path: path.to_path_buf(),
                    ..Default::default()
                });
            }
            Err(source) => {
                return Err(SourceError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let invalid = |message: String| SourceError::InvalidLock {
            path: path.to_path_buf(),
            message,
        };
        let doc: Doc = serde_saphyr::from_str_with_options(&text, yaml::saphyr_options()).map_err(
            |source| SourceError::LockSyntax {
                path: path.to_path_buf(),
                source,
            },
        )?;
        if doc.version != 1 {
            return Err(invalid(format!("unknown version {}", doc.version)));
        }
        let mut sources = BTreeMap::new();
        for (url, digest) in doc.sources {
            let hex = check_digest(&digest).ok_or_else(|| {
                invalid(format!(
                    "`{url}`: `{digest}` is not `sha256:` and 64 hex digits"
                ))
            })?;
            sources.insert(url, hex);
        }
        Ok(LockFile {
            path: path.to_path_buf(),
            sources,
            changed: false,
        })
    }

    pub fn get(&self, url: &str) -> Option<&str> {
        self.sources.get(url).map(String::as_str)
    }

    pub fn set(&mut self, url: &str, sha256: &str) {
        if self.get(url) != Some(sha256) {
            self.sources.insert(url.to_owned(), sha256.to_owned());
            self.changed = true;
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# The sha256 of every remote source, written when it was first fetched. kfctl refuses\n\
             # a source whose content changed; `kfctl sources update` fetches again and rewrites this.\n\
             version: 1\nsources:\n",
        );
        if self.sources.is_empty() {
            out = out.replace("sources:\n", "sources: {}\n");
        }
        for (url, hex) in &self.sources {
            let key = serde_json::to_string(url).unwrap_or_default();
            out.push_str(&format!("  {key}: sha256:{hex}\n"));
        }
        out
    }

    /// Writes the file (through a temporary file and a rename) when something was added.
    pub fn save(&mut self) -> Result<bool, SourceError> {
        if !self.changed {
            return Ok(false);
        }
        let tmp = self.path.with_extension("lock.tmp");
        let write_err = |source| SourceError::Write {
            path: self.path.clone(),
            source,
        };
        std::fs::write(&tmp, self.to_text()).map_err(write_err)?;
        std::fs::rename(&tmp, &self.path).map_err(write_err)?;
        self.changed = false;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_survives_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut lock = LockFile::load(&path).unwrap();
        assert!(lock.sources.is_empty());
        lock.set("https://h/a.tar.gz", &"0".repeat(64));
        lock.set("https://h/b: c.yaml", &"f".repeat(64));
        assert!(lock.save().unwrap());
        let again = LockFile::load(&path).unwrap();
        assert_eq!(again.sources, lock.sources);
        std::fs::write(&path, "version: 1\nsources:\n  x: md5:abc\n").unwrap();
        assert!(LockFile::load(&path).is_err());
    }
}
