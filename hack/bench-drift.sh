#!/usr/bin/env bash
# Drift benchmark: installs the Kubeflow `example/` platform (webhooks made to fail open, since
# kwok pods never answer) with `kfctl apply` on a fresh local cluster of its own, then, with
# nothing drifted, times `kfctl diff` against `kubectl diff --server-side` on the same render,
# alternately in the same run, and counts the API requests each sends: kfctl reports its own
# (`cost.requests` of `-o json`), kubectl's are counted from its `-v=6` request log.
#
#   RUNS           runs of each tool                       (default 3)
#   KFCTL_CORPUS   the Kubeflow manifests corpus           (default <repo>/../shared/corpus/kubeflow-manifests)
#   KFCTL          the kfctl binary to measure             (default the release build)
#   KUBECTL        the kubectl binary to compare against   (default kubectl)
#
# Targets (from the drift issue): kfctl diff at least 10x faster than kubectl diff, and about one
# request per kind listed. Exits non-zero if a step fails; the verdicts are printed, not enforced.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-3}"
corpus="${KFCTL_CORPUS:-$repo/../shared/corpus/kubeflow-manifests}"
kfctl="${KFCTL:-${CARGO_TARGET_DIR:-$repo/target}/release/kfctl}"
kubectl="${KUBECTL:-kubectl}"

say() { echo "bench-drift: $*" >&2; }
fail() {
  echo "bench-drift: error: $*" >&2
  exit 1
}
command -v jq >/dev/null || fail "jq is missing; install it (Debian/Ubuntu: \`apt-get install jq\`)"
command -v "$kubectl" >/dev/null || fail "\`$kubectl\` is not on PATH"
[[ -d "$corpus/example" ]] || fail "no Kubeflow platform at \`$corpus/example\`; set KFCTL_CORPUS"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer, not '$runs'"
if [[ ! -x "$kfctl" ]]; then
  say "building the release kfctl"
  (cd "$repo" && cargo build --release --locked)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/kfctl-bench-drift.XXXXXX")"
export KFCTL_CLUSTER_NAME="kfctl-bench-drift-$$" KFCTL_CLUSTER_DIR="$work/cluster"
cleanup() {
  "$repo/hack/cluster/down.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "rendering $corpus/example"
mkdir -p "$work/example"
"$kfctl" build -o json "$corpus/example" 2>"$work/build.err" |
  jq -c '.items[] | if (.kind == "MutatingWebhookConfiguration" or .kind == "ValidatingWebhookConfiguration")
           then .webhooks |= map(.failurePolicy = "Ignore" | .timeoutSeconds = 1) else . end' |
  awk 'NR > 1 { print "---" } { print }' >"$work/example/objects.yaml"
echo "resources: [objects.yaml]" >"$work/example/kustomization.yaml"
objects="$(grep -c '^---' "$work/example/objects.yaml" || true)"
objects=$((objects + 1))

say "starting a fresh local cluster"
"$repo/hack/cluster/up.sh" >"$work/up.log" 2>&1 || {
  cat "$work/up.log" >&2
  fail "the cluster did not start"
}
kubeconfig="$KFCTL_CLUSTER_DIR/kubeconfig"

say "installing example/ ($objects objects) with kfctl apply"
"$kfctl" apply -k "$work/example" --name example --yes --timeout 30m --kubeconfig "$kubeconfig" \
  >"$work/apply.out" 2>"$work/apply.err" || {
  tail -n 40 "$work/apply.err" >&2
  fail "kfctl apply failed"
}

# kubectl gets the objects exactly as kfctl sends them: with the install's membership label, and
# aggregated ClusterRoles without `rules` (the aggregation controller owns them). Otherwise
# kubectl diff would show a change on every object.
applyset_id="$("$kubectl" --kubeconfig "$kubeconfig" get configmap -n kube-system kfctl-example \
  -o jsonpath='{.metadata.labels.applyset\.kubernetes\.io/id}')"
[[ -n "$applyset_id" ]] || fail "the install has no inventory"
"$kfctl" build -o json "$work/example" 2>>"$work/build.err" |
  jq --arg id "$applyset_id" '.items |= map(
      .metadata.labels["applyset.kubernetes.io/part-of"] = $id
      | if (.kind == "ClusterRole" and .aggregationRule != null) then del(.rules) else . end)' \
    >"$work/example.json" || fail "cannot render the objects for kubectl"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { print $1 }"; }

