//! `kfctl import`: a kfctl v1 `KfDef` (`kfdef.apps.kubeflow.org/v1`) turned into a `kfctl.yaml`.
//!
//! A KfDef lists kustomize applications of the v1 manifests repository by name and path, and a
//! platform plugin (`KfGcpPlugin`, `KfAwsPlugin`) holding the cloud settings. Applications map to
//! catalog components through a table of the v1 names; plugin fields map to the platform's
//! parameters. Everything without a counterpart is returned as a note saying why, so nothing is
//! dropped silently. Pure: the command reads the files and prints.

use serde_json::Value;

use super::doc::{Node, SourceFile};
use super::write::{KfctlConfig, comment};
use super::{API_VERSION, ProfileError};
use crate::render::Loc;

mod applications;
mod convert;
mod plugins;

pub use convert::convert;

/// The `apiVersion` of the KfDefs kfctl v1.0 to v1.2 wrote.
pub const KFDEF_API_VERSION: &str = "kfdef.apps.kubeflow.org/v1";

/// A parsed KfDef: what the import reads of it.
#[derive(Debug, Clone)]
pub struct KfDef {
    pub name: Option<String>,
    pub cluster_name: Option<String>,
    pub version: Option<String>,
    pub applications: Vec<Application>,
    pub repos: Vec<(String, String, Loc)>,
    pub plugin: Option<Plugin>,
    /// Fields read but not carried over: (field, value as written, where).
    pub unread: Vec<(String, String, Loc)>,
}

#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    pub path: Option<String>,
    pub overlays: Vec<String>,
    /// (name, value); v1 left some values unset for `kfctl build` to fill.
    pub parameters: Vec<(String, Option<String>)>,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct Plugin {
    /// `KfGcpPlugin` or `KfAwsPlugin`.
    pub kind: String,
    pub spec: Value,
    pub at: Loc,
}

/// Something of the KfDef that the new config does not hold, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What it is: `application `katib``, `spec.repos[0]`, `KfGcpPlugin spec.iap`.
    pub what: String,
    pub line: Option<usize>,
    pub why: String,
}

/// The import's result: the config and what it could not carry over.
#[derive(Debug, Clone)]
pub struct Imported {
    pub platform: String,
    pub release: String,
    pub config: KfctlConfig,
    /// Comment lines above the YAML.
    header: Vec<String>,
    /// Comment lines for the required parameters still to set.
    missing_comments: Vec<String>,
    /// Each v1 application and the components it became (empty: none).
    pub mapped: Vec<(String, Vec<String>)>,
    /// Required platform parameters the KfDef gives no value for.
    pub missing: Vec<String>,
    pub notes: Vec<Note>,
}

/// Reads a KfDef; any other document is an error naming the file and line.
pub fn parse(file: &SourceFile) -> Result<KfDef, ProfileError> {
    let root = file.root();
    let not_kfdef = |node: &Node<'_>, message: String| ProfileError::Invalid {
        message,
        at: node.loc(),
        hint: Some(format!(
            "`kfctl import` reads a kfctl v1 KfDef, which starts with `apiVersion: {KFDEF_API_VERSION}` and `kind: KfDef`"
        )),
    };
    if !root.value.is_object() {
        return Err(not_kfdef(
            &root,
            "not a KfDef: the file holds no YAML map".to_owned(),
        ));
    }
    let api = root
        .get("apiVersion")
        .ok_or_else(|| not_kfdef(&root, "not a KfDef: `apiVersion` is missing".to_owned()))?;
    let api_text = api.str()?;
    if api_text == API_VERSION {
        return Err(not_kfdef(
            &api,
            "this is already a kfctl config, not a KfDef".to_owned(),
        ));
    }
    if api_text != KFDEF_API_VERSION {
        return Err(not_kfdef(
            &api,
            format!("not a KfDef: `apiVersion` is `{api_text}`, expected `{KFDEF_API_VERSION}`"),
        ));
    }
    let kind = root
        .get("kind")
        .ok_or_else(|| not_kfdef(&root, "not a KfDef: `kind` is missing".to_owned()))?;
    if kind.str()? != "KfDef" {
        return Err(not_kfdef(
            &kind,
            format!("not a KfDef: `kind` is `{}`", kind.str()?),
        ));
    }
    let mut def = KfDef {
        name: None,
        cluster_name: None,
        version: None,
        applications: Vec::new(),
        repos: Vec::new(),
        plugin: None,
        unread: Vec::new(),
    };
    if let Some(meta) = root.get("metadata") {
        def.name = meta.get_string("name")?;
        def.cluster_name = meta.get_string("clusterName")?;
    }
    let spec = root.require("spec")?;
    for field in spec.entries()? {
        match field.key() {
            "applications" => {
                for app in field.list()? {
                    def.applications.push(parse_application(&app)?);
                }
            }
            "repos" => {
                for repo in field.list()? {
                    let name = repo.require("name")?.str()?.to_owned();
                    let uri = repo.get("uri").map(|u| u.str()).transpose()?.unwrap_or("");
                    def.repos.push((name, uri.to_owned(), repo.loc()));
                }
            }
            "plugins" => {
                for plugin in field.list()? {
                    let kind = plugin.require("kind")?.str()?.to_owned();
                    let spec = plugin.get("spec").map(|s| s.value.clone());
                    let parsed = Plugin {
                        kind,
                        spec: spec.unwrap_or(Value::Null),
                        at: plugin.loc(),
                    };
                    if def.plugin.is_some() {
                        def.unread.push((
                            format!("plugin `{}`", parsed.kind),
                            String::new(),
                            parsed.at.clone(),
                        ));
                    } else {
                        def.plugin = Some(parsed);
                    }
                }
            }
            "version" => def.version = Some(scalar(field.value)),
            _ => def
                .unread
                .push((field.name(), scalar(field.value), field.loc())),
        }
    }
    Ok(def)
}

