import { HEARTBEAT_MS, NODE_GONE_MS } from "../../config/storage.ts";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ErrorEnvelope } from "../errors.ts";
import { queueView } from "../webhook-view.ts";
import { webhookStatus } from "../../webhooks/model.ts";

export const SourceStatus = z.object({
  path: z.string(),
  format: z.string(),
  status: z.string().meta({
    description: "reading, idle (caught up), missing (waiting for the file) or stalled (its events cannot be stored: last_error says why).",
  }),
  offset: z.number().meta({ description: "Bytes of the current file committed." }),
  size: z.number(),
  lag_bytes: z.number(),
  lines_per_second: z.number().meta({ description: "Over the last minute." }),
  lines_read: z.number(),
  lines_not_understood: z.number(),
  recent_not_understood: z.array(z.string()),
  last_error: z
    .string()
    .nullable()
    .meta({ description: "Why the source last failed to read or store (e.g. the store's disk is full); null once it succeeds again." }),
});
export type SourceStatus = z.infer<typeof SourceStatus>;

const TrackingStatus = z
  .object({
    enabled: z.boolean().meta({ description: "Whether [tracking] listen is set." }),
    listen: z.string(),
    base_url: z.string(),
    up: z.boolean().meta({ description: "Whether the listener is serving now." }),
    address: z.string().nullable().meta({ description: "Where it listens; null when it is not up." }),
    counts: z
      .object({
        hits: z.object({ open: z.number(), click: z.number(), unsubscribe: z.number() }),
        machine: z.object({ open: z.number(), click: z.number() }),
        notFound: z.number(),
        rateLimited: z.number(),
        recorded: z.number(),
        queueFull: z.number(),
        commitFailed: z.number(),
        answeredBeforeCommit: z.number(),
      })
      .meta({
        description:
          "Since hookd started: hits answered, of them marked machine, 404s, 429s, hits committed, hits dropped (queue full, commit failed), pixels and redirects answered before their commit finished.",
      }),
    keys: z
      .array(z.object({ id: z.number(), current: z.boolean(), retires_at: z.string().nullable() }))
      .meta({ description: "The signing keys (ids only)." }),
  })
  .meta({ description: "The tracking listener (opens, clicks, unsubscribes)." });

const UnparsedSample = z.object({
  at: z.string(),
  reason: z.string().meta({ description: "Why no parser read it.", example: "bounce in a format no pattern reads" }),
  size: z.number(),
  mail_from: z.string(),
  rcpt_to: z.array(z.string()),
  from: z.string().optional(),
  subject: z.string().optional(),
  message_id: z.string().optional(),
  excerpt: z.string().meta({ description: "The first 2 KB of the message." }),
});

const FeedbackSection = z
  .object({
    listen: z.string().meta({ description: "Where the LMTP listener is, e.g. 127.0.0.1:8024 or unix:/run/hookd/lmtp.sock." }),
    received: z
      .object({ dsn: z.number(), complaint: z.number(), unsubscribe: z.number(), plain_bounce: z.number(), not_a_report: z.number() })
      .meta({ description: "Messages accepted since start, by kind; not_a_report: no parser read it (counted, never bounced)." }),
    matched: z
      .object({ verp: z.number(), unsubscribe_token: z.number(), message_id: z.number(), queue_id: z.number(), none: z.number() })
      .meta({ description: "Reports by how they were tied to their original message; none: the events carry what the report says." }),
    events: z.number(),
    own_dsns: z
      .number()
      .meta({ description: "DSNs from our own MTAs (feedback.local_mtas): their bounces are events from the MTA log already." }),
    rejected_tokens: z.number(),
    commit_failures: z.number().meta({ description: "Messages answered 451: the store refused the events; the MTA retries." }),
    too_large: z.number().meta({ description: "Messages answered 552: larger than feedback.max_size." }),
    unparsed: z.array(UnparsedSample).nullable().meta({
      description:
        "The last messages no parser read, oldest first. null unless the API key also has events:read: they hold addresses and message text.",
    }),
  })
  .nullable()
  .meta({ description: "The feedback listener ([feedback] listen); null when it is off." });

const NodeSource = z.object({ path: z.string(), format: z.string(), status: z.string(), lag_bytes: z.number() });

const FleetNode = z.object({
  name: z.string(),
  version: z.string(),
  started_at: z.string(),
  last_seen_at: z.string(),
  alive: z.boolean().meta({ description: `Seen within the last ${NODE_GONE_MS / 1000} s (a heartbeat every ${HEARTBEAT_MS / 1000} s).` }),
  sources: z.array(NodeSource).meta({ description: "The log sources the node tails, as its last heartbeat said." }),
  in_flight: z.number().meta({ description: "Batches it holds a lease on now (attempts in flight)." }),
});

