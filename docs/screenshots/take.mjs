#!/usr/bin/env node
// The README's console screenshots, from a demo database made here: a trophyd of its own
// (release build, test clock, a temporary directory), a month of a language-learning app's
// users seeded day by day through the Application API, and the console in Debian's Chromium
// (playwright-core from tests/browser, which downloads no browser), 1280 px wide.
//
//   cargo build --release
//   (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci)   # what tests/sdk/run.sh does
//   node docs/screenshots/take.mjs [--bin target/release/trophyd] [--chromium /usr/bin/chromium]
//
// Writes docs/screenshots/overview.png, user.png and engagement.png (full page). The data is
// deterministic: a fixed clock and a seeded generator, so a rerun changes a picture only when
// the console or the server did (and for the prefixes of ada's keys, which the server draws). A webhook receiver and an SMTP sink in this process give the
// delivery charts something to count (one receiver outage, one bouncing address). Not a test:
// nothing here is run by the test suites.

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");

function parseArgs(argv) {
  const o = { bin: path.join(ROOT, "target", "release", "trophyd"), chromium: process.env.CHROMIUM || "/usr/bin/chromium" };
  const names = { "--bin": "bin", "--chromium": "chromium" };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (!name || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${argv[i]} (--bin PATH, --chromium PATH)`);
    o[name] = path.resolve(argv[i + 1]);
  }
  if (!fs.existsSync(o.bin)) throw new Error(`${o.bin} is missing: run cargo build --release first`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));

// playwright-core as the browser tests install it (tests/browser/node_modules).
let chromium;
try {
  ({ chromium } = createRequire(path.join(ROOT, "tests", "browser", "package.json"))("playwright-core"));
} catch {
  throw new Error("playwright-core is missing: cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci");
}

const APP_KEY = "tr_demo_app_key";
const ADMIN_KEY = "tr_demo_admin_key";
/**
 * The demo's month: 30 UTC days ending on a Thursday; "now" is the last one's afternoon. Fixed
 * dates, in the future because the test clock starts at the wall clock and only moves forward.
 */
const DAYS = 30;
const END = Date.UTC(2031, 2, 13);
const START = END - (DAYS - 1) * 86_400_000;
const NOW = END + 16.5 * 3_600_000;
const dateOf = (day) => new Date(START + day * 86_400_000).toISOString().slice(0, 10);
const at = (day, hours) => new Date(START + day * 86_400_000 + Math.round(hours * 3_600_000)).toISOString();

/** mulberry32: a small seeded generator, so the month is the same on every run. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(20261210);

// ---------------------------------------------------------------------------------------------
// The people. `hour` is when (UTC) they usually study, inside their local daytime so a UTC
// day is their local day too; `p` the chance they study on a given day after `join`;
// `until` the last day they come back (alan drifts away and gets reactivation emails).

const USERS = [
  { id: "ada", name: "Ada Lovelace", tz: "Europe/London", plan: "pro", country: "GB", join: 0, p: 1, hour: 8 },
  { id: "grace", name: "Grace Hopper", tz: "America/New_York", plan: "pro", country: "US", join: 0, p: 0.9, hour: 14 },
  { id: "alan", name: "Alan Turing", tz: "Europe/London", plan: "free", country: "GB", join: 1, p: 0.85, hour: 19, until: 18 },
  { id: "katherine", name: "Katherine Johnson", tz: "America/Chicago", plan: "pro", country: "US", join: 2, p: 0.85, hour: 15 },
  { id: "edsger", name: "Edsger Dijkstra", tz: "Europe/Amsterdam", plan: "free", country: "NL", join: 4, p: 0.95, hour: 7 },
  { id: "margaret", name: "Margaret Hamilton", tz: "America/New_York", plan: "free", country: "US", join: 6, p: 0.7, hour: 21, control: true },
  { id: "barbara", name: "Barbara Liskov", tz: "America/New_York", plan: "pro", country: "US", join: 9, p: 0.6, hour: 17, email: "barbara.liskov@mail.example" },
  { id: "donald", name: "Donald Knuth", tz: "America/Los_Angeles", plan: "free", country: "US", join: 12, p: 0.75, hour: 18, control: true },
  { id: "radia", name: "Radia Perlman", tz: "America/New_York", plan: "free", country: "US", join: 15, p: 0.85, hour: 13 },
  { id: "hedy", name: "Hedy Lamarr", tz: "Europe/Vienna", plan: "pro", country: "AT", join: 19, p: 0.9, hour: 10 },
  { id: "ken", name: "Ken Thompson", tz: "America/Los_Angeles", plan: "free", country: "US", join: 23, p: 0.7, hour: 20 },
  { id: "sophie", name: "Sophie Wilson", tz: "Europe/London", plan: "free", country: "GB", join: 25, p: 1, hour: 12 },
];
/** The address the SMTP sink refuses for good: the failed notifications. */
const BOUNCES = "barbara.liskov@mail.example";
/** ada's month: a two-day pause she asks for (days 20 and 21), a day kept by a freeze (25). */
const ADA_PAUSE = [20, 21];
const ADA_FREEZE_DAY = 25;
/**
 * The webhook receiver is down on this day (its deliveries run out of retries), inside the
 * 7 days finished deliveries are kept, so the overview's card counts the failures too.
 */
const OUTAGE_DAY = 25;

function config({ webhookUrl, smtpUrl }) {
  const achievement = (key, name, rest, description) =>
    `[[achievements]]\nkey = "${key}"\nname = "${name}"\ndescription = "${description}"\n${rest}\n`;
  return `[auth]
api_keys = ["${APP_KEY}"]
admin_keys = ["${ADMIN_KEY}"]

[server]
default_timezone = "UTC"

[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[attributes]]
key = "country"
name = "Country"
type = "user"

[[attributes]]
key = "source"
name = "Source"
type = "event"

[[metrics]]
key = "lessons"
name = "Lessons completed"
units = "lessons"

[[metrics]]
key = "minutes"
name = "Minutes studied"
units = "minutes"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]

[streaks.freezes]
start_count = 1
max_count = 3
auto_earn_interval_days = 7
auto_earn_amount = 1

${achievement("first-lesson", "First lesson", 'trigger = "metric"\nmetric = "lessons"\nmetric_value = 1', "Complete your first lesson")}
${achievement("ten-lessons", "Ten lessons", 'trigger = "metric"\nmetric = "lessons"\nmetric_value = 10', "Complete ten lessons")}
${achievement("fifty-lessons", "Fifty lessons", 'trigger = "metric"\nmetric = "lessons"\nmetric_value = 50', "Complete fifty lessons")}
${achievement("five-hours", "Five hours of study", 'trigger = "metric"\nmetric = "minutes"\nmetric_value = 300', "Study for 300 minutes")}
${achievement("streak-3", "Three days in a row", 'trigger = "streak"\nstreak_length = 3', "A three-day streak")}
${achievement("streak-7", "A week in a row", 'trigger = "streak"\nstreak_length = 7', "A seven-day streak")}
${achievement("streak-14", "Two weeks in a row", 'trigger = "streak"\nstreak_length = 14', "A fourteen-day streak")}
${achievement("shared", "Shared your progress", 'trigger = "api"', "Shared a streak with a friend")}
${achievement("feedback", "Sent feedback", 'trigger = "api"', "Told us what to improve")}
[[points]]
key = "xp"
name = "XP"
description = "Experience points"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 1

  [[points.triggers]]
  type = "metric"
  points = 5
  metric = "minutes"
  threshold = 15

  [[points.triggers]]
  type = "achievement"
  points = 50
  achievement = "first-lesson"

  [[points.triggers]]
  type = "streak"
  points = 100
  streak_length = 7

  [[points.triggers]]
  type = "user_creation"
  points = 5

  [[points.levels]]
  key = "bronze"
  name = "Bronze"
  points = 0

  [[points.levels]]
  key = "silver"
  name = "Silver"
  points = 300

  [[points.levels]]
  key = "gold"
  name = "Gold"
  points = 1000

  [[points.levels]]
  key = "platinum"
  name = "Platinum"
  points = 2000

  [[points.boosts]]
  name = "Double XP weekend"
  start = "${dateOf(17)}"
  end = "${dateOf(18)}"
  multiplier = 2.0

[[leaderboards]]
key = "weekly-lessons"
name = "Weekly lessons"
rank_by = "metric"
metric = "lessons"
start = "2031-02-10"
run_unit = "day"
run_interval = 7

[[leaderboards]]
key = "xp-all-time"
name = "XP, all time"
rank_by = "points"
points_system = "xp"
start = "2031-02-01"

[[webhooks]]
url = "${webhookUrl}"
secret = "whsec_demo"
events = ["achievement.completed", "streak.lost", "streak.freeze_consumed", "points.level_changed"]
retry_for_hours = 2

[emails]
smtp_url = "${smtpUrl}"
from = "Lingo <streaks@lingo.example>"
public_url = "https://gamify.lingo.example"
rate_per_second = 100

[emails.achievement]

[emails.streak_reminder]
local_hour = 18

[emails.reactivation]
after_days = [3, 7]
`;
}

// ---------------------------------------------------------------------------------------------
// The receivers and the server

/** A webhook endpoint on loopback: 200, or 503 while `down`. */
async function startReceiver() {
  const receiver = { down: false, received: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      receiver.received += 1;
      res.writeHead(receiver.down ? 503 : 200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hooks`;
  receiver.close = () => new Promise((resolve) => server.close(resolve));
  return receiver;
}

