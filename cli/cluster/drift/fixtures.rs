//! Objects the drift tests share.

use serde_json::{Value, json};

pub(super) fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "a", "namespace": "n", "labels": {"app.kubernetes.io/name": "a"},
          "managedFields": [
            {"manager": "kfctl", "operation": "Apply", "apiVersion": "apps/v1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
               "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
            {"manager": "injector", "operation": "Apply", "apiVersion": "apps/v1",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}}
          ]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:1", "imagePullPolicy": "IfNotPresent"},
            {"name": "sidecar", "image": "proxy:1"}]}}},
        "status": {"replicas": 1}
    })
}
