"""Shared pieces of the operations tests (tests/ops/test_*.py): start real trophyd processes on
temporary databases, talk to them over HTTP, and count results.

Each test script takes `--bin PATH` (the trophyd binary) plus its own tools, runs its tests,
prints `N passed, M failed` last and exits 1 when anything failed (the convention of
tests/sdk/run.sh, which runs them as the `ops` stage).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple


class Node:
    """One trophyd process: `--config CONFIG --data DATA --listen 127.0.0.1:PORT`."""

    def __init__(self, bin_path: str, config: Path, data: Path, port: int = 0,
                 test_clock: bool = False, log_dir: Optional[Path] = None):
        self.bin = bin_path
        self.config = config
        self.data = data
        self.port = port
        self.test_clock = test_clock
        self.log_dir = log_dir or data.parent
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> "Node":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stdout = open(self.log_dir / f"{self.data.stem}.stdout", "ab")
        stderr = open(self.log_dir / f"{self.data.stem}.stderr", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TROPHYD_")}
        env.setdefault("RUST_LOG", "warn")
        args = [self.bin, "--config", str(self.config), "--data", str(self.data),
                "--listen", f"127.0.0.1:{self.port}"]
        if self.test_clock:
            args.append("--test-clock")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, env=env)
        assert self.proc.stdout is not None
        deadline = time.time() + timeout
        line = b""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(b"trophyd listening on "):
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"trophyd listening on "):
            raise RuntimeError(f"trophyd did not start: {line!r}; see {self.log_dir}")
        self.url = line.decode().strip().rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[-1])
        # keep draining stdout so the process never blocks on a full pipe
        pipe = self.proc.stdout
        threading.Thread(target=lambda: [stdout.write(b) for b in iter(pipe.readline, b"")],
                         daemon=True).start()
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


def http(method: str, url: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
         timeout: float = 30.0) -> Tuple[int, Any]:
    """One request; returns (status, parsed JSON body or raw text or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def run_tests(tests: List[Tuple[str, Callable[[], None]]]) -> int:
    """Runs each test, prints a line per test and `N passed, M failed` last; returns 0/1."""
    passed = failed = 0
    for name, test in tests:
        started = time.time()
        try:
            test()
        except Exception:  # a failed assertion or a crashed tool are both failures
            failed += 1
            print(f"FAIL {name} ({time.time() - started:.1f} s)")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {name} ({time.time() - started:.1f} s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def parse_args(description: str):
    """The arguments every ops test takes (tests/sdk/run.sh passes them all)."""
    import argparse
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bin", required=True, help="the trophyd binary")
    p.add_argument("--litestream", default="litestream", help="the litestream binary")
    p.add_argument("--haproxy", default="haproxy", help="the haproxy binary")
    p.add_argument("--work", help="directory for databases and logs (default: a new temp dir)")
    args = p.parse_args()
    args.work = Path(args.work) if args.work else tempdir("trophyd-ops.")
    args.work.mkdir(parents=True, exist_ok=True)
    return args


class HAProxy:
    """HAProxy started in the foreground (`-db`) by a test, as the current user, on a config
    written by the test; `command` speaks to its runtime API (the `stats socket`)."""

    def __init__(self, bin_path: str, config: Path, socket_path: Path,
                 log_dir: Optional[Path] = None):
        self.bin = bin_path
        self.config = config
        self.socket = socket_path
        self.log_dir = log_dir or config.parent
        self.proc: Optional[subprocess.Popen] = None

    def start(self, port: int, timeout: float = 10.0) -> "HAProxy":
        check = subprocess.run([self.bin, "-c", "-f", str(self.config)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c refused {self.config}:\n{check.stdout}{check.stderr}")
        log = open(self.log_dir / "haproxy.log", "ab")
        self.proc = subprocess.Popen([self.bin, "-db", "-f", str(self.config)],
                                     stdout=log, stderr=log)

        def listening() -> bool:
            import socket
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited; see {self.log_dir / 'haproxy.log'}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        wait_until(listening, timeout, "haproxy to listen")
        return self

    def command(self, line: str) -> str:
        """One runtime API command; its answer."""
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_status(self) -> Dict[str, str]:
        """`backend/server` -> status (UP, DOWN, ...) from `show stat`."""
        out: Dict[str, str] = {}
        lines = self.command("show stat").splitlines()
        if not lines:
            return out
        header = lines[0].lstrip("# ").split(",")
        status = header.index("status")
        for line in lines[1:]:
            fields = line.split(",")
            if len(fields) > status and fields[1] not in ("FRONTEND", "BACKEND"):
                out[f"{fields[0]}/{fields[1]}"] = fields[status]
        return out

    def wait_status(self, server: str, wanted: str, timeout: float = 15.0) -> None:
        wait_until(lambda: self.server_status().get(server) == wanted, timeout,
                   f"haproxy to see {server} {wanted}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
