#!/usr/bin/env python3
"""Login abuse, measured (issue 11, part 3): N concurrent wrong logins against a
release `lookout` on loopback, with the server's memory and the dashboard watched.

Two rounds, each on a fresh server with one admin account and a fresh data folder:

- `one-source`: N wrong passwords for the admin account from one address (the
  per-address and per-account limits refuse all but 10; the rest never hash);
- `many-sources`: N wrong logins, each from its own forwarded address (through a
  trusted proxy on 127.0.0.2) for its own account name, so no rate limit refuses
  any: only the bound on concurrent password checks stands between the flood and
  N Argon2 hashes at once.

All N connections are opened first, then every request is sent at the same moment.
Meanwhile the server's VmRSS is sampled every 10 ms and `/healthz` and the dashboard
(`/`, with a session made before the flood) are fetched every 100 ms on new
connections. Printed per round: answers by status, the RSS before, the peak (VmHWM and
the sampled maximum) and after, the growth, and the probes' latency; plus the load
average (the machine may be shared). Exits 1 if the growth reaches 64 MiB, a probe
fails, or a login gets no answer.

Bounded: loopback only, N + 2 connections at most, 60 s a round at most.
Standard library only.

usage: bench-logins.py BINARY [N=500]
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ADMIN, PASSWORD = "admin", "correct horse battery staple"
PROXY = "127.0.0.2"
LIMIT_MIB = 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
            elif k == "Threads":
                out[k] = int(v)
    return out


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def exchange(port, request, source=None, timeout=30.0):
    """Sends `request` on a new connection; (status, headers+body bytes)."""
    with socket.socket() as s:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def login_request(user, password, forwarded_for=None, close=True):
    body = json.dumps({"username": user, "password": password}).encode()
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if forwarded_for:
        head += f"X-Forwarded-For: {forwarded_for}\r\nX-Forwarded-Proto: https\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


def start(binary, data, port):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOOKOUT_SERVER_BIND": f"127.0.0.1:{port}",
        "LOOKOUT_STORE_PATH": os.path.join(data, "lookout.db"),
        "LOOKOUT_SAMPLER_INTERVAL": "1s",
        "LOOKOUT_DETECTOR_ENABLED": "false",
        "LOOKOUT_LOG_LEVEL": "error",
        "LOOKOUT_ADMIN_USER": ADMIN,
        "LOOKOUT_ADMIN_PASSWORD": PASSWORD,
        "LOOKOUT_SERVER_TRUSTED_PROXIES": PROXY,
    }
    proc = subprocess.Popen([binary], env=env, cwd=data, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            if exchange(port, req, timeout=2)[0] == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit(f"lookout exited with {proc.returncode} at start")
        time.sleep(0.1)
    proc.kill()
    sys.exit("lookout did not answer /healthz in 60 s")


def session_cookie(port):
    status, data = exchange(port, login_request(ADMIN, PASSWORD))
    assert status == 200, data[:300]
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"set-cookie: lookout_session="):
            return line.split(b": ", 1)[1].split(b";")[0].decode()
    sys.exit("no session cookie in the admin's login")


def run_round(binary, name, n):
    failures = []
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        proc = start(binary, data, port)
        try:
            cookie = session_cookie(port)
            time.sleep(2)  # past start-up's allocations
            before = status_kib(proc.pid)
            stop = threading.Event()
            samples = []
            probes = {"/healthz": [], "/": []}
            probe_errors = []

            def sampler():
                while not stop.is_set():
                    try:
                        samples.append(status_kib(proc.pid))
                    except OSError:
                        return
                    time.sleep(0.01)

            def prober():
                while not stop.is_set():
                    for path in probes:
                        req = (
                            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            f"Cookie: {cookie}\r\nConnection: close\r\n\r\n"
                        ).encode()
                        t0 = time.perf_counter()
                        try:
                            status, _ = exchange(port, req, timeout=10)
                        except OSError as e:
                            probe_errors.append(f"{path}: {e}")
                            continue
                        probes[path].append(time.perf_counter() - t0)
                        if status != 200:
                            probe_errors.append(f"{path}: status {status}")
                    time.sleep(0.1)

            # Open every connection first, then send every login at once.
            socks = []
            for i in range(n):
                s = socket.socket()
                s.settimeout(60)
                if name == "many-sources":
                    s.bind((PROXY, 0))
                s.connect(("127.0.0.1", port))
                socks.append(s)
            go = threading.Barrier(n + 1)
            answers = [0] * n

            def attacker(i):
                if name == "many-sources":
                    req = login_request(
                        f"user{i}", "wrong", forwarded_for=f"198.18.{i // 250}.{i % 250 + 1}"
                    )
                else:
                    req = login_request(ADMIN, f"wrong guess {i}")
                s = socks[i]
                go.wait()
                try:
                    s.sendall(req)
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    answers[i] = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
                except OSError:
                    answers[i] = -1
                finally:
                    s.close()

            threads = [threading.Thread(target=sampler), threading.Thread(target=prober)]
            threads += [threading.Thread(target=attacker, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            time.sleep(0.3)  # the probes' baseline
            t0 = time.perf_counter()
            go.wait()
            for t in threads[2:]:
                t.join()
            flood = time.perf_counter() - t0
            time.sleep(1.0)  # probes after the flood
            stop.set()
            for t in threads[:2]:
                t.join()
            after = status_kib(proc.pid)
        finally:
            proc.kill()
            proc.wait()
    counts = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    peak_sampled = max(s["VmRSS"] for s in samples)
    peak = max(after["VmHWM"], peak_sampled)
    growth_mib = (peak - before["VmRSS"]) / 1024
    threads_max = max(s["Threads"] for s in samples)
    print(f"== {name}: {n} concurrent wrong logins, answered in {flood:.2f} s")
    print(f"   answers by status: {dict(sorted(counts.items()))}")
    print(
        f"   RSS before {before['VmRSS'] / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
        f"(VmHWM {after['VmHWM'] / 1024:.1f}, sampled max {peak_sampled / 1024:.1f}), "
        f"after {after['VmRSS'] / 1024:.1f} MiB: growth {growth_mib:.1f} MiB "
        f"(limit {LIMIT_MIB}); threads {before['Threads']} -> at most {threads_max}"
    )
    for path, took in probes.items():
        ms = [t * 1000 for t in took]
        print(
            f"   {path:8} during and after: {len(ms)} calls, p50 {pct(ms, 0.5):.1f} ms, "
            f"p99 {pct(ms, 0.99):.1f} ms, max {max(ms, default=float('nan')):.1f} ms"
        )
    if growth_mib >= LIMIT_MIB:
        failures.append(f"{name}: RSS grew {growth_mib:.1f} MiB")
    if probe_errors:
        failures.append(f"{name}: probes failed: {probe_errors[:5]}")
    if any(a <= 0 for a in answers):
        failures.append(f"{name}: {sum(a <= 0 for a in answers)} logins got no answer")
    return failures


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    # Absolute: the server runs with its data folder as working directory.
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    failures = []
    for name in ("one-source", "many-sources"):
        failures += run_round(binary, name, n)
    print(f"load average: {' '.join(open('/proc/loadavg').read().split()[:3])} "
          f"({os.cpu_count()} CPUs)")
    if failures:
        print("LOGIN BENCH FAILED: " + "; ".join(failures))
        sys.exit(1)
    print("LOGIN BENCH PASSED")


if __name__ == "__main__":
    main()
