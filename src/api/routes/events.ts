import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { normalizeEvent } from "../../events/normalize.ts";
import { EventInput } from "../../events/schema.ts";
import { insertEvents, searchEvents } from "../../store/events.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { HTTPException } from "hono/http-exception";
import { ApiError, listedErrors, zodErrors, type ErrorItem } from "../errors.ts";
import { errorResponses, EventTypeList, Rfc3339 as Time } from "./common.ts";

export const MAX_EVENTS_PER_POST = 10_000;
const LARGE_POST = 5000;
const RSS_SOFT_LIMIT = 120 * 1024 * 1024;

const errors = errorResponses(400, 401, 403, 413);

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

const VALIDATE_SLICE = 1000;
const BatchShell = z
  .array(z.unknown())
  .min(1, "expected at least one event")
  .max(MAX_EVENTS_PER_POST, `at most ${MAX_EVENTS_PER_POST} events per request`);

/** The JSON body of a POST, with the same 415/400 answers the routes' validators give. */
async function jsonBody(contentType: string | undefined, text: () => Promise<string>): Promise<unknown> {
  if (!contentType || !/^application\/([a-z-.]+\+)?json(;|$)/i.test(contentType.trim())) throw new HTTPException(415, { message: "Unsupported Media Type" });
  try {
    return JSON.parse(await text()) as unknown;
  } catch {
    throw new HTTPException(400, { message: "Malformed JSON in request body" });
  }
}

/**
 * EventBatch's checks, a slice at a time: every event's errors are reported (paths from the
 * array, as the whole-array schema gives them), and nothing is returned unless all are valid.
 */
export function validateBatch<T>(body: unknown, map: (e: EventInput) => T): T[] {
  const shell = BatchShell.safeParse(body);
  if (!shell.success) throw new ApiError(listedErrors(zodErrors(shell.error, body)));
  const items = shell.data;
  const out: T[] = [];
  const problems: ErrorItem[] = [];
  for (let start = 0; start < items.length; start += VALIDATE_SLICE) {
    const end = Math.min(items.length, start + VALIDATE_SLICE);
    for (let i = start; i < end; i++) {
      const r = EventInput.safeParse(items[i]);
      if (r.success) {
        if (!problems.length) out.push(map(r.data));
      } else problems.push(...zodErrors(r.error, items[i], [i]));
    }
    if (end < items.length) Bun.gc(false);
  }
  if (problems.length) throw new ApiError(listedErrors(problems));
  return out;
}

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
    responses: { 200: { description: "Stored", content: { "application/json": { schema: z.object({ results: Accepted }) } } }, ...errors },
  });
  app.openAPIRegistry.registerPath(postRoute);
  app.post("/events", requireScope("events:write"), async (c) => {
    const body = await jsonBody(c.req.header("content-type"), () => c.req.text());
    const now = deps.now();
    const events = validateBatch(body, (e) => normalizeEvent(e, { host: deps.hostname, now }));
    const { inserted, duplicates } = insertEvents(deps.store.sqlite, events, "api", now);
    if (inserted > 0) {
      deps.metrics.eventsStored(events.map((e) => e.type), "api");
      deps.notifyEvents();
    }
    // What is left after the slices is still tens of MB for a large batch. Collecting it at
    // once costs a full GC (half the throughput of 1,000-event POSTs), so only when the
    // process has grown past what a mail host should give it.
    if (events.length >= LARGE_POST && process.memoryUsage.rss() > RSS_SOFT_LIMIT) Bun.gc(true);
    return c.json({ results: { accepted: inserted, duplicates, event_ids: events.map((e) => e.event_id) } }, 200);
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
    (c) => {
      const q = c.req.valid("query");
      const since = q.since ? Date.parse(q.since) : undefined;
      const until = q.until ? Date.parse(q.until) : undefined;
      if (since !== undefined && until !== undefined && until <= since) {
        throw new ApiError({ message: "until: must be after since", field: "until", code: "invalid_value" });
      }
      const page = searchEvents(deps.store.sqlite, {
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
