#!/usr/bin/env node
// Acceptance tests of trophyd through the official Node SDK (npm `@trophyso/node` 1.0.42).
//
// Every Node SDK method that maps to a route trophyd implements is called, and the values that
// come back are checked (totals, round-tripped fields, error classes and messages), not only
// that the SDK could parse them. Node 1.0.42 cannot send Tenant-ID, so only the single-tenant
// server (tests/sdk/trophy.toml, started with --test-clock) is used.
//
//   node test_sdk.js --url http://127.0.0.1:PORT [--api-key K] [--admin-key K] [-k SUBSTRING]
//   (or TROPHY_SDK_SINGLE_URL / TROPHY_SDK_SINGLE_API_KEY / TROPHY_SDK_SINGLE_ADMIN_KEY)
//
// The test clock is moved with plain HTTP (fetch); it only moves forward, so every test works
// from the clock's current reading. Tests marked `serverBug: "..."` fail because of a known
// trophyd defect; they still run and still count as failures.
//
// The last line printed is `N passed, M failed`; the exit status is 1 when anything failed.
"use strict";

const crypto = require("node:crypto");
const { TrophyApiClient, TrophyApi, TrophyApiError } = require("@trophyso/node");

const RUN = crypto.randomBytes(4).toString("hex");
const uid = (name) => `node-${RUN}-${name}`;
const OPTS = { maxRetries: 0, timeoutInSeconds: 10 };

const METRICS = { lessons: "Lessons completed", minutes: "Minutes studied" };
// The [streaks] of tests/sdk/trophy.toml: daily on lessons, freezes 1 to start, at most 3, +1 every 7 days.
const FREEZES = { start: 1, max: 3, interval: 7, amount: 1 };
// The [[achievements]] of tests/sdk/trophy.toml, in file (= creation) order.
const CONFIG_KEYS = [
  "first-lesson",
  "three-lessons",
  "mobile-lesson",
  "two-day-streak",
  "finish-onboarding",
  "onboarded-learner",
  "legacy-badge", // locked
  "coming-soon", // inactive
  "pro-member", // user_attributes plan=pro
];
const ACTIVE_KEYS = CONFIG_KEYS.filter((k) => k !== "legacy-badge" && k !== "coming-soon");
const USER_ATTR_MESSAGE = (keys) =>
  `Invalid attribute keys: ${keys}. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes.`;
const EVENT_ATTR_MESSAGE = (keys) =>
  `Invalid attribute keys: ${keys}. Please ensure all attribute keys match those set up at https://app.trophy.so/metrics.`;

// ---------------------------------------------------------------------------------------------
// arguments

function parseArgs(argv) {
  const o = {
    url: process.env.TROPHY_SDK_SINGLE_URL,
    apiKey: process.env.TROPHY_SDK_SINGLE_API_KEY || "tr_sdk_test_api_key",
    adminKey: process.env.TROPHY_SDK_SINGLE_ADMIN_KEY || "tr_sdk_test_admin_key",
    filter: "",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--url" || a === "--single") o.url = next();
    else if (a === "--api-key") o.apiKey = next();
    else if (a === "--admin-key") o.adminKey = next();
    else if (a === "-k") o.filter = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.url) throw new Error("give --url http://127.0.0.1:PORT (or TROPHY_SDK_SINGLE_URL)");
  o.url = o.url.replace(/\/+$/, "");
  return o;
}

// ---------------------------------------------------------------------------------------------
// assertions

class Failure extends Error {}

function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

// JSON text with object keys sorted, so that key order does not matter
function canon(v) {
  return JSON.stringify(v, (_, x) =>
    x && typeof x === "object" && !Array.isArray(x) && !(x instanceof Date)
      ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
      : x,
  );
}

function same(a, b) {
  return canon(a) === canon(b);
}

function eq(actual, expected, what) {
  if (!same(actual, expected)) {
    throw new Failure(`${what}: expected ${canon(expected)}, got ${canon(actual)}`);
  }
}

function close(actual, expected, what) {
  if (typeof actual !== "number" || Math.abs(actual - expected) > 1e-9) {
    throw new Failure(`${what}: expected ${expected}, got ${JSON.stringify(actual)}`);
  }
}

