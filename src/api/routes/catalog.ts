import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { sampleEvent } from "../../events/samples.ts";
import { EVENT_TYPES, type EventType } from "../../events/schema.ts";
import { formatCatalog } from "../../deliver/formats/documentation.ts";
import { encodeBody, ONE_EVENT_PER_REQUEST } from "../../deliver/formats/index.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, EventTypeList } from "./common.ts";
import { WebhookFormat } from "../schemas/webhook.ts";

// The event catalog (SparkPost's documentation and samples endpoints), generated from the
// event schemas and the format mappers so it cannot drift from what hookd validates and sends.

const errors = errorResponses(400, 401);

const Format = WebhookFormat.default("hookd");

const DocumentationQuery = z.strictObject({
  format: Format.meta({
    description: "Whose names: hookd's own, or the provider's classes, events and fields (sparkpost: message_event, track_event, …).",
  }),
});

const SamplesQuery = z.strictObject({
  events: EventTypeList.optional().meta({ description: "Comma-separated types (default: all).", example: "delivery,bounce" }),
  format: Format.meta({
    description: "Body format the sample is shown in; copernica: one form-encoded body (a string) per event, as each is POSTed.",
  }),
  timezone: z.string().max(64).optional(),
});

export function catalogRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const customTypes = async () => [...new Set([...deps.config.events.custom_types, ...(await deps.store.events.customTypes())])];

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/events/documentation",
      tags: ["events"],
      summary: "Every event type, its fields, descriptions and sample values",
      middleware: [requireScope("webhooks:read")],
      request: { query: DocumentationQuery },
      responses: {
        200: {
          description: "The event catalog",
          content: { "application/json": { schema: z.object({ results: z.record(z.string(), z.unknown()) }) } },
        },
        ...errors,
      },
    }),
    async (c) => c.json({ results: formatCatalog(c.req.valid("query").format, await customTypes()) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/events/samples",
      tags: ["events"],
      summary: "A sample batch exactly as it would be POSTed",
      middleware: [requireScope("webhooks:read")],
      request: { query: SamplesQuery },
      responses: {
        200: { description: "The sample batch", content: { "application/json": { schema: z.object({ results: z.array(z.unknown()) }) } } },
        ...errors,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const types = (q.events ? q.events.split(",").map((t) => t.trim()) : EVENT_TYPES) as EventType[];
      const now = deps.now();
      const custom = await customTypes();
      const events = types.map((t, i) => {
        const e = sampleEvent(t, { host: deps.hostname, now, index: i }) as Record<string, unknown>;
        if (t === "custom" && custom[0] && q.format !== "copernica") e.custom_type = custom[0];
        return JSON.stringify(e);
      });
      if (ONE_EVENT_PER_REQUEST.has(q.format)) {
        // One request per event: each body as the receiver gets it, events it does not carry left out.
        const bodies = events.map((e) => new TextDecoder().decode(encodeBody(q.format, [e]))).filter((b) => b !== "");
        return c.json({ results: bodies }, 200);
      }
      const body = new TextDecoder().decode(encodeBody(q.format, events));
      // The body is already JSON text in the asked-for format; wrapping it avoids a re-parse.
      return c.body(`{"results":${body}}`, 200, { "content-type": "application/json" }) as never;
    },
  );
  return app;
}
