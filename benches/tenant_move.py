#!/usr/bin/env python3
"""How long `trophyd tenant export` and `trophyd tenant import` take for a tenant of realistic
size (README, "Tenants as shards").

Node A (benches/configs/shards.toml: streaks, achievements, points with levels and boosts,
leaderboards; multi-tenant, test clock) gets tenant `big` (--users users, --events events over
--days days, through the Admin API's batch route) and tenant `other` (a tenth of that). The
tenant is exported from the running node A, imported into node B (started once to create
its database, then stopped), and B is started and compared with A on a sample of users.

    cargo build --release
    python3 benches/tenant_move.py --bin target/release/trophyd --users 10000 --events 100000
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ops"))
from harness import Node, http, tempdir  # noqa: E402

APP, ADMIN = "bench-app-key", "bench-admin-key"
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]


def populate(node: Node, tenant: str, users: int, events: int, days: int, seed: int) -> None:
    rng = random.Random(seed)
    per_day = events // days
    for day in range(days):
        batch = []
        for n in range(per_day):
            u = rng.randrange(users)
            metric = "lessons" if n % 3 else "minutes"
            batch.append({
                "key": metric,
                "user": {"id": f"{tenant}-{u}", "tz": ZONES[u % len(ZONES)],
                         "attributes": {"plan": "pro" if u % 4 == 0 else "free",
                                        "country": ["FR", "DE", "US"][u % 3]}},
                "value": rng.randint(1, 5) if metric == "lessons" else rng.randint(5, 40),
                "attributes": {"source": "mobile" if n % 2 else "web"},
            })
            if len(batch) == 1000:
                send(node, tenant, batch)
                batch = []
        if batch:
            send(node, tenant, batch)
        # the writer applies in order: this answers once every batch before it is applied
        status, body = http("POST", f"{node.url}/_test/clock", {"advanceSeconds": 86400},
                            {"X-API-KEY": ADMIN}, timeout=600)
        assert status == 200, body


def send(node: Node, tenant: str, batch) -> None:
    status, body = http("POST", f"{node.url}/admin/v1/metrics/events", batch,
                        {"X-API-KEY": ADMIN, "Tenant-ID": tenant}, timeout=600)
    assert status == 202, body


def cli(bin_path: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([bin_path, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    return elapsed, done.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=str(ROOT / "target" / "release" / "trophyd"))
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--work", help="directory for the databases (default: a new temp dir)")
    args = p.parse_args()
    work = Path(args.work) if args.work else tempdir("trophyd-tenant-move.")
    work.mkdir(parents=True, exist_ok=True)
    config = ROOT / "benches" / "configs" / "shards.toml"
    a = Node(args.bin, config, work / "a.db", test_clock=True, log_dir=work)
    b = Node(args.bin, config, work / "b.db", test_clock=True, log_dir=work)
    try:
        a.start()
        http("POST", f"{a.url}/_test/clock", {"now": "2031-03-01T10:30:00Z"}, {"X-API-KEY": ADMIN})
        http("POST", f"{a.url}/admin/v1/tenants",
             [{"customerId": "other", "name": "Other"}, {"customerId": "big", "name": "Big"}],
             {"X-API-KEY": ADMIN})
        started = time.perf_counter()
        populate(a, "other", args.users // 10, args.events // 10, args.days, 1)
        populate(a, "big", args.users, args.events, args.days, 2)
        print(f"populated in {time.perf_counter() - started:.1f} s; "
              f"database {os.path.getsize(a.data) / 2**20:.1f} MiB "
              f"(+ WAL {os.path.getsize(str(a.data) + '-wal') / 2**20:.1f} MiB)")
        now = http("GET", f"{a.url}/_test/clock", None, {"X-API-KEY": ADMIN})[1]["now"]

        export = work / "big.trophy-tenant"
        elapsed, out = cli(args.bin, "tenant", "export", "--tenant", "big", str(export),
                           "--data", str(a.data))
        print(f"export (node A running): {elapsed:.2f} s, file "
              f"{os.path.getsize(export) / 2**20:.1f} MiB")
        print(out)

        b.start()
        b.stop()
        elapsed, out = cli(args.bin, "tenant", "import", str(export), "--data", str(b.data))
        print(f"import (node B stopped): {elapsed:.2f} s")
        print(out)

        started = time.perf_counter()
        b.start()
        print(f"node B started with the tenant in {time.perf_counter() - started:.2f} s")
        http("POST", f"{b.url}/_test/clock", {"now": now}, {"X-API-KEY": ADMIN})
        differ = 0
        sample = random.Random(3).sample(range(args.users), 20)
        for u in sample:
            for path in (f"/v1/users/big-{u}", f"/v1/users/big-{u}/metrics",
                         f"/v1/users/big-{u}/streak", f"/v1/users/big-{u}/achievements",
                         f"/v1/users/big-{u}/points/xp?awards=100",
                         f"/v1/users/big-{u}/leaderboards/all-time?numEvents=100",
                         f"/v1/users/big-{u}/leaderboards/by-country?numEvents=100",
                         f"/v1/users/big-{u}/wrapped?year=2031"):
                headers = {"X-API-KEY": APP, "Tenant-ID": "big"}
                if http("GET", a.url + path, None, headers) != http("GET", b.url + path, None,
                                                                      headers):
                    differ += 1
                    print(f"differs: {path}")
        print(f"sample of {len(sample)} users, 8 routes each: {differ} differ")
        return 1 if differ else 0
    finally:
        a.stop()
        b.stop()


if __name__ == "__main__":
    sys.exit(main())
