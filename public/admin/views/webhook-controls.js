// @ts-check
// The webhook form's controls, filled from a stored webhook, and the API body they describe.
import { h } from "../dom.js";
import { splitList } from "../format.js";
/** @import { FormSchema, Webhook, WebhookBody } from "../types" */

/** @param {string} name @param {Record<string, string | number | boolean>} [attrs] */
const input = (name, attrs = {}) => h("input", { name, type: "text", autocomplete: "off", ...attrs });

/** @param {string} name @param {string[]} options @param {string} value */
const select = (name, options, value) =>
  h(
    "select",
    { name },
    options.map((o) => h("option", { value: o, selected: o === value }, o)),
  );

/**
 * One control per field of the form; credentials start empty (the API never shows them).
 * @param {FormSchema} schema
 * @param {Webhook | null} hook the webhook edited, or null for a new one
 */
export function webhookControls(schema, hook) {
  const f = {
    name: input("name", { required: true, value: hook?.name ?? "" }),
    target: input("target", {
      type: "url",
      required: true,
      inputmode: "url",
      placeholder: "https://hooks.example.com/mail-events",
      value: hook?.target ?? "",
    }),
    all: h("input", { type: "checkbox", name: "events-all", id: "ev-all", checked: !hook || hook.events.includes("*") }),
    types: schema.eventTypes.map((t) =>
      h("input", { type: "checkbox", name: "events", value: t, id: `ev-${t}`, checked: Boolean(hook && hook.events.includes(t)) }),
    ),
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
    noMachine: h("input", { type: "checkbox", name: "filter-machine", id: "f-filter-machine", checked: hook?.filter?.machine === false }),
  };
  f.headers.value = Object.entries(hook?.custom_headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  return f;
}

/** @typedef {ReturnType<typeof webhookControls>} Controls */

/**
 * The API body the form describes; credentials only when typed, since an edit form starts
 * without them and an empty one means "keep".
 * @param {Controls} f
 * @param {boolean} editing
 * @returns {WebhookBody}
 */
export function readControls(f, editing) {
  /** @type {WebhookBody} */
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
  if (auth === "basic" && (f.password.value || (!editing && f.username.value)))
    out.auth_credentials = { username: f.username.value.trim(), password: f.password.value };
  if (auth === "oauth2" && (f.client_secret.value || (!editing && (f.oauth_url.value || f.client_id.value)))) {
    out.auth_request_details = {
      url: f.oauth_url.value.trim(),
      body: { client_id: f.client_id.value.trim(), client_secret: f.client_secret.value },
    };
  }
  const headers = f.headers.value
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (headers.length) {
    /** @type {Record<string, string>} */
    const custom = {};
    for (const line of headers) {
      const i = line.indexOf(":");
      // A line without a colon goes through as a header name, so the API names the problem.
      if (i < 0) custom[line] = "";
      else custom[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    out.custom_headers = custom;
  }
  const n = f.batch_max_events.value.trim();
  if (n) out.batch_max_events = /^\d+$/.test(n) ? Number(n) : n;
  const wait = f.batch_max_wait.value.trim();
  if (wait) out.batch_max_wait = wait;
  /** @type {Record<string, string[] | boolean>} */
  const filter = {};
  for (const k of /** @type {const} */ (["sender_domains", "rcpt_domains", "hosts"])) {
    const list = splitList(f[k].value);
    if (list.length) filter[k] = list;
  }
  if (f.noMachine.checked) filter.machine = false;
  if (Object.keys(filter).length) out.filter = filter;
  return out;
}

/**
 * What a PATCH sends: the fields that changed, and null for those cleared.
 * @param {WebhookBody} initial
 * @param {WebhookBody} now
 * @returns {WebhookBody}
 */
export function changes(initial, now) {
  /** @type {WebhookBody} */
  const patch = {};
  for (const k of new Set([...Object.keys(initial), ...Object.keys(now)])) {
    if (JSON.stringify(initial[k]) === JSON.stringify(now[k])) continue;
    patch[k] = now[k] === undefined ? null : now[k];
  }
  return patch;
}
