#!/usr/bin/env python3
"""The console's reads at scale: imports N events for U users with the fan-out config
(`trophyd import events`, as benches/import_history.py writes them), starts the server on
that database, and times each route the console's overview, charts and user pages call.

    cargo build --release && python3 benches/console_reads.py --events 1000000 --users 10000

Prints, per route, the median, 95th and 99th percentiles and slowest of `--repeat`
sequential requests (after two unmeasured ones), measured by the client on loopback. The
engagement view's routes (engagement, streaks, deliveries, channels, runs, the application
API's achievements and level summary) are among them; run with --users 100000 too, since
the streak counts read an index range per user with a streak.
"""
import argparse, os, re, statistics, subprocess, tempfile, time, urllib.request
from datetime import datetime, timedelta, timezone

from history import write_config, write_events

p = argparse.ArgumentParser()
p.add_argument("--events", type=int, default=1_000_000)
p.add_argument("--users", type=int, default=10_000)
p.add_argument("--days", type=int, default=60)
p.add_argument("--repeat", type=int, default=50)
p.add_argument("--bin", default="target/release/trophyd")
args = p.parse_args()

work = tempfile.mkdtemp(prefix="trophyd-console-bench.")
config = os.path.join(work, "trophy.toml")
write_config(config, admin_key="bench-admin")
start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=args.days)
events = os.path.join(work, "events.jsonl")
write_events(events, args.events, args.users, start, args.days * 86400 - 3600, profiles=True)
data = os.path.join(work, "trophy.db")
t = time.time()
out = subprocess.run([args.bin, "--config", config, "import", "events", "--quiet", "--data", data, events],
                     capture_output=True, text=True)
print(out.stdout.splitlines()[0] if out.stdout else out.stderr[-2000:])
print(f"imported in {time.time() - t:.1f} s; database {os.path.getsize(data) / 2**20:.0f} MiB")

server = subprocess.Popen([args.bin, "--config", config, "--listen", "127.0.0.1:0", "--data", data],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    line = server.stdout.readline()
    url = re.search(r"(http://\S+)", line).group(1)

    def get(path):
        req = urllib.request.Request(url + path, headers={"X-API-KEY": "bench-admin"})
        with urllib.request.urlopen(req) as resp:
            resp.read()
            return resp.status

    routes = [
        "/dashboard/api/overview",
        "/dashboard/api/activity?days=30",
        "/dashboard/api/activity?days=366",
        "/dashboard/api/users",
        "/dashboard/api/users?q=u12",
        "/dashboard/api/users?q=user%2099",
        "/dashboard/api/users/u1/events",
        "/dashboard/api/app/users/u1",
        "/dashboard/api/app/users/u1/metrics",
        "/dashboard/api/app/users/u1/streak?historyPeriods=14",
        "/dashboard/api/engagement?days=30",
        "/dashboard/api/engagement?days=366",
        "/dashboard/api/streaks",
        "/dashboard/api/deliveries?days=30",
        "/dashboard/api/channels",
        "/dashboard/api/app/achievements",
        "/dashboard/api/app/points/xp/level-summary",
        "/dashboard/api/app/leaderboards/daily-lessons?limit=10",
        "/dashboard/api/leaderboards/daily-lessons/runs?limit=50",
        "/dashboard/api/app/users/u1/leaderboards/daily-lessons",
    ]
    print(f"machine: nproc={os.cpu_count()}; {args.events} events, {args.users} users; {args.repeat} requests a route")
    for path in routes:
        for _ in range(2):
            get(path)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            assert get(path) == 200, path
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        pct = lambda q: times[min(len(times) - 1, int(len(times) * q))]
        print(f"{path:55} p50 {statistics.median(times):7.2f} ms  p95 {pct(0.95):7.2f} ms"
              f"  p99 {pct(0.99):7.2f} ms  max {times[-1]:7.2f} ms")
finally:
    server.terminate()
    server.wait()
print(f"work dir: {work} (delete it when done)")
