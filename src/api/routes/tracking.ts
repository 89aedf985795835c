import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { OpenEvent } from "../../events/schema.ts";
import { STATS_RANGES, type StatsRange, type TrackingService } from "../../track/service.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import { ErrorEnvelope } from "../errors.ts";
import { errorResponses, okResults as ok } from "./common.ts";

// Tracking for applications that compose mail themselves (rewrite), the key that signs the
// links (rotate), and what the listener recorded (stats, for the admin page). HTTP only:
// track/service.ts decides.

/** A bigger part would hold the main thread for tens of milliseconds (~1 ms per 100 KB); Gmail clips at 102 KB anyway. */
export const MAX_HTML_CHARS = 2_000_000;

const field = OpenEvent.shape;

export const TrackingRewriteBody = z
  .strictObject({
    html: z.string().max(MAX_HTML_CHARS, `at most ${MAX_HTML_CHARS} characters`).meta({
      description: "One HTML part, decoded to text.",
      example: '<html><body><a href="https://example.com/offer">Offer</a></body></html>',
    }),
    rcpt_to: field.rcpt_to
      .unwrap()
      .meta({ description: "The recipient this copy goes to; every tracked link names them.", example: "alice@example.org" }),
    message_id: field.message_id,
    campaign_id: field.campaign_id,
    tags: field.tags,
    metadata: field.metadata,
  })
  .meta({
    id: "TrackingRewrite",
    description: "A message to track. Campaign data is stored once and comes back on every event of the message.",
  });

const Rewritten = z
  .object({
    html: z.string().meta({ description: "The HTML with tracked links and the open pixel (as [tracking] opens and clicks say)." }),
    headers: z
      .object({
        "List-Unsubscribe": z.string().optional(),
        "List-Unsubscribe-Post": z.string().optional().meta({ description: "Present when base_url is https (RFC 8058 one-click)." }),
      })
      .meta({
        description: "Headers to add to the message (none when [tracking] unsubscribe is false). Fold long lines when writing them.",
      }),
  })
  .meta({ id: "TrackingRewritten" });

const KeyView = z.object({
  id: z.number().meta({ description: "Key id, written into every token it signs." }),
  current: z.boolean().meta({ description: "Signs new links." }),
  retires_at: z.string().nullable().meta({ description: "After this, links signed by this key answer 404; null for the current key." }),
});

const Counts = z.object({
  opens: z.number(),
  machine_opens: z.number(),
  clicks: z.number(),
  machine_clicks: z.number(),
  unsubscribes: z.number(),
});

const TrackingStats = z.object({
  range: z.enum(Object.keys(STATS_RANGES) as [StatsRange, ...StatsRange[]]),
  bucket_seconds: z.number(),
  buckets: z
    .array(Counts.extend({ start: z.string().meta({ description: "Start of the bucket (RFC 3339, UTC)." }) }))
    .meta({ description: "Recorded hits, oldest first." }),
});

const conflict = {
  409: {
    description: "Tracking is not configured ([tracking] base_url), or every key id is in use",
    content: { "application/json": { schema: ErrorEnvelope } },
  },
};

export function trackingRoutes(deps: { tracking: TrackingService }) {
  const app = new OpenAPIHono<AuthEnv>();
  const { tracking } = deps;

  app.openapi(
    createRoute({
      method: "post",
      path: "/tracking/rewrite",
      tags: ["tracking"],
      summary: "Track one HTML part: click links, the open pixel and the List-Unsubscribe headers",
      description:
        "http(s) links in <a href> and <area href> become click links (not those marked data-hookd-notrack, nor mailto:, tel: or #), one pixel goes before </body>, everything else is kept byte for byte.",
      middleware: [requireScope("events:write")],
      request: { body: { content: { "application/json": { schema: TrackingRewriteBody } }, required: true } },
      responses: { ...ok(Rewritten, "The tracked HTML and the headers"), ...errorResponses(400, 401, 403, 413), ...conflict },
    }),
    async (c) => {
      const r = await tracking.rewrite(c.req.valid("json"));
      return c.json({ results: { html: r.html, headers: r.headers } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tracking/stats",
      tags: ["tracking"],
      summary: "Opens, clicks and unsubscribes the tracking listener recorded, over time",
      middleware: [requireScope("events:read")],
      request: {
        query: z.strictObject({
          range: z
            .enum(Object.keys(STATS_RANGES) as [StatsRange, ...StatsRange[]])
            .default("hour")
            .meta({ description: "hour: 60 one-minute buckets; day: 24 hours; week: 168 hours." }),
        }),
      },
      responses: { ...ok(TrackingStats, "Counts per bucket"), ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const { range } = c.req.valid("query");
      return c.json({ results: { range, ...(await tracking.stats(range)) } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/tracking/keys/rotate",
      tags: ["tracking"],
      summary: "Sign new links with a new key; the old key keeps verifying for [tracking] key_verify_for",
      description: "Only key ids and retirement times are returned, never a key. The listener uses the new ring within a second.",
      middleware: [requireScope("webhooks:write")],
      responses: { ...ok(z.array(KeyView), "The keys now in the ring"), ...errorResponses(401, 403), ...conflict },
    }),
    async (c) => c.json({ results: await tracking.rotateKey() }, 200),
  );

  return app;
}
