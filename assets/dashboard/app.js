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
  if (!endedBy(e)) target.replaceChildren(errorBox(e));
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

/** Re-renders the view with `node` placed at `at` and the focus on the element `focus`. */
function announce(node, at, focus) {
  flash = { node, at, focus };
  return route();
}

/** Ends the session on a refused key (401/403); says whether it did. */
function endedBy(e) {
  if (!isAuthError(e)) return false;
  api.logout();
  showLogin(e.message);
  return true;
}

/** `focus`: the id that gets the focus back, the button's own by default. */
async function act(button, work, at = null, focus = button.id || null) {
  button.disabled = true;
  let node;
  try {
    node = await work();
  } catch (e) {
    if (endedBy(e)) return;
    node = errorBox(e);
  }
  await announce(node, at, focus);
}

function issuesBox(issues) {
  if (!Array.isArray(issues) || !issues.length) return null;
  return el("div.error", { role: "alert" }, issues.map((i) => el("div", {}, show(i.message || i.reason || i))));
}

// -------------------------------------------------------------------------------------
// Forms: one builder for every definition the Admin API creates or changes, driven by a
// list of fields per kind (`KINDS`). A form opens in a modal <dialog>; it sends what an SDK
// would, shows the Admin API's messages under the fields they name, and on success closes
// and announces the outcome next to the button that opened it.

/**
 * A field, by its Admin API name (`name`; a dotted name is nested: `branding.appName`):
 *   type      text (default) | number | date | time | select | checkbox | checks | pairs
 *   label, hint
 *   options   `[[value, label]]` (select; checks: one box each; pairs: one text box each)
 *   only      "create" or "edit": shown in that form only
 *   when      `(values) => bool`: shown only while it holds (a trigger type's own fields)
 *   nullable  emptied in an edit, it is sent as null (which clears it), else as ""
 *   from      `(row) => value` of the control (default: the row's field)
 *   to        `(value) => JSON` sent (default: text as typed, numbers as numbers)
 */

/** `a.b` of `object`. */
function pathOf(object, name) {
  return name.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), object);
}

function setPath(object, name, value) {
  const keys = name.split(".");
  const last = keys.pop();
  let o = object;
  for (const k of keys) {
    if (o[k] === null || typeof o[k] !== "object") o[k] = {};
    o = o[k];
  }
  o[last] = value;
}

function defaultFrom(field, row) {
  const v = pathOf(row, field.name);
  switch (field.type) {
    case "checkbox":
      return Boolean(v);
    case "checks":
      return Array.isArray(v) ? v.map(String) : [];
    case "pairs":
      return Object.fromEntries((Array.isArray(v) ? v : []).map((p) => [p.attributeId, p.attributeValue]));
    default:
      return v === null || v === undefined ? "" : String(v);
  }
}

function defaultTo(field, value) {
  switch (field.type) {
    case "number": {
      const n = Number(value);
      return Number.isFinite(n) ? n : value;
    }
    case "pairs":
      return Object.entries(value)
        .filter(([, v]) => v !== "")
        .map(([attributeId, attributeValue]) => ({ attributeId, attributeValue }));
    default:
      return value;
  }
}

/**
 * The control of `field` holding `value`: `{node, focus, aria, hintId, read}`; `aria` is
 * the element that carries `aria-invalid` (the input, or the fieldset of a group).
 */
