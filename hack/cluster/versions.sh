# shellcheck shell=bash
# Pinned versions and cache layout of the local control plane. Sourced by the
# other scripts in hack/cluster/ and read by tests/support/cluster.rs.
ETCD_VERSION=v3.6.16
KUBE_VERSION=v1.34.4
KWOK_VERSION=v0.8.0

KFCTL_CACHE="${KFCTL_CACHE:-$HOME/.cache/kfctl-test}"
ETCD_DIR="$KFCTL_CACHE/etcd-$ETCD_VERSION"
KUBE_DIR="$KFCTL_CACHE/kubernetes-$KUBE_VERSION"
KWOK_DIR="$KFCTL_CACHE/kwok-$KWOK_VERSION"
