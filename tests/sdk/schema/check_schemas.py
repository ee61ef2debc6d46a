#!/usr/bin/env python3
"""Schema conformance of trophyd: every operation of the Trophy 1.21.1 specs, answered for real.

Loads `trophy-application-1.21.1.json` (served under /v1) and `trophy-admin-1.21.1.json` (under
/admin/v1), seeds its own data through the API (attributes, metrics, points systems, leaderboards,
users, events, completions, streaks with the test clock moved, tenants on the multi-tenant
server), calls every path + method of both specs at least once with a request that succeeds, and
checks each answer:

* its status is one the spec documents for that operation;
* its body validates against the schema of that status (JSON Schema 2020-12 over the spec's own
  `$ref`s; OpenAPI 3.0 spellings such as `nullable: true` are converted; `format` is checked for
  `date`, `date-time` and `uuid`; extra properties pass only where the schema allows them, which
  JSON Schema does unless `additionalProperties` says otherwise).

Every answer is also checked against trophyd's own document (`assets/openapi.json`, the one
served at /openapi.json), with no deviation forgiven: there it must be documented and match
exactly. These are the `openapi.json ...` tests, one per operation called.

Documented error answers are checked too where they are cheap (401 without a key, 404 for an
unknown user or id, 400/422 for a bad body).

Each operation is one test: `ok` or `FAIL` with the JSON path of every mismatch. A scenario
step that breaks (an unexpected status, say) fails its `flow` test and the operations it did not
reach show up in the `coverage` test, which fails when an operation of the specs was never
called with a request meant to succeed (bar the short ALLOWED_UNCOVERED list, each with a reason).

    check_schemas.py --single URL [--multi URL] [--specs DIR] [--document FILE] [-v]

Keys default to the ones in tests/sdk/trophy.toml and trophy-multi.toml; both servers need
--test-clock. The specs come from --specs, $TROPHY_SPECS, or tests/sdk/schema/specs (Trophy's published 1.21.1 files).
The last line printed is `N passed, M failed`; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SPEC_FILES = {
    "app": ("trophy-application-1.21.1.json", "/v1"),
    "admin": ("trophy-admin-1.21.1.json", "/admin/v1"),
}
HTTP_METHODS = ("get", "put", "post", "patch", "delete")

# (api, METHOD, path template) -> why it is not called. Keep it short and give a reason.
ALLOWED_UNCOVERED: Dict[Tuple[str, str, str], str] = {}

# (api, METHOD, path template, status) -> (documented status whose schema the body must match,
# why the status is right although the spec does not list it). Keep it short.
STATUS_NOT_IN_SPEC: Dict[Tuple[str, str, str, str], Tuple[str, str]] = {
    ("app", "POST", "/metrics/{key}/event", "202"): (
        "201",
        "an idempotent replay answers 202 Accepted with the EventResponse body (Trophy's "
        "idempotency docs, docs/behaviour/users-and-events.md#idempotency); the spec lists "
        "only 201",
    ),
}

# Mismatches that are deliberate: (JSON path regex, reason). Only a number where the schema
# says integer is forgiven, and only at these paths; the count is printed.
ACCEPTED_DEVIATIONS: List[Tuple[str, str]] = [
    (
        r"(^\$\.rankings\[\d+\]\.value|^\$\.(previousValue|value)|\.history\[\d+\]\.(previousValue|value)"
        r"|\.leaderboards\.[^.]+\.(previousValue|value))$",
        "a leaderboard ranked by a metric with fractional values carries the fractional sum: "
        "docs/behaviour/leaderboards.md#values (integer when whole, a plain number otherwise)",
    ),
]

# Mismatches that another branch is fixing: (JSON path or message regex, owner). They still fail;
# the tag only says whose they are.
OTHER_BRANCHES: List[Tuple[str, str, str]] = [
    # (operation name regex, problem line regex, owner)
    (r"", r"'(startTime|endTime)' is a required property", "leaderboard startTime/endTime"),
    (r"/admin/v1/leaderboards", r"\.(description|end|runUnit|runInterval): None is not", "AdminLeaderboard null fields"),
]

RUN = uuid.uuid4().hex[:8]  # keeps keys and ids unique when the same servers are reused

# The SDK 1.27.0 calls admin routes that are newer than the 1.21.1 specs. Only the ones whose
# shape this check pins are listed, with a schema written from the SDK's models.
EXTRA_SCHEMAS = {
    # trophy.types.AdminEnvironment: "Lower numbers take priority. Production is always 1."
    ("admin", "GET", "/environments"): {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "key": {"type": "string"},
                "priority": {"type": "integer"},
            },
            "required": ["name", "key", "priority"],
        },
        "contains": {
            "type": "object",
            "properties": {"key": {"const": "production"}, "priority": {"const": 1}},
            "required": ["key", "priority"],
        },
    },
}


# --------------------------------------------------------------------------------------------
# specs -> JSON Schema


def openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.1 schemas are JSON Schema 2020-12 already; 3.0 spellings are rewritten:
    `nullable: true` becomes a null alternative, boolean exclusiveMinimum/Maximum become the
    numeric form. Unknown OpenAPI keywords (`example`, `discriminator`) are ignored by JSON Schema
    as annotations, so they are left in place."""
    if isinstance(node, list):
        return [openapi_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_json_schema(v) for k, v in node.items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool):
            if out.pop(bound) and limit in out:
                out[bound] = out.pop(limit)
    if out.get("nullable") is True:
        del out["nullable"]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = list(out["enum"]) + [None]
        elif isinstance(out.get("type"), list):
            if "null" not in out["type"]:
                out["type"] = list(out["type"]) + ["null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    elif out.get("nullable") is False:
        del out["nullable"]
    return out


RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMATS.checks("date")
def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMATS.checks("uuid")
def _is_uuid(value: Any) -> bool:
    return not isinstance(value, str) or bool(UUID.match(value))


def pointer(*parts: str) -> str:
    """A URI fragment for a JSON pointer into the spec (`~` and `/` escaped, then %-quoted)."""
    escaped = [p.replace("~", "~0").replace("/", "~1") for p in parts]
    return "#" + urllib.parse.quote("/" + "/".join(escaped), safe="/~")


class Document:
    """trophyd's own OpenAPI document: full paths (/v1/..., /admin/v1/...), one file."""

    URI = "urn:trophyd:openapi"

    def __init__(self, path: str):
        with open(path, encoding="utf-8") as f:
            self.doc = openapi_to_json_schema(json.load(f))
        self.registry: Registry = Registry().with_resource(
            self.URI, Resource.from_contents(self.doc, default_specification=DRAFT202012)
        )
        self.validators: Dict[str, Draft202012Validator] = {}

    def problems(self, method: str, template: str, status: int, raw: bytes, ctype: str, parsed: Any) -> List[str]:
        op = self.doc["paths"].get(template, {}).get(method.lower())
        if op is None:
            return [f"{method} {template} is not in the document"]
        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            return [f"HTTP {status} is not documented (documented: {', '.join(sorted(op.get('responses', {})))}); "
                    f"body {shorten(raw.decode(errors='replace'), 160)}"]
        content = resp.get("content") or {}
        if "application/json" not in content:
            return [] if not raw.strip() or content else [f"HTTP {status} documents no body, got {shorten(raw.decode(errors='replace'), 120)}"]
        if "json" not in ctype:
            return [f"Content-Type is {ctype!r}, not application/json"]
        ref = self.URI + pointer("paths", template, method.lower(), "responses", str(status), "content",
                                 "application/json", "schema")
        v = self.validators.get(ref)
        if v is None:
            v = Draft202012Validator({"$ref": ref}, registry=self.registry, format_checker=FORMATS)
            self.validators[ref] = v
        errors = list(v.iter_errors(parsed))
        if errors:
            return [f"HTTP {status} body does not match the schema:"] + ["  " + line for line in describe_errors(errors)]
        return []


class Operation:
    def __init__(self, api: str, method: str, template: str, prefix: str, statuses: Dict[str, Any]):
        self.api = api
        self.method = method
        self.template = template
        self.prefix = prefix
        # status -> schema URI (or None when the answer documents no JSON body)
        self.statuses = statuses

    @property
    def key(self) -> Tuple[str, str, str]:
        return (self.api, self.method, self.template)

    @property
    def name(self) -> str:
        return f"{self.method} {self.prefix}{self.template}"


class Specs:
    def __init__(self, spec_dir: str):
        self.registry: Registry = Registry()
        self.ops: Dict[Tuple[str, str, str], Operation] = {}
        self.order: List[Tuple[str, str, str]] = []
        for api, (filename, prefix) in SPEC_FILES.items():
            path = os.path.join(spec_dir, filename)
            with open(path, encoding="utf-8") as f:
                doc = openapi_to_json_schema(json.load(f))
            uri = f"urn:trophy:{api}"
            self.registry = self.registry.with_resource(
                uri, Resource.from_contents(doc, default_specification=DRAFT202012)
            )
            for template, item in doc["paths"].items():
                for method in HTTP_METHODS:
                    op = item.get(method)
                    if op is None:
                        continue
                    statuses = {}
                    for status, resp in op.get("responses", {}).items():
                        if "$ref" in resp:
                            raise SystemExit(f"{filename}: response $ref at {method} {template} is not supported")
                        content = resp.get("content") or {}
                        if "application/json" in content and "schema" in content["application/json"]:
                            statuses[status] = uri + pointer(
                                "paths", template, method, "responses", status, "content",
                                "application/json", "schema",
                            )
                        else:
                            statuses[status] = None
                    o = Operation(api, method.upper(), template, prefix, statuses)
                    self.ops[o.key] = o
                    self.order.append(o.key)
        self.validators: Dict[str, Draft202012Validator] = {}

    def validator(self, schema_ref: str) -> Draft202012Validator:
        v = self.validators.get(schema_ref)
        if v is None:
            v = Draft202012Validator({"$ref": schema_ref}, registry=self.registry, format_checker=FORMATS)
            self.validators[schema_ref] = v
        return v


def describe_errors(errors: List[ValidationError], limit: int = 12) -> List[str]:
    """One line per mismatch: the JSON path in the body, then what is wrong. For oneOf/anyOf the
    deepest sub-errors are shown, since "is not valid under any of the given schemas" alone does
    not say where."""
    lines: List[str] = []

    def walk(e: ValidationError, depth: int) -> None:
        if e.context and e.validator in ("oneOf", "anyOf") and depth < 3:
            # show the alternative that got furthest
            best = max(e.context, key=lambda c: (len(c.absolute_path), -len(c.context or [])))
            lines.append(f"{e.json_path}: {shorten(e.message)} (closest alternative below)")
            walk(best, depth + 1)
        else:
            lines.append(f"{e.json_path}: {shorten(e.message)}")

    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        walk(e, 0)
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def accepted_deviation(error: ValidationError) -> Optional[str]:
    """The reason when `error` is a fractional number where an integer is typed, at a path of
    ACCEPTED_DEVIATIONS; else None."""
    if error.validator != "type" or not isinstance(error.instance, float) or error.instance.is_integer():
        return None
    allowed = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    if "integer" not in allowed:
        return None
    for pattern, reason in ACCEPTED_DEVIATIONS:
        if re.search(pattern, error.json_path):
            return reason
    return None


def owner_tags(name: str, lines: List[str]) -> List[str]:
    """OTHER_BRANCHES owners of these problem lines of operation `name`."""
    return sorted({
        owner
        for line in lines
        for op_pattern, pattern, owner in OTHER_BRANCHES
        if re.search(op_pattern, name) and re.search(pattern, line)
    })


def shorten(text: str, n: int = 220) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 3] + "..."


