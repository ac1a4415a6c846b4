//! Where the Kubeflow manifests corpus is: `KFCTL_CORPUS` names the newest release
//! (`kubeflow-manifests`), else `../shared/corpus/kubeflow-manifests` beside the repository
//! (where CI puts it); the older releases (`kubeflow-manifests-v1.10.2`, ...) sit beside it.
//! A corpus that is not there fails the test, saying where it looked.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The catalog's serving, tuning and training components that upstream's `example/` installs:
/// every platform enables them by default.
pub const EXAMPLE_COMPONENTS: [&str; 6] = [
    "kserve",
    "katib",
    "trainer",
    "tensorboards",
    "pvc-viewer",
    "spark",
];

/// The catalog components no platform enables by default (`gpu` aside, which `local` enables):
/// upstream's `example/` does not install them.
pub const OPTIONAL_COMPONENTS: [&str; 1] = ["model-registry"];

fn newest() -> PathBuf {
    match std::env::var_os("KFCTL_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/kubeflow-manifests"),
    }
}

/// The corpus directory named `name` (`kubeflow-manifests`, `kubeflow-manifests-v1.11.0`, ...).
pub fn dir(name: &str) -> PathBuf {
    let newest = newest();
    let dir = if name == "kubeflow-manifests" {
        newest
    } else {
        newest.with_file_name(name)
    };
    assert!(
        dir.join("example").is_dir(),
        "the Kubeflow manifests corpus `{name}` is not at `{}`; place `shared/corpus/` beside \
         the repository or set KFCTL_CORPUS to its `kubeflow-manifests`",
        dir.display()
    );
    dir
}

/// The corpus of a catalog release: `latest` is the newest, `1.11.0` is
/// `kubeflow-manifests-v1.11.0`.
pub fn release(release: &str) -> PathBuf {
    match release {
        "latest" => dir("kubeflow-manifests"),
        // Semantic versions were tagged `v1.11.0`; calendar versions are tagged as named.
        r if r.starts_with("1.") => dir(&format!("kubeflow-manifests-v{r}")),
        r => dir(&format!("kubeflow-manifests-{r}")),
    }
}

/// A `kfctl.yaml` for the `local` platform at `release` with every component enabled: the
/// platform's defaults and each of [`OPTIONAL_COMPONENTS`].
pub fn every_component_config(release: &str) -> String {
    let mut text = format!(
        "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  platform: local\n  release: \"{release}\"\n  components:\n"
    );
    for c in OPTIONAL_COMPONENTS {
        text.push_str(&format!("    {c}: {{enabled: true}}\n"));
    }
    text
}
