//! The local platform with every component through its releases: install 1.10.2, upgrade to
//! 1.11.0 with the ServiceAccount `kfctl generate upgrade-job` makes (its token in a kubeconfig,
//! as the Job's pod would run), then to 26.03 and to 26.03.1-rc.2 (whose catalog migration
//! recreates what changed selectors); four revisions, each healthy with no drift; a user's label,
//! Profile, namespace and claim kept; a rollback to revision 1 that restores what a fresh render
//! of 1.10.2 holds; and the job's RBAC with a permission removed failing with a message naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cluster::cluster;
use crate::kfctl_bin;

/// A root for kfctl whose catalog finds the corpus releases: kfctl's own `manifests/`,
/// `platforms/` and `overlays/`, with `../shared/corpus` (where the catalog looks) linked to
/// the corpus beside `KFCTL_CORPUS`.
fn root_with_corpus() -> tempfile::TempDir {
    let base = tempfile::tempdir().expect("a temp dir");
    let root = base.path().join("kfctl");
    std::fs::create_dir_all(&root).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    for d in ["manifests", "platforms", "overlays"] {
        std::os::unix::fs::symlink(src.join(d), root.join(d)).expect("link");
    }
    let corpus = crate::kubeflow_corpus::dir("kubeflow-manifests");
    let corpus_parent = corpus.parent().expect("the corpus has a parent");
    std::fs::create_dir_all(base.path().join("shared")).expect("mkdir");
    std::os::unix::fs::symlink(corpus_parent, base.path().join("shared/corpus")).expect("link");
    base
}

struct Run {
    root: PathBuf,
}

impl Run {
    fn kfctl(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        kfctl_bin::command()
            .args(args)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("KFCTL_ROOT", &self.root)
            .output()
            .expect("kfctl runs")
    }

    fn build(&self, args: &[&str]) -> Output {
        kfctl_bin::command()
            .arg("build")
            .args(args)
            .env("KFCTL_ROOT", &self.root)
            .output()
            .expect("kfctl runs")
    }

    fn admin(&self, args: &[&str]) -> Output {
        self.kfctl(cluster().kubeconfig(), args)
    }
}

fn text(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The whole log of a platform install is long: what failed, and its end.
    let lines: Vec<&str> = stderr.lines().collect();
    let failures: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.starts_with("error")
                || l.contains("caused by")
                || l.starts_with("hint")
                || l.contains("failed")
        })
        .collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    format!(
        "exit {:?}\n--- stdout (head)\n{}\n--- stderr (failures)\n{}\n--- stderr (tail)\n{tail}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(3000)
            .collect::<String>(),
        failures.join("\n")
    )
}

fn kubectl(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("kubectl ends")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A kubeconfig for the harness's cluster that authenticates with `token`.
fn token_kubeconfig(dir: &Path, token: &str) -> PathBuf {
    let path = dir.join("sa.kubeconfig");
    std::fs::copy(cluster().kubeconfig(), &path).expect("copy the kubeconfig");
    let with = |args: &[&str]| {
        let out = Command::new("kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(&path)
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cluster_name = with(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.cluster}",
    ]);
    with(&[
        "config",
        "set-credentials",
        "upgrade-job",
        &format!("--token={token}"),
    ]);
    with(&[
        "config",
        "set-context",
        "upgrade-job",
        &format!("--cluster={cluster_name}"),
        "--user=upgrade-job",
    ]);
    with(&["config", "use-context", "upgrade-job"]);
    path
}

fn revisions(run: &Run) -> Vec<Value> {
    let out = run.admin(&["history", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice::<Value>(&out.stdout).expect("JSON")["revisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `Kind/namespace/name` → container images, of every workload of a render (`kfctl build -o
/// json`) or of the cluster.
fn images_of(list: &Value) -> BTreeMap<String, Vec<String>> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet")
            )
        })
        .map(|o| {
            let images = o
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c["image"].as_str().map(str::to_owned))
                .collect();
            (
                format!(
                    "{}/{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    o.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                images,
            )
        })
        .collect()
}

/// `group/Kind/namespace/name` of an object (`-` for no namespace).
fn key_of(api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let namespace = if namespace.is_empty() { "-" } else { namespace };
    format!("{group}/{kind}/{namespace}/{name}")
}

/// The install's record: its ApplySet id and the objects it lists.
fn record() -> (String, BTreeSet<String>) {
    let parent: Value = serde_json::from_str(&ok(kubectl(
        &[
            "get",
            "configmap",
            "kfctl-kubeflow",
            "-n",
            "kube-system",
            "-o",
            "json",
        ],
        None,
    )))
    .expect("JSON");
    let id = parent
        .pointer("/metadata/labels/applyset.kubernetes.io~1id")
        .and_then(Value::as_str)
        .expect("the parent's ApplySet id")
        .to_owned();
    let objects = parent
        .pointer("/data/objects")
        .and_then(Value::as_str)
        .unwrap_or("")
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() == 5).then(|| key_of(f[0], f[1], if f[2] == "-" { "" } else { f[2] }, f[3]))
        })
        .collect();
    (id, objects)
}

