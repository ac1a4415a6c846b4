#!/usr/bin/env bash
# Stops every process of the local control plane and removes its data
# (the whole cluster directory, kubeconfig included). Safe to run twice.
# See lib.sh for the environment it reads.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

if [[ ! -d "$KWOK_CLUSTER_DIR" ]]; then
  rm -rf "$CLUSTER_DIR"
  say "$CLUSTER_NAME is not running"
  exit 0
fi

# kwokctl would do the same (SIGKILL each recorded process); doing it here
# also works when kwokctl is missing, and waits until they are gone.
kill_components
rm -rf "$CLUSTER_DIR"
say "$CLUSTER_NAME stopped and its data removed"
