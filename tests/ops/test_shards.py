#!/usr/bin/env python3
"""Tenants as shards (README, "Tenants as shards"): two trophyd nodes behind HAProxy (Debian's
package, started here on deploy/haproxy/haproxy.cfg with this test's addresses), routing on the
`Tenant-ID` header with tenants.map and health checks on /health.

Tenants are created through the proxy and land on the node the map names; then tenant `acme`
moves from node A to node B as the README says (writes held, export from the live node A,
B stopped, import, B started, the map switched through HAProxy's runtime API, the tenant
archived on A), and every read of its users through the proxy answers as before the move.

    python3 tests/ops/test_shards.py --bin target/release/trophyd --haproxy /usr/sbin/haproxy
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import HAProxy, Node, free_port, http, run_tests, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARGS = harness.parse_args(__doc__.splitlines()[0])
WORK: Path = ARGS.work

APP, ADMIN = "shards-app-key", "shards-admin-key"
T0 = "2031-03-02T12:00:00Z"

CONFIG = f"""
[server]
multi_tenant = true
default_timezone = "UTC"

[auth]
api_keys = ["{APP}"]
admin_keys = ["{ADMIN}"]

[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[metrics]]
key = "lessons"
name = "Lessons"

[[metrics]]
key = "minutes"
name = "Minutes"

[streaks]
frequency = "daily"
metrics = [{{ metric = "lessons", threshold = 1 }}]

[[achievements]]
key = "first-lesson"
name = "First lesson"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "onboarding"
name = "Onboarding"
trigger = "api"

