//! `--help` of every command: a flag without a doc comment shows up here in review.

use clap::CommandFactory;

use crate::support::{kfctl, run};

/// The path of every command and subcommand under `command`, itself first, as typed after
/// `kfctl`; hidden ones left out, as `--help` leaves them out.
fn command_paths(command: &clap::Command, path: &[String], found: &mut Vec<Vec<String>>) {
    found.push(path.to_vec());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub_path = path.to_vec();
        sub_path.push(sub.get_name().to_owned());
        command_paths(sub, &sub_path, found);
    }
}

/// Walks the command tree clap parses with, so a new command gets its snapshot without a test
/// of its own: `kfctl generate upgrade-job --help` is `generate_upgrade_job_help`, `kfctl --help`
/// is `kfctl_help`.
#[test]
fn every_command_help() {
    let mut paths = Vec::new();
    command_paths(&kfctl::args::Args::command(), &[], &mut paths);
    let names: Vec<String> = paths.iter().map(|p| p.join(" ")).collect();
    for expected in [
        "",
        "build",
        "apply",
        "images",
        "sources",
        "generate upgrade-job",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "the walk missed `kfctl {expected}`; it found {names:?}"
        );
    }
    for path in &paths {
        let name = if path.is_empty() {
            "kfctl_help".to_owned()
        } else {
            format!("{}_help", path.join("_").replace('-', "_"))
        };
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        insta::with_settings!({
            description => format!("kfctl {}", args.join(" ")),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, run(&mut kfctl(&args)));
        });
    }
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
