# Local control plane targets (etcd, kube-apiserver, controllers, kwok), see hack/cluster/.
.PHONY: control-plane cluster-up cluster-down bench-cluster
control-plane: ## build (once) the control-plane binaries into $(KFCTL_CACHE)
	@hack/cluster/build.sh

cluster-up: control-plane ## start the local cluster (kwok nodes, 2 with GPUs); prints `export KUBECONFIG=...`
	@hack/cluster/up.sh

cluster-down: ## stop the local cluster and remove its data
	@hack/cluster/down.sh

bench-cluster: control-plane ## cold build time of the control plane and warm start-up time of a cluster
	@hack/bench-cluster.sh
