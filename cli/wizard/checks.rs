//! The checks every answer passes, whether given by a flag or typed at a prompt.

use regex::Regex;

use super::*;

/// Checks a parameter's value: `Err` for a pattern that does not compile, `Ok(Err(reason))`
/// for a value that does not fit. An empty value only compiles the pattern.
pub(super) fn check_param(
    platform: &str,
    spec: &ParamSpec,
    value: &str,
) -> Result<Result<(), String>, WizardError> {
    let pattern =
        match &spec.pattern {
            Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|source| {
                WizardError::BadPattern {
                    platform: platform.to_owned(),
                    param: spec.name.clone(),
                    source,
                }
            })?),
            None => None,
        };
    if value.is_empty() {
        return Ok(if spec.required {
            Err(format!("`{}` is required", spec.name))
        } else {
            Ok(())
        });
    }
    if let (Some(re), Some(p)) = (pattern, &spec.pattern)
        && !re.is_match(value)
    {
        return Ok(Err(format!(
            "`{value}` does not fit `{}` ({}): it must match `{p}`",
            spec.name, spec.description
        )));
    }
    Ok(Ok(()))
}

pub(super) fn check_email(value: &str) -> Result<(), String> {
    let valid = Regex::new(EMAIL_PATTERN).is_ok_and(|re| re.is_match(value));
    if valid {
        Ok(())
    } else {
        Err(format!("`{value}` is not an e-mail address"))
    }
}

pub(super) fn check_password(value: &str) -> Result<(), String> {
    if value.chars().count() < MIN_PASSWORD_LEN {
        Err(format!(
            "the password is shorter than {MIN_PASSWORD_LEN} characters"
        ))
    } else {
        Ok(())
    }
}

/// A Kubernetes object name (DNS-1123 subdomain), as a StorageClass name must be.
pub(super) fn check_storage_class(value: &str) -> Result<(), String> {
    let valid = value.len() <= 253
        && Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .is_ok_and(|re| re.is_match(value));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a storage class name (lower-case letters, digits, `-` and `.`)"
        ))
    }
}

pub(super) fn parse_secret_ref(value: &str) -> Result<SecretRef, String> {
    match value.split_once(':') {
        Some(("env", var)) if !var.is_empty() => Ok(SecretRef::Env(var.to_owned())),
        Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.to_owned())),
        _ => Err("a secret is given by reference: `env:VAR` or `file:PATH`".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::fixtures::spec;

    #[test]
    fn patterns_match_the_whole_value() {
        let s = spec("project", true, None, Some("[a-z]{3,8}"));
        assert_eq!(check_param("p", &s, "abc").ok(), Some(Ok(())));
        let reason = check_param("p", &s, "abc1").ok().and_then(Result::err);
        assert_eq!(
            reason.as_deref(),
            Some("`abc1` does not fit `project` (project value): it must match `[a-z]{3,8}`")
        );
        let empty = check_param("p", &s, "").ok().and_then(Result::err);
        assert_eq!(empty.as_deref(), Some("`project` is required"));
        let bad = spec("x", true, None, Some("(unclosed"));
        assert!(matches!(
            check_param("p", &bad, "v"),
            Err(WizardError::BadPattern { .. })
        ));
    }
}
