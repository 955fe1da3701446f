#!/usr/bin/env bash
# Sets up the toolchain (first time only), builds Lookout in release mode and runs it
# with its embedded defaults: http://127.0.0.1:3000, data in ./data/lookout.db.
# Extra arguments go to `lookout`, e.g. scripts/run.sh --interval 1s
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --no-e2e
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export RUSTC_BOOTSTRAP=1   # cargo leptos passes -Zbuild-std to the wasm build only
cargo leptos build --release --precompress --split
exec env LEPTOS_SITE_ROOT=target/site target/release/lookout "$@"