const Status = z.object({
  version: z.string(),
  node: z.string().meta({ description: "The node that answered (storage.node, or its hostname)." }),
  nodes: z.array(FleetNode).meta({
    description: "Every node on this store, by name: on PostgreSQL the fleet, on SQLite this one.",
  }),
  uptime_s: z.number(),
  sources: z.array(SourceStatus),
  events_per_minute: z.array(z.number()).meta({ description: "Events stored per minute, last 60 minutes, oldest first." }),
  webhooks: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      status: z.string(),
      queue_depth: z.number(),
      oldest_pending: z.string().nullable(),
      dead_batches: z.number(),
      delivered_per_minute: z.array(z.number()).meta({ description: "Last 60 minutes, oldest first." }),
    }),
  ),
  tracking: TrackingStatus,
  feedback: FeedbackSection,
});

/** A source's status as /status shows it; the ingest side's view may not carry last_error yet. */
function sourceView(s: ReturnType<ApiDeps["sourceStatus"]>[number] & { last_error?: string | null }): SourceStatus {
  return { ...s, last_error: s.last_error ?? null };
}

export function statusRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const started = deps.now();
  app.openapi(
    createRoute({
      method: "get",
      path: "/status",
      tags: ["status"],
      summary: "Sources (offset, lag, lines/s), queues and rates",
      middleware: [requireScope("webhooks:read")],
      responses: {
        200: { description: "hookd's state", content: { "application/json": { schema: z.object({ results: Status }) } } },
        401: { description: "Missing or invalid API key", content: { "application/json": { schema: ErrorEnvelope } } },
      },
    }),
    async (c) => {
      const now = deps.now();
      const store = deps.store;
      const hooks = await store.webhooks.list();
      const queues = await store.views.queues(hooks);
      const delivered = await store.views.deliveredPerMinute(
        hooks.map((w) => w.id),
        now,
        60,
      );
      return c.json(
        {
          results: {
            version: deps.version,
            node: deps.node,
            nodes: await fleetView(deps, now),
            uptime_s: Math.round((now - started) / 1000),
            sources: deps.sourceStatus().map(sourceView),
            events_per_minute: await store.events.perMinute(now, 60),
            webhooks: hooks.map((w, i) => {
              const q = queueView(queues[i]!);
              return {
                id: w.id,
                name: w.name,
                status: webhookStatus(w),
                queue_depth: q.queue_depth,
                oldest_pending: q.oldest_pending,
                dead_batches: q.dead_batches,
                delivered_per_minute: delivered[i]!,
              };
            }),
            tracking: await deps.tracking.status(),
            feedback: feedbackView(deps, c.get("apiKey").scopes.includes("events:read")),
          },
        },
        200,
      );
    },
  );
  return app;
}

async function fleetView(deps: ApiDeps, now: number): Promise<z.infer<typeof FleetNode>[]> {
  const [nodes, leases] = await Promise.all([deps.store.meta.nodes(), deps.store.meta.inFlight(now)]);
  // SQLite's leases name no node: they are this one's.
  const inFlight = (name: string) => (leases.get(name) ?? 0) + (name === deps.node ? (leases.get("") ?? 0) : 0);
  return nodes.map((n) => ({
    name: n.name,
    version: n.version,
    started_at: new Date(n.startedAt).toISOString(),
    last_seen_at: new Date(n.lastSeenAt).toISOString(),
    alive: now - n.lastSeenAt <= NODE_GONE_MS,
    // What a node wrote of its sources, kept only where it has the expected shape.
    sources: n.sources.flatMap((s) => {
      const parsed = NodeSource.safeParse(s);
      return parsed.success ? [parsed.data] : [];
    }),
    in_flight: inFlight(n.name),
  }));
}

function feedbackView(deps: ApiDeps, mayReadMail: boolean): z.infer<typeof FeedbackSection> {
  const f = deps.feedbackStatus?.() ?? null;
  if (!f) return null;
  const c = f.counters;
  return {
    listen: f.listen,
    received: c.byKind,
    matched: c.matched,
    events: c.events,
    own_dsns: c.ownDsns,
    rejected_tokens: c.rejectedTokens,
    commit_failures: c.commitFailures,
    too_large: c.tooLarge,
    unparsed: mayReadMail
      ? f.unparsed.map(({ mailFrom, rcptTo, messageId, ...s }) => ({
          ...s,
          mail_from: mailFrom,
          rcpt_to: rcptTo,
          ...(messageId ? { message_id: messageId } : {}),
        }))
      : null,
  };
}
