# kfctl — build, test, demo. `make help` lists the targets.
CARGO ?= cargo
KFCTL_CACHE ?= $(HOME)/.cache/kfctl-test
export KFCTL_CACHE

.PHONY: help build install test lint fmt bench demo

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ## build the kfctl binary (release)
	$(CARGO) build --release --locked

install: ## install kfctl into ~/.cargo/bin
	$(CARGO) install --path . --locked

lint: ## rustfmt and clippy, warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt: ## format the sources
	$(CARGO) fmt --all

include hack/cluster.mk

test: control-plane ## run every test tier: unit, cli, compat (vs kubectl kustomize), hostile inputs and cluster
	$(CARGO) test --locked --all-targets --no-fail-fast; status=$$?; \
	  hack/cluster/reap-test-clusters.sh; exit $$status

bench: build ## render and cluster benchmarks, as ratios against the peer tools
	hack/bench.sh

demo: build cluster-up ## start the local cluster and install the default platform on it
	hack/demo.sh
