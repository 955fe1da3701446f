#!/usr/bin/env bash
# Measures the server as the issue asks: at 1 s sampling with one dashboard open in
# headless Chromium, the server's CPU use (% of one core) and peak RSS over a
# period (default 300 s), then `GET /metrics` throughput and latency with wrk at 10
# and 100 connections. Everything on 127.0.0.1. Needs a release build
# (`cargo leptos build --release`) and `wrk` (Debian package).
# Usage: scripts/bench-server.sh [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-300}"
PORT="${PORT_BENCH:-3190}"
BIN="$ROOT/target/release/lookout"
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
TMP="$(mktemp -d)"
cleanup() { kill "${CHROME:-}" "${SERVER:-}" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

LEPTOS_SITE_ROOT="$ROOT/target/site" LOOKOUT_SERVER_BIND="127.0.0.1:$PORT" \
LOOKOUT_STORE_PATH="$TMP/lookout.db" LOOKOUT_DETECTOR_MODELS_DIR="$TMP/models" \
LOOKOUT_SAMPLER_INTERVAL=1s LOOKOUT_DASHBOARD_DEFAULT_REFRESH=1s LOOKOUT_LOG_LEVEL=warn \
  "$BIN" >"$TMP/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

chromium --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$TMP/chrome" --remote-debugging-port=0 \
  "http://127.0.0.1:$PORT/" >/dev/null 2>&1 &
CHROME=$!
sleep 5

ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep "$SECS"
t1=$(ticks); s1=$(date +%s.%N)
cpu=$(echo "scale=3; 100 * ($t1 - $t0) / $hz / ($s1 - $s0)" | bc)
rss=$(awk '/VmHWM/{print $2}' "/proc/$SERVER/status")
now_rss=$(awk '/VmRSS/{print $2}' "/proc/$SERVER/status")
echo "idle with one dashboard open, 1 s sampling, ${SECS} s:"
echo "  server CPU: ${cpu} % of one core"
echo "  peak RSS: $((rss / 1024)) MiB (now $((now_rss / 1024)) MiB)"
kill "$CHROME" 2>/dev/null || true; CHROME=""

for c in 10 100; do
  echo "GET /metrics, $c connections, 2 threads, 15 s:"
  wrk -t2 -c"$c" -d15s --latency "http://127.0.0.1:$PORT/metrics" | grep -E "Requests/sec|99%|Latency  "
done
rss=$(awk '/VmHWM/{print $2}' "/proc/$SERVER/status")
echo "peak RSS after load: $((rss / 1024)) MiB"