# --------------------------------------------------------------------------------------------
# servers and exchanges


class StepError(Exception):
    """A scenario step got an answer it cannot go on from (already recorded on its operation)."""


class Server:
    def __init__(self, name: str, base: str, api_key: str, admin_key: str):
        self.name = name
        self.base = base.rstrip("/")
        self.api_key = api_key
        self.admin_key = admin_key

    def http(
        self,
        method: str,
        path: str,
        query: Optional[Dict[str, Any]] = None,
        body: Any = None,
        key: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, bytes, str]:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if key is not None:
            req.add_header("X-API-KEY", key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Content-Type", "")

    # the test clock (docs/interface.md#test-clock), plain HTTP with the admin key
    def clock(self) -> dt.datetime:
        status, raw, _ = self.http("GET", "/_test/clock", key=self.admin_key)
        if status != 200:
            raise StepError(f"GET /_test/clock: HTTP {status} {raw[:200]!r} (is --test-clock on?)")
        return parse_ts(json.loads(raw)["now"])

    def advance(self, seconds: int) -> dt.datetime:
        status, raw, _ = self.http("POST", "/_test/clock", body={"advanceSeconds": seconds}, key=self.admin_key)
        if status != 200:
            raise StepError(f"POST /_test/clock advanceSeconds={seconds}: HTTP {status} {raw[:200]!r}")
        return parse_ts(json.loads(raw)["now"])


def parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Exchange:
    def __init__(self, server: str, label: str, status: int, meant_to_succeed: bool, problems: List[str]):
        self.server = server
        self.label = label
        self.status = status
        self.meant_to_succeed = meant_to_succeed
        self.problems = problems


class Checker:
    def __init__(self, specs: Specs, verbose: bool, document: Optional[Document] = None):
        self.specs = specs
        self.document = document
        self.doc_exchanges: Dict[Tuple[str, str], List[Exchange]] = {}
        self.verbose = verbose
        self.exchanges: Dict[Tuple[str, str, str], List[Exchange]] = {}
        self.extra_exchanges: Dict[Tuple[str, str, str], List[Exchange]] = {}
        self.deviations: Dict[str, int] = {}

    def call(
        self,
        server: Server,
        api: str,
        method: str,
        template: str,
        path: Optional[Dict[str, str]] = None,
        query: Optional[Dict[str, Any]] = None,
        body: Any = None,
        key: Any = "default",
        tenant: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        expect: Any = None,
    ) -> Any:
        """Send one request of operation (api, method, template), check the answer against the
        spec and record it. `expect` is the status (or statuses) the scenario needs in order to
        go on; any other answer is recorded as a problem and raises StepError. Returns the body."""
        extra = (api, method, template) in EXTRA_SCHEMAS
        op = None if extra else self.specs.ops.get((api, method, template))
        if op is None and not extra:
            raise SystemExit(f"check_schemas.py: {api} {method} {template} is not in the specs")
        prefix = SPEC_FILES[api][1]
        real_path = template
        for name, value in (path or {}).items():
            real_path = real_path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
        if key == "default":
            key = server.api_key if api == "app" else server.admin_key
        hdrs = dict(headers or {})
        if tenant is not None:
            hdrs["Tenant-ID"] = tenant
        status, raw, ctype = server.http(method, prefix + real_path, query=query, body=body, key=key, headers=hdrs)
        expected = () if expect is None else (expect if isinstance(expect, tuple) else (expect,))
        meant_to_succeed = any(200 <= e < 300 for e in expected)
        label = f"{method} {prefix}{real_path}" + (
            "?" + urllib.parse.urlencode(query, doseq=True) if query else ""
        )
        problems: List[str] = []

        parsed: Any = None
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                problems.append(f"body is not JSON ({ctype or 'no Content-Type'}): {raw[:120]!r}")
        if extra:
            schema_ref: Optional[str] = "extra"
            documented = True
        else:
            documented = str(status) in op.statuses
            schema_ref = op.statuses.get(str(status))
            stand_in = STATUS_NOT_IN_SPEC.get((api, method, template, str(status)))
            if not documented and stand_in is not None:
                documented = True
                schema_ref = op.statuses.get(stand_in[0])
            if not documented:
                problems.append(
                    f"HTTP {status} is not documented for {op.name} (documented: "
                    f"{', '.join(sorted(op.statuses))}); body {shorten(raw.decode(errors='replace'), 160)}"
                )
        if expected and status not in expected:
            problems.append(
                f"expected HTTP {'/'.join(map(str, expected))}, got {status}: "
                f"{shorten(raw.decode(errors='replace'), 200)}"
            )
        if documented and schema_ref is not None and not problems:
            if "json" not in ctype:
                problems.append(f"Content-Type is {ctype!r}, not application/json")
            if extra:
                validator = Draft202012Validator(EXTRA_SCHEMAS[(api, method, template)], format_checker=FORMATS)
            else:
                validator = self.specs.validator(schema_ref)
            errors = []
            for error in validator.iter_errors(parsed):
                reason = accepted_deviation(error)
                if reason is None:
                    errors.append(error)
                else:
                    self.deviations[reason] = self.deviations.get(reason, 0) + 1
            if errors:
                problems.append(f"HTTP {status} body does not match the schema:")
                problems.extend("  " + line for line in describe_errors(errors))
        elif documented and schema_ref is None and raw.strip() and not problems:
            problems.append(f"HTTP {status} documents no body, got {shorten(raw.decode(errors='replace'), 120)}")

        if self.document is not None:
            full = prefix + template
            self.doc_exchanges.setdefault((method, full), []).append(Exchange(
                server.name, label, status, meant_to_succeed,
                self.document.problems(method, full, status, raw, ctype, parsed),
            ))

        record = self.extra_exchanges if extra else self.exchanges
        record.setdefault((api, method, template), []).append(
            Exchange(server.name, label, status, meant_to_succeed, problems)
        )
        if self.verbose:
            print(f"    {server.name}: {label} -> {status}{' (problems)' if problems else ''}")
        if expected and status not in expected:
            raise StepError(f"{label}: expected HTTP {'/'.join(map(str, expected))}, got {status}")
        return parsed


# --------------------------------------------------------------------------------------------
# the scenario: blocks run in order and share `ctx`; a block that breaks is a failed `flow`
# test, and the operations it did not reach are reported by the coverage test

FLOWS: List[Tuple[str, str, Callable[["Ctx"], None]]] = []


def flow(server: str):
    def deco(fn):
        FLOWS.append((fn.__name__, server, fn))
        return fn

    return deco


class Ctx:
    def __init__(self, checker: Checker, single: Server, multi: Optional[Server]):
        self.c = checker
        self.single = single
        self.multi = multi
        self.s = single
        self.data: Dict[str, Any] = {}

    def app(self, method: str, template: str, **kw) -> Any:
        return self.c.call(self.s, "app", method, template, **kw)

    def admin(self, method: str, template: str, **kw) -> Any:
        return self.c.call(self.s, "admin", method, template, **kw)

    def today(self) -> dt.date:
        return self.s.clock().date()


def sid(name: str) -> str:
    return f"schema-{RUN}-{name}"


OK = (200, 201)  # bulk admin writes may answer either


def only(items: Any, what: str) -> Any:
    if not isinstance(items, list) or len(items) != 1:
        raise StepError(f"{what}: expected one item, got {items!r}")
    return items[0]


def created_one(body: Any, what: str) -> Any:
    if not isinstance(body, dict) or body.get("issues"):
        raise StepError(f"{what}: issues {body.get('issues') if isinstance(body, dict) else body!r}")
    return only(body.get("created"), what)


# ---- admin definitions (single server) ------------------------------------------------------


@flow("single")
def admin_attributes(x: Ctx) -> None:
    body = x.admin("POST", "/attributes", expect=OK, body=[
        {"name": "Schema tier", "key": sid("tier").replace("-", "_"), "type": "user"},
        {"name": "Schema device", "key": sid("device").replace("-", "_"), "type": "event"},
        {"name": "Schema doomed", "key": sid("doomed").replace("-", "_"), "type": "user"},
    ])
    if body.get("issues") or len(body.get("created", [])) != 3:
        raise StepError(f"attribute create: {body!r}")
    tier, device, doomed = body["created"]
    x.data["attr_tier"], x.data["attr_device"] = tier, device
    x.admin("GET", "/attributes", query={"limit": 100, "skip": 0}, expect=200)
    x.admin("GET", "/attributes/{id}", path={"id": tier["id"]}, expect=200)
    x.admin("PATCH", "/attributes", body=[{"id": tier["id"], "name": "Schema tier (renamed)"}], expect=200)
    x.admin("DELETE", "/attributes", query={"ids": [doomed["id"]]}, expect=200)
    x.admin("GET", "/attributes/{id}", path={"id": str(uuid.uuid4())}, expect=404)
    x.admin("GET", "/attributes", query={"limit": "many"}, expect=(400, 422))
    x.admin("DELETE", "/attributes", expect=(400, 422))  # no ids


@flow("single")
def admin_metrics(x: Ctx) -> None:
    body = x.admin("POST", "/metrics", expect=OK, body=[
        {"name": "Schema words", "key": sid("words"), "unitType": "number", "units": "words"},
        {"name": "Schema spend", "key": sid("spend"), "unitType": "currency"},
        {"name": "Schema doomed", "key": sid("doomed")},
    ])
    if body.get("issues") or len(body.get("created", [])) != 3:
        raise StepError(f"metric create: {body!r}")
    words, spend, doomed = body["created"]
    x.data["words"], x.data["spend"] = words, spend
    x.admin("GET", "/metrics", query={"limit": 100}, expect=200)
    x.admin("GET", "/metrics/{id}", path={"id": words["id"]}, expect=200)
    x.admin("GET", "/metrics/{id}", path={"id": spend["id"]}, expect=200)
    x.admin("PATCH", "/metrics", body=[{"id": spend["id"], "name": "Schema spend (renamed)", "units": "EUR"}], expect=200)
    x.admin("DELETE", "/metrics", query={"ids": [doomed["id"]]}, expect=200)
    x.admin("GET", "/metrics/{id}", path={"id": str(uuid.uuid4())}, expect=404)
    # documented error bodies: no key, then a body that is not the documented array
    x.admin("GET", "/metrics", key=None, expect=401)
    x.admin("POST", "/metrics", body={"name": "not an array"}, expect=(400, 422))


@flow("single")
def admin_points(x: Ctx) -> None:
    today = x.today()
    words = x.data["words"]["id"]
    body = x.admin("POST", "/points", expect=OK, body=[
        {
            "name": "Schema XP",
            "key": sid("xp"),
            "description": "Points for the schema check",
            "badge": {"url": "https://example.com/xp.png"},
            "maxPoints": 100000,
            "levels": [
                {"name": "Start", "key": "start", "points": 0},
                {"name": "Writer", "key": "writer", "points": 20, "description": "Twenty and up",
                 "badge": {"url": "https://example.com/writer.png"}},
            ],
            "boosts": [{"name": "Launch", "start": today.isoformat(), "multiplier": 2, "rounding": "down"}],
            "triggers": [{"type": "metric", "points": 5, "metricId": words, "metricThreshold": 1}],
        },
        {"name": "Schema coins", "key": sid("coins")},
        {"name": "Schema doomed", "key": sid("doomed-pts")},
    ])
    if body.get("issues") or len(body.get("created", [])) != 3:
        raise StepError(f"points create: {body!r}")
    xp, coins, doomed = body["created"]
    x.data["xp"], x.data["coins"] = xp, coins
    x.admin("GET", "/points", query={"limit": 100}, expect=200)
    x.admin("GET", "/points/{id}", path={"id": xp["id"]}, expect=200)
    x.admin("GET", "/points/{id}", path={"id": coins["id"]}, expect=200)
    x.admin("PATCH", "/points", body=[{"id": coins["id"], "description": "Coins", "maxPoints": None}], expect=200)
    x.admin("DELETE", "/points", query={"ids": [doomed["id"]]}, expect=200)
    x.admin("GET", "/points/{id}", path={"id": str(uuid.uuid4())}, expect=404)

    system = {"systemId": xp["id"]}
    # triggers
    x.admin("GET", "/points/{systemId}/triggers", path=system, expect=200)
    made = x.admin("POST", "/points/{systemId}/triggers", path=system, expect=OK, body=[
        {"type": "user_creation", "points": 3},
        {"type": "time", "points": 1, "timeUnit": "days", "timeInterval": 1, "status": "inactive"},
    ])
    if made.get("issues") or len(made.get("created", [])) != 2:
        raise StepError(f"trigger create: {made!r}")
    creation, timed = made["created"]
    x.admin("GET", "/points/{systemId}/triggers/{id}", path={**system, "id": creation["id"]}, expect=200)
    x.admin("GET", "/points/{systemId}/triggers/{id}", path={**system, "id": timed["id"]}, expect=200)
    x.admin("PATCH", "/points/{systemId}/triggers", path=system, body=[{"id": creation["id"], "points": 4}], expect=200)
    x.admin("DELETE", "/points/{systemId}/triggers", path=system, query={"ids": [timed["id"]]}, expect=200)
    x.admin("GET", "/points/{systemId}/triggers", path={"systemId": str(uuid.uuid4())}, expect=404)
    # levels
    x.admin("GET", "/points/{systemId}/levels", path=system, expect=200)
    level = created_one(x.admin("POST", "/points/{systemId}/levels", path=system, expect=OK, body=[
        {"name": "Doomed", "key": "doomed", "points": 500}
    ]), "level create")
    x.admin("GET", "/points/{systemId}/levels/{id}", path={**system, "id": level["id"]}, expect=200)
    x.admin("PATCH", "/points/{systemId}/levels", path=system, body=[{"id": level["id"], "points": 600}], expect=200)
    x.admin("DELETE", "/points/{systemId}/levels", path=system, query={"ids": [level["id"]]}, expect=200)
    # boosts
    x.admin("GET", "/points/{systemId}/boosts", path=system, expect=200)
    boost = created_one(x.admin("POST", "/points/{systemId}/boosts", path=system, expect=OK, body=[
        {"name": "Later", "start": (today + dt.timedelta(days=30)).isoformat(),
         "end": (today + dt.timedelta(days=31)).isoformat(), "multiplier": 1.5, "rounding": "nearest"}
    ]), "boost create")
    x.admin("GET", "/points/{systemId}/boosts/{id}", path={**system, "id": boost["id"]}, expect=200)
    x.admin("PATCH", "/points/{systemId}/boosts", path=system, body=[{"id": boost["id"], "multiplier": 3}], expect=200)
    x.admin("DELETE", "/points/{systemId}/boosts", path=system, query={"ids": [boost["id"]]}, expect=200)


@flow("single")
def admin_leaderboards(x: Ctx) -> None:
    today = x.today()
    body = x.admin("POST", "/leaderboards", expect=OK, body=[
        {"name": "Schema words", "key": sid("words-lb"), "rankBy": "metric", "metricId": x.data["words"]["id"],
         "status": "active", "start": today.isoformat(), "description": "Words, all time"},
        {"name": "Schema XP weekly", "key": sid("xp-lb"), "rankBy": "points", "pointsSystemId": x.data["xp"]["id"],
         "status": "active", "start": today.isoformat(), "runUnit": "day", "runInterval": 7,
         "breakdownAttributes": [x.data["attr_tier"]["id"]], "maxParticipants": 100},
        {"name": "Schema streaks", "key": sid("streak-lb"), "rankBy": "streak", "status": "active"},
        {"name": "Schema doomed", "key": sid("doomed-lb"), "rankBy": "streak"},
    ])
    if body.get("issues") or len(body.get("created", [])) != 4:
        raise StepError(f"leaderboard create: {body!r}")
    words_lb, xp_lb, streak_lb, doomed = body["created"]
    x.data["words_lb"], x.data["xp_lb"], x.data["streak_lb"] = words_lb, xp_lb, streak_lb
    x.admin("GET", "/leaderboards", query={"limit": 100}, expect=200)
    x.admin("GET", "/leaderboards/{id}", path={"id": words_lb["id"]}, expect=200)
    x.admin("PATCH", "/leaderboards", body=[{"id": streak_lb["id"], "description": "Longest streaks"}], expect=200)
    x.admin("DELETE", "/leaderboards", query={"ids": [doomed["id"]]}, expect=200)
    x.admin("GET", "/leaderboards/{id}", path={"id": str(uuid.uuid4())}, expect=404)


# ---- application API (single server) --------------------------------------------------------


@flow("single")
def app_users(x: Ctx) -> None:
    tier = x.data["attr_tier"]["key"]
    a, b = sid("ann"), sid("bob")
    x.data["ann"], x.data["bob"] = a, b
    x.app("POST", "/users", expect=201, body={
        "id": a, "email": "ann@example.com", "name": "Ann", "tz": "Europe/Amsterdam",
        "subscribeToEmails": True, "attributes": {"plan": "points", "country": "NL", tier: "gold"},
    })
    x.app("POST", "/users", expect=201, body={"id": b})  # every optional field left out
    x.app("GET", "/users/{id}", path={"id": a}, expect=200)
    x.app("GET", "/users/{id}", path={"id": b}, expect=200)
    x.app("PUT", "/users/{id}", path={"id": sid("cy")}, body={"name": "Cy", "deviceTokens": ["tok-1"]}, expect=200)
    x.app("PUT", "/users/{id}", path={"id": b}, body={"email": "bob@example.com"}, expect=200)
    x.app("PATCH", "/users/{id}", path={"id": a}, body={"name": "Ann B.", "tz": None}, expect=200)
    x.app("GET", "/users/{id}/preferences", path={"id": a}, expect=200)
    x.app("PATCH", "/users/{id}/preferences", path={"id": a}, expect=200, body={
        "notifications": {"recap": ["email"], "achievement_completed": ["email", "push"]},
    })
    # documented error bodies
    x.app("GET", "/achievements", key=None, expect=401)
    x.app("POST", "/users", body={"name": "no id"}, expect=(400, 422))
    x.app("PATCH", "/users/{id}", path={"id": sid("nobody")}, body={"name": "x"}, expect=404)
    x.app("PUT", "/users/{id}", path={"id": b}, body={"tz": "Mars/Olympus_Mons"}, expect=(400, 422))
    x.app("GET", "/achievements", query={"userAttributes": "no-colon"}, expect=(400, 422))
    x.app("GET", "/users/{id}/preferences", path={"id": sid("nobody")}, expect=404)


@flow("single")
def app_events(x: Ctx) -> None:
    a, b = x.data["ann"], x.data["bob"]
    tier, device = x.data["attr_tier"]["key"], x.data["attr_device"]["key"]
    # lessons: the config's achievements and streak; words: this run's points, boost and boards
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, expect=201,
          headers={"Idempotency-Key": sid("first")},
          body={"user": {"id": a}, "value": 1, "attributes": {"source": "mobile"}})
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, expect=202,
          headers={"Idempotency-Key": sid("first")},
          body={"user": {"id": a}, "value": 1, "attributes": {"source": "mobile"}})  # the replay
    x.app("POST", "/metrics/{key}/event", path={"key": x.data["words"]["key"]}, expect=201,
          body={"user": {"id": a, "attributes": {tier: "gold"}}, "value": 30, "attributes": {device: "phone"}})
    x.app("POST", "/metrics/{key}/event", path={"key": x.data["words"]["key"]}, expect=201,
          body={"user": {"id": b}, "value": 12})
    x.app("POST", "/metrics/{key}/event", path={"key": "minutes"}, expect=201,
          body={"user": {"id": a}, "value": 25.5})
    x.app("POST", "/metrics/{key}/event", path={"key": x.data["spend"]["key"]}, expect=201,
          body={"user": {"id": b}, "value": 9.99})
    x.app("POST", "/achievements/{key}/complete", path={"key": "finish-onboarding"}, expect=201,
          body={"user": {"id": a}})
    x.app("POST", "/achievements/{key}/complete", path={"key": "finish-onboarding"}, expect=201,
          body={"user": {"id": b, "email": "bob@example.com"}})
    # documented error bodies
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, body={"user": {"id": a}}, expect=(400, 422))
    x.app("POST", "/achievements/{key}/complete", path={"key": sid("no-such")}, body={"user": {"id": a}},
          expect=404)
    x.app("POST", "/achievements/{key}/complete", path={"key": "finish-onboarding"}, body={}, expect=(400, 422))
    x.app("PATCH", "/users/{id}/preferences", path={"id": a}, body={"notifications": {"recap": "email"}},
          expect=(400, 422))


