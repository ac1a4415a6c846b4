//! `kfctl apply` in front of an admission webhook whose backend comes up late: a validating
//! webhook of the test's own (HTTPS, a self-signed certificate made here, reached by URL) that
//! only starts answering some seconds after the apply starts. The apply waits for it, says what
//! it waits on, sends the objects behind it once it admits, and no failed request reaches the
//! user. Also: a change to an immutable field is named, and made only with `--force`.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::apply::{kustomization, text};
use crate::cluster::{TestNamespace, cluster};
use crate::kfctl_bin;

/// `kfctl ARGS --kubeconfig <the harness's>`, hermetic, stdin closed; async, so a server of the
/// test on the same runtime keeps answering meanwhile.
async fn kfctl(args: &[&str]) -> Output {
    tokio::process::Command::from(kfctl_bin::kfctl_on(cluster().kubeconfig(), args))
        .output()
        .await
        .expect("kfctl runs")
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("a UTF-8 temp path")
}

/// What the webhook server saw: `(kind, name, dryRun)` of each admission review it answered.
type Seen = Arc<Mutex<Vec<(String, String, bool)>>>;

/// When the webhook server starts answering; the test may move it.
type AnswersAt = Arc<Mutex<Instant>>;

/// An HTTPS validating webhook on 127.0.0.1 that admits everything, but until `answers_at`
/// drops every connection as soon as it is accepted, as a server that is not up yet. Returns
/// its port, the PEM of its certificate, and what it saw.
async fn start_webhook(answers_at: AnswersAt) -> (u16, String, Seen) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    let cert_pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("a TLS server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("an address").port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            if Instant::now() < *answers_at.lock().unwrap_or_else(|e| e.into_inner()) {
                drop(stream);
                continue;
            }
            let acceptor = acceptor.clone();
            let record = record.clone();
            let answers_at = answers_at.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let _ = serve(tls, record, answers_at).await;
                }
            });
        }
    });
    (port, cert_pem, seen)
}

/// HTTP/1.1 with keep-alive, enough for the API server's admission requests; a connection kept
/// open from before is dropped while the server is "down".
async fn serve<S>(stream: S, seen: Seen, answers_at: AnswersAt) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut first = true;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if first {
                first = false;
                continue;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        if Instant::now() < *answers_at.lock().unwrap_or_else(|e| e.into_inner()) {
            return Ok(());
        }
        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let request = &review["request"];
        seen.lock().unwrap_or_else(|e| e.into_inner()).push((
            request["kind"]["kind"].as_str().unwrap_or("").to_owned(),
            request["name"].as_str().unwrap_or("").to_owned(),
            request["dryRun"].as_bool().unwrap_or(false),
        ));
        let answer = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": request["uid"], "allowed": true},
        })
        .to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        stream.get_mut().write_all(response.as_bytes()).await?;
        stream.get_mut().flush().await?;
    }
}

/// The webhook's configuration, a CRD and a custom resource of it, two Services and a ConfigMap
/// it intercepts and a Deployment it does not; all in (or named after) the test's namespace.
/// The ConfigMap goes before the webhook configuration: only a webhook already on the cluster
/// intercepts it.
fn render(ns: &TestNamespace, port: u16, cert_pem: &str) -> String {
    let name = ns.name();
    let ca = base64::engine::general_purpose::STANDARD.encode(cert_pem);
    format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: {name}}}
webhooks:
- name: guard.{name}.kfctl.test
  clientConfig: {{url: "https://127.0.0.1:{port}/validate", caBundle: {ca}}}
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 5
  rules:
  - {{apiGroups: ["", "{name}.kfctl.test"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: [services, widgets, configmaps]}}
  # Only this test's namespace: other tests must not see the webhook.
  namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {name}}}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{name}.kfctl.test}}
spec:
  group: {name}.kfctl.test
  names: {{kind: Widget, plural: widgets, singular: widget}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{size: {{type: integer}}}}}}
