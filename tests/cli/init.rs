//! `kfctl init`: sessions typed into a real pseudo-terminal (what a person sees and the file
//! written), and the flags-only path with no terminal (what a script gets).

use std::path::Path;
use std::process::Command;

use nix::sys::wait::WaitStatus;
use rexpect::session::{PtySession, spawn_command};
use serde_json::Value;

use crate::kfctl_bin;
use crate::support::TestContext;

/// Long enough for a debug build on a busy 2-core machine; nothing here asserts on time.
const EXPECT_TIMEOUT_MS: u64 = 60_000;

const UP: &str = "\x1b[A";
const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// `kfctl init ARGS` on a fresh pseudo-terminal, run in the test's directory.
fn spawn(ctx: &TestContext, args: &[&str]) -> PtySession {
    // Not `kfctl_bin::kfctl`: its stdin must stay the terminal's.
    let mut cmd = Command::new(kfctl_bin::BIN);
    kfctl_bin::hermetic(&mut cmd)
        .arg("init")
        .args(args)
        .current_dir(ctx.path())
        .env("TERM", "xterm");
    spawn_command(cmd, Some(EXPECT_TIMEOUT_MS)).expect("cannot start kfctl on a pseudo-terminal")
}

/// Waits for `text` on the terminal; on a timeout, fails showing what was on it.
#[track_caller]
fn expect(session: &mut PtySession, text: &str) {
    if let Err(err) = session.exp_string(text) {
        panic!("waited for {text:?} on the terminal: {err}");
    }
}

#[track_caller]
fn send(session: &mut PtySession, keys: &str) {
    session.send(keys).expect("cannot type into the terminal");
    session.flush().expect("cannot type into the terminal");
}

/// Types `line` and Enter.
#[track_caller]
fn answer(session: &mut PtySession, line: &str) {
    send(session, &format!("{line}{ENTER}"));
}

/// Reads the rest of the session and returns the exit code.
#[track_caller]
fn finish(mut session: PtySession) -> (String, i32) {
    let rest = session.exp_eof().expect("kfctl did not end");
    match session.process().wait().expect("cannot wait for kfctl") {
        WaitStatus::Exited(_, code) => (rest, code),
        other => panic!("kfctl did not exit normally: {other:?}\n{rest}"),
    }
}

fn read_config(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).expect("kfctl.yaml was not written");
    let value: Value = serde_saphyr::from_str(&text).expect("kfctl.yaml is not YAML");
    (text, value)
}

