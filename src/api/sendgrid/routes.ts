import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { WebhookRow } from "../../store/driver.ts";
import { signingPublicKey } from "../../webhooks/secrets.ts";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, updateWebhook } from "../../webhooks/service.ts";
import type { AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ServiceError } from "../errors.ts";
import { rateLimit } from "../rate-limit.ts";
import { sendGridAuth, sendGridScope } from "./auth.ts";
import { badRequest, fromServiceError, fromZodError, invalidId, SendGridError, sendGridErrorResponse } from "./errors.ts";
import { createInput, eventWebhookView, updateInput, type ViewParts } from "./mapping.ts";
import { EventWebhookRequest, EventWebhookTestRequest, SignedRequest } from "./schemas.ts";
import { sendTestEvents } from "./test-send.ts";

// SendGrid's Event Webhook API (contracts/sendgrid-tsg_webhooks_v3.json), mounted at /v3,
// so @sendgrid/client pointed at hookd manages hookd's webhooks. Its webhooks are hookd's
// sendgrid-format webhooks: everything goes through the webhook service. Inbound Parse,
// security policies and the rest of /v3 answer 404 in SendGrid's envelope. Not in hookd's
// OpenAPI document: this is SendGrid's contract, and that document is its description.

/** hookd has no plan limit; SendGrid's field is a number, so the largest exact one. */
export const MAX_ALLOWED = Number.MAX_SAFE_INTEGER;
const EVENT = "/user/webhooks/event";

async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw badRequest(null, "request body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, raw);
  return parsed.data;
}

export function sendGridRoutes(deps: ApiDeps, bodyGuard: MiddlewareHandler) {
  const app = new Hono<AuthEnv>({ strict: false });
  const read = sendGridScope("webhooks:read");
  const write = sendGridScope("webhooks:write");

  app.onError((err, c) => {
    if (err instanceof SendGridError) return sendGridErrorResponse(c, err);
    if (err instanceof ServiceError) return sendGridErrorResponse(c, fromServiceError(err));
    deps.log.error("unhandled error", {
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return sendGridErrorResponse(c, new SendGridError(500, [{ field: null, message: "internal error; see the hookd log" }]));
  });
  // Who is asking first: a body is read (and held) only for a client with a key, within its rate.
  app.use("*", sendGridAuth(deps.store, deps.now));
  app.use("*", rateLimit(deps.config.server.rate_limit, deps.now));
  app.use("*", bodyGuard);

  /** SendGrid's webhooks: hookd's in sendgrid format, oldest first. */
  const sendGridWebhooks = async () =>
    (await listWebhooks(deps)).filter((w) => w.format === "sendgrid").sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  /** By id, or (no id: as the document says) the oldest. */
  const find = async (id: string | undefined): Promise<WebhookRow> => {
    if (id === undefined) {
      const oldest = (await sendGridWebhooks())[0];
      if (!oldest)
        throw new SendGridError(404, [
          { field: "id", message: "no Event Webhook exists yet; create one with POST /v3/user/webhooks/event/settings" },
        ]);
      return oldest;
    }
    const w = await getWebhook(deps, id);
    if (w.format !== "sendgrid") throw invalidId();
    return w;
  };
  /** SendGrid allows one webhook per URL: its "Exists" error. */
  const requireUniqueUrl = async (url: string, self: string | null) => {
    const other = (await sendGridWebhooks()).find((w) => w.target === url && w.id !== self);
    if (other)
      throw new SendGridError(400, [
        { field: "url", id: other.id, url, message: `Webhook at '${url}' already exists. Please provide a unique URL.` },
      ]);
  };
  const publicKey = async (w: WebhookRow) => (w.ecdsaSigned ? signingPublicKey(deps, w.id) : null);
  const parts = (c: Context, p: Omit<ViewParts, "accountStatus">): ViewParts => ({
    ...p,
    accountStatus: (c.req.query("include") ?? "").split(",").includes("account_status_change"),
  });

  app.post(`${EVENT}/settings`, write, async (c) => {
    const body = await jsonBody(c, EventWebhookRequest);
    const input = createInput(body);
    await requireUniqueUrl(input.target, null);
    const { webhook } = await createWebhook(deps, input);
    return c.json(eventWebhookView(webhook, { dates: true, publicKey: null, accountStatus: false }), 201);
  });

  app.get(`${EVENT}/settings/all`, read, async (c) => {
    const webhooks = [];
    for (const w of await sendGridWebhooks()) webhooks.push(eventWebhookView(w, parts(c, { dates: true, publicKey: await publicKey(w) })));
    return c.json({ max_allowed: MAX_ALLOWED, webhooks }, 200);
  });

  const getSigned = async (c: Context) => {
    const w = await find(c.req.param("id"));
    return c.json({ id: w.id, public_key: (await publicKey(w)) ?? "" }, 200);
  };
  app.get(`${EVENT}/settings/signed`, read, getSigned);
  app.get(`${EVENT}/settings/signed/:id`, read, getSigned);

  const patchSigned = async (c: Context) => {
    const { enabled } = await jsonBody(c, SignedRequest);
    const w = await updateWebhook(deps, (await find(c.req.param("id"))).id, { ecdsa_signed: enabled });
    return c.json({ id: w.id, public_key: (await publicKey(w)) ?? "" }, 200);
  };
  app.patch(`${EVENT}/settings/signed`, write, patchSigned);
  app.patch(`${EVENT}/settings/signed/:id`, write, patchSigned);

  const getOne = async (c: Context) => {
    const w = await find(c.req.param("id"));
    return c.json(eventWebhookView(w, parts(c, { dates: false, publicKey: await publicKey(w) })), 200);
  };
  app.get(`${EVENT}/settings`, read, getOne);
  app.get(`${EVENT}/settings/:id`, read, getOne);

  const patchOne = async (c: Context) => {
    const body = await jsonBody(c, EventWebhookRequest);
    const current = await find(c.req.param("id"));
    const input = updateInput(body, current);
    await requireUniqueUrl(body.url, current.id);
    const w = await updateWebhook(deps, current.id, input);
    return c.json(eventWebhookView(w, parts(c, { dates: true, publicKey: null })), 200);
  };
  app.patch(`${EVENT}/settings`, write, patchOne);
  app.patch(`${EVENT}/settings/:id`, write, patchOne);

  // Unlike GET and PATCH, DELETE never falls back to the oldest webhook (the document: so none is deleted by accident).
  app.delete(`${EVENT}/settings`, write, () => {
    throw new SendGridError(404, [{ field: "id", message: "DELETE needs the webhook's id: /v3/user/webhooks/event/settings/{id}" }]);
  });
  app.delete(`${EVENT}/settings/:id`, write, async (c) => {
    await deleteWebhook(deps, (await find(c.req.param("id"))).id);
    return c.body(null, 204);
  });

  app.post(`${EVENT}/test`, write, async (c) => {
    const body = await jsonBody(c, EventWebhookTestRequest);
    await sendTestEvents(deps, body, body.id ? await find(body.id) : null);
    return c.body(null, 204);
  });

  app.all("*", (c) => {
    throw new SendGridError(404, [
      { field: null, message: `no route for ${c.req.method} ${c.req.path}: hookd serves only the Event Webhook paths of SendGrid's API` },
    ]);
  });
  return app;
}
