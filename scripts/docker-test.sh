#!/usr/bin/env bash
# Builds the Lookout image and runs it here, then checks it as a user would:
#   - the container becomes healthy (its HEALTHCHECK: `lookout healthcheck`);
#   - it serves the login page, and refuses /metrics without a token;
#   - `GET /metrics` works with a read token made by `docker exec ... lookout token create`;
#   - under --cpus 0.5 --memory 256m, /metrics reports the container's CPU, memory and
#     throttling against those limits (scope "container"); under --cpuset-cpus 0 the
#     CPU limit is the cpuset's one CPU;
#   - data survives `docker restart` (a token and a silence created before it);
#   - it runs as a non-root user;
#   - `docker-compose up -d` with the repo's docker-compose.yml becomes healthy too.
# Prints: build time, image size, cold start to healthy.
#
# The whole image build is slow (it compiles cargo-leptos, ~30 min on 2 cores, then the
# project), so scripts/test.sh runs the variant below. Run as root:   bash scripts/docker-test.sh
# LOOKOUT_BINARY=target/release/lookout skips the image build (scripts/test.sh's last step): the runtime stage of the
# Dockerfile is made around that host-built binary (and target/site when present; the
# host must be Debian 12 for its glibc), minutes instead of an hour; every check runs.
#
# Works where only package registries are reachable (Debian apt, crates.io, npm):
#   - Docker Engine from Debian (`docker.io`, `docker-compose`) installed when dockerd is
#     missing; without a running daemon (no systemd) the script starts dockerd itself and
#     stops it at the end (DOCKERD_FLAGS adds flags; when overlay2 fails it retries with
#     --storage-driver=vfs);
#   - no image registry: the base image debian:bookworm-slim is made locally with
#     `debootstrap --variant=minbase bookworm` + `docker import`, and reused when present;
#   - a TLS-intercepting proxy's CA (the host's bundle) reaches the build as a BuildKit
#     secret, never as a layer.
# Environment: IMAGE (default lookout:test), DEBIAN_MIRROR (default: the host's apt mirror),
# KEEP=1 leaves the containers and volumes for inspection, NAME (default lookout-docker-test)
# prefixes the containers, volume and compose project (two runs side by side).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-lookout:test}"
BASE=debian:bookworm-slim
NAME="${NAME:-lookout-docker-test}"
VOLUME="$NAME-data"
LIMITED="$NAME-limited"
CPUSET="$NAME-cpuset"
PROJECT="$(tr -cd 'a-z0-9' <<<"$NAME")"
WORK=/var/tmp/lookout-docker
RUN="$WORK/$NAME" # this run's logs and answers
mkdir -p "$RUN"
DOCKER=/usr/bin/docker
T_SCRIPT=$(date +%s)

log() { printf '[docker-test] %s\n' "$*"; }
die() { printf '[docker-test] FAIL: %s\n' "$*" >&2; exit 1; }

# The Debian mirror apt uses: the first address of a deb822 `URIs:` field (*.sources) or
# of a one-line `deb` entry (sources.list, *.list) whose path ends in /debian; security
# suites skipped. Never a comment: a stock Debian 12 image's debian.sources has a commented
# snapshot.debian.org address above its URIs: field (picking that made debootstrap fail).
apt_mirror() {
  local f
  for f in "$@"; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources) awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" ;;
      *) awk '$1 == "deb" { sub(/^[ \t]*deb[ \t]+/, ""); sub(/^\[[^]]*\][ \t]*/, ""); split($0, w, /[ \t]+/); print w[1] }' "$f" ;;
    esac
  done | grep -E '^https?://[^ ]+/debian/?$' | grep -v security | head -1
}
# `docker-test.sh --print-mirror FILE...`: the mirror those files name (server/tests/deploy_files.rs).
if [ "${1:-}" = --print-mirror ]; then
  shift
  apt_mirror "$@"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "run as root (installs packages, starts dockerd)"

