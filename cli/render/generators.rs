//! `configMapGenerator` and `secretGenerator`, the merge/replace behaviours against objects from
//! bases, and kustomize's content-hash name suffix.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::kustomization::{GeneratorArgs, GeneratorOptions};
use super::load::Target;
use super::{Fs, Loc, RenderError};
use crate::resource::{Behavior, Generated, Origin, Resource, ResourceSet};

/// A Secret's `data` and a ConfigMap's `binaryData` as kyaml writes them: base64 in lines of 70
/// characters, each ending in a newline, once the text is longer than one line (a value of 52
/// bytes or more). The folded text is what kustomize hashes, so the name suffix depends on it.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    if text.len() < LINE {
        return text;
    }
    let mut out = String::with_capacity(text.len() + text.len() / LINE + 1);
    for chunk in text.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Makes the kustomization's ConfigMaps and Secrets, in kustomize's order (ConfigMaps first).
pub fn generate(fs: &dyn Fs, target: &Target) -> Result<Vec<Resource>, RenderError> {
    let k = &target.k;
    let mut out = Vec::new();
    for (kind, list) in [
        ("ConfigMap", &k.config_map_generator),
        ("Secret", &k.secret_generator),
    ] {
        for args in list {
            let options = merge_options(args.options.as_ref(), k.generator_options.as_ref());
            out.push(make(fs, target, kind, args, &options)?);
        }
    }
    Ok(out)
}

/// Global `generatorOptions` under the generator's own: the generator's labels and annotations
/// win, its `disableNameSuffixHash` wins when set, `immutable` holds if either says so.
fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = global.cloned().unwrap_or_default();
    if let Some(local) = local {
        out.labels.extend(local.labels.clone());
        out.annotations.extend(local.annotations.clone());
        if local.disable_name_suffix_hash.is_some() {
            out.disable_name_suffix_hash = local.disable_name_suffix_hash;
        }
        out.immutable |= local.immutable;
    }
    out
}

