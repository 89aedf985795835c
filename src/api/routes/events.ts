import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { EventInput } from "../../events/schema.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import { takeBody } from "../body-limit.ts";
import type { ApiDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { eventBatch, idsAndTypes, MAX_EVENTS_PER_POST } from "../event-batch.ts";
import { errorResponses, EventTypeList, Rfc3339 as Time } from "./common.ts";

const LARGE_POST = 5000;
const RSS_SOFT_LIMIT = 120 * 1024 * 1024;

const errors = errorResponses(400, 401, 403, 413);
const writeErrors = errorResponses(408, 503, 507);

const EventBatch = z
  .array(EventInput)
  .min(1, "expected at least one event")
  .max(MAX_EVENTS_PER_POST, `at most ${MAX_EVENTS_PER_POST} events per request`)
  .meta({ id: "EventBatch", description: "Events to store and deliver. A given event_id makes the POST idempotent." });

const Accepted = z.object({
  accepted: z.number().meta({ description: "Events stored by this request." }),
  duplicates: z.number().meta({ description: "Events whose event_id was already stored (ignored)." }),
  event_ids: z.array(z.string()).meta({ description: "The id of each event, in request order." }),
});

const SearchQuery = z.strictObject({
  type: EventTypeList.optional().meta({ description: "Comma-separated event types.", example: "delivery,bounce" }),
  rcpt_to: z.string().max(320).optional(),
  message_id: z.string().max(998).optional(),
  queue_id: z.string().max(64).optional(),
  since: Time.optional().meta({ description: "Events at or after this time.", example: "2026-11-23T00:00:00Z" }),
  until: Time.optional().meta({ description: "Events before this time." }),
  limit: z.coerce.number({ error: "expected an integer from 1 to 1000" }).int().min(1).max(1000).default(100),
  cursor: z.string().max(100).optional().meta({ description: "next_cursor of the previous page." }),
});

function encodeCursor(c: { ts: number; seq: number }): string {
  return Buffer.from(`${c.ts}.${c.seq}`).toString("base64url");
}
function decodeCursor(s: string): { ts: number; seq: number } {
  const m = /^(-?\d+)\.(\d+)$/.exec(Buffer.from(s, "base64url").toString());
  if (!m) throw new ApiError({ message: "cursor: not a cursor this API returned", field: "cursor", code: "invalid_value" });
  return { ts: Number(m[1]), seq: Number(m[2]) };
}

export function eventRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();

  // Documented from EventBatch like every route, but validated here rather than by the route's
  // validator: one zod pass over 10,000 events left ~100 MB of garbage behind (measured), the
  // largest part of hookd's peak RSS under a stream of large POSTs. In slices, with a young-
  // generation collection after each, the same checks leave a fraction of it.
  const postRoute = createRoute({
    method: "post",
    path: "/events",
    tags: ["events"],
    summary: "Store events from an application (opens, clicks, custom types)",
    description: `A JSON array of at most ${MAX_EVENTS_PER_POST} events, stored all together or not at all. A 2xx means every event is committed to disk.`,
    request: { body: { content: { "application/json": { schema: EventBatch } }, required: true } },
    responses: {
      200: { description: "Stored", content: { "application/json": { schema: z.object({ results: Accepted }) } } },
      ...errors,
      ...writeErrors,
    },
  });
  app.openAPIRegistry.registerPath(postRoute);
  app.post("/events", requireScope("events:write"), async (c) => {
    const now = deps.now();
    const batch = eventBatch(c.req.header("content-type"), await takeBody(c), { host: deps.hostname, now });
    const { inserted, duplicates } = await deps.store.events.insert(batch.rows, batch.customTypes, "api", now);
    const { ids, types } = idsAndTypes(batch.rows);
    if (inserted > 0) {
      deps.metrics.eventsStored(types, "api");
      deps.notifyEvents();
    }
    // What is left after the slices is still tens of MB for a large batch. Collecting it at
    // once costs a full GC (half the throughput of 1,000-event POSTs), so only when the
    // process has grown past what a mail host should give it.
    if (batch.count >= LARGE_POST && process.memoryUsage.rss() > RSS_SOFT_LIMIT) Bun.gc(true);
    return c.json({ results: { accepted: inserted, duplicates, event_ids: ids } }, 200);
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/events",
      tags: ["events"],
      summary: "Search stored events, newest first",
      middleware: [requireScope("events:read")],
      request: { query: SearchQuery },
      responses: {
        200: {
          description: "A page of events",
          content: {
            "application/json": {
              schema: z.object({
                results: z.array(z.record(z.string(), z.unknown())),
                next_cursor: z.string().nullable(),
                links: z.object({ next: z.string().nullable() }),
              }),
            },
          },
        },
        ...errors,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const since = q.since ? Date.parse(q.since) : undefined;
      const until = q.until ? Date.parse(q.until) : undefined;
      if (since !== undefined && until !== undefined && until <= since) {
        throw new ApiError({ message: "until: must be after since", field: "until", code: "invalid_value" });
      }
      const page = await deps.store.events.search({
        types: q.type?.split(",").map((t) => t.trim()),
        rcpt_to: q.rcpt_to,
        message_id: q.message_id,
        queue_id: q.queue_id,
        since,
        until,
        cursor: q.cursor ? decodeCursor(q.cursor) : undefined,
        limit: q.limit,
      });
      const next = page.next ? encodeCursor(page.next) : null;
      let nextLink: string | null = null;
      if (next) {
        const u = new URL(c.req.url);
        u.searchParams.set("cursor", next);
        nextLink = u.pathname + u.search;
      }
      return c.json({ results: page.events as Record<string, unknown>[], next_cursor: next, links: { next: nextLink } }, 200);
    },
  );

  return app;
}
