#!/usr/bin/env bash
# Login abuse, measured (issue 11, part 3; not part of scripts/test.sh): builds the
# release server, then N concurrent wrong logins from one address and from N forwarded
# addresses, printing RSS growth (target < 64 MiB) and /healthz and dashboard latency
# during the flood (see scripts/bench-logins.py).
# usage: scripts/bench-logins.sh [N=500]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
cargo build --release -p lookout-server --bin lookout
python3 scripts/bench-logins.py target/release/lookout "${1:-500}"