# ------------------------------------------------------------------ packages
need=()
# A Docker client alone (e.g. /usr/local/bin/docker) is not enough: the daemon is needed.
{ [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; } || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  log "apt: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ------------------------------------------------------------------ dockerd
DOCKERD_PID=""
# Starts dockerd with extra flags $1; true once it answers (60 s at most).
start_dockerd() {
  log "starting dockerd ${DOCKERD_FLAGS:-} $1 (log: $WORK/dockerd.log)"
  # shellcheck disable=SC2086
  setsid /usr/sbin/dockerd ${DOCKERD_FLAGS:-} $1 >>"$WORK/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 1
  done
  stop_dockerd
  return 1
}
# Stops the dockerd this script started (never one that was already running); its
# containerd and the containers' shims go with it.
stop_dockerd() {
  [ -n "$DOCKERD_PID" ] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=""
}
if ! "$DOCKER" info >/dev/null 2>&1; then
  : >"$WORK/dockerd.log"
  start_dockerd "" || start_dockerd "--storage-driver=vfs" \
    || { tail -20 "$WORK/dockerd.log" >&2; die "dockerd did not start"; }
  [ -n "${KEEP_DOCKERD:-}" ] && DOCKERD_PID=""
  log "dockerd $DOCKERD_PID started by this script; stopped at the end (KEEP_DOCKERD=1 keeps it)"
fi
trap stop_dockerd EXIT
log "docker: $("$DOCKER" version --format '{{.Server.Version}}'), storage $("$DOCKER" info --format '{{.Driver}}')"

# ------------------------------------------------------------------ base image
if "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE: present"
else
  mirror="${DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$(apt_mirror /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources || true)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  log "base image $BASE: debootstrap --variant=minbase bookworm from $mirror"
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror%/}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  tar -C "$rootfs" -c . | "$DOCKER" import --change 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

# ------------------------------------------------------------------ build
if [ -n "${LOOKOUT_BINARY:-}" ]; then
  # The Dockerfile's runtime stage around a host-built binary (no toolchain stages).
  [ -x "$LOOKOUT_BINARY" ] || die "LOOKOUT_BINARY=$LOOKOUT_BINARY is not an executable"
  ctx="$RUN/prebuilt"
  rm -rf "$ctx" && mkdir -p "$ctx/out/site"
  strip -o "$ctx/out/lookout" "$LOOKOUT_BINARY" 2>/dev/null || cp "$LOOKOUT_BINARY" "$ctx/out/lookout"
  bin_dir="$(dirname "$LOOKOUT_BINARY")"
  [ -f "$bin_dir/hash.txt" ] && cp "$bin_dir/hash.txt" "$ctx/out/" || : >"$ctx/out/hash.txt"
  [ -d "$bin_dir/../site" ] && cp -r "$bin_dir/../site/." "$ctx/out/site/"
  { echo "FROM $BASE AS build"; echo "COPY out /out"
    sed -n '/^# -* runtime stage/,$p' Dockerfile; } >"$ctx/Dockerfile"
  log "building $IMAGE from $LOOKOUT_BINARY (log: $RUN/build.log)"
  t0=$(date +%s)
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -t "$IMAGE" "$ctx" >"$RUN/build.log" 2>&1 \
    || { tail -40 "$RUN/build.log" >&2; die "docker build failed"; }
else
WB="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
build_args=(--build-arg "WASM_BINDGEN_VERSION=$WB" -t "$IMAGE")
for ca in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [ -s "$ca" ]; then build_args+=(--secret "id=ca_bundle,src=$ca"); break; fi
done
log "building $IMAGE (log: $RUN/build.log)"
t0=$(date +%s)
DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain "${build_args[@]}" . >"$RUN/build.log" 2>&1 \
  || { tail -40 "$RUN/build.log" >&2; die "docker build failed"; }
fi
BUILD_SECS=$(($(date +%s) - t0))
SIZE_BYTES="$("$DOCKER" image inspect "$IMAGE" --format '{{.Size}}')"

# ------------------------------------------------------------------ run
cleanup() {
  [ "${KEEP:-0}" = 1 ] && return
  "$DOCKER" rm -f "$NAME" "$LIMITED" "$CPUSET" >/dev/null 2>&1 || true
  "$DOCKER" volume rm "$VOLUME" >/dev/null 2>&1 || true
  LOOKOUT_ADMIN_PASSWORD=x docker-compose -p "$PROJECT" down -v >/dev/null 2>&1 || true
}
trap 'cleanup; stop_dockerd' EXIT
cleanup

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT_A="$(free_port)"
BASE_URL="http://127.0.0.1:$PORT_A"
ADMIN_PASS="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"

health() { "$DOCKER" inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null || echo missing; }
# Waits until container $1 is healthy; prints the seconds it took from $2 (epoch, ms).
wait_healthy() {
  local c="$1" since="$2" deadline=$((SECONDS + 120))
  while [ "$(health "$c")" != healthy ]; do
    if [ "$("$DOCKER" inspect --format '{{.State.Running}}' "$c" 2>/dev/null)" != true ] || ((SECONDS > deadline)); then
      "$DOCKER" logs "$c" 2>&1 | tail -30 >&2
      die "$c did not become healthy (status: $(health "$c"))"
    fi
    sleep 0.2
  done
  awk -v a="$since" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
}
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

