# The kfctl image the upgrade job runs (`kfctl generate upgrade-job`): a static binary, kfctl's
# catalog, profiles and overlays, and the upstream Kubeflow manifests of each catalog release,
# where the catalog looks for them (`../shared/corpus/<source>-<version>` beside the root).
#
#   docker build -t ghcr.io/kfctl/kfctl:v0.1.0 .
#
# RELEASES lists `<tag>=<directory>` pairs of kubeflow/manifests; the newest goes in
# `kubeflow-manifests` (the catalog's `latest`).
FROM rust:1-alpine AS build
# Alpine targets musl: the binary is static.
RUN apk add --no-cache musl-dev gcc
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY cli cli
# Cargo.toml names the test targets; they are not built.
COPY tests tests
COPY manifests manifests
COPY platforms platforms
COPY overlays overlays
RUN cargo build --release --locked --bin kfctl

FROM alpine:3.20 AS manifests
ARG RELEASES="v1.10.2=kubeflow-manifests-v1.10.2 v1.11.0=kubeflow-manifests-v1.11.0 master=kubeflow-manifests"
RUN apk add --no-cache git
RUN mkdir -p /usr/share/shared/corpus && cd /usr/share/shared/corpus && \
    for pair in $RELEASES; do \
      git clone --depth 1 --branch "${pair%%=*}" https://github.com/kubeflow/manifests "${pair#*=}" && \
      rm -rf "${pair#*=}/.git"; \
    done

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/release/kfctl /usr/local/bin/kfctl
COPY --from=build /src/manifests /usr/share/kfctl/manifests
COPY --from=build /src/platforms /usr/share/kfctl/platforms
COPY --from=build /src/overlays /usr/share/kfctl/overlays
COPY --from=manifests /usr/share/shared/corpus /usr/share/shared/corpus
ENV KFCTL_ROOT=/usr/share/kfctl
# distroless `nonroot`, by number so `runAsNonRoot` can check it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kfctl"]
