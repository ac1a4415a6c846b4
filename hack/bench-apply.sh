#!/usr/bin/env bash
# Apply benchmark: installing the whole Kubeflow platform (the `local` platform of the catalog's
# default release with every component enabled, ~700 objects) on a fresh local cluster, kfctl
# against the upstream instructions' kubectl retry loop
#
#   while ! kubectl apply --server-side --force-conflicts -f objects.yaml; do sleep 20; done
#
# each followed by waiting until everything is healthy (kfctl waits by itself; for kubectl,
# `kubectl wait` / `rollout status` on every Deployment, StatefulSet and DaemonSet). Both tools get
# the same objects: kubectl the render `kfctl build -f kfctl.yaml` writes (the `local` platform
# sets every admission webhook to `failurePolicy: Ignore`, since the simulated pods never serve a
# webhook), kfctl the same `kfctl.yaml`, rendering it itself within the time measured. Each tool
# gets its own fresh cluster with an audit log, from which its API requests are counted (by user
# agent). Then, on kfctl's cluster, the no-op re-apply: `kfctl apply` against `kubectl apply
# --server-side` of the same objects (kubectl's first run takes co-ownership, so its later,
# no-op runs are the ones timed). Prints the object count, times, request counts and ratios.
#
#   KFCTL              the kfctl binary to measure            (default the release build)
#   KFCTL_BENCH_RELEASE the release to install               (default the catalog's default)
#   KFCTL_BENCH_RUNS   no-op re-apply runs of each tool       (default 3); medians are shown
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=cluster/versions.sh
source "$here/cluster/versions.sh"
release="${KFCTL_BENCH_RELEASE:-}"
kfctl="${KFCTL:-${CARGO_TARGET_DIR:-$repo/target}/release/kfctl}"
runs="${KFCTL_BENCH_RUNS:-3}"
kubectl="$KUBE_DIR/kubectl"
timeout_s=900

say() { echo "bench-apply: $*" >&2; }
fail() {
  echo "bench-apply: error: $*" >&2
  exit 1
}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || fail "KFCTL_BENCH_RUNS must be a positive integer, not '$runs'"
[[ -x "$kfctl" ]] || fail "no kfctl binary at \`$kfctl\`; run \`make build\`"
"$here/cluster/build.sh"
[[ -x "$kubectl" ]] || fail "no kubectl at \`$kubectl\`"