/// `Kind.group` of each recorded key, as `kubectl get` takes it.
fn kinds_of(keys: &BTreeSet<String>) -> BTreeSet<String> {
    keys.iter()
        .filter_map(|k| {
            let mut parts = k.splitn(3, '/');
            let (group, kind) = (parts.next()?, parts.next()?);
            Some(if group.is_empty() {
                kind.to_owned()
            } else {
                format!("{kind}.{group}")
            })
        })
        .collect()
}

/// Every object of `kinds` labelled as a member of ApplySet `id`.
fn labelled(id: &str, kinds: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for kind in kinds {
        let out = kubectl(
            &[
                "get",
                kind,
                "-A",
                "-l",
                &format!("applyset.kubernetes.io/part-of={id}"),
                "-o",
                "json",
            ],
            None,
        );
        // A kind whose CRD the upgrade pruned is not served any more: nothing of it is left.
        if !out.status.success()
            && String::from_utf8_lossy(&out.stderr)
                .contains("the server doesn't have a resource type")
        {
            continue;
        }
        let list: Value = serde_json::from_str(&ok(out)).expect("JSON");
        for o in list["items"].as_array().into_iter().flatten() {
            let at = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("");
            found.insert(key_of(
                at("/apiVersion"),
                at("/kind"),
                at("/metadata/namespace"),
                at("/metadata/name"),
            ));
        }
    }
    found
}

/// `(group, Kind)` of every kind the API server serves without a namespace, custom ones included.
fn cluster_scoped_kinds() -> BTreeSet<(String, String)> {
    ok(kubectl(
        &["api-resources", "--namespaced=false", "--no-headers"],
        None,
    ))
    .lines()
    .filter_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (api_version, kind) = (f.get(f.len().checked_sub(3)?)?, f.last()?);
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        Some((group.to_owned(), (*kind).to_owned()))
    })
    .collect()
}

/// `group/Kind/namespace/name` of every object of a render (`kfctl build -o json`), with no
/// namespace for a cluster-scoped kind (kustomize gives kinds it does not know the
/// kustomization's namespace; the API server drops it).
fn render_keys(render: &Value) -> BTreeMap<String, (String, String, String, String)> {
    let cluster_scoped = cluster_scoped_kinds();
    render["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let at = |p: &str| {
                o.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let (api_version, kind) = (at("/apiVersion"), at("/kind"));
            let group = api_version
                .rsplit_once('/')
                .map_or("", |(g, _)| g)
                .to_owned();
            let namespace = match cluster_scoped.contains(&(group, kind.clone())) {
                true => String::new(),
                false => at("/metadata/namespace"),
            };
            let parts = (api_version, kind, namespace, at("/metadata/name"));
            (key_of(&parts.0, &parts.1, &parts.2, &parts.3), parts)
        })
        .collect()
}

