//! Object identity: group/version/kind plus namespace and name, as kustomize's `resid` defines it.

use std::fmt;

/// Group, version and kind of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// Kinds the Kubernetes API serves without a namespace, keyed by group. The same list kustomize
/// precomputes from its built-in OpenAPI document; anything else, custom resources included, is
/// namespaced unless a CRD in the render says otherwise.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "NodeProxyOptions"),
    ("", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Gvk {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// Splits an `apiVersion` (`apps/v1`, `v1`) and pairs it with a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = split_api_version(api_version);
        Gvk::new(group, version, kind)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the API serves this kind without a namespace (built-in kinds only).
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED
            .iter()
            .any(|(g, k)| *g == self.group && *k == self.kind)
    }

    /// Empty fields of `selector` match anything.
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }
}

pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.kind)
        } else {
            write!(f, "{}/{} {}", self.group, self.version, self.kind)
        }
    }
}

/// The identity of one object. `namespace` is empty for cluster-scoped objects and for namespaced
/// objects that name none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    pub fn new(gvk: Gvk, name: &str, namespace: &str) -> Self {
        ResId {
            gvk,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    /// The namespace as the API server would see it: none for cluster-scoped kinds, `default`
    /// for namespaced objects that name none. Ids are equal when these are.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            ""
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Equality as kustomize judges it: `default` and no namespace are the same.
    pub fn same_as(&self, other: &ResId) -> bool {
        self.name == other.name
            && self.gvk == other.gvk
            && self.effective_namespace() == other.effective_namespace()
    }

    /// A key that is equal exactly when `same_as` holds.
    pub fn key(&self) -> (Gvk, String, String) {
        (
            self.gvk.clone(),
            self.effective_namespace().to_owned(),
            self.name.clone(),
        )
    }
}

/// `Kind/namespace/name`, or `Kind/name` when there is no namespace, as Flux prints ids.
impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = &self.gvk.kind;
        if self.namespace.is_empty() {
            write!(f, "{kind}/{}", self.name)
        } else {
            write!(f, "{kind}/{}/{}", self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_namespace_equals_none() {
        let a = ResId::new(Gvk::new("", "v1", "ConfigMap"), "x", "");
        let b = ResId::new(Gvk::new("", "v1", "ConfigMap"), "x", "default");
        assert!(a.same_as(&b));
        assert_eq!(a.key(), b.key());
        let c = ResId::new(Gvk::new("", "v1", "ConfigMap"), "x", "kubeflow");
        assert!(!a.same_as(&c));
    }

    #[test]
    fn cluster_scoped_ignores_namespace() {
        let a = ResId::new(Gvk::new("", "v1", "Namespace"), "x", "foo");
        let b = ResId::new(Gvk::new("", "v1", "Namespace"), "x", "");
        assert!(a.same_as(&b));
    }

    #[test]
    fn api_version_round_trip() {
        let g = Gvk::from_api_version("apps/v1", "Deployment");
        assert_eq!(g.group, "apps");
        assert_eq!(g.api_version(), "apps/v1");
        assert_eq!(Gvk::from_api_version("v1", "Pod").api_version(), "v1");
    }
}