/// Nothing but what the test put there: no config, no temp file left behind.
#[track_caller]
fn assert_dir_empty(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .expect("cannot list the test directory")
        .map(|e| {
            e.expect("cannot list")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(left.is_empty(), "files were left behind: {left:?}");
}

#[track_caller]
fn assert_password(text: &str, config: &Value, password: &str) {
    let hash = config["spec"]["admin"]["passwordHash"]
        .as_str()
        .expect("no spec.admin.passwordHash");
    assert!(hash.starts_with("$2b$"), "not a bcrypt hash: {hash}");
    assert!(
        bcrypt::verify(password, hash).expect("the hash does not parse"),
        "the hash does not verify against the typed password"
    );
    assert!(
        !text.contains(password),
        "the plaintext password is in the file:\n{text}"
    );
    assert!(
        config["spec"]["admin"].get("password").is_none(),
        "a `password` field was written"
    );
}

#[test]
fn full_gcp_session() {
    let ctx = TestContext::new();
    let mut s = spawn(&ctx, &[]);

    expect(&mut s, "Platform");
    expect(&mut s, "gcp");
    // The cursor starts on the default, `local`, the first of five; `gcp` is next.
    send(&mut s, &format!("{DOWN}{ENTER}"));

    expect(&mut s, "Kubeflow release");
    // The cursor starts on the default, `26.03`; the release candidate is not offered.
    send(&mut s, ENTER);

    expect(&mut s, "Components");
    expect(&mut s, "(needs istio, oauth2-proxy)");
    // Untick `dex` (the fifth item): `notebooks` and `pipelines` need it, so it comes back.
    send(&mut s, &format!("{DOWN}{DOWN}{DOWN}{DOWN} {ENTER}"));
    expect(
        &mut s,
        "note: enabled `dex` too: `notebooks`, `pipelines`, `kserve`, `katib` need it",
    );

    expect(&mut s, "Enable GPU support");
    send(&mut s, "y");

    expect(&mut s, "Google Cloud project id");
    answer(&mut s, "Bad_Project");
    expect(&mut s, "`Bad_Project` does not fit `project`");
    answer(&mut s, "my-proj-1");

    expect(&mut s, "DNS name Kubeflow is served at");
    answer(&mut s, "kf.example.com");
    expect(&mut s, "GCS bucket pipelines store their artifacts in");
    answer(&mut s, "my-artifacts");
    expect(
        &mut s,
        "Google service account the pipeline and notebook service accounts act as",
    );
    answer(&mut s, "kubeflow@my-proj-1.iam.gserviceaccount.com");
    expect(&mut s, "Storage class");
    answer(&mut s, ""); // the default, standard-rwo

    expect(&mut s, "Admin user e-mail");
    answer(&mut s, "admin@example.com");
    expect(&mut s, "Admin user password");
    answer(&mut s, "s3cret-Passw0rd");
    expect(&mut s, "Admin user password (again)");
    answer(&mut s, "s3cret-Passw0rd");

    expect(&mut s, "Summary");
    expect(&mut s, "gpu             yes");
    expect(&mut s, "Write `kfctl.yaml`?");
    send(&mut s, "y");
    expect(&mut s, "next: kfctl build -f kfctl.yaml");
    let (rest, code) = finish(s);
    assert_eq!(code, 0, "kfctl init failed:\n{rest}");

    let (text, config) = read_config(&ctx.path().join("kfctl.yaml"));
    assert_eq!(config["apiVersion"], "kfctl.dev/v1alpha1");
    assert_eq!(config["kind"], "KfctlConfig");
    let spec = &config["spec"];
    assert_eq!(spec["platform"], "gcp");
    assert_eq!(spec["release"], "26.03");
    for on in [
        "kubeflow-namespace",
        "cert-manager",
        "istio",
        "oauth2-proxy",
        "dex",
        "notebooks",
        "pipelines",
        "tensorboards",
        "pvc-viewer",
        "kserve",
        "katib",
        "trainer",
        "spark",
        "gpu",
    ] {
        assert_eq!(spec["components"][on]["enabled"], true, "{on}:\n{text}");
    }
    let params = &spec["parameters"];
    assert_eq!(params["project"], "my-proj-1");
    assert_eq!(params["domain"], "kf.example.com");
    assert_eq!(params["gcsBucket"], "my-artifacts");
    assert_eq!(
        params["workloadIdentityServiceAccount"],
        "kubeflow@my-proj-1.iam.gserviceaccount.com"
    );
    assert_eq!(params["storageClass"], "standard-rwo");
    assert_eq!(spec["admin"]["email"], "admin@example.com");
    assert_password(&text, &config, "s3cret-Passw0rd");
}

/// Every wrong answer is said why, and asked again; flags answer the rest.
#[test]
fn wrong_answers_are_asked_again() {
    let ctx = TestContext::new();
    let mut s = spawn(
        &ctx,
        &[
            "--platform",
            "azure",
            "--release",
            "latest",
            "--components",
            "istio",
            "--no-gpu",
            "--set",
            "subscriptionId=00000000-1111-2222-3333-444444444444",
            "--set",
            "tenantId=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "--set",
            "domain=kf.example.org",
            "--storage-class",
            "managed-csi",
            "--admin-email",
            "owner@example.org",
            "-o",
            "azure.yaml",
        ],
    );
    expect(&mut s, "client id of the managed identity");
    answer(&mut s, "not-a-guid");
    expect(&mut s, "`not-a-guid` does not fit `clientId`");
    answer(&mut s, "12345678-90ab-cdef-1234-567890abcdef");

    expect(&mut s, "ACME (Let's Encrypt)");
    answer(&mut s, "me@");
    expect(&mut s, "`me@` does not fit `acmeEmail`");
    answer(&mut s, "acme@example.org");

    expect(&mut s, "Admin user password");
    answer(&mut s, "short");
    expect(&mut s, "the password is shorter than 8 characters");
    answer(&mut s, "first-password");
    expect(&mut s, "(again)");
    answer(&mut s, "other-password");
    expect(&mut s, "the passwords differ; type them again");
    answer(&mut s, "final-password");
    expect(&mut s, "(again)");
    answer(&mut s, "final-password");

    expect(
        &mut s,
        "note: enabled `kubeflow-namespace` too: `istio` needs it",
    );
    expect(&mut s, "Write `azure.yaml`?");
    send(&mut s, "y");
    expect(&mut s, "next: kfctl build -f azure.yaml");
    let (rest, code) = finish(s);
    assert_eq!(code, 0, "kfctl init failed:\n{rest}");

    let (text, config) = read_config(&ctx.path().join("azure.yaml"));
    let spec = &config["spec"];
    assert_eq!(spec["platform"], "azure");
    assert_eq!(
        spec["parameters"]["clientId"],
        "12345678-90ab-cdef-1234-567890abcdef"
    );
    assert_eq!(spec["parameters"]["acmeEmail"], "acme@example.org");
    assert_eq!(spec["parameters"]["storageClass"], "managed-csi");
    assert_eq!(spec["components"]["istio"]["enabled"], true);
    assert_eq!(spec["components"]["kubeflow-namespace"]["enabled"], true);
    assert_eq!(spec["components"]["pipelines"]["enabled"], false);
    assert_eq!(spec["components"]["gpu"]["enabled"], false);
    assert_password(&text, &config, "final-password");
}

/// Ctrl-C at a choice: nothing written, exit 1 with a short message.
#[test]
fn ctrl_c_at_a_choice_writes_nothing() {
    let ctx = TestContext::new();
    let mut s = spawn(&ctx, &[]);
    expect(&mut s, "Platform");
    send(&mut s, &format!("{UP}{ENTER}"));
    expect(&mut s, "Kubeflow release");
    s.send_control('c').expect("cannot send Ctrl-C");
    expect(&mut s, "interrupted; nothing was written");
    let (rest, code) = finish(s);
    assert_eq!(code, 1, "{rest}");
    assert_dir_empty(ctx.path());
}

/// Ctrl-C while typing the hidden password (a raw read of its own): the same.
#[test]
fn ctrl_c_at_the_password_writes_nothing() {
    let ctx = TestContext::new();
    let mut s = spawn(
        &ctx,
        &[
            "--platform",
            "local",
            "--release",
            "1.10.2",
            "--components",
            "istio",
            "--gpu",
            "--admin-email",
            "a@example.com",
            "--storage-class",
            "standard",
        ],
    );
    expect(&mut s, "Admin user password");
    send(&mut s, "half-typ");
    s.send_control('c').expect("cannot send Ctrl-C");
    expect(&mut s, "interrupted; nothing was written");
    let (rest, code) = finish(s);
    assert_eq!(code, 1, "{rest}");
    assert!(
        !rest.contains("half-typ"),
        "the password was echoed:\n{rest}"
    );
    assert_dir_empty(ctx.path());
}

/// Saying no at the confirmation writes nothing either.
#[test]
fn declined_summary_writes_nothing() {
    let ctx = TestContext::new();
    let mut s = spawn(
        &ctx,
        &[
            "--platform",
            "local",
            "--release",
            "latest",
            "--components",
            "pipelines",
            "--no-gpu",
            "--admin-email",
            "a@example.com",
            "--storage-class",
            "standard",
        ],
    );
    expect(&mut s, "Admin user password");
    answer(&mut s, "password-1");
    expect(&mut s, "(again)");
    answer(&mut s, "password-1");
    expect(&mut s, "Write `kfctl.yaml`?");
    send(&mut s, "n");
    expect(&mut s, "not confirmed; nothing was written");
    let (rest, code) = finish(s);
    assert_eq!(code, 1, "{rest}");
    assert_dir_empty(ctx.path());
}

const GCP_FLAGS: &[&str] = &[
    "--platform",
    "gcp",
    "--release",
    "1.11.0",
    "--components",
    "notebooks,pipelines",
    "--set",
    "project=my-proj-1",
    "--set",
    "domain=kf.example.com",
    "--set",
    "gcsBucket=my-artifacts",
    "--set",
    "workloadIdentityServiceAccount=kubeflow@my-proj-1.iam.gserviceaccount.com",
    "--set",
    "pipelines.artifactRetentionDays=30",
    "--admin-email",
    "admin@example.com",
    "--admin-password-env",
    "KF_ADMIN_PASSWORD",
];

/// No terminal, every answer given: the file is written, nothing is asked.
#[test]
fn no_tty_with_flags_writes_the_file() {
    let ctx = TestContext::new();
    let mut cmd = ctx.kfctl(&[&["init"], GCP_FLAGS].concat());
    cmd.env("KF_ADMIN_PASSWORD", "from-the-env-1");
    insta::assert_snapshot!(ctx.run(&mut cmd));

    let (text, config) = read_config(&ctx.path().join("kfctl.yaml"));
    let spec = &config["spec"];
    assert_eq!(spec["platform"], "gcp");
    assert_eq!(spec["release"], "1.11.0");
    assert_eq!(spec["parameters"]["project"], "my-proj-1");
    assert_eq!(spec["parameters"]["storageClass"], "standard-rwo");
    assert_eq!(
        spec["components"]["pipelines"]["parameters"]["artifactRetentionDays"],
        "30"
    );
    assert_eq!(spec["components"]["dex"]["enabled"], true);
    assert_eq!(spec["components"]["gpu"]["enabled"], false);
    assert_password(&text, &config, "from-the-env-1");
}

/// The same answers give the same file, but for the salted hash.
#[test]
fn no_tty_output_is_deterministic() {
    let ctx = TestContext::new();
    let mut texts = Vec::new();
    for name in ["a.yaml", "b.yaml"] {
        let mut cmd = ctx.kfctl(&[&["init", "-o", name], GCP_FLAGS].concat());
        cmd.env("KF_ADMIN_PASSWORD", "from-the-env-1");
        cmd.assert().success();
        let (text, _) = read_config(&ctx.path().join(name));
        let hash_line = |t: &str| {
            t.lines()
                .map(|l| {
                    if l.trim_start().starts_with("passwordHash:") {
                        "passwordHash: [HASH]"
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        texts.push(hash_line(&text));
    }
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn no_tty_password_from_a_file() {
    let ctx = TestContext::new();
    ctx.write("pw.txt", "from-a-file-1\n");
    let mut cmd = ctx.kfctl(&[
        "init",
        "--platform",
        "local",
        "--admin-password-file",
        "pw.txt",
        "-o",
        "local.yaml",
    ]);
    cmd.assert().success();
    let (text, config) = read_config(&ctx.path().join("local.yaml"));
    assert_eq!(config["spec"]["platform"], "local");
    assert_eq!(config["spec"]["release"], "26.03");
    assert_eq!(config["spec"]["parameters"]["storageClass"], "standard");
    assert_eq!(config["spec"]["components"]["gpu"]["enabled"], true);
    assert_eq!(config["spec"]["admin"]["email"], "user@example.com");
    assert_password(&text, &config, "from-a-file-1");
}

/// The serving, tuning and training components are offered (the platform's defaults), and
/// `trainer` or `kserve` without `gpu` is said in a note, with or without a terminal.
#[test]
fn serving_and_training_without_gpu_suggest_it() {
    let ctx = TestContext::new();
    ctx.write("pw.txt", "from-a-file-1\n");
    let init = |gpu: &str, file: &str| {
        let out = ctx
            .kfctl(&[
                "init",
                "--platform",
                "local",
                gpu,
                "--admin-password-file",
                "pw.txt",
                "-o",
                file,
            ])
            .output()
            .expect("kfctl runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let note = "note: `trainer`, `kserve` can run on GPU nodes; enable `gpu` (`--gpu`)";
    let without = init("--no-gpu", "without.yaml");
    assert!(without.contains(note), "{without}");
    let (_, config) = read_config(&ctx.path().join("without.yaml"));
    for on in [
        "tensorboards",
        "pvc-viewer",
        "kserve",
        "katib",
        "trainer",
        "spark",
    ] {
        assert_eq!(config["spec"]["components"][on]["enabled"], true, "{on}");
    }
    let with = init("--gpu", "with.yaml");
    assert!(!with.contains("can run on GPU nodes"), "{with}");
}

/// No terminal, answers missing: exit 1 naming every flag to pass, nothing written.
#[test]
fn no_tty_missing_flags() {
    let ctx = TestContext::new();
    let out = ctx.run(&mut ctx.kfctl(&["init", "--platform", "gcp", "--set", "project=my-proj-1"]));
    insta::assert_snapshot!(out);
    assert_dir_empty(ctx.path());
}

/// `--yes` on a terminal asks nothing either.
#[test]
fn yes_on_a_terminal_asks_nothing() {
    let ctx = TestContext::new();
    let s = spawn(&ctx, &["--platform", "aws", "--yes"]);
    let (rest, code) = finish(s);
    assert_eq!(code, 1, "{rest}");
    assert!(
        rest.contains("missing answers (`--yes` asks nothing)")
            && rest.contains("--set accountId=VALUE")
            && rest.contains("--set pipelineRoleArn=VALUE")
            && rest.contains("--admin-password-env VAR"),
        "{rest}"
    );
    assert_dir_empty(ctx.path());
}

#[test]
fn unknown_platform() {
    let ctx = TestContext::new();
    insta::assert_snapshot!(ctx.run(&mut ctx.kfctl(&["init", "--platform", "openshift"])));
}

#[test]
fn invalid_parameter_flag() {
    let ctx = TestContext::new();
    insta::assert_snapshot!(ctx.run(&mut ctx.kfctl(&[
        "init",
        "--platform",
        "aws",
        "--set",
        "pipelineRoleArn=arn:aws:iam::123:role/kfp",
    ])));
}

#[test]
fn refuses_to_overwrite() {
    let ctx = TestContext::new();
    ctx.write("kfctl.yaml", "mine\n");
    let mut cmd = ctx.kfctl(&["init", "--platform", "local", "--admin-password-env", "PW"]);
    cmd.env("PW", "password-1");
    insta::assert_snapshot!(ctx.run(&mut cmd));
    assert_eq!(
        std::fs::read_to_string(ctx.path().join("kfctl.yaml")).expect("the file is gone"),
        "mine\n"
    );

    let mut forced = ctx.kfctl(&[
        "init",
        "--platform",
        "local",
        "--admin-password-env",
        "PW",
        "--force",
    ]);
    forced.env("PW", "password-1");
    forced.assert().success();
    let (_, config) = read_config(&ctx.path().join("kfctl.yaml"));
    assert_eq!(config["spec"]["platform"], "local");
}
