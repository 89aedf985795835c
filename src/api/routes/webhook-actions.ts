import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { replay, retryDead, sendTest, validateAll } from "../../webhooks/actions.ts";
import { regenerateSfmcSignatureKey, rotateSecret, signingPublicKey } from "../../webhooks/secrets.ts";
import { getWebhook } from "../../webhooks/service.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import {
  BatchStatus,
  BatchStatusQuery,
  ReplayBody,
  RetryBody,
  RotatedSecret,
  SigningKey,
  ValidateAllResult,
  ValidateBody,
  ValidateResult,
} from "../schemas/webhook-actions.ts";
import { batchStatusView, validateView } from "../webhook-view.ts";
import { errorResponses, IdParam, iso, okResults as ok } from "./common.ts";

// What an operator does to a webhook besides editing it: test it, look at its batches,
// push dead letters again, replay history, rotate its secret. HTTP only; webhooks/ decides.

export function webhookActionRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const errors = errorResponses(400, 401, 403, 404);
  const read = requireScope("webhooks:read");
  const write = requireScope("webhooks:write");

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/validate",
      tags: ["webhooks"],
      summary: "Send a sample batch (or the given message) now and show the receiver's answer",
      middleware: [write],
      request: { params: IdParam, body: { content: { "application/json": { schema: ValidateBody } }, required: false } },
      responses: { ...ok(ValidateResult, "What the receiver answered"), ...errors },
    }),
    async (c) => c.json({ results: validateView(await sendTest(deps, c.req.valid("param").id, c.req.valid("json") ?? {})) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/validate",
      tags: ["webhooks"],
      summary: "Check now: validate every webhook and show each receiver's answer",
      description:
        "The same as POST /webhooks/{id}/validate (samples of what each webhook subscribes to), for every webhook, a few at a time.",
      middleware: [write],
      responses: { ...ok(ValidateAllResult, "One result per webhook"), ...errorResponses(401, 403) },
    }),
    async (c) => {
      const all = await validateAll(deps);
      return c.json({ results: all.map(({ webhook, result }) => ({ id: webhook.id, name: webhook.name, ...validateView(result) })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/batch-status",
      tags: ["webhooks"],
      summary: "Recent batches, newest first, with attempts and the last response",
      middleware: [read],
      request: { params: IdParam, query: BatchStatusQuery },
      responses: { ...ok(z.array(BatchStatus), "Recent batches"), ...errors },
    }),
    async (c) => {
      const w = await getWebhook(deps, c.req.valid("param").id);
      const q = c.req.valid("query");
      return c.json({ results: (await deps.store.views.recentBatches(w.id, q.limit, q.state)).map(batchStatusView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/retry",
      tags: ["webhooks"],
      summary: "Queue the webhook's dead-lettered batches again, now",
      description: "All of them, or only those named in batch_ids.",
      middleware: [write],
      request: { params: IdParam, body: { content: { "application/json": { schema: RetryBody } }, required: false } },
      responses: { ...ok(z.object({ requeued: z.number() }), "How many batches were queued again"), ...errors },
    }),
    async (c) => c.json({ results: { requeued: await retryDead(deps, c.req.valid("param").id, c.req.valid("json")?.batch_ids) } }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/replay",
      tags: ["webhooks"],
      summary: "Send stored events of a time range again, as new batches",
      description:
        "Events keep their event_id, so receivers can dedupe. The range is on the events' own timestamps: since ≤ timestamp < until (default: now).",
      middleware: [write],
      request: { params: IdParam, body: { content: { "application/json": { schema: ReplayBody } }, required: true } },
      responses: { ...ok(z.object({ batches: z.number(), events: z.number() }), "Batches queued"), ...errors, ...errorResponses(409) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const range = {
        since: Date.parse(body.since),
        until: body.until === undefined ? undefined : Date.parse(body.until),
        types: body.events,
      };
      return c.json({ results: await replay(deps, c.req.valid("param").id, range) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/rotate-secret",
      tags: ["webhooks"],
      summary: "New signing secret; the old one keeps signing alongside it for 24 hours",
      middleware: [write],
      request: { params: IdParam },
      responses: { ...ok(RotatedSecret, "The new secret, shown in full"), ...errors },
    }),
    async (c) => {
      const r = await rotateSecret(deps, c.req.valid("param").id);
      return c.json({ results: { secret: r.secret, previous_secret_expires: iso(r.previousSecretUntil)! } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/{id}/regenerate-signature-key",
      tags: ["webhooks"],
      summary:
        "New sfmc signature key (x-sfmc-ens-signature), shown only here; the old one stops signing at once, as SFMC's ens-regenerate",
      middleware: [write],
      request: { params: IdParam },
      responses: { ...ok(z.object({ signature_key: z.string() }), "The new signature key"), ...errors },
    }),
    async (c) => c.json({ results: { signature_key: await regenerateSfmcSignatureKey(deps, c.req.valid("param").id) } }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/signing-key",
      tags: ["webhooks"],
      summary: "The ECDSA P-256 public key that verifies the sendgrid format's X-Twilio-Email-Event-Webhook-Signature",
      middleware: [read],
      request: { params: IdParam },
      responses: { ...ok(SigningKey, "The public key"), ...errors },
    }),
    async (c) => c.json({ results: { public_key: await signingPublicKey(deps, c.req.valid("param").id) } }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/webhooks/{id}/secret",
      tags: ["webhooks"],
      summary: "The current whsec_ signing secret",
      middleware: [write],
      request: { params: IdParam },
      responses: { ...ok(z.object({ secret: z.string() }), "The signing secret"), ...errors },
    }),
    async (c) => c.json({ results: { secret: (await getWebhook(deps, c.req.valid("param").id)).secret } }, 200),
  );

  return app;
}
