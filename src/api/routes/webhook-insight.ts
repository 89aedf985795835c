import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { getWebhook } from "../../webhooks/service.ts";
import { errorResponses, iso } from "./common.ts";

// Read-only views the admin page needs beyond SparkPost's API: one batch with its attempts,
// and a webhook's delivery rate per minute.

const Attempt = z.object({
  attempt: z.number(),
  ts: z.string(),
  latency_ms: z.number().nullable(),
  response_code: z.number().nullable(),
  failure_code: z.string().nullable(),
  response: z.string().nullable().meta({ description: "Start of the receiver's answer, or the network error." }),
});
const BatchDetail = z.object({
  batch_id: z.string(),
  state: z.string(),
  kind: z.string(),
  events: z.number(),
  bytes: z.number(),
  created: z.string(),
  first_attempt: z.string().nullable(),
  next_attempt: z.string().nullable(),
  attempts: z.array(Attempt),
});

export function webhookInsightRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const views = deps.store.views;
  const errors = errorResponses(400, 401, 403, 404);

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/batches/{batch_id}",
      tags: ["webhooks"],
      summary: "One batch with every attempt",
      middleware: [requireScope("webhooks:read")],
      request: {
        params: z.object({
          id: z
            .string()
            .min(1)
            .max(64)
            .meta({ param: { name: "id", in: "path" } }),
          batch_id: z
            .string()
            .min(1)
            .max(64)
            .meta({ param: { name: "batch_id", in: "path" } }),
        }),
      },
      responses: {
        200: { description: "The batch", content: { "application/json": { schema: z.object({ results: BatchDetail }) } } },
        ...errors,
      },
    }),
    async (c) => {
      const { id, batch_id } = c.req.valid("param");
      const w = await getWebhook(deps, id);
      const b = await views.batch(w.id, batch_id);
      if (!b) throw new ApiError({ message: `webhook ${id} has no batch "${batch_id}"`, field: "batch_id", code: "not_found" });
      return c.json(
        {
          results: {
            batch_id: b.id,
            state: b.state,
            kind: b.kind,
            events: b.event_count,
            bytes: b.bytes,
            created: iso(b.created_at)!,
            first_attempt: iso(b.first_attempt_at),
            next_attempt: b.state === "pending" ? iso(b.next_attempt_at) : null,
            attempts: (await views.attempts(b.id)).map((a) => ({
              attempt: a.attempt,
              ts: iso(a.started_at)!,
              latency_ms: a.latency_ms,
              response_code: a.response_code,
              failure_code: a.failure_code,
              response: a.response_snippet,
            })),
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/stats",
      tags: ["webhooks"],
      summary: "Events delivered per minute (for a sparkline)",
      middleware: [requireScope("webhooks:read")],
      request: {
        params: z.object({
          id: z
            .string()
            .min(1)
            .max(64)
            .meta({ param: { name: "id", in: "path" } }),
        }),
        query: z.strictObject({
          minutes: z.coerce.number({ error: "expected an integer from 1 to 1440" }).int().min(1).max(1440).default(60),
        }),
      },
      responses: {
        200: {
          description: "Per-minute counts, oldest first; the last is the current minute",
          content: { "application/json": { schema: z.object({ results: z.object({ delivered_per_minute: z.array(z.number()) }) }) } },
        },
        ...errors,
      },
    }),
    async (c) => {
      const w = await getWebhook(deps, c.req.valid("param").id);
      const [perMinute] = await views.deliveredPerMinute([w.id], deps.now(), c.req.valid("query").minutes);
      return c.json({ results: { delivered_per_minute: perMinute! } }, 200);
    },
  );

  return app;
}
