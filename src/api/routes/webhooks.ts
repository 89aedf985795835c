import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { ulid } from "ulid";
import { sampleEvent } from "../../events/samples.ts";
import { describeAttempt, succeeded } from "../../deliver/attempt.ts";
import { sendNow } from "../../deliver/send-now.ts";
import { generateSecret } from "../../deliver/sign.ts";
import { generateSigningKeyPair } from "../../deliver/ecdsa.ts";
import { privateTargetReason } from "../../deliver/target-guard.ts";
import { newDnsToken, newHandshake, sendHandshake, TXT_PREFIX, txtNames } from "../../deliver/verify.ts";
import type { WebhookInsert, WebhookRow } from "../../store/schema.ts";
import { maxEventSeq } from "../../store/events.ts";
import { deleteWebhook, insertWebhook, listWebhooks, updateWebhook } from "../../store/webhooks.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, IdParam, mustGetWebhook } from "./common.ts";
import { authIssues, canonicalEventTypes, WebhookCreate, WebhookCreated, WebhookUpdate, WebhookView } from "../schemas/webhook.ts";
import { REDACTED, SENSITIVE_HEADER, webhookLinks, webhookView } from "../webhook-view.ts";

const errors = errorResponses(400, 401, 403);
const notFound = errorResponses(404);
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
// SparkPost clients send ?timezone=…; accepted so they work, times are always UTC.
const ListQuery = z.strictObject({ timezone: z.string().max(64).optional() });

export function baseUrl(url: string): string {
  return new URL(url).origin;
}

function toRow(body: Partial<WebhookCreate> | WebhookUpdate): Partial<WebhookInsert> {
  const row: Partial<WebhookInsert> = {};
  if (body.name !== undefined) row.name = body.name;
  if (body.target !== undefined) row.target = body.target;
  if (body.events !== undefined) row.events = canonicalEventTypes(body.events);
  if (body.active !== undefined) row.active = body.active;
  if (body.auth_type !== undefined) row.authType = body.auth_type;
  if (body.auth_token !== undefined) row.authToken = body.auth_token;
  if (body.auth_credentials !== undefined) row.authCredentials = body.auth_credentials;
  if (body.auth_request_details !== undefined) row.authRequestDetails = body.auth_request_details;
  if (body.custom_headers !== undefined) row.customHeaders = body.custom_headers;
  if (body.format !== undefined) row.format = body.format;
  if (body.verification !== undefined) row.verification = body.verification;
  if (body.batch_max_events !== undefined) row.batchMaxEvents = body.batch_max_events;
  if (body.batch_max_bytes !== undefined) row.batchMaxBytes = body.batch_max_bytes;
  if (body.batch_max_wait !== undefined) row.batchMaxWait = body.batch_max_wait;
  if (body.filter !== undefined) row.filter = body.filter;
  return row;
}

/**
 * Reads show credentials as "********"; a client that sends such a value back (the admin
 * form, a read-modify-write script) means "unchanged", not a new password of eight stars.
 */
function keepRedacted(patch: Partial<WebhookInsert>, current: WebhookRow): Partial<WebhookInsert> {
  const out = { ...patch };
  if (out.authToken === REDACTED) delete out.authToken;
  if (out.authCredentials?.password === REDACTED && current.authCredentials) {
    out.authCredentials = { ...out.authCredentials, password: current.authCredentials.password };
  }
  if (out.authRequestDetails?.body.client_secret === REDACTED && current.authRequestDetails) {
    out.authRequestDetails = { ...out.authRequestDetails, body: { ...out.authRequestDetails.body, client_secret: current.authRequestDetails.body.client_secret } };
  }
  if (out.customHeaders) {
    const headers = { ...out.customHeaders };
    for (const [k, v] of Object.entries(headers)) if (v === REDACTED && current.customHeaders?.[k] !== undefined) headers[k] = current.customHeaders[k]!;
    out.customHeaders = headers;
  }
  return out;
}

/**
 * Stored credentials never follow a webhook to another origin on their own: whoever moves
 * the target must send them again (or clear them with null). Otherwise a key that may only
 * edit webhooks could point one at itself and collect the secrets GET redacts.
 */
function requireFreshCredentials(body: WebhookUpdate, current: WebhookRow) {
  const origin = (u: string) => new URL(u).origin;
  if (body.target === undefined || origin(body.target) === origin(current.target)) return;
  const stale = (v: unknown) => v === undefined || v === REDACTED;
  const missing: string[] = [];
  if (current.authToken && stale(body.auth_token)) missing.push("auth_token");
  if (current.authCredentials && (body.auth_credentials === undefined || body.auth_credentials?.password === REDACTED)) missing.push("auth_credentials");
  if (current.authRequestDetails && (body.auth_request_details === undefined || body.auth_request_details?.body.client_secret === REDACTED)) {
    missing.push("auth_request_details");
  }
  const secretHeaders = Object.keys(current.customHeaders ?? {}).filter((k) => SENSITIVE_HEADER.test(k));
  if (secretHeaders.length && (body.custom_headers === undefined || Object.values(body.custom_headers ?? {}).includes(REDACTED))) missing.push("custom_headers");
  if (missing.length) {
    throw new ApiError(
      missing.map((field) => ({ message: `${field}: send it again (or null to clear it) when the target moves to another origin`, field, code: "required" as const })),
    );
  }
}

