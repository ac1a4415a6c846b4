//! Admission webhooks are real: a ValidatingWebhookConfiguration whose Service
//! has no endpoints makes matching requests fail with `failurePolicy: Fail`, and
//! lets them through with `Ignore`.

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::cluster::{cluster, eventually};

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": "v"},
    }))
    .expect("a valid ConfigMap")
}

fn policy(webhook: &str, policy: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "webhooks": [{"name": webhook, "failurePolicy": policy}],
    })
}

#[tokio::test]
async fn webhook_without_endpoints_fails_closed_or_open_by_policy() {
    let ns = cluster().namespace("webhook").await;
    let name = ns.name().to_string();
    let webhook = format!("deny.{name}.kfctl.test");

    let services: Api<Service> = Api::namespaced(ns.client(), &name);
    let service: Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "validator"},
        "spec": {"selector": {"app": "no-such-pod"}, "ports": [{"port": 443, "targetPort": 8443}]},
    }))
    .unwrap();
    services
        .create(&PostParams::default(), &service)
        .await
        .unwrap();

    let configs: Api<ValidatingWebhookConfiguration> = Api::all(ns.client());
    let config: ValidatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": webhook,
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5,
            "clientConfig": {"service": {"namespace": name, "name": "validator", "path": "/validate", "port": 443}},
            "rules": [{
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["configmaps"],
            }],
            // Only this test's namespace: other tests must not see the webhook.
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
        }],
    }))
    .unwrap();
    configs
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    ns.delete_later(&format!("validatingwebhookconfiguration/{name}"));

    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), &name);
    let mut attempt = 0;
    // The API server picks up new webhook configurations asynchronously.
    let status = eventually(
        "a ConfigMap create to be rejected by the webhook (failurePolicy Fail)",
        Duration::from_secs(60),
        || {
            attempt += 1;
            let cm = config_map(&format!("denied-{attempt}"));
            let maps = maps.clone();
            async move {
                match maps.create(&PostParams::default(), &cm).await {
                    Err(kube::Error::Api(status)) => Ok(status),
                    Err(e) => Err(format!("unexpected error {e}")),
                    Ok(_) => Err("the create was admitted".to_string()),
                }
            }
        },
    )
    .await;
    assert_eq!(status.code, 500, "{status:?}");
    assert!(
        status
            .message
            .contains(&format!("failed calling webhook \"{webhook}\"")),
        "{}",
        status.message
    );
    assert!(
        status
            .message
            .contains("no endpoints available for service"),
        "{}",
        status.message
    );

    configs
        .patch(
            &name,
            &PatchParams::apply("kfctl-test").force(),
            &Patch::Apply(policy(&webhook, "Ignore")),
        )
        .await
        .unwrap();
    let mut attempt = 0;
    let created = eventually(
        "a ConfigMap create to be admitted (failurePolicy Ignore)",
        Duration::from_secs(60),
        || {
            attempt += 1;
            let cm = config_map(&format!("admitted-{attempt}"));
            let maps = maps.clone();
            async move {
                maps.create(&PostParams::default(), &cm)
                    .await
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    let created_name = created.metadata.name.unwrap();
    let stored = maps.get(&created_name).await.unwrap();
    assert_eq!(
        stored.data.unwrap_or_default().get("k").map(String::as_str),
        Some("v")
    );
}
