#!/usr/bin/env bash
# Sets up the toolchain (first time only) and runs every check and test:
# formatting, clippy, unit + integration tests (engine, app, server), the release
# build of the whole site, and the Playwright end-to-end suite in Debian's Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# One environment for every cargo run, so nothing rebuilds because it changed.
export RUSTC_BOOTSTRAP=1
step() { printf '\n==> %s\n' "$*"; }

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
cargo leptos build --release

step "end-to-end (Playwright, /usr/bin/chromium)"
cd end2end
npx playwright test
