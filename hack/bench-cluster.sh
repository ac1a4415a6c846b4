#!/usr/bin/env bash
# Cluster benchmark: the cold build time of the control plane (recorded by
# hack/cluster/build.sh in $KFCTL_CACHE/cold-build-seconds) and the warm
# start-up time of a throwaway cluster (binaries cached): time to a healthy
# API server (/readyz), time until the 5 simulated nodes are Ready, and the
# whole `up.sh` run. The cluster runs in its own directory and name, so a
# running `make cluster-up` cluster is left alone.
#
#   KFCTL_BENCH_RUNS   warm start-ups to measure (default 3); the median is shown
#   KFCTL_BENCH_TARGET target for the API start-up, in seconds (default 15)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/versions.sh
source "$here/cluster/versions.sh"
runs="${KFCTL_BENCH_RUNS:-3}"
target="${KFCTL_BENCH_TARGET:-15}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || {
  echo "bench-cluster: error: KFCTL_BENCH_RUNS must be a positive integer, not '$runs'" >&2
  exit 1
}

# The first build on this machine is the cold one; it records its time.
"$here/cluster/build.sh"

bench_dir="$(mktemp -d "${TMPDIR:-/tmp}/kfctl-bench-cluster.XXXXXX")"
export KFCTL_CLUSTER_NAME="kfctl-bench-$$" KFCTL_CLUSTER_DIR="$bench_dir"
cleanup() {
  "$here/cluster/down.sh" >/dev/null 2>&1 || true
  rm -rf "$bench_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

api=() nodes=() total=()
for ((i = 1; i <= runs; i++)); do
  t0=$(date +%s%3N)
  if ! "$here/cluster/up.sh" >/dev/null 2>"$bench_dir.log"; then
    cat "$bench_dir.log" >&2
    rm -f "$bench_dir.log"
    echo "bench-cluster: error: the cluster did not start" >&2
    exit 1
  fi
  t1=$(date +%s%3N)
  # shellcheck disable=SC1090,SC1091
  eval "$(tr ' ' '\n' <"$bench_dir/startup-ms" | grep -E '^[a-z_]+_ms=[0-9]+$')"
  api+=("$api_ready_ms") nodes+=("$nodes_ready_ms") total+=($((t1 - t0)))
  "$here/cluster/down.sh" >/dev/null 2>&1
  mkdir -p "$bench_dir"
done
rm -f "$bench_dir.log"

cold="$(cut -d' ' -f1 "$KFCTL_CACHE/cold-build-seconds" 2>/dev/null || true)"
api_ms="$(printf '%s\n' "${api[@]}" | median)"
nodes_ms="$(printf '%s\n' "${nodes[@]}" | median)"
total_ms="$(printf '%s\n' "${total[@]}" | median)"

echo "cluster benchmark (etcd $ETCD_VERSION, kubernetes $KUBE_VERSION, kwok $KWOK_VERSION; $(nproc) cores)"
if [[ "$cold" =~ ^[0-9]+$ ]]; then
  echo "  cold build of the control plane:  ${cold} s ($(cut -d' ' -f2 "$KFCTL_CACHE/cold-build-seconds"))"
else
  echo "  cold build of the control plane:  unknown (no $KFCTL_CACHE/cold-build-seconds)"
fi
verdict="within"
((api_ms <= target * 1000)) || verdict="OVER"
echo "  warm start to a healthy API:      $(secs "$api_ms") s (median of $runs; target < $target s: $verdict)"
echo "  warm start to 5 Ready nodes:      $(secs "$nodes_ms") s"
echo "  whole \`up.sh\` run:                $(secs "$total_ms") s"
