#!/usr/bin/env bash
# Measures `lookout agent` as issue 13 asks: at 1 s sampling, shipping to a hub
# (`lookout serve`) on 127.0.0.1, the agent's CPU use (% of one core) and peak RSS over
# a period (default 300 s); then the hub is stopped for a while to see the size of the
# buffered batches (bytes per sample on disk and on the wire). Targets: <= 0.1 % of one
# core, <= 12 MiB RSS. Needs a release build: cargo build --release -p lookout-server.
# The agent measured is the slim `lookout-agent` binary (AGENT=lookout measures
# `lookout agent`, the same code inside the whole server binary).
# Usage: scripts/bench-agent.sh [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-300}"
PORT="${PORT_BENCH:-3191}"
BIN="${BENCH_BIN:-$ROOT/target/release/lookout}"
[ -x "$BIN" ] || { echo "build first: cargo build --release -p lookout-server" >&2; exit 1; }
if [ "${AGENT:-slim}" = lookout ]; then
  AGENT_CMD=("$BIN" agent)
else
  AGENT_CMD=("$(dirname "$BIN")/lookout-agent")
  [ -x "${AGENT_CMD[0]}" ] || { echo "build first: cargo build --release -p lookout-server" >&2; exit 1; }
fi
TMP="$(mktemp -d)"
cleanup() { kill "${AGENT:-}" "${HUB:-}" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

start_hub() {
  LOOKOUT_SERVER_BIND="127.0.0.1:$PORT" LOOKOUT_STORE_PATH="$TMP/hub.db" \
  LOOKOUT_HOST_NAME=bench-hub LOOKOUT_DETECTOR_ENABLED=false LOOKOUT_LOG_LEVEL=warn \
    "$BIN" serve >>"$TMP/hub.log" 2>&1 &
  HUB=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "hub did not start" >&2; exit 1
}
TOKEN=$("$BIN" token create --name bench-agent --scope ingest --db "$TMP/hub.db" 2>/dev/null)
start_hub

LOOKOUT_AGENT_TOKEN="$TOKEN" LOOKOUT_HOST_NAME=bench-agent LOOKOUT_SAMPLER_INTERVAL=1s \
LOOKOUT_AGENT_BUFFER_DIR="$TMP/buffer" LOOKOUT_DETECTOR_ENABLED=false LOOKOUT_LOG_LEVEL=warn \
  "${AGENT_CMD[@]}" --hub "http://127.0.0.1:$PORT" >"$TMP/agent.log" 2>&1 &
AGENT=$!
# Past start-up (the first process-table read, the first batch).
sleep 15

ticks() { awk '{print $14 + $15}' "/proc/$AGENT/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep "$SECS"
t1=$(ticks); s1=$(date +%s.%N)
cpu=$(echo "scale=4; 100 * ($t1 - $t0) / $hz / ($s1 - $s0)" | bc)
rss=$(awk '/VmHWM/{print $2}' "/proc/$AGENT/status")
now_rss=$(awk '/VmRSS/{print $2}' "/proc/$AGENT/status")
stored=$(curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null; "$BIN" token list --db "$TMP/hub.db" | grep -c "host bench-agent" || true)
echo "${AGENT_CMD[*]##*/} at 1 s sampling, shipping every 10 s to a hub on loopback, ${SECS} s:"
echo "  agent CPU: ${cpu} % of one core ($((t1 - t0)) ticks of 1/${hz} s; target <= 0.1 %)"
echo "  agent peak RSS: $((rss / 1024)) MiB, now $((now_rss / 1024)) MiB (${rss} KiB peak; target <= 12 MiB)"
[ "$stored" = 1 ] && echo "  the hub bound the token to host bench-agent"

# Hub down for 35 s: the batches stay in the buffer; their size is what a batch
# costs on disk and on the wire.
kill "$HUB"; wait "$HUB" 2>/dev/null || true; HUB=""
sleep 35
n=0; bytes=0
for f in "$TMP"/buffer/*.batch.gz; do
  [ -e "$f" ] || continue
  s=${f##*-}; s=${s%.batch.gz}
  n=$((n + s)); bytes=$((bytes + $(stat -c %s "$f")))
done
if [ "$n" -gt 0 ]; then
  echo "buffered while the hub was down: $n samples in $(ls "$TMP"/buffer/*.batch.gz | wc -l) batches, $bytes bytes: $((bytes / n)) bytes per sample (gzip)"
fi
t2=$(ticks)
echo "  agent CPU ticks while the hub was down (35 s): $((t2 - t1))"
start_hub
# The agent retries at its backoff (up to 60 s) or at its next batch, whichever is first.
for waited in $(seq 0 30); do
  left=$( (ls "$TMP"/buffer/*.batch.gz 2>/dev/null || true) | wc -l)
  [ "$left" = 0 ] && break
  sleep 1
done
echo "hub back: buffer empty after ${waited} s (${left} batches left)"