/** SendGrid and SparkPost have no custom events; subscribing to them explicitly would be a silent no-op. */
function checkFormat(w: Partial<WebhookRow>) {
  if (w.format && w.format !== "hookd" && w.events?.includes("custom")) {
    throw new ApiError({ message: `events: format "${w.format}" has no custom events; use format "hookd" for them`, field: "events", code: "invalid_value" });
  }
}

function checkAuth(w: Partial<WebhookRow>) {
  const issues = authIssues({
    auth_type: w.authType,
    auth_token: w.authToken,
    auth_credentials: w.authCredentials,
    auth_request_details: w.authRequestDetails,
  });
  if (issues.length) throw new ApiError(issues.map((i) => ({ ...i, code: "required" as const })));
}

function signingKeys() {
  const pair = generateSigningKeyPair();
  return { signingPrivateKey: pair.privateKeyPkcs8B64, signingPublicKey: pair.publicKeySpkiB64 };
}

/** With allow_private_targets = false, no URL hookd will POST to may point inside. */
async function checkTargets(deps: ApiDeps, w: Partial<WebhookRow>) {
  if (deps.config.security.allow_private_targets) return;
  const urls: [string, string | undefined][] = [
    ["target", w.target],
    ["auth_request_details.url", w.authRequestDetails?.url],
  ];
  for (const [field, url] of urls) {
    const reason = url ? await privateTargetReason(url) : null;
    if (reason) throw new ApiError({ message: `${field}: ${reason}`, field, code: "invalid_url" });
  }
}

type VerificationInfo = { type: string; status: "pending_verification"; txt_record?: { names: string[]; value: string } };

/**
 * Starts the target's proof of consent and returns what to store and what to tell the
 * client. test_post must pass now; handshake must reach the target now; dns_txt waits.
 */
async function beginVerification(deps: ApiDeps, w: WebhookRow): Promise<{ patch: Partial<WebhookInsert>; info?: VerificationInfo }> {
  if (w.verification === "test_post") {
    await testPost(deps, w);
    return { patch: { verificationState: null, verifiedAt: null } };
  }
  if (w.verification === "none") return { patch: { verificationState: null, verifiedAt: null } };
  if (w.verification === "handshake") {
    const keys = newHandshake();
    const result = await sendHandshake(deps.attempt, w, keys, deps.now());
    if (!succeeded(result)) {
      throw new ApiError({ message: `handshake POST to the target failed: ${describeAttempt(result)}`, field: "target", code: "verification_failed" });
    }
    return { patch: { verificationState: keys, verifiedAt: null }, info: { type: "handshake", status: "pending_verification" } };
  }
  const token = newDnsToken();
  const names = txtNames(w.target);
  if (names.length === 0) {
    throw new ApiError({ message: "target: dns_txt verification needs a target with a domain name, not an IP address", field: "target", code: "invalid_value" });
  }
  return {
    patch: { verificationState: { dnsToken: token }, verifiedAt: null },
    info: { type: "dns_txt", status: "pending_verification", txt_record: { names, value: TXT_PREFIX + token } },
  };
}

/** The test POST: the target must answer 2xx to a signed sample batch, or nothing is saved. */
async function testPost(deps: ApiDeps, w: WebhookRow) {
  const now = deps.now();
  const { result } = await sendNow(deps.attempt, w, { events: [sampleEvent("delivery", { host: "hookd-test", now })] }, now);
  if (succeeded(result)) return;
  throw new ApiError({ message: `test POST to the target failed: ${describeAttempt(result)}`, field: "target", code: "verification_failed" });
}

const mustGet = mustGetWebhook;