fn parse_application(app: &Node<'_>) -> Result<Application, ProfileError> {
    let name = app.require("name")?.str()?.to_owned();
    let mut out = Application {
        name,
        path: None,
        overlays: Vec::new(),
        parameters: Vec::new(),
        at: app.loc(),
    };
    let Some(kc) = app.get("kustomizeConfig") else {
        return Ok(out);
    };
    if let Some(repo) = kc.get("repoRef") {
        out.path = repo.get_string("path")?;
    }
    out.overlays = kc.get_strings("overlays")?;
    if let Some(params) = kc.get("parameters") {
        for p in params.list()? {
            let name = p.require("name")?.str()?.to_owned();
            out.parameters
                .push((name, p.get("value").map(|v| scalar(v.value))));
        }
    }
    Ok(out)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The platform a KfDef was for: its plugin's cloud, else on-prem.
pub fn platform(def: &KfDef) -> &'static str {
    match def.plugin.as_ref().map(|p| p.kind.as_str()) {
        Some("KfGcpPlugin") => "gcp",
        Some("KfAwsPlugin") => "aws",
        // kfctl v1's other configs (k8s_istio, istio_dex, existing_arrikto, anthos) all ran
        // on a cluster kfctl did not create: what kfctl calls on-prem.
        _ => "onprem",
    }
}

/// Adds a note saying why `what`, read at `at`, is not carried over.
fn note(notes: &mut Vec<Note>, what: String, at: &Loc, why: String) {
    notes.push(Note {
        what,
        line: at.line,
        why,
    });
}

impl Imported {
    /// The `kfctl.yaml` text: the header comment, then the YAML, whose last map is
    /// `spec.parameters` (each value's source a comment at the end of its line), then a
    /// comment line in that map for each required parameter still to set.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        let mut out: String = self.header.iter().map(|h| comment("", h)).collect();
        out.push_str(&self.config.body()?);
        if !self.missing_comments.is_empty() && self.config.spec.parameters.is_empty() {
            out.push_str("  parameters: {}\n");
        }
        for text in &self.missing_comments {
            out.push_str(&comment("    ", text));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn kfdef(text: &str) -> Result<KfDef, ProfileError> {
        parse(&SourceFile::parse(
            Path::new("/k/kfdef.yaml"),
            text.to_owned(),
        )?)
    }

    #[test]
    fn other_documents_are_refused_with_their_line() {
        let err = kfdef("apiVersion: v1\nkind: ConfigMap\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/k/kfdef.yaml:1: not a KfDef: `apiVersion` is `v1`, expected `kfdef.apps.kubeflow.org/v1`"
        );
        let err = kfdef("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfUpgrade\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/k/kfdef.yaml:2: not a KfDef: `kind` is `KfUpgrade`"
        );
        assert!(kfdef("- a\n").is_err());
    }
}
