//! What `kfctl apply` draws on a terminal: a bar per wave (objects done of the wave's total),
//! then the summary; typed into a real pseudo-terminal.

use std::process::Command;

use rexpect::session::spawn_command;

use crate::cluster::cluster;
use crate::kfctl_bin;

/// Long enough for a debug build on a busy machine; nothing here asserts on time.
const EXPECT_TIMEOUT_MS: u64 = 180_000;

#[tokio::test]
async fn a_terminal_shows_a_bar_per_wave() {
    let ns = cluster().namespace("progress").await;
    let name = ns.name().to_owned();
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [objects.yaml]\n",
    )
    .expect("write the kustomization");
    std::fs::write(
        dir.path().join("objects.yaml"),
        format!(
            r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {name}}}
data: {{mode: fast}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: c, image: registry.k8s.io/pause:3.10, resources: {{requests: {{cpu: 10m}}}}}}
"#
        ),
    )
    .expect("write the objects");

    // Not `kfctl_bin::command`: its stdin must stay the terminal's.
    let mut cmd = Command::new(kfctl_bin::BIN);
    kfctl_bin::hermetic(&mut cmd)
        .args(["apply", "-k"])
        .arg(dir.path())
        .args(["--name", &name, "--yes", "--timeout", "3m", "--kubeconfig"])
        .arg(cluster().kubeconfig())
        .env("TERM", "xterm");
    let mut session =
        spawn_command(cmd, Some(EXPECT_TIMEOUT_MS)).expect("kfctl starts on a pseudo-terminal");
    for wanted in [
        "wave 1/2: RBAC, classes and configuration (1 objects)",
        "wave 2/2: workloads and custom resources (1 objects)",
    ] {
        if let Err(e) = session.exp_string(wanted) {
            panic!("waited for {wanted:?} on the terminal: {e}");
        }
    }
    // The bar: `[` the bar `]` then objects done of the wave's total.
    if let Err(e) = session.exp_regex(r"\[[=> ]{25}\] [01]/1") {
        panic!("waited for a progress bar on the terminal: {e}");
    }
    match session.exp_string("everything is healthy") {
        Ok(before) => assert!(
            before.contains(&format!("created Deployment/{name}/web")),
            "{before}"
        ),
        Err(e) => panic!("waited for the summary on the terminal: {e}"),
    }
}
