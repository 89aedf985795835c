// hookd's admin page: one module, no framework, no build step, nothing from a CDN (mail
// hosts are often offline). It only talks to the REST API under /api/v1 with the API key
// kept in sessionStorage. Everything from the API is rendered as text nodes, never as HTML:
// event fields come from mail logs and from anyone holding an events:write key.

const API = "/api/v1";
const KEY_STORE = "hookd.apiKey";
const LIST_REFRESH_MS = 5000;
const DETAIL_REFRESH_MS = 2000;
const SOURCES_REFRESH_MS = 3000;
const TAIL_MAX = 100;

// ---------------------------------------------------------------------------------------
// DOM helpers

/** h("a", { href, class, onclick, "aria-label": … }, ...children). Strings become text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...flat(children));
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  el.append(...flat(children));
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked" || k === "selected") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function flat(children) {
  const out = [];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) out.push(...flat(c));
    else out.push(c instanceof Node ? c : String(c));
  }
  return out;
}

const $ = (sel, root = document) => root.querySelector(sel);

/** Replace a region's content without losing keyboard focus when the same control is redrawn. */
function swap(el, ...nodes) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  el.replaceChildren(...flat(nodes));
  if (key) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

// ---------------------------------------------------------------------------------------
// Formatting

const num = (n) => (typeof n === "number" ? n.toLocaleString() : "—");

