#!/usr/bin/env node
// Tests of the dashboard's fetch wrapper, `api.js`, as the server serves it
// (`GET /dashboard/api.js`), against running trophyd servers: the key and Tenant-ID it sends,
// JSON in and out, `{error}` answers thrown as ApiError with the status, what counts as a
// refused key, logout, and the Admin API actions the dashboard offers.
//
//   node test_api.mjs --url URL [--api-key K] [--admin-key K]
//                     [--multi URL --multi-api-key K --multi-admin-key K] [-k SUBSTRING]
//
// Started by tests/sdk/run.sh against its two servers. The last line printed is
// `N passed, M failed`; the exit status is 1 when anything failed.

import assert from "node:assert/strict";
import crypto from "node:crypto";

const RUN = crypto.randomBytes(4).toString("hex");
const uid = (name) => `dash-${RUN}-${name}`;

function parseArgs(argv) {
  const o = {
    url: "",
    apiKey: "tr_sdk_test_api_key",
    adminKey: "tr_sdk_test_admin_key",
    multi: "",
    multiApiKey: "tr_sdk_multi_api_key",
    multiAdminKey: "tr_sdk_multi_admin_key",
    filter: "",
  };
  const names = {
    "--url": "url",
    "--api-key": "apiKey",
    "--admin-key": "adminKey",
    "--multi": "multi",
    "--multi-api-key": "multiApiKey",
    "--multi-admin-key": "multiAdminKey",
    "-k": "filter",
  };
  for (let i = 0; i < argv.length; i++) {
    const field = names[argv[i]];
    if (!field || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument ${argv[i]}`);
    o[field] = argv[++i];
  }
  if (!o.url) throw new Error("--url is required");
  return o;
}

const opts = parseArgs(process.argv.slice(2));

/** sessionStorage's interface over a Map. */
class MemoryStorage {
  #items = new Map();
  getItem(k) {
    return this.#items.has(k) ? this.#items.get(k) : null;
  }
  setItem(k, v) {
    this.#items.set(k, String(v));
  }
  removeItem(k) {
    this.#items.delete(k);
  }
  get size() {
    return this.#items.size;
  }
}

/** The module as served, imported from its bytes (it has no imports of its own). */
async function loadServedModule(url) {
  const resp = await fetch(`${url}/dashboard/api.js`);
  assert.equal(resp.status, 200);
  assert.match(resp.headers.get("content-type"), /^text\/javascript/);
  const source = await resp.text();
  return import(`data:text/javascript;charset=utf-8,${encodeURIComponent(source)}`);
}

const { createApi, ApiError, isAuthError, query } = await loadServedModule(opts.url);

/** A client on `url` with its own storage, and a log of the requests it made. */
function client(url = opts.url) {
  const storage = new MemoryStorage();
  const sent = [];
  const api = createApi({
    base: url,
    storage,
    fetch: (input, init) => {
      sent.push({ url: input, ...init });
      return fetch(input, init);
    },
  });
  return { api, storage, sent };
}

/** Expects `promise` to reject with an ApiError of `status` (and `message`, if given). */
async function rejects(promise, status, message) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected a ${status} error, got success`);
  assert.ok(error instanceof ApiError, `not an ApiError: ${error}`);
  assert.equal(error.status, status, `status (message: ${error.message})`);
  if (message !== undefined) assert.equal(error.message, message);
  return error;
}

/** An event through the Application API, with plain fetch. */
async function event(url, apiKey, user, tenant) {
  const headers = { "X-API-KEY": apiKey, "Content-Type": "application/json" };
  if (tenant) headers["Tenant-ID"] = tenant;
  const resp = await fetch(`${url}/v1/metrics/lessons/event`, {
    method: "POST",
    headers,
    body: JSON.stringify({ user: { id: user }, value: 1 }),
  });
  assert.equal(resp.status, 201, await resp.text());
}

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

test("query() drops empty values and repeats arrays", () => {
  assert.equal(query({}), "");
  assert.equal(query({ a: 1, b: "", c: undefined, d: null, ids: ["x", "y z"] }), "?a=1&ids=x&ids=y+z");
});

test("without a key: 401 from the server, an auth error", async () => {
  const { api, sent } = client();
  assert.equal(api.loggedIn(), false);
  const e = await rejects(api.get("/dashboard/api/overview"), 401, "Missing API key");
  assert.ok(isAuthError(e));
  assert.equal(sent[0].headers["X-API-KEY"], undefined);
});

test("an application key is refused as an auth error", async () => {
  const { api } = client();
  api.login(opts.apiKey);
  const e = await rejects(api.get("/dashboard/api/overview"), 401, "Invalid API key");
  assert.ok(isAuthError(e));
});

test("the admin key (trimmed) is sent as X-API-KEY and the overview parses", async () => {
  const { api, sent, storage } = client();
  api.login(`  ${opts.adminKey}\n`);
  assert.equal(api.loggedIn(), true);
  assert.equal(storage.size, 1, "no tenant stored when none is given");
  const o = await api.get("/dashboard/api/overview");
  assert.equal(typeof o.users, "number");
  assert.equal(typeof o.events.total, "number");
  assert.equal(o.multiTenant, false);
  const req = sent.at(-1);
  assert.equal(req.url, `${opts.url}/dashboard/api/overview`);
  assert.equal(req.method, "GET");
  assert.equal(req.headers["X-API-KEY"], opts.adminKey);
  assert.equal(req.headers["Tenant-ID"], undefined);
  assert.equal(req.body, undefined);
});

test("overview counts move after an event", async () => {
  const { api } = client();
  api.login(opts.adminKey);
  const before = await api.get("/dashboard/api/overview");
  await event(opts.url, opts.apiKey, uid("counted"));
  const after = await api.get("/dashboard/api/overview");
  assert.equal(after.users, before.users + 1);
  assert.equal(after.events.total, before.events.total + 1);
  assert.equal(after.events.last24h, before.events.last24h + 1);
});

test("a JSON body goes out and a 422 comes back with the server's message", async () => {
  const { api, sent } = client();
  api.login(opts.adminKey);
  const e = await rejects(
    api.patch("/admin/v1/settings", { experimentation: { controlRatio: 150 } }),
    422,
    "controlRatio must be between 0 and 100",
  );
  assert.equal(isAuthError(e), false);
  const req = sent.at(-1);
  assert.equal(req.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(req.body), { experimentation: { controlRatio: 150 } });
  // The current value written back is accepted and answered.
  const current = await api.get("/admin/v1/settings");
  const ratio = current.experimentation.controlRatio;
  const after = await api.patch("/admin/v1/settings", { experimentation: { controlRatio: ratio } });
  assert.equal(after.experimentation.controlRatio, ratio);
});

test("an unknown route is a 404 ApiError", async () => {
  const { api } = client();
  api.login(opts.adminKey);
  await rejects(api.get("/admin/v1/nope"), 404, "Not found");
  await rejects(api.post("/admin/v1/webhooks/deliveries/nope/retry"), 404, "Webhook delivery not found");
});

test("webhook deliveries list with a status filter", async () => {
  const { api } = client();
  api.login(opts.adminKey);
  for (const status of ["", "pending", "failed", "delivered"]) {
    const rows = await api.get(`/admin/v1/webhooks/deliveries${query({ status, limit: 100 })}`);
    assert.ok(Array.isArray(rows));
    if (status) assert.ok(rows.every((r) => r.status === status), status);
  }
  await rejects(api.get(`/admin/v1/webhooks/deliveries${query({ status: "lost" })}`), 422);
});

test("application keys: create (shown once), listed in the overview, revoke", async () => {
  const { api } = client();
  api.login(opts.adminKey);
  const user = uid("keyed");
  await event(opts.url, opts.apiKey, user);
  const out = await api.post("/admin/v1/application-api-keys", [{ userId: user }]);
  assert.deepEqual(out.issues, []);
  const created = out.created[0];
  assert.ok(created.key.startsWith(`${created.prefix}.`));
  const listed = (await api.get("/dashboard/api/overview")).applicationApiKeys;
  const row = listed.find((k) => k.id === created.id);
  assert.deepEqual(Object.keys(row).sort(), ["created", "id", "prefix", "userId"]);
  assert.equal(row.userId, user);
  assert.equal(row.prefix, created.prefix);

  // The per-user key cannot sign in to the dashboard.
  const other = client();
  other.api.login(created.key);
  assert.ok(isAuthError(await rejects(other.api.get("/dashboard/api/overview"), 403)));

  const gone = await api.del(`/admin/v1/application-api-keys${query({ ids: created.id })}`);
  assert.deepEqual(gone.deleted, [{ id: created.id }]);
  const after = (await api.get("/dashboard/api/overview")).applicationApiKeys;
  assert.equal(after.find((k) => k.id === created.id), undefined);
});

test("logout clears the stored key and tenant", async () => {
  const { api, storage } = client();
  api.login(opts.adminKey, "someone");
  assert.equal(storage.size, 2);
  assert.deepEqual(api.credentials(), { key: opts.adminKey, tenant: "someone" });
  api.logout();
  assert.equal(storage.size, 0);
  assert.equal(api.loggedIn(), false);
  await rejects(api.get("/dashboard/api/overview"), 401);
});

test("an unreachable server is an ApiError with status 0", async () => {
  const { api } = client("http://127.0.0.1:9");
  api.login(opts.adminKey);
  const e = await rejects(api.get("/dashboard/api/overview"), 0);
  assert.equal(isAuthError(e), false);
});

// Only with a multi-tenant server to run against.
const multiTest = opts.multi ? test : () => {};

multiTest("multi-tenant: Tenant-ID is sent and the overview is the tenant's", async () => {
  const { api, sent } = client(opts.multi);
  api.login(opts.multiAdminKey);
  const missing = await rejects(api.get("/dashboard/api/overview"), 400, "Tenant-ID header is required");
  assert.equal(isAuthError(missing), false);

  const tenant = uid("tenant");
  const made = await api.post("/admin/v1/tenants", [{ customerId: tenant, name: "Dashboard test" }]);
  assert.equal(made.created.length, 1, JSON.stringify(made));
  api.login(opts.multiAdminKey, `${tenant} `);
  const empty = await api.get("/dashboard/api/overview");
  assert.equal(sent.at(-1).headers["Tenant-ID"], tenant);
  assert.equal(empty.multiTenant, true);
  assert.equal(empty.users, 0);
  assert.equal(empty.events.total, 0);
  await event(opts.multi, opts.multiApiKey, "ann", tenant);
  const one = await api.get("/dashboard/api/overview");
  assert.equal(one.users, 1);
  assert.equal(one.events.total, 1);

  api.login(opts.multiAdminKey, uid("nobody"));
  await rejects(api.get("/dashboard/api/overview"), 404);
});

let passed = 0;
let failed = 0;
for (const [name, fn] of tests) {
  if (!name.includes(opts.filter)) continue;
  try {
    await fn();
    passed++;
    console.log(`ok   dashboard ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL dashboard ${name}`);
    console.log(`    ${String((e && e.stack) || e).replace(/\n/g, "\n    ")}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