/// After a step from the render of `from` to that of `to` (each as `kfctl build` takes it;
/// `run_err` is the step's stderr): `kfctl diff` finds no drift, nothing labelled as the
/// install's is outside its record, and what `to` no longer has is gone (or was kept, and said
/// so). `before` is the record before the step, for the kinds to look at.
fn assert_step(
    run: &Run,
    from: Option<&[&str]>,
    to: &[&str],
    before: &BTreeSet<String>,
    run_err: &str,
) {
    let mut diff = vec!["diff"];
    diff.extend(to);
    diff.extend(["--name", "kubeflow", "--exit-code"]);
    let diff = run.admin(&diff);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "drift after {to:?}: {}",
        text(&diff)
    );
    let (id, recorded) = record();
    let kinds: BTreeSet<String> = kinds_of(&recorded)
        .union(&kinds_of(before))
        .cloned()
        .collect();
    let outside: Vec<String> = labelled(&id, &kinds)
        .difference(&recorded)
        .cloned()
        .collect();
    assert!(
        outside.is_empty(),
        "after {to:?}, labelled but not recorded: {outside:#?}"
    );
    let Some(from) = from else { return };
    let render = |input: &[&str]| -> Value {
        let mut args = input.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&ok(run.build(&args))).expect("the render is JSON")
    };
    let new = render_keys(&render(to));
    let dropped: Vec<(String, String, String, String)> = render_keys(&render(from))
        .into_iter()
        .filter(|(k, _)| !new.contains_key(k))
        .map(|(_, parts)| parts)
        .collect();
    let mut left = Vec::new();
    for (api_version, kind, namespace, name) in &dropped {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let resource = if group.is_empty() {
            kind.clone()
        } else {
            format!("{kind}.{group}")
        };
        let mut args = vec![
            "get",
            resource.as_str(),
            name.as_str(),
            "--ignore-not-found",
            "-o",
            "json",
        ];
        if !namespace.is_empty() {
            args.extend(["-n", namespace.as_str()]);
        }
        let out = kubectl(&args, None);
        let gone = !out.status.success()
            && String::from_utf8_lossy(&out.stderr)
                .contains("the server doesn't have a resource type");
        let live = String::from_utf8_lossy(&out.stdout);
        if gone || live.trim().is_empty() {
            continue;
        }
        // An object kfctl ever wrote names kfctl among its managers. One that does not was made
        // again by someone else after kfctl deleted it (kfctl's prune counts an object with a
        // new uid as gone): it is not the install's.
        let live: Value = serde_json::from_str(&live).expect("kubectl prints JSON");
        let written_by_kfctl = live
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .is_some_and(|fields| fields.iter().any(|f| f["manager"] == "kfctl"));
        if !written_by_kfctl {
            continue;
        }
        let id = if namespace.is_empty() {
            format!("{kind}/{name}")
        } else {
            format!("{kind}/{namespace}/{name}")
        };
        if !run_err.contains(&format!("kept {id} (")) {
            left.push(id);
        }
    }
    assert!(
        left.is_empty(),
        "{from:?} → {to:?}: dropped but left: {left:#?}"
    );
}

/// A user's work the install does not own: a Profile, its namespace and a claim in it.
const USER_DATA: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: kubeflow-user-test
---
apiVersion: kubeflow.org/v1
kind: Profile
metadata:
  name: kubeflow-user-test
spec:
  owner: {kind: User, name: test@example.com}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: workspace
  namespace: kubeflow-user-test
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"#;

/// The user's Profile, namespace and claim are all still there.
fn assert_user_data_kept(after: &str) {
    for args in [
        ["get", "profile", "kubeflow-user-test", "-o", "name", "", ""],
        [
            "get",
            "namespace",
            "kubeflow-user-test",
            "-o",
            "name",
            "",
            "",
        ],
        [
            "get",
            "pvc",
            "workspace",
            "-o",
            "name",
            "-n",
            "kubeflow-user-test",
        ],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let out = kubectl(&args, None);
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "after {after}, `kubectl {}` finds nothing: {}",
            args.join(" "),
            text(&out)
        );
    }
}