function fieldControl(field, value, disabled) {
  const id = `f-${field.name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const hintId = field.hint ? `${id}-hint` : null;
  const hint = field.hint ? el("p.hint", { id: hintId }, field.hint) : null;
  const type = field.type || "text";
  const options = field.options || [];
  if (type === "checks" || type === "pairs") {
    const inputs = options.map(([v, label], i) => {
      const input =
        type === "checks"
          ? el("input", { id: `${id}-${i}`, type: "checkbox", value: v, checked: value.includes(String(v)), disabled })
          : el("input", { id: `${id}-${i}`, type: field.input || "text", step: "any", value: value[v] ?? "", autocomplete: "off", disabled });
      const text = el("label", { for: `${id}-${i}` }, label);
      return [input, type === "checks" ? el("div.check", {}, input, text) : el("div.pair", {}, text, input)];
    });
    const node = el(
      "fieldset.field",
      { "data-field": field.name, "aria-describedby": hintId },
      el("legend", {}, field.label),
      hint,
      inputs.length ? inputs.map(([, row]) => row) : el("p.muted", {}, "None defined yet."),
    );
    const read = () =>
      type === "checks"
        ? inputs.filter(([i]) => i.checked).map(([i]) => i.value)
        : Object.fromEntries(inputs.map(([i], n) => [options[n][0], i.value]));
    return { node, focus: inputs.length ? inputs[0][0] : node, aria: node, hintId, read };
  }
  const common = { id, name: field.name, disabled, "aria-describedby": hintId };
  let input;
  if (type === "select") {
    input = el("select", common, options.map(([v, label]) => el("option", { value: v }, label)));
    input.value = options.some(([v]) => v === value) ? value : options.length ? options[0][0] : "";
  } else if (type === "checkbox") {
    input = el("input", { ...common, type: "checkbox", checked: value });
  } else {
    input = el("input", { ...common, type, value, autocomplete: "off", spellcheck: "false", step: type === "number" ? "any" : null });
  }
  const label = el("label", { for: id }, field.label);
  const node =
    type === "checkbox"
      ? el("div.field.check", { "data-field": field.name }, input, label, hint)
      : el("div.field", { "data-field": field.name }, label, input, hint);
  const read = type === "checkbox" ? () => input.checked : () => input.value;
  return { node, focus: input, aria: input, hintId, read };
}

/** The body the values make: empty text left out of a new definition, cleared in an edit. */
function bodyOf(entries, values, mode) {
  const out = {};
  for (const { field } of entries) {
    if (field.when && !field.when(values)) continue;
    const v = values[field.name];
    let json;
    if (v === "") json = mode === "create" ? undefined : field.nullable ? null : "";
    else json = field.to ? field.to(v) : defaultTo(field, v);
    if (json === undefined || (mode === "create" && Array.isArray(json) && !json.length)) continue;
    setPath(out, field.name, json);
  }
  return out;
}

/**
 * The top-level fields of `after` that differ from `before`: what an edit sends. A field
 * shown by the edit (a new trigger type's) and left empty is not sent: the Admin API then
 * says what the definition still needs.
 */
function changes(before, after) {
  return Object.fromEntries(
    Object.entries(after).filter(
      ([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k]) && !((v === "" || v === null) && !(k in before)),
    ),
  );
}

/**
 * The field an Admin API message is about: the one named by its first word (before a
 * space or ":"), or by that word without its last `.part` or `[n]` (`freezes.maxCount`,
 * `userAttributes[0].attributeValue`); a dotted field matches its last part (`brandColor`).
 */
function entryFor(entries, message) {
  const text = String(message);
  let word = text.split(/[\s:]/, 1)[0];
  while (word) {
    const hit = entries.find((e) => e.field.name === word || e.field.name.endsWith(`.${word}`));
    if (hit) return hit;
    const shorter = word.replace(/(\.[^.[]*|\[[^\]]*\])$/, "");
    if (shorter === word) break;
    word = shorter;
  }
  // A message that names its field further on ("Key already in use…", "metric
  // achievements need metricId and metricValue").
  const named = (e) => {
    const last = e.field.name.split(".").pop().replace(/[^A-Za-z0-9_]/g, "");
    return last && new RegExp(`\\b${last}\\b`, "i").test(text);
  };
  return entries.find(named) || null;
}

/** Saves through a bulk route: one item, POST to create, PATCH with its id to change. */
function bulkSave(path) {
  return async (body, row) => {
    const out = row ? await api.patch(path, [{ id: row.id, ...body }]) : await api.post(path, [body]);
    const items = (row ? out.updated : out.created) || [];
    return { item: items[0], issues: out.issues || [] };
  };
}

/** Saves a settings document (`PATCH` with the changed fields). */
function documentSave(path) {
  return async (body) => ({ item: await api.patch(path, body), issues: [] });
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** Why a managed definition's form is read-only. */
const managedReason = (by, noun) =>
  `Managed by ${by}: this ${noun} is declared there, and the Admin API refuses changes to it.`;

/**
 * Opens the form of `kind` for `row` (none: a new one). `opener`: the button that opened
 * it, which gets the focus back; `at`: where the outcome is announced. `managedBy`: what
 * manages `row`, which makes the form read-only.
 */
function openForm(kind, row, { opener, at, managedBy = null }) {
  const mode = row ? "edit" : "create";
  const readOnly = Boolean(managedBy);
  const entries = kind.fields
    .filter((f) => !f.only || f.only === mode)
    .map((field) => ({ field, ...fieldControl(field, (field.from || ((r) => defaultFrom(field, r)))(row || {}), readOnly) }));
  const values = () => Object.fromEntries(entries.map((e) => [e.field.name, e.read()]));
  const initial = values();
  const shown = (v) => entries.filter((e) => !e.field.when || e.field.when(v));
  const refresh = () => {
    const visible = shown(values());
    for (const e of entries) e.node.hidden = !visible.includes(e);
  };
  const name = row ? kind.name(row) : "";
  const title = readOnly ? `${capital(kind.noun)} ${name}` : row ? `Edit ${kind.noun} ${name}` : `New ${kind.noun}`;
  const top = el("div.error", { role: "alert", tabindex: "-1", hidden: true });
  const save = readOnly ? null : el("button", { type: "submit" }, "Save");
  const cancel = el("button.secondary", { type: "button" }, readOnly ? "Close" : "Cancel");
  const form = el(
    "form.form",
    { novalidate: true, autocomplete: "off" },
    el("h2", { id: "form-title", tabindex: "-1" }, title.trim()),
    readOnly ? el("p.notice", { id: "form-reason" }, managedReason(managedBy, kind.noun)) : null,
    top,
    entries.map((e) => e.node),
    el("div.form-actions", {}, save, cancel),
  );
  const dialog = el("dialog.form-dialog", { "aria-labelledby": "form-title", "aria-describedby": readOnly ? "form-reason" : null }, form);
  let saved = false;

  const clear = () => {
    top.replaceChildren();
    top.hidden = true;
    for (const e of entries) {
      e.invalid = false;
      for (const p of e.node.querySelectorAll(":scope > .field-error")) p.remove();
      e.aria.removeAttribute("aria-invalid");
      if (e.hintId) e.aria.setAttribute("aria-describedby", e.hintId);
      else e.aria.removeAttribute("aria-describedby");
    }
  };
  const showIssues = (messages) => {
    clear();
    const visible = shown(values());
    for (const message of messages) {
      const e = entryFor(visible, message);
      if (!e) {
        top.append(el("div", {}, message));
        top.hidden = false;
        continue;
      }
      const errorId = `${e.aria.id || `f-${e.field.name.replace(/[^A-Za-z0-9_-]/g, "-")}`}-error`;
      const existing = e.node.querySelector(":scope > .field-error");
      if (existing) existing.append(el("br"), message);
      else e.node.append(el("p.field-error", { id: errorId }, message));
      e.invalid = true;
      e.aria.setAttribute("aria-invalid", "true");
      e.aria.setAttribute("aria-describedby", [errorId, e.hintId].filter(Boolean).join(" "));
    }
    const first = visible.find((e) => e.invalid);
    (first ? first.focus : top).focus();
  };

  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (readOnly || save.disabled) return;
    const now = values();
    const body = row ? changes(bodyOf(entries, initial, "edit"), bodyOf(entries, now, "edit")) : bodyOf(entries, now, "create");
    save.disabled = true;
    let outcome;
    try {
      outcome = await (kind.save || bulkSave(kind.path))(body, row);
    } catch (e) {
      if (endedBy(e)) {
        dialog.close();
        return;
      }
      outcome = { issues: [{ message: e.message }] };
    } finally {
      save.disabled = false;
    }
    if (outcome.issues.length) {
      showIssues(outcome.issues.map((i) => String(i.message || i.reason || JSON.stringify(i))));
      return;
    }
    saved = true;
    dialog.close();
    const done = `${row ? "Saved" : "Created"} ${kind.noun} ${kind.name(outcome.item || { ...row, ...body })}`;
    await announce(el("p.success", {}, done.trim()), at, opener.id);
  });
  // Escape closes the dialog too ("cancel", then "close").
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (!saved && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  refresh();
  dialog.showModal();
  // A read-only form opens on its title, so that the reason under it is in view.
  (readOnly ? form.querySelector("h2") : shown(initial)[0].focus).focus();
}

/** Which definitions the server's configuration declares: `{by, ids}`. */
async function managedDefinitions() {
  const m = await api.get("/dashboard/api/managed");
  return { by: m.managedBy, ids: new Set(m.ids) };
}

const managedBadge = (by) => el("span.badge.managed", {}, `Managed by ${by}`);

/** A live region where an action's outcome is announced, next to its button. */
const flashBox = (at) => el("div.flash", { "data-flash": at, role: "status", "aria-live": "polite" });

/**
 * The buttons of one definition: Edit (View, read-only, when the configuration manages it)
 * and Archive, with the place their outcome is announced. An archived row is gone, so its
 * outcome is announced at `listAt`, whose button then gets the focus.
 */
function rowActions(kind, row, managed, listAt) {
  const by = managed.ids.has(row.id) ? managed.by : null;
  const name = kind.name(row);
  const at = `row-${row.id}`;
  const edit = el(
    "button.secondary",
    {
      type: "button",
      id: `edit-${row.id}`,
      "aria-label": `${by ? "View" : "Edit"} ${kind.noun} ${name}`,
      onclick: (e) => openForm(kind, row, { opener: e.currentTarget, at, managedBy: by }),
    },
    by ? "View" : "Edit",
  );
  const verb = kind.remove || "Archive";
  const remove = by
    ? null
    : el(
        "button.danger",
        {
          type: "button",
          id: `remove-${row.id}`,
          "aria-label": `${verb} ${kind.noun} ${name}`,
          onclick: (e) => {
            if (!window.confirm(`${verb} ${kind.noun} ${name}? The Admin API will no longer list it.`)) return;
            act(
              e.currentTarget,
              async () => {
                const out = await api.del(`${kind.path}${query({ ids: row.id })}`);
                const done = `${verb === "Delete" ? "Deleted" : "Archived"} ${kind.noun} ${name}`;
                return [out.deleted.length ? el("p.success", {}, done) : null, issuesBox(out.issues)];
              },
              listAt,
              listAt,
            );
          },
        },
        verb,
      );
  return el("div.row-actions", {}, edit, remove, flashBox(at));
}

/** The "New …" button of `kind` with the place its outcome is announced. */
function newButton(kind) {
  const id = `new-${kind.slug}`;
  return el(
    "div.toolbar",
    {},
    el("button", { type: "button", id, onclick: (e) => openForm(kind, null, { opener: e.currentTarget, at: id }) }, `New ${kind.noun}`),
    flashBox(id),
  );
}

/** The button that opens the form of a settings document (`current`), read-only when managed. */
function documentButton(kind, current, label, managedBy = null) {
  const id = `edit-${kind.slug}`;
  const open = (e) => openForm(kind, current, { opener: e.currentTarget, at: id, managedBy });
  return el("div.toolbar", {}, el("button", { type: "button", id, onclick: open }, label), flashBox(id));
}

/**
 * The definitions of `kind` in a table under their "New" button, each row with its
 * buttons, and the badge of the configuration on the rows it manages.
 */
function definitionsTable(kind, rows, columns, managed, empty) {
  const [first, ...rest] = columns;
  const marked = {
    ...first,
    value: (r) => {
      const v = first.value(r);
      return [v instanceof Node ? v : show(v), managed.ids.has(r.id) ? [" ", managedBadge(managed.by)] : null];
    },
  };
  return [
    newButton(kind),
    table(rows, [marked, ...rest, { label: "Actions", value: (r) => rowActions(kind, r, managed, `new-${kind.slug}`) }], empty),
  ];
}

// The field lists, per kind. `ctx`: the Admin API lists the selects are filled from
// (`metrics`, `attributes`, `achievements`, `systems`).

const KEY_HINT = 'Letters, digits, "-" and "_".';
const choices = (...values) => values.map((v) => [v, v]);
const choose = (list, blank) => [["", blank], ...list.map((d) => [d.id, `${d.name} (${d.key})`])];
const attributesOf = (ctx, type) => ctx.attributes.filter((a) => a.type === type).map((a) => [a.id, `${a.name} (${a.key})`]);
const is = (name, value) => (values) => values[name] === value;
const FILTER_HINT = "Leave a value empty for no condition on that attribute.";
const nameField = { name: "name", label: "Name" };
const keyField = (hint, only = "create") => ({ name: "key", label: "Key", only, hint: `${KEY_HINT} ${hint}` });
const badgeField = {
  name: "badge",
  label: "Badge image URL",
  nullable: true,
  from: (row) => (row.badge && row.badge.url) || "",
  to: (url) => ({ url }),
};
const userFilters = (ctx, label) => ({ name: "userAttributes", label, type: "pairs", options: attributesOf(ctx, "user"), hint: FILTER_HINT });
const eventFilters = (ctx, when) => ({
  name: "eventAttributes",
  label: "Only events with these attributes",
  type: "pairs",
  options: attributesOf(ctx, "event"),
  hint: FILTER_HINT,
  when,
});
const FONTS = ["MODERN_SANS", "BOOK_SANS", "ORGANIC_SANS", "GEOMETRIC_SANS", "HEAVY_SANS", "ROUNDED_SANS", "MODERN_SERIF", "BOOK_SERIF", "MONOSPACE"];
const imageField = (name, label) => ({
  name,
  label,
  nullable: true,
  from: (s) => (pathOf(s, name) && pathOf(s, name).url) || "",
  to: (url) => ({ url }),
  hint: "Empty: none.",
});

const KINDS = {
  metric: () => ({
    slug: "metric",
    noun: "metric",
    path: "/admin/v1/metrics",
    name: (m) => m.key,
    fields: [
      nameField,
      keyField("Events name the metric by it; it cannot change later."),
      { name: "unitType", label: "Unit type", type: "select", options: choices("number", "currency") },
      { name: "units", label: "Units", hint: "What one unit is, e.g. lessons." },
    ],
  }),
  attribute: () => ({
    slug: "attribute",
    noun: "attribute",
    path: "/admin/v1/attributes",
    name: (a) => a.key,
    fields: [
      nameField,
      keyField("Users and events name the attribute by it; it cannot change later."),
      { name: "type", label: "Type", type: "select", only: "create", options: [["user", "user: set on users"], ["event", "event: sent with events"]] },
    ],
  }),
  achievement: (ctx) => {
    const trigger = (t) => is("trigger", t);
    return {
      slug: "achievement",
      noun: "achievement",
      path: "/admin/v1/achievements",
      name: (a) => a.key,
      fields: [
        nameField,
        keyField("Empty on a new achievement: made from the name.", null),
        { name: "description", label: "Description" },
        {
          name: "status",
          label: "Status",
          type: "select",
          options: [["inactive", "inactive: not completed yet"], ["active", "active"], ["locked", "locked: shown, not completable"]],
        },
        {
          name: "trigger",
          label: "Completed when",
          type: "select",
          options: [
            ["metric", "a metric reaches a value (metric)"],
            ["streak", "a streak reaches a length (streak)"],
            ["api", "completed through the API (api)"],
            ["achievement", "other achievements are completed (achievement)"],
            ["anniversary", "years after sign-up (anniversary)"],
          ],
        },
        { name: "metricId", label: "Metric", type: "select", options: choose(ctx.metrics, "Choose a metric"), when: trigger("metric") },
        { name: "metricValue", label: "Metric value", type: "number", when: trigger("metric") },
        eventFilters(ctx, trigger("metric")),
        { name: "streakLength", label: "Streak length", type: "number", when: trigger("streak") },
        {
          name: "achievementIds",
          label: "After these achievements",
          type: "checks",
          options: ctx.achievements.map((a) => [a.id, `${a.name} (${a.key})`]),
          when: trigger("achievement"),
        },
        { name: "anniversaryYears", label: "Years after sign-up", type: "number", when: trigger("anniversary") },
        userFilters(ctx, "Only users with these attributes"),
        badgeField,
      ],
    };
  },
  system: () => ({
    slug: "points-system",
    noun: "points system",
    path: "/admin/v1/points",
    name: (s) => s.key,
    fields: [
      nameField,
      keyField("It cannot change later."),
      { name: "description", label: "Description", nullable: true },
      { name: "maxPoints", label: "Cap (most points a user can hold)", type: "number", nullable: true, hint: "Empty: no cap." },
      badgeField,
    ],
  }),
  trigger: (ctx, system) => {
    const type = (t) => is("type", t);
    return {
      slug: `trigger-${system.id}`,
      noun: "points trigger",
      path: `/admin/v1/points/${encodeURIComponent(system.id)}/triggers`,
      name: (t) => `(${t.type}, ${t.points} points)`,
      fields: [
        {
          name: "type",
          label: "Awards points for",
          type: "select",
          options: [
            ["metric", "an amount of a metric (metric)"],
            ["achievement", "completing an achievement (achievement)"],
            ["streak", "a streak length (streak)"],
            ["time", "every interval of time (time)"],
            ["user_creation", "the user's creation (user_creation)"],
          ],
          hint: "An active trigger keeps its type: make it inactive to change it.",
        },
        { name: "points", label: "Points", type: "number", hint: "Negative points deduct." },
        { name: "status", label: "Status", type: "select", options: choices("inactive", "active") },
        { name: "metricId", label: "Metric", type: "select", options: choose(ctx.metrics, "Choose a metric"), when: type("metric") },
        { name: "metricThreshold", label: "For every this much of the metric", type: "number", when: type("metric") },
        eventFilters(ctx, type("metric")),
        { name: "achievementId", label: "Achievement", type: "select", options: choose(ctx.achievements, "Choose an achievement"), when: type("achievement") },
        { name: "streakLength", label: "For every this many periods of streak", type: "number", when: type("streak") },
        { name: "timeUnit", label: "Time unit", type: "select", options: choices("hours", "days"), when: type("time") },
        { name: "timeInterval", label: "For every this many units of time", type: "number", when: type("time") },
        userFilters(ctx, "Only users with these attributes"),
        { name: "blockIfOutOfPoints", label: "Refuse an event that would take the user below 0 points", type: "checkbox" },
        { name: "description", label: "Description", nullable: true },
      ],
    };
  },
  level: (ctx, system) => ({
    slug: `level-${system.id}`,
    noun: "level",
    path: `/admin/v1/points/${encodeURIComponent(system.id)}/levels`,
    name: (l) => l.key,
    remove: "Delete",
    fields: [
      keyField("It cannot change later."),
      nameField,
      { name: "points", label: "From this many points", type: "number" },
      { name: "description", label: "Description", nullable: true },
      badgeField,
    ],
  }),
  boost: (ctx, system) => ({
    slug: `boost-${system.id}`,
    noun: "boost",
    path: `/admin/v1/points/${encodeURIComponent(system.id)}/boosts`,
    name: (b) => b.name,
    fields: [
      nameField,
      { name: "start", label: "First day", type: "date" },
      { name: "end", label: "Last day", type: "date", nullable: true, hint: "Empty: open-ended." },
      { name: "multiplier", label: "Multiplier", type: "number" },
      { name: "rounding", label: "Rounding", type: "select", options: choices("down", "up", "nearest") },
      { name: "userId", label: "For one user (id)", only: "create", hint: "Empty: every user matching the attributes below." },
      userFilters(ctx, "For users with these attributes"),
    ],
  }),
  leaderboard: (ctx) => ({
    slug: "leaderboard",
    noun: "leaderboard",
    path: "/admin/v1/leaderboards",
    name: (b) => b.key,
    fields: [
      nameField,
      keyField("It can change only while the leaderboard is inactive.", null),
      { name: "description", label: "Description" },
      {
        name: "status",
        label: "Status",
        type: "select",
        options: choices("inactive", "active", "scheduled", "finished"),
        hint: "Scheduled: active from a future first day. An activated board cannot return to inactive.",
      },
      {
        name: "rankBy",
        label: "Ranked by",
        type: "select",
        options: choices("metric", "points", "streak"),
        hint: "It can change only while the leaderboard is inactive.",
      },
      { name: "metricId", label: "Metric", type: "select", options: choose(ctx.metrics, "Choose a metric"), when: is("rankBy", "metric") },
      { name: "pointsSystemId", label: "Points system", type: "select", options: choose(ctx.systems, "Choose a points system"), when: is("rankBy", "points") },
      { name: "maxParticipants", label: "Most participants", type: "number", nullable: true, hint: "1 to 1000; empty: 1000." },
      { name: "start", label: "First day", type: "date", hint: "Empty on a new board: today." },
      { name: "end", label: "Last day", type: "date", nullable: true, hint: "Empty: no end." },
      { name: "startTime", label: "Counts from (time of day)", type: "time", nullable: true },
      { name: "endTime", label: "Counts until (time of day)", type: "time", nullable: true },
      { name: "runUnit", label: "Runs", type: "select", nullable: true, options: [["", "one run, never reset"], ["day", "every N days"], ["month", "every N months"], ["year", "every N years"]] },
      { name: "runInterval", label: "N (run length)", type: "number", nullable: true, hint: "With a run unit only." },
      { name: "breakdownAttributes", label: "Ranked apart by", type: "checks", options: attributesOf(ctx, "user") },
    ],
  }),
  streak: (ctx) => {
    const freezes = (v) => v.freezes;
    const freezeCount = (name, label, hint) => ({ name: `freezes.${name}`, label, type: "number", nullable: true, when: freezes, hint });
    return {
      slug: "streak",
      noun: "streak settings",
      path: "/admin/v1/streaks/settings",
      name: () => "",
      save: documentSave("/admin/v1/streaks/settings"),
      fields: [
        { name: "frequency", label: "Frequency", type: "select", options: choices("daily", "weekly", "monthly") },
        { name: "weekStart", label: "Weeks start on", type: "select", options: choices("sunday", "monday") },
        {
          name: "evaluationMode",
          label: "A period counts when",
          type: "select",
          options: [["OR", "any metric reaches its threshold (OR)"], ["AND", "every metric reaches its threshold (AND)"]],
        },
        {
          name: "metrics",
          label: "Threshold per period, per metric",
          type: "pairs",
          input: "number",
          options: ctx.metrics.map((m) => [m.key, `${m.name} (${m.key})`]),
          hint: "Empty: the metric does not count.",
          from: (s) => Object.fromEntries((s.metrics || []).map((m) => [m.key, String(m.threshold)])),
          to: (v) =>
            Object.entries(v)
              .filter(([, t]) => t !== "")
              .map(([key, t]) => ({ key, threshold: Number.isFinite(Number(t)) ? Number(t) : t })),
        },
        {
          name: "daysOff",
          label: "Days off (a missed day off does not break the streak)",
          type: "checks",
          options: WEEKDAYS.map((d, i) => [String(i), d]),
          to: (days) => days.map(Number),
        },
        { name: "customizationEnabled", label: "Users may set their own streak conditions", type: "checkbox" },
        { name: "freezes", label: "Freezes", type: "checkbox", to: (on) => (on ? {} : null) },
        freezeCount("startCount", "Freezes a new user holds"),
        freezeCount("maxCount", "Most freezes a user holds"),
        freezeCount("autoEarnInterval", "One more every N days", "With the amount below; empty: none earned."),
        freezeCount("autoEarnAmount", "Freezes earned each time"),
      ],
    };
  },
  settings: () => ({
    slug: "settings",
    noun: "settings",
    path: "/admin/v1/settings",
    name: () => "",
    save: documentSave("/admin/v1/settings"),
    fields: [
      { name: "experimentation.controlRatio", label: "Control ratio (% of new users in the control group)", type: "number" },
      { name: "experimentation.userActivationWindow", label: "Activation window (days)", type: "number" },
      { name: "aggregationPeriod", label: "Recap period", type: "select", options: choices("weekly", "monthly") },
      { name: "branding.appName", label: "App name" },
      { name: "branding.appUrl", label: "App URL" },
      { name: "branding.brandColor", label: "Brand colour", hint: "#RGB, #RRGGBB, rgb(r,g,b) or rgba(r,g,b,a)." },
      { name: "branding.font", label: "Font", type: "select", options: choices(...FONTS) },
      imageField("branding.logo", "Logo URL"),
      imageField("branding.appIcon", "App icon URL"),
    ],
  }),
};

// -------------------------------------------------------------------------------------
// Charts: inline SVG bars, one per day, each with its date and value as its title

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const CHART_WIDTH = 600;

/** A chart: its caption (what a glance should tell) over the picture. */
function chartCard(caption, picture) {
  return el("figure.chart-card", {}, el("figcaption", {}, caption), picture);
}

/** The SVG of a chart: one image to assistive technology, `label` its text alternative. */
function chartSvg(height, label, field, ...children) {
  return svg("svg", { viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: "img", "aria-label": label, class: "chart", "data-field": field }, ...children);
}

/**
 * A bar chart of `field` over `days` (`[{date, ...}]`). The heading gives the total, or,
 * for counts that do not add up across days (active users), the last day's.
 */
function barChart(days, field, title, perDayOnly = false) {
  const values = days.map((d) => Number(d[field]) || 0);
  const max = Math.max(1, ...values);
  const height = 120;
  const last = values.length ? values[values.length - 1] : 0;
  const step = CHART_WIDTH / Math.max(1, days.length);
  const total = values.reduce((a, b) => a + b, 0);
  const span = `${days[0] ? days[0].date : ""} to ${days.length ? days[days.length - 1].date : ""}`;
  const most = Math.max(0, ...values).toLocaleString();
  const label = perDayOnly
    ? `${title} per day, ${span}: ${last.toLocaleString()} on the last day, at most ${most} in a day`
    : `${title} per day, ${span}: ${total.toLocaleString()} in all, at most ${most} in a day`;
  const chart = chartSvg(
    height + 26,
    label,
    field,
    svg("line", { x1: 0, y1: height, x2: CHART_WIDTH, y2: height, class: "axis" }),
    ...days.map((d, i) => {
      const h = Math.round((values[i] / max) * (height - 4));
      return svg(
        "rect",
        { x: (i * step + 1).toFixed(1), y: height - h, width: Math.max(1, step - 2).toFixed(1), height: h, "data-value": values[i] },
        svg("title", {}, `${d.date}: ${values[i].toLocaleString()}`),
      );
    }),
    svg("text", { x: 0, y: height + 22, class: "tick" }, days[0] ? days[0].date : ""),
    svg("text", { x: CHART_WIDTH, y: height + 22, class: "tick end" }, days.length ? days[days.length - 1].date : ""),
  );
  const headline = perDayOnly ? [`${title} today: `, el("strong", {}, last.toLocaleString())] : [`${title}: `, el("strong", {}, total.toLocaleString())];
  return chartCard(headline, chart);
}

/** `n` of `of` as a percentage (0 when `of` is 0). */
const share = (n, of) => (of > 0 ? (100 * n) / of : 0);
const percent = (value) => `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;

/**
 * A chart of one horizontal bar per row (`[{label, value, detail?}]`): the label on the
 * left, the value (`format`ted) on the right, and "label: value (detail)" as each bar's
 * title. Bars are scaled to `max` (default: the largest value). The text alternative lists
 * every row.
 */
function hbarChart(rows, { title, field, format = (v) => v.toLocaleString(), max = null, caption = null }) {
  const rowHeight = 34;
  const left = 250;
  const room = CHART_WIDTH - left - 90;
  const top = Math.max(1, max === null ? Math.max(0, ...rows.map((r) => r.value)) : max);
  const text = (r) => `${r.label}: ${format(r.value)}${r.detail ? ` (${r.detail})` : ""}`;
  const short = (label) => (label.length > 24 ? `${label.slice(0, 23)}…` : label);
  const chart = chartSvg(
    Math.max(1, rows.length) * rowHeight,
    `${title}: ${rows.map(text).join("; ") || "none"}`,
    field,
    ...rows.map((r, i) => {
      const y = i * rowHeight;
      const w = Math.round((Math.max(0, r.value) / top) * room);
      return [
        svg("text", { x: 0, y: y + 23, class: "label" }, short(r.label)),
        svg("rect", { x: left, y: y + 6, width: w, height: rowHeight - 12, "data-value": r.value }, svg("title", {}, text(r))),
        svg("text", { x: CHART_WIDTH, y: y + 23, class: "value" }, format(r.value)),
      ];
    }).flat(),
  );
  return chartCard(caption || title, rows.length ? chart : el("p.muted", {}, "Nothing to show yet."));
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
  const [metrics, managed] = await Promise.all([all("/admin/v1/metrics"), managedDefinitions()]);
  return [
    el("h1", {}, "Metrics"),
    definitionsTable(KINDS.metric(), metrics, [
      { label: "Key", value: (m) => mono(m.key) },
      { label: "Name", value: (m) => m.name },
      { label: "Units", value: (m) => m.units },
      { label: "Unit type", value: (m) => m.unitType },
      { label: "ID", value: (m) => mono(m.id) },
    ], managed),
  ];
}

async function attributesView() {
  const [attributes, managed] = await Promise.all([all("/admin/v1/attributes"), managedDefinitions()]);
  return [
    el("h1", {}, "Attributes"),
    definitionsTable(KINDS.attribute(), attributes, [
      { label: "Key", value: (a) => mono(a.key) },
      { label: "Name", value: (a) => a.name },
      { label: "Type", value: (a) => a.type },
      { label: "ID", value: (a) => mono(a.id) },
    ], managed),
  ];
}

async function achievementsView() {
  const [achievements, metrics, attributes, managed] = await Promise.all([
    all("/admin/v1/achievements"),
    all("/admin/v1/metrics"),
    all("/admin/v1/attributes"),
    managedDefinitions(),
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
    definitionsTable(KINDS.achievement({ metrics, attributes, achievements }), achievements, [
      { label: "Key", value: (a) => mono(a.key) },
      { label: "Name", value: (a) => a.name },
      { label: "Status", value: (a) => badge(a.status) },
      { label: "Trigger", value: (a) => a.trigger },
      { label: "Condition", value: condition },
      { label: "User filters", value: (a) => filters(a.userAttributes, attributeKeys) },
      { label: "Event filters", value: (a) => filters(a.eventAttributes, attributeKeys) },
    ], managed),
  ];
}

async function streakView() {
  const [s, o, metrics] = await Promise.all([
    api.get("/admin/v1/streaks/settings"),
    api.get("/dashboard/api/overview"),
    all("/admin/v1/metrics"),
  ]);
  const by = o.streak.managedBy;
  const head = [
    el("h1", {}, "Streak settings"),
    by ? el("p.notice", {}, `Managed by ${by}: changes through the Admin API are refused.`) : null,
    documentButton(
      KINDS.streak({ metrics }),
      s,
      by ? "View the streak settings" : o.streak.configured ? "Edit the streak settings" : "Configure a streak",
      by,
    ),
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
  const [systems, metrics, achievements, attributes, managed] = await Promise.all([
    all("/admin/v1/points"),
    all("/admin/v1/metrics"),
    all("/admin/v1/achievements"),
    all("/admin/v1/attributes"),
    managedDefinitions(),
  ]);
  const ctx = { metrics, achievements, attributes };
  const systemKind = KINDS.system();
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
      el("h2", {}, `${s.name} `, mono(s.key), " ", badge(s.status), managed.ids.has(s.id) ? [" ", managedBadge(managed.by)] : null),
      rowActions(systemKind, s, managed, `new-${systemKind.slug}`),
      s.description ? el("p.muted", {}, s.description) : null,
      el("p", {}, `Cap: ${s.maxPoints === null || s.maxPoints === undefined ? "none" : show(s.maxPoints)}`),
      el("h3", {}, "Triggers"),
      definitionsTable(KINDS.trigger(ctx, s), triggers, [
        { label: "Type", value: (t) => t.type },
        { label: "Points", value: (t) => t.points, num: true },
        { label: "When", value: condition },
        { label: "Status", value: (t) => badge(t.status) },
        { label: "User filters", value: (t) => filters(t.userAttributes, attributeKeys) },
        { label: "Event filters", value: (t) => filters(t.eventAttributes, attributeKeys) },
        { label: "Blocks when out of points", value: (t) => (t.blockIfOutOfPoints ? "yes" : "no") },
      ], managed),
      el("h3", {}, "Levels"),
      definitionsTable(KINDS.level(ctx, s), levels, [
        { label: "Key", value: (l) => mono(l.key) },
        { label: "Name", value: (l) => l.name },
        { label: "From points", value: (l) => l.points, num: true },
        { label: "Description", value: (l) => l.description },
      ], managed),
      el("h3", {}, "Boosts"),
      definitionsTable(KINDS.boost(ctx, s), boosts, [
        { label: "Name", value: (b) => b.name },
        { label: "Status", value: (b) => badge(b.status) },
        { label: "Start", value: (b) => b.start },
        { label: "End", value: (b) => b.end || "open-ended" },
        { label: "Multiplier", value: (b) => `×${b.multiplier}` },
        { label: "Rounding", value: (b) => b.rounding },
        { label: "For", value: (b) => (b.userId ? `user ${b.userId}` : filters(b.userAttributes, attributeKeys)) },
      ], managed),
    );
  });
  return [el("h1", {}, "Points systems"), newButton(systemKind), sections.length ? sections : el("p.muted", {}, "No points systems.")];
}