@flow("single")
def app_reads(x: Ctx) -> None:
    a, b = x.data["ann"], x.data["bob"]
    today = x.today()
    x.app("GET", "/achievements", expect=200)
    x.app("GET", "/achievements", query={"userAttributes": "plan:points"}, expect=200)
    x.app("GET", "/users/{id}/achievements", path={"id": a}, expect=200)
    x.app("GET", "/users/{id}/achievements", path={"id": b}, query={"includeIncomplete": "true"}, expect=200)
    x.app("GET", "/users/{id}/metrics", path={"id": a}, expect=200)
    x.app("GET", "/users/{id}/metrics/{key}", path={"id": a, "key": "lessons"}, expect=200)
    x.app("GET", "/users/{id}/metrics/{key}", path={"id": b, "key": x.data["spend"]["key"]}, expect=200)
    window = {"startDate": (today - dt.timedelta(days=3)).isoformat(), "endDate": today.isoformat()}
    for aggregation in ("daily", "weekly", "monthly"):
        x.app("GET", "/users/{id}/metrics/{key}/event-summary", path={"id": a, "key": x.data["words"]["key"]},
              query={"aggregation": aggregation, **window}, expect=200)
    x.app("GET", "/users/{id}/metrics", path={"id": sid("nobody")}, expect=404)
    x.app("GET", "/users/{id}/metrics/{key}/event-summary", path={"id": a, "key": "lessons"},
          query={"aggregation": "hourly", **window}, expect=(400, 422))


