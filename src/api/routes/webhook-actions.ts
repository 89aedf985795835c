import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { batchLimits } from "../../deliver/batcher.ts";
import { replayEvents } from "../../deliver/replay.ts";
import { countEventsInRange } from "../../store/replay.ts";
import { attemptFailureCode, describeAttempt, succeeded } from "../../deliver/attempt.ts";
import { sendNow } from "../../deliver/send-now.ts";
import { generateSecret } from "../../deliver/sign.ts";
import { generateSigningKeyPair } from "../../deliver/ecdsa.ts";
import { sampleEvent } from "../../events/samples.ts";
import { EVENT_TYPES } from "../../events/schema.ts";
import { recentBatches, requeueDead } from "../../store/batches.ts";
import { updateWebhook } from "../../store/webhooks.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, IdParam, iso, mustGetWebhook, okResults, Rfc3339 as Time } from "./common.ts";

// What an operator does to a webhook besides editing it: test it, look at its batches,
// push dead letters again, replay history, rotate its secret.

export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
const MAX_REPLAY_EVENTS = 1_000_000;


const ValidateBody = z
  .strictObject({
    message: z
      .union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())])
      .optional()
      .meta({ description: "Body to send instead of a sample batch (SparkPost's validate)." }),
  })
  .meta({ id: "ValidateRequest" });
const ValidateResult = z.object({
  msg: z.string(),
  response: z.object({ status: z.number().nullable(), headers: z.record(z.string(), z.string()), body: z.string() }),
  latency_ms: z.number(),
  failure_code: z.string().nullable(),
});

const BatchStatusQuery = z.strictObject({
  limit: z.coerce.number({ error: "expected an integer from 1 to 1000" }).int().min(1).max(1000).default(100),
  state: z.enum(["pending", "delivered", "dead"]).optional(),
});
const BatchStatus = z.object({
  batch_id: z.string(),
  ts: z.string().meta({ description: "Last attempt, or creation when not yet attempted." }),
  attempts: z.number(),
  response_code: z.string().nullable().meta({ description: "HTTP status of the last attempt, as SparkPost gives it (a string)." }),
  failure_code: z.string().nullable(),
  state: z.enum(["pending", "delivered", "dead"]),
  kind: z.enum(["live", "replay"]),
  events: z.number(),
  bytes: z.number(),
  next_attempt: z.string().nullable(),
});

const RetryBody = z
  .strictObject({ batch_ids: z.array(z.string().min(1).max(64)).min(1).max(1000).optional() })
  .meta({ id: "RetryRequest" });

const ReplayBody = z
  .strictObject({
    since: Time,
    until: Time.optional(),
    events: z.array(z.enum(EVENT_TYPES)).min(1).optional().meta({ description: "Only these types (default: what the webhook subscribes to)." }),
  })
  .meta({ id: "ReplayRequest" });

