#!/usr/bin/env bash
# Run after the cluster tests (`make test`): waits until the control planes of
# test binaries that have ended are stopped and their data removed. Each test
# binary's helper (test-cluster.sh) does that itself right after the binary
# exits; this waits for it (bounded), and stops what is still left after that,
# so no control-plane process outlives `make test`. Clusters of test binaries
# still running are left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tests_dir="$(cd "$here/../.." && pwd)/.kfctl/test"
[[ -d "$tests_dir" ]] || exit 0

ended() { # ended: the cluster directories whose owner process is gone
  local dir pid
  for dir in "$tests_dir"/*/; do
    [[ -d "$dir" ]] || continue
    pid="$(basename "$dir")"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -0 "$pid" 2>/dev/null || echo "${dir%/}"
  done
  return 0
}

for ((i = 0; i < 150; i++)); do
  [[ -z "$(ended)" ]] && exit 0
  sleep 0.1
done
while read -r dir; do
  [[ -n "$dir" ]] || continue
  echo "cluster: stopping the leftover test cluster in $dir" >&2
  KFCTL_CLUSTER_NAME="kfctl-test-$(basename "$dir")" KFCTL_CLUSTER_DIR="$dir" "$here/down.sh" || true
done < <(ended)