@flow("single")
def app_points(x: Ctx) -> None:
    a, b = x.data["ann"], x.data["bob"]
    today = x.today()
    window = {"startDate": (today - dt.timedelta(days=3)).isoformat(), "endDate": today.isoformat()}
    for key in ("sdk-xp", x.data["xp"]["key"], x.data["coins"]["key"]):
        for user in (a, b):
            x.app("GET", "/users/{id}/points/{key}", path={"id": user, "key": key}, query={"awards": 5}, expect=200)
            x.app("GET", "/users/{id}/points/{key}/boosts", path={"id": user, "key": key}, expect=200)
        x.app("GET", "/users/{id}/points/{key}/event-summary", path={"id": a, "key": key},
              query={"aggregation": "daily", **window}, expect=200)
        x.app("GET", "/points/{key}/summary", path={"key": key}, expect=200)
        x.app("GET", "/points/{key}", path={"key": key}, expect=200)
        x.app("GET", "/points/{key}/boosts", path={"key": key}, query={"includeFinished": "true"}, expect=200)
        x.app("GET", "/points/{key}/levels", path={"key": key}, expect=200)
        if key != x.data["coins"]["key"]:
            x.app("GET", "/points/{key}/level-summary", path={"key": key}, expect=200)
    x.app("GET", "/points/{key}/level-summary", path={"key": x.data["coins"]["key"]}, expect=422)  # no levels
    x.app("GET", "/points/{key}", path={"key": sid("no-such")}, expect=404)
    x.app("GET", "/users/{id}/points/{key}/event-summary", path={"id": a, "key": "sdk-xp"},
          query={"aggregation": "yearly", **window}, expect=(400, 422))
    x.app("GET", "/users/{id}/points/{key}", path={"id": sid("nobody"), "key": "sdk-xp"}, expect=404)