log "run: $IMAGE on $BASE_URL, data in volume $VOLUME"
t_start=$(date +%s%3N)
"$DOCKER" run -d --name "$NAME" --init -p "127.0.0.1:$PORT_A:3000" -v "$VOLUME:/data" \
  -e LOOKOUT_ADMIN_USER=admin -e LOOKOUT_ADMIN_PASSWORD="$ADMIN_PASS" \
  -e LOOKOUT_SAMPLER_INTERVAL=1s -e LOOKOUT_STORE_FLUSH_INTERVAL=1s "$IMAGE" >/dev/null
# The server answers long before Docker's first health probe (HEALTHCHECK --interval=10s).
first_ok=""
for _ in $(seq 600); do
  if [ "$(status "$BASE_URL/healthz")" = 200 ]; then
    first_ok=$(awk -v a="$t_start" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
    break
  fi
  sleep 0.1
done
[ -n "$first_ok" ] || { "$DOCKER" logs "$NAME" 2>&1 | tail -30 >&2; die "/healthz never answered"; }
HEALTHY_SECS="$(wait_healthy "$NAME" "$t_start")"
log "ok: /healthz answered after ${first_ok}s, container healthy after ${HEALTHY_SECS}s"

uid="$("$DOCKER" exec "$NAME" id -u)"
[ "$uid" != 0 ] || die "the container runs as root"
log "ok: runs as uid $uid ($("$DOCKER" exec "$NAME" id -un))"

# Login page. (While the auth work is not merged there is no /login: set
# DOCKER_TEST_NO_LOGIN=1 to check the dashboard at / instead.)
if [ "${DOCKER_TEST_NO_LOGIN:-0}" = 1 ]; then
  [ "$(status "$BASE_URL/")" = 200 ] || die "GET / is not 200"
  log "ok: / serves the dashboard (login check skipped: DOCKER_TEST_NO_LOGIN=1)"
else
  page="$(curl -s "$BASE_URL/login")"
  [ "$(status "$BASE_URL/login")" = 200 ] || die "GET /login is not 200"
  grep -qi 'type="password"' <<<"$page" || die "/login has no password field"
  [ "$(status "$BASE_URL/")" = 303 ] || die "GET / without a session is not a redirect to /login"
  log "ok: /login serves the login form; / redirects there without a session"
fi

# /metrics: refused without a token, served with a read token made in the container.
code="$(status "$BASE_URL/metrics")"
[ "$code" = 401 ] || die "GET /metrics without a token answered $code, not 401"
TOKEN="$("$DOCKER" exec "$NAME" lookout token create --name docker-test --scope read | tail -1)"
[[ "$TOKEN" == lk_* ]] || die "token create printed '$TOKEN'"
metrics="$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE_URL/metrics")"
grep -q '"cpu_usage"' <<<"$metrics" || die "/metrics with a read token: $metrics"
log "ok: /metrics 401 without a token, JSON with a read token"

# Limits (issue 12): the image under --cpus 0.5 --memory 256m, a CPU and memory hog
# inside: /metrics reports scope container, the limits, CPU near the quota, memory against
# 256 MiB, throttling.
PORT_L="$(free_port)"
"$DOCKER" rm -f "$LIMITED" >/dev/null 2>&1 || true
"$DOCKER" run -d --name "$LIMITED" --init --cpus 0.5 --memory 256m -p "127.0.0.1:$PORT_L:3000" \
  -e LOOKOUT_ADMIN_USER=admin -e LOOKOUT_ADMIN_PASSWORD="$ADMIN_PASS" \
  -e LOOKOUT_SAMPLER_INTERVAL=1s "$IMAGE" >/dev/null
wait_healthy "$LIMITED" "$(date +%s%3N)" >/dev/null
# Not `docker logs | grep -q`: under pipefail grep's early exit fails the pipeline (SIGPIPE).
limited_log="$("$DOCKER" logs "$LIMITED" 2>&1)"
grep -q 'scope: container: 0.5 CPU, 256 MiB' <<<"$limited_log" \
  || { tail -20 <<<"$limited_log" >&2; die "limited container: no 'scope: container' log line"; }