function bytes(n) {
  if (typeof n !== "number") return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function ago(iso) {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < -5) return `in ${until(-s)}`;
  if (s < 5) return "just now";
  return `${until(s)} ago`;
}
function until(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A <time> saying "3 min ago", the full local time on hover and to assistive technology. */
function when(iso, empty = "never") {
  if (!iso) return h("span", { class: "muted" }, empty);
  const full = new Date(iso).toLocaleString();
  return h("time", { datetime: iso, title: full, "aria-label": `${ago(iso)}, ${full}` }, ago(iso));
}

function clock(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return h("time", { datetime: iso, title: d.toLocaleString() }, today ? t : `${d.toLocaleDateString()} ${t}`);
}

const STATUS_TEXT = { active: "active", failing: "failing", inactive: "paused", pending_verification: "awaiting verification" };
function badge(state, text = STATUS_TEXT[state] ?? state) {
  return h("span", { class: `badge badge-${state}` }, text);
}

/** datetime-local value (local wall time) → RFC 3339 UTC, or undefined when empty. */
function toIso(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}
function toLocalInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An SVG sparkline of per-minute counts, described in words for screen readers. */
function sparkline(values, { width = 120, height = 28, what = "Events delivered per minute" } = {}) {
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const peak = Math.max(0, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (v) => (height - 2 - (v / max) * (height - 4)).toFixed(1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(" ");
  const label = `${what}, last ${values.length} minutes: ${num(total)} in all, at most ${num(peak)} in a minute`;
  return svg(
    "svg",
    { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, preserveAspectRatio: "none" },
    svg("title", {}, label),
    svg("polygon", { class: "spark-area", points: `0,${height} ${points} ${width},${height}` }),
    svg("polyline", { class: "spark-line", points }),
  );
}

// ---------------------------------------------------------------------------------------
// Status messages (one polite live region) and the API

let carryOver = false;
function say(message, kind = "info") {
  const el = $("#status");
  el.textContent = message;
  el.dataset.kind = kind;
}
/** Say something about an action that also navigates ("Created …"): the next view keeps it. */
function sayNext(message, kind = "ok") {
  say(message, kind);
  carryOver = true;
}

class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => e.message).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

const session = {
  get key() {
    return sessionStorage.getItem(KEY_STORE);
  },
  set key(v) {
    if (v) sessionStorage.setItem(KEY_STORE, v);
    else sessionStorage.removeItem(KEY_STORE);
  },
};

async function api(method, path, { body, query, signal, key = session.key } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const qs = query ? `?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== ""))}` : "";
  let res;
  try {
    res = await fetch(`${API}${path}${qs}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, [{ message: "hookd did not answer; is it running?", code: "network" }]);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) return data;
  const errors = Array.isArray(data?.errors) ? data.errors : [{ message: `HTTP ${res.status}`, code: "http" }];
  if (res.status === 401 && key === session.key) signOut("Your API key was not accepted any more. Sign in again.");
  if (res.status === 429) errors[0].message = `Too many requests; try again in ${res.headers.get("retry-after") ?? "a few"} s.`;
  throw new ApiError(res.status, errors);
}

/** Enums the forms offer, read from the OpenAPI document so the page never drifts from the API. */
let schemaCache = null;
async function apiSchema() {
  if (schemaCache) return schemaCache;
  const res = await fetch(`${API}/openapi.json`, { cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, [{ message: "could not load the API description", code: "http" }]);
  const doc = await res.json();
  const p = doc.components.schemas.WebhookCreate.properties;
  schemaCache = {
    eventTypes: p.events.items.enum.filter((t) => t !== "*"),
    authTypes: p.auth_type.enum,
    formats: p.format.enum,
    verifications: p.verification.enum,
  };
  return schemaCache;
}

// ---------------------------------------------------------------------------------------
// Router and view lifecycle

const main = () => $("#main");
let current = null; // { controller } of the view on screen
let firstRender = true;

const ROUTES = [
  [/^\/webhooks\/?$/, () => webhooksView],
  [/^\/webhooks\/new$/, () => (ctx) => webhookFormView(ctx, null)],
  [/^\/webhooks\/([^/]+)\/edit$/, (m) => (ctx) => webhookFormView(ctx, decodeURIComponent(m[1]))],
  [/^\/webhooks\/([^/]+)$/, (m) => (ctx) => webhookDetailView(ctx, decodeURIComponent(m[1]))],
  [/^\/events$/, () => eventsView],
  [/^\/sources$/, () => sourcesView],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/webhooks";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

/** What a view gets: an abort signal for its lifetime and a visibility-aware poller. */
function viewContext(params) {
  const controller = new AbortController();
  const { signal } = controller;
  return {
    controller,
    signal,
    params,
    every(ms, fn) {
      let timer;
      const tick = async () => {
        if (signal.aborted) return;
        if (!document.hidden) await fn().catch((err) => showLoadError(err, signal));
        if (!signal.aborted) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
      signal.addEventListener("abort", () => clearTimeout(timer));
    },
  };
}

function showLoadError(err, signal) {
  if (signal?.aborted || err.name === "AbortError") return;
  say(err.message, "error");
}

async function render() {
  current?.controller.abort();
  const { path, params } = parseHash();
  const signedIn = Boolean(session.key);
  $("#nav").hidden = !signedIn;
  $("#sign-out").hidden = !signedIn;
  const ctx = viewContext(params);
  current = ctx;
  if (!signedIn) {
    signInView(ctx);
    return;
  }
  const section = path.split("/")[1];
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!$("#version").textContent) {
    api("GET", "/status").then((r) => ($("#version").textContent = `hookd ${r.results.version}`), () => {});
  }
  const route = ROUTES.find(([re]) => re.test(path));
  const view = route ? route[1](path.match(route[0])) : notFoundView;
  main().replaceChildren();
  try {
    await view(ctx);
  } catch (err) {
    if (ctx.signal.aborted || err.name === "AbortError") return;
    main().replaceChildren(h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { class: "error" }, err.message));
  }
  if (ctx.signal.aborted) return;
  // Move focus to the new view's heading so keyboard and screen reader users land on it.
  if (!firstRender) $("h1", main())?.focus();
  firstRender = false;
}

function setTitle(text) {
  document.title = `${text} · hookd`;
}

function heading(text) {
  setTitle(text);
  return h("h1", { tabindex: "-1" }, text);
}

function signOut(message = "Signed out.") {
  session.key = null;
  say(message, message === "Signed out." ? "info" : "error");
  render();
}

function notFoundView() {
  main().append(heading("Not found"), h("p", {}, "No such page. ", h("a", { href: "#/webhooks" }, "Go to the webhooks.")));
}

// ---------------------------------------------------------------------------------------
// Sign in

function signInView(ctx) {
  setTitle("Sign in");
  const input = h("input", { id: "api-key", name: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "api-key-hint" });
  const error = h("p", { id: "api-key-error", class: "field-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("div", { class: "field" },
      h("label", { for: "api-key" }, "API key"),
      h("p", { id: "api-key-hint", class: "hint" }, "The admin key hookd printed at first start, or one from ", h("code", {}, "hookd apikey create"), ". It stays in this tab only and is forgotten when you close it."),
      input,
      error,
    ),
    submit,
  );
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "api-key-hint api-key-error");
    input.focus();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) return fail("Paste an API key.");
    submit.disabled = true;
    try {
      await api("GET", "/status", { key, signal: ctx.signal });
    } catch (err) {
      // 403: a narrower key (events only, say) is still a key; the views say what it may not do.
      if (!(err instanceof ApiError) || err.status !== 403) {
        submit.disabled = false;
        return fail(err.status === 401 ? "That key was not accepted: it is unknown or revoked." : err.message);
      }
    }
    session.key = key;
    say("Signed in.", "ok");
    firstRender = false;
    render();
  });
  main().replaceChildren(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------
// Webhooks list

async function webhooksView(ctx) {
  const body = h("div", { class: "region" }, h("p", { class: "muted" }, "Loading…"));
  main().append(
    h("div", { class: "title-row" }, heading("Webhooks"), h("a", { class: "button primary", href: "#/webhooks/new" }, "New webhook")),
    body,
  );
  const load = async () => {
    const { results: hooks } = await api("GET", "/webhooks", { signal: ctx.signal });
    const stats = await Promise.all(
      hooks.map((w) =>
        api("GET", `/webhooks/${encodeURIComponent(w.id)}/stats`, { query: { minutes: 60 }, signal: ctx.signal })
          .then((r) => r.results.delivered_per_minute)
          .catch(() => null),
      ),
    );
    if (ctx.signal.aborted) return;
    if (!hooks.length) {
      swap(body, h("div", { class: "empty" }, h("p", {}, "No webhooks yet."), h("p", {}, h("a", { href: "#/webhooks/new" }, "Create one"), " to have hookd POST mail events to your endpoint.")));
      return;
    }
    swap(body, webhooksTable(hooks, stats));
  };
  await load();
  ctx.every(LIST_REFRESH_MS, load);
}

function webhooksTable(hooks, stats) {
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Webhooks with status, queue and delivery rate"),
    h("thead", {}, h("tr", {}, ["Webhook", "Status", "Queue", "Last success", "Last failure", "Delivered / min"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      hooks.map((w, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "Webhook" },
            h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}`, "data-key": `open-${w.id}` }, w.name),
            h("div", { class: "sub mono" }, w.target),
          ),
          h("td", { "data-label": "Status" }, badge(w.status)),
          h("td", { "data-label": "Queue" }, `${num(w.queue_depth)} events`, w.dead_batches ? h("div", { class: "sub danger" }, `${num(w.dead_batches)} dead-lettered`) : null),
          h("td", { "data-label": "Last success" }, when(w.last_successful)),
          h("td", { "data-label": "Last failure" }, when(w.last_failure), w.last_failure_code ? h("div", { class: "sub" }, w.last_failure_code) : null),
          h("td", { "data-label": "Delivered / min" }, stats[i] ? sparkline(stats[i]) : h("span", { class: "muted" }, "—")),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// One webhook

/** Set by the create form: the signing secret, shown once on the detail page it lands on. */
let justCreated = null;

async function webhookDetailView(ctx, id) {
  const path = `/webhooks/${encodeURIComponent(id)}`;
  let hook;
  try {
    hook = (await api("GET", path, { signal: ctx.signal })).results;
  } catch (err) {
    if (err.status !== 404) throw err;
    main().append(heading("Webhook not found"), h("p", {}, `There is no webhook with id ${id}. `, h("a", { href: "#/webhooks" }, "Back to the webhooks.")));
    return;
  }

  const titleStatus = h("span", {});
  const summary = h("div", { class: "region" });
  const spark = h("div", { class: "spark-wide" });
  const dead = h("div", { class: "region" });
  const batches = h("div", { class: "region" });
  const actionResult = h("div", { class: "region", "aria-live": "polite" });
  const secretSlot = h("div", {});
  const expanded = new Set(); // batch ids whose attempts are shown
  const attemptCache = new Map(); // batch id → { attempts: n, detail }

  if (justCreated?.id === id) {
    secretSlot.append(secretPanel("Signing secret", justCreated.secret, "Shown in full only now. Your receiver verifies the webhook-signature header with it."));
    justCreated = null;
  }

  const validateBtn = h("button", { type: "button", onclick: () => validate() }, "Validate");
  const rotateBtn = h("button", { type: "button", onclick: () => rotate() }, "Rotate secret");
  const deleteBtn = h("button", { type: "button", class: "danger", onclick: () => remove() }, "Delete");

  main().append(
    h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / "),
    h("div", { class: "title" }, heading(hook.name), titleStatus),
    h("p", { class: "mono sub target" }, hook.target),
    secretSlot,
    h("div", { class: "actions", role: "group", "aria-label": "Webhook actions" },
      h("a", { class: "button", href: `#${path}/edit` }, "Edit"),
      validateBtn,
      rotateBtn,
      deleteBtn,
    ),
    actionResult,
    h("section", { "aria-labelledby": "h-overview" }, h("h2", { id: "h-overview", class: "sr-only" }, "Overview"), summary, spark),
    h("section", { "aria-labelledby": "h-dead" }, h("h2", { id: "h-dead" }, "Dead letters"), dead),
    h("section", { "aria-labelledby": "h-batches" }, h("h2", { id: "h-batches" }, "Recent batches"), batches),
    h("section", { "aria-labelledby": "h-replay" }, h("h2", { id: "h-replay" }, "Replay"), replayForm(ctx, path, hook)),
  );

  async function load() {
    const [w, recent, deadList, stats] = await Promise.all([
      api("GET", path, { signal: ctx.signal }),
      api("GET", `${path}/batch-status`, { query: { limit: 25 }, signal: ctx.signal }),
      api("GET", `${path}/batch-status`, { query: { limit: 20, state: "dead" }, signal: ctx.signal }),
      api("GET", `${path}/stats`, { query: { minutes: 60 }, signal: ctx.signal }),
    ]);
    hook = w.results;
    const rows = recent.results;
    // Attempts of the opened batches, refetched only when a new attempt was made.
    await Promise.all(
      rows
        .filter((b) => expanded.has(b.batch_id) && attemptCache.get(b.batch_id)?.attempts !== b.attempts)
        .map(async (b) => {
          const d = await api("GET", `${path}/batches/${encodeURIComponent(b.batch_id)}`, { signal: ctx.signal });
          attemptCache.set(b.batch_id, { attempts: b.attempts, detail: d.results });
        }),
    );
    if (ctx.signal.aborted) return;
    swap(titleStatus, badge(hook.status));
    swap(summary, webhookSummary(hook));
    swap(spark, h("p", { class: "label" }, "Delivered per minute, last hour"), sparkline(stats.results.delivered_per_minute, { width: 600, height: 60 }));
    swap(dead, deadLetters(deadList.results));
    swap(batches, batchTable(rows));
  }

  function deadLetters(list) {
    if (!list.length) return h("p", { class: "muted" }, "No dead letters. Batches land here when the receiver kept failing for delivery.retry_for.");
    return [
      h("div", { class: "title-row" },
        h("p", {}, `${num(hook.dead_batches)} ${hook.dead_batches === 1 ? "batch was" : "batches were"} dead-lettered. They are kept until you retry or replay them.`),
        h("button", { type: "button", class: "primary", "data-key": "retry", onclick: (e) => retry(e.currentTarget) }, "Retry dead letters"),
      ),
      batchTable(list, { caption: "Dead-lettered batches", expandable: false }),
    ];
  }

  function batchTable(rows, { caption = "Recent batches, newest first", expandable = true } = {}) {
    if (!rows.length) return h("p", { class: "muted" }, "No batches yet. They appear here as events arrive for this webhook.");
    const cols = ["Batch", "State", "Events", "Attempts", "Response", "Last activity", "Next attempt"];
    return h(
      "table",
      { class: "table cards batches" },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, cols.map((t) => h("th", { scope: "col" }, t)), expandable ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Details")) : null)),
      h(
        "tbody",
        {},
        rows.map((b) => {
          const open = expandable && expanded.has(b.batch_id);
          const attemptsId = `attempts-${b.batch_id}`;
          return [
            h(
              "tr",
              { "data-batch": b.batch_id, "data-state": b.state },
              h("th", { scope: "row", "data-label": "Batch", class: "mono" }, b.batch_id.slice(-10), b.kind === "replay" ? h("span", { class: "sub" }, " replay") : null),
              h("td", { "data-label": "State" }, badge(b.state)),
              h("td", { "data-label": "Events" }, num(b.events)),
              h("td", { "data-label": "Attempts" }, num(b.attempts)),
              h("td", { "data-label": "Response" },
                b.response_code ?? h("span", { class: "muted" }, "—"),
                b.failure_code && b.failure_code !== `http_${b.response_code}` ? h("div", { class: "sub" }, b.failure_code) : null,
              ),
              h("td", { "data-label": "Last activity" }, when(b.ts)),
              h("td", { "data-label": "Next attempt" }, b.next_attempt ? when(b.next_attempt) : h("span", { class: "muted" }, "—")),
              expandable
                ? h("td", { class: "cell-action" },
                    h("button", {
                      type: "button",
                      class: "quiet small",
                      "aria-expanded": String(open),
                      "aria-controls": attemptsId,
                      "data-key": `attempts-${b.batch_id}`,
                      onclick: () => toggleAttempts(b.batch_id),
                    }, open ? "Hide attempts" : "Attempts", h("span", { class: "sr-only" }, ` of batch ${b.batch_id}`)),
                  )
                : null,
            ),
            open ? h("tr", { id: attemptsId, class: "attempts-row" }, h("td", { colspan: cols.length + 1 }, attemptList(attemptCache.get(b.batch_id)?.detail))) : null,
          ];
        }),
      ),
    );
  }

  async function toggleAttempts(batchId) {
    if (expanded.has(batchId)) expanded.delete(batchId);
    else expanded.add(batchId);
    await load().catch((err) => showLoadError(err, ctx.signal));
  }

  async function retry(button) {
    button.disabled = true;
    try {
      const r = await api("POST", `${path}/retry`, { signal: ctx.signal });
      say(`Queued ${r.results.requeued} dead-lettered ${r.results.requeued === 1 ? "batch" : "batches"} again.`, "ok");
      await load();
    } catch (err) {
      showLoadError(err, ctx.signal);
    } finally {
      button.disabled = false;
    }
  }

  async function validate() {
    validateBtn.disabled = true;
    swap(actionResult, h("p", { class: "muted" }, "Sending a sample batch…"));
    try {
      const r = (await api("POST", `${path}/validate`, { body: {}, signal: ctx.signal })).results;
      const good = r.failure_code === null;
      say(r.msg, good ? "ok" : "error");
      swap(
        actionResult,
        h("div", { class: `panel ${good ? "ok" : "bad"}` },
          h("h2", {}, "Validate: ", r.msg),
          h("dl", { class: "facts pairs" },
            h("dt", {}, "Status"), h("dd", {}, r.response.status ?? r.failure_code ?? "—"),
            h("dt", {}, "Latency"), h("dd", {}, `${num(r.latency_ms)} ms`),
          ),
          r.response.body ? [h("p", { class: "label" }, "Response body"), h("pre", {}, r.response.body)] : null,
          h("button", { type: "button", class: "quiet small", onclick: () => actionResult.replaceChildren() }, "Dismiss"),
        ),
      );
    } catch (err) {
      swap(actionResult);
      showLoadError(err, ctx.signal);
    } finally {
      validateBtn.disabled = false;
    }
  }

  async function rotate() {
    if (!confirm("Rotate the signing secret? The old secret keeps signing alongside the new one for 24 hours.")) return;
    rotateBtn.disabled = true;
    try {
      const r = (await api("POST", `${path}/rotate-secret`, { signal: ctx.signal })).results;
      say("Signing secret rotated.", "ok");
      swap(actionResult, secretPanel("New signing secret", r.secret, `The previous secret also signs until ${new Date(r.previous_secret_expires).toLocaleString()}. Update your receiver before then.`));
      $("button", actionResult)?.focus();
    } catch (err) {
      showLoadError(err, ctx.signal);
    } finally {
      rotateBtn.disabled = false;
    }
  }

  async function remove() {
    if (!confirm(`Delete the webhook "${hook.name}"? Its queued batches are dropped.`)) return;
    try {
      await api("DELETE", path, { signal: ctx.signal });
      sayNext(`Deleted the webhook "${hook.name}".`);
      location.hash = "#/webhooks";
    } catch (err) {
      showLoadError(err, ctx.signal);
    }
  }

  await load();
  ctx.every(DETAIL_REFRESH_MS, load);
}

function webhookSummary(w) {
  const auth = { none: "none", token: "token header", basic: "basic", oauth2: "OAuth2 client credentials" }[w.auth_type] ?? w.auth_type;
  const facts = [
    ["Events", w.events.includes("*") ? "all types" : w.events.join(", ")],
    ["Queue", `${num(w.queue_depth)} events in ${num(w.pending_batches)} pending ${w.pending_batches === 1 ? "batch" : "batches"}`],
    ["Oldest waiting", when(w.oldest_pending, "none")],
    ["Last success", when(w.last_successful)],
    ["Last failure", [when(w.last_failure), w.last_failure_code ? ` (${w.last_failure_code})` : ""]],
    ["Format", w.format],
    ["Auth", auth],
    ["Verification", w.verification],
  ];
  return h("dl", { class: "facts grid" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

function secretPanel(title, secret, note) {
  const code = h("code", { class: "secret" }, secret);
  const copy = h("button", { type: "button", class: "small" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      say("Copied the secret to the clipboard.", "ok");
    } catch {
      getSelection()?.selectAllChildren(code);
      say("Select and copy the secret by hand (the clipboard is not available here).", "info");
    }
  });
  return h("div", { class: "panel ok" }, h("h2", {}, title), h("p", { class: "secret-row" }, code, copy), h("p", { class: "hint" }, note));
}

function replayForm(ctx, path, hook) {
  const since = h("input", { id: "replay-since", name: "since", type: "datetime-local", required: true, value: toLocalInput(new Date(Date.now() - 3_600_000).toISOString()) });
  const untilInput = h("input", { id: "replay-until", name: "until", type: "datetime-local" });
  const types = h("input", { id: "replay-events", name: "events", type: "text", placeholder: hook.events.includes("*") ? "all types" : hook.events.join(", "), autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Replay");
  const form = h(
    "form",
    { class: "form inline-form", novalidate: true },
    h("p", { class: "hint" }, "Send stored events again as new batches. They keep their event_id, so receivers can drop duplicates."),
    h("div", { class: "row" },
      field("since", "Since (your local time)", since),
      field("until", "Until (optional)", untilInput, "Default: now."),
      field("events", "Event types (optional)", types, "Comma-separated; default: the types this webhook gets."),
    ),
    h("div", { class: "form-errors", hidden: true }),
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { since: toIso(since.value) ?? "" };
    if (untilInput.value) body.until = toIso(untilInput.value);
    const list = splitList(types.value);
    if (list.length) body.events = list;
    submit.disabled = true;
    try {
      const r = (await api("POST", `${path}/replay`, { body, signal: ctx.signal })).results;
      say(`Replay queued: ${num(r.events)} events in ${num(r.batches)} ${r.batches === 1 ? "batch" : "batches"}.`, "ok");
    } catch (err) {
      if (ctx.signal.aborted) return;
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function attemptList(detail) {
  if (!detail) return h("p", { class: "muted" }, "Loading attempts…");
  if (!detail.attempts.length) return h("p", { class: "muted" }, "Not attempted yet.");
  return h(
    "ol",
    { class: "attempts" },
    detail.attempts.map((a) =>
      h("li", {},
        h("span", { class: "attempt-head" }, `#${a.attempt} `, clock(a.ts), " — ", a.response_code !== null ? `HTTP ${a.response_code}` : a.failure_code ?? "?", a.latency_ms !== null ? ` in ${num(a.latency_ms)} ms` : ""),
        a.response ? h("pre", {}, a.response) : null,
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Forms: fields, and the API's errors shown next to the fields they name

function field(name, label, input, hint) {
  const id = input.id || `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
  input.id = id;
  const hintEl = hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field", "data-field": name }, h("label", { for: id }, label), input, hintEl, h("p", { id: `${id}-error`, class: "field-error", hidden: true }));
}

/** A group of controls (checkboxes, credential pairs) with a legend and one error slot. */
function group(name, legend, controls, hint) {
  const id = `g-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
  return h(
    "fieldset",
    { class: "field group", "data-field": name, id, "aria-describedby": hint ? `${id}-hint` : undefined },
    h("legend", {}, legend),
    hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null,
    controls,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.setAttribute("aria-describedby", (el.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && !x.endsWith("-error")).join(" "));
  }
  const summary = $(".form-errors", form);
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
}

/** The field element an error names: exact match, else the longest enclosing one (events[2] → events). */
function fieldFor(form, name) {
  if (!name) return null;
  let best = null;
  for (const el of form.querySelectorAll("[data-field]")) {
    const f = el.dataset.field;
    if ((name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`)) && (!best || f.length > best.dataset.field.length)) best = el;
  }
  return best;
}

/** Show an ApiError's items next to their fields and in a summary that links to them. */
function showErrors(form, err) {
  const items = err instanceof ApiError ? err.errors : [{ message: err.message }];
  const summary = $(".form-errors", form);
  const links = [];
  let firstControl = null;
  for (const item of items) {
    const wrap = fieldFor(form, item.field);
    // Messages start with the field path ("target: expected …"); next to the field it is noise.
    let text = item.message.replace(/^query parameter /, "");
    if (item.field && text.startsWith(`${item.field}: `)) text = text.slice(item.field.length + 2);
    const control = wrap?.querySelector("input:not([disabled]), select, textarea") ?? null;
    // Within a field, say which part: "Host: is set by hookd" for custom_headers.Host.
    const suffix = wrap && item.field !== wrap.dataset.field ? `${item.field.slice(wrap.dataset.field.length).replace(/^\./, "")}: ` : "";
    if (wrap) {
      const slot = [...wrap.querySelectorAll(".field-error")].pop();
      slot.append(h("span", {}, `${suffix}${text}`));
      slot.hidden = false;
      const target = wrap.matches("fieldset") ? wrap : control;
      if (target) {
        target.setAttribute("aria-invalid", "true");
        const ids = new Set((target.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
        ids.add(slot.id);
        target.setAttribute("aria-describedby", [...ids].join(" "));
      }
      firstControl ??= control;
    }
    const label = wrap ? $(":scope > legend, :scope > label", wrap)?.textContent : null;
    const line = label ? `${label}: ${suffix}${text}` : item.message;
    links.push(
      control
        ? h("li", {}, h("a", { href: `#${control.id}`, onclick: (e) => (e.preventDefault(), control.focus()) }, line))
        : h("li", {}, line),
    );
  }
  if (summary) {
    summary.replaceChildren(
      h("h2", {}, items.length === 1 ? "There is a problem" : `There are ${items.length} problems`),
      h("ul", {}, links),
    );
    summary.hidden = false;
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  } else firstControl?.focus();
  say(items.length === 1 ? "Not saved: one problem to fix." : `Not saved: ${items.length} problems to fix.`, "error");
}

const splitList = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

// ---------------------------------------------------------------------------------------
// Create / edit a webhook

async function webhookFormView(ctx, id) {
  const schema = await apiSchema();
  const hook = id ? (await api("GET", `/webhooks/${encodeURIComponent(id)}`, { signal: ctx.signal })).results : null;
  const editing = Boolean(hook);

  const input = (name, attrs = {}) => h("input", { name, type: "text", autocomplete: "off", ...attrs });
  const select = (name, options, value) => h("select", { name }, options.map((o) => h("option", { value: o, selected: o === value }, o)));

  const f = {
    name: input("name", { required: true, value: hook?.name ?? "" }),
    target: input("target", { type: "url", required: true, inputmode: "url", placeholder: "https://hooks.example.com/mail-events", value: hook?.target ?? "" }),
    all: h("input", { type: "checkbox", name: "events-all", id: "ev-all", checked: !hook || hook.events.includes("*") }),
    types: schema.eventTypes.map((t) => h("input", { type: "checkbox", name: "events", value: t, id: `ev-${t}`, checked: Boolean(hook && hook.events.includes(t)) })),
    active: h("input", { type: "checkbox", name: "active", id: "f-active", checked: hook ? hook.active : true }),
    format: select("format", schema.formats, hook?.format ?? "hookd"),
    verification: select("verification", schema.verifications, hook?.verification ?? "test_post"),
    auth_type: select("auth_type", schema.authTypes, hook?.auth_type ?? "none"),
    auth_token: input("auth_token", { type: "password" }),
    username: input("username", { value: hook?.auth_credentials?.username ?? "" }),
    password: input("password", { type: "password" }),
    oauth_url: input("oauth_url", { type: "url", value: hook?.auth_request_details?.url ?? "" }),
    client_id: input("client_id", { value: hook?.auth_request_details?.body.client_id ?? "" }),
    client_secret: input("client_secret", { type: "password" }),
    headers: h("textarea", { name: "custom_headers", rows: "3", spellcheck: "false", placeholder: "X-Team: mail" }),
    batch_max_events: input("batch_max_events", { inputmode: "numeric", value: hook?.batch_max_events ?? "" }),
    batch_max_wait: input("batch_max_wait", { placeholder: "1s", value: hook?.batch_max_wait != null ? `${hook.batch_max_wait}ms` : "" }),
    sender_domains: input("sender_domains", { value: hook?.filter?.sender_domains?.join(", ") ?? "" }),
    rcpt_domains: input("rcpt_domains", { value: hook?.filter?.rcpt_domains?.join(", ") ?? "" }),
    hosts: input("hosts", { value: hook?.filter?.hosts?.join(", ") ?? "" }),
  };
  f.headers.value = Object.entries(hook?.custom_headers ?? {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  const keep = editing ? "Stored; leave empty to keep it." : undefined;

  const syncEvents = () => {
    for (const c of f.types) c.disabled = f.all.checked;
  };
  f.all.addEventListener("change", syncEvents);
  syncEvents();

  const authToken = field("auth_token", "Token", f.auth_token, keep ?? "Sent in the X-MessageSystems-Webhook-Token header.");
  const authBasic = group("auth_credentials", "Basic auth", [
    field("auth_credentials.username", "Username", f.username),
    field("auth_credentials.password", "Password", f.password, editing ? "Stored; to change the username or password, type the password." : undefined),
  ]);
  const authOauth = group("auth_request_details", "OAuth2 client credentials", [
    field("auth_request_details.url", "Token URL", f.oauth_url),
    field("auth_request_details.body.client_id", "Client ID", f.client_id),
    field("auth_request_details.body.client_secret", "Client secret", f.client_secret, editing ? "Stored; to change the client, type the secret." : undefined),
  ]);
  const syncAuth = () => {
    authToken.hidden = f.auth_type.value !== "token";
    authBasic.hidden = f.auth_type.value !== "basic";
    authOauth.hidden = f.auth_type.value !== "oauth2";
  };
  f.auth_type.addEventListener("change", syncAuth);
  syncAuth();

  const submit = h("button", { type: "submit", class: "primary" }, editing ? "Save changes" : "Create webhook");
  const form = h(
    "form",
    { class: "form card", novalidate: true, "aria-labelledby": "form-title" },
    h("div", { class: "form-errors", hidden: true, role: "group", "aria-label": "Problems" }),
    field("name", "Name", f.name),
    field("target", "Target URL", f.target, "hookd POSTs each batch here. With test_post verification it must answer 2xx to a sample batch before the webhook is saved."),
    group("events", "Events", [
      h("label", { class: "check strong" }, f.all, "All event types"),
      h("div", { class: "checks" }, f.types.map((c) => h("label", { class: "check" }, c, c.value))),
    ]),
    h("div", { class: "field", "data-field": "active" }, h("label", { class: "check" }, f.active, "Active"), h("p", { class: "hint" }, "Unchecked pauses delivery; events wait in the queue."), h("p", { class: "field-error", id: "f-active-error", hidden: true })),
    h("div", { class: "row" },
      field("format", "Format", f.format, "hookd's own body, or SendGrid's or SparkPost's."),
      field("verification", "Verification", f.verification),
      field("auth_type", "Authentication", f.auth_type),
    ),
    authToken,
    authBasic,
    authOauth,
    h(
      "details",
      { class: "advanced", open: Boolean(hook && (hook.custom_headers || hook.batch_max_events || hook.batch_max_wait || hook.filter)) },
      h("summary", {}, "Batching, headers and filters"),
      h("div", { class: "row" },
        field("batch_max_events", "Max events per batch", f.batch_max_events, "Empty: the config default."),
        field("batch_max_wait", "Max wait", f.batch_max_wait, 'Like "500ms" or "5s". Empty: the config default.'),
      ),
      field("custom_headers", "Custom headers", f.headers, "One per line, Name: value. Values shown as ******** are stored secrets: retype them if you change this list."),
      group("filter", "Only events that match", [
        field("filter.sender_domains", "Sender domains", f.sender_domains),
        field("filter.rcpt_domains", "Recipient domains", f.rcpt_domains),
        field("filter.hosts", "Hosts", f.hosts),
      ], "Comma-separated; every list given must match."),
    ),
    h("div", { class: "actions" }, submit, h("a", { class: "button quiet", href: editing ? `#/webhooks/${encodeURIComponent(id)}` : "#/webhooks" }, "Cancel")),
  );

  /** The API body the form describes; credentials only when typed (the API never shows them). */
  function read() {
    const out = {
      name: f.name.value.trim(),
      target: f.target.value.trim(),
      events: f.all.checked ? ["*"] : f.types.filter((c) => c.checked).map((c) => c.value),
      active: f.active.checked,
      format: f.format.value,
      verification: f.verification.value,
      auth_type: f.auth_type.value,
    };
    const auth = f.auth_type.value;
    if (auth === "token" && f.auth_token.value) out.auth_token = f.auth_token.value;
    if (auth === "basic" && (f.password.value || (!editing && f.username.value))) out.auth_credentials = { username: f.username.value.trim(), password: f.password.value };
    if (auth === "oauth2" && (f.client_secret.value || (!editing && (f.oauth_url.value || f.client_id.value)))) {
      out.auth_request_details = { url: f.oauth_url.value.trim(), body: { client_id: f.client_id.value.trim(), client_secret: f.client_secret.value } };
    }
    const headers = f.headers.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (headers.length) {
      out.custom_headers = {};
      for (const line of headers) {
        const i = line.indexOf(":");
        // A line without a colon goes through as a header name, so the API names the problem.
        if (i < 0) out.custom_headers[line] = "";
        else out.custom_headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
    }
    const n = f.batch_max_events.value.trim();
    if (n) out.batch_max_events = /^\d+$/.test(n) ? Number(n) : n;
    const wait = f.batch_max_wait.value.trim();
    if (wait) out.batch_max_wait = wait;
    const filter = {};
    for (const k of ["sender_domains", "rcpt_domains", "hosts"]) {
      const list = splitList(f[k].value);
      if (list.length) filter[k] = list;
    }
    if (Object.keys(filter).length) out.filter = filter;
    return out;
  }

  // Editing sends only what changed (PATCH), and null for what was cleared.
  const initial = read();
  const changes = (now) => {
    const patch = {};
    for (const k of new Set([...Object.keys(initial), ...Object.keys(now)])) {
      if (JSON.stringify(initial[k]) === JSON.stringify(now[k])) continue;
      patch[k] = now[k] === undefined ? null : now[k];
    }
    return patch;
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = editing ? changes(read()) : read();
    if (editing && !Object.keys(body).length) {
      say("Nothing changed.", "info");
      return;
    }
    submit.disabled = true;
    say(editing ? "Saving…" : body.verification === "test_post" ? "Sending a test POST to the target…" : "Creating…");
    try {
      if (editing) {
        await api("PATCH", `/webhooks/${encodeURIComponent(id)}`, { body, signal: ctx.signal });
        sayNext("Saved.");
        location.hash = `#/webhooks/${encodeURIComponent(id)}`;
      } else {
        const r = (await api("POST", "/webhooks", { body, signal: ctx.signal })).results;
        justCreated = { id: r.id, secret: r.secret };
        sayNext(`Created the webhook "${body.name}".`);
        location.hash = `#/webhooks/${encodeURIComponent(r.id)}`;
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });

  const title = editing ? `Edit ${hook.name}` : "New webhook";
  const h1 = heading(title);
  h1.id = "form-title";
  main().append(
    h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / ", editing ? [h("a", { href: `#/webhooks/${encodeURIComponent(id)}` }, hook.name), " / "] : null),
    h1,
    form,
  );
}

// ---------------------------------------------------------------------------------------
// Events: search and live tail

async function eventsView(ctx) {
  const schema = await apiSchema().catch(() => ({ eventTypes: [] }));
  const p = ctx.params;
  const type = h("select", { name: "type" }, h("option", { value: "" }, "Any type"), schema.eventTypes.map((t) => h("option", { value: t, selected: p.get("type") === t }, t)));
  const rcpt = h("input", { name: "rcpt_to", type: "text", inputmode: "email", autocomplete: "off", value: p.get("rcpt_to") ?? "" });
  const mid = h("input", { name: "message_id", type: "text", autocomplete: "off", value: p.get("message_id") ?? "" });
  const since = h("input", { name: "since", type: "datetime-local", value: p.get("since") ? toLocalInput(p.get("since")) : "" });
  const untilInput = h("input", { name: "until", type: "datetime-local", value: p.get("until") ? toLocalInput(p.get("until")) : "" });
  const results = h("div", { class: "region" });
  const submit = h("button", { type: "submit", class: "primary" }, "Search");
  const form = h(
    "form",
    { class: "form search", role: "search", "aria-label": "Search events", novalidate: true },
    h("div", { class: "row" },
      field("type", "Type", type),
      field("rcpt_to", "Recipient", rcpt),
      field("message_id", "Message ID", mid),
    ),
    h("div", { class: "row" },
      field("since", "From (your local time)", since),
      field("until", "Until", untilInput),
    ),
    h("div", { class: "form-errors", hidden: true }),
    h("div", { class: "actions" }, submit, h("button", { type: "reset", class: "quiet" }, "Clear")),
  );

  let items = [];
  let next = null;
  const query = () => ({ type: type.value, rcpt_to: rcpt.value.trim(), message_id: mid.value.trim(), since: toIso(since.value), until: toIso(untilInput.value) });

  async function search(more = false) {
    clearErrors(form);
    submit.disabled = true;
    try {
      const q = query();
      const r = await api("GET", "/events", { query: { ...q, limit: 50, cursor: more ? next : undefined }, signal: ctx.signal });
      items = more ? [...items, ...r.results] : r.results;
      next = r.next_cursor;
      // Keep the search in the address, without re-rendering, so it can be bookmarked.
      const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v));
      history.replaceState(null, "", `#/events${qs.size ? `?${qs}` : ""}`);
      swap(results, eventTable(items, next, () => search(true)));
      say(items.length ? `${items.length}${next ? "+" : ""} ${items.length === 1 ? "event" : "events"} found.` : "No events match.", "info");
    } catch (err) {
      if (!ctx.signal.aborted) showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  form.addEventListener("reset", () => setTimeout(() => search(), 0));

  main().append(
    heading("Events"),
    form,
    h("section", { "aria-labelledby": "h-results" }, h("h2", { id: "h-results", class: "sr-only" }, "Results"), results),
    h("section", { "aria-labelledby": "h-tail" }, h("h2", { id: "h-tail" }, "Live tail"), liveTail(ctx)),
  );
  await search();
}

function eventTable(items, next, more) {
  if (!items.length) return h("p", { class: "muted empty" }, "No events match. Events stay searchable for storage.retention.");
  return [
    h(
      "table",
      { class: "table cards events" },
      h("caption", { class: "sr-only" }, "Events, newest first"),
      h("thead", {}, h("tr", {}, ["Time", "Type", "Recipient", "Message ID", "Details"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        items.map((e) =>
          h("tr", { "data-event": e.event_id },
            h("td", { "data-label": "Time" }, clock(e.timestamp)),
            h("td", { "data-label": "Type" }, h("span", { class: `type type-${e.type}` }, e.type === "custom" && e.custom_type ? `custom: ${e.custom_type}` : e.type)),
            h("td", { "data-label": "Recipient", class: "mono" }, e.rcpt_to ?? "—"),
            h("td", { "data-label": "Message ID", class: "mono clip" }, e.message_id ?? "—"),
            h("td", { "data-label": "Details" }, h("details", {}, h("summary", {}, "JSON", h("span", { class: "sr-only" }, ` of event ${e.event_id}`)), h("pre", {}, JSON.stringify(e, null, 2)))),
          ),
        ),
      ),
    ),
    next ? h("button", { type: "button", class: "more", "data-key": "more", onclick: more }, "Load more") : null,
  ];
}

/** GET /events/stream read with fetch(), because EventSource cannot send the Authorization header. */
function liveTail(ctx) {
  const list = h("ol", { class: "tail", "aria-label": "New events, newest first" });
  const state = h("p", { class: "muted", role: "status" }, "Off. Start it to see events as hookd stores them.");
  const button = h("button", { type: "button", "aria-pressed": "false" }, "Start live tail");
  let controller = null;
  let count = 0;

  const stop = () => {
    controller?.abort();
    controller = null;
    button.textContent = "Start live tail";
    button.setAttribute("aria-pressed", "false");
    state.textContent = count ? `Stopped after ${count} new ${count === 1 ? "event" : "events"}.` : "Off.";
  };
  button.addEventListener("click", () => {
    if (controller) return stop();
    controller = new AbortController();
    ctx.signal.addEventListener("abort", () => controller?.abort());
    button.textContent = "Stop live tail";
    button.setAttribute("aria-pressed", "true");
    state.textContent = "Connecting…";
    streamEvents(controller.signal, {
      onOpen: () => (state.textContent = count ? `Live. ${count} new events so far.` : "Live. Waiting for new events…"),
      onRetry: (err, s) => (state.textContent = `Connection lost (${err.message}); retrying in ${s} s…`),
      onEvent: (e) => {
        count++;
        list.prepend(
          h("li", { "data-event": e.event_id },
            clock(e.timestamp), " ",
            h("span", { class: `type type-${e.type}` }, e.type), " ",
            h("span", { class: "mono" }, e.rcpt_to ?? ""), " ",
            e.message_id ? h("span", { class: "mono sub clip" }, e.message_id) : null,
          ),
        );
        while (list.children.length > TAIL_MAX) list.lastElementChild.remove();
        state.textContent = `Live. ${count} new ${count === 1 ? "event" : "events"} so far.`;
      },
    });
  });
  return h("div", { class: "tail-box" }, h("div", { class: "title-row" }, state, button), list);
}

async function streamEvents(signal, { onOpen, onEvent, onRetry }) {
  let lastId = null;
  let delay = 1;
  let openedAt = 0;
  while (!signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${session.key}`, Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const res = await fetch(`${API}/events/stream`, { headers, signal, cache: "no-store" });
      if (res.status === 401) return signOut("Your API key was not accepted any more. Sign in again.");
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onOpen();
      openedAt = Date.now();
      delay = 1;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const msg = parseSse(block);
          if (msg.id) lastId = msg.id;
          if (msg.event === "event") onEvent(JSON.parse(msg.data));
        }
      }
      throw new Error("stream ended");
    } catch (err) {
      if (signal.aborted) return;
      // A stream that ran for a while and was closed (an idle timeout, a restart) resumes
      // at once and quietly from Last-Event-ID; only failing to reconnect is worth saying.
      const ranForAWhile = openedAt && Date.now() - openedAt > 2000;
      openedAt = 0;
      if (ranForAWhile) continue;
      onRetry(err, delay);
      await new Promise((r) => setTimeout(r, delay * 1000));
      delay = Math.min(delay * 2, 30);
    }
  }
}

function parseSse(block) {
  const msg = { event: "message", data: "", id: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const name = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (name === "event") msg.event = value;
    else if (name === "data") data.push(value);
    else if (name === "id") msg.id = value;
  }
  msg.data = data.join("\n");
  return msg;
}

// ---------------------------------------------------------------------------------------
// Sources and queues

async function sourcesView(ctx) {
  const overview = h("div", { class: "region" });
  const sources = h("div", { class: "region" });
  const queues = h("div", { class: "region" });
  main().append(
    heading("Sources"),
    overview,
    h("section", { "aria-labelledby": "h-files" }, h("h2", { id: "h-files" }, "Log files"), sources),
    h("section", { "aria-labelledby": "h-queues" }, h("h2", { id: "h-queues" }, "Queues"), queues),
  );
  const load = async () => {
    const s = (await api("GET", "/status", { signal: ctx.signal })).results;
    if (ctx.signal.aborted) return;
    $("#version").textContent = `hookd ${s.version}`;
    swap(
      overview,
      h("div", { class: "overview" },
        h("dl", { class: "facts" },
          h("dt", {}, "Version"), h("dd", {}, s.version),
          h("dt", {}, "Up for"), h("dd", {}, until(s.uptime_s)),
          h("dt", {}, "Events stored, last hour"), h("dd", {}, num(s.events_per_minute.reduce((a, b) => a + b, 0))),
        ),
        h("div", { class: "overview-spark" },
          h("p", { class: "label" }, "Events stored per minute, last hour"),
          sparkline(s.events_per_minute, { width: 360, height: 48, what: "Events stored per minute" }),
        ),
      ),
    );
    swap(sources, sourceTable(s.sources));
    swap(queues, queueTable(s.webhooks));
  };
  await load();
  ctx.every(SOURCES_REFRESH_MS, load);
}

function sourceTable(list) {
  if (!list.length) {
    return h("div", { class: "empty" },
      h("p", {}, "No log files are tailed."),
      h("p", { class: "hint" }, "Add a ", h("code", {}, "[[sources]]"), " table with the path and format (postfix, exim, jsonl) of your mail log to hookd.toml and restart hookd. Events from POST /events arrive either way."),
    );
  }
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Log files hookd tails"),
    h("thead", {}, h("tr", {}, ["File", "State", "Lag", "Lines / s", "Lines read", "Not understood"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      list.map((src) =>
        h("tr", {},
          h("th", { scope: "row", "data-label": "File" }, h("span", { class: "mono" }, src.path), h("div", { class: "sub" }, src.format)),
          h("td", { "data-label": "State" }, badge(src.status === "missing" ? "failing" : src.status === "reading" ? "pending" : "active", src.status)),
          h("td", { "data-label": "Lag" }, bytes(src.lag_bytes), h("div", { class: "sub" }, `at ${bytes(src.offset)} of ${bytes(src.size)}`)),
          h("td", { "data-label": "Lines / s" }, num(Math.round(src.lines_per_second * 10) / 10)),
          h("td", { "data-label": "Lines read" }, num(src.lines_read)),
          h("td", { "data-label": "Not understood" },
            num(src.lines_not_understood),
            src.recent_not_understood.length
              ? h("details", {}, h("summary", {}, "Recent"), h("pre", {}, src.recent_not_understood.join("\n")))
              : null,
          ),
        ),
      ),
    ),
  );
}

function queueTable(list) {
  if (!list.length) return h("p", { class: "muted" }, "No webhooks.");
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Queue per webhook"),
    h("thead", {}, h("tr", {}, ["Webhook", "Status", "Queue", "Oldest waiting", "Dead letters"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      list.map((w) =>
        h("tr", {},
          h("th", { scope: "row", "data-label": "Webhook" }, h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.name)),
          h("td", { "data-label": "Status" }, badge(w.status)),
          h("td", { "data-label": "Queue" }, `${num(w.queue_depth)} events`),
          h("td", { "data-label": "Oldest waiting" }, when(w.oldest_pending, "none")),
          h("td", { "data-label": "Dead letters" }, w.dead_batches ? h("span", { class: "danger" }, num(w.dead_batches)) : "0"),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------

$("#sign-out").addEventListener("click", () => signOut());
// The hash is the router's, so the skip link moves focus itself instead of navigating.
$(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  main().focus();
});
window.addEventListener("hashchange", () => {
  if (!carryOver) say("");
  carryOver = false;
  render();
});
render();
