#!/usr/bin/env bash
# Render benchmark: `kfctl build` (release) against `kubectl kustomize` on the Kubeflow `example/`
# platform, run alternately in the same session. Prints the median wall time and peak RSS of each
# and the ratios, then runs the cluster benchmarks (`hack/bench-cluster.sh`, `hack/bench-apply.sh`).
#
#   RUNS           runs of each tool                       (default 5)
#   KFCTL_CORPUS   the Kubeflow manifests corpus           (default <repo>/../shared/corpus/kubeflow-manifests)
#   KFCTL          the kfctl binary to measure             (default the release build)
#   KUBECTL        the kubectl binary to compare against   (default kubectl)
#
# Exits non-zero if a tool is missing or either tool cannot render the platform.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-5}"
corpus="${KFCTL_CORPUS:-$repo/../shared/corpus/kubeflow-manifests}"
target="$corpus/example"
kfctl="${KFCTL:-${CARGO_TARGET_DIR:-$repo/target}/release/kfctl}"
kubectl="${KUBECTL:-kubectl}"

say() { echo "bench: $*" >&2; }
fail() {
  echo "bench: error: $*" >&2
  exit 1
}

# GNU time gives the peak RSS; the shell keyword does not.
if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing GNU time (/usr/bin/time) with apt-get"
    apt-get install -y -qq time >/dev/null || fail "cannot install GNU time; run \`apt-get install time\`"
  else
    fail "GNU time is missing (/usr/bin/time); install it (Debian/Ubuntu: \`sudo apt-get install time\`)"
  fi
fi
command -v "$kubectl" >/dev/null || fail "\`$kubectl\` is not on PATH; it is the reference renderer"
[[ -d "$target" ]] || fail "no Kubeflow platform at \`$target\`; place shared/corpus beside the repository or set KFCTL_CORPUS"
if [[ ! -x "$kfctl" ]]; then
  say "building the release kfctl"
  (cd "$repo" && cargo build --release --locked)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# measure NAME CMD...: one run, appending "seconds kilobytes" to $work/NAME; returns the status.
measure() {
  local name="$1"
  shift
  local status=0
  /usr/bin/time -f '%e %M' -o "$work/$name.last" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  tail -n 1 "$work/$name.last" >>"$work/$name"
  return "$status"
}

calc() { awk "BEGIN { print $1 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

say "rendering $target, $runs runs each"
kfctl_ok=1
for ((i = 1; i <= runs; i++)); do
  measure kubectl "$kubectl" kustomize "$target" || fail "kubectl kustomize failed: $(cat "$work/kubectl.err")"
  if ((kfctl_ok)) && ! measure kfctl "$kfctl" build "$target"; then
    kfctl_ok=0
  fi
done

kubectl_s="$(cut -d' ' -f1 "$work/kubectl" | median)"
kubectl_kb="$(cut -d' ' -f2 "$work/kubectl" | median)"
printf '%-26s %8s %12s\n' "" "time (s)" "peak RSS (MB)"
printf '%-26s %8.2f %12.1f\n' "kubectl kustomize" "$kubectl_s" "$(calc "$kubectl_kb / 1024")"

if ((!kfctl_ok)); then
  echo
  echo "kfctl build cannot render \`$target\` yet, so there is nothing to compare:"
  sed 's/^/  /' "$work/kfctl.err"
  exit 1
fi

kfctl_s="$(cut -d' ' -f1 "$work/kfctl" | median)"
kfctl_kb="$(cut -d' ' -f2 "$work/kfctl" | median)"
printf '%-26s %8.2f %12.1f\n' "kfctl build" "$kfctl_s" "$(calc "$kfctl_kb / 1024")"
echo
# /usr/bin/time resolves 0.01 s; a faster kfctl gives a lower bound.
at_least=""
if [[ "$(calc "$kfctl_s < 0.01")" == 1 ]]; then at_least="at least "; fi
printf 'speed-up: %s%.1fx (kubectl time / kfctl time, medians of %d runs)\n' \
  "$at_least" "$(calc "$kubectl_s / ($kfctl_s > 0.01 ? $kfctl_s : 0.01)")" "$runs"
printf 'memory:   %.2fx (kfctl peak RSS / kubectl peak RSS)\n' "$(calc "$kfctl_kb / $kubectl_kb")"

if ! cmp -s <(grep -c '^kind:' "$work/kubectl.out") <(grep -c '^kind:' "$work/kfctl.out"); then
  say "warning: the two renders hold different numbers of objects; see \`cargo test --test compat\`"
fi

# The cluster benchmarks: start-up of the local control plane, then installing and re-applying
# the example with kfctl against kubectl.
for bench in bench-cluster.sh bench-apply.sh bench-drift.sh; do
  echo
  bash "$repo/hack/$bench"
done
