//! `kfctl.yaml`, the user's configuration: platform, release, components, sources, parameters,
//! the admin user and secrets by reference. Parsed strictly: unknown keys, wrong types and
//! plaintext secrets are errors with file:line. Values are checked against the platform's
//! parameter specs later, in `resolve`, once the platform is known.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

use super::doc::{Node, SourceFile};
use super::{API_VERSION, ProfileError};
use crate::render::fs::clean;
use crate::render::{Fs, Loc};

/// A value and the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct KfctlConfig {
    pub file: PathBuf,
    pub name: String,
    pub platform: Option<Located<String>>,
    pub release: Option<Located<String>>,
    pub components: Vec<ComponentChoice>,
    /// Source locations by source name, paths resolved against the file's directory.
    pub sources: Vec<(String, Located<SourceLocation>)>,
    /// Platform parameters as written (checked against the platform in `resolve`).
    pub parameters: Vec<(String, Located<Value>)>,
    /// Where missing parameters would go: `spec.parameters`, or `spec`.
    pub parameters_at: Loc,
    pub admin: Option<Admin>,
    pub secrets: Vec<(String, Located<SecretRef>)>,
    /// `spec.drift.ignore`: fields whose changes `kfctl diff` and `kfctl status` do not report.
    pub drift_ignore: Vec<DriftIgnore>,
}

/// One `spec.drift.ignore` rule: the objects it applies to (fields left out match any) and the
/// JSON pointers (`/spec/replicas`, `*` for any one segment) whose changes are not drift.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftIgnore {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ComponentChoice {
    pub name: String,
    pub enabled: Option<bool>,
    pub parameters: Vec<(String, Located<Value>)>,
    pub at: Loc,
}

#[derive(Debug, Clone)]
pub struct Admin {
    pub email: Option<Located<String>>,
    pub password_hash: Option<Located<String>>,
}

/// Where a release's source is: a local directory, or an archive to fetch, pinned by its
/// digest (`URL#sha256=HEX`, the form remote references take).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    Path(PathBuf),
    Url(String),
}

/// `url` with `sha256` folded in as `URL#sha256=HEX`, the digest checked for shape.
pub fn pinned_url(url: &Node<'_>, sha256: &Node<'_>) -> Result<String, ProfileError> {
    let text = url.str()?;
    if text.contains("#sha256=") {
        return Err(ProfileError::Invalid {
            message: format!("`{}` holds a digest; give it in `sha256` only", url.name()),
            at: url.loc(),
            hint: None,
        });
    }
    let digest = sha256.str()?;
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or(digest)
        .to_ascii_lowercase();
    let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let hex = valid.then_some(hex).ok_or_else(|| ProfileError::Invalid {
        message: format!("`{}` is not a sha256 digest", sha256.name()),
        at: sha256.loc(),
        hint: Some("write the 64 hex digits `sha256sum ARCHIVE` prints".to_owned()),
    })?;
    Ok(format!("{text}#sha256={hex}"))
}

/// Where a secret's value is read from when it is needed; the value itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl KfctlConfig {
    /// Reads `path` (absolute, so that relative sources resolve against its directory).
    pub fn load(fs: &dyn Fs, path: &Path) -> Result<KfctlConfig, ProfileError> {
        let file = SourceFile::read(fs, path)?;
        Self::parse(&file)
    }

    pub fn parse(file: &SourceFile) -> Result<KfctlConfig, ProfileError> {
        let root = file.root();
        root.fields(&["apiVersion", "kind", "metadata", "spec"])?;
        root.expect_kind(API_VERSION, "KfctlConfig")?;
        let name = match root.get("metadata") {
            Some(meta) => {
                meta.fields(&["name"])?;
                meta.get("name")
                    .map_or(Ok("kubeflow"), |n| n.str())?
                    .to_owned()
            }
            None => "kubeflow".to_owned(),
        };
        let spec = root.require("spec")?;
        spec.fields(&[
            "platform",
            "release",
            "components",
            "sources",
            "parameters",
            "admin",
            "secrets",
            "drift",
        ])?;
        let base = file.path.parent().unwrap_or(Path::new("."));
        Ok(KfctlConfig {
            file: file.path.clone(),
            name,
            platform: spec.get("platform").map(|n| located_str(&n)).transpose()?,
            release: spec.get("release").map(|n| located_str(&n)).transpose()?,
            components: spec.get_list("components", parse_components)?,
            sources: spec.get_list("sources", |n| parse_sources(n, base))?,
            parameters: spec.get_list("parameters", parse_values)?,
            parameters_at: spec.get("parameters").unwrap_or(spec.clone()).loc(),
            admin: spec.get("admin").map(|n| parse_admin(&n)).transpose()?,
            secrets: spec.get_list("secrets", |n| parse_secrets(n, base))?,
            drift_ignore: spec.get_list("drift", parse_drift)?,
        })
    }
}

