//! Running the two renderers and parsing what they print.

use std::path::Path;
use std::process::Command;

use crate::kfctl_bin;
use serde_json::Value;

/// What a renderer made of a directory: its objects, or why it failed.
pub type Rendered = Result<Vec<Value>, String>;

/// `kfctl build DIR`, the binary under test, with its default YAML output.
pub fn kfctl(dir: &Path) -> Rendered {
    let out = kfctl_bin::command()
        .arg("build")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run kfctl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim_end().to_owned());
    }
    parse_stream(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| format!("kfctl printed YAML that does not parse: {e}"))
}

/// `kubectl kustomize DIR`: its stdout, or its stderr when it fails.
pub fn kubectl(dir: &Path) -> Result<String, String> {
    let out = Command::new(kubectl_path())
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", kubectl_path()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim_end().to_owned())
    }
}

/// `kubectl`, or the one `KFCTL_KUBECTL` names.
pub fn kubectl_path() -> String {
    std::env::var("KFCTL_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned())
}

/// `kubectl version --client`, which keys the reference cache: another kustomize may render
/// differently.
pub fn kubectl_version() -> String {
    let out = Command::new(kubectl_path())
        .args(["version", "--client"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{} version --client`: {e}", kubectl_path()));
    assert!(
        out.status.success(),
        "`kubectl version --client` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every document of a YAML stream, empty ones dropped (as kustomize drops them).
pub fn parse_stream(text: &str) -> Result<Vec<Value>, String> {
    // No size budget (the whole Kubeflow render is one stream); `0777` is octal as go-yaml reads
    // it, so a renderer printing `511` for it is not reported as different.
    let options = serde_saphyr::options! {
        budget: None,
        legacy_octal_numbers: true,
    };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}