---
apiVersion: {name}.kfctl.test/v1
kind: Widget
metadata: {{name: small, namespace: {name}}}
spec: {{size: 3}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: conf, namespace: {name}}}
data: {{mode: fast}}
---
apiVersion: v1
kind: Service
metadata: {{name: front, namespace: {name}}}
spec: {{ports: [{{port: 80}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: back, namespace: {name}}}
spec: {{ports: [{{port: 81}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: free, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: free}}}}
  template:
    metadata: {{labels: {{app: free}}}}
    spec:
      containers:
      - {{name: c, image: registry.k8s.io/pause:3.10, resources: {{requests: {{cpu: 10m}}}}}}
"#
    )
}

#[tokio::test]
async fn objects_behind_a_webhook_wait_until_it_admits_and_no_request_fails() {
    let ns = cluster().namespace("admission").await;
    let name = ns.name().to_owned();
    ns.delete_later(&format!("validatingwebhookconfiguration/{name}"));
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));

    let answers_at: AnswersAt = Arc::new(Mutex::new(Instant::now() + Duration::from_secs(10)));
    let (port, cert_pem, seen) = start_webhook(answers_at.clone()).await;
    let dir = kustomization(&render(&ns, port, &cert_pem));
    let out = kfctl(&[
        "apply",
        "-k",
        path(dir.path()),
        "--name",
        &name,
        "--yes",
        "--timeout",
        "4m",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let hook = format!("guard.{name}.kfctl.test");
    assert!(
        err.contains(&format!(
            "waiting for webhook `{hook}` (URL https://127.0.0.1:{port}/validate)"
        )),
        "what is waited on is said: {err}"
    );
    assert!(err.contains(&format!("webhook `{hook}` admits")), "{err}");
    for line in err.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("failed")
                && !line.starts_with("ERROR")
                && !line.starts_with("WARN")
                && !line.contains("failed calling webhook")
                && !line.contains("500"),
            "a failed request reached the user: {line}\n{err}"
        );
    }
    for object in [
        format!("created Service/{name}/front"),
        format!("created Service/{name}/back"),
        format!("created Widget/{name}/small"),
    ] {
        assert!(err.contains(&object), "{object}: {err}");
    }
    // The Deployment is behind no webhook: it went without waiting for this one.
    let free = err
        .find(&format!("created Deployment/{name}/free"))
        .expect("the Deployment is created");
    let admits = err.find(&format!("webhook `{hook}` admits")).unwrap_or(0);
    assert!(free < admits, "{err}");

    // The webhook really was asked, for the writes themselves and not only for dry runs.
    let first_seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (kind, object) in [
        ("Service", "front"),
        ("Service", "back"),
        ("Widget", "small"),
    ] {
        assert!(
            first_seen
                .iter()
                .any(|(k, n, dry)| k == kind && n == object && !dry),
            "the webhook never admitted the write of {kind} {object}: {first_seen:?}"
        );
    }
    let services: Api<Service> = Api::namespaced(ns.client(), &name);
    assert!(services.get_opt("front").await.expect("get").is_some());

    // Now the webhook is on the cluster, and goes down for a while: a changed ConfigMap, of a
    // wave before the webhook configurations, waits for it too.
    *answers_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now() + Duration::from_secs(8);
    let changed = render(&ns, port, &cert_pem).replace("mode: fast", "mode: safe");
    std::fs::write(dir.path().join("objects.yaml"), changed).expect("rewrite");
    let again = kfctl(&[
        "apply",
        "-k",
        path(dir.path()),
        "--name",
        &name,
        "--yes",
        "--timeout",
        "4m",
    ])
    .await;
    assert!(again.status.success(), "{}", text(&again));
    let err = String::from_utf8_lossy(&again.stderr);
    let configuration = err
        .find("wave 1/4: RBAC, classes and configuration")
        .or_else(|| err.find("RBAC, classes and configuration"))
        .expect("the configuration wave");
    let waiting = err
        .find(&format!("waiting for webhook `{hook}`"))
        .unwrap_or_else(|| panic!("no wait for the webhook on the cluster: {err}"));
    assert!(configuration < waiting, "{err}");
    assert!(
        err.contains(&format!("configured ConfigMap/{name}/conf")),
        "{err}"
    );
    for line in err.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("failed") && !line.contains("failed calling webhook"),
            "a failed request reached the user: {line}\n{err}"
        );
    }
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|(k, n, dry)| k == "ConfigMap" && n == "conf" && !dry),
        "the webhook never admitted the write of ConfigMap conf: {seen:?}"
    );
}