fn located_str(node: &Node<'_>) -> Result<Located<String>, ProfileError> {
    // A release such as `1.10` written without quotes is a number to YAML; take its text.
    let value = match node.value {
        Value::Number(n) => n.to_string(),
        _ => node.str()?.to_owned(),
    };
    Ok(Located {
        value,
        at: node.loc(),
    })
}

fn parse_values(node: &Node<'_>) -> Result<Vec<(String, Located<Value>)>, ProfileError> {
    node.named(|e| {
        if is_password_key(e.key()) {
            return Err(ProfileError::PlaintextPassword {
                field: e.name(),
                at: e.loc(),
            });
        }
        if matches!(e.value, Value::Array(_) | Value::Object(_)) {
            return Err(ProfileError::WrongType {
                field: e.name(),
                expected: "a string, number or boolean",
                found: super::doc::describe(e.value),
                at: e.loc(),
            });
        }
        Ok(Located {
            value: e.value.clone(),
            at: e.loc(),
        })
    })
}

fn is_password_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "password" || (k.ends_with("password") && !k.ends_with("passwordhash"))
}

fn parse_components(node: &Node<'_>) -> Result<Vec<ComponentChoice>, ProfileError> {
    let mut out = Vec::new();
    for e in node.entries()? {
        e.fields(&["enabled", "parameters"])?;
        out.push(ComponentChoice {
            name: e.key().to_owned(),
            enabled: e.get("enabled").map(|n| n.bool()).transpose()?,
            parameters: match e.get("parameters") {
                Some(n) => parse_values(&n)?,
                None => Vec::new(),
            },
            at: e.loc(),
        });
    }
    Ok(out)
}

fn parse_sources(
    node: &Node<'_>,
    base: &Path,
) -> Result<Vec<(String, Located<SourceLocation>)>, ProfileError> {
    node.named(|e| {
        e.fields(&["path", "url", "sha256"])?;
        Ok(match (e.get("path"), e.get("url"), e.get("sha256")) {
            (Some(p), None, None) => Located {
                value: SourceLocation::Path(clean(&base.join(p.str()?))),
                at: p.loc(),
            },
            (None, Some(url), Some(digest)) => Located {
                value: SourceLocation::Url(pinned_url(&url, &digest)?),
                at: url.loc(),
            },
            (None, Some(url), None) => {
                return Err(ProfileError::Invalid {
                    message: format!("`{}` needs a `sha256` beside it", url.name()),
                    at: url.loc(),
                    hint: Some(
                        "write the archive's digest as `sha256: HEX` (`sha256sum ARCHIVE` prints it), so a changed upstream is refused".to_owned(),
                    ),
                });
            }
            _ => {
                return Err(ProfileError::Invalid {
                    message: format!(
                        "source `{}` needs either `path`, or `url` and `sha256`",
                        e.key()
                    ),
                    at: e.loc(),
                    hint: Some(format!(
                        "write `{0}: {{path: DIR}}` or `{0}: {{url: https://HOST/ARCHIVE.tar.gz, sha256: HEX}}`",
                        e.key()
                    )),
                });
            }
        })
    })
}

