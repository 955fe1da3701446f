#!/usr/bin/env bash
# Load generator for a Lookout hub (issue 13): builds the hub and the Rust load
# generator (server/examples/loadgen_hub/main.rs) in release mode, then runs it. It starts
# `lookout serve` on a free 127.0.0.1 port, writes one ingest token per simulated host
# into the hub's SQLite file, replays tests/data/trace-idle.csv.gz as agents' gzip
# batches to POST /api/ingest for a bounded time, and prints the hub's CPU and peak RSS,
# p50/p99 ingest latency, sender lateness, samples stored against sent, trained models,
# the generator's own CPU and the load average.
# Usage: scripts/loadgen-hub.sh --hosts 200 --interval 1 [--batch 10] [--secs 120]
#        [--min-history 2m] [--concurrency 32] [--threads 1] [--bin PATH] [--keep]
# (--workers is accepted for --concurrency.) NO_BUILD=1 skips the build. Export the
# RUSTC_BOOTSTRAP / CARGO_INCREMENTAL of your other builds, or cargo rebuilds the lot.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${NO_BUILD:-}" ]; then
  # Two builds: one invocation would unify the dev-dependencies' features (the
  # example's) into the hub binary, which is then not the one deployed.
  cargo build --release -q -p lookout-server --bin lookout
  cargo build --release -q -p lookout-server --example loadgen_hub
fi
exec "$ROOT/target/release/examples/loadgen_hub" "$@"