fn make(
    fs: &dyn Fs,
    target: &Target,
    kind: &str,
    args: &GeneratorArgs,
    options: &GeneratorOptions,
) -> Result<Resource, RenderError> {
    let at = if args.name.is_empty() {
        target.loc(if kind == "ConfigMap" {
            "configMapGenerator"
        } else {
            "secretGenerator"
        })
    } else {
        target.loc_of(&args.name)
    };
    let fail = |message: String| RenderError::Generator {
        message,
        at: at.clone(),
    };
    if args.name.is_empty() {
        return Err(fail(format!("a {kind} generator needs a `name`")));
    }
    let behavior = match args.behavior.as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => {
            // kustomize reads any other value as "unspecified", which creates.
            tracing::warn!(
                "{}: unknown behavior `{other}` in generator `{}` is treated as `create`, as kustomize does",
                target.loc_of(&args.name),
                args.name
            );
            Behavior::Create
        }
    };

    let pairs = load_pairs(fs, target, args, &fail)?;
    let mut known: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (key, value) in pairs {
        if !valid_key(&key) {
            return Err(fail(format!(
                "`{key}` is not a valid key for {kind} `{}`: keys are made of letters, digits, `-`, `_` and `.`",
                args.name
            )));
        }
        if known.contains_key(&key) {
            return Err(fail(format!(
                "{} `{}` repeats the key `{key}`",
                kind.to_lowercase(),
                args.name
            )));
        }
        known.insert(key, value);
    }

    let mut body = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": args.name}});
    let obj = crate::resource::object_mut(&mut body);
    if !args.namespace.is_empty()
        && let Some(Value::Object(meta)) = obj.get_mut("metadata")
    {
        meta.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if kind == "Secret" {
        let t = if args.type_.is_empty() {
            "Opaque"
        } else {
            &args.type_
        };
        obj.insert("type".into(), Value::String(t.to_owned()));
        // kustomize writes `data: {}` for a Secret with no data (a ConfigMap gets no `data`).
        let data: Map<String, Value> = known
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(wrapped_base64(v))))
            .collect();
        obj.insert("data".into(), Value::Object(data));
    } else {
        let mut data = Map::new();
        let mut binary = Map::new();
        for (k, v) in &known {
            match std::str::from_utf8(v) {
                Ok(text) => data.insert(k.clone(), Value::String(text.to_owned())),
                Err(_) => binary.insert(k.clone(), Value::String(wrapped_base64(v))),
            };
        }
        if !data.is_empty() {
            obj.insert("data".into(), Value::Object(data));
        }
        if !binary.is_empty() {
            obj.insert("binaryData".into(), Value::Object(binary));
        }
    }
    let mut res = Resource::new(body, Origin::generator(&target.file, at.line.unwrap_or(1)));
    {
        let meta = res.metadata_mut();
        if !options.labels.is_empty() {
            meta.insert("labels".into(), string_map(&options.labels));
        }
        if !options.annotations.is_empty() {
            meta.insert("annotations".into(), string_map(&options.annotations));
        }
    }
    if options.immutable {
        crate::resource::object_mut(&mut res.body).insert("immutable".into(), Value::Bool(true));
    }
    res.generated = Some(Generated {
        behavior,
        needs_hash: !options.disable_name_suffix_hash.unwrap_or(false),
    });
    Ok(res)
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Pairs from env files, then literals, then files, as kustomize orders them.
fn load_pairs(
    fs: &dyn Fs,
    target: &Target,
    args: &GeneratorArgs,
    fail: &dyn Fn(String) -> RenderError,
) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let read = |entry: &str| -> Result<Vec<u8>, RenderError> {
        let path = target.file_in_root(fs, entry)?;
        fs.read(&path)
            .map_err(|source| RenderError::Read { path, source })
    };
    let mut pairs = Vec::new();
    for env in &args.envs {
        let content = read(env)?;
        let text = String::from_utf8(content)
            .map_err(|_| fail(format!("env file `{env}` is not valid UTF-8")))?;
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if !valid_env_name(key) {
                return Err(fail(format!(
                    "env file `{env}` line {}: `{key}` is not a valid variable name",
                    i + 1
                )));
            }
            pairs.push((key.to_owned(), value.as_bytes().to_vec()));
        }
    }
    for literal in &args.literals {
        let Some((key, value)) = literal.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(fail(format!(
                "invalid literal `{literal}`, expected key=value"
            )));
        };
        pairs.push((key.to_owned(), remove_quotes(value).as_bytes().to_vec()));
    }
    for source in &args.files {
        let (key, path) = match source.matches('=').count() {
            0 => (
                source.rsplit('/').next().unwrap_or(source).to_owned(),
                source.as_str(),
            ),
            1 => {
                let (k, p) = source.split_once('=').unwrap_or_default();
                if k.is_empty() {
                    return Err(fail(format!("missing key name for file `{p}`")));
                }
                if p.is_empty() {
                    return Err(fail(format!("missing file path for key `{k}`")));
                }
                (k.to_owned(), p)
            }
            _ => {
                return Err(fail(format!(
                    "file source `{source}` has more than one `=`"
                )));
            }
        };
        pairs.push((key, read(path)?));
    }
    Ok(pairs)
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn valid_env_name(key: &str) -> bool {
    !key.is_empty()
        && !key.as_bytes()[0].is_ascii_digit()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Adds generated objects to `set`: new ids are appended; `merge` and `replace` fold into the
/// object they name (matched on any of its ids), which keeps its name, namespace and place.
pub fn absorb(
    set: &mut ResourceSet,
    generated: Vec<Resource>,
    target: &Target,
) -> Result<(), RenderError> {
    for mut res in generated {
        let id = res.id();
        let behavior = res
            .generated
            .as_ref()
            .map(|g| g.behavior)
            .unwrap_or_default();
        let matches: Vec<usize> = (0..set.len())
            .filter(|&i| set.at(i).all_ids().any(|other| other.same_as(&id)))
            .collect();
        let at = Loc::new(&target.file, Some(res.origin.line));
        match (matches.as_slice(), behavior) {
            ([], Behavior::Create) => set.push(res)?,
            ([], _) => {
                return Err(RenderError::Generator {
                    message: format!(
                        "`{id}` does not exist in a base, so it cannot be merged or replaced"
                    ),
                    at,
                });
            }
            ([i], Behavior::Create) => {
                return Err(RenderError::Generator {
                    message: format!(
                        "`{id}` is generated again, but already exists, from {}; set `behavior: merge` or `behavior: replace` to change it",
                        set.at(*i).origin
                    ),
                    at,
                });
            }
            ([i], _) => {
                let old = set.at(*i);
                let mut labels = old.labels();
                labels.extend(res.labels());
                let mut annotations = old.annotations();
                annotations.extend(res.annotations());
                if behavior == Behavior::Merge {
                    for field in ["data", "binaryData"] {
                        let mut merged = old
                            .body
                            .get(field)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(Value::Object(new)) = res.body.get(field) {
                            merged.extend(new.clone());
                        }
                        if !merged.is_empty() {
                            crate::resource::object_mut(&mut res.body)
                                .insert(field.into(), Value::Object(merged));
                        }
                    }
                    res.origin = old.origin.clone();
                }
                let (name, namespace) = (old.name().to_owned(), old.namespace().to_owned());
                let meta = res.metadata_mut();
                set_or_remove(meta, "labels", labels);
                set_or_remove(meta, "annotations", annotations);
                meta.insert("name".into(), Value::String(name));
                if namespace.is_empty() {
                    meta.remove("namespace");
                } else {
                    meta.insert("namespace".into(), Value::String(namespace));
                }
                let needs_hash = old.generated.as_ref().is_some_and(|g| g.needs_hash)
                    && res.generated.as_ref().is_some_and(|g| g.needs_hash);
                // The merged object is the old one as far as renames and vars go.
                res.previous = old.previous.clone();
                res.prefixes = old.prefixes.clone();
                res.suffixes = old.suffixes.clone();
                res.ref_vars = old.ref_vars.clone();
                res.generated = Some(Generated {
                    behavior: Behavior::Create,
                    needs_hash,
                });
                set.replace_at(*i, res);
            }
            (many, _) => {
                let ids: Vec<String> = many.iter().map(|&i| set.at(i).id().to_string()).collect();
                return Err(RenderError::Generator {
                    message: format!(
                        "`{id}` could merge into several objects: {}",
                        ids.join(", ")
                    ),
                    at,
                });
            }
        }
    }
    Ok(())
}

fn set_or_remove(meta: &mut Map<String, Value>, key: &str, map: Map<String, Value>) {
    if map.is_empty() {
        meta.remove(key);
    } else {
        meta.insert(key.into(), Value::Object(map));
    }
}

/// Appends `-<hash>` to the name of every generated object that wants it, recording the old
/// name so that references can follow.
pub fn add_hash_suffixes(set: &mut ResourceSet) -> Result<(), RenderError> {
    for res in set.iter_mut() {
        if !res.generated.as_ref().is_some_and(|g| g.needs_hash) {
            continue;
        }
        let hash = content_hash(&res.body);
        let name = format!("{}-{hash}", res.name());
        res.remember_id();
        res.set_name(&name);
        if let Some(g) = res.generated.as_mut() {
            g.needs_hash = false;
        }
    }
    Ok(())
}

/// kustomize's content hash: SHA-256 of a JSON encoding of the kind, type and data, its first
/// ten hex digits with `0 1 3 a e` swapped for letters so the suffix never looks like a number.
///
/// kustomize looks the name up under the single key `metadata/name`, which never exists, so the
/// name it hashes is always empty; matching that keeps suffixes identical to kustomize's.
pub fn content_hash(body: &Value) -> String {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    let field = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(other) => Value::String(scalar_text(other)),
    };
    let encoded = match kind {
        "ConfigMap" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("ConfigMap"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), field("data"));
            if let Some(Value::Object(b)) = body.get("binaryData") {
                m.insert("binaryData".into(), Value::Object(b.clone()));
            }
            go_json(&Value::Object(m))
        }
        "Secret" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), field("type"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), field("data"));
            if let Some(Value::Object(b)) = body.get("stringData") {
                m.insert("stringData".into(), Value::Object(b.clone()));
            }
            go_json(&Value::Object(m))
        }
        _ => go_json(body),
    };
    let digest = Sha256::digest(encoded.as_bytes());
    let hex = crate::resource::digest::hex(&digest[..5]);
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON as Go's `encoding/json` writes it: sorted keys, and `<`, `>`, `&`, U+2028 and U+2029
/// escaped, so that hashes agree byte for byte.
fn go_json(v: &Value) -> String {
    let plain = serde_json::to_string(v).unwrap_or_default();
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_kustomize() {
        // Values from `kubectl kustomize` (v5.5) on the same generators.
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},
                        "data":{"a":"1","b":"<two>"}});
        assert_eq!(content_hash(&cm), KUSTOMIZE_CM_HASH);
        let secret = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},
                            "type":"Opaque","data":{"p":"cGFzcw=="}});
        assert_eq!(content_hash(&secret), KUSTOMIZE_SECRET_HASH);
    }

    /// kustomize folds a Secret value's base64 at 70 characters and hashes the folded text:
    /// `kubectl kustomize` (v5.5) names a Secret with literal `k=` 60 `y`s `one-987hg88tgt`.
    #[test]
    fn secret_values_fold_and_hash_as_kustomize() {
        assert_eq!(wrapped_base64(&[b'x'; 51]).len(), 68);
        assert!(!wrapped_base64(&[b'x'; 51]).contains('\n'));
        let plain = base64::engine::general_purpose::STANDARD.encode([b'x'; 52]);
        assert_eq!(plain.len(), 72);
        assert_eq!(
            wrapped_base64(&[b'x'; 52]),
            format!("{}\n{}\n", &plain[..70], &plain[70..])
        );
        assert_eq!(wrapped_base64(&[b'x'; 105]).lines().count(), 2);
        assert!(wrapped_base64(&[b'x'; 105]).ends_with('\n'));

        let mut target = crate::render::MemFs::new();
        target.add(
            "/k/kustomization.yaml",
            format!(
                "secretGenerator:\n- name: one\n  literals:\n  - k={}\n",
                "y".repeat(60)
            ),
        );
        let rendered = crate::render::build(&target, std::path::Path::new("/k")).unwrap();
        let secret = &rendered.resources.as_slice()[0];
        assert_eq!(secret.name(), "one-987hg88tgt");
        assert_eq!(
            secret.body["data"]["k"],
            format!(
                "{}\n{}\n",
                &"eXl5".repeat(20)[..70],
                &"eXl5".repeat(20)[70..]
            )
        );
    }

    const KUSTOMIZE_CM_HASH: &str = "m9k898925m";
    const KUSTOMIZE_SECRET_HASH: &str = "gkchh6tb7f";

    #[test]
    fn literals_strip_quotes() {
        assert_eq!(remove_quotes("'a b'"), "a b");
        assert_eq!(remove_quotes("\"x"), "\"x");
    }
}
