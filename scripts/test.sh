#!/usr/bin/env bash
# Sets up the toolchain (first time only) and runs every check and test:
# formatting, clippy, unit + integration tests (engine, app, server), the release
# build of the whole site, the Playwright end-to-end suite in Debian's Chromium, and
# (as root) the Docker image around the release binary (scripts/docker-test.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# One environment for every cargo run, so nothing rebuilds because it changed.
export RUSTC_BOOTSTRAP=1
# A clean clone gains nothing from incremental caches, and they double the target
# folder (about 20 GB of the 40 a repeated local run piled up).
export CARGO_INCREMENTAL=0
step() { printf '\n==> %s\n' "$*"; }

# The whole run needs about 8 GB of disk for target/ and node_modules; say so up
# front instead of failing later with a linker's "Bus error" or ENOSPC.
free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((8 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kb / 1024)) MB free on $(df -P "$ROOT" | awk 'NR == 2 { print $6 }'); the build needs about 8 GB" >&2
fi

step "format"
cargo fmt --all --check

step "lint workflows (actionlint)"
actionlint

step "clippy (engine, app with ssr, server)"
cargo clippy -p lookout -p app -p lookout-server --all-targets -- -D warnings
step "clippy (hydrate front end, host target)"
cargo clippy -p frontend --all-targets -- -D warnings

step "unit and integration tests"
cargo test -p lookout -p app -p lookout-server

step "release build (server + wasm)"
cargo leptos build --release --precompress --split

step "end-to-end (Playwright, /usr/bin/chromium)"
cd end2end
npx playwright test
cd "$ROOT"

# The Docker image around the release binary just built (the Dockerfile's runtime
# stage, not its hour-long build stage): healthy, non-root, /metrics under
# --cpus 0.5 --memory 256m and --cpuset-cpus 0 reports the container's figures, data
# kept across a restart, docker-compose. About 3 minutes here (Docker Engine from
# Debian and a debootstrap base image the first time). It installs packages and starts
# dockerd, so it needs root; elsewhere it says so and the rest stands.
step "container (scripts/docker-test.sh around target/release/lookout)"
if [ "$(id -u)" = 0 ]; then
  LOOKOUT_BINARY=target/release/lookout bash scripts/docker-test.sh
else
  echo "skipped: scripts/docker-test.sh needs root (apt and dockerd); run it with sudo" >&2
fi
