#!/usr/bin/env python3
"""Import speed with every feature on: writes N events for U users (fan-out config,
benches/configs/fanout.toml on the metric `lessons`) spread over D days, runs
`trophyd import events` on a new database and prints its summary line.

    cargo build --release && python3 benches/import_history.py --events 1000000 --users 10000

Compare with the live ingest of the same config:
    cargo bench --bench load -- --users 10000 --append-config benches/configs/fanout.toml
"""
import argparse, json, os, random, subprocess, tempfile, time
from datetime import datetime, timedelta, timezone

p = argparse.ArgumentParser()
p.add_argument("--events", type=int, default=1_000_000)
p.add_argument("--users", type=int, default=10_000)
p.add_argument("--days", type=int, default=60)
p.add_argument("--bin", default="target/release/trophyd")
args = p.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fanout = open(os.path.join(root, "benches/configs/fanout.toml")).read().split("# --- one webhook endpoint")[0]
work = tempfile.mkdtemp(prefix="trophyd-import-bench.")
config = os.path.join(work, "trophy.toml")
with open(config, "w") as f:
    f.write('[auth]\napi_keys = ["bench"]\n\n[[metrics]]\nkey = "lessons"\nname = "Lessons"\n\n' + fanout)
rng = random.Random(7)
start = datetime(2025, 1, 1, tzinfo=timezone.utc)
span = args.days * 86400
zones = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Pacific/Kiritimati"]
events = os.path.join(work, "events.jsonl")
t = time.time()
with open(events, "w") as f:
    for _ in range(args.events):
        u = rng.randrange(args.users)
        at = start + timedelta(seconds=rng.randrange(span))
        f.write(json.dumps({"user": {"id": f"u{u}", "tz": zones[u % len(zones)]}, "metric": "lessons",
                            "value": 1, "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ")}) + "\n")
print(f"wrote {args.events} events in {time.time() - t:.1f} s to {events}")
out = subprocess.run([args.bin, "--config", config, "import", "events", "--quiet",
                      "--data", os.path.join(work, "trophy.db"), events],
                     capture_output=True, text=True)
print(out.stdout.strip() or out.stderr.strip())
print(f"work dir: {work} (delete it when done)")
