//! Remote references as kustomize writes them, turned into something to download.

use super::SourceError;

/// What a remote reference names: an archive to unpack (and a directory in it), or one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// As written in the kustomization or the config.
    pub original: String,
    /// What is downloaded; the key in `kfctl.lock`.
    pub url: String,
    pub kind: Kind,
    /// A digest written into the reference itself (`#sha256=HEX`), which wins over the lock.
    pub pin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A tar.gz or zip; `subdir` is the directory inside it, below the archive's single top
    /// directory when it has one (as git hosts' tag archives do).
    Archive { subdir: String },
    /// A single file, kept under its own name.
    File { name: String },
}

/// Parses `entry`. `github` is the base of GitHub's archive URLs (`https://github.com`, or a
/// mirror of it).
pub fn parse(entry: &str, github: &str) -> Result<Reference, SourceError> {
    let original = entry.to_owned();
    let unsupported = |why: &str| SourceError::Reference {
        reference: original.clone(),
        why: why.to_owned(),
    };
    let (body, pin) = match entry.split_once("#sha256=") {
        Some((b, hex)) => (
            b,
            Some(check_digest(hex).ok_or_else(|| unsupported("`#sha256=` needs 64 hex digits"))?),
        ),
        None => (entry, None),
    };
    let body = body.strip_prefix("git::").unwrap_or(body);
    let github_path = body
        .strip_prefix("https://github.com/")
        .or_else(|| body.strip_prefix("github.com/"));
    // Release assets and tag archives are files on GitHub: fetched from its mirror when one is
    // set, like the `?ref=` form.
    let mirrored;
    let body = match github_path {
        Some(rest) if rest.contains("/releases/download/") || rest.contains("/archive/") => {
            mirrored = format!("{}/{rest}", github.trim_end_matches('/'));
            mirrored.as_str()
        }
        _ => body,
    };
    if let Some(rest) = github_path
        && !rest.contains("/releases/download/")
        && !rest.contains("/archive/")
    {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let git_ref = query
            .split('&')
            .find_map(|kv| {
                kv.strip_prefix("ref=")
                    .or_else(|| kv.strip_prefix("version="))
            })
            .ok_or_else(|| unsupported("a git reference needs `?ref=TAG`, so it can be pinned"))?;
        let path = path.replace("//", "/");
        let mut parts = path.splitn(3, '/');
        let (Some(org), Some(repo)) = (parts.next(), parts.next()) else {
            return Err(unsupported("expected `github.com/ORG/REPO/PATH?ref=TAG`"));
        };
        let repo = repo.strip_suffix(".git").unwrap_or(repo);
        let subdir = parts.next().unwrap_or("").trim_matches('/').to_owned();
        return Ok(Reference {
            original,
            url: format!(
                "{}/{org}/{repo}/archive/{git_ref}.tar.gz",
                github.trim_end_matches('/')
            ),
            kind: Kind::Archive { subdir },
            pin,
        });
    }
    let Some(after_scheme) = body
        .strip_prefix("https://")
        .or_else(|| body.strip_prefix("http://"))
    else {
        return Err(unsupported(
            "only `https://` URLs and `github.com/ORG/REPO/PATH?ref=TAG` are supported",
        ));
    };
    let scheme_len = body.len() - after_scheme.len();
    // `https://host/archive.tar.gz//dir`: a directory inside an archive, as go-getter writes it.
    let (url, subdir) = match after_scheme.find("//") {
        Some(i) => (
            &body[..scheme_len + i],
            Some(after_scheme[i + 2..].trim_matches('/').to_owned()),
        ),
        None => (body, None),
    };
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let is_archive = [".tar.gz", ".tgz", ".zip"]
        .iter()
        .any(|e| path.ends_with(e));
    let kind = match (is_archive, subdir) {
        (true, subdir) => Kind::Archive {
            subdir: subdir.unwrap_or_default(),
        },
        (false, Some(_)) => {
            return Err(unsupported(
                "`//DIR` follows only a `.tar.gz`, `.tgz` or `.zip` URL",
            ));
        }
        (false, None) => {
            let name = path.rsplit('/').next().unwrap_or_default();
            if name.is_empty() || name == ".." || name == "." {
                return Err(unsupported("the URL names no file"));
            }
            Kind::File {
                name: name.to_owned(),
            }
        }
    };
    Ok(Reference {
        original,
        url: url.to_owned(),
        kind,
        pin,
    })
}

/// `sha256:HEX` or `HEX`, lower-cased, when it is 64 hex digits.
pub fn check_digest(text: &str) -> Option<String> {
    let hex = text
        .strip_prefix("sha256:")
        .unwrap_or(text)
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: &str = "https://github.com";

    #[test]
    fn github_directory_becomes_a_tag_archive() {
        let r = parse(
            "https://github.com/argoproj/argo-workflows/manifests/base/workflow-controller?ref=v3.7.3",
            GH,
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://github.com/argoproj/argo-workflows/archive/v3.7.3.tar.gz"
        );
        assert_eq!(
            r.kind,
            Kind::Archive {
                subdir: "manifests/base/workflow-controller".into()
            }
        );
        let r = parse(
            "github.com/kubernetes-sigs/lws.git//config/default?ref=v0.8.0",
            "http://127.0.0.1:1/",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "http://127.0.0.1:1/kubernetes-sigs/lws/archive/v0.8.0.tar.gz"
        );
        assert_eq!(
            r.kind,
            Kind::Archive {
                subdir: "config/default".into()
            }
        );
    }

    #[test]
    fn urls_are_files_or_archives() {
        let r = parse(
            "https://github.com/kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml",
            GH,
        )
        .unwrap();
        assert_eq!(
            r.kind,
            Kind::File {
                name: "manifests.yaml".into()
            }
        );
        let r = parse(
            "https://github.com/kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml",
            "http://127.0.0.1:1",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "http://127.0.0.1:1/kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml"
        );
        let hex = "a".repeat(64);
        let r = parse(&format!("https://h/x.tar.gz//a/b#sha256={hex}"), GH).unwrap();
        assert_eq!(r.url, "https://h/x.tar.gz");
        assert_eq!(
            r.kind,
            Kind::Archive {
                subdir: "a/b".into()
            }
        );
        assert_eq!(r.pin, Some(hex));
    }

    #[test]
    fn unpinnable_references_are_refused() {
        assert!(parse("github.com/org/repo/dir", GH).is_err());
        assert!(parse("git@github.com:org/repo.git", GH).is_err());
        assert!(parse("https://h/file.yaml//dir", GH).is_err());
        assert!(parse("https://h/x.zip#sha256=abc", GH).is_err());
    }
}
