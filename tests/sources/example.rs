//! The upstream `example/` with its remote bases restored: the shared corpus vendored them
//! (`OFFLINE-NOTES.md`); here the kustomizations name them remotely again, as upstream does, and
//! the loopback server plays GitHub, serving tag archives and the release asset built at test
//! time from the vendored copies. The render must equal the vendored corpus's, object for
//! object. The images of the example are checked against an independent walk of `kubectl
//! kustomize`'s output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Server, kfctl};
use crate::kubeflow_corpus;

const ARGO: &str = ".vendor/argo-workflows-v3.7.3/";
const LWS: &str = ".vendor/lws-v0.8.0/";
const JOBSET_FILE: &str = "jobset-v0.11.0-manifests.yaml";
const JOBSET_DIR: &str = "applications/trainer/upstream/third-party/jobset";

/// The kustomizations the corpus changed to point at `.vendor/`, and the references upstream
/// writes instead (relative paths into `.vendor/` become `github.com/...?ref=TAG`).
fn restore(corpus: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for rel in [
        "applications/pipeline/upstream/third-party/argo/base/kustomization.yaml",
        "applications/pipeline/upstream/third-party/argo/installs/cluster/kustomization.yaml",
        "applications/pipeline/upstream/third-party/argo/installs/namespace/kustomization.yaml",
        "applications/pipeline/upstream/third-party/argo/installs/namespace/cluster-scoped/kustomization.yaml",
        "applications/trainer/upstream/third-party/leaderworkerset/kustomization.yaml",
        "applications/trainer/upstream/third-party/jobset/kustomization.yaml",
    ] {
        let text = std::fs::read_to_string(corpus.join(rel)).unwrap();
        let restored: Vec<String> = text
            .lines()
            .map(|line| {
                let Some((indent, entry)) = line.split_once("- ") else {
                    return line.to_owned();
                };
                let remote = if let Some(i) = entry.find(ARGO) {
                    format!(
                        "https://github.com/argoproj/argo-workflows/{}?ref=v3.7.3",
                        &entry[i + ARGO.len()..]
                    )
                } else if let Some(i) = entry.find(LWS) {
                    format!(
                        "github.com/kubernetes-sigs/lws/{}?ref=v0.8.0",
                        &entry[i + LWS.len()..]
                    )
                } else if entry.trim() == JOBSET_FILE {
                    "https://github.com/kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml"
                        .to_owned()
                } else {
                    return line.to_owned();
                };
                format!("{indent}- {remote}")
            })
            .collect();
        let restored = restored.join("\n") + "\n";
        assert_ne!(restored, text, "{rel} names no vendored base any more");
        out.insert(PathBuf::from(rel), restored);
    }
    out
}

/// A tree that reads like `src` with `edits` applied: directories on the way to an edited file
/// are real, with copies of their other files and data directories (a kustomization reads only
/// files really in its directory); every base is a symbolic link into `src`, so little is copied.
fn shadow(src: &Path, dst: &Path, edits: &BTreeMap<PathBuf, String>, rel: &Path) {
    std::fs::create_dir_all(dst.join(rel)).unwrap();
    for entry in std::fs::read_dir(src.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let child = rel.join(entry.file_name());
        if let Some(text) = edits.get(&child) {
            std::fs::write(dst.join(&child), text).unwrap();
        } else if edits.keys().any(|e| e.starts_with(&child)) {
            shadow(src, dst, edits, &child);
        } else if child.starts_with(".vendor") {
            // Left out: the render must get these from the server.
        } else if is_kustomization_dir(&entry.path()) {
            std::os::unix::fs::symlink(entry.path(), dst.join(&child)).unwrap();
        } else {
            copy_tree(&entry.path(), &dst.join(&child));
        }
    }
}

/// A base: a directory a kustomization may name wherever it is, so it can stay a link.
fn is_kustomization_dir(path: &Path) -> bool {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|name| path.join(name).is_file())
}

fn copy_tree(src: &Path, dst: &Path) {
    if src.is_file() {
        std::fs::copy(src, dst).unwrap();
        return;
    }
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        copy_tree(&entry.path(), &dst.join(entry.file_name()));
    }
}

