//! A KfDef's platform plugin (`KfGcpPlugin`, `KfAwsPlugin`): its fields as platform
//! parameters, or notes saying why not.

use serde_json::Value;

use super::convert::Params;
use super::{Note, Plugin, scalar};
use crate::shell;

/// The fields of a plugin's spec.
struct Fields<'a> {
    plugin: &'a Plugin,
}

impl Fields<'_> {
    /// A field that is set.
    fn field(&self, key: &str) -> Option<&Value> {
        self.plugin.spec.get(key).filter(|v| !v.is_null())
    }

    /// A field that is set, as text, when not empty.
    fn text(&self, key: &str) -> Option<String> {
        self.field(key).map(scalar).filter(|s| !s.is_empty())
    }

    /// Notes that `what`, of the plugin, is not carried over, and why.
    fn note(&self, notes: &mut Vec<Note>, what: String, why: &str) {
        notes.push(Note {
            what: format!("{} {what}", self.plugin.kind),
            line: self.plugin.at.line,
            why: why.to_owned(),
        })
    }

    /// Notes each setting of `table` the plugin makes.
    fn not_carried_over(&self, notes: &mut Vec<Note>, table: &[NotCarriedOver]) {
        for setting in table {
            let Some(value) = self.field(setting.field) else {
                continue;
            };
            if setting
                .when
                .is_none_or(|when| value.as_bool() == Some(when))
            {
                self.note(notes, format!("spec.{}", setting.field), setting.why);
            }
        }
    }
}

/// A plugin field kfctl has no setting for, noted when it is set (to `when`, if given).
struct NotCarriedOver {
    field: &'static str,
    when: Option<bool>,
    why: &'static str,
}

/// The fields of `KfGcpPlugin` kfctl reads.
const GCP_FIELDS: &[&str] = &[
    "project",
    "zone",
    "email",
    "hostname",
    "enableWorkloadIdentity",
    "iap",
    "ipName",
    "useBasicAuth",
    "skipInitProject",
    "createPipelinePersistentStorage",
    "deploymentManagerConfig",
];

/// The fields of `KfAwsPlugin` kfctl reads.
const AWS_FIELDS: &[&str] = &["region", "roles", "enablePodIamPolicy", "auth"];

/// Sets the platform parameters a plugin's fields give (`name` is the KfDef's), with a note for
/// each field kfctl has no setting for.
pub(super) fn plugin_parameters(
    plugin: &Plugin,
    name: &str,
    params: &mut Params<'_>,
    notes: &mut Vec<Note>,
) {
    let r = Fields { plugin };
    let known: &[&str] = match plugin.kind.as_str() {
        "KfGcpPlugin" => {
            gcp(&r, name, params, notes);
            GCP_FIELDS
        }
        "KfAwsPlugin" => {
            aws(&r, params, notes);
            AWS_FIELDS
        }
        other => {
            r.note(
                notes,
                String::new(),
                &format!("kfctl knows no `{other}` plugin; the platform is `onprem`"),
            );
            &[]
        }
    };
    if let Some(map) = plugin.spec.as_object() {
        for (k, v) in map {
            if !known.contains(&k.as_str()) && !v.is_null() {
                r.note(
                    notes,
                    format!("spec.{k} ({})", scalar(v)),
                    "kfctl has no setting for it",
                );
            }
        }
    }
}

/// `KfGcpPlugin`: project, zone and region, admin e-mail, domain, workload identity; notes for
/// the IAP client and what kfctl does not do on GCP.
fn gcp(r: &Fields<'_>, name: &str, params: &mut Params<'_>, notes: &mut Vec<Note>) {
    let kind = r.plugin.kind.as_str();
    let at = &r.plugin.at;
    let project = r.text("project");
    if let Some(p) = &project {
        params.set(
            notes,
            "project",
            p.clone(),
            format!("{kind} spec.project"),
            at,
        );
    }
    if let Some(zone) = r.text("zone") {
        params.set(notes, "zone", zone.clone(), format!("{kind} spec.zone"), at);
        if let Some((region, _)) = zone.rsplit_once('-') {
            params.set(
                notes,
                "region",
                region.to_owned(),
                format!("{kind} spec.zone (its region)"),
                at,
            );
        }
    }
    if let Some(email) = r.text("email") {
        params.set(notes, "adminEmail", email, format!("{kind} spec.email"), at);
    }
    match (r.text("hostname"), &project) {
        (Some(h), _) => params.set(notes, "domain", h, format!("{kind} spec.hostname"), at),
        // kfctl v1's default: a Cloud Endpoints name in the project.
        (None, Some(p)) => params.set(
            notes,
            "domain",
            format!("{name}.endpoints.{p}.cloud.goog"),
            format!("{kind} (kfctl v1's default hostname)"),
            at,
        ),
        (None, None) => {}
    }
    if let (Some(true), Some(p)) = (
        r.field("enableWorkloadIdentity").and_then(Value::as_bool),
        &project,
    ) {
        // The Google service account kfctl v1 created and bound for user workloads.
        params.set(
            notes,
            "workloadIdentityServiceAccount",
            format!("{name}-user@{p}.iam.gserviceaccount.com"),
            format!("{kind} spec.enableWorkloadIdentity (kfctl v1's `{name}-user` account)"),
            at,
        );
    }
    if let Some(iap) = r.field("iap") {
        iap_note(r, iap, notes);
    }
    if let Some(ip) = r.text("ipName") {
        r.note(
            notes,
            format!("spec.ipName ({ip})"),
            "the GKE Ingress gets an ephemeral address; to keep the reserved one, annotate the Ingress `kubeflow-iap` with `kubernetes.io/ingress.global-static-ip-name`",
        );
    }
    r.not_carried_over(notes, GCP_NOT_CARRIED_OVER);
}

