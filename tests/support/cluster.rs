//! A real local control plane for the cluster tests.
//!
//! One control plane per test binary: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and kwok (simulated nodes: 3 CPU, 2 with `nvidia.com/gpu`), started
//! by `hack/cluster/test-cluster.sh` from the binaries that `hack/cluster/build.sh`
//! caches under `$KFCTL_CACHE` (built first when missing). Its cluster name and
//! directory (`.kfctl/test/<pid>`) differ from the `make cluster-up` one, so tests
//! never disturb a running demo.
//!
//! `KFCTL_TEST_KUBECONFIG=<path>` runs the tests against that cluster instead and
//! starts nothing.
//!
//! Stopping: the helper script holds the read end of a pipe whose write end only
//! this process holds. Whenever this process ends -- tests done, a panic, a kill --
//! the kernel closes the pipe and the helper kills every control-plane process and
//! removes the data. No process outlives the test run.
//!
//! If the control plane cannot start, every test that asks for it fails with the
//! reason; none is skipped.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Environment variable naming the kubeconfig of a running cluster to reuse.
pub const REUSE_ENV: &str = "KFCTL_TEST_KUBECONFIG";

/// How long the control plane may take to start once its binaries exist.
const START_DEADLINE: Duration = Duration::from_secs(300);

/// The control plane of this test binary.
pub struct Cluster {
    kubeconfig: PathBuf,
    /// Prefix of every namespace and cluster-scoped name the tests create.
    prefix: String,
    /// Whether the cluster was given (reused) rather than started here.
    reused: bool,
    /// The helper's stdin: kept open for the life of this process.
    _lifeline: Option<Mutex<(Child, ChildStdin)>>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

/// The control plane, started on first use. Panics (failing the test) with the
/// reason when it cannot be started.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(reason) => panic!("the local control plane is not available: {reason}"),
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `NAME=value` lines of `hack/cluster/versions.sh`.
fn versions() -> Result<BTreeMap<String, String>, String> {
    let path = repo_root().join("hack/cluster/versions.sh");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, v)| k.ends_with("_VERSION") && !v.contains('$'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect())
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("KFCTL_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kfctl-test"),
    }
}

/// The binaries `hack/cluster/build.sh` produces, by the same cache layout.
fn binaries() -> Result<Vec<PathBuf>, String> {
    let v = versions()?;
    let get = |k: &str| {
        v.get(k)
            .cloned()
            .ok_or_else(|| format!("{k} missing from hack/cluster/versions.sh"))
    };
    let cache = cache_dir();
    let etcd = cache.join(format!("etcd-{}", get("ETCD_VERSION")?));
    let kube = cache.join(format!("kubernetes-{}", get("KUBE_VERSION")?));
    let kwok = cache.join(format!("kwok-{}", get("KWOK_VERSION")?));
    Ok(vec![
        etcd.join("etcd"),
        kube.join("kube-apiserver"),
        kube.join("kube-controller-manager"),
        kube.join("kube-scheduler"),
        kube.join("kubectl"),
        kwok.join("kwok"),
        kwok.join("kwokctl"),
    ])
}

fn start() -> Result<Cluster, String> {
    let pid = std::process::id();
    let prefix = format!("kt{pid}");
    if let Some(path) = std::env::var_os(REUSE_ENV).filter(|p| !p.is_empty()) {
        let kubeconfig = PathBuf::from(path);
        if !kubeconfig.is_file() {
            return Err(format!(
                "{REUSE_ENV}={} is not a file",
                kubeconfig.display()
            ));
        }
        return Ok(Cluster {
            kubeconfig,
            prefix,
            reused: true,
            _lifeline: None,
        });
    }

    let root = repo_root();
    if binaries()?.iter().any(|b| !b.is_file()) {
        // The first run on a machine builds the control plane (a long Go build): its messages
        // go to stderr as they come, and to a log whose tail the failure quotes.
        let build_log =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kfctl-test-build-{pid}.log"));
        let status = Command::new("bash")
            .arg("-c")
            .arg(r#"set -o pipefail; bash "$0" 2>&1 | tee "$1" >&2"#)
            .arg(root.join("hack/cluster/build.sh"))
            .arg(&build_log)
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| format!("cannot run hack/cluster/build.sh: {e}"))?;
        if !status.success() {
            return Err(format!(
                "hack/cluster/build.sh failed ({status}); its log ({}):\n{}",
                build_log.display(),
                tail_of(&build_log)
            ));
        }
    }

    let log_path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kfctl-test-cluster-{pid}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = Command::new("bash")
        .arg(root.join("hack/cluster/test-cluster.sh"))
        .arg(pid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        // Out of the terminal's process group: Ctrl-C stops the tests, and the
        // helper, not hit by it, still cleans up.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run hack/cluster/test-cluster.sh: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin pipe to the helper")?;
    let stdout = child
        .stdout
        .take()
        .ok_or("no stdout pipe from the helper")?;

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(path) = line.strip_prefix("KUBECONFIG=") {
                let _ = tx.send(Some(PathBuf::from(path)));
                return;
            }
        }
        let _ = tx.send(None);
    });
    let tail = || tail_of(&log_path);
    match rx.recv_timeout(START_DEADLINE) {
        Ok(Some(kubeconfig)) => Ok(Cluster {
            kubeconfig,
            prefix,
            reused: false,
            _lifeline: Some(Mutex::new((child, stdin))),
        }),
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            Err(format!(
                "hack/cluster/test-cluster.sh ended ({status}) before the control plane was \
                 ready; its log ({}):\n{}",
                log_path.display(),
                tail()
            ))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // Dropping stdin makes the helper clean up what it started.
            drop(stdin);
            Err(format!(
                "the control plane was not ready within {START_DEADLINE:?}; log ({}):\n{}",
                log_path.display(),
                tail()
            ))
        }
    }
}