/** The dates of a run: "2031-03-01 – 2031-03-07", "from 2031-03-01" when open-ended. */
const runDates = (run) => (run.end ? `${run.start} – ${run.end}` : `from ${run.start}`);

/**
 * One board's standings: the top `TOP` of the run chosen (`run`, else the current one),
 * and for a board with runs, a form to choose another of its runs.
 */
const TOP = 10;

async function boardStandings(board, run, user) {
  const key = encodeURIComponent(board.key);
  const base = `/dashboard/api/app/leaderboards/${key}`;
  const chosen = run || "";
  const grouped = (board.breakdownAttributes || []).length > 0;
  const [runs, standings] = await Promise.all([
    board.runUnit ? api.get(`/dashboard/api/leaderboards/${key}/runs${query({ limit: 50 })}`) : null,
    grouped ? null : getOrNull(`${base}${query({ limit: TOP, run: chosen })}`),
  ]);
  const id = `run-${board.key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  let picker = null;
  if (runs && runs.runs.length) {
    const select = choice(
      id,
      "run",
      runs.runs.map((r) => [r.start, `${runDates(r)}${r.current ? " (current)" : ""}`]),
      chosen || runs.runs[0].start,
    );
    picker = filterForm([["Run", select]], () => {
      location.hash = `#/leaderboards${query({ board: board.key, run: select.value, user })}`;
    }, "Show");
  }
  let body;
  if (grouped) {
    body = el("p.muted", {}, "Ranked apart by ", (board.breakdownAttributes || []).join(", "), ": look a user up above to see their group's standing.");
  } else if (!standings) {
    body = el("p.muted", {}, "This run has no standings.");
  } else {
    body = table(
      standings.rankings || [],
      [
        { label: "Rank", value: (r) => r.rank, num: true },
        { label: "User", value: (r) => el("a", { href: `#/user${query({ id: r.userId })}` }, r.userName ? `${r.userName} (${r.userId})` : r.userId) },
        { label: "Value", value: (r) => r.value, num: true },
      ],
      board.status === "scheduled" ? "Not started yet." : "No one is ranked yet.",
    );
  }
  const current = runs && runs.runs.find((r) => r.start === (chosen || runs.runs[0].start));
  const shown = current ? `, this one ${runDates(current)}` : "";
  return el(
    "section.board",
    { "aria-labelledby": `${id}-heading`, "data-board": board.key },
    el("h3", { id: `${id}-heading` }, board.name, " ", mono(board.key), " ", badge(board.status)),
    el("p.muted", {}, board.runUnit ? `Runs of ${board.runInterval} ${board.runUnit}(s)` : "One perpetual run", shown, `; the top ${TOP}.`),
    picker,
    body,
  );
}