@flow("single")
def app_leaderboards(x: Ctx) -> None:
    a = x.data["ann"]
    x.app("GET", "/leaderboards", expect=200)
    x.app("GET", "/leaderboards", query={"includeFinished": "true"}, expect=200)
    tier = x.data["attr_tier"]["key"]
    for board, attrs in (("minutes-all-time", None), ("minutes-weekly-by-country", "country:NL"),
                         (x.data["words_lb"]["key"], None), (x.data["xp_lb"]["key"], f"{tier}:gold"),
                         (x.data["streak_lb"]["key"], None)):
        query = {"limit": 10, **({"userAttributes": attrs} if attrs else {})}
        x.app("GET", "/leaderboards/{key}", path={"key": board}, query=query, expect=200)
        x.app("GET", "/users/{id}/leaderboards/{key}", path={"id": a, "key": board}, query={"numEvents": 5},
              expect=200)
    x.app("GET", "/leaderboards/{key}", path={"key": x.data["words_lb"]["key"]},
          query={"userId": a, "offset": 0, "limit": 5}, expect=200)
    x.app("GET", "/leaderboards/{key}", path={"key": "minutes-weekly-by-country"}, expect=422)  # no attributes
    x.app("GET", "/leaderboards/{key}", path={"key": sid("no-such")}, expect=404)
    x.app("GET", "/leaderboards/{key}", path={"key": "minutes-all-time"}, query={"run": "March"}, expect=(400, 422))
    x.app("GET", "/users/{id}/leaderboards/{key}", path={"id": a, "key": "minutes-all-time"},
          query={"run": "March"}, expect=(400, 422))


