#!/usr/bin/env python3
"""Startup time and idle memory of `praxis serve`.

Usage: bench/startup.py [path/to/praxis] [--pg postgres://…] [--runs N]

For each run: start `praxis serve` on a free port, poll GET /readyz every millisecond
until it answers 200 (time from process start = "ready"), wait 2 s idle, read VmRSS from
/proc. Runs on a fresh database (first start: migrations applied) and on an already
migrated one (a normal restart).
"""
import http.client, os, shutil, socket, statistics, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
        c.request("GET", "/readyz"); ok = c.getresponse().status == 200; c.close(); return ok
    except OSError:
        return False

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def one(binary, env, data_dir):
    port = free_port()
    env = dict(env, PRAXIS_BIND=f"127.0.0.1:{port}", PRAXIS_DATA_DIR=data_dir, PRAXIS_LOG="warn")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready(port):
        if p.poll() is not None: raise SystemExit("praxis exited early")
        if time.perf_counter() - t0 > 30: raise SystemExit("not ready after 30 s")
        time.sleep(0.001)
    t_ready = time.perf_counter() - t0
    time.sleep(2)
    rss = rss_kib(p.pid)
    p.terminate(); p.wait(timeout=10)
    return t_ready, rss

def main():
    args = sys.argv[1:]
    binary = args[0] if args and not args[0].startswith("--") else "target/release/praxis"
    pg = args[args.index("--pg") + 1] if "--pg" in args else None
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
    env = dict(os.environ)
    label = "SQLite"
    if pg:
        env["PRAXIS_DATABASE_URL"] = pg; label = "PostgreSQL"
    for fresh in (True, False):
        times, rsss = [], []
        data = tempfile.mkdtemp()
        try:
            if not fresh: one(binary, env, data)  # migrate once first
            for _ in range(runs):
                if fresh and not pg:
                    shutil.rmtree(data); data = tempfile.mkdtemp()
                t, r = one(binary, env, data)
                times.append(t); rsss.append(r)
        finally:
            shutil.rmtree(data, ignore_errors=True)
        kind = "first start (migrates)" if fresh else "restart (migrated)"
        print(f"{label:10} {kind:24} ready: median {statistics.median(times)*1000:6.1f} ms, "
              f"max {max(times)*1000:6.1f} ms | idle RSS: median {statistics.median(rsss)/1024:5.1f} MiB, "
              f"max {max(rsss)/1024:5.1f} MiB  ({runs} runs)")

if __name__ == "__main__":
    main()