function near(actual, expected, what, slackMs = 1000) {
  check(actual instanceof Date && !isNaN(actual), `${what}: not a Date: ${actual}`);
  if (Math.abs(actual.getTime() - expected.getTime()) > slackMs) {
    throw new Failure(`${what}: expected ${expected.toISOString()}, got ${actual.toISOString()}`);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Await `promise`, which must reject with the SDK's error for `status` (of class `cls` when
// given) and an {"error": "<message>"} body.
async function expectError(promise, status, { cls, message, contains, what = "call" } = {}) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    if (!(e instanceof TrophyApiError)) {
      throw new Failure(`${what}: expected HTTP ${status}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    }
    if (e.statusCode !== status) {
      throw new Failure(`${what}: expected HTTP ${status}, got ${e.statusCode} body=${JSON.stringify(e.body)}`);
    }
    if (cls && !(e instanceof cls)) {
      throw new Failure(`${what}: expected ${cls.name}, got ${e.constructor.name}`);
    }
    const body = e.body;
    if (!(body && typeof body.error === "string" && body.error)) {
      throw new Failure(`${what}: error body must be {"error": "<message>"}, got ${JSON.stringify(body)}`);
    }
    if (message !== undefined && body.error !== message) {
      throw new Failure(`${what}: error message\n  expected ${JSON.stringify(message)}\n  got      ${JSON.stringify(body.error)}`);
    }
    if (contains !== undefined && !body.error.toLowerCase().includes(contains.toLowerCase())) {
      throw new Failure(`${what}: error message should mention ${JSON.stringify(contains)}, got ${JSON.stringify(body.error)}`);
    }
    return e;
  }
  throw new Failure(`${what}: expected HTTP ${status}, but the call succeeded with ${JSON.stringify(result)}`);
}

// ---------------------------------------------------------------------------------------------
// server: SDK client and the test clock

class Server {
  constructor({ url, apiKey, adminKey }) {
    this.base = url;
    this.apiKey = apiKey;
    this.adminKey = adminKey;
  }

  client(apiKey = this.apiKey) {
    return new TrophyApiClient({ apiKey, environment: { api: `${this.base}/v1`, admin: `${this.base}/admin/v1` } });
  }

  async http(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: { "X-API-KEY": this.adminKey, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }

  async clock() {
    const r = await this.http("GET", "/_test/clock");
    check(r.status === 200, `GET /_test/clock: HTTP ${r.status} ${JSON.stringify(r.body)} (is --test-clock on?)`);
    return new Date(r.body.now);
  }

  async setClock(when) {
    const stamp = when.toISOString().replace(/\.\d{3}Z$/, "Z");
    const r = await this.http("POST", "/_test/clock", { now: stamp });
    check(r.status === 200, `POST /_test/clock ${stamp}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    near(new Date(r.body.now), when, "clock after POST /_test/clock", 0);
    return when;
  }

  async advance(seconds) {
    const before = await this.clock();
    const r = await this.http("POST", "/_test/clock", { advanceSeconds: seconds });
    check(r.status === 200, `POST /_test/clock advanceSeconds: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    const after = new Date(r.body.now);
    near(after, new Date(before.getTime() + seconds * 1000), "clock after advanceSeconds");
    return after;
  }

  // Move the clock to `day` (a "YYYY-MM-DD" string) at hour:00 UTC.
  async moveToDay(day, hour) {
    return this.setClock(new Date(`${day}T${String(hour).padStart(2, "0")}:00:00Z`));
  }

  // Move the clock to tomorrow (UTC date of the clock + 1) at hour:00 UTC; returns that date.
  async nextDay(hour) {
    const now = await this.clock();
    const day = addDays(isoDate(now), 1);
    await this.moveToDay(day, hour);
    return day;
  }
}

// dates as "YYYY-MM-DD" strings
const isoDate = (d) => d.toISOString().slice(0, 10);
const localDate = (when, tz) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(when);
const addDays = (day, n) => isoDate(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86400000));
const weekday = (day) => (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0

function periodStart(day, aggregation) {
  if (aggregation === "daily") return day;
  if (aggregation === "weekly") return addDays(day, -weekday(day));
  return `${day.slice(0, 8)}01`;
}

function nextPeriod(p, aggregation) {
  if (aggregation === "daily") return addDays(p, 1);
  if (aggregation === "weekly") return addDays(p, 7);
  const [y, m] = p.split("-").map(Number);
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, "0")}-01`;
}

// One item per period covering [start, end], empty ones included, oldest first:
// {date: first day of the period, total: running total at its end, change: sum within it}.
function expectedSummary(events, start, end, aggregation) {
  const out = [];
  for (let p = periodStart(start, aggregation); p <= end; p = nextPeriod(p, aggregation)) {
    const nxt = nextPeriod(p, aggregation);
    const change = events.filter(([d]) => d >= p && d < nxt).reduce((s, [, v]) => s + v, 0);
    const total = events.filter(([d]) => d < nxt).reduce((s, [, v]) => s + v, 0);
    out.push({ date: p, total, change });
  }
  return out;
}

async function checkSummary(c, user, metric, aggregation, start, end, events) {
  const got = await c.users.metricEventSummary(user, metric, { aggregation, startDate: start, endDate: end }, OPTS);
  const expected = expectedSummary(events, start, end, aggregation);
  const norm = (items) => items.map((i) => ({ date: i.date, total: i.total, change: i.change }));
  if (!same(norm(got), expected)) {
    throw new Failure(
      `${aggregation} event summary of ${metric} for ${user} ${start}..${end}:\n` +
        `  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(norm(got))}`,
    );
  }
}

// A daily streak (BaseStreakResponse and its variants) with the configured freeze settings.
function checkStreak(st, what, { length, started = null, period, expires = null, freezes, extended }) {
  eq(
    [st.length, st.frequency, st.started ?? null, st.periodStart, st.periodEnd, st.expires ?? null],
    [length, "daily", started, period, period, expires],
    `${what}: [length, frequency, started, periodStart, periodEnd, expires]`,
  );
  eq(
    [st.freezes, st.maxFreezes, st.freezeAutoEarnInterval, st.freezeAutoEarnAmount],
    [freezes, FREEZES.max, FREEZES.interval, FREEZES.amount],
    `${what}: [freezes, maxFreezes, freezeAutoEarnInterval, freezeAutoEarnAmount]`,
  );
  if (extended !== undefined) eq(st.extended, extended, `${what}: extended`);
}

// streakHistory: daily periods from `first`, one per entry of `lengths`; `freezeDays` and
// `pauseDays` are the offsets of the covered periods.
function checkHistory(st, first, lengths, what, { freezeDays = [], pauseDays = [] } = {}) {
  const expected = lengths.map((n, k) => [addDays(first, k), addDays(first, k), n, freezeDays.includes(k), pauseDays.includes(k)]);
  const got = (st.streakHistory || []).map((h) => [h.periodStart, h.periodEnd, h.length, h.usedFreeze, h.usedPause]);
  eq(got, expected, `${what}: streakHistory [periodStart, periodEnd, length, usedFreeze, usedPause]`);
}

const keysOf = (items) => items.map((a) => a.key);
const byKey = (items) => Object.fromEntries(items.map((a) => [a.key, a]));

// ---------------------------------------------------------------------------------------------
// tests

const TESTS = [];
const test = (name, fn, serverBug) => TESTS.push({ name, fn, serverBug });

test("users_create_get_roundtrip", async (s) => {
  const c = s.client();
  const now = await s.clock();
  const u = uid("create");
  const created = await c.users.create(
    {
      id: u,
      email: "ada@example.com",
      name: "Ada",
      tz: "Europe/London",
      deviceTokens: ["token-a", "token-b"],
      subscribeToEmails: true,
      attributes: { plan: "free" },
    },
    OPTS,
  );
  const got = await c.users.get(u, OPTS);
  for (const [label, user] of [["create", created], ["get", got]]) {
    eq(user.id, u, `${label}: id`);
    eq(user.email, "ada@example.com", `${label}: email`);
    eq(user.name, "Ada", `${label}: name`);
    eq(user.tz, "Europe/London", `${label}: tz`);
    eq(user.deviceTokens, ["token-a", "token-b"], `${label}: deviceTokens`);
    eq(user.subscribeToEmails, true, `${label}: subscribeToEmails`);
    eq(user.attributes, { plan: "free" }, `${label}: attributes`);
    eq(user.control, false, `${label}: control`);
    near(user.created, now, `${label}: created (test clock)`);
    near(user.updated, now, `${label}: updated (test clock)`);
  }
});

test("users_ids_with_special_characters", async (s) => {
  const c = s.client();
  // (Node 1.0.42 puts ids into the path without percent-encoding, so no "/", "%", "?" or "#")
  for (const suffix of ["mail@example.com", "with space", "ünïcødé"]) {
    const u = uid(suffix);
    eq((await c.users.create({ id: u, name: suffix }, OPTS)).id, u, `create id ${u}`);
    const got = await c.users.get(u, OPTS);
    eq([got.id, got.name], [u, suffix], `get id ${u}`);
    eq((await c.users.update(u, { name: "renamed" }, OPTS)).name, "renamed", `update id ${u}`);
    close((await c.metrics.event("lessons", { user: { id: u }, value: 2 }, OPTS)).total, 2, `event for id ${u}`);
    close((await c.users.singleMetric(u, "lessons", OPTS)).current, 2, `singleMetric for id ${u}`);
    eq((await c.users.getPreferences(u, OPTS)).notifications, {}, `getPreferences for id ${u}`);
  }
});

test("users_update_patches_only_sent_fields", async (s) => {
  const c = s.client();
  const u = uid("update");
  const first = await c.users.create(
    { id: u, email: "bo@example.com", name: "Bo", tz: "Asia/Tokyo", deviceTokens: ["t1"], attributes: { plan: "free" } },
    OPTS,
  );
  const later = await s.advance(90);
  let user = await c.users.update(u, { name: "Bob" }, OPTS);
  eq(
    [user.name, user.email, user.tz, user.deviceTokens, user.attributes],
    ["Bob", "bo@example.com", "Asia/Tokyo", ["t1"], { plan: "free" }],
    "PATCH changes only the name",
  );
  near(user.created, first.created, "created unchanged", 0);
  near(user.updated, later, "updated moves to the current (test clock) time");
  user = await c.users.update(u, { deviceTokens: ["t2", "t3"] }, OPTS);
  eq(user.deviceTokens, ["t2", "t3"], "deviceTokens replaced");
  // attributes merge key by key
  user = await c.users.update(u, { attributes: { country: "NZ" } }, OPTS);
  eq(user.attributes, { plan: "free", country: "NZ" }, "attribute added, others kept");
  user = await c.users.update(u, { attributes: { plan: "pro" } }, OPTS);
  eq(user.attributes, { plan: "pro", country: "NZ" }, "attribute overwritten, others kept");
  // an explicit null clears tz
  user = await c.users.update(u, { tz: null }, OPTS);
  eq([user.tz, user.name], [undefined, "Bob"], "tz: null clears tz, name kept");
  eq((await c.users.get(u, OPTS)).tz, undefined, "tz cleared in storage");
});

test("users_identify_upserts", async (s) => {
  const c = s.client();
  const u = uid("identify");
  await expectError(c.users.get(u, OPTS), 404, { what: "GET before identify" });
  let user = await c.users.identify(u, { email: "di@example.com", name: "Di", tz: "Australia/Sydney", attributes: { plan: "team" } }, OPTS);
  eq([user.id, user.email, user.name, user.tz, user.attributes], [u, "di@example.com", "Di", "Australia/Sydney", { plan: "team" }], "identify creates");
  user = await c.users.identify(u, { name: "Diana", attributes: { country: "AU" } }, OPTS);
  eq(
    [user.email, user.name, user.tz, user.attributes],
    ["di@example.com", "Diana", "Australia/Sydney", { plan: "team", country: "AU" }],
    "identify updates only the fields sent",
  );
  const got = await c.users.get(u, OPTS);
  eq([got.name, got.attributes], ["Diana", { plan: "team", country: "AU" }], "GET after identify");
});

test("users_validation_errors", async (s) => {
  const c = s.client();
  const u = uid("invalid");
  await expectError(c.users.create({ id: u, subscribeToEmails: true }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    contains: "email",
    what: "create subscribeToEmails=true without email",
  });
  await expectError(c.users.create({ id: u, attributes: { pln: "pro" } }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    message: USER_ATTR_MESSAGE("pln"),
    what: "create with an unknown attribute",
  });
  await expectError(c.users.create({ id: u, tz: "Mars/Olympus_Mons" }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    what: "create with an invalid tz",
  });
  await expectError(c.users.get(u, OPTS), 404, { what: "rejected creates store no user" });
  await c.users.create({ id: u, name: "Gil", attributes: { plan: "free" } }, OPTS);
  await expectError(c.users.update(u, { subscribeToEmails: true }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    contains: "email",
    what: "PATCH subscribeToEmails=true without email",
  });
  await expectError(c.users.identify(u, { name: "X", attributes: { source: "web" } }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    message: USER_ATTR_MESSAGE("source"),
    what: "PUT with an event attribute key",
  });
  const user = await c.users.get(u, OPTS);
  eq([user.name, user.attributes], ["Gil", { plan: "free" }], "rejected requests changed nothing");
  await expectError(c.users.update(uid("nobody"), { name: "X" }, OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "PATCH unknown user",
  });
  await expectError(s.client("not-a-key").users.get(u, OPTS), 401, {
    cls: TrophyApi.UnauthorizedError,
    what: "bad API key",
  });
});

test("preferences_get_and_update", async (s) => {
  const c = s.client();
  const u = uid("prefs");
  await c.users.create({ id: u, email: "pr@example.com" }, OPTS);
  let prefs = await c.users.getPreferences(u, OPTS);
  eq(prefs.notifications, {}, "a new user has set no notification preference");
  prefs = await c.users.updatePreferences(u, { notifications: { achievementCompleted: ["email"], recap: [] } }, OPTS);
  eq(prefs.notifications, { achievementCompleted: ["email"], recap: [] }, "after the first update");
  prefs = await c.users.updatePreferences(u, { notifications: { streakReminder: ["email", "push"], achievementCompleted: ["push"] } }, OPTS);
  const expected = { achievementCompleted: ["push"], recap: [], streakReminder: ["email", "push"] };
  const sorted = (n) => Object.fromEntries(Object.keys(n).sort().map((k) => [k, [...n[k]].sort()]));
  eq(sorted(prefs.notifications), expected, "after the second update (types sent replaced, others kept)");
  eq(sorted((await c.users.getPreferences(u, OPTS)).notifications), expected, "GET returns what was stored");
  await expectError(c.users.getPreferences(uid("prefs-nobody"), OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "GET preferences of an unknown user",
  });
  await expectError(c.users.updatePreferences(uid("prefs-nobody"), { notifications: { recap: ["email"] } }, OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "PATCH preferences of an unknown user",
  });
});

test("event_totals_and_response_shape", async (s) => {
  const c = s.client();
  const u = uid("events");
  const now = await s.clock();
  const today = localDate(now, "Europe/Paris"); // periods are cut in the user's time zone
  const r1 = await c.metrics.event("lessons", { user: { id: u, name: "Eve", tz: "Europe/Paris" }, value: 3 }, OPTS);
  close(r1.total, 3, "total after the first event");
  check(UUID_RE.test(r1.eventId), `eventId is a UUID: ${r1.eventId}`);
  check(UUID_RE.test(r1.metricId), `metricId is a UUID: ${r1.metricId}`);
  eq(keysOf(r1.achievements).sort(), ["first-lesson", "three-lessons"], "3 lessons complete both unfiltered lessons achievements");
  for (const a of r1.achievements) {
    near(a.achievedAt, now, `${a.key}: achievedAt`);
    eq([a.trigger, a.metricId, a.metricName], ["metric", r1.metricId, METRICS.lessons], `${a.key}: trigger, metricId, metricName`);
  }
  eq([r1.points, r1.leaderboards], [{}, {}], "no points or leaderboards configured");
  checkStreak(r1.currentStreak, "currentStreak after the first lessons event", {
    length: 1, started: today, period: today, expires: addDays(today, 1), freezes: FREEZES.start, extended: true,
  });
  eq([r1.idempotencyKey, r1.idempotentReplayed], [undefined, undefined], "no idempotency fields without the header");
  const r2 = await c.metrics.event("lessons", { user: { id: u }, value: 2.5 }, OPTS);
  close(r2.total, 5.5, "total after the second event");
  check(r2.eventId !== r1.eventId, "each event gets a new eventId");
  eq(r2.achievements, [], "second event: nothing new");
  checkStreak(r2.currentStreak, "currentStreak after a second event the same day", {
    length: 1, started: today, period: today, expires: addDays(today, 1), freezes: FREEZES.start, extended: false,
  });
  const r3 = await c.metrics.event("lessons", { user: { id: u }, value: -1.5 }, OPTS);
  close(r3.total, 4, "negative values decrement");
  const m = await c.metrics.event("minutes", { user: { id: u }, value: 30, attributes: { source: "mobile" } }, OPTS);
  close(m.total, 30, "other metric, with a configured event attribute");
  check(m.metricId !== r1.metricId, "other metric has another metricId");
  eq(m.achievements, [], "minutes: its only achievement is inactive");
  eq([m.currentStreak.length, m.currentStreak.extended], [1, false], "minutes do not extend the streak");
  const user = await c.users.get(u, OPTS);
  eq([user.name, user.tz], ["Eve", "Europe/Paris"], "user created by the event");
});

test("event_idempotency", async (s) => {
  const c = s.client();
  const u = uid("idem");
  const key = `node-idem-${RUN}`;
  const first = await c.metrics.event("lessons", { idempotencyKey: key, user: { id: u }, value: 5 }, OPTS);
  eq([first.idempotencyKey, first.idempotentReplayed], [key, false], "first use of the key");
  close(first.total, 5, "first use: total");
  const again = await c.metrics.event("lessons", { idempotencyKey: key, user: { id: u }, value: 7 }, OPTS);
  eq([again.idempotencyKey, again.idempotentReplayed], [key, true], "replay");
  close(again.total, 5, "replay: total unchanged");
  eq(again.eventId, first.eventId, "replay: eventId of the original event");
  const other = await c.metrics.event("minutes", { idempotencyKey: key, user: { id: u }, value: 7 }, OPTS);
  eq(other.idempotentReplayed, false, "same key, other metric: not a replay");
  close(other.total, 7, "same key, other metric: counted");
  close((await c.users.singleMetric(u, "lessons", OPTS)).current, 5, "stored lessons total");
  close((await c.users.singleMetric(u, "minutes", OPTS)).current, 7, "stored minutes total");
});

test("event_errors", async (s) => {
  const c = s.client();
  const u = uid("event-errors");
  await expectError(c.metrics.event("no-such-metric", { user: { id: u }, value: 1 }, OPTS), 404, {
    what: "event on an unknown metric",
  });
  await expectError(c.metrics.event("lessons", { user: { id: u }, value: 1, attributes: { device: "ios" } }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    message: EVENT_ATTR_MESSAGE("device"),
    what: "unknown event attribute",
  });
  await expectError(c.metrics.event("lessons", { user: { id: u, attributes: { pln: "x" } }, value: 1 }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    message: USER_ATTR_MESSAGE("pln"),
    what: "unknown user attribute on the event's user",
  });
  await expectError(c.users.get(u, OPTS), 404, { what: "rejected events create no user" });
});

test("all_metrics_and_single_metric", async (s) => {
  const c = s.client();
  const u = uid("read");
  await c.users.create({ id: u }, OPTS);
  const before = await c.users.allMetrics(u, OPTS);
  eq(before.map((m) => m.key).sort(), Object.keys(METRICS).sort(), "every active metric is listed");
  eq(before.map((m) => m.current), [0, 0], "no events yet");
  const ev = await c.metrics.event("lessons", { user: { id: u }, value: 4 }, OPTS);
  await c.metrics.event("lessons", { user: { id: u }, value: 1.25 }, OPTS);
  const evMin = await c.metrics.event("minutes", { user: { id: u }, value: 45 }, OPTS);
  const listed = Object.fromEntries((await c.users.allMetrics(u, OPTS)).map((m) => [m.key, m]));
  eq(Object.keys(listed).sort(), Object.keys(METRICS).sort(), "allMetrics keys");
  for (const [key, name] of Object.entries(METRICS)) {
    eq([listed[key].name, listed[key].status], [name, "active"], `${key}: name/status`);
  }
  close(listed.lessons.current, 5.25, "lessons current");
  close(listed.minutes.current, 45, "minutes current");
  eq([listed.lessons.id, listed.minutes.id], [ev.metricId, evMin.metricId], "ids match the events' metricId");
  eq(listed.minutes.achievements, [], "minutes: achievements (its only one is inactive, so hidden)");
  const one = await c.users.singleMetric(u, "lessons", OPTS);
  eq([one.id, one.key, one.name, one.status], [ev.metricId, "lessons", METRICS.lessons, "active"], "singleMetric");
  close(one.current, 5.25, "singleMetric current");
  // the lessons achievements with the user's progress: 4 lessons (no source=mobile) completed
  // first-lesson and three-lessons with the first event; mobile-lesson is not done
  const doneAt = Object.fromEntries(ev.achievements.map((a) => [a.key, a.achievedAt.toISOString()]));
  eq(Object.keys(doneAt).sort(), ["first-lesson", "three-lessons"], "completed by the first event");
  for (const [label, got] of [["allMetrics", listed.lessons.achievements], ["singleMetric", one.achievements]]) {
    eq(keysOf(got).sort(), ["first-lesson", "mobile-lesson", "three-lessons"], `${label}: lessons achievements`);
    eq(got.map((a) => a.metricValue), [1, 1, 3], `${label}: sorted by metricValue`);
    for (const a of got) {
      eq(a.achievedAt ? a.achievedAt.toISOString() : null, doneAt[a.key] ?? null, `${label}: ${a.key} achievedAt`);
      eq([a.metricId, a.metricName], [ev.metricId, METRICS.lessons], `${label}: ${a.key} metricId, metricName`);
    }
  }
  // one lesson from mobile completes the filtered one
  const mob = await c.metrics.event("lessons", { user: { id: u }, value: 1, attributes: { source: "mobile" } }, OPTS);
  eq(keysOf(mob.achievements), ["mobile-lesson"], "a lesson from mobile");
  eq(mob.achievements[0].eventAttribute, { key: "source", value: "mobile" }, "mobile-lesson eventAttribute");
  const after = await c.users.singleMetric(u, "lessons", OPTS);
  eq(
    after.achievements.map((a) => [a.key, a.achievedAt ? a.achievedAt.toISOString() : null]).sort(),
    Object.entries({ ...doneAt, "mobile-lesson": mob.achievements[0].achievedAt.toISOString() }).sort(),
    "every lessons achievement done, at the times the events reported",
  );
  await expectError(c.users.allMetrics(uid("read-nobody"), OPTS), 404, { cls: TrophyApi.NotFoundError, what: "allMetrics unknown user" });
  await expectError(c.users.singleMetric(uid("read-nobody"), "lessons", OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "singleMetric unknown user",
  });
  await expectError(c.users.singleMetric(u, "no-such-metric", OPTS), 404, { cls: TrophyApi.NotFoundError, what: "singleMetric unknown metric" });
});

test("metric_event_summary", async (s) => {
  const c = s.client();
  const u = uid("summary");
  const d0 = await s.nextDay(10);
  const events = [];
  const send = async (offset, value) => {
    const day = addDays(d0, offset);
    if (isoDate(await s.clock()) !== day) await s.moveToDay(day, 10);
    await c.metrics.event("lessons", { user: { id: u, tz: "UTC" }, value }, OPTS);
    events.push([day, value]);
  };
  await send(0, 3);
  await send(2, 4);
  await send(3, -1);
  await send(15, 2.5);
  close((await c.users.singleMetric(u, "lessons", OPTS)).current, 8.5, "lessons total");
  await checkSummary(c, u, "lessons", "daily", addDays(d0, -1), addDays(d0, 4), events);
  await checkSummary(c, u, "lessons", "weekly", addDays(d0, -1), addDays(d0, 15), events);
  await checkSummary(c, u, "lessons", "monthly", addDays(d0, -35), addDays(d0, 15), events);
  const daily = await c.users.metricEventSummary(u, "lessons", { aggregation: "daily", startDate: addDays(d0, -1), endDate: addDays(d0, 3) }, OPTS);
  eq(daily.map((i) => [i.date, i.total, i.change]), [
    [addDays(d0, -1), 0, 0],
    [d0, 3, 3],
    [addDays(d0, 1), 3, 0],
    [addDays(d0, 2), 7, 4],
    [addDays(d0, 3), 6, -1],
  ], "daily items");

  // a user in Pacific/Kiritimati (UTC+14): 12:00 UTC is already the next local day
  const d = await s.nextDay(12);
  const kiri = uid("kiritimati");
  await c.users.create({ id: kiri, tz: "Pacific/Kiritimati" }, OPTS);
  await c.metrics.event("minutes", { user: { id: kiri }, value: 5 }, OPTS);
  await checkSummary(c, kiri, "minutes", "daily", addDays(d, -1), addDays(d, 1), [[addDays(d, 1), 5]]);

  await expectError(c.users.metricEventSummary(u, "lessons", { aggregation: "daily", startDate: d0, endDate: addDays(d0, -1) }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    what: "startDate after endDate",
  });
  await expectError(c.users.metricEventSummary(u, "lessons", { aggregation: "daily", startDate: addDays(d0, -500), endDate: d0 }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    what: "range longer than 400 days",
  });
  await expectError(c.users.metricEventSummary(uid("summary-nobody"), "lessons", { aggregation: "daily", startDate: d0, endDate: d0 }, OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "unknown user",
  });
  await expectError(c.users.metricEventSummary(u, "no-such-metric", { aggregation: "daily", startDate: d0, endDate: d0 }, OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "unknown metric",
  });
});

// ---------------------------------------------------------------------------------------------
// streaks

test("streak_user_streak_and_event_streak", async (s) => {
  const c = s.client();
  const d = await s.nextDay(10);
  const u = uid("streak");
  await c.users.create({ id: u, tz: "UTC" }, OPTS);
  let st = await c.users.streak(u, {}, OPTS);
  checkStreak(st, "new user", { length: 0, period: d, freezes: FREEZES.start });
  checkHistory(st, addDays(d, -6), [0, 0, 0, 0, 0, 0, 0], "new user, default historyPeriods (7)");
  eq(st.pauses, [], "pauses");

  let r = await c.metrics.event("lessons", { user: { id: u }, value: 1 }, OPTS);
  checkStreak(r.currentStreak, "first lesson", { length: 1, started: d, period: d, expires: addDays(d, 1), freezes: FREEZES.start, extended: true });
  eq(keysOf(r.achievements), ["first-lesson"], "first lesson: achievements");
  st = await c.users.streak(u, { historyPeriods: 2 }, OPTS);
  checkStreak(st, "after the first lesson", { length: 1, started: d, period: d, expires: addDays(d, 1), freezes: FREEZES.start });
  checkHistory(st, addDays(d, -1), [0, 1], "historyPeriods=2");

  await s.moveToDay(addDays(d, 1), 10);
  r = await c.metrics.event("lessons", { user: { id: u }, value: 1 }, OPTS);
  checkStreak(r.currentStreak, "second day", {
    length: 2, started: d, period: addDays(d, 1), expires: addDays(d, 2), freezes: FREEZES.start, extended: true,
  });
  eq(keysOf(r.achievements), ["two-day-streak"], "second day: the streak achievement");
  eq(r.achievements[0].streakLength, 2, "two-day-streak streakLength");

  // day 2 missed: the freeze keeps the streak at 2
  await s.moveToDay(addDays(d, 3), 10);
  st = await c.users.streak(u, { historyPeriods: 4 }, OPTS);
  checkStreak(st, "day 3, day 2 missed", { length: 2, started: d, period: addDays(d, 3), expires: addDays(d, 3), freezes: FREEZES.start - 1 });
  checkHistory(st, d, [1, 2, 2, 2], "day 3", { freezeDays: [2] });
  // day 3 missed too, no freeze left: lost
  await s.moveToDay(addDays(d, 4), 10);
  st = await c.users.streak(u, { historyPeriods: 5 }, OPTS);
  checkStreak(st, "day 4, lost", { length: 0, period: addDays(d, 4), freezes: 0 });
  checkHistory(st, d, [1, 2, 2, 0, 0], "day 4", { freezeDays: [2] });
  await expectError(c.users.streak(uid("streak-nobody"), {}, OPTS), 404, { cls: TrophyApi.NotFoundError, what: "unknown user" });
});

test("streaks_list_and_rankings", async (s) => {
  const c = s.client();
  // every earlier streak ends within 10 idle days (at most 3 freezes, +1 a week)
  await s.setClock(new Date((await s.clock()).getTime() + 10 * 86400000));
  const d = await s.nextDay(10);
  const [a, b, cc, lost, nobody] = ["a", "b", "c", "lost", "nobody"].map((n) => uid(`rank-${n}`));
  const lesson = (id, name) => c.metrics.event("lessons", { user: name ? { id, name } : { id }, value: 1 }, OPTS);
  await lesson(lost, "Lou"); // days 0 and 1, then lost at the end of day 3 (day 2 is frozen)
  await s.moveToDay(addDays(d, 1), 10);
  await lesson(lost);
  await s.moveToDay(addDays(d, 2), 10);
  await lesson(a, "Ann");
  await s.moveToDay(addDays(d, 3), 10);
  await lesson(a);
  await lesson(b, "Ben");
  const tA = await s.moveToDay(addDays(d, 4), 10);
  await lesson(a);
  const tB = await s.advance(600);
  await lesson(b);
  const tC = await s.advance(600);
  await lesson(cc);
  await s.advance(600);

  const active = await c.streaks.rankings({ limit: 10, type: "active" }, OPTS);
  eq(active.map((x) => [x.userId, x.name ?? null, x.streakLength]), [[a, "Ann", 3], [b, "Ben", 2], [cc, null, 1]],
    "active rankings: the only live streaks, longest first");
  eq((await c.streaks.rankings({}, OPTS)).map((x) => x.userId), [a, b, cc], "defaults: type active, limit 10");
  eq((await c.streaks.rankings({ limit: 2 }, OPTS)).map((x) => [x.userId, x.streakLength]), [[a, 3], [b, 2]], "limit 2");
  const longest = await c.streaks.rankings({ limit: 100, type: "longest" }, OPTS);
  const lengths = longest.map((x) => x.streakLength);
  eq(lengths, [...lengths].sort((x, y) => y - x), "longest rankings are sorted longest first");
  const mine = Object.fromEntries(longest.filter((x) => [a, b, lost].includes(x.userId)).map((x) => [x.userId, [x.name, x.streakLength]]));
  eq(mine, { [a]: ["Ann", 3], [b]: ["Ben", 2], [lost]: ["Lou", 2] }, "longest: the lost streak still counts");
  check(lengths.every((n) => n >= 1), "longest rankings list only users who had a streak");
  await expectError(c.streaks.rankings({ limit: 0 }, OPTS), 422, { cls: TrophyApi.UnprocessableEntityError, what: "limit 0" });
  await expectError(c.streaks.rankings({ limit: 101 }, OPTS), 422, { cls: TrophyApi.UnprocessableEntityError, what: "limit 101" });

  const list = await c.streaks.list({ userIds: [nobody, lost, cc, b, a] }, OPTS);
  eq(list.map((x) => [x.userId, x.streakLength]), [[a, 3], [b, 2], [cc, 1], ...[[lost, 0], [nobody, 0]].sort()],
    "streaks.list: longest first, unknown ids as 0");
  for (const [x, when] of [[list[0], tA], [list[1], tB], [list[2], tC]]) {
    check(typeof x.extended === "string", `${x.userId}: extended is a timestamp`);
    near(new Date(x.extended), when, `${x.userId}: extended`);
  }
  eq(list.slice(3).map((x) => x.extended ?? null), [null, null], "extended is null without a streak");
});

test("admin_streak_freezes_and_restore", async (s) => {
  const c = s.client();
  const admin = s.client(s.adminKey).admin;
  const d = await s.nextDay(10);
  const [u, nobody] = [uid("freeze"), uid("freeze-nobody")];
  await c.metrics.event("lessons", { user: { id: u }, value: 1 }, OPTS);
  let out = await admin.streaks.freezes.create({ freezes: [{ userId: u }, { userId: nobody }] }, OPTS);
  eq(out.issues.map((i) => [i.userId, i.level]), [[nobody, "error"]], "freezes: one issue, for the unknown user");
  check(typeof out.issues[0].reason === "string" && out.issues[0].reason, "issue reason");
  eq((await c.users.streak(u, {}, OPTS)).freezes, FREEZES.start + 1, "one freeze added");
  out = await admin.streaks.freezes.create({ freezes: [{ userId: u }, { userId: u }] }, OPTS);
  eq(out.issues.map((i) => [i.userId, i.level]), [[u, "error"]], "the second would exceed the maximum");
  eq((await c.users.streak(u, {}, OPTS)).freezes, FREEZES.max, "at the maximum");

  // three missed days (days 1-3) use the three freezes; day 4 is lost
  await s.moveToDay(addDays(d, 4), 10);
  checkStreak(await c.users.streak(u, {}, OPTS), "freezes used", { length: 1, started: d, period: addDays(d, 4), expires: addDays(d, 4), freezes: 0 });
  await s.moveToDay(addDays(d, 5), 10);
  checkStreak(await c.users.streak(u, {}, OPTS), "lost", { length: 0, period: addDays(d, 5), freezes: 0 });
  const restored = await admin.streaks.restore({ users: [{ id: u }, { id: nobody }] }, OPTS);
  eq(restored.restoredUsers, [u], "restoredUsers");
  eq(restored.issues.map((i) => [i.userId, i.level]), [[nobody, "error"]], "restore issues");
  checkStreak(await c.users.streak(u, {}, OPTS), "restored", { length: 1, started: addDays(d, 5), period: addDays(d, 5), expires: addDays(d, 6), freezes: 0 });
});

// ---------------------------------------------------------------------------------------------
// achievements

test("achievements_all_complete_and_user_achievements", async (s) => {
  const c = s.client();
  const before = byKey(await c.achievements.all(undefined, OPTS));
  const listed = (await c.achievements.all(undefined, OPTS)).filter((a) => CONFIG_KEYS.includes(a.key));
  eq(keysOf(listed), ACTIVE_KEYS, "active configured achievements in creation order");
  const ach = byKey(listed);
  const ids = Object.fromEntries(listed.map((a) => [a.key, a.id]));
  for (const a of listed) {
    check(UUID_RE.test(a.id), `${a.key}: id`);
    check(Number.isInteger(a.completions) && typeof a.rarity === "number", `${a.key}: completions, rarity`);
    eq(a.userAttributes, a.key === "pro-member" ? [{ key: "plan", value: "pro" }] : [], `${a.key}: userAttributes`);
  }
  eq(
    [ach["first-lesson"].trigger, ach["first-lesson"].name, ach["first-lesson"].metricName, ach["first-lesson"].metricValue, ach["first-lesson"].badgeUrl],
    ["metric", "First lesson", METRICS.lessons, 1, "https://example.com/badges/first-lesson.png"],
    "first-lesson",
  );
  eq(ach["mobile-lesson"].eventAttribute, { key: "source", value: "mobile" }, "mobile-lesson eventAttribute");
  eq([ach["two-day-streak"].trigger, ach["two-day-streak"].streakLength], ["streak", 2], "two-day-streak");
  eq([ach["finish-onboarding"].trigger, ach["finish-onboarding"].description], ["api", "Complete the onboarding process"], "finish-onboarding");
  eq([ach["onboarded-learner"].trigger, ach["onboarded-learner"].achievementIds], ["achievement", [ids["first-lesson"], ids["finish-onboarding"]]],
    "onboarded-learner");
  const free = (await c.achievements.all({ userAttributes: "plan:free" }, OPTS)).filter((a) => CONFIG_KEYS.includes(a.key));
  eq(keysOf(free), ACTIVE_KEYS.filter((k) => k !== "pro-member"), "userAttributes=plan:free");
  const pro = (await c.achievements.all({ userAttributes: "plan:pro" }, OPTS)).filter((a) => CONFIG_KEYS.includes(a.key));
  eq(keysOf(pro), ACTIVE_KEYS, "userAttributes=plan:pro");

  const u = uid("complete");
  const now = await s.clock();
  const done = await c.achievements.complete("finish-onboarding", { user: { id: u, name: "Ann" } }, OPTS);
  check(UUID_RE.test(done.completionId), `completionId: ${done.completionId}`);
  eq([done.achievement.id, done.achievement.key, done.achievement.trigger, done.achievement.name],
    [ids["finish-onboarding"], "finish-onboarding", "api", "Finish onboarding"], "completed achievement");
  near(done.achievement.achievedAt, now, "achievedAt");
  eq(done.points, {}, "points");
  await s.advance(120);
  const again = await c.achievements.complete("finish-onboarding", { user: { id: u } }, OPTS);
  eq([again.completionId, again.achievement.achievedAt.toISOString()], [done.completionId, done.achievement.achievedAt.toISOString()],
    "completing again: the original completion");
  await expectError(c.achievements.complete("first-lesson", { user: { id: u } }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError, what: "complete a metric achievement",
  });
  await expectError(c.achievements.complete("legacy-badge", { user: { id: u } }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError, what: "complete a locked achievement",
  });
  await expectError(c.achievements.complete(`no-such-${RUN}`, { user: { id: u } }, OPTS), 404, {
    cls: TrophyApi.NotFoundError, what: "complete an unknown achievement",
  });

  let mine = await c.users.achievements(u, {}, OPTS);
  eq(mine.map((a) => [a.key, a.achievedAt.toISOString()]), [["finish-onboarding", done.achievement.achievedAt.toISOString()]], "users.achievements");
  const all = await c.users.achievements(u, { includeIncomplete: "true" }, OPTS);
  eq(keysOf(all.filter((a) => CONFIG_KEYS.includes(a.key))),
    ["finish-onboarding", "first-lesson", "three-lessons", "mobile-lesson", "two-day-streak", "onboarded-learner"],
    "includeIncomplete: the completed one, then the active ones u may complete (not pro-member)");
  eq(all.slice(1).map((a) => a.achievedAt ?? null), all.slice(1).map(() => null), "incomplete ones have no achievedAt");

  // the first lesson completes the metric achievement, then the composite
  const t = await s.advance(60);
  const r = await c.metrics.event("lessons", { user: { id: u }, value: 1 }, OPTS);
  eq(keysOf(r.achievements), ["first-lesson", "onboarded-learner"], "event: the metric one, then the composite");
  for (const a of r.achievements) near(a.achievedAt, t, `${a.key}: achievedAt`);
  mine = await c.users.achievements(u, {}, OPTS);
  eq(keysOf(mine)[0], "finish-onboarding", "completed ones by achievedAt");
  eq(keysOf(mine).slice(1).sort(), ["first-lesson", "onboarded-learner"], "then the two from the event");

  const after = byKey(await c.achievements.all(undefined, OPTS));
  eq(ACTIVE_KEYS.map((k) => after[k].completions - before[k].completions),
    ACTIVE_KEYS.map((k) => (["finish-onboarding", "first-lesson", "onboarded-learner"].includes(k) ? 1 : 0)),
    "completions added, per active achievement");
  for (const a of mine) eq([a.completions, a.rarity], [after[a.key].completions, after[a.key].rarity], `${a.key}: stats in users.achievements`);
  await expectError(c.users.achievements(uid("ach-nobody"), {}, OPTS), 404, { cls: TrophyApi.NotFoundError, what: "unknown user" });
});

// ---------------------------------------------------------------------------------------------
// points (issue #6): the sdk-xp system of trophy.toml pays only users with plan = "points"

test("points_event_system_summary_and_user_points", async (s) => {
  const c = s.client();
  const u = uid("points");
  const today = isoDate(await s.clock());
  // creation 5 and 2 lessons × 10, each × 1.5 rounded up: 8 + 30 = 38, still Bronze
  const r = await c.metrics.event("lessons", { user: { id: u, attributes: { plan: "points" } }, value: 2 }, OPTS);
  const p = r.points["sdk-xp"];
  eq([p.key, p.name, p.maxPoints, p.added, p.total], ["sdk-xp", "SDK XP", 1000, 38, 38], "event points");
  eq(p.level, undefined, "no level change, no level");
  eq(p.awards.map((a) => [a.awarded, a.total, a.trigger.type]), [[8, 8, "user_creation"], [30, 38, "metric"]], "awards");
  eq(p.awards[1].boosts.map((b) => [b.name, b.multiplier, b.rounding]), [["Points plan bonus", 1.5, "up"]], "boosts applied");
  near(new Date(p.awards[1].trigger.created), new Date(p.awards[1].trigger.updated), "trigger created/updated", 0);
  // 2 more: 68 → Silver
  const r2 = await c.metrics.event("lessons", { user: { id: u }, value: 2 }, OPTS);
  eq([r2.points["sdk-xp"].added, r2.points["sdk-xp"].total, r2.points["sdk-xp"].level.key], [30, 68, "silver"], "Silver");

  const system = await c.points.system("sdk-xp", OPTS);
  eq([system.name, system.description, system.maxPoints], ["SDK XP", "Points for the SDK tests", 1000], "points.system");
  eq(system.triggers.map((t) => t.type).sort(), ["metric", "user_creation"], "active triggers");
  const ranges = await c.points.summary("sdk-xp", { userAttributes: "plan:points" }, OPTS);
  eq(ranges.length, 11, "eleven ranges");
  check(ranges.some((x) => x.from === 61 && x.to === 70 && x.users >= 1), `a user in 61-70: ${JSON.stringify(ranges)}`);

  const mine = await c.users.points(u, "sdk-xp", { awards: 2 }, OPTS);
  eq([mine.total, mine.level.key, mine.awards.map((a) => a.awarded)], [68, "silver", [30, 30]], "users.points");
  const rows = await c.users.pointsEventSummary(u, "sdk-xp", { aggregation: "daily", startDate: today, endDate: today }, OPTS);
  eq(rows.map((x) => [x.date, x.total, x.change]), [[today, 68, 68]], "users.pointsEventSummary");
  await expectError(c.points.system(`no-such-${RUN}`, OPTS), 404, { what: "unknown points system" });
  await expectError(c.users.points(uid("points-nobody"), "sdk-xp", {}, OPTS), 404, { what: "unknown user" });
});

// ---------------------------------------------------------------------------------------------
// leaderboards (issue #7): the boards of tests/sdk/trophy.toml rank by minutes

const LB_ALL_TIME = "minutes-all-time";
const LB_WEEKLY = "minutes-weekly-by-country";
const lbRows = (board) => board.rankings.map((r) => [r.userId, r.userName, r.rank, r.value]);

test("leaderboards_all_get_and_user_leaderboard", async (s) => {
  const c = s.client();
  const country = `node-${RUN}`;
  const a = uid("lb-a");
  const b = uid("lb-b");
  const now = await s.clock();
  const today = now.toISOString().slice(0, 10);
  const ra = await c.metrics.event("minutes", { user: { id: a, name: "Ada", tz: "UTC", attributes: { country } }, value: 10_000_005 }, OPTS);
  const e = ra.leaderboards[LB_WEEKLY];
  eq([e.key, e.rankBy, e.metricKey, e.rank, e.previousRank, e.threshold], [LB_WEEKLY, "metric", "minutes", 1, null, 0], "event entry");
  eq(e.breakdownAttributeValues, [{ key: "country", value: country }], "breakdownAttributeValues");
  const days = Math.round((Date.parse(e.start) - Date.parse("2020-01-06")) / 86_400_000);
  eq([days % 7, (Date.parse(e.end) - Date.parse(e.start)) / 86_400_000], [0, 6], "a 7-day run");
  check(e.start <= today && today <= e.end, `the run ${e.start}..${e.end} contains ${today}`);
  const rankA = ra.leaderboards[LB_ALL_TIME].rank;
  const rb = await c.metrics.event("minutes", { user: { id: b, attributes: { country } }, value: 10_000_001 }, OPTS);
  eq([rb.leaderboards[LB_WEEKLY].rank, rb.leaderboards[LB_ALL_TIME].rank], [2, rankA + 1], "b below a");

  const around = await c.leaderboards.get(LB_ALL_TIME, { userId: a, limit: 2 }, OPTS);
  eq(lbRows(around), [[a, "Ada", rankA, 10_000_005], [b, null, rankA + 1, 10_000_001]], "rankings from a");
  eq([around.status, around.start, around.end, around.runUnit], ["active", "2020-01-01", null, null], "all-time board");
  const group = await c.leaderboards.get(LB_WEEKLY, { userAttributes: `country:${country}` }, OPTS);
  eq(lbRows(group), [[a, "Ada", 1, 10_000_005], [b, null, 2, 10_000_001]], "the group's rankings");
  eq([group.breakdownAttributes, group.runUnit, group.runInterval, group.maxParticipants], [["country"], "day", 7, 50], "weekly board");
  await expectError(c.leaderboards.get(LB_WEEKLY, {}, OPTS), 422, { cls: TrophyApi.UnprocessableEntityError, what: "no userAttributes" });
  await expectError(c.leaderboards.get(`no-such-${RUN}`, {}, OPTS), 404, { cls: TrophyApi.NotFoundError, what: "unknown board" });

  const mine = await c.users.leaderboard(b, LB_WEEKLY, { numEvents: 5 }, OPTS);
  eq([mine.rank, mine.value], [2, 10_000_001], "users.leaderboard");
  eq(mine.history.map((h) => [h.previousRank, h.rank, h.previousValue, h.value]), [[null, 2, null, 10_000_001]], "history");
  check(mine.history[0].timestamp instanceof Date, "history timestamp is a Date");
  near(mine.history[0].timestamp, now, "history timestamp");
  await expectError(c.users.leaderboard(uid("lb-nobody"), LB_WEEKLY, {}, OPTS), 404, { cls: TrophyApi.NotFoundError, what: "unknown user" });

  const all = await c.leaderboards.all(OPTS);
  const listed = Object.fromEntries(all.map((x) => [x.key, x]));
  eq([listed[LB_ALL_TIME].status, listed[LB_WEEKLY].status, listed[LB_WEEKLY].breakdownAttribute], ["active", "active", "country"], "leaderboards.all");
});

// ---------------------------------------------------------------------------------------------
// wrapped (year in review)

const localDay = (when, timeZone) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(when);

test("users_wrapped_in_local_time", async (s) => {
  const c = s.client();
  const tz = "Pacific/Pago_Pago";
  const u = uid("wrapped");
  const peer = uid("wrapped-peer");
  const now = await s.clock();
  await c.metrics.event("lessons", { user: { id: u, tz }, value: 4, attributes: { source: "mobile" } }, OPTS);
  await c.metrics.event("lessons", { user: { id: u, tz }, value: 1 }, OPTS);
  await c.metrics.event("lessons", { user: { id: peer, tz }, value: 50 }, OPTS);
  const today = localDay(now, tz);
  const year = Number(today.slice(0, 4));
  const w = await c.users.wrapped(u, { year }, OPTS);
  eq(w.user.id, u, "user");
  const a = w.activity;
  eq([a.daysActive, a.weeksActive, a.monthsActive], [1, 1, 1], "activity counts");
  eq(a.mostActiveDay.date, today, "most active day is the local date");
  eq(a.mostActiveMonth.month, Number(today.slice(5, 7)) - 1, "most active month (0-11)");
  const m = a.entireYear.metrics.lessons;
  close(m.changeThisPeriod, 5, "change this year");
  close(m.byAttribute.source.mobile.changeThisPeriod, 4, "mobile change");
  check(m.percentileThisPeriod > 0 && m.percentileThisPeriod <= 100, "year percentile");
  check(a.mostActiveDay.metrics.lessons.percentileThisPeriod === undefined, "no percentile for the day");
  eq(a.entireYear.longestStreak.frequency, "daily", "streak frequency");
  const peerYear = (await c.users.wrapped(peer, { year }, OPTS)).activity.entireYear.metrics.lessons;
  check(peerYear.percentileThisPeriod > m.percentileThisPeriod, "the peer ranks higher");
  await expectError(c.users.wrapped(u, { year: year + 1 }, OPTS), 422, {
    cls: TrophyApi.UnprocessableEntityError,
    what: "future year",
  });
  await expectError(c.users.wrapped(uid("wrapped-nobody"), { year }, OPTS), 404, {
    cls: TrophyApi.NotFoundError,
    what: "unknown user",
  });
});

// ---------------------------------------------------------------------------------------------
// runner

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`test_sdk.js: ${e.message}`);
    return 2;
  }
  const server = new Server(opts);
  let passed = 0;
  let failed = 0;
  for (const { name, fn, serverBug } of TESTS) {
    if (!name.includes(opts.filter)) continue;
    try {
      await fn(server);
      passed++;
      console.log(`ok   node single ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL node single ${name}${serverBug ? ` [KNOWN SERVER BUG: ${serverBug}]` : ""}`);
      if (e instanceof Failure) {
        console.log(`    ${e.message.replace(/\n/g, "\n    ")}`);
        const frame = (e.stack || "").split("\n").find((l) => l.includes("test_sdk.js") && !/at (check|eq|close|near|expectError) /.test(l));
        if (frame) console.log(`    ${frame.trim()}`);
      } else {
        console.log(`    ${String((e && e.stack) || e).replace(/\n/g, "\n    ")}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