@flow("single")
def admin_streaks(x: Ctx) -> None:
    a, b = x.data["ann"], x.data["bob"]
    # a streak that is not active: extended is null
    x.app("GET", "/users/{id}/streak", path={"id": b}, expect=200)
    # Ann met today (lessons); tomorrow she meets again, so her streak is 2 and was extended
    x.s.advance(86400)
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, expect=201, body={"user": {"id": a}, "value": 1})
    x.app("GET", "/users/{id}/streak", path={"id": a}, query={"historyPeriods": 3}, expect=200)
    x.app("GET", "/streaks", query={"userIds": [a, b, sid("nobody")]}, expect=200)
    x.admin("POST", "/streaks/freezes", body={"freezes": [{"userId": a}, {"userId": sid("nobody")}]}, expect=OK)
    start = x.today() + dt.timedelta(days=2)
    made = x.admin("POST", "/streaks/pauses", expect=OK, body={"pauses": [
        {"userId": a, "start": start.isoformat(), "end": (start + dt.timedelta(days=2)).isoformat()}
    ]})
    pause = created_one(made, "pause create")
    x.admin("POST", "/streaks/pauses", body={"pauses": {"userId": a}}, expect=(400, 422))
    x.app("GET", "/users/{id}/streak", path={"id": a}, expect=200)  # now with a pause listed
    x.admin("DELETE", "/streaks/pauses", query={"ids": [pause["id"]]}, expect=200)
    # Bob's streak is lost after two quiet days; restore brings it back
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, expect=201, body={"user": {"id": b}, "value": 1})
    x.s.advance(3 * 86400)
    x.app("GET", "/users/{id}/streak", path={"id": b}, expect=200)
    x.admin("POST", "/streaks/restore", body={"users": [{"id": b}, {"id": sid("nobody")}]}, expect=OK)
    x.app("GET", "/users/{id}/streak", path={"id": sid("nobody")}, expect=404)
    x.admin("POST", "/streaks/freezes", body={"freezes": "not a list"}, expect=(400, 422))


