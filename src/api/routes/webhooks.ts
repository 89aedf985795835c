import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { WebhookRow } from "../../store/driver.ts";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, updateWebhook } from "../../webhooks/service.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, IdParam } from "./common.ts";
import { WebhookCreate, WebhookCreated, WebhookUpdate, WebhookView } from "../schemas/webhook.ts";
import { baseUrl, createdView, webhookViews } from "../webhook-view.ts";

// The webhook resource (SparkPost's API): HTTP only; webhooks/service.ts decides.

const errors = errorResponses(400, 401, 403);
const notFound = errorResponses(404);
const storeFull = errorResponses(507);
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
// SparkPost clients send ?timezone=…; accepted so they work, times are always UTC.
const ListQuery = z.strictObject({ timezone: z.string().max(64).optional() });

export function webhookRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const read = requireScope("webhooks:read");
  const write = requireScope("webhooks:write");
  const views = (ws: readonly WebhookRow[], c: Context<AuthEnv>) =>
    webhookViews(deps.store, ws, baseUrl(c.req.url), c.get("apiKey").scopes.includes("webhooks:write"));
  const view = async (w: WebhookRow, c: Context<AuthEnv>) => (await views([w], c))[0]!;

  // SparkPost clients list at /accounts/current/webhooks too.
  for (const path of ["/webhooks", "/accounts/current/webhooks"]) {
    app.openapi(
      createRoute({
        method: "get",
        path,
        tags: ["webhooks"],
        summary: "List webhooks",
        middleware: [read],
        request: { query: ListQuery },
        responses: { 200: json(z.object({ results: z.array(WebhookView) }), "The webhooks, credentials redacted"), ...errors },
      }),
      async (c) => c.json({ results: await views(await listWebhooks(deps), c) }, 200),
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks",
      tags: ["webhooks"],
      summary: "Create a webhook",
      description:
        "With verification test_post (the default) hookd first POSTs a signed sample batch to the target; anything but a 2xx fails the create and nothing is stored.",
      middleware: [write],
      request: { body: { content: { "application/json": { schema: WebhookCreate } }, required: true } },
      responses: {
        201: json(z.object({ results: WebhookCreated }), "Created; the signing secret is shown only here"),
        ...errors,
        ...storeFull,
      },
    }),
    async (c) => {
      const { webhook, pending } = await createWebhook(deps, c.req.valid("json"));
      return c.json({ results: createdView(webhook, pending, baseUrl(c.req.url)) }, 201);
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
    async (c) => c.json({ results: await view(await getWebhook(deps, c.req.valid("param").id), c) }, 200),
  );

  for (const method of ["put", "patch"] as const) {
    app.openapi(
      createRoute({
        method,
        path: "/webhooks/{id}",
        tags: ["webhooks"],
        summary: method === "put" ? "Update a webhook (fields given)" : "Update a webhook (fields given; same as PUT)",
        description:
          "Only the fields given change; null clears an optional field. A new target is test-POSTed first when verification is test_post.",
        middleware: [write],
        request: { params: IdParam, body: { content: { "application/json": { schema: WebhookUpdate } }, required: true } },
        responses: { 200: json(z.object({ results: WebhookView }), "The updated webhook"), ...errors, ...notFound, ...storeFull },
      }),
      async (c) => c.json({ results: await view(await updateWebhook(deps, c.req.valid("param").id, c.req.valid("json")), c) }, 200),
    );
  }

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
    async (c) => {
      await deleteWebhook(deps, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  return app;
}
