//! `kfctl diff` and `kfctl status`, the real binary against the control plane: no drift right
//! after an apply, none from fields other managers inject (a sidecar, a `caBundle`); each kind of
//! drift found with its object and field path; `--fix` restores; ignored paths stay quiet; exit
//! codes; the JSON reports validate against `docs/schema/`.

use std::process::{Command, Output, Stdio};

use kfctl::cluster::inventory::{Inventory, LABEL_PART_OF};
use serde_json::{Value, json};

use crate::apply::{json_of, kfctl, kustomization, text};
use crate::cluster::{TestNamespace, cluster};
use crate::json_schema::validate;
use crate::kfctl_bin;

fn kubectl(args: &[&str]) {
    let out = Command::new("kubectl")
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdin(Stdio::null())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kubectl apply --server-side` of `manifest` as field manager `manager`, taking over conflicts.
fn apply_as(manager: &str, manifest: &str) {
    let mut child = Command::new("kubectl")
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            manager,
            "-f",
            "-",
        ])
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest.as_bytes())
        .expect("write the manifest");
    let out = child.wait_with_output().expect("kubectl ends");
    assert!(
        out.status.success(),
        "apply as {manager}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Deployment, a Service, two ConfigMaps (one with an ignored path), a Secret and a
/// MutatingWebhookConfiguration that intercepts nothing, in the test's namespace.
fn sample(ns: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}, labels: {{app.kubernetes.io/component: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10, ports: [{{containerPort: 8080}}], resources: {{requests: {{cpu: 10m}}}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}, labels: {{app.kubernetes.io/component: web}}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {ns}, labels: {{team: platform}}}}
data: {{mode: fast}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: tuned
  namespace: {ns}
  annotations: {{kfctl.dev/ignore-drift: /data/level}}
data: {{level: "1", other: x}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: {ns}}}
data: {{password: c2VjcmV0LXZhbHVl}}
stringData: {{token: plain-token-value}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {{name: {ns}-inject}}
webhooks:
- name: inject.{ns}.kfctl.test
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig:
    service: {{name: web, namespace: {ns}, path: /inject}}
  rules:
  - {{apiGroups: [{ns}.kfctl.test], apiVersions: [v1], operations: [CREATE], resources: [nothing]}}
"#
    )
}

/// The object of a diff report with id `id`.
fn object<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["objects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| o["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

/// `path → state` of an object's drifted fields.
fn fields(object: &Value) -> Vec<(String, String)> {
    object["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| {
                    (
                        f["path"].as_str().unwrap_or_default().to_owned(),
                        f["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn assert_valid(schema: &str, report: &Value) {
    let errors = validate(schema, report);
    assert!(errors.is_empty(), "{schema}: {errors:#?}\n{report:#}");
}

#[test]
fn the_schema_validator_rejects_what_the_schema_does_not_allow() {
    let errors = validate(
        "diff.json",
        &json!({"schemaVersion": 2, "context": 1, "surprise": true}),
    );
    assert!(
        errors.iter().any(|e| e.contains("`install` is required")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("/schemaVersion")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("`surprise`")),
        "{errors:?}"
    );
}

fn cleanup(ns: &TestNamespace) {
    ns.delete_later(&format!(
        "mutatingwebhookconfiguration/{}-inject",
        ns.name()
    ));
}

#[tokio::test]
async fn drift_is_found_on_kfctl_fields_only_and_fixed() {
    let ns = cluster().namespace("drift").await;
    cleanup(&ns);
    let name = ns.name().to_owned();
    let dir = kustomization(&sample(&name));
    let dir_path = dir.path().to_str().expect("a UTF-8 path").to_owned();
    let k = |extra: &[&str]| -> Output {
        let mut args = vec![extra[0], "-k", &dir_path, "--name", &name];
        args.extend_from_slice(&extra[1..]);
        kfctl(&args)
    };

    let applied = k(&["apply", "--yes", "--timeout", "3m"]);
    assert!(applied.status.success(), "{}", text(&applied));

    // Right after the apply: nothing to report, and `--exit-code` (the default without a
    // terminal) exits 0.
    let clean = k(&["diff", "-o", "json"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    let report = json_of(&clean);
    assert_valid("diff.json", &report);
    assert_eq!(report["changes"], json!(false), "{report:#}");
    assert_eq!(report["totals"]["unchanged"], json!(6), "{report:#}");
    assert_eq!(
        report["cost"]["dryRuns"],
        json!(0),
        "no dry run without drift: {report:#}"
    );
    let status = k(&["status", "-o", "json", "--exit-code"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let status = json_of(&status);
    assert_valid("status.json", &status);
    assert_eq!(status["drifted"], json!(0), "{status:#}");
    // A kustomization names no catalog components: its members are grouped by label, else
    // namespace, as before.
    assert_eq!(status["groupedBy"], json!("label"), "{status:#}");
    assert_eq!(
        rows(&status),
        [
            ("(cluster-scoped)".to_owned(), 1),
            (format!("namespace {name}"), 3),
            ("web".to_owned(), 2),
        ],
        "{status:#}"
    );

    // Another manager injects a sidecar and a caBundle: not drift.
    apply_as(
        "injector",
        &format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  template:
    spec:
      containers:
      - {{name: sidecar, image: registry.k8s.io/pause:3.9}}
"#
        ),
    );
    apply_as(
        "injector",
        &format!(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {{name: {name}-inject}}
webhooks:
- name: inject.{name}.kfctl.test
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    caBundle: dGVzdC1jYS1idW5kbGU=
"#
        ),
    );
    let injected = k(&["diff", "--exit-code"]);
    assert_eq!(injected.status.code(), Some(0), "{}", text(&injected));
    let injected = k(&["status", "--exit-code"]);
    assert_eq!(injected.status.code(), Some(0), "{}", text(&injected));

    // Now drift of every kind.
    kubectl(&["scale", "-n", &name, "deployment/web", "--replicas=3"]);
    kubectl(&[
        "set",
        "image",
        "-n",
        &name,
        "deployment/web",
        "web=registry.k8s.io/pause:3.9",
    ]);
    kubectl(&[
        "patch",
        "-n",
        &name,
        "configmap/settings",
        "-p",
        r#"{"data":{"mode":"slow"}}"#,
    ]);
    kubectl(&[
        "patch",
        "-n",
        &name,
        "configmap/tuned",
        "-p",
        r#"{"data":{"level":"7"}}"#,
    ]);
    kubectl(&["delete", "-n", &name, "service/web", "--wait=true"]);
    apply_as(
        "labeller",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {name}, labels: {{team: data}}}}\n"
        ),
    );
    let id = Inventory::new(&name).id;
    apply_as(
        "someone",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stray, namespace: {name}, labels: {{{LABEL_PART_OF}: {id}}}}}\ndata: {{a: b}}\n"
        ),
    );

    let drifted = k(&["diff", "-o", "json"]);
    assert_eq!(drifted.status.code(), Some(2), "{}", text(&drifted));
    let report = json_of(&drifted);
    assert_valid("diff.json", &report);
    let web = object(&report, &format!("Deployment/{name}/web"));
    assert_eq!(web["drift"], json!("modified"), "{web:#}");
    assert_eq!(
        fields(web),
        [
            ("/spec/replicas".to_owned(), "modified".to_owned()),
            (
                "/spec/template/spec/containers/name=web/image".to_owned(),
                "modified".to_owned()
            ),
        ],
        "{web:#}"
    );
    let settings = object(&report, &format!("ConfigMap/{name}/settings"));
    assert_eq!(
        fields(settings),
        [
            ("/data/mode".to_owned(), "modified".to_owned()),
            (
                "/metadata/labels/team".to_owned(),
                "foreign-owned".to_owned()
            ),
        ],
        "{settings:#}"
    );
    assert!(
        settings["fields"][1]["managers"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("labeller"))),
        "{settings:#}"
    );
    let service = object(&report, &format!("Service/{name}/web"));
    assert_eq!(service["drift"], json!("missing"));
    assert_eq!(service["action"], json!("create"));
    let stray = object(&report, &format!("ConfigMap/{name}/stray"));
    assert_eq!(stray["drift"], json!("stray"));
    let tuned = object(&report, &format!("ConfigMap/{name}/tuned"));
    assert_eq!(
        tuned["drift"],
        Value::Null,
        "an ignored path is not drift: {tuned:#}"
    );
    assert_eq!(tuned["action"], json!("unchanged"), "{tuned:#}");
    let secret = object(&report, &format!("Secret/{name}/creds"));
    assert_eq!(secret["drift"], Value::Null, "{secret:#}");
    assert_eq!(report["totals"]["drifted"], json!(4), "{report:#}");
    let stdout = String::from_utf8_lossy(&drifted.stdout);
    assert!(
        !stdout.contains("c2VjcmV0LXZhbHVl") && !stdout.contains("plain-token-value"),
        "Secret values never show"
    );

    // The text diff: a unified diff on stdout, exit 2 without a terminal.
    let plain = k(&["diff"]);
    assert_eq!(plain.status.code(), Some(2), "{}", text(&plain));
    let out = String::from_utf8_lossy(&plain.stdout);
    assert!(
        out.contains("-    replicas: 3") || out.contains("-  replicas: 3"),
        "{out}"
    );
    assert!(out.contains("+  replicas: 1"), "{out}");
    let quiet = k(&["diff", "--exit-code=false"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));

    // Status with the render names the same objects; without it, judged from the record.
    let status = k(&["status", "-o", "json", "--exit-code"]);
    assert_eq!(status.status.code(), Some(2), "{}", text(&status));
    let status = json_of(&status);
    assert_valid("status.json", &status);
    assert_eq!(status["drifted"], json!(4), "{status:#}");
    let coarse = kfctl(&["status", "--name", &name, "-o", "json"]);
    assert_eq!(coarse.status.code(), Some(0), "{}", text(&coarse));
    let coarse = json_of(&coarse);
    assert_valid("status.json", &coarse);
    let states: Vec<(String, String)> = coarse["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap_or("").to_owned(),
                o["drift"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // The render comes from the install's revision, which pins the kustomization: the fields
    // are named without `-k`.
    let web = coarse["drift"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|o| o["id"] == format!("Deployment/{name}/web"))
        })
        .unwrap_or_else(|| panic!("the Deployment drifted: {coarse:#}"));
    assert_eq!(web["fieldsKnown"], json!(true), "{web:#}");
    assert_eq!(fields(web).len(), 2, "{web:#}");
    for expected in [
        (format!("Deployment/{name}/web"), "modified"),
        (format!("ConfigMap/{name}/settings"), "modified"),
        (format!("Service/{name}/web"), "missing"),
        (format!("ConfigMap/{name}/stray"), "stray"),
    ] {
        assert!(
            states.contains(&(expected.0.clone(), expected.1.to_owned())),
            "{expected:?} in {states:?}"
        );
    }

    // `--fix` restores, and the next diff is clean.
    let fixed = k(&["diff", "--fix", "--yes", "-o", "json", "--timeout", "3m"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let fixed = json_of(&fixed);
    assert_valid("diff.json", &fixed);
    assert_eq!(
        fixed["fixed"].as_array().map(Vec::len),
        Some(4),
        "{fixed:#}"
    );
    let after = k(&["diff", "-o", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    let after = json_of(&after);
    assert_eq!(after["changes"], json!(false), "{after:#}");
    let status = k(&["status", "--exit-code"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let coarse = kfctl(&["status", "--name", &name, "--exit-code"]);
    assert_eq!(coarse.status.code(), Some(0), "{}", text(&coarse));

    // The sidecar another manager injected is still there, the ignored value too.
    let client = ns.client();
    let deployment: k8s_openapi::api::apps::v1::Deployment =
        kube::Api::namespaced(client.clone(), &name)
            .get("web")
            .await
            .expect("read the Deployment");
    let spec = deployment.spec.expect("a spec");
    assert_eq!(spec.replicas, Some(1));
    let containers = spec.template.spec.expect("a pod spec").containers;
    assert_eq!(containers.len(), 2, "the sidecar stays");
    let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, &name);
    // The label another manager took is kfctl's value again; the stray is no longer a member.
    let settings = config_maps.get("settings").await.expect("read settings");
    let labels = settings.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("platform"));
    let stray = config_maps.get("stray").await.expect("the stray is kept");
    assert!(
        !stray
            .metadata
            .labels
            .unwrap_or_default()
            .contains_key(LABEL_PART_OF),
        "the stray was released"
    );
    let tuned = config_maps.get("tuned").await.expect("read tuned");
    assert_eq!(
        tuned.data.and_then(|d| d.get("level").cloned()).as_deref(),
        Some("7")
    );
}

/// A running `kfctl status --watch`: its stdout read line by line as it comes.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        use std::io::{BufRead, Read};
        let mut child = kfctl_bin::command()
            .args(["status", "--watch", "--interval", "1s"])
            .args(args)
            .arg("--kubeconfig")
            .arg(cluster().kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kfctl runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Watch {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one that `wanted` accepts, for at most two minutes.
    fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = wanted(&line);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!(
                    "no {what} in the watch ({e}); it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"));
        nix::sys::signal::kill(pid, signal).expect("signal kfctl");
    }

    /// Waits for the watch to end (two minutes at most): its exit code and stderr.
    fn end(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for kfctl") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the watch did not end; it printed:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let stderr = self.stderr.join().expect("stderr read");
        assert!(!stderr.contains("panicked"), "{stderr}");
        (status.code(), stderr)
    }
}

#[tokio::test]
async fn status_watch_shows_drift_as_it_happens_and_ends_cleanly() {
    let ns = cluster().namespace("watch").await;
    let name = ns.name().to_owned();
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {name}}}\ndata: {{mode: fast}}\n"
    ));
    let path = dir.path().to_str().expect("a UTF-8 path");
    let applied = kfctl(&["apply", "-k", path, "--name", &name, "--yes"]);
    assert!(applied.status.success(), "{}", text(&applied));

    // A change made while watching shows in a later refresh; SIGTERM ends the watch with 0.
    let mut watch = Watch::start(&["--name", &name]);
    watch.until("first report", |l| l == "drift: none");
    kubectl(&[
        "patch",
        "-n",
        &name,
        "configmap/settings",
        "-p",
        r#"{"data":{"mode":"slow"}}"#,
    ]);
    watch.until("drift", |l| l == "drift: 1 objects");
    let settings = format!("ConfigMap/{name}/settings (modified");
    watch.until("the drifted object", |l| l.contains(&settings));
    watch.signal(nix::sys::signal::Signal::SIGTERM);
    let (code, stderr) = watch.end();
    assert_eq!(code, Some(0), "{stderr}");

    // SIGINT too; with `--exit-code` the last report decides: drift, so 2.
    let mut watch = Watch::start(&["--name", &name, "--exit-code"]);
    watch.until("drift", |l| l == "drift: 1 objects");
    watch.signal(nix::sys::signal::Signal::SIGINT);
    let (code, stderr) = watch.end();
    assert_eq!(code, Some(2), "{stderr}");

    // Without `-k`, the revision's render names the fields, until the directory renders
    // something else: then only the object is named, and stderr says why.
    let pinned = kfctl(&["status", "--name", &name, "-o", "json"]);
    let report = json_of(&pinned);
    assert_valid("status.json", &report);
    assert_eq!(
        fields(&report["drift"][0]),
        [("/data/mode".to_owned(), "modified".to_owned())],
        "{report:#}"
    );
    std::fs::write(
        dir.path().join("objects.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {name}}}\ndata: {{mode: other}}\n"),
    )
    .expect("change the kustomization");
    let unpinned = kfctl(&["status", "--name", &name, "-o", "json"]);
    assert_eq!(unpinned.status.code(), Some(0), "{}", text(&unpinned));
    let report = json_of(&unpinned);
    assert_valid("status.json", &report);
    assert_eq!(report["drift"][0]["drift"], json!("modified"), "{report:#}");
    assert_eq!(
        report["drift"][0]["fieldsKnown"],
        json!(false),
        "{report:#}"
    );
    assert!(
        String::from_utf8_lossy(&unpinned.stderr)
            .contains("no longer renders what the revision installed"),
        "{}",
        text(&unpinned)
    );

    // The install disappears while watched: an error naming it, exit 1, no panic.
    let mut watch = Watch::start(&["--name", &name]);
    watch.until("drift", |l| l == "drift: 1 objects");
    kubectl(&[
        "delete",
        "-n",
        "kube-system",
        &format!("configmap/kfctl-{name}"),
    ]);
    let (code, stderr) = watch.end();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("install `{name}` is gone")),
        "{stderr}"
    );
}

/// A kfctl root of one platform, `tiny`, whose one component is `objects`.
fn tiny_root(objects: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("a temp dir");
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("make the directory");
        std::fs::write(path, text).expect("write");
    };
    write(
        "manifests/catalog.yaml",
        r#"apiVersion: kfctl.dev/v1alpha1
kind: Catalog
platforms: [tiny]
defaultRelease: "1"
components:
- {name: web, description: a web server, manifests: [web]}
releases:
- name: "1"
  description: the only one
  source: {name: none, version: v1, path: src}
  components: {web: []}
"#,
    );
    write(
        "platforms/tiny.yaml",
        "apiVersion: kfctl.dev/v1alpha1\nkind: PlatformProfile\nmetadata: {name: tiny, description: one component}\nspec:\n  components: [web]\n",
    );
    write(
        "manifests/web/kustomization.yaml",
        "resources: [objects.yaml]\n",
    );
    write("manifests/web/objects.yaml", objects);
    std::fs::create_dir_all(root.path().join("src")).expect("make src");
    std::fs::create_dir_all(root.path().join("overlays")).expect("make overlays");
    root
}

#[tokio::test]
async fn ignore_rules_of_kfctl_yaml_hide_changes_and_survive_fix() {
    let ns = cluster().namespace("ignore").await;
    let name = ns.name().to_owned();
    let root = tiny_root(&format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: registry.k8s.io/pause:3.10}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {name}}}
data: {{mode: fast, level: "1"}}
"#
    ));
    let config = root.path().join("kfctl.yaml");
    std::fs::write(
        &config,
        format!(
            r#"apiVersion: kfctl.dev/v1alpha1
kind: KfctlConfig
metadata: {{name: {name}}}
spec:
  platform: tiny
  drift:
    ignore:
    - target: {{kind: Deployment}}
      paths: [/spec/replicas]
    - target: {{kind: ConfigMap, namespace: {name}, name: settings}}
      paths: [/data/level]
"#
        ),
    )
    .expect("write kfctl.yaml");
    let root_path = root.path().to_str().expect("a UTF-8 path").to_owned();
    let config_path = config.to_str().expect("a UTF-8 path").to_owned();
    let f = |extra: &[&str]| -> Output {
        let mut args = vec![
            extra[0],
            "-f",
            &config_path,
            "--root",
            &root_path,
            "--name",
            &name,
        ];
        args.extend_from_slice(&extra[1..]);
        kfctl(&args)
    };
    let applied = f(&["apply", "--yes", "--timeout", "3m"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let clean = f(&["diff", "-o", "json"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));

    // Ignored and not ignored changes on both objects; the ConfigMap through `kubectl edit`.
    kubectl(&["scale", "-n", &name, "deployment/web", "--replicas=3"]);
    kubectl(&[
        "set",
        "image",
        "-n",
        &name,
        "deployment/web",
        "web=registry.k8s.io/pause:3.9",
    ]);
    let edited = Command::new("kubectl")
        .args(["edit", "-n", &name, "configmap/settings", "--kubeconfig"])
        .arg(cluster().kubeconfig())
        .env(
            "KUBE_EDITOR",
            r#"sed -i -e 's/mode: fast/mode: slow/' -e 's/level: "1"/level: "7"/'"#,
        )
        .stdin(Stdio::null())
        .output()
        .expect("kubectl edit runs");
    assert!(edited.status.success(), "{}", text(&edited));

    let drifted = f(&["diff", "-o", "json"]);
    assert_eq!(drifted.status.code(), Some(2), "{}", text(&drifted));
    let report = json_of(&drifted);
    assert_valid("diff.json", &report);
    let web = object(&report, &format!("Deployment/{name}/web"));
    assert_eq!(
        fields(web),
        [(
            "/spec/template/spec/containers/name=web/image".to_owned(),
            "modified".to_owned()
        )],
        "replicas are ignored: {web:#}"
    );
    let settings = object(&report, &format!("ConfigMap/{name}/settings"));
    assert_eq!(
        fields(settings),
        [("/data/mode".to_owned(), "modified".to_owned())],
        "the level is ignored: {settings:#}"
    );
    let status = f(&["status", "-o", "json", "--exit-code"]);
    assert_eq!(status.status.code(), Some(2), "{}", text(&status));
    let status = json_of(&status);
    assert_valid("status.json", &status);
    // A platform install: one row per catalog component, as the inventory records them.
    assert_eq!(status["groupedBy"], json!("component"), "{status:#}");
    assert_eq!(rows(&status), [("web".to_owned(), 2)], "{status:#}");
    // Without `-f`, the revision pins the same `kfctl.yaml`: its rules still apply.
    let pinned = kfctl(&["status", "--name", &name, "-o", "json"]);
    let pinned = json_of(&pinned);
    let settings = pinned["drift"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|o| o["id"] == format!("ConfigMap/{name}/settings"))
        })
        .unwrap_or_else(|| panic!("the ConfigMap drifted: {pinned:#}"));
    assert_eq!(
        fields(settings),
        [("/data/mode".to_owned(), "modified".to_owned())],
        "{settings:#}"
    );

    // `--fix` restores what is not ignored and leaves the ignored fields as they are.
    let fixed = f(&["diff", "--fix", "--yes", "--timeout", "3m"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let client = ns.client();
    let deployment: k8s_openapi::api::apps::v1::Deployment =
        kube::Api::namespaced(client.clone(), &name)
            .get("web")
            .await
            .expect("read the Deployment");
    let spec = deployment.spec.expect("a spec");
    assert_eq!(spec.replicas, Some(3), "the ignored replicas stay");
    let image = spec.template.spec.expect("a pod spec").containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("registry.k8s.io/pause:3.10"));
    let settings: k8s_openapi::api::core::v1::ConfigMap = kube::Api::namespaced(client, &name)
        .get("settings")
        .await
        .expect("read the ConfigMap");
    let data = settings.data.unwrap_or_default();
    assert_eq!(data.get("mode").map(String::as_str), Some("fast"));
    assert_eq!(data.get("level").map(String::as_str), Some("7"), "ignored");

    let after = f(&["diff", "-o", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    let after = json_of(&after);
    assert_eq!(after["changes"], json!(false), "{after:#}");
    let status = kfctl(&["status", "--name", &name, "--exit-code"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(out.contains("\ncomponents:\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("web") && l.ends_with("/2 ready")),
        "{out}"
    );

    // An inventory written before kfctl recorded components: grouped by the render the
    // revision pins, made again.
    kubectl(&[
        "patch",
        "-n",
        "kube-system",
        &format!("configmap/kfctl-{name}"),
        "--type",
        "json",
        "-p",
        r#"[{"op": "remove", "path": "/data/components"}]"#,
    ]);
    let earlier = json_of(&kfctl(&["status", "--name", &name, "-o", "json"]));
    assert_valid("status.json", &earlier);
    assert_eq!(earlier["groupedBy"], json!("component"), "{earlier:#}");
    assert_eq!(rows(&earlier), [("web".to_owned(), 2)], "{earlier:#}");
}

/// Each row of a status report's `components`: its name and how many objects it has.
fn rows(status: &Value) -> Vec<(String, u64)> {
    status["components"]
        .as_array()
        .unwrap_or_else(|| panic!("components: {status:#}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["objects"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn errors_exit_1() {
    let ns = cluster().namespace("drift-errors").await;
    let missing = kfctl(&["diff", "-k", "/nonexistent/kfctl-test", "--name", ns.name()]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    let unknown = kfctl(&["status", "--name", ns.name(), "--exit-code"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("has no inventory"),
        "{}",
        text(&unknown)
    );
    let nothing = kfctl(&["diff", "--exit-code"]);
    assert_eq!(nothing.status.code(), Some(1), "{}", text(&nothing));
}