@flow("single")
def admin_batch_events_and_keys(x: Ctx) -> None:
    a = x.data["ann"]
    x.admin("POST", "/metrics/events", expect=202, body=[
        {"key": "lessons", "user": {"id": sid("dee"), "name": "Dee"}, "value": 2, "idempotencyKey": sid("batch-1")},
        {"key": x.data["words"]["key"], "user": {"id": a}, "value": 5, "attributes": {x.data["attr_device"]["key"]: "web"}},
    ])
    x.admin("POST", "/metrics/events", body=[{"key": sid("no-such"), "user": {"id": a}, "value": 1}],
            expect=(400, 404, 422))
    made = created_one(x.admin("POST", "/application-api-keys", body=[{"userId": a}], expect=OK), "key create")
    x.admin("DELETE", "/application-api-keys", query={"ids": [made["id"]]}, expect=200)
    x.c.call(x.s, "admin", "GET", "/environments", expect=200)


@flow("single")
def app_wrapped(x: Ctx) -> None:
    a, b = x.data["ann"], x.data["bob"]
    year = x.today().year
    x.app("GET", "/users/{id}/wrapped", path={"id": a}, expect=200)
    x.app("GET", "/users/{id}/wrapped", path={"id": b}, query={"year": year}, expect=200)
    # a user with no events at all, and a year without activity
    x.app("GET", "/users/{id}/wrapped", path={"id": sid("cy")}, query={"year": year}, expect=200)
    x.app("GET", "/users/{id}/wrapped", path={"id": a}, query={"year": year - 1}, expect=200)
    x.app("GET", "/users/{id}/wrapped", path={"id": sid("nobody")}, expect=404)
    x.app("GET", "/users/{id}/wrapped", path={"id": a}, query={"year": "soon"}, expect=(400, 422))


# ---- multi-tenant server: tenants, and the application API under a Tenant-ID ------------------


@flow("multi")
def admin_tenants(x: Ctx) -> None:
    body = x.admin("POST", "/tenants", expect=OK, body=[
        {"customerId": sid("acme"), "name": "Acme"},
        {"customerId": sid("doomed"), "name": "Doomed"},
    ])
    if body.get("issues") or len(body.get("created", [])) != 2:
        raise StepError(f"tenant create: {body!r}")
    acme, doomed = body["created"]
    x.data["tenant"] = acme["customerId"]
    x.admin("GET", "/tenants", query={"limit": 100}, expect=200)
    x.admin("GET", "/tenants/{id}", path={"id": acme["id"]}, expect=200)
    x.admin("PATCH", "/tenants", body=[{"id": acme["id"], "name": "Acme Corp"}], expect=200)
    x.admin("DELETE", "/tenants", query={"ids": [doomed["id"]]}, expect=200)
    x.admin("GET", "/tenants/{id}", path={"id": str(uuid.uuid4())}, expect=404)
    x.admin("GET", "/tenants", key=None, expect=401)


