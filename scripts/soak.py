#!/usr/bin/env python3
"""Soak test of a running-from-scratch Lookout on loopback (issue 11, part 7).

Starts `lookout` (the binary given) on a free 127.0.0.1 port with a fresh data folder
and 1 s sampling, then for DURATION seconds holds STREAMS open `/api/stream` clients
plus a steady `/metrics` and `/api/history` load, and prints:

- the server's RSS and open descriptors at the start, every minute and at the end;
- descriptors again after every client has left (they must come back down);
- p50 / p99 / max latency of `/metrics` and `/api/history`;
- SSE events received, and clients that lost their stream;
- samples in the store against the number expected at 1 s (none may be lost).

Bounded: loopback only, at most STREAMS + 2 connections, DURATION seconds.
Standard library only (asyncio), so it runs wherever the project's tests run.

usage: soak.py BINARY [DURATION_SECS=600] [STREAMS=1000]
"""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def breakdown(pid, data):
    """Where the RSS is (anonymous: heap and SQLite's page caches; file: the binary;
    shmem: the WAL index), the store's size on disk, and the load average (the machine
    may be shared)."""
    kib = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("RssAnon", "RssFile", "RssShmem", "Threads"):
                kib[k] = int(v.split()[0])
    size = sum(
        os.path.getsize(os.path.join(data, n))
        for n in os.listdir(data)
        if n.startswith("lookout.db")
    )
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    return (
        f"anon {kib.get('RssAnon', 0) / 1024:.1f} / file {kib.get('RssFile', 0) / 1024:.1f} / "
        f"shmem {kib.get('RssShmem', 0) / 1024:.1f} MiB, {kib.get('Threads', 0)} threads; "
        f"store {size / 2**20:.1f} MiB; load {load}"
    )


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


async def request(port, path):
    """One GET on a fresh connection; (status, seconds)."""
    t0 = time.perf_counter()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    data = await r.read()
    w.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.perf_counter() - t0


class Stats:
    def __init__(self):
        self.events = 0
        self.lost = 0
        self.refused = 0


async def stream_client(port, stats, stop):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats.refused += 1
        return
    w.write(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        stats.refused += 1
        w.close()
        return
    try:
        while not stop.is_set():
            line = await asyncio.wait_for(r.readline(), timeout=30)
            if not line:
                stats.lost += 1
                break
            if line.startswith(b"event: snapshot"):
                stats.events += 1
    except (asyncio.TimeoutError, ConnectionError):
        stats.lost += 1
    finally:
        w.close()


async def load(port, path, every, latencies, errors, stop):
    while not stop.is_set():
        try:
            status, took = await request(port, path)
            latencies.append(took)
            if status != 200:
                errors.append(status)
        except OSError as e:
            errors.append(str(e))
        await asyncio.sleep(every)


async def main():
    binary = os.path.abspath(sys.argv[1])
    duration = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    streams = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    data = tempfile.mkdtemp(prefix="lookout-soak-")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOOKOUT_SERVER_BIND": f"127.0.0.1:{port}",
        "LOOKOUT_STORE_PATH": os.path.join(data, "lookout.db"),
        "LOOKOUT_SAMPLER_INTERVAL": "1s",
        "LOOKOUT_LOG_LEVEL": "warn",
        # Every client is the same anonymous loopback caller here.
        "LOOKOUT_SERVER_MAX_STREAMS": str(streams + 16),
        "LOOKOUT_SERVER_MAX_STREAMS_PER_CALLER": str(streams + 16),
        "LOOKOUT_SERVER_MAX_CONNECTIONS": str(streams + 256),
    }
    server = subprocess.Popen([binary], env=env, cwd=data, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if (await request(port, "/healthz"))[0] == 200:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        pid = server.pid
        await asyncio.sleep(3)
        start = time.time()
        rss0, fd0 = rss_mib(pid), fds(pid)
        print(f"start: RSS {rss0:.1f} MiB, {fd0} descriptors; {streams} streams for {duration} s; "
              f"{breakdown(pid, data)}")
        stop = asyncio.Event()
        stats = Stats()
        clients = []
        for i in range(streams):
            clients.append(asyncio.create_task(stream_client(port, stats, stop)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        metrics_lat, history_lat, errors = [], [], []
        loaders = [
            asyncio.create_task(load(port, "/metrics", 0.1, metrics_lat, errors, stop)),
            asyncio.create_task(
                load(port, "/api/history?metric=cpu_usage,memory_usage&from=-15m", 1.0,
                     history_lat, errors, stop)
            ),
        ]
        next_report = time.time() + 60
        # (seconds since start, RSS MiB) every minute: the slope of the last third
        # says whether the RSS has levelled off.
        rss_track = [(0.0, rss0)]
        while time.time() - start < duration:
            await asyncio.sleep(1)
            if time.time() >= next_report:
                next_report += 60
                rss_track.append((time.time() - start, rss_mib(pid)))
                print(
                    f"{time.time() - start:6.0f} s: RSS {rss_mib(pid):.1f} MiB, {fds(pid)} descriptors, "
                    f"{stats.events} events, /metrics p99 {pct(metrics_lat, 0.99) * 1000:.1f} ms; "
                    f"{breakdown(pid, data)}",
                    flush=True,
                )
        rss1, fd1 = rss_mib(pid), fds(pid)
        print(f"end of load: {breakdown(pid, data)}")
        stop.set()
        for t in clients + loaders:
            t.cancel()
        await asyncio.gather(*clients, *loaders, return_exceptions=True)
        # Clients gone: the server notices at its next event (1 s) and closes them.
        await asyncio.sleep(5)
        fd2 = fds(pid)
        elapsed = time.time() - start
        db = sqlite3.connect(os.path.join(data, "lookout.db"), timeout=10)
        (rows,) = db.execute(
            "SELECT COUNT(*) FROM samples WHERE ts >= ? AND ts <= ?",
            (int(start * 1000), int((start + duration) * 1000)),
        ).fetchone()
        print(f"end:   RSS {rss1:.1f} MiB ({rss1 - rss0:+.1f}), {fd1} descriptors with clients, "
              f"{fd2} after they left (start {fd0})")
        tail = [(t, r) for t, r in rss_track if t >= duration * 2 / 3]
        if len(tail) >= 2:
            (t0, r0), (t1, r1) = tail[0], tail[-1]
            print(f"RSS over the last third ({t0:.0f}-{t1:.0f} s): {r0:.1f} -> {r1:.1f} MiB, "
                  f"{(r1 - r0) / max(t1 - t0, 1) * 60:+.2f} MiB a minute")
        print(f"/metrics: {len(metrics_lat)} calls, p50 {pct(metrics_lat, .5) * 1000:.1f} ms, "
              f"p99 {pct(metrics_lat, .99) * 1000:.1f} ms, max {max(metrics_lat) * 1000:.1f} ms")
        print(f"/api/history: {len(history_lat)} calls, p50 {pct(history_lat, .5) * 1000:.1f} ms, "
              f"p99 {pct(history_lat, .99) * 1000:.1f} ms")
        print(f"streams: {stats.events} events, {stats.lost} lost, {stats.refused} refused; "
              f"errors: {len(errors)} {errors[:5]}")
        print(f"samples stored in the soak window: {rows} of {duration} expected at 1 s "
              f"(window {elapsed:.0f} s)")
        ok = (
            rows >= duration - 1
            and fd2 <= fd0 + 16
            and pct(metrics_lat, 0.99) < 0.050
            and not errors
            and stats.lost == 0
            and stats.refused == 0
        )
        print("SOAK PASSED" if ok else "SOAK FAILED")
        return 0 if ok else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
