#!/usr/bin/env python3
"""trophyd under Litestream (issue 18), end to end with the real binaries.

trophyd runs with `[server] checkpoints = "external"` and Litestream (a separate process) runs
the configuration of deploy/litestream.yml with its paths pointed into the work dir: a file
replica, monitor-interval and sync-interval 1 s.

1. kill -9 under load, restore: client threads send events, each with its own
   Idempotency-Key, and record when each was acknowledged. While they still send, Litestream
   and then trophyd are killed with SIGKILL, the database, its WAL and Litestream's local state
   are deleted (the machine is lost) and `litestream restore` rebuilds it from the replica.
   Checked: `PRAGMA integrity_check` is ok; every event acknowledged more than
   RECOVERY_BOUND seconds before the kill is in the restored file (how many later ones were
   lost, and how old the oldest lost one was, is printed: the recovery point); nothing that was
   never sent is there; each user's stored total is the sum of their stored events. Then
   trophyd and Litestream start again on the restored file, every event is sent again with its
   own key: those in the restored file answer 202 and change nothing, the others 201, and each
   user's total ends equal to the sum of everything sent. A second restore, from what
   Litestream replicated after the first, holds those totals too.
2. WAL size. The control: trophyd alone with "external" under load and SIGTERM keeps every
   frame it wrote in its -wal file (it never checkpoints, not at shutdown either). With
   Litestream under sustained load for WAL_LOAD_SECONDS, the WAL never holds more than
   WAL_BOUND_SECONDS of the run's writes and the -wal file stays under WAL_BOUND_BYTES:
   Litestream's checkpoints keep starting it over.

Prints, on lines starting with `measure:`, the figures the README quotes.
"""

from __future__ import annotations

import http.client as http_client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Node, http, parse_args, run_tests, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "deploy" / "litestream.yml"
API_KEY = "tr_ops_litestream_key"
ADMIN_KEY = "tr_ops_litestream_admin"
METRIC = "lessons"
USERS = 40
CLIENT_THREADS = 6

# Seconds of load before the kill, for the WAL test, and for its control without Litestream.
LOAD_SECONDS = 6.0
WAL_LOAD_SECONDS = 15.0
CONTROL_SECONDS = 3.0
# An event acknowledged this long before the kill must survive it: monitor-interval (1 s,
# Litestream reads the new WAL frames into a local LTX file) + sync-interval (1 s, it copies
# them to the replica) + 1.5 s for a loaded 2-core machine.
RECOVERY_BOUND = 3.5
# With Litestream checkpointing, the WAL never holds more than this many seconds of the
# run's writes, and the -wal file stays under WAL_BOUND_BYTES. Litestream checkpoints
# (PASSIVE; the next write starts the WAL over) once it has copied the WAL and it holds
# 1,000 pages or more, but only while holding SQLite's write lock, which a busy writer rarely
# leaves free: trophyd's writer pauses 150 ms a second once the WAL holds 128 MiB
# (db::WalYield). Under this load the WAL holds 1 to 2 s of writes (see the README).
WAL_BOUND_SECONDS = 7.0
WAL_BOUND_BYTES = 1 << 30

TROPHY_TOML = f"""\
[server]
checkpoints = "external"
default_timezone = "UTC"

[auth]
api_keys = ["{API_KEY}"]
admin_keys = ["{ADMIN_KEY}"]

[[metrics]]
key = "{METRIC}"
name = "Lessons"

[streaks]
frequency = "daily"
metrics = [ {{ metric = "{METRIC}", threshold = 1 }} ]

[[achievements]]
key = "ten"
name = "Ten lessons"
trigger = "metric"
metric = "{METRIC}"
metric_value = 10

[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 5
  metric = "{METRIC}"
  threshold = 3

[[leaderboards]]
key = "lessons-all-time"
name = "Lessons all time"
rank_by = "metric"
metric = "{METRIC}"
"""


# ---------------------------------------------------------------------------------------------
# Processes and files