LTOKEN="$("$DOCKER" exec "$LIMITED" lookout token create --name docker-test --scope read | tail -1)"
# Two busy shells (no stress-ng in the image) and 160 MiB of anonymous memory held by
# `tail -c` (it buffers its whole input, then blocks writing to a sleep that never reads).
# Not a shell variable: `x=$(...)` peaks at twice the size and was OOM-killed at 256 MiB.
"$DOCKER" exec -d "$LIMITED" sh -c 'while :; do :; done'
"$DOCKER" exec -d "$LIMITED" sh -c 'while :; do :; done'
"$DOCKER" exec -d "$LIMITED" sh -c 'head -c 167772160 /dev/zero | tail -c 167772160 | sleep 600'
sleep 15
# The container's CPU time (µs) as its own cgroup counts it (v1 cpuacct, or v2 cpu.stat).
cg_usage_us() {
  "$DOCKER" exec "$LIMITED" sh -c 'if [ -r /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
      echo $(($(cat /sys/fs/cgroup/cpuacct/cpuacct.usage) / 1000))
    else awk "\$1 == \"usage_usec\" { print \$2 }" /sys/fs/cgroup/cpu.stat; fi'
}
# Ten readings 1 s apart (one interval's CPU share swings on a shared host), between
# two readings of the cgroup's own counter.
u0=$(cg_usage_us); t0_ms=$(date +%s%3N)
for i in $(seq 10); do
  curl -s -H "Authorization: Bearer $LTOKEN" "http://127.0.0.1:$PORT_L/metrics" >"$RUN/limited-$i.json"
  sleep 1
done
u1=$(cg_usage_us); t1_ms=$(date +%s%3N)
# The quota share the kernel's counter gives over the window, for comparison.
KERNEL_PCT=$(awk -v u="$((u1 - u0))" -v ms="$((t1_ms - t0_ms))" 'BEGIN { printf "%.1f", u / (ms * 1000) / 0.5 * 100 }')
CORES=$(nproc)
KERNEL_PCT="$KERNEL_PCT" CORES="$CORES" python3 - "$RUN"/limited-{1,2,3,4,5,6,7,8,9,10}.json <<'PY' || die "limited container: /metrics does not show the container's figures ($(head -c 600 "$RUN/limited-1.json"))"
import json, sys
ms = [json.load(open(f)) for f in sys.argv[1:]]
for m in ms:
    c = m["container"]
    assert m["scope"] == "container", m["scope"]
    assert c["cpu_limit_cores"] == 0.5 and c["cpu_quota_set"], c
    assert c["memory_max_bytes"] == 256 << 20, c
    assert m["memory"]["total_bytes"] == 256 << 20
    assert 0 <= m["cpu_usage"] <= 100 and 0 < m["memory_usage"] <= 100, m
    assert m["memory"]["used_bytes"] > 120 << 20, m["memory"]["used_bytes"]
    assert c["oom_kills"] == 0, c
import os
cpu = [m["cpu_usage"] for m in ms]
thr = [m["container"]["throttled_percent_last_minute"] for m in ms]
load = ms[-1]["load"]["one"]
kernel = float(os.environ["KERNEL_PCT"])
mean = sum(cpu[1:]) / len(cpu[1:])  # each reading covers the second before it
# Lookout's share of the quota agrees with the cgroup's own counter over the window.
assert abs(mean - kernel) < 15, (cpu, kernel)
# Near the quota: the two loops want 2 CPUs, the quota gives 0.5. Only on a host with
# CPU to spare: with a load average of 24 on 2 cores the group got 25 % of its quota
# (the kernel's counter agreed), and was never throttled.
saturated = load > 2 * int(os.environ["CORES"])
if not saturated:
    assert max(cpu) > 80, (cpu, load)
    assert max(thr) > 10, (thr, load)
m = ms[-1]
print(f"[docker-test] limited: cpu {mean:.0f} % of 0.5 CPU (readings {min(cpu):.0f}-{max(cpu):.0f} %, "
      f"the cgroup's counter {kernel:.0f} %), memory {m['memory_usage']:.0f} % of 256 MiB "
      f"({m['memory']['used_bytes'] >> 20} MiB working set), throttled up to {max(thr):.0f} % "
      f"of periods in the last minute, cgroup {m['container']['cgroup_version']}, pressure "
      f"from {(m.get('pressure') or {}).get('source')}, host load {load:.1f}"
      + (" (saturated: near-quota and throttling checks skipped)" if saturated else ""))
PY
"$DOCKER" rm -f "$LIMITED" >/dev/null
log "ok: under --cpus 0.5 --memory 256m /metrics reports the container's figures"