export function webhookRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const read = requireScope("webhooks:read");
  const write = requireScope("webhooks:write");

  const list = (path: string, hide = false) =>
    createRoute({
      method: "get",
      path,
      hide,
      tags: ["webhooks"],
      summary: "List webhooks",
      middleware: [read],
      request: { query: ListQuery },
      responses: { 200: json(z.object({ results: z.array(WebhookView) }), "The webhooks, credentials redacted"), ...errors },
    });
  const listHandler = (c: { req: { url: string }; json: (b: unknown, s: 200) => Response }) =>
    c.json({ results: listWebhooks(deps.store.db).map((w) => webhookView(w, baseUrl(c.req.url), deps.store.sqlite)) }, 200);
  app.openapi(list("/webhooks"), (c) => listHandler(c) as never);
  app.openapi(list("/accounts/current/webhooks", true), (c) => listHandler(c) as never);

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks",
      tags: ["webhooks"],
      summary: "Create a webhook",
      description: "With verification test_post (the default) hookd first POSTs a signed sample batch to the target; anything but a 2xx fails the create and nothing is stored.",
      middleware: [write],
      request: { body: { content: { "application/json": { schema: WebhookCreate } }, required: true } },
      responses: { 201: json(z.object({ results: WebhookCreated }), "Created; the signing secret is shown only here"), ...errors },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const now = deps.now();
      const row = {
        ...toRow(body),
        id: ulid(now).toLowerCase(),
        secret: generateSecret(),
        // Every webhook gets its ECDSA pair, so switching to the sendgrid format later just works.
        ...signingKeys(),
        cursorSeq: maxEventSeq(deps.store.sqlite),
        createdAt: now,
        updatedAt: now,
      } as WebhookRow;
      checkAuth(row);
      checkFormat(row);
      await checkTargets(deps, row);
      const { patch, info } = await beginVerification(deps, { ...row, previousSecret: null, previousSecretUntil: null } as WebhookRow);
      const saved = insertWebhook(deps.store.db, { ...row, ...patch } as WebhookInsert);
      deps.notifyEvents();
      // The origin only: a target URL may carry credentials in its userinfo or query.
      deps.log.info("webhook created", { webhook_id: saved.id, target: new URL(saved.target).origin, events: saved.events, verification: saved.verification });
      return c.json(
        { results: { id: saved.id, links: webhookLinks(baseUrl(c.req.url), saved.id), secret: saved.secret, ...(info ? { verification: info } : {}) } },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Get one webhook",
      middleware: [read],
      request: { params: IdParam, query: ListQuery },
      responses: { 200: json(z.object({ results: WebhookView }), "The webhook, credentials redacted"), ...errors, ...notFound },
    }),
    (c) => c.json({ results: webhookView(mustGet(deps, c.req.valid("param").id), baseUrl(c.req.url), deps.store.sqlite) }, 200),
  );

  const update = (method: "put" | "patch") =>
    createRoute({
      method,
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: method === "put" ? "Update a webhook (fields given)" : "Update a webhook (fields given; same as PUT)",
      description: "Only the fields given change; null clears an optional field. A new target is test-POSTed first when verification is test_post.",
      middleware: [write],
      request: { params: IdParam, body: { content: { "application/json": { schema: WebhookUpdate } }, required: true } },
      responses: { 200: json(z.object({ results: WebhookView }), "The updated webhook"), ...errors, ...notFound },
    });
  const updateHandler = async (c: { req: { url: string; valid: (t: "param" | "json") => unknown }; json: (b: unknown, s: 200) => Response }) => {
    const { id } = c.req.valid("param") as { id: string };
    const body = c.req.valid("json") as WebhookUpdate;
    const current = mustGet(deps, id);
    requireFreshCredentials(body, current);
    const patch = keepRedacted(toRow(body), current);
    const merged = { ...current, ...patch } as WebhookRow;
    checkAuth(merged);
    checkFormat(merged);
    await checkTargets(deps, merged);
    // A new target, or a new way of verifying, must prove itself again.
    const targetChanged = patch.target !== undefined && patch.target !== current.target;
    const verificationChanged = patch.verification !== undefined && patch.verification !== current.verification;
    if (targetChanged || verificationChanged) Object.assign(patch, (await beginVerification(deps, merged)).patch);
    const saved = updateWebhook(deps.store.db, id, { ...patch, updatedAt: deps.now() });
    if (!saved) throw new ApiError({ message: `no webhook with id "${id}"`, field: "id", code: "not_found" });
    deps.notifyEvents();
    deps.log.info("webhook updated", { webhook_id: id, fields: Object.keys(body) });
    return c.json({ results: webhookView(saved, baseUrl(c.req.url), deps.store.sqlite) }, 200);
  };
  app.openapi(update("put"), (c) => updateHandler(c) as never);
  app.openapi(update("patch"), (c) => updateHandler(c) as never);

  app.openapi(
    createRoute({
      method: "delete",
      path: "/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Delete a webhook and drop its queued batches",
      middleware: [write],
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...errors, ...notFound },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      if (!deleteWebhook(deps.store.db, id)) throw new ApiError({ message: `no webhook with id "${id}"`, field: "id", code: "not_found" });
      deps.log.info("webhook deleted", { webhook_id: id });
      return c.body(null, 204);
    },
  );

  return app;
}
