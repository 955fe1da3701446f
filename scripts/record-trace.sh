#!/usr/bin/env bash
# Records a real trace of this host for the detector's replay tests: Lookout samples every
# 1 s into a fresh store for WARM_SECS (the host as it is), then scripted faults run one
# after another with quiet gaps between them, each with its start and end written to a
# labels file. The trace is exported with `lookout history export` (the CSV `lookout
# detect` reads) and compressed:
#   tests/data/trace-idle.csv.gz          the samples
#   tests/data/trace-idle.labels.json     [{"fault", "metric", "start", "end"}] (ms)
# Faults: stress-ng CPU, a memory ramp (grows for 40 s), a disk write burst, a fork storm
# (2,000 sleeping processes), and a network burst over a veth pair into a network
# namespace this script makes (loopback traffic is not counted by the sampler).
# Everything stays on this machine; every load is bounded in time.
# Usage: scripts/record-trace.sh [LOOKOUT_BINARY] [WARM_SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/lookout}"
WARM="${2:-1500}"
GAP="${GAP_SECS:-90}"
OUT=tests/data
command -v stress-ng >/dev/null || { apt-get update -qq && apt-get install -y -qq stress-ng; }
WORK="$(mktemp -d /var/tmp/lookout-trace.XXXXXX)"
PORT=$((20000 + RANDOM % 20000))
now_ms() { date +%s%3N; }
LABELS="$WORK/labels.json"
echo "[" >"$LABELS"
first=1
label() { # fault metric start end
  [ $first = 1 ] || echo "," >>"$LABELS"
  first=0
  printf '  {"fault": "%s", "metric": "%s", "start": %s, "end": %s}' "$1" "$2" "$3" "$4" >>"$LABELS"
}
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  ip netns del lookout-trace 2>/dev/null || true
  ip link del lt-veth0 2>/dev/null || true
  pkill -f "sleep 3141" 2>/dev/null || true
}
trap cleanup EXIT

"$BIN" --bind "127.0.0.1:$PORT" --interval 1s --db "$WORK/trace.db" --insecure-no-auth \
  --set detector.enabled=false --set log.level=warn >"$WORK/server.log" 2>&1 &
SERVER=$!
START=$(now_ms)
echo "[trace] recording to $WORK (port $PORT); $WARM s of the host as it is"
sleep "$WARM"

# CPU: two workers at full load.
s=$(now_ms); stress-ng --cpu 2 --timeout 45s >/dev/null 2>&1; e=$(now_ms)
label cpu cpu_usage "$s" "$e"; sleep "$GAP"

# Memory ramp: +100 MiB a second for 40 s, held 5 s, then freed.
s=$(now_ms)
python3 - <<'PY'
import time
blocks = []
for _ in range(40):
    blocks.append(bytearray(100 * 1024 * 1024))
    for i in range(0, len(blocks[-1]), 4096):
        blocks[-1][i] = 1
    time.sleep(1)
time.sleep(5)
PY
e=$(now_ms); label memory_ramp memory_used_bytes "$s" "$e"; sleep "$GAP"

# Disk write burst: 30 s of direct writes.
s=$(now_ms); stress-ng --hdd 1 --hdd-bytes 2G --temp-path "$WORK" --timeout 30s >/dev/null 2>&1 || true; e=$(now_ms)
label disk_write disk_write_bytes_per_sec "$s" "$e"; sleep "$GAP"

# Fork storm: 2,000 processes that live 40 s.
s=$(now_ms)
pids=()
for _ in $(seq 2000); do (exec -a "sleep 3141" sleep 40) & pids+=($!); done
wait "${pids[@]}" # not a bare `wait`: the server is a child too
e=$(now_ms); label fork_storm process_count "$s" "$e"; sleep "$GAP"

# Network burst: 30 s of traffic into a namespace over a veth pair.
ip netns add lookout-trace
ip link add lt-veth0 type veth peer name lt-veth1
ip link set lt-veth1 netns lookout-trace
ip addr add 10.213.7.1/30 dev lt-veth0 && ip link set lt-veth0 up
ip netns exec lookout-trace ip addr add 10.213.7.2/30 dev lt-veth1
ip netns exec lookout-trace ip link set lt-veth1 up
ip netns exec lookout-trace python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.213.7.2", 5201)); s.listen(1); c, _ = s.accept()
while c.recv(1 << 20): pass
' &
SINK=$!
sleep 1
s=$(now_ms)
python3 -c '
import socket, time
c = socket.create_connection(("10.213.7.2", 5201)); buf = b"x" * (1 << 20); end = time.time() + 30
while time.time() < end: c.sendall(buf)
c.close()
'
e=$(now_ms); label network net_tx_bytes_per_sec "$s" "$e"
wait "$SINK" 2>/dev/null || true
sleep "$GAP"
echo "" >>"$LABELS"; echo "]" >>"$LABELS"

kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
mkdir -p "$OUT"
"$BIN" history export --db "$WORK/trace.db" --from "$START" --timestamps ms -o "$WORK/trace.csv"
gzip -9 -c "$WORK/trace.csv" >"$OUT/trace-idle.csv.gz"
cp "$LABELS" "$OUT/trace-idle.labels.json"
echo "[trace] $(($(wc -l <"$WORK/trace.csv") - 1)) samples; labels:"
cat "$OUT/trace-idle.labels.json"
