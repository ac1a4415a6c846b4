//! `kfctl build` on a tiny kustomization: YAML, JSON, and one file per object.

use crate::support::TestContext;

fn tiny() -> TestContext {
    let ctx = TestContext::new();
    ctx.write(
        "kustomization.yaml",
        "namePrefix: demo-\nnamespace: apps\nresources:\n  - service.yaml\nconfigMapGenerator:\n  - name: settings\n    literals:\n      - color=blue\n",
    )
    .write(
        "service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n",
    );
    ctx
}

#[test]
fn yaml() {
    let ctx = tiny();
    insta::assert_snapshot!(ctx.run(&mut ctx.kfctl(&["build", "."])));
}

#[test]
fn current_dir_by_default() {
    let ctx = tiny();
    let explicit = ctx.run(&mut ctx.kfctl(&["build", "."]));
    assert_eq!(ctx.run(&mut ctx.kfctl(&["build"])), explicit);
}

#[test]
fn json() {
    let ctx = tiny();
    insta::assert_snapshot!(ctx.run(&mut ctx.kfctl(&["build", ".", "-o", "json"])));
}

#[test]
fn output_dir_writes_one_file_per_object() {
    let ctx = tiny();
    let out = ctx.run(&mut ctx.kfctl(&["build", ".", "--output-dir", "out"]));
    let mut files: Vec<String> = std::fs::read_dir(ctx.path().join("out"))
        .expect("the output directory was not created")
        .map(|e| {
            e.expect("cannot list the output directory")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut listing = format!("{out}\n----- files -----\n");
    for file in &files {
        let text = std::fs::read_to_string(ctx.path().join("out").join(file))
            .expect("cannot read a written file");
        listing.push_str(&format!("=== {file}\n{text}"));
    }
    insta::assert_snapshot!(listing);
}