/**
 * A user's rank and value on each board the application API shows (`boards`), in the run
 * chosen for `runFor` (the current one elsewhere).
 */
async function userPositions(id, boards, runFor, run) {
  const user = await getOrNull(`/dashboard/api/app/users/${encodeURIComponent(id)}`);
  if (!user) return el("p.error", {}, `No user has the id “${id}”.`);
  const positions = await Promise.all(
    boards.map((b) =>
      getOrNull(`/dashboard/api/app/users/${encodeURIComponent(id)}/leaderboards/${encodeURIComponent(b.key)}${query({ run: b.key === runFor ? run : "" })}`).then((p) => [b, p]),
    ),
  );
  const ranked = positions.filter(([, p]) => p && p.rank).length;
  return [
    el("p", {}, el("a", { href: `#/user${query({ id })}` }, user.name ? `${user.name} (${id})` : id), `: ranked on ${ranked} of ${boards.length} leaderboard${boards.length === 1 ? "" : "s"}.`),
    table(
      positions,
      [
        { label: "Leaderboard", value: ([b]) => (b.key === runFor && run ? `${b.name} (run from ${run})` : b.name) },
        { label: "Rank", value: ([, p]) => (p && p.rank ? p.rank : "not ranked"), num: true },
        { label: "Value", value: ([, p]) => (p && p.rank ? p.value : null), num: true },
      ],
      "No leaderboards to rank on.",
    ),
  ];
}

