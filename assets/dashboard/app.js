// Views and the hash router of the trophyd dashboard (`#/overview`, `#/metrics`, ...).
// Every value from the server reaches the DOM as text (text nodes, textContent or an
// attribute set with setAttribute), never as HTML.

import { createApi, isAuthError, query } from "./api.js";

const api = createApi();
const byId = (id) => document.getElementById(id);
const PAGE = 100;
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

// -------------------------------------------------------------------------------------
// DOM helpers

/** Appends children: nodes as they are, arrays flattened, anything else as a text node. */
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * `el("td.num", {title: "x", onclick: fn}, ...children)`: `on*` functions become event
 * listeners, `value` is set as a property, every other entry as an attribute.
 */
function el(spec, props, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      node.value = String(value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(node, children);
}

/** A value as display text. */
function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return value.toLocaleString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function badge(status) {
  const safe = String(status || "").toLowerCase().replace(/[^a-z-]/g, "");
  return el(`span.badge.${safe || "none"}`, {}, show(status));
}

function mono(text) {
  return el("code", {}, show(text));
}

/** A server time (RFC 3339) in the operator's zone, with the UTC time on hover. */
function when(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return show(iso);
  return el(
    "time",
    { datetime: iso, title: `${iso.replace("T", " ").replace("Z", "")} UTC` },
    t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }),
  );
}

/** `columns`: `[{label, value: row => text|node, num?}]`. */
function table(rows, columns, empty = "None yet.") {
  if (!rows.length) return el("p.muted", {}, empty);
  return el(
    "div.table-wrap",
    {},
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.label)))),
      el(
        "tbody",
        {},
        rows.map((row) =>
          el(
            "tr",
            {},
            columns.map((c) => {
              const v = c.value(row);
              return el(c.num ? "td.num" : "td", {}, v instanceof Node || Array.isArray(v) ? v : show(v));
            }),
          ),
        ),
      ),
    ),
  );
}

function card(title, big, pairs = [], footer = null) {
  return el(
    "div.card",
    {},
    el("h3", {}, title),
    big === null ? null : el("div.big", {}, show(big)),
    pairs.length ? el("dl", {}, pairs.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : show(v))])) : null,
    footer,
  );
}

function errorBox(e) {
  const status = e && e.status ? ` (HTTP ${e.status})` : "";
  return el("p.error", { role: "alert" }, `${(e && e.message) || e}${status}`);
}

/** `[k, v]` pairs of an Admin API attribute filter list, with ids shown as keys. */
function filters(list, names) {
  if (!Array.isArray(list) || !list.length) return "—";
  return list.map((f) => `${names.get(f.attributeId) || f.attributeId} = ${f.attributeValue}`).join(", ");
}

/** Every item of a paged Admin API list (`limit`/`skip`). */
async function all(path) {
  const out = [];
  for (let skip = 0; ; skip += PAGE) {
    const page = await api.get(path + query({ limit: PAGE, skip }));
    out.push(...page);
    if (page.length < PAGE || skip >= 100 * PAGE) return out;
  }
}

/** `Map(id → key)` of a list of definitions. */
const keysById = (list) => new Map(list.map((d) => [d.id, d.key]));

// -------------------------------------------------------------------------------------
// Session: login form, logout, and where a rejected key leads

function showLogin(message) {
  byId("shell").hidden = true;
  byId("view").replaceChildren();
  byId("session").hidden = true;
  byId("logout").hidden = true;
  byId("login-view").hidden = false;
  const error = byId("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  byId("api-key").focus();
}

function showShell() {
  byId("login-view").hidden = true;
  byId("shell").hidden = false;
  const { tenant } = api.credentials();
  const session = byId("session");
  session.textContent = tenant ? `Tenant: ${tenant}` : "Default tenant";
  session.hidden = false;
  byId("logout").hidden = false;
}

/** A refused key (401/403) ends the session; anything else is shown in place. */
function failed(e, target) {
  if (isAuthError(e)) {
    api.logout();
    showLogin(e.message);
    return;
  }
  target.replaceChildren(errorBox(e));
}

byId("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  api.login(form.elements.apiKey.value, form.elements.tenantId.value);
  button.disabled = true;
  try {
    // Checks the key and the tenant before showing anything.
    const overview = await api.get("/dashboard/api/overview");
    if (!overview.multiTenant && api.credentials().tenant) {
      throw new Error("This server has a single tenant: leave Tenant ID empty.");
    }
    form.reset();
    if (!location.hash.startsWith("#/")) location.hash = "#/overview";
    await route();
  } catch (e) {
    api.logout();
    showLogin(e.message);
  } finally {
    button.disabled = false;
  }
});

byId("logout").addEventListener("click", () => {
  api.logout();
  showLogin();
});