/// Upgrades the install to `release` as an admin; its output.
fn upgrade_to(run: &Run, release: &str) -> Output {
    let out = run.admin(&[
        "upgrade",
        "--to",
        release,
        "--yes",
        "--timeout",
        "15m",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "to {release}: {}", text(&out));
    out
}

#[tokio::test]
async fn the_local_platform_upgrades_through_its_releases_and_rolls_back() {
    let base = root_with_corpus();
    let run = Run {
        root: base.path().join("kfctl"),
    };
    let work = tempfile::tempdir().expect("a temp dir");
    let everything = work.path().join("every-component.yaml");
    std::fs::write(
        &everything,
        crate::kubeflow_corpus::every_component_config("1.10.2"),
    )
    .expect("write the config");
    let everything = everything.to_str().expect("utf-8");

    let installed = run.admin(&["apply", "-f", everything, "--yes", "--timeout", "15m"]);
    assert!(installed.status.success(), "{}", text(&installed));
    let first: &[&str] = &["-f", everything, "--release", "1.10.2"];
    assert_step(&run, None, first, &BTreeSet::new(), "");
    ok(kubectl(&["apply", "-f", "-"], Some(USER_DATA)));

    // A user's own label on a Deployment kfctl manages.
    let client = cluster().client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "cert-manager");
    deployments
        .patch(
            "cert-manager",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "cert-manager", "labels": {"team": "platform"}},
            })),
        )
        .await
        .expect("label the Deployment");

    // The upgrade job's manifests pass a server-side dry run, as a Job and as a CronJob (in a
    // dry run nothing is created, so the namespace they go to must exist first).
    ok(kubectl(&["create", "namespace", "kfctl-system"], None));
    let job = ok(run.admin(&["generate", "upgrade-job", "--to", "1.11.0"]));
    assert!(job.contains("kind: Job"), "{job}");
    ok(kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&job),
    ));
    let cron = ok(run.admin(&[
        "generate",
        "upgrade-job",
        "--to",
        "1.11.0",
        "--schedule",
        "0 3 * * 0",
    ]));
    assert!(cron.contains("concurrencyPolicy: Forbid"), "{cron}");
    ok(kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&cron),
    ));

    // The job's identity: its ServiceAccount, RBAC and config made for real, a token for the
    // ServiceAccount, and the job's own command line.
    ok(kubectl(&["apply", "--server-side", "-f", "-"], Some(&job)));
    let token = ok(kubectl(
        &[
            "create",
            "token",
            "kfctl-upgrade-kubeflow",
            "-n",
            "kfctl-system",
            "--duration",
            "2h",
        ],
        None,
    ));
    let sa_kubeconfig = token_kubeconfig(work.path(), token.trim());
    let config = ok(kubectl(
        &[
            "get",
            "configmap",
            "kfctl-upgrade-kubeflow-config",
            "-n",
            "kfctl-system",
            "-o",
            "jsonpath={.data.kfctl\\.yaml}",
        ],
        None,
    ));
    let config_file = work.path().join("kfctl.yaml");
    std::fs::write(&config_file, config).expect("write the config");
    let config_path = config_file.to_str().expect("utf-8");
    let before = record().1;
    let by_job = run.kfctl(
        &sa_kubeconfig,
        &[
            "upgrade",
            "--to",
            "1.11.0",
            "--name",
            "kubeflow",
            "-f",
            config_path,
            "--yes",
            "--atomic",
            "--timeout",
            "15m",
            "-o",
            "json",
        ],
    );
    assert!(by_job.status.success(), "{}", text(&by_job));
    let report: Value = serde_json::from_slice(&by_job.stdout).expect("JSON");
    assert_eq!(report["succeeded"], json!(true), "{report:#}");
    assert_eq!(report["to"], json!("1.11.0"));
    // The job renders from its config; so do the checks of what it installed.
    let second: &[&str] = &["-f", config_path, "--release", "1.11.0"];
    assert_step(
        &run,
        Some(first),
        second,
        &before,
        &String::from_utf8_lossy(&by_job.stderr),
    );
    assert_user_data_kept("1.11.0");
    let before = record().1;

    let stable = upgrade_to(&run, "26.03");
    let third: &[&str] = &["-f", config_path, "--release", "26.03"];
    assert_step(
        &run,
        Some(second),
        third,
        &before,
        &String::from_utf8_lossy(&stable.stderr),
    );
    assert_user_data_kept("26.03");
    let before = record().1;

    // The release candidate moves directories and changes selectors: its catalog migration
    // recreates the profiles controller first, shown in the plan, with no `--force`.
    let candidate = upgrade_to(&run, "26.03.1-rc.2");
    let err = String::from_utf8_lossy(&candidate.stderr);
    assert!(
        err.contains("migrations (done first, in this order):")
            && err.contains("recreate Deployment/kubeflow/profiles-deployment")
            && err.contains("deleted Deployment/kubeflow/profiles-deployment (migration)"),
        "{}",
        text(&candidate)
    );
    let fourth: &[&str] = &["-f", config_path, "--release", "26.03.1-rc.2"];
    assert_step(&run, Some(third), fourth, &before, &err);
    assert_user_data_kept("26.03.1-rc.2");

    let history = revisions(&run);
    let summary: Vec<(String, String, String)> = history
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or("").to_owned(),
                r["release"].as_str().unwrap_or("").to_owned(),
                r["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("apply".into(), "1.10.2".into(), "succeeded".into()),
            ("upgrade".into(), "1.11.0".into(), "succeeded".into()),
            ("upgrade".into(), "26.03".into(), "succeeded".into()),
            ("upgrade".into(), "26.03.1-rc.2".into(), "succeeded".into()),
        ]
    );
    assert_eq!(
        history[1]["who"],
        json!("system:serviceaccount:kfctl-system:kfctl-upgrade-kubeflow")
    );
    let labels = deployments
        .get("cert-manager")
        .await
        .expect("read cert-manager")
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("platform"));

    // Back to revision 1: every object of a fresh 1.10.2 render is there, each workload with
    // that render's images.
    let before = record().1;
    let rolled = run.admin(&[
        "rollback",
        "--to-revision",
        "1",
        "--yes",
        "--timeout",
        "15m",
    ]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    assert_step(
        &run,
        Some(fourth),
        first,
        &before,
        &String::from_utf8_lossy(&rolled.stderr),
    );
    assert_user_data_kept("the rollback");
    let render: Value = serde_json::from_str(&ok(run.build(&[
        "-f",
        everything,
        "--release",
        "1.10.2",
        "-o",
        "json",
    ])))
    .expect("the render is JSON");
    let mut live_items = Vec::new();
    for kind in ["deployments", "statefulsets", "daemonsets"] {
        let out = ok(kubectl(&["get", kind, "-A", "-o", "json"], None));
        let list: Value = serde_json::from_str(&out).expect("JSON");
        live_items.extend(
            list["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut o| {
                    o["kind"] = json!(match kind {
                        "deployments" => "Deployment",
                        "statefulsets" => "StatefulSet",
                        _ => "DaemonSet",
                    });
                    o
                }),
        );
    }
    let live = images_of(&json!({"items": live_items}));
    let wanted = images_of(&render);
    assert!(
        wanted.len() > 20,
        "{} workloads in the render",
        wanted.len()
    );
    let differing: Vec<String> = wanted
        .iter()
        .filter(|(id, images)| live.get(*id) != Some(*images))
        .map(|(id, images)| format!("{id}: want {images:?}, live {:?}", live.get(id)))
        .collect();
    assert!(
        differing.is_empty(),
        "not as 1.10.2 renders them: {differing:#?}"
    );
    assert_eq!(revisions(&run)[4]["sourceRevision"], json!(1));

    // The job's RBAC without `deployments`: the upgrade fails and names what is missing.
    let role = ok(kubectl(
        &["get", "clusterrole", "kfctl-upgrade-kubeflow", "-o", "json"],
        None,
    ));
    let mut role: Value = serde_json::from_str(&role).expect("JSON");
    for rule in role["rules"].as_array_mut().expect("rules") {
        if rule["apiGroups"] == json!(["apps"])
            && let Some(resources) = rule["resources"].as_array_mut()
        {
            resources.retain(|r| r != "deployments");
        }
    }
    role["metadata"] = json!({"name": "kfctl-upgrade-kubeflow"});
    ok(kubectl(
        &["replace", "-f", "-"],
        Some(&serde_json::to_string(&role).expect("JSON")),
    ));
    let (_, recorded_before) = record();
    let parent_version = || {
        ok(kubectl(
            &[
                "get",
                "configmap",
                "kfctl-kubeflow",
                "-n",
                "kube-system",
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ],
            None,
        ))
    };
    let version_before = parent_version();
    let refused = run.kfctl(
        &sa_kubeconfig,
        &[
            "upgrade",
            "--to",
            "1.11.0",
            "--name",
            "kubeflow",
            "-f",
            config_path,
            "--yes",
            "--timeout",
            "5m",
        ],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    // Preflight names what is missing, and nothing was written: no wave started, the record
    // and the history are as they were.
    assert!(
        err.contains("preflight found")
            && err.contains("`deployments.apps`")
            && err.contains("nothing was applied"),
        "{}",
        text(&refused)
    );
    assert!(!err.contains("wave 1/"), "{}", text(&refused));
    assert_eq!(parent_version(), version_before, "the record was written");
    assert_eq!(record().1, recorded_before);
    assert_eq!(revisions(&run).len(), 5);
}
