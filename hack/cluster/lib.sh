# shellcheck shell=bash
# Shared settings of the local control-plane scripts (sourced, not run).
#
#   KFCTL_CLUSTER_NAME  cluster name and kubeconfig context   (default kfctl-local)
#   KFCTL_CLUSTER_DIR   where the cluster keeps its state     (default <repo>/.kfctl/local)
#   KFCTL_CACHE         where the built binaries are cached   (default ~/.cache/kfctl-test)

lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$lib_dir/versions.sh"

REPO_ROOT="$(cd "$lib_dir/../.." && pwd)"
CLUSTER_NAME="${KFCTL_CLUSTER_NAME:-kfctl-local}"
CLUSTER_DIR="${KFCTL_CLUSTER_DIR:-$REPO_ROOT/.kfctl/local}"
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR="$(cd "$CLUSTER_DIR" && pwd)"
CLUSTER_KUBECONFIG="$CLUSTER_DIR/kubeconfig"

# kwokctl keeps its clusters under $KWOK_WORKDIR/clusters/<name>.
export KWOK_WORKDIR="$CLUSTER_DIR/kwok"
KWOK_CLUSTER_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"

KWOKCTL="$KWOK_DIR/kwokctl"
KUBECTL="$KUBE_DIR/kubectl"

say() { echo "cluster: $*" >&2; }
fail() {
  echo "cluster: error: $*" >&2
  exit 1
}

# kc ARGS...: kubectl against this cluster, with a request deadline.
kc() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" --request-timeout=10s "$@"; }

# healthy: the API server of this cluster answers /readyz.
healthy() {
  [[ -s "$CLUSTER_KUBECONFIG" && -x "$KUBECTL" ]] &&
    "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" --request-timeout=3s get --raw /readyz >/dev/null 2>&1
}

# component_pids: the live pids that kwokctl recorded for this cluster's
# processes (a recycled pid, whose command line does not name this cluster's
# directory, is left alone).
component_pids() {
  local f pid
  for f in "$KWOK_CLUSTER_DIR"/pids/*.pid; do
    [[ -f "$f" ]] || continue
    pid="$(tr -dc '0-9' <"$f")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$KWOK_CLUSTER_DIR/"; then
      echo "$pid"
    fi
  done
  return 0
}

# kill_components: SIGKILL every recorded process of this cluster, and wait
# (bounded) until they are gone.
kill_components() {
  local pid pids=() i
  while read -r pid; do
    [[ -n "$pid" ]] && pids+=("$pid")
  done < <(component_pids)
  ((${#pids[@]})) || return 0
  for pid in "${pids[@]}"; do
    # Each component leads its own session (kwokctl starts it with setsid);
    # kill the group, then the process in case it is not a leader.
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]; then
        alive=1
      fi
    done
    ((alive)) || return 0
    sleep 0.1
  done
  say "warning: some processes of $CLUSTER_NAME did not exit: ${pids[*]}"
}
