//! Small hand-written kustomizations under `tests/fixtures/compat/`, one feature each, rendered by
//! both and compared like the corpus.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::diff::first_difference;
use crate::reference::Reference;
use crate::run;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

#[track_caller]
fn assert_renders_as_kubectl(fixture: &str) {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    let reference = REFERENCE.get_or_init(|| Reference::new(&root()));
    let dir = root().join(fixture);
    let text = reference
        .get(&dir)
        .unwrap_or_else(|e| panic!("kubectl cannot build fixture `{fixture}`:\n{e}"));
    let want = run::parse_stream(&text)
        .unwrap_or_else(|e| panic!("kubectl's output for `{fixture}` does not parse: {e}"));
    assert!(
        !want.is_empty(),
        "kubectl rendered no object for `{fixture}`"
    );
    let got = run::kfctl(&dir).unwrap_or_else(|e| panic!("kfctl cannot build `{fixture}`:\n{e}"));
    if let Some(difference) = first_difference(&want, &got) {
        panic!("`{fixture}` renders differently from kubectl: {difference}");
    }
}

#[test]
fn generators_with_hash_suffix() {
    assert_renders_as_kubectl("generators");
}

#[test]
fn name_prefix_and_suffix_with_references() {
    assert_renders_as_kubectl("name-prefix");
}

#[test]
fn namespace_over_a_base() {
    assert_renders_as_kubectl("namespace/overlay");
}

#[test]
fn components_merging_generators() {
    assert_renders_as_kubectl("components/overlay");
}

#[test]
fn secret_values_of_every_length_fold_and_hash_as_kubectl() {
    assert_renders_as_kubectl("secret-values");
}
