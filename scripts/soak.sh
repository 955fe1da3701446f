#!/usr/bin/env bash
# Soak test (issue 11, part 7; not part of scripts/test.sh: it takes DURATION seconds).
# Builds the release server and holds STREAMS /api/stream clients plus steady /metrics
# and /api/history load against it on loopback, then prints RSS, descriptors, latency
# and lost samples, and exits non-zero if a target is missed (see scripts/soak.py).
# usage: scripts/soak.sh [DURATION_SECS=600] [STREAMS=1000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
cargo build --release -p lookout-server --bin lookout
python3 scripts/soak.py target/release/lookout "${1:-600}" "${2:-1000}"