async function leaderboardsView(params) {
  const [boards, metrics, systems, attributes, managed] = await Promise.all([
    all("/admin/v1/leaderboards"),
    all("/admin/v1/metrics"),
    all("/admin/v1/points"),
    all("/admin/v1/attributes"),
    managedDefinitions(),
  ]);
  const metricKeys = keysById(metrics);
  const systemKeys = keysById(systems);
  const attributeKeys = keysById(attributes);
  const rankedBy = (b) => {
    if (b.rankBy === "metric") return `metric ${metricKeys.get(b.metricId) || b.metricId}`;
    if (b.rankBy === "points") return `points ${systemKeys.get(b.pointsSystemId) || b.pointsSystemId}`;
    return show(b.rankBy);
  };
  // What the application API shows (inactive boards have no standings), as it shows them.
  const shownBoards = await api.get("/dashboard/api/app/leaderboards?includeFinished=true");
  const user = (params.get("user") || "").trim();
  const runFor = params.get("board") || "";
  const run = params.get("run") || "";
  const [standings, positions] = await Promise.all([
    Promise.all(shownBoards.map((b) => boardStandings(b, b.key === runFor ? run : "", user))),
    user ? userPositions(user, shownBoards, runFor, run) : null,
  ]);
  const input = el("input", { id: "board-user", name: "user", type: "search", value: user, autocomplete: "off", spellcheck: "false" });
  const lookup = filterForm([["User id", input]], () => {
    const next = `#/leaderboards${query({ user: input.value.trim(), board: runFor, run })}`;
    if (location.hash === next) route();
    else location.hash = next;
  }, "Show position");
  return [
    el("h1", {}, "Leaderboards"),
    definitionsTable(KINDS.leaderboard({ metrics, systems, attributes }), boards, [
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
    ], managed),
    el(
      "section",
      { "aria-labelledby": "position-heading" },
      el("h2", { id: "position-heading" }, "A user's position"),
      lookup,
      el("div", { id: "board-positions", role: "status", "aria-live": "polite" }, positions),
    ),
    el(
      "section",
      { "aria-labelledby": "standings-heading" },
      el("h2", { id: "standings-heading" }, "Standings"),
      standings.length ? standings : el("p.muted", {}, "No active, scheduled or finished leaderboards."),
    ),
  ];
}

