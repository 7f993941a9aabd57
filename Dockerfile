# syntax=docker/dockerfile:1.7
#
# One image for all of Leadpool: the four services, the migration binary and leadpoolctl,
# each in /usr/local/bin. A Deployment picks its binary with `command:` (k8s/base/*.yaml).
# Why one image and not one per service: the workspace compiles its shared crates once for
# all binaries; one tag is promoted through environments, so the four services and the
# migrations that go with them are always from the same commit; and the binaries share
# the runtime layers. Build:
#
#   docker build -t leadpool:dev .                 # the production image (last stage)
#   docker run --rm leadpool:dev leadpool-intake --help
#
# Stages: builder (compiles), console-build and console (the web console's image, --target
# console), dev (Tilt's image, from binaries compiled outside Docker; see the Tiltfile),
# runtime (the default, small, non-root image).

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# protoc is vendored (protoc-bin-vendored); the build needs nothing but crates.io.
COPY . .
# Cache mounts keep the registry and incremental target dir between builds; the binaries are
# copied out of the cached target dir because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bins \
 && mkdir -p /out \
 && for bin in leadpool-intake leadpool-routing leadpool-claim leadpool-scheduler \
               leadpool-migrate leadpoolctl; do \
      cp "target/release/${bin}" /out/; \
    done

# ---------------------------------------------------------------------------------------------
# The web console: built from console/ and the protos, served by a small hardened nginx (its
# own image, k8s/base/console/console.yaml says why). Build: docker build --target console .
FROM node:20-bookworm-slim AS console-build
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY proto /src/proto
COPY console /src/console
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.27-alpine AS console
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="leadpool-console" \
      org.opencontainers.image.description="Leadpool's web console: static files; the server block and headers come from k8s/base/console" \
      org.opencontainers.image.source="https://github.com/leadpool/leadpool" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=console-build /src/console/dist /usr/share/nginx/html
USER 101:101
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O /dev/null http://127.0.0.1:8080/index.html || exit 1

# The console in Tilt's loop: the files the Tiltfile's console build wrote (context console/dist).
FROM nginxinc/nginx-unprivileged:1.27-alpine AS console-dev
COPY . /usr/share/nginx/html
USER 101:101

# ---------------------------------------------------------------------------------------------
# Tilt's development image: binaries compiled by the Tiltfile's `compile` resource (the
# build context is that directory, not the repository), plus a small supervisor that
# restarts a service when Tilt live-updates its binary into /opt/leadpool/live. Debian slim,
# not distroless: Tilt's live update needs `tar` in the container.
FROM debian:${DEBIAN_RELEASE}-slim AS dev
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot \
 && mkdir -p /opt/leadpool/live
# The Tiltfile's compile step puts the binaries and k8s/tilt/tilt-supervise in the context.
COPY --chmod=0755 tilt-supervise leadpool-* /usr/local/bin/
USER 65532:65532

# ---------------------------------------------------------------------------------------------
# The production image: distroless (glibc and libgcc only; no shell, no package manager),
# matching the builder's Debian release, running as the image's non-root user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="leadpool" \
      org.opencontainers.image.description="Leadpool: intake, routing, claim and scheduler gRPC services, leadpool-migrate and leadpoolctl" \
      org.opencontainers.image.source="https://github.com/leadpool/leadpool" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /out/ /usr/local/bin/
USER 65532:65532
# intake, routing, claim, scheduler (gRPC); metrics ports 9091-9094 once they land.
EXPOSE 50051 50052 50053 50054 9091 9092 9093 9094
# checkov:skip=CKV_DOCKER_2:Kubernetes probes the services over gRPC health (k8s/base); a Docker HEALTHCHECK would need a shell and a gRPC client in the image.
# No ENTRYPOINT: the orchestrator names the binary (command: [/usr/local/bin/leadpool-intake]).
CMD ["/usr/local/bin/leadpoolctl", "--help"]