@flow("multi")
def tenant_app(x: Ctx) -> None:
    t = x.data["tenant"]
    u = sid("tenant-user")
    x.app("POST", "/users", tenant=t, body={"id": u, "name": "Tenant user"}, expect=201)
    x.app("POST", "/metrics/{key}/event", path={"key": "lessons"}, tenant=t, expect=201,
          body={"user": {"id": u}, "value": 1})
    x.app("GET", "/users/{id}/streak", path={"id": u}, tenant=t, expect=200)
    x.app("GET", "/users/{id}/achievements", path={"id": u}, tenant=t, expect=200)
    x.admin("GET", "/metrics", tenant=t, expect=200)
    x.admin("POST", "/streaks/freezes", tenant=t, body={"freezes": [{"userId": u}]}, expect=OK)
    x.app("GET", "/users/{id}/wrapped", path={"id": u}, tenant=t, expect=200)


# --------------------------------------------------------------------------------------------


def find_specs(arg: Optional[str]) -> str:
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs")
    for candidate in (arg, os.environ.get("TROPHY_SPECS"), here):
        if candidate and all(os.path.exists(os.path.join(candidate, f)) for f, _ in SPEC_FILES.values()):
            return os.path.abspath(candidate)
    raise SystemExit(
        "check_schemas.py: the 1.21.1 specs were not found (give --specs DIR or TROPHY_SPECS; the "
        "repository keeps them in tests/sdk/schema/specs)"
    )


def failed_exchanges(exchanges):
    """The exchanges with problems, and the report lines that name them."""
    bad = [e for e in exchanges if e.problems]
    lines = []
    for e in bad:
        lines.append(f"{e.server}: {e.label} -> {e.status}")
        lines.extend("  " + problem for problem in e.problems)
    return bad, lines


def main(argv: List[str]) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--single", default=env("TROPHY_SDK_SINGLE_URL"), required=env("TROPHY_SDK_SINGLE_URL") is None)
    p.add_argument("--multi", default=env("TROPHY_SDK_MULTI_URL"))
    p.add_argument("--single-api-key", default=env("TROPHY_SDK_SINGLE_API_KEY", "tr_sdk_test_api_key"))
    p.add_argument("--single-admin-key", default=env("TROPHY_SDK_SINGLE_ADMIN_KEY", "tr_sdk_test_admin_key"))
    p.add_argument("--multi-api-key", default=env("TROPHY_SDK_MULTI_API_KEY", "tr_sdk_multi_api_key"))
    p.add_argument("--multi-admin-key", default=env("TROPHY_SDK_MULTI_ADMIN_KEY", "tr_sdk_multi_admin_key"))
    p.add_argument("--specs", default=None, help="directory holding the two 1.21.1 spec files")
    p.add_argument("--document", default=os.path.join(ROOT, "assets", "openapi.json"),
                   help="trophyd's OpenAPI document, also checked (default: assets/openapi.json)")
    p.add_argument("-v", dest="verbose", action="store_true", help="print every request")
    args = p.parse_args(argv)

    specs = Specs(find_specs(args.specs))
    checker = Checker(specs, args.verbose, Document(args.document))
    single = Server("single", args.single, args.single_api_key, args.single_admin_key)
    multi = Server("multi", args.multi, args.multi_api_key, args.multi_admin_key) if args.multi else None
    ctx = Ctx(checker, single, multi)

    passed = failed = 0

    def report(ok: bool, name: str, lines: List[str]) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   schema {name}")
        else:
            failed += 1
            owners = owner_tags(name, lines)
            details = [line for line in lines if line.lstrip().startswith("$")]
            every = bool(details) and all(owner_tags(name, [line]) for line in details)
            tag = "known, fixed on another branch" if every else "partly known"
            print(f"FAIL schema {name}" + (f" [{tag}: {'; '.join(owners)}]" if owners else ""))
            for line in lines:
                print(f"    {line}")
        sys.stdout.flush()

    for name, kind, fn in FLOWS:
        server = single if kind == "single" else multi
        if server is None:
            report(False, f"flow {name}", ["no --multi server given"])
            continue
        ctx.s = server
        try:
            fn(ctx)
        except StepError as e:
            report(False, f"flow {name} ({kind})", [str(e)])
        except Exception as e:  # noqa: BLE001 - reported, then the next flow runs
            report(False, f"flow {name} ({kind})",
                   "".join(traceback.format_exception(e)).rstrip().splitlines()[-12:])
        else:
            report(True, f"flow {name} ({kind})", [])

    uncovered = []
    for key in specs.order:
        op = specs.ops[key]
        exchanges = checker.exchanges.get(key, [])
        if not any(e.meant_to_succeed for e in exchanges):
            if key not in ALLOWED_UNCOVERED:
                uncovered.append(op.name)
            continue
        bad, lines = failed_exchanges(exchanges)
        statuses = sorted({str(e.status) for e in exchanges})
        report(not bad, f"{op.name} ({len(exchanges)} calls, HTTP {'/'.join(statuses)})", lines)

    for key, exchanges in checker.extra_exchanges.items():
        bad, lines = failed_exchanges(exchanges)
        report(not bad, f"{key[1]} {SPEC_FILES[key[0]][1]}{key[2]} (SDK 1.27.0 shape, not in 1.21.1)", lines)

    for (method, template), exchanges in sorted(checker.doc_exchanges.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        bad, lines = failed_exchanges(exchanges)
        statuses = sorted({str(e.status) for e in exchanges})
        report(not bad, f"openapi.json {method} {template} ({len(exchanges)} calls, HTTP {'/'.join(statuses)})", lines)

    stale = [f"{k[1]} {SPEC_FILES[k[0]][1]}{k[2]}" for k in ALLOWED_UNCOVERED if k not in specs.ops]
    report(not uncovered and not stale, f"coverage ({len(specs.ops)} operations in the 1.21.1 specs)",
           [f"never called with a request meant to succeed: {name}" for name in uncovered]
           + [f"allow-listed but not in the specs: {name}" for name in stale])
    for key, why in ALLOWED_UNCOVERED.items():
        print(f"     (not called: {key[1]} {SPEC_FILES[key[0]][1]}{key[2]}: {why})")
    for reason, count in checker.deviations.items():
        print(f"     ({count} accepted deviation(s): {reason})")
    for (api, method, template, status), (_, why) in STATUS_NOT_IN_SPEC.items():
        print(f"     (HTTP {status} accepted for {method} {SPEC_FILES[api][1]}{template}: {why})")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
