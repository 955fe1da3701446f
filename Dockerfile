# Lookout container image.
#
#   DOCKER_BUILDKIT=1 docker build -t lookout .
#   docker run -d -p 3000:3000 -v lookout-data:/data \
#     -e LOOKOUT_ADMIN_USER=admin -e LOOKOUT_ADMIN_PASSWORD=... lookout
#
# Needs BuildKit (cache mounts; Docker >= 18.09 with DOCKER_BUILDKIT=1, default since 23.0)
# and network access to the package registries only (Debian apt, crates.io, npm): the
# build stage installs its toolchain with the repo's own scripts/setup.sh.
# No `# syntax=` line on purpose: that would pull a frontend image from a registry.

# ------------------------------------------------------------------------- build stage
FROM debian:bookworm-slim AS build
# rustup cannot be downloaded where only package registries are reachable, so the image
# builds everything (server and wasm) with Debian's rustc-web/cargo-web 1.96
# (bookworm-security). RUSTC_BOOTSTRAP: cargo-leptos passes -Zbuild-std to the wasm build.
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH \
    RUSTC_BOOTSTRAP=1 \
    DEBIAN_FRONTEND=noninteractive \
    CARGO_TERM_COLOR=never \
    BUILD_CA_BUNDLE=/run/secrets/ca_bundle
WORKDIR /src

# Behind a TLS-intercepting proxy, pass its CA bundle as an (optional) BuildKit secret:
#   docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt .
# Steps that reach crates.io or npm mount it; it never lands in a layer. Without the secret
# the file is absent and the system's CA certificates are used.

# Toolchain layers: they depend only on scripts/setup.sh (and the wasm-bindgen version
# argument), so source or Cargo.lock changes reuse them. cargo-leptos (~27 min on 2 cores)
# gets its own layer.
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh --toolchain-only --only apt
RUN --mount=type=secret,id=ca_bundle scripts/setup.sh --toolchain-only --only cargo-leptos
RUN --mount=type=secret,id=ca_bundle scripts/setup.sh --toolchain-only --only wasm-opt
# = the `wasm-bindgen` version in Cargo.lock (scripts/docker-test.sh passes it). If it
# drifts, the build step below notices and installs the lock's version.
ARG WASM_BINDGEN_VERSION=0.2.130
RUN --mount=type=secret,id=ca_bundle scripts/setup.sh --toolchain-only --only wasm-bindgen

# Project build. The cache mounts keep target/ (compiled dependencies) and the crate
# registry between builds, so a source change recompiles only the workspace crates.
COPY . .
RUN --mount=type=cache,id=lookout-target,target=/src/target \
    --mount=type=cache,id=lookout-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=secret,id=ca_bundle \
    WASM_BINDGEN_VERSION= scripts/setup.sh --toolchain-only --only wasm-bindgen \
    && if [ -s "$BUILD_CA_BUNDLE" ]; then export CARGO_HTTP_CAINFO="$BUILD_CA_BUNDLE"; fi \
    && cargo leptos build --release --precompress --split \
    && mkdir -p /out \
    && cp target/release/lookout target/release/hash.txt /out/ \
    && strip /out/lookout \
    && cp -r target/site /out/site

# ------------------------------------------------------------------------- runtime stage
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin lookout \
    && mkdir -p /data \
    && chown lookout:lookout /data
# The binary finds its site (pkg/, vendor/) in `site/` next to itself.
# hash.txt: the hashed names of the wasm, its glue and the stylesheet, read next to the binary.
COPY --from=build /out/lookout /out/hash.txt /app/
COPY --from=build /out/site /app/site
RUN ln -s /app/lookout /usr/local/bin/lookout

# PORT: Render sets it; the server binds 0.0.0.0:$PORT when server.bind is not given.
# Everything the server writes (SQLite store, models) is under the /data volume.
ENV PORT=3000 \
    LOOKOUT_STORE_PATH=/data/lookout.db \
    LOOKOUT_DETECTOR_MODELS_DIR=/data/models
VOLUME /data
WORKDIR /data
USER lookout
EXPOSE 3000
# `lookout healthcheck` GETs http://127.0.0.1:$PORT/healthz (no curl in the image).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/lookout", "healthcheck"]
ENTRYPOINT ["/app/lookout"]
CMD ["serve"]
