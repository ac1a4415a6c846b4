#!/usr/bin/env bash
# Starts the local control plane on loopback: etcd, kube-apiserver (TLS,
# Node+RBAC authorization, service-account tokens, admission with webhooks),
# kube-controller-manager, kube-scheduler and the kwok controller, driven by
# `kwokctl --runtime binary` with the binaries built by build.sh (no download).
# Adds simulated nodes: 3 CPU nodes and 2 GPU nodes (4 x nvidia.com/gpu each).
#
# Writes the kubeconfig (context = cluster name) to $CLUSTER_DIR/kubeconfig and
# prints `export KUBECONFIG=<path>` as the last line. On a running cluster it
# says so and exits 0. See lib.sh for the environment it reads.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

"$here/build.sh" || fail "the control-plane binaries could not be built (see above)"

# Volumes pre-made for the `standard` StorageClass.
LOCAL_VOLUMES="${KFCTL_LOCAL_VOLUMES:-12}"

print_export() { echo "export KUBECONFIG=$CLUSTER_KUBECONFIG"; }

if [[ -d "$KWOK_CLUSTER_DIR" ]]; then
  if healthy; then
    say "$CLUSTER_NAME is already running"
    print_export
    exit 0
  fi
  say "$CLUSTER_NAME exists but does not answer: recreating it"
  "$here/down.sh"
fi

start=$(date +%s%3N)
mkdir -p "$CLUSTER_DIR"
config="$CLUSTER_DIR/kwokctl.yaml"
cat >"$config" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  # Listen on loopback only.
  bindAddress: 127.0.0.1
  # Every binary is local: kwokctl links these and downloads nothing. kwokctl
  # runs \`kubectl\` from PATH (set below) to wait for the API server, and
  # would otherwise fetch the one named here.
  kubectlBinary: $KUBECTL
  kubeBinaryPrefix: $KUBE_DIR
  cacheDir: $CLUSTER_DIR/kwok/cache
componentsPatches:
- name: etcd
  extraArgs:
  - key: unsafe-no-fsync
    value: "true"
- name: kube-apiserver
  extraArgs:
  # Reach webhooks and aggregated APIs through their endpoints, never through
  # a ClusterIP (nothing routes service IPs here).
  - key: enable-aggregator-routing
    value: "true"
  - key: advertise-address
    value: 127.0.0.1
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeIP: 127.0.0.1
  # Simulated pods get loopback addresses, so nothing ever sends traffic for
  # them off this machine (a webhook served by a simulated pod fails closed).
  cidr: 127.10.0.0/16
  # kwokctl passes this document on without kwok's defaults: give them.
  nodeLeaseParallelism: 4
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 4
  podsOnNodeSyncParallelism: 1
  enablePodsOnNodeSyncListPager: true
EOF

# KFCTL_CLUSTER_AUDIT=1: the API server writes an audit log of every request's metadata (verb,
# object, user agent) to $CLUSTER_DIR/kwok/clusters/<name>/logs/audit.log; the benchmarks count a
# tool's requests from it.
audit_args=()
if [[ "${KFCTL_CLUSTER_AUDIT:-0}" == 1 ]]; then
  printf '%s\n' 'apiVersion: audit.k8s.io/v1' 'kind: Policy' 'omitStages: [RequestReceived]' \
    'rules:' '- level: Metadata' >"$CLUSTER_DIR/audit-policy.yaml"
  audit_args=(--kube-audit-policy "$CLUSTER_DIR/audit-policy.yaml")
fi

