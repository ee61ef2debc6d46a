#!/usr/bin/env node
// The console (the embedded dashboard) in a real browser: Debian's Chromium driven by
// playwright-core (which downloads no browser), against a running trophyd.
//
//   node test_console.mjs --url URL --bin TROPHYD [--api-key K] [--admin-key K]
//                         [--chromium PATH] [-k SUBSTRING]
//
// Started by tests/sdk/run.sh (stage "browser") against its single-tenant server, before the
// schema stage moves that server's clock. Each test makes users of its own (ids with a
// random part), so what other suites write does not matter. The webhook test starts its own
// trophyd (`--bin`, test clock) with an endpoint at a receiver in this process. The last line printed is
// `N passed, M failed`; the exit status is 1 when anything failed.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const RUN = crypto.randomBytes(4).toString("hex");
const uid = (name) => `web-${RUN}-${name}`;

function parseArgs(argv) {
  const o = {
    url: "",
    apiKey: "tr_sdk_test_api_key",
    adminKey: "tr_sdk_test_admin_key",
    chromium: process.env.CHROMIUM || "/usr/bin/chromium",
    bin: "",
    filter: "",
  };
  const names = {
    "--url": "url",
    "--bin": "bin",
    "--api-key": "apiKey",
    "--admin-key": "adminKey",
    "--chromium": "chromium",
    "-k": "filter",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (!name || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${argv[i]}`);
    o[name] = argv[i + 1];
  }
  if (!o.url || !o.bin) throw new Error("--url and --bin are required");
  o.url = o.url.replace(/\/$/, "");
  return o;
}

const opts = parseArgs(process.argv.slice(2));

/** A request with `key` to the test server; the JSON answer, after checking it is a 2xx. */
async function call(key, method, path, body) {
  const init = { method, headers: { "X-API-KEY": key } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(opts.url + path, init);
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The application API with the app key, for seeding. */
const app = (method, path, body) => call(opts.apiKey, method, path, body);
/** The Admin API with the admin key: what the console's forms must have done. */
const admin = (method, path, body) => call(opts.adminKey, method, `/admin/v1${path}`, body);

/** Every item of a paged Admin API list. */
async function adminAll(path) {
  const out = [];
  for (let skip = 0; ; skip += 100) {
    const page = await admin("GET", `${path}?limit=100&skip=${skip}`);
    out.push(...page);
    if (page.length < 100) return out;
  }
}

async function seedUser(id, fields, events) {
  await app("PUT", `/v1/users/${encodeURIComponent(id)}`, fields);
  for (const [metric, value] of events) {
    await app("POST", `/v1/metrics/${metric}/event`, { user: { id }, value });
  }
}

const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  // As root in a container Chromium needs --no-sandbox; the rest keep it off the network.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

/** A fresh page (its own session storage) with console errors collected. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && page.consoleErrors.push(m.text()));
  page.on("pageerror", (e) => page.consoleErrors.push(String(e)));
  await page.goto(`${opts.url}/dashboard/`);
  return page;
}

async function signIn(page, key = opts.adminKey) {
  await page.fill("#api-key", key);
  await page.click("#login button[type=submit]");
}

/** The text of the `<dd>` after the `<dt>` named `term`, in the card titled `title`. */
async function cardValue(page, title, term) {
  const card = page.locator(".card", { has: page.locator("h3", { hasText: title }) });
  return (await card.locator(`dt:text-is("${term}") + dd`).textContent()).trim();
}

/** The cells of the table row whose first cell is `first`, under the heading `heading`. */
async function rowCells(page, heading, first) {
  const table = page.locator(`h2:text-is("${heading}") + * table`);
  const exactly = new RegExp(`^${first.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  const row = table.locator("tbody tr", { has: page.locator("td:first-child", { hasText: exactly }) });
  return (await row.locator("td").allTextContents()).map((t) => t.trim());
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test("a wrong key is refused with its reason and the admin key signs in", async () => {
  const page = await newPage();
  await signIn(page, "not-a-key");
  const error = page.locator("#login-error");
  await error.waitFor({ state: "visible" });
  assert.match(await error.textContent(), /key/i);
  assert.equal(await page.locator("#shell").isVisible(), false);
  await signIn(page);
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  assert.equal(await page.locator("#login-view").isVisible(), false);
  assert.deepEqual(page.consoleErrors.filter((e) => !/401/.test(e)), []);
  await page.context().close();
});

test("the overview charts the last 30 days, today's events included", async () => {
  await seedUser(uid("chart"), {}, [["lessons", 1], ["lessons", 1]]);
  const page = await newPage();
  await signIn(page);
  const events = page.locator('svg.chart[data-field="events"]');
  await events.waitFor();
  assert.equal(await events.locator("rect").count(), 30);
  const today = Number(await events.locator("rect").last().getAttribute("data-value"));
  assert.ok(today >= 2, `today's bar holds the seeded events (${today})`);
  assert.match(await events.getAttribute("aria-label"), /^Events per day, .* in all/);
  for (const field of ["activeUsers", "newUsers", "points"]) {
    assert.equal(await page.locator(`svg.chart[data-field="${field}"] rect`).count(), 30, field);
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("a user is found by email and their page shows their totals, streak and events", async () => {
  const id = uid("ada");
  const email = `${id}@example.com`;
  await seedUser(id, { name: `Ada ${RUN}`, email, tz: "Asia/Kolkata" }, [
    ["lessons", 2],
    ["minutes", 25],
    ["lessons", 3],
  ]);
  const page = await newPage();
  await signIn(page);
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  await page.click('#nav a[href="#/users"]');
  await page.locator("h1", { hasText: "Users" }).waitFor();
  await page.fill("#user-search", email.slice(0, 12).toUpperCase());
  await page.press("#user-search", "Enter");
  const link = page.locator(`table a:text-is("${id}")`);
  await link.waitFor();
  await link.click();
  await page.locator("h1", { hasText: `Ada ${RUN}` }).waitFor();
  assert.equal(await cardValue(page, "Profile", "Email"), email);
  assert.equal(await cardValue(page, "Profile", "Time zone"), "Asia/Kolkata");
  assert.deepEqual((await rowCells(page, "Metrics", "lessons")).slice(2), ["5"]);
  assert.deepEqual((await rowCells(page, "Metrics", "minutes")).slice(2), ["25"]);
  const streak = page.locator(".card", { has: page.locator("h3", { hasText: "Streak" }) });
  assert.equal((await streak.locator(".big").textContent()).trim(), "1");
  const events = page.locator('h2:text-is("Latest events") + * tbody tr');
  assert.equal(await events.count(), 3);
  assert.deepEqual(
    (await events.first().locator("td").allTextContents()).slice(1, 3).map((t) => t.trim()),
    ["lessons", "3"],
  );
  // Times are the browser's local times, with UTC on hover.
  const created = page.locator(".card dt:text-is('Created') + dd time");
  assert.match(await created.getAttribute("title"), /UTC$/);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("a support action answers next to its button and keeps the focus there", async () => {
  const id = uid("bob");
  await seedUser(id, { name: `Bob ${RUN}` }, [["lessons", 1]]);
  const page = await newPage();
  await signIn(page);
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  await page.goto(`${opts.url}/dashboard/#/user?id=${encodeURIComponent(id)}`);
  await page.locator("h1", { hasText: `Bob ${RUN}` }).waitFor();
  const before = await cardValue(page, "Streak", "Freezes");
  const [held, max] = before.split(" of ").map(Number);
  await page.click("#streak-freeze");
  const message = page.locator('[data-flash="streak"] .success');
  await message.waitFor();
  assert.equal((await message.textContent()).trim(), "A freeze was granted.");
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), "streak-freeze");
  assert.equal(await cardValue(page, "Streak", "Freezes"), `${Math.min(held + 1, max)} of ${max}`);
  // Reset asks first; dismissing changes nothing.
  page.once("dialog", (d) => d.dismiss());
  await page.click("#streak-reset");
  assert.equal(await page.locator(".card", { has: page.locator("h3", { hasText: "Streak" }) }).locator(".big").textContent(), "1");
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("the keyboard alone signs in, finds a user and opens their page", async () => {
  const id = uid("kim");
  await seedUser(id, { name: `Kim ${RUN}` }, [["minutes", 7]]);
  const page = await newPage();
  await page.locator("#api-key").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "api-key");
  await page.keyboard.type(opts.adminKey);
  await page.keyboard.press("Enter");
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  // Tab until the Users link of the navigation has the focus, then follow it.
  let focused = "";
  for (let i = 0; i < 20 && focused !== "#/users"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement.getAttribute("href") || "");
  }
  assert.equal(focused, "#/users", "the Users link is reachable with Tab");
  await page.keyboard.press("Enter");
  await page.locator("h1", { hasText: "Users" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "user-search");
  await page.keyboard.type(id);
  await page.keyboard.press("Enter");
  // The newest users (shown before the search) may hold the same link: wait for the answer.
  await page.locator('[role="status"]', { hasText: `found for “${id}”` }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "user-search");
  for (let i = 0; i < 5 && focused !== `#/user?id=${id}`; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement.getAttribute("href") || "");
  }
  assert.equal(focused, `#/user?id=${id}`, "the result's link is reachable with Tab");
  await page.keyboard.press("Enter");
  await page.locator("h1", { hasText: `Kim ${RUN}` }).waitFor();
  assert.deepEqual((await rowCells(page, "Metrics", "minutes")).slice(2), ["7"]);
  assert.equal(await page.locator('#nav a[aria-current="page"]').getAttribute("href"), "#/users");
  await page.context().close();
});

test("the keyboard alone reaches every view from the navigation and the first control of each", async () => {
  const page = await newPage();
  await page.locator("#api-key").waitFor();
  await page.keyboard.type(opts.adminKey);
  await page.keyboard.press("Enter");
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  const links = await page.locator("#nav a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.textContent.trim()]));
  assert.ok(links.length >= 13, `${links.length} links`);
  // Where the focus is, and whether it is after the link `target` in the page's order.
  const active = (target = null) =>
    page.evaluate((target) => {
      const e = document.activeElement;
      const box = e && e.getBoundingClientRect();
      const link = target && document.querySelector(`#nav a[href="${target}"]`);
      return {
        href: (e && e.getAttribute("href")) || "",
        inView: !!(e && e.closest("#view")),
        after: !!(link && e && e !== document.body && link.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING),
        visible: !!box && box.width > 0 && box.height > 0,
        tag: e ? e.tagName : "",
      };
    }, target);
  for (const [href, label] of links) {
    // Towards the link along the tab order, backwards when the focus is past it.
    let at = await active(href);
    for (let i = 0; i < 300 && at.href !== href; i++) {
      await page.keyboard.press(at.after ? "Shift+Tab" : "Tab");
      at = await active(href);
    }
    assert.equal(at.href, href, `${label}: its link is reachable with the keyboard`);
    await page.keyboard.press("Enter");
    await page.waitForFunction((h) => document.querySelector(`#nav a[aria-current="page"]`)?.getAttribute("href") === h, href);
    await page.locator("#view h1").first().waitFor();
    assert.notEqual(await page.locator("#view h1").first().textContent(), "Loading…");
    // Tab leaves the navigation for the view's first control, which is on screen.
    for (let i = 0; i < 20 && !at.inView; i++) {
      await page.keyboard.press("Tab");
      at = await active();
    }
    assert.ok(at.inView, `${label}: Tab reaches a control of the view`);
    assert.ok(at.visible, `${label}: the focused ${at.tag} is visible`);
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("no view is wider than the window at 390 and 1280 pixels", async () => {
  const id = uid("wide");
  await seedUser(id, { name: `Wide ${RUN}`, email: `${id}@example.com` }, [["lessons", 1]]);
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${opts.url}/dashboard/`);
    await signIn(page);
    await page.locator("svg.chart").first().waitFor();
    for (const [hash, heading] of [
      ["#/overview", "Overview"],
      ["#/users", "Users"],
      [`#/user?id=${id}`, `Wide ${RUN}`],
      ["#/webhooks", "Webhook deliveries"],
      ["#/notifications", "Notifications"],
      ["#/engagement", "Engagement"],
      ["#/points", "Points systems"],
      ["#/achievements", "Achievements"],
      ["#/leaderboards", "Leaderboards"],
      [`#/leaderboards?user=${id}`, "Leaderboards"],
      ["#/streak", "Streak settings"],
      ["#/settings", "Settings"],
    ]) {
      await page.goto(`${opts.url}/dashboard/${hash}`);
      await page.locator("h1", { hasText: heading }).waitFor();
      const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= inner, `${hash} at ${width}px is ${scroll}px wide`);
    }
    // The longest form, open: inside the window, nothing in it wider than itself.
    await page.goto(`${opts.url}/dashboard/#/achievements`);
    await page.click("#new-achievement");
    await page.selectOption("#f-trigger", "metric");
    const [scroll, inner, box, boxScroll, boxWidth] = await page.evaluate(() => {
      const dialog = document.querySelector("dialog[open]");
      return [document.documentElement.scrollWidth, window.innerWidth, dialog.getBoundingClientRect().right, dialog.scrollWidth, dialog.clientWidth];
    });
    assert.ok(scroll <= inner && box <= inner, `the achievement form at ${width}px reaches ${box}px`);
    assert.ok(boxScroll <= boxWidth, `the achievement form at ${width}px scrolls sideways (${boxScroll} > ${boxWidth})`);
    await context.close();
  }
});

/** A fresh page, signed in, on the console's view `hash` once its heading is in. */
async function signedInAt(hash, heading) {
  const page = await newPage();
  await signIn(page);
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  await page.goto(`${opts.url}/dashboard/#/${hash}`);
  await page.locator("h1", { hasText: heading }).waitFor();
  return page;
}

/** The open form (there is one at most). */
const openDialog = (page) => page.locator("dialog[open]");
const focusedId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

test("a metric's form shows the Admin API's message under the key, keeps what was typed, then creates it", async () => {
  const key = `web-${RUN}-pages`;
  const page = await signedInAt("metrics", "Metrics");
  await page.click("#new-metric");
  const dialog = openDialog(page);
  await dialog.waitFor();
  assert.equal(await focusedId(page), "f-name", "the first field has the focus");
  await page.fill("#f-name", `Pages ${RUN}`);
  await page.fill("#f-key", `${key} read`);
  await page.selectOption("#f-unitType", "currency");
  await page.fill("#f-units", "pages");
  await dialog.locator('button[type="submit"]').click();

  // The Admin API's issue, under the key field, which gets the focus; nothing else lost.
  const error = page.locator("#f-key-error");
  await error.waitFor();
  assert.equal((await error.textContent()).trim(), 'key may only contain letters, digits, "-" and "_"');
  assert.equal(await page.getAttribute("#f-key", "aria-invalid"), "true");
  assert.match(await page.getAttribute("#f-key", "aria-describedby"), /\bf-key-error\b/);
  assert.equal(await focusedId(page), "f-key");
  assert.equal(await page.inputValue("#f-name"), `Pages ${RUN}`);
  assert.equal(await page.inputValue("#f-key"), `${key} read`);
  assert.equal(await page.inputValue("#f-unitType"), "currency");
  assert.equal(await page.inputValue("#f-units"), "pages");
  assert.equal(await page.locator("#f-name").getAttribute("aria-invalid"), null, "only the key is marked");
  assert.equal(await dialog.locator('.error[role="alert"]').isVisible(), false, "nothing at the top: the key was named");
  assert.deepEqual((await adminAll("/metrics")).filter((m) => m.key.startsWith(key)), [], "nothing was created");

  // A key taken by trophy.toml's metric: the message names the key further on.
  await page.fill("#f-key", "lessons");
  await page.press("#f-key", "Enter");
  await page.locator("#f-key-error", { hasText: "Key already in use by another metric" }).waitFor();
  assert.equal(await focusedId(page), "f-key");

  await page.fill("#f-key", key);
  await page.press("#f-key", "Enter");
  const done = page.locator('[data-flash="new-metric"] .success');
  await done.waitFor();
  assert.equal((await done.textContent()).trim(), `Created metric ${key}`);
  assert.equal(await openDialog(page).count(), 0, "the form closed");
  assert.equal(await focusedId(page), "new-metric", "the focus is back on the button that opened the form");
  const created = (await adminAll("/metrics")).filter((m) => m.key === key);
  assert.equal(created.length, 1);
  assert.deepEqual(
    { name: created[0].name, unitType: created[0].unitType, units: created[0].units },
    { name: `Pages ${RUN}`, unitType: "currency", units: "pages" },
  );
  const row = page.locator("tbody tr", { has: page.locator(`td:first-child code:text-is("${key}")`) });
  assert.equal(await row.count(), 1, "the new row is in the table");
  assert.equal(await row.locator(`#edit-${created[0].id}`).textContent(), "Edit");
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("a points system is renamed and a leaderboard activated through their forms", async () => {
  const systemKey = `web-${RUN}-xp`;
  const boardKey = `web-${RUN}-board`;
  const [system] = (await admin("POST", "/points", [{ key: systemKey, name: "Web XP" }])).created;
  const [board] = (await admin("POST", "/leaderboards", [{ key: boardKey, name: "Web board", rankBy: "streak" }])).created;
  assert.equal(board.status, "inactive");
  // A rule of the points system's model, named by the Admin API, then the rename.
  const page = await signedInAt("points", "Points systems");
  await page.click(`#edit-${system.id}`);
  await openDialog(page).waitFor();
  assert.equal(await page.inputValue("#f-name"), "Web XP");
  await page.fill("#f-name", `Web XP ${RUN}`);
  await page.fill("#f-maxPoints", "0");
  await page.press("#f-maxPoints", "Enter");
  await page.locator("#f-maxPoints-error").waitFor();
  assert.equal((await page.textContent("#f-maxPoints-error")).trim(), "maxPoints must be at least 1");
  assert.equal(await focusedId(page), "f-maxPoints");
  assert.equal((await admin("GET", `/points/${system.id}`)).name, "Web XP", "refused whole");
  await page.fill("#f-maxPoints", "500");
  await page.press("#f-maxPoints", "Enter");
  await page.locator(`[data-flash="row-${system.id}"] .success`, { hasText: `Saved points system ${systemKey}` }).waitFor();
  assert.equal(await focusedId(page), `edit-${system.id}`);
  const saved = await admin("GET", `/points/${system.id}`);
  assert.deepEqual([saved.name, saved.maxPoints], [`Web XP ${RUN}`, 500]);

  // The leaderboard's status.
  await page.goto(`${opts.url}/dashboard/#/leaderboards`);
  await page.locator("h1", { hasText: "Leaderboards" }).waitFor();
  await page.click(`#edit-${board.id}`);
  await openDialog(page).waitFor();
  assert.equal(await page.inputValue("#f-status"), "inactive");
  assert.equal(await page.locator("#f-metricId").isVisible(), false, "a streak board has no metric");
  await page.selectOption("#f-status", "active");
  await openDialog(page).locator('button[type="submit"]').click();
  await page.locator(`[data-flash="row-${board.id}"] .success`, { hasText: `Saved leaderboard ${boardKey}` }).waitFor();
  const activated = await admin("GET", `/leaderboards/${board.id}`);
  assert.deepEqual([activated.status, activated.name, activated.rankBy], ["active", "Web board", "streak"]);
  const row = page.locator("tbody tr", { has: page.locator(`#edit-${board.id}`) });
  assert.match(await row.textContent(), /active/);

  // Back to inactive is refused by the Admin API: its message, at the top of the form.
  await page.click(`#edit-${board.id}`);
  await page.selectOption("#f-status", "inactive");
  await page.press("#f-name", "Enter");
  const alert = openDialog(page).locator('.error[role="alert"]');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), "an activated leaderboard cannot return to inactive");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("role")), "alert", "the alert has the focus");
  await page.keyboard.press("Escape");
  await openDialog(page).waitFor({ state: "detached" });
  assert.equal(await focusedId(page), `edit-${board.id}`);
  assert.equal((await admin("GET", `/leaderboards/${board.id}`)).status, "active");
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("a definition trophy.toml declares is marked and its form is read-only with the reason", async () => {
  const lessons = (await adminAll("/metrics")).find((m) => m.key === "lessons");
  const mine = (await admin("POST", "/metrics", [{ key: `web-${RUN}-own`, name: "Own" }])).created[0];
  const page = await signedInAt("metrics", "Metrics");
  const managedRow = page.locator("tbody tr", { has: page.locator(`#edit-${lessons.id}`) });
  assert.equal((await managedRow.locator(".badge.managed").textContent()).trim(), "Managed by trophy.toml");
  assert.equal(await managedRow.locator(`#remove-${lessons.id}`).count(), 0, "no Archive");
  const ownRow = page.locator("tbody tr", { has: page.locator(`#edit-${mine.id}`) });
  assert.equal(await ownRow.locator(".badge.managed").count(), 0);
  assert.equal(await ownRow.locator(`#remove-${mine.id}`).count(), 1);

  const view = page.locator(`#edit-${lessons.id}`);
  assert.equal((await view.textContent()).trim(), "View");
  await view.click();
  const dialog = openDialog(page);
  await dialog.waitFor();
  assert.match(await dialog.locator(".notice").textContent(), /^Managed by trophy\.toml: .*refuses changes/);
  assert.equal(await dialog.locator('button[type="submit"]').count(), 0, "no Save");
  const controls = dialog.locator("input, select");
  assert.ok((await controls.count()) >= 3);
  for (const control of await controls.all()) assert.equal(await control.isDisabled(), true);
  assert.equal(await page.inputValue("#f-name"), lessons.name);
  await dialog.locator("button", { hasText: "Close" }).click();
  await openDialog(page).waitFor({ state: "detached" });
  assert.equal(await focusedId(page), `edit-${lessons.id}`);
  assert.equal((await admin("GET", `/metrics/${lessons.id}`)).name, lessons.name);

  // The same for a trigger of a managed points system.
  await page.goto(`${opts.url}/dashboard/#/points`);
  const section = page.locator("section.system", { has: page.locator("h2 code", { hasText: /^sdk-xp$/ }) });
  await section.waitFor();
  assert.equal((await section.locator("h2 .badge.managed").textContent()).trim(), "Managed by trophy.toml");
  await section.locator("tbody tr button", { hasText: "View" }).first().click();
  await openDialog(page).waitFor();
  assert.equal(await openDialog(page).locator('button[type="submit"]').count(), 0);
  assert.equal(await page.locator("#f-points").isDisabled(), true);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test("the keyboard alone opens a form, fills it, submits it with Enter and closes one with Escape", async () => {
  const key = `web-${RUN}-device`;
  const page = await signedInAt("attributes", "Attributes");
  let focused = "";
  for (let i = 0; i < 30 && focused !== "new-attribute"; i++) {
    await page.keyboard.press("Tab");
    focused = await focusedId(page);
  }
  assert.equal(focused, "new-attribute", "the New attribute button is reachable with Tab");

  // Escape closes a form and gives the focus back.
  await page.keyboard.press("Enter");
  await openDialog(page).waitFor();
  await page.keyboard.type("Dropped");
  await page.keyboard.press("Escape");
  await openDialog(page).waitFor({ state: "detached" });
  assert.equal(await focusedId(page), "new-attribute");

  await page.keyboard.press("Enter");
  await openDialog(page).waitFor();
  assert.equal(await focusedId(page), "f-name");
  await page.keyboard.type(`Device ${RUN}`);
  await page.keyboard.press("Tab");
  assert.equal(await focusedId(page), "f-key");
  await page.keyboard.type(key);
  await page.keyboard.press("Tab");
  assert.equal(await focusedId(page), "f-type");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.inputValue("#f-type"), "event");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Enter");
  const done = page.locator('[data-flash="new-attribute"] .success');
  await done.waitFor();
  assert.equal((await done.textContent()).trim(), `Created attribute ${key}`);
  assert.equal(await focusedId(page), "new-attribute");
  const attributes = await adminAll("/attributes");
  const made = attributes.filter((a) => a.key === key);
  assert.deepEqual(made.map((a) => [a.name, a.type]), [[`Device ${RUN}`, "event"]]);
  assert.equal(attributes.filter((a) => a.name === "Dropped").length, 0, "the dismissed form sent nothing");
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

/** A webhook receiver on loopback that answers `status` (settable) and counts requests. */
async function startReceiver() {
  const receiver = { status: 503, received: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      receiver.received += 1;
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hooks`;
  receiver.close = () => new Promise((resolve) => server.close(resolve));
  return receiver;
}

/** A trophyd of this test's own, with the test clock, on a temporary database. */
async function startTrophyd(config) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trophyd-console-"));
  fs.writeFileSync(path.join(dir, "trophy.toml"), config);
  const child = spawn(
    opts.bin,
    ["--config", path.join(dir, "trophy.toml"), "--listen", "127.0.0.1:0", "--data", path.join(dir, "trophy.db"), "--test-clock"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const line = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`trophyd exited (${code}) before listening`)));
  });
  const url = line.match(/(http:\/\/\S+)/)[1];
  return {
    url,
    stop: () => {
      child.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("webhook deliveries: retry only what did not arrive, after a confirmation", async () => {
  const receiver = await startReceiver();
  const node = await startTrophyd(`[auth]
api_keys = ["app"]
admin_keys = ["admin"]

[[metrics]]
key = "lessons"
name = "Lessons"

[[achievements]]
key = "first"
name = "First lesson"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[webhooks]]
url = "${receiver.url}"
secret = "whsec_console"
events = ["achievement.completed"]
retry_for_hours = 1
`);
  const call = async (method, url, key, body) => {
    const res = await fetch(node.url + url, {
      method,
      headers: { "X-API-KEY": key, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${url}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  const advance = (seconds) => call("POST", "/_test/clock", "admin", { advanceSeconds: seconds });
  try {
    // One completion fails for the whole retry period, the next one arrives.
    await call("POST", "/v1/metrics/lessons/event", "app", { user: { id: "ann" }, value: 1 });
    for (let i = 0; i < 14; i++) await advance(300);
    receiver.status = 200;
    await call("POST", "/v1/metrics/lessons/event", "app", { user: { id: "bob" }, value: 1 });
    await advance(0);
    const rows = await call("GET", "/admin/v1/webhooks/deliveries", "admin");
    assert.deepEqual(rows.map((r) => r.status), ["delivered", "failed"]);
    const [delivered, failed] = rows;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${node.url}/dashboard/`);
    await signIn(page, "admin");
    await page.locator("h1", { hasText: "Overview" }).waitFor();
    await page.goto(`${node.url}/dashboard/#/webhooks`);
    await page.locator("h1", { hasText: "Webhook deliveries" }).waitFor();
    assert.equal(await page.locator(`#retry-${delivered.id}`).count(), 0, "a delivered row has no Retry");
    const retry = page.locator(`#retry-${failed.id}`);
    assert.equal(await retry.isVisible(), true);

    // Dismissed: nothing is sent.
    const sent = receiver.received;
    page.once("dialog", (d) => d.dismiss());
    await retry.click();
    await advance(0);
    assert.equal(receiver.received, sent);

    // Confirmed: re-queued, said next to the list, and sent.
    page.once("dialog", (d) => d.accept());
    await retry.click();
    const message = page.locator('[data-flash="deliveries"] .success');
    await message.waitFor();
    assert.match(await message.textContent(), /re-queued/);
    await advance(0);
    assert.equal(receiver.received, sent + 1);

    // The status filter: arrow keys move through the options without leaving the page.
    await page.focus("#delivery-status");
    const hash = await page.evaluate(() => location.hash);
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate(() => location.hash), hash);
    await page.selectOption("#delivery-status", "delivered");
    await page.click('form.toolbar button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes("status=delivered"));
    await page.locator(`#retry-${failed.id}`).waitFor({ state: "detached" });

    // A payload opens in place.
    const details = page.locator("details").first();
    await details.locator("summary").click();
    await page.waitForFunction(() => !document.querySelector("pre.payload").textContent.includes("Loading"));
    assert.match(await details.locator("pre").textContent(), /"type": "achievement.completed"/);
    await context.close();
  } finally {
    node.stop();
    await receiver.close();
  }
});

/**
 * A trophyd of the test's own (`config`), the request helper for it, and a signed-in page
 * on it at 1280 px: `{node, call, clock, page}`; `stop()` ends both.
 */
async function ownServer(config) {
  const node = await startTrophyd(`[auth]
api_keys = ["app"]
admin_keys = ["admin"]

[server]
default_timezone = "UTC"

${config}`);
  const call = async (method, url, key, body) => {
    const res = await fetch(node.url + url, {
      method,
      headers: { "X-API-KEY": key, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const clock = (body) => call("POST", "/_test/clock", "admin", body);
  const event = (user, value) => call("POST", "/v1/metrics/lessons/event", "app", { user: { id: user }, value });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on("pageerror", (e) => page.consoleErrors.push(String(e)));
  const open = async (hash, heading) => {
    if (!(await page.locator("#shell").isVisible())) {
      await page.goto(`${node.url}/dashboard/`);
      await signIn(page, "admin");
      await page.locator("h1", { hasText: "Overview" }).waitFor();
    }
    await page.goto(`${node.url}/dashboard/#/${hash}`);
    await page.locator("h1", { hasText: heading }).waitFor();
  };
  return {
    node,
    call,
    clock,
    event,
    page,
    open,
    stop: async () => {
      await context.close();
      node.stop();
    },
  };
}

/** The cells of each body row of `table`, trimmed. */
async function cells(table) {
  const rows = [];
  for (const row of await table.locator("tbody tr").all()) {
    rows.push((await row.locator("td").allTextContents()).map((t) => t.trim()));
  }
  return rows;
}

test("the leaderboards view shows each board's top, a past run's and a user's position", async () => {
  const s = await ownServer(`[[metrics]]
key = "lessons"
name = "Lessons"

[[leaderboards]]
key = "weekly"
name = "Weekly lessons"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
run_unit = "day"
run_interval = 7

[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
`);
  try {
    // The first run (Mar 1–7): ann 5, bob 3, cy 1; the current one (Mar 8–14): bob 4, dee 2.
    await s.clock({ now: "2031-03-02T10:00:00Z" });
    await s.event("ann", 5);
    await s.event("bob", 3);
    await s.event("cy", 1);
    await s.clock({ now: "2031-03-09T10:00:00Z" });
    await s.event("bob", 4);
    await s.event("dee", 2);
    const { page } = s;
    await s.open("leaderboards", "Leaderboards");
    const weekly = page.locator('section.board[data-board="weekly"]');
    const allTime = page.locator('section.board[data-board="all-time"]');
    assert.deepEqual(await cells(weekly), [["1", "bob", "4"], ["2", "dee", "2"]]);
    assert.deepEqual(await cells(allTime), [["1", "bob", "7"], ["2", "ann", "5"], ["3", "dee", "2"], ["4", "cy", "1"]]);
    assert.match(await weekly.textContent(), /this one 2031-03-08 – 2031-03-14/);
    assert.equal(await allTime.locator("select").count(), 0, "a perpetual board has no runs to choose");

    // A past run, chosen with the keyboard-usable form.
    const runs = await weekly.locator("#run-weekly option").allTextContents();
    assert.deepEqual(runs, ["2031-03-08 – 2031-03-14 (current)", "2031-03-01 – 2031-03-07"]);
    await page.selectOption("#run-weekly", "2031-03-01");
    await weekly.locator('button[type="submit"]').click();
    await page.waitForFunction(() => location.hash.includes("run=2031-03-01"));
    await page.locator('section.board[data-board="weekly"] td', { hasText: "ann" }).waitFor();
    assert.deepEqual(await cells(page.locator('section.board[data-board="weekly"]')), [["1", "ann", "5"], ["2", "bob", "3"], ["3", "cy", "1"]]);

    // A user's position, answered next to the form: in the run chosen, then in the current.
    await page.fill("#board-user", "ann");
    await page.press("#board-user", "Enter");
    const positions = page.locator("#board-positions");
    await positions.locator("table").waitFor();
    assert.match(await positions.textContent(), /ann: ranked on 2 of 2 leaderboards/);
    assert.deepEqual(await cells(positions), [["Weekly lessons (run from 2031-03-01)", "1", "5"], ["All time", "2", "5"]]);
    await page.goto(`${s.node.url}/dashboard/#/leaderboards?user=ann`);
    await page.locator("#board-positions", { hasText: "ranked on 1 of 2" }).waitFor();
    assert.deepEqual(await cells(page.locator("#board-positions")), [["Weekly lessons", "not ranked", "—"], ["All time", "2", "5"]]);
    await page.fill("#board-user", "nobody");
    await page.press("#board-user", "Enter");
    await page.locator("#board-positions", { hasText: "No user has the id “nobody”." }).waitFor();
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await s.stop();
  }
});

test("a user's page pauses the streak, ends the pause, completes an API achievement and creates and revokes a key, each after asking", async () => {
  const s = await ownServer(`[[metrics]]
key = "lessons"
name = "Lessons"

[streaks]
metrics = [{ metric = "lessons", threshold = 1 }]

[[achievements]]
key = "shared"
name = "Shared your progress"
trigger = "api"

[[achievements]]
key = "helped"
name = "Helped a friend"
trigger = "api"
`);
  try {
    await s.clock({ now: "2031-03-02T10:00:00Z" });
    await s.event("ann", 1);
    const { page } = s;
    await s.open("user?id=ann", "ann");
    assert.equal((await page.locator("text=No pauses.").count()), 1);

    // A pause, from the form next to the streak.
    await page.fill("#pause-start", "2031-03-10");
    await page.fill("#pause-end", "2031-03-12");
    await page.click("#pause-create");
    const paused = page.locator('[data-flash="pauses"] .success');
    await paused.waitFor();
    assert.equal((await paused.textContent()).trim(), "The streak is paused from 2031-03-10 to 2031-03-12.");
    const streak = await s.call("GET", "/v1/users/ann/streak", "app");
    assert.deepEqual(streak.pauses.map((p) => [p.start, p.end]), [["2031-03-10", "2031-03-12"]]);
    const pauseRows = () => cells(page.locator('h3:text-is("Pauses") + * table'));
    assert.deepEqual(await pauseRows(), [["2031-03-10", "2031-03-12", "End"]]);

    // Ending it asks first: dismissed, nothing changes; accepted, the pause is gone.
    const end = page.locator(`#pause-end-${streak.pauses[0].id}`);
    page.once("dialog", (d) => d.dismiss());
    await end.click();
    assert.equal((await s.call("GET", "/v1/users/ann/streak", "app")).pauses.length, 1);
    page.once("dialog", (d) => d.accept());
    await end.click();
    await page.locator('[data-flash="pauses"] .success', { hasText: "was ended" }).waitFor();
    assert.deepEqual((await s.call("GET", "/v1/users/ann/streak", "app")).pauses, []);
    assert.equal(await focusedId(page), "pause-create");

    // A bad range is the Admin API's issue, shown next to the form; nothing is created.
    await page.fill("#pause-start", "2031-03-20");
    await page.fill("#pause-end", "2031-03-18");
    await page.click("#pause-create");
    await page.locator('[data-flash="pauses"] .error').waitFor();
    assert.deepEqual((await s.call("GET", "/v1/users/ann/streak", "app")).pauses, []);

    // Completing an API achievement: both are offered; dismissed, nothing is completed.
    const offered = await page.locator("#complete-key option").allTextContents();
    assert.deepEqual(offered.sort(), ["Helped a friend (helped)", "Shared your progress (shared)"]);
    await page.selectOption("#complete-key", "shared");
    page.once("dialog", (d) => d.dismiss());
    await page.click("#complete-achievement");
    assert.deepEqual(await s.call("GET", "/v1/users/ann/achievements", "app"), []);
    page.once("dialog", (d) => d.accept());
    await page.click("#complete-achievement");
    await page.locator('[data-flash="complete"] .success', { hasText: "Completed Shared your progress for ann." }).waitFor();
    const done = await s.call("GET", "/v1/users/ann/achievements", "app");
    assert.deepEqual(done.map((a) => a.key), ["shared"]);
    assert.deepEqual(await page.locator("#complete-key option").allTextContents(), ["Helped a friend (helped)"]);
    assert.deepEqual((await rowCells(page, "Achievements completed", "Shared your progress")).slice(0, 2), ["Shared your progress", "shared"]);
    assert.equal(await focusedId(page), "complete-result");

    // A key for this user: its secret shown once next to the button, then listed, then
    // revoked after a confirmation.
    assert.equal(await page.locator("text=No keys for this user.").count(), 1);
    await page.click("#user-key-create");
    const secret = page.locator('[data-flash="user-keys"] .secret code');
    await secret.waitFor();
    const key = (await secret.textContent()).trim();
    assert.equal((await s.call("GET", "/v1/users/ann", key)).id, "ann", "the key shown acts for ann");
    const prefix = key.split(".")[0];
    const keyRows = () => cells(page.locator('#user-keys-heading + * table'));
    assert.deepEqual((await keyRows()).map((r) => r[0]), [prefix]);
    page.once("dialog", (d) => d.accept());
    await page.click(`button[aria-label="Revoke ${prefix}"]`);
    await page.locator('[data-flash="user-keys"] .success', { hasText: `Revoked ${prefix}.` }).waitFor();
    assert.equal(await page.locator("text=No keys for this user.").count(), 1);
    assert.equal(await focusedId(page), "user-key-create");
    const refused = await fetch(`${s.node.url}/v1/users/ann`, { headers: { "X-API-KEY": key } });
    assert.equal(refused.status, 401);
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await s.stop();
  }
});

test("the engagement charts draw one bar per day or row with the seeded values", async () => {
  const s = await ownServer(`[[metrics]]
key = "lessons"
name = "Lessons"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]

[[achievements]]
key = "first"
name = "First lesson"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "ten"
name = "Ten lessons"
trigger = "metric"
metric = "lessons"
metric_value = 10

[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 1

  [[points.levels]]
  key = "bronze"
  name = "Bronze"
  points = 0

  [[points.levels]]
  key = "silver"
  name = "Silver"
  points = 100
`);
  try {
    // ann on Mar 1, 2 and 3 (a 3-day streak, 12 lessons); bob on Mar 3 only.
    for (const [day, events] of [["01", [["ann", 5]]], ["02", [["ann", 5]]], ["03", [["ann", 2], ["bob", 1]]]]) {
      await s.clock({ now: `2031-03-${day}T10:00:00Z` });
      for (const [user, value] of events) await s.event(user, value);
    }
    const { page } = s;
    await s.open("engagement", "Engagement");
    const bars = (field) => page.locator(`svg.chart[data-field="${field}"] rect`);
    const values = async (field) => (await bars(field).evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("data-value")))));
    for (const field of ["activeUsers", "weeklyActive", "monthlyActive", "webhooksDelivered", "notificationsSent"]) {
      assert.equal(await bars(field).count(), 30, field);
    }
    assert.deepEqual((await values("activeUsers")).slice(-3), [1, 1, 2]);
    assert.deepEqual((await values("weeklyActive")).slice(-4), [0, 1, 1, 2]);
    assert.equal(await bars("weeklyActive").last().locator("title").textContent(), "2031-03-03: 2");
    assert.match(await page.locator('svg.chart[data-field="monthlyActive"]').getAttribute("aria-label"), /2 on the last day/);
    // Streak lengths: bob's 1 and ann's 3, in the ranges 1 and 2–3 of 8.
    assert.deepEqual(await values("streakLengths"), [1, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(await bars("streakLengths").nth(1).locator("title").textContent(), "2–3 days: 1");
    // Both started a streak; ann's went past 1 day.
    assert.deepEqual((await values("streakRetention")).slice(0, 2), [50, 50]);
    // First lesson: both users; ten lessons: ann alone.
    assert.deepEqual(await values("achievements"), [100, 50]);
    assert.match(await page.locator('svg.chart[data-field="achievements"]').getAttribute("aria-label"), /First lesson: 100% \(2 completions\); Ten lessons: 50% \(1 completions\)/);
    // XP: ann 120 (Silver), bob 10 (Bronze).
    assert.deepEqual(await values("levels-xp"), [1, 1]);
    // Nobody is in the control group: the rest is 100% active over 7 days.
    assert.deepEqual(await values("control"), [0, 0, 100, 100]);
    assert.equal(await page.locator("figure", { has: page.locator('svg[data-field="control"]') }).locator("figcaption").count(), 1);
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await s.stop();
  }
});

/**
 * A small SMTP server on loopback that takes mail for `ok@` addresses and refuses every
 * other recipient for good (550); `refused` counts the refusals.
 */
async function startSmtp() {
  const net = await import("node:net");
  const smtp = { refused: 0, accepted: 0 };
  const server = net.createServer((socket) => {
    let data = false;
    socket.write("220 test ESMTP\r\n");
    readline.createInterface({ input: socket }).on("line", (line) => {
      if (data) {
        if (line === ".") {
          data = false;
          smtp.accepted += 1;
          socket.write("250 queued\r\n");
        }
        return;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO" || verb === "HELO") socket.write("250 test\r\n");
      else if (verb === "RCPT" && !/<ok@/i.test(line)) {
        smtp.refused += 1;
        socket.write("550 no such user\r\n");
      } else if (verb === "DATA") {
        data = true;
        socket.write("354 go on\r\n");
      } else if (verb === "QUIT") socket.end("221 bye\r\n");
      else socket.write("250 ok\r\n");
    });
    socket.on("error", () => {});
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  smtp.url = `smtp://127.0.0.1:${server.address().port}`;
  smtp.close = () => new Promise((resolve) => server.close(resolve));
  return smtp;
}

test("the notifications view shows the channels and the deliveries, and retries only a failed one after a confirmation", async () => {
  const smtp = await startSmtp();
  const s = await ownServer(`[[achievements]]
key = "welcome"
name = "Welcome"
trigger = "api"

[emails]
smtp_url = "${smtp.url}"
from = "Acme <streaks@acme.test>"
public_url = "https://gamify.acme.test"

[emails.achievement]
`);
  try {
    await s.clock({ now: "2031-03-01T10:00:00Z" });
    for (const [id, email] of [["ann", "ok@acme.test"], ["eve", "eve@acme.test"]]) {
      await s.call("PUT", `/v1/users/${id}`, "app", { email, subscribeToEmails: true });
      await s.call("POST", "/v1/achievements/welcome/complete", "app", { user: { id } });
    }
    // The clock's move attempts what is due: ann's email is sent, eve's refused for good.
    await s.clock({ advanceSeconds: 1 });
    const listed = (await s.call("GET", "/admin/v1/notifications/deliveries", "admin")).deliveries;
    const byUser = Object.fromEntries(listed.map((d) => [d.userId, d]));
    assert.deepEqual([byUser.ann.status, byUser.eve.status], ["sent", "failed"]);
    assert.equal(smtp.accepted, 1);

    const { page } = s;
    await s.open("notifications", "Notifications");
    assert.equal(await cardValue(page, "Email", "SMTP server"), smtp.url);
    assert.equal(await cardValue(page, "Email", "From"), "Acme <streaks@acme.test>");
    assert.match(await cardValue(page, "Messages on", "achievement"), /achievement is completed/);
    assert.equal(await cardValue(page, "Push", "expo"), "not configured");
    const rows = await cells(page.locator("table", { has: page.locator("th", { hasText: "Channel" }) }));
    assert.deepEqual(
      rows.map((r) => [r[1], r[2], r[3], r[4], r[5]]).sort(),
      [["ann", "achievement", "email", "ok@acme.test", "sent"], ["eve", "achievement", "email", "eve@acme.test", "failed"]],
    );
    assert.equal(await page.locator(`#retry-${byUser.ann.id}`).count(), 0, "a sent message has no Retry");
    const retry = page.locator(`#retry-${byUser.eve.id}`);

    // Dismissed: nothing is sent.
    page.once("dialog", (d) => d.dismiss());
    await retry.click();
    await s.clock({ advanceSeconds: 1 });
    assert.equal(smtp.refused, 1);

    // Confirmed: re-queued, said next to the list with the focus kept there, then tried again.
    page.once("dialog", (d) => d.accept());
    await retry.click();
    const message = page.locator('[data-flash="deliveries"] .success');
    await message.waitFor();
    assert.match(await message.textContent(), /re-queued \(pending\)/);
    // The row is pending now, without its button: the focus is on the message.
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), "deliveries-result");
    await s.clock({ advanceSeconds: 1 });
    assert.equal(smtp.refused, 2);

    // The status filter, as a form: only the failed row.
    await page.selectOption("#notification-status", "sent");
    await page.click('form.toolbar button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes("status=sent"));
    // Eve's row may already have lost its button while pending, so the filtered list is
    // awaited by its content: until it is rendered the table can still hold the old rows.
    const users = async () => (await cells(page.locator("table", { has: page.locator("th", { hasText: "Channel" }) }))).map((r) => r[1]);
    let shown = await users();
    for (let tries = 0; tries < 50 && JSON.stringify(shown) !== JSON.stringify(["ann"]); tries++) {
      await page.waitForTimeout(100);
      shown = await users();
    }
    assert.deepEqual(shown, ["ann"]);
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await s.stop();
    await smtp.close();
  }
});

let passed = 0;
let failed = 0;
for (const t of tests) {
  if (opts.filter && !t.name.includes(opts.filter)) continue;
  try {
    await t.fn();
    passed += 1;
    console.log(`ok   ${t.name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${t.name}\n     ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 6).join("\n     ")}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
