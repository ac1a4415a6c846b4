//! Remote references as kustomize writes them, turned into something to download.

use super::SourceError;

/// What a remote reference names: an archive to unpack (and a directory in it), or one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// As written in the kustomization or the config, without credentials.
    pub original: String,
    /// What is downloaded, without credentials: what errors and logs show, and the key in
    /// `kfctl.lock`.
    pub url: String,
    /// What is requested: `url` with the user and password it was written with.
    pub fetch_url: String,
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
    let original = redact(entry);
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
        let subdir = inside(parts.next().unwrap_or(""))
            .ok_or_else(|| unsupported("the directory must stay inside the repository"))?;
        let url = format!(
            "{}/{org}/{repo}/archive/{git_ref}.tar.gz",
            github.trim_end_matches('/')
        );
        return Ok(Reference {
            original,
            url: redact(&url),
            fetch_url: url,
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
            subdir: inside(&subdir.unwrap_or_default()).ok_or_else(|| {
                unsupported("the directory after `//` must stay inside the archive")
            })?,
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
        url: redact(url),
        fetch_url: url.to_owned(),
        kind,
        pin,
    })
}

/// A directory inside an archive, as written after `//`, with `.` and `..` applied: `None` when
/// it leaves the archive. Links inside the unpacked archive are followed later, against it.
fn inside(dir: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// `url` without the user and password of its authority (`https://user:pass@host/x` becomes
/// `https://host/x`): the only form of a URL that errors, logs and `kfctl.lock` show.
pub fn redact(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_at(i + 3);
    let authority = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
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

    #[test]
    fn an_archive_directory_stays_inside_the_archive() {
        for escaping in [
            "https://h/x.tar.gz//../../../etc",
            "https://h/x.tar.gz//a/../..",
            "https://h/x.zip//..",
            "github.com/org/repo/../../etc?ref=v1",
        ] {
            let e = parse(escaping, GH).unwrap_err().to_string();
            assert!(e.contains("must stay inside"), "{escaping}: {e}");
        }
        let r = parse("https://h/x.tar.gz//a/../b/./c/", GH).unwrap();
        assert_eq!(
            r.kind,
            Kind::Archive {
                subdir: "b/c".into()
            }
        );
        // `///etc` is the directory `etc` of the archive, not `/etc`.
        let r = parse("https://h/x.tar.gz///etc", GH).unwrap();
        assert_eq!(
            r.kind,
            Kind::Archive {
                subdir: "etc".into()
            }
        );
    }

    #[test]
    fn credentials_never_leave_the_fetch_url() {
        let r = parse("https://user:secret@h:8443/x.tar.gz//base", GH).unwrap();
        assert_eq!(r.url, "https://h:8443/x.tar.gz");
        assert_eq!(r.fetch_url, "https://user:secret@h:8443/x.tar.gz");
        assert_eq!(r.original, "https://h:8443/x.tar.gz//base");
        let e = parse("git::https://user:secret@h/f.yaml//dir", GH).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(redact("https://h/a@b"), "https://h/a@b");
        assert_eq!(redact("http://tok@h?x=@y"), "http://h?x=@y");
        assert_eq!(redact("github.com/o/r?ref=v1"), "github.com/o/r?ref=v1");
    }
}
