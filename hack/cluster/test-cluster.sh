#!/usr/bin/env bash
# A control plane that lives exactly as long as its caller (the cluster test
# harness, tests/support/cluster.rs): starts a cluster, prints
# `KUBECONFIG=<path>` on stdout, then waits until its standard input is closed
# -- which happens when the caller exits in any way, panics and kills
# included -- and stops the cluster and removes its data.
#
# Usage: test-cluster.sh OWNER_PID   (runs in KFCTL_CLUSTER_DIR, default
# <repo>/.kfctl/test/OWNER_PID, as cluster kfctl-test-OWNER_PID).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
owner="${1:?usage: test-cluster.sh OWNER_PID}"
repo="$(cd "$here/../.." && pwd)"
tests_dir="$repo/.kfctl/test"
export KFCTL_CLUSTER_NAME="${KFCTL_CLUSTER_NAME:-kfctl-test-$owner}"
export KFCTL_CLUSTER_DIR="${KFCTL_CLUSTER_DIR:-$tests_dir/$owner}"

# Ctrl-C reaches the whole foreground group: the caller dies of it, and this
# script must live on long enough to clean up.
trap '' INT HUP PIPE

# Clusters of earlier runs whose owner died before its helper could clean up
# (the helper itself was killed) are removed here.
for stale in "$tests_dir"/*/; do
  [[ -d "$stale" ]] || continue
  pid="$(basename "$stale")"
  [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$owner" ]] || continue
  kill -0 "$pid" 2>/dev/null && continue
  KFCTL_CLUSTER_NAME="kfctl-test-$pid" KFCTL_CLUSTER_DIR="${stale%/}" "$here/down.sh" || true
done

# Whatever ends this script -- the caller gone, an error, SIGTERM -- stops the
# cluster and removes its data.
cleanup() { "$here/down.sh" || true; }
trap cleanup EXIT
trap 'exit 143' TERM

if ! out="$("$here/up.sh")"; then
  echo "test cluster: the control plane did not start (see the messages above)" >&2
  exit 1
fi
# When the caller died while the cluster was starting, this write fails
# (EPIPE) and the script ends through its EXIT trap.
echo "KUBECONFIG=${out##*export KUBECONFIG=}"
exec 1>/dev/null

# Block until the caller's end of the pipe closes.
while read -r _; do :; done