kfctl_ms=() kubectl_ms=()
for ((i = 1; i <= runs; i++)); do
  t0=$(now_ms)
  status=0
  "$kfctl" diff -k "$work/example" --name example -o json --kubeconfig "$kubeconfig" \
    >"$work/kfctl.json" 2>"$work/kfctl.err" || status=$?
  t1=$(now_ms)
  ((status == 0)) || {
    cat "$work/kfctl.err" >&2
    jq -c '.objects[] | select(.action != "unchanged" or .drift != null) | {id, action, drift, fields}' \
      "$work/kfctl.json" 2>/dev/null | head -20 >&2 || true
    fail "kfctl diff found changes (exit $status) right after the install"
  }
  kfctl_ms+=($((t1 - t0)))

  t0=$(now_ms)
  status=0
  "$kubectl" diff --server-side --field-manager=kfctl --force-conflicts -v=6 \
    --kubeconfig "$kubeconfig" -f "$work/example.json" >"$work/kubectl.out" 2>"$work/kubectl.err" || status=$?
  t1=$(now_ms)
  # kubectl diff exits 1 when it finds differences, above 1 when it fails.
  ((status <= 1)) || {
    tail -n 20 "$work/kubectl.err" >&2
    fail "kubectl diff failed (exit $status)"
  }
  kubectl_ms+=($((t1 - t0)))
done

kfctl_med="$(printf '%s\n' "${kfctl_ms[@]}" | median)"
kubectl_med="$(printf '%s\n' "${kubectl_ms[@]}" | median)"
requests="$(jq '.cost.requests' "$work/kfctl.json")"
kinds="$(jq '.cost.kinds' "$work/kfctl.json")"
dry_runs="$(jq '.cost.dryRuns' "$work/kfctl.json")"
unchanged="$(jq '.totals.unchanged' "$work/kfctl.json")"
kubectl_requests="$(grep -cE '"Response" verb=|^I.* (GET|PATCH|POST|PUT) https' "$work/kubectl.err" || true)"
kubectl_changed="$(grep -c '^diff ' "$work/kubectl.out" || true)"

echo "drift benchmark: example/ ($objects objects, $kinds kinds) installed by kfctl, nothing drifted; $(nproc) cores"
printf '  %-34s %10s %10s\n' "" "time (s)" "requests"
printf '  %-34s %10.2f %10s\n' "kfctl diff" "$(calc "$kfctl_med / 1000")" "$requests"
printf '  %-34s %10.2f %10s\n' "kubectl diff --server-side" "$(calc "$kubectl_med / 1000")" "$kubectl_requests"
echo "  kfctl: $unchanged objects unchanged, $dry_runs dry runs; kubectl diff showed $kubectl_changed objects as changed"
speedup="$(calc "$kubectl_med / ($kfctl_med > 0 ? $kfctl_med : 1)")"
verdict="met"
[[ "$(calc "($speedup >= 10)")" == 1 ]] || verdict="NOT met"
printf 'speed-up: %.1fx (kubectl diff time / kfctl diff time, medians of %d runs; target >= 10x: %s)\n' \
  "$speedup" "$runs" "$verdict"
verdict="met"
[[ "$(calc "($requests <= $kinds + 5)")" == 1 ]] || verdict="NOT met"
printf 'requests: %d for %d kinds (%.2f per kind; kubectl: %d, %.1fx more; target about 1 per kind: %s)\n' \
  "$requests" "$kinds" "$(calc "$requests / $kinds")" "$kubectl_requests" \
  "$(calc "$kubectl_requests / ($requests > 0 ? $requests : 1)")" "$verdict"
