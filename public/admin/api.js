// @ts-check
// The REST API under /api/v1, one method per call the page makes. The key comes from
// sessionStorage; failures are ApiErrors carrying the API's error items.
/** @import { BatchDetail, BatchState, BatchStatus, CheckResult, Domain, ErrorItem, EventPage, EventQuery, FormSchema, Status, TrackingRange, TrackingStats, ValidateResult, Webhook, WebhookBody } from "./types" */
/** @import { TailHandlers } from "./sse.js" */
import { readEvents } from "./sse.js";

const BASE = "/api/v1";
const KEY_STORE = "hookd.apiKey";

export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status; 0 when hookd did not answer
   * @param {ErrorItem[]} errors
   */
  constructor(status, errors) {
    super(errors.map((e) => e.message).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

/** A fetch given up because its view was left: not worth saying. @param {unknown} err */
export const isAbort = (err) => (err instanceof Error || err instanceof DOMException) && err.name === "AbortError";

/** @param {unknown} err */
export const errorMessage = (err) => (err instanceof Error ? err.message : String(err));

/** The API key lives in this tab only (sessionStorage) and is forgotten when it closes. */
export const session = {
  /** @returns {string | null} */
  get key() {
    return sessionStorage.getItem(KEY_STORE);
  },
  set key(v) {
    if (v) sessionStorage.setItem(KEY_STORE, v);
    else sessionStorage.removeItem(KEY_STORE);
  },
};

/**
 * @typedef {object} CallOptions
 * @property {unknown} [body] sent as JSON
 * @property {Record<string, string | number | null | undefined>} [query] empty values are left out
 * @property {AbortSignal} [signal]
 * @property {string | null} [key] a key to try instead of the session's (signing in)
 */

/** @param {any} answer */
const results = (answer) => answer.results;

/**
 * @param {() => void} onUnauthorized the session's key was refused (revoked meanwhile)
 */
export function createApi(onUnauthorized) {
  /**
   * @param {string} method
   * @param {string} path under /api/v1
   * @param {CallOptions} [opts]
   * @returns {Promise<any>} the JSON answer; null for 204
   */
  async function call(method, path, { body, query, signal, key = session.key } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const given = Object.entries(query ?? {}).flatMap(([k, v]) => (v === undefined || v === null || v === "" ? [] : [[k, String(v)]]));
    const qs = query ? `?${new URLSearchParams(given)}` : "";
    let res;
    try {
      res = await fetch(`${BASE}${path}${qs}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError(0, [{ message: "hookd did not answer; is it running?", code: "network" }]);
    }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    /** @type {ErrorItem[]} */
    const errors = Array.isArray(data?.errors) && data.errors.length ? data.errors : [{ message: `HTTP ${res.status}`, code: "http" }];
    if (res.status === 401 && key === session.key) onUnauthorized();
    if (res.status === 429)
      errors[0] = { ...errors[0], message: `Too many requests; try again in ${res.headers.get("retry-after") ?? "a few"} s.` };
    throw new ApiError(res.status, errors);
  }

  /** @param {string} id */
  const hook = (id) => `/webhooks/${encodeURIComponent(id)}`;
  /** @param {string} domain */
  const domainPath = (domain) => `/domains/${encodeURIComponent(domain)}`;
  /** @type {FormSchema | null} */
  let schema = null;

  return {
    /** @param {AbortSignal} [signal] @param {string} [key] @returns {Promise<Status>} */
    status: (signal, key) => call("GET", "/status", { signal, key }).then(results),
    /** @param {AbortSignal} [signal] @returns {Promise<Webhook[]>} */
    webhooks: (signal) => call("GET", "/webhooks", { signal }).then(results),
    /** @param {string} id @param {AbortSignal} [signal] @returns {Promise<Webhook>} */
    webhook: (id, signal) => call("GET", hook(id), { signal }).then(results),
    /** @param {WebhookBody} body @param {AbortSignal} [signal] @returns {Promise<{ id: string, secret: string }>} */
    createWebhook: (body, signal) => call("POST", "/webhooks", { body, signal }).then(results),
    /** @param {string} id @param {WebhookBody} body @param {AbortSignal} [signal] @returns {Promise<Webhook>} */
    updateWebhook: (id, body, signal) => call("PATCH", hook(id), { body, signal }).then(results),
    /** @param {string} id @param {AbortSignal} [signal] @returns {Promise<void>} */
    deleteWebhook: (id, signal) => call("DELETE", hook(id), { signal }),
    /** Delivered events per minute, oldest first. @param {string} id @param {number} minutes @param {AbortSignal} [signal] @returns {Promise<number[]>} */
    deliveredPerMinute: (id, minutes, signal) =>
      call("GET", `${hook(id)}/stats`, { query: { minutes }, signal }).then((r) => r.results.delivered_per_minute),
    /** Newest first. @param {string} id @param {{ limit: number, state?: BatchState }} query @param {AbortSignal} [signal] @returns {Promise<BatchStatus[]>} */
    batches: (id, query, signal) => call("GET", `${hook(id)}/batch-status`, { query, signal }).then(results),
    /** @param {string} id @param {string} batchId @param {AbortSignal} [signal] @returns {Promise<BatchDetail>} */
    batch: (id, batchId, signal) => call("GET", `${hook(id)}/batches/${encodeURIComponent(batchId)}`, { signal }).then(results),
    /** @param {string} id @param {AbortSignal} [signal] @returns {Promise<{ requeued: number }>} */
    retryDead: (id, signal) => call("POST", `${hook(id)}/retry`, { signal }).then(results),
    /** @param {string} id @param {AbortSignal} [signal] @returns {Promise<ValidateResult>} */
    validate: (id, signal) => call("POST", `${hook(id)}/validate`, { body: {}, signal }).then(results),
    /** "Check now": every webhook, one result each. @param {AbortSignal} [signal] @returns {Promise<CheckResult[]>} */
    validateAll: (signal) => call("POST", "/webhooks/validate", { signal }).then(results),
    /** By name. @param {AbortSignal} [signal] @returns {Promise<Domain[]>} */
    domains: (signal) => call("GET", "/domains", { signal }).then(results),
    /** @param {string} domain @param {AbortSignal} [signal] @returns {Promise<Domain>} */
    addDomain: (domain, signal) => call("POST", "/domains", { body: { domain }, signal }).then(results),
    /** Look the TXT record up now. @param {string} domain @param {AbortSignal} [signal] @returns {Promise<Domain>} */
    verifyDomain: (domain, signal) => call("POST", `${domainPath(domain)}/verify`, { signal }).then(results),
    /** @param {string} domain @param {AbortSignal} [signal] @returns {Promise<void>} */
    deleteDomain: (domain, signal) => call("DELETE", domainPath(domain), { signal }),
    /** @param {string} id @param {AbortSignal} [signal] @returns {Promise<{ secret: string, previous_secret_expires: string }>} */
    rotateSecret: (id, signal) => call("POST", `${hook(id)}/rotate-secret`, { signal }).then(results),
    /** @param {string} id @param {{ since: string, until?: string, events?: string[] }} body @param {AbortSignal} [signal] @returns {Promise<{ batches: number, events: number }>} */
    replay: (id, body, signal) => call("POST", `${hook(id)}/replay`, { body, signal }).then(results),
    /** @param {EventQuery & { limit: number, cursor?: string | null }} query @param {AbortSignal} [signal] @returns {Promise<EventPage>} */
    events: (query, signal) => call("GET", "/events", { query, signal }),
    /** Opens, clicks and unsubscribes the tracking listener recorded. @param {TrackingRange} range @param {AbortSignal} [signal] @returns {Promise<TrackingStats>} */
    trackingStats: (range, signal) => call("GET", "/tracking/stats", { query: { range }, signal }).then(results),
    /** Follow new events until `signal` aborts. @param {AbortSignal} signal @param {TailHandlers} handlers */
    tail: (signal, handlers) => readEvents(`${BASE}/events/stream`, signal, { ...handlers, key: () => session.key, onUnauthorized }),

    /** The enums the forms offer, read from the OpenAPI document so the page never drifts from the API. */
    async formSchema() {
      if (schema) return schema;
      const res = await fetch(`${BASE}/openapi.json`, { cache: "no-store" });
      if (!res.ok) throw new ApiError(res.status, [{ message: "could not load the API description", code: "http" }]);
      const p = (await res.json()).components.schemas.WebhookCreate.properties;
      schema = {
        // Each entry is an event type (the enum) or a custom event's name (a pattern).
        eventTypes: p.events.items.anyOf
          .find((/** @type {{ enum?: string[] }} */ s) => s.enum)
          .enum.filter((/** @type {string} */ t) => t !== "*"),
        authTypes: p.auth_type.enum,
        formats: p.format.enum,
        verifications: p.verification.enum,
      };
      return schema;
    },
  };
}

/** @typedef {ReturnType<typeof createApi>} Api */