class Litestream:
    """`litestream replicate -config CONFIG`, as a separate process beside trophyd."""

    def __init__(self, bin_path: str, config: Path, log: Path):
        self.bin = bin_path
        self.config = config
        self.log = log
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Litestream":
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([self.bin, "replicate", "-config", str(self.config)],
                                     stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Site:
    """One test's files: data/trophy.db (and Litestream's local state beside it), the file
    replica, the two configs and the logs."""

    root: Path
    litestream_bin: str
    trophyd_bin: str

    def __post_init__(self) -> None:
        self.data_dir = self.root / "data"
        self.db = self.data_dir / "trophy.db"
        self.replica = self.root / "replica"
        self.logs = self.root / "logs"
        for d in (self.data_dir, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.trophy_toml = self.root / "trophy.toml"
        self.trophy_toml.write_text(TROPHY_TOML)
        self.litestream_yml = self.root / "litestream.yml"
        self.litestream_yml.write_text(litestream_config(self.db, self.replica))

    def node(self) -> Node:
        return Node(self.trophyd_bin, self.trophy_toml, self.db, log_dir=self.logs)

    def litestream(self) -> Litestream:
        return Litestream(self.litestream_bin, self.litestream_yml, self.logs / "litestream.log")

    def restore(self, output: Optional[Path] = None) -> float:
        """`litestream restore`; returns its wall time."""
        args = [self.litestream_bin, "restore", "-config", str(self.litestream_yml)]
        if output is not None:
            args += ["-o", str(output)]
        args.append(str(self.db))
        started = time.monotonic()
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        assert done.returncode == 0, f"{' '.join(args)} failed: {done.stdout}{done.stderr}"
        return took

    def wait_for_first_snapshot(self) -> None:
        wait_until(lambda: any((self.replica / "ltx").glob("*/*.ltx")), 30,
                   "Litestream's first snapshot in the replica")


def litestream_config(db: Path, replica: Path) -> str:
    """deploy/litestream.yml with its database and replica paths replaced."""
    text = EXAMPLE_CONFIG.read_text()
    for old, new in (("/var/lib/trophyd/trophy.db", str(db)), ("/var/backups/trophyd", str(replica))):
        assert f"path: {old}" in text, f"{EXAMPLE_CONFIG} has no `path: {old}`"
        text = text.replace(f"path: {old}", f"path: {new}")
    return text


def wal_size(db: Path) -> int:
    try:
        return os.path.getsize(f"{db}-wal")
    except OSError:
        return 0


def wal_frames(db: Path) -> int:
    """Frames in use in the WAL: mxFrame of the wal-index header at the start of the -shm
    file (native byte order). Unlike the -wal file's size, which stays at its largest when
    the WAL starts over, this drops back to zero then."""
    try:
        with open(f"{db}-shm", "rb") as f:
            header = f.read(20)
    except OSError:
        return 0
    return int.from_bytes(header[16:20], sys.byteorder) if len(header) == 20 else 0


def read_stored(db: Path) -> Tuple[str, Dict[Tuple[str, str], None], Dict[str, float]]:
    """(integrity_check, {(user, idempotency key)}, {user: metric total}) of a database no
    process has open, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        keys = {(u, k): None for u, k in conn.execute(
            "SELECT u.external_id, i.key FROM idempotency_keys i JOIN users u ON u.id = i.user_id")}
        totals = {u: t for u, t in conn.execute(
            "SELECT u.external_id, t.total FROM metric_totals t JOIN users u ON u.id = t.user_id")}
    finally:
        conn.close()
    return integrity, keys, totals


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Sent:
    user: str
    key: str
    value: int
    status: Optional[int] = None   # None: no answer (the server died under it)
    acked_at: float = 0.0          # time.monotonic() when a 2xx arrived


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, url: str):
        u = urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = http_client.HTTPConnection(self.host, self.port, timeout=15)

    def event(self, user: str, key: str, value: int) -> Optional[int]:
        body = json.dumps({"user": {"id": user}, "value": value})
        headers = {"Content-Type": "application/json", "X-API-KEY": API_KEY,
                   "Idempotency-Key": key}
        try:
            self.conn.request("POST", f"/v1/metrics/{METRIC}/event", body, headers)
            resp = self.conn.getresponse()
            resp.read()
            return resp.status
        except (OSError, http_client.HTTPException):
            self.conn.close()
            return None

    def close(self) -> None:
        self.conn.close()


@dataclass
class Load:
    """CLIENT_THREADS threads sending events until `stop` is set or the server stops answering."""

    url: str
    tag: str
    stop: threading.Event = field(default_factory=threading.Event)
    sent: List[List[Sent]] = field(default_factory=list)
    threads: List[threading.Thread] = field(default_factory=list)

    def start(self) -> "Load":
        for n in range(CLIENT_THREADS):
            mine: List[Sent] = []
            self.sent.append(mine)
            t = threading.Thread(target=self._run, args=(n, mine), daemon=True)
            self.threads.append(t)
            t.start()
        return self

    def _run(self, n: int, mine: List[Sent]) -> None:
        client = Client(self.url)
        i = 0
        while not self.stop.is_set():
            s = Sent(user=f"user-{(n * 7 + i) % USERS}", key=f"{self.tag}-{n}-{i}", value=1 + i % 4)
            mine.append(s)
            s.status = client.event(s.user, s.key, s.value)
            if s.status is None:
                break
            s.acked_at = time.monotonic()
            i += 1
        client.close()

    def finish(self) -> List[Sent]:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
        return [s for mine in self.sent for s in mine]


def resend(url: str, events: List[Sent]) -> List[Tuple[Sent, Optional[int]]]:
    """Sends every event again with its own key, from CLIENT_THREADS threads."""
    out: List[List[Tuple[Sent, Optional[int]]]] = [[] for _ in range(CLIENT_THREADS)]

    def run(n: int) -> None:
        client = Client(url)
        for s in events[n::CLIENT_THREADS]:
            out[n].append((s, client.event(s.user, s.key, s.value)))
        client.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [r for part in out for r in part]


def api_totals(url: str, users: Set[str]) -> Dict[str, float]:
    totals = {}
    for user in sorted(users):
        status, body = http("GET", f"{url}/v1/users/{user}/metrics/{METRIC}",
                            headers={"X-API-KEY": API_KEY})
        assert status == 200, f"GET metric of {user}: {status} {body}"
        totals[user] = body["current"]
    return totals


def sums(events: List[Sent]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for s in events:
        out[s.user] = out.get(s.user, 0) + s.value
    return out


# ---------------------------------------------------------------------------------------------
# Tests

ARGS = parse_args(__doc__.splitlines()[0])


def test_kill9_under_load_then_restore() -> None:
    site = Site(ARGS.work / "restore", ARGS.litestream, ARGS.bin)
    node = site.node().start()
    litestream = site.litestream().start()
    try:
        site.wait_for_first_snapshot()
        load = Load(node.url, "k").start()
        time.sleep(LOAD_SECONDS)
        assert litestream.alive(), f"Litestream exited; see {litestream.log}"
        killed_at = time.monotonic()
        litestream.kill9()
        node.kill9()
        sent = load.finish()
    finally:
        litestream.kill9()
        node.kill9()

    acked = [s for s in sent if s.status is not None and 200 <= s.status < 300]
    refused = [s for s in sent if s.status is not None and not 200 <= s.status < 300]
    assert not refused, f"{len(refused)} events answered non-2xx under load: {refused[:3]}"
    assert len(acked) >= 500, f"only {len(acked)} events acknowledged: load too light to test"
    unanswered = len(sent) - len(acked)

    # The machine is lost: the database, its WAL and Litestream's local state beside it.
    shutil.rmtree(site.data_dir)
    site.data_dir.mkdir()
    restore_seconds = site.restore()
    assert site.db.exists(), "litestream restore wrote no database"

    integrity, stored_keys, stored_totals = read_stored(site.db)
    assert integrity == "ok", f"PRAGMA integrity_check on the restored file: {integrity}"
    by_key = {(s.user, s.key): s for s in sent}
    ghosts = [k for k in stored_keys if k not in by_key]
    assert not ghosts, f"restored events that were never sent: {ghosts[:5]}"
    present = [s for s in sent if (s.user, s.key) in stored_keys]
    want = sums(present)
    wrong = {u: (stored_totals.get(u, 0), t) for u, t in want.items() if stored_totals.get(u, 0) != t}
    assert not wrong, f"restored totals differ from their restored events (stored, events): {wrong}"

    lost = [s for s in acked if (s.user, s.key) not in stored_keys]
    required = [s for s in acked if killed_at - s.acked_at > RECOVERY_BOUND]
    missing = [s for s in required if (s.user, s.key) not in stored_keys]
    oldest_lost = max((killed_at - s.acked_at for s in lost), default=0.0)
    newest_kept = min((killed_at - s.acked_at for s in acked if (s.user, s.key) in stored_keys),
                      default=float("inf"))
    print(f"measure: recovery point: {len(acked)} events acknowledged in {LOAD_SECONDS:.0f} s "
          f"({len(acked) / LOAD_SECONDS:.0f}/s), {unanswered} unanswered at the kill; "
          f"{len(lost)} acknowledged events lost, the oldest acknowledged {oldest_lost:.2f} s "
          f"before the kill; the newest kept acknowledged {newest_kept:.2f} s before it; "
          f"restore took {restore_seconds:.2f} s")
    assert not missing, (
        f"{len(missing)} events acknowledged more than {RECOVERY_BOUND} s before the kill are "
        f"not in the restored database, e.g. {missing[:3]} (oldest {oldest_lost:.2f} s)")

    # Start again on the restored file, with Litestream replicating it again, and re-send all.
    node = site.node().start()
    litestream = site.litestream().start()
    try:
        results = resend(node.url, sent)
        assert len(results) == len(sent), f"re-sent {len(results)} of {len(sent)}"
        bad = []
        for s, status in results:
            expected = 202 if (s.user, s.key) in stored_keys else 201
            if status != expected:
                bad.append((s.user, s.key, status, expected))
        assert not bad, f"{len(bad)} re-sends answered wrongly (user, key, got, expected): {bad[:5]}"
        everything = sums(sent)
        totals = api_totals(node.url, set(everything))
        off = {u: (totals[u], t) for u, t in everything.items() if totals[u] != t}
        assert not off, f"totals after re-sending everything (got, expected): {off}"

        # What Litestream replicated since the restore restores too.
        second = site.root / "second.db"

        def second_restore_complete() -> bool:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{second}{suffix}").unlink(missing_ok=True)
            site.restore(second)
            _, _, restored = read_stored(second)
            return restored == everything

        wait_until(second_restore_complete, 20, "a restore holding every re-sent event")
        integrity, _, _ = read_stored(second)
        assert integrity == "ok", f"PRAGMA integrity_check on the second restore: {integrity}"
    finally:
        node.stop()
        litestream.stop()
    integrity, _, totals = read_stored(site.db)
    assert integrity == "ok", f"PRAGMA integrity_check after the restart: {integrity}"
    assert totals == everything, "the stopped server's file lost totals"


@dataclass
class WalRun:
    acked: int
    seconds: float
    written: int    # bytes of WAL frames trophyd wrote
    largest: int    # the largest -wal file seen, sampled every 20 ms
    in_use: int     # the most bytes of WAL frames in use seen (wal_frames), every 20 ms
    final: int      # the -wal file when trophyd had stopped

    def rate(self) -> float:
        """WAL bytes written per second."""
        return self.written / self.seconds


def wal_under_load(site: Site, seconds: float, litestream: Optional[Litestream]) -> WalRun:
    """Load for `seconds` on a fresh trophyd (and Litestream, if given), then SIGTERM both."""
    node = site.node().start()
    samples: List[int] = []
    frames: List[int] = []
    try:
        if litestream is not None:
            litestream.start()
            site.wait_for_first_snapshot()
        pages_before = pages_written(node.url)
        load = Load(node.url, "w").start()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            samples.append(wal_size(site.db))
            frames.append(wal_frames(site.db))
            time.sleep(0.02)
        sent = load.finish()
        elapsed = time.monotonic() - started
        pages = pages_written(node.url) - pages_before
        if litestream is not None:
            assert litestream.alive(), f"Litestream exited; see {litestream.log}"
    finally:
        node.stop()
        if litestream is not None:
            litestream.stop()
    acked = [s for s in sent if s.status is not None and 200 <= s.status < 300]
    assert len(acked) == len(sent), f"{len(sent) - len(acked)} events not acknowledged"
    conn = sqlite3.connect(f"file:{site.db}?mode=ro", uri=True)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    frame = page_size + 24   # a WAL frame: a 24-byte header and the page
    return WalRun(acked=len(acked), seconds=elapsed, written=pages * frame,
                  largest=max(samples), in_use=max(frames) * frame, final=wal_size(site.db))


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def test_external_alone_never_checkpoints() -> None:
    """The control: without Litestream, "external" leaves every frame in the WAL, through
    load and shutdown (which is also what makes the bounded case below mean something)."""
    site = Site(ARGS.work / "wal-alone", ARGS.litestream, ARGS.bin)
    run = wal_under_load(site, CONTROL_SECONDS, None)
    print(f"measure: wal without Litestream: {run.acked} events in {run.seconds:.1f} s, "
          f"{mib(run.written)} of WAL written, the -wal file {mib(run.final)} after SIGTERM")
    assert run.written > 0, "no WAL written"
    assert run.final >= 0.9 * run.written, (
        f"the -wal file is {mib(run.final)} after {mib(run.written)} written: something "
        f"checkpointed it under checkpoints = \"external\"")


def test_wal_stays_bounded_under_load() -> None:
    site = Site(ARGS.work / "wal", ARGS.litestream, ARGS.bin)
    run = wal_under_load(site, WAL_LOAD_SECONDS, site.litestream())
    print(f"measure: wal with Litestream: {run.acked} events in {run.seconds:.1f} s "
          f"({run.acked / run.seconds:.0f}/s), {mib(run.written)} of WAL written "
          f"({mib(run.rate())}/s); at most {mib(run.in_use)} in use "
          f"({run.in_use / run.rate():.1f} s of writes), the -wal file at most {mib(run.largest)}")
    assert run.written >= 2 * WAL_BOUND_SECONDS * run.rate() * 0.99, "the run was too short"
    assert run.in_use <= WAL_BOUND_SECONDS * run.rate(), (
        f"the WAL held {mib(run.in_use)}, {run.in_use / run.rate():.1f} s of writes (bound "
        f"{WAL_BOUND_SECONDS} s): Litestream's checkpoints did not start it over")
    assert run.largest <= WAL_BOUND_BYTES, (
        f"the -wal file reached {mib(run.largest)} (bound {mib(WAL_BOUND_BYTES)})")


def pages_written(url: str) -> int:
    status, body = http("GET", f"{url}/metrics")
    assert status == 200, f"GET /metrics: {status}"
    for line in body.splitlines():
        if line.startswith("trophyd_writer_pages_written_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no trophyd_writer_pages_written_total in /metrics")


if __name__ == "__main__":
    sys.exit(run_tests([
        ("kill -9 of trophyd and Litestream under load, restore, re-send",
         test_kill9_under_load_then_restore),
        ("checkpoints = \"external\" alone: the WAL keeps every frame",
         test_external_alone_never_checkpoints),
        ("WAL stays bounded with Litestream checkpointing", test_wal_stays_bounded_under_load),
    ]))
