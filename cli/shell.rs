//! Commands printed for a person to paste into a shell: every word quoted so that the shell
//! reads it as the one literal argument it is, whatever it holds.

/// `word` as one POSIX shell word: as it is when it holds only characters no shell treats
/// specially, else in single quotes, each `'` written `'\''`. Nothing inside single quotes is
/// expanded (`$(...)`, backticks, `$VAR`, globs), and a line break stays part of the word.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Whether `name` is a variable name a POSIX shell expands in `"$name"`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_when_needed() {
        assert_eq!(quote("kfctl.yaml"), "kfctl.yaml");
        assert_eq!(quote("my dir/kf.yaml"), "'my dir/kf.yaml'");
        assert_eq!(quote("it's.yaml"), r"'it'\''s.yaml'");
        assert_eq!(quote(""), "''");
    }

    /// `sh` reads every quoted word back as the one argument it was, running nothing.
    #[test]
    fn the_shell_reads_back_each_word_exactly() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let marker = dir.path().join("ran");
        let words = [
            format!("$(touch {})", marker.display()),
            format!("`touch {}`", marker.display()),
            format!("'; touch {} #", marker.display()),
            "a\nb".to_owned(),
            "${HOME} * ? [a] ~ \\ \" !".to_owned(),
            "ünï\t".to_owned(),
        ];
        for word in &words {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), word.as_str());
        }
        assert!(!marker.exists());
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("CLIENT_SECRET"));
        assert!(is_variable_name("_x1"));
        for bad in ["", "1X", "X}$(id)", "A-B", "A B"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }
}
