#!/usr/bin/env bash
# `make demo`: kfctl's main job on the local simulated cluster.
#
#  1. starts the local control plane (`hack/cluster/up.sh`; a no-op when
#     `make cluster-up` already did) and lists its nodes, GPU ones included;
#  2. `kfctl apply -p local --yes`: renders the local platform (the newest
#     stable Kubeflow release with its default components and the GPU device plugin)
#     and installs it in one pass, waiting until everything is healthy;
#  3. shows what runs where (the device plugin on the GPU nodes only), then
#     applies again, which changes nothing and says so;
#  4. `kfctl status` (health per component, no drift), then a hand edit
#     (`kubectl scale`) that `kfctl diff` finds and `kfctl diff --fix` undoes.
#
# The cluster keeps running; `make cluster-down` stops it.
#   KFCTL      kfctl binary (default: target/release/kfctl, as `make build` leaves it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/lib.sh
source "$here/cluster/lib.sh"

kfctl="${KFCTL:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/kfctl}"
[[ -x "$kfctl" ]] || fail "no kfctl binary at $kfctl (run \`make build\`, or set KFCTL)"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  step() { printf '\n==> %s\n' "$*"; }
fi

step "local cluster"
"$here/cluster/up.sh" >/dev/null
echo "kubeconfig: $CLUSTER_KUBECONFIG (context $CLUSTER_NAME)"
kc get nodes \
  -o custom-columns='NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,CPU:.status.allocatable.cpu,MEMORY:.status.allocatable.memory,GPU:.status.allocatable.nvidia\.com/gpu,ACCELERATOR:.metadata.labels.cloud\.google\.com/gke-accelerator'

step "kfctl apply -p local --yes"
"$kfctl" apply -p local --yes --kubeconfig "$CLUSTER_KUBECONFIG" --context "$CLUSTER_NAME"

step "what runs where"
kc get deployments,statefulsets,daemonsets -A | sed -n '1,40p' # reads it all: `head` would cut kubectl off (SIGPIPE under pipefail)
echo
kc -n kube-system get pods -l name=nvidia-device-plugin -o wide
gpu_nodes="$(kc get nodes -l nvidia.com/gpu.present=true -o jsonpath='{.items[*].metadata.name}')"
plugin_nodes="$(kc -n kube-system get pods -l name=nvidia-device-plugin -o jsonpath='{.items[*].spec.nodeName}')"
[[ -n "$plugin_nodes" ]] || fail "the GPU device plugin runs nowhere"
for n in $plugin_nodes; do
  [[ " $gpu_nodes " == *" $n "* ]] || fail "device plugin pod on $n, which is not a GPU node ($gpu_nodes)"
done
echo "the GPU device plugin runs on the GPU nodes only: $plugin_nodes"

step "kfctl apply -p local --yes, again: nothing to change"
"$kfctl" apply -p local --yes --kubeconfig "$CLUSTER_KUBECONFIG" --context "$CLUSTER_NAME" 2>&1 | tail -n 1

step "kfctl status"
"$kfctl" status -p local --kubeconfig "$CLUSTER_KUBECONFIG" --context "$CLUSTER_NAME" | sed -n '1,40p'

step "a hand edit: kubectl scale, found by kfctl diff, undone by kfctl diff --fix"
kc -n kubeflow scale deployment/jupyter-web-app-deployment --replicas=3 >/dev/null
status=0
"$kfctl" diff -p local --exit-code --kubeconfig "$CLUSTER_KUBECONFIG" --context "$CLUSTER_NAME" || status=$?
[[ "$status" == 2 ]] || fail "kfctl diff should exit 2 on drift, not $status"
"$kfctl" diff -p local --fix --yes --kubeconfig "$CLUSTER_KUBECONFIG" --context "$CLUSTER_NAME" 2>&1 | tail -n 3

echo
echo "the cluster keeps running: export KUBECONFIG=$CLUSTER_KUBECONFIG; stop it with \`make cluster-down\`"