/// The last lines of a log file, for an error message.
fn tail_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

impl Cluster {
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn reused(&self) -> bool {
        self.reused
    }

    /// A new client. Each test makes its own: a client's connections live on the
    /// runtime that made it, and every `#[tokio::test]` has its own runtime.
    pub async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).unwrap_or_else(|e| {
            panic!("cannot read kubeconfig {}: {e}", self.kubeconfig.display())
        });
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("bad kubeconfig {}: {e}", self.kubeconfig.display()));
        Client::try_from(config).unwrap_or_else(|e| panic!("cannot build a client: {e}"))
    }

    /// A fresh namespace for one test, named `kt<pid>-<test>-<n>`, ready for pods
    /// (its default service account exists). Cluster-scoped objects a test makes
    /// should be named with [`TestNamespace::name`] as a prefix.
    pub async fn namespace(&self, test: &str) -> TestNamespace {
        let n = SEQUENCE.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}-{}-{n}", self.prefix, test.replace('_', "-"));
        let client = self.client().await;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kfctl.test/run": self.prefix}},
        }))
        .expect("a valid Namespace");
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        eventually(
            &format!("the default service account of namespace {name}"),
            Duration::from_secs(60),
            || async {
                match accounts.get_opt("default").await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err("not created yet".to_string()),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await;
        TestNamespace {
            name,
            client,
            cleanup: self.reused,
            cluster_scoped: Mutex::new(Vec::new()),
        }
    }
}

/// A namespace owned by one test. On a reused cluster it is deleted at the end
/// of the test, with the cluster-scoped objects registered through
/// [`TestNamespace::delete_later`]; a cluster started here is thrown away whole.
pub struct TestNamespace {
    pub name: String,
    pub client: Client,
    cleanup: bool,
    cluster_scoped: Mutex<Vec<String>>,
}

impl TestNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// `kind/name` (kubectl syntax, e.g. `crd/widgets.example.com`) of a
    /// cluster-scoped object to delete with this namespace.
    pub fn delete_later(&self, object: &str) {
        self.cluster_scoped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(object.to_string());
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if !self.cleanup {
            return;
        }
        // Runs in Drop (no async here), so through kubectl, bounded in time.
        let Some(cluster) = CLUSTER.get().and_then(|c| c.as_ref().ok()) else {
            return;
        };
        let mut objects = self
            .cluster_scoped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        objects.push(format!("namespace/{}", self.name));
        let Some(kubectl) = binaries()
            .ok()
            .and_then(|b| b.into_iter().find(|p| p.ends_with("kubectl")))
        else {
            return;
        };
        let _ = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig())
            .args([
                "delete",
                "--wait=false",
                "--ignore-not-found",
                "--request-timeout=10s",
            ])
            .args(&objects)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Polls `check` until it returns `Ok`, at most for `limit`; panics naming `what`
/// and the last observation (the `Err` text) when the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    let mut last = String::from("never checked");
    let poll = async {
        loop {
            match check().await {
                Ok(value) => return value,
                Err(observed) => last = observed,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let outcome = tokio::time::timeout(limit, poll).await;
    match outcome {
        Ok(value) => value,
        Err(_) => panic!(
            "timed out after {:.1?} waiting for {what}; last seen: {last}",
            started.elapsed()
        ),
    }
}

/// Runs one API call under a deadline, naming it when the deadline passes.
pub async fn within<T>(what: impl Display, limit: Duration, call: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, call).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}
