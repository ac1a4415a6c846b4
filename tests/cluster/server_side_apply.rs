//! Server-side apply: a second field manager applying a field another manager
//! owns gets a conflict from the API server, unless it forces.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};

use crate::cluster::cluster;

fn config(value: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"mode": value},
    })
}

#[tokio::test]
async fn apply_by_a_second_manager_conflicts() {
    let ns = cluster().namespace("ssa").await;
    let maps: Api<ConfigMap> = Api::namespaced(ns.client(), ns.name());

    let first = maps
        .patch(
            "settings",
            &PatchParams::apply("kfctl-alpha"),
            &Patch::Apply(config("fast")),
        )
        .await
        .unwrap();
    assert_eq!(
        first
            .data
            .unwrap_or_default()
            .get("mode")
            .map(String::as_str),
        Some("fast")
    );

    // The same value from another manager is shared ownership, not a conflict.
    maps.patch(
        "settings",
        &PatchParams::apply("kfctl-beta"),
        &Patch::Apply(config("fast")),
    )
    .await
    .unwrap();
    // Back to a single owner, then a different value from the other manager.
    maps.patch(
        "settings",
        &PatchParams::apply("kfctl-beta"),
        &Patch::Apply(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
        })),
    )
    .await
    .unwrap();

    match maps
        .patch(
            "settings",
            &PatchParams::apply("kfctl-beta"),
            &Patch::Apply(config("safe")),
        )
        .await
    {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert_eq!(status.reason, "Conflict", "{status:?}");
            assert!(status.message.contains("kfctl-alpha"), "{}", status.message);
            assert!(status.message.contains(".data.mode"), "{}", status.message);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let unchanged = maps.get("settings").await.unwrap();
    assert_eq!(
        unchanged
            .data
            .unwrap_or_default()
            .get("mode")
            .map(String::as_str),
        Some("fast")
    );

    let forced = maps
        .patch(
            "settings",
            &PatchParams::apply("kfctl-beta").force(),
            &Patch::Apply(config("safe")),
        )
        .await
        .unwrap();
    assert_eq!(
        forced
            .data
            .unwrap_or_default()
            .get("mode")
            .map(String::as_str),
        Some("safe")
    );
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.to_string().contains("f:mode"))
        })
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(
        managers,
        vec!["kfctl-beta".to_string()],
        "owners of data.mode"
    );
}