/// `drift: {ignore: [{target: {group, kind, namespace, name}, paths: [...]}]}`.
fn parse_drift(node: &Node<'_>) -> Result<Vec<DriftIgnore>, ProfileError> {
    node.fields(&["ignore"])?;
    let Some(list) = node.get("ignore") else {
        return Ok(Vec::new());
    };
    let mut rules = Vec::new();
    for item in list.list()? {
        item.fields(&["target", "paths"])?;
        let mut rule = DriftIgnore::default();
        if let Some(target) = item.get("target") {
            target.fields(&["group", "kind", "namespace", "name"])?;
            let get = |k: &str| target.get_string(k);
            rule.group = get("group")?;
            rule.kind = get("kind")?;
            rule.namespace = get("namespace")?;
            rule.name = get("name")?;
        }
        let paths = item.require("paths")?;
        rule.paths = paths.strings()?;
        if let Some(bad) = rule.paths.iter().find(|p| !p.starts_with('/')) {
            return Err(ProfileError::Invalid {
                message: format!("`{bad}` is not a JSON pointer"),
                at: paths.loc(),
                hint: Some(
                    "write paths such as `/spec/replicas` or `/metadata/labels/team`".to_owned(),
                ),
            });
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_admin(node: &Node<'_>) -> Result<Admin, ProfileError> {
    if let Some(p) = node.get("password") {
        return Err(ProfileError::PlaintextPassword {
            field: p.name(),
            at: p.loc(),
        });
    }
    node.fields(&["email", "passwordHash"])?;
    let password_hash = node
        .get("passwordHash")
        .map(|n| located_str(&n))
        .transpose()?;
    if let Some(h) = &password_hash
        && !is_bcrypt(&h.value)
    {
        return Err(ProfileError::Invalid {
            message: "`spec.admin.passwordHash` is not a bcrypt hash".to_owned(),
            at: h.at.clone(),
            hint: Some("write a hash such as `$2b$12$...` (60 characters); `kfctl init` or `htpasswd -nbBC 12 '' PASSWORD | tr -d ':\\n'` makes one".to_owned()),
        });
    }
    Ok(Admin {
        email: node.get("email").map(|n| located_str(&n)).transpose()?,
        password_hash,
    })
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 53 characters of bcrypt's base64.
pub fn is_bcrypt(text: &str) -> bool {
    Regex::new(r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$").is_ok_and(|r| r.is_match(text))
}

fn parse_secrets(
    node: &Node<'_>,
    base: &Path,
) -> Result<Vec<(String, Located<SecretRef>)>, ProfileError> {
    node.named(|e| {
        if !e.value.is_object() {
            return Err(ProfileError::PlaintextSecret {
                name: e.key().to_owned(),
                at: e.loc(),
            });
        }
        e.fields(&["env", "file"])?;
        let secret = match (e.get("env"), e.get("file")) {
            (Some(env), None) => SecretRef::Env(env.str()?.to_owned()),
            (None, Some(file)) => SecretRef::File(clean(&base.join(file.str()?))),
            _ => {
                return Err(ProfileError::Invalid {
                    message: format!("secret `{}` needs exactly one of `env` and `file`", e.key()),
                    at: e.loc(),
                    hint: Some(format!(
                        "write `{}: {{env: VARIABLE}}` or `{}: {{file: path}}`",
                        e.key(),
                        e.key()
                    )),
                });
            }
        };
        Ok(Located {
            value: secret,
            at: e.loc(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Diagnostic as _;

    fn parse(text: &str) -> Result<KfctlConfig, ProfileError> {
        KfctlConfig::parse(&SourceFile::parse(
            Path::new("/c/kfctl.yaml"),
            text.to_owned(),
        )?)
    }

    const HEAD: &str = "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: kubeflow\nspec:\n  platform: gcp\n";

    /// Why a file of [`HEAD`] followed by `spec` (more of the `spec` map) is refused.
    fn refusal(spec: &str) -> ProfileError {
        parse(&format!("{HEAD}{spec}")).unwrap_err()
    }

    #[test]
    fn reads_a_full_config() {
        let c = parse(&format!(
            "{HEAD}  release: \"1.11.0\"\n  components:\n    gpu: {{enabled: false}}\n    pipelines:\n      enabled: true\n  sources:\n    kubeflow-manifests: {{path: ../m}}\n  parameters:\n    project: my-proj\n  admin:\n    email: a@b.c\n    passwordHash: \"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"\n  secrets:\n    oidcClientSecret: {{env: KF_SECRET}}\n"
        ))
        .unwrap();
        assert_eq!(c.platform.unwrap().value, "gcp");
        assert_eq!(c.release.unwrap().at.line, Some(7));
        assert_eq!(c.components[0].enabled, Some(false));
        assert_eq!(
            c.sources[0].1.value,
            SourceLocation::Path(PathBuf::from("/m"))
        );
        assert_eq!(c.parameters[0].1.at.line, Some(15));
        assert_eq!(c.secrets[0].1.value, SecretRef::Env("KF_SECRET".to_owned()));
    }

    #[test]
    fn reads_drift_ignore_rules() {
        let c = parse(&format!(
            "{HEAD}  drift:\n    ignore:\n    - target: {{kind: Deployment, namespace: kubeflow}}\n      paths: [/spec/replicas]\n    - paths: [/metadata/labels/team]\n"
        ))
        .unwrap();
        assert_eq!(
            c.drift_ignore,
            [
                DriftIgnore {
                    kind: Some("Deployment".into()),
                    namespace: Some("kubeflow".into()),
                    paths: vec!["/spec/replicas".into()],
                    ..DriftIgnore::default()
                },
                DriftIgnore {
                    paths: vec!["/metadata/labels/team".into()],
                    ..DriftIgnore::default()
                },
            ]
        );
        let err = refusal("  drift:\n    ignore:\n    - paths: [spec.replicas]\n");
        assert!(
            err.to_string()
                .contains("`spec.replicas` is not a JSON pointer"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let err = refusal("  componets: {}\n");
        assert_eq!(
            err.to_string(),
            "/c/kfctl.yaml:7: unknown field `spec.componets`"
        );
        assert!(err.hint().unwrap().contains("`components`"));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = refusal("  components:\n    gpu:\n      enabled: yes\n");
        assert_eq!(
            err.to_string(),
            "/c/kfctl.yaml:9: `spec.components.gpu.enabled` must be `true` or `false`, not a string (\"yes\")"
        );
    }

    #[test]
    fn plaintext_passwords_are_refused() {
        let err = refusal("  admin:\n    password: hunter2\n");
        assert!(
            matches!(err, ProfileError::PlaintextPassword { .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"));
        let err = refusal("  parameters:\n    dbPassword: x\n");
        assert!(
            matches!(err, ProfileError::PlaintextPassword { .. }),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_references_only() {
        let err = refusal("  secrets:\n    token: abc\n");
        assert!(matches!(err, ProfileError::PlaintextSecret { .. }), "{err}");
        assert!(!err.to_string().contains("abc"));
        let err = refusal("  secrets:\n    token: {env: A, file: b}\n");
        assert!(err.to_string().contains("exactly one"), "{err}");
    }

    #[test]
    fn sources_are_paths_or_pinned_urls() {
        let hex = "ab".repeat(32);
        let c = parse(&format!(
            "{HEAD}  sources:\n    m:\n      url: https://h/m.tar.gz\n      sha256: sha256:{hex}\n"
        ))
        .unwrap();
        assert_eq!(
            c.sources[0].1.value,
            SourceLocation::Url(format!("https://h/m.tar.gz#sha256={hex}"))
        );
        let err = refusal("  sources:\n    m: {url: https://h/m.tar.gz}\n");
        assert!(err.to_string().contains("needs a `sha256`"), "{err}");
        let err = refusal("  sources:\n    m: {url: https://h/m.tar.gz, sha256: abc}\n");
        assert!(err.to_string().contains("not a sha256 digest"), "{err}");
        let err = refusal("  sources:\n    m: {path: a, url: https://h/m.tar.gz, sha256: {hex}}\n");
        assert!(err.to_string().contains("either `path`"), "{err}");
    }

    #[test]
    fn password_hash_must_be_bcrypt() {
        let err = refusal("  admin:\n    passwordHash: secret\n");
        assert!(err.to_string().contains("bcrypt"), "{err}");
        assert!(is_bcrypt(
            "$2y$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
        ));
    }
}