/// A tar.gz of `dir` under `top/`, as GitHub's tag archives are laid out.
fn tar_dir(dir: &Path, top: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    builder.append_dir_all(top, dir).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

fn build(cache: &Path, dir: &Path, github: &str, extra: &[&str]) -> String {
    let out = kfctl(cache)
        .env("KFCTL_GITHUB_URL", github)
        .arg("build")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kfctl build {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn docs(text: &str) -> Vec<Value> {
    let options = serde_saphyr::options! { budget: None };
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn id(obj: &Value) -> String {
    format!(
        "{}/{}/{}",
        obj["kind"].as_str().unwrap_or(""),
        obj["metadata"]["namespace"].as_str().unwrap_or(""),
        obj["metadata"]["name"].as_str().unwrap_or("")
    )
}

#[test]
fn the_example_with_remote_bases_renders_as_the_vendored_one() {
    let corpus = kubeflow_corpus::dir("kubeflow-manifests");
    let tree = tempfile::tempdir().unwrap();
    let mut edits = restore(&corpus);
    // A real `example/`, so that `kfctl.lock` is written into the temp tree, never the corpus.
    let example = PathBuf::from("example/kustomization.yaml");
    edits.insert(
        example.clone(),
        std::fs::read_to_string(corpus.join(&example)).unwrap(),
    );
    shadow(&corpus, tree.path(), &edits, Path::new(""));
    let files = BTreeMap::from([
        (
            "argoproj/argo-workflows/archive/v3.7.3.tar.gz".to_owned(),
            tar_dir(&corpus.join(ARGO), "argo-workflows-3.7.3"),
        ),
        (
            "kubernetes-sigs/lws/archive/v0.8.0.tar.gz".to_owned(),
            tar_dir(&corpus.join(LWS), "lws-0.8.0"),
        ),
        (
            "kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml".to_owned(),
            std::fs::read(corpus.join(JOBSET_DIR).join(JOBSET_FILE)).unwrap(),
        ),
    ]);
    let server = Server::start(files, None);
    let github = server.url("");
    let github = github.trim_end_matches('/');
    let cache = tempfile::tempdir().unwrap();

    let vendored = build(cache.path(), &corpus.join("example"), github, &[]);
    assert!(server.requests().is_empty(), "the vendored corpus fetched");
    let remote = build(cache.path(), &tree.path().join("example"), github, &[]);
    let (want, got) = (docs(&vendored), docs(&remote));
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "object {i} differs: {} vs {}", id(w), id(g));
    }
    assert_eq!(want.len(), got.len(), "object counts differ");
    assert_eq!(vendored, remote);
    // The example does not use the trainer overlay that holds leaderworkerset; its base,
    // written `github.com/kubernetes-sigs/lws/config/default?ref=v0.8.0`, is built on its own.
    let lws = "applications/trainer/upstream/third-party/leaderworkerset";
    assert_eq!(
        build(cache.path(), &tree.path().join(lws), github, &[]),
        build(cache.path(), &corpus.join(lws), github, &[]),
    );
    // Argo's four references share one archive, fetched once.
    let mut requests = server.requests();
    requests.sort();
    assert_eq!(
        requests,
        [
            "GET /argoproj/argo-workflows/archive/v3.7.3.tar.gz",
            "GET /kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml",
            "GET /kubernetes-sigs/lws/archive/v0.8.0.tar.gz",
        ],
        "each archive is fetched once, however many references it serves"
    );
    // Every fetch was pinned beside the kustomization.
    let lock = std::fs::read_to_string(tree.path().join("example/kfctl.lock")).unwrap();
    assert_eq!(lock.matches(": sha256:").count(), 2, "{lock}");
}

/// Every `image` of a container, init container or ephemeral container anywhere in `v`.
fn container_images(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if matches!(
                    k.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Value::Array(items) = child
                {
                    for c in items {
                        if let Some(image) = c.get("image").and_then(Value::as_str) {
                            out.push(image.to_owned());
                        }
                    }
                }
                container_images(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| container_images(i, out)),
        _ => {}
    }
}

/// Every string under a key named `image`, wherever it sits (custom resources included).
fn image_fields(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "image"
                    && let Some(s) = child.as_str()
                {
                    out.push(s.to_owned());
                }
                image_fields(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| image_fields(i, out)),
        _ => {}
    }
}

#[test]
fn images_of_the_example_are_listed_once_and_all_mirrored() {
    let example = kubeflow_corpus::dir("kubeflow-manifests").join("example");
    let cache = tempfile::tempdir().unwrap();
    let listed = kfctl(cache.path())
        .arg("images")
        .arg(&example)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "an image is listed twice");

    let kubectl = std::process::Command::new(
        std::env::var("KFCTL_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned()),
    )
    .arg("kustomize")
    .arg(&example)
    .output()
    .unwrap();
    assert!(
        kubectl.status.success(),
        "{}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
    let objects = docs(&String::from_utf8(kubectl.stdout).unwrap());
    let mut expected = Vec::new();
    for o in &objects {
        container_images(o, &mut expected);
        // Custom resources hold images outside pod specs too (Knative's `Image` cache
        // entries, KServe's storage containers); a mirror needs them all.
        let group = o["apiVersion"].as_str().and_then(|v| v.split_once('/'));
        if group.is_some_and(|(g, _)| g.contains('.') && !g.ends_with(".k8s.io")) {
            image_fields(o, &mut expected);
        }
    }
    let expected: BTreeSet<&String> = expected.iter().collect();
    assert_eq!(unique, expected);
    assert!(listed.len() > 50, "{} images", listed.len());

    let prefix = "registry.internal:5000/kf";
    let out = kfctl(cache.path())
        .args(["build", "--registry-mirror", prefix])
        .arg(&example)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut fields = Vec::new();
    for o in &docs(&String::from_utf8(out.stdout).unwrap()) {
        image_fields(o, &mut fields);
    }
    let outside: BTreeSet<&String> = fields
        .iter()
        .filter(|i| !i.starts_with(&format!("{prefix}/")))
        .collect();
    assert!(
        outside.is_empty(),
        "images outside the mirror: {outside:#?}"
    );
    assert!(fields.len() >= listed.len());
}
