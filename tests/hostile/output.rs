//! What `kfctl build --output-dir` writes: one file per object, each inside the directory,
//! whatever names a kustomization gives its objects.

use crate::support::{kfctl, run};

#[test]
fn build_output_dir_refuses_object_names_that_leave_it() {
    let home = tempfile::tempdir().unwrap();
    let app = home.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("kustomization.yaml"), "resources:\n- cm.yaml\n").unwrap();
    std::fs::write(
        app.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x/../../escaped\n",
    )
    .unwrap();
    // The directory the name would pass through, as an earlier run could have left it.
    let out = home.path().join("out");
    std::fs::create_dir_all(out.join("v1_configmap_x")).unwrap();
    let result = run(&mut kfctl(
        home.path(),
        &[
            "build",
            app.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ],
    ));
    result.refused("cannot be written to a file of its own");
    assert!(!home.path().join("escaped.yaml").exists());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}