/// A Deployment whose selector changes.
fn deployment(ns: &str, app: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers:
      - {{name: c, image: registry.k8s.io/pause:3.10, resources: {{requests: {{cpu: 10m}}}}}}
"#
    )
}

#[tokio::test]
async fn an_immutable_field_is_named_and_changed_only_with_force() {
    let ns = cluster().namespace("immutable").await;
    let name = ns.name().to_owned();
    let dir = kustomization(&deployment(&name, "one"));
    let first = kfctl(&["apply", "-k", path(dir.path()), "--name", &name, "--yes"]).await;
    assert!(first.status.success(), "{}", text(&first));
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), &name);
    let before = deployments.get("web").await.expect("the Deployment");

    std::fs::write(dir.path().join("objects.yaml"), deployment(&name, "two")).expect("rewrite");
    let refused = kfctl(&["apply", "-k", path(dir.path()), "--name", &name, "--yes"]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains(&format!("Deployment/{name}/web")), "{err}");
    assert!(err.contains("field `spec.selector` is immutable"), "{err}");
    assert!(err.contains("hint: pass `--force`"), "{err}");
    let unchanged = deployments.get("web").await.expect("the Deployment");
    assert_eq!(unchanged.metadata.uid, before.metadata.uid);

    let forced = kfctl(&[
        "apply",
        "-k",
        path(dir.path()),
        "--name",
        &name,
        "--yes",
        "--force",
        "--timeout",
        "3m",
    ])
    .await;
    assert!(forced.status.success(), "{}", text(&forced));
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(
        err.contains(&format!("recreated Deployment/{name}/web")),
        "{err}"
    );
    assert!(err.contains("1 recreated"), "{err}");
    let after = deployments.get("web").await.expect("the Deployment");
    assert_ne!(after.metadata.uid, before.metadata.uid, "a new object");
    let selector = after.spec.expect("a spec").selector.match_labels;
    assert_eq!(
        selector.and_then(|l| l.get("app").cloned()).as_deref(),
        Some("two")
    );
}

#[tokio::test]
async fn a_webhook_that_never_admits_is_named_with_its_backend() {
    let ns = cluster().namespace("admission-down").await;
    let name = ns.name().to_owned();
    ns.delete_later(&format!("validatingwebhookconfiguration/{name}"));
    ns.delete_later(&format!("crd/widgets.{name}.kfctl.test"));

    let never = Instant::now() + Duration::from_secs(24 * 3600);
    let (port, cert_pem, _) = start_webhook(Arc::new(Mutex::new(never))).await;
    let dir = kustomization(&render(&ns, port, &cert_pem));
    let out = kfctl(&[
        "apply",
        "-k",
        path(dir.path()),
        "--name",
        &name,
        "--yes",
        "--timeout",
        "40s",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let front = format!("    Service/{name}/front (");
    let line = err
        .lines()
        .find(|l| l.starts_with(&front))
        .unwrap_or_else(|| panic!("Service front is named: {err}"));
    assert!(line.contains("/objects.yaml:"), "with its origin: {line}");
    assert!(
        line.ends_with(&format!(
            ": behind webhook `guard.{name}.kfctl.test` (URL https://127.0.0.1:{port}/validate), which did not admit requests before the 40s timeout passed"
        )),
        "{line}"
    );
    let last = format!("the last call to webhook `guard.{name}.kfctl.test`: ");
    assert_eq!(err.matches(&last).count(), 1, "named once: {err}");
    assert!(
        err[err.find(&last).unwrap_or(0)..].contains("failed calling webhook"),
        "the last error: {err}"
    );
    assert!(
        err.contains(&format!(
            "hint: check that the server at `https://127.0.0.1:{port}/validate` is up"
        )),
        "{err}"
    );
    // What the webhook does not intercept went through.
    let services: Api<Service> = Api::namespaced(ns.client(), &name);
    assert!(services.get_opt("front").await.expect("get").is_none());
    let deployments: Api<Deployment> = Api::namespaced(ns.client(), &name);
    assert!(deployments.get_opt("free").await.expect("get").is_some());
}