log="$CLUSTER_DIR/kwokctl-create.log"
say "starting $CLUSTER_NAME (etcd $ETCD_VERSION, kubernetes $KUBE_VERSION, kwok $KWOK_VERSION)"
if ! PATH="$KUBE_DIR:$PATH" timeout --kill-after=10 180 "$KWOKCTL" create cluster \
  --name "$CLUSTER_NAME" \
  --runtime binary \
  --config "$config" \
  --kubeconfig "" \
  --secure-port=true \
  --kube-authorization=true \
  --kube-admission=true \
  --components etcd,kube-apiserver,kube-controller-manager,kube-scheduler,kwok-controller \
  --etcd-binary "$ETCD_DIR/etcd" \
  --kube-apiserver-binary "$KUBE_DIR/kube-apiserver" \
  --kube-controller-manager-binary "$KUBE_DIR/kube-controller-manager" \
  --kube-scheduler-binary "$KUBE_DIR/kube-scheduler" \
  --kwok-controller-binary "$KWOK_DIR/kwok" \
  "${audit_args[@]}" \
  --quiet-pull \
  --timeout 150s >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  for f in "$KWOK_CLUSTER_DIR"/logs/*.log; do
    [[ -f "$f" ]] || continue
    echo "--- $(basename "$f") (last lines)" >&2
    tail -n 15 "$f" >&2
  done
  "$here/down.sh" >/dev/null 2>&1 || true
  fail "kwokctl could not start $CLUSTER_NAME (log: $log)"
fi

# Our own kubeconfig: certificates embedded, context named after the cluster.
server="$("$KUBECTL" --kubeconfig "$KWOK_CLUSTER_DIR/kubeconfig.yaml" config view --raw \
  -o jsonpath='{.clusters[0].cluster.server}')"
[[ "$server" == https://127.0.0.1:* ]] || fail "unexpected API server address '$server'"
tmp_kubeconfig="$CLUSTER_KUBECONFIG.tmp"
rm -f "$tmp_kubeconfig"
{
  "$KUBECTL" --kubeconfig "$tmp_kubeconfig" config set-cluster "$CLUSTER_NAME" \
    --server "$server" --certificate-authority "$KWOK_CLUSTER_DIR/pki/ca.crt" --embed-certs=true
  "$KUBECTL" --kubeconfig "$tmp_kubeconfig" config set-credentials "$CLUSTER_NAME-admin" \
    --client-certificate "$KWOK_CLUSTER_DIR/pki/admin.crt" \
    --client-key "$KWOK_CLUSTER_DIR/pki/admin.key" --embed-certs=true
  "$KUBECTL" --kubeconfig "$tmp_kubeconfig" config set-context "$CLUSTER_NAME" \
    --cluster "$CLUSTER_NAME" --user "$CLUSTER_NAME-admin"
  "$KUBECTL" --kubeconfig "$tmp_kubeconfig" config use-context "$CLUSTER_NAME"
} >/dev/null
chmod 600 "$tmp_kubeconfig"
mv -f "$tmp_kubeconfig" "$CLUSTER_KUBECONFIG"

deadline=$(($(date +%s) + 90))
until healthy; do
  if (($(date +%s) > deadline)); then
    tail -n 20 "$KWOK_CLUSTER_DIR/logs/kube-apiserver.log" >&2 || true
    fail "the API server of $CLUSTER_NAME did not become ready (/readyz) within 90 s"
  fi
  sleep 0.2
done
ready=$(date +%s%3N)

# Simulated nodes, managed by the kwok controller (which manages every node of
# this cluster). They carry no taint, so DaemonSets land on them as on real
# nodes.
node() { # node NAME CPU MEMORY GPUS [LABELS...]
  local name="$1" cpu="$2" memory="$3" gpus="$4"
  shift 4
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
$(for l in "$@"; do echo "    ${l%%=*}: \"${l#*=}\""; done)
status:
  addresses:
  - type: InternalIP
    address: 127.0.0.1
$(for field in allocatable capacity; do
    echo "  $field:"
    echo "    cpu: \"$cpu\""
    echo "    memory: $memory"
    echo "    pods: \"110\""
    echo "    ephemeral-storage: 100Gi"
    if ((gpus > 0)); then echo "    nvidia.com/gpu: \"$gpus\""; fi
  done)
EOF
}
{
  for i in 0 1 2; do
    node "kfctl-cpu-$i" 8 32Gi 0 "node.kubernetes.io/instance-type=kwok-cpu"
  done
  for i in 0 1; do
    node "kfctl-gpu-$i" 16 64Gi 4 \
      "node.kubernetes.io/instance-type=kwok-gpu" \
      "nvidia.com/gpu.present=true" \
      "nvidia.com/gpu.count=4" \
      "nvidia.com/gpu.product=Tesla-T4" \
      "cloud.google.com/gke-accelerator=nvidia-tesla-t4" \
      "k8s.amazonaws.com/accelerator=nvidia-tesla-t4" \
      "kubernetes.azure.com/accelerator=nvidia"
  done
} >"$CLUSTER_DIR/nodes.yaml"
kc create -f "$CLUSTER_DIR/nodes.yaml" >/dev/null || fail "could not create the simulated nodes"
kc wait --for=condition=Ready node --all --timeout=60s >/dev/null ||
  fail "the simulated nodes did not become Ready within 60 s (kwok log: $KWOK_CLUSTER_DIR/logs/kwok-controller.log)"

# Storage: nothing provisions volumes on simulated nodes, so the default StorageClass
# `standard` (the local platform's) binds claims to pre-made volumes, as a static
# provisioner would. The volumes are API objects only: simulated pods never write to them.
{
  cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
EOF
  for ((i = 0; i < LOCAL_VOLUMES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: kfctl-local-volume-$i
spec:
  storageClassName: standard
  capacity:
    storage: 100Gi
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: $CLUSTER_DIR/volumes/$i
EOF
  done
} >"$CLUSTER_DIR/storage.yaml"
kc create -f "$CLUSTER_DIR/storage.yaml" >/dev/null || fail "could not create the storage class and volumes"

end=$(date +%s%3N)
# Read by hack/bench-cluster.sh.
echo "api_ready_ms=$((ready - start)) nodes_ready_ms=$((end - start))" >"$CLUSTER_DIR/startup-ms"
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
say "$CLUSTER_NAME is up: API ready in $(secs $((ready - start))) s, 5 nodes ready in $(secs $((end - start))) s"
say "logs: $KWOK_CLUSTER_DIR/logs; stop with: make cluster-down"
print_export