# A cpuset without a quota: one CPU of the node's is the CPU limit.
if [ "$(nproc)" -gt 1 ]; then
  PORT_C="$(free_port)"
  "$DOCKER" run -d --name "$CPUSET" --init --cpuset-cpus 0 --memory 256m -p "127.0.0.1:$PORT_C:3000" \
    -e LOOKOUT_ADMIN_USER=admin -e LOOKOUT_ADMIN_PASSWORD="$ADMIN_PASS" \
    -e LOOKOUT_SAMPLER_INTERVAL=1s "$IMAGE" >/dev/null
  wait_healthy "$CPUSET" "$(date +%s%3N)" >/dev/null
  cpuset_log="$("$DOCKER" logs "$CPUSET" 2>&1)"
  grep -q 'scope: container: 1 CPU (cpuset), 256 MiB' <<<"$cpuset_log" \
    || { tail -20 <<<"$cpuset_log" >&2; die "cpuset container: no 'scope: container: 1 CPU (cpuset)' log line"; }
  CTOKEN="$("$DOCKER" exec "$CPUSET" lookout token create --name docker-test --scope read | tail -1)"
  curl -s -H "Authorization: Bearer $CTOKEN" "http://127.0.0.1:$PORT_C/metrics" >"$RUN/cpuset.json"
  python3 - "$RUN/cpuset.json" <<'PY' || die "cpuset container: /metrics ($(head -c 600 "$RUN/cpuset.json"))"
import json, sys
m = json.load(open(sys.argv[1]))
c = m["container"]
assert m["scope"] == "container", m["scope"]
assert c["cpuset_cpus"] == 1 and c["cpu_limit_cores"] == 1 and not c["cpu_quota_set"], c
PY
  "$DOCKER" rm -f "$CPUSET" >/dev/null
  log "ok: under --cpuset-cpus 0 the CPU limit is the cpuset's 1 CPU (no quota)"
fi

# Data across `docker restart`: a silence (admin token) and the read token itself.
ADMIN_TOKEN="$("$DOCKER" exec "$NAME" lookout token create --name docker-test-admin --scope admin | tail -1)"
code="$(curl -s -o "$RUN/silence.json" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
  -d '{"host":"docker-test-host","duration":"2h","comment":"kept across restart"}' \
  "$BASE_URL/api/silences")"
[[ "$code" == 2* ]] || die "POST /api/silences answered $code: $(cat "$RUN/silence.json")"
t_restart=$(date +%s%3N)
"$DOCKER" restart "$NAME" >/dev/null
RESTART_SECS="$(wait_healthy "$NAME" "$t_restart")"
grep -q 'kept across restart' <<<"$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$BASE_URL/api/silences")" \
  || die "the silence did not survive docker restart"
[ "$(status -H "Authorization: Bearer $TOKEN" "$BASE_URL/metrics")" = 200 ] \
  || die "the read token did not survive docker restart"
log "ok: silence and token kept across docker restart (healthy again after ${RESTART_SECS}s)"

# ------------------------------------------------------------------ compose
PORT_B="$(free_port)"
"$DOCKER" tag "$IMAGE" lookout:latest
log "docker-compose up -d (project $PROJECT, port $PORT_B)"
export LOOKOUT_ADMIN_PASSWORD="$ADMIN_PASS" LOOKOUT_HOST_PORT="$PORT_B"
docker-compose -p "$PROJECT" up -d >"$RUN/compose.log" 2>&1 || { cat "$RUN/compose.log" >&2; die "docker-compose up failed"; }
cid="$(docker-compose -p "$PROJECT" ps -q lookout)"
COMPOSE_SECS="$(wait_healthy "$cid" "$(date +%s%3N)")"
[ "$(status "http://127.0.0.1:$PORT_B/healthz")" = 200 ] || die "compose service: /healthz"
[ "$("$DOCKER" inspect --format '{{.HostConfig.Init}}' "$cid")" = true ] || die "compose: init is not on"
log "ok: docker-compose service healthy after ${COMPOSE_SECS}s, init on"
docker-compose -p "$PROJECT" down -v >/dev/null 2>&1

printf '\n'
log "figures:"
log "  build time:            ${BUILD_SECS} s (docker build, this run; cached layers reused)"
log "  image size:            $(awk -v b="$SIZE_BYTES" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }')"
log "  cold start to /healthz: ${first_ok} s"
log "  cold start to healthy:  ${HEALTHY_SECS} s (Docker's first probe comes after --interval=10s)"
log "  whole script:          $(($(date +%s) - T_SCRIPT)) s"
log "PASS"
