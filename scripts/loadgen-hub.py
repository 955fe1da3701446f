#!/usr/bin/env python3
"""Load generator for a Lookout hub (issue 13): N simulated agents replay a recorded
host trace (tests/data/trace-idle.csv.gz) through the real ingest API
(POST /api/ingest, gzip batches, one ingest token per host) of a `lookout serve`
started here on 127.0.0.1, for a bounded time. Prints the hub's CPU (% of one core)
and peak RSS, the ingest latency (p50/p99), errors, how late the senders fell behind
their schedule, and whether every sent sample was stored.

Usage: scripts/loadgen-hub.py --hosts 200 --interval 1 [--batch 10] [--secs 120]
       [--bin target/release/lookout] [--min-history 2m] [--workers 32] [--keep]
Standard library only. The tokens are written straight into the hub's SQLite file
(the same SHA-256 hash `lookout token create` stores), which is quicker than one CLI
call per host.
"""
import argparse, csv, gzip, hashlib, http.client, io, json, os, queue, secrets
import signal, sqlite3, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def trace_rows():
    with gzip.open(os.path.join(ROOT, "tests/data/trace-idle.csv.gz"), "rt") as f:
        return [{k: float(v) if v else 0.0 for k, v in r.items()} for r in csv.DictReader(f)]


def sample(template, row, ts, interval):
    s = json.loads(template)
    s.update(host="", timestamp=ts, interval_secs=float(interval), anomaly_score=None, anomaly=False)
    s["cpu_usage"] = s["cpu"]["total"] = row["cpu_usage"]
    m = s["memory"]
    m["usage_percent"] = s["memory_usage"] = row["memory_usage"]
    for k in ("used", "available", "free", "cached", "buffers"):
        m[k + "_bytes"] = int(row["memory_%s_bytes" % k])
    m["swap_used_bytes"] = int(row["swap_used_bytes"])
    m["swap_usage_percent"] = row["swap_usage"]
    s["load"] = {"one": row["load_1"], "five": row["load_5"], "fifteen": row["load_15"]}
    s["load_average"] = row["load_1"]
    d = s["disk"]
    for k in ("read_bytes", "write_bytes", "read_ops", "write_ops"):
        d[k + "_per_sec"] = row["disk_%s_per_sec" % k]
    d["free_percent"] = row["disk_free_percent"]
    n = s["network"]
    for k in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors"):
        n[k + "_per_sec"] = row["net_%s_per_sec" % k]
    s["processes"]["count"] = int(row["process_count"])
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--interval", type=float, default=5.0, help="sampling interval of each host, s")
    ap.add_argument("--batch", type=float, default=10.0, help="seconds one batch covers (agent.batch)")
    ap.add_argument("--secs", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--min-history", default="2m", help="detector.min_history: per-host training within the run")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/lookout"))
    ap.add_argument("--keep", action="store_true", help="keep the hub's folder (store, log)")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="lookout-loadgen-")
    port = free_port()
    env = dict(os.environ, LOOKOUT_SERVER_BIND="127.0.0.1:%d" % port,
               LOOKOUT_STORE_PATH=os.path.join(tmp, "hub.db"), LOOKOUT_HOST_NAME="loadgen-hub",
               LOOKOUT_DETECTOR_MODELS_DIR=os.path.join(tmp, "models"),
               LOOKOUT_DETECTOR_MIN_HISTORY=a.min_history, LOOKOUT_LOG_LEVEL="warn",
               LOOKOUT_SERVER_MAX_BODY="4MiB")
    log = open(os.path.join(tmp, "hub.log"), "w")
    hub = subprocess.Popen([a.bin, "serve"], env=env, stdout=log, stderr=log)
    try:
        run(a, hub, port, tmp)
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(10)
        except subprocess.TimeoutExpired:
            hub.kill()
        if a.keep:
            print("hub log and store: %s" % tmp)
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()


