//! `--help` of every command: a flag without a doc comment shows up here in review.

use crate::support::{kfctl, run};

#[test]
fn kfctl_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["--help"])));
}

#[test]
fn build_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["build", "--help"])));
}

#[test]
fn apply_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["apply", "--help"])));
}

#[test]
fn delete_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["delete", "--help"])));
}

#[test]
fn upgrade_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["upgrade", "--help"])));
}

#[test]
fn rollback_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["rollback", "--help"])));
}

#[test]
fn history_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["history", "--help"])));
}

#[test]
fn generate_upgrade_job_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["generate", "upgrade-job", "--help"])));
}

#[test]
fn init_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["init", "--help"])));
}

#[test]
fn platforms_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["platforms", "--help"])));
}

#[test]
fn components_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["components", "--help"])));
}

#[test]
fn releases_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["releases", "--help"])));
}

#[test]
fn diff_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["diff", "--help"])));
}

#[test]
fn status_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["status", "--help"])));
}

#[test]
fn completions_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["completions", "--help"])));
}

#[test]
fn version() {
    insta::assert_snapshot!(run(&mut kfctl(&["--version"])));
}

#[test]
fn completions_bash() {
    let out = kfctl(&["completions", "bash"]).assert().success();
    let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        script.contains("complete") && script.contains("kfctl"),
        "not a bash completion script:\n{script}"
    );
    assert!(out.get_output().stderr.is_empty());
}

#[test]
fn import_help() {
    insta::assert_snapshot!(run(&mut kfctl(&["import", "--help"])));
}
