//! Who the API server says kfctl is, for the install's history.

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, PostParams};

use super::client::Cluster;

/// The user the API server authenticated (`system:serviceaccount:ns:name`, `kubernetes-admin`)
/// from a SelfSubjectReview; the kubeconfig's user name when the server cannot say.
pub async fn who(cluster: &Cluster) -> String {
    let api: Api<SelfSubjectReview> = Api::all(cluster.client().clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await;
    match review {
        Ok(r) => r
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .unwrap_or_else(|| cluster.user().to_owned()),
        Err(e) => {
            tracing::debug!("cannot ask the server who we are: {e}");
            cluster.user().to_owned()
        }
    }
}
