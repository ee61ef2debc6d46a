#!/usr/bin/env python3
"""Import speed with every feature on, against live ingest of the same config in the
same run: writes N events for U users (fan-out config, benches/configs/fanout.toml on
the metric `lessons`) spread over D days, runs `trophyd import events` on a new
database, then the live HTTP load bench on the same config and user count, and prints
both rates and their ratio.

    cargo build --release && python3 benches/import_history.py --events 1000000 --users 10000

`--no-live` skips the load bench.
"""
import argparse, os, re, subprocess, tempfile, time
from datetime import datetime, timezone

from history import write_config, write_events

p = argparse.ArgumentParser()
p.add_argument("--events", type=int, default=1_000_000)
p.add_argument("--users", type=int, default=10_000)
p.add_argument("--days", type=int, default=60)
p.add_argument("--bin", default="target/release/trophyd")
p.add_argument("--no-live", action="store_true")
args = p.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="trophyd-import-bench.")
config = os.path.join(work, "trophy.toml")
write_config(config)
events = os.path.join(work, "events.jsonl")
t = time.time()
write_events(events, args.events, args.users, datetime(2025, 1, 1, tzinfo=timezone.utc), args.days * 86400)
print(f"wrote {args.events} events in {time.time() - t:.1f} s to {events}")
out = subprocess.run([args.bin, "--config", config, "import", "events", "--quiet",
                      "--data", os.path.join(work, "trophy.db"), events],
                     capture_output=True, text=True)
print(out.stdout.strip() or out.stderr.strip())
imported = re.search(r"\((\d+) events/s\)", out.stdout)
print(f"work dir: {work} (delete it when done)")
if not args.no_live:
    live = subprocess.run(["cargo", "bench", "--quiet", "--bench", "load", "--", "--users", str(args.users),
                           "--rate", "0", "--append-config", os.path.join(root, "benches/configs/fanout.toml")],
                          cwd=root, capture_output=True, text=True)
    summary = [l for l in live.stdout.splitlines() if l.startswith(("machine:", "throughput:", "  by feature:", "summary:"))]
    print("\n".join("live " + l for l in summary) or live.stderr[-2000:])
    rate = re.search(r": (\d+) events/s", next((l for l in summary if l.startswith("summary:")), ""))
    if imported and rate:
        print(f"ratio: import {imported.group(1)} events/s / live {rate.group(1)} events/s = "
              f"{int(imported.group(1)) / int(rate.group(1)):.2f}x")