// -------------------------------------------------------------------------------------
// Actions: run, then re-render the view with the outcome on top

/**
 * The outcome of the last action (a created key, an error, a confirmation), shown by the
 * next rendering of the view: in the element marked `data-flash="<at>"` when the action
 * names one (next to where it happened), else above the view. `focus`: the id of the
 * element that gets the focus back (the action's button).
 */
let flash = null;

async function act(button, work, at = null) {
  button.disabled = true;
  const focus = button.id || null;
  try {
    flash = { node: await work(), at, focus };
  } catch (e) {
    if (isAuthError(e)) {
      api.logout();
      showLogin(e.message);
      return;
    }
    flash = { node: errorBox(e), at, focus };
  }
  await route();
}

function issuesBox(issues) {
  if (!Array.isArray(issues) || !issues.length) return null;
  return el("div.error", { role: "alert" }, issues.map((i) => el("div", {}, show(i.message || i.reason || i))));
}

// -------------------------------------------------------------------------------------
// Charts: inline SVG bars, one per day, each with its date and value as its title

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/**
 * A bar chart of `field` over `days` (`[{date, ...}]`). The heading gives the total, or,
 * for counts that do not add up across days (active users), the last day's.
 */
function barChart(days, field, title, perDayOnly = false) {
  const values = days.map((d) => Number(d[field]) || 0);
  const max = Math.max(1, ...values);
  const width = 600;
  const height = 120;
  const last = values.length ? values[values.length - 1] : 0;
  const step = width / Math.max(1, days.length);
  const total = values.reduce((a, b) => a + b, 0);
  const span = `${days[0] ? days[0].date : ""} to ${days.length ? days[days.length - 1].date : ""}`;
  const most = Math.max(0, ...values).toLocaleString();
  const label = perDayOnly
    ? `${title} per day, ${span}: ${last.toLocaleString()} on the last day, at most ${most} in a day`
    : `${title} per day, ${span}: ${total.toLocaleString()} in all, at most ${most} in a day`;
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height + 26}`, role: "img", "aria-label": label, class: "chart", "data-field": field },
    svg("line", { x1: 0, y1: height, x2: width, y2: height, class: "axis" }),
    ...days.map((d, i) => {
      const h = Math.round((values[i] / max) * (height - 4));
      return svg(
        "rect",
        { x: (i * step + 1).toFixed(1), y: height - h, width: Math.max(1, step - 2).toFixed(1), height: h, "data-value": values[i] },
        svg("title", {}, `${d.date}: ${values[i].toLocaleString()}`),
      );
    }),
    svg("text", { x: 0, y: height + 22, class: "tick" }, days[0] ? days[0].date : ""),
    svg("text", { x: width, y: height + 22, class: "tick end" }, days.length ? days[days.length - 1].date : ""),
  );
  const headline = perDayOnly ? [`${title} today: `, el("strong", {}, last.toLocaleString())] : [`${title}: `, el("strong", {}, total.toLocaleString())];
  return el("figure.chart-card", {}, el("figcaption", {}, headline), chart);
}

// -------------------------------------------------------------------------------------
// Views: each returns the nodes of its page

async function overviewView() {
  const [o, activity] = await Promise.all([api.get("/dashboard/api/overview"), api.get("/dashboard/api/activity?days=30")]);
  const days = activity.days;
  const d = o.definitions;
  const w = o.webhookDeliveries;
  const streak = o.streak.configured
    ? `${o.streak.frequency}${o.streak.managedBy ? ` (${o.streak.managedBy})` : ""}`
    : "not configured";
  return [
    el("h1", {}, "Overview"),
    el("p.muted", {}, "Server time ", when(o.now)),
    el(
      "div.cards",
      {},
      card("Users", o.users),
      card("Events", o.events.total, [["Last 24 hours", o.events.last24h]]),
      card("Points awarded", o.points.awarded, [["Awards", o.points.awards]]),
      card("Active definitions", null, [
        ["Metrics", d.metrics],
        ["Attributes", d.attributes],
        ["Achievements", d.achievements],
        ["Points systems", d.pointsSystems],
        ["Leaderboards", d.leaderboards],
        ["Streak", streak],
      ]),
      card(
        "Webhook deliveries",
        null,
        [
          ["Pending", w.pending],
          ["Failed", w.failed],
          ["Delivered", w.delivered],
        ],
        el("a", { href: "#/webhooks?status=failed" }, "Failed deliveries"),
      ),
    ),
    el(
      "p.muted",
      {},
      "Webhook deliveries are the whole server's (endpoints are configured per server); every other count is this tenant's.",
    ),
    el("h2", {}, "The last 30 days (UTC)"),
    el(
      "div.charts",
      {},
      barChart(days, "events", "Events"),
      barChart(days, "activeUsers", "Active users", true),
      barChart(days, "newUsers", "New users"),
      barChart(days, "points", "Points awarded"),
    ),
  ];
}

async function metricsView() {
  const metrics = await all("/admin/v1/metrics");
  return [
    el("h1", {}, "Metrics"),
    table(metrics, [
      { label: "Key", value: (m) => mono(m.key) },
      { label: "Name", value: (m) => m.name },
      { label: "Units", value: (m) => m.units },
      { label: "Unit type", value: (m) => m.unitType },
      { label: "ID", value: (m) => mono(m.id) },
    ]),
  ];
}

async function attributesView() {
  const attributes = await all("/admin/v1/attributes");
  return [
    el("h1", {}, "Attributes"),
    table(attributes, [
      { label: "Key", value: (a) => mono(a.key) },
      { label: "Name", value: (a) => a.name },
      { label: "Type", value: (a) => a.type },
      { label: "ID", value: (a) => mono(a.id) },
    ]),
  ];
}

async function achievementsView() {
  const [achievements, metrics, attributes] = await Promise.all([
    all("/admin/v1/achievements"),
    all("/admin/v1/metrics"),
    all("/admin/v1/attributes"),
  ]);
  const metricKeys = keysById(metrics);
  const achievementKeys = keysById(achievements);
  const attributeKeys = keysById(attributes);
  const condition = (a) => {
    switch (a.trigger) {
      case "metric":
        return `${metricKeys.get(a.metricId) || a.metricId} reaches ${show(a.metricValue)}`;
      case "streak":
        return `streak of ${show(a.streakLength)}`;
      case "achievement":
        return `after ${(a.achievementIds || []).map((id) => achievementKeys.get(id) || id).join(", ")}`;
      case "api":
        return "completed through the API";
      default:
        return show(a.trigger);
    }
  };
  return [
    el("h1", {}, "Achievements"),
    table(achievements, [
      { label: "Key", value: (a) => mono(a.key) },
      { label: "Name", value: (a) => a.name },
      { label: "Status", value: (a) => badge(a.status) },
      { label: "Trigger", value: (a) => a.trigger },
      { label: "Condition", value: condition },
      { label: "User filters", value: (a) => filters(a.userAttributes, attributeKeys) },
      { label: "Event filters", value: (a) => filters(a.eventAttributes, attributeKeys) },
    ]),
  ];
}

async function streakView() {
  const [s, o] = await Promise.all([
    api.get("/admin/v1/streaks/settings"),
    api.get("/dashboard/api/overview"),
  ]);
  const head = [
    el("h1", {}, "Streak settings"),
    o.streak.managedBy
      ? el("p.notice", {}, `Managed by ${o.streak.managedBy}: changes through the Admin API are refused.`)
      : null,
  ];
  if (!o.streak.configured) {
    return [head, el("p.muted", {}, "No streak is configured. Users' streaks stay at 0.")];
  }
  const freezes = s.freezes
    ? [
        ["Freezes at start", s.freezes.startCount],
        ["Most freezes held", s.freezes.maxCount],
        ["Auto-earn", s.freezes.autoEarnInterval ? `${s.freezes.autoEarnAmount} every ${s.freezes.autoEarnInterval} days` : "off"],
      ]
    : [["Freezes", "off"]];
  return [
    head,
    el(
      "div.cards",
      {},
      card("Periods", null, [
        ["Frequency", s.frequency],
        ["Evaluation", s.evaluationMode],
        ["Week starts", s.weekStart],
        ["Days off", (s.daysOff || []).map((d) => WEEKDAYS[d] || d).join(", ") || "none"],
      ]),
      card("Freezes", null, freezes),
    ),
    el("h2", {}, "Metrics that extend the streak"),
    table(s.metrics || [], [
      { label: "Metric", value: (m) => mono(m.key) },
      { label: "Threshold per period", value: (m) => m.threshold, num: true },
    ]),
  ];
}

async function pointsView() {
  const [systems, metrics, achievements, attributes] = await Promise.all([
    all("/admin/v1/points"),
    all("/admin/v1/metrics"),
    all("/admin/v1/achievements"),
    all("/admin/v1/attributes"),
  ]);
  const metricKeys = keysById(metrics);
  const achievementKeys = keysById(achievements);
  const attributeKeys = keysById(attributes);
  const children = await Promise.all(
    systems.map((s) => {
      const base = `/admin/v1/points/${encodeURIComponent(s.id)}`;
      return Promise.all([all(`${base}/triggers`), all(`${base}/levels`), all(`${base}/boosts`)]);
    }),
  );
  const condition = (t) => {
    switch (t.type) {
      case "metric":
        return `every ${show(t.metricThreshold)} of ${metricKeys.get(t.metricId) || t.metricId}`;
      case "achievement":
        return `completing ${achievementKeys.get(t.achievementId) || t.achievementId}`;
      case "streak":
        return `every ${show(t.streakLength)} periods of streak`;
      case "time":
        return `every ${show(t.timeInterval)} ${show(t.timeUnit)}`;
      case "user_creation":
        return "when the user is created";
      default:
        return show(t.type);
    }
  };
  const sections = systems.map((s, i) => {
    const [triggers, levels, boosts] = children[i];
    return el(
      "section.system",
      {},
      el("h2", {}, `${s.name} `, mono(s.key), " ", badge(s.status)),
      s.description ? el("p.muted", {}, s.description) : null,
      el("p", {}, `Cap: ${s.maxPoints === null || s.maxPoints === undefined ? "none" : show(s.maxPoints)}`),
      el("h3", {}, "Triggers"),
      table(triggers, [
        { label: "Type", value: (t) => t.type },
        { label: "Points", value: (t) => t.points, num: true },
        { label: "When", value: condition },
        { label: "Status", value: (t) => badge(t.status) },
        { label: "User filters", value: (t) => filters(t.userAttributes, attributeKeys) },
        { label: "Event filters", value: (t) => filters(t.eventAttributes, attributeKeys) },
        { label: "Blocks when out of points", value: (t) => (t.blockIfOutOfPoints ? "yes" : "no") },
      ]),
      el("h3", {}, "Levels"),
      table(levels, [
        { label: "Key", value: (l) => mono(l.key) },
        { label: "Name", value: (l) => l.name },
        { label: "From points", value: (l) => l.points, num: true },
        { label: "Description", value: (l) => l.description },
      ]),
      el("h3", {}, "Boosts"),
      table(boosts, [
        { label: "Name", value: (b) => b.name },
        { label: "Status", value: (b) => badge(b.status) },
        { label: "Start", value: (b) => b.start },
        { label: "End", value: (b) => b.end || "open-ended" },
        { label: "Multiplier", value: (b) => `×${b.multiplier}` },
        { label: "Rounding", value: (b) => b.rounding },
        { label: "For", value: (b) => (b.userId ? `user ${b.userId}` : filters(b.userAttributes, attributeKeys)) },
      ]),
    );
  });
  return [el("h1", {}, "Points systems"), sections.length ? sections : el("p.muted", {}, "No points systems.")];
}

async function leaderboardsView() {
  const [boards, metrics, systems, attributes] = await Promise.all([
    all("/admin/v1/leaderboards"),
    all("/admin/v1/metrics"),
    all("/admin/v1/points"),
    all("/admin/v1/attributes"),
  ]);
  const metricKeys = keysById(metrics);
  const systemKeys = keysById(systems);
  const attributeKeys = keysById(attributes);
  const rankedBy = (b) => {
    if (b.rankBy === "metric") return `metric ${metricKeys.get(b.metricId) || b.metricId}`;
    if (b.rankBy === "points") return `points ${systemKeys.get(b.pointsSystemId) || b.pointsSystemId}`;
    return show(b.rankBy);
  };
  return [
    el("h1", {}, "Leaderboards"),
    table(boards, [
      { label: "Key", value: (b) => mono(b.key) },
      { label: "Name", value: (b) => b.name },
      { label: "Status", value: (b) => badge(b.status) },
      { label: "Ranked by", value: rankedBy },
      { label: "Runs", value: (b) => (b.runUnit ? `${b.runInterval} ${b.runUnit}(s)` : "perpetual") },
      { label: "Start", value: (b) => b.start },
      { label: "End", value: (b) => b.end },
      { label: "Max participants", value: (b) => b.maxParticipants, num: true },
      {
        label: "Breakdown",
        value: (b) => (b.breakdownAttributes || []).map((id) => attributeKeys.get(id) || id).join(", ") || "—",
      },
    ]),
  ];
}

/** A delivery's last answer: the status, and the error when it says more than the status. */
function lastAnswer(row) {
  const status = row.lastStatus ? `HTTP ${row.lastStatus}` : "";
  const error = row.lastError && row.lastError !== status ? row.lastError : "";
  return [status, error].filter(Boolean).join(" ") || "—";
}

async function webhooksView(params) {
  const status = ["pending", "failed", "delivered"].includes(params.get("status")) ? params.get("status") : "";
  const type = params.get("type") || "";
  const endpoint = params.get("endpoint") || "";
  const before = params.get("before") || "";
  const rows = await api.get(`/admin/v1/webhooks/deliveries${query({ status, type, endpoint, before, limit: PAGE })}`);
  const go = (changes) => {
    location.hash = `#/webhooks${query({ status, type, endpoint, ...changes })}`;
  };
  const statusFilter = el(
    "select",
    { id: "delivery-status", name: "status" },
    ["", "pending", "failed", "delivered"].map((s) => el("option", { value: s, selected: s === status }, s || "any status")),
  );
  const typeFilter = el("input", { id: "delivery-type", name: "type", value: type, placeholder: "e.g. achievement.completed", autocomplete: "off" });
  const endpointFilter = el("input", { id: "delivery-endpoint", name: "endpoint", value: endpoint, placeholder: "endpoint URL", autocomplete: "off" });
  // A form with a submit button: choosing a status does not navigate by itself, so the
  // arrow keys can move through the options.
  const filters = el(
    "form.toolbar",
    {
      onsubmit: (e) => {
        e.preventDefault();
        go({ status: statusFilter.value, type: typeFilter.value.trim(), endpoint: endpointFilter.value.trim(), before: "" });
      },
    },
    el("label", {}, "Status", statusFilter),
    el("label", {}, "Type", typeFilter),
    el("label", {}, "Endpoint", endpointFilter),
    el("button", { type: "submit" }, "Filter"),
  );
  // Only what has not arrived can be sent again (the server refuses the rest), and
  // only after the operator confirms.
  const retry = (row) => {
    if (row.status === "delivered") return "";
    return el(
      "button.secondary",
      {
        type: "button",
        id: `retry-${row.id}`,
        "aria-label": `Retry delivery ${row.id}`,
        onclick: (e) =>
          window.confirm(`Send ${row.type} to ${row.endpoint} again now?`) &&
          act(
            e.currentTarget,
            async () => {
              const after = await api.post(`/admin/v1/webhooks/deliveries/${encodeURIComponent(row.id)}/retry`);
              return el("p.success", {}, `Delivery ${after.id} re-queued (${after.status}).`);
            },
            "deliveries",
          ),
      },
      "Retry",
    );
  };
  const payload = (row) =>
    el(
      "details",
      {
        ontoggle: async (e) => {
          const box = e.currentTarget;
          if (!box.open || box.dataset.loaded) return;
          box.dataset.loaded = "1";
          const pre = box.querySelector("pre");
          try {
            const one = await api.get(`/admin/v1/webhooks/deliveries/${encodeURIComponent(row.id)}`);
            pre.textContent = JSON.stringify(one.payload, null, 2);
          } catch (err) {
            pre.textContent = `Could not load the payload: ${err.message}`;
          }
        },
      },
      el("summary", {}, "Payload"),
      el("pre.payload", {}, "Loading…"),
    );
  const retryFailed = el(
    "button.secondary",
    {
      type: "button",
      id: "retry-all-failed",
      onclick: (e) =>
        window.confirm("Send every failed delivery again now?") &&
        act(
          e.currentTarget,
          async () => {
            const out = await api.post("/admin/v1/webhooks/deliveries/retry-failed");
            const removed = out.endpointRemoved ? `; ${out.endpointRemoved} failed again: their endpoint was removed` : "";
            const more = out.more ? "; more are left, retry again" : "";
            return el("p.success", {}, `${out.retried} re-queued${removed}${more}.`);
          },
          "deliveries",
        ),
    },
    "Retry all failed",
  );
  const last = rows.length ? rows[rows.length - 1].id : "";
  const pager = el(
    "nav.toolbar",
    { "aria-label": "Pages of deliveries" },
    before ? el("a", { href: `#/webhooks${query({ status, type, endpoint })}` }, "Newest") : null,
    rows.length === PAGE ? el("a", { href: `#/webhooks${query({ status, type, endpoint, before: last })}` }, "Older") : null,
  );
  return [
    el("h1", {}, "Webhook deliveries"),
    filters,
    el("div.toolbar", {}, retryFailed, el("span.muted", {}, `${PAGE} a page, newest first.`)),
    el("div", { "data-flash": "deliveries", role: "status", "aria-live": "polite" }),
    table(
      rows,
      [
        { label: "Created", value: (r) => when(r.created) },
        { label: "Type", value: (r) => mono(r.type) },
        { label: "Endpoint", value: (r) => r.endpoint },
        { label: "Status", value: (r) => badge(r.status) },
        { label: "Attempts", value: (r) => r.attempts, num: true },
        { label: "Last answer", value: lastAnswer },
        { label: "Next attempt", value: (r) => when(r.nextAttempt) },
        { label: "Finished", value: (r) => when(r.finished) },
        { label: "Payload", value: payload },
        { label: "", value: retry },
      ],
      status || type || endpoint ? "No deliveries match." : "No deliveries.",
    ),
    pager,
  ];
}

