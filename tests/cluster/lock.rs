//! The install's lock, the real binary against the control plane: a Lease held by another run
//! stops an apply, naming the holder, with nothing written; a Lease whose holder stopped
//! renewing it is taken over, saying whose it was; two applies started together never both
//! write.

use std::process::Stdio;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::apply::{kfctl, text};
use crate::cluster::cluster;
use crate::kfctl_bin;
use crate::preflight::{config_map_exists, kustomization, lease_exists, path, stderr};

const HOLDER: &str = "kfctl apply on elsewhere (pid 4242)";

#[tokio::test]
async fn a_held_lease_stops_the_apply_and_a_stale_one_is_taken_over() {
    let ns = cluster().namespace("lock").await;
    let name = ns.name();
    let leases: Api<Lease> = Api::namespaced(ns.client(), "kube-system");
    let acquired = Timestamp::now();
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": format!("kfctl-{name}")},
        "spec": {
            "holderIdentity": HOLDER,
            "leaseDurationSeconds": 3600,
            "acquireTime": micro(acquired),
            "renewTime": micro(acquired),
        },
    }))
    .expect("a Lease");
    leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("another run holds the lock");
    let dir = kustomization(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: guarded, namespace: {name}}}\n"
    ));

    let out = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--lock-timeout",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("install `{name}` is locked by `{HOLDER}` since ")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "waiting up to 2s for the lock of install `{name}`"
        )),
        "{err}"
    );
    assert!(err.contains("`--lock-timeout`"), "{err}");
    assert!(
        !config_map_exists(&ns, name, "guarded").await,
        "nothing applied"
    );
    assert!(
        !config_map_exists(&ns, "kube-system", &format!("kfctl-{name}")).await,
        "no inventory"
    );

    // The holder stopped renewing an hour ago: its lease has expired.
    let an_hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    leases
        .patch(
            &format!("kfctl-{name}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {
                "leaseDurationSeconds": 15,
                "acquireTime": micro(an_hour_ago),
                "renewTime": micro(an_hour_ago),
            }})),
        )
        .await
        .expect("age the lease");
    let out = kfctl(&[
        "apply",
        "-k",
        path(&dir),
        "--name",
        name,
        "--yes",
        "--lock-timeout",
        "2s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "took over the lock of install `{name}`: it was stale, held by `{HOLDER}`"
        )),
        "{err}"
    );
    assert!(config_map_exists(&ns, name, "guarded").await);
    assert!(
        !lease_exists(&ns, name).await,
        "the lock is released at the end"
    );
}

/// Two applies of one install started together: each either applies alone or fails on the
/// lock naming the other, and the install ends applied once, consistently.
#[tokio::test]
async fn concurrent_applies_of_one_install_never_both_hold_the_lock() {
    let ns = cluster().namespace("lock-race").await;
    let name = ns.name();
    let dir = kustomization(&format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: shared, namespace: {name}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: registry.k8s.io/pause:3.10}}]}}
"#
    ));
    let spawn = || {
        kfctl_bin::command()
            .args(["apply", "-k", path(&dir), "--name", name, "--yes"])
            .args(["--lock-timeout", "0", "--timeout", "3m"])
            .arg("--kubeconfig")
            .arg(cluster().kubeconfig())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kfctl starts")
    };
    let (a, b) = (spawn(), spawn());
    let outs = [
        a.wait_with_output().expect("kfctl ends"),
        b.wait_with_output().expect("kfctl ends"),
    ];
    let succeeded = outs.iter().filter(|o| o.status.success()).count();
    assert!(succeeded >= 1, "{}\n{}", text(&outs[0]), text(&outs[1]));
    for out in outs.iter().filter(|o| !o.status.success()) {
        assert_eq!(out.status.code(), Some(1), "{}", text(out));
        let err = stderr(out);
        assert!(
            err.contains(&format!("install `{name}` is locked by `kfctl apply on ")),
            "a failure is the lock, naming the other run: {err}"
        );
    }
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), name);
    assert!(maps.get_opt("shared").await.expect("a read").is_some());
    assert!(
        !lease_exists(&ns, name).await,
        "the lock is released at the end"
    );
}

/// A MicroTime as the API server reads it: RFC 3339 with exactly six fractional digits.
fn micro(t: Timestamp) -> String {
    format!("{t:.6}")
}