[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 1

  [[points.levels]]
  key = "novice"
  name = "Novice"
  points = 0

  [[points.levels]]
  key = "adept"
  name = "Adept"
  points = 50

[[leaderboards]]
key = "lessons"
name = "Lessons"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"

[[leaderboards]]
key = "by-plan"
name = "Minutes by plan"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
breakdown_attributes = ["plan"]
"""

USERS = ["ann", "ben", "cat", "dan"]


class Cluster:
    """Node A, node B and HAProxy in front, from deploy/haproxy/."""

    def __init__(self) -> None:
        self.dir = WORK
        self.config = WORK / "trophy.toml"
        self.config.write_text(CONFIG)
        self.a = Node(ARGS.bin, self.config, WORK / "a.db", test_clock=True, log_dir=WORK)
        self.b = Node(ARGS.bin, self.config, WORK / "b.db", test_clock=True, log_dir=WORK)
        self.map = WORK / "tenants.map"
        self.moving = WORK / "tenants-moving.map"
        self.proxy_port = free_port()
        self.proxy_url = f"http://127.0.0.1:{self.proxy_port}"
        self.haproxy: HAProxy

    def start(self) -> None:
        self.a.start()
        self.b.start()
        for node in (self.a, self.b):
            status, body = http("POST", f"{node.url}/_test/clock", {"now": T0},
                                {"X-API-KEY": ADMIN})
            assert status == 200, body
        self.map.write_text("acme node_a\nhooli node_a\nglobex node_b\n")
        self.moving.write_text("")
        template = (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
        replacements = {
            # run as this user, in the foreground, logging to stderr
            "    chroot /var/lib/haproxy\n": "",
            "    user haproxy\n": "",
            "    group haproxy\n": "",
            "    daemon\n": "",
            "    log /dev/log local0\n": "    log stderr format raw local0 notice\n",
            "/run/haproxy/admin.sock": str(WORK / "haproxy.sock"),
            "/etc/haproxy/tenants.map": str(self.map),
            "/etc/haproxy/tenants-moving.map": str(self.moving),
            "bind :8080": f"bind 127.0.0.1:{self.proxy_port}",
            "10.0.0.11:8080": f"127.0.0.1:{self.a.port}",
            "10.0.0.12:8080": f"127.0.0.1:{self.b.port}",
            # checks every 200 ms, so a restarted node is back in a second, not in four
            "check inter 2s": "check inter 200ms",
        }
        for old, new in replacements.items():
            assert old in template, f"deploy/haproxy/haproxy.cfg no longer has {old!r}"
            template = template.replace(old, new)
        config = WORK / "haproxy.cfg"
        config.write_text(template)
        self.haproxy = HAProxy(ARGS.haproxy, config, WORK / "haproxy.sock", WORK)
        self.haproxy.start(self.proxy_port)
        self.haproxy.wait_status("node_a/a", "UP")
        self.haproxy.wait_status("node_b/b", "UP")

    def stop(self) -> None:
        if getattr(self, "haproxy", None):
            self.haproxy.stop()
        self.a.stop()
        self.b.stop()

    def via_proxy(self, method: str, path: str, tenant: str, body=None, key: str = APP):
        return http(method, f"{self.proxy_url}{path}", body,
                    {"X-API-KEY": key, "Tenant-ID": tenant})


def direct(node: Node, method: str, path: str, tenant=None, body=None, key: str = APP):
    headers = {"X-API-KEY": key}
    if tenant:
        headers["Tenant-ID"] = tenant
    return http(method, f"{node.url}{path}", body, headers)


def reads(get, users):
    """Every read route a client of the tenant uses for `users`, and the tenant-wide ones:
    a list of (path, status, body). `get(path, key)` does one GET."""
    paths = []
    for u in users:
        paths += [
            f"/v1/users/{u}", f"/v1/users/{u}/preferences", f"/v1/users/{u}/metrics",
            f"/v1/users/{u}/metrics/lessons", f"/v1/users/{u}/metrics/minutes",
            f"/v1/users/{u}/metrics/lessons/event-summary?aggregation=daily"
            "&startDate=2031-02-25&endDate=2031-03-05",
            f"/v1/users/{u}/streak?historyPeriods=7",
            f"/v1/users/{u}/achievements?includeIncomplete=true",
            f"/v1/users/{u}/points/xp?awards=50", f"/v1/users/{u}/points/xp/boosts",
            f"/v1/users/{u}/points/xp/event-summary?aggregation=daily"
            "&startDate=2031-02-25&endDate=2031-03-05",
            f"/v1/users/{u}/leaderboards/lessons?numEvents=50",
            f"/v1/users/{u}/leaderboards/by-plan?numEvents=50",
            f"/v1/users/{u}/wrapped?year=2031",
        ]
    paths += [
        "/v1/achievements", f"/v1/streaks?userIds={','.join(users)}", "/v1/streaks/rankings",
        "/v1/points/xp", "/v1/points/xp/levels", "/v1/points/xp/level-summary",
        "/v1/points/xp/summary", "/v1/leaderboards", "/v1/leaderboards/lessons",
        "/v1/leaderboards/by-plan?userAttributes=plan:pro",
    ]
    out = [(p, *get(p, APP)) for p in paths]
    out += [(p, *get(p, ADMIN)) for p in ["/admin/v1/metrics?limit=100",
                                          "/admin/v1/achievements?limit=100",
                                          "/admin/v1/leaderboards?limit=100"]]
    return out


def normalise(path, body, shared):
    """What legitimately differs between nodes: created/updated of the shared definitions
    (trophy.toml's) are when each node stored them; awards keep the source's snapshot."""
    def walk(v, in_awards):
        if isinstance(v, dict):
            if v.get("id") in shared and not in_awards:
                for field in ("created", "updated"):
                    if field in v:
                        v[field] = None
            for k, child in v.items():
                walk(child, in_awards or k == "awards")
        elif isinstance(v, list):
            for child in v:
                walk(child, in_awards)
    walk(body, False)
    return body


def assert_same(before, after, shared, what):
    assert len(before) == len(after)
    for (path, s1, b1), (_, s2, b2) in zip(before, after):
        assert s1 == s2, f"{what}: {path}: {s1} before, {s2} after: {b2}"
        assert normalise(path, b1, shared) == normalise(path, b2, shared), (
            f"{what}: {path} reads differently\nbefore: {b1}\nafter:  {b2}")


def shared_uuids(node: Node):
    import sqlite3
    conn = sqlite3.connect(f"file:{node.data}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT uuid FROM definitions WHERE tenant_id IS NULL")}
    finally:
        conn.close()


def tenant_ids(node: Node):
    status, body = direct(node, "GET", "/admin/v1/tenants?limit=100", key=ADMIN)
    assert status == 200, body
    return {t["customerId"]: t["id"] for t in body}


def cli(*args: str) -> str:
    done = subprocess.run([ARGS.bin, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"trophyd {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def test_tenants_route_by_header_and_a_moved_tenant_reads_the_same() -> None:
    c = Cluster()
    try:
        c.start()
        # Tenants are created through the proxy: each lands on the node its map entry names.
        for tenant in ("acme", "hooli", "globex"):
            status, body = c.via_proxy("POST", "/admin/v1/tenants", tenant,
                                       [{"customerId": tenant, "name": tenant.title()}], ADMIN)
            assert status == 201 and not body["issues"], body
        assert set(tenant_ids(c.a)) == {"acme", "hooli"}
        assert set(tenant_ids(c.b)) == {"globex"}

        # Activity through the proxy, on every tenant.
        for tenant in ("acme", "hooli", "globex"):
            for i, u in enumerate(USERS):
                status, body = c.via_proxy("POST", "/v1/users", tenant, {
                    "id": u, "tz": ["UTC", "Europe/Berlin", "Asia/Tokyo", "America/Chicago"][i],
                    "attributes": {"plan": "pro" if i % 2 else "free"}})
                assert status == 201, body
                for n in range(i + 1):
                    for metric, value in (("lessons", 1), ("minutes", 5 * (n + 1))):
                        status, body = c.via_proxy("POST", f"/v1/metrics/{metric}/event", tenant,
                                                   {"user": {"id": u}, "value": value})
                        assert status == 201, body
        status, body = c.via_proxy("POST", "/v1/achievements/onboarding/complete", "acme",
                                   {"user": {"id": "ben"}})
        assert status == 201, body
        status, body = c.via_proxy("PATCH", "/v1/users/cat/preferences", "acme",
                                   {"notifications": {"achievement_completed": ["email"]}})
        assert status == 200, body
        status, body = c.via_proxy("POST", "/admin/v1/application-api-keys", "acme",
                                   [{"userId": "dan"}], ADMIN)
        assert status == 201, body
        dan_key = body["created"][0]["key"]

        # Each tenant's data is on its node only.
        for node, here, elsewhere in ((c.a, "acme", "globex"), (c.b, "globex", "acme")):
            assert direct(node, "GET", "/v1/users/dan/metrics/lessons", here)[0] == 200
            assert direct(node, "GET", "/v1/users/dan/metrics/lessons", elsewhere)[0] == 404
        status, body = c.via_proxy("GET", "/v1/users/dan/metrics/lessons", "globex")
        assert status == 200 and body["current"] == 4, body

        get = lambda p, key: c.via_proxy("GET", p, "acme", key=key)  # noqa: E731
        before = reads(get, USERS)
        assert all(s == 200 for _, s, _ in before), [r for r in before if r[1] != 200]
        shared = shared_uuids(c.a)
        assert shared == shared_uuids(c.b)

        # The move, as the README says.
        # 1. Hold acme's writes: reads still go to A, writes wait with 503 and Retry-After.
        assert c.haproxy.command(f"add map {c.moving} acme 1").strip() == ""
        status, body = c.via_proxy("POST", "/v1/metrics/lessons/event", "acme",
                                   {"user": {"id": "ann"}, "value": 1})
        assert status == 503 and "moved" in body["error"], (status, body)
        assert c.via_proxy("GET", "/v1/users/ann", "acme")[0] == 200
        assert c.via_proxy("POST", "/v1/metrics/lessons/event", "globex",
                           {"user": {"id": "ann"}, "value": 1})[0] == 201
        globex = lambda p, key: c.via_proxy("GET", p, "globex", key=key)  # noqa: E731
        globex_before = reads(globex, USERS)
        # 2. Export from the live node A.
        export = WORK / "acme.trophy-tenant"
        started = time.time()
        out = cli("tenant", "export", "--tenant", "acme", str(export), "--data", str(c.a.data))
        print(f"     export: {time.time() - started:.2f} s; {out.splitlines()[0]}")
        # 3. Stop B, import, start B (same port); HAProxy sees it come back.
        c.b.stop()
        started = time.time()
        out = cli("tenant", "import", str(export), "--config", str(c.config),
                  "--data", str(c.b.data))
        print(f"     import: {time.time() - started:.2f} s; {out.splitlines()[0]}")
        c.b.start()
        assert http("POST", f"{c.b.url}/_test/clock", {"now": T0}, {"X-API-KEY": ADMIN})[0] == 200
        c.haproxy.wait_status("node_b/b", "UP")
        # 4. Check before switching: B answers for acme as A does.
        assert_same(before, reads(lambda p, key: direct(c.b, "GET", p, "acme", key=key), USERS),
                    shared, "B directly")
        # 5. Switch the map (runtime API, and the file for the next reload), release writes.
        assert c.haproxy.command(f"set map {c.map} acme node_b").strip() == ""
        c.map.write_text("acme node_b\nhooli node_a\nglobex node_b\n")
        assert c.haproxy.command(f"del map {c.moving} acme").strip() == ""
        # 6. Archive acme on A (directly: the proxy now sends acme to B).
        acme_uuid = tenant_ids(c.a)["acme"]
        status, body = direct(c.a, "DELETE", f"/admin/v1/tenants?ids={acme_uuid}", key=ADMIN)
        assert status == 200 and body["deleted"] == [{"id": acme_uuid}], body
        assert direct(c.a, "GET", "/v1/users/ann", "acme")[0] == 404

        # Through the proxy, acme's users read as before the move.
        assert_same(before, reads(get, USERS), shared, "through the proxy")
        # The other tenants are untouched.
        assert_same(globex_before, reads(globex, USERS), shared, "globex")
        assert c.via_proxy("GET", "/v1/users/ann", "hooli")[0] == 200
        # acme writes again, on B; its per-user key works there.
        status, body = c.via_proxy("POST", "/v1/metrics/lessons/event", "acme",
                                   {"user": {"id": "ann"}, "value": 1})
        assert status == 201, body
        status, body = direct(c.b, "GET", "/v1/users/ann/metrics/lessons", "acme")
        assert status == 200 and body["current"] == 2, body
        assert c.via_proxy("GET", "/v1/users/dan", "acme", key=dan_key)[0] == 200
        assert c.via_proxy("GET", "/v1/users/ann", "acme", key=dan_key)[0] == 403
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(run_tests([
        ("tenants route by header; a moved tenant reads the same through the proxy",
         test_tenants_route_by_header_and_a_moved_tenant_reads_the_same),
    ]))
