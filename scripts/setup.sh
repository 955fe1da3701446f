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
#  - Debian's Chromium runs the Playwright end-to-end tests (no browser download).
#
# Usage: scripts/setup.sh [--no-e2e]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="${CARGO_LEPTOS_VERSION:-0.3.11}"
BINARYEN_NPM_VERSION="${BINARYEN_NPM_VERSION:-132.0.0}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
DEBIAN_RUSTC=/usr/bin/rustc
WITH_E2E=1
[ "${1:-}" = "--no-e2e" ] && WITH_E2E=0

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
command -v npm >/dev/null || die "npm not found: install Node.js 20 first"

# ---------------------------------------------------------------- apt packages
APT_PKGS=(rustc-web rust-web-src rust-web-llvm lld-22 pkg-config)
[ "$WITH_E2E" = 1 ] && APT_PKGS+=(chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: present (${APT_PKGS[*]})"
fi
[ -d /usr/lib/rustlib/src/rust/library/std ] || die "std source missing (package rust-web-src)"
rust-lld -flavor wasm --version >/dev/null 2>&1 || die "rust-lld does not run (packages rust-web-llvm, lld-22)"
if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q 'install ok installed'; then
  die "Debian's 'binaryen' package produces a wasm that fails to hydrate; remove it: apt-get remove -y binaryen"
fi

# ---------------------------------------------------------------- wasm-opt (npm binaryen)
have="$(wasm-opt --version 2>/dev/null || true)"
if [[ "$have" == *"version ${BINARYEN_NPM_VERSION%%.*}"* ]]; then
  log "wasm-opt: present ($have)"
else
  log "wasm-opt: installing npm binaryen@${BINARYEN_NPM_VERSION}"
  $SUDO npm install -g --no-fund --no-audit "binaryen@${BINARYEN_NPM_VERSION}" >/dev/null
fi

# ---------------------------------------------------------------- cargo-leptos
have="$(cargo-leptos --version 2>/dev/null || true)"
if [ "$have" = "cargo-leptos ${CARGO_LEPTOS_VERSION}" ]; then
  log "cargo-leptos: present"
else
  log "cargo-leptos: installing ${CARGO_LEPTOS_VERSION} (~27 min on 2 cores, once per machine)"
  # Its lock file needs rustc >= 1.96: Debian's rustc-web. LTO off halves the time.
  RUSTC="$DEBIAN_RUSTC" CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked --quiet cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi

# ---------------------------------------------------------------- wasm-bindgen-cli
WB="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")"
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

# ---------------------------------------------------------------- end-to-end packages
if [ "$WITH_E2E" = 1 ] && [ -f "$ROOT/end2end/package.json" ]; then
  if [ -d "$ROOT/end2end/node_modules/@playwright/test" ]; then
    log "end2end: node_modules present"
  else
    log "end2end: npm ci (Playwright drives Debian's /usr/bin/chromium; no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-fund --no-audit >/dev/null)
  fi
fi
log "ready: $(cargo --version), $(cargo-leptos --version), $(wasm-bindgen --version), $(wasm-opt --version)"
