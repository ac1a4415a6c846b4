#!/usr/bin/env bash
# `make demo`: the local cluster and what kfctl renders for it, side by side.
#
#  1. starts the local control plane (`hack/cluster/up.sh`; a no-op when
#     `make cluster-up` already did) and lists its nodes, GPU ones included;
#  2. renders the sample kustomization hack/demo/sample with `kfctl build`;
#  3. sends the rendered objects to the cluster with the pinned kubectl
#     (server-side apply: kfctl has no `apply` command yet) and shows where the
#     scheduler put the pods: the web frontend anywhere, the trainers (one
#     `nvidia.com/gpu` each) only on GPU nodes.
#
# The cluster keeps running; `make cluster-down` stops it.
#   KFCTL      kfctl binary (default: target/release/kfctl, as `make build` leaves it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/lib.sh
source "$here/cluster/lib.sh"
sample="$here/demo/sample"

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

step "kfctl build ${sample#"$REPO_ROOT"/}"
rendered="$CLUSTER_DIR/demo-rendered.yaml"
"$kfctl" build "$sample" >"$rendered"
cat "$rendered"

step "apply the rendered objects (kubectl apply --server-side; kfctl apply comes later)"
kc apply --server-side --field-manager=kfctl-demo -f "$rendered"
kc -n kfctl-demo rollout status deployment/demo-web --timeout=90s
kc -n kfctl-demo rollout status deployment/demo-trainer --timeout=90s

step "where the pods run"
kc -n kfctl-demo get pods -o wide --sort-by=.spec.nodeName
gpu_nodes="$(kc get nodes -l nvidia.com/gpu.present=true -o jsonpath='{.items[*].metadata.name}')"
trainer_nodes="$(kc -n kfctl-demo get pods -l app=trainer -o jsonpath='{.items[*].spec.nodeName}')"
for n in $trainer_nodes; do
  [[ " $gpu_nodes " == *" $n "* ]] || fail "trainer pod on $n, which is not a GPU node ($gpu_nodes)"
done
echo
echo "trainer pods (nvidia.com/gpu: 1) run on GPU nodes only: $trainer_nodes"
echo "the cluster keeps running: export KUBECONFIG=$CLUSTER_KUBECONFIG; stop it with \`make cluster-down\`"