/**
 * A filter form: `[label, control]` pairs and a submit button; submitting calls `go` (the
 * controls themselves never navigate, so arrow keys move through a select's options).
 */
function filterForm(fields, go, button = "Filter") {
  return el(
    "form.toolbar",
    {
      onsubmit: (e) => {
        e.preventDefault();
        go();
      },
    },
    fields.map(([label, control]) => el("label", {}, label, control)),
    el("button", { type: "submit" }, button),
  );
}

/** A select of `options` (`[value, text]`) with `value` chosen. */
function choice(id, name, options, value) {
  return el("select", { id, name }, options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
}

/** Links to the newest page and, when `older` is set, to the next one. */
function pager(label, newest, older) {
  return el("nav.toolbar", { "aria-label": label }, newest ? el("a", { href: newest }, "Newest") : null, older ? el("a", { href: older }, "Older") : null);
}

/**
 * Where the outcome of an action on a list of deliveries is announced, above the list; it
 * takes the focus when the row acted on is gone from the list (a retried row is pending).
 */
const deliveriesFlash = () =>
  el("div.flash", { id: "deliveries-result", tabindex: "-1", "data-flash": "deliveries", role: "status", "aria-live": "polite" });

/**
 * The Retry button of delivery `id`: asks `question` first, then runs `work`, whose outcome
 * is announced in `deliveriesFlash`, which gets the focus.
 */
function retryButton(id, question, work) {
  return el(
    "button.secondary",
    {
      type: "button",
      id: `retry-${id}`,
      "aria-label": `Retry delivery ${id}`,
      onclick: (e) => window.confirm(question) && act(e.currentTarget, work, "deliveries", "deliveries-result"),
    },
    "Retry",
  );
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
  const statusFilter = choice("delivery-status", "status", ["", "pending", "failed", "delivered"].map((s) => [s, s || "any status"]), status);
  const typeFilter = el("input", { id: "delivery-type", name: "type", value: type, placeholder: "e.g. achievement.completed", autocomplete: "off" });
  const endpointFilter = el("input", { id: "delivery-endpoint", name: "endpoint", value: endpoint, placeholder: "endpoint URL", autocomplete: "off" });
  const filters = filterForm(
    [
      ["Status", statusFilter],
      ["Type", typeFilter],
      ["Endpoint", endpointFilter],
    ],
    () => go({ status: statusFilter.value, type: typeFilter.value.trim(), endpoint: endpointFilter.value.trim(), before: "" }),
  );
  // Only what has not arrived can be sent again (the server refuses the rest), and
  // only after the operator confirms.
  const retry = (row) =>
    row.status === "delivered"
      ? ""
      : retryButton(row.id, `Send ${row.type} to ${row.endpoint} again now?`, async () => {
          const after = await api.post(`/admin/v1/webhooks/deliveries/${encodeURIComponent(row.id)}/retry`);
          return el("p.success", {}, `Delivery ${after.id} re-queued (${after.status}).`);
        });
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
  const pages = pager(
    "Pages of deliveries",
    before ? `#/webhooks${query({ status, type, endpoint })}` : null,
    rows.length === PAGE ? `#/webhooks${query({ status, type, endpoint, before: last })}` : null,
  );
  return [
    el("h1", {}, "Webhook deliveries"),
    filters,
    el("div.toolbar", {}, retryFailed, el("span.muted", {}, `${PAGE} a page, newest first.`)),
    deliveriesFlash(),
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
    pages,
  ];
}

/** The channels trophy.toml configures: email, push providers, webhook endpoints. */
function channelCards(c) {
  const smtp = c.email.smtp;
  return [
    el(
      "div.cards",
      {},
      card(
        "Email",
        null,
        smtp
          ? [
              ["SMTP server", smtp.server],
              ["Credentials", smtp.credentials ? "set (not shown)" : "none"],
              ["From", smtp.from],
              ["At most", `${smtp.ratePerSecond} a second`],
              ["Unsubscribe links", c.email.publicUrl],
            ]
          : [["SMTP", "not configured: no email is sent"]],
      ),
      card("Messages on", null, c.email.messages.length ? c.email.messages.map((m) => [m.type, m.when]) : [["None", "no lifecycle message is on"]]),
      card("Push", null, c.push.map((p) => [p.provider, p.configured ? p.url : "not configured"])),
    ),
    el("h3", {}, "Webhook endpoints"),
    table(
      c.webhooks,
      [
        { label: "URL", value: (w) => w.url },
        { label: "Event types", value: (w) => (w.events ? w.events.join(", ") : "all") },
        { label: "Retried for", value: (w) => `${w.retryForHours} h` },
        { label: "Timeout", value: (w) => `${w.timeoutSeconds} s` },
        { label: "Deliveries", value: (w) => el("a", { href: `#/webhooks${query({ endpoint: w.url })}` }, "Deliveries") },
      ],
      "No webhook endpoints.",
    ),
  ];
}

async function notificationsView(params) {
  const status = ["pending", "sent", "failed"].includes(params.get("status")) ? params.get("status") : "";
  const userId = (params.get("userId") || "").trim();
  const before = params.get("before") || "";
  const [channels, page] = await Promise.all([
    api.get("/dashboard/api/channels"),
    getOrNull(`/admin/v1/notifications/deliveries${query({ status, userId, before, limit: PAGE })}`),
  ]);
  const statusFilter = choice("notification-status", "status", ["", "pending", "sent", "failed"].map((s) => [s, s || "any status"]), status);
  const userFilter = el("input", { id: "notification-user", name: "userId", value: userId, placeholder: "user id", autocomplete: "off", spellcheck: "false" });
  const filters = filterForm(
    [
      ["Status", statusFilter],
      ["User", userFilter],
    ],
    () => {
      location.hash = `#/notifications${query({ status: statusFilter.value, userId: userFilter.value.trim() })}`;
    },
  );
  // The Admin API sends again only a failed message (a pending one is still being tried),
  // and only after the operator confirms.
  const retry = (row) =>
    row.status !== "failed"
      ? ""
      : retryButton(row.id, `Send the ${row.type} ${row.channel} to ${row.to} again now?`, async () => {
          const after = await api.post(`/admin/v1/notifications/deliveries/${encodeURIComponent(row.id)}/retry`);
          return el("p.success", {}, `Notification ${after.id} re-queued (${after.status}).`);
        });
  const rows = page ? page.deliveries : [];
  return [
    el("h1", {}, "Notifications"),
    el("h2", {}, "Channels"),
    el("p.muted", {}, "Configured in trophy.toml for the whole server; secrets are never shown."),
    channelCards(channels),
    el("h2", {}, "Deliveries"),
    filters,
    el("p.muted", {}, `${PAGE} a page, newest first. Only failed messages can be sent again.`),
    deliveriesFlash(),
    page
      ? table(
          rows,
          [
            { label: "Created", value: (r) => when(r.created) },
            { label: "User", value: (r) => el("a", { href: `#/user${query({ id: r.userId })}` }, r.userId) },
            { label: "Type", value: (r) => mono(r.type) },
            { label: "Channel", value: (r) => r.channel },
            { label: "To", value: (r) => r.to },
            { label: "Status", value: (r) => badge(r.status) },
            { label: "Attempts", value: (r) => r.attempts, num: true },
            { label: "Last error", value: (r) => r.lastError },
            { label: "Next attempt", value: (r) => when(r.nextAttempt) },
            { label: "Finished", value: (r) => when(r.finished) },
            { label: "", value: retry },
          ],
          status || userId ? "No deliveries match." : "No notifications yet.",
        )
      : el("p.error", {}, `No user has the id “${userId}”.`),
    pager(
      "Pages of notifications",
      before ? `#/notifications${query({ status, userId })}` : null,
      page && page.next ? `#/notifications${query({ status, userId, before: page.next })}` : null,
    ),
  ];
}

/** Users per level of each active points system that has levels (null: none). */
async function levelCharts(systems) {
  const summaries = await Promise.all(
    systems
      .filter((s) => s.status === "active")
      .map((s) => getOrNull(`/dashboard/api/app/points/${encodeURIComponent(s.key)}/level-summary`, [404, 422]).then((l) => [s, l])),
  );
  return summaries
    .filter(([, l]) => l && l.length)
    .map(([s, levels]) => {
      const users = levels.reduce((a, l) => a + l.users, 0);
      return hbarChart(
        levels.map((l) => ({ label: `${l.level.name} (${show(l.level.points)}+)`, value: l.users, detail: percent(share(l.users, users)) })),
        { title: `Users per level, ${s.name}`, field: `levels-${s.key}` },
      );
    });
}

async function engagementView(params) {
  const days = [7, 30, 90, 365].includes(Number(params.get("days"))) ? Number(params.get("days")) : 30;
  const [e, streaks, deliveries, achievements, systems] = await Promise.all([
    api.get(`/dashboard/api/engagement${query({ days })}`),
    api.get("/dashboard/api/streaks"),
    api.get(`/dashboard/api/deliveries${query({ days })}`),
    api.get("/dashboard/api/app/achievements"),
    all("/admin/v1/points"),
  ]);
  const levels = await levelCharts(systems);
  const period = choice("engagement-days", "days", [7, 30, 90, 365].map((n) => [String(n), `the last ${n} days`]), String(days));
  const form = filterForm([["Period", period]], () => {
    location.hash = `#/engagement${query({ days: period.value })}`;
  }, "Show");
  const today = e.days[e.days.length - 1] || { activeUsers: 0, monthlyActive: 0 };
  const unit = streaks.frequency === "weekly" ? "weeks" : streaks.frequency === "monthly" ? "months" : "days";
  const groups = e.groups.flatMap((g) =>
    [7, 30].map((n) => ({
      label: `${g.group === "control" ? "Control" : "Rest"}, last ${n} days`,
      value: share(g[`active${n}`], g.users),
      detail: `${g[`active${n}`].toLocaleString()} of ${g.users.toLocaleString()} users`,
    })),
  );
  const lengthLabel = (r) => (r.to === null ? `${r.from}+` : r.from === r.to ? String(r.from) : `${r.from}–${r.to}`);
  const retention = streaks.retention.flatMap((r) => [
    { label: `Kept past ${r.after} ${unit}`, value: share(r.reached, streaks.started), detail: `${r.reached.toLocaleString()} of ${streaks.started.toLocaleString()}` },
    { label: `On one past ${r.after} now`, value: share(r.current, streaks.started), detail: `${r.current.toLocaleString()} of ${streaks.started.toLocaleString()}` },
  ]);
  const w = deliveries.days;
  return [
    el("h1", {}, "Engagement"),
    form,
    el("p.muted", {}, "Days are UTC days; every count is this tenant's but webhook deliveries, which are the server's."),
    el("h2", {}, "Active users"),
    el("p", {}, "Stickiness today (active today ÷ active in the last 30 days): ", el("strong", {}, percent(share(today.activeUsers, today.monthlyActive)))),
    el(
      "div.charts",
      {},
      barChart(e.days, "activeUsers", "Daily active users", true),
      barChart(e.days, "weeklyActive", "Active in the last 7 days", true),
      barChart(e.days, "monthlyActive", "Active in the last 30 days", true),
    ),
    el("h2", {}, "Control group against the rest"),
    el("p.muted", {}, "The share of each group active lately: what the control group (no notifications) is kept for."),
    el("div.charts", {}, hbarChart(groups, { title: "Users active lately, control group and the rest", field: "control", format: percent, max: 100 })),
    el("h2", {}, "Streaks"),
    el(
      "div.charts",
      {},
      hbarChart(
        streaks.lengths.map((r) => ({ label: `${lengthLabel(r)} ${unit}`, value: r.users })),
        { title: "Current streaks by length", field: "streakLengths" },
      ),
      hbarChart(retention, {
        title: `Streak retention, of the ${streaks.started.toLocaleString()} users who started one`,
        field: "streakRetention",
        format: percent,
        max: 100,
      }),
    ),
    el("h2", {}, "Achievements"),
    el(
      "div.charts",
      {},
      hbarChart(
        // rarity: completions per 100 users of the tenant, from the counts the writer keeps.
        achievements.map((a) => ({ label: a.name, value: Number(a.rarity) || 0, detail: `${show(a.completions)} completions` })),
        { title: "Completion rate per achievement", field: "achievements", format: percent, max: 100 },
      ),
      levels,
    ),
    el("h2", {}, "Deliveries"),
    el("p", {}, `Waiting now: ${deliveries.pending.webhooks.toLocaleString()} webhook deliveries, ${deliveries.pending.notifications.toLocaleString()} notifications.`),
    el(
      "div.charts",
      {},
      barChart(w, "webhooksDelivered", "Webhooks delivered"),
      barChart(w, "webhooksFailed", "Webhooks failed"),
      barChart(w, "notificationsSent", "Notifications sent"),
      barChart(w, "notificationsFailed", "Notifications failed"),
    ),
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

/**
 * A `GET` that answers null for a 404 (a user not on a board, say), or for another status
 * of `statuses`; other errors throw.
 */
async function getOrNull(path, statuses = [404]) {
  try {
    return await api.get(path);
  } catch (e) {
    if (e && statuses.includes(e.status)) return null;
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
  const [metrics, streak, achievements, events, preferences, systems, boards, definedAchievements, keys] = await Promise.all([
    api.get(`${base}/metrics`),
    api.get(`${base}/streak${query({ historyPeriods: 14 })}`),
    api.get(`${base}/achievements`),
    api.get(`/dashboard/api/users/${enc}/events${query({ limit: 20 })}`),
    api.get(`${base}/preferences`),
    all("/admin/v1/points"),
    all("/admin/v1/leaderboards"),
    all("/admin/v1/achievements"),
    api.get(`/dashboard/api/users/${enc}/keys`),
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
      pausesSection(user, streak.pauses || []),
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
    completeAchievementForm(user, achievements, definedAchievements),
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
    userKeysSection(user, keys.keys),
  ];
}

/**
 * A user's streak pauses (from their streak) with an End button each, and a form that
 * pauses the streak from one date to another, both through `/admin/v1/streaks/pauses`.
 */
function pausesSection(user, pauses) {
  const start = el("input", { id: "pause-start", name: "start", type: "date", required: true });
  const end = el("input", { id: "pause-end", name: "end", type: "date", required: true });
  const form = el(
    "form.toolbar",
    {
      "aria-label": "Pause the streak",
      onsubmit: (e) => {
        e.preventDefault();
        act(e.currentTarget.querySelector("button"), async () => {
          const out = await api.post("/admin/v1/streaks/pauses", { pauses: [{ userId: user.id, start: start.value, end: end.value }] });
          return issuesBox(out.issues) || el("p.success", {}, `The streak is paused from ${start.value} to ${end.value}.`);
        }, "pauses");
      },
    },
    el("label", {}, "Pause from ", start),
    el("label", {}, "to ", end),
    el("button.secondary", { type: "submit", id: "pause-create" }, "Pause the streak"),
  );
  return el(
    "div",
    {},
    el("h3", {}, "Pauses"),
    table(
      pauses,
      [
        { label: "From", value: (p) => p.start },
        { label: "To", value: (p) => p.end },
        {
          label: "Action",
          value: (p) =>
            el(
              "button.secondary",
              {
                type: "button",
                id: `pause-end-${p.id}`,
                "aria-label": `End the pause from ${p.start} to ${p.end}`,
                onclick: (e) => {
                  if (!window.confirm(`End ${user.id}'s pause from ${p.start} to ${p.end}?`)) return;
                  act(e.currentTarget, async () => {
                    const out = await api.del(`/admin/v1/streaks/pauses${query({ ids: p.id })}`);
                    return issuesBox(out.issues) || el("p.success", {}, `The pause from ${p.start} to ${p.end} was ended.`);
                  }, "pauses", "pause-create");
                },
              },
              "End",
            ),
        },
      ],
      "No pauses.",
    ),
    form,
    el("div", { "data-flash": "pauses", role: "status", "aria-live": "polite" }),
  );
}

/**
 * Completes one of the active API achievements the user has not completed, after a
 * confirmation (an achievement cannot be uncompleted).
 */
function completeAchievementForm(user, completed, defined) {
  const done = new Set(completed.map((a) => a.key));
  const open = defined.filter((a) => a.trigger === "api" && a.status === "active" && !done.has(a.key));
  const result = el("div", { id: "complete-result", tabindex: "-1", "data-flash": "complete", role: "status", "aria-live": "polite" });
  if (!open.length) return result;
  const pick = el(
    "select",
    { id: "complete-key", name: "key" },
    open.map((a) => el("option", { value: a.key }, `${a.name} (${a.key})`)),
  );
  return el(
    "div",
    {},
    el(
      "form.toolbar",
      {
        "aria-label": "Complete an API achievement",
        onsubmit: (e) => {
          e.preventDefault();
          const key = pick.value;
          if (!window.confirm(`Complete “${key}” for ${user.id}? It cannot be undone.`)) return;
          act(e.currentTarget.querySelector("button"), async () => {
            const out = await api.post(`/dashboard/api/users/${encodeURIComponent(user.id)}/achievements/${encodeURIComponent(key)}/complete`, {});
            return el("p.success", {}, `Completed ${out.achievement.name} for ${user.id}.`);
          }, "complete", "complete-result");
        },
      },
      el("label", {}, "Complete an API achievement ", pick),
      el("button.secondary", { type: "submit", id: "complete-achievement" }, "Complete"),
    ),
    result,
  );
}

/**
 * Revokes a per-user application key after a confirmation; the outcome goes to `at` (above
 * the view when null) and the focus to `focus`.
 */
function revokeKeyButton(k, at = null, focus = null) {
  return el(
    "button.danger",
    {
      type: "button",
      id: `revoke-${k.id}`,
      "aria-label": `Revoke ${k.prefix}`,
      onclick: (e) => {
        if (!window.confirm(`Revoke ${k.prefix} (user ${k.userId})? Requests with it will be refused.`)) return;
        act(
          e.currentTarget,
          async () => {
            const out = await api.del(`/admin/v1/application-api-keys${query({ ids: k.id })}`);
            return [out.deleted.length ? el("p.success", {}, `Revoked ${k.prefix}.`) : null, issuesBox(out.issues)];
          },
          at,
          focus,
        );
      },
    },
    "Revoke",
  );
}

/** A user's application keys, each with Revoke, and a button creating one more. */
function userKeysSection(user, keys) {
  const create = el(
    "button.secondary",
    {
      type: "button",
      id: "user-key-create",
      onclick: (e) =>
        act(
          e.currentTarget,
          async () => {
            const out = await api.post("/admin/v1/application-api-keys", [{ userId: user.id }]);
            return [out.created.map(keySecret), issuesBox(out.issues)];
          },
          "user-keys",
        ),
    },
    "Create a key for this user",
  );
  return el(
    "section",
    { "aria-labelledby": "user-keys-heading" },
    el("h2", { id: "user-keys-heading" }, "Application API keys"),
    table(
      keys,
      [
        { label: "Prefix", value: (k) => mono(k.prefix) },
        { label: "Created", value: (k) => when(k.created) },
        { label: "Action", value: (k) => revokeKeyButton(k, "user-keys", "user-key-create") },
      ],
      "No keys for this user.",
    ),
    el("div.toolbar", {}, create),
    el("div", { "data-flash": "user-keys", role: "status", "aria-live": "polite" }),
  );
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
        { label: "", value: (k) => revokeKeyButton(k) },
      ],
      "No per-user keys.",
    ),
    keys.length >= PAGE ? el("p.muted", {}, `The newest ${PAGE} are shown.`) : null,
  ];
}

async function settingsView() {
  const s = await api.get("/admin/v1/settings");
  const ex = s.experimentation || {};
  const b = s.branding || {};
  return [
    el("h1", {}, "Settings"),
    documentButton(KINDS.settings(), s, "Edit the settings"),
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
        ["Logo", b.logo ? b.logo.url : null],
        ["App icon", b.appIcon ? b.appIcon.url : null],
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
  engagement: engagementView,
  notifications: notificationsView,
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

window.addEventListener("hashchange", () => {
  // A form belongs to the page it was opened on.
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  route();
});
route();