work="$(mktemp -d "${TMPDIR:-/tmp}/kfctl-bench-apply.XXXXXX")"
export KFCTL_CLUSTER_AUDIT=1 KFCTL_CLUSTER_DIR="$work/cluster"
cluster_up() {
  export KFCTL_CLUSTER_NAME="kfctl-bench-apply-$$-$1"
  "$here/cluster/up.sh" >/dev/null 2>"$work/up.log" || {
    cat "$work/up.log" >&2
    fail "the cluster did not start"
  }
  kubeconfig="$KFCTL_CLUSTER_DIR/kubeconfig"
  audit="$KFCTL_CLUSTER_DIR/kwok/clusters/$KFCTL_CLUSTER_NAME/logs/audit.log"
}
cluster_down() { "$here/cluster/down.sh" >/dev/null 2>&1 || true; }
trap 'cluster_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
secs() { awk "BEGIN { printf \"%.1f\", $1 / 1000 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# requests AGENT: API requests the audit log holds from user agents starting with AGENT.
requests() { grep -c "\"userAgent\":\"$1" "$audit" || true; }

if [[ -z "$release" ]]; then
  release="$("$kfctl" releases -o json | python3 -c 'import json, sys; print(next(r["name"] for r in json.load(sys.stdin) if r.get("default")))')" ||
    fail "cannot read the default release from \`kfctl releases -o json\`"
fi
mkdir -p "$work/objects"
config="$work/kfctl.yaml"
# Every component the release has, enabled.
"$kfctl" components --release "$release" -o json | python3 -c '
import json, sys
release = sys.argv[1]
names = [c["name"] for c in json.load(sys.stdin)["components"]]
print("apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nmetadata:\n  name: bench\nspec:")
print(f"  platform: local\n  release: \"{release}\"\n  components:")
for n in names:
    print(f"    {n}: {{enabled: true}}")
' "$release" >"$config" || fail "cannot list the components of release $release"
say "rendering the local platform of $release with every component"
"$kfctl" build -f "$config" 2>/dev/null >"$work/objects/objects.yaml" || fail "kfctl cannot render release $release"
objects="$(grep -c '^kind:' "$work/objects/objects.yaml")"

# Every Deployment, StatefulSet and DaemonSet rolled out, as kubectl sees it.
kubectl_wait_healthy() {
  local kind
  "$kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Established crd --all --timeout=${timeout_s}s >/dev/null
  for kind in deployment statefulset daemonset; do
    "$kubectl" --kubeconfig "$kubeconfig" get "$kind" -A --no-headers \
      -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name | while read -r ns name; do
      "$kubectl" --kubeconfig "$kubeconfig" -n "$ns" rollout status "$kind/$name" --timeout=${timeout_s}s >/dev/null
    done
  done
}

say "kubectl retry loop on a fresh cluster ($objects objects)"
cluster_up kubectl
t0=$(now_ms)
attempts=0
until "$kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts \
  -f "$work/objects/objects.yaml" >"$work/kubectl-apply.log" 2>&1; do
  attempts=$((attempts + 1))
  (($(now_ms) - t0 < timeout_s * 1000)) || fail "kubectl apply did not succeed in ${timeout_s}s: $(tail -n 3 "$work/kubectl-apply.log")"
  sleep 20
done
attempts=$((attempts + 1))
kubectl_wait_healthy
kubectl_install_ms=$(($(now_ms) - t0))
kubectl_install_requests="$(requests kubectl/)"
cluster_down

say "kfctl apply on a fresh cluster"
cluster_up kfctl
t0=$(now_ms)
"$kfctl" apply -f "$config" --yes --kubeconfig "$kubeconfig" \
  --timeout "${timeout_s}s" >"$work/kfctl-apply.log" 2>&1 || {
  tail -n 20 "$work/kfctl-apply.log" >&2
  fail "kfctl apply failed"
}
kfctl_install_ms=$(($(now_ms) - t0))
kfctl_install_requests="$(requests kfctl/)"

say "no-op re-apply, $runs runs each"
kfctl_noop=() kubectl_noop=()
before="$(requests kfctl/)"
for ((i = 1; i <= runs; i++)); do
  t0=$(now_ms)
  "$kfctl" apply -f "$config" --yes --kubeconfig "$kubeconfig" >"$work/kfctl-noop.log" 2>&1 ||
    fail "kfctl re-apply failed: $(tail -n 5 "$work/kfctl-noop.log")"
  kfctl_noop+=($(($(now_ms) - t0)))
done
kfctl_noop_requests=$((($(requests kfctl/) - before) / runs))
grep -q "$objects unchanged" "$work/kfctl-noop.log" || say "warning: kfctl's re-apply was not a no-op: $(tail -n 1 "$work/kfctl-noop.log")"
"$kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts \
  -f "$work/objects/objects.yaml" >/dev/null 2>&1 || fail "kubectl apply over kfctl's install failed"
before="$(requests kubectl/)"
for ((i = 1; i <= runs; i++)); do
  t0=$(now_ms)
  "$kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts \
    -f "$work/objects/objects.yaml" >/dev/null 2>&1 || fail "kubectl re-apply failed"
  kubectl_noop+=($(($(now_ms) - t0)))
done
kubectl_noop_requests=$((($(requests kubectl/) - before) / runs))

kfctl_noop_ms="$(printf '%s\n' "${kfctl_noop[@]}" | median)"
kubectl_noop_ms="$(printf '%s\n' "${kubectl_noop[@]}" | median)"
echo
echo "install of the whole platform (release $release, every component: $objects objects) on the local cluster, time to all healthy:"
printf '  %-44s %8s s %8s requests\n' "kubectl apply retry loop ($attempts attempts)" "$(secs "$kubectl_install_ms")" "$kubectl_install_requests"
printf '  %-44s %8s s %8s requests\n' "kfctl apply (one pass)" "$(secs "$kfctl_install_ms")" "$kfctl_install_requests"
printf '  speed-up: %sx (target: at least 3x)\n' "$(awk "BEGIN { printf \"%.1f\", $kubectl_install_ms / $kfctl_install_ms }")"
echo "no-op re-apply (median of $runs):"
printf '  %-44s %8s s %8s requests\n' "kubectl apply --server-side" "$(secs "$kubectl_noop_ms")" "$kubectl_noop_requests"
printf '  %-44s %8s s %8s requests\n' "kfctl apply" "$(secs "$kfctl_noop_ms")" "$kfctl_noop_requests"
printf '  speed-up: %sx (target: at least 10x)\n' "$(awk "BEGIN { printf \"%.1f\", $kubectl_noop_ms / $kfctl_noop_ms }")"
