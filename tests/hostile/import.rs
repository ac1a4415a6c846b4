//! `kfctl import` of KfDefs whose names and plugin fields hold YAML syntax, line breaks and shell
//! syntax: the `kfctl.yaml` it writes reads back with exactly those values and no other keys, and
//! the `kubectl` command it prints passes each value as one literal argument, running nothing.

use std::path::Path;

use serde_json::{Value, json};

use crate::params::{build, dex_admin_email, objects};
use crate::support::{Run, kfctl, run};

/// Writes `kfdef` (JSON, which is YAML) and imports it into `home/kfctl.yaml`.
fn import(home: &Path, kfdef: &Value) -> Run {
    let file = home.join("kfdef.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(kfdef).unwrap()).unwrap();
    let out = home.join("kfctl.yaml");
    let _ = std::fs::remove_file(&out);
    run(&mut kfctl(
        home,
        &[
            "import",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    ))
}

fn gcp_kfdef(name: &str, version: &str, plugin: Value) -> Value {
    json!({
        "apiVersion": "kfdef.apps.kubeflow.org/v1",
        "kind": "KfDef",
        "metadata": {"name": name},
        "spec": {
            "applications": [
                {"name": "dex\nspec: {platform: aws}\n# ", "kustomizeConfig": {"repoRef": {"name": "manifests", "path": "dex-auth/dex-crds"}}},
                {"name": "pipeline", "kustomizeConfig": {"repoRef": {"name": "manifests", "path": "pipeline"}}},
            ],
            "plugins": [{"kind": "KfGcpPlugin", "spec": plugin}],
            "version": version,
        },
    })
}

#[test]
fn kfdef_name_and_version_with_line_breaks_cannot_add_keys_to_kfctl_yaml() {
    let home = tempfile::tempdir().unwrap();
    let name = "evil\nkind: Evil\nspec: {platform: aws}\n# \r\u{2028}x: \u{85}y";
    let version = "v1\n---\nkind: Other\n";
    let email = r#"a"\#:{{x}}'@b.c"#;
    let kfdef = gcp_kfdef(
        name,
        version,
        json!({
            "project": "my-project",
            "zone": "us-east1-d",
            "email": email,
            "hostname": "kf.example.org",
        }),
    );
    let out = import(home.path(), &kfdef);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let path = home.path().join("kfctl.yaml");
    let text = std::fs::read_to_string(&path).unwrap();

    let config: Value = serde_saphyr::from_str(&text).expect("kfctl.yaml is YAML");
    let keys: Vec<&String> = config.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"], "{text}");
    assert_eq!(config["kind"], "KfctlConfig", "{text}");
    assert_eq!(config["metadata"]["name"], name, "{text}");
    assert_eq!(config["spec"]["platform"], "gcp", "{text}");
    assert_eq!(config["spec"]["parameters"]["adminEmail"], email, "{text}");
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(header.len(), 2, "{text}");
    assert!(!text.contains('\r') && !text.contains('\u{2028}') && !text.contains('\u{85}'));

    // kfctl reads it back, and dex gets the e-mail as it was.
    let rendered = build(
        home.path(),
        &[
            "-f",
            path.to_str().unwrap(),
            "--set",
            "gcsBucket=kf-test-artifacts",
            "--set",
            "workloadIdentityServiceAccount=kubeflow@my-project.iam.gserviceaccount.com",
        ],
    );
    assert_eq!(dex_admin_email(&objects(&rendered)), email);
}

/// The printed secret command, between the backquotes that set it apart in the report.
fn printed_command(stderr: &str) -> &str {
    let start = stderr
        .find("IAP reads: `")
        .map(|i| i + "IAP reads: `".len())
        .unwrap_or_else(|| panic!("no secret command in:\n{stderr}"));
    let end = stderr.rfind("` (kfctl v1 read the client secret").unwrap();
    &stderr[start..end]
}

#[test]
fn oauth_client_id_with_shell_syntax_is_one_literal_argument_when_the_command_is_pasted() {
    let home = tempfile::tempdir().unwrap();
    let marker = |n: u32| home.path().join(format!("ran-{n}"));
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = bin.join("kubectl");
    std::fs::write(
        &stub,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGV_FILE\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", stub.to_str().unwrap()])
        .status()
        .unwrap();
    let id = format!(
        "$(touch {}) `touch {}` '; touch {} #\"${{HOME}}\" * \\ ü",
        marker(1).display(),
        marker(2).display(),
        marker(3).display()
    );
    for (secret_name, variable) in [
        ("MY_SECRET", "MY_SECRET"),
        (
            &*format!("X}}$(touch {})", marker(4).display()),
            "CLIENT_SECRET",
        ),
    ] {
        let kfdef = gcp_kfdef(
            "kf",
            "v1.2.0",
            json!({
                "project": "my-project",
                "iap": {"oAuthClientId": id, "oAuthClientSecret": {"name": secret_name}},
            }),
        );
        let out = import(home.path(), &kfdef);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let command = printed_command(&out.stderr);

        let argv_file = home.path().join("argv");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("PATH", path)
            .env("ARGV_FILE", &argv_file)
            .env(variable, "s3cret")
            .status()
            .unwrap();
        assert!(status.success(), "{command}");
        let argv = std::fs::read(&argv_file).unwrap();
        let argv: Vec<String> = argv
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8(a.to_vec()).unwrap())
            .collect();
        assert_eq!(
            argv,
            [
                "-n".to_owned(),
                "istio-system".to_owned(),
                "create".to_owned(),
                "secret".to_owned(),
                "generic".to_owned(),
                "kubeflow-iap-oauth".to_owned(),
                format!("--from-literal=client_id={id}"),
                "--from-literal=client_secret=s3cret".to_owned(),
            ],
            "{command}"
        );
        for n in 1..=4 {
            assert!(!marker(n).exists(), "the command ran `touch`: {command}");
        }
    }
}

/// An id with a line break or a terminal escape is not printed for pasting, and nothing of the
/// KfDef reaches the terminal as a control character.
#[test]
fn oauth_client_id_with_control_characters_is_not_printed_for_pasting() {
    let home = tempfile::tempdir().unwrap();
    let mut kfdef = gcp_kfdef(
        "kf\u{1b}]52;c;ZWNobyBoaQ==\u{7}",
        "v1\u{1b}[2J",
        json!({
            "project": "my-project",
            "iap": {"oAuthClientId": "id\n\u{1b}[2K\rkubectl delete ns kubeflow", "oAuthClientSecret": {"name": "S"}},
        }),
    );
    kfdef["spec"]["applications"][0]["name"] = json!("app\u{1b}[31m\r");
    let out = import(home.path(), &kfdef);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        out.stderr
    );
    let command = printed_command(&out.stderr);
    assert!(
        command.contains("--from-literal=client_id=CLIENT_ID "),
        "{command}"
    );
    assert!(
        out.stderr.contains("holds control characters"),
        "{}",
        out.stderr
    );
}

/// A KfDef field that is not text where text is read (a map for a name) is refused with exit
/// 1, naming the field, and nothing is written.
#[test]
fn a_kfdef_name_that_is_not_text_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let mut kfdef = gcp_kfdef("kf", "v1", json!({"project": "my-project"}));
    kfdef["metadata"]["name"] = json!({"a": "b"});
    let out = import(home.path(), &kfdef);
    out.refused("metadata.name");
    assert!(!home.path().join("kfctl.yaml").exists());
}