async function usersView(params) {
  const q = (params.get("q") || "").trim();
  const found = await api.get(`/dashboard/api/users${query({ q, limit: 50 })}`);
  const input = el("input", {
    id: "user-search",
    name: "q",
    type: "search",
    value: q,
    autocomplete: "off",
    spellcheck: "false",
    "data-autofocus": true,
  });
  const form = el(
    "form.toolbar",
    {
      role: "search",
      onsubmit: (e) => {
        e.preventDefault();
        const next = `#/users${query({ q: input.value.trim() })}`;
        if (location.hash === next) route();
        else location.hash = next;
      },
    },
    el("label", { for: "user-search" }, "Id, email or name starting with"),
    input,
    el("button", { type: "submit" }, "Search"),
  );
  const users = found.users;
  return [
    el("h1", {}, "Users"),
    form,
    el("p.muted", { role: "status" }, q ? `${users.length}${users.length === 50 ? "+" : ""} found for “${q}”.` : "The newest users."),
    table(
      users,
      [
        { label: "ID", value: (u) => el("a", { href: `#/user${query({ id: u.id })}` }, u.id) },
        { label: "Name", value: (u) => u.name },
        { label: "Email", value: (u) => u.email },
        { label: "Time zone", value: (u) => u.tz },
        { label: "Created", value: (u) => when(u.created) },
      ],
      q ? "No user's id, email or name starts with that." : "No users yet.",
    ),
  ];
}

