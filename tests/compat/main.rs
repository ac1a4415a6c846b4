//! `kfctl build` against `kubectl kustomize` on fixtures and the Kubeflow corpus.