def run(a, hub, port, tmp):
    for _ in range(300):
        try:
            if get(port, "/metrics")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    template = get(port, "/metrics")[1].decode()
    db = sqlite3.connect(os.path.join(tmp, "hub.db"), timeout=30)
    tokens = []
    now = int(time.time() * 1000)
    for i in range(a.hosts):
        t = "lk_" + secrets.token_hex(32)
        db.execute("INSERT INTO api_tokens (name, token_hash, prefix, scope, created_by, created_at) "
                   "VALUES (?, ?, ?, 'ingest', 'loadgen', ?)",
                   ("load-%d" % i, hashlib.sha256(t.encode()).hexdigest(), t[:11], now))
        tokens.append(t)
    db.commit()
    rows = trace_rows()
    per_batch = max(1, int(round(a.batch / a.interval)))

    jobs = queue.Queue()
    lat, lock = [], threading.Lock()
    stats = {"sent": 0, "accepted": 0, "duplicate": 0, "refused": 0, "errors": 0, "late": 0, "max_late": 0.0}
    statuses = {}

    def worker():
        conn = None
        while True:
            job = jobs.get()
            if job is None:
                return
            host, body, due, n = job
            late = time.time() - due
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/api/ingest", body, {
                    "Content-Type": "application/json", "Content-Encoding": "gzip",
                    "Authorization": "Bearer " + tokens[host]})
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except OSError as e:
                conn, status, data = None, repr(e), b""
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
                stats["sent"] += n
                stats["max_late"] = max(stats["max_late"], late)
                if late > a.batch:
                    stats["late"] += 1
                if status == 200:
                    rep = json.loads(data)
                    for k in ("accepted", "duplicate", "refused"):
                        stats[k] += rep[k]
                else:
                    stats["errors"] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.workers)]
    for t in threads:
        t.start()

    def ticks():
        with open("/proc/%d/stat" % hub.pid) as f:
            p = f.read().rsplit(")", 1)[1].split()
        return int(p[11]) + int(p[12])

    hz = os.sysconf("SC_CLK_TCK")
    start = time.time()
    t0, c0 = time.time(), ticks()
    # Each host sends every `batch` s, phases spread evenly; its samples replay the
    # trace from its own offset, stamped with the real clock.
    next_due = [start + a.batch * i / a.hosts for i in range(a.hosts)]
    cursor = [(i * 37) % len(rows) for i in range(a.hosts)]
    order = sorted(range(a.hosts), key=lambda i: next_due[i])
    import heapq
    heap = [(next_due[i], i) for i in order]
    heapq.heapify(heap)
    built = 0.0
    while heap:
        due, i = heapq.heappop(heap)
        if due > start + a.secs:
            continue
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        tb = time.perf_counter()
        ts_end = int(due * 1000)
        samples = []
        for k in range(per_batch):
            ts = ts_end - int((per_batch - 1 - k) * a.interval * 1000)
            samples.append(sample(template, rows[cursor[i] % len(rows)], ts, a.interval))
            cursor[i] += 1
        body = gzip.compress(json.dumps({"host": "sim-%04d" % i, "samples": samples}).encode(), 6)
        built += time.perf_counter() - tb
        jobs.put((i, body, due, per_batch))
        heapq.heappush(heap, (due + a.batch, i))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    t1, c1 = time.time(), ticks()
    with open("/proc/%d/status" % hub.pid) as f:
        st = dict(l.split(":", 1) for l in f if ":" in l)
    hwm = int(st["VmHWM"].split()[0]) // 1024
    rss = int(st["VmRSS"].split()[0]) // 1024
    stored = db.execute("SELECT COUNT(*) FROM samples s JOIN hosts h ON h.id = s.host_id "
                        "WHERE h.name LIKE 'sim-%'").fetchone()[0]
    lat.sort()
    q = lambda p: 1000 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    span = t1 - t0
    print("hosts %d at %g s sampling, %g s batches (%d samples each), %.0f s, %d sender threads"
          % (a.hosts, a.interval, a.batch, per_batch, span, a.workers))
    print("  offered: %.1f samples/s, %.1f batches/s" % (a.hosts / a.interval, a.hosts / a.batch))
    print("  hub CPU: %.1f %% of one core; RSS peak %d MiB (now %d MiB)"
          % (100.0 * (c1 - c0) / hz / span, hwm, rss))
    print("  ingest latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d requests)"
          % (q(0.5), q(0.99), q(1.0), len(lat)))
    print("  statuses %s; batches sent > one batch late: %d (max lateness %.1f s)"
          % (statuses, stats["late"], stats["max_late"]))
    print("  samples sent %d, accepted %d, duplicate %d, refused %d; stored %d: %s"
          % (stats["sent"], stats["accepted"], stats["duplicate"], stats["refused"], stored,
             "none lost" if stored == stats["sent"] else "LOST %d" % (stats["sent"] - stored)))
    print("  load generator's own batch building: %.1f s" % built)
    models = os.path.join(tmp, "models", "hosts")
    n_models = sum(1 for h in os.listdir(models) if os.listdir(os.path.join(models, h))) if os.path.isdir(models) else 0
    print("  hosts with a trained model at the end: %d" % n_models)


if __name__ == "__main__":
    main()