/** An SMTP sink on loopback: takes every message, refuses the BOUNCES recipient (550). */
async function startSmtp() {
  const smtp = { accepted: 0, refused: 0, sockets: new Set() };
  const server = net.createServer((socket) => {
    smtp.sockets.add(socket);
    socket.on("close", () => smtp.sockets.delete(socket));
    socket.on("error", () => {});
    let data = false;
    socket.write("220 sink ESMTP\r\n");
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
      if (verb === "EHLO" || verb === "HELO") socket.write("250 sink\r\n");
      else if (verb === "RCPT" && line.toLowerCase().includes(BOUNCES)) {
        smtp.refused += 1;
        socket.write("550 no such mailbox\r\n");
      } else if (verb === "DATA") {
        data = true;
        socket.write("354 go on\r\n");
      } else if (verb === "QUIT") socket.end("221 bye\r\n");
      else socket.write("250 ok\r\n");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  smtp.url = `smtp://127.0.0.1:${server.address().port}`;
  smtp.close = () => {
    for (const s of smtp.sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return smtp;
}

/** trophyd on 127.0.0.1:0 with the test clock, its config and database in `dir`. */
async function startTrophyd(dir, text) {
  fs.writeFileSync(path.join(dir, "trophy.toml"), text);
  const child = spawn(
    opts.bin,
    ["--config", path.join(dir, "trophy.toml"), "--listen", "127.0.0.1:0", "--data", path.join(dir, "trophy.db"), "--test-clock"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (b) => (stderr = (stderr + b).slice(-4000)));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once("line", resolve);
    exited.then((code) => reject(new Error(`trophyd exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    url: line.match(/(http:\/\/\S+)/)[1],
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Seeding

async function seed(node, receiver) {
  const call = async (key, method, url, body) => {
    const res = await fetch(node.url + url, {
      method,
      headers: { "X-API-KEY": key, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    const out = text ? JSON.parse(text) : null;
    if (out && Array.isArray(out.issues) && out.issues.length) throw new Error(`${method} ${url}: ${text}`);
    return out;
  };
  const app = (method, url, body) => call(APP_KEY, method, url, body);
  const admin = (method, url, body) => call(ADMIN_KEY, method, url, body);
  const clock = (now) => admin("POST", "/_test/clock", { now });

  // Every action of the month, in time order: [iso time, what to do].
  const actions = [];
  const plan = (iso, work) => actions.push([iso, work]);
  for (const u of USERS) {
    for (let day = u.join; day < DAYS; day++) {
      const roll = random();
      const studies = day === u.join || (roll < u.p && day <= (u.until ?? DAYS));
      if (u.id === "ada" && (ADA_PAUSE.includes(day) || day === ADA_FREEZE_DAY)) continue;
      if (!studies) continue;
      // A session: 1 to 4 lessons a few minutes apart, then the minutes it took.
      const start = u.hour + random() * 1.5;
      const lessons = 1 + Math.floor(random() * (u.plan === "pro" ? 4 : 3));
      const source = random() < 0.6 ? "mobile" : "web";
      let minutes = 0;
      for (let n = 0; n < lessons; n++) {
        const t = start + n * (0.08 + random() * 0.1);
        minutes += 6 + Math.floor(random() * 9);
        plan(at(day, t), async () => {
          if (day === u.join && n === 0) await putUser(u);
          await app("POST", "/v1/metrics/lessons/event", { user: { id: u.id }, value: 1, attributes: { source } });
        });
      }
      plan(at(day, start + lessons * 0.2), () => app("POST", "/v1/metrics/minutes/event", { user: { id: u.id }, value: minutes, attributes: { source } }));
    }
  }
  // The control group is drawn when a user is created: set to 100% for its two members.
  async function putUser(u) {
    if (u.control) await admin("PATCH", "/admin/v1/settings", { experimentation: { controlRatio: 100 } });
    await app("PUT", `/v1/users/${u.id}`, {
      name: u.name,
      email: u.email || `${u.id}@lingo.example`,
      tz: u.tz,
      subscribeToEmails: true,
      attributes: { plan: u.plan, country: u.country },
    });
    if (u.control) await admin("PATCH", "/admin/v1/settings", { experimentation: { controlRatio: 0 } });
  }
  // Support work and the app's own completions.
  const key = (day, hours) => plan(at(day, hours), () => admin("POST", "/admin/v1/application-api-keys", [{ userId: "ada" }]));
  key(3, 9.5);
  key(27, 8.9);
  plan(at(ADA_PAUSE[0] - 1, 9), () => admin("POST", "/admin/v1/streaks/pauses", { pauses: [{ userId: "ada", start: dateOf(ADA_PAUSE[0]), end: dateOf(ADA_PAUSE.at(-1)) }] }));
  plan(at(DAYS - 1, 9), () => admin("POST", "/admin/v1/streaks/pauses", { pauses: [{ userId: "ada", start: dateOf(DAYS + 13), end: dateOf(DAYS + 16) }] }));
  plan(at(DAYS - 1, 9.1), () => app("PATCH", "/v1/users/ada/preferences", { notifications: { streak_reminder: ["email"] } }));
  const complete = (key, id, day, hours) => plan(at(day, hours), () => app("POST", `/v1/achievements/${key}/complete`, { user: { id } }));
  complete("shared", "ada", 8, 8.6);
  complete("shared", "grace", 11, 14.8);
  complete("shared", "edsger", 15, 7.9);
  complete("shared", "hedy", 24, 10.9);
  complete("feedback", "katherine", 13, 15.7);
  complete("feedback", "radia", 22, 13.8);
  // The outage: the receiver answers 503 through day OUTAGE_DAY.
  plan(at(OUTAGE_DAY, 0), async () => (receiver.down = true));
  plan(at(OUTAGE_DAY + 1, 0), async () => (receiver.down = false));
  // The end of every day, so the scheduler runs through each evening.
  for (let day = 0; day < DAYS - 1; day++) plan(at(day, 23.95), async () => {});

  actions.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let sent = 0;
  for (const [iso, work] of actions) {
    if (Date.parse(iso) > NOW) continue;
    await clock(iso);
    await work();
    sent += 1;
  }
  await clock(new Date(NOW).toISOString());
  const o = await admin("GET", "/dashboard/api/overview");
  return { actions: sent, users: o.users, events: o.events.total };
}

// ---------------------------------------------------------------------------------------------
// The pictures

async function shoot(url) {
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
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
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB", timezoneId: "UTC" });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${url}/dashboard/`);
    await page.fill("#api-key", ADMIN_KEY);
    await page.click("#login button[type=submit]");
    await page.locator("h1", { hasText: "Overview" }).waitFor();
    const shots = [
      ["overview", "Overview", "svg.chart"],
      ["user?id=ada", "Ada Lovelace", "ol.history"],
      ["engagement", "Engagement", 'svg.chart[data-field="notificationsSent"]'],
    ];
    for (const [hash, heading, content] of shots) {
      await page.goto(`${url}/dashboard/#/${hash}`);
      await page.locator("#view h1", { hasText: heading }).waitFor();
      await page.locator(`#view ${content}`).first().waitFor();
      await page.waitForFunction(() => !document.querySelector("#view").textContent.includes("Loading…"));
      await page.waitForLoadState("networkidle");
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      const file = path.join(HERE, `${hash.split("?")[0]}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`${path.relative(process.cwd(), file)}: ${fs.statSync(file).size.toLocaleString("en")} bytes`);
    }
    if (errors.length) throw new Error(`the console reported errors: ${errors.join("; ")}`);
  } finally {
    await browser.close();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trophyd-screenshots-"));
const receiver = await startReceiver();
const smtp = await startSmtp();
let node = null;
try {
  node = await startTrophyd(dir, config({ webhookUrl: receiver.url, smtpUrl: smtp.url }));
  const seeded = await seed(node, receiver);
  console.log(
    `seeded ${seeded.users} users and ${seeded.events} events (${seeded.actions} steps of the clock); ` +
      `${receiver.received} webhook requests, ${smtp.accepted} emails taken, ${smtp.refused} refused`,
  );
  await shoot(node.url);
} finally {
  if (node) await node.stop();
  await smtp.close();
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
