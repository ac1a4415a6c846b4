//! The real `kfctl` binary, run with `assert_cmd`; stdout and stderr snapshotted with `insta`.