export function webhookActionRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const db = deps.store.sqlite;
  const mustGet = (id: string) => mustGetWebhook(deps, id);
  const errors = errorResponses(400, 401, 403, 404);
  const ok = okResults;

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/validate",
      tags: ["webhooks"],
      summary: "Send a sample batch (or the given message) now and show the receiver's answer",
      middleware: [requireScope("webhooks:write")],
      request: { params: IdParam, body: { content: { "application/json": { schema: ValidateBody } }, required: false } },
      responses: { ...ok(ValidateResult, "What the receiver answered"), ...errors },
    }),
    async (c) => {
      const w = mustGet(c.req.valid("param").id);
      const body = c.req.valid("json") ?? {};
      const now = deps.now();
      const samples = w.events.includes("*")
        ? [sampleEvent("delivery", { host: deps.hostname, now })]
        : w.events.slice(0, 5).map((t, i) => sampleEvent(t as (typeof EVENT_TYPES)[number], { host: deps.hostname, now, index: i }));
      const { result } = await sendNow(deps.attempt, w, body.message !== undefined ? { raw: body.message } : { events: samples }, now);
      const good = succeeded(result);
      return c.json(
        {
          results: {
            msg: good ? "Test POST to webhook succeeded" : `Test POST to webhook failed: ${describeAttempt(result)}`,
            response: {
              status: result.kind === "response" ? result.status : null,
              headers: result.kind === "response" ? result.headers : {},
              body: result.kind === "response" ? result.bodySnippet : "",
            },
            latency_ms: result.latencyMs,
            failure_code: attemptFailureCode(result),
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/batch-status",
      tags: ["webhooks"],
      summary: "Recent batches, newest first, with attempts and the last response",
      middleware: [requireScope("webhooks:read")],
      request: { params: IdParam, query: BatchStatusQuery },
      responses: { ...ok(z.array(BatchStatus), "Recent batches"), ...errors },
    }),
    (c) => {
      const w = mustGet(c.req.valid("param").id);
      const q = c.req.valid("query");
      const rows = recentBatches(db, w.id, q.limit, q.state);
      return c.json(
        {
          results: rows.map((r) => ({
            batch_id: r.id,
            ts: iso(r.last_attempt_at ?? r.created_at)!,
            attempts: r.attempts,
            response_code: r.last_response_code === null ? null : String(r.last_response_code),
            failure_code: r.last_failure_code,
            state: r.state as "pending" | "delivered" | "dead",
            kind: r.kind as "live" | "replay",
            events: r.event_count,
            bytes: r.bytes,
            next_attempt: r.state === "pending" ? iso(r.next_attempt_at) : null,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/retry",
      tags: ["webhooks"],
      summary: "Queue the webhook's dead-lettered batches again, now",
      description: "All of them, or only those named in batch_ids.",
      middleware: [requireScope("webhooks:write")],
      request: { params: IdParam, body: { content: { "application/json": { schema: RetryBody } }, required: false } },
      responses: { ...ok(z.object({ requeued: z.number() }), "How many batches were queued again"), ...errors },
    }),
    (c) => {
      const w = mustGet(c.req.valid("param").id);
      const requeued = requeueDead(db, w.id, deps.now(), c.req.valid("json")?.batch_ids);
      if (requeued) deps.log.info("dead-lettered batches requeued", { webhook_id: w.id, batches: requeued });
      deps.notifyEvents();
      return c.json({ results: { requeued } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/replay",
      tags: ["webhooks"],
      summary: "Send stored events of a time range again, as new batches",
      description: "Events keep their event_id, so receivers can dedupe. The range is on the events' own timestamps: since ≤ timestamp < until (default: now).",
      middleware: [requireScope("webhooks:write")],
      request: { params: IdParam, body: { content: { "application/json": { schema: ReplayBody } }, required: true } },
      responses: { ...ok(z.object({ batches: z.number(), events: z.number() }), "Batches queued"), ...errors },
    }),
    (c) => {
      const w = mustGet(c.req.valid("param").id);
      const body = c.req.valid("json");
      const now = deps.now();
      const since = Date.parse(body.since);
      const until = body.until ? Date.parse(body.until) : now + 1;
      if (until <= since) throw new ApiError({ message: "until: must be after since", field: "until", code: "invalid_value" });
      // A replay runs while the store is locked for it: bound it, and let large ones be split.
      const inRange = countEventsInRange(db, since, until);
      if (inRange > MAX_REPLAY_EVENTS) {
        throw new ApiError({ message: `the range holds ${inRange} events; replay at most ${MAX_REPLAY_EVENTS} at a time (narrow since/until)`, field: "until", code: "too_big" });
      }
      const r = replayEvents(db, w, { since, until, types: body.events }, batchLimits(w, deps.config.delivery), now);
      deps.log.info("replay queued", { webhook_id: w.id, since: body.since, until: iso(until), batches: r.batches, events: r.events });
      deps.notifyEvents();
      return c.json({ results: r }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/rotate-secret",
      tags: ["webhooks"],
      summary: "New signing secret; the old one keeps signing alongside it for 24 hours",
      middleware: [requireScope("webhooks:write")],
      request: { params: IdParam },
      responses: { ...ok(z.object({ secret: z.string(), previous_secret_expires: z.string() }), "The new secret, shown in full"), ...errors },
    }),
    (c) => {
      const w = mustGet(c.req.valid("param").id);
      const now = deps.now();
      const until = now + ROTATION_OVERLAP_MS;
      const secret = generateSecret();
      updateWebhook(deps.store.db, w.id, { secret, previousSecret: w.secret, previousSecretUntil: until, updatedAt: now });
      deps.log.info("signing secret rotated", { webhook_id: w.id, previous_valid_until: iso(until) });
      return c.json({ results: { secret, previous_secret_expires: iso(until)! } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/signing-key",
      tags: ["webhooks"],
      summary: "The ECDSA P-256 public key that verifies the sendgrid format's X-Twilio-Email-Event-Webhook-Signature",
      middleware: [requireScope("webhooks:read")],
      request: { params: IdParam },
      responses: { ...ok(z.object({ public_key: z.string().meta({ description: "Base64 DER SubjectPublicKeyInfo, as SendGrid shows it." }) }), "The public key"), ...errors },
    }),
    (c) => {
      const w = mustGet(c.req.valid("param").id);
      let key = w.signingPublicKey;
      if (!key || !w.signingPrivateKey) {
        // Webhooks from before keys were generated at create get theirs on first ask.
        const pair = generateSigningKeyPair();
        updateWebhook(deps.store.db, w.id, { signingPrivateKey: pair.privateKeyPkcs8B64, signingPublicKey: pair.publicKeySpkiB64 });
        key = pair.publicKeySpkiB64;
      }
      return c.json({ results: { public_key: key } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/secret",
      tags: ["webhooks"],
      summary: "The current whsec_ signing secret",
      middleware: [requireScope("webhooks:write")],
      request: { params: IdParam },
      responses: { ...ok(z.object({ secret: z.string() }), "The signing secret"), ...errors },
    }),
    (c) => c.json({ results: { secret: mustGet(c.req.valid("param").id).secret } }, 200),
  );

  return app;
}
