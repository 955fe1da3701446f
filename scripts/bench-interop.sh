#!/usr/bin/env bash
# Figures for the README's deployment section: exposition render cost, remote_write
# queue memory per sample and throughput into Debian's VictoriaMetrics, started here on
# a free loopback port with a throwaway data folder (scripts/setup.sh installs it).
# Usage: scripts/bench-interop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
command -v victoria-metrics >/dev/null || { echo "victoria-metrics missing: scripts/setup.sh" >&2; exit 1; }
cargo build --release -q --example interop_bench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$(mktemp -d)
victoria-metrics -storageDataPath="$data" -httpListenAddr="127.0.0.1:$port" -loggerLevel=WARN >"$data.log" 2>&1 &
vm=$!
trap 'kill $vm 2>/dev/null; wait $vm 2>/dev/null; rm -rf "$data" "$data.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
target/release/examples/interop_bench "http://127.0.0.1:$port/api/v1/write"