/// `KfGcpPlugin` settings kfctl does not carry over.
const GCP_NOT_CARRIED_OVER: &[NotCarriedOver] = &[
    NotCarriedOver {
        field: "useBasicAuth",
        when: Some(true),
        why: "basic auth is gone; users sign in through IAP and Dex (set `spec.admin` for the first user)",
    },
    NotCarriedOver {
        field: "deploymentManagerConfig",
        when: None,
        why: "kfctl does not create GKE clusters or GCP resources; create the cluster, the GCS bucket (`gcsBucket`) and the service account first",
    },
    NotCarriedOver {
        field: "skipInitProject",
        when: Some(false),
        why: "kfctl does not enable GCP APIs or set up the project",
    },
    NotCarriedOver {
        field: "createPipelinePersistentStorage",
        when: Some(true),
        why: "on gcp, pipelines keep artifacts in the GCS bucket `gcsBucket` and their database on a `storageClass` volume kfctl declares",
    },
];

/// `KfAwsPlugin`: region, certificate and account; notes for roles and authentication.
fn aws(r: &Fields<'_>, params: &mut Params<'_>, notes: &mut Vec<Note>) {
    let kind = r.plugin.kind.as_str();
    let at = &r.plugin.at;
    let spec = &r.plugin.spec;
    if let Some(r) = r.text("region") {
        params.set(notes, "region", r, format!("{kind} spec.region"), at);
    }
    if let Some(cert) = spec.pointer("/auth/cognito/certArn").map(scalar) {
        params.set(
            notes,
            "certificateArn",
            cert.clone(),
            format!("{kind} spec.auth.cognito.certArn"),
            at,
        );
        if let Some(account) = cert.split(':').nth(4) {
            params.set(
                notes,
                "accountId",
                account.to_owned(),
                format!("{kind} spec.auth.cognito.certArn (its account)"),
                at,
            );
        }
    }
    if let Some(roles) = r.field("roles") {
        r.note(
            notes,
            format!("spec.roles ({})", scalar(roles)),
            "kfctl v1 attached policies to node instance roles; kfctl uses IRSA roles instead: set `pipelineRoleArn` and `notebookRoleArn`",
        );
    }
    r.not_carried_over(
        notes,
        &[NotCarriedOver {
            field: "enablePodIamPolicy",
            when: None,
            why: "pod IAM roles are always IRSA roles on aws (`pipelineRoleArn`, `notebookRoleArn`)",
        }],
    );
    if let Some(auth) = r.field("auth") {
        if auth.get("cognito").is_some() {
            r.note(
                notes,
                "spec.auth.cognito".to_owned(),
                "Cognito authentication is not supported; users sign in through Dex (set `spec.admin` for the first user, or connect Dex to an upstream identity provider)",
            );
        }
        if let Some(basic) = auth.get("basicAuth") {
            let user = basic.get("username").map(scalar).unwrap_or_default();
            r.note(
                notes,
                format!("spec.auth.basicAuth (user `{user}`)"),
                "basic auth is gone; the first user signs in through Dex: set `spec.admin.email` and `spec.admin.passwordHash` (`kfctl init` makes the hash)",
            );
        }
    }
}

/// The note for `KfGcpPlugin`'s `spec.iap`: the command that creates the OAuth client's secret,
/// which never goes into `kfctl.yaml`.
fn iap_note(r: &Fields<'_>, iap: &Value, notes: &mut Vec<Note>) {
    // An id with control characters is not printed for pasting: a terminal would
    // act on them, and what the person copies would not be what the KfDef says.
    let given_id = iap.get("oAuthClientId").map(scalar);
    let id = given_id
        .clone()
        .filter(|id| !id.chars().any(char::is_control))
        .unwrap_or_else(|| "CLIENT_ID".to_owned());
    let secret_name = iap
        .pointer("/oAuthClientSecret/name")
        .map(scalar)
        .unwrap_or_else(|| "CLIENT_SECRET".to_owned());
    // Every word is quoted for the shell it is pasted into; the client secret is
    // read from the variable kfctl v1 read, when that is a name a shell expands.
    let variable = if shell::is_variable_name(&secret_name) {
        secret_name.clone()
    } else {
        "CLIENT_SECRET".to_owned()
    };
    let command = format!(
        "kubectl -n istio-system create secret generic kubeflow-iap-oauth {} --from-literal=client_secret=\"${variable}\"",
        shell::quote(&format!("--from-literal=client_id={id}"))
    );
    r.note(
        notes,
        "spec.iap (OAuth client)".to_owned(),
        &format!(
            "a secret never goes into `kfctl.yaml`; before applying, create the secret the gcp gateway's IAP reads: `{command}` (kfctl v1 read the client secret from the environment variable {}){}",
            if variable == secret_name {
                format!("`{secret_name}`")
            } else {
                format!("{secret_name:?}, which is no name a shell can expand")
            },
            match given_id {
                Some(given) if given != id => format!(
                    "; the KfDef's client id {given:?} holds control characters: write the real one for `CLIENT_ID`"
                ),
                _ => String::new(),
            }
        ),
    );
}