/** A `GET` that answers null for a 404 (a user not on a board, say); other errors throw. */
async function getOrNull(path) {
  try {
    return await api.get(path);
  } catch (e) {
    if (e && e.status === 404) return null;
    throw e;
  }
}

function streakHistory(history) {
  if (!Array.isArray(history) || !history.length) return null;
  return el(
    "ol.history",
    { "aria-label": "Streak history, oldest first" },
    history.map((p) => {
      const kept = p.length > 0;
      const how = p.usedFreeze ? ", kept by a freeze" : p.usedPause ? ", paused" : "";
      return el(
        `li.${kept ? "kept" : "missed"}`,
        { title: `${p.periodStart}: length ${p.length}${how}` },
        el("span.day", {}, p.periodStart.slice(5)),
        el("span.len", {}, String(p.length)),
        el("span.sr", {}, kept ? ` streak ${p.length}${how}` : " no streak"),
      );
    }),
  );
}

async function userView(params) {
  const id = params.get("id") || "";
  if (!id) return [el("h1", {}, "User"), el("p.muted", {}, "No user named. "), el("a", { href: "#/users" }, "Find a user")];
  const enc = encodeURIComponent(id);
  const base = `/dashboard/api/app/users/${enc}`;
  const user = await getOrNull(base);
  if (!user) {
    return [el("h1", {}, "User not found"), el("p", {}, `No user has the id “${id}”. `, el("a", { href: `#/users${query({ q: id })}` }, "Search for it"))];
  }
  const [metrics, streak, achievements, events, preferences, systems, boards] = await Promise.all([
    api.get(`${base}/metrics`),
    api.get(`${base}/streak${query({ historyPeriods: 14 })}`),
    api.get(`${base}/achievements`),
    api.get(`/dashboard/api/users/${enc}/events${query({ limit: 20 })}`),
    api.get(`${base}/preferences`),
    all("/admin/v1/points"),
    all("/admin/v1/leaderboards"),
  ]);
  const active = (list) => list.filter((d) => d.status === "active");
  const [points, ranks] = await Promise.all([
    Promise.all(active(systems).map((s) => api.get(`${base}/points/${encodeURIComponent(s.key)}${query({ awards: 5 })}`))),
    Promise.all(active(boards).map((b) => getOrNull(`${base}/leaderboards/${encodeURIComponent(b.key)}`).then((r) => [b, r]))),
  ]);
  const attributes = Object.entries(user.attributes || {});
  const support = (label, idSuffix, work, confirmText = null) =>
    el(
      "button.secondary",
      {
        type: "button",
        id: `streak-${idSuffix}`,
        onclick: (e) => {
          if (confirmText && !window.confirm(confirmText)) return;
          act(e.currentTarget, work, "streak");
        },
      },
      label,
    );
  const issuesOr = (out, done) => issuesBox(out.issues) || el("p.success", {}, done);
  return [
    el("h1", {}, user.name ? `${user.name} ` : "", mono(user.id)),
    el(
      "div.cards",
      {},
      card("Profile", null, [
        ["Email", user.email],
        ["Time zone", user.tz],
        ["Emails", user.subscribeToEmails ? "subscribed" : "unsubscribed"],
        ["Control group", user.control ? "yes" : "no"],
        ["Signed up", user.signUpDate],
        ["Created", when(user.created)],
        ["Last active", when(user.updated)],
        ...attributes.map(([k, v]) => [k, v]),
      ]),
      card("Streak", streak.length, [
        ["Started", streak.started],
        ["Expires", streak.expires],
        ["Freezes", streak.maxFreezes ? `${streak.freezes} of ${streak.maxFreezes}` : streak.freezes],
        ["Rank", streak.rank],
      ]),
    ),
    el(
      "section",
      { "aria-labelledby": "streak-heading" },
      el("h2", { id: "streak-heading" }, "Streak history and support"),
      streakHistory(streak.streakHistory),
      el(
        "div.toolbar",
        {},
        support("Grant a freeze", "freeze", async () => {
          const out = await api.post("/admin/v1/streaks/freezes", { freezes: [{ userId: user.id }] });
          return issuesOr(out, "A freeze was granted.");
        }),
        support("Restore the streak", "restore", async () => {
          const out = await api.post("/admin/v1/streaks/restore", { users: [{ id: user.id }] });
          return issuesBox(out.issues) || el("p.success", {}, out.restoredUsers.length ? "The streak was restored." : "There was no lost streak to restore.");
        }),
        support(
          "Reset the streak",
          "reset",
          async () => {
            const out = await api.post("/admin/v1/streaks/reset", { users: [{ id: user.id }] });
            return issuesOr(out, "The streak was reset to 0.");
          },
          `Reset ${user.id}'s streak to 0? It cannot be restored afterwards.`,
        ),
      ),
      el("div", { "data-flash": "streak", role: "status", "aria-live": "polite" }),
    ),
    el("h2", {}, "Metrics"),
    table(metrics, [
      { label: "Metric", value: (m) => mono(m.key) },
      { label: "Name", value: (m) => m.name },
      { label: "Total", value: (m) => m.current, num: true },
    ]),
    el("h2", {}, "Achievements completed"),
    table(
      achievements,
      [
        { label: "Achievement", value: (a) => a.name },
        { label: "Key", value: (a) => mono(a.key) },
        { label: "Completed", value: (a) => when(a.achievedAt) },
        { label: "Users with it", value: (a) => (a.rarity === undefined ? "—" : `${a.rarity}%`), num: true },
      ],
      "None completed.",
    ),
    el("h2", {}, "Points"),
    points.length
      ? el(
          "div.cards",
          {},
          points.map((p) =>
            card(
              p.name,
              p.total,
              [["Level", p.level ? p.level.name : "—"], ...(p.awards || []).map((a) => [`+${show(a.awarded)} → ${show(a.total)}`, when(a.date)])],
            ),
          ),
        )
      : el("p.muted", {}, "No active points systems."),
    el("h2", {}, "Leaderboards"),
    table(
      ranks,
      [
        { label: "Leaderboard", value: ([b]) => b.name },
        { label: "Rank", value: ([, r]) => (r && r.rank ? r.rank : "not ranked"), num: true },
        { label: "Value", value: ([, r]) => (r ? r.value : null), num: true },
      ],
      "No active leaderboards.",
    ),
    el("h2", {}, "Latest events"),
    table(
      events,
      [
        { label: "Time", value: (e) => when(e.time) },
        { label: "Metric", value: (e) => mono(e.metric) },
        { label: "Value", value: (e) => e.value, num: true },
        { label: "Attributes", value: (e) => Object.entries(e.attributes || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—" },
      ],
      "No events.",
    ),
    el("h2", {}, "Notification preferences"),
    Object.keys(preferences.notifications || {}).length
      ? el("dl", {}, Object.entries(preferences.notifications).map(([k, v]) => [el("dt", {}, k), el("dd", {}, show(v))]))
      : el("p.muted", {}, "The defaults (nothing changed by the user)."),
  ];
}

function keySecret(created) {
  return el(
    "div.success",
    { role: "status" },
    el("p", {}, `Key for user ${created.userId}: copy it now, it is not shown again.`),
    el("div.secret", {}, el("code", {}, created.key)),
  );
}

async function keysView() {
  const o = await api.get("/dashboard/api/overview");
  const keys = o.applicationApiKeys;
  const userId = el("input", { name: "userId", required: true, placeholder: "user id", autocomplete: "off" });
  const create = el(
    "form.toolbar",
    {
      onsubmit: (e) => {
        e.preventDefault();
        const id = userId.value.trim();
        if (!id) return;
        act(e.currentTarget.querySelector("button"), async () => {
          const out = await api.post("/admin/v1/application-api-keys", [{ userId: id }]);
          return [out.created.map(keySecret), issuesBox(out.issues)];
        });
      },
    },
    el("label", {}, "New key for user", userId),
    el("button", { type: "submit" }, "Create key"),
  );
  const revoke = (k) =>
    el(
      "button.danger",
      {
        type: "button",
        onclick: (e) => {
          if (!window.confirm(`Revoke ${k.prefix} (user ${k.userId})? Requests with it will be refused.`)) return;
          act(e.currentTarget, async () => {
            const out = await api.del(`/admin/v1/application-api-keys${query({ ids: k.id })}`);
            return [
              out.deleted.length ? el("p.success", {}, `Revoked ${k.prefix}.`) : null,
              issuesBox(out.issues),
            ];
          });
        },
      },
      "Revoke",
    );
  return [
    el("h1", {}, "Application API keys"),
    el("p.muted", {}, "Per-user keys: each may only act for its own user. The Application API keys of trophy.toml are not listed."),
    create,
    table(
      keys,
      [
        { label: "Prefix", value: (k) => mono(k.prefix) },
        { label: "User", value: (k) => k.userId },
        { label: "Created", value: (k) => when(k.created) },
        { label: "ID", value: (k) => mono(k.id) },
        { label: "", value: revoke },
      ],
      "No per-user keys.",
    ),
    keys.length >= PAGE ? el("p.muted", {}, `The newest ${PAGE} are shown.`) : null,
  ];
}

async function settingsView() {
  const s = await api.get("/admin/v1/settings");
  const ex = s.experimentation || {};
  const ratio = el("input", {
    name: "controlRatio",
    type: "number",
    min: 0,
    max: 100,
    step: 1,
    required: true,
    value: ex.controlRatio ?? 0,
  });
  const form = el(
    "form.toolbar",
    {
      onsubmit: (e) => {
        e.preventDefault();
        const raw = ratio.value.trim();
        const n = Number(raw);
        // Anything that is not a number is sent as typed, for the server to explain.
        const controlRatio = raw !== "" && Number.isFinite(n) ? n : raw;
        act(e.currentTarget.querySelector("button"), async () => {
          const after = await api.patch("/admin/v1/settings", { experimentation: { controlRatio } });
          return el("p.success", {}, `Control ratio set to ${after.experimentation.controlRatio}%.`);
        });
      },
    },
    el("label", {}, "Control ratio (% of new users in the control group)", ratio),
    el("button", { type: "submit" }, "Save"),
  );
  const b = s.branding || {};
  return [
    el("h1", {}, "Settings"),
    form,
    el(
      "div.cards",
      {},
      card("Experimentation", null, [
        ["Control ratio", `${show(ex.controlRatio)}%`],
        ["Activation window", `${show(ex.userActivationWindow)} days`],
      ]),
      card("Recap", null, [["Aggregation period", s.aggregationPeriod]]),
      card("Branding", null, [
        ["App name", b.appName],
        ["App URL", b.appUrl],
        ["Brand colour", b.brandColor],
        ["Font", b.font],
      ]),
    ),
  ];
}

// -------------------------------------------------------------------------------------
// Router

const VIEWS = {
  overview: overviewView,
  users: usersView,
  user: userView,
  metrics: metricsView,
  attributes: attributesView,
  achievements: achievementsView,
  streak: streakView,
  points: pointsView,
  leaderboards: leaderboardsView,
  webhooks: webhooksView,
  keys: keysView,
  settings: settingsView,
};

let rendering = 0;
let shown = "";

async function route() {
  if (!api.loggedIn()) {
    showLogin();
    return;
  }
  showShell();
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const name = Object.hasOwn(VIEWS, path) ? path : "overview";
  const section = name === "user" ? "users" : name;
  for (const link of byId("nav").querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${section}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const target = byId("view");
  const mine = ++rendering;
  const message = flash;
  flash = null;
  // A new page starts blank; the same page keeps its content until the new one is in.
  if (name !== shown || !target.hasChildNodes()) target.replaceChildren(el("p.muted", {}, "Loading…"));
  shown = name;
  try {
    const nodes = await VIEWS[name](new URLSearchParams(search));
    if (mine !== rendering || !api.loggedIn()) return;
    const anchor = (root) => (message && message.at ? root.querySelector(`[data-flash="${message.at}"]`) : null);
    const page = append(document.createDocumentFragment(), nodes);
    const place = anchor(page);
    const note = message ? append(document.createDocumentFragment(), [message.node]) : null;
    if (place) place.replaceChildren(note);
    else if (note) page.prepend(note);
    target.replaceChildren(page);
    const focus = message && message.focus ? byId(message.focus) : target.querySelector("[data-autofocus]");
    if (focus) focus.focus();
  } catch (e) {
    if (mine !== rendering) return;
    failed(e, target);
  }
}

window.addEventListener("hashchange", route);
route();
