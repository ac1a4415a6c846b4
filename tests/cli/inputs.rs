//! One input convention: every command that renders takes `-k DIR`, `-p` and `-f` as `apply`
//! does (`build` also its positional DIR), and every command that addresses an install names it
//! by `--name` or by those flags. No cluster: a missing kubeconfig shows the flags were parsed.

use crate::support::{TestContext, kfctl};

/// A kustomization in `My_App/`, whose install `kfctl apply -k My_App` names `my-app`.
fn app() -> TestContext {
    let ctx = TestContext::new();
    ctx.write("My_App/kustomization.yaml", "resources:\n  - deploy.yaml\n")
        .write(
            "My_App/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.25\n",
        );
    ctx
}

fn stdout(ctx: &TestContext, args: &[&str]) -> String {
    let out = ctx.kfctl(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn build_takes_k_as_its_directory_argument() {
    let ctx = app();
    assert_eq!(
        stdout(&ctx, &["build", "-k", "My_App"]),
        stdout(&ctx, &["build", "My_App"])
    );
    for conflicting in [
        &["build", "My_App", "-k", "My_App"][..],
        &["build", "My_App", "-p", "local"],
        &["build", "-k", "My_App", "-p", "local"],
        &["build", "-k", "My_App", "--set", "a=b"],
    ] {
        let out = ctx.kfctl(conflicting).assert().failure();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains("cannot be used with"),
            "{conflicting:?}: {stderr}"
        );
    }
}

#[test]
fn images_and_sources_take_k_and_still_a_directory_argument() {
    let ctx = app();
    assert_eq!(stdout(&ctx, &["images", "-k", "My_App"]), "nginx:1.25\n");
    assert_eq!(stdout(&ctx, &["images", "My_App"]), "nginx:1.25\n");
    let settings = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--show-settings");
        stdout(&ctx, &args)
    };
    for args in [
        &["sources", "pull", "-k", "My_App"][..],
        &["sources", "update", "My_App"],
        &["sources", "mirror", "out", "-k", "My_App"],
        &["sources", "mirror", "out", "My_App"],
    ] {
        let shown = settings(args);
        assert!(
            shown.contains("Dir(\n            \"My_App\""),
            "{args:?}: {shown}"
        );
    }
    assert!(settings(&["sources", "update", "-k", "My_App"]).contains("update: true"));
    assert!(settings(&["sources", "mirror", "out", "-k", "My_App"]).contains("\"out\""));
}

#[test]
fn images_and_sources_help_show_the_input_flags_and_no_build_output() {
    for command in [
        &["images"][..],
        &["sources", "pull"],
        &["sources", "mirror"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = kfctl(&args).assert().success();
        let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        for flag in [
            "--kustomize <DIR>",
            "--platform <PLATFORM>",
            "--config <FILE>",
        ] {
            assert!(help.contains(flag), "{command:?} lacks {flag}:\n{help}");
        }
        assert!(!help.contains("--output-dir"), "{command:?}:\n{help}");
        assert!(!help.contains("  kfctl build "), "{command:?}:\n{help}");
    }
}

#[test]
fn install_commands_name_the_install_by_the_input_flags() {
    let ctx = app();
    let name = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--show-settings");
        let shown = stdout(&ctx, &args);
        shown
            .lines()
            .find(|l| l.starts_with("    name: "))
            .unwrap_or_else(|| panic!("{args:?} shows no name:\n{shown}"))
            .trim()
            .to_owned()
    };
    for command in [
        &["history"][..],
        &["rollback"],
        &["generate", "upgrade-job", "--to", "latest"],
    ] {
        let with = |extra: &[&str]| name(&[command, extra].concat());
        assert_eq!(with(&[]), "name: \"kubeflow\",", "{command:?}");
        assert_eq!(with(&["-p", "local"]), "name: \"kubeflow\",", "{command:?}");
        assert_eq!(with(&["-k", "My_App"]), "name: \"my-app\",", "{command:?}");
        assert_eq!(
            with(&["--name", "demo", "-k", "My_App"]),
            "name: \"demo\",",
            "{command:?}"
        );
    }
}

#[test]
fn history_and_rollback_with_a_platform_fail_on_the_cluster_not_the_arguments() {
    for args in [
        &["history", "-p", "local"][..],
        &["rollback", "-p", "local"],
        &["history", "-k", "My_App"],
        &["generate", "upgrade-job", "--to", "latest", "-p", "local"],
    ] {
        let ctx = app();
        let mut args = args.to_vec();
        args.extend(["--kubeconfig", "/nonexistent"]);
        let out = ctx.kfctl(&args).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.starts_with("error: cannot connect to the cluster"),
            "{args:?}: {stderr}"
        );
    }
}
