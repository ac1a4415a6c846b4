//! CustomResourceDefinitions: a CRD becomes Established, and a custom resource
//! of it round-trips through the API server (with unknown fields pruned by the
//! structural schema, and the schema's validation enforced).

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};

use crate::cluster::{cluster, eventually};

#[tokio::test]
async fn crd_is_established_and_custom_resources_round_trip() {
    let ns = cluster().namespace("crd").await;
    let group = format!("{}.kfctl.test", ns.name());
    let crd_name = format!("widgets.{group}");
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client());
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object",
                        "required": ["size"],
                        "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "color": {"type": "string", "enum": ["red", "blue"]},
                        },
                    }},
                }},
            }],
        },
    }))
    .unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    ns.delete_later(&format!("customresourcedefinition/{crd_name}"));

    eventually(
        &format!("CRD {crd_name} to be Established"),
        Duration::from_secs(60),
        || async {
            let crd = crds.get(&crd_name).await.map_err(|e| e.to_string())?;
            let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
            if conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
            {
                Ok(())
            } else {
                Err(format!("{conditions:?}"))
            }
        },
    )
    .await;

    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(ns.client(), ns.name(), &resource);
    let widget: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": format!("{group}/v1"),
        "kind": "Widget",
        "metadata": {"name": "gadget", "labels": {"tier": "gold"}},
        "spec": {"size": 3, "color": "blue", "unknownField": "pruned"},
    }))
    .unwrap();
    // Established means served; the first write may still race the handler.
    let created = eventually(
        "the API server to accept a Widget",
        Duration::from_secs(30),
        || async {
            widgets
                .create(&PostParams::default(), &widget)
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await;
    assert!(created.metadata.uid.is_some(), "the server assigned no uid");

    let got = widgets.get("gadget").await.unwrap();
    assert_eq!(got.types.as_ref().map(|t| t.kind.as_str()), Some("Widget"));
    assert_eq!(
        got.metadata
            .labels
            .unwrap_or_default()
            .get("tier")
            .map(String::as_str),
        Some("gold")
    );
    assert_eq!(
        got.data["spec"],
        serde_json::json!({"size": 3, "color": "blue"}),
        "spec as stored (unknownField pruned)"
    );
    let listed = widgets.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);

    let invalid: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": format!("{group}/v1"),
        "kind": "Widget",
        "metadata": {"name": "broken"},
        "spec": {"size": 0, "color": "green"},
    }))
    .unwrap();
    match widgets.create(&PostParams::default(), &invalid).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(status.message.contains("spec.size"), "{}", status.message);
            assert!(status.message.contains("spec.color"), "{}", status.message);
        }
        other => panic!("an invalid Widget was not rejected: {other:?}"),
    }
}
