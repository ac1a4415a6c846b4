#!/usr/bin/env bash
# Builds, once per machine, the local control-plane binaries from their Go
# modules at pinned versions:
#   etcd                                              (go.etcd.io/etcd/server/v3)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                                                     (k8s.io/kubernetes)
#   kwok, kwokctl                                     (sigs.k8s.io/kwok)
# into ${KFCTL_CACHE:-~/.cache/kfctl-test}/<component>-<version>/.
# A second run finds the binaries and does no Go work.
#
# Environment: KFCTL_CACHE, GO (go binary), KFCTL_GO_DOWNLOAD_TIMEOUT and
# KFCTL_GO_BUILD_TIMEOUT (seconds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

download_timeout="${KFCTL_GO_DOWNLOAD_TIMEOUT:-1200}"
build_timeout="${KFCTL_GO_BUILD_TIMEOUT:-4200}"

log() { echo "control-plane build: $*" >&2; }
die() { echo "control-plane build: error: $*" >&2; exit 1; }
die_log() { # die_log FILE MESSAGE: show the tail of FILE, then die
  tail -n 20 "$1" >&2 || true
  shift
  die "$@"
}

have_all() {
  [[ -x "$ETCD_DIR/etcd" &&
     -x "$KUBE_DIR/kube-apiserver" && -x "$KUBE_DIR/kube-controller-manager" &&
     -x "$KUBE_DIR/kube-scheduler" && -x "$KUBE_DIR/kubectl" &&
     -x "$KWOK_DIR/kwok" && -x "$KWOK_DIR/kwokctl" ]]
}

if have_all; then
  exit 0
fi

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  GO="$(command -v go || true)"
  [[ -n "$GO" || ! -x /usr/local/go/bin/go ]] || GO=/usr/local/go/bin/go
fi
[[ -n "$GO" ]] || die "no Go toolchain found (install Go >= 1.26 or set GO=/path/to/go)"
"$GO" version >/dev/null 2>&1 || die "'$GO version' failed: the Go toolchain is not usable"
command -v timeout >/dev/null || die "'timeout' (coreutils) is required"

mkdir -p "$KFCTL_CACHE"
# One build at a time per cache (make and the test harness may race).
exec 9>"$KFCTL_CACHE/.build.lock"
if command -v flock >/dev/null; then
  if ! flock -n 9; then
    log "another build holds $KFCTL_CACHE/.build.lock, waiting for it"
    flock -w "$build_timeout" 9 || die "timed out waiting for the other build"
  fi
  if have_all; then exit 0; fi
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Never ask a terminal for credentials.
export GIT_TERMINAL_PROMPT=0 GOPRIVATE='' GONOSUMDB=''

start=$(date +%s)

# init_module DIR: a throwaway Go module under DIR/src.
init_module() {
  local dir="$1"
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  (cd "$dir/src" && "$GO" mod init kfctl.local/build >/dev/null 2>&1) \
    || die "go mod init failed in $dir/src"
}

go_in() { # go_in DIR TIMEOUT ARGS...: run go in DIR with a deadline
  local dir="$1" limit="$2"
  shift 2
  (cd "$dir" && timeout --kill-after=30 "$limit" nice -n 10 "$GO" "$@")
}

fetch() { # fetch DIR MODULE@VERSION
  local dir="$1" what="$2"
  log "downloading $what"
  go_in "$dir/src" "$download_timeout" get "$what" >>"$dir/src/download.log" 2>&1 \
    || die_log "$dir/src/download.log" "could not download $what through the Go module proxy ($(go env GOPROXY 2>/dev/null || echo '?')); check the network, or retry"
}

build() { # build DIR LDFLAGS PACKAGES...
  local dir="$1" ldflags="$2"
  shift 2
  log "building $* (this takes a while)"
  go_in "$dir/src" "$build_timeout" build -trimpath -ldflags "-s -w $ldflags" -o "$dir/.out/" "$@" \
    || die "go build of $* failed (see the messages above)"
}

finish() { # finish DIR: move the built binaries into place, drop the throwaway module
  local dir="$1" f
  for f in "$dir/.out/"*; do mv -f "$f" "$dir/"; done
  rm -rf "$dir/.out" "$dir/src"
}

if [[ ! -x "$ETCD_DIR/etcd" ]]; then
  init_module "$ETCD_DIR"
  fetch "$ETCD_DIR" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  # The server module replaces its sibling modules with relative paths that a
  # dependency does not see: pin them to the same release.
  fetch "$ETCD_DIR" "go.etcd.io/etcd/api/v3@$ETCD_VERSION"
  fetch "$ETCD_DIR" "go.etcd.io/etcd/client/pkg/v3@$ETCD_VERSION"
  fetch "$ETCD_DIR" "go.etcd.io/etcd/client/v3@$ETCD_VERSION"
  fetch "$ETCD_DIR" "go.etcd.io/etcd/pkg/v3@$ETCD_VERSION"
  build "$ETCD_DIR" "" go.etcd.io/etcd/server/v3
  # go names the binary of .../server/v3 "server".
  mv -f "$ETCD_DIR/.out/server" "$ETCD_DIR/.out/etcd"
  finish "$ETCD_DIR"
fi

if [[ ! -x "$KUBE_DIR/kube-apiserver" || ! -x "$KUBE_DIR/kube-controller-manager" ||
      ! -x "$KUBE_DIR/kube-scheduler" || ! -x "$KUBE_DIR/kubectl" ]]; then
  init_module "$KUBE_DIR"
  log "reading the staging module list of k8s.io/kubernetes@$KUBE_VERSION"
  gomod="$(go_in "$KUBE_DIR/src" "$download_timeout" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')" \
    || die "could not download k8s.io/kubernetes@$KUBE_VERSION through the Go module proxy"
  [[ -f "$gomod" ]] || die "no go.mod for k8s.io/kubernetes@$KUBE_VERSION in the module cache"
  # k8s.io/kubernetes replaces each staging module with ./staging/src/...; a
  # dependent module must pin each one to the matching v0.x.y release.
  staging_version="v0.${KUBE_VERSION#v1.}"
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod")
  [[ ${#staging[@]} -gt 10 ]] || die "found no staging replace list in $gomod"
  {
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >>"$KUBE_DIR/src/go.mod"
  fetch "$KUBE_DIR" "k8s.io/kubernetes@$KUBE_VERSION"
  minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  ldflags=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  build "$KUBE_DIR" "$ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  finish "$KUBE_DIR"
fi

if [[ ! -x "$KWOK_DIR/kwok" || ! -x "$KWOK_DIR/kwokctl" ]]; then
  init_module "$KWOK_DIR"
  fetch "$KWOK_DIR" "sigs.k8s.io/kwok@$KWOK_VERSION"
  build "$KWOK_DIR" "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION#v}" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  finish "$KWOK_DIR"
fi

have_all || die "the build ended without every binary in place"
elapsed=$(($(date +%s) - start))
echo "$elapsed $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$KFCTL_CACHE/cold-build-seconds"
log "done in ${elapsed}s: binaries under $KFCTL_CACHE"
